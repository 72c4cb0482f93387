/*
 * Replacement. With host port 0 the new container starts beside the old one,
 * and the old one goes once the new one is ready. A fixed host port can be
 * held by one container at a time, so there the old one is stopped first;
 * if the new one then fails, it is removed and the old one started again.
 * Either way the new container ends up with the old one's name and place,
 * and the sidecars that share its network namespace follow it.
 */
#include "up/replace.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/error.h"
#include "base/util.h"
#include "build/container.h"
#include "up/datasets.h"
#include "up/instance.h"
#include "up/logs.h"
#include "up/monitor.h"
#include "up/probe.h"
#include "up/say.h"

struct replace {
	struct instance *old, *nw;
	session_ready_cb cb;
	void *arg;
	bool stopped_old; /* fixed ports: the old one was stopped first */
	int err;	  /* why the new one failed */
};

static void replace_end(struct replace *r, int err)
{
	struct instance *old = r->old;

	r->cb(old, err, r->arg);
	instance_release(r->nw, true);
	free(r);
}

static bool fixed_ports(const struct project_container *c)
{
	for (size_t i = 0; i < c->n_ports; i++)
		if (c->ports[i].host != 0)
			return true;
	return false;
}

static void sidecar_replaced(struct instance *in, int err, void *arg)
{
	(void)arg;
	if (err == 0)
		session_say(in->s, in, "replaced", "replaced with the container whose network it shares");
	else
		session_say(in->s, in, "replace-failed", "could not follow its network's new container");
}

/* Its sidecars lost their namespace with the old container: they follow
   the new one. */
static void replace_followers(struct instance *in)
{
	struct session *s = in->s;

	if (s->shutting_down)
		return;
	for (size_t i = 0; i < s->n_cs; i++) {
		struct cstate *cs = &s->cs[i];

		if (cs->c->network != NET_CONTAINER || strcmp(cs->c->network_of, in->cs->c->name) != 0 ||
		    !cs->begun)
			continue;
		/* Its namespace went with the old container: follow the new. */
		for (int r = 0; r < cs->n_inst; r++)
			if (cs->inst[r].state == INST_READY)
				session_replace(&cs->inst[r], sidecar_replaced, NULL);
	}
}

static void on_renamed(struct engine_req *req, int err,
		       const struct engine_resp *resp, void *arg)
{
	struct replace *r = arg;
	struct instance *old = r->old, *nw = r->nw;

	(void)req, (void)err, (void)resp;
	/* The new container takes the old one's place and name. */
	session_log_close(old);
	free(old->id);
	old->id = nw->id;
	nw->id = NULL;
	free(old->host_ports);
	old->host_ports = nw->host_ports;
	nw->host_ports = NULL;
	container_host_ips_free(old->host_ips, old->cs->c->n_ports);
	old->host_ips = nw->host_ips;
	nw->host_ips = NULL;
	old->state = INST_READY;
	old->adopted = false;
	session_follow_logs(old, (long)time(NULL));
	replace_end(r, 0);
	replace_followers(old);
}

static void on_old_gone(struct engine_req *req, int err,
			const struct engine_resp *resp, void *arg)
{
	struct replace *r = arg;
	struct engine_call call = {.method = "POST"};
	char *enc = engine_urlencode(r->old->name);
	char *path = xasprintf("/containers/%s/rename?name=%s", r->nw->id, enc);

	(void)req, (void)err, (void)resp;
	call.path = path;
	if (engine_request(r->old->s->e, &call, on_renamed, r, NULL) != 0)
		on_renamed(NULL, DW_ENGINE_DOWN, NULL, r);
	free(enc);
	free(path);
}

static void old_back(struct instance *old, int err, void *arg)
{
	struct replace *r = arg;

	if (err == 0)
		session_say(old->s, old, "notice",
			    "the new container failed (%s); the old one runs again",
			    dw_strerror(r->err));
	else
		session_say(old->s, old, "notice",
			    "the new container failed (%s), and the old one did not "
			    "come back either; the next save tries again",
			    dw_strerror(r->err));
	replace_end(r, r->err);
}

static void on_old_started(struct engine_req *req, int err,
			   const struct engine_resp *resp, void *arg)
{
	struct replace *r = arg;
	struct instance *old = r->old;

	(void)req;
	if (old->s->shutting_down) {
		replace_end(r, DW_CANCELED);
		return;
	}
	if (err != 0 || (resp->status != 204 && resp->status != 304)) {
		old->state = INST_FAILED;
		old_back(old, err != 0 ? err : DW_ENGINE_HTTP, r);
		return;
	}
	old->ready_cb = old_back;
	old->ready_arg = r;
	old->state = INST_STARTING;
	session_follow_logs(old, (long)time(NULL) - 1);
	session_probe_started(old);
}

static void remove_old(struct instance *old, void *arg)
{
	struct engine_call call = {.method = "DELETE", .timeout_ms = 30000};
	char path[256];

	snprintf(path, sizeof(path), "/containers/%s?force=1&v=1", old->id);
	call.path = path;
	if (engine_request(old->s->e, &call, on_old_gone, arg, NULL) != 0)
		on_old_gone(NULL, DW_ENGINE_DOWN, NULL, arg);
}

static void on_new_ready(struct instance *nw, int err, void *arg)
{
	struct replace *r = arg;
	struct engine_call call = {.method = "DELETE", .timeout_ms = 30000};
	char path[256];

	if (err != 0 || nw->s->shutting_down) {
		/* Drop the new one; keep (or bring back) the old one. */
		if (nw->id != NULL) {
			snprintf(path, sizeof(path), "/containers/%s?force=1&v=1", nw->id);
			call.path = path;
			engine_request(nw->s->e, &call, NULL, NULL, NULL);
		}
		r->err = err != 0 ? err : DW_CANCELED;
		if (r->stopped_old && !nw->s->shutting_down) {
			struct engine_call start = {.method = "POST", .timeout_ms = 30000};

			snprintf(path, sizeof(path), "/containers/%s/start", r->old->id);
			start.path = path;
			if (engine_request(nw->s->e, &start, on_old_started, r, NULL) != 0)
				on_old_started(NULL, DW_ENGINE_DOWN, NULL, r);
			return;
		}
		replace_end(r, r->err);
		return;
	}
	session_log_close(r->old);
	monitor_expect_exit(r->old);
	if (r->old->cs->c->job) {
		remove_old(r->old, r);
		return;
	}
	/* The old one stops and gives up its datasets before it goes. */
	datasets_stop_and_store(r->old, r->old->id, remove_old, r);
}

static void on_old_stopped(struct engine_req *req, int err,
			   const struct engine_resp *resp, void *arg)
{
	struct replace *r = arg;

	(void)req;
	if (r->old->s->shutting_down) {
		replace_end(r, DW_CANCELED);
		return;
	}
	if (err != 0 || (resp->status != 204 && resp->status != 304)) {
		/* Still holding its ports: a new one could not bind them. */
		r->old->state = INST_READY;
		session_say(r->old->s, r->old, "notice",
			    "cannot stop the old container to free its ports (%s); kept it",
			    err != 0 ? dw_strerror(err) : "the engine refused");
		replace_end(r, err != 0 ? err : DW_ENGINE_HTTP);
		return;
	}
	session_begin_next(r->nw);
}

void session_replace(struct instance *old, session_ready_cb cb, void *arg)
{
	struct replace *r = xcalloc(1, sizeof(*r));
	struct instance *nw = xcalloc(1, sizeof(*nw));

	nw->s = old->s;
	nw->cs = old->cs;
	nw->replica = old->replica;
	nw->name = xasprintf("%s-next", old->name);
	nw->label = xstrdup(old->label);
	nw->colour = old->colour;
	uv_timer_init(old->s->loop, &nw->timer);
	nw->timer.data = nw;
	nw->ready_cb = on_new_ready;
	nw->ready_arg = r;
	r->old = old;
	r->nw = nw;
	r->cb = cb;
	r->arg = arg;
	if (fixed_ports(old->cs->c) && old->id != NULL) {
		struct engine_call call = {.method = "POST", .timeout_ms = 60000};
		char path[256];

		/* Stop probing and following the old one while it is down. */
		uv_timer_stop(&old->timer);
		if (old->probe != NULL)
			engine_cancel(old->probe);
		session_log_close(old);
		old->state = INST_STOPPING;
		monitor_expect_exit(old);
		r->stopped_old = true;
		/* The old container is thrown away: a short grace. */
		snprintf(path, sizeof(path), "/containers/%s/stop?t=1", old->id);
		call.path = path;
		if (engine_request(old->s->e, &call, on_old_stopped, r, NULL) != 0)
			on_old_stopped(NULL, DW_ENGINE_DOWN, NULL, r);
		return;
	}
	session_begin_next(nw);
}

