/*
 * Unit tests for src/api/manager.c: harpoon's container manager contract,
 * its exact bodies and codes, over fake manager_ops, driven by libcurl.
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

#include "api/http.h"
#include "api/manager.h"
#include "base/error.h"
#include "support/http-client.h"
#include "support/loop-until.h"

struct fake {
	int starts;	       /* ops->start calls */
	bool created[2];       /* web, db */
	bool hold;	       /* answer starts only when the test says */
	struct held {
		struct manager_call *call;
		char name[16];
	} held[4];
	size_t n_held;
	int stops;
	int shutdowns;
	bool exited;
	bool fail_start;
};

struct fixture {
	uv_loop_t loop;
	struct fake fake;
	struct manager *m;
	struct http_server *s;
	struct tclient *c;
	char base[64];
	bool closed;
};

static const char *const names[] = {"web", "db"};

static size_t fake_names(void *ctx, const char *const **out)
{
	*out = names;
	return 2;
}

static void answer_start(struct fake *f, struct manager_call *call,
			 const char *name, const struct manager_port *ports,
			 size_t n)
{
	int i = strcmp(name, "web") == 0 ? 0 : 1;
	struct manager_port bound[4];
	char id[32];
	struct manager_container c = {.id = id, .ports = bound, .n_ports = n};

	snprintf(id, sizeof(id), "c-%s", name);
	for (size_t k = 0; k < n; k++) {
		bound[k].container = ports[k].container;
		bound[k].host = ports[k].host ? ports[k].host : 32772 + (int)k;
	}
	c.just_created = !f->created[i];
	f->created[i] = true;
	manager_started(call, 0, NULL, &c);
}

static int fake_start(void *ctx, const char *name,
		      const struct manager_port *ports, size_t n,
		      struct manager_call *call)
{
	struct fake *f = ctx;

	f->starts++;
	if (f->fail_start)
		return DW_BUILD;
	if (f->hold) {
		f->held[f->n_held].call = call;
		snprintf(f->held[f->n_held].name, sizeof(f->held[0].name), "%s", name);
		f->n_held++;
		return 0;
	}
	answer_start(f, call, name, ports, n);
	return 0;
}

static int fake_stop(void *ctx, const char *name, struct manager_call *call)
{
	struct fake *f = ctx;

	f->stops++;
	f->created[strcmp(name, "web") == 0 ? 0 : 1] = false;
	manager_done(call, 0, NULL);
	return 0;
}

static int fake_shutdown(void *ctx, struct manager_call *call)
{
	struct fake *f = ctx;

	f->shutdowns++;
	manager_done(call, 0, NULL);
	return 0;
}

static void fake_exit(void *ctx)
{
	((struct fake *)ctx)->exited = true;
}

static const struct manager_ops ops = {
	.names = fake_names,
	.start = fake_start,
	.stop = fake_stop,
	.shutdown = fake_shutdown,
	.exit = fake_exit,
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct http_options o = {.name = "manager"};
	char *cause = NULL;

	uv_loop_init(&f->loop);
	f->m = manager_new(&ops, &f->fake, "0.1.0");
	{
		struct http_route routes[] = {MANAGER_ROUTES(f->m)};

		assert_int_equal(http_server_new(&f->loop, &o, routes, 4, &f->s, &cause), 0);
	}
	snprintf(f->base, sizeof(f->base), "http://127.0.0.1:%d", http_server_port(f->s));
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

	http_server_close(f->s, on_closed, f);
	tclient_free(f->c);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_true(f->closed);
	manager_free(f->m);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	free(f);
	return 0;
}

static const char *const json[] = {"Content-Type: application/json", NULL};

static struct treq *start(struct fixture *f, const char *path, const char *body)
{
	char url[128];

	snprintf(url, sizeof(url), "%s%s", f->base, path);
	return tclient_start(f->c, "POST", url, json, body);
}

static struct treq *call(struct fixture *f, const char *method, const char *path,
			 const char *const *headers, const char *body)
{
	char url[128];

	snprintf(url, sizeof(url), "%s%s", f->base, path);
	return tclient_do(f->c, method, url, headers, body);
}

static void test_start_and_repeat(void **state)
{
	struct fixture *f = *state;
	struct treq *t;

	t = call(f, "POST", "/start_container", json, "{\"image\": \"web\", \"ports\": [[0, 4545]]}");
	assert_int_equal(t->status, 200);
	assert_string_equal(buf_str(&t->body),
			    "{\"ports\":{\"4545\":32772},\"just_created\":true,\"container_id\":\"c-web\"}");
	t = call(f, "POST", "/start_container", json, "{\"image\": \"web\", \"ports\": [[0, 4545]]}");
	assert_int_equal(t->status, 200);
	assert_string_equal(buf_str(&t->body),
			    "{\"ports\":{\"4545\":32772},\"just_created\":false,\"container_id\":\"c-web\"}");
	t = call(f, "POST", "/start_container", json,
		 "{\"image\": \"db\", \"ports\": [\"7000:6379\", 80]}");
	assert_int_equal(t->status, 200);
	assert_string_equal(buf_str(&t->body),
			    "{\"ports\":{\"6379\":7000,\"80\":32773},\"just_created\":true,\"container_id\":\"c-db\"}");
	t = call(f, "POST", "/start_container", json, "{\"image\": \"db\", \"ports\": []}");
	assert_string_equal(buf_str(&t->body),
			    "{\"ports\":{},\"just_created\":false,\"container_id\":\"c-db\"}");
	assert_int_equal(f->fake.starts, 4);
}

/* Answer the held start of name (no ports). */
static void release(struct fake *f, const char *name)
{
	for (size_t i = 0; i < f->n_held; i++) {
		if (strcmp(f->held[i].name, name) == 0) {
			struct manager_call *c = f->held[i].call;

			f->held[i] = f->held[--f->n_held];
			answer_start(f, c, name, NULL, 0);
			return;
		}
	}
	fail_msg("no start of '%s' is held", name);
}

static void test_starts_of_one_name_queue(void **state)
{
	struct fixture *f = *state;
	struct treq *a, *b, *other;

	f->fake.hold = true;
	a = start(f, "/start_container", "{\"image\": \"web\", \"ports\": []}");
	TLOOP_UNTIL(&f->loop, f->fake.starts >= 1);
	b = start(f, "/start_container", "{\"image\": \"web\", \"ports\": []}");
	other = start(f, "/start_container", "{\"image\": \"db\", \"ports\": []}");
	TLOOP_UNTIL(&f->loop, f->fake.starts >= 2);
	/* web's second start waits for its first; db's does not. */
	assert_false(tclient_wait(f->c, &b->done, 100));
	assert_int_equal(f->fake.starts, 2);
	release(&f->fake, "db");
	assert_true(tclient_wait(f->c, &other->done, 5000));
	assert_int_equal(other->status, 200);
	release(&f->fake, "web");
	assert_true(tclient_wait(f->c, &a->done, 5000));
	assert_non_null(strstr(buf_str(&a->body), "\"just_created\":true"));
	/* Now the second runs, and finds the container made. */
	assert_int_equal(f->fake.starts, 3);
	release(&f->fake, "web");
	assert_true(tclient_wait(f->c, &b->done, 5000));
	assert_string_equal(buf_str(&b->body),
			    "{\"ports\":{},\"just_created\":false,\"container_id\":\"c-web\"}");
}

static void test_no_such_image(void **state)
{
	struct fixture *f = *state;
	struct treq *t;

	t = call(f, "POST", "/start_container", json, "{\"image\": \"nope\", \"ports\": [[0, 80]]}");
	assert_int_equal(t->status, 404);
	assert_string_equal(buf_str(&t->body),
			    "{\"error\":{\"message\":\"Couldn't find image\",\"wanted\":\"nope\",\"available\":[\"db\",\"web\"]},\"error_code\":\"NoSuchImage\"}");
	t = call(f, "POST", "/stop_container", json, "{\"image\": \"nope\"}");
	assert_int_equal(t->status, 404);
	assert_int_equal(f->fake.starts, 0);
}

static void test_bad_bodies(void **state)
{
	struct fixture *f = *state;
	struct treq *t;

	t = call(f, "POST", "/start_container", json, "");
	assert_int_equal(t->status, 400);
	assert_non_null(strstr(buf_str(&t->body), "\"error_code\":\"BadRequest\""));
	t = call(f, "POST", "/start_container", json, "{\"image\": ");
	assert_int_equal(t->status, 400);
	assert_non_null(strstr(buf_str(&t->body), "\"error_code\":\"BadJSON\""));
	t = call(f, "POST", "/start_container", json, "{\"ports\": []}");
	assert_int_equal(t->status, 400);
	assert_string_equal(buf_str(&t->body),
			    "{\"error\":{\"message\":\"Expected a string\",\"key\":\"image\"},\"error_code\":\"BadSpecValue\"}");
	t = call(f, "POST", "/start_container", json, "{\"image\": \"web\"}");
	assert_int_equal(t->status, 400);
	assert_non_null(strstr(buf_str(&t->body), "\"key\":\"ports\""));
	t = call(f, "POST", "/start_container", json, "{\"image\": \"web\", \"ports\": [[0, 70000]]}");
	assert_int_equal(t->status, 400);
	t = call(f, "POST", "/start_container",
		 (const char *[]){"Content-Type: application/x-www-form-urlencoded", NULL},
		 "image=web");
	assert_int_equal(t->status, 415);
	assert_int_equal(f->fake.starts, 0);
}

static void test_start_fails(void **state)
{
	struct fixture *f = *state;
	struct treq *t;

	f->fake.fail_start = true;
	t = call(f, "POST", "/start_container", json, "{\"image\": \"web\", \"ports\": []}");
	assert_int_equal(t->status, 500);
	assert_string_equal(buf_str(&t->body),
			    "{\"error\":{\"message\":\"Bad image. Failed to start the container\",\"error\":\"image build failed\"},\"error_code\":\"BadImage\"}");
}

static void test_stop_shutdown_version(void **state)
{
	struct fixture *f = *state;
	struct treq *t;

	t = call(f, "GET", "/version", NULL, NULL);
	assert_int_equal(t->status, 200);
	assert_string_equal(buf_str(&t->body), "devwatch 0.1.0");
	call(f, "POST", "/start_container", json, "{\"image\": \"web\", \"ports\": []}");
	t = call(f, "POST", "/stop_container", json, "{\"image\": \"web\"}");
	assert_int_equal(t->status, 204);
	assert_int_equal(buf_str(&t->body)[0], '\0');
	assert_int_equal(f->fake.stops, 1);
	/* A start after a stop creates the container again. */
	t = call(f, "POST", "/start_container", json, "{\"image\": \"web\", \"ports\": []}");
	assert_non_null(strstr(buf_str(&t->body), "\"just_created\":true"));
	t = call(f, "GET", "/shutdown", NULL, NULL);
	assert_int_equal(t->status, 204);
	assert_int_equal(f->fake.shutdowns, 1);
	assert_true(tclient_wait(f->c, &f->fake.exited, 5000));
	t = call(f, "GET", "/shutdown", NULL, NULL);
	assert_int_equal(t->status, 204);
	assert_int_equal(f->fake.shutdowns, 1);
	t = call(f, "POST", "/start_container", json, "{\"image\": \"web\", \"ports\": []}");
	assert_int_equal(t->status, 503);
	assert_non_null(strstr(buf_str(&t->body), "\"error_code\":\"ShuttingDown\""));
}

static void test_shutdown_refused_cross_site(void **state)
{
	struct fixture *f = *state;
	struct treq *t;

	t = call(f, "GET", "/shutdown", (const char *[]){"Sec-Fetch-Site: cross-site", NULL}, NULL);
	assert_int_equal(t->status, 403);
	t = call(f, "GET", "/shutdown", (const char *[]){"Origin: http://evil.example", NULL}, NULL);
	assert_int_equal(t->status, 403);
	assert_int_equal(f->fake.shutdowns, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_start_and_repeat, setup, teardown),
		cmocka_unit_test_setup_teardown(test_starts_of_one_name_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_such_image, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_bodies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_shutdown_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shutdown_refused_cross_site, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
