/*
 * One `devwatch up` session: the project's images, its containers and their
 * replicas, their readiness, their logs, live updates, and teardown on a
 * signal. Everything happens on one libuv loop, through the asynchronous
 * engine client. What the session does goes out as events (event.h) to
 * the printer and to the sinks the caller adds (the control API).
 */
#ifndef DW_UP_SESSION_H
#define DW_UP_SESSION_H

#include "up/model.h"

/* Run a whole session; returns the exit code. */
int session_run(const struct session_opts *o);

#endif
