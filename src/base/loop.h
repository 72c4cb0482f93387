/*
 * Waiting on a libuv loop for one step to finish, for the commands that own
 * their loop (run, exec, down, push, a synchronous engine call).
 */
#ifndef DW_BASE_LOOP_H
#define DW_BASE_LOOP_H

#include <stdbool.h>

#include <uv.h>

/*
 * Run `loop` until *done is true; return at once when it already is.
 *
 * A bare `while (!*done) uv_run(loop, UV_RUN_ONCE)` can hang: libuv runs
 * the timers that are due before it polls, so when a timer's callback sets
 * *done (curl's 0 ms timer after a request joins, when the engine's answer
 * is already there) that same uv_run goes on to block for I/O with no
 * timeout, and never returns while another handle (a signal, a terminal)
 * keeps the loop alive and nothing else arrives. Here an unreferenced
 * prepare handle, which libuv runs after the timers and just before it
 * polls, stops the loop as soon as *done is true.
 *
 * Waits may nest (a callback that waits on its own call): only the
 * innermost one's flag stops the loop. One thread only.
 */
void loop_run_until(uv_loop_t *loop, const bool *done);

#endif
