/*
 * The control API of one `up` session (DESIGN.md section 9): the session
 * emits typed events (api/events.h) for every line the terminal shows,
 * and serves them with its state on 127.0.0.1 through api/control.h,
 * announced in .devwatch/api. The session calls these hooks; each does
 * nothing before up_api_start or after up_api_stop.
 */
#ifndef DW_UP_API_H
#define DW_UP_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct session;
struct instance;
struct cstate;
struct sync_plan;
struct channel;

/* One finished update, as src/live.c reports it. Times are now_ns(). */
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

/* Serve the API (the engine answers). A failure to listen is a warning:
   the session runs on without it. */
void up_api_start(struct session *s);
/* Close the server and remove .devwatch/api; the loop runs until done. */
void up_api_stop(struct session *s);
/* Free the event stream (after the loop ended). */
void up_api_free(struct session *s);

/* A line session_say printed (event is its --json name), or an error. */
void up_api_said(struct session *s, struct instance *in, const char *event,
		 const char *msg);
/* A log line of a container (stream 1 stdout, 2 stderr). */
void up_api_log(struct instance *in, int stream, const char *line, size_t n);
/* An update reported (src/live.c report()). */
void up_api_update(struct session *s, struct cstate *cs,
		   const struct up_update *u);

#endif
