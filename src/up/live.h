/*
 * The live-update layer of an `up` session (live.c, live-watch.c,
 * live-catchup.c): watching, deciding, syncing, rebuilding, catching up.
 * It reaches the session back through the session's hooks (catchup,
 * all_ready, resume), which session_live_start sets.
 */
#ifndef DW_UP_LIVE_H
#define DW_UP_LIVE_H

#include "project/project.h"
#include "up/model.h"
#include "watch/watch.h"

/* Start watching (the first scan, then hooks.images_start). */
void session_live_start(struct session *s);
void session_live_stop(struct session *s);
/* Free the live-update state once the engine is closed. */
void session_live_free(struct session *s);
/* The control API's trigger: every file under the container's sync
   sources goes in again and its run steps run; one without sync rules is
   rebuilt. 0, or a negative code with *cause. */
int session_live_trigger(struct cstate *cs, char **cause);
/* The control API's restart: every replica, each waiting for readiness. */
int session_live_restart(struct cstate *cs, char **cause);

/* Watch options for a project (its root, ignore globs and build contexts),
   or for a bare folder when p is NULL. Free with watch_options_release. */
void watch_options_for(struct watch_options *o, const struct project *p,
		       const char *dir);
void watch_options_release(struct watch_options *o);

#endif
