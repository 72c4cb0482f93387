/*
 * Unit tests for src/api/client.c: the command line's blocking calls to a
 * session, against a server whose loop runs on a second thread.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "api/apifile.h"
#include "api/client.h"
#include "api/http.h"
#include "base/buf.h"
#include "base/error.h"
#include "base/util.h"

struct server {
	uv_loop_t loop;
	uv_thread_t thread;
	uv_sem_t ready;
	uv_async_t stop;
	uv_timer_t tick;
	struct http_server *s;
	struct http_stream *st;
	int chunks;
	int port;
	bool streams_closed;
};

static void ok(struct http_req *r, void *arg)
{
	http_reply(r, 200, "application/json", "{\"ok\":true}", 11);
}

static void echo(struct http_req *r, void *arg)
{
	size_t n;
	const char *b = http_req_body(r, &n);

	http_reply(r, 200, "application/json", b, n);
}

static void err(struct http_req *r, void *arg)
{
	http_reply_error(r, 404, "no container 'x' in this project");
}

static void fn_err(struct http_req *r, void *arg)
{
	const char *b = "{\"errorMessage\":\"boom\",\"errorType\":\"ValueError\"}";

	http_reply(r, 502, "application/json", b, strlen(b));
}

static void on_tick(uv_timer_t *t)
{
	struct server *sv = t->data;
	char line[32];

	if (sv->st == NULL)
		return;
	snprintf(line, sizeof(line), "line %d\n", ++sv->chunks);
	http_stream_write(sv->st, line, strlen(line));
	if (sv->chunks == 3)
		http_stream_end(sv->st);
}

static void on_stream_closed(struct http_stream *st, void *arg)
{
	struct server *sv = arg;

	sv->st = NULL;
	uv_timer_stop(&sv->tick);
}

static void stream(struct http_req *r, void *arg)
{
	struct server *sv = arg;

	sv->chunks = 0;
	sv->st = http_reply_stream(r, 200, "text/plain", 4096, on_stream_closed, sv);
	uv_timer_start(&sv->tick, on_tick, 5, 5);
}

static void on_stop(uv_async_t *a)
{
	struct server *sv = a->data;

	http_server_close(sv->s, NULL, NULL);
	uv_close((uv_handle_t *)&sv->stop, NULL);
	uv_close((uv_handle_t *)&sv->tick, NULL);
}

static void serve(void *arg)
{
	struct server *sv = arg;
	struct http_route routes[] = {
		{"GET", "/ok", 0, ok, sv},
		{"POST", "/echo", HTTP_MUTATES, echo, sv},
		{"GET", "/err", 0, err, sv},
		{"POST", "/fn", HTTP_MUTATES, fn_err, sv},
		{"GET", "/stream", 0, stream, sv},
	};
	struct http_options o = {.name = "client-test"};
	char *cause = NULL;

	uv_loop_init(&sv->loop);
	assert_int_equal(http_server_new(&sv->loop, &o, routes, 5, &sv->s, &cause), 0);
	sv->port = http_server_port(sv->s);
	uv_async_init(&sv->loop, &sv->stop, on_stop);
	sv->stop.data = sv;
	uv_timer_init(&sv->loop, &sv->tick);
	sv->tick.data = sv;
	uv_sem_post(&sv->ready);
	uv_run(&sv->loop, UV_RUN_DEFAULT);
	uv_loop_close(&sv->loop);
}

static int collect(const char *data, size_t n, void *arg)
{
	return buf_add(arg, data, n);
}

static int stop_after_one(const char *data, size_t n, void *arg)
{
	(*(int *)arg)++;
	return 1;
}

static void test_client(void **state)
{
	struct server sv = {0};
	struct apiclient c;
	struct apiclient_resp r;
	char dir[] = "/tmp/dw-api-client-XXXXXX", *path, *cause = NULL, *msg;
	struct buf got;
	int calls = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	path = path_join(dir, "api");
	assert_int_equal(apiclient_find(path, &c, &cause), DW_NOTFOUND);
	uv_sem_init(&sv.ready, 0);
	uv_thread_create(&sv.thread, serve, &sv);
	uv_sem_wait(&sv.ready);
	assert_int_equal(apifile_write(path, sv.port, &cause), 0);
	assert_int_equal(apiclient_find(path, &c, &cause), 0);
	assert_int_equal(c.port, sv.port);

	assert_int_equal(apiclient_call(&c, "GET", "/ok", NULL, &r, &cause), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "{\"ok\":true}");
	apiclient_resp_release(&r);
	/* A POST goes out as JSON, which the guard requires. */
	assert_int_equal(apiclient_call(&c, "POST", "/echo", "{\"a\":1}", &r, &cause), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "{\"a\":1}");
	apiclient_resp_release(&r);
	assert_int_equal(apiclient_call(&c, "GET", "/err", NULL, &r, &cause), 0);
	assert_int_equal(r.status, 404);
	msg = apiclient_error_message(&r);
	assert_string_equal(msg, "no container 'x' in this project");
	free(msg);
	apiclient_resp_release(&r);
	assert_int_equal(apiclient_call(&c, "POST", "/fn", NULL, &r, &cause), 0);
	msg = apiclient_error_message(&r);
	assert_string_equal(msg, "ValueError: boom");
	free(msg);
	apiclient_resp_release(&r);

	buf_init(&got, 4096);
	assert_int_equal(apiclient_stream(&c, "/stream", collect, &got, &cause), 0);
	assert_string_equal(buf_str(&got), "line 1\nline 2\nline 3\n");
	buf_release(&got);
	assert_int_equal(apiclient_stream(&c, "/stream", stop_after_one, &calls, &cause), 0);
	assert_int_equal(calls, 1);
	assert_int_equal(apiclient_stream(&c, "/err", collect, &got, &cause), DW_ENGINE_HTTP);
	assert_non_null(strstr(cause, "answered 404: no container 'x'"));

	uv_async_send(&sv.stop);
	uv_thread_join(&sv.thread);
	uv_sem_destroy(&sv.ready);
	/* Nobody listens now. */
	assert_int_equal(apiclient_call(&c, "GET", "/ok", NULL, &r, &cause), UV_ECONNREFUSED);
	assert_non_null(strstr(cause, "does not answer"));
	free(cause);
	unlink(path);
	free(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
