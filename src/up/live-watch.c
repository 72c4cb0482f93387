/*
 * The live-update layer's lifecycle and its watcher: the watcher starts
 * with the session and scans first (the images are built from the tree it
 * scanned); each settled change set is journaled, decided per container
 * and merged into its pending set; what the tree lost is kept (the gone
 * set) for catch-ups. Stop, resume after the engine came back, free.
 */
#include "up/live.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "base/util.h"
#include "sync/channel.h"
#include "up/gone.h"
#include "up/journal.h"
#include "up/live-int.h"
#include "up/say.h"

static void all_ready(struct session *s);
static void resume(struct session *s);
static void paused(struct instance *in);

void watch_options_for(struct watch_options *o, const struct project *p,
		       const char *dir)
{
	struct watch_context *ctx = NULL;
	size_t n = 0;

	memset(o, 0, sizeof(*o));
	o->root = p != NULL ? p->root : dir;
	if (p == NULL)
		return;
	o->ignore = p->ignore.v;
	for (size_t i = 0; i < p->n_containers; i++) {
		const struct build_spec *b = p->containers[i].build;

		if (b == NULL)
			continue;
		ctx = xreallocarray(ctx, n + 1, sizeof(*ctx));
		ctx[n].rel = b->context;
		ctx[n].dockerfile = b->dockerfile;
		n++;
	}
	o->contexts = ctx;
	o->n_contexts = n;
}

void watch_options_release(struct watch_options *o)
{
	free((void *)o->contexts);
	o->contexts = NULL;
}


/* ---- the watcher ---- */

static void on_change(struct watcher *w, struct changeset *cs, void *arg)
{
	struct live *lv = arg;

	(void)w;
	/* Known before any update can carry them, even past a kill -9. */
	journal_append(lv->s->p->root, cs);
	gone_note(&lv->gone, cs);
	for (size_t i = 0; i < lv->n; i++) {
		struct live_c *lc = &lv->c[i];
		char *reason = NULL;
		enum decision d = decide(&lc->dc, cs, &reason);

		if (d == DECIDE_NOTHING)
			continue;
		if (!lv->images_started) {
			/* What changed while devwatch was stopped (the hash cache
			   tells): the new images and the catch-up syncs cover it;
			   only a fall_back_on match matters, to an adopted
			   container. */
			if (d == DECIDE_RECREATE && !lc->offline_recreate) {
				lc->offline_recreate = true;
				free(lc->reason);
				lc->reason = reason;
				reason = NULL;
			}
			free(reason);
			continue;
		}
		changeset_merge_copy(&lc->pending, cs);
		if (d >= DECIDE_REBUILD && (!lc->rebuild || (d == DECIDE_RECREATE && !lc->recreate))) {
			lc->rebuild = true;
			lc->recreate |= d == DECIDE_RECREATE;
			free(lc->reason);
			lc->reason = reason;
			reason = NULL;
		}
		if (lc->rebuild_due && !lc->rebuild) {
			lc->rebuild = true;
			free(lc->reason);
			lc->reason = xstrdup("the last rebuild failed");
		}
		free(reason);
		live_kick(lc);
	}
}

static void free_handle(uv_handle_t *h)
{
	free(h);
}

static void stop_start_timer(struct live *lv)
{
	if (lv->start == NULL)
		return;
	uv_close((uv_handle_t *)lv->start, free_handle);
	lv->start = NULL;
}

static void start_images(uv_timer_t *t)
{
	struct live *lv = t->data;

	stop_start_timer(lv);
	lv->images_started = true;
	lv->s->hooks.images_start(lv->s);
}

static void on_ready(struct watcher *w, int err, void *arg)
{
	struct live *lv = arg;
	struct tree_summary s;

	if (err == 0 && !lv->s->o.no_watch) {
		watcher_summary(w, &s);
		session_say(lv->s, NULL, "watching", "watching %llu files for changes",
			    (unsigned long long)s.files);
	}
	lv->scanned = err == 0;
	if (err == 0) {
		/* Paths a killed devwatch added and the tree has lost since
		   (the cache may not have known them). */
		size_t n = 0;
		char **v = journal_read(lv->s->p->root, &n);

		for (size_t i = 0; i < n; i++) {
			if (!watcher_has(w, v[i]))
				tree_put(&lv->gone, v[i], strlen(v[i]));
			free(v[i]);
		}
		free(v);
	}
	/* The first settle reports what changed while devwatch was stopped
	   right after this callback: see it before any image starts. */
	lv->start = xmalloc(sizeof(*lv->start));
	uv_timer_init(lv->s->loop, lv->start);
	lv->start->data = lv;
	uv_timer_start(lv->start, start_images, 0, 0);
}

void session_live_start(struct session *s)
{
	struct live *lv = xcalloc(1, sizeof(*lv));
	char *cause = NULL;

	lv->s = s;
	s->live = lv;
	s->hooks.catchup = live_catchup;
	s->hooks.all_ready = all_ready;
	s->hooks.resume = resume;
	s->hooks.paused = paused;
	lv->n = s->n_cs;
	lv->c = xcalloc(lv->n, sizeof(*lv->c));
	tree_init(&lv->gone);
	for (size_t i = 0; i < lv->n; i++) {
		struct live_c *lc = &lv->c[i];

		lc->s = s;
		lc->cs = &s->cs[i];
		lc->cs->live = lc;
		lc->failed_step = -1;
		changeset_init(&lc->pending);
		changeset_init(&lc->held);
		changeset_init(&lc->current);
		if (decide_load(&lc->dc, lc->cs->c, &cause) != 0) {
			session_say(s, &lc->cs->inst[0], "notice", "%s", cause);
			free(cause);
			cause = NULL;
		}
		lc->li = xcalloc((size_t)lc->cs->n_inst, sizeof(*lc->li));
		for (int r = 0; r < lc->cs->n_inst; r++) {
			lc->li[r].lc = lc;
			lc->li[r].in = &lc->cs->inst[r];
		}
	}
	watch_options_for(&lv->wo, s->p, NULL);
	/* The hash cache makes a restart cheap and tells what changed while
	   devwatch was stopped; --no-watch still scans, for catch-ups. */
	lv->wo.use_cache = true;
	lv->wo.no_watch = s->o.no_watch;
	if (watcher_new(s->loop, &lv->wo, on_change, on_ready, lv, &lv->w, &cause) == 0)
		return;
	session_say(s, NULL, "notice", "not watching: %s", cause);
	free(cause);
	cause = NULL;
	/* Without inotify, a scan still serves the catch-up syncs. */
	lv->wo.no_watch = true;
	if (watcher_new(s->loop, &lv->wo, on_change, on_ready, lv, &lv->w, &cause) != 0) {
		free(cause);
		lv->w = NULL;
		lv->images_started = true;
		s->hooks.images_start(s);
	}
}

static void all_ready(struct session *s)
{
	struct live *lv = s->live;

	for (size_t i = 0; lv != NULL && i < lv->n; i++) {
		struct live_c *lc = &lv->c[i];
		bool adopted = false;

		for (int r = 0; r < lc->cs->n_inst; r++)
			adopted |= lc->cs->inst[r].adopted;
		if (lc->offline_recreate && adopted) {
			lc->rebuild = lc->recreate = true;
		} else if (lc->offline_recreate) {
			free(lc->reason); /* the fresh container needs nothing more */
			lc->reason = NULL;
		}
		lc->offline_recreate = false;
		live_kick(lc);
	}
}

void session_live_stop(struct session *s)
{
	struct live *lv = s->live;

	if (lv == NULL || lv->stopping)
		return;
	lv->stopping = true;
	stop_start_timer(lv);
	if (lv->w != NULL)
		watcher_close(lv->w);
	lv->w = NULL;
	live_catchup_cancel_all(lv);
	for (size_t i = 0; i < lv->n; i++)
		live_retry_close(&lv->c[i]);
	for (size_t i = 0; i < lv->n; i++)
		for (int r = 0; r < lv->c[i].cs->n_inst; r++)
			channel_reset(lv->c[i].li[r].ch);
}

/* Its session answers nothing until the unpause (channel_interrupt). */
static void paused(struct instance *in)
{
	struct live_c *lc = in->cs->live;

	for (int r = 0; lc != NULL && r < in->cs->n_inst; r++)
		if (lc->li[r].in == in && lc->li[r].cid != NULL && strcmp(lc->li[r].cid, in->id) == 0)
			channel_interrupt(lc->li[r].ch);
}

static void resume(struct session *s)
{
	struct live *lv = s->live;

	if (lv == NULL)
		return;
	for (size_t i = 0; i < lv->n; i++) {
		struct live_c *lc = &lv->c[i];

		for (int r = 0; r < lc->cs->n_inst && !lc->busy; r++) {
			/* Its exec died with the engine: open a fresh one. */
			channel_free(lc->li[r].ch);
			lc->li[r].ch = NULL;
			free(lc->li[r].cid);
			lc->li[r].cid = NULL;
		}
		if (lc->pending.n == 0 && lc->held.n > 0) {
			lc->pending = lc->held;
			changeset_init(&lc->held);
		}
		live_kick(lc);
	}
}

void session_live_free(struct session *s)
{
	struct live *lv = s->live;

	if (lv == NULL)
		return;
	for (size_t i = 0; i < lv->n; i++) {
		struct live_c *lc = &lv->c[i];

		for (int r = 0; r < lc->cs->n_inst; r++) {
			channel_free(lc->li[r].ch);
			free(lc->li[r].cid);
		}
		free(lc->li);
		decide_close(&lc->dc);
		changeset_release(&lc->pending);
		changeset_release(&lc->held);
		changeset_release(&lc->current);
		sync_plan_release(&lc->plan);
		free(lc->reason);
	}
	free(lv->c);
	if (lv->scanned)
		journal_remove(s->p->root); /* the cache was saved whole at the close */
	tree_close(&lv->gone);
	watch_options_release(&lv->wo);
	free(lv);
	s->live = NULL;
}

