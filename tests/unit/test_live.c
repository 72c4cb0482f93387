/*
 * Unit tests for the live-update decisions: Dockerfile-input analysis, the
 * rules of DESIGN.md section 4, sync mapping (nothing outside `to`), and
 * the plan's trigger matching, and the tar a plan streams.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include <cmocka.h>

#include "base/changeset.h"
#include "base/util.h"
#include "build/dockerfile.h"
#include "up/decide.h"
#include "project/project.h"
#include "base/error.h"
#include "engine/engine.h"
#include "sync/channel.h"
#include "sync/plan.h"
#include "sync/tarstream.h"

static char dir[] = "/tmp/dw-test-live-XXXXXX";

static void put(const char *rel, const char *text)
{
	char *p = path_join(dir, rel), cmd[600];
	FILE *f;

	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", p);
	assert_int_equal(system(cmd), 0);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(p);
}

static int setup(void **state)
{
	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	put("web/Dockerfile",
	    "# escape=\\\n"
	    "FROM busybox:1.36 AS base\n"
	    "COPY --chown=1:1 conf/a.txt conf/b*.txt /etc/\n"
	    "COPY [\"json form.txt\", \"/x/\"]\n"
	    "ADD https://example.com/x.tgz /tmp/\n"
	    "RUN --mount=type=bind,source=tools,target=/t \\\n"
	    "    sh /t/run.sh\n"
	    "RUN <<EOF\n"
	    "COPY not/an/instruction /\n"
	    "EOF\n"
	    "FROM base\n"
	    "COPY --from=base /etc/a.txt /a\n"
	    "COPY site /www\n");
	put("web/.dockerignore", "conf/b-ignored.txt\n");
	put("web/site/index.html", "x");
	put("web/conf/a.txt", "a");
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static void test_dockerfile_inputs(void **state)
{
	struct dockerfile_inputs in;
	char *p = path_join(dir, "web/Dockerfile");

	(void)state;
	assert_int_equal(dockerfile_inputs(p, &in, NULL), 0);
	free(p);
	assert_false(in.everything);
	assert_true(dockerfile_is_input(&in, "conf/a.txt"));
	assert_true(dockerfile_is_input(&in, "conf/b1.txt"));
	assert_false(dockerfile_is_input(&in, "conf/c.txt"));
	assert_true(dockerfile_is_input(&in, "json form.txt"));
	assert_true(dockerfile_is_input(&in, "tools/run.sh"));   /* RUN --mount bind */
	assert_true(dockerfile_is_input(&in, "site/deep/x.html")); /* folder source */
	assert_false(dockerfile_is_input(&in, "not/an/instruction")); /* heredoc body */
	assert_false(dockerfile_is_input(&in, "etc/a.txt"));	      /* --from */
	assert_false(dockerfile_is_input(&in, "README.md"));
	dockerfile_inputs_free(&in);

	put("web/Dockerfile.var", "FROM x\nARG D=conf\nCOPY $D /d\n");
	p = path_join(dir, "web/Dockerfile.var");
	assert_int_equal(dockerfile_inputs(p, &in, NULL), 0);
	free(p);
	assert_true(in.everything); /* $VAR: the whole context */
	assert_true(dockerfile_is_input(&in, "README.md"));
	dockerfile_inputs_free(&in);
}

static struct project *load(const char *json)
{
	char *file = path_join(dir, "devwatch.json"), *cause = NULL;
	struct project *p = NULL;

	put("devwatch.json", json);
	if (project_load(file, &p, &cause) != 0)
		fail_msg("%s", cause);
	free(file);
	return p;
}

static void one(struct changeset *cs, const char *path, enum change_kind k)
{
	struct change c = {.path = (char *)path, .kind = k, .type = CTYPE_FILE, .mode = 0644};

	changeset_release(cs);
	changeset_init(cs);
	changeset_add(cs, &c);
}

static void test_decide(void **state)
{
	struct project *p = load(
		"{\"name\": \"t\", \"containers\": {\"web\": {\"build\": {\"context\": \"web\"},"
		" \"live_update\": [{\"fall_back_on\": [\"web/deps.txt\"]},"
		" {\"sync\": {\"from\": \"web/site\", \"to\": \"/www\"}}]}}}");
	struct decide_ctx d = {0};
	struct changeset cs;
	char *why;

	(void)state;
	changeset_init(&cs);
	assert_int_equal(decide_load(&d, &p->containers[0], NULL), 0);
#define EXPECT(path, want)                                                     \
	do {                                                                   \
		one(&cs, path, CHANGE_MODIFIED);                               \
		assert_int_equal(decide(&d, &cs, &why), want);                 \
		free(why);                                                     \
	} while (0)
	EXPECT("web/site/index.html", DECIDE_LIVE);    /* synced */
	EXPECT("web/deps.txt", DECIDE_RECREATE);      /* fall_back_on */
	EXPECT("web/Dockerfile", DECIDE_REBUILD);      /* the Dockerfile */
	EXPECT("web/.dockerignore", DECIDE_REBUILD);   /* .dockerignore */
	EXPECT("web/conf/a.txt", DECIDE_REBUILD);      /* an input no sync covers */
	EXPECT("web/conf/b-ignored.txt", DECIDE_NOTHING); /* .dockerignored */
	EXPECT("web/README.md", DECIDE_NOTHING);       /* read by nothing */
	EXPECT("other/file", DECIDE_NOTHING);	       /* outside the context */
	one(&cs, "web/conf/a.txt", CHANGE_MODIFIED);
	assert_int_equal(decide(&d, &cs, &why), DECIDE_REBUILD);
	assert_string_equal(why, "web/conf/a.txt is a Dockerfile input that no sync rule covers");
	free(why);
	/* A fall_back_on match wins over a rebuild earlier in path order. */
	{
		struct change a = {.path = "web/conf/a.txt", .kind = CHANGE_MODIFIED};
		struct change b = {.path = "web/deps.txt", .kind = CHANGE_MODIFIED};

		changeset_release(&cs);
		changeset_init(&cs);
		changeset_add(&cs, &a);
		changeset_add(&cs, &b);
		changeset_normalize(&cs);
		assert_int_equal(decide(&d, &cs, &why), DECIDE_RECREATE);
		assert_string_equal(why, "web/deps.txt matches fall_back_on 'web/deps.txt'");
		free(why);
	}
	changeset_release(&cs);
	decide_close(&d);
	project_free(p);
}

static void test_sync_map(void **state)
{
	struct project *p = load(
		"{\"name\": \"t\", \"containers\": {\"web\": {\"image\": \"busybox:1.36\","
		" \"live_update\": [{\"sync\": {\"from\": \"web\", \"to\": \"/app\"}},"
		" {\"sync\": {\"from\": \"web/static\", \"to\": \"/srv/static\"}},"
		" {\"run\": {\"cmd\": \"make css\", \"trigger\": [\"**/*.scss\"]}},"
		" {\"run\": {\"cmd\": [\"echo\", \"it's\"]}}]}}}");
	struct project_container *c = &p->containers[0];
	struct sync_plan plan;
	struct changeset cs;
	char *m;

	(void)state;
	m = sync_map(c, "web/a/b.txt");
	assert_string_equal(m, "/app/a/b.txt");
	free(m);
	m = sync_map(c, "web/static/x.css"); /* the most specific rule */
	assert_string_equal(m, "/srv/static/x.css");
	free(m);
	m = sync_map(c, "web");
	assert_string_equal(m, "/app");
	free(m);
	assert_null(sync_map(c, "webby/x"));
	assert_null(sync_map(c, "other/x"));
	assert_null(sync_map(c, "web/../etc/passwd")); /* never outside `to` */
	assert_null(sync_map(c, "web/./x"));
	assert_null(sync_map(c, "web//x"));

	changeset_init(&cs);
	one(&cs, "web/style.scss", CHANGE_REMOVED);
	sync_plan_build(dir, c, &cs, &plan);
	assert_int_equal(plan.n_deletes, 1);
	assert_string_equal(plan.deletes.data, "/app/style.scss");
	assert_int_equal(plan.n_runs, 2);
	assert_string_equal(plan.runs[0], "make css");
	assert_string_equal(plan.runs[1], "'echo' 'it'\\''s'");
	sync_plan_release(&plan);
	one(&cs, "web/x.html", CHANGE_REMOVED);
	sync_plan_build(dir, c, &cs, &plan);
	assert_int_equal(plan.n_runs, 1); /* the scss trigger does not match */
	sync_plan_release(&plan);
	changeset_release(&cs);
	project_free(p);
}

static void add(struct changeset *cs, const char *path, enum change_type t)
{
	struct change c = {.path = (char *)path, .kind = CHANGE_ADDED, .type = t, .mode = 0644};

	changeset_add(cs, &c);
}

/* The tar comes out in pieces of about `want` bytes; put together they are
   one archive with every member's name, mode, link target and content, and
   a file that vanished before it was read is left out. */
static void test_tar_stream(void **state)
{
	struct project *p = load(
		"{\"name\": \"t\", \"containers\": {\"web\": {\"image\": \"busybox:1.36\","
		" \"live_update\": [{\"sync\": {\"from\": \"web\", \"to\": \"/app\"}}]}}}");
	struct sync_plan plan;
	struct changeset cs;
	struct tar_stream *ts;
	struct buf all, piece, dirs;
	struct archive *a;
	struct archive_entry *ae;
	char *big = xmalloc(300001), *abs, *cause = NULL, *got;
	int rc, pieces = 0, seen = 0;

	(void)state;
	for (size_t i = 0; i < 300000; i++)
		big[i] = (char)('a' + i % 23);
	big[300000] = '\0';
	put("web/t/big.txt", big);
	put("web/t/run.sh", "#!/bin/sh\n");
	abs = path_join(dir, "web/t/run.sh");
	assert_int_equal(chmod(abs, 0755), 0);
	free(abs);
	abs = path_join(dir, "web/t/link");
	assert_int_equal(symlink("../elsewhere", abs), 0);
	free(abs);
	changeset_init(&cs);
	add(&cs, "web/t", CTYPE_DIR);
	add(&cs, "web/t/big.txt", CTYPE_FILE);
	add(&cs, "web/t/gone.txt", CTYPE_FILE);
	add(&cs, "web/t/link", CTYPE_SYMLINK);
	add(&cs, "web/t/run.sh", CTYPE_FILE);
	sync_plan_build(dir, &p->containers[0], &cs, &plan);
	assert_int_equal(plan.n_members, 5);
	assert_int_equal(plan.n_writes, 4);

	/* The fallback's folders in place of container symlinks go first. */
	buf_init(&dirs, 1024);
	assert_int_equal(buf_add(&dirs, "/app/x\0/app/x/y", 16), 0);
	buf_init(&all, 1u << 24);
	ts = tar_stream_new(&plan);
	tar_stream_dirs(ts, &dirs);
	do {
		buf_init(&piece, 1u << 20);
		rc = tar_stream_fill(ts, &piece, 64 << 10, &cause);
		assert_true(rc == 0 || rc == 1);
		assert_int_equal(buf_add(&all, piece.data, piece.len), 0);
		buf_release(&piece);
		pieces++;
	} while (rc == 0);
	tar_stream_free(ts);
	assert_true(pieces > 3);

	a = archive_read_new();
	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_memory(a, all.data, all.len), ARCHIVE_OK);
	while (archive_read_next_header(a, &ae) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(ae);

		seen++;
		if (seen <= 2) {
			assert_string_equal(name, seen == 1 ? "app/x/" : "app/x/y/");
			assert_true(S_ISDIR(archive_entry_mode(ae)));
			assert_int_equal(archive_entry_perm(ae), 0755);
		} else if (strcmp(name, "app/t/") == 0) {
			assert_true(S_ISDIR(archive_entry_mode(ae)));
		} else if (strcmp(name, "app/t/big.txt") == 0) {
			got = xmalloc(300001);
			assert_int_equal(archive_read_data(a, got, 300001), 300000);
			assert_memory_equal(got, big, 300000);
			free(got);
		} else if (strcmp(name, "app/t/link") == 0) {
			assert_string_equal(archive_entry_symlink(ae), "../elsewhere");
		} else if (strcmp(name, "app/t/run.sh") == 0) {
			assert_int_equal(archive_entry_perm(ae), 0755);
		} else {
			fail_msg("unexpected member '%s'", name);
		}
	}
	assert_int_equal(seen, 6);
	archive_read_free(a);
	buf_release(&all);
	buf_release(&dirs);

	/* A cap smaller than a file: an error naming it, not a short tar. */
	ts = tar_stream_new(&plan);
	buf_init(&piece, 100000);
	rc = tar_stream_fill(ts, &piece, SIZE_MAX, &cause);
	assert_int_equal(rc, DW_TOOBIG);
	assert_non_null(cause);
	assert_non_null(strstr(cause, "big.txt"));
	free(cause);
	buf_release(&piece);
	tar_stream_free(ts);

	/* Freed mid-file (an update abandoned): nothing leaks, and nothing
	   is written into the buffer of the last fill. */
	ts = tar_stream_new(&plan);
	buf_init(&piece, 1u << 20);
	assert_int_equal(tar_stream_fill(ts, &piece, 100000, &cause), 0);
	{
		size_t len = piece.len;

		tar_stream_free(ts);
		assert_int_equal(piece.len, len);
	}
	buf_release(&piece);

	sync_plan_release(&plan);
	changeset_release(&cs);
	free(big);
	project_free(p);
}

static void never_done(struct channel *ch, int err, int step, int rc, void *arg)
{
	(void)ch, (void)err, (void)step, (void)rc;
	(*(int *)arg)++;
}

/* An update whose agent exec the engine client refuses (here: it is
   closing) used to return 0 and never finish: the update hung. Now the
   refusal is channel_apply's result, and done is not called. */
static void test_channel_refused(void **state)
{
	uv_loop_t loop;
	struct engine *e = NULL;
	struct channel *ch;
	struct sync_plan p;
	int called = 0;

	(void)state;
	memset(&p, 0, sizeof(p));
	uv_loop_init(&loop);
	assert_int_equal(engine_new(&loop, "unix:///nonexistent/dw-refused.sock", &e, NULL), 0);
	ch = channel_new(e, "c1", NULL, NULL, NULL);
	engine_close(e, NULL, NULL);
	assert_int_equal(channel_apply(ch, &p, never_done, &called), DW_CANCELED);
	/* Nothing is left in flight: the channel takes the next update. */
	assert_int_equal(channel_apply(ch, &p, never_done, &called), DW_CANCELED);
	channel_free(ch);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(called, 0);
	assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dockerfile_inputs),
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_sync_map),
		cmocka_unit_test(test_tar_stream),
		cmocka_unit_test(test_channel_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
