/*
 * Live update inside an `up` session. Once every container is ready the
 * watcher starts; each settled change set is decided per container
 * (decide.c) and merged into that container's pending set. At most one
 * update is in flight per container: when it ends, whatever arrived
 * meanwhile goes next, as one merged set. Replicas are updated in parallel
 * through their own channels, and the update is done when all are.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "base/error.h"
#include "base/log.h"
#include "base/util.h"
#include "build/image.h"
#include "cmd-util.h"
#include "decide.h"
#include "session.h"
#include "sync/channel.h"
#include "sync/plan.h"
#include "watch/ignore.h"

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
	char *reason;
	bool busy;
	struct changeset current;
	struct sync_plan plan;
	uint64_t t0;
	int left;
	int failed_step;
	int failed_rc;
	int transport_err;
	int retries;
	bool update_failed;
	struct live_inst *li;
};

struct live {
	struct session *s;
	struct watcher *w;
	struct watch_options wo;
	struct live_c *c;
	size_t n;
	bool stopping;
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
	printf("%s%-*s |%s %.*s\n", log_colour_code(li->in->colour), s->label_width,
	       li->in->label, log_colour_reset(), (int)n, line);
	fflush(stdout);
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
	printf("%s%-*s%s  %s\n", log_colour_code(lc->cs->colour), s->label_width,
	       lc->cs->c->name, log_colour_reset(), buf_str(&b));
	fflush(stdout);
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
		/* The channel died (a restart, say): apply the same set again. */
		if (lc->retries++ < 2) {
			changeset_merge(&lc->pending, &lc->current);
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
	report(lc, lc->update_failed ? "rebuilt, but the new container did not become ready; kept the old one"
				     : "rebuilt and replaced");
	finish_update(lc);
}

static void rebuild_progress(void *arg, const char *line)
{
	struct live_c *lc = arg;

	session_say(lc->s, &lc->cs->inst[0], "build", "%s", line);
}

static void rebuilt(void *arg, int err, const char *ref, bool built, const char *cause)
{
	struct live_c *lc = arg;

	(void)built;
	if (lc->s->shutting_down) {
		finish_update(lc);
		return;
	}
	if (err != 0) {
		lc->update_failed = true;
		session_say(lc->s, &lc->cs->inst[0], "update-failed",
			    "rebuild failed, the running container is unchanged: %s",
			    cause != NULL ? cause : dw_strerror(err));
		finish_update(lc);
		return;
	}
	if (lc->cs->image_ref != NULL && strcmp(lc->cs->image_ref, ref) == 0) {
		session_say(lc->s, &lc->cs->inst[0], "update",
			    "image %s unchanged; nothing to replace", ref);
		finish_update(lc);
		return;
	}
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

	session_say(lc->s, &lc->cs->inst[0], "rebuild", "rebuilding: %s", lc->reason);
	free(lc->reason);
	lc->reason = NULL;
	lc->update_failed = false;
	memset(&lc->plan, 0, sizeof(lc->plan));
	if (decide_load(&lc->dc, lc->cs->c, &cause) != 0) {
		session_say(lc->s, &lc->cs->inst[0], "notice", "%s", cause);
		free(cause);
	}
	if (lc->cs->c->build == NULL) {
		/* A registry image: recreate it (fall_back_on). */
		rebuilt(lc, 0, lc->cs->image_ref, false, NULL);
		return;
	}
	if (image_ensure(lc->s->e, lc->s->p, lc->cs->c, rebuild_progress, rebuilt, lc) != 0)
		rebuilt(lc, DW_BUILD, NULL, false, "cannot start the build");
}

static void kick(struct live_c *lc)
{
	struct live *lv = lc->s->live;

	if (lc->busy || lv == NULL || lv->stopping || lc->s->shutting_down)
		return;
	if (lc->pending.n == 0 && !lc->rebuild)
		return;
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
	if (lc->rebuild) {
		lc->rebuild = false;
		/* The new image carries these changes. */
		changeset_release(&lc->current);
		changeset_release(&lc->held);
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
	changeset_merge(into, &tmp);
}

static void on_change(struct watcher *w, struct changeset *cs, void *arg)
{
	struct live *lv = arg;

	(void)w;
	for (size_t i = 0; i < lv->n; i++) {
		struct live_c *lc = &lv->c[i];
		char *reason = NULL;
		enum decision d = decide(&lc->dc, cs, &reason);

		if (d == DECIDE_NOTHING)
			continue;
		copy_into(&lc->pending, cs);
		if (d == DECIDE_REBUILD && !lc->rebuild) {
			lc->rebuild = true;
			free(lc->reason);
			lc->reason = reason;
			reason = NULL;
		}
		free(reason);
		kick(lc);
	}
}

static void on_ready(struct watcher *w, int err, void *arg)
{
	struct live *lv = arg;
	struct tree_summary s;

	if (err != 0)
		return;
	watcher_summary(w, &s);
	session_say(lv->s, NULL, "watching", "watching %llu files for changes",
		    (unsigned long long)s.files);
}

void session_live_start(struct session *s)
{
	struct live *lv = xcalloc(1, sizeof(*lv));
	char *cause = NULL;

	lv->s = s;
	s->live = lv;
	lv->n = s->n_cs;
	lv->c = xcalloc(lv->n, sizeof(*lv->c));
	for (size_t i = 0; i < lv->n; i++) {
		struct live_c *lc = &lv->c[i];

		lc->s = s;
		lc->cs = &s->cs[i];
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
	if (watcher_new(s->loop, &lv->wo, on_change, on_ready, lv, &lv->w, &cause) != 0) {
		session_say(s, NULL, "notice", "not watching: %s", cause);
		free(cause);
		lv->w = NULL;
	}
}

void session_live_stop(struct session *s)
{
	struct live *lv = s->live;

	if (lv == NULL || lv->stopping)
		return;
	lv->stopping = true;
	if (lv->w != NULL)
		watcher_close(lv->w);
	lv->w = NULL;
	for (size_t i = 0; i < lv->n; i++)
		for (int r = 0; r < lv->c[i].cs->n_inst; r++)
			if (lv->c[i].li[r].ch != NULL)
				channel_reset(lv->c[i].li[r].ch);
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
	watch_options_release(&lv->wo);
	free(lv);
	s->live = NULL;
}

/* ---- initial sync ---- */

struct initial {
	struct instance *in;
	session_ready_cb cb;
	void *arg;
	struct sync_plan plan;
	struct channel *ch;
	struct live_inst li;
};

/* Every file under the container's sync sources, as "added". */
static void walk_add(struct ignore *ig, const char *root, const char *rel,
		     struct changeset *cs)
{
	char *abs = rel[0] ? path_join(root, rel) : xstrdup(root);
	DIR *d = opendir(abs);
	struct dirent *de;

	if (d == NULL) {
		struct stat st;

		/* A single-file sync source. */
		if (lstat(abs, &st) == 0 && (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))) {
			struct change c = {.path = (char *)rel, .kind = CHANGE_ADDED,
					   .type = S_ISLNK(st.st_mode) ? CTYPE_SYMLINK : CTYPE_FILE};

			changeset_add(cs, &c);
		}
		free(abs);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		char *crel;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		crel = rel[0] ? xasprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    !ignore_path(ig, crel, S_ISDIR(st.st_mode))) {
			struct change c = {.path = crel, .kind = CHANGE_ADDED,
					   .type = S_ISDIR(st.st_mode) ? CTYPE_DIR
						   : S_ISLNK(st.st_mode) ? CTYPE_SYMLINK : CTYPE_FILE};

			if (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))
				changeset_add(cs, &c);
			if (S_ISDIR(st.st_mode))
				walk_add(ig, root, crel, cs);
		}
		free(crel);
	}
	closedir(d);
	free(abs);
}

static void initial_done(struct channel *ch, int err, int step, int rc, void *arg)
{
	struct initial *x = arg;

	(void)ch, (void)step, (void)rc;
	session_say(x->in->s, x->in, "update", "initial sync of %zu files", x->plan.n_writes);
	sync_plan_release(&x->plan);
	channel_free(x->ch);
	x->cb(x->in, err, x->arg);
	free(x);
}

bool session_live_initial(struct instance *in, session_ready_cb cb, void *arg)
{
	const struct project_container *c = in->cs->c;
	struct session *s = in->s;
	struct watch_options wo;
	struct ignore ig;
	struct changeset cs;
	struct initial *x;
	bool any = false;

	for (size_t i = 0; i < c->n_steps; i++)
		any |= c->steps[i].kind == STEP_SYNC;
	if (!any || in->id == NULL)
		return false;
	watch_options_for(&wo, s->p, NULL);
	ignore_init(&ig, s->p->root, wo.ignore);
	for (size_t i = 0; i < wo.n_contexts; i++)
		ignore_add_context(&ig, s->p->root, wo.contexts[i].rel, wo.contexts[i].dockerfile);
	changeset_init(&cs);
	for (size_t i = 0; i < c->n_steps; i++)
		if (c->steps[i].kind == STEP_SYNC)
			walk_add(&ig, s->p->root, strcmp(c->steps[i].from, ".") ? c->steps[i].from : "", &cs);
	changeset_normalize(&cs);
	ignore_close(&ig);
	watch_options_release(&wo);
	x = xcalloc(1, sizeof(*x));
	x->in = in;
	x->cb = cb;
	x->arg = arg;
	sync_plan_build(s->p->root, c, &cs, &x->plan);
	if (x->plan.n_members == 0) {
		changeset_release(&cs);
		sync_plan_release(&x->plan);
		free(x);
		return false;
	}
	changeset_release(&cs);
	/* Only the files: run steps and restarts belong to edits. */
	sync_plan_drop_runs(&x->plan);
	x->plan.restart = false;
	x->li.in = in;
	x->li.lc = NULL;
	x->ch = channel_new(s->e, in->id, NULL, NULL, &x->li);
	if (channel_apply(x->ch, &x->plan, initial_done, x) != 0) {
		channel_free(x->ch);
		sync_plan_release(&x->plan);
		free(x);
		return false;
	}
	return true;
}
