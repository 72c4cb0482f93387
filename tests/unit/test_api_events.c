/*
 * Unit tests for src/api/events.c and sse.c: ids and order, sinks that
 * emit or unsubscribe while an event is delivered, the two history rings,
 * and GET /api/events as server-sent events with Last-Event-ID replay,
 * filters and the gap notice.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "api/events.h"
#include "api/http.h"
#include "api/sse.h"
#include "base/buf.h"
#include "support/http-client.h"
#include "support/loop-until.h"

struct seen {
	struct buf log; /* "id:kind:container;" per event */
	struct events *es;
	struct events_sub *self;
	bool emit_once;
	bool leave;
};

static void record(const struct event *ev, void *arg)
{
	struct seen *s = arg;

	buf_addf(&s->log, "%llu:%s:%s;", (unsigned long long)ev->id, ev->kind,
		 ev->container);
	if (s->emit_once) {
		s->emit_once = false;
		events_emit(s->es, "notice", "from-sink", -1, NULL);
	}
	if (s->leave)
		events_unsubscribe(s->self);
}

static void test_order_and_nesting(void **state)
{
	struct events *es = events_new(10, 10);
	struct seen a = {.es = es, .emit_once = true}, b = {.es = es, .leave = true};

	(void)state;
	buf_init(&a.log, 4096);
	buf_init(&b.log, 4096);
	a.self = events_subscribe(es, record, &a);
	b.self = events_subscribe(es, record, &b);
	assert_int_equal(events_emit(es, "state", "web", 0, NULL), 1);
	assert_int_equal(events_emit(es, "update", "web", -1, NULL), 3);
	/* The sink's own event comes after the one it saw, to every sink
	   still subscribed; b left during its first delivery. */
	assert_string_equal(buf_str(&a.log), "1:state:web;2:notice:from-sink;3:update:web;");
	assert_string_equal(buf_str(&b.log), "1:state:web;");
	assert_int_equal(events_last_id(es), 3);
	events_unsubscribe(a.self);
	buf_release(&a.log);
	buf_release(&b.log);
	events_free(es);
}

static void test_history_rings(void **state)
{
	struct events *es = events_new(3, 2);
	struct seen r = {0};
	cJSON *f;

	(void)state;
	buf_init(&r.log, 4096);
	for (int i = 0; i < 5; i++) {
		f = cJSON_CreateObject();
		cJSON_AddNumberToObject(f, "i", i);
		events_emit(es, "update", "web", -1, f);
		events_emit(es, "log", "web", 0, NULL);
	}
	/* ids: updates 1,3,5,7,9 and logs 2,4,6,8,10; three updates and two
	   log lines are kept, merged by id. */
	assert_int_equal(events_replay(es, 0, record, &r), 5);
	assert_string_equal(buf_str(&r.log), "5:update:web;7:update:web;8:log:web;9:update:web;10:log:web;");
	assert_int_equal(events_oldest_id(es), 5);
	buf_reset(&r.log);
	assert_int_equal(events_replay(es, 8, record, &r), 2);
	assert_string_equal(buf_str(&r.log), "9:update:web;10:log:web;");
	buf_release(&r.log);
	events_free(es);
}

static void test_event_json(void **state)
{
	cJSON *f = cJSON_CreateObject();
	struct event ev = {.id = 7, .kind = "state", .container = "web",
			   .replica = 1, .time_ms = 1700000000123, .fields = f};
	cJSON *j;
	char *text;

	(void)state;
	cJSON_AddStringToObject(f, "state", "ready");
	j = event_to_json(&ev);
	text = cJSON_PrintUnformatted(j);
	assert_string_equal(text, "{\"id\":7,\"kind\":\"state\",\"container\":\"web\",\"replica\":1,\"time\":1700000000123,\"fields\":{\"state\":\"ready\"}}");
	free(text);
	cJSON_Delete(j);
	ev.replica = -1;
	j = event_to_json(&ev);
	assert_null(cJSON_GetObjectItem(j, "replica"));
	cJSON_Delete(j);
	cJSON_Delete(f);
}

/* ---- SSE over HTTP ---- */

struct fixture {
	uv_loop_t loop;
	struct events *es;
	struct sse *sse;
	struct http_server *s;
	struct tclient *c;
	char base[64];
	int closed;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct http_options o = {.name = "test"};
	char *cause = NULL;

	uv_loop_init(&f->loop);
	f->es = events_new(4, 4);
	f->sse = sse_new(&f->loop, f->es, 0);
	{
		struct http_route routes[] = {{"GET", "/api/events", 0, sse_handle, f->sse}};

		assert_int_equal(http_server_new(&f->loop, &o, routes, 1, &f->s, &cause), 0);
	}
	snprintf(f->base, sizeof(f->base), "http://127.0.0.1:%d", http_server_port(f->s));
	f->c = tclient_new(&f->loop);
	*state = f;
	return 0;
}

static void on_closed(void *arg)
{
	((struct fixture *)arg)->closed++;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	sse_close(f->sse, on_closed, f);
	http_server_close(f->s, on_closed, f);
	tclient_free(f->c);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(f->closed, 2);
	events_free(f->es);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	free(f);
	return 0;
}

static struct treq *open_stream(struct fixture *f, const char *query,
				const char *const *headers)
{
	char url[256];
	size_t before = sse_clients(f->sse);
	struct treq *t;

	snprintf(url, sizeof(url), "%s/api/events%s", f->base, query);
	t = tclient_start(f->c, "GET", url, headers, NULL);
	TLOOP_UNTIL(&f->loop, sse_clients(f->sse) != before);
	return t;
}

/* Run until t's body holds needle. */
static bool await_text(struct fixture *f, struct treq *t, const char *needle)
{
	TLOOP_UNTIL(&f->loop, strstr(buf_str(&t->body), needle) || t->done);
	return strstr(buf_str(&t->body), needle) != NULL;
}

static void test_sse_live_and_replay(void **state)
{
	struct fixture *f = *state;
	struct treq *live, *again, *updates;
	cJSON *fields = cJSON_CreateObject();
	char header[64];

	cJSON_AddStringToObject(fields, "state", "ready");
	live = open_stream(f, "", NULL);
	updates = open_stream(f, "?kinds=update&container=web", NULL);
	events_emit(f->es, "state", "web", 0, fields);
	events_emit(f->es, "update", "api", -1, NULL);
	events_emit(f->es, "update", "web", -1, NULL);
	assert_true(await_text(f, live, "id: 3\n"));
	assert_non_null(strstr(buf_str(&live->body),
			       "id: 1\nevent: state\ndata: {\"id\":1,\"kind\":\"state\",\"container\":\"web\",\"replica\":0,"));
	assert_non_null(strstr(buf_str(&live->body), "\"fields\":{\"state\":\"ready\"}}\n\n"));
	assert_true(await_text(f, updates, "id: 3\n"));
	assert_null(strstr(buf_str(&updates->body), "id: 1\n"));
	assert_null(strstr(buf_str(&updates->body), "id: 2\n"));
	/* A reconnect with Last-Event-ID gets what came after it. */
	snprintf(header, sizeof(header), "Last-Event-ID: %d", 1);
	again = open_stream(f, "", (const char *[]){header, NULL});
	assert_true(await_text(f, again, "id: 3\n"));
	assert_non_null(strstr(buf_str(&again->body), "id: 2\n"));
	assert_null(strstr(buf_str(&again->body), "id: 1\n"));
	assert_null(strstr(buf_str(&again->body), "event: gap"));
	assert_int_equal(sse_clients(f->sse), 3);
	tclient_abort(live);
}

static void test_sse_gap(void **state)
{
	struct fixture *f = *state;
	struct treq *t;

	for (int i = 0; i < 8; i++)
		events_emit(f->es, "notice", "", -1, NULL);
	/* Only ids 5..8 are kept: asking from 0 says what was lost. */
	t = open_stream(f, "?since=0", NULL);
	assert_true(await_text(f, t, "id: 8\n"));
	assert_non_null(strstr(buf_str(&t->body), "event: gap\ndata: {\"after\":0,\"oldest\":5}\n\n"));
	assert_non_null(strstr(buf_str(&t->body), "id: 5\n"));
	assert_null(strstr(buf_str(&t->body), "id: 4\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_nesting),
		cmocka_unit_test(test_history_rings),
		cmocka_unit_test(test_event_json),
		cmocka_unit_test_setup_teardown(test_sse_live_and_replay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sse_gap, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
