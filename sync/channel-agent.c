/*
 * devwatch's agent as the fast channel. See channel-agent.h.
 *
 * Opening: HEAD the agent's path in the container (absent: PUT it), create
 * the exec, hijack it, and wait for the hello. States: CLOSED, PROBING
 * (HEAD), INSTALLING (PUT), OPENING (exec create, attach, hello), READY,
 * OFF (the agent cannot run here; the owner was told).
 *
 * An update in READY: the write stream's frames (the first read on the
 * loop, the rest on the threadpool with back-pressure), then the deletion
 * frame, each answered by a status in order (`ops`); then each run step,
 * one at a time, since a failed step stops the update. A listing sends one
 * 'L' per path and counts the statuses.
 *
 * Re-entry: a hook may free the channel; `depth` counts our frames on the
 * stack, and a channel freed inside them (`doomed`) is destroyed on the
 * way out, or when the last threadpool fill comes back.
 */
#include "sync/channel-agent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "base/util.h"
#include "sync/channel-agent-int.h"

#define LINE_MAX_BYTES (64u << 10)
/* A save's first frame is read on the loop, up to this much. */
#define INLINE_BYTES (256u << 10)
/* Later frames, each read on the threadpool. */
#define CHUNK (AP_FRAME_MAX - 1)
#define HIGH_WATER (16u << 20)
#define LOW_WATER (8u << 20)

static void destroy(struct agent_chan *a);
static void send_deletes(struct agent_chan *a);

/* ---- re-entry ---- */

void agc_enter(struct agent_chan *a)
{
	a->depth++;
}

/* True when a is gone: touch nothing more. */
bool agc_leave(struct agent_chan *a)
{
	if (--a->depth > 0 || !a->doomed)
		return a->doomed;
	if (a->jobs_running == 0)
		destroy(a);
	return true;
}

static void show_line(struct agent_chan *a, struct buf *line)
{
	if (a->hk.out != NULL && !a->doomed)
		a->hk.out(buf_str(line), line->len, a->hk.arg);
	buf_reset(line);
}

static void show_lines(struct agent_chan *a, struct buf *line, const char *data, size_t len)
{
	while (len > 0 && !a->doomed) {
		const char *nl = memchr(data, '\n', len);
		size_t take = nl ? (size_t)(nl - data) : len, room = line->max - line->len;

		if (take > room) {
			buf_add(line, data, room);
			show_line(a, line);
			data += room;
			len -= room;
			continue;
		}
		buf_add(line, data, take);
		if (nl == NULL)
			break;
		show_line(a, line);
		data += take + 1;
		len -= take + 1;
	}
}

static void say_msg(struct agent_chan *a, const struct ap_status *s)
{
	char *m;

	if (s->msg_len == 0 || a->hk.out == NULL || a->doomed)
		return;
	m = xasprintf("devwatch agent: %.*s", (int)s->msg_len, s->msg);
	a->hk.out(m, strlen(m), a->hk.arg);
	free(m);
}

/* ---- ending operations ---- */

static void job_free(struct ag_job *j)
{
	agent_stream_free(j->st);
	buf_release(&j->out);
	free(j);
}

static void abandon_job(struct agent_chan *a)
{
	a->gen++;
	if (a->job != NULL && !a->job->running) {
		if (a->h != NULL)
			engine_hijack_on_drain(a->h, 0, NULL, NULL);
		job_free(a->job);
	}
	a->job = NULL;
}

static void free_paths(struct agent_chan *a)
{
	for (size_t i = 0; i < a->n_paths; i++)
		free(a->paths[i]);
	free(a->paths);
	a->paths = NULL;
	a->n_paths = 0;
}

static void finish(struct agent_chan *a, int err, int step, int rc)
{
	enum ag_op op = a->op;

	abandon_job(a);
	a->op = OP_NONE;
	a->p = NULL;
	if (op == OP_UPDATE && a->hk.done != NULL && !a->doomed) {
		a->hk.done(err, step, rc, a->hk.arg);
	} else if (op == OP_LIST) {
		free_paths(a);
		if (a->ldone != NULL && !a->doomed)
			a->ldone(err, a->larg);
	}
}

/* The session could not open for a reason that is not the agent's (the
   container is gone or stopped): the operation fails, the next retries. */
void agc_fail_open(struct agent_chan *a, int err)
{
	agc_close_session(a);
	a->state = AG_CLOSED;
	finish(a, err, -1, 0);
}

void agc_unavailable(struct agent_chan *a, const char *why)
{
	agc_close_session(a);
	a->state = AG_OFF;
	log_debug("agent: %s", why);
	if (a->op == OP_LIST)
		finish(a, UV_ENOTSUP, -1, 0);
	if (a->hk.unavailable != NULL && !a->doomed)
		a->hk.unavailable(why, a->hk.arg);
}

void agc_close_session(struct agent_chan *a)
{
	if (a->req != NULL) {
		engine_forget(a->req);
		a->req = NULL;
	}
	if (a->h != NULL) {
		engine_hijack_close(a->h);
		a->h = NULL;
	}
	buf_reset(&a->rx);
	for (int i = 0; i < 3; i++)
		buf_reset(&a->line[i]);
}

/* ---- the write stream ---- */

static void job_work(uv_work_t *req)
{
	struct ag_job *j = container_of(req, struct ag_job, req);

	j->rc = agent_stream_frame(j->st, &j->out, CHUNK);
}

static void job_after(uv_work_t *req, int status);

static void job_queue(struct ag_job *j)
{
	j->running = true;
	j->a->jobs_running++;
	uv_queue_work(engine_loop(j->a->e), &j->req, job_work, job_after);
}

static void on_drained(struct engine_hijack *h, void *arg)
{
	struct agent_chan *a = arg;

	(void)h;
	if (a->job != NULL && !a->job->running)
		job_queue(a->job);
}

/* Send the job's frame. True when the next may be read now; else, when
   more follows, on_drained reads it once the socket drains. */
static bool job_deliver(struct agent_chan *a, struct ag_job *j)
{
	size_t n;
	char *data = buf_detach(&j->out, &n);

	engine_hijack_write_owned(a->h, data, n);
	if (j->rc == 1) {
		a->job = NULL;
		job_free(j);
		send_deletes(a);
		return false;
	}
	if (engine_hijack_pending(a->h) > HIGH_WATER) {
		engine_hijack_on_drain(a->h, LOW_WATER, on_drained, a);
		return false;
	}
	return true;
}

static void job_after(uv_work_t *req, int status)
{
	struct ag_job *j = container_of(req, struct ag_job, req);
	struct agent_chan *a = j->a;

	j->running = false;
	a->jobs_running--;
	if (status == UV_ECANCELED)
		j->rc = UV_ECANCELED;
	if (a->doomed || j->gen != a->gen) {
		if (a->job == j)
			a->job = NULL;
		job_free(j);
		if (a->doomed && a->depth == 0 && a->jobs_running == 0)
			destroy(a);
		return;
	}
	agc_enter(a);
	if (j->rc < 0) {
		/* Mid-stream, the framing cannot be resumed. */
		log_warn("cannot send the files: %s", dw_strerror(j->rc));
		agc_close_session(a);
		a->state = AG_CLOSED;
		finish(a, j->rc, -1, 0);
	} else if (job_deliver(a, j)) {
		job_queue(j);
	}
	agc_leave(a);
}

static void start_writes(struct agent_chan *a)
{
	struct ag_job *j = xcalloc(1, sizeof(*j));

	j->a = a;
	j->gen = a->gen;
	j->st = agent_stream_new(a->p);
	buf_init(&j->out, AP_FRAME_MAX + AP_FRAME_HDR + 16);
	a->job = j;
	/* A save is a few small files: reading them here costs tens of µs,
	   a trip through the threadpool ~0.5-1 ms. */
	j->rc = agent_stream_frame(j->st, &j->out, INLINE_BYTES);
	if (j->rc < 0) {
		job_queue(j); /* reported from job_after, never from apply */
		return;
	}
	if (job_deliver(a, j))
		job_queue(j);
}

/* ---- operations ---- */

static void write_frame(struct agent_chan *a, struct buf *f)
{
	size_t n;
	char *d = buf_detach(f, &n);

	engine_hijack_write_owned(a->h, d, n);
}

static void run_next(struct agent_chan *a)
{
	struct buf f;

	if (a->run >= a->p->n_runs) {
		finish(a, 0, -1, 0);
		return;
	}
	buf_init(&f, AP_FRAME_MAX + AP_FRAME_HDR);
	if (agent_req_run(&f, a->p, a->run) != 0) {
		buf_release(&f);
		finish(a, 0, (int)a->run, 127);
		return;
	}
	a->running = true;
	write_frame(a, &f);
}

static void ops_settled(struct agent_chan *a)
{
	if (a->n_ops > 0 || a->job != NULL)
		return;
	if (a->fail_rc != 0) {
		finish(a, DW_STEP, -1, a->fail_rc);
		return;
	}
	run_next(a);
}

static void send_deletes(struct agent_chan *a)
{
	if (a->p->n_deletes > 0) {
		struct buf f;

		buf_init(&f, AP_FRAME_MAX + AP_FRAME_HDR);
		if (agent_req_delete(&f, a->p) == 0) {
			a->ops[a->n_ops++] = 'D';
			write_frame(a, &f);
		} else {
			log_warn("too many deletions for one request; they go with the next change");
			a->fail_rc = a->fail_rc != 0 ? a->fail_rc : 1;
			buf_release(&f);
		}
	}
	ops_settled(a);
}

static void start_update(struct agent_chan *a)
{
	a->n_ops = 0;
	a->run = 0;
	a->running = false;
	a->fail_rc = 0;
	free(a->step_ns);
	a->n_step_ns = a->p->n_runs;
	a->step_ns = xcalloc(a->p->n_runs + 1, sizeof(uint64_t));
	if (a->p->n_members > 0) {
		a->ops[a->n_ops++] = 'W';
		start_writes(a); /* then send_deletes */
		return;
	}
	send_deletes(a);
}

static void start_list(struct agent_chan *a)
{
	struct buf f;

	buf_init(&f, AP_FRAME_MAX);
	a->listed = 0;
	a->list_failed = 0;
	for (size_t i = 0; i < a->n_paths; i++)
		agent_req_list(&f, a->paths[i], a->hash);
	write_frame(a, &f);
}

void agc_start_op(struct agent_chan *a)
{
	if (a->op == OP_UPDATE)
		start_update(a);
	else if (a->op == OP_LIST)
		start_list(a);
}

static void on_status(struct agent_chan *a, const char *p, size_t n)
{
	struct ap_status s;
	struct ap_rd r;

	ap_rd_init(&r, p, n);
	if (ap_status_get(&r, &s) != 0)
		return;
	log_debug("agent: %c status %d in %.3f ms", s.op, (int)s.code, (double)s.ns / 1e6);
	if (a->op == OP_LIST) {
		if (s.code != 0) {
			a->list_failed++;
			say_msg(a, &s);
		}
		if (++a->listed == a->n_paths)
			finish(a, a->list_failed ? DW_STEP : 0, -1, 0);
		return;
	}
	if (a->op != OP_UPDATE)
		return;
	if (a->n_ops > 0) {
		a->ops[0] = a->ops[1];
		a->n_ops--;
		if (s.code != 0) {
			say_msg(a, &s);
			if (a->fail_rc == 0)
				a->fail_rc = s.code;
		}
		ops_settled(a);
		return;
	}
	if (!a->running)
		return;
	a->running = false;
	a->step_ns[a->run] = s.ns;
	if (s.code != 0) {
		say_msg(a, &s);
		finish(a, 0, (int)a->run, s.code);
		return;
	}
	a->run++;
	run_next(a);
}

static void on_entries(struct agent_chan *a, const char *p, size_t n)
{
	struct ap_rd r;

	ap_rd_init(&r, p, n);
	while (r.n > 0 && a->op == OP_LIST && !a->doomed && a->listed < a->n_paths) {
		struct ap_entry e;

		if (ap_entry_get(&r, &e) != 0)
			return;
		if (a->lcb != NULL)
			a->lcb(a->paths[a->listed], &e, a->larg);
	}
}

static int on_frame(struct agent_chan *a, char type, const char *p, size_t n)
{
	if (type == 'H' && a->state == AG_OPENING)
		agc_on_hello(a, p, n);
	else if (a->state != AG_READY)
		return 0;
	else if (type == 'S')
		on_status(a, p, n);
	else if (type == 'O' && n > 0)
		show_lines(a, &a->line[p[0] == 1 ? 1 : 2], p + 1, n - 1);
	else if (type == 'E')
		on_entries(a, p, n);
	return 0;
}

static int on_demuxed(int stream, const char *data, size_t len, void *arg)
{
	struct agent_chan *a = arg;

	if (stream != 1) {
		/* The agent prints only when it cannot go on, or the engine's
		   runtime when it cannot start it. */
		if (a->state == AG_OPENING)
			buf_add(&a->open_err, data, DW_MIN(len, a->open_err.max - a->open_err.len));
		else
			show_lines(a, &a->line[2], data, len);
		return 0;
	}
	if (buf_add(&a->rx, data, len) != 0)
		return 1;
	for (;;) {
		char type;
		const char *p;
		size_t n, used;
		int rc = agent_frame_next(&a->rx, &type, &p, &n, &used);

		if (rc <= 0)
			return rc < 0;
		on_frame(a, type, p, n);
		if (a->doomed || a->h == NULL)
			return 1;
		buf_consume(&a->rx, used);
	}
}

void agc_on_read(struct engine_hijack *h, const char *data, ssize_t n, void *arg)
{
	struct agent_chan *a = arg;
	int rc = 0;

	(void)h;
	agc_enter(a);
	if (n > 0)
		rc = engine_demux_feed(&a->dm, data, (size_t)n, on_demuxed, a);
	if (a->doomed || (n > 0 && rc == 0) || a->h == NULL) {
		agc_leave(a);
		return;
	}
	/* The agent is gone, or said something we cannot read. */
	if (a->state == AG_OPENING && !a->installed) {
		/* A damaged copy, say: replace it once. */
		log_debug("agent: the copy in %.12s did not start (%s); copying it again", a->cid,
			  buf_str(&a->open_err));
		agc_close_session(a);
		agc_install(a);
	} else if (a->state == AG_OPENING) {
		char *why = a->open_err.len > 0
				    ? xasprintf("it did not start: %s", buf_str(&a->open_err))
				    : xstrdup("it did not start");

		while (why[0] != '\0' && why[strlen(why) - 1] == '\n')
			why[strlen(why) - 1] = '\0';
		agc_unavailable(a, why);
		free(why);
	} else {
		if (n > 0)
			log_warn("devwatch agent: malformed answer; reopening");
		agc_close_session(a);
		a->state = AG_CLOSED;
		if (a->op != OP_NONE)
			finish(a, DW_CANCELED, -1, 0);
	}
	agc_leave(a);
}

/* ---- API ---- */

struct agent_chan *agent_chan_new(struct engine *e, const char *cid,
				  const struct agent_hooks *hk)
{
	struct agent_chan *a = xcalloc(1, sizeof(*a));

	a->e = e;
	a->cid = xstrdup(cid);
	a->hk = *hk;
	buf_init(&a->rx, AP_FRAME_MAX + AP_FRAME_HDR + (64u << 10));
	for (int i = 0; i < 3; i++)
		buf_init(&a->line[i], LINE_MAX_BYTES);
	buf_init(&a->open_err, 2048);
	return a;
}

static int begin(struct agent_chan *a)
{
	if (a->state == AG_OFF)
		return UV_ENOTSUP;
	if (a->op != OP_NONE)
		return UV_EBUSY;
	return 0;
}

/* Start the operation set up in a, opening the session first when
   needed. Returns 0, or open_session's code (the operation dropped). */
static int go(struct agent_chan *a)
{
	int rc = 0;

	if (a->state == AG_READY)
		agc_start_op(a);
	else if (a->state == AG_CLOSED)
		rc = agc_open_session(a);
	if (rc != 0) {
		a->op = OP_NONE;
		a->p = NULL;
		free_paths(a);
	}
	return rc;
}

int agent_chan_apply(struct agent_chan *a, const struct sync_plan *p)
{
	int rc = begin(a);

	if (rc != 0)
		return rc;
	a->op = OP_UPDATE;
	a->p = p;
	return go(a);
}

int agent_chan_list(struct agent_chan *a, const char *const *paths, size_t n,
		    bool hash, agent_entry_cb cb, agent_list_done_cb done, void *arg)
{
	int rc = begin(a);

	if (rc != 0)
		return rc;
	if (n == 0)
		return UV_EINVAL;
	for (size_t i = 0; i < n; i++)
		if (paths[i][0] != '/' || strlen(paths[i]) > AP_NAME_MAX)
			return UV_EINVAL;
	a->op = OP_LIST;
	a->paths = xcalloc(n, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		a->paths[i] = xstrdup(paths[i]);
	a->n_paths = n;
	a->hash = hash;
	a->lcb = cb;
	a->ldone = done;
	a->larg = arg;
	return go(a);
}

uint64_t agent_chan_step_ns(const struct agent_chan *a, size_t i)
{
	return i < a->n_step_ns ? a->step_ns[i] : 0;
}

void agent_chan_reset(struct agent_chan *a)
{
	abandon_job(a);
	agc_close_session(a);
	if (a->state != AG_OFF)
		a->state = AG_CLOSED;
	a->op = OP_NONE;
	a->p = NULL;
	free_paths(a);
}

void agent_chan_free(struct agent_chan *a)
{
	if (a == NULL)
		return;
	agent_chan_reset(a);
	if (a->depth > 0 || a->jobs_running > 0) {
		a->doomed = true;
		return;
	}
	destroy(a);
}

static void destroy(struct agent_chan *a)
{
	buf_release(&a->rx);
	for (int i = 0; i < 3; i++)
		buf_release(&a->line[i]);
	buf_release(&a->open_err);
	free(a->step_ns);
	free(a->cid);
	free(a);
}
