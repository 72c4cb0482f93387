/*
 * Unit tests for the watcher's path table (watch/tree.c): insert, look up,
 * delete with tombstones, grow, reserve, and iterate, at the scale of a
 * large source tree.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "watch/tree.h"

#define N 100000

static size_t name(char *buf, size_t cap, int i)
{
	return (size_t)snprintf(buf, cap, "dir%d/sub%d/file-%d.c", i % 97,
	                        i % 13, i);
}

static size_t count(const struct tree *t)
{
	size_t i = 0, n = 0;

	while (tree_next(t, &i) != NULL)
		n++;
	return n;
}

static void check_table(struct tree *t)
{
	char p[64];
	size_t len;

	for (int i = 0; i < N; i++) {
		struct tentry *e;

		len = name(p, sizeof(p), i);
		e = tree_put(t, p, len);
		assert_non_null(e);
		e->size = (uint64_t)i;
	}
	assert_int_equal(t->n, N);
	assert_int_equal(count(t), N);
	for (int i = 0; i < N; i++) {
		struct tentry *e;

		len = name(p, sizeof(p), i);
		e = tree_get(t, p, len);
		assert_non_null(e);
		assert_int_equal(e->size, (uint64_t)i);
		assert_ptr_equal(tree_put(t, p, len), e); /* no duplicate */
	}
	assert_null(tree_get(t, "dir1/sub1/absent.c", 18));
	/* Delete every other path: the rest stay reachable past the
	   tombstones, and the deleted ones are gone. */
	for (int i = 0; i < N; i += 2) {
		len = name(p, sizeof(p), i);
		tree_del(t, tree_get(t, p, len));
	}
	assert_int_equal(t->n, N / 2);
	assert_int_equal(count(t), N / 2);
	for (int i = 0; i < N; i++) {
		len = name(p, sizeof(p), i);
		if (i % 2 == 0)
			assert_null(tree_get(t, p, len));
		else
			assert_int_equal(tree_get(t, p, len)->size,
			                 (uint64_t)i);
	}
	/* Churn: insert and delete many more than the table holds, so
	   rebuilds that clear tombstones run too. */
	for (int i = N; i < 4 * N; i++) {
		len = name(p, sizeof(p), i);
		tree_put(t, p, len)->size = (uint64_t)i;
		tree_del(t, tree_get(t, p, len));
	}
	assert_int_equal(t->n, N / 2);
	assert_int_equal(tree_get(t, p, name(p, sizeof(p), N - 1))->size,
	                 N - 1);
}

static void test_tree(void **state)
{
	struct tree t;

	(void)state;
	tree_init(&t);
	check_table(&t);
	tree_close(&t);
}

static void test_tree_reserved(void **state)
{
	struct tree t;
	size_t cap;

	(void)state;
	tree_init(&t);
	tree_reserve(&t, N);
	cap = t.cap;
	assert_true(cap * 3 > (size_t)N * 4);
	check_table(&t);
	tree_close(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tree),
	    cmocka_unit_test(test_tree_reserved),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
