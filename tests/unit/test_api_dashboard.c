/*
 * Unit tests for src/api/dashboard.c: the assets are in the binary, served
 * with their types and a same-origin policy, and make no external request.
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

#include "api/dashboard.h"
#include "api/http.h"
#include "support/http-client.h"

static void test_assets_embedded(void **state)
{
	const struct dashboard_asset *a;
	const char *names[] = {"index.html", "dashboard.css", "dashboard.js", "favicon.svg"};

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		a = dashboard_find(names[i]);
		assert_non_null(a);
		assert_true(a->size > 100);
		/* Each array ends with a NUL past its size. */
		assert_int_equal(a->data[a->size], '\0');
	}
	assert_null(dashboard_find("nope.js"));
	a = dashboard_find("index.html");
	assert_memory_equal(a->data, "<!doctype html>", 15);
}

/* No asset may pull anything from elsewhere: no absolute URL in a src,
   href, url() or import, and no protocol-relative one. */
static void test_no_external_requests(void **state)
{
	const char *bad[] = {"src=\"http", "href=\"http", "src=\"//", "href=\"//",
			     "url(http", "url(//", "@import", "fetch('http",
			     "fetch(\"http", "new WebSocket"};

	(void)state;
	for (unsigned i = 0; i < dashboard_n_assets; i++) {
		const struct dashboard_asset *a = &dashboard_assets[i];

		for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
			if (strstr((const char *)a->data, bad[k]))
				fail_msg("'%s' holds '%s'", a->name, bad[k]);
	}
}

static void on_closed(void *arg)
{
	*(bool *)arg = true;
}

static void test_served(void **state)
{
	uv_loop_t loop;
	struct http_route routes[] = {DASHBOARD_ROUTES};
	struct http_options o = {.name = "dash"};
	struct http_server *s;
	struct tclient *c;
	struct treq *t;
	char url[128], v[512], *cause = NULL;
	bool closed = false;
	const struct dashboard_asset *js = dashboard_find("dashboard.js");

	(void)state;
	uv_loop_init(&loop);
	assert_int_equal(http_server_new(&loop, &o, routes, 2, &s, &cause), 0);
	c = tclient_new(&loop);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", http_server_port(s));
	t = tclient_do(c, "GET", url, NULL, NULL);
	assert_int_equal(t->status, 200);
	assert_string_equal(treq_header(t, "Content-Type", v, sizeof(v)), "text/html; charset=utf-8");
	assert_non_null(treq_header(t, "Content-Security-Policy", v, sizeof(v)));
	assert_non_null(strstr(v, "default-src 'none'"));
	assert_non_null(strstr(v, "connect-src 'self'"));
	assert_non_null(strstr(v, "frame-ancestors 'none'"));
	assert_null(treq_header(t, "Access-Control-Allow-Origin", v, sizeof(v)));
	assert_non_null(strstr(buf_str(&t->body), "/dashboard/dashboard.js"));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/dashboard/dashboard.js", http_server_port(s));
	t = tclient_do(c, "GET", url, NULL, NULL);
	assert_int_equal(t->status, 200);
	assert_string_equal(treq_header(t, "Content-Type", v, sizeof(v)), "text/javascript; charset=utf-8");
	assert_int_equal(t->body.len, js->size);
	assert_memory_equal(t->body.data, js->data, js->size);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/dashboard/../secret", http_server_port(s));
	t = tclient_do(c, "GET", url, NULL, NULL);
	assert_int_equal(t->status, 404);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/other", http_server_port(s));
	t = tclient_do(c, "GET", url, NULL, NULL);
	assert_int_equal(t->status, 404);
	http_server_close(s, on_closed, &closed);
	tclient_free(c);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_true(closed);
	assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_assets_embedded),
		cmocka_unit_test(test_no_external_requests),
		cmocka_unit_test(test_served),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
