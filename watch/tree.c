/*
 * The tree model's table. See tree.h. Linear probing with tombstones; the
 * table doubles at 75% use, counting tombstones. Beside each slot sits the
 * upper half of its path's XXH3-64: a probe compares that before touching
 * the entry (each entry is its own allocation, so touching it is a cache
 * miss), and growing rehashes from it without reading a path.
 */
#include "watch/tree.h"

#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "base/util.h"

#define TOMB ((struct tentry *)1)

static uint32_t hash_of(const char *path, size_t len)
{
	return (uint32_t)(XXH3_64bits(path, len) >> 32);
}

void tree_init(struct tree *t)
{
	t->cap = 1024;
	t->slots = xcalloc(t->cap, sizeof(*t->slots));
	t->tags = xcalloc(t->cap, sizeof(*t->tags));
	t->n = 0;
	t->used = 0;
}

void tree_close(struct tree *t)
{
	for (size_t i = 0; i < t->cap; i++)
		if (t->slots[i] != NULL && t->slots[i] != TOMB)
			free(t->slots[i]);
	free(t->slots);
	free(t->tags);
	memset(t, 0, sizeof(*t));
}

static size_t find(const struct tree *t, uint32_t key, const char *path,
		   size_t len, bool *found)
{
	size_t mask = t->cap - 1, i = key & mask, tomb = SIZE_MAX;

	for (;;) {
		struct tentry *e = t->slots[i];

		if (e == NULL) {
			*found = false;
			return tomb != SIZE_MAX ? tomb : i;
		}
		if (e == TOMB) {
			if (tomb == SIZE_MAX)
				tomb = i;
		} else if (t->tags[i] == key && e->len == len &&
			   memcmp(e->path, path, len) == 0) {
			*found = true;
			return i;
		}
		i = (i + 1) & mask;
	}
}

/* Rebuild with room for `want` live entries below 75% use. */
static void rehash(struct tree *t, size_t want)
{
	struct tentry **old = t->slots;
	uint32_t *oldtags = t->tags;
	size_t oldcap = t->cap;

	while (want * 4 >= t->cap * 3)
		t->cap *= 2;
	t->slots = xcalloc(t->cap, sizeof(*t->slots));
	t->tags = xcalloc(t->cap, sizeof(*t->tags));
	t->used = t->n;
	for (size_t i = 0; i < oldcap; i++) {
		struct tentry *e = old[i];
		size_t j;

		if (e == NULL || e == TOMB)
			continue;
		for (j = oldtags[i] & (t->cap - 1); t->slots[j] != NULL; j = (j + 1) & (t->cap - 1))
			;
		t->slots[j] = e;
		t->tags[j] = oldtags[i];
	}
	free(old);
	free(oldtags);
}

static void grow(struct tree *t)
{
	/* Double when live entries fill half; otherwise only tombstones
	   crowd the table and a rebuild at the same size clears them. */
	rehash(t, t->n * 2 >= t->cap ? t->cap : t->n);
}

void tree_reserve(struct tree *t, size_t n)
{
	if ((n + 1) * 4 >= t->cap * 3)
		rehash(t, n + 1);
}

struct tentry *tree_get(const struct tree *t, const char *path, size_t len)
{
	bool found;
	size_t i = find(t, hash_of(path, len), path, len, &found);

	return found ? t->slots[i] : NULL;
}

struct tentry *tree_put(struct tree *t, const char *path, size_t len)
{
	uint32_t key = hash_of(path, len);
	bool found;
	size_t i;
	struct tentry *e;

	if ((t->used + 1) * 4 >= t->cap * 3)
		grow(t);
	i = find(t, key, path, len, &found);
	if (found)
		return t->slots[i];
	e = xcalloc(1, sizeof(*e) + len + 1);
	e->len = (uint16_t)len;
	memcpy(e->path, path, len);
	if (t->slots[i] == NULL)
		t->used++;
	t->slots[i] = e;
	t->tags[i] = key;
	t->n++;
	return e;
}

void tree_del(struct tree *t, struct tentry *e)
{
	bool found;
	size_t i = find(t, hash_of(e->path, e->len), e->path, e->len, &found);

	if (!found)
		return;
	t->slots[i] = TOMB;
	t->n--;
	free(e);
}

struct tentry *tree_next(const struct tree *t, size_t *i)
{
	while (*i < t->cap) {
		struct tentry *e = t->slots[(*i)++];

		if (e != NULL && e != TOMB)
			return e;
	}
	return NULL;
}

bool tree_same_key(const struct tentry *e, const struct stat *st)
{
	return e->mode == st->st_mode && e->size == (uint64_t)st->st_size &&
	       e->ino == (uint64_t)st->st_ino &&
	       e->mtime_ns == (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec &&
	       e->ctime_ns == (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
}

void tree_set_key(struct tentry *e, const struct stat *st)
{
	e->mode = st->st_mode;
	e->size = (uint64_t)st->st_size;
	e->ino = (uint64_t)st->st_ino;
	e->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
	e->ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
}
