/*
 * One `devwatch up` session: the project's images, its containers and their
 * replicas, their readiness, their logs, and teardown on a signal. Everything
 * happens on one libuv loop, through the asynchronous engine client.
 *
 * Later stages plug in here: once every container is ready the session starts
 * the watcher, and each settled change set goes to session_apply(), which
 * decides per container and hands live updates to sync/.
 */
#ifndef DW_SESSION_H
#define DW_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "base/buf.h"
#include "progress.h"
#include "engine/engine.h"
#include "project/project.h"

#define SESSION_TAIL 20

struct session;
struct changeset;

enum inst_state {
	INST_NEW = 0,
	INST_STARTING,
	INST_PROBING,
	INST_READY,
	INST_FAILED,
	INST_STOPPING,
	INST_GONE,
	INST_EXITED,	/* crashed or the engine went away (src/monitor.c) */
};

/* One replica of one container, as running on the engine. */
struct instance {
	struct session *s;
	struct cstate *cs;
	int replica;		/* from 1 */
	char *name;		/* engine name, "<project>-<container>-<n>" */
	char *label;		/* what the user sees: "web" or "web-2" */
	char *id;		/* engine ID once created */
	int *host_ports;	/* per container port, read back after start */
	char **host_ips;	/* per container port: the engine's HostIp, or NULL */
	enum inst_state state;
	bool adopted;
	bool removing;
	bool restarting;
	bool synced_once;	/* caught up since it was created */
	bool completed;		/* a job that exited 0 */
	bool tail_only;		/* log lines go to the tail, not the screen */
	bool liveness;		/* the probe timer runs the liveness probe */
	int live_fails;		/* consecutive liveness failures */
	void (*ready_cb)(struct instance *in, int err, void *arg);
	void *ready_arg;
	uv_timer_t timer;	/* probe retry and grace */
	uint64_t started_ns;
	uint64_t probe_deadline_ns;
	struct engine_req *logs;
	struct engine_req *probe;
	char *probe_exec;	/* exec ID of a command probe */
	int colour;
	struct buf partial[3];	/* unfinished log line per stream */
	char *tail[SESSION_TAIL];
	int tail_next;
	FILE *logf;
	void *live;		/* sync/'s state for this instance */
	void *mon;		/* src/monitor.c's state for this instance */
};

/* One entry of "containers" and its replicas. */
struct cstate {
	struct project_container *c;
	char *image_ref;
	struct instance *inst;
	int n_inst;
	int colour;
	bool begun;		/* its instances were started (order.c) */
	bool said_wait;		/* "waits for ..." was printed */
	void *live;		/* sync/'s per-container state */
};

struct session_opts {
	const char *file;
	bool keep;
	bool json;
	bool no_watch;
};

struct session {
	uv_loop_t *loop;
	struct engine *e;
	struct project *p;
	struct session_opts o;
	struct cstate *cs;
	size_t n_cs;
	uv_signal_t sigint, sigterm, sighup; /* a closed terminal is a Ctrl-C */
	int label_width;
	int images_pending;
	int not_ready;
	int teardown_pending;
	int signals;
	int exit_code;
	bool all_ready;
	bool shutting_down;
	bool finished;
	bool network_up;	/* the project network exists: remove it last */
	uint64_t start_ns;
	char *logdir;
	struct progress progress; /* long work as one line per container */
	void *watcher;		/* watch/'s watcher once everything is ready */
	void *live;		/* sync/'s session-wide state */
	void *monitor;		/* src/monitor.c: engine events, reconnects */
	void *api;		/* src/up-api.c: the control API and events */
};

/* Run a whole session; returns the exit code. */
int session_run(const struct session_opts *o);

/* Output, shared with the live-update layer. */
void session_say(struct session *s, struct instance *in, const char *event,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void session_fail(struct session *s, struct instance *in, const char *fmt,
		  ...) __attribute__((format(printf, 3, 4)));
/* The container exited before it was ready: fail with its log tail. */
void session_fail_exited(struct instance *in, int code);
/* Print the instance's last log lines (for failures). */
void session_print_tail(struct session *s, struct instance *in);
/* Take the bound host ports (and the addresses the engine reports them on)
   of an inspect answer into the instance. */
struct container_info;
void session_take_ports(struct instance *in, struct container_info *ci);
/* Start following an instance's logs (since: unix seconds, 0 = all). */
void session_follow_logs(struct instance *in, long since);
void session_log_close(struct instance *in);
/* Start an instance: adopt, or create and start (order.c decides when). */
void session_begin(struct instance *in);
/* Count an instance ready (a job that completed). */
void session_mark_ready(struct instance *in);
/* Start (or restart) readiness probing of a started instance. */
void session_probe(struct instance *in);
/* Wait for readiness again after a restart or replacement. */
typedef void (*session_ready_cb)(struct instance *in, int err, void *arg);

/* Restart the container and wait for readiness again; cb gets 0 or why. */
void session_restart(struct instance *in, session_ready_cb cb, void *arg);
/* Start a new container from cs->image_ref next to the old one, wait for
   it, then remove the old one and give the new one its name. On failure the
   old one stays. */
void session_replace(struct instance *old, session_ready_cb cb, void *arg);

/* Build or pull every image and start the containers: called by the
   live-update layer once the watcher's first scan is done. */
void session_images_start(struct session *s);

/* Hooks the live-update layer provides (src/live.c). */
/* Start watching (the first scan, then session_images_start). */
void session_live_start(struct session *s);
/* Every container is ready: apply what changed meanwhile. */
void session_live_all_ready(struct session *s);
void session_live_stop(struct session *s);
/* The catch-up sync of an instance (DESIGN.md section 14): make its synced
   paths equal to the local tree, run the triggered steps; restart tells
   whether restart_container asks for a restart now. Returns false when
   the container has no sync rules (cb not called). */
typedef void (*session_catchup_cb)(struct instance *in, int err, bool restart);
bool session_live_catchup(struct instance *in, session_catchup_cb cb);
/* The engine is back (src/monitor.c): channels reopen, and what waited
   (pending and held changes) is applied, each container once session_wake
   lets it. */
void session_live_resume(struct session *s);
/* The control API's trigger (src/up-api.c): every file under the
   container's sync sources goes in again and its run steps run; one
   without sync rules is rebuilt. 0, or a negative code with *cause. */
int session_live_trigger(struct cstate *cs, char **cause);
/* The control API's restart: every replica, each waiting for readiness. */
int session_live_restart(struct cstate *cs, char **cause);
/* Free the live-update state once the engine is closed. */
void session_live_free(struct session *s);

#endif
