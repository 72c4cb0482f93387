/*
 * The channel's tar (channel-int.h): read on the threadpool from the plan,
 * streamed in pieces to the agent under a high and low water mark, or
 * built whole for the archive fallback; and a large change's tar through
 * an exec of its own.
 */
#include "sync/channel-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/error.h"
#include "base/log.h"
#include "base/util.h"
#include "sync/tarstream.h"

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
void chan_abandon_job(struct channel *ch)
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

void chan_start_job(struct channel *ch, bool full)
{
	struct tar_job *j = xcalloc(1, sizeof(*j));

	j->ch = ch;
	j->full = full;
	j->want = full ? SIZE_MAX : CHUNK;
	j->gen = ch->gen;
	j->ts = tar_stream_new(ch->p);
	if (full)
		tar_stream_dirs(j->ts, &ch->fb_links);
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
			chan_destroy(ch);
		return;
	}
	if (j->rc < 0) {
		chan_say(ch, "cannot send the files: %s", j->cause != NULL ? j->cause : dw_strerror(j->rc));
		chan_abandon_job(ch);
		/* Mid-stream, the agent's framing cannot be resumed. */
		if (ch->state == CH_READY)
			channel_reset(ch);
		chan_finish(ch, DW_TOOBIG, -1, 0);
		return;
	}
	if (j->full) {
		ch->job = NULL;
		chan_fb_put(ch, &j->piece);
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
		chan_send_deletes(ch);
		return false;
	}
	if (engine_hijack_pending(ch->h) > HIGH_WATER) {
		engine_hijack_on_drain(ch->h, LOW_WATER, on_drained, ch);
		return false;
	}
	return true;
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
void chan_direct_close(struct channel *ch)
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
	chan_direct_close(ch);
	if (rc != 0 && ch->fail_err == 0) {
		ch->fail_err = DW_STEP;
		ch->fail_rc = rc;
		log_debug("direct tar exited %d", rc);
	}
	chan_send_deletes(ch);
}

static void direct_inspected(struct engine_req *req, int err,
			     const struct engine_resp *resp, void *arg)
{
	struct channel *ch = arg;

	(void)req;
	ch->dreq = NULL;
	direct_done(ch, chan_exec_exit_code(err, resp));
}

/* tar's complaints, with the container's prefix. */
static int direct_frame(int stream, const char *data, size_t len, void *arg)
{
	struct channel *ch = arg;

	(void)stream;
	chan_show_lines(ch, &ch->dline, data, len);
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
		chan_show_line(ch, &ch->dline);
	chan_abandon_job(ch);
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
	chan_start_job(ch, false);
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

void chan_start_direct(struct channel *ch)
{
	static const char *const argv[] = {"tar", "-x", "-p", "-f", "-", "-C", "/", NULL};

	if (chan_exec_create(ch, argv, true, direct_created, ch, &ch->dreq) != 0) {
		/* Through the agent, then (this may be inside channel_apply,
		   where the update must not end). */
		ch->dreq = NULL;
		ch->direct_busy = false;
		ch->ops[ch->n_ops++] = 'W';
		chan_start_job(ch, false);
	}
}

void chan_abandon_stream(struct channel *ch)
{
	if (ch->job != NULL && !ch->job->full)
		chan_abandon_job(ch);
}
