/*
 * Starting an instance: a stale "<name>-next" of a killed replacement goes
 * first, then the container of that name is adopted (same config hash,
 * same image, running) or removed, and a new one is created and started;
 * readiness (probe.c) follows. Also what an instance owns, released.
 */
#include "up/instance.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "base/error.h"
#include "base/util.h"
#include "build/container.h"
#include "up/function.h"
#include "up/logs.h"
#include "up/probe.h"
#include "up/say.h"

static void inst_create(struct instance *in);

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
	session_probe_started(in);
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

	session_function_env(in, &body);
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
	    strcmp(ci.image, in->cs->image_ref) == 0 &&
	    session_function_adoptable(in, resp->body, resp->len)) {
		/* Same config, same image, running (and a function's runtime
		   aimed at this session's Runtime API): adopt it. */
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

void session_begin_next(struct instance *in)
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
	session_begin_next(arg);
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
		session_begin_next(in);
}

void session_begin(struct instance *in)
{
	inst_start(in);
}


static void instance_closed(uv_handle_t *h)
{
	free(container_of((uv_timer_t *)h, struct instance, timer));
}

/* Release what an instance owns. A temporary one (a replacement) is itself
   freed once its timer has closed; one of a cstate's array is not. */
void instance_release(struct instance *in, bool temporary)
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


