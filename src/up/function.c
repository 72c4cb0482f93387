/*
 * Function containers in an `up` session (see function.h).
 *
 * Where the Runtime API listens. The container must reach it, so it
 * cannot be 127.0.0.1 for a container on the project network: it is the
 * project network's gateway, the host's own address on that bridge
 * (e.g. 172.18.0.1). Containers on the bridge reach it; other machines
 * do not, since it is an address of a host-local bridge, and it is never
 * 0.0.0.0. A function on the host's network (or the sidecar of one)
 * shares the host's loopback, so its API listens on 127.0.0.1. With a
 * remote engine the containers run on another machine, which no address
 * of this one serves safely: that is an error.
 */
#include "up/function.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/error.h"
#include "base/log.h"
#include "base/util.h"
#include "up/say.h"

#define ENV_KEY "AWS_LAMBDA_RUNTIME_API="

struct serve_job {
	struct session *s;
	void (*then)(struct session *s);
};

static bool is_function(const struct session *s, const struct cstate *cs)
{
	return cs->c->function && s->functions != NULL;
}

/* The network a container's namespace is on: a sidecar's is its
   owner's. */
static enum net_mode mode_of(struct project *p, const struct project_container *c)
{
	const struct project_container *o;

	if (c->network != NET_CONTAINER)
		return c->network;
	o = project_find(p, c->network_of);
	return o != NULL ? o->network : NET_PROJECT;
}

/* The gateway of a network inspect answer and its subnet ("A.B.C.D/N"):
   IPAM's IPv4 Gateway or, as the engine often leaves that empty, the
   first address of its IPv4 Subnet (where the engine puts the bridge).
   0 with both set (caller frees), or -1 when there is no IPv4 subnet. */
static int gateway_of(const char *body, size_t len, char **gw, char **subnet)
{
	cJSON *o = cJSON_ParseWithLength(body, len), *cfg, *e;

	*gw = *subnet = NULL;
	cfg = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "IPAM"),
					       "Config");
	cJSON_ArrayForEach(e, cfg) {
		const cJSON *g = cJSON_GetObjectItemCaseSensitive(e, "Gateway");
		const cJSON *sn = cJSON_GetObjectItemCaseSensitive(e, "Subnet");
		char ip[INET_ADDRSTRLEN + 4], *slash;
		struct in_addr a, net;
		int bits;

		if (!cJSON_IsString(sn) || strlen(sn->valuestring) >= sizeof(ip))
			continue;
		strcpy(ip, sn->valuestring);
		slash = strchr(ip, '/');
		if (slash == NULL)
			continue;
		*slash = '\0';
		bits = atoi(slash + 1);
		if (inet_pton(AF_INET, ip, &net) != 1 || bits < 1 || bits > 30)
			continue;
		*subnet = xstrdup(sn->valuestring);
		a.s_addr = htonl((ntohl(net.s_addr) & ~((1u << (32 - bits)) - 1)) + 1);
		if (cJSON_IsString(g) && strlen(g->valuestring) < sizeof(ip)) {
			strcpy(ip, g->valuestring);
			if ((slash = strchr(ip, '/')) != NULL)
				*slash = '\0';
			inet_pton(AF_INET, ip, &a);
		}
		*gw = xstrdup(inet_ntop(AF_INET, &a, ip, sizeof(ip)));
		break;
	}
	cJSON_Delete(o);
	return *gw != NULL ? 0 : -1;
}

/* Serve every function; false after failing the session. */
static bool serve_all(struct session *s, const char *gateway, const char *subnet)
{
	for (size_t i = 0; i < s->n_cs; i++) {
		struct cstate *cs = &s->cs[i];
		bool host = mode_of(s->p, cs->c) == NET_HOST;
		char *cause = NULL;

		if (!cs->c->function)
			continue;
		/* Only its own network: a container on another bridge reaches
		   the gateway too, as an address of this host. */
		if (s->functions->serve(s->functions_st, cs, host ? "127.0.0.1" : gateway,
					host ? "127.0.0.0/8" : subnet, &cause) != 0) {
			session_fail(s, &cs->inst[0], "cannot serve the Lambda Runtime API: %s", cause);
			free(cause);
			return false;
		}
	}
	return true;
}

static void on_network(struct engine_req *req, int err,
		       const struct engine_resp *resp, void *arg)
{
	struct serve_job *j = arg;
	struct session *s = j->s;
	char *gw = NULL, *subnet = NULL;

	(void)req;
	if (s->shutting_down) {
		free(j);
		return;
	}
	if (err != 0 || resp->status != 200 || gateway_of(resp->body, resp->len, &gw, &subnet) != 0)
		session_fail(s, NULL, "cannot find the gateway of the project network: %s",
			     err != 0 ? dw_strerror(err) : "its inspect names no IPv4 subnet");
	else if (serve_all(s, gw, subnet))
		j->then(s);
	free(gw);
	free(subnet);
	free(j);
}

void session_functions_serve(struct session *s, void (*then)(struct session *s))
{
	struct engine_call call = {.method = "GET", .timeout_ms = 30000};
	bool any = false, bridged = false;
	struct serve_job *j;
	char *name, *path;

	for (size_t i = 0; i < s->n_cs; i++) {
		if (!s->cs[i].c->function)
			continue;
		any = true;
		bridged |= mode_of(s->p, s->cs[i].c) != NET_HOST;
	}
	if (!any) {
		then(s);
		return;
	}
	if (s->functions == NULL) {
		session_fail(s, NULL, "the project has function containers, and nothing "
			     "serves their Runtime API here");
		return;
	}
	if (engine_is_remote(s->e)) {
		session_fail(s, NULL, "function containers need an engine on this machine: "
			     "their Runtime API is served here, and the engine at %s is remote",
			     engine_address(s->e));
		return;
	}
	if (!bridged) {
		if (serve_all(s, NULL, NULL))
			then(s);
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->s = s;
	j->then = then;
	name = project_network_name(s->p);
	path = xasprintf("/networks/%s", name);
	call.path = path;
	if (engine_request(s->e, &call, on_network, j, NULL) != 0) {
		free(j);
		session_fail(s, NULL, "cannot inspect network '%s'", name);
	}
	free(path);
	free(name);
}

void session_function_env(const struct instance *in, char **body)
{
	struct session *s = in->s;
	const char *const *env;
	cJSON *o, *old, *fresh, *e;

	if (!is_function(s, in->cs))
		return;
	env = s->functions->env(s->functions_st, in->cs);
	o = cJSON_Parse(*body);
	if (env == NULL || o == NULL) {
		cJSON_Delete(o);
		return;
	}
	/* Ours first: the project's own env (AWS_REGION, say) wins. A new
	   array rather than cJSON_InsertItemInArray, which loses items in
	   the cJSON of Debian 12 (1.7.15). */
	fresh = cJSON_CreateArray();
	for (int i = 0; env[i] != NULL; i++)
		cJSON_AddItemToArray(fresh, cJSON_CreateString(env[i]));
	old = cJSON_DetachItemFromObjectCaseSensitive(o, "Env");
	cJSON_ArrayForEach(e, old)
		if (cJSON_IsString(e))
			cJSON_AddItemToArray(fresh, cJSON_CreateString(e->valuestring));
	cJSON_Delete(old);
	cJSON_AddItemToObject(o, "Env", fresh);
	free(*body);
	*body = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
}

bool session_function_adoptable(const struct instance *in, const char *inspect,
				size_t len)
{
	struct session *s = in->s;
	const char *const *env;
	const char *ours = NULL;
	cJSON *o, *e;
	bool same = false;

	if (!in->cs->c->function)
		return true;
	if (s->functions == NULL || (env = s->functions->env(s->functions_st, in->cs)) == NULL)
		return false;
	for (int i = 0; env[i] != NULL && ours == NULL; i++)
		if (strncmp(env[i], ENV_KEY, strlen(ENV_KEY)) == 0)
			ours = env[i];
	o = cJSON_ParseWithLength(inspect, len);
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(
				      cJSON_GetObjectItemCaseSensitive(o, "Config"), "Env"))
		same |= ours != NULL && cJSON_IsString(e) && strcmp(e->valuestring, ours) == 0;
	cJSON_Delete(o);
	return same;
}

bool session_function_ready(struct instance *in)
{
	struct session *s = in->s;
	const char *init = NULL;

	if (!is_function(s, in->cs))
		return true;
	if (!s->functions->ready(s->functions_st, in->cs, &init) && init == NULL)
		return false;
	if (init != NULL)
		session_say(s, in, "warning",
			    "its init failed: %s; each invocation fails with that until a "
			    "save fixes the code", init);
	return true;
}

bool session_function_hold(struct cstate *cs, void (*cb)(void *arg), void *arg)
{
	struct session *s = cs->inst[0].s;

	if (!is_function(s, cs))
		return false;
	if (s->functions->busy(s->functions_st, cs))
		session_say(s, &cs->inst[0], "waiting", "waits for the invocation in flight");
	return s->functions->hold(s->functions_st, cs, cb, arg);
}

void session_function_release(struct cstate *cs)
{
	struct session *s = cs->inst[0].s;

	if (is_function(s, cs))
		s->functions->release(s->functions_st, cs);
}

void session_function_gone(struct instance *in, const char *message)
{
	struct session *s = in->s;

	if (is_function(s, in->cs))
		s->functions->reset(s->functions_st, in->cs, message);
}
