/*
 * The container manager of `devwatch serve` over the engine (see serve.h):
 * a start ensures the project network and the image, replaces any
 * container of that name, creates one with the ports asked for, starts it
 * and reads back the bound ports. A repeated start answers the same one.
 */
#include "api/serve.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "api/apifile.h"
#include "api/http.h"
#include "api/manager.h"
#include "base/error.h"
#include "base/log.h"
#include "base/util.h"
#include "build/container.h"
#include "build/image.h"
#include "up/network.h"

struct started {
	struct project_container *c;
	char *id;
	struct manager_port *ports;
	size_t n_ports;
};

struct serve {
	uv_loop_t *loop;
	struct engine *e;
	struct project *p;
	struct manager *m;
	struct http_server *http;
	const char *pathfile;
	const char **names;
	struct started *st; /* per container; id NULL when not started */
	bool network_up;
	bool ending;
	int removing;
	struct manager_call *shutdown_call;
	uv_signal_t sigint, sigterm;
	int exit_code;
};

/* One start in flight. */
struct job {
	struct serve *sv;
	struct started *st;
	struct manager_port *ports;
	size_t n_ports;
	struct manager_call *call;
	char *ref;
};

static void job_end(struct job *j, int err, const char *message)
{
	if (err != 0) {
		manager_started(j->call, err, message, NULL);
		free(j->ports);
	} else {
		struct manager_container mc = {.id = j->st->id, .just_created = true,
					       .ports = j->ports, .n_ports = j->n_ports};

		free(j->st->ports);
		j->st->ports = j->ports;
		j->st->n_ports = j->n_ports;
		manager_started(j->call, 0, NULL, &mc);
	}
	free(j->ref);
	free(j);
}

static int engine_fail(const struct engine_resp *resp, int err, char *msg, size_t n,
		       const char *what)
{
	const cJSON *m;
	cJSON *j;

	if (err != 0) {
		snprintf(msg, n, "%s: %s", what, dw_strerror(err));
		return err;
	}
	j = cJSON_Parse(resp->body);
	m = cJSON_GetObjectItemCaseSensitive(j, "message");
	snprintf(msg, n, "%s: the engine answered %ld%s%s", what, resp->status,
		 cJSON_IsString(m) ? ": " : "", cJSON_IsString(m) ? m->valuestring : "");
	cJSON_Delete(j);
	return DW_ENGINE_HTTP;
}

/* The bound host port of each asked container port. */
static void on_inspect(struct engine_req *req, int err, const struct engine_resp *resp,
		       void *arg)
{
	struct job *j = arg;
	char msg[512];
	cJSON *o, *ports;

	(void)req;
	if (err != 0 || resp->status != 200) {
		err = engine_fail(resp, err, msg, sizeof(msg), "cannot inspect the container");
		job_end(j, err, msg);
		return;
	}
	o = cJSON_Parse(resp->body);
	ports = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(o, "NetworkSettings"), "Ports");
	for (size_t i = 0; i < j->n_ports; i++) {
		char key[32];
		const cJSON *b, *hp;

		snprintf(key, sizeof(key), "%d/tcp", j->ports[i].container);
		b = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(ports, key), 0);
		hp = cJSON_GetObjectItemCaseSensitive(b, "HostPort");
		if (cJSON_IsString(hp))
			j->ports[i].host = atoi(hp->valuestring);
	}
	cJSON_Delete(o);
	job_end(j, 0, NULL);
}

static void on_start(struct engine_req *req, int err, const struct engine_resp *resp,
		     void *arg)
{
	struct job *j = arg;
	struct engine_call call = {.method = "GET", .timeout_ms = 30000};
	char path[256], msg[512];

	(void)req;
	if (err != 0 || (resp->status != 204 && resp->status != 304)) {
		err = engine_fail(resp, err, msg, sizeof(msg), "cannot start the container");
		job_end(j, err, msg);
		return;
	}
	snprintf(path, sizeof(path), "/containers/%s/json", j->st->id);
	call.path = path;
	if (engine_request(j->sv->e, &call, on_inspect, j, NULL) != 0)
		job_end(j, DW_ENGINE_DOWN, "cannot inspect the container");
}

static void on_create(struct engine_req *req, int err, const struct engine_resp *resp,
		      void *arg)
{
	struct job *j = arg;
	struct engine_call call = {.method = "POST", .timeout_ms = 60000};
	char path[256], msg[512];
	const cJSON *id;
	cJSON *o;

	(void)req;
	if (err != 0 || resp->status != 201) {
		err = engine_fail(resp, err, msg, sizeof(msg), "cannot create the container");
		job_end(j, err, msg);
		return;
	}
	o = cJSON_Parse(resp->body);
	id = cJSON_GetObjectItemCaseSensitive(o, "Id");
	if (!cJSON_IsString(id)) {
		cJSON_Delete(o);
		job_end(j, DW_ENGINE_PROTO, "the engine's create answer has no Id");
		return;
	}
	free(j->st->id);
	j->st->id = xstrdup(id->valuestring);
	cJSON_Delete(o);
	snprintf(path, sizeof(path), "/containers/%s/start", j->st->id);
	call.path = path;
	if (engine_request(j->sv->e, &call, on_start, j, NULL) != 0)
		job_end(j, DW_ENGINE_DOWN, "cannot start the container");
}

/* The project's create body with the ports the caller asked for. */
static char *create_body(struct job *j)
{
	char *body = container_create_body(j->sv->p, j->st->c, 1, j->ref), *out;
	cJSON *o = cJSON_Parse(body), *exposed, *bindings, *hc;

	free(body);
	hc = cJSON_GetObjectItemCaseSensitive(o, "HostConfig");
	cJSON_DeleteItemFromObjectCaseSensitive(o, "ExposedPorts");
	cJSON_DeleteItemFromObjectCaseSensitive(hc, "PortBindings");
	exposed = cJSON_AddObjectToObject(o, "ExposedPorts");
	bindings = cJSON_AddObjectToObject(hc, "PortBindings");
	for (size_t i = 0; i < j->n_ports; i++) {
		char key[32], hp[16] = "";
		cJSON *b = cJSON_CreateObject(), *list;

		snprintf(key, sizeof(key), "%d/tcp", j->ports[i].container);
		if (cJSON_GetObjectItem(exposed, key) == NULL)
			cJSON_AddObjectToObject(exposed, key);
		list = cJSON_GetObjectItem(bindings, key);
		if (list == NULL)
			list = cJSON_AddArrayToObject(bindings, key);
		if (j->ports[i].host != 0)
			snprintf(hp, sizeof(hp), "%d", j->ports[i].host);
		/* Loopback, where harpoon binds every address. */
		cJSON_AddStringToObject(b, "HostIp", "127.0.0.1");
		cJSON_AddStringToObject(b, "HostPort", hp);
		cJSON_AddItemToArray(list, b);
	}
	out = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return out;
}

static void on_old_gone(struct engine_req *req, int err, const struct engine_resp *resp,
			void *arg)
{
	struct job *j = arg;
	struct engine_call call = {.method = "POST", .timeout_ms = 60000};
	char *name = project_container_instance(j->sv->p, j->st->c, 1);
	char *path = xasprintf("/containers/create?name=%s", name);
	char *body = create_body(j);

	(void)req, (void)err, (void)resp;
	call.path = path;
	call.body = body;
	call.body_len = strlen(body);
	if (engine_request(j->sv->e, &call, on_create, j, NULL) != 0)
		job_end(j, DW_ENGINE_DOWN, "cannot create the container");
	free(body);
	free(path);
	free(name);
}

static void on_image(void *arg, int err, const char *ref, bool built, const char *cause)
{
	struct job *j = arg;
	struct engine_call call = {.method = "DELETE", .timeout_ms = 30000};
	char *name, *path;

	(void)built;
	if (err != 0) {
		job_end(j, err, cause);
		return;
	}
	j->ref = xstrdup(ref);
	/* A container of that name left by an earlier run goes first. */
	name = project_container_instance(j->sv->p, j->st->c, 1);
	path = xasprintf("/containers/%s?force=1&v=1", name);
	call.path = path;
	if (engine_request(j->sv->e, &call, on_old_gone, j, NULL) != 0)
		job_end(j, DW_ENGINE_DOWN, "cannot reach the engine");
	free(path);
	free(name);
}

static void image_line(void *arg, const char *line)
{
	struct job *j = arg;

	log_debug("%s: %s", j->st->c->name, line);
}

static void on_network(int err, const char *msg, void *arg)
{
	struct job *j = arg;

	if (err != 0) {
		job_end(j, err, msg);
		return;
	}
	j->sv->network_up = true;
	if (image_ensure(j->sv->e, j->sv->p, j->st->c, image_line, on_image, j) != 0)
		job_end(j, DW_BUILD, "cannot start the image job");
}

/* ---- manager_ops ---- */

static size_t op_names(void *ctx, const char *const **out)
{
	struct serve *sv = ctx;

	*out = sv->names;
	return sv->p->n_containers;
}

static struct started *find(struct serve *sv, const char *name)
{
	for (size_t i = 0; i < sv->p->n_containers; i++)
		if (strcmp(sv->names[i], name) == 0)
			return &sv->st[i];
	return NULL;
}

static int op_start(void *ctx, const char *name, const struct manager_port *ports,
		    size_t n_ports, struct manager_call *call)
{
	struct serve *sv = ctx;
	struct started *st = find(sv, name);
	struct job *j;

	if (st == NULL)
		return DW_NOTFOUND;
	if (st->id != NULL) {
		struct manager_container mc = {.id = st->id, .just_created = false,
					       .ports = st->ports, .n_ports = st->n_ports};

		manager_started(call, 0, NULL, &mc);
		return 0;
	}
	j = xcalloc(1, sizeof(*j));
	j->sv = sv;
	j->st = st;
	j->call = call;
	j->n_ports = n_ports;
	j->ports = xcalloc(n_ports + 1, sizeof(*j->ports));
	memcpy(j->ports, ports, n_ports * sizeof(*ports));
	if (!sv->network_up && network_needed(sv->p)) {
		if (network_ensure(sv->e, sv->p, on_network, j) != 0) {
			free(j->ports);
			free(j);
			return DW_ENGINE_DOWN;
		}
		return 0;
	}
	on_network(0, NULL, j);
	return 0;
}

struct removal {
	struct serve *sv;
	struct manager_call *call;
};

static void finish_shutdown(struct serve *sv);

static void on_removed(struct engine_req *req, int err, const struct engine_resp *resp,
		       void *arg)
{
	struct removal *r = arg;
	struct serve *sv = r->sv;

	(void)req;
	if (r->call != NULL)
		manager_done(r->call, err != 0 ? err : resp->status >= 300 && resp->status != 404
							   ? DW_ENGINE_HTTP : 0,
			     NULL);
	free(r);
	if (--sv->removing == 0 && sv->ending)
		finish_shutdown(sv);
}

static int remove_one(struct serve *sv, struct started *st, struct manager_call *call)
{
	struct engine_call ec = {.method = "DELETE", .timeout_ms = 30000};
	struct removal *r = xcalloc(1, sizeof(*r));
	char path[256];

	r->sv = sv;
	r->call = call;
	snprintf(path, sizeof(path), "/containers/%s?force=1&v=1", st->id);
	ec.path = path;
	free(st->id);
	st->id = NULL;
	sv->removing++;
	if (engine_request(sv->e, &ec, on_removed, r, NULL) != 0) {
		sv->removing--;
		free(r);
		return DW_ENGINE_DOWN;
	}
	return 0;
}

static int op_stop(void *ctx, const char *name, struct manager_call *call)
{
	struct serve *sv = ctx;
	struct started *st = find(sv, name);

	if (st == NULL)
		return DW_NOTFOUND;
	if (st->id == NULL) {
		manager_done(call, 0, NULL);
		return 0;
	}
	return remove_one(sv, st, call);
}

static void on_network_removed(int err, const char *msg, void *arg)
{
	struct serve *sv = arg;

	if (err != 0)
		fprintf(stderr, "devwatch serve: %s\n", msg);
	sv->network_up = false;
	if (sv->shutdown_call != NULL)
		manager_done(sv->shutdown_call, 0, NULL);
	sv->shutdown_call = NULL;
}

static void finish_shutdown(struct serve *sv)
{
	if (sv->network_up && network_remove(sv->e, sv->p, on_network_removed, sv) == 0)
		return;
	on_network_removed(0, NULL, sv);
}

/* Remove everything; the shutdown call (may be NULL) is answered after. */
static void shut_down(struct serve *sv, struct manager_call *call)
{
	sv->ending = true;
	sv->shutdown_call = call;
	for (size_t i = 0; i < sv->p->n_containers; i++)
		if (sv->st[i].id != NULL)
			(void)remove_one(sv, &sv->st[i], NULL);
	if (sv->removing == 0)
		finish_shutdown(sv);
}

static int op_shutdown(void *ctx, struct manager_call *call)
{
	shut_down(ctx, call);
	return 0;
}

static void engine_closed(void *arg)
{
	struct serve *sv = arg;

	sv->e = NULL;
}

static void op_exit(void *ctx)
{
	struct serve *sv = ctx;

	if (sv->pathfile != NULL)
		apifile_remove(sv->pathfile);
	uv_signal_stop(&sv->sigint);
	uv_signal_stop(&sv->sigterm);
	if (sv->http != NULL)
		http_server_close(sv->http, NULL, NULL);
	sv->http = NULL;
	if (sv->e != NULL)
		engine_close(sv->e, engine_closed, sv);
}

static const struct manager_ops ops = {
	.names = op_names,
	.start = op_start,
	.stop = op_stop,
	.shutdown = op_shutdown,
	.exit = op_exit,
};

static void free_timer(uv_handle_t *h)
{
	free(h);
}

/* A signal ends it as /shutdown does, without a call to answer. */
static void on_signal_done(uv_timer_t *t)
{
	struct serve *sv = t->data;

	if (sv->removing == 0 && !sv->network_up) {
		uv_close((uv_handle_t *)t, free_timer);
		op_exit(sv);
	}
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct serve *sv = h->data;
	uv_timer_t *t;

	(void)signum;
	if (sv->ending)
		return;
	shut_down(sv, NULL);
	t = xcalloc(1, sizeof(*t));
	uv_timer_init(sv->loop, t);
	t->data = sv;
	uv_timer_start(t, on_signal_done, 0, 50);
}

static void on_engine(struct engine *e, int err, void *arg)
{
	struct serve *sv = arg;

	(void)e;
	if (err == 0)
		return;
	fprintf(stderr, "devwatch serve: the engine does not answer: %s\n", dw_strerror(err));
	sv->exit_code = DW_EXIT_FAIL;
	op_exit(sv);
}

int serve_run(const char *file, int port, const char *pathfile)
{
	struct serve sv = {.pathfile = pathfile};
	struct http_route routes[] = {MANAGER_ROUTES(NULL)};
	struct http_options ho = {.port = port, .name = "container manager"};
	char *cause = NULL;
	int err;

	sv.loop = uv_default_loop();
	err = project_load(file, &sv.p, &cause);
	if (err == 0)
		err = engine_new(sv.loop, NULL, &sv.e, &cause);
	if (err != 0) {
		fprintf(stderr, "devwatch serve: %s\n", cause);
		free(cause);
		project_free(sv.p);
		return err == DW_PROJECT || err == UV_ENOENT ? DW_EXIT_USAGE : DW_EXIT_FAIL;
	}
	sv.names = xcalloc(sv.p->n_containers + 1, sizeof(*sv.names));
	sv.st = xcalloc(sv.p->n_containers + 1, sizeof(*sv.st));
	for (size_t i = 0; i < sv.p->n_containers; i++) {
		sv.names[i] = sv.p->containers[i].name;
		sv.st[i].c = &sv.p->containers[i];
	}
	sv.m = manager_new(&ops, &sv, DEVWATCH_VERSION);
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		routes[i].arg = sv.m;
	err = http_server_new(sv.loop, &ho, routes, sizeof(routes) / sizeof(routes[0]),
			      &sv.http, &cause);
	if (err == 0 && pathfile != NULL)
		err = apifile_write(pathfile, http_server_port(sv.http), &cause);
	if (err != 0) {
		fprintf(stderr, "devwatch serve: %s\n", cause);
		free(cause);
		sv.exit_code = DW_EXIT_FAIL;
		if (sv.http != NULL)
			http_server_close(sv.http, NULL, NULL);
		engine_close(sv.e, engine_closed, &sv);
	} else {
		fprintf(stderr, "devwatch serve: the container manager of '%s' on "
			"http://127.0.0.1:%d/\n", sv.p->name, http_server_port(sv.http));
		uv_signal_init(sv.loop, &sv.sigint);
		uv_signal_init(sv.loop, &sv.sigterm);
		sv.sigint.data = sv.sigterm.data = &sv;
		uv_signal_start(&sv.sigint, on_signal, SIGINT);
		uv_signal_start(&sv.sigterm, on_signal, SIGTERM);
		engine_negotiate(sv.e, on_engine, &sv);
	}
	uv_run(sv.loop, UV_RUN_DEFAULT);
	if (err == 0) {
		uv_close((uv_handle_t *)&sv.sigint, NULL);
		uv_close((uv_handle_t *)&sv.sigterm, NULL);
		uv_run(sv.loop, UV_RUN_DEFAULT);
	}
	manager_free(sv.m);
	for (size_t i = 0; i < sv.p->n_containers; i++) {
		free(sv.st[i].id);
		free(sv.st[i].ports);
	}
	free(sv.st);
	free(sv.names);
	project_free(sv.p);
	uv_loop_close(sv.loop);
	return sv.exit_code;
}
