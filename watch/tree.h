/*
 * The tree model: every watched path (relative to the root) with the stat
 * key that says whether it may have changed (size, mtime, ctime, inode,
 * mode) and the XXH3-128 of its content (of its target, for a symlink).
 * One allocation per path, in an open-addressing table keyed by the upper
 * half of the path's XXH3-64, kept beside each slot, so a path costs about
 * its length plus 90 bytes.
 */
#ifndef DW_WATCH_TREE_H
#define DW_WATCH_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

struct tentry {
	uint64_t size;
	int64_t mtime_ns;
	int64_t ctime_ns;
	uint64_t ino;
	uint64_t h_hi, h_lo; /* content hash; 0 for directories */
	uint32_t mode;	 /* st_mode: type and permission bits */
	uint16_t len;	 /* strlen(path) */
	uint8_t hashed;	 /* h_hi/h_lo are valid */
	uint8_t mark;	 /* scratch for walks */
	char path[];
};

struct tree {
	struct tentry **slots;
	uint32_t *tags; /* each slot's path hash (upper half of XXH3-64) */
	size_t cap;   /* power of two */
	size_t n;     /* live entries */
	size_t used;  /* live + tombstones */
};

void tree_init(struct tree *t);
void tree_close(struct tree *t);
struct tentry *tree_get(const struct tree *t, const char *path, size_t len);
/* Make room for n entries in all without growing on the way. */
void tree_reserve(struct tree *t, size_t n);
/* Insert or return the existing entry for path. */
struct tentry *tree_put(struct tree *t, const char *path, size_t len);
void tree_del(struct tree *t, struct tentry *e);
/* Iterate: for (i = 0; (e = tree_next(t, &i)) != NULL;) */
struct tentry *tree_next(const struct tree *t, size_t *i);
/* Does e have the same stat key as st? */
bool tree_same_key(const struct tentry *e, const struct stat *st);
void tree_set_key(struct tentry *e, const struct stat *st);

#endif
