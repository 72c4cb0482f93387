/*
 * Readiness (DESIGN.md section 10): after an instance starts, its ports are
 * read back, then its readiness probe runs (HTTP or a command in the
 * container, or the image's HEALTHCHECK, or "still running a moment
 * later"); a job is ready when it completed. Every container with sync
 * rules is caught up before it first counts as ready. Once ready, the
 * liveness probe runs, and restarts it after too many failures. A restart
 * waits for readiness again.
 */
#include "up/probe.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "base/error.h"
#include "base/log.h"
#include "base/util.h"
#include "build/container.h"
#include "up/datasets.h"
#include "up/function.h"
#include "up/logs.h"
#include "up/monitor.h"
#include "up/order.h"
#include "up/say.h"

static void liveness_start(struct instance *in);
static void ready_now(struct instance *in);
static void job_wait(struct instance *in);

/* ---- ready ---- */

static void caught_up(struct instance *in, int err, bool restart)
{
	if (in->state != INST_PROBING)
		return;
	if (err != 0) {
		session_fail(in->s, in, "catch-up sync failed: %s", dw_strerror(err));
		return;
	}
	in->synced_once = true;
	if (restart) {
		/* What was synced is read at start (restart_container). The
		   restart probes again, and readiness then counts. */
		session_restart(in, in->ready_cb, in->ready_arg);
		return;
	}
	ready_now(in);
}

/* Every container with sync rules is caught up before it first counts as
   ready: even an image built from the tree lacks what was synced since
   (a reused tag, a sync source no COPY reads), and a registry image, an
   adopted or a recreated container may lack anything. Listing and
   comparing cost little when nothing differs. A restart keeps the files. */
static void ready(struct instance *in)
{
	if (in->state != INST_PROBING)
		return;
	if (!in->synced_once && in->s->hooks.catchup != NULL && in->s->hooks.catchup(in, caught_up))
		return;
	ready_now(in);
}

static void ready_now(struct instance *in)
{
	struct session *s = in->s;
	struct project_container *c = in->cs->c;
	struct buf urls;
	char ip[64];

	if (in->state != INST_PROBING)
		return;
	in->state = INST_READY;
	liveness_start(in);
	if (in->ready_cb != NULL) {
		session_ready_cb cb = in->ready_cb;

		in->ready_cb = NULL;
		cb(in, 0, in->ready_arg);
		return;
	}
	buf_init(&urls, 4096);
	for (size_t i = 0; i < c->n_ports; i++) {
		if (in->host_ports == NULL || in->host_ports[i] == 0)
			continue;
		const char *host = engine_host_for_ports(
			s->e, in->host_ips ? in->host_ips[i] : NULL, ip, sizeof(ip));

		if (strcmp(c->ports[i].protocol, "udp") == 0)
			buf_addf(&urls, " udp://%s:%d", host, in->host_ports[i]);
		else
			buf_addf(&urls, " http://%s:%d/", host, in->host_ports[i]);
	}
	session_say(s, in, "ready", "%s%s%s · %.0f ms",
		    c->job ? "completed (exit 0)" : "ready", urls.len ? " ·" : "", buf_str(&urls),
		    (double)(now_ns() - s->start_ns) / 1e6);
	buf_release(&urls);
	if (--s->not_ready == 0 && !s->all_ready) {
		s->all_ready = true;
		session_say(s, NULL, "all-ready",
			    "%zu container%s ready in %.0f ms; Ctrl-C stops "
			    "and removes them",
			    s->n_cs, s->n_cs == 1 ? "" : "s",
			    (double)(now_ns() - s->start_ns) / 1e6);
		if (s->hooks.all_ready != NULL)
			s->hooks.all_ready(s);
	}
	order_kick(s);
}


static void probe_again(uv_timer_t *t);
static void probe_once(struct instance *in);

/* A probe's answer still matters: readiness while starting, liveness
   while ready. */
static bool probe_active(const struct instance *in)
{
	return in->liveness ? in->state == INST_READY : in->state == INST_PROBING;
}

static void liveness_restarted(struct instance *in, int err, void *arg)
{
	(void)arg;
	if (err == 0)
		session_say(in->s, in, "restarted", "restarted after failing its liveness probe");
}

static void probe_ok(struct instance *in);
static void probe_bad(struct instance *in);

static void on_probe_inspect(struct engine_req *req, int err,
			     const struct engine_resp *resp, void *arg)
{
	struct instance *in = arg;
	struct container_info ci;
	enum container_health health;

	(void)req;
	in->probe = NULL;
	if (in->state != INST_PROBING)
		return;
	if (err != 0 || resp->status != 200) {
		session_fail(in->s, in, "container vanished while starting");
		return;
	}
	container_info_parse(resp->body, resp->len, in->cs->c, &ci);
	if (!ci.running && !ci.restarting) {
		int code = ci.exit_code;

		container_info_free(&ci);
		/* Let the log stream deliver its last lines first. */
		session_fail_exited(in, code);
		return;
	}
	health = ci.health;
	container_info_free(&ci);
	if (now_ns() > in->probe_deadline_ns) {
		if (!in->cs->c->readiness.set && in->cs->c->function)
			session_fail(in->s, in, "not ready after 60000 ms: its runtime never "
				     "asked the Runtime API for an invocation");
		else
			session_fail(in->s, in, "not ready after %d ms (readiness %s)",
				     in->cs->c->readiness.start_timeout_ms,
				     in->cs->c->readiness.http_path != NULL
					     ? in->cs->c->readiness.http_path
					     : "command");
		return;
	}
	if (!in->cs->c->readiness.set && in->cs->c->function) {
		/* A function is ready once its runtime asks for work. */
		if (session_function_ready(in))
			ready(in);
		else
			uv_timer_start(&in->timer, probe_again, 50, 0);
		return;
	}
	if (!in->cs->c->readiness.set && health == HEALTH_UNHEALTHY) {
		session_fail(in->s, in, "its image's HEALTHCHECK reports unhealthy");
		return;
	}
	if (!in->cs->c->readiness.set && health != HEALTH_STARTING) {
		/* No probe: the image's HEALTHCHECK decides, when it has one. */
		ready(in);
		return;
	}
	uv_timer_start(&in->timer, probe_again,
		       (uint64_t)(in->cs->c->readiness.set ? in->cs->c->readiness.interval_ms : 100), 0);
}

/* The probe failed this time: is the container still alive? */
static void check_alive(struct instance *in)
{
	struct engine_call call = {.method = "GET"};
	char path[256];

	call.path = inst_path(in, "/containers/%s/json", path, sizeof(path));
	if (engine_request(in->s->e, &call, on_probe_inspect, in, &in->probe) != 0)
		session_fail(in->s, in, "cannot inspect the container");
}

static void probe_ok(struct instance *in)
{
	if (!in->liveness) {
		ready(in);
		return;
	}
	in->live_fails = 0;
	uv_timer_start(&in->timer, probe_again, (uint64_t)in->cs->c->liveness.interval_ms, 0);
}

static void probe_bad(struct instance *in)
{
	const struct probe *pr = &in->cs->c->liveness;

	if (!in->liveness) {
		check_alive(in);
		return;
	}
	if (++in->live_fails < pr->retries) {
		uv_timer_start(&in->timer, probe_again, (uint64_t)pr->interval_ms, 0);
		return;
	}
	/* Like an orchestrator's liveness: restart, then readiness again. */
	session_say(in->s, in, "unhealthy", "liveness probe failed %d times; restarting",
		    in->live_fails);
	in->live_fails = 0;
	in->liveness = false;
	session_restart(in, liveness_restarted, NULL);
}

static void liveness_start(struct instance *in)
{
	if (!in->cs->c->liveness.set || in->state != INST_READY)
		return;
	in->liveness = true;
	in->live_fails = 0;
	uv_timer_start(&in->timer, probe_again, (uint64_t)in->cs->c->liveness.interval_ms, 0);
}

static void on_http_probe(struct engine_req *req, int err,
			  const struct engine_resp *resp, void *arg)
{
	struct instance *in = arg;

	(void)req;
	in->probe = NULL;
	if (!probe_active(in))
		return;
	if (err == 0 && resp->status >= 200 && resp->status < 400)
		probe_ok(in);
	else
		probe_bad(in);
}

static void exec_probe_started(struct engine_req *req, int err,
			       const struct engine_resp *resp, void *arg);

static void on_exec_probe_result(struct engine_req *req, int err,
				 const struct engine_resp *resp, void *arg)
{
	struct instance *in = arg;
	cJSON *o;
	int code = -1;

	(void)req;
	in->probe = NULL;
	if (!probe_active(in))
		return;
	if (err == 0 && resp->status == 200) {
		o = cJSON_ParseWithLength(resp->body, resp->len);
		if (cJSON_IsNumber(cJSON_GetObjectItem(o, "ExitCode")) &&
		    !cJSON_IsTrue(cJSON_GetObjectItem(o, "Running")))
			code = cJSON_GetObjectItem(o, "ExitCode")->valueint;
		cJSON_Delete(o);
	}
	if (code == 0)
		probe_ok(in);
	else
		probe_bad(in);
}

static int discard_frame(int stream, const char *data, size_t len, void *arg)
{
	(void)stream, (void)data, (void)len, (void)arg;
	return 0;
}

static void exec_probe_created(struct engine_req *req, int err,
			       const struct engine_resp *resp, void *arg)
{
	struct instance *in = arg;
	struct engine_call call = {.method = "POST", .body = "{\"Detach\":false,\"Tty\":false}",
				   .on_frame = discard_frame};
	cJSON *o, *id;
	char path[256];

	(void)req;
	in->probe = NULL;
	if (!probe_active(in))
		return;
	if (err != 0 || resp->status != 201) {
		probe_bad(in);
		return;
	}
	o = cJSON_ParseWithLength(resp->body, resp->len);
	id = cJSON_GetObjectItem(o, "Id");
	if (!cJSON_IsString(id)) {
		cJSON_Delete(o);
		probe_bad(in);
		return;
	}
	snprintf(path, sizeof(path), "/exec/%s/start", id->valuestring);
	call.body_len = strlen(call.body);
	call.path = path;
	call.timeout_ms = in->liveness ? in->cs->c->liveness.timeout_ms
				       : in->cs->c->readiness.timeout_ms;
	free(in->probe_exec);
	in->probe_exec = xstrdup(id->valuestring);
	cJSON_Delete(o);
	engine_request(in->s->e, &call, exec_probe_started, in, &in->probe);
}

static void exec_probe_started(struct engine_req *req, int err,
			       const struct engine_resp *resp, void *arg)
{
	struct instance *in = arg;
	struct engine_call call = {.method = "GET"};
	char path[256];

	(void)req, (void)err, (void)resp;
	in->probe = NULL;
	if (!probe_active(in))
		return;
	snprintf(path, sizeof(path), "/exec/%s/json", in->probe_exec);
	call.path = path;
	engine_request(in->s->e, &call, on_exec_probe_result, in, &in->probe);
}

static void probe_once(struct instance *in)
{
	const struct probe *pr = in->liveness ? &in->cs->c->liveness : &in->cs->c->readiness;
	struct engine_call call = {.method = "GET", .timeout_ms = pr->timeout_ms};
	char url[512], ip[64];
	int hp = 0;
	size_t pi = 0;

	if (!pr->set) {
		check_alive(in);
		return;
	}
	if (pr->http_path != NULL) {
		for (size_t i = 0; i < in->cs->c->n_ports; i++)
			if (in->cs->c->ports[i].container == pr->port && in->host_ports != NULL)
				hp = in->host_ports[pi = i];
		if (hp == 0) {
			bool listed = false;

			for (size_t i = 0; i < in->cs->c->n_ports; i++)
				listed = listed || in->cs->c->ports[i].container == pr->port;
			if (listed)
				session_fail(in->s, in,
					     "the engine at %s published no host port for "
					     "readiness port %d (it reports none bound)",
					     engine_address(in->s->e), pr->port);
			else
				session_fail(in->s, in,
					     "readiness port %d is not published; add it to 'ports'",
					     pr->port);
			return;
		}
		snprintf(url, sizeof(url), "http://%s:%d%s",
			 engine_host_for_ports(in->s->e, in->host_ips ? in->host_ips[pi] : NULL,
					       ip, sizeof(ip)),
			 hp, pr->http_path);
		call.url = url;
		engine_request(in->s->e, &call, on_http_probe, in, &in->probe);
		return;
	}
	{
		cJSON *o = cJSON_CreateObject(), *cmd = cJSON_AddArrayToObject(o, "Cmd");
		char *body, path[256];

		for (size_t i = 0; pr->cmd[i] != NULL; i++)
			cJSON_AddItemToArray(cmd, cJSON_CreateString(pr->cmd[i]));
		cJSON_AddBoolToObject(o, "AttachStdout", true);
		cJSON_AddBoolToObject(o, "AttachStderr", true);
		body = cJSON_PrintUnformatted(o);
		cJSON_Delete(o);
		call.method = "POST";
		call.body = body;
		call.body_len = strlen(body);
		call.path = inst_path(in, "/containers/%s/exec", path, sizeof(path));
		engine_request(in->s->e, &call, exec_probe_created, in, &in->probe);
		free(body);
	}
}

static void probe_again(uv_timer_t *t)
{
	struct instance *in = container_of(t, struct instance, timer);

	if (probe_active(in))
		probe_once(in);
}

void session_probe(struct instance *in)
{
	const struct probe *pr = &in->cs->c->readiness;

	if (in->cs->c->job) {
		job_wait(in);
		return;
	}
	in->liveness = false;
	in->state = INST_PROBING;
	order_kick(in->s);
	in->probe_deadline_ns = now_ns() + (uint64_t)(pr->set ? pr->start_timeout_ms : 60000) * 1000000u;
	if (!pr->set) {
		/* No probe: running and still running a moment later (a
		   function: once its runtime asks for work). */
		uv_timer_start(&in->timer, probe_again, in->cs->c->function ? 20 : 300, 0);
		return;
	}
	probe_once(in);
}

/* The instance takes the ports the engine reported (and where). */
void session_take_ports(struct instance *in, struct container_info *ci)
{
	free(in->host_ports);
	container_host_ips_free(in->host_ips, in->cs->c->n_ports);
	in->host_ports = ci->host_ports;
	in->host_ips = ci->host_ips;
	ci->host_ports = NULL;
	ci->host_ips = NULL;
}

static void on_ports(struct engine_req *req, int err,
		     const struct engine_resp *resp, void *arg)
{
	struct instance *in = arg;
	struct container_info ci;

	(void)req;
	if (in->state != INST_STARTING)
		return;
	if (err != 0 || resp->status != 200 ||
	    container_info_parse(resp->body, resp->len, in->cs->c, &ci) != 0) {
		session_fail(in->s, in, "cannot inspect the started container");
		return;
	}
	if (!ci.running && !ci.restarting && !in->cs->c->job) {
		int code = ci.exit_code;

		container_info_free(&ci);
		session_fail_exited(in, code);
		return;
	}
	session_take_ports(in, &ci);
	container_info_free(&ci);
	session_probe(in);
}

void session_probe_started(struct instance *in)
{
	struct engine_call call = {.method = "GET"};
	char path[256];

	call.path = inst_path(in, "/containers/%s/json", path, sizeof(path));
	engine_request(in->s->e, &call, on_ports, in, NULL);
}
/* ---- restart ---- */

static void on_restarted(struct engine_req *req, int err,
			 const struct engine_resp *resp, void *arg)
{
	struct instance *in = arg;

	(void)req;
	in->restarting = false;
	if (in->s->shutting_down)
		return;
	if (err != 0 || resp->status != 204) {
		session_fail(in->s, in, "restart failed: %s",
			     err != 0 ? dw_strerror(err) : "the engine refused");
		return;
	}
	in->state = INST_STARTING;
	session_follow_logs(in, (long)time(NULL) - 1);
	session_probe_started(in);
}

void session_restart(struct instance *in, session_ready_cb cb, void *arg)
{
	struct engine_call call = {.method = "POST", .timeout_ms = 60000};
	char path[256];

	in->ready_cb = cb;
	in->ready_arg = arg;
	monitor_expect_exit(in);
	session_function_gone(in, "the function's container restarted");
	in->restarting = true;
	in->synced_once = true; /* a restart keeps the container's files */
	in->state = INST_STOPPING;
	if (in->logs != NULL) {
		engine_cancel(in->logs);
		in->logs = NULL;
	}
	call.path = inst_path(in, "/containers/%s/restart?t=1", path, sizeof(path));
	engine_request(in->s->e, &call, on_restarted, in, NULL);
}

/* ---- jobs ---- */

static void job_stored(struct instance *in, void *arg)
{
	int code = (int)(intptr_t)arg;

	if (in->state != INST_PROBING)
		return;
	if (code != 0) {
		session_fail_exited(in, code);
		return;
	}
	in->completed = true;
	ready_now(in);
}

static void on_waited(struct engine_req *req, int err,
		      const struct engine_resp *resp, void *arg)
{
	struct instance *in = arg;
	cJSON *o, *v;
	int code;

	(void)req;
	in->probe = NULL;
	if (err == DW_CANCELED || in->state != INST_PROBING)
		return;
	if (err != 0 || resp->status != 200) {
		session_fail(in->s, in, "cannot wait for the job: %s",
			     err != 0 ? dw_strerror(err) : "the engine refused");
		return;
	}
	o = cJSON_ParseWithLength(resp->body, resp->len);
	v = cJSON_GetObjectItem(o, "StatusCode");
	code = cJSON_IsNumber(v) ? v->valueint : -1;
	cJSON_Delete(o);
	datasets_store(in, job_stored, (void *)(intptr_t)code);
}

static void job_wait(struct instance *in)
{
	char *path = xasprintf("/containers/%s/wait", in->id);

	/* The wait is the instance's probe: teardown cancels it, and a
	   replacement that goes away forgets it. */
	in->state = INST_PROBING;
	if (engine_request(in->s->e, &(struct engine_call){.method = "POST", .path = path},
			   on_waited, in, &in->probe) != 0)
		session_fail(in->s, in, "cannot wait for the job");
	free(path);
	order_kick(in->s);
}
