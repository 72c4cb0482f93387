/*
 * The project network's engine calls. See network.h.
 */
#include "up/network.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/error.h"
#include "base/util.h"
#include "build/container.h"

struct net_call {
	struct engine *e;
	char *name;
	char *project;
	network_cb cb;
	void *arg;
};

bool network_needed(const struct project *p)
{
	for (size_t i = 0; i < p->n_containers; i++)
		if (p->containers[i].network == NET_PROJECT)
			return true;
	return false;
}

static struct net_call *call_new(struct engine *e, const struct project *p,
				 network_cb cb, void *arg)
{
	struct net_call *n = xcalloc(1, sizeof(*n));

	n->e = e;
	n->name = project_network_name(p);
	n->project = xstrdup(p->name);
	n->cb = cb;
	n->arg = arg;
	return n;
}

static void call_end(struct net_call *n, int err, const char *msg)
{
	n->cb(err, msg, n->arg);
	free(n->name);
	free(n->project);
	free(n);
}

static void fail_with(struct net_call *n, int err, const struct engine_resp *resp,
		      const char *what)
{
	char *m = err != 0 ? xstrdup(dw_strerror(err))
			   : engine_error_message(resp->body, resp->len);
	char *msg = xasprintf("cannot %s network '%s': %s", what, n->name, m);

	call_end(n, err != 0 ? err : DW_ENGINE_HTTP, msg);
	free(msg);
	free(m);
}

/* Is the answer of GET /networks/NAME this project's network? */
static bool ours(const struct engine_resp *resp, const char *project)
{
	cJSON *o = cJSON_ParseWithLength(resp->body, resp->len);
	cJSON *l = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "Labels"), LABEL_PROJECT);
	bool yes = cJSON_IsString(l) && strcmp(l->valuestring, project) == 0;

	cJSON_Delete(o);
	return yes;
}

static void on_inspected(struct engine_req *req, int err,
			 const struct engine_resp *resp, void *arg)
{
	struct net_call *n = arg;
	char *msg;

	(void)req;
	if (err != 0 || resp->status != 200) {
		fail_with(n, err, resp, "inspect");
		return;
	}
	if (ours(resp, n->project)) {
		call_end(n, 0, NULL);
		return;
	}
	msg = xasprintf("network '%s' exists and is not project '%s''s; remove it or rename the project",
			n->name, n->project);
	call_end(n, DW_USAGE, msg);
	free(msg);
}

static void on_created(struct engine_req *req, int err,
		       const struct engine_resp *resp, void *arg)
{
	struct net_call *n = arg;
	char *path;

	(void)req;
	if (err == 0 && resp->status == 201) {
		call_end(n, 0, NULL);
		return;
	}
	if (err != 0 || resp->status != 409) {
		fail_with(n, err, resp, "create");
		return;
	}
	/* A killed `up` left it: take it over when it is ours. */
	path = xasprintf("/networks/%s", n->name);
	if (engine_request(n->e, &(struct engine_call){.method = "GET", .path = path,
						       .timeout_ms = 30000},
			   on_inspected, n, NULL) != 0)
		fail_with(n, DW_ENGINE_DOWN, NULL, "inspect");
	free(path);
}

int network_ensure(struct engine *e, const struct project *p, network_cb cb,
		   void *arg)
{
	struct net_call *n = call_new(e, p, cb, arg);
	cJSON *o = cJSON_CreateObject();
	char *body;
	int err;

	cJSON_AddStringToObject(o, "Name", n->name);
	cJSON_AddBoolToObject(o, "CheckDuplicate", true);
	cJSON_AddStringToObject(o, "Driver", "bridge");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "Labels"), LABEL_PROJECT, p->name);
	body = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	err = engine_request(e, &(struct engine_call){.method = "POST", .path = "/networks/create",
						      .body = body, .body_len = strlen(body),
						      .timeout_ms = 30000},
			     on_created, n, NULL);
	free(body);
	if (err != 0) {
		free(n->name);
		free(n->project);
		free(n);
	}
	return err;
}

static void on_removed(struct engine_req *req, int err,
		       const struct engine_resp *resp, void *arg)
{
	struct net_call *n = arg;

	(void)req;
	if (err == 0 && (resp->status == 204 || resp->status == 200 || resp->status == 404))
		call_end(n, 0, NULL);
	else
		fail_with(n, err, resp, "remove");
}

int network_remove(struct engine *e, const struct project *p, network_cb cb,
		   void *arg)
{
	struct net_call *n = call_new(e, p, cb, arg);
	char *path = xasprintf("/networks/%s", n->name);
	int err = engine_request(e, &(struct engine_call){.method = "DELETE", .path = path,
							  .timeout_ms = 30000},
				 on_removed, n, NULL);

	free(path);
	if (err != 0) {
		free(n->name);
		free(n->project);
		free(n);
	}
	return err;
}

int network_remove_sync(struct engine *e, const struct project *p, char **cause)
{
	char *name = project_network_name(p), *path = xasprintf("/networks/%s", name);
	char *body = NULL;
	long status = 0;
	size_t len = 0;
	int err, rc;

	err = engine_call_sync(e, &(struct engine_call){.method = "GET", .path = path,
							.timeout_ms = 30000},
			       &status, &body, &len);
	if (err == 0 && status == 404) {
		rc = 0;
		goto out;
	}
	if (err == 0 && status == 200 &&
	    !ours(&(struct engine_resp){.status = status, .body = body, .len = len}, p->name)) {
		rc = DW_USAGE;
		dw_cause(cause, "network '%s' is not project '%s''s; left alone", name, p->name);
		goto out;
	}
	free(body);
	body = NULL;
	if (err == 0)
		err = engine_call_sync(e, &(struct engine_call){.method = "DELETE", .path = path,
								.timeout_ms = 30000},
				       &status, &body, &len);
	if (err == 0 && (status == 204 || status == 404)) {
		rc = status == 204 ? 1 : 0;
	} else {
		char *m = err != 0 ? xstrdup(dw_strerror(err)) : engine_error_message(body, len);

		rc = err != 0 ? err : DW_ENGINE_HTTP;
		dw_cause(cause, "cannot remove network '%s': %s", name, m);
		free(m);
	}
out:
	free(body);
	free(path);
	free(name);
	return rc;
}
