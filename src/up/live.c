/*
 * Live update inside an `up` session: the conductor. Each settled change
 * set is decided per container (decide.c, from live-watch.c) and merged
 * into that container's pending set. At most one update is in flight per
 * container: when it ends, whatever arrived meanwhile goes next, as one
 * merged set. Replicas are updated in parallel through their own channels,
 * and the update is done when all are. A rebuild replaces the containers
 * (replace.c). The control API's trigger and restart come in here too.
 */
#include "up/live-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "base/util.h"
#include "build/image.h"
#include "sync/channel.h"
#include "sync/plan.h"
#include "up/function.h"
#include "up/live.h"
#include "up/monitor.h"
#include "up/probe.h"
#include "up/replace.h"
#include "up/say.h"
#include "watch/watch.h"

/* What could not be synced goes again after RETRY_FIRST_MS, then after
   twice as long each time, up to RETRY_MAX_MS, until it lands (or sooner,
   with the next change): a container that comes back gets it even when
   nothing else is saved. */
#define RETRY_FIRST_MS 250
#define RETRY_MAX_MS 8000

/* An update this large is long work: a progress line on a terminal. */
#define LARGE_SYNC_BYTES (8u << 20)
#define LARGE_SYNC_FILES 500

/* ---- output ---- */

void live_out_line(const char *line, size_t n, void *arg)
{
	struct live_inst *li = arg;

	session_emit(&(struct up_event){.kind = UP_OUTPUT, .s = li->lc->s, .in = li->in,
					.text = line, .len = n});
}

void live_notice(const char *msg, void *arg)
{
	struct live_inst *li = arg;

	session_say(li->lc->s, li->in, "notice", "%s", msg);
}

/* An update ended: the event carries its files and its per-stage times. */
static void report(struct live_c *lc, const char *what)
{
	struct up_update u = {
		.what = what, .failed = lc->update_failed,
		.rebuilt = strcmp(what, "recreated") == 0 || strncmp(what, "rebuilt", 7) == 0,
		.plan = &lc->plan, .ch = lc->li[0].ch, .failed_step = lc->failed_step,
		.failed_rc = lc->failed_rc, .first_event = lc->t0, .settled = lc->t_settled,
		.hashed = lc->t_hashed, .started = lc->t_started, .applied = lc->t_applied,
		.ended = now_ns()};

	session_emit(&(struct up_event){.kind = UP_UPDATE, .s = lc->s, .cs = lc->cs,
					.update = &u});
}

/* ---- one update ---- */

static void finish_update(struct live_c *lc)
{
	sync_plan_release(&lc->plan);
	changeset_release(&lc->current);
	lc->busy = false;
	/* A function's queued invocations see the new code. */
	session_function_release(lc->cs);
	live_kick(lc);
}

static void on_retry(uv_timer_t *t)
{
	struct live_c *lc = t->data;

	if (lc->held.n == 0)
		return;
	if (lc->busy) {
		/* The update in flight takes it along when it ends (kick). */
		return;
	}
	if (lc->pending.n == 0) {
		lc->pending = lc->held;
		changeset_init(&lc->held);
	}
	live_kick(lc);
}

static void retry_later(struct live_c *lc)
{
	lc->retry_ms = lc->retry_ms == 0 ? RETRY_FIRST_MS : lc->retry_ms * 2;
	if (lc->retry_ms > RETRY_MAX_MS)
		lc->retry_ms = RETRY_MAX_MS;
	if (lc->retry == NULL) {
		lc->retry = xmalloc(sizeof(*lc->retry));
		uv_timer_init(lc->s->loop, lc->retry);
		lc->retry->data = lc;
	}
	uv_timer_start(lc->retry, on_retry, lc->retry_ms, 0);
	session_say(lc->s, &lc->cs->inst[0], "notice",
		    "what could not be synced goes again in %.2g s, or with the next change",
		    (double)lc->retry_ms / 1e3);
}

static void free_timer(uv_handle_t *h)
{
	free(h);
}

void live_retry_close(struct live_c *lc)
{
	if (lc->retry == NULL)
		return;
	uv_close((uv_handle_t *)lc->retry, free_timer);
	lc->retry = NULL;
}

static void restarted(struct instance *in, int err, void *arg)
{
	struct live_c *lc = arg;

	(void)in;
	if (err != 0)
		lc->update_failed = true;
	if (--lc->left > 0)
		return;
	report(lc, lc->update_failed ? "restart failed after syncing" : "synced");
	finish_update(lc);
}

static void applied(struct channel *ch, int err, int step, int rc, void *arg)
{
	struct live_inst *li = arg;
	struct live_c *lc = li->lc;

	(void)ch;
	if (err != 0 && lc->transport_err == 0)
		lc->transport_err = err;
	if (step >= 0) {
		lc->failed_step = step;
		lc->failed_rc = rc;
	}
	if (--lc->left > 0)
		return;
	lc->t_applied = now_ns();
	if (lc->s->shutting_down) {
		finish_update(lc);
		return;
	}
	if (lc->failed_step >= 0) {
		lc->update_failed = true;
		session_say(lc->s, li->in, "update-failed",
			    "update failed: run '%s' exited %d; fix it and save again",
			    lc->plan.runs[lc->failed_step], lc->failed_rc);
		report(lc, "update failed after syncing");
		finish_update(lc);
		return;
	}
	if (lc->transport_err != 0) {
		/* The channel died (a restart, say): apply the same set again,
		   as older than what arrived meanwhile; with the engine gone,
		   once it is back. */
		if (lc->s->engine_lost || lc->retries++ < 2) {
			changeset_merge(&lc->current, &lc->pending);
			lc->pending = lc->current;
			changeset_init(&lc->current);
			finish_update(lc);
			return;
		}
		lc->update_failed = true;
		lc->retries = 0;
		report(lc, "could not sync");
		/* Keep it rather than drop it: it goes again on a timer, or
		   with the next change (counted from that change's first
		   event). */
		changeset_merge(&lc->held, &lc->current);
		lc->held.first_event_ns = 0;
		retry_later(lc);
		finish_update(lc);
		return;
	}
	lc->retries = 0;
	lc->retry_ms = 0;
	if (lc->plan.restart) {
		lc->left = lc->cs->n_inst;
		for (int i = 0; i < lc->cs->n_inst; i++) {
			channel_reset(lc->li[i].ch);
			session_restart(&lc->cs->inst[i], restarted, lc);
		}
		return;
	}
	report(lc, "synced");
	finish_update(lc);
}

static struct channel *channel_for(struct live_inst *li)
{
	if (li->ch != NULL && li->cid != NULL && strcmp(li->cid, li->in->id) == 0)
		return li->ch;
	channel_free(li->ch);
	free(li->cid);
	li->cid = xstrdup(li->in->id);
	li->ch = channel_new(li->lc->s->e, li->cid, live_out_line, live_notice, li);
	return li->ch;
}

void live_adopt_channel(struct instance *in, const char *cid, struct channel *ch)
{
	struct live_c *lc = in->cs->live;
	struct live_inst *li = NULL;

	for (int r = 0; lc != NULL && lc->li != NULL && r < in->cs->n_inst; r++)
		if (lc->li[r].in == in)
			li = &lc->li[r];
	/* A channel of its own stays; one into a container gone goes, when no
	   update is using it. */
	if (li == NULL || in->id == NULL || strcmp(cid, in->id) != 0 ||
	    (li->ch != NULL && (lc->busy || (li->cid != NULL && strcmp(li->cid, cid) == 0)))) {
		channel_free(ch);
		return;
	}
	channel_free(li->ch);
	free(li->cid);
	li->cid = xstrdup(cid);
	li->ch = ch;
	channel_rebind(ch, live_out_line, live_notice, li);
}

static void start_live(struct live_c *lc)
{
	uint64_t t = now_ns();

	sync_plan_build(lc->s->p->root, lc->cs->c, &lc->current, &lc->plan);
	log_debug("%s: plan of %zu changes, %zu paths to write, in %.1f ms (%.1f ms after the first event)",
		  lc->cs->c->name, lc->current.n, lc->plan.n_members, (double)(now_ns() - t) / 1e6,
		  (double)(now_ns() - lc->t0) / 1e6);
	if (lc->plan.n_members == 0 && lc->plan.deletes.len == 0 && lc->plan.n_runs == 0 &&
	    !lc->plan.restart) {
		finish_update(lc);
		return;
	}
	if (lc->plan.bytes >= LARGE_SYNC_BYTES || lc->plan.n_writes >= LARGE_SYNC_FILES)
		session_emit(&(struct up_event){.kind = UP_SYNC, .s = lc->s, .cs = lc->cs,
						.plan = &lc->plan});
	lc->failed_step = -1;
	lc->transport_err = 0;
	lc->update_failed = false;
	lc->left = lc->cs->n_inst;
	for (int i = 0; i < lc->cs->n_inst; i++) {
		struct live_inst *li = &lc->li[i];

		if (li->in->id == NULL || channel_apply(channel_for(li), &lc->plan, applied, li) != 0)
			applied(NULL, DW_CANCELED, -1, 0, li);
	}
}

/* ---- rebuild and replace ---- */

static void replaced(struct instance *in, int err, void *arg)
{
	struct live_c *lc = arg;

	(void)in;
	if (err != 0)
		lc->update_failed = true;
	if (--lc->left > 0)
		return;
	if (lc->update_failed)
		report(lc, "the new container did not become ready; kept the old one");
	else
		report(lc, lc->cs->c->build != NULL ? "rebuilt and replaced" : "recreated");
	finish_update(lc);
}

static void rebuild_progress(void *arg, const char *line)
{
	struct live_c *lc = arg;

	session_emit(&(struct up_event){.kind = UP_BUILD, .s = lc->s, .cs = lc->cs, .text = line,
					.len = strlen(line)});
}

static void rebuilt(void *arg, int err, const char *ref, bool built, const char *cause)
{
	struct live_c *lc = arg;

	(void)built;
	session_emit(&(struct up_event){.kind = UP_BUILD_END, .s = lc->s, .cs = lc->cs,
					.failed = err != 0});
	if (lc->s->shutting_down) {
		finish_update(lc);
		return;
	}
	if (err != 0) {
		/* The running container stays; what the change syncs still goes
		   into it, and the next change to this container rebuilds again
		   (the image still lacks this one). */
		lc->update_failed = true;
		lc->rebuild_due = true;
		session_say(lc->s, &lc->cs->inst[0], "update-failed",
			    "%s failed: %s; the running container keeps going, synced "
			    "files still reach it, and the next save tries again",
			    lc->cs->c->build != NULL ? "rebuild" : "pull",
			    cause != NULL ? cause : dw_strerror(err));
		start_live(lc);
		return;
	}
	if (!lc->recreating && lc->cs->image_ref != NULL &&
	    strcmp(lc->cs->image_ref, ref) == 0) {
		/* Nothing the image reads changed: the rest goes in live. */
		session_say(lc->s, &lc->cs->inst[0], "update",
			    "image %s unchanged; nothing to replace", ref);
		start_live(lc);
		return;
	}
	/* A fall_back_on match replaces even when the tag stays: the user
	   asked to start over. The new container is caught up before it
	   counts as ready, so it gets every pending change either way. */
	free(lc->cs->image_ref);
	lc->cs->image_ref = xstrdup(ref);
	lc->left = lc->cs->n_inst;
	for (int i = 0; i < lc->cs->n_inst; i++) {
		channel_reset(lc->li[i].ch);
		session_replace(&lc->cs->inst[i], replaced, lc);
	}
}

static void start_rebuild(struct live_c *lc)
{
	char *cause = NULL;

	session_say(lc->s, &lc->cs->inst[0], "rebuild", "%s: %s",
		    lc->cs->c->build != NULL ? "rebuilding" : "recreating", lc->reason);
	free(lc->reason);
	lc->reason = NULL;
	lc->update_failed = false;
	memset(&lc->plan, 0, sizeof(lc->plan));
	if (decide_load(&lc->dc, lc->cs->c, &cause) != 0) {
		session_say(lc->s, &lc->cs->inst[0], "notice", "%s", cause);
		free(cause);
	}
	/* A registry image is pulled as its policy says, then recreated; its
	   new container gets a catch-up sync before it counts as ready. */
	if (image_ensure(lc->s->e, lc->s->p, lc->cs->c, rebuild_progress, rebuilt, lc) != 0)
		rebuilt(lc, DW_BUILD, NULL, false, "cannot start the build");
}

static void woken(struct instance *in, int err, void *arg)
{
	struct live_c *lc = arg;

	(void)in;
	if (err != 0)
		lc->wake_failed = true;
	if (--lc->waking > 0)
		return;
	lc->busy = false;
	/* One that could not come back keeps the changes for the next save. */
	if (!lc->wake_failed)
		live_kick(lc);
}

static void begin_update(void *arg)
{
	struct live_c *lc = arg;

	if (lc->rebuild) {
		lc->rebuild_due = false;
		lc->recreating = lc->recreate || lc->cs->c->build == NULL;
		lc->recreate = false;
		/* The replacement's catch-up sync brings these changes. */
		lc->rebuild = false;
		start_rebuild(lc);
		return;
	}
	start_live(lc);
}

void live_kick(struct live_c *lc)
{
	struct live *lv = lc->s->live;

	if (lc->busy || lv == NULL || lv->stopping || lc->s->shutting_down ||
	    !lc->s->all_ready)
		return;
	if (lc->s->engine_lost)
		return; /* the changes wait in the pending set */
	if (lc->pending.n == 0 && !lc->rebuild)
		return;
	/* An exited or recovering container comes back first. */
	lc->wake_failed = false;
	lc->waking = 0;
	for (int i = 0; i < lc->cs->n_inst; i++)
		if (session_wake(&lc->cs->inst[i], &lc->pending, woken, lc))
			lc->waking++;
	if (lc->waking > 0) {
		lc->busy = true;
		return;
	}
	if (lc->held.n > 0) {
		/* What could not be synced goes again, as older than this. */
		changeset_merge(&lc->held, &lc->pending);
		lc->pending = lc->held;
		changeset_init(&lc->held);
	}
	lc->busy = true;
	lc->current = lc->pending;
	changeset_init(&lc->pending);
	lc->t0 = lc->current.first_event_ns ? lc->current.first_event_ns : now_ns();
	lc->t_settled = lc->current.settled_ns;
	lc->t_hashed = lc->current.hashed_ns;
	lc->t_started = now_ns();
	lc->t_applied = 0;
	/* A function's update lands between invocations: the one in flight
	   finishes first, and new ones wait for the new code. */
	if (!session_function_hold(lc->cs, begin_update, lc))
		begin_update(lc);
}

/* ---- the control API's trigger and restart ---- */

int session_live_trigger(struct cstate *cs, char **cause)
{
	struct live_c *lc = cs->live;
	struct live *lv = lc != NULL ? lc->s->live : NULL;
	struct changeset all;
	uint64_t now = now_ns();
	bool any = false;

	if (lv == NULL || lv->stopping) {
		*cause = xasprintf("'%s' is not running", cs->c->name);
		return DW_NOTREADY;
	}
	for (size_t i = 0; i < cs->c->n_steps; i++)
		any |= cs->c->steps[i].kind == STEP_SYNC;
	if (!any || lv->w == NULL || !lv->scanned) {
		/* Nothing to sync: the whole update is a rebuild. */
		lc->rebuild = true;
		free(lc->reason);
		lc->reason = xstrdup("triggered through the control API");
		live_kick(lc);
		return 0;
	}
	/* Every file as changed: the plan writes all the synced ones and
	   runs every step a file triggers, through the usual update path
	   (one at a time per container, reported like any other). */
	changeset_init(&all);
	watcher_snapshot(lv->w, ".", &all);
	all.first_event_ns = all.settled_ns = all.hashed_ns = now;
	changeset_merge(&lc->pending, &all);
	live_kick(lc);
	return 0;
}

static void api_restarted(struct instance *in, int err, void *arg)
{
	struct live_c *lc = arg;

	if (err != 0)
		lc->update_failed = true;
	if (--lc->left > 0)
		return;
	lc->busy = false;
	session_function_release(lc->cs);
	session_say(lc->s, in, "restarted", "%s · %.0f ms",
		    lc->update_failed ? "restart failed" : "restarted and ready",
		    (double)(now_ns() - lc->t0) / 1e6);
	live_kick(lc);
}

static void restart_all(void *arg)
{
	struct live_c *lc = arg;

	lc->left = lc->cs->n_inst;
	for (int i = 0; i < lc->cs->n_inst; i++) {
		channel_reset(lc->li[i].ch);
		session_restart(&lc->cs->inst[i], api_restarted, lc);
	}
}

int session_live_restart(struct cstate *cs, char **cause)
{
	struct live_c *lc = cs->live;

	if (lc == NULL || lc->s->shutting_down || !lc->s->all_ready) {
		*cause = xasprintf("'%s' is not ready yet", cs->c->name);
		return DW_NOTREADY;
	}
	if (lc->busy) {
		*cause = xasprintf("'%s' is being updated; try again once it is done",
				   cs->c->name);
		return DW_NOTREADY;
	}
	lc->busy = true;
	lc->update_failed = false;
	lc->t0 = now_ns();
	/* A function restarts between invocations; queued ones wait. */
	if (!session_function_hold(cs, restart_all, lc))
		restart_all(lc);
	return 0;
}

