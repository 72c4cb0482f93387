/*
 * The catch-up sync (DESIGN.md sections 5 and 14): the difference between
 * what a container holds under its sync targets and the local tree, as a
 * change set which, applied like any live update, makes the two equal.
 *
 * The container side is listed by devwatch's agent through the channel
 * (sizes, modes, link targets and XXH3-128 hashes made in the container,
 * so nothing but the listing crosses), or, where the agent cannot run,
 * through the engine's archive API (GET /containers/{id}/archive of each
 * rule's `to`, hashed here), which needs nothing from the image. Either is
 * compared by content hash (the watcher's hash), mode, type and link
 * target: a file whose content is equal is not written again.
 *
 * A container path with no local counterpart is deleted only when the
 * local tree had that path and lost it (the `gone` list: removed while
 * devwatch ran, or while it was stopped, as the hash cache tells). A path
 * the local tree never had (what a run step or the image itself made, like
 * a generated page) is left alone.
 */
#ifndef DW_SYNC_CATCHUP_H
#define DW_SYNC_CATCHUP_H

#include <stdbool.h>

#include "base/changeset.h"
#include "engine/engine.h"
#include "project/project.h"
#include "sync/channel.h"

struct catchup;

/* err 0: diff holds what to write (added/modified, with the local type,
   mode and hash) and what to delete (removed); the callee may take it with
   changeset_merge. Otherwise err says why and diff is empty. */
typedef void (*catchup_done_cb)(int err, struct changeset *diff, void *arg);

/*
 * Start comparing container cid with the local tree. local is a snapshot of
 * every local path under the container's sync sources (watcher_snapshot),
 * gone the project-relative paths the tree has lost, in any order. Both
 * are moved in (left empty). ch, when not NULL, is a channel to the same
 * container, idle, whose agent lists the targets; without it, or when the
 * agent cannot serve, the archive API does. Returns 0 (cb will run, unless
 * cancelled) or a negative code (cb never runs).
 */
int catchup_start(struct engine *e, struct channel *ch, const char *cid,
		  const struct project_container *c, struct changeset *local,
		  char **gone, size_t n_gone, catchup_done_cb cb, void *arg,
		  struct catchup **out);
/* Drop a catch-up whose owner is going away: cb never runs. With a
   channel, free or reset that channel right after: a listing in flight
   on it ends without a callback only then. */
void catchup_cancel(struct catchup *x);

/* The comparison itself, exposed for tests: container entries (paths
   relative to the project, as the rules map them) against local ones. */
void catchup_compare(const struct project_container *c,
		     const struct changeset *container,
		     const struct changeset *local, char *const *gone,
		     size_t n_gone, struct changeset *diff);

#endif
