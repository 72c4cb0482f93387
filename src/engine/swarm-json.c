/*
 * The JSON half of engine/swarm.h: a service spec from a struct, the
 * update body from an inspect answer, and the parsers of /tasks and
 * /nodes. Nothing here does I/O, so the unit tests feed it recorded
 * answers of a real swarm.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/error.h"
#include "base/util.h"
#include "engine/swarm.h"

static cJSON *str_array(const char *const *v)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; v != NULL && v[i] != NULL; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
	return a;
}

static cJSON *label_object(const char *const *kv)
{
	cJSON *o = cJSON_CreateObject();

	for (size_t i = 0; kv != NULL && kv[i] != NULL && kv[i + 1] != NULL; i += 2)
		cJSON_AddStringToObject(o, kv[i], kv[i + 1]);
	return o;
}

static cJSON *endpoint_spec(const struct engine_service *s)
{
	cJSON *ep = cJSON_CreateObject(), *ports = cJSON_CreateArray();

	/* dnsrr forbids ingress ports; host-mode ports are fine with it. */
	cJSON_AddStringToObject(ep, "Mode", s->dnsrr ? "dnsrr" : "vip");
	for (size_t i = 0; i < s->n_ports; i++) {
		cJSON *p = cJSON_CreateObject();

		cJSON_AddStringToObject(p, "Protocol",
					s->ports[i].protocol != NULL ? s->ports[i].protocol : "tcp");
		cJSON_AddNumberToObject(p, "TargetPort", s->ports[i].target);
		if (s->ports[i].published > 0)
			cJSON_AddNumberToObject(p, "PublishedPort", s->ports[i].published);
		cJSON_AddStringToObject(p, "PublishMode", "host");
		cJSON_AddItemToArray(ports, p);
	}
	cJSON_AddItemToObject(ep, "Ports", ports);
	return ep;
}

char *engine_service_spec(const struct engine_service *s)
{
	cJSON *root = cJSON_CreateObject(), *tt = cJSON_CreateObject();
	cJSON *cspec = cJSON_CreateObject(), *mode = cJSON_CreateObject();
	cJSON *rep = cJSON_CreateObject(), *restart = cJSON_CreateObject();
	cJSON *upd = cJSON_CreateObject();
	char *out;

	cJSON_AddStringToObject(root, "Name", s->name);
	cJSON_AddItemToObject(root, "Labels", label_object(s->labels));
	cJSON_AddStringToObject(cspec, "Image", s->image);
	cJSON_AddItemToObject(cspec, "Labels", label_object(s->labels));
	if (s->env != NULL)
		cJSON_AddItemToObject(cspec, "Env", str_array(s->env));
	if (s->command != NULL)
		cJSON_AddItemToObject(cspec, "Command", str_array(s->command));
	if (s->args != NULL)
		cJSON_AddItemToObject(cspec, "Args", str_array(s->args));
	if (s->workdir != NULL)
		cJSON_AddStringToObject(cspec, "Dir", s->workdir);
	if (s->user != NULL)
		cJSON_AddStringToObject(cspec, "User", s->user);
	cJSON_AddNumberToObject(cspec, "StopGracePeriod",
				(s->stop_grace_ms > 0 ? s->stop_grace_ms : 3000) * 1e6);
	cJSON_AddItemToObject(tt, "ContainerSpec", cspec);
	/* A task that ends is replaced, as a swarm does: that new task is
	   what the catch-up sync is for. */
	cJSON_AddStringToObject(restart, "Condition", "any");
	cJSON_AddNumberToObject(restart, "Delay", 1e8);
	cJSON_AddItemToObject(tt, "RestartPolicy", restart);
	if (s->network != NULL) {
		cJSON *nets = cJSON_CreateArray(), *n = cJSON_CreateObject();

		cJSON_AddStringToObject(n, "Target", s->network);
		cJSON_AddItemToObject(n, "Aliases", str_array(s->aliases));
		cJSON_AddItemToArray(nets, n);
		cJSON_AddItemToObject(tt, "Networks", nets);
	}
	cJSON_AddNumberToObject(tt, "ForceUpdate", 0);
	cJSON_AddItemToObject(root, "TaskTemplate", tt);
	cJSON_AddNumberToObject(rep, "Replicas", s->replicas);
	cJSON_AddItemToObject(mode, "Replicated", rep);
	cJSON_AddItemToObject(root, "Mode", mode);
	/* One task at a time, the old one stopped first: a host-mode port
	   cannot be held by two tasks of one node. */
	cJSON_AddNumberToObject(upd, "Parallelism", 1);
	cJSON_AddStringToObject(upd, "Order", "stop-first");
	cJSON_AddStringToObject(upd, "FailureAction", "pause");
	/* Watch each new task 1 s, not the default 5 s, before the next. */
	cJSON_AddNumberToObject(upd, "Monitor", 1e9);
	cJSON_AddItemToObject(root, "UpdateConfig", upd);
	cJSON_AddItemToObject(root, "EndpointSpec", endpoint_spec(s));
	out = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return out;
}

char *engine_overlay_spec(const char *name, const char *const *labels)
{
	cJSON *root = cJSON_CreateObject();
	char *out;

	cJSON_AddStringToObject(root, "Name", name);
	cJSON_AddStringToObject(root, "Driver", "overlay");
	cJSON_AddBoolToObject(root, "Attachable", true);
	cJSON_AddBoolToObject(root, "CheckDuplicate", true);
	cJSON_AddItemToObject(root, "Labels", label_object(labels));
	out = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return out;
}

static int proto(char **cause, const char *what)
{
	if (cause != NULL)
		*cause = xasprintf("cannot read the engine's answer to %s", what);
	return DW_ENGINE_PROTO;
}

/* A string member at a path of object names, or NULL. */
static const char *str_at(const cJSON *o, const char *const *path)
{
	for (size_t i = 0; o != NULL && path[i] != NULL; i++)
		o = cJSON_GetObjectItemCaseSensitive(o, path[i]);
	return cJSON_IsString(o) ? o->valuestring : NULL;
}

static double num_at(const cJSON *o, const char *const *path)
{
	for (size_t i = 0; o != NULL && path[i] != NULL; i++)
		o = cJSON_GetObjectItemCaseSensitive(o, path[i]);
	return cJSON_IsNumber(o) ? o->valuedouble : -1;
}

static char *dup_or_empty(const char *s)
{
	return xstrdup(s != NULL ? s : "");
}

int engine_service_created_parse(const char *body, size_t len, char **id,
				 char **cause)
{
	cJSON *root = cJSON_ParseWithLength(body, len);
	const char *v = str_at(root, (const char *const[]){"ID", NULL});
	int err = 0;

	if (v == NULL || !engine_id_ok(v))
		err = proto(cause, "POST /services/create");
	else
		*id = xstrdup(v);
	cJSON_Delete(root);
	return err;
}

int engine_service_update_body(const char *body, size_t len,
			       const char *image, long *version, char **spec,
			       char **cause)
{
	cJSON *root = cJSON_ParseWithLength(body, len), *sp, *tt, *cs, *fu;
	double v = num_at(root, (const char *const[]){"Version", "Index", NULL});
	int err = 0;

	sp = cJSON_GetObjectItemCaseSensitive(root, "Spec");
	tt = cJSON_GetObjectItemCaseSensitive(sp, "TaskTemplate");
	cs = cJSON_GetObjectItemCaseSensitive(tt, "ContainerSpec");
	if (v < 0 || !cJSON_IsObject(cs)) {
		err = proto(cause, "GET /services/ID");
		goto out;
	}
	*version = (long)v;
	cJSON_DeleteItemFromObjectCaseSensitive(cs, "Image");
	cJSON_AddStringToObject(cs, "Image", image);
	fu = cJSON_GetObjectItemCaseSensitive(tt, "ForceUpdate");
	v = cJSON_IsNumber(fu) ? fu->valuedouble + 1 : 1;
	cJSON_DeleteItemFromObjectCaseSensitive(tt, "ForceUpdate");
	cJSON_AddNumberToObject(tt, "ForceUpdate", v);
	*spec = cJSON_PrintUnformatted(sp);
out:
	cJSON_Delete(root);
	return err;
}

static enum engine_task_state task_state(const char *s)
{
	static const char *const pending[] = {
		"new", "allocated", "pending", "assigned", "accepted",
		"preparing", "ready", "starting", NULL,
	};

	if (s != NULL && strcmp(s, "running") == 0)
		return ENGINE_TASK_RUNNING;
	for (size_t i = 0; s != NULL && pending[i] != NULL; i++)
		if (strcmp(s, pending[i]) == 0)
			return ENGINE_TASK_PENDING;
	return ENGINE_TASK_ENDED;
}

static void task_take(const cJSON *o, struct engine_task *t)
{
	const char *err = str_at(o, (const char *const[]){"Status", "Err", NULL});
	const char *desired = str_at(o, (const char *const[]){"DesiredState", NULL});
	const char *cid = str_at(o, (const char *const[]){"Status", "ContainerStatus",
							  "ContainerID", NULL});
	double slot = num_at(o, (const char *const[]){"Slot", NULL});
	const cJSON *ports, *p;

	t->id = dup_or_empty(str_at(o, (const char *const[]){"ID", NULL}));
	t->service_id = dup_or_empty(str_at(o, (const char *const[]){"ServiceID", NULL}));
	t->node_id = dup_or_empty(str_at(o, (const char *const[]){"NodeID", NULL}));
	/* An ID that is not one never reaches a URL. */
	t->container_id = dup_or_empty(cid != NULL && engine_id_ok(cid) ? cid : NULL);
	t->image = dup_or_empty(str_at(o, (const char *const[]){"Spec", "ContainerSpec",
								"Image", NULL}));
	t->state_text = dup_or_empty(str_at(o, (const char *const[]){"Status", "State", NULL}));
	t->message = dup_or_empty(err != NULL && err[0] != '\0' ? err
				  : str_at(o, (const char *const[]){"Status", "Message", NULL}));
	t->slot = slot >= 1 && slot < 1e6 ? (int)slot : 0;
	ports = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "Status"),
						 "PortStatus"), "Ports");
	cJSON_ArrayForEach(p, ports) {
		double target = num_at(p, (const char *const[]){"TargetPort", NULL});
		double host = num_at(p, (const char *const[]){"PublishedPort", NULL});

		if (t->n_ports == ENGINE_TASK_PORTS || target < 1 || target > 65535 ||
		    host < 1 || host > 65535)
			continue;
		t->port_target[t->n_ports] = (int)target;
		t->port_published[t->n_ports++] = (int)host;
	}
	t->version = (long)num_at(o, (const char *const[]){"Version", "Index", NULL});
	t->state = task_state(t->state_text);
	t->desired_running = desired != NULL && strcmp(desired, "running") == 0;
}

int engine_tasks_parse(const char *body, size_t len, struct engine_task **out,
		       size_t *n, char **cause)
{
	cJSON *root = cJSON_ParseWithLength(body, len), *o;
	struct engine_task *v;
	size_t i = 0;

	if (!cJSON_IsArray(root)) {
		cJSON_Delete(root);
		return proto(cause, "GET /tasks");
	}
	v = xcalloc((size_t)cJSON_GetArraySize(root) + 1, sizeof(*v));
	cJSON_ArrayForEach(o, root)
		if (cJSON_IsObject(o))
			task_take(o, &v[i++]);
	cJSON_Delete(root);
	*out = v;
	*n = i;
	return 0;
}

void engine_tasks_free(struct engine_task *t, size_t n)
{
	for (size_t i = 0; t != NULL && i < n; i++) {
		free(t[i].id);
		free(t[i].service_id);
		free(t[i].node_id);
		free(t[i].container_id);
		free(t[i].image);
		free(t[i].state_text);
		free(t[i].message);
	}
	free(t);
}

int engine_ids_parse(const char *body, size_t len, const char *what,
		     char ***ids, size_t *n, char **cause)
{
	cJSON *root = cJSON_ParseWithLength(body, len), *o;
	char **v;
	size_t i = 0;

	if (!cJSON_IsArray(root)) {
		cJSON_Delete(root);
		return proto(cause, what);
	}
	v = xcalloc((size_t)cJSON_GetArraySize(root) + 1, sizeof(*v));
	cJSON_ArrayForEach(o, root) {
		const char *id = str_at(o, (const char *const[]){"ID", NULL});

		if (id != NULL && engine_id_ok(id))
			v[i++] = xstrdup(id);
	}
	cJSON_Delete(root);
	*ids = v;
	*n = i;
	return 0;
}

int engine_nodes_parse(const char *body, size_t len, struct engine_node **out,
		       size_t *n, char **cause)
{
	cJSON *root = cJSON_ParseWithLength(body, len), *o;
	struct engine_node *v;
	size_t i = 0;

	if (!cJSON_IsArray(root)) {
		cJSON_Delete(root);
		return proto(cause, "GET /nodes");
	}
	v = xcalloc((size_t)cJSON_GetArraySize(root) + 1, sizeof(*v));
	cJSON_ArrayForEach(o, root) {
		const char *st = str_at(o, (const char *const[]){"Status", "State", NULL});

		if (!cJSON_IsObject(o))
			continue;
		v[i].id = dup_or_empty(str_at(o, (const char *const[]){"ID", NULL}));
		v[i].hostname = dup_or_empty(str_at(o, (const char *const[]){
			"Description", "Hostname", NULL}));
		v[i].addr = dup_or_empty(str_at(o, (const char *const[]){"Status", "Addr", NULL}));
		v[i].ready = st != NULL && strcmp(st, "ready") == 0;
		i++;
	}
	cJSON_Delete(root);
	*out = v;
	*n = i;
	return 0;
}

void engine_nodes_free(struct engine_node *v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++) {
		free(v[i].id);
		free(v[i].hostname);
		free(v[i].addr);
	}
	free(v);
}

int engine_task_port(const struct engine_task *t, int target)
{
	for (int i = 0; i < t->n_ports; i++)
		if (t->port_target[i] == target)
			return t->port_published[i];
	return 0;
}

int engine_tasks_by_slot(const struct engine_task *t, size_t n, int replicas,
			 const struct engine_task **slots)
{
	int running = 0;

	for (int s = 0; s < replicas; s++)
		slots[s] = NULL;
	for (size_t i = 0; i < n; i++) {
		const struct engine_task **at;

		if (t[i].slot < 1 || t[i].slot > replicas || !t[i].desired_running)
			continue;
		at = &slots[t[i].slot - 1];
		if (*at == NULL || t[i].version > (*at)->version)
			*at = &t[i];
	}
	for (int s = 0; s < replicas; s++)
		running += slots[s] != NULL && slots[s]->state == ENGINE_TASK_RUNNING &&
			   slots[s]->container_id[0] != '\0';
	return running;
}
