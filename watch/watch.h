/*
 * The source-tree watcher (DESIGN.md section 3): inotify on every watched
 * directory through a uv_poll_t, a settle window, XXH3-128 content hashes
 * computed on the threadpool, and change sets that hold only real changes.
 * Overflow, lost watches and failed watches end in a rescan diffed by hash.
 */
#ifndef DW_WATCH_WATCH_H
#define DW_WATCH_WATCH_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "base/changeset.h"

struct watcher;

struct watch_context {
	const char *rel;	/* build context relative to the root ("." ok) */
	const char *dockerfile; /* relative to the context */
};

struct watch_options {
	const char *root;
	char *const *ignore; /* the project's ignore globs, NULL-terminated */
	const struct watch_context *contexts;
	size_t n_contexts;
	int settle_ms;	/* quiet window; 0: $DEVWATCH_SETTLE_MS or 3 */
	int cap_ms;	/* longest wait under a constant writer; 0: 100 */
	bool use_cache; /* load and save <root>/.devwatch/hashcache */
	bool no_watch;	/* scan only (devwatch hash) */
};

/* A settled change set. It is released when the callback returns; take
   what you need (changeset_merge into your own). */
typedef void (*watch_change_cb)(struct watcher *w, struct changeset *cs,
				void *arg);
/* The initial scan finished (err 0), or failed. */
typedef void (*watch_ready_cb)(struct watcher *w, int err, void *arg);

int watcher_new(uv_loop_t *loop, const struct watch_options *o,
		watch_change_cb on_change, watch_ready_cb on_ready, void *arg,
		struct watcher **out, char **cause);
/* Stop watching, save the hash cache, free. Safe inside a callback. */
void watcher_close(struct watcher *w);

struct tree_summary {
	uint64_t files;	   /* regular files */
	uint64_t bytes;	   /* their total size */
	uint64_t links;	   /* symlinks */
	uint64_t dirs;
	char digest[33];   /* XXH3-128 over the sorted (path, type, mode, hash) */
};
void watcher_summary(const struct watcher *w, struct tree_summary *out);
/* Does the tree hold rel (relative to the root)? */
bool watcher_has(const struct watcher *w, const char *rel);
/* Every path at or under prefix ("." for all), as CHANGE_ADDED entries
   with type, mode, size, link target and content hash (0 and 0 while a
   file is not hashed yet). Appended to out, which is then normalized. */
void watcher_snapshot(const struct watcher *w, const char *prefix,
		      struct changeset *out);
/* Paths watched with inotify. */
size_t watcher_watch_count(const struct watcher *w);

#endif
