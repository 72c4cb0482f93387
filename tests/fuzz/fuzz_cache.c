/*
 * Fuzz target: the hash cache file (watch/cache.c). The input is a cache
 * body: the harness adds the magic and the checksum, so what is fuzzed is
 * the record walk behind them (a damaged checksum is the easy case). A cache
 * that loads must hold only clean relative paths, and must encode and load
 * again to the same entries.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/util.h"
#include "watch/watcher-int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool clean(const struct tentry *e)
{
	if (e->len == 0 || e->path[0] == '/' || e->path[e->len - 1] == '/' ||
	    strlen(e->path) != e->len || strstr(e->path, "//") != NULL)
		return false;
	return strcmp(e->path, "..") != 0 && strncmp(e->path, "../", 3) != 0 &&
	       strstr(e->path, "/../") == NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct watcher w, w2;
	struct tentry *e, *e2;
	char *b = xmalloc(size + 16);
	uint64_t sum;
	size_t i = 0;
	struct buf enc;

	dw_log_level = -1;
	memcpy(b, "DWHC0001", 8);
	memcpy(b + 8, data, size);
	sum = XXH3_64bits(b, size + 8);
	memcpy(b + 8 + size, &sum, 8);
	memset(&w, 0, sizeof(w));
	w.root = (char *)"/fuzz";
	tree_init(&w.tree);
	if (cache_parse(&w, b, size + 16) == 0) {
		while ((e = tree_next(&w.tree, &i)) != NULL)
			if (!clean(e))
				abort();
		if (cache_encode(&w, &enc) != 0)
			abort();
		memset(&w2, 0, sizeof(w2));
		w2.root = w.root;
		tree_init(&w2.tree);
		if (cache_parse(&w2, enc.data, enc.len) != 0 || w2.tree.n != w.tree.n)
			abort(); /* what we save, we load back */
		for (i = 0; (e = tree_next(&w.tree, &i)) != NULL;) {
			e2 = tree_get(&w2.tree, e->path, e->len);
			if (e2 == NULL || e2->mode != e->mode || e2->size != e->size ||
			    e2->h_hi != e->h_hi || e2->mtime_ns != e->mtime_ns)
				abort();
		}
		buf_release(&enc);
		tree_close(&w2.tree);
	} else if (w.tree.n != 0) {
		abort(); /* a cache refused adds nothing */
	}
	tree_close(&w.tree);
	free(b);
	return 0;
}
