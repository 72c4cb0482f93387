/*
 * The session's typed event stream (DESIGN.md section 2): every line the
 * terminal shows, every log line, and every update with its files and its
 * per-stage times. The terminal printer (printer.c, --json included) and
 * the control API (src/api/up.c) are sinks of this one stream; the session
 * knows no sink but through struct up_sink (say.h adds and feeds them).
 */
#ifndef DW_UP_EVENT_H
#define DW_UP_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct session;
struct instance;
struct cstate;
struct sync_plan;
struct channel;

enum up_event_kind {
	UP_SAID,	/* a line of the session: name is its --json event name */
	UP_ERROR,	/* a failure, name "error" (session_fail) */
	UP_LOG,		/* a container's log line */
	UP_OUTPUT,	/* a run step's output line */
	UP_BUILD,	/* a builder or pull line (cs) */
	UP_BUILD_END,	/* the build or pull of cs ended (failed) */
	UP_SYNC,	/* a large update of cs begins (plan): long work */
	UP_UPDATE,	/* an update finished (cs, update) */
};

/* One finished update, as live.c reports it. Times are now_ns(). */
struct up_update {
	const char *what;	/* "synced", "update failed after syncing", ... */
	bool failed;
	bool rebuilt;		/* a rebuild or recreate replaced it */
	const struct sync_plan *plan;
	const struct channel *ch; /* the first replica's: its step times */
	int failed_step;	/* -1 when none */
	int failed_rc;
	uint64_t first_event, settled, hashed; /* from the change set */
	uint64_t started;	/* the update began */
	uint64_t applied;	/* files and run steps done (0: never) */
	uint64_t ended;
};

struct up_event {
	enum up_event_kind kind;
	struct session *s;
	struct instance *in;	/* or NULL: the session, or all of cs */
	struct cstate *cs;	/* UP_BUILD, UP_UPDATE */
	const char *name;	/* UP_SAID, UP_ERROR */
	const char *text;	/* the message or the line (not NUL-ended for
				   UP_LOG and UP_OUTPUT: see len) */
	size_t len;
	int stream;		/* UP_LOG: 1 stdout, 2 stderr */
	bool failed;		/* UP_BUILD_END */
	const struct sync_plan *plan; /* UP_SYNC */
	const struct up_update *update;
};

/* A sink. start is called once the engine answers and returns the sink's
   state (NULL: the sink stays out); a sink without start gets every event
   from the first, with st NULL. stop is called at the end of teardown
   (the loop still runs), release after the loop ended. */
struct up_sink {
	void *(*start)(struct session *s);
	void (*event)(void *st, const struct up_event *ev);
	void (*stop)(void *st);
	void (*release)(void *st);
};

#endif
