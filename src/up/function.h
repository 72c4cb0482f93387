/*
 * Function containers in an `up` session (DESIGN.md section 11), the
 * session's side (function.c): where each one's Runtime API listens, the
 * environment its container gets, its readiness, invocations held back
 * while a live update or a restart lands, and a runtime that is gone.
 * The API itself is served through s->functions (model.h). Each call
 * does nothing for a container that is not a function.
 */
#ifndef DW_UP_FUNCTION_H
#define DW_UP_FUNCTION_H

#include <stdbool.h>

#include "up/model.h"

/*
 * Serve the Runtime API of every function container, then call then(s):
 * at once when there is none. On an error the session fails (a remote
 * engine, no address to listen on) and then is not called.
 */
void session_functions_serve(struct session *s, void (*then)(struct session *s));

/* Add the Runtime API's environment to a create body (JSON, replaced). */
void session_function_env(const struct instance *in, char **body);
/* Whether a running container made before this session can be adopted:
   its AWS_LAMBDA_RUNTIME_API is this session's (inspect is its JSON). */
bool session_function_adoptable(const struct instance *in, const char *inspect,
				size_t len);
/* Readiness without a probe: its runtime asked for work. An init error
   counts (said as a warning): the function is there, and each
   invocation reports that error until a save fixes the code. */
bool session_function_ready(struct instance *in);

/*
 * Hold invocations back before a live update or a restart of cs, and
 * call cb once the invocation in flight (if any) has finished. Returns
 * false (cb not called) when cs is not a function.
 */
bool session_function_hold(struct cstate *cs, void (*cb)(void *arg), void *arg);
/* The update or restart is done: queued invocations go on. */
void session_function_release(struct cstate *cs);
/* The instance's runtime is gone (a restart, an exit): what it held fails
   with message; what is queued waits for the next runtime. */
void session_function_gone(struct instance *in, const char *message);

#endif
