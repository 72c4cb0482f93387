/*
 * What the files of the live-update layer share: live.c (the conductor),
 * live-watch.c (the watcher and the layer's lifecycle) and live-catchup.c
 * (catch-up syncs). Nothing outside them includes this.
 */
#ifndef DW_UP_LIVE_INT_H
#define DW_UP_LIVE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/changeset.h"
#include "sync/plan.h"
#include "up/decide.h"
#include "up/model.h"
#include "watch/tree.h"
#include "watch/watch.h"

struct catchup_job;

struct live_c;

struct live_inst {
	struct live_c *lc;
	struct instance *in;
	struct channel *ch;
	char *cid; /* the container the channel serves */
};

struct live_c {
	struct session *s;
	struct cstate *cs;
	struct decide_ctx dc;
	struct changeset pending;
	struct changeset held; /* could not be synced: retried with the next
				  change, so it is never dropped */
	bool rebuild;
	bool recreate;	  /* ... replacing the container even if the tag stays */
	bool recreating;  /* the rebuild in flight is one */
	bool offline_recreate; /* a fall_back_on file changed while devwatch
				  was stopped: an adopted container is
				  recreated once everything is ready */
	bool rebuild_due; /* the last rebuild failed: the next change retries */
	char *reason;
	bool busy;
	struct changeset current;
	struct sync_plan plan;
	uint64_t t0;
	uint64_t t_settled, t_hashed, t_started, t_applied; /* for the events */
	int left;
	int failed_step;
	int failed_rc;
	int transport_err;
	int retries;
	uv_timer_t *retry;	/* sends what is held again (live.c) */
	uint64_t retry_ms;	/* its next wait: doubles, reset by a success */
	int waking;		/* instances session_wake is bringing back */
	bool wake_failed;
	bool update_failed;
	struct live_inst *li;
};

struct live {
	struct session *s;
	struct watcher *w;
	struct watch_options wo;
	struct live_c *c;
	size_t n;
	bool scanned;	  /* the watcher's first scan is done */
	bool images_started;
	uv_timer_t *start; /* starts the images after the first settle */
	bool stopping;
	struct tree gone; /* paths the local tree had and lost: a catch-up
			     deletes these in a container, and only these */
	struct catchup_job *jobs; /* catch-ups in flight */
};

/* live.c: start what is pending for the container, if nothing is in
   flight; a run step's output line, for a channel (arg: a live_inst). */
void live_kick(struct live_c *lc);
void live_out_line(const char *line, size_t n, void *arg);
/* A notice from a channel (arg: a live_inst). */
void live_notice(const char *msg, void *arg);
/* The instance's live updates go through ch, a channel into container
   cid (a catch-up's, its session open): the first save then needs no new
   one. Frees ch when the instance has a channel or another container. */
void live_adopt_channel(struct instance *in, const char *cid, struct channel *ch);
/* Stop and close the container's retry timer (at stop). */
void live_retry_close(struct live_c *lc);

/* live-catchup.c: the session's catchup hook, and cancelling every
   catch-up in flight (at stop). */
bool live_catchup(struct instance *in, session_catchup_cb cb);
void live_catchup_cancel_all(struct live *lv);

#endif
