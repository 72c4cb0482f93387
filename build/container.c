/*
 * Engine JSON for containers. See container.h.
 */
#include "build/container.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/error.h"
#include "base/util.h"
#include "engine/engine.h"

static cJSON *argv_json(char **v)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; v[i] != NULL; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
	return a;
}

static const char *engine_proto(const struct port_map *pm)
{
	return strcmp(pm->protocol, "udp") == 0 ? "udp" : "tcp";
}

/* Limits, reservations and GPUs. The plain engine has no CPU reservation,
   so a cpus request becomes the relative weight CpuShares (1024 a CPU). */
static void add_resources(cJSON *hc, const struct project_container *c)
{
	const struct gpu_request *g = &c->gpus;

	if (c->cpus > 0)
		cJSON_AddNumberToObject(hc, "NanoCpus", (double)(int64_t)(c->cpus * 1e9));
	if (c->cpus_request > 0)
		cJSON_AddNumberToObject(hc, "CpuShares", (double)(int64_t)(c->cpus_request * 1024));
	if (c->memory > 0)
		cJSON_AddNumberToObject(hc, "Memory", (double)c->memory);
	if (c->memory_request > 0)
		cJSON_AddNumberToObject(hc, "MemoryReservation", (double)c->memory_request);
	if (g->set) {
		cJSON *list = cJSON_AddArrayToObject(hc, "DeviceRequests");
		cJSON *d = cJSON_CreateObject(), *caps, *and;

		cJSON_AddStringToObject(d, "Driver", "");
		cJSON_AddNumberToObject(d, "Count", g->device_ids.n > 0 ? 0 : g->count);
		if (g->device_ids.n > 0) {
			cJSON *ids = cJSON_AddArrayToObject(d, "DeviceIDs");

			for (size_t i = 0; i < g->device_ids.n; i++)
				cJSON_AddItemToArray(ids, cJSON_CreateString(g->device_ids.v[i]));
		}
		/* A list of alternatives, each a list that must all hold. */
		caps = cJSON_AddArrayToObject(d, "Capabilities");
		and = cJSON_CreateArray();
		for (size_t i = 0; i < g->capabilities.n; i++)
			cJSON_AddItemToArray(and, cJSON_CreateString(g->capabilities.v[i]));
		if (g->capabilities.n == 0)
			cJSON_AddItemToArray(and, cJSON_CreateString("gpu"));
		cJSON_AddItemToArray(caps, and);
		cJSON_AddObjectToObject(d, "Options");
		cJSON_AddItemToArray(list, d);
	}
}

/* The project network with the container's name and aliases (replicas
   share the name), or another container's namespace, the host's, none. */
static void add_network(cJSON *o, cJSON *hc, const struct project *p,
			const struct project_container *c)
{
	char *net, *mode;
	cJSON *eps, *ep, *aliases;

	switch (c->network) {
	case NET_HOST:
		cJSON_AddStringToObject(hc, "NetworkMode", "host");
		return;
	case NET_NONE:
		cJSON_AddStringToObject(hc, "NetworkMode", "none");
		return;
	case NET_CONTAINER: {
		const struct project_container *t =
			project_find((struct project *)p, c->network_of);
		char *inst = project_container_instance(p, t, 1);

		mode = xasprintf("container:%s", inst);
		cJSON_AddStringToObject(hc, "NetworkMode", mode);
		free(mode);
		free(inst);
		return;
	}
	case NET_PROJECT:
		break;
	}
	net = project_network_name(p);
	cJSON_AddStringToObject(hc, "NetworkMode", net);
	eps = cJSON_AddObjectToObject(cJSON_AddObjectToObject(o, "NetworkingConfig"),
				      "EndpointsConfig");
	ep = cJSON_AddObjectToObject(eps, net);
	aliases = cJSON_AddArrayToObject(ep, "Aliases");
	cJSON_AddItemToArray(aliases, cJSON_CreateString(c->name));
	for (size_t i = 0; i < c->aliases.n; i++)
		cJSON_AddItemToArray(aliases, cJSON_CreateString(c->aliases.v[i]));
	free(net);
}

char *container_create_body(const struct project *p,
			    const struct project_container *c, int replica,
			    const char *image)
{
	cJSON *o = cJSON_CreateObject(), *hc = cJSON_CreateObject();
	cJSON *labels = cJSON_CreateObject(), *env, *exposed, *bindings;
	char rep[16], *s;

	cJSON_AddStringToObject(o, "Image", image);
	snprintf(rep, sizeof(rep), "%d", replica);
	cJSON_AddStringToObject(labels, LABEL_PROJECT, p->name);
	cJSON_AddStringToObject(labels, LABEL_CONTAINER, c->name);
	cJSON_AddStringToObject(labels, LABEL_REPLICA, rep);
	cJSON_AddStringToObject(labels, LABEL_CONFIG, c->config_hash);
	cJSON_AddItemToObject(o, "Labels", labels);
	if (c->cmd != NULL)
		cJSON_AddItemToObject(o, "Cmd", argv_json(c->cmd));
	if (c->entrypoint != NULL)
		cJSON_AddItemToObject(o, "Entrypoint", argv_json(c->entrypoint));
	env = cJSON_AddArrayToObject(o, "Env");
	/* env_file first; env overrides it (as compose merges them). */
	for (size_t i = 0; i < c->file_env.n; i++) {
		bool shadowed = false;

		for (size_t j = 0; j < c->env.n && !shadowed; j++)
			shadowed = strcmp(c->env.v[j].key, c->file_env.v[i].key) == 0;
		for (size_t j = i + 1; j < c->file_env.n && !shadowed; j++)
			shadowed = strcmp(c->file_env.v[j].key, c->file_env.v[i].key) == 0;
		if (shadowed)
			continue;
		s = xasprintf("%s=%s", c->file_env.v[i].key, c->file_env.v[i].value);
		cJSON_AddItemToArray(env, cJSON_CreateString(s));
		free(s);
	}
	for (size_t i = 0; i < c->env.n; i++) {
		s = xasprintf("%s=%s", c->env.v[i].key, c->env.v[i].value);
		cJSON_AddItemToArray(env, cJSON_CreateString(s));
		free(s);
	}
	if (c->workdir != NULL)
		cJSON_AddStringToObject(o, "WorkingDir", c->workdir);
	if (c->user != NULL)
		cJSON_AddStringToObject(o, "User", c->user);
	cJSON_AddBoolToObject(o, "Tty", c->tty);
	cJSON_AddBoolToObject(o, "OpenStdin", c->stdin_open);
	cJSON_AddBoolToObject(o, "AttachStdin", false);
	exposed = cJSON_AddObjectToObject(o, "ExposedPorts");
	bindings = cJSON_AddObjectToObject(hc, "PortBindings");
	for (size_t i = 0; i < c->n_ports; i++) {
		const struct port_map *pm = &c->ports[i];
		char key[32], hp[16];
		cJSON *list, *b;

		snprintf(key, sizeof(key), "%d/%s", pm->container, engine_proto(pm));
		if (cJSON_GetObjectItem(exposed, key) == NULL)
			cJSON_AddObjectToObject(exposed, key);
		list = cJSON_GetObjectItem(bindings, key);
		if (list == NULL)
			list = cJSON_AddArrayToObject(bindings, key);
		b = cJSON_CreateObject();
		cJSON_AddStringToObject(b, "HostIp", pm->host_ip);
		/* "" lets the engine pick a free port (host port 0). */
		if (pm->host != 0)
			snprintf(hp, sizeof(hp), "%d", pm->host);
		else
			hp[0] = '\0';
		cJSON_AddStringToObject(b, "HostPort", hp);
		cJSON_AddItemToArray(list, b);
	}
	if (c->n_mounts > 0) {
		cJSON *mounts = cJSON_AddArrayToObject(hc, "Mounts");

		for (size_t i = 0; i < c->n_mounts; i++) {
			cJSON *m = cJSON_CreateObject();

			cJSON_AddStringToObject(m, "Type", c->mounts[i].type);
			if (c->mounts[i].source != NULL)
				cJSON_AddStringToObject(m, "Source", c->mounts[i].source);
			cJSON_AddStringToObject(m, "Target", c->mounts[i].target);
			cJSON_AddBoolToObject(m, "ReadOnly", c->mounts[i].read_only);
			cJSON_AddItemToArray(mounts, m);
		}
	}
	add_resources(hc, c);
	add_network(o, hc, p, c);
	if (c->stop_signal != NULL)
		cJSON_AddStringToObject(o, "StopSignal", c->stop_signal);
	/* Whole seconds, rounded up, as the engine takes them. */
	cJSON_AddNumberToObject(o, "StopTimeout", (c->stop_grace_ms + 999) / 1000);
	if (c->init)
		cJSON_AddBoolToObject(hc, "Init", true);
	{
		cJSON *rp = cJSON_AddObjectToObject(hc, "RestartPolicy");

		cJSON_AddStringToObject(rp, "Name",
					c->restart == RESTART_ALWAYS ? "always"
					: c->restart == RESTART_ON_FAILURE ? "on-failure"
									   : "no");
		if (c->restart == RESTART_ON_FAILURE)
			cJSON_AddNumberToObject(rp, "MaximumRetryCount", c->max_restarts);
	}
	cJSON_AddItemToObject(o, "HostConfig", hc);
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

/* "8080" as the engine writes a bound port: 1..65535, digits only, or 0. */
static int host_port(const char *s)
{
	int v = 0;

	for (size_t i = 0; s[i] != '\0'; i++) {
		if (i >= 5 || s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	return v <= 65535 ? v : 0;
}

int container_info_parse(const char *json, size_t len,
			 const struct project_container *c,
			 struct container_info *out)
{
	cJSON *o = cJSON_ParseWithLength(json, len), *v, *state, *ports;

	memset(out, 0, sizeof(*out));
	v = cJSON_GetObjectItem(o, "Id");
	if (!cJSON_IsObject(o) || !cJSON_IsString(v) || !engine_id_ok(v->valuestring)) {
		/* Not an inspect answer: nothing of it is to be believed. */
		cJSON_Delete(o);
		return DW_ENGINE_PROTO;
	}
	out->id = xstrdup(v->valuestring);
	v = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "Config"), "Image");
	out->image = xstrdup(cJSON_IsString(v) ? v->valuestring : "");
	v = cJSON_GetObjectItem(
		cJSON_GetObjectItem(cJSON_GetObjectItem(o, "Config"), "Labels"),
		LABEL_CONFIG);
	if (cJSON_IsString(v))
		out->config_hash = xstrdup(v->valuestring);
	state = cJSON_GetObjectItem(o, "State");
	out->running = cJSON_IsTrue(cJSON_GetObjectItem(state, "Running"));
	out->restarting = cJSON_IsTrue(cJSON_GetObjectItem(state, "Restarting"));
	v = cJSON_GetObjectItem(state, "ExitCode");
	out->exit_code = cJSON_IsNumber(v) ? v->valueint : 0;
	v = cJSON_GetObjectItem(cJSON_GetObjectItem(state, "Health"), "Status");
	if (cJSON_IsString(v))
		out->health = strcmp(v->valuestring, "healthy") == 0     ? HEALTH_HEALTHY
			      : strcmp(v->valuestring, "unhealthy") == 0 ? HEALTH_UNHEALTHY
			      : strcmp(v->valuestring, "starting") == 0  ? HEALTH_STARTING
									 : HEALTH_NONE;
	ports = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "NetworkSettings"), "Ports");
	if (c != NULL && c->n_ports > 0) {
		out->n_ports = c->n_ports;
		out->host_ports = xcalloc(c->n_ports, sizeof(int));
		out->host_ips = xcalloc(c->n_ports, sizeof(char *));
		for (size_t i = 0; i < c->n_ports; i++) {
			char key[32];
			cJSON *list, *b;

			snprintf(key, sizeof(key), "%d/%s", c->ports[i].container,
				 engine_proto(&c->ports[i]));
			list = cJSON_GetObjectItem(ports, key);
			cJSON_ArrayForEach(b, list) {
				cJSON *hp = cJSON_GetObjectItem(b, "HostPort");
				cJSON *ip = cJSON_GetObjectItem(b, "HostIp");
				int port = cJSON_IsString(hp) ? host_port(hp->valuestring) : 0;

				if (port > 0) {
					out->host_ports[i] = port;
					if (cJSON_IsString(ip))
						out->host_ips[i] = xstrdup(ip->valuestring);
					break;
				}
			}
		}
	}
	cJSON_Delete(o);
	return 0;
}

void container_host_ips_free(char **ips, size_t n)
{
	for (size_t i = 0; ips != NULL && i < n; i++)
		free(ips[i]);
	free(ips);
}

void container_info_free(struct container_info *ci)
{
	free(ci->id);
	free(ci->image);
	free(ci->config_hash);
	free(ci->host_ports);
	container_host_ips_free(ci->host_ips, ci->n_ports);
	memset(ci, 0, sizeof(*ci));
}

char *container_label_filter(const char *project, const char *cname)
{
	cJSON *f = cJSON_CreateObject(), *l = cJSON_AddArrayToObject(f, "label");
	char *s, *enc;

	s = xasprintf(LABEL_PROJECT "=%s", project);
	cJSON_AddItemToArray(l, cJSON_CreateString(s));
	free(s);
	if (cname != NULL) {
		s = xasprintf(LABEL_CONTAINER "=%s", cname);
		cJSON_AddItemToArray(l, cJSON_CreateString(s));
		free(s);
	}
	s = cJSON_PrintUnformatted(f);
	enc = engine_urlencode(s);
	free(s);
	cJSON_Delete(f);
	return enc;
}
