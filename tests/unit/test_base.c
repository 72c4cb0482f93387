/*
 * Unit tests for src/base: the capped buffer, error names and causes, paths.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "base/buf.h"
#include "base/error.h"
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_cap),
		cmocka_unit_test(test_buf_detach),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_path_join),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
