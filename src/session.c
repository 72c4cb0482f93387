/*
 * The `up` session's lifecycle: load, connect, images, containers, readiness,
 * then running until a signal or a failure, then teardown. Each instance
 * walks its own chain of engine calls (inspect -> adopt or remove -> create
 * -> start -> inspect ports -> logs -> probe); the session counts instances
 * still to become ready and the calls still to finish at teardown.
 */
#include "session.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/error.h"
#include "base/log.h"
#include "base/util.h"
#include "build/container.h"
#include "build/image.h"
#include "datasets.h"
#include "monitor.h"
#include "network.h"
#include "order.h"
#include "up-api.h"

static void inst_create(struct instance *in);
static void liveness_start(struct instance *in);
static void inst_begin(struct instance *in);
static void inspect_ports(struct instance *in);
static void teardown(struct session *s);
static void finish_if_done(struct session *s);

/* ---- output ---- */

void session_say(struct session *s, struct instance *in, const char *event,
		 const char *fmt, ...)
{
	char *msg;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	up_api_said(s, in, event, msg);
	progress_hide(&s->progress);
	if (s->o.json) {
		cJSON *o = cJSON_CreateObject();
		char *t;

		cJSON_AddStringToObject(o, "event", event);
		if (in != NULL) {
			cJSON_AddStringToObject(o, "container", in->cs->c->name);
			cJSON_AddNumberToObject(o, "replica", in->replica);
		}
		cJSON_AddStringToObject(o, "message", msg);
		t = cJSON_PrintUnformatted(o);
		printf("%s\n", t);
		free(t);
		cJSON_Delete(o);
	} else if (in != NULL) {
		printf("%s%-*s%s  %s\n", log_colour_code(in->cs->colour),
		       s->label_width, in->label, log_colour_reset(), msg);
	} else {
		printf("%-*s  %s\n", s->label_width, "devwatch", msg);
	}
	fflush(stdout);
	progress_show(&s->progress);
	free(msg);
}

void session_print_tail(struct session *s, struct instance *in)
{
	int n = 0;

	progress_hide(&s->progress);
	for (int i = 0; i < SESSION_TAIL; i++)
		if (in->tail[(in->tail_next + i) % SESSION_TAIL] != NULL)
			n++;
	if (n == 0) {
		fprintf(stderr, "%s: no log output\n", in->label);
		return;
	}
	fprintf(stderr, "last %d log line%s of %s:\n", n, n == 1 ? "" : "s",
		in->label);
	for (int i = 0; i < SESSION_TAIL; i++) {
		const char *l = in->tail[(in->tail_next + i) % SESSION_TAIL];

		if (l != NULL)
			fprintf(stderr, "  %s | %s\n", in->label, l);
	}
	(void)s;
}

void session_fail(struct session *s, struct instance *in, const char *fmt, ...)
{
	char *msg;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	if (in != NULL && in->ready_cb == NULL && session_engine_lost(s)) {
		/* Nothing answers while the engine is gone; monitor.c brings
		   the instance back with the engine. */
		log_debug("%s: %s (the engine is gone)", in->label, msg);
		in->state = INST_EXITED;
		free(msg);
		return;
	}
	progress_hide(&s->progress);
	up_api_said(s, in, "error", msg);
	if (in != NULL)
		in->state = INST_FAILED;
	if (in != NULL && in->ready_cb != NULL) {
		/* A restart or replacement waits on this one: it decides. */
		session_ready_cb cb = in->ready_cb;

		in->ready_cb = NULL;
		if (!s->shutting_down) {
			fprintf(stderr, "devwatch: %s: %s\n", in->label, msg);
			session_print_tail(s, in);
		}
		free(msg);
		cb(in, DW_NOTREADY, in->ready_arg);
		return;
	}
	if (!s->shutting_down) {
		fprintf(stderr, "devwatch: %s%s%s\n", in != NULL ? in->label : "",
			in != NULL ? ": " : "", msg);
		if (in != NULL)
			session_print_tail(s, in);
		s->exit_code = DW_EXIT_FAIL;
		teardown(s);
	}
	free(msg);
}

/* ---- instance chain ---- */

static const char *inst_path(struct instance *in, const char *fmt, char *buf,
			     size_t n)
{
	snprintf(buf, n, fmt, in->id != NULL ? in->id : in->name);
	return buf;
}

static void ready_now(struct instance *in);

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
	if (!in->synced_once && session_live_catchup(in, caught_up))
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
		session_live_all_ready(s);
	}
	order_kick(s);
}

void session_mark_ready(struct instance *in)
{
	ready_now(in);
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
		session_fail(in->s, in, "not ready after %d ms (readiness %s)",
			     in->cs->c->readiness.start_timeout_ms,
			     in->cs->c->readiness.http_path != NULL
				     ? in->cs->c->readiness.http_path
				     : "command");
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
		/* No probe: running and still running a moment later. */
		uv_timer_start(&in->timer, probe_again, 300, 0);
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

static void inspect_ports(struct instance *in)
{
	struct engine_call call = {.method = "GET"};
	char path[256];

	call.path = inst_path(in, "/containers/%s/json", path, sizeof(path));
	engine_request(in->s->e, &call, on_ports, in, NULL);
}

static void on_started(struct engine_req *req, int err,
		       const struct engine_resp *resp, void *arg)
{
	struct instance *in = arg;

	(void)req;
	if (in->state != INST_STARTING)
		return;
	if (err != 0 || (resp->status != 204 && resp->status != 304)) {
		char *m = err != 0 ? xstrdup(dw_strerror(err))
				   : engine_error_message(resp->body, resp->len);

		session_fail(in->s, in, "cannot start: %s", m);
		free(m);
		return;
	}
	session_follow_logs(in, 0);
	inspect_ports(in);
}

static void on_created(struct engine_req *req, int err,
		       const struct engine_resp *resp, void *arg)
{
	struct instance *in = arg;
	struct engine_call call = {.method = "POST"};
	char path[256];
	cJSON *o;

	(void)req;
	if (in->state != INST_STARTING)
		return;
	if (err != 0 || resp->status != 201) {
		char *m = err != 0 ? xstrdup(dw_strerror(err))
				   : engine_error_message(resp->body, resp->len);

		session_fail(in->s, in, "cannot create container %s: %s", in->name, m);
		free(m);
		return;
	}
	o = cJSON_ParseWithLength(resp->body, resp->len);
	free(in->id);
	in->id = xstrdup(cJSON_IsString(cJSON_GetObjectItem(o, "Id"))
				 ? cJSON_GetObjectItem(o, "Id")->valuestring
				 : in->name);
	cJSON_Delete(o);
	call.path = inst_path(in, "/containers/%s/start", path, sizeof(path));
	engine_request(in->s->e, &call, on_started, in, NULL);
}

static void inst_create(struct instance *in)
{
	struct engine_call call = {.method = "POST"};
	char *body = container_create_body(in->s->p, in->cs->c, in->replica,
					   in->cs->image_ref);
	char *enc = engine_urlencode(in->name);
	char *path = xasprintf("/containers/create?name=%s", enc);

	in->state = INST_STARTING;
	in->started_ns = now_ns();
	call.path = path;
	call.body = body;
	call.body_len = strlen(body);
	engine_request(in->s->e, &call, on_created, in, NULL);
	free(body);
	free(enc);
	free(path);
}

static void on_old_removed(struct engine_req *req, int err,
			   const struct engine_resp *resp, void *arg)
{
	struct instance *in = arg;

	(void)req, (void)resp;
	if (in->state != INST_NEW)
		return;
	if (err != 0) {
		session_fail(in->s, in, "cannot remove the old %s", in->name);
		return;
	}
	inst_create(in);
}

static void on_existing(struct engine_req *req, int err,
			const struct engine_resp *resp, void *arg)
{
	struct instance *in = arg;
	struct engine_call call = {.method = "DELETE"};
	struct container_info ci;
	char path[256];

	(void)req;
	if (in->state != INST_NEW)
		return;
	if (err != 0) {
		session_fail(in->s, in, "cannot inspect %s: %s", in->name, dw_strerror(err));
		return;
	}
	if (resp->status == 404) {
		inst_create(in);
		return;
	}
	container_info_parse(resp->body, resp->len, in->cs->c, &ci);
	if (ci.running && ci.config_hash != NULL &&
	    strcmp(ci.config_hash, in->cs->c->config_hash) == 0 &&
	    strcmp(ci.image, in->cs->image_ref) == 0) {
		/* Same config, same image, running: adopt it. */
		in->id = ci.id;
		ci.id = NULL;
		session_take_ports(in, &ci);
		in->adopted = true;
		container_info_free(&ci);
		session_say(in->s, in, "adopted", "adopted running container %s", in->name);
		session_follow_logs(in, (long)time(NULL));
		in->state = INST_STARTING;
		session_probe(in);
		return;
	}
	container_info_free(&ci);
	snprintf(path, sizeof(path), "/containers/%s?force=1&v=1", in->name);
	call.path = path;
	engine_request(in->s->e, &call, on_old_removed, in, NULL);
}

static void inst_begin(struct instance *in)
{
	struct engine_call call = {.method = "GET"};
	char path[256];

	snprintf(path, sizeof(path), "/containers/%s/json", in->name);
	call.path = path;
	engine_request(in->s->e, &call, on_existing, in, NULL);
}

static void on_stale_next(struct engine_req *req, int err,
			  const struct engine_resp *resp, void *arg)
{
	(void)req, (void)err, (void)resp;
	inst_begin(arg);
}

/* A replacement cut short by a killed devwatch leaves "<name>-next",
   which may hold the fixed host ports the new container needs: remove it
   (whatever the answer: 404 is the usual one) before looking at <name>. */
static void inst_start(struct instance *in)
{
	struct engine_call call = {.method = "DELETE", .timeout_ms = 30000};
	char path[256];

	snprintf(path, sizeof(path), "/containers/%s-next?force=1&v=1", in->name);
	call.path = path;
	if (engine_request(in->s->e, &call, on_stale_next, in, NULL) != 0)
		inst_begin(in);
}

/* Start an instance whose dependencies are met (order.c). */
void session_begin(struct instance *in)
{
	inst_start(in);
}

/* ---- restart and replacement (live update) ---- */

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
	inspect_ports(in);
}

void session_restart(struct instance *in, session_ready_cb cb, void *arg)
{
	struct engine_call call = {.method = "POST", .timeout_ms = 60000};
	char path[256];

	in->ready_cb = cb;
	in->ready_arg = arg;
	monitor_expect_exit(in);
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

/*
 * Replacement. With host port 0 the new container starts beside the old one,
 * and the old one goes once the new one is ready. A fixed host port can be
 * held by one container at a time, so there the old one is stopped first;
 * if the new one then fails, it is removed and the old one started again.
 * Either way the new container ends up with the old one's name and place.
 */
struct replace {
	struct instance *old, *nw;
	session_ready_cb cb;
	void *arg;
	bool stopped_old; /* fixed ports: the old one was stopped first */
	int err;	  /* why the new one failed */
};

static void free_instance(struct instance *in);

static void replace_end(struct replace *r, int err)
{
	struct instance *old = r->old;

	r->cb(old, err, r->arg);
	free_instance(r->nw);
	free(r);
}

static bool fixed_ports(const struct project_container *c)
{
	for (size_t i = 0; i < c->n_ports; i++)
		if (c->ports[i].host != 0)
			return true;
	return false;
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
	order_replaced(old);
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
	inspect_ports(old);
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
	inst_begin(r->nw);
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
	inst_begin(nw);
}

/* ---- images ---- */

static void image_progress(void *arg, const char *line)
{
	struct cstate *cs = arg;
	struct session *s = cs->inst[0].s;

	if (s->o.json)
		session_say(s, &cs->inst[0], "build", "%s", line);
	else if (!progress_update(&s->progress, cs->c->name, cs->colour, line))
		printf("%s%-*s%s  %s\n", log_colour_code(cs->colour), s->label_width,
		       cs->c->name, log_colour_reset(), line);
	fflush(stdout);
}

static void image_done(void *arg, int err, const char *ref, bool built,
		       const char *cause)
{
	struct cstate *cs = arg;
	struct session *s = cs->inst[0].s;

	s->images_pending--;
	progress_done(&s->progress, cs->c->name, err != 0);
	if (s->shutting_down) {
		teardown(s);
		return;
	}
	if (err != 0) {
		session_fail(s, NULL, "%s: %s", cs->c->name,
			     cause != NULL ? cause : dw_strerror(err));
		return;
	}
	cs->image_ref = xstrdup(ref);
	session_say(s, &cs->inst[0], "image", "image %s %s", ref,
		    built ? (cs->c->build != NULL ? "built" : "pulled")
			  : (cs->c->build != NULL ? "up to date, not rebuilt"
						  : "present"));
	order_image_ready(cs);
}

/* ---- teardown ---- */

static void engine_closed(void *arg)
{
	struct session *s = arg;

	s->e = NULL;
}

static void on_network_removed(int err, const char *msg, void *arg)
{
	struct session *s = arg;

	if (err != 0)
		fprintf(stderr, "devwatch: %s\n", msg);
	s->teardown_pending--;
	finish_if_done(s);
}

static void finish_if_done(struct session *s)
{
	if (s->teardown_pending > 0 || s->images_pending > 0 || s->finished)
		return;
	/* The network goes last, once no container is on it. */
	if (s->network_up && !s->o.keep && s->e != NULL) {
		s->network_up = false;
		s->teardown_pending++;
		if (network_remove(s->e, s->p, on_network_removed, s) == 0)
			return;
		s->teardown_pending--;
	}
	s->finished = true;
	up_api_stop(s);
	uv_signal_stop(&s->sigint);
	uv_signal_stop(&s->sigterm);
	uv_signal_stop(&s->sighup);
	for (size_t i = 0; i < s->n_cs; i++)
		for (int r = 0; r < s->cs[i].n_inst; r++)
			uv_timer_stop(&s->cs[i].inst[r].timer);
	if (s->e != NULL)
		engine_close(s->e, engine_closed, s);
}

static void on_removed(struct engine_req *req, int err,
		       const struct engine_resp *resp, void *arg)
{
	struct instance *in = arg;
	struct session *s = in->s;

	(void)req;
	if (in->state == INST_GONE)
		return; /* the other of two racing removals */
	if (err == 0 && (resp->status == 204 || resp->status == 404 ||
			 resp->status == 409))
		session_say(s, in, "removed", "removed %s", in->name);
	else
		fprintf(stderr, "devwatch: %s: could not remove %s: %s\n", in->label,
			in->name, err != 0 ? dw_strerror(err) : "the engine refused");
	in->state = INST_GONE;
	s->teardown_pending--;
	finish_if_done(s);
}

static void remove_inst(struct instance *in)
{
	struct engine_call call = {.method = "DELETE", .timeout_ms = 30000};
	char path[256];

	if (in->removing)
		return;
	in->removing = true;
	call.path = inst_path(in, "/containers/%s?force=1&v=1", path, sizeof(path));
	engine_request(in->s->e, &call, on_removed, in, NULL);
}

static void stored_then_remove(struct instance *in, void *arg)
{
	(void)arg;
	if (in->state != INST_GONE)
		remove_inst(in);
}

static void on_stopped(struct engine_req *req, int err,
		       const struct engine_resp *resp, void *arg)
{
	struct instance *in = arg;

	(void)req, (void)err, (void)resp;
	if (in->state == INST_GONE)
		return;
	/* A job stored its datasets when it ended. */
	if (in->cs->c->job || in->removing)
		remove_inst(in);
	else
		datasets_store(in, stored_then_remove, NULL);
}

static void teardown(struct session *s)
{
	s->shutting_down = true;
	monitor_stop(s);
	session_live_stop(s);
	if (s->images_pending > 0)
		return; /* image_done calls back here */
	if (s->teardown_pending > 0)
		return;
	for (size_t i = 0; i < s->n_cs; i++) {
		for (int r = 0; r < s->cs[i].n_inst; r++) {
			struct instance *in = &s->cs[i].inst[r];

			uv_timer_stop(&in->timer);
			if (in->probe != NULL)
				engine_cancel(in->probe);
			session_log_close(in);
			if (s->o.keep || in->id == NULL || in->state == INST_GONE)
				continue;
			/* Graceful first; a second signal removes at once. */
			struct engine_call call = {.method = "POST", .timeout_ms = 15000};
			char path[256], grace[64];

			in->state = INST_STOPPING;
			s->teardown_pending++;
			snprintf(grace, sizeof(grace), "/containers/%%s/stop?t=%d",
				 (in->cs->c->stop_grace_ms + 999) / 1000);
			call.path = inst_path(in, grace, path, sizeof(path));
			engine_request(s->e, &call, on_stopped, in, NULL);
		}
	}
	if (s->o.keep)
		session_say(s, NULL, "kept", "--keep: leaving the containers running");
	finish_if_done(s);
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct session *s = h->data;

	if (++s->signals == 1) {
		if (!s->o.json)
			fprintf(stderr, "\ndevwatch: %s, stopping (again to force)\n",
				signum == SIGINT   ? "interrupted"
				: signum == SIGHUP ? "the terminal closed"
						   : "terminated");
		teardown(s);
		return;
	}
	/* Second signal: remove everything now. */
	for (size_t i = 0; i < s->n_cs; i++)
		for (int r = 0; r < s->cs[i].n_inst; r++)
			if (s->cs[i].inst[r].state == INST_STOPPING)
				remove_inst(&s->cs[i].inst[r]);
}

/* ---- setup ---- */

/* A remote engine reads a bind mount's source on its own machine. */
static void warn_remote_binds(struct session *s)
{
	for (size_t i = 0; i < s->n_cs && engine_is_remote(s->e); i++)
		for (size_t m = 0; m < s->cs[i].c->n_mounts; m++)
			if (strcmp(s->cs[i].c->mounts[m].type, "bind") == 0) {
				session_say(s, NULL, "warning",
					    "the engine at %s is remote: bind mount '%s' of '%s' "
					    "is a path on the engine's machine, not this one",
					    engine_address(s->e), s->cs[i].c->mounts[m].source,
					    s->cs[i].c->name);
				return;
			}
}

static void start_images(struct session *s)
{
	if (s->shutting_down)
		return;
	for (size_t i = 0; i < s->n_cs; i++) {
		struct cstate *cs = &s->cs[i];

		s->images_pending++;
		if (image_ensure(s->e, s->p, cs->c, image_progress, image_done, cs) != 0) {
			s->images_pending--;
			session_fail(s, NULL, "%s: cannot start the image job", cs->c->name);
			return;
		}
	}
}

static void on_network(int err, const char *msg, void *arg)
{
	struct session *s = arg;

	s->teardown_pending--;
	if (err != 0) {
		session_fail(s, NULL, "%s", msg);
		return;
	}
	s->network_up = true;
	if (s->shutting_down) {
		finish_if_done(s);
		return;
	}
	start_images(s);
}

/* The project network comes first: every container joins it. */
void session_images_start(struct session *s)
{
	if (s->network_up || !network_needed(s->p)) {
		start_images(s);
		return;
	}
	s->teardown_pending++;
	if (network_ensure(s->e, s->p, on_network, s) != 0)
		on_network(DW_ENGINE_DOWN, "cannot create the project network", s);
}

static void on_engine(struct engine *e, int err, void *arg)
{
	struct session *s = arg;

	if (err != 0) {
		char *m = engine_down_message(e);

		fprintf(stderr, "devwatch: %s\n", m);
		free(m);
		s->exit_code = DW_EXIT_FAIL;
		s->shutting_down = true;
		finish_if_done(s);
		return;
	}
	monitor_start(s);
	up_api_start(s);
	warn_remote_binds(s);
	/* Watch from the first moment: the images are built from the tree
	   the watcher has scanned, and what changes while they build and
	   start is applied once each container is ready. */
	session_live_start(s);
}

static void mkdirs(const char *path)
{
	char *p = xstrdup(path);

	for (char *q = p + 1; *q != '\0'; q++) {
		if (*q == '/') {
			*q = '\0';
			mkdir(p, 0755);
			*q = '/';
		}
	}
	mkdir(p, 0755);
	free(p);
}

static void setup_instances(struct session *s)
{
	int colour = 0;

	s->n_cs = s->p->n_containers;
	s->cs = xcalloc(s->n_cs, sizeof(*s->cs));
	s->label_width = 8;
	for (size_t i = 0; i < s->n_cs; i++) {
		struct cstate *cs = &s->cs[i];

		cs->c = &s->p->containers[i];
		cs->n_inst = cs->c->replicas;
		cs->inst = xcalloc((size_t)cs->n_inst, sizeof(*cs->inst));
		for (int r = 0; r < cs->n_inst; r++) {
			struct instance *in = &cs->inst[r];

			in->s = s;
			in->cs = cs;
			in->replica = r + 1;
			in->name = project_container_instance(s->p, cs->c, r + 1);
			in->label = cs->n_inst == 1 ? xstrdup(cs->c->name)
						    : xasprintf("%s-%d", cs->c->name, r + 1);
			in->colour = colour;
			uv_timer_init(s->loop, &in->timer);
			in->timer.data = in;
			if ((int)strlen(in->label) > s->label_width)
				s->label_width = (int)strlen(in->label);
			s->not_ready++;
		}
		cs->colour = colour++;
	}
}

static void instance_closed(uv_handle_t *h)
{
	free(container_of((uv_timer_t *)h, struct instance, timer));
}

/* Release what an instance owns. A temporary one (a replacement) is itself
   freed once its timer has closed; one of a cstate's array is not. */
static void release_instance(struct instance *in, bool temporary)
{
	if (in->probe != NULL && temporary)
		engine_forget(in->probe);
	session_log_close(in);
	for (int t = 0; t < SESSION_TAIL; t++)
		free(in->tail[t]);
	for (int b = 0; b < 3; b++)
		buf_release(&in->partial[b]);
	free(in->name);
	free(in->label);
	free(in->id);
	free(in->host_ports);
	container_host_ips_free(in->host_ips, in->cs->c->n_ports);
	free(in->probe_exec);
	uv_close((uv_handle_t *)&in->timer, temporary ? instance_closed : NULL);
}

static void free_instance(struct instance *in)
{
	release_instance(in, true);
}

static void free_session(struct session *s)
{
	monitor_free(s);
	up_api_free(s);
	session_live_free(s);
	for (size_t i = 0; i < s->n_cs; i++) {
		struct cstate *cs = &s->cs[i];

		for (int r = 0; r < cs->n_inst; r++)
			release_instance(&cs->inst[r], false);
		free(cs->inst);
		free(cs->image_ref);
	}
	free(s->cs);
	free(s->logdir);
	progress_release(&s->progress);
	project_free(s->p);
}

int session_run(const struct session_opts *o)
{
	struct session s = {.o = *o};
	char *cause = NULL;
	int err;

	s.start_ns = now_ns();
	s.loop = uv_default_loop();
	err = project_load(o->file, &s.p, &cause);
	if (err != 0) {
		fprintf(stderr, "devwatch: %s\n", cause);
		free(cause);
		return err == DW_PROJECT || err == UV_ENOENT ? DW_EXIT_USAGE : DW_EXIT_FAIL;
	}
	err = engine_new(s.loop, NULL, &s.e, &cause);
	if (err != 0) {
		fprintf(stderr, "devwatch: %s\n", cause);
		free(cause);
		project_free(s.p);
		return DW_EXIT_USAGE;
	}
	s.logdir = xasprintf("%s/.devwatch/logs", s.p->root);
	mkdirs(s.logdir);
	setup_instances(&s);
	/* With -v (or --json) every builder line is printed as it comes. */
	progress_init(&s.progress, !o->json && dw_log_level <= DW_LOG_INFO, s.label_width);
	uv_signal_init(s.loop, &s.sigint);
	uv_signal_init(s.loop, &s.sigterm);
	uv_signal_init(s.loop, &s.sighup);
	s.sigint.data = s.sigterm.data = s.sighup.data = &s;
	uv_signal_start(&s.sigint, on_signal, SIGINT);
	uv_signal_start(&s.sigterm, on_signal, SIGTERM);
	uv_signal_start(&s.sighup, on_signal, SIGHUP);
	engine_negotiate(s.e, on_engine, &s);
	uv_run(s.loop, UV_RUN_DEFAULT);
	uv_close((uv_handle_t *)&s.sigint, NULL);
	uv_close((uv_handle_t *)&s.sigterm, NULL);
	uv_close((uv_handle_t *)&s.sighup, NULL);
	free_session(&s);
	uv_run(s.loop, UV_RUN_DEFAULT);
	uv_loop_close(s.loop);
	return s.exit_code;
}
