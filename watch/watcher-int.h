/*
 * The watcher's private state, shared by watcher.c (inotify, settling),
 * scan.c (walks and hashing) and cache.c (the hash cache).
 */
#ifndef DW_WATCH_WATCHER_INT_H
#define DW_WATCH_WATCHER_INT_H

#include <sys/stat.h>

#include "base/buf.h"
#include "watch/ignore.h"
#include "watch/tree.h"
#include "watch/watch.h"

/* Flags of a dirty path (kept in tentry.mark of the dirty set). PATH and
   REWALK: what the settle looks at. CLOSED: its last event closed a
   write. NAMED: a name came or went there (made, moved, deleted), or it
   is a folder. A path CLOSED and never NAMED since it went dirty was
   rewritten in place and closed: it settles after a third of the window
   (see quiet_ns). */
enum { DIRTY_PATH = 1, DIRTY_REWALK = 2, DIRTY_CLOSED = 4, DIRTY_NAMED = 8 };

/* The stat key of a file, as the hash job saw it. */
struct skey {
	uint32_t mode;
	uint64_t size, ino;
	int64_t mtime_ns, ctime_ns;
};

struct hash_job {
	char *rel;
	struct skey k;
	uint64_t h_hi, h_lo;
	char *link;
	int err;
};

/* A batch of files hashed by one threadpool task. Batches go out while
   the walk goes on, so walking and hashing overlap. */
struct hash_chunk {
	uv_work_t work;
	struct watcher *w;
	struct hash_job *jobs;
	size_t n, cap;
	/* The first scan with no cache has nothing to compare with: the
	   workers hash straight into the tree's entries, 8 bytes per file in
	   flight instead of a job. */
	struct tentry **direct;
	int *direct_err;
	size_t n_direct, cap_direct;
	uint64_t bytes;
	int rootfd;
};

struct watcher {
	uv_loop_t *loop;
	char *root;		/* absolute */
	int rootfd;		/* O_PATH descriptor of root, for openat */
	struct watch_options o;
	struct ignore ig;
	struct tree tree;	/* what we know */
	struct tree dirty;	/* paths with events since the last settle */
	watch_change_cb on_change;
	watch_ready_cb on_ready;
	void *arg;

	int ifd;		/* inotify */
	uv_poll_t poll;
	char **wd_path;		/* wd -> directory relative to the root */
	size_t wd_cap;
	size_t n_watches;
	bool watch_limit_warned;
	char **unwatched;	/* directories we could not watch */
	size_t n_unwatched;

	/* The quiet window ends at an exact time: a timerfd (CLOCK_MONOTONIC,
	   as uv_hrtime), since a uv_timer_t counts whole ms from a loop time
	   that may be a ms stale, and a settle that fires just short of the
	   window must wait a whole window more. */
	int qfd;
	uv_poll_t quiet;
	bool quiet_armed;
	uint64_t quiet_due; /* when armed: its deadline */
	uint64_t soon;	    /* a write closed in this batch: due then */
	uv_timer_t cap;
	bool cap_running;
	uint64_t first_event_ns;
	bool full_rescan;

	/* one settle at a time */
	bool busy;
	bool fire_again;
	bool initial;		/* the first scan */
	bool had_cache;
	uint8_t gen;
	struct changeset out;
	struct hash_chunk *filling; /* the batch being filled by the walk */
	size_t chunks_left;	     /* batches out on the threadpool */
	size_t lists_left;	     /* folder listings out on the threadpool */
	bool sync_done;		     /* the settle queued all it had */
	bool walk_done;		     /* ... and all listings are back */
	bool changed;		     /* the tree differs from the cache file */
	/* While watching with the cache, a settle that adds or removes paths
	   saves it a second later (at most once a second), so that a
	   devwatch killed with -9 still knows, when started again, which
	   paths existed. Content edits alone wait for the close. */
	uv_timer_t save;
	char **walked;		/* subtrees walked this round (for removals) */
	size_t n_walked;

	bool closing;
	int handles;
};

/* scan.c */
void scan_walk(struct watcher *w, const char *rel);
void scan_queue(struct watcher *w, const char *rel, const struct stat *st);
void scan_path(struct watcher *w, const char *rel, bool rewalk);
void scan_hash_start(struct watcher *w);
void scan_finish_removals(struct watcher *w);
void scan_remove_subtree(struct watcher *w, const char *rel);
void scan_emit_removed(struct watcher *w, struct tentry *e);
int watch_add_dir(struct watcher *w, const char *rel);
void watch_forget_under(struct watcher *w, const char *rel);

/* watcher.c: called when the hash jobs of a settle are done */
void watcher_settled(struct watcher *w);

/* cache.c */
int cache_load(struct watcher *w);
int cache_save(struct watcher *w);
/* What those two do past the file: check a cache's bytes and add its
   records to w->tree (0, or -EINVAL with the tree untouched), and encode
   w->tree into b (initialised here; release it). */
int cache_parse(struct watcher *w, const char *data, size_t n);
int cache_encode(const struct watcher *w, struct buf *b);

#endif
