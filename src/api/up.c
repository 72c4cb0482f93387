/*
 * The `up` session's side of the control API: struct control_ops over the
 * session, and the events the session's lines become (see up-api.h).
 */
#include "api/up.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "api/control.h"
#include "api/events.h"
#include "api/lambda.h"
#include "base/error.h"
#include "base/log.h"
#include "base/util.h"
#include "up/live.h"
#include "up/say.h"
#include "sync/channel.h"
#include "sync/plan.h"

#define MAX_FILES 100

struct up_api {
	struct session *s;
	struct events *es;
	struct control *c;
	const char **names;
	cJSON **last_update; /* per container, or NULL */
	struct lambda_fn **fns; /* per container: a function's Runtime API */
	bool stopping;
};

static struct cstate *find(struct session *s, const char *name)
{
	for (size_t i = 0; i < s->n_cs; i++)
		if (strcmp(s->cs[i].c->name, name) == 0)
			return &s->cs[i];
	return NULL;
}

static const char *state_name(enum inst_state st)
{
	switch (st) {
	case INST_NEW:
	case INST_STARTING:
	case INST_PROBING:
		return "starting";
	case INST_READY:
		return "ready";
	case INST_STOPPING:
		return "running";
	case INST_GONE:
		return "removed";
	case INST_FAILED:
	case INST_EXITED:
		break;
	}
	return "exited";
}

static cJSON *urls_of(struct session *s, struct instance *in)
{
	cJSON *a = cJSON_CreateArray();
	const struct project_container *c = in->cs->c;
	char ip[64], url[160];

	for (size_t i = 0; i < c->n_ports && in->host_ports != NULL && s->e != NULL; i++) {
		if (in->host_ports[i] == 0)
			continue;
		const char *host = engine_host_for_ports(
			s->e, in->host_ips ? in->host_ips[i] : NULL, ip, sizeof(ip));

		snprintf(url, sizeof(url), "%s://%s:%d/",
			 strcmp(c->ports[i].protocol, "udp") == 0 ? "udp" : "http", host,
			 in->host_ports[i]);
		cJSON_AddItemToArray(a, cJSON_CreateString(url));
	}
	return a;
}

/* {"CONTAINER_PORT": HOST_PORT}, as `devwatch status --json` gives. */
static cJSON *ports_of(struct instance *in)
{
	cJSON *o = cJSON_CreateObject();
	const struct project_container *c = in->cs->c;
	char key[16];

	for (size_t i = 0; i < c->n_ports && in->host_ports != NULL; i++) {
		snprintf(key, sizeof(key), "%d", c->ports[i].container);
		if (in->host_ports[i] != 0 && cJSON_GetObjectItem(o, key) == NULL)
			cJSON_AddNumberToObject(o, key, in->host_ports[i]);
	}
	return o;
}

/* ---- control_ops ---- */

static size_t op_names(void *ctx, const char *const **out)
{
	struct up_api *a = ctx;

	*out = a->names;
	return a->s->n_cs;
}

static cJSON *op_status(void *ctx)
{
	struct up_api *a = ctx;
	struct session *s = a->s;
	cJSON *o = cJSON_CreateObject(), *cs_arr;

	cJSON_AddStringToObject(o, "project", s->p->name);
	cJSON_AddStringToObject(o, "version", DEVWATCH_VERSION);
	cJSON_AddBoolToObject(o, "all_ready", s->all_ready);
	cs_arr = cJSON_AddArrayToObject(o, "containers");
	for (size_t i = 0; i < s->n_cs; i++) {
		struct cstate *cs = &s->cs[i];
		cJSON *c = cJSON_CreateObject(), *reps;
		enum inst_state worst = INST_READY;
		bool ready = true;

		cJSON_AddStringToObject(c, "name", cs->c->name);
		reps = cJSON_CreateArray();
		for (int r = 0; r < cs->n_inst; r++) {
			struct instance *in = &cs->inst[r];
			cJSON *ro = cJSON_CreateObject();

			cJSON_AddNumberToObject(ro, "replica", in->replica);
			cJSON_AddStringToObject(ro, "name", in->name);
			if (in->id != NULL)
				cJSON_AddStringToObject(ro, "id", in->id);
			else
				cJSON_AddNullToObject(ro, "id");
			cJSON_AddStringToObject(ro, "state", state_name(in->state));
			cJSON_AddBoolToObject(ro, "ready", in->state == INST_READY);
			cJSON_AddItemToObject(ro, "urls", urls_of(s, in));
			cJSON_AddItemToObject(ro, "ports", ports_of(in));
			cJSON_AddItemToArray(reps, ro);
			if (in->state != INST_READY) {
				ready = false;
				worst = in->state;
			}
		}
		cJSON_AddStringToObject(c, "state", state_name(worst));
		cJSON_AddBoolToObject(c, "ready", ready);
		cJSON_AddBoolToObject(c, "job", cs->c->job);
		cJSON_AddBoolToObject(c, "function", cs->c->function);
		if (cs->image_ref != NULL)
			cJSON_AddStringToObject(c, "image", cs->image_ref);
		else
			cJSON_AddNullToObject(c, "image");
		cJSON_AddItemToObject(c, "urls", urls_of(s, &cs->inst[0]));
		cJSON_AddItemToObject(c, "replicas", reps);
		if (a->last_update[i] != NULL)
			cJSON_AddItemToObject(c, "last_update",
					      cJSON_Duplicate(a->last_update[i], true));
		else
			cJSON_AddNullToObject(c, "last_update");
		cJSON_AddItemToArray(cs_arr, c);
	}
	return o;
}

static int op_trigger(void *ctx, const char *name, char **cause)
{
	struct up_api *a = ctx;
	struct cstate *cs = find(a->s, name);

	return cs == NULL ? DW_NOTFOUND : session_live_trigger(cs, cause);
}

static int op_restart(void *ctx, const char *name, char **cause)
{
	struct up_api *a = ctx;
	struct cstate *cs = find(a->s, name);

	return cs == NULL ? DW_NOTFOUND : session_live_restart(cs, cause);
}

static struct lambda_fn *op_function(void *ctx, const char *name)
{
	struct up_api *a = ctx;
	struct cstate *cs = find(a->s, name);

	return cs != NULL ? a->fns[cs - a->s->cs] : NULL;
}

static const struct control_ops ops = {
	.names = op_names,
	.status = op_status,
	.trigger = op_trigger,
	.restart = op_restart,
	.function = op_function,
};

/* ---- the Runtime API of function containers (up/model.h) ---- */

static struct lambda_fn *fn_of(void *st, const struct cstate *cs)
{
	struct up_api *a = st;

	return a->fns[cs - a->s->cs];
}

/* .devwatch/runtime-NAME: the endpoint the last session served NAME on.
   Serving there again lets a restarted `up` adopt the running container,
   whose runtime still aims at it (and retries until it answers). */
static char *endpoint_file(const struct up_api *a, const struct cstate *cs)
{
	return xasprintf("%s/.devwatch/runtime-%s", a->s->p->root, cs->c->name);
}

static int last_port(const struct up_api *a, const struct cstate *cs, const char *address)
{
	char *path = endpoint_file(a, cs), line[96], want[72];
	FILE *f = fopen(path, "r");
	int port = 0;

	free(path);
	if (f == NULL)
		return 0;
	snprintf(want, sizeof(want), "%s:", address);
	if (fgets(line, sizeof(line), f) != NULL && strncmp(line, want, strlen(want)) == 0)
		port = atoi(line + strlen(want));
	fclose(f);
	return port > 0 && port < 65536 ? port : 0;
}

static void save_endpoint(const struct up_api *a, const struct cstate *cs, const char *ep)
{
	char *path = endpoint_file(a, cs);
	FILE *f = fopen(path, "w");
	bool ok = f != NULL && fprintf(f, "%s\n", ep) > 0;

	if (f != NULL && fclose(f) != 0)
		ok = false;
	if (!ok)
		log_debug("cannot write '%s': a restarted up will recreate '%s'", path, cs->c->name);
	free(path);
}

static int fn_serve(void *st, struct cstate *cs, const char *address,
		    const char *allow, char **cause)
{
	struct up_api *a = st;
	struct lambda_options lo = {.name = cs->c->name, .address = address, .allow = allow};
	struct lambda_fn **slot = &a->fns[cs - a->s->cs];
	char *ignored = NULL;
	int err = -1;

	if (*slot != NULL)
		return 0;
	if (a->stopping) {
		*cause = xstrdup("the session is ending");
		return DW_CANCELED;
	}
	lo.port = last_port(a, cs, address);
	if (lo.port != 0)
		err = lambda_fn_new(a->s->loop, &lo, slot, &ignored);
	free(ignored); /* taken meanwhile: a free one, and a new container */
	lo.port = 0;
	if (err != 0)
		err = lambda_fn_new(a->s->loop, &lo, slot, cause);
	if (err != 0)
		return err;
	save_endpoint(a, cs, lambda_fn_endpoint(*slot));
	session_say(a->s, &cs->inst[0], "api", "Lambda Runtime API on %s",
		    lambda_fn_endpoint(*slot));
	return 0;
}

static const char *const *fn_env(void *st, struct cstate *cs)
{
	struct lambda_fn *fn = fn_of(st, cs);

	return fn != NULL ? lambda_fn_env(fn) : NULL;
}

static bool fn_ready(void *st, struct cstate *cs, const char **init_error)
{
	struct lambda_fn *fn = fn_of(st, cs);

	*init_error = fn != NULL ? lambda_fn_init_error(fn) : NULL;
	return fn != NULL && lambda_fn_ready(fn);
}

static bool fn_hold(void *st, struct cstate *cs, void (*cb)(void *arg), void *arg)
{
	struct lambda_fn *fn = fn_of(st, cs);

	if (fn == NULL)
		return false;
	lambda_fn_pause(fn, true);
	lambda_fn_on_idle(fn, cb, arg);
	return true;
}

static void fn_release(void *st, struct cstate *cs)
{
	struct lambda_fn *fn = fn_of(st, cs);

	if (fn != NULL)
		lambda_fn_pause(fn, false);
}

static bool fn_busy(void *st, struct cstate *cs)
{
	struct lambda_fn *fn = fn_of(st, cs);

	return fn != NULL && lambda_fn_busy(fn);
}

static void fn_reset(void *st, struct cstate *cs, const char *message)
{
	struct lambda_fn *fn = fn_of(st, cs);

	if (fn != NULL)
		lambda_fn_reset(fn, "Runtime.ExitError", message);
}

static const struct session_functions fn_ops = {
	.serve = fn_serve,
	.env = fn_env,
	.ready = fn_ready,
	.hold = fn_hold,
	.release = fn_release,
	.busy = fn_busy,
	.reset = fn_reset,
};

/* ---- the sink ---- */

static void *sink_start(struct session *s)
{
	struct up_api *a = xcalloc(1, sizeof(*a));
	struct control_options o = {.port = 0, .version = DEVWATCH_VERSION};
	char *dir = xasprintf("%s/.devwatch", s->p->root), *cause = NULL;

	a->s = s;
	a->es = events_new(0, 0);
	a->names = xcalloc(s->n_cs + 1, sizeof(*a->names));
	a->last_update = xcalloc(s->n_cs + 1, sizeof(*a->last_update));
	a->fns = xcalloc(s->n_cs + 1, sizeof(*a->fns));
	for (size_t i = 0; i < s->n_cs; i++)
		a->names[i] = s->cs[i].c->name;
	/* The Runtime API servers are ours, the control API's or not. */
	s->functions = &fn_ops;
	s->functions_st = a;
	o.state_dir = dir;
	if (control_new(s->loop, &o, &ops, a, a->es, NULL, &a->c, &cause) != 0) {
		a->c = NULL;
		session_say(s, NULL, "warning", "no control API: %s", cause);
		free(cause);
	} else {
		session_say(s, NULL, "api", "control API on http://127.0.0.1:%d/",
			    control_port(a->c));
	}
	free(dir);
	return a;
}

static void sink_stop(void *st)
{
	struct up_api *a = st;

	if (a->stopping)
		return;
	a->stopping = true;
	if (a->c != NULL)
		control_close(a->c, NULL, NULL);
	a->c = NULL;
	/* What is still queued is canceled (503). */
	for (size_t i = 0; i < a->s->n_cs; i++) {
		if (a->fns[i] != NULL)
			lambda_fn_close(a->fns[i], NULL, NULL);
		a->fns[i] = NULL;
	}
}

static void sink_release(void *st)
{
	struct up_api *a = st;

	sink_stop(a);
	a->s->functions = NULL;
	for (size_t i = 0; i < a->s->n_cs; i++)
		cJSON_Delete(a->last_update[i]);
	free(a->last_update);
	free(a->fns);
	free(a->names);
	events_free(a->es);
	free(a);
}

/* ---- events ---- */

/* Lines about a container's state, by their --json names. */
static bool is_state(const char *event)
{
	static const char *const v[] = {
		"ready",     "exited",	 "restarted", "removed",   "removed-outside",
		"starting",  "adopted",	 "replaced",  "unhealthy", "not-ready",
		"recovered", "wake",	 "engine-lost", "engine-back",
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (strcmp(event, v[i]) == 0)
			return true;
	return false;
}

static const char *level_of(const char *event)
{
	if (strcmp(event, "error") == 0 || strcmp(event, "update-failed") == 0 ||
	    strcmp(event, "replace-failed") == 0 || strcmp(event, "dataset-failed") == 0)
		return "error";
	if (strcmp(event, "warning") == 0)
		return "warn";
	return "info";
}

static void said(struct up_api *a, struct instance *in, const char *event, const char *msg)
{
	struct session *s = a->s;
	const char *name = in != NULL ? in->cs->c->name : NULL;
	int replica = in != NULL ? in->replica : -1;
	cJSON *f = cJSON_CreateObject();
	const char *kind = "notice";

	cJSON_AddStringToObject(f, "event", event);
	cJSON_AddStringToObject(f, "message", msg);
	if (in != NULL && is_state(event)) {
		kind = "state";
		cJSON_AddStringToObject(f, "state", state_name(in->state));
		cJSON_AddBoolToObject(f, "ready", in->state == INST_READY);
		if (in->id != NULL)
			cJSON_AddStringToObject(f, "id", in->id);
		cJSON_AddItemToObject(f, "urls", urls_of(s, in));
	} else if (strcmp(event, "output") == 0) {
		kind = "log";
		cJSON_AddStringToObject(f, "stream", "step");
		cJSON_AddStringToObject(f, "line", msg);
	} else if (strcmp(event, "build") == 0 || strcmp(event, "image") == 0) {
		kind = "progress";
		cJSON_AddStringToObject(f, "what", "build");
		cJSON_AddBoolToObject(f, "done", strcmp(event, "image") == 0);
	} else if (strcmp(event, "catch-up") == 0) {
		kind = "catch-up";
	} else {
		cJSON_AddStringToObject(f, "level", level_of(event));
	}
	events_emit(a->es, kind, name, replica, f);
}

static void log_line(struct up_api *a, struct instance *in, int stream, const char *line,
		     size_t n)
{
	cJSON *f = cJSON_CreateObject();
	char *l;

	l = xstrndup(line, n);
	cJSON_AddStringToObject(f, "stream", stream == 2 ? "stderr" : "stdout");
	cJSON_AddStringToObject(f, "line", l);
	free(l);
	events_emit(a->es, "log", in->cs->c->name, in->replica, f);
}

/* A large update began: a progress event until its update event. */
static void sync_begins(struct up_api *a, struct cstate *cs, const struct sync_plan *p)
{
	cJSON *f = cJSON_CreateObject();

	cJSON_AddStringToObject(f, "what", "sync");
	cJSON_AddBoolToObject(f, "done", false);
	cJSON_AddNumberToObject(f, "files", (double)p->n_writes);
	cJSON_AddNumberToObject(f, "bytes", (double)p->bytes);
	events_emit(a->es, "progress", cs->c->name, -1, f);
}

static double ms_between(uint64_t from, uint64_t to)
{
	return from != 0 && to > from ? (double)(to - from) / 1e6 : 0.0;
}

static void update(struct up_api *a, struct cstate *cs, const struct up_update *u)
{
	struct session *s = a->s;
	const struct sync_plan *p = u->plan;
	cJSON *f, *files, *stages, *steps;
	double steps_ms = 0;
	uint64_t synced = u->applied != 0 ? u->applied : u->ended;

	f = cJSON_CreateObject();
	files = cJSON_AddArrayToObject(f, "files");
	for (size_t i = 0; i < p->n_names && i < MAX_FILES; i++)
		cJSON_AddItemToArray(files, cJSON_CreateString(p->names[i]));
	cJSON_AddNumberToObject(f, "count", (double)p->n_names);
	cJSON_AddStringToObject(f, "result", u->failed ? "failed" : u->rebuilt ? "rebuild" : "ok");
	cJSON_AddStringToObject(f, "message", u->what);
	cJSON_AddNumberToObject(f, "replicas", cs->n_inst);
	stages = cJSON_AddObjectToObject(f, "stages");
	cJSON_AddNumberToObject(stages, "settle", ms_between(u->first_event, u->settled));
	cJSON_AddNumberToObject(stages, "hash", ms_between(u->settled, u->hashed));
	cJSON_AddNumberToObject(stages, "wait", ms_between(u->hashed, u->started));
	steps = cJSON_AddArrayToObject(stages, "steps");
	for (size_t i = 0; i < p->n_runs && u->ch != NULL; i++) {
		uint64_t ns = channel_step_ns(u->ch, i);
		cJSON *st;

		if (ns == 0 && u->failed_step >= 0 && (int)i > u->failed_step)
			break;
		st = cJSON_CreateObject();
		cJSON_AddStringToObject(st, "cmd", p->runs[i]);
		cJSON_AddNumberToObject(st, "ms", (double)ns / 1e6);
		cJSON_AddNumberToObject(st, "exit", (int)i == u->failed_step ? u->failed_rc : 0);
		cJSON_AddItemToArray(steps, st);
		steps_ms += (double)ns / 1e6;
	}
	{
		double transfer = ms_between(u->started, synced) - steps_ms;

		cJSON_AddNumberToObject(stages, "transfer", transfer > 0 ? transfer : 0);
	}
	if (p->restart && u->applied != 0 && !u->failed)
		cJSON_AddNumberToObject(stages, "restart", ms_between(u->applied, u->ended));
	cJSON_AddNumberToObject(f, "total_ms",
				ms_between(u->first_event ? u->first_event : u->started, u->ended));
	if (u->failed_step >= 0)
		cJSON_AddStringToObject(f, "output", u->what);
	cJSON_Delete(a->last_update[cs - s->cs]);
	a->last_update[cs - s->cs] = cJSON_Duplicate(f, true);
	events_emit(a->es, "update", cs->c->name, -1, f);
}

static void on_event(void *st, const struct up_event *ev)
{
	struct up_api *a = st;
	char *l;

	if (a->stopping)
		return;
	switch (ev->kind) {
	case UP_SAID:
	case UP_ERROR:
		said(a, ev->in, ev->name, ev->text);
		break;
	case UP_OUTPUT:
	case UP_BUILD:
		l = xstrndup(ev->text, ev->len);
		said(a, ev->kind == UP_BUILD ? &ev->cs->inst[0] : ev->in,
		     ev->kind == UP_BUILD ? "build" : "output", l);
		free(l);
		break;
	case UP_LOG:
		log_line(a, ev->in, ev->stream, ev->text, ev->len);
		break;
	case UP_SYNC:
		sync_begins(a, ev->cs, ev->plan);
		break;
	case UP_BUILD_END:
		break;
	case UP_UPDATE:
		update(a, ev->cs, ev->update);
		break;
	}
}

const struct up_sink up_api_sink = {
	.start = sink_start,
	.event = on_event,
	.stop = sink_stop,
	.release = sink_release,
};
