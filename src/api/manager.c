/*
 * The container manager's request and response layer: parsing harpoon's
 * request bodies, answering with its bodies and codes, one start per name
 * at a time, and the shutdown sequence (see manager.h).
 *
 * A call is one request handed to the session. When its HTTP client
 * leaves first, the call stays valid (the session still answers it) and
 * the answer goes nowhere.
 */
#include "api/manager.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/error.h"
#include "base/log.h"
#include "base/util.h"

#define MAX_PORTS 64

enum call_kind { CALL_START, CALL_STOP, CALL_SHUTDOWN };

struct manager_call {
	struct manager *m;
	enum call_kind kind;
	struct http_req *req; /* NULL once the client left */
	char *name;
	struct manager_port ports[MAX_PORTS];
	size_t n_ports;
	struct manager_call *next; /* waiting behind a start of the same name */
	bool running;		   /* handed to the session */
};

struct manager {
	const struct manager_ops *ops;
	void *ctx;
	char *version;
	bool shutting_down;
	struct manager_call *starts; /* per name: the running start, then
					those waiting, linked by next */
	size_t n_calls;
};

/* ---- harpoon's error bodies ---- */

static cJSON *error_body(const char *code, const char *message)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *err = cJSON_AddObjectToObject(root, "error");

	cJSON_AddStringToObject(err, "message", message);
	cJSON_AddStringToObject(root, "error_code", code);
	return root;
}

static cJSON *error_obj(cJSON *body)
{
	return cJSON_GetObjectItemCaseSensitive(body, "error");
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void no_such_image(struct manager *m, struct http_req *r,
			  const char *name)
{
	cJSON *body = error_body("NoSuchImage", "Couldn't find image");
	cJSON *avail = cJSON_CreateArray();
	const char *const *names;
	size_t n = m->ops->names(m->ctx, &names);
	const char **sorted = xcalloc(n ? n : 1, sizeof(*sorted));

	memcpy(sorted, names, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_names);
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(avail, cJSON_CreateString(sorted[i]));
	free(sorted);
	cJSON_AddStringToObject(error_obj(body), "wanted", name);
	cJSON_AddItemToObject(error_obj(body), "available", avail);
	http_reply_json(r, 404, body);
}

static void bad_request(struct http_req *r, const char *code,
			const char *message, const char *key,
			const char *detail)
{
	cJSON *body = error_body(code, message);

	if (key)
		cJSON_AddStringToObject(error_obj(body), key, detail);
	http_reply_json(r, 400, body);
}

static void shutting_down(struct http_req *r)
{
	http_reply_json(r, 503, error_body("ShuttingDown",
					   "The container manager is shutting down"));
}

/* ---- request bodies ---- */

static bool known(struct manager *m, const char *name)
{
	const char *const *names;
	size_t n = m->ops->names(m->ctx, &names);

	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

static bool port_number(const cJSON *v, int *out)
{
	if (!cJSON_IsNumber(v) || v->valuedouble != (double)(int)v->valuedouble ||
	    v->valueint < 0 || v->valueint > 65535)
		return false;
	*out = v->valueint;
	return true;
}

/* One port: [HOST, CONTAINER], "HOST:CONTAINER" or CONTAINER. */
static bool parse_port(const cJSON *v, struct manager_port *p)
{
	p->host = 0;
	if (cJSON_IsArray(v))
		return cJSON_GetArraySize(v) == 2 &&
		       port_number(cJSON_GetArrayItem(v, 0), &p->host) &&
		       port_number(cJSON_GetArrayItem(v, 1), &p->container) &&
		       p->container > 0;
	if (cJSON_IsString(v)) {
		char *end;
		const char *s = v->valuestring, *colon = strchr(s, ':');
		long c, h = 0;

		if (colon) {
			h = strtol(s, &end, 10);
			if (end != colon || h < 0 || h > 65535)
				return false;
			s = colon + 1;
		}
		c = strtol(s, &end, 10);
		if (*s == '\0' || *end != '\0' || c <= 0 || c > 65535)
			return false;
		p->host = (int)h;
		p->container = (int)c;
		return true;
	}
	return port_number(v, &p->container) && p->container > 0;
}

/*
 * Parse {"image": NAME[, "ports": [...]]} into call, answering the
 * request itself when the body is wrong. Returns false when answered.
 */
static bool parse(struct manager *m, struct http_req *r,
		  struct manager_call *call, bool want_ports)
{
	size_t len;
	const char *text = http_req_body(r, &len);
	const cJSON *image, *ports, *p;
	cJSON *j;

	if (len == 0) {
		bad_request(r, "BadRequest", "Request was invalid. Expected a request body",
			    NULL, NULL);
		return false;
	}
	j = cJSON_ParseWithLength(text, len);
	if (j == NULL) {
		bad_request(r, "BadJSON", "JSON was invalid", "reason",
			    "the body is not valid JSON");
		return false;
	}
	image = cJSON_GetObjectItemCaseSensitive(j, "image");
	ports = cJSON_GetObjectItemCaseSensitive(j, "ports");
	if (!cJSON_IsObject(j) || !cJSON_IsString(image) || image->valuestring[0] == '\0') {
		bad_request(r, "BadSpecValue", "Expected a string", "key", "image");
		goto fail;
	}
	if (want_ports && (!cJSON_IsArray(ports) || cJSON_GetArraySize(ports) > MAX_PORTS)) {
		bad_request(r, "BadSpecValue", "Expected a list of ports", "key", "ports");
		goto fail;
	}
	if (!known(m, image->valuestring)) {
		no_such_image(m, r, image->valuestring);
		goto fail;
	}
	call->name = xstrdup(image->valuestring);
	if (!want_ports)
		ports = NULL;
	cJSON_ArrayForEach(p, ports) {
		if (!parse_port(p, &call->ports[call->n_ports])) {
			bad_request(r, "BadSpecValue",
				    "Expected a port: [HOST, CONTAINER], \"HOST:CONTAINER\" or CONTAINER",
				    "key", "ports");
			goto fail;
		}
		call->n_ports++;
	}
	cJSON_Delete(j);
	return true;
fail:
	cJSON_Delete(j);
	return false;
}

/* ---- calls ---- */

static void on_client_end(struct http_req *r, bool sent, void *arg)
{
	struct manager_call *call = arg;

	call->req = NULL;
}

static struct manager_call *call_new(struct manager *m, enum call_kind kind,
				     struct http_req *r)
{
	struct manager_call *call = xcalloc(1, sizeof(*call));

	call->m = m;
	call->kind = kind;
	call->req = r;
	m->n_calls++;
	return call;
}

static void call_free(struct manager_call *call)
{
	if (call->req)
		http_req_on_end(call->req, NULL, NULL);
	call->m->n_calls--;
	free(call->name);
	free(call);
}

static void server_error(struct http_req *r, int err, const char *message)
{
	cJSON *body = error_body("BadImage", "Bad image. Failed to start the container");

	cJSON_AddStringToObject(error_obj(body), "error",
				message ? message : dw_strerror(err));
	http_reply_json(r, 500, body);
}

static void run_start(struct manager_call *call);

/* The start of call->name is over: run the next one waiting for it. */
static void next_start(struct manager_call *call)
{
	struct manager *m = call->m;
	struct manager_call **pp = &m->starts;

	while (*pp && *pp != call)
		pp = &(*pp)->next;
	if (*pp == NULL)
		return;
	*pp = call->next;
	for (struct manager_call *w = m->starts; w; w = w->next)
		if (!w->running && strcmp(w->name, call->name) == 0) {
			run_start(w);
			return;
		}
}

void manager_started(struct manager_call *call, int err, const char *message,
		     const struct manager_container *c)
{
	struct http_req *r = call->req;

	if (r && err != 0) {
		server_error(r, err, message);
	} else if (r) {
		cJSON *body = cJSON_CreateObject();
		cJSON *ports = cJSON_AddObjectToObject(body, "ports");

		for (size_t i = 0; i < c->n_ports; i++) {
			char key[16];

			snprintf(key, sizeof(key), "%d", c->ports[i].container);
			cJSON_AddNumberToObject(ports, key, c->ports[i].host);
		}
		cJSON_AddBoolToObject(body, "just_created", c->just_created);
		cJSON_AddStringToObject(body, "container_id", c->id);
		http_req_on_end(r, NULL, NULL);
		http_reply_json(r, 200, body);
		call->req = NULL;
	}
	next_start(call);
	call_free(call);
}

static void run_start(struct manager_call *call)
{
	struct manager *m = call->m;
	int err;

	call->running = true;
	if (m->shutting_down) {
		err = UV_ECANCELED;
		if (call->req)
			shutting_down(call->req);
		call->req = NULL;
		manager_started(call, err, NULL, NULL);
		return;
	}
	err = m->ops->start(m->ctx, call->name, call->ports, call->n_ports, call);
	if (err != 0)
		manager_started(call, err, NULL, NULL);
}

void manager_handle_start(struct http_req *req, void *arg)
{
	struct manager *m = arg;
	struct manager_call *call, **pp;
	bool busy = false;

	if (m->shutting_down) {
		shutting_down(req);
		return;
	}
	call = call_new(m, CALL_START, req);
	if (!parse(m, req, call, true)) {
		call->req = NULL;
		call_free(call);
		return;
	}
	http_req_on_end(req, on_client_end, call);
	for (pp = &m->starts; *pp; pp = &(*pp)->next)
		busy |= strcmp((*pp)->name, call->name) == 0;
	*pp = call;
	if (!busy)
		run_start(call);
}

static void on_shutdown_sent(struct http_req *r, bool sent, void *arg)
{
	struct manager *m = arg;

	m->ops->exit(m->ctx);
}

void manager_done(struct manager_call *call, int err, const char *message)
{
	struct http_req *r = call->req;
	struct manager *m = call->m;
	enum call_kind kind = call->kind;

	call_free(call);
	if (r && err != 0)
		http_reply_json(r, 500, error_body(kind == CALL_STOP ? "StopFailed" : "ShutdownFailed",
						   message ? message : dw_strerror(err)));
	else if (r)
		http_reply_empty(r, 204);
	if (kind != CALL_SHUTDOWN)
		return;
	/* Exit once the answer is out, or at once without a client. */
	if (r)
		http_req_on_end(r, on_shutdown_sent, m);
	else
		m->ops->exit(m->ctx);
}

void manager_handle_stop(struct http_req *req, void *arg)
{
	struct manager *m = arg;
	struct manager_call *call;
	int err;

	if (m->shutting_down) {
		shutting_down(req);
		return;
	}
	call = call_new(m, CALL_STOP, req);
	if (!parse(m, req, call, false)) {
		call->req = NULL;
		call_free(call);
		return;
	}
	http_req_on_end(req, on_client_end, call);
	err = m->ops->stop(m->ctx, call->name, call);
	if (err != 0)
		manager_done(call, err, NULL);
}

void manager_handle_shutdown(struct http_req *req, void *arg)
{
	struct manager *m = arg;
	struct manager_call *call;
	int err;

	if (m->shutting_down) {
		http_reply_empty(req, 204);
		return;
	}
	m->shutting_down = true;
	log_info("manager: shutting down");
	call = call_new(m, CALL_SHUTDOWN, req);
	http_req_on_end(req, on_client_end, call);
	err = m->ops->shutdown(m->ctx, call);
	if (err != 0)
		manager_done(call, err, NULL);
}

void manager_handle_version(struct http_req *req, void *arg)
{
	struct manager *m = arg;
	char text[128];
	int n = snprintf(text, sizeof(text), "devwatch %s", m->version);

	http_reply(req, 200, "text/plain; charset=utf-8", text, (size_t)n);
}

struct manager *manager_new(const struct manager_ops *ops, void *ctx,
			    const char *version)
{
	struct manager *m = xcalloc(1, sizeof(*m));

	m->ops = ops;
	m->ctx = ctx;
	m->version = xstrdup(version);
	return m;
}

void manager_free(struct manager *m)
{
	if (m == NULL)
		return;
	if (m->n_calls > 0)
		log_warn("manager: freed with %zu calls outstanding", m->n_calls);
	free(m->version);
	free(m);
}
