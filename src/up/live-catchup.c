/*
 * Catch-up syncs (DESIGN.md section 14), the session's catchup hook: make
 * an instance's synced paths equal to the local tree before it first
 * counts as ready. Deletes only what is known lost: the gone set, the
 * journal, the image's record of the synced paths it holds.
 */
#include "up/live-int.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/log.h"
#include "base/util.h"
#include "build/image.h"
#include "sync/catchup.h"
#include "sync/channel.h"
#include "up/gone.h"
#include "up/say.h"

/*
 * One instance's catch-up: list and compare (sync/catchup.c), then apply
 * the difference through a channel of its own (the instance is not ready
 * yet, so no live update uses it), with the run steps the difference
 * triggers. At the end the channel, its session open, goes to the
 * instance's live updates.
 */
struct catchup_job {
	struct catchup_job *next, **prev;
	struct instance *in;
	session_catchup_cb cb;
	struct catchup *cu;
	struct changeset diff;
	struct sync_plan plan;
	struct channel *ch;
	char *cid; /* the container ch serves */
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
	/* A restart ahead closes the session anyway. */
	if (restart)
		channel_free(j->ch);
	else
		live_adopt_channel(in, j->cid, j->ch);
	free(j->cid);
	free(j);
	cb(in, err, restart);
}

static void job_cancel(struct catchup_job *j)
{
	job_unlink(j);
	catchup_cancel(j->cu);
	sync_plan_release(&j->plan);
	changeset_release(&j->diff);
	channel_free(j->ch);
	free(j->cid);
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

bool live_catchup(struct instance *in, session_catchup_cb cb)
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
	gone = gone_under_sync(&lv->gone, c, &n_gone);
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
	/* It becomes the live channel: its fallback notice is the one. */
	j->cid = xstrdup(in->id);
	j->ch = channel_new(s->e, in->id, live_out_line, live_notice, &j->li);
	if (catchup_start(s->e, j->ch, in->id, c, &local, gone, n_gone, compared, j, &j->cu) != 0) {
		for (size_t i = 0; i < n_gone; i++)
			free(gone[i]);
		free(gone);
		changeset_release(&local);
		channel_free(j->ch);
		free(j->cid);
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


void live_catchup_cancel_all(struct live *lv)
{
	while (lv->jobs != NULL)
		job_cancel(lv->jobs);
}
