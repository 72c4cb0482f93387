/*
 * Watching the engine for the whole `up` session: its event stream (the
 * project's containers only), crashes and the engine's own restarts of a
 * container, the crash-loop rule, and losing and finding the engine again.
 *
 * A container that exits on its own is reported with its exit code and
 * last log lines. With restart `never` it stays exited until the next save
 * that touches it wakes it (session_wake); with `always` or `on-failure`
 * the engine's restart is reported and the container goes through
 * readiness again. MONITOR_LOOP_EXITS unexpected exits within
 * MONITOR_LOOP_SECS make a crash loop: its restart policy is turned off,
 * it is stopped, and the next save wakes it and resets the count.
 *
 * When the event stream ends and the engine does not answer, the session
 * keeps watching while changes pile up in the pending sets; the engine is
 * asked again with a capped backoff, and once it answers every instance is
 * re-adopted, started or created, waits for readiness, gets a catch-up
 * sync, and then whatever changed meanwhile is applied.
 */
#ifndef DW_MONITOR_H
#define DW_MONITOR_H

#include <stdbool.h>

#include "up/model.h"

#define MONITOR_LOOP_EXITS 5
#define MONITOR_LOOP_SECS 60
#define MONITOR_BACKOFF_MIN_MS 100
#define MONITOR_BACKOFF_MAX_MS 5000

/* Start following the engine's events once the engine answered. */
void monitor_start(struct session *s);
/* Teardown: stop following; no more reports or restarts. */
void monitor_stop(struct session *s);
/* Free what monitor_start made (after monitor_stop; its handles close on
   the loop that runs next). */
void monitor_free(struct session *s);

/* devwatch itself is about to stop or remove the instance's current
   container: its exit is not a crash. */
void monitor_expect_exit(struct instance *in);

/*
 * Before the update of change set cs applies to `in`: returns false when
 * the instance is
 * running and may be updated now. Otherwise (it exited, it is in a crash
 * loop, the engine is restarting it, it is being recovered after the
 * engine came back) returns true and calls cb once it is ready again, with
 * 0, or an error when it could not be brought back (the update should be
 * kept for the next save). A stopped container gets the files cs writes
 * before it starts (so a fix reaches one that fails at once); cs is read
 * during the call only.
 */
bool session_wake(struct instance *in, const struct changeset *cs, session_ready_cb cb,
		  void *arg);

#endif
