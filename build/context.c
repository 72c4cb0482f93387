/*
 * Build contexts. See context.h. The walk is lstat-based (symlinks are sent
 * as links, never followed), skips excluded directories when no `!` line
 * could re-include something under them, and sorts entries so the hash and
 * the tar do not depend on readdir order.
 */
#include "build/context.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <xxhash.h>

#include "base/error.h"
#include "base/util.h"

#define CTX_MAX_ENTRIES 1000000

struct walk {
	struct build_context *bc;
	const char *dockerfile;
	size_t cap;
	char **cause;
};

static void add_entry(struct walk *w, const char *rel, const struct stat *st,
		      const char *abs)
{
	struct build_context *bc = w->bc;
	struct ctx_entry *e;

	if (bc->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 256;
		bc->v = xreallocarray(bc->v, w->cap, sizeof(*bc->v));
	}
	e = &bc->v[bc->n++];
	e->rel = xstrdup(rel);
	e->mode = st->st_mode;
	e->size = S_ISREG(st->st_mode) ? (int64_t)st->st_size : 0;
	e->link = NULL;
	if (S_ISLNK(st->st_mode)) {
		char buf[4096];
		ssize_t n = readlink(abs, buf, sizeof(buf) - 1);

		buf[n > 0 ? n : 0] = '\0';
		e->link = xstrdup(buf);
	}
}

static bool always_sent(const struct walk *w, const char *rel)
{
	return strcmp(rel, w->dockerfile) == 0 || strcmp(rel, ".dockerignore") == 0;
}

static bool in_state_dir(const char *rel)
{
	return str_starts(rel, ".devwatch") && (rel[9] == '\0' || rel[9] == '/');
}

/* rel is the Dockerfile or a folder above it. */
static bool on_dockerfile_path(const struct walk *w, const char *rel)
{
	size_t n = strlen(rel);

	return strncmp(w->dockerfile, rel, n) == 0 &&
	       (w->dockerfile[n] == '\0' || w->dockerfile[n] == '/');
}

static int walk_dir(struct walk *w, const char *rel)
{
	char *abs = strcmp(rel, "") == 0 ? xstrdup(w->bc->root)
					 : path_join(w->bc->root, rel);
	DIR *d = opendir(abs);
	struct dirent *de;
	int err = 0;

	if (d == NULL) {
		err = -errno;
		free(abs);
		if (err == -ENOENT && rel[0] != '\0')
			return 0; /* a folder that went since it was listed */
		dw_cause(w->cause, "cannot read %s/%s: %s", w->bc->root, rel, strerror(-err));
		return err;
	}
	while (err == 0 && (de = readdir(d)) != NULL) {
		char *crel, *cabs;
		struct stat st;
		bool excluded;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		crel = rel[0] ? xasprintf("%s/%s", rel, de->d_name)
			      : xstrdup(de->d_name);
		/* devwatch's own state (logs, hash cache) is never an input,
		   but for a Dockerfile it wrote there (dockerfile_inline). */
		if (in_state_dir(crel) && !on_dockerfile_path(w, crel)) {
			free(crel);
			continue;
		}
		cabs = path_join(abs, de->d_name);
		if (lstat(cabs, &st) != 0) {
			/* Vanished since readdir: not part of the context. */
			free(crel);
			free(cabs);
			continue;
		}
		excluded = pattern_list_match(&w->bc->ignore, crel) &&
			   !always_sent(w, crel);
		if (S_ISDIR(st.st_mode)) {
			if (!excluded)
				add_entry(w, crel, &st, cabs);
			if (!excluded || pattern_list_may_include_under(
						 &w->bc->ignore, crel))
				err = walk_dir(w, crel);
		} else if (!excluded && (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))) {
			add_entry(w, crel, &st, cabs);
		}
		if (w->bc->n > CTX_MAX_ENTRIES) {
			dw_cause(w->cause, "build context %s has more than %d files; add a .dockerignore",
				 w->bc->root, CTX_MAX_ENTRIES);
			err = DW_TOOBIG;
		}
		free(crel);
		free(cabs);
	}
	closedir(d);
	free(abs);
	return err;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct ctx_entry *)a)->rel,
		      ((const struct ctx_entry *)b)->rel);
}

int context_scan(struct build_context *bc, const char *root,
		 const char *dockerfile, char **cause)
{
	struct walk w = {.bc = bc, .dockerfile = dockerfile, .cause = cause};
	char *ign;
	int err;

	memset(bc, 0, sizeof(*bc));
	bc->root = xstrdup(root);
	pattern_list_init(&bc->ignore);
	ign = path_join(root, ".dockerignore");
	err = pattern_list_load(&bc->ignore, ign);
	free(ign);
	if (err != 0) {
		dw_cause(cause, "cannot read %s/.dockerignore: %s", root, strerror(-err));
		return err;
	}
	err = walk_dir(&w, "");
	if (err == 0 && bc->n > 1)
		qsort(bc->v, bc->n, sizeof(*bc->v), cmp_entry);
	return err;
}

static int hash_file(const char *path, XXH3_state_t *st, char **cause)
{
	char buf[1 << 16];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;

	if (fd < 0 && errno == ENOENT) {
		/* Gone since the walk (an editor's temporary, say): the tar
		   leaves it out too, and the watcher reports it. */
		XXH3_128bits_update(st, "\0gone", 5);
		return 0;
	}
	if (fd < 0) {
		dw_cause(cause, "cannot read %s: %s", path, strerror(errno));
		return -errno;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		XXH3_128bits_update(st, buf, (size_t)n);
	close(fd);
	return n < 0 ? -errno : 0;
}

static void hash_str(XXH3_state_t *st, const char *s)
{
	XXH3_128bits_update(st, s != NULL ? s : "", s != NULL ? strlen(s) + 1 : 1);
}

/* Is the context entry rel under one of c's sync rules? */
static bool synced_entry(const struct build_spec *b, const struct project_container *c,
			 const char *rel)
{
	char *prel;
	bool hit;

	if (c == NULL)
		return false;
	prel = b->context == NULL || strcmp(b->context, ".") == 0
		       ? xstrdup(rel)
		       : xasprintf("%s/%s", b->context, rel);
	hit = project_container_synced(c, prel);
	free(prel);
	return hit;
}

int context_hash(const struct build_context *bc, const struct build_spec *b,
		 const struct dockerfile_inputs *inputs,
		 const struct project_container *synced, char out[33],
		 char **cause)
{
	XXH3_state_t *st = XXH3_createState();
	XXH128_hash_t h;
	int err = 0;

	XXH3_128bits_reset(st);
	hash_str(st, "devwatch-context-3");
	hash_str(st, b->dockerfile);
	hash_str(st, b->target);
	for (size_t i = 0; i < b->args.n; i++) {
		hash_str(st, b->args.v[i].key);
		hash_str(st, b->args.v[i].value);
	}
	for (size_t i = 0; i < bc->n && err == 0; i++) {
		const struct ctx_entry *e = &bc->v[i];
		char mode[32];

		bool always = strcmp(e->rel, b->dockerfile) == 0 ||
			      strcmp(e->rel, ".dockerignore") == 0;

		if (!always && ((inputs != NULL && !dockerfile_is_input(inputs, e->rel)) ||
				synced_entry(b, synced, e->rel)))
			continue;
		hash_str(st, e->rel);
		snprintf(mode, sizeof(mode), "%o", (unsigned)e->mode);
		hash_str(st, mode);
		if (e->link != NULL) {
			hash_str(st, e->link);
		} else if (S_ISREG(e->mode)) {
			char *abs = path_join(bc->root, e->rel);

			err = hash_file(abs, st, cause);
			free(abs);
		}
	}
	h = XXH3_128bits_digest(st);
	XXH3_freeState(st);
	snprintf(out, 33, "%016llx%016llx", (unsigned long long)h.high64,
		 (unsigned long long)h.low64);
	return err;
}

int context_write_tar(const struct build_context *bc, int fd, char **cause)
{
	struct archive *a = archive_write_new();
	struct archive_entry *ae = archive_entry_new();
	char buf[1 << 16];
	int err = 0;

	archive_write_set_format_gnutar(a);
	if (archive_write_open_fd(a, fd) != ARCHIVE_OK) {
		dw_cause(cause, "tar: %s", archive_error_string(a));
		err = DW_BUILD;
		goto out;
	}
	for (size_t i = 0; i < bc->n && err == 0; i++) {
		const struct ctx_entry *e = &bc->v[i];
		char *abs = path_join(bc->root, e->rel);
		int in = -1;

		archive_entry_clear(ae);
		archive_entry_set_pathname(ae, e->rel);
		archive_entry_set_mode(ae, e->mode);
		archive_entry_set_uid(ae, 0);
		archive_entry_set_gid(ae, 0);
		archive_entry_set_mtime(ae, 0, 0);
		if (e->link != NULL)
			archive_entry_set_symlink(ae, e->link);
		if (S_ISREG(e->mode)) {
			struct stat st;

			in = open(abs, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
			if (in < 0 && errno == ENOENT) {
				free(abs); /* gone since the walk: left out */
				continue;
			}
			if (in < 0 || fstat(in, &st) != 0) {
				dw_cause(cause, "cannot read %s: %s", abs, strerror(errno));
				err = -errno;
				free(abs);
				if (in >= 0)
					close(in);
				break;
			}
			archive_entry_set_size(ae, st.st_size);
		} else {
			archive_entry_set_size(ae, 0);
		}
		if (archive_write_header(a, ae) != ARCHIVE_OK) {
			dw_cause(cause, "tar %s: %s", e->rel, archive_error_string(a));
			err = DW_BUILD;
		}
		while (err == 0 && in >= 0) {
			ssize_t n = read(in, buf, sizeof(buf));

			if (n <= 0)
				break;
			if (archive_write_data(a, buf, (size_t)n) < 0) {
				dw_cause(cause, "tar %s: %s", e->rel, archive_error_string(a));
				err = DW_BUILD;
			}
		}
		if (in >= 0)
			close(in);
		free(abs);
	}
	if (archive_write_close(a) != ARCHIVE_OK && err == 0) {
		dw_cause(cause, "tar: %s", archive_error_string(a));
		err = DW_BUILD;
	}
out:
	archive_entry_free(ae);
	archive_write_free(a);
	return err;
}

void context_close(struct build_context *bc)
{
	for (size_t i = 0; i < bc->n; i++) {
		free(bc->v[i].rel);
		free(bc->v[i].link);
	}
	free(bc->v);
	free(bc->root);
	pattern_list_close(&bc->ignore);
	memset(bc, 0, sizeof(*bc));
}
