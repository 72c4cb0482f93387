/*
 * Live update inside an `up` session. Once every container is ready the
 * watcher starts; each settled change set is decided per container
 * (decide.c) and merged into that container's pending set. At most one
 * update is in flight per container: when it ends, whatever arrived
 * meanwhile goes next, as one merged set. Replicas are updated in parallel
 * through their own channels, and the update is done when all are.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/error.h"
#include "base/log.h"
#include "base/util.h"
#include "build/image.h"
#include "cmd-util.h"
#include "decide.h"
#include "journal.h"
#include "monitor.h"
#include "session.h"
#include "sync/catchup.h"
#include "sync/channel.h"
#include "sync/plan.h"
#include "up-api.h"
#include "watch/tree.h"
#include "watch/watch.h"

struct live_c;

struct live_inst {
	struct live_c *lc;
	struct instance *in;
	struct channel *ch;
	char *cid; /* the container the channel serves */
};

struct live_c {
	struct session *s;
	struct cstate *cs;
	struct decide_ctx dc;
	struct changeset pending;
	struct changeset held; /* could not be synced: retried with the next
				  change, so it is never dropped */
	bool rebuild;
	bool recreate;	  /* ... replacing the container even if the tag stays */
	bool recreating;  /* the rebuild in flight is one */
	bool offline_recreate; /* a fall_back_on file changed while devwatch
				  was stopped: an adopted container is
				  recreated once everything is ready */
	bool rebuild_due; /* the last rebuild failed: the next change retries */
	char *reason;
	bool busy;
	struct changeset current;
	struct sync_plan plan;
	uint64_t t0;
	uint64_t t_settled, t_hashed, t_started, t_applied; /* for the events */
	int left;
	int failed_step;
	int failed_rc;
	int transport_err;
	int retries;
	int waking;		/* instances session_wake is bringing back */
	bool wake_failed;
	bool update_failed;
	struct live_inst *li;
};

struct live {
	struct session *s;
	struct watcher *w;
	struct watch_options wo;
	struct live_c *c;
	size_t n;
	bool scanned;	  /* the watcher's first scan is done */
	bool images_started;
	uv_timer_t *start; /* starts the images after the first settle */
	bool stopping;
	struct tree gone; /* paths the local tree had and lost: a catch-up
			     deletes these in a container, and only these */
	struct catchup_job *jobs; /* catch-ups in flight */
};

static void kick(struct live_c *lc);

/* ---- output ---- */

static void out_line(const char *line, size_t n, void *arg)
{
	struct live_inst *li = arg;
	struct session *s = li->lc->s;

	if (s->o.json) {
		char *l = xstrndup(line, n);

		session_say(s, li->in, "output", "%s", l);
		free(l);
		return;
	}
	{
		char *l = xstrndup(line, n);

		up_api_said(s, li->in, "output", l);
		free(l);
	}
	progress_hide(&s->progress);
	printf("%s%-*s |%s %.*s\n", log_colour_code(li->in->colour), s->label_width,
	       li->in->label, log_colour_reset(), (int)n, line);
	fflush(stdout);
	progress_show(&s->progress);
}

static void notice(const char *msg, void *arg)
{
	struct live_inst *li = arg;

	session_say(li->lc->s, li->in, "notice", "%s", msg);
}

/* One line per update: the container (not a replica: all of them were
   updated), what happened, the files, each step with its time, and the
   time from the first event to applied. With --json, the same as fields. */
static void report(struct live_c *lc, const char *what)
{
	struct session *s = lc->s;
	const struct sync_plan *p = &lc->plan;
	double ms = (double)(now_ns() - lc->t0) / 1e6;
	struct buf b;

	up_api_update(s, lc->cs, &(struct up_update){
		.what = what, .failed = lc->update_failed, .rebuilt = strcmp(what, "recreated") == 0 ||
		strncmp(what, "rebuilt", 7) == 0, .plan = p, .ch = lc->li[0].ch,
		.failed_step = lc->failed_step, .failed_rc = lc->failed_rc,
		.first_event = lc->t0, .settled = lc->t_settled, .hashed = lc->t_hashed,
		.started = lc->t_started, .applied = lc->t_applied, .ended = now_ns()});
	if (s->o.json) {
		cJSON *o = cJSON_CreateObject(), *files, *steps;
		char *t;

		cJSON_AddStringToObject(o, "event", lc->update_failed ? "update-failed" : "update");
		cJSON_AddStringToObject(o, "container", lc->cs->c->name);
		cJSON_AddStringToObject(o, "what", what);
		cJSON_AddNumberToObject(o, "replicas", lc->cs->n_inst);
		cJSON_AddNumberToObject(o, "count", (double)p->n_names);
		files = cJSON_AddArrayToObject(o, "files");
		for (size_t i = 0; i < p->n_names && i < 100; i++)
			cJSON_AddItemToArray(files, cJSON_CreateString(p->names[i]));
		steps = cJSON_AddArrayToObject(o, "steps");
		for (size_t i = 0; i < p->n_runs && lc->li[0].ch != NULL; i++) {
			cJSON *st = cJSON_CreateObject();

			cJSON_AddStringToObject(st, "run", p->runs[i]);
			cJSON_AddNumberToObject(st, "ms", (double)channel_step_ns(lc->li[0].ch, i) / 1e6);
			cJSON_AddItemToArray(steps, st);
		}
		cJSON_AddBoolToObject(o, "restarted", p->restart && !lc->update_failed);
		cJSON_AddNumberToObject(o, "ms", ms);
		t = cJSON_PrintUnformatted(o);
		printf("%s\n", t);
		fflush(stdout);
		free(t);
		cJSON_Delete(o);
		return;
	}
	buf_init(&b, 1u << 16);
	buf_adds(&b, what);
	if (p->n_names > 0) {
		buf_addf(&b, " %zu file%s (", p->n_names, p->n_names == 1 ? "" : "s");
		for (size_t i = 0; i < p->n_names && i < 3; i++) {
			const char *base = strrchr(p->names[i], '/');

			buf_addf(&b, "%s%s", i ? ", " : "", base ? base + 1 : p->names[i]);
		}
		if (p->n_names > 3)
			buf_addf(&b, ", +%zu more", p->n_names - 3);
		buf_adds(&b, ")");
	}
	if (lc->cs->n_inst > 1)
		buf_addf(&b, " to %d replicas", lc->cs->n_inst);
	for (size_t i = 0; i < p->n_runs && lc->li[0].ch != NULL; i++) {
		uint64_t ns = channel_step_ns(lc->li[0].ch, i);

		if (ns == 0 && (int)i > lc->failed_step && lc->failed_step >= 0)
			break;
		buf_addf(&b, " · run '%s' %.0f ms", p->runs[i], (double)ns / 1e6);
	}
	if (p->restart && !lc->update_failed)
		buf_adds(&b, " · restarted");
	buf_addf(&b, " · %.0f ms", ms);
	progress_hide(&s->progress);
	printf("%s%-*s%s  %s\n", log_colour_code(lc->cs->colour), s->label_width,
	       lc->cs->c->name, log_colour_reset(), buf_str(&b));
	fflush(stdout);
	progress_show(&s->progress);
	buf_release(&b);
}

/* ---- one update ---- */

static void finish_update(struct live_c *lc)
{
	sync_plan_release(&lc->plan);
	changeset_release(&lc->current);
	lc->busy = false;
	kick(lc);
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
		if (session_engine_lost(lc->s) || lc->retries++ < 2) {
			changeset_merge(&lc->current, &lc->pending);
			lc->pending = lc->current;
			changeset_init(&lc->current);
			finish_update(lc);
			return;
		}
		lc->update_failed = true;
		lc->retries = 0;
		report(lc, "could not sync");
		session_say(lc->s, &lc->cs->inst[0], "notice",
			    "what could not be synced goes again with the next change");
		/* Keep it for the next change rather than drop it; counted from
		   that change's first event. */
		changeset_merge(&lc->held, &lc->current);
		lc->held.first_event_ns = 0;
		finish_update(lc);
		return;
	}
	lc->retries = 0;
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
	li->ch = channel_new(li->lc->s->e, li->cid, out_line, notice, li);
	return li->ch;
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

	if (lc->s->o.json ||
	    !progress_update(&lc->s->progress, lc->cs->c->name, lc->cs->colour, line))
		session_say(lc->s, &lc->cs->inst[0], "build", "%s", line);
}

static void rebuilt(void *arg, int err, const char *ref, bool built, const char *cause)
{
	struct live_c *lc = arg;

	(void)built;
	progress_done(&lc->s->progress, lc->cs->c->name, err != 0);
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
		kick(lc);
}

static void kick(struct live_c *lc)
{
	struct live *lv = lc->s->live;

	if (lc->busy || lv == NULL || lv->stopping || lc->s->shutting_down ||
	    !lc->s->all_ready)
		return;
	if (session_engine_lost(lc->s))
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

/* ---- the watcher ---- */

static void copy_into(struct changeset *into, const struct changeset *cs)
{
	struct changeset tmp;

	changeset_init(&tmp);
	for (size_t i = 0; i < cs->n; i++)
		changeset_add(&tmp, &cs->v[i]);
	tmp.first_event_ns = cs->first_event_ns;
	tmp.settled_ns = cs->settled_ns;
	tmp.hashed_ns = cs->hashed_ns;
	changeset_merge(into, &tmp);
}

/* Keep the gone set: a removed path joins it, one that comes back leaves. */
static void note_gone(struct live *lv, const struct changeset *cs)
{
	for (size_t i = 0; i < cs->n; i++) {
		const struct change *c = &cs->v[i];
		size_t n = strlen(c->path);

		if (c->kind == CHANGE_REMOVED) {
			tree_put(&lv->gone, c->path, n);
		} else if (c->kind == CHANGE_ADDED) {
			struct tentry *e = tree_get(&lv->gone, c->path, n);

			if (e != NULL)
				tree_del(&lv->gone, e);
		}
	}
}

static void on_change(struct watcher *w, struct changeset *cs, void *arg)
{
	struct live *lv = arg;

	(void)w;
	/* Known before any update can carry them, even past a kill -9. */
	journal_append(lv->s->p->root, cs);
	note_gone(lv, cs);
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
		copy_into(&lc->pending, cs);
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
		kick(lc);
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
	session_images_start(lv->s);
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
		session_images_start(s);
	}
}

void session_live_all_ready(struct session *s)
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
		kick(lc);
	}
}

static void catchup_job_cancel(struct catchup_job *j);

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
	while (lv->jobs != NULL)
		catchup_job_cancel(lv->jobs);
	for (size_t i = 0; i < lv->n; i++)
		for (int r = 0; r < lv->c[i].cs->n_inst; r++)
			channel_reset(lv->c[i].li[r].ch);
}

void session_live_resume(struct session *s)
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
		kick(lc);
	}
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
		kick(lc);
		return 0;
	}
	/* Every file as changed: the plan writes all the synced ones and
	   runs every step a file triggers, through the usual update path
	   (one at a time per container, reported like any other). */
	changeset_init(&all);
	watcher_snapshot(lv->w, ".", &all);
	all.first_event_ns = all.settled_ns = all.hashed_ns = now;
	changeset_merge(&lc->pending, &all);
	kick(lc);
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
	session_say(lc->s, in, "restarted", "%s · %.0f ms",
		    lc->update_failed ? "restart failed" : "restarted and ready",
		    (double)(now_ns() - lc->t0) / 1e6);
	kick(lc);
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
	lc->left = cs->n_inst;
	for (int i = 0; i < cs->n_inst; i++) {
		channel_reset(lc->li[i].ch);
		session_restart(&cs->inst[i], api_restarted, lc);
	}
	return 0;
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

/* ---- catch-up sync ---- */

/*
 * One instance's catch-up: list and compare (sync/catchup.c), then apply
 * the difference through a channel of its own (the instance is not ready
 * yet, so no live update uses it), with the run steps the difference
 * triggers.
 */
struct catchup_job {
	struct catchup_job *next, **prev;
	struct instance *in;
	session_catchup_cb cb;
	struct catchup *cu;
	struct changeset diff;
	struct sync_plan plan;
	struct channel *ch;
	struct live_inst li;
	uint64_t t0;
};

static void job_unlink(struct catchup_job *j)
{
	*j->prev = j->next;
	if (j->next != NULL)
		j->next->prev = j->prev;
}

static void job_end(struct catchup_job *j, int err, bool restart)
{
	struct instance *in = j->in;
	session_catchup_cb cb = j->cb;

	job_unlink(j);
	sync_plan_release(&j->plan);
	changeset_release(&j->diff);
	channel_free(j->ch);
	free(j);
	cb(in, err, restart);
}

static void catchup_job_cancel(struct catchup_job *j)
{
	job_unlink(j);
	catchup_cancel(j->cu);
	sync_plan_release(&j->plan);
	changeset_release(&j->diff);
	channel_free(j->ch);
	free(j);
}

static void caught_up_applied(struct channel *ch, int err, int step, int rc, void *arg)
{
	struct catchup_job *j = arg;
	struct session *s = j->in->s;
	const struct sync_plan *p = &j->plan;
	struct buf b;

	(void)ch;
	buf_init(&b, 1u << 16);
	buf_addf(&b, "caught up: %zu written, %zu deleted", p->n_writes, p->n_deletes);
	for (size_t i = 0; i < p->n_names && i < 3; i++)
		buf_addf(&b, "%s%s", i ? ", " : " (", p->names[i]);
	if (p->n_names > 3)
		buf_addf(&b, ", +%zu more", p->n_names - 3);
	if (p->n_names > 0)
		buf_adds(&b, ")");
	if (step >= 0)
		buf_addf(&b, " · run '%s' exited %d", p->runs[step], rc);
	buf_addf(&b, " · %.0f ms", (double)(now_ns() - j->t0) / 1e6);
	session_say(s, j->in, "catch-up", "%s", buf_str(&b));
	buf_release(&b);
	/* A failed run step is the user's to fix, as in any update: the
	   container still counts as caught up, and the next save retries. */
	job_end(j, err, err == 0 && p->restart);
}

static void compared(int err, struct changeset *diff, void *arg)
{
	struct catchup_job *j = arg;
	struct session *s = j->in->s;
	const struct project_container *c = j->in->cs->c;

	j->cu = NULL;
	if (err != 0) {
		job_end(j, err, false);
		return;
	}
	changeset_merge(&j->diff, diff);
	sync_plan_build(s->p->root, c, &j->diff, &j->plan);
	if (j->plan.n_members == 0 && j->plan.n_deletes == 0) {
		log_debug("%s: catch-up: nothing differs (%.1f ms)", j->in->label,
			  (double)(now_ns() - j->t0) / 1e6);
		job_end(j, 0, false);
		return;
	}
	if (channel_apply(j->ch, &j->plan, caught_up_applied, j) != 0)
		job_end(j, DW_CANCELED, false);
}

/* The gone paths under the container's sync sources, as a list to copy in. */
static char **gone_for(const struct live *lv, const struct project_container *c,
		       size_t *n)
{
	char **v = NULL;
	size_t i = 0, k = 0;
	struct tentry *e;

	while ((e = tree_next(&lv->gone, &i)) != NULL) {
		char *to = sync_map(c, e->path);

		if (to == NULL)
			continue;
		free(to);
		v = xreallocarray(v, k + 1, sizeof(char *));
		v[k++] = xstrdup(e->path);
	}
	*n = k;
	return v;
}

bool session_live_catchup(struct instance *in, session_catchup_cb cb)
{
	struct session *s = in->s;
	struct live *lv = s->live;
	const struct project_container *c = in->cs->c;
	struct catchup_job *j;
	struct changeset local;
	char **gone;
	size_t n_gone;
	bool any = false;

	for (size_t i = 0; i < c->n_steps; i++)
		any |= c->steps[i].kind == STEP_SYNC;
	if (!any || in->id == NULL || lv == NULL || lv->w == NULL || !lv->scanned)
		return false;
	changeset_init(&local);
	for (size_t i = 0; i < c->n_steps; i++)
		if (c->steps[i].kind == STEP_SYNC)
			watcher_snapshot(lv->w, c->steps[i].from, &local);
	gone = gone_for(lv, c, &n_gone);
	/* What the image itself brought under the sync targets, from an
	   older tree, and the tree no longer has. */
	if (c->build != NULL && in->cs->image_ref != NULL) {
		size_t n_img = 0;
		char **img = image_synced_paths(s->p, in->cs->image_ref, &n_img);

		for (size_t i = 0; i < n_img; i++) {
			if (watcher_has(lv->w, img[i])) {
				free(img[i]);
				continue;
			}
			gone = xreallocarray(gone, n_gone + 1, sizeof(*gone));
			gone[n_gone++] = img[i];
		}
		free(img);
	}
	j = xcalloc(1, sizeof(*j));
	j->in = in;
	j->cb = cb;
	j->t0 = now_ns();
	changeset_init(&j->diff);
	/* One channel lists (through the agent, when it runs) and applies. */
	j->li.in = in;
	j->li.lc = in->cs->live;
	/* Its fallback notice, if any, comes once, from the live channel. */
	j->ch = channel_new(s->e, in->id, out_line, NULL, &j->li);
	if (catchup_start(s->e, j->ch, in->id, c, &local, gone, n_gone, compared, j, &j->cu) != 0) {
		for (size_t i = 0; i < n_gone; i++)
			free(gone[i]);
		free(gone);
		changeset_release(&local);
		channel_free(j->ch);
		free(j);
		return false;
	}
	j->next = lv->jobs;
	j->prev = &lv->jobs;
	if (lv->jobs != NULL)
		lv->jobs->prev = &j->next;
	lv->jobs = j;
	return true;
}
