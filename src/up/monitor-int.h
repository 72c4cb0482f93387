/*
 * What src/monitor.c (events, crashes, the engine lost and found) and
 * src/monitor-up.c (bringing an instance back) share. See monitor.h.
 */
#ifndef DW_MONITOR_INT_H
#define DW_MONITOR_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/changeset.h"
#include "up/monitor.h"
#include "up/say.h"

#define EVENT_QUEUE 64 /* events of ours waiting for the loop */
/* A container stopped by a signal from outside (a kill event came first)
   may be the engine shutting down: its event stream ends a moment later,
   and the engine's return, not a save, brings the container back. */
#define KILL_GRACE_MS 3000
#define KILL_WINDOW_NS (30 * 1000000000ull) /* a die this soon after a kill */

enum mon_phase {
	MP_OK = 0,
	MP_EXITED,
	MP_LOOPED,
	MP_RESTARTING,
	MP_WAKING,
	MP_LOST,
	MP_RECOVERING,
};

struct monitor;
struct prewrite;

struct mon_inst {
	struct monitor *m;
	struct instance *in;
	enum mon_phase phase;
	uint64_t exits[MONITOR_LOOP_EXITS]; /* ring of unexpected exit times */
	int next_exit;
	int last_code;
	bool started_seen;  /* a start event since the last unexpected die */
	bool policy_off;    /* the crash loop turned its restart policy off */
	bool catchup;       /* needs a catch-up sync once ready */
	bool woke;          /* started for a save, readiness still to come */
	struct prewrite *pre; /* what to write before it starts, or NULL */
	char *expect_id;    /* a container devwatch stops or removes itself:
			       its die and destroy are ignored until it
			       starts again */
	uint64_t kill_ns;   /* when the engine last signalled it */
	bool killed;        /* the exit being handled followed a kill */
	int stop_tries;
	session_ready_cb wake_cb;
	void *wake_arg;
};

/* A die or start of one of our containers, handled outside curl's
   callback (a request started from inside a stream's callback stalls). */
struct event {
	bool die;
	bool destroy;
	bool pause;
	bool killed;
	int code;
	unsigned stream;	/* which subscription it came on */
	uint64_t due_ns;
	char id[72];
};

struct monitor {
	struct session *s;
	struct engine_req *events;
	uv_timer_t timer;   /* reconnect backoff */
	uv_timer_t defer;   /* handles the queued events */
	int open_timers;
	struct event queue[EVENT_QUEUE];
	int queued;
	unsigned stream;	/* subscriptions so far */
	uint64_t backoff_ms;
	uint64_t lost_ns;
	char last_time[48]; /* "sec.nsec" of the last event seen */
	bool lost;
	bool stopped;
	bool refused;		/* the engine refused /events (said once) */
	struct mon_inst *mi;
	size_t n;
};


/* monitor.c */
bool mon_gone(const struct monitor *m);
/* Call the waiter of session_wake, if any, once. */
void mon_resolve(struct mon_inst *mi, int err);
/* Take the instance away from whatever probed it: no timer, no probe. */
void mon_quiesce(struct instance *in, enum inst_state st);
/* The engine does not answer: say so once, wait, reconnect. */
void mon_engine_lost(struct monitor *m, const char *why);

/* monitor-up.c */
/* Inspect by name: running is adopted, stopped is started (its restart
   policy back after a crash loop), gone is created anew; then readiness,
   and a catch-up sync when mi->catchup. The engine already restarting it
   skips to readiness. mon_on_ready is the readiness callback. */
void mon_bring_up(struct mon_inst *mi);
void mon_on_ready(struct instance *in, int err, void *arg);
/* POST /containers/{id}/update: the restart policy off, or back on. */
void mon_set_policy(struct mon_inst *mi, bool on, engine_done_cb cb);

/* monitor-pre.c: the waking change's files, written into the stopped
   container before it starts. */
typedef void (*mon_prewrite_cb)(struct mon_inst *mi, int err);
/* Plan what cs writes (replacing an earlier plan); nothing when it writes
   nothing. */
void mon_prewrite_plan(struct mon_inst *mi, const struct changeset *cs);
/* Write the plan (if any) and drop it; cb gets 0 or why it could not. */
void mon_prewrite(struct mon_inst *mi, mon_prewrite_cb cb);
void mon_prewrite_free(struct mon_inst *mi);

#endif
