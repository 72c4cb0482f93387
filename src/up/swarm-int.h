/*
 * The state of one `up --swarm` session, shared by its three files:
 * swarm.c (lifecycle: images pushed, services created, signals, teardown),
 * swarm-tasks.c (which task runs where, through GET /tasks and GET
 * /nodes, each node's own engine, and each new task's catch-up sync) and
 * swarm-live.c (changes: decided per container, applied to every task in
 * parallel, or rebuilt, pushed and rolled out).
 *
 * Glossary: a service per container of the project (PROJECT-NAME); a slot
 * per replica, 1..replicas; the task of a slot is the newest one that the
 * swarm wants running, and its container is on its node's engine, which
 * is the only way into it (no exec crosses nodes: moby#27552).
 */
#ifndef DW_UP_SWARM_INT_H
#define DW_UP_SWARM_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "base/changeset.h"
#include "up/decide.h"
#include "engine/engine.h"
#include "project/project.h"
#include "sync/catchup.h"
#include "sync/channel.h"
#include "sync/plan.h"
#include "watch/tree.h"
#include "watch/watch.h"

struct swarm;
struct swarm_svc;

struct swarm_node {
	char *id;
	char *hostname;
	char *address;		/* its engine: swarm.nodes, else Status.Addr */
	struct engine *e;
	struct swarm_node *next;
};

struct swarm_task {
	struct swarm_svc *sv;
	int slot;
	char *task_id;
	char *cid;		/* its container, on node's engine */
	struct swarm_node *node;
	struct channel *ch;	/* into cid through node->e */
	struct catchup *cu;	/* comparing, during a catch-up */
	struct changeset cdiff;
	struct sync_plan cplan;	/* the catch-up being applied */
	bool catching;		/* a catch-up is in flight */
	bool again;		/* a change came meanwhile: catch up again */
	bool synced;		/* caught up with the tree since it started:
				   live updates go to it */
	bool ready;		/* synced, and its readiness probe passed */
	bool probe_ok;		/* the probe passed for this container */
	bool probing;
	bool said_not_ready;
	int probe_port;		/* the host port of readiness.port, or 0 */
	uint64_t probe_deadline_ns;
	struct engine_req *probe;
	uv_timer_t timer;	/* the next probe */
	bool applying;		/* in the live update in flight */
	bool said_fail;		/* its failed catch-up was said */
	uint64_t retry_ns;	/* a failed catch-up goes again from then */
	uint64_t t0;
};

struct swarm_svc {
	struct swarm *sw;
	const struct project_container *c;
	char *name;		/* the service's name: PROJECT-CONTAINER */
	char *id;		/* once created */
	char *image;		/* the pushed reference it runs */
	char *rolling;		/* the image a rolling update goes to */
	uint64_t rebuild_t0;	/* when the last rebuild began */
	uint64_t roll_t0;	/* the same, once the rolling update is under
				   way; 0: none */
	void (*image_cb)(struct swarm_svc *sv, int err);
	struct swarm_task *tasks; /* one per slot */
	int n_tasks;
	bool has_sync;
	struct decide_ctx dc;
	struct changeset pending;
	struct changeset current;
	struct sync_plan plan;
	bool busy;		/* a live update or a rebuild in flight */
	bool rebuild;
	bool rebuild_due;	/* the last one failed: the next change retries */
	char *reason;
	int left;		/* tasks the update still waits for */
	int n_applied;
	int failed_step, failed_rc, transport_err;
	uint64_t t0;
};

struct swarm {
	uv_loop_t *loop;
	struct engine *mgr;	/* the manager's engine: builds, pushes, API */
	struct project *p;
	char *auth;		/* X-Registry-Auth for publish.registry */
	char *network;		/* the project's overlay network */
	struct watcher *w;
	struct watch_options wo;
	struct swarm_svc *sv;
	size_t n_sv;
	struct swarm_node *nodes;
	bool nodes_pending;	/* a GET /nodes is in flight */
	bool polling;		/* swarm_tasks_start was called */
	char *last_error;	/* the last poll failure said, said once */
	struct tree gone;	/* paths the tree had and lost */
	uv_timer_t poll;	/* the next round of GET /tasks */
	int polls_left;		/* answers of this round still to come */
	uv_signal_t sigint, sigterm, sighup;
	int to_create;		/* images and services still to make */
	int to_remove;		/* services being removed */
	int net_tries;
	bool scanned;
	bool all_ready;
	bool stopping;
	bool keep;
	bool done;		/* teardown finished: the loop may end */
	int exit_code;
	uint64_t start_ns;
};

/* ---- swarm.c ---- */
/* One line of output, prefixed by the service (and slot, when > 0). */
void swarm_say(struct swarm *sw, const struct swarm_svc *sv, int slot,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Fail the session (exit 1) and tear down. */
void swarm_fail(struct swarm *sw, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Build (or find) sv's image and push it to publish.registry; then done
   gets 0 and sv->rolling set to the pushed reference, or an error that
   was printed. */
typedef void (*swarm_image_cb)(struct swarm_svc *sv, int err);
void swarm_image(struct swarm_svc *sv, swarm_image_cb done);

/* ---- swarm-tasks.c ---- */
/* Start polling the services' tasks (every 250 ms, one round at a time). */
void swarm_tasks_start(struct swarm *sw);
/* Cancel every catch-up and close every channel and node engine. */
void swarm_tasks_stop(struct swarm *sw);
/* After a catch-up or when a service changes: print "ready" once every
   slot of every service has a caught-up task. */
void swarm_check_ready(struct swarm *sw);
/* t's channel into its container through its node's engine, made at
   first use (run-step output and notices go to the terminal). */
struct channel *swarm_task_channel(struct swarm_task *t);
/* Catch t up with the tree (DESIGN.md section 14); again if it is busy. */
void swarm_catch_up(struct swarm_task *t);

/* ---- swarm-live.c ---- */
/* t left the live update in flight (its task ended): count it done. */
void swarm_live_dropped(struct swarm_task *t);
/* The watcher's settled change sets. */
void swarm_on_change(struct watcher *w, struct changeset *cs, void *arg);
/* Start the next update of sv, if any is due and none is in flight. */
void swarm_kick(struct swarm_svc *sv);

#endif
