/*
 * Unit tests for globs, .dockerignore lists (their edge cases: `**`, `!`
 * exceptions, trailing and leading '/') and the build-context tar: which
 * files go in, read back from the tar itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <cmocka.h>

#include "base/pattern.h"
#include "base/util.h"
#include "build/context.h"

static void test_glob(void **state)
{
	(void)state;
	assert_true(glob_match("*.c", "a.c"));
	assert_false(glob_match("*.c", "d/a.c"));
	assert_true(glob_match("**/*.c", "a.c"));
	assert_true(glob_match("**/*.c", "d/e/a.c"));
	assert_true(glob_match("d/**", "d/e/f"));
	assert_true(glob_match("d/**/f", "d/f"));
	assert_true(glob_match("d/**/f", "d/x/y/f"));
	assert_false(glob_match("d/**/f", "e/x/f"));
	assert_true(glob_match("a?c", "abc"));
	assert_false(glob_match("a?c", "a/c"));
	assert_true(glob_match("[a-c]x", "bx"));
	assert_false(glob_match("[!a-c]x", "bx"));
	assert_true(glob_match("\\*x", "*x"));
	assert_false(glob_match("\\*x", "ax"));
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The hostile patterns of the first fuzz campaign: the backtracking matcher
   took 1.6 s for the first against 40 characters (over 60 s against 60),
   and 21 s for the second. Bounded by pattern x path length, both now take
   microseconds, and still match right. */
static void test_glob_hostile(void **state)
{
	char name[128], path[1024];
	const char *glob;
	size_t n = 0;
	double t0 = now_s();

	(void)state;
	memset(name, 'a', 100);
	name[100] = '\0';
	assert_false(glob_match("*a*a*a*a*a*a*a*a*b", name));
	name[99] = 'b';
	assert_true(glob_match("*a*a*a*a*a*a*a*a*b", name));
	assert_false(glob_match("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*c", name));
	for (int i = 0; i < 200; i++)
		n += (size_t)snprintf(path + n, sizeof(path) - n, "%sx", i ? "/" : "");
	glob = "**/x/**/x/**/x/**/x/**/x/";
	assert_true(glob_match_rel(glob, path, true));
	assert_true(glob_match_rel(glob, path, false)); /* its parents are dirs */
	assert_false(glob_match_rel("**/x/**/x/**/x/**/x/**/y/", path, true));
	assert_false(glob_match("**/x/**/x/**/x/**/x/**/x/y", path));
	assert_true(glob_match_parent("**/x/**/x/**/x/**/x/**/x", path));
	if (now_s() - t0 > 1.0)
		fail_msg("hostile globs took %.2f s", now_s() - t0);
}

/* One pass answers "the path or one of its parents", with the same rules. */
static void test_glob_parent(void **state)
{
	(void)state;
	assert_true(glob_match_parent("a/b", "a/b"));
	assert_true(glob_match_parent("a/b", "a/b/c/d"));
	assert_false(glob_match_parent("a/b", "a/bc"));
	assert_true(glob_match_parent("*/b", "x/b/c"));
	assert_false(glob_match_parent("*/b", "x/y/b"));
	assert_true(glob_match_parent("**/b", "x/y/b/z"));
	assert_false(glob_match_parent("[", "a"));
	assert_true(glob_match("a/**/", "a/"));
	assert_true(glob_match("a**/b", "ab/b"));
	assert_true(glob_match("[]a]x", "]x"));
	assert_true(glob_match("[\\]]x", "]x"));
	assert_false(glob_match("[a-c]", "/"));
}

static void test_glob_rel(void **state)
{
	(void)state;
	/* No '/': any depth, as in .gitignore. */
	assert_true(glob_match_rel("*.log", "a/b/x.log", false));
	assert_true(glob_match_rel("node_modules", "web/node_modules/x/y.js", false));
	/* Trailing '/': directories only (and what is under them). */
	assert_true(glob_match_rel("tmp/", "tmp", true));
	assert_false(glob_match_rel("tmp/", "tmp", false));
	assert_true(glob_match_rel("tmp/", "a/tmp/f", false));
	/* With '/': anchored. */
	assert_true(glob_match_rel("web/site/partials/**", "web/site/partials/h.html", false));
	assert_false(glob_match_rel("web/site/partials/**", "other/web/site/partials/h.html", false));
	assert_true(glob_match_rel("/web/package.json", "web/package.json", false));
	assert_true(glob_match_rel("web/site", "web/site/a/b.html", false));
	assert_false(glob_match_rel("web/site", "web/sites/a", false));
}

static struct pattern_list list_of(const char *const *lines)
{
	struct pattern_list l;

	pattern_list_init(&l);
	for (; *lines != NULL; lines++)
		pattern_list_add(&l, *lines);
	return l;
}

static void test_dockerignore(void **state)
{
	static const char *const lines[] = {
		"# a comment", "", "  *.md  ", "!README.md", "/build/", "**/*.tmp",
		"docs", "!docs/keep.txt", "./a/../secret", NULL,
	};
	struct pattern_list l = list_of(lines);

	(void)state;
	assert_int_equal(l.n, 7);
	assert_true(pattern_list_match(&l, "notes.md"));
	assert_false(pattern_list_match(&l, "README.md"));   /* ! exception */
	assert_false(pattern_list_match(&l, "sub/notes.md")); /* *.md is top only */
	assert_true(pattern_list_match(&l, "build"));	      /* leading and trailing / */
	assert_true(pattern_list_match(&l, "build/out/x.o")); /* under an excluded dir */
	assert_false(pattern_list_match(&l, "src/build"));    /* anchored at the root */
	assert_true(pattern_list_match(&l, "x.tmp"));	      /* ** matches zero dirs */
	assert_true(pattern_list_match(&l, "a/b/c/x.tmp"));
	assert_true(pattern_list_match(&l, "docs/a.txt"));
	assert_false(pattern_list_match(&l, "docs/keep.txt"));
	assert_true(pattern_list_match(&l, "secret")); /* cleaned like the engine */
	assert_true(pattern_list_may_include_under(&l, "docs"));
	pattern_list_close(&l);

	static const char *const last_wins[] = {"*", "!keep", "keep", NULL};
	l = list_of(last_wins);
	assert_true(pattern_list_match(&l, "keep"));
	pattern_list_close(&l);
}

static char root[] = "/tmp/dw-test-context-XXXXXX";

static void put(const char *rel, const char *text)
{
	char *p = path_join(root, rel);
	char *slash = strrchr(p, '/');
	FILE *f;

	*slash = '\0';
	{
		char cmd[512];

		snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", p);
		assert_int_equal(system(cmd), 0);
	}
	*slash = '/';
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(p);
}

/* The tar's member names, one per line, in order. */
static char *tar_members(const struct build_context *bc)
{
	FILE *tmp = tmpfile();
	struct archive *a = archive_read_new();
	struct archive_entry *ae;
	char *out = xstrdup(""), *t;

	assert_int_equal(context_write_tar(bc, fileno(tmp), NULL), 0);
	rewind(tmp);
	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_fd(a, fileno(tmp), 4096), ARCHIVE_OK);
	while (archive_read_next_header(a, &ae) == ARCHIVE_OK) {
		t = xasprintf("%s%s%s\n", out, archive_entry_pathname(ae),
			      archive_entry_symlink(ae) != NULL ? " ->" : "");
		free(out);
		out = t;
	}
	archive_read_free(a);
	fclose(tmp);
	return out;
}

static void test_context_tar(void **state)
{
	struct build_context bc;
	struct build_spec spec = {.dockerfile = "Dockerfile"};
	char h1[33], h2[33], h3[33], *members;

	(void)state;
	assert_non_null(mkdtemp(root));
	put("Dockerfile", "FROM busybox:1.36\n");
	put(".dockerignore", "Dockerfile\n.dockerignore\n**/*.log\n*.md\nnode_modules/\n!node_modules/keep.js\ndocs/**\n");
	put("app/main.py", "print(1)\n");
	put("app/debug.log", "x\n");
	put("node_modules/big/index.js", "x\n");
	put("node_modules/keep.js", "x\n");
	put("docs/a.md", "x\n");
	put(".devwatch/logs/web.log", "x\n");
	{
		char *l = path_join(root, "app/link");

		assert_int_equal(symlink("main.py", l), 0);
		free(l);
	}
	assert_int_equal(context_scan(&bc, root, "Dockerfile", NULL), 0);
	members = tar_members(&bc);
	/* Dockerfile and .dockerignore always go; .devwatch never does; an
	   excluded dir is walked only for its exception. */
	assert_string_equal(members, ".dockerignore\n"
				     "Dockerfile\n"
				     "app/\n"
				     "app/link ->\n"
				     "app/main.py\n"
				     "docs/\n"
				     "node_modules/keep.js\n");
	free(members);
	assert_int_equal(context_hash(&bc, &spec, NULL, NULL, h1, NULL), 0);
	context_close(&bc);

	/* An excluded file changes nothing; an included one changes the hash. */
	put("app/debug.log", "changed\n");
	assert_int_equal(context_scan(&bc, root, "Dockerfile", NULL), 0);
	assert_int_equal(context_hash(&bc, &spec, NULL, NULL, h2, NULL), 0);
	context_close(&bc);
	assert_string_equal(h1, h2);
	put("app/main.py", "print(2)\n");
	assert_int_equal(context_scan(&bc, root, "Dockerfile", NULL), 0);
	assert_int_equal(context_hash(&bc, &spec, NULL, NULL, h3, NULL), 0);
	context_close(&bc);
	assert_string_not_equal(h1, h3);

	/* Tagged by what the Dockerfile reads: a file of the context that no
	   COPY names changes nothing; an input still does. */
	{
		char *srcs[] = {"app"};
		struct dockerfile_inputs in = {.src = srcs, .n = 1};
		char h4[33], h5[33], h6[33];

		assert_int_equal(context_scan(&bc, root, "Dockerfile", NULL), 0);
		assert_int_equal(context_hash(&bc, &spec, &in, NULL, h4, NULL), 0);
		context_close(&bc);
		put("notes.txt", "read by nothing\n");
		assert_int_equal(context_scan(&bc, root, "Dockerfile", NULL), 0);
		assert_int_equal(context_hash(&bc, &spec, &in, NULL, h5, NULL), 0);
		context_close(&bc);
		assert_string_equal(h4, h5);
		put("app/main.py", "print(3)\n");
		assert_int_equal(context_scan(&bc, root, "Dockerfile", NULL), 0);
		assert_int_equal(context_hash(&bc, &spec, &in, NULL, h6, NULL), 0);
		context_close(&bc);
		assert_string_not_equal(h5, h6);

		/* What a sync rule brings in live does not make a new image. */
		{
			struct live_step sync = {.kind = STEP_SYNC, .from = "app", .to = "/app"};
			struct project_container c = {.name = "web", .steps = &sync, .n_steps = 1};
			char h7[33], h8[33];

			assert_int_equal(context_scan(&bc, root, "Dockerfile", NULL), 0);
			assert_int_equal(context_hash(&bc, &spec, &in, &c, h7, NULL), 0);
			context_close(&bc);
			put("app/main.py", "print(4)\n");
			assert_int_equal(context_scan(&bc, root, "Dockerfile", NULL), 0);
			assert_int_equal(context_hash(&bc, &spec, &in, &c, h8, NULL), 0);
			context_close(&bc);
			assert_string_equal(h7, h8);
		}
	}
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
		assert_int_equal(system(cmd), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_glob),
		cmocka_unit_test(test_glob_hostile),
		cmocka_unit_test(test_glob_parent),
		cmocka_unit_test(test_glob_rel),
		cmocka_unit_test(test_dockerignore),
		cmocka_unit_test(test_context_tar),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
