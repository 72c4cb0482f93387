/*
 * Which task runs where, for `up --swarm`. Every 250 ms (one round at a
 * time) GET /tasks of each service gives each slot's task and its
 * container; a node not seen before is looked up with GET /nodes and
 * reached through its own engine (swarm.nodes[hostname], else
 * tcp://Status.Addr:swarm.port). A slot whose container changed (the
 * first start, a task the swarm rescheduled after a crash, a rolling
 * update) gets a catch-up sync through that engine before it counts as
 * ready: what differs is written, what the tree lost is deleted, the
 * triggered steps run (DESIGN.md section 14).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/util.h"
#include "engine/swarm.h"
#include "up/gone.h"
#include "up/swarm-int.h"

#define POLL_MS 250

/* ---- nodes ---- */

static struct swarm_node *node_by_id(struct swarm *sw, const char *id)
{
	for (struct swarm_node *n = sw->nodes; n != NULL; n = n->next)
		if (strcmp(n->id, id) == 0)
			return n;
	return NULL;
}

static void got_nodes(void *arg, int err, struct engine_node *v, size_t n,
		      const char *cause)
{
	struct swarm *sw = arg;

	sw->nodes_pending = false;
	if (sw->stopping)
		return;
	if (err != 0) {
		swarm_say(sw, NULL, 0, "cannot list the nodes: %s", cause);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct swarm_node *nd;
		const char *named = project_swarm_node(sw->p, v[i].hostname);
		char *ecause = NULL;

		if (node_by_id(sw, v[i].id) != NULL || v[i].id[0] == '\0')
			continue;
		nd = xcalloc(1, sizeof(*nd));
		nd->id = xstrdup(v[i].id);
		nd->hostname = xstrdup(v[i].hostname);
		if (named != NULL)
			nd->address = xstrdup(named);
		else if (strchr(v[i].addr, ':') != NULL)
			nd->address = xasprintf("tcp://[%s]:%d", v[i].addr,
						sw->p->swarm_port ? sw->p->swarm_port : 2375);
		else
			nd->address = xasprintf("tcp://%s:%d", v[i].addr,
						sw->p->swarm_port ? sw->p->swarm_port : 2375);
		if (engine_new(sw->loop, nd->address, &nd->e, &ecause) != 0) {
			swarm_say(sw, NULL, 0, "node %s: %s", nd->hostname, ecause);
			free(ecause);
			nd->e = NULL;
		} else {
			swarm_say(sw, NULL, 0, "node %s: engine %s%s", nd->hostname, nd->address,
				  named != NULL ? " (swarm.nodes)" : " (its Status.Addr)");
		}
		nd->next = sw->nodes;
		sw->nodes = nd;
	}
}

static void refresh_nodes(struct swarm *sw)
{
	if (sw->nodes_pending)
		return;
	sw->nodes_pending = engine_nodes_list(sw->mgr, got_nodes, sw) == 0;
}

/* ---- a task's end ---- */

static void task_reset(struct swarm_task *t)
{
	bool was_applying = t->applying;

	if (t->cu != NULL)
		catchup_cancel(t->cu);
	t->cu = NULL;
	t->applying = false;
	channel_free(t->ch);
	t->ch = NULL;
	sync_plan_release(&t->cplan);
	memset(&t->cplan, 0, sizeof(t->cplan));
	changeset_release(&t->cdiff);
	changeset_init(&t->cdiff);
	if (t->probe != NULL)
		engine_forget(t->probe);
	t->probe = NULL;
	uv_timer_stop(&t->timer);
	t->catching = t->again = t->ready = t->said_fail = false;
	t->synced = t->probe_ok = t->probing = t->said_not_ready = false;
	t->retry_ns = 0;
	free(t->cid);
	free(t->task_id);
	t->cid = t->task_id = NULL;
	t->node = NULL;
	if (was_applying)
		swarm_live_dropped(t);
}

/* ---- catch-up ---- */

static void out_line(const char *line, size_t n, void *arg)
{
	struct swarm_task *t = arg;

	swarm_say(t->sv->sw, t->sv, t->slot, "| %.*s", (int)n, line);
}

static void notice(const char *msg, void *arg)
{
	struct swarm_task *t = arg;

	swarm_say(t->sv->sw, t->sv, t->slot, "notice: %s", msg);
}

/* ---- readiness ---- */

static void became_ready(struct swarm_task *t)
{
	t->ready = true;
	swarm_check_ready(t->sv->sw);
	swarm_kick(t->sv);
}

static void probe_once(struct swarm_task *t);

static void probe_again(uv_timer_t *timer)
{
	struct swarm_task *t = container_of(timer, struct swarm_task, timer);

	if (t->probing)
		probe_once(t);
}

static void probed(struct engine_req *req, int err, const struct engine_resp *resp,
		   void *arg)
{
	struct swarm_task *t = arg;
	const struct probe *pr = &t->sv->c->readiness;

	(void)req;
	t->probe = NULL;
	if (!t->probing)
		return;
	if (err == 0 && resp->status >= 200 && resp->status < 400) {
		t->probing = false;
		t->probe_ok = true;
		swarm_say(t->sv->sw, t->sv, t->slot, "ready: GET %s answered %ld", pr->http_path,
			  resp->status);
		became_ready(t);
		return;
	}
	if (!t->said_not_ready && now_ns() > t->probe_deadline_ns) {
		t->said_not_ready = true;
		swarm_say(t->sv->sw, t->sv, t->slot, "not ready after %d ms: GET %s on port %d "
			  "%s; still trying", pr->start_timeout_ms, pr->http_path, t->probe_port,
			  err != 0 ? dw_strerror(err) : "answers an error");
	}
	uv_timer_start(&t->timer, probe_again, (uint64_t)pr->interval_ms, 0);
}

static void probe_once(struct swarm_task *t)
{
	const struct probe *pr = &t->sv->c->readiness;
	struct engine_call call = {.method = "GET", .timeout_ms = pr->timeout_ms};
	char url[512], host[128];

	snprintf(url, sizeof(url), "http://%s:%d%s",
		 engine_host_for_ports(t->node->e, NULL, host, sizeof(host)), t->probe_port,
		 pr->http_path);
	call.url = url;
	if (engine_request(t->sv->sw->mgr, &call, probed, t, &t->probe) != 0)
		uv_timer_start(&t->timer, probe_again, (uint64_t)pr->interval_ms, 0);
}

/* Caught up: ready, once its HTTP readiness probe (if any) passes at
   the port its node publishes. A command probe is not run (no exec
   into it but through its node: that is left for later). */
static void settled(struct swarm_task *t)
{
	const struct probe *pr = &t->sv->c->readiness;

	if (!pr->set || pr->http_path == NULL || t->probe_ok) {
		became_ready(t);
		return;
	}
	if (t->probe_port == 0) {
		swarm_say(t->sv->sw, t->sv, t->slot, "readiness port %d is not published; add it "
			  "to 'ports'", pr->port);
		t->probe_ok = true;
		became_ready(t);
		return;
	}
	if (t->probing)
		return;
	t->probing = true;
	t->probe_deadline_ns = now_ns() + (uint64_t)pr->start_timeout_ms * 1000000u;
	probe_once(t);
}

struct channel *swarm_task_channel(struct swarm_task *t)
{
	if (t->ch == NULL)
		t->ch = channel_new(t->node->e, t->cid, out_line, notice, t);
	return t->ch;
}

static void caught(struct swarm_task *t, int err)
{
	t->catching = false;
	sync_plan_release(&t->cplan);
	memset(&t->cplan, 0, sizeof(t->cplan));
	changeset_release(&t->cdiff);
	changeset_init(&t->cdiff);
	if (err != 0) {
		/* A poll round tries again in 2 s while the task lives (its
		   node's engine may be out of reach): said once. */
		if (!t->said_fail && err == DW_ENGINE_DOWN)
			swarm_say(t->sv->sw, t->sv, t->slot, "cannot reach node %s's engine at %s "
				  "(no exec crosses nodes, so each node's engine must be "
				  "reachable from here): name one in \"swarm\": {\"nodes\": "
				  "{\"%s\": \"tcp://ADDR:PORT\"}}; trying again every 2 s",
				  t->node->hostname, t->node->address, t->node->hostname);
		else if (!t->said_fail)
			swarm_say(t->sv->sw, t->sv, t->slot, "catch-up through %s failed: %s; "
				  "trying again every 2 s", t->node->address, dw_strerror(err));
		t->said_fail = true;
		t->retry_ns = now_ns() + 2000000000ull;
		return;
	}
	t->said_fail = false;
	if (t->again) {
		t->again = false;
		swarm_catch_up(t);
		return;
	}
	t->synced = true;
	settled(t);
}

static void caught_applied(struct channel *ch, int err, int step, int rc, void *arg)
{
	struct swarm_task *t = arg;
	const struct sync_plan *p = &t->cplan;

	(void)ch;
	if (step >= 0)
		swarm_say(t->sv->sw, t->sv, t->slot, "caught up: %zu written, %zu deleted · run '%s' exited %d",
			  p->n_writes, p->n_deletes, p->runs[step], rc);
	else if (err == 0)
		swarm_say(t->sv->sw, t->sv, t->slot, "caught up: %zu written, %zu deleted · %.0f ms",
			  p->n_writes, p->n_deletes, (double)(now_ns() - t->t0) / 1e6);
	/* A failed run step is the user's to fix: the task counts as caught
	   up, and the next save retries, as in any update. */
	caught(t, err);
}

static void compared(int err, struct changeset *diff, void *arg)
{
	struct swarm_task *t = arg;
	struct swarm *sw = t->sv->sw;

	t->cu = NULL;
	if (err != 0) {
		caught(t, err);
		return;
	}
	changeset_merge(&t->cdiff, diff);
	sync_plan_build(sw->p->root, t->sv->c, &t->cdiff, &t->cplan);
	if (t->cplan.n_members == 0 && t->cplan.n_deletes == 0) {
		swarm_say(sw, t->sv, t->slot, "caught up: nothing differs · %.0f ms",
			  (double)(now_ns() - t->t0) / 1e6);
		caught(t, 0);
		return;
	}
	if (channel_apply(t->ch, &t->cplan, caught_applied, t) != 0)
		caught(t, DW_CANCELED);
}

void swarm_catch_up(struct swarm_task *t)
{
	struct swarm_svc *sv = t->sv;
	struct swarm *sw = sv->sw;
	const struct project_container *c = sv->c;
	struct changeset local;
	char **gone;
	size_t n_gone;
	int err;

	if (sw->stopping || sw->w == NULL || t->cid == NULL || t->node == NULL ||
	    t->node->e == NULL)
		return;
	if (t->catching || t->applying) {
		t->again = true;
		return;
	}
	changeset_init(&local);
	for (size_t i = 0; i < c->n_steps; i++)
		if (c->steps[i].kind == STEP_SYNC)
			watcher_snapshot(sw->w, c->steps[i].from, &local);
	gone = gone_under_sync(&sw->gone, c, &n_gone);
	t->catching = true;
	t->synced = t->ready = false;
	t->t0 = now_ns();
	err = catchup_start(t->node->e, swarm_task_channel(t), t->cid, c, &local, gone, n_gone, compared, t,
			    &t->cu);
	if (err != 0) {
		for (size_t i = 0; i < n_gone; i++)
			free(gone[i]);
		free(gone);
		changeset_release(&local);
		caught(t, err);
	}
}

/* ---- polling ---- */

static void poll_round(uv_timer_t *timer);

static void round_end(struct swarm *sw)
{
	if (--sw->polls_left == 0 && !sw->stopping)
		uv_timer_start(&sw->poll, poll_round, POLL_MS, 0);
}

static void say_lost(struct swarm_task *t, const struct engine_task *now)
{
	const char *why = now == NULL ? "" : now->message;

	swarm_say(t->sv->sw, t->sv, t->slot, "task %.12s on %s ended%s%s", t->task_id,
		  t->node != NULL ? t->node->hostname : "?", why[0] ? ": " : "", why);
}

/* What the newest task of the slot says of the one we follow. */
static void follow(struct swarm_task *t, const struct engine_task *et, bool *need_nodes)
{
	struct swarm_svc *sv = t->sv;
	struct swarm *sw = sv->sw;
	struct swarm_node *nd;

	if (et == NULL || et->state != ENGINE_TASK_RUNNING || et->container_id[0] == '\0') {
		if (t->cid != NULL && (et == NULL || strcmp(et->id, t->task_id) != 0 ||
				       et->state == ENGINE_TASK_ENDED)) {
			say_lost(t, et);
			task_reset(t);
			swarm_kick(sv);
		}
		return;
	}
	if (t->cid != NULL && strcmp(t->cid, et->container_id) == 0) {
		if (!t->synced && !t->catching && sv->has_sync && now_ns() >= t->retry_ns)
			swarm_catch_up(t); /* the last one failed */
		return;
	}
	nd = node_by_id(sw, et->node_id);
	if (nd == NULL || nd->e == NULL) {
		if (nd == NULL)
			*need_nodes = true;
		return;
	}
	if (t->cid != NULL) {
		say_lost(t, NULL);
		task_reset(t);
	}
	t->task_id = xstrdup(et->id);
	t->cid = xstrdup(et->container_id);
	t->node = nd;
	t->probe_port = sv->c->readiness.http_path != NULL
				? engine_task_port(et, sv->c->readiness.port) : 0;
	if (et->n_ports > 0) {
		char host[128];

		swarm_say(sw, sv, t->slot, "task %.12s on %s · container %.12s · http://%s:%d/",
			  t->task_id, nd->hostname, t->cid,
			  engine_host_for_ports(nd->e, NULL, host, sizeof(host)),
			  et->port_published[0]);
	} else {
		swarm_say(sw, sv, t->slot, "task %.12s on %s · container %.12s", t->task_id,
			  nd->hostname, t->cid);
	}
	if (sv->has_sync) {
		swarm_catch_up(t);
	} else {
		t->synced = true;
		settled(t);
	}
}

static void rolled(struct swarm_svc *sv, const struct engine_task *const *slots)
{
	for (int s = 0; s < sv->n_tasks; s++)
		if (slots[s] == NULL || slots[s]->state != ENGINE_TASK_RUNNING ||
		    !str_starts(slots[s]->image, sv->image) || !sv->tasks[s].ready)
			return;
	swarm_say(sv->sw, sv, 0, "rolled out %s to %d task%s in %.1f s", sv->image, sv->n_tasks,
		  sv->n_tasks == 1 ? "" : "s", (double)(now_ns() - sv->roll_t0) / 1e9);
	sv->roll_t0 = 0;
}

static void got_tasks(void *arg, int err, struct engine_task *tv, size_t n,
		      const char *cause)
{
	struct swarm_svc *sv = arg;
	struct swarm *sw = sv->sw;
	const struct engine_task **slots;
	bool need_nodes = false;

	if (sw->stopping)
		return;
	if (err != 0) {
		if (sw->last_error == NULL || strcmp(sw->last_error, cause) != 0)
			swarm_say(sw, sv, 0, "cannot list its tasks: %s", cause);
		free(sw->last_error);
		sw->last_error = xstrdup(cause);
		round_end(sw);
		return;
	}
	free(sw->last_error);
	sw->last_error = NULL;
	slots = xcalloc((size_t)sv->n_tasks, sizeof(*slots));
	engine_tasks_by_slot(tv, n, sv->n_tasks, slots);
	for (int s = 0; s < sv->n_tasks && !sw->stopping; s++)
		follow(&sv->tasks[s], slots[s], &need_nodes);
	if (need_nodes)
		refresh_nodes(sw);
	if (sv->roll_t0 != 0)
		rolled(sv, slots);
	free(slots);
	swarm_check_ready(sw);
	round_end(sw);
}

static void poll_round(uv_timer_t *timer)
{
	struct swarm *sw = timer->data;

	if (sw->stopping)
		return;
	sw->polls_left = 1; /* held while the round starts */
	for (size_t i = 0; i < sw->n_sv; i++) {
		if (sw->sv[i].id == NULL)
			continue;
		sw->polls_left++;
		if (engine_tasks_list(sw->mgr, sw->sv[i].id, got_tasks, &sw->sv[i]) != 0)
			sw->polls_left--;
	}
	round_end(sw);
}

void swarm_tasks_start(struct swarm *sw)
{
	if (sw->polling)
		return;
	sw->polling = true;
	refresh_nodes(sw);
	uv_timer_start(&sw->poll, poll_round, 0, 0);
}

void swarm_check_ready(struct swarm *sw)
{
	int tasks = 0;

	if (sw->all_ready || sw->stopping)
		return;
	for (size_t i = 0; i < sw->n_sv; i++) {
		if (sw->sv[i].id == NULL)
			return;
		for (int s = 0; s < sw->sv[i].n_tasks; s++) {
			if (!sw->sv[i].tasks[s].ready)
				return;
			tasks++;
		}
	}
	sw->all_ready = true;
	swarm_say(sw, NULL, 0, "ready in %.0f ms: %d task%s of %zu service%s · watching",
		  (double)(now_ns() - sw->start_ns) / 1e6, tasks, tasks == 1 ? "" : "s",
		  sw->n_sv, sw->n_sv == 1 ? "" : "s");
	for (size_t i = 0; i < sw->n_sv; i++)
		swarm_kick(&sw->sv[i]);
}

static void node_closed(void *arg)
{
	(void)arg;
}

void swarm_tasks_stop(struct swarm *sw)
{
	struct swarm_node *n, *next;

	uv_timer_stop(&sw->poll);
	for (size_t i = 0; i < sw->n_sv; i++) {
		for (int s = 0; s < sw->sv[i].n_tasks; s++) {
			uv_timer_t *tm = &sw->sv[i].tasks[s].timer;

			task_reset(&sw->sv[i].tasks[s]);
			if (!uv_is_closing((uv_handle_t *)tm))
				uv_close((uv_handle_t *)tm, NULL);
		}
	}
	for (n = sw->nodes; n != NULL; n = next) {
		next = n->next;
		if (n->e != NULL)
			engine_close(n->e, node_closed, NULL);
		free(n->id);
		free(n->hostname);
		free(n->address);
		free(n);
	}
	sw->nodes = NULL;
	free(sw->last_error);
	sw->last_error = NULL;
}
