/*
 * The calls of engine/swarm.h: each is one request (an update is two: the
 * inspect that gives the version index, then the update), answered
 * through one callback on the loop. The answers are parsed by
 * swarm-json.c.
 */
#include "engine/swarm.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/util.h"

#define SWARM_TIMEOUT_MS 30000
#define SWARM_MAX_BODY (32u << 20) /* /tasks of a long-lived service */

struct swarm_op {
	struct engine *e;
	engine_service_cb service_cb;
	engine_tasks_cb tasks_cb;
	engine_nodes_cb nodes_cb;
	void *arg;
	char *id;
	char *image;
	char *auth;
	const char *what; /* for messages */
};

static struct swarm_op *op_new(struct engine *e, const char *what, void *arg)
{
	struct swarm_op *op = xcalloc(1, sizeof(*op));

	op->e = e;
	op->what = what;
	op->arg = arg;
	return op;
}

static void op_free(struct swarm_op *op)
{
	free(op->id);
	free(op->image);
	free(op->auth);
	free(op);
}

/* The cause for a failed call, or NULL when it answered 2xx. */
static char *failure(const struct swarm_op *op, int err,
		     const struct engine_resp *resp, int *code)
{
	char *msg, *cause;

	if (err != 0) {
		*code = err;
		return xasprintf("%s failed: %s", op->what, dw_strerror(err));
	}
	if (resp->status >= 200 && resp->status < 300)
		return NULL;
	*code = resp->status == 404 ? DW_NOTFOUND : DW_ENGINE_HTTP;
	msg = engine_error_message(resp->body, resp->len);
	cause = xasprintf("%s answered %ld: %s", op->what, resp->status, msg);
	free(msg);
	return cause;
}

static int start(struct swarm_op *op, const char *method, const char *path,
		 const char *body, engine_done_cb cb)
{
	struct engine_call call = {
		.method = method,
		.path = path,
		.body = body,
		.body_len = body != NULL ? strlen(body) : 0,
		.timeout_ms = SWARM_TIMEOUT_MS,
		.max_body = SWARM_MAX_BODY,
		.registry_auth = op->auth,
	};

	return engine_request(op->e, &call, cb, op, NULL);
}

static void created(struct engine_req *req, int err,
		    const struct engine_resp *resp, void *arg)
{
	struct swarm_op *op = arg;
	char *cause = failure(op, err, resp, &err), *id = NULL;

	(void)req;
	if (cause == NULL)
		err = engine_service_created_parse(resp->body, resp->len, &id, &cause);
	op->service_cb(op->arg, err, id, cause);
	free(id);
	free(cause);
	op_free(op);
}

int engine_service_create(struct engine *e, const struct engine_service *s,
			  const char *auth, engine_service_cb cb, void *arg)
{
	struct swarm_op *op = op_new(e, "POST /services/create", arg);
	char *body = engine_service_spec(s);
	int err;

	op->service_cb = cb;
	op->auth = auth != NULL ? xstrdup(auth) : NULL;
	err = start(op, "POST", "/services/create", body, created);
	free(body);
	if (err != 0)
		op_free(op);
	return err;
}

static void answered(struct engine_req *req, int err,
		    const struct engine_resp *resp, void *arg)
{
	struct swarm_op *op = arg;
	char *cause = failure(op, err, resp, &err);

	(void)req;
	op->service_cb(op->arg, cause == NULL ? 0 : err, NULL, cause);
	free(cause);
	op_free(op);
}

static void inspected(struct engine_req *req, int err,
		      const struct engine_resp *resp, void *arg)
{
	struct swarm_op *op = arg;
	char *cause = failure(op, err, resp, &err), *spec = NULL, *path;
	long version = 0;

	(void)req;
	if (cause == NULL)
		err = engine_service_update_body(resp->body, resp->len, op->image,
						 &version, &spec, &cause);
	if (cause != NULL)
		goto fail;
	path = xasprintf("/services/%s/update?version=%ld", op->id, version);
	op->what = "POST /services/ID/update";
	err = start(op, "POST", path, spec, answered);
	free(path);
	free(spec);
	if (err == 0)
		return;
	cause = xasprintf("cannot update service '%s': %s", op->id, dw_strerror(err));
fail:
	op->service_cb(op->arg, err, NULL, cause);
	free(cause);
	op_free(op);
}

int engine_service_update(struct engine *e, const char *id, const char *image,
			  const char *auth, engine_service_cb cb, void *arg)
{
	struct swarm_op *op;
	char *path;
	int err;

	if (!engine_id_ok(id))
		return DW_USAGE;
	op = op_new(e, "GET /services/ID", arg);
	op->service_cb = cb;
	op->id = xstrdup(id);
	op->image = xstrdup(image);
	op->auth = auth != NULL ? xstrdup(auth) : NULL;
	path = xasprintf("/services/%s", id);
	err = start(op, "GET", path, NULL, inspected);
	free(path);
	if (err != 0)
		op_free(op);
	return err;
}

static void removed(struct engine_req *req, int err,
		    const struct engine_resp *resp, void *arg)
{
	struct swarm_op *op = arg;
	char *cause = failure(op, err, resp, &err);

	(void)req;
	if (err == DW_NOTFOUND) {
		free(cause);
		cause = NULL;
	}
	op->service_cb(op->arg, cause == NULL ? 0 : err, NULL, cause);
	free(cause);
	op_free(op);
}

int engine_service_remove(struct engine *e, const char *id,
			  engine_service_cb cb, void *arg)
{
	struct swarm_op *op;
	char *path;
	int err;

	if (!engine_id_ok(id))
		return DW_USAGE;
	op = op_new(e, "DELETE /services/ID", arg);
	op->service_cb = cb;
	path = xasprintf("/services/%s", id);
	err = start(op, "DELETE", path, NULL, removed);
	free(path);
	if (err != 0)
		op_free(op);
	return err;
}

int engine_network_remove(struct engine *e, const char *name,
			  engine_service_cb cb, void *arg)
{
	struct swarm_op *op;
	char *path;
	int err;

	if (!engine_id_ok(name))
		return DW_USAGE;
	op = op_new(e, "DELETE /networks/NAME", arg);
	op->service_cb = cb;
	path = xasprintf("/networks/%s", name);
	err = start(op, "DELETE", path, NULL, answered);
	free(path);
	if (err != 0)
		op_free(op);
	return err;
}

static void listed_tasks(struct engine_req *req, int err,
			 const struct engine_resp *resp, void *arg)
{
	struct swarm_op *op = arg;
	char *cause = failure(op, err, resp, &err);
	struct engine_task *t = NULL;
	size_t n = 0;

	(void)req;
	if (cause == NULL)
		err = engine_tasks_parse(resp->body, resp->len, &t, &n, &cause);
	op->tasks_cb(op->arg, cause == NULL ? 0 : err, t, n, cause);
	engine_tasks_free(t, n);
	free(cause);
	op_free(op);
}

int engine_tasks_list(struct engine *e, const char *service_id,
		      engine_tasks_cb cb, void *arg)
{
	struct swarm_op *op;
	char *filter, *q, *path;
	int err;

	if (!engine_id_ok(service_id))
		return DW_USAGE;
	op = op_new(e, "GET /tasks", arg);
	op->tasks_cb = cb;
	filter = xasprintf("{\"service\":[\"%s\"]}", service_id);
	q = engine_urlencode(filter);
	path = xasprintf("/tasks?filters=%s", q);
	err = start(op, "GET", path, NULL, listed_tasks);
	free(path);
	free(q);
	free(filter);
	if (err != 0)
		op_free(op);
	return err;
}

static void listed_nodes(struct engine_req *req, int err,
			 const struct engine_resp *resp, void *arg)
{
	struct swarm_op *op = arg;
	char *cause = failure(op, err, resp, &err);
	struct engine_node *v = NULL;
	size_t n = 0;

	(void)req;
	if (cause == NULL)
		err = engine_nodes_parse(resp->body, resp->len, &v, &n, &cause);
	op->nodes_cb(op->arg, cause == NULL ? 0 : err, v, n, cause);
	engine_nodes_free(v, n);
	free(cause);
	op_free(op);
}

int engine_nodes_list(struct engine *e, engine_nodes_cb cb, void *arg)
{
	struct swarm_op *op = op_new(e, "GET /nodes", arg);
	int err;

	op->nodes_cb = cb;
	err = start(op, "GET", "/nodes", NULL, listed_nodes);
	if (err != 0)
		op_free(op);
	return err;
}

/* The overlay network, once the removed services' tasks let go of it:
   up to 20 s. */
static void remove_network(struct engine *e, const char *name)
{
	char *path = xasprintf("/networks/%s", name), *body = NULL;
	struct engine_call call = {.method = "DELETE", .path = path,
				   .timeout_ms = SWARM_TIMEOUT_MS};
	uint64_t end = now_ns() + 20000000000ull;
	long status = 0;

	/* 403 while tasks detach, 204 and then 500 while the manager's own
	   copy lingers: until 404. */
	while (engine_call_sync(e, &call, &status, &body, NULL) == 0 &&
	       status != 404 && now_ns() < end) {
		free(body);
		body = NULL;
		uv_sleep(250);
	}
	free(body);
	free(path);
}

int engine_services_remove_project(struct engine *e, const char *project,
				   const char *network, char **cause)
{
	struct engine_call call = {.method = "GET", .timeout_ms = SWARM_TIMEOUT_MS};
	char *filter = xasprintf("{\"label\":[\"dev.devwatch.project=%s\"]}", project);
	char *q = engine_urlencode(filter), *path = xasprintf("/services?filters=%s", q);
	char *body = NULL;
	char **ids = NULL;
	size_t n = 0, len = 0;
	long status = 0;
	int err, removed_n = 0;

	call.path = path;
	err = engine_call_sync(e, &call, &status, &body, &len);
	if (err == 0 && (status == 503 || status == 404 || status == 501)) {
		/* "This node is not a swarm manager" (503), or an engine with
		   no swarm API at all (Podman): nothing of ours there. */
		status = 200;
		free(body);
		body = xstrdup("[]");
		len = 2;
	}
	if (err == 0 && status != 200) {
		char *msg = engine_error_message(body, len);

		*cause = xasprintf("GET /services answered %ld: %s", status, msg);
		free(msg);
		err = DW_ENGINE_HTTP;
	} else if (err != 0) {
		*cause = xasprintf("GET /services failed: %s", dw_strerror(err));
	} else {
		err = engine_ids_parse(body, len, "GET /services", &ids, &n, cause);
	}
	for (size_t i = 0; err == 0 && i < n; i++) {
		char *del;

		del = xasprintf("/services/%s", ids[i]);
		call.method = "DELETE";
		call.path = del;
		free(body);
		body = NULL;
		err = engine_call_sync(e, &call, &status, &body, &len);
		free(del);
		if (err == 0 && status != 200 && status != 404) {
			char *msg = engine_error_message(body, len);

			*cause = xasprintf("cannot remove service '%s': %s", ids[i], msg);
			free(msg);
			err = DW_ENGINE_HTTP;
		} else if (err != 0) {
			*cause = xasprintf("cannot remove service '%s': %s", ids[i],
					   dw_strerror(err));
		} else {
			removed_n++;
		}
	}
	if (err == 0 && n > 0 && engine_id_ok(network))
		remove_network(e, network);
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	free(body);
	free(path);
	free(q);
	free(filter);
	return err != 0 ? err : removed_n;
}
