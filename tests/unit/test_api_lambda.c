/*
 * Unit tests for src/api/lambda.c: a fake runtime client (libcurl on the
 * loop) follows the published Runtime API against the server, while the
 * control API's POST /api/invoke/NAME delivers events to it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/time.h>

#include <cmocka.h>
#include <uv.h>

#include "api/http.h"
#include "api/lambda.h"
#include "base/error.h"
#include "support/http-client.h"
#include "support/loop-until.h"

struct fixture {
	uv_loop_t loop;
	struct lambda_fn *fn;
	struct http_server *api;
	struct tclient *c;
	char runtime[96]; /* http://ADDR:PORT/2018-06-01/runtime */
	char api_base[64];
	int closed;
	bool idle;
};

static void on_invoke(struct http_req *r, void *arg)
{
	struct fixture *f = arg;

	if (strcmp(http_req_tail(r), "hello") != 0) {
		http_reply_error(r, 404, "no function '%s'", http_req_tail(r));
		return;
	}
	lambda_invoke_http(r, f->fn);
}

static int setup_with(void **state, unsigned timeout_ms)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct lambda_options lo = {.name = "hello", .address = "127.0.0.1",
				    .timeout_ms = timeout_ms};
	struct http_route routes[] = {
		{"POST", "/api/invoke/", HTTP_PREFIX | HTTP_MUTATES, on_invoke, f},
	};
	struct http_options ho = {.name = "api"};
	char *cause = NULL;

	uv_loop_init(&f->loop);
	assert_int_equal(lambda_fn_new(&f->loop, &lo, &f->fn, &cause), 0);
	assert_int_equal(http_server_new(&f->loop, &ho, routes, 1, &f->api, &cause), 0);
	snprintf(f->runtime, sizeof(f->runtime), "http://%s/2018-06-01/runtime",
		 lambda_fn_endpoint(f->fn));
	snprintf(f->api_base, sizeof(f->api_base), "http://127.0.0.1:%d",
		 http_server_port(f->api));
	f->c = tclient_new(&f->loop);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_with(state, 0);
}

static int setup_short(void **state)
{
	return setup_with(state, 50);
}

static void on_closed(void *arg)
{
	((struct fixture *)arg)->closed++;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	lambda_fn_close(f->fn, on_closed, f);
	http_server_close(f->api, on_closed, f);
	tclient_free(f->c);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(f->closed, 2);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	free(f);
	return 0;
}

/* Run until k runtimes' polls are parked. */
static void await_waiting(struct fixture *f, size_t k)
{
	TLOOP_UNTIL(&f->loop, lambda_fn_waiting(f->fn) == k);
}

static struct treq *next(struct fixture *f)
{
	char url[160];

	snprintf(url, sizeof(url), "%s/invocation/next", f->runtime);
	return tclient_start(f->c, "GET", url, NULL, NULL);
}

static struct treq *invoke(struct fixture *f, const char *body)
{
	char url[128];

	snprintf(url, sizeof(url), "%s/api/invoke/hello", f->api_base);
	return tclient_start(f->c, "POST", url,
			     (const char *[]){"Content-Type: application/json", NULL},
			     body);
}

static struct treq *post(struct fixture *f, const char *path,
			 const char *const *headers, const char *body)
{
	char url[256];

	snprintf(url, sizeof(url), "%s%s", f->runtime, path);
	return tclient_do(f->c, "POST", url, headers, body);
}

static const char *request_id(const struct treq *t, char *out, size_t cap)
{
	const char *id = treq_header(t, "Lambda-Runtime-Aws-Request-Id", out, cap);

	assert_non_null(id);
	return id;
}

static void test_next_response(void **state)
{
	struct fixture *f = *state;
	struct treq *n = next(f), *inv, *ack;
	char id[64], v[256], path[128];
	struct timeval tv;

	/* Nothing to hand out: the runtime's long poll stays open. */
	await_waiting(f, 1);
	assert_false(n->done);
	inv = invoke(f, "{\"x\":1}");
	assert_true(tclient_wait(f->c, &n->done, 5000));
	assert_int_equal(n->status, 200);
	assert_string_equal(buf_str(&n->body), "{\"x\":1}");
	request_id(n, id, sizeof(id));
	assert_int_equal(strlen(id), 36);
	assert_int_equal(id[14], '4');
	gettimeofday(&tv, NULL);
	assert_non_null(treq_header(n, "Lambda-Runtime-Deadline-Ms", v, sizeof(v)));
	assert_true(strtoll(v, NULL, 10) > (long long)tv.tv_sec * 1000);
	assert_non_null(treq_header(n, "Lambda-Runtime-Invoked-Function-Arn", v, sizeof(v)));
	assert_string_equal(v, "arn:aws:lambda:us-east-1:000000000000:function:hello");
	assert_non_null(treq_header(n, "Lambda-Runtime-Trace-Id", v, sizeof(v)));
	assert_memory_equal(v, "Root=1-", 7);
	assert_true(lambda_fn_busy(f->fn));
	assert_false(inv->done);
	snprintf(path, sizeof(path), "/invocation/%s/response", id);
	ack = post(f, path, NULL, "\"hi there\"");
	assert_int_equal(ack->status, 202);
	assert_string_equal(buf_str(&ack->body), "{\"status\":\"OK\"}");
	assert_true(tclient_wait(f->c, &inv->done, 5000));
	assert_int_equal(inv->status, 200);
	assert_string_equal(buf_str(&inv->body), "\"hi there\"");
	assert_false(lambda_fn_busy(f->fn));
	/* The same id cannot be answered twice. */
	ack = post(f, path, NULL, "\"again\"");
	assert_int_equal(ack->status, 400);
	assert_non_null(strstr(buf_str(&ack->body), "\"errorType\":\"InvalidRequestID\""));
}

static void test_function_error(void **state)
{
	struct fixture *f = *state;
	struct treq *inv = invoke(f, "{}"), *n = next(f), *ack;
	char id[64], path[128];
	cJSON *j;

	assert_true(tclient_wait(f->c, &n->done, 5000));
	snprintf(path, sizeof(path), "/invocation/%s/error", request_id(n, id, sizeof(id)));
	ack = post(f, path,
		   (const char *[]){"Lambda-Runtime-Function-Error-Type: Unhandled", NULL},
		   "{\"errorMessage\":\"boom\",\"errorType\":\"ValueError\",\"stackTrace\":[\"line 1\"]}");
	assert_int_equal(ack->status, 202);
	assert_true(tclient_wait(f->c, &inv->done, 5000));
	assert_int_equal(inv->status, 502);
	j = cJSON_Parse(buf_str(&inv->body));
	assert_string_equal(cJSON_GetObjectItem(j, "errorMessage")->valuestring, "boom");
	assert_string_equal(cJSON_GetObjectItem(j, "errorType")->valuestring, "ValueError");
	assert_true(cJSON_IsArray(cJSON_GetObjectItem(j, "stackTrace")));
	cJSON_Delete(j);
}

static void test_error_without_body(void **state)
{
	struct fixture *f = *state;
	struct treq *inv = invoke(f, "{}"), *n = next(f);
	char id[64], path[128];
	cJSON *j;

	assert_true(tclient_wait(f->c, &n->done, 5000));
	snprintf(path, sizeof(path), "/invocation/%s/error", request_id(n, id, sizeof(id)));
	assert_int_equal(post(f, path, (const char *[]){"Lambda-Runtime-Function-Error-Type: Runtime.Crash", NULL}, "not json")->status, 202);
	assert_true(tclient_wait(f->c, &inv->done, 5000));
	assert_int_equal(inv->status, 502);
	j = cJSON_Parse(buf_str(&inv->body));
	assert_string_equal(cJSON_GetObjectItem(j, "errorType")->valuestring, "Runtime.Crash");
	assert_string_equal(cJSON_GetObjectItem(j, "errorMessage")->valuestring, "the function reported an error");
	cJSON_Delete(j);
}

static void test_init_error(void **state)
{
	struct fixture *f = *state;
	struct treq *inv = invoke(f, "{}"), *ack, *n;
	cJSON *j;

	ack = post(f, "/init/error",
		   (const char *[]){"Lambda-Runtime-Function-Error-Type: Runtime.ImportModuleError", NULL},
		   "{\"errorMessage\":\"no module named app\"}");
	assert_int_equal(ack->status, 202);
	assert_true(tclient_wait(f->c, &inv->done, 5000));
	assert_int_equal(inv->status, 502);
	j = cJSON_Parse(buf_str(&inv->body));
	assert_string_equal(cJSON_GetObjectItem(j, "errorType")->valuestring, "Runtime.ImportModuleError");
	assert_string_equal(cJSON_GetObjectItem(j, "errorMessage")->valuestring, "no module named app");
	cJSON_Delete(j);
	assert_string_equal(lambda_fn_init_error(f->fn), "no module named app");
	/* A runtime polling again has started over. */
	n = next(f);
	await_waiting(f, 1);
	assert_false(n->done);
	assert_null(lambda_fn_init_error(f->fn));
}

static void test_timeout(void **state)
{
	struct fixture *f = *state;
	struct treq *inv = invoke(f, "{}");
	cJSON *j;

	assert_true(tclient_wait(f->c, &inv->done, 5000));
	assert_int_equal(inv->status, 502);
	j = cJSON_Parse(buf_str(&inv->body));
	assert_string_equal(cJSON_GetObjectItem(j, "errorType")->valuestring, "Sandbox.Timedout");
	assert_string_equal(cJSON_GetObjectItem(j, "errorMessage")->valuestring, "Task timed out after 0.05 seconds");
	cJSON_Delete(j);
}

static void on_idle(void *arg)
{
	((struct fixture *)arg)->idle = true;
}

static void on_direct(const struct lambda_result *res, void *arg)
{
	*(enum lambda_outcome *)arg = res->outcome;
}

static void test_pause_and_idle(void **state)
{
	struct fixture *f = *state;
	enum lambda_outcome got = LAMBDA_CANCELED;
	struct treq *n;
	char id[64], path[128];

	lambda_fn_on_idle(f->fn, on_idle, f);
	assert_true(f->idle); /* idle now: at once */
	f->idle = false;
	lambda_fn_pause(f->fn, true);
	assert_false(lambda_fn_ready(f->fn));
	n = next(f);
	await_waiting(f, 1);
	assert_true(lambda_fn_ready(f->fn));
	assert_int_equal(lambda_invoke(f->fn, "{\"n\":2}", 7, on_direct, &got), 0);
	/* Held back while paused (a live update is landing). */
	assert_false(lambda_fn_busy(f->fn));
	assert_int_equal(lambda_fn_waiting(f->fn), 1);
	lambda_fn_pause(f->fn, false);
	assert_true(lambda_fn_busy(f->fn));
	assert_true(tclient_wait(f->c, &n->done, 5000));
	assert_string_equal(buf_str(&n->body), "{\"n\":2}");
	lambda_fn_on_idle(f->fn, on_idle, f);
	assert_false(f->idle);
	snprintf(path, sizeof(path), "/invocation/%s/response", request_id(n, id, sizeof(id)));
	assert_int_equal(post(f, path, NULL, "1")->status, 202);
	assert_true(f->idle);
	assert_int_equal(got, LAMBDA_OK);
}

static void test_runtime_guard(void **state)
{
	struct fixture *f = *state;
	char url[160];
	struct treq *t;

	snprintf(url, sizeof(url), "%s/invocation/next", f->runtime);
	t = tclient_do(f->c, "GET", url, (const char *[]){"Origin: http://evil.example", NULL}, NULL);
	assert_int_equal(t->status, 403);
	t = tclient_do(f->c, "GET", url, (const char *[]){"Sec-Fetch-Mode: no-cors", NULL}, NULL);
	assert_int_equal(t->status, 403);
	t = tclient_do(f->c, "GET", url, (const char *[]){"Host: evil.example", NULL}, NULL);
	assert_int_equal(t->status, 421);
	t = post(f, "/invocation/x/other", NULL, "1");
	assert_int_equal(t->status, 404);
}

static void test_close_cancels(void **state)
{
	struct fixture *f = *state;
	struct treq *n = next(f), *n2, *inv;
	cJSON *j;

	await_waiting(f, 1);
	n2 = next(f);
	await_waiting(f, 2);
	inv = invoke(f, "{}");
	/* The newest poll gets it. */
	assert_true(tclient_wait(f->c, &n2->done, 5000));
	assert_false(n->done);
	/* One handed out, a second runtime parked: closing ends both. */
	lambda_fn_close(f->fn, on_closed, f);
	f->fn = NULL;
	assert_true(tclient_wait(f->c, &inv->done, 5000));
	assert_int_equal(inv->status, 503);
	j = cJSON_Parse(buf_str(&inv->body));
	assert_string_equal(cJSON_GetObjectItem(j, "errorType")->valuestring, "Sandbox.Canceled");
	cJSON_Delete(j);
	assert_true(tclient_wait(f->c, &n->done, 5000));
	assert_int_equal(n->status, 0);
	/* Teardown closes what is left; the function is closed already. */
	{
		struct lambda_options lo = {.name = "hello", .address = "127.0.0.1"};
		char *cause = NULL;

		assert_int_equal(lambda_fn_new(&f->loop, &lo, &f->fn, &cause), 0);
	}
	f->closed--;
}

static void test_env(void **state)
{
	struct fixture *f = *state;
	const char *const *env = lambda_fn_env(f->fn);
	char want[96];

	snprintf(want, sizeof(want), "AWS_LAMBDA_RUNTIME_API=%s", lambda_fn_endpoint(f->fn));
	assert_string_equal(env[0], want);
	assert_string_equal(env[1], "AWS_LAMBDA_FUNCTION_NAME=hello");
	assert_memory_equal(lambda_fn_endpoint(f->fn), "127.0.0.1:", 10);
}

static void test_reset_and_newest_poll(void **state)
{
	struct fixture *f = *state;
	struct treq *old = next(f), *fresh, *inv, *n;
	char id[64];
	cJSON *j;

	await_waiting(f, 1);
	/* A runtime that restarted polls again; its new poll is served. */
	fresh = next(f);
	await_waiting(f, 2);
	inv = invoke(f, "{\"a\":1}");
	assert_true(tclient_wait(f->c, &fresh->done, 5000));
	assert_int_equal(fresh->status, 200);
	assert_false(old->done);
	request_id(fresh, id, sizeof(id));
	/* The container died mid-invocation. */
	lambda_fn_reset(f->fn, "Runtime.ExitError", "the container exited with 137");
	assert_true(tclient_wait(f->c, &inv->done, 5000));
	assert_int_equal(inv->status, 502);
	j = cJSON_Parse(buf_str(&inv->body));
	assert_string_equal(cJSON_GetObjectItem(j, "errorType")->valuestring, "Runtime.ExitError");
	cJSON_Delete(j);
	assert_true(tclient_wait(f->c, &old->done, 5000));
	assert_int_equal(old->status, 410);
	/* The next runtime gets what is queued next. */
	inv = invoke(f, "{\"b\":2}");
	n = next(f);
	assert_true(tclient_wait(f->c, &n->done, 5000));
	assert_string_equal(buf_str(&n->body), "{\"b\":2}");
}

static void test_undelivered_requeued(void **state)
{
	struct fixture *f = *state;
	enum lambda_outcome got = LAMBDA_CANCELED;
	struct treq *gone = next(f), *n;
	char id[64], path[128];

	await_waiting(f, 1);
	assert_true(lambda_fn_ready(f->fn));
	tclient_abort(gone);
	/* A runtime that left is not one to take work. */
	while (lambda_fn_ready(f->fn))
		uv_run(&f->loop, UV_RUN_NOWAIT);
	assert_int_equal(lambda_fn_waiting(f->fn), 1);
	/* Handed to nobody: the dead poll is found and ended. */
	assert_int_equal(lambda_invoke(f->fn, "{\"c\":3}", 7, on_direct, &got), 0);
	assert_int_equal(lambda_fn_waiting(f->fn), 0);
	assert_false(lambda_fn_busy(f->fn));
	n = next(f);
	assert_true(tclient_wait(f->c, &n->done, 5000));
	assert_int_equal(n->status, 200);
	assert_string_equal(buf_str(&n->body), "{\"c\":3}");
	snprintf(path, sizeof(path), "/invocation/%s/response", request_id(n, id, sizeof(id)));
	assert_int_equal(post(f, path, NULL, "1")->status, 202);
	assert_int_equal(got, LAMBDA_OK);
}

static void on_other_closed(void *arg)
{
	*(bool *)arg = true;
}

/* Peers outside `allow` are refused before anything else. */
static void test_allow_subnet(void **state)
{
	struct fixture *f = *state;
	struct lambda_options lo = {.name = "fenced", .address = "127.0.0.1",
				    .allow = "10.255.255.0/24"};
	struct lambda_fn *fn = NULL;
	char url[160], *cause = NULL;
	struct treq *t;
	bool closed = false;

	assert_int_equal(lambda_fn_new(&f->loop, &lo, &fn, &cause), 0);
	snprintf(url, sizeof(url), "http://%s/2018-06-01/runtime/invocation/next",
		 lambda_fn_endpoint(fn));
	t = tclient_do(f->c, "GET", url, NULL, NULL);
	assert_int_equal(t->status, 403);
	assert_non_null(strstr(buf_str(&t->body), "AccessDenied"));
	snprintf(url, sizeof(url), "http://%s/2018-06-01/runtime/init/error",
		 lambda_fn_endpoint(fn));
	assert_int_equal(tclient_do(f->c, "POST", url, NULL, "{}")->status, 403);
	assert_null(lambda_fn_init_error(fn));
	lambda_fn_close(fn, on_other_closed, &closed);
	assert_true(tclient_wait(f->c, &closed, 5000));
	/* Loopback's own subnet is served. */
	lo.allow = "127.0.0.0/8";
	assert_int_equal(lambda_fn_new(&f->loop, &lo, &fn, &cause), 0);
	closed = false;
	lambda_fn_close(fn, on_other_closed, &closed);
	assert_true(tclient_wait(f->c, &closed, 5000));
	lo.allow = "10.0.0.0";
	assert_int_equal(lambda_fn_new(&f->loop, &lo, &fn, &cause), DW_USAGE);
	assert_non_null(strstr(cause, "expected an IPv4 subnet"));
	free(cause);
}

/* ---- a real runtime client: the Python loop in tests/unit/data ---- */

struct py {
	uv_process_t proc;
	bool exited;
	int64_t status;
	struct lambda_result res;
	char body[4096];
	char type[128];
	char message[256];
	bool done;
};

static void on_py_exit(uv_process_t *p, int64_t status, int sig)
{
	struct py *py = p->data;

	py->exited = true;
	py->status = status;
	uv_close((uv_handle_t *)p, NULL);
}

static void spawn_runtime(struct fixture *f, struct py *py, const char *handler)
{
	const char *data = getenv("DEVWATCH_TEST_DATA");
	const char *const *fenv = lambda_fn_env(f->fn);
	char script[512], hv[128], path[1024];
	char *env[17];
	char *args[3];
	struct uv_process_options_s o = {0};
	uv_stdio_container_t stdio[3] = {
		{.flags = UV_IGNORE}, {.flags = UV_INHERIT_FD, .data.fd = 2},
		{.flags = UV_INHERIT_FD, .data.fd = 2},
	};
	size_t n = 0;

	assert_non_null(data);
	snprintf(script, sizeof(script), "%s/lambda/bootstrap.py", data);
	snprintf(hv, sizeof(hv), "_HANDLER=%s", handler);
	snprintf(path, sizeof(path), "PATH=%s", getenv("PATH"));
	for (; fenv[n] && n < 12; n++)
		env[n] = (char *)fenv[n];
	env[n++] = hv;
	env[n++] = path;
	env[n++] = "PYTHONDONTWRITEBYTECODE=1"; /* nothing left in the tree */
	env[n] = NULL;
	args[0] = "python3";
	args[1] = script;
	args[2] = NULL;
	o.file = "python3";
	o.args = args;
	o.env = env;
	o.exit_cb = on_py_exit;
	o.stdio = stdio;
	o.stdio_count = 3;
	py->proc.data = py;
	assert_int_equal(uv_spawn(&f->loop, &py->proc, &o), 0);
}

static void on_py_result(const struct lambda_result *res, void *arg)
{
	struct py *py = arg;

	py->res = *res;
	snprintf(py->body, sizeof(py->body), "%.*s", (int)res->len, res->body);
	snprintf(py->type, sizeof(py->type), "%s", res->error_type ? res->error_type : "");
	snprintf(py->message, sizeof(py->message), "%s", res->error_message ? res->error_message : "");
	py->done = true;
}

static void py_invoke(struct fixture *f, struct py *py, const char *event)
{
	py->done = false;
	assert_int_equal(lambda_invoke(f->fn, event, strlen(event), on_py_result, py), 0);
	assert_true(tclient_wait(f->c, &py->done, 20000));
}

static void stop_runtime(struct fixture *f, struct py *py)
{
	if (!py->exited)
		uv_process_kill(&py->proc, SIGTERM);
	TLOOP_UNTIL(&f->loop, py->exited);
}

static void test_python_runtime(void **state)
{
	struct fixture *f = *state;
	struct py py = {0};

	spawn_runtime(f, &py, "app.handler");
	py_invoke(f, &py, "{\"x\": 1}");
	assert_int_equal(py.res.outcome, LAMBDA_OK);
	assert_non_null(strstr(py.body, "\"echo\": {\"x\": 1}, \"count\": 1"));
	py_invoke(f, &py, "{\"fail\": \"now\"}");
	assert_int_equal(py.res.outcome, LAMBDA_ERROR);
	assert_string_equal(py.type, "ValueError");
	assert_string_equal(py.message, "asked to fail: now");
	assert_non_null(strstr(py.body, "\"stackTrace\""));
	/* The same process serves on: its state carried over. */
	py_invoke(f, &py, "[]");
	assert_int_equal(py.res.outcome, LAMBDA_OK);
	assert_non_null(strstr(py.body, "\"count\": 3"));
	assert_false(lambda_fn_busy(f->fn));
	stop_runtime(f, &py);
}

static void test_python_init_error(void **state)
{
	struct fixture *f = *state;
	struct py py = {0};

	spawn_runtime(f, &py, "no_such_module.handler");
	TLOOP_UNTIL(&f->loop, lambda_fn_init_error(f->fn) || py.exited);
	assert_non_null(strstr(lambda_fn_init_error(f->fn), "no_such_module"));
	py_invoke(f, &py, "{}");
	assert_int_equal(py.res.outcome, LAMBDA_ERROR);
	assert_string_equal(py.type, "ModuleNotFoundError");
	/* The runtime gives up by itself after reporting. */
	TLOOP_UNTIL(&f->loop, py.exited);
	assert_int_equal(py.status, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_next_response, setup, teardown),
		cmocka_unit_test_setup_teardown(test_function_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_without_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup_short, teardown),
		cmocka_unit_test_setup_teardown(test_pause_and_idle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_runtime_guard, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_cancels, setup, teardown),
		cmocka_unit_test_setup_teardown(test_env, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_and_newest_poll, setup, teardown),
		cmocka_unit_test_setup_teardown(test_undelivered_requeued, setup, teardown),
		cmocka_unit_test_setup_teardown(test_allow_subnet, setup, teardown),
		cmocka_unit_test_setup_teardown(test_python_runtime, setup, teardown),
		cmocka_unit_test_setup_teardown(test_python_init_error, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
