/*
 * Function containers (DESIGN.md section 11): the server side of the AWS
 * Lambda Runtime API, version 2018-06-01, one server and one queue per
 * `"function": true` container, so an image built for Lambda's runtime
 * interface client runs unchanged:
 *   GET  /2018-06-01/runtime/invocation/next         long poll; 200 with
 *        the event and Lambda-Runtime-Aws-Request-Id, -Deadline-Ms,
 *        -Invoked-Function-Arn, -Trace-Id
 *   POST /2018-06-01/runtime/invocation/ID/response  202 {"status":"OK"}
 *   POST /2018-06-01/runtime/invocation/ID/error     202; body
 *        {"errorMessage", "errorType", "stackTrace"}
 *   POST /2018-06-01/runtime/init/error              202; fails what waits
 * An unknown or finished ID is 400 InvalidRequestID; a body over 6 MiB
 * (Lambda's payload limit) is 413.
 *
 * Where it listens, and why that is safe: containers must reach it, so
 * it cannot be on 127.0.0.1. Bind it to the engine's bridge gateway (the
 * project network's gateway address, e.g. 172.18.0.1): reachable from
 * containers on that bridge and from this host, not from other machines.
 * Never 0.0.0.0, which would serve the LAN. Its guard (HTTP_POLICY_RUNTIME)
 * takes only a Host that is an IP literal, "localhost" or
 * "host.docker.internal" with its port (a rebound DNS name is 421), and
 * refuses any request carrying Origin, Referer or Sec-Fetch-* (403): a
 * runtime client sends none, every browser does, so no web page can take
 * or answer an invocation. Request ids are random (UUIDv4), so a client
 * can only answer an invocation it was handed. With `allow`, a peer from
 * outside that subnet (a container on another bridge, which reaches the
 * gateway as a host address) is 403 before anything else.
 *
 * Live updates land between invocations: lambda_fn_pause holds new
 * invocations back, and lambda_fn_on_idle says when the one in flight is
 * done. A /next answer that cannot be delivered (its runtime left while
 * it waited) puts the invocation back at the front of the queue.
 */
#ifndef DW_API_LAMBDA_H
#define DW_API_LAMBDA_H

#include <stdbool.h>
#include <stddef.h>

#include <uv.h>

#include "api/http.h"

struct lambda_fn;

struct lambda_options {
	const char *name;    /* the container's name: "hello" */
	const char *address; /* numeric IPv4 to bind: the bridge gateway */
	const char *allow;   /* "172.18.0.0/16": the only peers served (the
				bridge's own subnet); NULL = any */
	int port;	     /* 0 = a free one */
	unsigned timeout_ms; /* per invocation; 0 = 60000 */
};

enum lambda_outcome {
	LAMBDA_OK,	 /* the function answered: body */
	LAMBDA_ERROR,	 /* the function (or its init) reported an error */
	LAMBDA_TIMEOUT,	 /* no answer before the deadline */
	LAMBDA_CANCELED, /* the function was closed or reset */
};

struct lambda_result {
	enum lambda_outcome outcome;
	const char *body; /* LAMBDA_OK: the response; else the error body */
	size_t len;
	const char *error_type;	   /* non-OK: "Runtime.Unknown", ... */
	const char *error_message; /* non-OK */
};

/* Called once per invocation, on the loop; res is valid during the call. */
typedef void (*lambda_done_cb)(const struct lambda_result *res, void *arg);

/*
 * Serve the Runtime API for one function. Returns 0 and sets *out, or a
 * negative code with *cause (the address cannot be bound; DW_USAGE for
 * an allow that is not IPv4 CIDR).
 */
int lambda_fn_new(uv_loop_t *loop, const struct lambda_options *opts,
		  struct lambda_fn **out, char **cause);
/* "ADDR:PORT", the value of AWS_LAMBDA_RUNTIME_API. */
const char *lambda_fn_endpoint(const struct lambda_fn *fn);
/*
 * The environment a function container needs, as a NULL-terminated list
 * of "KEY=VALUE" (AWS_LAMBDA_RUNTIME_API, AWS_LAMBDA_FUNCTION_NAME, ...).
 * Valid until lambda_fn_close.
 */
const char *const *lambda_fn_env(const struct lambda_fn *fn);

/*
 * Deliver one event (copied). Returns 0, DW_TOOBIG over 6 MiB, or
 * UV_ECANCELED while closing; cb is then never called. After an
 * /init/error, and until a runtime asks for work again, cb gets that
 * error at once (LAMBDA_ERROR) instead of waiting out the deadline.
 */
int lambda_invoke(struct lambda_fn *fn, const char *payload, size_t len,
		  lambda_done_cb cb, void *arg);
/*
 * The control API's POST /api/invoke/NAME for fn: the request body is the
 * event; 200 with the function's response, or 502 with {"errorMessage",
 * "errorType"} for a function error or a timeout, 503 when canceled.
 * A client that leaves early does not cancel the invocation.
 */
void lambda_invoke_http(struct http_req *req, struct lambda_fn *fn);

/* Hold back (true) or release (false) new invocations; queued ones wait. */
void lambda_fn_pause(struct lambda_fn *fn, bool paused);
/* How many /next polls are parked: runtimes waiting for work (0 while
   the function's runtime is starting or busy). */
size_t lambda_fn_waiting(const struct lambda_fn *fn);
/* Whether a runtime is there to take work: one of the parked /next polls
   still has its connection open (a runtime that died or restarted
   leaves a closed one behind), or an invocation is in flight. A
   function container is ready once this holds. */
bool lambda_fn_ready(const struct lambda_fn *fn);
/* True while an invocation has been handed out and not answered. */
bool lambda_fn_busy(const struct lambda_fn *fn);
/* Call cb once nothing is in flight: at once when idle now. One waiter;
   a second call replaces the first. */
void lambda_fn_on_idle(struct lambda_fn *fn, void (*cb)(void *arg), void *arg);
/*
 * The function's container died, restarted or was replaced: fail what is
 * in flight (LAMBDA_ERROR with this type, "Runtime.ExitError", and
 * message) and end the parked polls of the runtime that is gone (410).
 * Queued invocations wait for the next runtime, which inits afresh: an
 * init error of the one that is gone is forgotten.
 */
void lambda_fn_reset(struct lambda_fn *fn, const char *type,
		     const char *message);
/* The last /init/error's errorMessage, or NULL (cleared by the next
   /next). */
const char *lambda_fn_init_error(const struct lambda_fn *fn);

/* Cancel every invocation (LAMBDA_CANCELED), close the server and free
   fn; cb (may be NULL) runs once all its handles are closed. */
void lambda_fn_close(struct lambda_fn *fn, void (*cb)(void *arg), void *arg);

#endif
