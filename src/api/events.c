/*
 * The event stream: two rings of kept events (logs and the rest), a list
 * of subscribers, and a queue for events emitted while one is being
 * delivered, so every sink sees every event once and in id order.
 *
 * Subscribers that unsubscribe during delivery are marked, and swept once
 * the outermost delivery ends (redis processTimeEvents' rule).
 */
#include "api/events.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "base/util.h"

struct stored {
	uint64_t id;
	char *kind;
	char *container;
	int replica;
	int64_t time_ms;
	cJSON *fields;
};

struct ring {
	struct stored *items;
	size_t cap;
	size_t start; /* oldest */
	size_t len;
};

struct events_sub {
	struct events *es;
	events_fn fn;
	void *arg;
	bool dead;
	struct events_sub *next;
};

struct events {
	struct ring main;
	struct ring logs;
	uint64_t last_id;
	struct events_sub *subs;
	int delivering;
	bool dirty;
	struct stored *queue; /* emitted during delivery, in order */
	size_t queue_len;
};

static void stored_release(struct stored *s)
{
	free(s->kind);
	free(s->container);
	cJSON_Delete(s->fields);
}

static void ring_init(struct ring *r, size_t cap)
{
	r->items = xcalloc(cap, sizeof(*r->items));
	r->cap = cap;
}

static void ring_release(struct ring *r)
{
	for (size_t i = 0; i < r->len; i++)
		stored_release(&r->items[(r->start + i) % r->cap]);
	free(r->items);
}

static const struct stored *ring_at(const struct ring *r, size_t i)
{
	return &r->items[(r->start + i) % r->cap];
}

/* Keep a copy of s, dropping the oldest when full. */
static void ring_push(struct ring *r, const struct stored *s)
{
	struct stored *slot;

	if (r->len == r->cap) {
		stored_release(&r->items[r->start]);
		r->start = (r->start + 1) % r->cap;
		r->len--;
	}
	slot = &r->items[(r->start + r->len) % r->cap];
	slot->id = s->id;
	slot->kind = xstrdup(s->kind);
	slot->container = xstrdup(s->container);
	slot->replica = s->replica;
	slot->time_ms = s->time_ms;
	slot->fields = cJSON_Duplicate(s->fields, 1);
	r->len++;
}

struct events *events_new(size_t history, size_t log_history)
{
	struct events *es = xcalloc(1, sizeof(*es));

	ring_init(&es->main, history ? history : 1000);
	ring_init(&es->logs, log_history ? log_history : 2000);
	return es;
}

void events_free(struct events *es)
{
	if (es == NULL)
		return;
	while (es->subs) {
		struct events_sub *next = es->subs->next;

		free(es->subs);
		es->subs = next;
	}
	for (size_t i = 0; i < es->queue_len; i++)
		stored_release(&es->queue[i]);
	free(es->queue);
	ring_release(&es->main);
	ring_release(&es->logs);
	free(es);
}

static void view(const struct stored *s, struct event *ev)
{
	ev->id = s->id;
	ev->kind = s->kind;
	ev->container = s->container;
	ev->replica = s->replica;
	ev->time_ms = s->time_ms;
	ev->fields = s->fields;
}

static void sweep(struct events *es)
{
	struct events_sub **pp = &es->subs;

	while (*pp) {
		struct events_sub *s = *pp;

		if (s->dead) {
			*pp = s->next;
			free(s);
		} else {
			pp = &s->next;
		}
	}
	es->dirty = false;
}

static void deliver(struct events *es, const struct stored *s)
{
	struct event ev;

	view(s, &ev);
	es->delivering++;
	for (struct events_sub *sub = es->subs; sub; sub = sub->next)
		if (!sub->dead)
			sub->fn(&ev, sub->arg);
	es->delivering--;
}

uint64_t events_emit(struct events *es, const char *kind,
		     const char *container, int replica, cJSON *fields)
{
	struct timeval tv;
	struct stored s;

	gettimeofday(&tv, NULL);
	s.id = ++es->last_id;
	s.kind = (char *)kind;
	s.container = (char *)(container ? container : "");
	s.replica = replica;
	s.time_ms = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
	s.fields = fields ? fields : cJSON_CreateObject();
	ring_push(strcmp(kind, "log") == 0 ? &es->logs : &es->main, &s);
	if (es->delivering) {
		/* A sink emitted: deliver after the current event. */
		es->queue = xreallocarray(es->queue, es->queue_len + 1,
					  sizeof(*es->queue));
		s.kind = xstrdup(kind);
		s.container = xstrdup(s.container);
		es->queue[es->queue_len++] = s;
		return s.id;
	}
	deliver(es, &s);
	cJSON_Delete(s.fields);
	/* Drain what sinks emitted meanwhile, oldest first. */
	for (size_t i = 0; i < es->queue_len; i++) {
		/* A copy: a sink's emit may move the queue. */
		struct stored q = es->queue[i];

		deliver(es, &q);
		stored_release(&q);
	}
	es->queue_len = 0;
	if (es->dirty)
		sweep(es);
	return s.id;
}

struct events_sub *events_subscribe(struct events *es, events_fn fn,
				    void *arg)
{
	struct events_sub *sub = xcalloc(1, sizeof(*sub)), **pp = &es->subs;

	sub->es = es;
	sub->fn = fn;
	sub->arg = arg;
	/* Append, so sinks are called in the order they subscribed. */
	while (*pp)
		pp = &(*pp)->next;
	*pp = sub;
	return sub;
}

void events_unsubscribe(struct events_sub *sub)
{
	struct events *es;

	if (sub == NULL)
		return;
	es = sub->es;
	sub->dead = true;
	es->dirty = true;
	if (!es->delivering)
		sweep(es);
}

size_t events_replay(const struct events *es, uint64_t after_id, events_fn fn,
		     void *arg)
{
	size_t i = 0, j = 0, n = 0;
	struct event ev;

	/* Skip what is not after after_id, then merge the rings by id. */
	while (i < es->main.len && ring_at(&es->main, i)->id <= after_id)
		i++;
	while (j < es->logs.len && ring_at(&es->logs, j)->id <= after_id)
		j++;
	while (i < es->main.len || j < es->logs.len) {
		const struct stored *a = i < es->main.len ? ring_at(&es->main, i) : NULL;
		const struct stored *b = j < es->logs.len ? ring_at(&es->logs, j) : NULL;
		const struct stored *s;

		if (a && (b == NULL || a->id < b->id)) {
			s = a;
			i++;
		} else {
			s = b;
			j++;
		}
		view(s, &ev);
		fn(&ev, arg);
		n++;
	}
	return n;
}

uint64_t events_last_id(const struct events *es)
{
	return es->last_id;
}

uint64_t events_oldest_id(const struct events *es)
{
	uint64_t a = es->main.len ? ring_at(&es->main, 0)->id : 0;
	uint64_t b = es->logs.len ? ring_at(&es->logs, 0)->id : 0;

	if (a == 0 || b == 0)
		return a ? a : b;
	return DW_MIN(a, b);
}

cJSON *event_to_json(const struct event *ev)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddNumberToObject(j, "id", (double)ev->id);
	cJSON_AddStringToObject(j, "kind", ev->kind);
	cJSON_AddStringToObject(j, "container", ev->container);
	if (ev->replica >= 0)
		cJSON_AddNumberToObject(j, "replica", ev->replica);
	cJSON_AddNumberToObject(j, "time", (double)ev->time_ms);
	cJSON_AddItemToObject(j, "fields", cJSON_Duplicate(ev->fields, 1));
	return j;
}
