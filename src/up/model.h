/*
 * The state of one `devwatch up` session, shared by the files of src/up/:
 * the project's containers (struct cstate), their replicas as running on
 * the engine (struct instance), and the session itself. Each part keeps its
 * own state behind a void pointer; the hooks and sinks are how the parts
 * and the observers (the printer, the control API) reach each other.
 */
#ifndef DW_UP_MODEL_H
#define DW_UP_MODEL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "base/buf.h"
#include "engine/engine.h"
#include "project/project.h"
#include "up/progress.h"

#define SESSION_TAIL 20

struct session;
struct changeset;
struct up_event;
struct up_sink;

enum inst_state {
	INST_NEW = 0,
	INST_STARTING,
	INST_PROBING,
	INST_READY,
	INST_FAILED,
	INST_STOPPING,
	INST_GONE,
	INST_EXITED,	/* crashed or the engine went away (monitor.c) */
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

typedef void (*session_ready_cb)(struct instance *in, int err, void *arg);
/* A catch-up sync of an instance ended; restart tells whether
   restart_container asks for a restart now. */
typedef void (*session_catchup_cb)(struct instance *in, int err, bool restart);

/* Calls back up the session's parts, each set by the part that owns it,
   so that no two of its files include each other. */
struct session_hooks {
	void (*stop)(struct session *s);	 /* session.c: tear down */
	void (*images_start)(struct session *s); /* session.c: network, images */
	/* live.c: the catch-up sync (DESIGN.md section 14); false when the
	   container has no sync rules (cb not called) */
	bool (*catchup)(struct instance *in, session_catchup_cb cb);
	void (*all_ready)(struct session *s);	 /* live.c */
	void (*resume)(struct session *s);	 /* live.c: the engine is back */
	void (*paused)(struct instance *in);	 /* live.c: paused from outside */
};

/* The Runtime API of the function containers (DESIGN.md section 11). It
   is served by an observer (src/api/up.c), which sets these when it
   starts; the session reaches it only through them (function.c). Each
   takes the cstate of a "function": true container. */
struct session_functions {
	/* Serve cs's Runtime API on address (numeric IPv4: where its
	   container reaches this machine) to peers of the subnet allow
	   ("172.18.0.0/16") only. 0, or a negative code with *cause. */
	int (*serve)(void *st, struct cstate *cs, const char *address,
		     const char *allow, char **cause);
	/* The environment its container gets: "K=V", NULL-terminated. */
	const char *const *(*env)(void *st, struct cstate *cs);
	/* A runtime is there to take work; *init_error is the error its
	   init reported, or NULL. */
	bool (*ready)(void *st, struct cstate *cs, const char **init_error);
	/* Hold new invocations back; cb once none is in flight (at once
	   when none is). False when there is nothing to hold (cb not
	   called). */
	bool (*hold)(void *st, struct cstate *cs, void (*cb)(void *arg), void *arg);
	/* Let invocations go again. */
	void (*release)(void *st, struct cstate *cs);
	/* An invocation is in flight. */
	bool (*busy)(void *st, struct cstate *cs);
	/* Its runtime is gone: fail what it holds; the queue waits. */
	void (*reset)(void *st, struct cstate *cs, const char *message);
};

/* An observer of the session's events (event.h) and its state. */
struct session_sink {
	const struct up_sink *ops;
	void *st;	/* what ops->start returned */
};

#define SESSION_SINKS 4

struct session_opts {
	const char *file;
	bool keep;
	bool json;
	bool no_watch;
	const struct up_sink *const *sinks; /* NULL-terminated, or NULL */
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
	void *monitor;		/* monitor.c: engine events, reconnects */
	bool engine_lost;	/* monitor.c: the engine went away */
	struct session_hooks hooks;
	const struct session_functions *functions; /* set by an observer */
	void *functions_st;
	struct session_sink sinks[SESSION_SINKS];
	int n_sinks;
};

/* An engine path for the instance: its ID once known, else its name. */
static inline const char *inst_path(const struct instance *in, const char *fmt, char *buf,
				    size_t n)
{
	snprintf(buf, n, fmt, in->id != NULL ? in->id : in->name);
	return buf;
}

#endif
