/*
 * The fast channel and its archive fallback. See channel.h.
 *
 * Agent protocol, on the exec's stdin: a header line "<op> <bytes>\n" and
 * exactly that many bytes. P: NUL-separated folders that must not be
 * symlinks. D: NUL-separated paths to remove. X: a run step for sh -c.
 * W: a tar to extract at '/', sent as it is read from disk, in pieces
 * "<bytes>\n<bytes of tar>" ended by "0\n". w: a tar read whole before it
 * is sent (a save), as one frame: the same without the piece loop, which
 * spares a subshell in the container (~0.3 ms of ~1.9). GNU and busybox tar read their
 * input to the end on success; when tar fails early, cat drains the rest so
 * the framing holds (run only then: it costs ~1 ms on every save). The agent answers each with
 * "S <exit code>" on stdout; everything else it prints (run-step output,
 * tar's complaints) goes to stderr, which we show with the container's
 * prefix. W and D are pipelined; each X waits for the one before, since a
 * failed step stops the update.
 */
#include "sync/channel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/error.h"
#include "base/log.h"
#include "base/util.h"
#include "sync/channel-agent.h"
#include "sync/tarstream.h"

#define LINE_MAX_BYTES (64u << 10)

static const char agent[] =
	"for c in tar dd xargs rm cat; do command -v $c >/dev/null 2>&1 || "
	"{ echo \"DWAGENT missing $c\"; exit 3; }; done\n"
	"echo 'DWAGENT ready'\n"
	"r() { dd bs=65536 count=\"$1\" iflag=count_bytes,fullblock 2>/dev/null; }\n"
	"while read -r op n; do\n"
	"  case $op in\n"
	"  P) r \"$n\" | xargs -0 sh -c 'for d; do if [ -L \"$d\" ]; then rm -f -- \"$d\"; fi; done; exit 0' sh; echo \"S $?\";;\n"
	"  W) { while read -r k && [ \"$k\" != 0 ]; do r \"$k\"; done; } |\n"
	"     { tar -x -p -f - -C / 1>&2 || { s=$?; cat >/dev/null; exit $s; }; }; echo \"S $?\";;\n"
	"  w) dd bs=65536 count=\"$n\" iflag=count_bytes,fullblock 2>/dev/null |\n"
	"     { tar -x -p -f - -C / 1>&2 || { s=$?; cat >/dev/null; exit $s; }; }; echo \"S $?\";;\n"
	"  D) r \"$n\" | xargs -0 rm -rf -- 1>&2; echo \"S $?\";;\n"
	"  X) c=$(r \"$n\"); sh -c \"$c\" </dev/null 1>&2; echo \"S $?\";;\n"
	"  *) echo 'S 99';;\n"
	"  esac\n"
	"done\n";

/* The tar streams in pieces of about CHUNK bytes; reading stops while more
   than HIGH_WATER bytes wait to be written, and resumes at LOW_WATER. */
#define CHUNK (4u << 20)
#define HIGH_WATER (16u << 20)
#define LOW_WATER (8u << 20)
/* The first piece of a tar is read on the loop, up to this much. */
#define INLINE_BYTES (256u << 10)
/* A piece this small is copied to go out in one write with its framing. */
#define COALESCE_BYTES (64u << 10)
/* A change this large goes to a tar exec of its own (see start_direct). */
#define DIRECT_BYTES (32u << 20)
/* The archive-API fallback sends the tar as one request body. */
#define FALLBACK_TAR_MAX (1u << 30)

enum ch_state { CH_CLOSED, CH_OPENING, CH_READY, CH_FALLBACK };

struct channel {
	struct engine *e;
	char *cid;
	enum ch_state state;
	struct engine_hijack *h;
	struct engine_demux dm;
	struct buf line[3];
	struct buf open_err;
	channel_output_cb out;
	channel_notice_cb notice;
	void *arg;

	/* the update in flight */
	const struct sync_plan *p;
	channel_done_cb done;
	void *done_arg;
	char ops[4];	/* W/D statuses still expected, in order */
	int n_ops;
	size_t run;	/* next or current run step */
	bool running;
	uint64_t run_start;
	uint64_t *step_ns;
	size_t n_step_ns;
	int fail_err;	/* first W/D failure */
	int fail_rc;

	/* the tar being streamed (fast path) or built whole (fallback) */
	struct tar_job *job;
	int jobs_running; /* fills on the threadpool that point here */
	unsigned gen;	/* bumped when an update ends: stale jobs see it */

	/* a large tar's own exec: `tar -x` reading the stream on its stdin */
	struct engine_hijack *dh;
	struct engine_req *dreq;
	struct engine_demux ddm;
	struct buf dline;
	char *dexec_id;
	bool direct_busy; /* its status is still to come */
	bool direct_wait; /* it starts once P's status is in */

	/* fallback */
	char *exec_id;
	int fb_phase;

	int depth;	/* inside our read callback */
	bool doomed;	/* freed from a callback: free on the way out */

	/* devwatch's own agent (channel-agent.c), first choice; ag_off once
	   it cannot run here or DEVWATCH_AGENT says not to use it */
	struct agent_chan *ag;
	bool ag_off;
};

static void channel_destroy(struct channel *ch);
static void abandon_job(struct channel *ch);

static void run_next(struct channel *ch);
static void fb_next(struct channel *ch);
static void ops_settled(struct channel *ch);
static void start_direct(struct channel *ch);
static void direct_close(struct channel *ch);

static void finish(struct channel *ch, int err, int step, int rc)
{
	channel_done_cb cb = ch->done;

	abandon_job(ch);
	direct_close(ch);
	ch->done = NULL;
	ch->p = NULL;
	if (cb != NULL)
		cb(ch, err, step, rc, ch->done_arg);
}

static void say(struct channel *ch, const char *fmt, const char *a)
{
	char msg[512];

	snprintf(msg, sizeof(msg), fmt, a);
	if (ch->notice != NULL)
		ch->notice(msg, ch->arg);
}

/* ---- the tar, read on the threadpool ---- */

/*
 * One tar in production. `running` while a fill is on the threadpool; the
 * job then belongs to the worker, and the channel may only mark itself
 * doomed or bump gen. `full` builds the whole tar (the fallback's request
 * body) instead of streaming pieces.
 */
struct tar_job {
	uv_work_t req;
	struct channel *ch;
	struct tar_stream *ts;
	struct buf piece;
	size_t want;
	bool full;
	bool running;
	bool begun;	/* "W 0" is on its way */
	int rc;
	char *cause;
	unsigned gen;
};

static void job_free(struct tar_job *j)
{
	tar_stream_free(j->ts);
	buf_release(&j->piece);
	free(j->cause);
	free(j);
}

/* The update that owned the job is over: drop it now, or when its fill
   comes back. */
static void abandon_job(struct channel *ch)
{
	ch->gen++;
	if (ch->job != NULL && !ch->job->running) {
		if (ch->h != NULL)
			engine_hijack_on_drain(ch->h, 0, NULL, NULL);
		if (ch->dh != NULL)
			engine_hijack_on_drain(ch->dh, 0, NULL, NULL);
		job_free(ch->job);
	}
	ch->job = NULL;
}

static void job_work(uv_work_t *req)
{
	struct tar_job *j = container_of(req, struct tar_job, req);

	j->rc = tar_stream_fill(j->ts, &j->piece, j->want, &j->cause);
}

static void job_after(uv_work_t *req, int status);

static void job_queue(struct tar_job *j)
{
	buf_init(&j->piece, j->full ? FALLBACK_TAR_MAX : CHUNK + (2u << 20));
	j->running = true;
	j->ch->jobs_running++;
	uv_queue_work(engine_loop(j->ch->e), &j->req, job_work, job_after);
}

static bool job_deliver(struct channel *ch, struct tar_job *j);

static void start_job(struct channel *ch, bool full)
{
	struct tar_job *j = xcalloc(1, sizeof(*j));

	j->ch = ch;
	j->full = full;
	j->want = full ? SIZE_MAX : CHUNK;
	j->gen = ch->gen;
	j->ts = tar_stream_new(ch->p);
	ch->job = j;
	if (!full) {
		/* A save is a few small files: reading them here costs tens
		   of µs, a trip through the threadpool and back ~0.5-1 ms.
		   Only the first INLINE_BYTES; the rest goes on the pool. */
		buf_init(&j->piece, INLINE_BYTES + (64u << 10));
		j->rc = tar_stream_fill(j->ts, &j->piece, INLINE_BYTES, &j->cause);
		if (j->rc >= 0) {
			if (!job_deliver(ch, j))
				return;
		} else {
			/* Report it the usual way, never from inside apply. */
			tar_stream_free(j->ts);
			buf_release(&j->piece);
			free(j->cause);
			j->cause = NULL;
			j->ts = tar_stream_new(ch->p);
		}
	}
	job_queue(j);
}

static void on_drained(struct engine_hijack *h, void *arg)
{
	struct channel *ch = arg;

	(void)h;
	if (ch->job != NULL && !ch->job->running)
		job_queue(ch->job);
}

static void send_deletes(struct channel *ch);
static void fb_put(struct channel *ch, const struct buf *tar);

static void job_after(uv_work_t *req, int status)
{
	struct tar_job *j = container_of(req, struct tar_job, req);
	struct channel *ch = j->ch;

	j->running = false;
	ch->jobs_running--;
	if (status == UV_ECANCELED)
		j->rc = UV_ECANCELED;
	if (ch->doomed || j->gen != ch->gen) {
		if (ch->job == j)
			ch->job = NULL;
		job_free(j);
		if (ch->doomed && ch->depth == 0 && ch->jobs_running == 0)
			channel_destroy(ch);
		return;
	}
	if (j->rc < 0) {
		say(ch, "cannot send the files: %s", j->cause != NULL ? j->cause : dw_strerror(j->rc));
		abandon_job(ch);
		/* Mid-stream, the agent's framing cannot be resumed. */
		if (ch->state == CH_READY)
			channel_reset(ch);
		finish(ch, DW_TOOBIG, -1, 0);
		return;
	}
	if (j->full) {
		ch->job = NULL;
		fb_put(ch, &j->piece);
		job_free(j);
		return;
	}
	if (job_deliver(ch, j))
		job_queue(j);
}

/* Write a filled piece. True when the next fill may be queued now. A small
   tar goes as one write ("W 0", its one piece and the end), which the
   engine forwards to the agent as one message instead of four. */
static bool job_deliver(struct channel *ch, struct tar_job *j)
{
	size_t n, pl = 0;
	char *data = buf_detach(&j->piece, &n);
	char pre[48];
	bool last = j->rc == 1, whole = false;
	struct engine_hijack *out = ch->dh != NULL ? ch->dh : ch->h;

	if (ch->dh != NULL) {
		/* The direct exec's tar reads the bytes as they are: no
		   framing, and the end is the end of its stdin. */
		if (n > 0)
			engine_hijack_write_owned(out, data, n);
		else
			free(data);
		if (last) {
			ch->job = NULL;
			job_free(j);
			engine_hijack_shutdown(out);
			return false;
		}
		if (engine_hijack_pending(out) > HIGH_WATER) {
			engine_hijack_on_drain(out, LOW_WATER, on_drained, ch);
			return false;
		}
		return true;
	}
	if (!j->begun && last && n > 0) {
		/* The whole tar in one piece: "w <bytes>". */
		pl = (size_t)snprintf(pre, sizeof(pre), "w %zu\n", n);
		j->begun = true;
		last = false; /* no end marker */
		whole = true;
	}
	if (!j->begun) {
		memcpy(pre, "W 0\n", 4);
		pl = 4;
		j->begun = true;
	}
	if (n > 0 && !whole)
		pl += (size_t)snprintf(pre + pl, sizeof(pre) - pl, "%zu\n", n);
	if (n > 0 && n <= COALESCE_BYTES) {
		char *one = xmalloc(pl + n + 2);

		memcpy(one, pre, pl);
		memcpy(one + pl, data, n);
		if (last)
			memcpy(one + pl + n, "0\n", 2);
		engine_hijack_write_owned(ch->h, one, pl + n + (last ? 2 : 0));
		free(data);
	} else {
		engine_hijack_write(ch->h, pre, pl);
		if (n > 0)
			engine_hijack_write_owned(ch->h, data, n);
		else
			free(data);
		if (last)
			engine_hijack_write(ch->h, "0\n", 2);
	}
	if (last || whole) {
		ch->job = NULL;
		job_free(j);
		send_deletes(ch);
		return false;
	}
	if (engine_hijack_pending(ch->h) > HIGH_WATER) {
		engine_hijack_on_drain(ch->h, LOW_WATER, on_drained, ch);
		return false;
	}
	return true;
}

/* ---- execs ---- */

/* POST /containers/{id}/exec for argv (NULL-terminated), with stdin
   attached when `in`. Returns engine_request's result. */
static int exec_create(struct channel *ch, const char *const *argv, bool in,
		       engine_done_cb cb, void *arg, struct engine_req **out)
{
	cJSON *o = cJSON_CreateObject(), *cmd = cJSON_AddArrayToObject(o, "Cmd");
	struct engine_call call = {.method = "POST"};
	char path[160], *body;
	int rc;

	for (size_t i = 0; argv[i] != NULL; i++)
		cJSON_AddItemToArray(cmd, cJSON_CreateString(argv[i]));
	if (in)
		cJSON_AddBoolToObject(o, "AttachStdin", true);
	cJSON_AddBoolToObject(o, "AttachStdout", true);
	cJSON_AddBoolToObject(o, "AttachStderr", true);
	cJSON_AddBoolToObject(o, "Tty", false);
	body = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	snprintf(path, sizeof(path), "/containers/%s/exec", ch->cid);
	call.path = path;
	call.body = body;
	call.body_len = strlen(body);
	rc = engine_request(ch->e, &call, cb, arg, out);
	free(body);
	return rc;
}

/* An exec's exit code from GET /exec/{id}/json, or -1. */
static int exec_exit_code(int err, const struct engine_resp *resp)
{
	int rc = -1;

	if (err == 0 && resp->status == 200) {
		cJSON *o = cJSON_ParseWithLength(resp->body, resp->len);
		cJSON *c = cJSON_GetObjectItem(o, "ExitCode");

		if (cJSON_IsNumber(c))
			rc = c->valueint;
		cJSON_Delete(o);
	}
	return rc;
}

static void show_line(struct channel *ch, struct buf *line)
{
	if (ch->out != NULL)
		ch->out(buf_str(line), line->len, ch->arg);
	buf_reset(line);
}

/* An exec's output: gather it in `line` and show each whole line; one
   longer than the buffer is shown in parts. */
static void show_lines(struct channel *ch, struct buf *line, const char *data,
		       size_t len)
{
	while (len > 0) {
		const char *nl = memchr(data, '\n', len);
		size_t take = nl ? (size_t)(nl - data) : len;
		size_t room = line->max - line->len;

		if (take > room) {
			buf_add(line, data, room);
			show_line(ch, line);
			data += room;
			len -= room;
			continue;
		}
		buf_add(line, data, take);
		if (nl == NULL)
			break;
		show_line(ch, line);
		data += take + 1;
		len -= take + 1;
	}
}

/* ---- a large tar's own exec ---- */

/*
 * A change of DIRECT_BYTES or more does not go through the agent: its
 * `dd` between the session and `tar` puts every byte through one more pipe
 * (measured: ~0.2 s of ~1.9 s for 260 MB into a debian:bookworm container).
 * A second exec runs `tar -x` on its own stdin instead, as `docker exec -i
 * C tar -x` does; the stream's end is a half-close, and its status the
 * exec's exit code. The agent keeps P before it and D and the run steps
 * after it.
 */
/* Drop the direct tar, whatever state it is in: nothing of it is due. */
static void direct_close(struct channel *ch)
{
	ch->direct_busy = false;
	ch->direct_wait = false;
	if (ch->dh != NULL) {
		engine_hijack_close(ch->dh);
		ch->dh = NULL;
	}
	if (ch->dreq != NULL) {
		engine_forget(ch->dreq);
		ch->dreq = NULL;
	}
	free(ch->dexec_id);
	ch->dexec_id = NULL;
	buf_reset(&ch->dline);
}

/* The direct tar is over, with its exit code (-1: it could not run). */
static void direct_done(struct channel *ch, int rc)
{
	direct_close(ch);
	if (rc != 0 && ch->fail_err == 0) {
		ch->fail_err = DW_STEP;
		ch->fail_rc = rc;
		log_debug("direct tar exited %d", rc);
	}
	send_deletes(ch);
}

static void direct_inspected(struct engine_req *req, int err,
			     const struct engine_resp *resp, void *arg)
{
	struct channel *ch = arg;

	(void)req;
	ch->dreq = NULL;
	direct_done(ch, exec_exit_code(err, resp));
}

/* tar's complaints, with the container's prefix. */
static int direct_frame(int stream, const char *data, size_t len, void *arg)
{
	struct channel *ch = arg;

	(void)stream;
	show_lines(ch, &ch->dline, data, len);
	return 0;
}

static void direct_read(struct engine_hijack *h, const char *data, ssize_t n,
			void *arg)
{
	struct channel *ch = arg;
	struct engine_call call = {.method = "GET"};
	char path[160];

	(void)h;
	if (n > 0) {
		engine_demux_feed(&ch->ddm, data, (size_t)n, direct_frame, ch);
		return;
	}
	/* tar exited (or the connection broke): stop feeding it, and ask
	   how it ended. */
	if (ch->dline.len > 0)
		show_line(ch, &ch->dline);
	abandon_job(ch);
	engine_hijack_close(ch->dh);
	ch->dh = NULL;
	snprintf(path, sizeof(path), "/exec/%s/json", ch->dexec_id);
	call.path = path;
	if (engine_request(ch->e, &call, direct_inspected, ch, &ch->dreq) != 0)
		direct_done(ch, -1);
}

static void direct_opened(struct engine_hijack *h, int err, void *arg)
{
	struct channel *ch = arg;

	(void)h;
	if (err != 0) {
		log_debug("direct tar: the exec could not attach: %s", dw_strerror(err));
		direct_done(ch, -1);
		return;
	}
	start_job(ch, false);
}

static void direct_created(struct engine_req *req, int err,
			   const struct engine_resp *resp, void *arg)
{
	struct channel *ch = arg;
	cJSON *o, *id;
	char path[160];

	(void)req;
	ch->dreq = NULL;
	if (err != 0 || resp->status != 201) {
		log_debug("direct tar: exec create: %s", err != 0 ? dw_strerror(err) : "refused");
		direct_done(ch, -1);
		return;
	}
	o = cJSON_ParseWithLength(resp->body, resp->len);
	id = cJSON_GetObjectItem(o, "Id");
	if (!cJSON_IsString(id) || !engine_id_ok(id->valuestring)) {
		cJSON_Delete(o);
		log_debug("direct tar: exec create: no valid id");
		direct_done(ch, -1);
		return;
	}
	ch->dexec_id = xstrdup(id->valuestring);
	cJSON_Delete(o);
	snprintf(path, sizeof(path), "/exec/%s/start", ch->dexec_id);
	engine_demux_init(&ch->ddm, false);
	if (engine_hijack_open(ch->e, path, "{\"Detach\":false,\"Tty\":false}",
			       direct_opened, direct_read, ch, &ch->dh) != 0) {
		ch->dh = NULL;
		direct_done(ch, -1);
	}
}

static void start_direct(struct channel *ch)
{
	static const char *const argv[] = {"tar", "-x", "-p", "-f", "-", "-C", "/", NULL};

	if (exec_create(ch, argv, true, direct_created, ch, &ch->dreq) != 0) {
		/* Through the agent, then (this may be inside channel_apply,
		   where the update must not end). */
		ch->dreq = NULL;
		ch->direct_busy = false;
		ch->ops[ch->n_ops++] = 'W';
		start_job(ch, false);
	}
}

/* ---- the fast path ---- */

static int send_op(struct channel *ch, char op, const char *data, size_t n)
{
	char hdr[32];
	int len = snprintf(hdr, sizeof(hdr), "%c %zu\n", op, n);
	int err = engine_hijack_write(ch->h, hdr, (size_t)len);

	if (err == 0 && n > 0)
		err = engine_hijack_write(ch->h, data, n);
	return err;
}

static void start_update(struct channel *ch)
{
	const struct sync_plan *p = ch->p;

	ch->n_ops = 0;
	ch->run = 0;
	ch->running = false;
	ch->fail_err = 0;
	free(ch->step_ns);
	ch->n_step_ns = p->n_runs;
	ch->step_ns = xcalloc(p->n_runs + 1, sizeof(uint64_t));
	if (p->parents.len > 0) {
		/* Folders that are symlinks in the container become real
		   folders before anything is written under them. */
		ch->ops[ch->n_ops++] = 'P';
		send_op(ch, 'P', p->parents.data, p->parents.len);
	}
	if (p->n_members > 0 && p->bytes >= DIRECT_BYTES) {
		/* D follows once its tar has exited; it starts after P, which
		   must have made the folders real before tar writes. */
		ch->direct_busy = true;
		if (ch->n_ops > 0)
			ch->direct_wait = true;
		else
			start_direct(ch);
		return;
	}
	if (p->n_members > 0) {
		/* D follows once the whole tar is on its way. */
		ch->ops[ch->n_ops++] = 'W';
		start_job(ch, false); /* it sends "W 0" with the first piece */
		return;
	}
	send_deletes(ch);
}

static void send_deletes(struct channel *ch)
{
	const struct sync_plan *p = ch->p;

	if (p->deletes.len > 0) {
		ch->ops[ch->n_ops++] = 'D';
		send_op(ch, 'D', p->deletes.data, p->deletes.len);
	}
	ops_settled(ch);
}

/* Once every P/W/D status is in and the direct tar (if any) is done: the
   run steps, or the end of a failed update. */
static void ops_settled(struct channel *ch)
{
	if (ch->n_ops > 0 || ch->direct_busy)
		return;
	if (ch->fail_err != 0) {
		finish(ch, ch->fail_err, -1, ch->fail_rc);
		return;
	}
	run_next(ch);
}

static void run_next(struct channel *ch)
{
	const struct sync_plan *p = ch->p;

	if (ch->run >= p->n_runs) {
		finish(ch, 0, -1, 0);
		return;
	}
	ch->running = true;
	ch->run_start = now_ns();
	send_op(ch, 'X', p->runs[ch->run], strlen(p->runs[ch->run]));
}

static void on_status(struct channel *ch, int rc)
{
	if (ch->p == NULL)
		return;
	if (ch->n_ops > 0) {
		char op = ch->ops[0];

		memmove(ch->ops, ch->ops + 1, (size_t)--ch->n_ops);
		if (rc != 0 && ch->fail_err == 0) {
			ch->fail_err = DW_STEP;
			ch->fail_rc = rc;
			log_debug("agent: %c exited %d", op, rc);
		}
		if (op == 'P' && ch->direct_wait) {
			ch->direct_wait = false;
			start_direct(ch);
		}
		ops_settled(ch);
		return;
	}
	if (!ch->running)
		return;
	ch->running = false;
	ch->step_ns[ch->run] = now_ns() - ch->run_start;
	if (rc != 0) {
		finish(ch, 0, (int)ch->run, rc);
		return;
	}
	ch->run++;
	run_next(ch);
}

static void go_fallback(struct channel *ch, const char *why);

static void on_line(struct channel *ch, int stream, const char *l, size_t n)
{
	if (stream == 1) {
		if (n > 2 && l[0] == 'S' && l[1] == ' ') {
			on_status(ch, atoi(l + 2));
		} else if (ch->state == CH_OPENING && n >= 13 &&
			   memcmp(l, "DWAGENT ready", 13) == 0) {
			ch->state = CH_READY;
			buf_reset(&ch->open_err);
			if (ch->p != NULL)
				start_update(ch);
		} else if (ch->state == CH_OPENING && n > 16 &&
			   memcmp(l, "DWAGENT missing ", 16) == 0) {
			char *why = xasprintf("the image has no '%.*s'", (int)(n - 16), l + 16);

			go_fallback(ch, why);
			free(why);
		} else if (ch->out != NULL) {
			ch->out(l, n, ch->arg);
		}
		return;
	}
	if (ch->state == CH_OPENING) {
		buf_add(&ch->open_err, l, n);
		return;
	}
	if (ch->out != NULL)
		ch->out(l, n, ch->arg);
}

static int on_frame(int stream, const char *data, size_t len, void *arg)
{
	struct channel *ch = arg;
	struct buf *b = &ch->line[stream == 2 ? 2 : 1];

	while (len > 0) {
		const char *nl = memchr(data, '\n', len);
		size_t take = nl ? (size_t)(nl - data) : len;

		if (take > b->max - b->len) {
			/* Longer than a line may be: show it in parts, as
			   show_lines does (flushing only would spin on a
			   piece past the cap). */
			size_t room = b->max - b->len;

			buf_add(b, data, room);
			on_line(ch, stream, buf_str(b), b->len);
			if (ch->doomed)
				return 1;
			buf_reset(b);
			data += room;
			len -= room;
			continue;
		}
		buf_add(b, data, take);
		if (nl == NULL)
			break;
		on_line(ch, stream, buf_str(b), b->len);
		if (ch->doomed)
			return 1; /* freed by a callback: touch nothing more */
		buf_reset(b);
		data += take + 1;
		len -= take + 1;
		if (ch->state == CH_FALLBACK || ch->h == NULL)
			break; /* went to the fallback mid-stream */
	}
	return 0;
}

static void on_read(struct engine_hijack *h, const char *data, ssize_t n, void *arg)
{
	struct channel *ch = arg;

	(void)h;
	if (n > 0) {
		ch->depth++;
		engine_demux_feed(&ch->dm, data, (size_t)n, on_frame, ch);
		if (--ch->depth == 0 && ch->doomed && ch->jobs_running == 0)
			channel_destroy(ch);
		return;
	}
	/* The agent is gone. */
	if (ch->state == CH_OPENING) {
		char *why = ch->open_err.len > 0
				    ? xasprintf("the agent did not start: %s", buf_str(&ch->open_err))
				    : xstrdup("the image has no sh");

		go_fallback(ch, why);
		free(why);
		return;
	}
	engine_hijack_close(ch->h);
	ch->h = NULL;
	ch->state = CH_CLOSED;
	if (ch->p != NULL)
		finish(ch, DW_CANCELED, -1, 0);
}

static void on_hijacked(struct engine_hijack *h, int err, void *arg)
{
	struct channel *ch = arg;

	(void)h;
	if (err != 0) {
		char *why = xasprintf("the exec session could not attach: %s", dw_strerror(err));

		go_fallback(ch, why);
		free(why);
	}
}

static void on_exec_created(struct engine_req *req, int err,
			    const struct engine_resp *resp, void *arg)
{
	struct channel *ch = arg;
	cJSON *o, *id;
	char path[160];

	(void)req;
	if (err != 0 || resp->status != 201) {
		char *m = err != 0 ? xstrdup(dw_strerror(err)) : engine_error_message(resp->body, resp->len);

		ch->state = CH_CLOSED;
		log_debug("exec create: %s", m);
		free(m);
		if (ch->p != NULL)
			finish(ch, err != 0 ? err : DW_ENGINE_HTTP, -1, 0);
		return;
	}
	o = cJSON_ParseWithLength(resp->body, resp->len);
	id = cJSON_GetObjectItem(o, "Id");
	if (!cJSON_IsString(id) || !engine_id_ok(id->valuestring)) {
		cJSON_Delete(o);
		go_fallback(ch, "the engine gave the exec no valid id");
		return;
	}
	snprintf(path, sizeof(path), "/exec/%s/start", id->valuestring);
	cJSON_Delete(o);
	engine_demux_init(&ch->dm, false);
	err = engine_hijack_open(ch->e, path, "{\"Detach\":false,\"Tty\":false}",
				 on_hijacked, on_read, ch, &ch->h);
	if (err != 0)
		go_fallback(ch, "the exec session could not attach");
}

/* Returns exec_create's result: on failure the channel stays closed. */
static int open_agent(struct channel *ch)
{
	const char *const argv[] = {"sh", "-c", agent, NULL};
	int err;

	ch->state = CH_OPENING;
	buf_reset(&ch->open_err);
	err = exec_create(ch, argv, true, on_exec_created, ch, NULL);
	if (err != 0)
		ch->state = CH_CLOSED;
	return err;
}

/* ---- the fallback: archive API and one exec per step ---- */

static void go_fallback(struct channel *ch, const char *why)
{
	if (ch->h != NULL) {
		engine_hijack_close(ch->h);
		ch->h = NULL;
	}
	ch->state = CH_FALLBACK;
	say(ch, "fast channel unavailable (%s); using the engine's archive API", why);
	if (ch->p != NULL) {
		ch->fb_phase = 0;
		free(ch->step_ns);
		ch->n_step_ns = ch->p->n_runs;
		ch->step_ns = xcalloc(ch->p->n_runs + 1, sizeof(uint64_t));
		ch->run = 0;
		fb_next(ch);
	}
}

struct fb_exec {
	struct channel *ch;
	char id[80];
	struct buf line;
};

static int fb_frame(int stream, const char *data, size_t len, void *arg)
{
	struct fb_exec *x = arg;

	(void)stream;
	show_lines(x->ch, &x->line, data, len);
	return 0;
}

static void fb_step_done(struct channel *ch, int rc)
{
	if (ch->fb_phase == 1 || ch->fb_phase == 0) {
		/* deletions: report, do not stop */
		if (rc != 0)
			say(ch, "%s", "could not remove deleted paths in the container (no rm?)");
		ch->fb_phase = 2;
		fb_next(ch);
		return;
	}
	ch->step_ns[ch->run] = now_ns() - ch->run_start;
	if (rc != 0) {
		finish(ch, 0, (int)ch->run, rc);
		return;
	}
	ch->run++;
	fb_next(ch);
}

/* A request of the exec's was refused: the step failed, and x goes. */
static void fb_exec_failed(struct fb_exec *x)
{
	struct channel *ch = x->ch;

	buf_release(&x->line);
	free(x);
	fb_step_done(ch, -1);
}

static void fb_inspected(struct engine_req *req, int err,
			 const struct engine_resp *resp, void *arg)
{
	struct fb_exec *x = arg;
	struct channel *ch = x->ch;
	int rc = exec_exit_code(err, resp);

	(void)req;
	buf_release(&x->line);
	free(x);
	fb_step_done(ch, rc);
}

static void fb_started(struct engine_req *req, int err,
		       const struct engine_resp *resp, void *arg)
{
	struct fb_exec *x = arg;
	struct engine_call call = {.method = "GET"};
	char path[160];

	(void)req, (void)err, (void)resp;
	if (x->line.len > 0 && x->ch->out != NULL)
		x->ch->out(buf_str(&x->line), x->line.len, x->ch->arg);
	snprintf(path, sizeof(path), "/exec/%s/json", x->id);
	call.path = path;
	if (engine_request(x->ch->e, &call, fb_inspected, x, NULL) != 0)
		fb_exec_failed(x);
}

static void fb_created(struct engine_req *req, int err,
		       const struct engine_resp *resp, void *arg)
{
	struct fb_exec *x = arg;
	struct engine_call call = {.method = "POST", .body = "{\"Detach\":false,\"Tty\":false}",
				   .on_frame = fb_frame, .stream_arg = x};
	char path[160];
	cJSON *o, *id;

	(void)req;
	if (err != 0 || resp->status != 201) {
		fb_exec_failed(x);
		return;
	}
	o = cJSON_ParseWithLength(resp->body, resp->len);
	id = cJSON_GetObjectItem(o, "Id");
	if (!cJSON_IsString(id) || !engine_id_ok(id->valuestring) ||
	    strlen(id->valuestring) >= sizeof(x->id)) {
		cJSON_Delete(o);
		fb_exec_failed(x);
		return;
	}
	snprintf(x->id, sizeof(x->id), "%s", id->valuestring);
	cJSON_Delete(o);
	snprintf(path, sizeof(path), "/exec/%s/start", x->id);
	call.path = path;
	call.body_len = strlen(call.body);
	if (engine_request(x->ch->e, &call, fb_started, x, NULL) != 0)
		fb_exec_failed(x);
}

/* One exec of argv (NULL-terminated), its output shown, its code to
   fb_step_done. */
static void fb_exec(struct channel *ch, char *const *argv)
{
	struct fb_exec *x = xcalloc(1, sizeof(*x));

	x->ch = ch;
	buf_init(&x->line, LINE_MAX_BYTES);
	if (exec_create(ch, (const char *const *)argv, false, fb_created, x, NULL) != 0)
		fb_exec_failed(x);
}

static void fb_put_done(struct engine_req *req, int err,
			const struct engine_resp *resp, void *arg)
{
	struct channel *ch = arg;

	(void)req;
	if (err != 0 || resp->status != 200) {
		char *m = err != 0 ? xstrdup(dw_strerror(err)) : engine_error_message(resp->body, resp->len);

		say(ch, "writing files through the archive API failed: %s", m);
		free(m);
		finish(ch, err != 0 ? err : DW_ENGINE_HTTP, -1, 0);
		return;
	}
	ch->fb_phase = 1;
	fb_next(ch);
}

/* The whole tar is built: one PUT of it (the request copies the body). */
static void fb_put(struct channel *ch, const struct buf *tar)
{
	char path[200];
	struct engine_call call = {.method = "PUT", .content_type = "application/x-tar",
				   .body = tar->data, .body_len = tar->len};
	int err;

	snprintf(path, sizeof(path), "/containers/%s/archive?path=%%2F", ch->cid);
	call.path = path;
	err = engine_request(ch->e, &call, fb_put_done, ch, NULL);
	if (err != 0) {
		say(ch, "writing files through the archive API failed: %s", dw_strerror(err));
		finish(ch, err, -1, 0);
	}
}

static void fb_next(struct channel *ch)
{
	const struct sync_plan *p = ch->p;

	if (ch->fb_phase == 0) {
		if (p->n_members > 0) {
			start_job(ch, true); /* then fb_put */
			return;
		}
		ch->fb_phase = 1;
	}
	if (ch->fb_phase == 1) {
		if (p->deletes.len > 0) {
			char **argv = xcalloc(p->n_deletes + 4, sizeof(char *));
			size_t n = 0;

			argv[n++] = (char *)"rm";
			argv[n++] = (char *)"-rf";
			argv[n++] = (char *)"--";
			for (const char *s = p->deletes.data; s < p->deletes.data + p->deletes.len;
			     s += strlen(s) + 1)
				argv[n++] = (char *)s;
			fb_exec(ch, argv);
			free(argv);
			return;
		}
		ch->fb_phase = 2;
	}
	if (ch->run >= p->n_runs) {
		finish(ch, 0, -1, 0);
		return;
	}
	{
		char *argv[] = {(char *)"sh", (char *)"-c", p->runs[ch->run], NULL};

		ch->run_start = now_ns();
		fb_exec(ch, argv);
	}
}

/* ---- devwatch's agent (channel-agent.c) ---- */

static void ag_out(const char *line, size_t n, void *arg)
{
	struct channel *ch = arg;

	if (ch->out != NULL)
		ch->out(line, n, ch->arg);
}

static void ag_done(int err, int step, int rc, void *arg)
{
	finish(arg, err, step, rc);
}

/* It cannot run here: the shell agent takes over, with the update. */
static void ag_unavailable(const char *why, void *arg)
{
	struct channel *ch = arg;

	ch->ag_off = true;
	say(ch, "devwatch's agent unavailable (%s); using the shell agent", why);
	if (ch->p != NULL && ch->state == CH_CLOSED)
		open_agent(ch);
}

/* DEVWATCH_AGENT=sh or =archive forces a fallback (so the suite covers
   each path). */
static void use_agent(struct channel *ch)
{
	const char *force = getenv("DEVWATCH_AGENT");
	struct agent_hooks hk = {ag_out, ag_done, ag_unavailable, ch};

	if (force != NULL && strcmp(force, "archive") == 0) {
		ch->ag_off = true;
		ch->state = CH_FALLBACK;
		say(ch, "fast channel unavailable (%s); using the engine's archive API",
		    "DEVWATCH_AGENT=archive");
		return;
	}
	if (force != NULL && strcmp(force, "sh") == 0) {
		ch->ag_off = true;
		return;
	}
	ch->ag = agent_chan_new(ch->e, ch->cid, &hk);
}

int channel_list(struct channel *ch, const char *const *paths, size_t n,
		 bool hash, channel_entry_cb cb, channel_list_done_cb done,
		 void *arg)
{
	if (ch->ag_off || ch->p != NULL)
		return ch->ag_off ? UV_ENOTSUP : UV_EBUSY;
	return agent_chan_list(ch->ag, paths, n, hash, cb, done, arg);
}

/* ---- API ---- */

struct channel *channel_new(struct engine *e, const char *container_id,
			    channel_output_cb out, channel_notice_cb notice,
			    void *arg)
{
	struct channel *ch = xcalloc(1, sizeof(*ch));

	ch->e = e;
	ch->cid = xstrdup(container_id);
	ch->out = out;
	ch->notice = notice;
	ch->arg = arg;
	for (int i = 0; i < 3; i++)
		buf_init(&ch->line[i], LINE_MAX_BYTES);
	buf_init(&ch->open_err, 4096);
	buf_init(&ch->dline, LINE_MAX_BYTES);
	use_agent(ch);
	return ch;
}

int channel_apply(struct channel *ch, const struct sync_plan *p,
		  channel_done_cb done, void *arg)
{
	if (ch->p != NULL)
		return UV_EBUSY;
	ch->p = p;
	ch->done = done;
	ch->done_arg = arg;
	if (!ch->ag_off) {
		int rc = agent_chan_apply(ch->ag, p);

		if (rc != UV_ENOTSUP) {
			if (rc != 0)
				ch->p = NULL;
			return rc;
		}
	}
	switch (ch->state) {
	case CH_READY:
		start_update(ch);
		break;
	case CH_CLOSED: {
		int err = open_agent(ch);

		if (err != 0) {
			/* No update started: the caller hears it from us. */
			ch->p = NULL;
			ch->done = NULL;
			return err;
		}
		break;
	}
	case CH_OPENING:
		break;
	case CH_FALLBACK:
		ch->fb_phase = 0;
		ch->run = 0;
		free(ch->step_ns);
		ch->n_step_ns = p->n_runs;
		ch->step_ns = xcalloc(p->n_runs + 1, sizeof(uint64_t));
		fb_next(ch);
		break;
	}
	return 0;
}

uint64_t channel_step_ns(const struct channel *ch, size_t i)
{
	if (!ch->ag_off)
		return agent_chan_step_ns(ch->ag, i);
	return i < ch->n_step_ns ? ch->step_ns[i] : 0;
}

bool channel_is_fast(const struct channel *ch)
{
	return !ch->ag_off || ch->state != CH_FALLBACK;
}

void channel_reset(struct channel *ch)
{
	if (ch == NULL)
		return;
	/* A tar mid-stream cannot go on over a new session. */
	if (ch->job != NULL && !ch->job->full)
		abandon_job(ch);
	if (ch->h != NULL) {
		engine_hijack_close(ch->h);
		ch->h = NULL;
	}
	direct_close(ch);
	if (ch->ag != NULL)
		agent_chan_reset(ch->ag);
	if (ch->state != CH_FALLBACK)
		ch->state = CH_CLOSED;
	for (int i = 0; i < 3; i++)
		buf_reset(&ch->line[i]);
}

void channel_free(struct channel *ch)
{
	if (ch == NULL)
		return;
	channel_reset(ch);
	abandon_job(ch);
	agent_chan_free(ch->ag);
	ch->ag = NULL;
	if (ch->depth > 0 || ch->jobs_running > 0) {
		/* on_read, or the job's fill coming back, finishes this */
		ch->doomed = true;
		return;
	}
	channel_destroy(ch);
}

static void channel_destroy(struct channel *ch)
{
	for (int i = 0; i < 3; i++)
		buf_release(&ch->line[i]);
	buf_release(&ch->open_err);
	buf_release(&ch->dline);
	free(ch->step_ns);
	free(ch->exec_id);
	free(ch->cid);
	free(ch);
}
