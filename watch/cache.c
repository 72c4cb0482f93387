/*
 * The hash cache: <root>/.devwatch/hashcache holds every path with its stat
 * key (size, mtime, ctime, inode, mode) and content hash, so a restart
 * rehashes only files whose key changed, and what changed while devwatch
 * was not running comes out as one change set. Versioned and checksummed; a
 * file that does not check out is ignored (a full scan follows). Written to
 * a temporary name and renamed, so a crash never leaves half a cache.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/util.h"
#include "watch/watcher-int.h"

#define CACHE_MAGIC "DWHC0001"
#define CACHE_MAX (1u << 30)

struct rec {
	uint32_t mode;
	uint16_t len;
	uint8_t hashed;
	uint8_t pad;
	uint64_t size, ino, h_hi, h_lo;
	int64_t mtime_ns, ctime_ns;
};

static char *cache_path(const struct watcher *w)
{
	return xasprintf("%s/.devwatch/hashcache", w->root);
}

/* A path as the tree holds one: relative, cleaned, no NUL, no "." or "..",
   so a damaged cache cannot name anything outside the root. */
static bool rel_path_ok(const char *p, size_t len)
{
	size_t seg = 0;

	if (len == 0 || memchr(p, '\0', len) != NULL)
		return false;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && p[i] != '/')
			continue;
		if (i == seg || (i - seg == 1 && p[seg] == '.') ||
		    (i - seg == 2 && p[seg] == '.' && p[seg + 1] == '.'))
			return false;
		seg = i + 1;
	}
	return true;
}

int cache_parse(struct watcher *w, const char *data, size_t n)
{
	size_t off = 8;
	uint64_t sum;

	if (n < 16 || n > CACHE_MAX)
		return -EINVAL;
	memcpy(&sum, data + n - 8, 8);
	if (memcmp(data, CACHE_MAGIC, 8) != 0 || XXH3_64bits(data, n - 8) != sum) {
		log_info("hash cache of %s is stale or damaged; rescanning", w->root);
		return -EINVAL;
	}
	{
		/* Check every record before taking any, and size the table
		   once instead of growing it all the way. */
		size_t count = 0, o = off;
		struct rec r;
		bool ok = true;

		while (ok && o + sizeof(r) <= n - 8) {
			memcpy(&r, data + o, sizeof(r));
			o += sizeof(r);
			ok = r.len <= n - 8 - o && r.hashed <= 1 &&
			     rel_path_ok(data + o, r.len);
			o += r.len;
			count++;
		}
		if (!ok || o != n - 8) {
			log_info("hash cache of %s is damaged; rescanning", w->root);
			return -EINVAL;
		}
		tree_reserve(&w->tree, w->tree.n + count);
	}
	while (off + sizeof(struct rec) <= n - 8) {
		struct rec r;
		struct tentry *e;

		memcpy(&r, data + off, sizeof(r));
		off += sizeof(r);
		e = tree_put(&w->tree, data + off, r.len);
		off += r.len;
		e->mode = r.mode;
		e->size = r.size;
		e->ino = r.ino;
		e->mtime_ns = r.mtime_ns;
		e->ctime_ns = r.ctime_ns;
		e->h_hi = r.h_hi;
		e->h_lo = r.h_lo;
		e->hashed = r.hashed;
		e->mark = 0;
	}
	return 0;
}

int cache_load(struct watcher *w)
{
	char *path = cache_path(w);
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;
	struct stat st;
	char *data = NULL;
	size_t n;

	free(path);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0 || st.st_size < 16 || (uint64_t)st.st_size > CACHE_MAX) {
		close(fd);
		return -EINVAL;
	}
	n = (size_t)st.st_size;
	data = xmalloc(n);
	if (read(fd, data, n) != (ssize_t)n) {
		close(fd);
		free(data);
		return -EIO;
	}
	close(fd);
	err = cache_parse(w, data, n);
	free(data);
	return err;
}

int cache_encode(const struct watcher *w, struct buf *b)
{
	size_t i = 0;
	struct tentry *e;
	uint64_t sum;

	buf_init(b, CACHE_MAX);
	buf_add(b, CACHE_MAGIC, 8);
	while ((e = tree_next(&w->tree, &i)) != NULL) {
		struct rec r = {.mode = e->mode, .len = e->len, .hashed = e->hashed,
				.size = e->size, .ino = e->ino, .h_hi = e->h_hi,
				.h_lo = e->h_lo, .mtime_ns = e->mtime_ns,
				.ctime_ns = e->ctime_ns};

		if (buf_add(b, &r, sizeof(r)) != 0 || buf_add(b, e->path, e->len) != 0)
			return -EFBIG;
	}
	sum = XXH3_64bits(b->data, b->len);
	return buf_add(b, &sum, 8) != 0 ? -EFBIG : 0;
}

int cache_save(struct watcher *w)
{
	char *dir = xasprintf("%s/.devwatch", w->root);
	char *path = cache_path(w), *tmp = xasprintf("%s.tmp", path);
	struct buf b;
	int fd, err;

	mkdir(dir, 0755);
	err = cache_encode(w, &b);
	fd = err == 0 ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : -1;
	if (fd >= 0) {
		if (write(fd, b.data, b.len) != (ssize_t)b.len)
			err = -EIO;
		close(fd);
		if (err == 0 && rename(tmp, path) != 0)
			err = -errno;
		if (err != 0)
			unlink(tmp);
	} else if (err == 0) {
		err = -errno;
	}
	if (err != 0)
		log_debug("cannot write the hash cache %s: %s", path, strerror(-err));
	else
		w->changed = false;
	buf_release(&b);
	free(dir);
	free(path);
	free(tmp);
	return err;
}
