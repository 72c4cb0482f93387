/*
 * Changes in `up --swarm`. Each settled change set is decided per
 * container (decide.c, as in `up`): a live update goes to every task of
 * the service at once, each through the engine of its own node, and is
 * done when all have answered; a rebuild builds, pushes and rolls the
 * service to the new image (POST /services/{id}/update with the version
 * index), after which each new task is caught up by swarm-tasks.c. At
 * most one update is in flight per service; what arrives meanwhile waits
 * in the pending set and goes next. A task that is being caught up gets
 * another catch-up instead of the update, so that no change passes it by.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/util.h"
#include "engine/swarm.h"
#include "up/gone.h"
#include "up/swarm-int.h"

void swarm_on_change(struct watcher *w, struct changeset *cs, void *arg)
{
	struct swarm *sw = arg;

	(void)w;
	if (sw->stopping)
		return;
	gone_note(&sw->gone, cs);
	for (size_t i = 0; i < sw->n_sv; i++) {
		struct swarm_svc *sv = &sw->sv[i];
		char *reason = NULL;
		enum decision d = decide(&sv->dc, cs, &reason);

		if (d == DECIDE_NOTHING) {
			free(reason);
			continue;
		}
		changeset_merge_copy(&sv->pending, cs);
		if (sv->rebuild_due && d < DECIDE_REBUILD) {
			d = DECIDE_REBUILD;
			free(reason);
			reason = xstrdup("the last rebuild failed");
		}
		sv->rebuild_due = false;
		if (d >= DECIDE_REBUILD && !sv->rebuild) {
			sv->rebuild = true;
			free(sv->reason);
			sv->reason = reason;
			reason = NULL;
		}
		free(reason);
		swarm_kick(sv);
	}
}

/* ---- a live update ---- */

static void report(struct swarm_svc *sv, int total)
{
	const struct sync_plan *p = &sv->plan;
	uint64_t now = now_ns();
	struct buf b;

	buf_init(&b, 1u << 16);
	if (sv->failed_step >= 0)
		buf_addf(&b, "update failed: run '%s' exited %d; fix it and save again · ",
			 p->runs[sv->failed_step], sv->failed_rc);
	buf_addf(&b, "synced %zu file%s", p->n_writes, p->n_writes == 1 ? "" : "s");
	if (p->n_deletes > 0)
		buf_addf(&b, ", %zu deleted", p->n_deletes);
	buf_addf(&b, " to %d of %d task%s", sv->n_applied, total, total == 1 ? "" : "s");
	for (size_t i = 0; i < p->n_names && i < 3; i++)
		buf_addf(&b, "%s%s", i ? ", " : " (", p->names[i]);
	if (p->n_names > 3)
		buf_addf(&b, ", +%zu more", p->n_names - 3);
	if (p->n_names > 0)
		buf_adds(&b, ")");
	buf_addf(&b, " · %.1f ms", (double)(now - sv->t0) / 1e6);
	if (sv->current.first_event_ns != 0)
		buf_addf(&b, ", %.1f ms from the save",
			 (double)(now - sv->current.first_event_ns) / 1e6);
	swarm_say(sv->sw, sv, 0, "%s", buf_str(&b));
	buf_release(&b);
}

static void update_end(struct swarm_svc *sv)
{
	int total = 0;

	if (--sv->left > 0)
		return;
	for (int s = 0; s < sv->n_tasks; s++)
		total += sv->tasks[s].cid != NULL;
	if (!sv->sw->stopping)
		report(sv, total);
	sync_plan_release(&sv->plan);
	memset(&sv->plan, 0, sizeof(sv->plan));
	changeset_release(&sv->current);
	changeset_init(&sv->current);
	sv->busy = false;
	swarm_kick(sv);
}

void swarm_live_dropped(struct swarm_task *t)
{
	update_end(t->sv);
}

static void applied(struct channel *ch, int err, int step, int rc, void *arg)
{
	struct swarm_task *t = arg;
	struct swarm_svc *sv = t->sv;

	(void)ch;
	if (!t->applying)
		return; /* counted when its task ended */
	t->applying = false;
	if (err != 0) {
		/* Its channel died (a task restarting, say): a catch-up
		   brings it level once it is back. */
		swarm_say(sv->sw, sv, t->slot, "could not sync: %s; catching up", dw_strerror(err));
		channel_reset(t->ch);
		t->synced = t->ready = false;
		t->again = false;
		swarm_catch_up(t);
	} else {
		if (step >= 0) {
			sv->failed_step = step;
			sv->failed_rc = rc;
		}
		sv->n_applied++;
		if (t->again) {
			t->again = false;
			swarm_catch_up(t);
		}
	}
	update_end(sv);
}

static void start_live(struct swarm_svc *sv)
{
	struct swarm *sw = sv->sw;

	sv->current = sv->pending;
	changeset_init(&sv->pending);
	sync_plan_build(sw->p->root, sv->c, &sv->current, &sv->plan);
	if (sv->plan.n_members == 0 && sv->plan.deletes.len == 0 && sv->plan.n_runs == 0) {
		sync_plan_release(&sv->plan);
		memset(&sv->plan, 0, sizeof(sv->plan));
		changeset_release(&sv->current);
		changeset_init(&sv->current);
		return;
	}
	sv->busy = true;
	sv->t0 = now_ns();
	sv->left = 1; /* held while the updates start */
	sv->n_applied = 0;
	sv->failed_step = -1;
	for (int s = 0; s < sv->n_tasks; s++) {
		struct swarm_task *t = &sv->tasks[s];

		if (t->catching) {
			t->again = true; /* its catch-up started before this change */
			continue;
		}
		if (!t->synced || t->node == NULL || t->node->e == NULL)
			continue; /* its catch-up, when it comes, covers this */
		t->applying = true;
		sv->left++;
		if (channel_apply(swarm_task_channel(t), &sv->plan, applied, t) != 0) {
			t->applying = false;
			sv->left--;
			t->synced = t->ready = false;
			swarm_catch_up(t);
		}
	}
	update_end(sv);
}

/* ---- a rebuild: push, then a rolling update ---- */

static void updated(void *arg, int err, const char *id, const char *cause)
{
	struct swarm_svc *sv = arg;

	(void)id;
	sv->busy = false;
	if (sv->sw->stopping)
		return;
	if (err != 0) {
		swarm_say(sv->sw, sv, 0, "rolling update failed: %s; the next change retries",
			  cause != NULL ? cause : dw_strerror(err));
		sv->roll_t0 = 0;
		sv->rebuild_due = true;
		return;
	}
	free(sv->image);
	sv->image = sv->rolling;
	sv->rolling = NULL;
	sv->roll_t0 = sv->rebuild_t0;
	swarm_say(sv->sw, sv, 0, "rolling update to %s", sv->image);
	swarm_kick(sv);
}

static void rebuilt(struct swarm_svc *sv, int err)
{
	struct swarm *sw = sv->sw;

	if (sw->stopping) {
		sv->busy = false;
		return;
	}
	if (err == 0)
		err = engine_service_update(sw->mgr, sv->id, sv->rolling, sw->auth, updated, sv);
	if (err != 0) {
		sv->busy = false;
		sv->roll_t0 = 0;
		sv->rebuild_due = true;
		swarm_say(sw, sv, 0, "rebuild failed; the next change retries");
	}
}

static void start_rebuild(struct swarm_svc *sv)
{
	sv->busy = true;
	sv->rebuild = false;
	swarm_say(sv->sw, sv, 0, "rebuilding: %s", sv->reason != NULL ? sv->reason : "asked");
	/* The new image holds the tree as the build reads it; what changes
	   after that is pending again, and the new tasks' catch-ups see it. */
	changeset_release(&sv->pending);
	changeset_init(&sv->pending);
	sv->roll_t0 = 0;
	sv->rebuild_t0 = now_ns();
	swarm_image(sv, rebuilt);
}

void swarm_kick(struct swarm_svc *sv)
{
	if (sv->busy || sv->sw->stopping || sv->id == NULL)
		return;
	if (sv->rebuild)
		start_rebuild(sv);
	else if (sv->pending.n > 0)
		start_live(sv);
}
