/*
 * What the session says: its lines, its failures, and the event stream
 * (event.h) they go out on to the printer and the other sinks.
 */
#ifndef DW_UP_SAY_H
#define DW_UP_SAY_H

#include "up/event.h"
#include "up/model.h"

/* A line of the session (event is its --json name), for one instance or,
   with in NULL, for the session. */
void session_say(struct session *s, struct instance *in, const char *event,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* A failure. An instance a restart or replacement waits on reports to
   that waiter (its ready_cb); any other failure ends the session with
   DW_EXIT_FAIL (hooks.stop), unless it is already ending. While the engine
   is gone an instance's failure only marks it exited: monitor.c brings it
   back with the engine. */
void session_fail(struct session *s, struct instance *in, const char *fmt,
		  ...) __attribute__((format(printf, 3, 4)));
/* Print the instance's last log lines (for failures), to stderr. */
void session_print_tail(struct session *s, struct instance *in);

/* Add a sink (at most SESSION_SINKS). */
void session_add_sink(struct session *s, const struct up_sink *ops);
/* Deliver ev to every sink, in the order they were added. */
void session_emit(const struct up_event *ev);
/* Start the sinks that have a start (once the engine answers), stop them
   (end of teardown), release them (after the loop). */
void session_sinks_start(struct session *s);
void session_sinks_stop(struct session *s);
void session_sinks_release(struct session *s);

#endif
