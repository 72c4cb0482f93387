/*
 * Unit tests for src/api/http.c and guard.c: routing, each refusal of the
 * guard (DNS rebinding, cross-site, form posts, oversized bodies), answers
 * given later, streams with a slow client dropped, and a clean close.
 * The server is driven by libcurl on the same loop.
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

#include "api/guard.h"
#include "api/http.h"
#include "base/error.h"
#include "base/util.h"
#include "support/http-client.h"
#include "support/loop-until.h"

struct fixture {
	uv_loop_t loop;
	struct http_server *s;
	struct tclient *c;
	char base[64];
	char host[64];
	struct http_req *parked;
	bool parked_ended, parked_sent;
	int streams_closed;
	struct http_stream *st[2];
	bool closed;
};

static void hello(struct http_req *r, void *arg)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddStringToObject(j, "path", http_req_path(r));
	cJSON_AddStringToObject(j, "tail", http_req_tail(r));
	http_reply_json(r, 200, j);
}

static void echo(struct http_req *r, void *arg)
{
	size_t n;
	const char *b = http_req_body(r, &n);

	http_reply(r, 200, "application/json", b, n);
}

static void on_parked_end(struct http_req *r, bool sent, void *arg)
{
	struct fixture *f = arg;

	f->parked_ended = true;
	f->parked_sent = sent;
	f->parked = NULL;
}

static void park(struct http_req *r, void *arg)
{
	struct fixture *f = arg;

	f->parked = r;
	http_req_on_end(r, on_parked_end, f);
}

static void on_stream_close(struct http_stream *st, void *arg)
{
	struct fixture *f = arg;

	f->streams_closed++;
	for (int i = 0; i < 2; i++)
		if (f->st[i] == st)
			f->st[i] = NULL;
}

static void stream(struct http_req *r, void *arg)
{
	struct fixture *f = arg;
	int i = f->st[0] ? 1 : 0;

	f->st[i] = http_reply_stream(r, 200, "text/event-stream", 64 * 1024,
				     on_stream_close, f);
	http_stream_write(f->st[i], "hello\n", 6);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct http_route routes[] = {
		{"GET", "/hello", 0, hello, f},
		{"GET", "/api/logs/", HTTP_PREFIX, hello, f},
		{"POST", "/echo", HTTP_MUTATES, echo, f},
		{"GET", "/shutdown", HTTP_GET_MUTATES, hello, f},
		{"GET", "/park", 0, park, f},
		{"GET", "/stream", 0, stream, f},
	};
	struct http_options o = {.port = 0, .max_body = 1024, .name = "test"};
	char *cause = NULL;

	uv_loop_init(&f->loop);
	assert_int_equal(http_server_new(&f->loop, &o, routes, 6, &f->s, &cause), 0);
	assert_true(http_server_port(f->s) > 0);
	snprintf(f->base, sizeof(f->base), "http://127.0.0.1:%d",
		 http_server_port(f->s));
	snprintf(f->host, sizeof(f->host), "127.0.0.1:%d", http_server_port(f->s));
	f->c = tclient_new(&f->loop);
	*state = f;
	return 0;
}

static void on_closed(void *arg)
{
	((struct fixture *)arg)->closed = true;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f->s)
		http_server_close(f->s, on_closed, f);
	tclient_free(f->c);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_true(f->closed);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	free(f);
	return 0;
}

static struct treq *req(struct fixture *f, const char *method,
			const char *path, const char *const *headers,
			const char *body)
{
	char url[256];

	snprintf(url, sizeof(url), "%s%s", f->base, path);
	return tclient_do(f->c, method, url, headers, body);
}

static void assert_no_cors(const struct treq *t)
{
	assert_null(strcasestr(buf_str(&t->heads), "Access-Control-"));
}

static void test_guard_hosts(void **state)
{
	(void)state;
	assert_true(guard_host_ok("127.0.0.1:4545", HTTP_POLICY_LOOPBACK, 4545));
	assert_true(guard_host_ok("127.1.2.3:4545", HTTP_POLICY_LOOPBACK, 4545));
	assert_true(guard_host_ok("LocalHost:4545", HTTP_POLICY_LOOPBACK, 4545));
	assert_true(guard_host_ok("app.localhost:4545", HTTP_POLICY_LOOPBACK, 4545));
	assert_true(guard_host_ok("[::1]:4545", HTTP_POLICY_LOOPBACK, 4545));
	assert_false(guard_host_ok("127.0.0.1:4546", HTTP_POLICY_LOOPBACK, 4545));
	assert_false(guard_host_ok("127.0.0.1", HTTP_POLICY_LOOPBACK, 4545));
	assert_true(guard_host_ok("localhost", HTTP_POLICY_LOOPBACK, 80));
	assert_false(guard_host_ok("evil.example:4545", HTTP_POLICY_LOOPBACK, 4545));
	assert_false(guard_host_ok("localhost.evil.example:4545", HTTP_POLICY_LOOPBACK, 4545));
	assert_false(guard_host_ok("10.0.0.1:4545", HTTP_POLICY_LOOPBACK, 4545));
	assert_false(guard_host_ok("[::1", HTTP_POLICY_LOOPBACK, 4545));
	assert_false(guard_host_ok("127.0.0.1:", HTTP_POLICY_LOOPBACK, 4545));
	assert_false(guard_host_ok("127.0.0.1:45x", HTTP_POLICY_LOOPBACK, 4545));
	assert_false(guard_host_ok(NULL, HTTP_POLICY_LOOPBACK, 4545));
	/* The runtime API answers containers by address, never by a name
	   a page could rebind. */
	assert_true(guard_host_ok("172.17.0.1:9001", HTTP_POLICY_RUNTIME, 9001));
	assert_true(guard_host_ok("host.docker.internal:9001", HTTP_POLICY_RUNTIME, 9001));
	assert_false(guard_host_ok("evil.example:9001", HTTP_POLICY_RUNTIME, 9001));
	assert_true(guard_is_json("application/json"));
	assert_true(guard_is_json(" Application/JSON ; charset=utf-8"));
	assert_false(guard_is_json("application/jsonx"));
	assert_false(guard_is_json("text/plain"));
	assert_false(guard_is_json(NULL));
}

static void test_routes(void **state)
{
	struct fixture *f = *state;
	struct treq *t;

	t = req(f, "GET", "/hello", NULL, NULL);
	assert_int_equal(t->status, 200);
	assert_string_equal(buf_str(&t->body), "{\"path\":\"/hello\",\"tail\":\"\"}");
	assert_no_cors(t);
	t = req(f, "GET", "/api/logs/web?tail=3", NULL, NULL);
	assert_int_equal(t->status, 200);
	assert_string_equal(buf_str(&t->body), "{\"path\":\"/api/logs/web\",\"tail\":\"web\"}");
	t = req(f, "GET", "/nope", NULL, NULL);
	assert_int_equal(t->status, 404);
	assert_non_null(strstr(buf_str(&t->body), "Unknown path: /nope"));
	t = req(f, "POST", "/hello", (const char *[]){"Content-Type: application/json", NULL}, "{}");
	assert_int_equal(t->status, 405);
}

static void test_refuse_host(void **state)
{
	struct fixture *f = *state;
	char other[64], local[64];
	struct treq *t;

	t = req(f, "GET", "/hello", (const char *[]){"Host: evil.example", NULL}, NULL);
	assert_int_equal(t->status, 421);
	assert_non_null(strstr(buf_str(&t->body), "Host"));
	assert_no_cors(t);
	snprintf(other, sizeof(other), "Host: 127.0.0.1:%d", http_server_port(f->s) + 1);
	t = req(f, "GET", "/hello", (const char *[]){other, NULL}, NULL);
	assert_int_equal(t->status, 421);
	t = req(f, "GET", "/hello", (const char *[]){"Host:", NULL}, NULL);
	assert_int_equal(t->status, 421);
	snprintf(local, sizeof(local), "Host: localhost:%d", http_server_port(f->s));
	t = req(f, "GET", "/hello", (const char *[]){local, NULL}, NULL);
	assert_int_equal(t->status, 200);
}

static void test_refuse_cross_site(void **state)
{
	struct fixture *f = *state;
	char same[96];
	struct treq *t;

	t = req(f, "POST", "/echo",
		(const char *[]){"Content-Type: application/json",
				 "Origin: http://evil.example", NULL},
		"{\"a\":1}");
	assert_int_equal(t->status, 403);
	assert_no_cors(t);
	t = req(f, "POST", "/echo",
		(const char *[]){"Content-Type: application/json", "Origin: null", NULL},
		"{}");
	assert_int_equal(t->status, 403);
	t = req(f, "POST", "/echo",
		(const char *[]){"Content-Type: application/json",
				 "Sec-Fetch-Site: cross-site", NULL},
		"{}");
	assert_int_equal(t->status, 403);
	/* A form post: the content type a page can send without a preflight. */
	t = req(f, "POST", "/echo",
		(const char *[]){"Content-Type: application/x-www-form-urlencoded", NULL},
		"a=1");
	assert_int_equal(t->status, 415);
	t = req(f, "POST", "/echo", (const char *[]){"Content-Type: text/plain", NULL}, "{}");
	assert_int_equal(t->status, 415);
	t = req(f, "GET", "/echo", NULL, NULL);
	assert_int_equal(t->status, 405);
	snprintf(same, sizeof(same), "Origin: http://127.0.0.1:%d", http_server_port(f->s));
	t = req(f, "POST", "/echo",
		(const char *[]){"Content-Type: application/json", same, NULL},
		"{\"a\":1}");
	assert_int_equal(t->status, 200);
	assert_string_equal(buf_str(&t->body), "{\"a\":1}");
	/* harpoon's GET /shutdown: fine from curl, refused from a page. */
	t = req(f, "GET", "/shutdown", NULL, NULL);
	assert_int_equal(t->status, 200);
	t = req(f, "GET", "/shutdown", (const char *[]){"Sec-Fetch-Site: cross-site", NULL}, NULL);
	assert_int_equal(t->status, 403);
}

static void test_refuse_big(void **state)
{
	struct fixture *f = *state;
	char *big = malloc(4096);
	struct treq *t;

	memset(big, 'x', 4095);
	big[4095] = '\0';
	t = req(f, "POST", "/echo", (const char *[]){"Content-Type: application/json", NULL}, big);
	assert_int_equal(t->status, 413);
	/* Chunked, so the cap is found while reading, not from a length. */
	t = req(f, "POST", "/echo",
		(const char *[]){"Content-Type: application/json",
				 "Transfer-Encoding: chunked", NULL},
		big);
	assert_int_equal(t->status, 413);
	free(big);
	t = req(f, "POST", "/echo", (const char *[]){"Content-Type: application/json", NULL}, "[1]");
	assert_int_equal(t->status, 200);
	/* Headers and the request line are capped too (32 KiB). */
	big = malloc(40 * 1024 + 16);
	strcpy(big, "X-Big: ");
	memset(big + 7, 'h', 40 * 1024);
	big[7 + 40 * 1024] = '\0';
	t = req(f, "GET", "/hello", (const char *[]){big, NULL}, NULL);
	/* MHD answers 431 and closes; a client still sending may see the
	   reset before the answer. Either way it is not served. */
	assert_true(t->status == 431 || (t->status == 0 && t->curl_code != 0));
	free(big);
}

static void reply_later(uv_timer_t *timer)
{
	struct fixture *f = timer->data;

	http_reply(f->parked, 202, "text/plain", "later", 5);
	uv_close((uv_handle_t *)timer, NULL);
}

static void test_reply_later(void **state)
{
	struct fixture *f = *state;
	char url[128];
	uv_timer_t timer;
	struct treq *t;

	snprintf(url, sizeof(url), "%s/park", f->base);
	t = tclient_start(f->c, "GET", url, NULL, NULL);
	TLOOP_UNTIL(&f->loop, f->parked != NULL);
	uv_timer_init(&f->loop, &timer);
	timer.data = f;
	uv_timer_start(&timer, reply_later, 20, 0);
	assert_true(tclient_wait(f->c, &t->done, 5000));
	assert_int_equal(t->status, 202);
	assert_string_equal(buf_str(&t->body), "later");
	assert_true(tclient_wait(f->c, &f->parked_ended, 5000));
	assert_true(f->parked_sent);
}

static void test_close_ends_parked(void **state)
{
	struct fixture *f = *state;
	char url[128];
	struct treq *t, *s;

	snprintf(url, sizeof(url), "%s/park", f->base);
	t = tclient_start(f->c, "GET", url, NULL, NULL);
	snprintf(url, sizeof(url), "%s/stream", f->base);
	s = tclient_start(f->c, "GET", url, NULL, NULL);
	TLOOP_UNTIL(&f->loop, f->parked && f->st[0] && s->body.len >= 6);
	http_server_close(f->s, on_closed, f);
	f->s = NULL;
	assert_true(f->parked_ended);
	assert_false(f->parked_sent);
	assert_int_equal(f->streams_closed, 1);
	assert_true(tclient_wait(f->c, &t->done, 5000));
	assert_true(tclient_wait(f->c, &s->done, 5000));
	assert_string_equal(buf_str(&s->body), "hello\n");
}

struct pump {
	struct fixture *f;
	uv_timer_t timer;
	int dropped_err;
	size_t written;
	bool closed;
};

static void on_timer_closed(uv_handle_t *h)
{
	*(bool *)h->data = true;
}

/* Write to both streams each tick until the paused client is dropped. */
static void pump_tick(uv_timer_t *timer)
{
	struct pump *p = container_of(timer, struct pump, timer);
	static char chunk[4096];
	int err;

	memset(chunk, 'e', sizeof(chunk));
	if (p->f->st[0] == NULL || p->dropped_err) {
		uv_timer_stop(timer);
		return;
	}
	err = http_stream_write(p->f->st[0], chunk, sizeof(chunk));
	if (err)
		p->dropped_err = err;
	else
		p->written += sizeof(chunk);
	if (p->f->st[1])
		http_stream_write(p->f->st[1], "x", 1);
}

static void test_stream_drops_slow_client(void **state)
{
	struct fixture *f = *state;
	char url[128];
	struct treq *slow, *fast;
	struct pump p = {.f = f};

	snprintf(url, sizeof(url), "%s/stream", f->base);
	slow = tclient_start(f->c, "GET", url, NULL, NULL);
	TLOOP_UNTIL(&f->loop, f->st[0] && slow->body.len >= 6);
	slow->pause = true;
	fast = tclient_start(f->c, "GET", url, NULL, NULL);
	TLOOP_UNTIL(&f->loop, f->st[1] != NULL);
	uv_timer_init(&f->loop, &p.timer);
	uv_timer_start(&p.timer, pump_tick, 0, 1);
	TLOOP_UNTIL(&f->loop, f->streams_closed != 0);
	assert_int_equal(p.dropped_err, DW_TOOBIG);
	assert_null(f->st[0]);
	/* The reader that keeps up is still served. */
	assert_non_null(f->st[1]);
	assert_false(fast->done);
	assert_true(fast->body.len >= 6);
	tclient_abort(slow);
	p.timer.data = &p.closed;
	uv_close((uv_handle_t *)&p.timer, on_timer_closed);
	TLOOP_UNTIL(&f->loop, p.closed);
}

static void test_port_in_use(void **state)
{
	struct fixture *f = *state;
	struct http_options o = {.port = http_server_port(f->s), .name = "second"};
	struct http_server *s2 = NULL;
	char *cause = NULL;

	assert_int_equal(http_server_new(&f->loop, &o, NULL, 0, &s2, &cause), UV_EADDRINUSE);
	assert_null(s2);
	assert_non_null(strstr(cause, "cannot listen on '127.0.0.1:"));
	assert_non_null(strstr(cause, "address already in use"));
	free(cause);
	cause = NULL;
	o.address = "localhost";
	assert_int_equal(http_server_new(&f->loop, &o, NULL, 0, &s2, &cause), DW_USAGE);
	assert_non_null(strstr(cause, "expected an IPv4 address"));
	free(cause);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guard_hosts),
		cmocka_unit_test_setup_teardown(test_routes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_host, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_cross_site, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_big, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reply_later, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_ends_parked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_drops_slow_client, setup, teardown),
		cmocka_unit_test_setup_teardown(test_port_in_use, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
