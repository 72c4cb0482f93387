/*
 * The typed event stream of one session (DESIGN.md section 2): the `up`
 * session emits, and the terminal printer, --json, GET /api/events and the
 * dashboard's history are its sinks. Each event has an id (1, 2, 3, ...
 * in emission order), a kind, the container and replica it is about, the
 * wall-clock time, and fields as a cJSON object.
 *
 * A bounded history keeps the last events for late subscribers (the SSE
 * endpoint's Last-Event-ID replay, the dashboard's first paint). Log lines
 * have their own ring, so a chatty container cannot push the update
 * history out.
 *
 * Kinds and their fields, as the dashboard reads them:
 *   "state"   {"state": "starting|running|ready|updating|update-failed|
 *              exited|removed", "ready": bool, "id": "...", "urls": [...]}
 *   "update"  {"files": ["web/a.html", ...] (the first 100), "count": n,
 *              "removed": n (of count), "result": "ok|failed|rebuild",
 *              "stages": {"settle": ms, "hash": ms, "transfer": ms,
 *                         "steps": [{"cmd": "...", "ms": n, "exit": n}],
 *                         "restart": ms},
 *              "total_ms": n, "output": "what the run steps printed",
 *              only when one failed}
 *   "log"     {"stream": "stdout|stderr", "line": "..."}
 *   "progress"{"what": "build|pull|sync", "message": "...", "done": bool}
 *   "notice"  {"level": "info|warn|error", "message": "..."}
 * A sink must accept kinds and fields it does not know.
 */
#ifndef DW_API_EVENTS_H
#define DW_API_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct events;
struct events_sub;

struct event {
	uint64_t id;
	const char *kind;
	const char *container; /* "" when about the session */
	int replica;	       /* -1 when not about one replica */
	int64_t time_ms;       /* Unix time in milliseconds */
	const cJSON *fields;   /* an object; never NULL */
};

/* Called for each event, on the emitting thread (the loop), in order. The
   event is valid only during the call. */
typedef void (*events_fn)(const struct event *ev, void *arg);

/*
 * A stream keeping the last `history` events (0 = 1000) and the last
 * `log_history` log lines (0 = 2000).
 */
struct events *events_new(size_t history, size_t log_history);
/* Free the stream; subscriptions must be gone first. NULL does nothing. */
void events_free(struct events *es);

/*
 * Emit one event: fields is an object the stream takes (NULL means {}).
 * container may be NULL (""). Returns the event's id. A sink may emit,
 * subscribe or unsubscribe from its callback; an event emitted from a
 * callback is delivered after the current one, to every sink.
 */
uint64_t events_emit(struct events *es, const char *kind,
		     const char *container, int replica, cJSON *fields);

/* Subscribe fn; returns the subscription (freed by events_unsubscribe). */
struct events_sub *events_subscribe(struct events *es, events_fn fn,
				    void *arg);
void events_unsubscribe(struct events_sub *sub);

/*
 * Call fn for each kept event with an id above after_id, oldest first
 * (both rings merged by id). Returns how many were given.
 */
size_t events_replay(const struct events *es, uint64_t after_id, events_fn fn,
		     void *arg);
/* The id of the last event emitted (0 before the first). */
uint64_t events_last_id(const struct events *es);
/* The oldest id still kept, or 0 when the history is empty; a replay from
   before it has lost events. */
uint64_t events_oldest_id(const struct events *es);

/* The event as {"id", "kind", "container", "replica", "time", "fields"};
   "replica" is omitted when -1. Caller frees with cJSON_Delete. */
cJSON *event_to_json(const struct event *ev);

#endif
