/*
 * Writing a save into a stopped container before it starts again. A
 * container that exits at once on start (a bad config, a syntax error)
 * would otherwise never run long enough for the fix to arrive through its
 * exec channel: so the files the waking change writes go in first, as one
 * tar through the engine's archive API (PUT /containers/{id}/archive works
 * on a stopped container). Deletions and run steps need it running; the
 * live update that follows the wake applies them, and writes the files
 * again, which changes nothing.
 *
 * The tar is read on the threadpool (tar_stream_fill reads the files) and
 * capped at PREWRITE_MAX: a larger change skips this step and goes the
 * usual way.
 */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "base/util.h"
#include "up/monitor-int.h"
#include "sync/tarstream.h"

#define PREWRITE_MAX (32u << 20)

struct prewrite {
	struct mon_inst *mi; /* NULL once the monitor is freed */
	struct sync_plan plan;
	struct buf tar;
	int rc;
	char *cause;
	uv_work_t work;
	mon_prewrite_cb cb;
};

void mon_prewrite_plan(struct mon_inst *mi, const struct changeset *cs)
{
	struct instance *in = mi->in;
	struct prewrite *pw;

	mon_prewrite_free(mi);
	if (cs == NULL || cs->n == 0)
		return;
	pw = xcalloc(1, sizeof(*pw));
	sync_plan_build(in->s->p->root, in->cs->c, cs, &pw->plan);
	if (pw->plan.n_writes == 0) {
		sync_plan_release(&pw->plan);
		free(pw);
		return;
	}
	mi->pre = pw;
}

void mon_prewrite_free(struct mon_inst *mi)
{
	struct prewrite *pw = mi->pre;

	mi->pre = NULL;
	if (pw == NULL)
		return;
	if (pw->cb != NULL) {
		/* Its work is queued: the work's end frees it. */
		pw->mi = NULL;
		return;
	}
	sync_plan_release(&pw->plan);
	free(pw);
}

static void release(struct prewrite *pw)
{
	buf_release(&pw->tar);
	free(pw->cause);
	sync_plan_release(&pw->plan);
	free(pw);
}

static void work(uv_work_t *w)
{
	struct prewrite *pw = container_of(w, struct prewrite, work);
	struct tar_stream *ts = tar_stream_new(&pw->plan);

	pw->rc = tar_stream_fill(ts, &pw->tar, PREWRITE_MAX, &pw->cause);
	tar_stream_free(ts);
}

static void done(struct mon_inst *mi, int err)
{
	mon_prewrite_cb cb = mi->pre->cb;

	release(mi->pre);
	mi->pre = NULL;
	cb(mi, err);
}

static void on_put(struct engine_req *req, int err, const struct engine_resp *resp, void *arg)
{
	struct prewrite *pw = arg;
	struct mon_inst *mi = pw->mi;

	(void)req;
	if (mi == NULL || err == DW_CANCELED) {
		release(pw);
		return;
	}
	if (err == 0 && resp->status == 200)
		session_say(mi->in->s, mi->in, "notice",
			    "wrote %zu file%s into the stopped container before starting it",
			    pw->plan.n_writes, pw->plan.n_writes == 1 ? "" : "s");
	else
		log_debug("%s: could not write into the stopped container: %s", mi->in->label,
			  err != 0 ? dw_strerror(err) : "the engine refused");
	done(mi, err);
}

static void after_work(uv_work_t *w, int status)
{
	struct prewrite *pw = container_of(w, struct prewrite, work);
	struct mon_inst *mi = pw->mi;
	struct engine_call call = {.method = "PUT", .content_type = "application/x-tar",
				   .timeout_ms = 60000};
	char path[256];

	if (mi == NULL || status == UV_ECANCELED || mon_gone(mi->m)) {
		release(pw);
		return;
	}
	if (pw->rc != 1) {
		/* Too big, say: the live update brings it. */
		log_debug("%s: no write before the start: %s", mi->in->label,
			  pw->cause != NULL ? pw->cause : dw_strerror(pw->rc));
		done(mi, 0);
		return;
	}
	snprintf(path, sizeof(path), "/containers/%s/archive?path=%%2F", mi->in->id);
	call.path = path;
	call.body = pw->tar.data;
	call.body_len = pw->tar.len;
	if (engine_request(mi->m->s->e, &call, on_put, pw, NULL) != 0)
		done(mi, DW_ENGINE_DOWN);
}

void mon_prewrite(struct mon_inst *mi, mon_prewrite_cb cb)
{
	struct prewrite *pw = mi->pre;

	if (pw == NULL) {
		cb(mi, 0);
		return;
	}
	pw->mi = mi;
	pw->cb = cb;
	buf_init(&pw->tar, PREWRITE_MAX);
	if (uv_queue_work(mi->m->s->loop, &pw->work, work, after_work) != 0) {
		pw->cb = NULL;
		mon_prewrite_free(mi);
		cb(mi, 0);
	}
}
