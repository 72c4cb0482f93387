/*
 * Unit tests for src/base: the capped buffer, error names and causes, paths.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/loop.h"
#include "base/util.h"

static void test_buf_cap(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 8);
	assert_int_equal(buf_adds(&b, "abcd"), 0);
	assert_int_equal(buf_addf(&b, "%d", 123), 0);
	assert_string_equal(buf_str(&b), "abcd123");
	assert_int_equal(buf_adds(&b, "xy"), DW_TOOBIG);
	assert_string_equal(buf_str(&b), "abcd123");
	assert_int_equal(buf_addc(&b, 'z'), 0);
	assert_int_equal(b.len, 8);
	buf_consume(&b, 3);
	assert_string_equal(buf_str(&b), "d123z");
	buf_release(&b);
	assert_null(b.data);
}

static void test_buf_detach(void **state)
{
	struct buf b;
	size_t n;
	char *s;

	(void)state;
	buf_init(&b, 1 << 20);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(buf_addf(&b, "%04d", i), 0);
	s = buf_detach(&b, &n);
	assert_int_equal(n, 4000);
	assert_memory_equal(s + 3996, "0999", 4);
	assert_null(b.data);
	free(s);
}

static void test_errors(void **state)
{
	char *cause = NULL;

	(void)state;
	assert_string_equal(dw_err_name(DW_TOOBIG), "DW_TOOBIG");
	assert_string_equal(dw_strerror(DW_TOOBIG),
			    "input exceeds its size cap");
	assert_string_equal(dw_err_name(UV_ENOENT), "ENOENT");
	/* devwatch's codes sit below every libuv code, so neither shadows. */
	assert_true((int)DW__ERRNO_END < -4096);
	assert_string_equal(dw_err_name(DW__ERRNO_END - 1), "DW_USAGE");
	dw_cause(&cause, "cannot read '%s'", "x.json");
	dw_cause(&cause, "cannot parse '%s' at %d:%d", "x.json", 1, 2);
	assert_string_equal(cause, "cannot parse 'x.json' at 1:2");
	dw_cause(NULL, "ignored");
	free(cause);
}

static void test_path_join(void **state)
{
	char *p;

	(void)state;
	p = path_join("a/", "/b");
	assert_string_equal(p, "a/b");
	free(p);
	p = path_join(".", "b/c");
	assert_string_equal(p, "b/c");
	free(p);
	p = path_join("/", "x");
	assert_string_equal(p, "/x");
	free(p);
	assert_true(str_ends("file.swp", ".swp"));
	assert_false(str_starts("ab", "abc"));
}

/* ---- loop_run_until ---- */

static void on_alarm(int sig)
{
	static const char msg[] = "a wait blocked with its flag set\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(1);
	_exit(1);
}

struct wait_case {
	uv_loop_t *loop;
	bool done, inner_done, outer_during_inner;
	uv_timer_t set, inner_set;
};

static void set_done(uv_timer_t *t)
{
	struct wait_case *w = container_of(t, struct wait_case, set);

	w->done = true;
}

static void set_inner(uv_timer_t *t)
{
	struct wait_case *w = container_of(t, struct wait_case, inner_set);

	w->inner_done = true;
	w->done = true; /* the outer step ends during the inner wait */
}

static void nested_wait(uv_timer_t *t)
{
	struct wait_case *w = container_of(t, struct wait_case, set);

	uv_timer_start(&w->inner_set, set_inner, 0, 0);
	loop_run_until(w->loop, &w->inner_done);
	w->outer_during_inner = w->done;
}

static void on_usr2(uv_signal_t *h, int sig)
{
	(void)h, (void)sig;
}

/* A flag set by a due timer's callback, at the top of a loop turn, while
   another handle keeps the loop alive: a bare `while (!done)
   uv_run(UV_RUN_ONCE)` then blocks for I/O with no timeout, for ever
   (`devwatch run` did, one run in ten). The alarm turns a hang into a
   failure. */
static void test_loop_run_until(void **state)
{
	uv_loop_t loop;
	uv_signal_t alive;
	struct wait_case w = {.loop = &loop};

	(void)state;
	signal(SIGALRM, on_alarm);
	alarm(10);
	uv_loop_init(&loop);
	uv_signal_init(&loop, &alive);
	uv_signal_start(&alive, on_usr2, SIGUSR2);
	uv_timer_init(&loop, &w.set);
	uv_timer_init(&loop, &w.inner_set);
	for (int i = 0; i < 100; i++) {
		w.done = false;
		uv_timer_start(&w.set, set_done, 0, 0);
		loop_run_until(&loop, &w.done);
		assert_true(w.done);
	}
	/* Nested: the inner wait ends on its own flag, the outer one after. */
	w.done = false;
	uv_timer_start(&w.set, nested_wait, 0, 0);
	loop_run_until(&loop, &w.done);
	assert_true(w.inner_done);
	assert_true(w.outer_during_inner);
	/* Already done: returns at once. */
	loop_run_until(&loop, &w.done);
	alarm(0);
	uv_close((uv_handle_t *)&alive, NULL);
	uv_close((uv_handle_t *)&w.set, NULL);
	uv_close((uv_handle_t *)&w.inner_set, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_cap),
		cmocka_unit_test(test_buf_detach),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_path_join),
		cmocka_unit_test(test_loop_run_until),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
