/*
 * Bringing one instance back (src/monitor.c decides when): after a crash
 * with restart never, after a crash loop, after the engine restarted it,
 * and after the engine itself came back. A chain of engine calls, each
 * step checking that the session still wants it: inspect by name, then
 * adopt, start or create, then readiness, then a catch-up sync where the
 * container's files may be behind. session_wake is live.c's way in.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "base/error.h"
#include "base/log.h"
#include "base/util.h"
#include "build/container.h"
#include "up/logs.h"
#include "up/monitor-int.h"
#include "up/probe.h"

static void probe_ready(struct mon_inst *mi);

void mon_set_policy(struct mon_inst *mi, bool on, engine_done_cb cb)
{
	const struct project_container *c = mi->in->cs->c;
	struct engine_call call = {.method = "POST", .timeout_ms = 30000};
	char path[256], body[128];

	if (on && c->restart == RESTART_ON_FAILURE)
		snprintf(body, sizeof(body),
			 "{\"RestartPolicy\":{\"Name\":\"on-failure\",\"MaximumRetryCount\":%d}}",
			 c->max_restarts);
	else
		snprintf(body, sizeof(body), "{\"RestartPolicy\":{\"Name\":\"%s\"}}",
			 on && c->restart == RESTART_ALWAYS ? "always" : "no");
	snprintf(path, sizeof(path), "/containers/%s/update", mi->in->id);
	call.path = path;
	call.body = body;
	call.body_len = strlen(body);
	engine_request(mi->m->s->e, &call, cb, mi, NULL);
}


/* ---- bringing an instance up: inspect, start or create, readiness ---- */

void mon_on_ready(struct instance *in, int err, void *arg)
{
	struct mon_inst *mi = arg;
	enum mon_phase was = mi->phase;

	if (mon_gone(mi->m) || mi->m->lost)
		return;
	if (err != 0) {
		mi->phase = MP_EXITED;
		mi->woke = false;
		session_say(in->s, in, "not-ready",
			    "did not become ready; the next save that touches it starts it again");
		mon_resolve(mi, err);
		return;
	}
	mi->catchup = false;
	mi->phase = MP_OK;
	if (was == MP_RECOVERING)
		session_say(in->s, in, "recovered", "recovered: ready and caught up");
	else
		session_say(in->s, in, "ready", "ready again%s",
			    was == MP_WAKING ? "; applying the change" : "");
	mi->woke = false;
	mon_resolve(mi, 0);
}

static void probe_ready(struct mon_inst *mi)
{
	struct instance *in = mi->in;

	/* session.c's readiness catches it up (restarting it if
	   restart_container asks) when its files may be behind. */
	in->synced_once = !mi->catchup;
	in->ready_cb = mon_on_ready;
	in->ready_arg = mi;
	session_probe(in);
}

/* Something in the chain failed: the engine went away, or the container
   cannot be brought back. */
static void up_failed(struct mon_inst *mi, int err, const char *what, const char *why)
{
	struct instance *in = mi->in;

	if (mon_gone(mi->m) || mi->m->lost)
		return;
	if (err == DW_ENGINE_DOWN) {
		mon_engine_lost(mi->m, dw_strerror(err));
		return;
	}
	in->state = INST_FAILED;
	mi->phase = MP_EXITED;
	session_say(in->s, in, "not-ready", "cannot %s %s: %s; the next save that touches it "
		    "tries again", what, in->name, why);
	mon_resolve(mi, DW_NOTREADY);
}

static void fail_resp(struct mon_inst *mi, int err, const struct engine_resp *resp,
		      const char *what)
{
	char *m = err != 0 ? xstrdup(dw_strerror(err))
			   : engine_error_message(resp->body, resp->len);

	up_failed(mi, err, what, m);
	free(m);
}

static void on_up_ports(struct engine_req *req, int err, const struct engine_resp *resp,
			void *arg)
{
	struct mon_inst *mi = arg;
	struct container_info ci;

	(void)req;
	if (mon_gone(mi->m) || mi->m->lost || err == DW_CANCELED)
		return;
	if (err != 0 || resp->status != 200 ||
	    container_info_parse(resp->body, resp->len, mi->in->cs->c, &ci) != 0) {
		fail_resp(mi, err, resp, "inspect");
		return;
	}
	session_take_ports(mi->in, &ci);
	container_info_free(&ci);
	if (mi->in->logs == NULL)
		session_follow_logs(mi->in, (long)time(NULL) - 1);
	probe_ready(mi);
}

static void inspect_ports(struct mon_inst *mi)
{
	struct engine_call call = {.method = "GET"};
	char path[256];

	snprintf(path, sizeof(path), "/containers/%s/json", mi->in->id);
	call.path = path;
	engine_request(mi->m->s->e, &call, on_up_ports, mi, NULL);
}

static void on_up_started(struct engine_req *req, int err, const struct engine_resp *resp,
			  void *arg)
{
	struct mon_inst *mi = arg;

	(void)req;
	if (mon_gone(mi->m) || mi->m->lost || err == DW_CANCELED)
		return;
	if (err != 0 || (resp->status != 204 && resp->status != 304)) {
		fail_resp(mi, err, resp, "start");
		return;
	}
	if (mi->phase == MP_WAKING && !mi->catchup) {
		/* Running again with its files: the save that woke it applies
		   now, while readiness is probed, so a fix reaches the
		   container before it next fails. */
		session_say(mi->in->s, mi->in, "wake", "started it again; applying the change, "
			    "then waiting for readiness");
		mi->phase = MP_OK;
		mi->woke = true;
		mon_resolve(mi, 0);
	}
	inspect_ports(mi);
}

static void start_it(struct mon_inst *mi)
{
	struct engine_call call = {.method = "POST", .timeout_ms = 60000};
	char path[256];

	snprintf(path, sizeof(path), "/containers/%s/start", mi->in->id);
	call.path = path;
	engine_request(mi->m->s->e, &call, on_up_started, mi, NULL);
}

static void on_policy_on(struct engine_req *req, int err, const struct engine_resp *resp,
			 void *arg)
{
	struct mon_inst *mi = arg;

	(void)req;
	if (mon_gone(mi->m) || mi->m->lost || err == DW_CANCELED)
		return;
	if (err != 0 || resp->status != 200) {
		fail_resp(mi, err, resp, "restore the restart policy of");
		return;
	}
	mi->policy_off = false;
	start_it(mi);
}

static void on_up_created(struct engine_req *req, int err, const struct engine_resp *resp,
			  void *arg)
{
	struct mon_inst *mi = arg;
	cJSON *o, *id;

	(void)req;
	if (mon_gone(mi->m) || mi->m->lost || err == DW_CANCELED)
		return;
	if (err != 0 || resp->status != 201) {
		fail_resp(mi, err, resp, "create");
		return;
	}
	o = cJSON_ParseWithLength(resp->body, resp->len);
	id = cJSON_GetObjectItem(o, "Id");
	if (!cJSON_IsString(id) || id->valuestring[0] == '\0') {
		cJSON_Delete(o);
		up_failed(mi, DW_ENGINE_PROTO, "create", "the engine's answer has no 'Id'");
		return;
	}
	free(mi->in->id);
	mi->in->id = xstrdup(id->valuestring);
	cJSON_Delete(o);
	mi->catchup = true; /* a new container: only the image's files */
	mi->policy_off = false;
	start_it(mi);
}

static void create_it(struct mon_inst *mi)
{
	struct instance *in = mi->in;
	struct engine_call call = {.method = "POST", .timeout_ms = 60000};
	char *body = container_create_body(in->s->p, in->cs->c, in->replica, in->cs->image_ref);
	char *enc = engine_urlencode(in->name);
	char *path = xasprintf("/containers/create?name=%s", enc);

	session_say(in->s, in, "notice", "%s is gone; creating it anew", in->name);
	call.path = path;
	call.body = body;
	call.body_len = strlen(body);
	engine_request(in->s->e, &call, on_up_created, mi, NULL);
	free(body);
	free(enc);
	free(path);
}

/* After the waking change's files went in (or could not): its restart
   policy back after a crash loop, then start. */
static void start_stopped(struct mon_inst *mi, int err)
{
	(void)err; /* the live update brings what could not go in first */
	if (mon_gone(mi->m) || mi->m->lost)
		return;
	if (mi->policy_off)
		mon_set_policy(mi, true, on_policy_on);
	else
		start_it(mi);
}

static void on_up_inspect(struct engine_req *req, int err, const struct engine_resp *resp,
			  void *arg)
{
	struct mon_inst *mi = arg;
	struct instance *in = mi->in;
	struct container_info ci;

	(void)req;
	if (mon_gone(mi->m) || mi->m->lost || err == DW_CANCELED)
		return;
	if (err != 0) {
		fail_resp(mi, err, resp, "inspect");
		return;
	}
	if (resp->status == 404) {
		create_it(mi);
		return;
	}
	if (resp->status != 200 || container_info_parse(resp->body, resp->len, in->cs->c, &ci) != 0) {
		fail_resp(mi, 0, resp, "inspect");
		return;
	}
	free(in->id);
	in->id = ci.id;
	ci.id = NULL;
	if (ci.running && !ci.restarting && !mi->policy_off) {
		session_take_ports(in, &ci);
		container_info_free(&ci);
		if (mi->phase == MP_RECOVERING)
			session_say(in->s, in, "adopted", "still running; adopted it again");
		session_follow_logs(in, (long)time(NULL));
		probe_ready(mi);
		return;
	}
	if (ci.running) {
		container_info_free(&ci);
		start_stopped(mi, 0);
		return;
	}
	container_info_free(&ci);
	mon_prewrite(mi, start_stopped);
}

/* Inspect by name: running is adopted, stopped is started (with its
   restart policy back, after a crash loop), gone is created anew; then
   readiness. The engine restarting it already skips to readiness. */
void mon_bring_up(struct mon_inst *mi)
{
	struct instance *in = mi->in;
	struct engine_call call = {.method = "GET"};
	char path[256];

	mon_quiesce(in, INST_STARTING);
	if (mi->phase == MP_RESTARTING) {
		inspect_ports(mi);
		return;
	}
	snprintf(path, sizeof(path), "/containers/%s/json", in->name);
	call.path = path;
	engine_request(in->s->e, &call, on_up_inspect, mi, NULL);
}

bool session_wake(struct instance *in, const struct changeset *cs, session_ready_cb cb,
		  void *arg)
{
	struct mon_inst *mi = in->mon;

	if (mi == NULL || mon_gone(mi->m))
		return false;
	switch (mi->phase) {
	case MP_OK:
		/* Readiness failed after a live restart: a save wakes it too. */
		if (in->state != INST_FAILED || !in->s->all_ready)
			return false;
		break;
	case MP_EXITED:
	case MP_LOOPED:
		break;
	default:
		/* Already coming back: wait for it. */
		mi->wake_cb = cb;
		mi->wake_arg = arg;
		return true;
	}
	mi->wake_cb = cb;
	mi->wake_arg = arg;
	mi->phase = MP_WAKING;
	mon_prewrite_plan(mi, cs);
	memset(mi->exits, 0, sizeof(mi->exits));
	free(mi->expect_id);
	mi->expect_id = NULL;
	session_say(in->s, in, "wake", "starting it again for this change");
	mon_bring_up(mi);
	return true;
}
