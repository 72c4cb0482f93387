/*
 * Unit tests for src/api/control.c and apifile.c: the assembled control
 * API over fake control_ops (status, trigger, restart, logs, invoke), the
 * manager's routes when there is one, and the api file's life.
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
#include "api/control.h"
#include "api/events.h"
#include "base/error.h"
#include "base/util.h"
#include "support/http-client.h"
#include "support/loop-until.h"

static const char *const names[] = {"web", "api"};

struct fixture {
	uv_loop_t loop;
	struct events *es;
	struct control *ctl;
	struct manager *m;
	struct tclient *c;
	char dir[64];
	char base[64];
	int triggers, restarts;
	bool closed;
};

static size_t f_names(void *ctx, const char *const **out)
{
	*out = names;
	return 2;
}

static cJSON *f_status(void *ctx)
{
	return cJSON_Parse("{\"project\":\"shop\",\"containers\":[{\"name\":\"web\"},{\"name\":\"api\"}]}");
}

static int f_trigger(void *ctx, const char *name, char **cause)
{
	struct fixture *f = ctx;

	if (strcmp(name, "api") == 0) {
		dw_cause(cause, "'api' is being replaced");
		return DW_BUILD;
	}
	f->triggers++;
	return 0;
}

static int f_restart(void *ctx, const char *name, char **cause)
{
	((struct fixture *)ctx)->restarts++;
	return 0;
}

static struct lambda_fn *f_function(void *ctx, const char *name)
{
	return NULL;
}

static const struct control_ops ops = {
	.names = f_names, .status = f_status, .trigger = f_trigger,
	.restart = f_restart, .function = f_function,
};

/* A manager whose shutdown closes the whole control API from its exit. */
static struct fixture *the_fixture;

static int m_start(void *ctx, const char *name, const struct manager_port *p,
		   size_t n, struct manager_call *call)
{
	struct manager_container c = {.id = "c1", .just_created = true};

	manager_started(call, 0, NULL, &c);
	return 0;
}

static int m_stop(void *ctx, const char *name, struct manager_call *call)
{
	manager_done(call, 0, NULL);
	return 0;
}

static int m_shutdown(void *ctx, struct manager_call *call)
{
	manager_done(call, 0, NULL);
	return 0;
}

static void on_closed(void *arg)
{
	((struct fixture *)arg)->closed = true;
}

static void m_exit(void *ctx)
{
	struct fixture *f = the_fixture;

	control_close(f->ctl, on_closed, f);
	f->ctl = NULL;
}

static const struct manager_ops mops = {
	.names = f_names, .start = m_start, .stop = m_stop,
	.shutdown = m_shutdown, .exit = m_exit,
};

static int setup_with(void **state, bool with_manager)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct control_options o = {.version = "9.9"};
	char *cause = NULL;

	the_fixture = f;
	uv_loop_init(&f->loop);
	snprintf(f->dir, sizeof(f->dir), "/tmp/dw-api-test-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	o.state_dir = f->dir;
	f->es = events_new(0, 0);
	if (with_manager)
		f->m = manager_new(&mops, f, "9.9");
	assert_int_equal(control_new(&f->loop, &o, &ops, f, f->es, f->m, &f->ctl, &cause), 0);
	snprintf(f->base, sizeof(f->base), "http://127.0.0.1:%d", control_port(f->ctl));
	f->c = tclient_new(&f->loop);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_with(state, false);
}

static int setup_manager(void **state)
{
	return setup_with(state, true);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char *path = path_join(f->dir, "api");

	if (f->ctl)
		control_close(f->ctl, on_closed, f);
	tclient_free(f->c);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_true(f->closed);
	/* Closing removes the api file. */
	assert_int_equal(access(path, F_OK), -1);
	free(path);
	rmdir(f->dir);
	manager_free(f->m);
	events_free(f->es);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	free(f);
	return 0;
}

static const char *const json[] = {"Content-Type: application/json", NULL};

static struct treq *req(struct fixture *f, const char *method, const char *path,
			const char *const *headers, const char *body)
{
	char url[256];

	snprintf(url, sizeof(url), "%s%s", f->base, path);
	return tclient_do(f->c, method, url, headers, body);
}

static void test_status_trigger_restart(void **state)
{
	struct fixture *f = *state;
	struct treq *t;

	t = req(f, "GET", "/api/status", NULL, NULL);
	assert_int_equal(t->status, 200);
	assert_non_null(strstr(buf_str(&t->body), "\"project\":\"shop\""));
	t = req(f, "POST", "/api/trigger/web", json, "{}");
	assert_int_equal(t->status, 202);
	assert_string_equal(buf_str(&t->body), "{\"triggered\":\"web\"}");
	assert_int_equal(f->triggers, 1);
	t = req(f, "POST", "/api/trigger/api", json, "{}");
	assert_int_equal(t->status, 409);
	assert_non_null(strstr(buf_str(&t->body), "'api' is being replaced"));
	t = req(f, "POST", "/api/trigger/nope", json, "{}");
	assert_int_equal(t->status, 404);
	assert_non_null(strstr(buf_str(&t->body), "\"available\":[\"web\",\"api\"]"));
	t = req(f, "GET", "/api/trigger/web", NULL, NULL);
	assert_int_equal(t->status, 405);
	t = req(f, "POST", "/api/restart/web", json, "{}");
	assert_int_equal(t->status, 202);
	assert_int_equal(f->restarts, 1);
	t = req(f, "POST", "/api/invoke/web", json, "{}");
	assert_int_equal(t->status, 409);
	assert_non_null(strstr(buf_str(&t->body), "not a function container"));
	t = req(f, "GET", "/", NULL, NULL);
	assert_int_equal(t->status, 200);
	t = req(f, "GET", "/version", NULL, NULL);
	assert_string_equal(buf_str(&t->body), "devwatch 9.9");
	/* No manager: none of its routes. */
	t = req(f, "POST", "/start_container", json, "{\"image\":\"web\",\"ports\":[]}");
	assert_int_equal(t->status, 404);
}

static void log_event(struct fixture *f, const char *container, const char *line)
{
	cJSON *fields = cJSON_CreateObject();

	cJSON_AddStringToObject(fields, "stream", "stdout");
	cJSON_AddStringToObject(fields, "line", line);
	events_emit(f->es, "log", container, 0, fields);
}

static void test_logs(void **state)
{
	struct fixture *f = *state;
	char url[256];
	struct treq *t;

	log_event(f, "web", "one");
	log_event(f, "api", "other");
	log_event(f, "web", "two");
	events_emit(f->es, "update", "web", -1, NULL);
	log_event(f, "web", "three");
	t = req(f, "GET", "/api/logs/web?tail=2", NULL, NULL);
	assert_int_equal(t->status, 200);
	assert_string_equal(buf_str(&t->body), "two\nthree\n");
	t = req(f, "GET", "/api/logs/web?tail=all", NULL, NULL);
	assert_string_equal(buf_str(&t->body), "one\ntwo\nthree\n");
	t = req(f, "GET", "/api/logs/web?tail=0", NULL, NULL);
	assert_string_equal(buf_str(&t->body), "");
	t = req(f, "GET", "/api/logs/nope", NULL, NULL);
	assert_int_equal(t->status, 404);
	snprintf(url, sizeof(url), "%s/api/logs/web?tail=1&follow=1", f->base);
	t = tclient_start(f->c, "GET", url, NULL, NULL);
	TLOOP_UNTIL(&f->loop, strcmp(buf_str(&t->body), "three\n") == 0 || t->done);
	log_event(f, "api", "not this");
	log_event(f, "web", "four");
	TLOOP_UNTIL(&f->loop, strcmp(buf_str(&t->body), "three\nfour\n") == 0 || t->done);
	assert_string_equal(buf_str(&t->body), "three\nfour\n");
	assert_false(t->done);
}

static void test_api_file(void **state)
{
	struct fixture *f = *state;
	char *path = path_join(f->dir, "api"), text[64], *cause = NULL;
	FILE *fp = fopen(path, "r");
	size_t n;
	int port;
	pid_t pid;

	assert_non_null(fp);
	n = fread(text, 1, sizeof(text) - 1, fp);
	fclose(fp);
	text[n] = '\0';
	{
		char want[64];

		snprintf(want, sizeof(want), "%d\n%ld\n", control_port(f->ctl), (long)getpid());
		assert_string_equal(text, want);
	}
	assert_int_equal(apifile_read(path, &port, &pid, &cause), 0);
	assert_int_equal(port, control_port(f->ctl));
	assert_int_equal(pid, getpid());
	free(path);
	/* A stale file (its process gone) and a malformed one. */
	path = path_join(f->dir, "other");
	fp = fopen(path, "w");
	fputs("4545\n999999999\n", fp);
	fclose(fp);
	assert_int_equal(apifile_read(path, &port, &pid, &cause), DW_NOTFOUND);
	fp = fopen(path, "w");
	fputs("port\n", fp);
	fclose(fp);
	assert_int_equal(apifile_read(path, &port, &pid, &cause), DW_PROJECT);
	assert_non_null(strstr(cause, "expected"));
	free(cause);
	unlink(path);
	free(path);
	path = path_join(f->dir, "missing");
	assert_int_equal(apifile_read(path, &port, &pid, NULL), DW_NOTFOUND);
	free(path);
}

static void test_manager_shutdown_closes(void **state)
{
	struct fixture *f = *state;
	struct treq *t;

	t = req(f, "POST", "/start_container", json, "{\"image\":\"web\",\"ports\":[]}");
	assert_int_equal(t->status, 200);
	t = req(f, "GET", "/version", NULL, NULL);
	assert_string_equal(buf_str(&t->body), "devwatch 9.9");
	/* /shutdown's exit closes the control API from inside a callback. */
	t = req(f, "GET", "/shutdown", NULL, NULL);
	assert_int_equal(t->status, 204);
	assert_true(tclient_wait(f->c, &f->closed, 5000));
	assert_null(f->ctl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_status_trigger_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_logs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_api_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_manager_shutdown_closes, setup_manager, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
