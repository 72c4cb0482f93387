/*
 * Unit tests for devwatch's agent: the wire format (sync/agent/proto.h)
 * both ways, bounds included; the requests built from a plan
 * (sync/agent-req.h), decoded back; and the embedded agent itself, run on
 * a scratch folder through a pipe: writes, a symlink planted in the way,
 * deletions, a listing with hashes, and an argv run step.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/util.h"
#include "sync/agent-req.h"
#include "sync/agent/proto.h"
#include "sync/channel-agent.h"
#include "sync/plan.h"

static char dir[] = "/tmp/dw-test-agent-XXXXXX";

static void put(const char *rel, const char *text)
{
	char *p = path_join(dir, rel);
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(p);
}

/* dir/rel, valid until the next call. */
static const char *path_in(const char *rel)
{
	static char *p;

	free(p);
	p = path_join(dir, rel);
	return p;
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static void test_proto_roundtrip(void **state)
{
	unsigned char b[AP_ENTRY_MAX];
	struct ap_whdr h = {.kind = AP_FILE, .mode = 0755, .mtime_s = -5, .mtime_ns = 7,
			    .root = "/app", .root_len = 4, .rel = "a/b c", .rel_len = 5,
			    .size = 1ull << 40}, g;
	struct ap_entry e = {.kind = AP_LINK, .mode = 0120777, .size = 3, .mtime_s = 1700000000,
			     .path = "x/y", .path_len = 3, .link = "../z", .link_len = 4,
			     .has_hash = true, .hash = {1, 2, 3}}, f;
	struct ap_status s = {.op = 'X', .code = -3, .ns = 12345, .msg = "no", .msg_len = 2}, t;
	struct ap_rd r;
	size_t n;
	char type;
	uint32_t len;

	(void)state;
	n = ap_whdr_put(b, &h);
	assert_int_equal(n, ap_whdr_size(&h));
	for (size_t cut = 0; cut < n; cut++)
		assert_int_equal(ap_whdr_get(b, cut, &g), 0); /* needs more */
	assert_int_equal(ap_whdr_get(b, n, &g), (long)n);
	assert_int_equal(g.kind, AP_FILE);
	assert_int_equal(g.mode, 0755);
	assert_int_equal(g.mtime_s, -5);
	assert_int_equal(g.mtime_ns, 7);
	assert_memory_equal(g.root, "/app", 4);
	assert_int_equal(g.rel_len, 5);
	assert_memory_equal(g.rel, "a/b c", 5);
	assert_true(g.size == 1ull << 40);
	b[0] = 'q';
	assert_int_equal(ap_whdr_get(b, n, &g), -1); /* bad kind */
	b[0] = AP_FILE;
	ap_put_u16(b + 17, AP_NAME_MAX + 1);
	assert_int_equal(ap_whdr_get(b, n, &g), -1); /* name too long */
	h.kind = AP_LINK;
	n = ap_whdr_put(b, &h);
	assert_int_equal(ap_whdr_get(b, n, &g), -1); /* a link target past the cap */

	n = ap_entry_put(b, &e);
	assert_int_equal(n, ap_entry_size(&e));
	ap_rd_init(&r, b, n);
	assert_int_equal(ap_entry_get(&r, &f), 0);
	assert_int_equal(r.n, 0);
	assert_int_equal(f.kind, AP_LINK);
	assert_int_equal(f.mode, 0120777);
	assert_int_equal(f.mtime_s, 1700000000);
	assert_memory_equal(f.path, "x/y", 3);
	assert_memory_equal(f.link, "../z", 4);
	assert_true(f.has_hash);
	assert_memory_equal(f.hash, e.hash, 16);
	ap_rd_init(&r, b, n - 1);
	assert_int_equal(ap_entry_get(&r, &f), -1); /* cut short */

	n = ap_status_put(b, &s);
	assert_int_equal(n, ap_status_size(&s));
	ap_rd_init(&r, b, n);
	assert_int_equal(ap_status_get(&r, &t), 0);
	assert_int_equal(t.op, 'X');
	assert_int_equal(t.code, -3);
	assert_int_equal(t.ns, 12345);
	assert_memory_equal(t.msg, "no", 2);

	ap_frame_put(b, 'W', 77);
	assert_int_equal(ap_frame_get(b, &type, &len, 100), 0);
	assert_int_equal(type, 'W');
	assert_int_equal(len, 77);
	assert_int_equal(ap_frame_get(b, &type, &len, 76), -1);

	ap_rd_init(&r, b, 3);
	assert_int_equal(ap_get_u32(&r), 0);
	assert_true(r.bad);
	assert_int_equal(ap_get_u8(&r), 0); /* stays bad */
}

static void test_rel_clean(void **state)
{
	static const char *const good[] = {"a", "a/b", "..a", "a/.b", "a b/c"};
	static const char *const bad[] = {"", "/a", "a//b", "a/", ".", "..", "a/../b", "a/./b", "../x"};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		assert_true(ap_rel_clean(good[i], strlen(good[i])));
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_false(ap_rel_clean(bad[i], strlen(bad[i])));
	assert_false(ap_rel_clean("a\0b", 3));
}

static void check_split(const char *dst, const char *to, const char *root, const char *rel)
{
	const char *r, *l;
	size_t rn, ln;

	agent_split(dst, to, &r, &rn, &l, &ln);
	assert_int_equal(rn, strlen(root));
	assert_memory_equal(r, root, rn);
	assert_string_equal(l, rel);
	assert_int_equal(ln, strlen(rel));
}

static void test_split(void **state)
{
	(void)state;
	check_split("/app/a/b.txt", "/app", "/app", "a/b.txt");
	check_split("/app", "/app", "/", "app");		/* the target itself */
	check_split("/srv/app/x", "/srv/app", "/srv/app", "x");
	check_split("/srv/app", "/srv/app", "/srv", "app");
	check_split("/etc/x.conf", "/", "/", "etc/x.conf");
	check_split("/appx/y", "/app", "/appx", "y");	/* not under it */
	check_split("/a/b/c", NULL, "/a/b", "c");
}

/* A plan of files under dir, mapped under /app. */
static void plan_of(struct sync_plan *p, const char *const *rels, size_t n)
{
	memset(p, 0, sizeof(*p));
	buf_init(&p->deletes, 1u << 20);
	buf_init(&p->parents, 1u << 20);
	p->writes = xcalloc(n, sizeof(*p->writes));
	for (size_t i = 0; i < n; i++) {
		p->writes[i].src = path_join(dir, rels[i]);
		p->writes[i].dst = xasprintf("/app/%s", rels[i]);
		p->writes[i].to = xstrdup("/app");
	}
	p->n_members = n;
}

static void test_stream(void **state)
{
	static const char *const rels[] = {"d", "d/one.txt", "big.bin", "ln", "gone"};
	struct sync_plan p;
	struct agent_stream *st;
	struct buf out, stream;
	char *big = xmalloc(300000);
	char *d = path_join(dir, "d"), *ln = path_join(dir, "ln");
	int rc, frames = 0;
	size_t off;
	struct ap_whdr h;
	const char *want_rel[] = {"d", "d/one.txt", "big.bin", "ln"};

	(void)state;
	mkdir(d, 0750);
	put("d/one.txt", "one\n");
	for (int i = 0; i < 300000; i++)
		big[i] = (char)('a' + i % 26);
	big[299999] = '\0';
	put("big.bin", big);
	assert_int_equal(symlink("d/one.txt", ln), 0);
	plan_of(&p, rels, ARRAY_SIZE(rels));
	st = agent_stream_new(&p);
	buf_init(&out, AP_FRAME_MAX + 64);
	buf_init(&stream, 8u << 20);
	/* Small frames: headers and contents span them. */
	do {
		const char *pl;
		size_t len, used;
		char type;

		buf_reset(&out);
		rc = agent_stream_frame(st, &out, 9000);
		assert_true(rc >= 0);
		assert_int_equal(agent_frame_next(&out, &type, &pl, &len, &used), 1);
		assert_int_equal(type, 'W');
		assert_int_equal(used, out.len);
		assert_true(len <= 9001);
		assert_int_equal(pl[0] == AP_LAST, rc == 1);
		buf_add(&stream, pl + 1, len - 1);
		frames++;
	} while (rc == 0);
	assert_true(frames > 30);
	off = 0;
	for (size_t i = 0; i < ARRAY_SIZE(want_rel); i++) {
		long n = ap_whdr_get((unsigned char *)stream.data + off, stream.len - off, &h);

		assert_true(n > 0);
		assert_int_equal(h.rel_len, strlen(want_rel[i]));
		assert_memory_equal(h.rel, want_rel[i], h.rel_len);
		assert_memory_equal(h.root, "/app", 4);
		off += (size_t)n;
		if (i == 0) {
			assert_int_equal(h.kind, AP_DIR);
			assert_int_equal(h.mode, 0750);
		} else if (i == 1) {
			assert_int_equal(h.kind, AP_FILE);
			assert_memory_equal(stream.data + off, "one\n", 4);
		} else if (i == 2) {
			assert_int_equal(h.size, 299999);
			assert_memory_equal(stream.data + off, big, 299999);
		} else {
			assert_int_equal(h.kind, AP_LINK);
			assert_memory_equal(stream.data + off, "d/one.txt", 9);
		}
		off += h.size;
	}
	assert_int_equal(off, stream.len); /* "gone" was skipped */
	agent_stream_free(st);
	buf_release(&out);
	buf_release(&stream);
	sync_plan_release(&p);
	free(big);
	free(d);
	free(ln);
}

static void test_requests(void **state)
{
	struct sync_plan p = {0};
	char *argv[] = {xstrdup("tool"), xstrdup("a b"), NULL};
	struct buf out;
	const char *pl;
	size_t len, used, rl;
	char type;
	struct ap_rd r;

	(void)state;
	buf_init(&p.deletes, 1u << 20);
	buf_init(&p.parents, 1u << 20);
	buf_add(&p.deletes, "/app/x\0/app\0", 12);
	p.n_deletes = 2;
	p.delete_to = xcalloc(2, sizeof(char *));
	p.delete_to[0] = xstrdup("/app");
	p.delete_to[1] = xstrdup("/app");
	p.n_runs = 2;
	p.runs = xcalloc(2, sizeof(char *));
	p.runs[0] = xstrdup("echo hi");
	p.runs[1] = xstrdup("'tool' 'a b'");
	p.run_argv = xcalloc(2, sizeof(char **));
	p.run_argv[1] = xcalloc(3, sizeof(char *));
	p.run_argv[1][0] = argv[0];
	p.run_argv[1][1] = argv[1];
	buf_init(&out, 1u << 20);

	assert_int_equal(agent_req_delete(&out, &p), 0);
	assert_int_equal(agent_frame_next(&out, &type, &pl, &len, &used), 1);
	assert_int_equal(type, 'D');
	ap_rd_init(&r, pl, len);
	assert_memory_equal(ap_get_str16(&r, AP_NAME_MAX, &rl), "/app", 4);
	assert_memory_equal(ap_get_str16(&r, AP_NAME_MAX, &rl), "x", 1);
	assert_memory_equal(ap_get_str16(&r, AP_NAME_MAX, &rl), "/", 1);
	assert_memory_equal(ap_get_str16(&r, AP_NAME_MAX, &rl), "app", 3);
	assert_int_equal(r.n, 0);
	buf_consume(&out, used);

	assert_int_equal(agent_req_run(&out, &p, 0), 0);
	assert_int_equal(agent_req_run(&out, &p, 1), 0);
	assert_int_equal(agent_frame_next(&out, &type, &pl, &len, &used), 1);
	assert_int_equal(type, 'X');
	ap_rd_init(&r, pl, len);
	assert_int_equal(ap_get_u8(&r), AP_RUN_SHELL);
	assert_int_equal(ap_get_u32(&r), 7);
	assert_memory_equal(ap_get_bytes(&r, 7), "echo hi", 7);
	buf_consume(&out, used);
	assert_int_equal(agent_frame_next(&out, &type, &pl, &len, &used), 1);
	ap_rd_init(&r, pl, len);
	assert_int_equal(ap_get_u8(&r), AP_RUN_ARGV);
	assert_int_equal(ap_get_u32(&r), 2);
	assert_int_equal(ap_get_u32(&r), 4);
	assert_memory_equal(ap_get_bytes(&r, 4), "tool", 4);
	assert_int_equal(ap_get_u32(&r), 3);
	assert_memory_equal(ap_get_bytes(&r, 3), "a b", 3);
	assert_int_equal(r.n, 0);
	buf_consume(&out, used);

	/* Partial frames wait; an oversized one is refused. */
	assert_int_equal(agent_req_list(&out, "/app", true), 0);
	out.len = 4;
	assert_int_equal(agent_frame_next(&out, &type, &pl, &len, &used), 0);
	buf_reset(&out);
	buf_add(&out, "W\xff\xff\xff\x7f", 5);
	assert_int_equal(agent_frame_next(&out, &type, &pl, &len, &used), DW_ENGINE_PROTO);
	buf_release(&out);
	sync_plan_release(&p);
}

/* ---- the agent itself, over a pipe ---- */

struct session {
	pid_t pid;
	int to, from;
	struct buf in;
};

static void start_agent(struct session *s)
{
	size_t n;
	const unsigned char *bin = agent_binary(&n);
	char *path = path_join(dir, "agent-bin");
	FILE *f = fopen(path, "w");
	int a[2], b[2];

	assert_non_null(f);
	assert_int_equal(fwrite(bin, 1, n, f), n);
	fclose(f);
	chmod(path, 0755);
	/* Close-on-exec: the agent must not hold its own stdin open. */
	assert_int_equal(pipe2(a, O_CLOEXEC), 0);
	assert_int_equal(pipe2(b, O_CLOEXEC), 0);
	s->pid = fork();
	if (s->pid == 0) {
		dup2(a[0], 0);
		dup2(b[1], 1);
		execl(path, path, (char *)NULL);
		_exit(127);
	}
	close(a[0]);
	close(b[1]);
	s->to = a[1];
	s->from = b[0];
	buf_init(&s->in, 8u << 20);
	free(path);
}

/* The next frame from the agent; its payload stays in s->in until the
   next call. */
static char next_frame(struct session *s, const char **pl, size_t *len)
{
	static size_t used;
	char type, chunk[65536];

	buf_consume(&s->in, used);
	used = 0;
	for (;;) {
		ssize_t n;

		if (agent_frame_next(&s->in, &type, pl, len, &used) == 1)
			return type;
		n = read(s->from, chunk, sizeof(chunk));
		assert_true(n > 0);
		buf_add(&s->in, chunk, (size_t)n);
	}
}

static struct ap_status status_of(struct session *s)
{
	const char *pl;
	size_t len;
	struct ap_status st;
	struct ap_rd r;

	while (next_frame(s, &pl, &len) != 'S')
		;
	ap_rd_init(&r, pl, len);
	assert_int_equal(ap_status_get(&r, &st), 0);
	return st;
}

static void send_buf(struct session *s, struct buf *b)
{
	assert_int_equal(write(s->to, b->data, b->len), (ssize_t)b->len);
	buf_reset(b);
}

static bool exists(const char *rel)
{
	struct stat st;
	char *p = path_join(dir, rel);
	bool ok = lstat(p, &st) == 0;

	free(p);
	return ok;
}

static void test_agent_run(void **state)
{
	static const char *const rels[] = {"src/a.txt", "src/lnk", "src/trap/planted"};
	struct session s;
	struct sync_plan p, last;
	struct agent_stream *st;
	struct buf out;
	struct ap_status rs;
	const char *pl;
	size_t len;
	char *root = path_join(dir, "ctr"), *outside = path_join(dir, "outside");
	char *trap = path_join(dir, "ctr/trap"), *lnk = path_join(dir, "src/lnk");
	char *src = path_join(dir, "src"), *srctrap = path_join(dir, "src/trap");
	char *d;
	struct stat sb;
	int entries = 0, status;
	bool saw_hash = false;

	(void)state;
	mkdir(src, 0755);
	mkdir(srctrap, 0755);
	mkdir(root, 0755);
	mkdir(outside, 0755);
	put("src/a.txt", "hello\n");
	put("src/trap/planted", "x\n");
	/* One mode the agent's umask would change (group write), one it keeps. */
	assert_int_equal(chmod(path_in("src/a.txt"), 0664), 0);
	assert_int_equal(chmod(path_in("src/trap/planted"), 0640), 0);
	assert_int_equal(symlink("a.txt", lnk), 0);
	/* In the "container", trap is a symlink to a folder outside. */
	assert_int_equal(symlink(outside, trap), 0);
	/* A temporary left by a killed agent is no obstacle. */
	put("ctr/.devwatch-agent.tmp", "stale\n");
	plan_of(&p, rels, ARRAY_SIZE(rels));
	for (size_t i = 0; i < p.n_members; i++) {
		free(p.writes[i].dst);
		free(p.writes[i].to);
		p.writes[i].to = xstrdup(root);
		p.writes[i].dst = xasprintf("%s/%s", root, rels[i] + 4);
	}
	start_agent(&s);
	assert_int_equal(next_frame(&s, &pl, &len), 'H');
	assert_int_equal(len, 20);
	assert_memory_equal(pl + 4, agent_binary_hash(), 16);

	buf_init(&out, AP_FRAME_MAX + 64);
	st = agent_stream_new(&p);
	assert_int_equal(agent_stream_frame(st, &out, 100000), 1);
	agent_stream_free(st);
	send_buf(&s, &out);
	rs = status_of(&s);
	assert_int_equal(rs.op, 'W');
	assert_int_equal(rs.code, 0);
	assert_true(exists("ctr/a.txt"));
	assert_true(exists("ctr/trap/planted"));
	assert_false(exists("outside/planted")); /* nothing went through the link */
	assert_int_equal(lstat(trap, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_false(exists("ctr/.devwatch-agent.tmp"));
	assert_int_equal(stat(path_in("ctr/a.txt"), &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0664);
	assert_int_equal(stat(path_in("ctr/trap/planted"), &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0640);
	/* The next set walks again, even to the folder the last one ended
	   in: a link planted there since is not followed. */
	assert_int_equal(unlink(path_in("ctr/trap/planted")), 0);
	assert_int_equal(rmdir(trap), 0);
	assert_int_equal(symlink(outside, trap), 0);
	last = p;
	last.writes = p.writes + 2;
	last.n_members = 1;
	st = agent_stream_new(&last);
	assert_int_equal(agent_stream_frame(st, &out, 100000), 1);
	agent_stream_free(st);
	send_buf(&s, &out);
	rs = status_of(&s);
	assert_int_equal(rs.code, 0);
	assert_false(exists("outside/planted"));
	assert_int_equal(lstat(trap, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(lstat(lnk, &sb), 0);
	d = path_join(dir, "ctr/lnk");
	assert_int_equal(lstat(d, &sb), 0);
	assert_true(S_ISLNK(sb.st_mode));
	free(d);

	/* A listing: every entry, files hashed. */
	agent_req_list(&out, root, true);
	send_buf(&s, &out);
	for (;;) {
		char type = next_frame(&s, &pl, &len);
		struct ap_rd r;

		if (type == 'S')
			break;
		assert_int_equal(type, 'E');
		ap_rd_init(&r, pl, len);
		while (r.n > 0) {
			struct ap_entry e;

			assert_int_equal(ap_entry_get(&r, &e), 0);
			entries++;
			if (e.path_len == 5 && memcmp(e.path, "a.txt", 5) == 0) {
				assert_int_equal(e.kind, AP_FILE);
				assert_int_equal(e.size, 6);
				saw_hash = e.has_hash;
			}
		}
	}
	assert_int_equal(entries, 5); /* the root, a.txt, trap, trap/planted, lnk */
	assert_true(saw_hash);

	/* Deletions: a tree, and a path that is not there. */
	buf_reset(&p.deletes);
	buf_add(&p.deletes, "x\0y\0", 4);
	p.n_deletes = 2;
	p.delete_to = xcalloc(2, sizeof(char *));
	{
		char *t = xasprintf("%s/trap", root), *g = xasprintf("%s/none/x", root);

		buf_reset(&p.deletes);
		buf_add(&p.deletes, t, strlen(t) + 1);
		buf_add(&p.deletes, g, strlen(g) + 1);
		free(t);
		free(g);
	}
	p.delete_to[0] = xstrdup(root);
	p.delete_to[1] = xstrdup(root);
	agent_req_delete(&out, &p);
	send_buf(&s, &out);
	rs = status_of(&s);
	assert_int_equal(rs.op, 'D');
	assert_int_equal(rs.code, 0);
	assert_false(exists("ctr/trap"));
	assert_false(exists("ctr/none"));

	/* An argv step: its exit code; one that cannot start: 127. */
	p.n_runs = 2;
	p.runs = xcalloc(2, sizeof(char *));
	p.run_argv = xcalloc(2, sizeof(char **));
	p.runs[0] = xstrdup("false");
	p.run_argv[0] = xcalloc(2, sizeof(char *));
	p.run_argv[0][0] = xstrdup("false");
	p.runs[1] = xstrdup("no-such-program-here");
	p.run_argv[1] = xcalloc(2, sizeof(char *));
	p.run_argv[1][0] = xstrdup("no-such-program-here");
	agent_req_run(&out, &p, 0);
	send_buf(&s, &out);
	rs = status_of(&s);
	assert_int_equal(rs.code, 1);
	agent_req_run(&out, &p, 1);
	send_buf(&s, &out);
	rs = status_of(&s);
	assert_int_equal(rs.code, 127);
	assert_non_null(memmem(rs.msg, rs.msg_len, "cannot run", 10));

	close(s.to);
	assert_int_equal(waitpid(s.pid, &status, 0), s.pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(s.from);
	buf_release(&s.in);
	buf_release(&out);
	sync_plan_release(&p);
	free(root);
	free(outside);
	free(trap);
	free(lnk);
	free(src);
	free(srctrap);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proto_roundtrip),
		cmocka_unit_test(test_rel_clean),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_agent_run),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
