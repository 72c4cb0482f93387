/*
 * What the watcher's tree holds, for its callers: a summary with an
 * order-independent digest (devwatch hash, the "watching N files" line),
 * and a snapshot of the paths under a folder as plain data, which the up
 * session compares with what a container holds (the catch-up sync).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xxhash.h>

#include "base/util.h"
#include "watch/watcher-int.h"

/* The digest is the sum (mod 2^128) of one XXH3-128 per entry over its
   path, type, mode and content hash: independent of order, so no sort of
   the whole tree is needed. */
void watcher_summary(const struct watcher *w, struct tree_summary *s)
{
	size_t i = 0;
	struct tentry *e;
	uint64_t hi = 0, lo = 0;
	char buf[4096 + 32];

	memset(s, 0, sizeof(*s));
	while ((e = tree_next(&w->tree, &i)) != NULL) {
		uint32_t meta[2];
		uint64_t hh[2] = {e->h_hi, e->h_lo};
		XXH128_hash_t h;
		size_t n = DW_MIN((size_t)e->len, 4096u);

		if (S_ISREG(e->mode)) {
			s->files++;
			s->bytes += e->size;
		} else if (S_ISLNK(e->mode)) {
			s->links++;
		} else {
			s->dirs++;
		}
		meta[0] = S_ISDIR(e->mode) ? 'd' : S_ISLNK(e->mode) ? 'l' : 'f';
		meta[1] = e->mode & 07777;
		memcpy(buf, e->path, n);
		memcpy(buf + n, meta, sizeof(meta));
		memcpy(buf + n + sizeof(meta), hh, sizeof(hh));
		h = XXH3_128bits(buf, n + sizeof(meta) + sizeof(hh));
		lo += h.low64;
		hi += h.high64 + (lo < h.low64);
	}
	snprintf(s->digest, sizeof(s->digest), "%016llx%016llx",
		 (unsigned long long)hi, (unsigned long long)lo);
}

static bool under(const struct tentry *e, const char *prefix, size_t n)
{
	if (n == 0)
		return true;
	return e->len >= n && memcmp(e->path, prefix, n) == 0 &&
	       (e->len == n || e->path[n] == '/');
}

bool watcher_has(const struct watcher *w, const char *rel)
{
	return tree_get(&w->tree, rel, strlen(rel)) != NULL;
}

void watcher_snapshot(const struct watcher *w, const char *prefix,
		      struct changeset *out)
{
	size_t i = 0, n = strcmp(prefix, ".") == 0 ? 0 : strlen(prefix);
	struct tentry *e;

	while ((e = tree_next(&w->tree, &i)) != NULL) {
		struct change c = {.path = e->path, .kind = CHANGE_ADDED,
				   .mode = e->mode & 07777, .size = e->size};
		char target[4096];

		if (!under(e, prefix, n))
			continue;
		if (S_ISDIR(e->mode)) {
			c.type = CTYPE_DIR;
		} else if (S_ISLNK(e->mode)) {
			ssize_t k = readlinkat(w->rootfd, e->path, target, sizeof(target) - 1);

			if (k < 0)
				continue; /* gone meanwhile: the next settle says so */
			target[k] = '\0';
			c.type = CTYPE_SYMLINK;
			c.link_target = target;
		} else {
			c.type = CTYPE_FILE;
			if (e->hashed) {
				c.hash_hi = e->h_hi;
				c.hash_lo = e->h_lo;
			}
		}
		changeset_add(out, &c);
	}
	changeset_normalize(out);
}
