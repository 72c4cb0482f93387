/*
 * Server-sent events for GET /api/events: one subscription to the event
 * stream, fanned out to every connected client's capped stream. Each
 * event is encoded once per delivery, whatever the number of clients.
 */
#include "api/sse.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/util.h"

#define DEFAULT_MAX_QUEUED (4u << 20)
#define HEARTBEAT_MS 15000
#define MAX_FILTER 1024

struct client {
	struct sse *s;
	struct http_stream *st;
	char *container; /* filter, or NULL */
	char *kinds;	 /* ",update,state," or NULL */
	struct client *prev, *next;
};

struct sse {
	struct events *es;
	struct events_sub *sub;
	uv_timer_t heartbeat;
	size_t max_queued;
	struct client *clients;
	size_t n_clients;
	bool closing;
	bool timer_closed;
	void (*close_cb)(void *arg);
	void *close_arg;
};

static bool wants(const struct client *c, const struct event *ev)
{
	if (c->container && strcmp(c->container, ev->container) != 0)
		return false;
	if (c->kinds) {
		char key[128];

		snprintf(key, sizeof(key), ",%s,", ev->kind);
		if (strstr(c->kinds, key) == NULL)
			return false;
	}
	return true;
}

/* Encode ev as one SSE message into b. Returns 0 or DW_TOOBIG. */
static int encode(struct buf *b, const struct event *ev)
{
	cJSON *j = event_to_json(ev);
	char *text = cJSON_PrintUnformatted(j);
	int err;

	cJSON_Delete(j);
	if (text == NULL)
		return -1;
	/* cJSON escapes newlines inside strings, so data is one line. */
	err = buf_addf(b, "id: %" PRIu64 "\nevent: %s\ndata: %s\n\n", ev->id,
		       ev->kind, text);
	free(text);
	return err;
}

static void send_to(struct client *c, const struct buf *msg)
{
	/* A client too far behind is dropped by the stream itself; its
	   on_close then removes it. */
	(void)http_stream_write(c->st, msg->data, msg->len);
}

static void on_event(const struct event *ev, void *arg)
{
	struct sse *s = arg;
	struct buf msg;

	if (s->clients == NULL)
		return;
	buf_init(&msg, s->max_queued);
	if (encode(&msg, ev) == 0)
		for (struct client *c = s->clients; c; c = c->next)
			if (wants(c, ev))
				send_to(c, &msg);
	buf_release(&msg);
}

static void on_heartbeat(uv_timer_t *t)
{
	struct sse *s = container_of(t, struct sse, heartbeat);

	for (struct client *c = s->clients; c; c = c->next)
		(void)http_stream_write(c->st, ": ping\n\n", 8);
}

struct sse *sse_new(uv_loop_t *loop, struct events *es, size_t max_queued)
{
	struct sse *s = xcalloc(1, sizeof(*s));

	s->es = es;
	s->max_queued = max_queued ? max_queued : DEFAULT_MAX_QUEUED;
	s->sub = events_subscribe(es, on_event, s);
	uv_timer_init(loop, &s->heartbeat);
	uv_timer_start(&s->heartbeat, on_heartbeat, HEARTBEAT_MS, HEARTBEAT_MS);
	return s;
}

size_t sse_clients(const struct sse *s)
{
	return s->n_clients;
}

static void maybe_free(struct sse *s)
{
	if (!s->closing || !s->timer_closed || s->clients)
		return;
	if (s->close_cb)
		s->close_cb(s->close_arg);
	free(s);
}

static void on_stream_close(struct http_stream *st, void *arg)
{
	struct client *c = arg;
	struct sse *s = c->s;

	if (c->prev)
		c->prev->next = c->next;
	else
		s->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->n_clients--;
	free(c->container);
	free(c->kinds);
	free(c);
	maybe_free(s);
}

struct replay {
	struct client *c;
	struct buf msg;
};

static void on_replay(const struct event *ev, void *arg)
{
	struct replay *r = arg;

	if (!wants(r->c, ev))
		return;
	buf_reset(&r->msg);
	if (encode(&r->msg, ev) == 0)
		send_to(r->c, &r->msg);
}

/* The id to replay after: Last-Event-ID, else ?since=, else none. */
static bool replay_from(struct http_req *req, uint64_t *after)
{
	const char *v = http_req_header(req, "Last-Event-ID");
	char *end;

	if (v == NULL)
		v = http_req_query(req, "since");
	if (v == NULL || *v == '\0')
		return false;
	*after = strtoull(v, &end, 10);
	return *end == '\0';
}

static char *kinds_filter(const char *v)
{
	struct buf b;

	if (v == NULL || *v == '\0' || strlen(v) > MAX_FILTER)
		return NULL;
	buf_init(&b, MAX_FILTER + 3);
	(void)buf_addf(&b, ",%s,", v);
	return buf_detach(&b, NULL);
}

void sse_handle(struct http_req *req, void *arg)
{
	struct sse *s = arg;
	const char *container = http_req_query(req, "container");
	struct client *c;
	struct replay r;
	uint64_t after;

	if (s->closing) {
		http_reply_error(req, 503, "the event stream is closing");
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->s = s;
	c->container = container && *container ? xstrndup(container, MAX_FILTER) : NULL;
	c->kinds = kinds_filter(http_req_query(req, "kinds"));
	c->st = http_reply_stream(req, 200, "text/event-stream", s->max_queued,
				  on_stream_close, c);
	c->next = s->clients;
	if (s->clients)
		s->clients->prev = c;
	s->clients = c;
	s->n_clients++;
	(void)http_stream_write(c->st, "retry: 2000\n\n", 13);
	if (!replay_from(req, &after))
		return;
	r.c = c;
	buf_init(&r.msg, s->max_queued);
	if (events_oldest_id(s->es) > after + 1) {
		(void)buf_addf(&r.msg, "event: gap\ndata: {\"after\":%" PRIu64 ",\"oldest\":%" PRIu64 "}\n\n",
			       after, events_oldest_id(s->es));
		send_to(c, &r.msg);
	}
	log_debug("api: replaying events after %" PRIu64, after);
	events_replay(s->es, after, on_replay, &r);
	buf_release(&r.msg);
}

static void on_timer_closed(uv_handle_t *h)
{
	struct sse *s = h->data;

	s->timer_closed = true;
	maybe_free(s);
}

void sse_close(struct sse *s, void (*cb)(void *arg), void *arg)
{
	s->closing = true;
	s->close_cb = cb;
	s->close_arg = arg;
	events_unsubscribe(s->sub);
	s->sub = NULL;
	for (struct client *c = s->clients; c; c = c->next)
		http_stream_end(c->st);
	s->heartbeat.data = s;
	uv_close((uv_handle_t *)&s->heartbeat, on_timer_closed);
}
