/*
 * GET /api/events: the event stream as server-sent events (the HTML
 * standard's text/event-stream), one sink of events.h per server.
 *
 * Each event goes out as
 *     id: 42
 *     event: update
 *     data: {"id":42,"kind":"update","container":"web",...}
 * followed by a blank line. A reconnecting EventSource sends
 * Last-Event-ID and gets every kept event after it; `?since=N` does the
 * same for a first connection (`since=0`: the whole history). When the
 * history no longer reaches back that far, an `event: gap` with
 * {"after": N, "oldest": M} comes first. `?container=NAME` and
 * `?kinds=update,state` filter. A comment line every 15 s keeps idle
 * connections alive and finds clients that left.
 *
 * Each client's queue is capped (default 4 MiB, room for a whole
 * replay): a client that falls that far behind is dropped, and the loop
 * never waits for one.
 */
#ifndef DW_API_SSE_H
#define DW_API_SSE_H

#include <stddef.h>

#include <uv.h>

#include "api/events.h"
#include "api/http.h"

struct sse;

/* Serve es to SSE clients; max_queued 0 = 4 MiB per client. */
struct sse *sse_new(uv_loop_t *loop, struct events *es, size_t max_queued);
/* Route handler for GET /api/events; arg is the struct sse. */
void sse_handle(struct http_req *req, void *arg);
/* Clients connected now. */
size_t sse_clients(const struct sse *s);
/*
 * End every client's stream, stop listening to the events, and free s
 * once its timer and every stream are closed; cb (may be NULL) then runs.
 * The events must outlive this call only, not the callback.
 */
void sse_close(struct sse *s, void (*cb)(void *arg), void *arg);

#endif
