/*
 * How a service runs on the engine, from compose's keys: cpus and memory as
 * a limit (cpus, mem_limit, deploy.resources.limits) or a request
 * (deploy.resources.reservations), replicas (scale, deploy.replicas),
 * restart (restart, deploy.restart_policy) and GPUs (gpus, or deploy's
 * reservations devices) as engine DeviceRequests.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/util.h"
#include "project/compose-int.h"

/* A value compose accepts once per container, from either of two keys. */
static int set_once(struct cx *x, const struct jnode *v, const char *what,
		    struct jnode **slot, struct jnode *val)
{
	if (*slot != NULL && ((*slot)->num != val->num)) {
		json_free(val);
		return cx_error(x, v, true, "'%s' differs from the value set before; "
				"expected one value", what);
	}
	SET(*slot, val);
	return 0;
}

static int cpus_value(struct cx *x, const struct jnode *v, const char *what,
		      struct jnode **slot)
{
	char *end = NULL;
	double c = v->type == J_NUMBER ? v->num
		   : v->type == J_STRING ? strtod(v->str, &end) : -1;

	if ((end != NULL && (end == v->str || *end != '\0')) || !(c > 0 && c <= 1024))
		return cx_error(x, v, false, "'%s' is '%s'; expected a number of CPUs above 0, "
				"e.g. 0.5", what, v->str != NULL ? v->str : "");
	return set_once(x, v, what, slot, jb_num(c, v));
}

/* Byte sizes as compose reads them: 1024-based k, m, g, t, p, optionally
   followed by i and b ("512m", "1GiB", "2.5g", "1024"). */
static int memory_value(struct cx *x, const struct jnode *v, const char *what,
			struct jnode **slot)
{
	static const char units[] = "kmgtp";
	double n = -1, mult = 1;
	char *end = NULL;

	if (v->type == J_NUMBER && v->integral) {
		n = v->num;
	} else if (v->type == J_STRING) {
		n = strtod(v->str, &end);
		if (end == v->str || n < 0)
			n = -1;
		while (end != NULL && *end == ' ')
			end++;
		if (end != NULL && *end != '\0' &&
		    strchr(units, tolower((unsigned char)*end)) != NULL) {
			for (const char *u = units; *u != tolower((unsigned char)*end); u++)
				mult *= 1024;
			mult *= 1024;
			end++;
		}
		if (end != NULL && (*end == 'i' || *end == 'I'))
			end++;
		if (end != NULL && (*end == 'b' || *end == 'B'))
			end++;
		if (end != NULL && *end != '\0')
			n = -1;
	}
	if (n < 0 || n * mult > 1e15)
		return cx_error(x, v, false, "'%s' is '%s'; expected a size such as \"512m\" or "
				"\"1g\"", what, v->str != NULL ? v->str : "");
	return set_once(x, v, what, slot, jb_num((double)(long long)(n * mult), v));
}

int compose_cpus(struct cx *x, const struct jnode *v, struct compose_svc *s)
{
	return cpus_value(x, v, "cpus", &s->cpus);
}

int compose_mem_limit(struct cx *x, const struct jnode *v, struct compose_svc *s)
{
	return memory_value(x, v, "mem_limit", &s->memory);
}

int compose_scale(struct cx *x, const struct jnode *v, struct compose_svc *s)
{
	long n;
	int err = cx_int(x, v, v->key, 0, 1000000, &n);

	if (err == 0 && n == 0)
		return cx_error(x, v, false, "'%s' 0 (a service that never starts) is not "
				"supported yet", v->key);
	return err != 0 ? err : set_once(x, v, v->key, &s->replicas, jb_num((double)n, v));
}

int compose_restart(struct cx *x, const struct jnode *v, struct compose_svc *s)
{
	long max = 0;
	char *end;

	if (v->type != J_STRING)
		return cx_error(x, v, false, "'restart' is not a string; expected no, always, "
				"on-failure[:N] or unless-stopped");
	if (strcmp(v->str, "no") == 0) {
		SET(s->restart, jb_str("never", v));
	} else if (strcmp(v->str, "always") == 0 || strcmp(v->str, "unless-stopped") == 0) {
		SET(s->restart, jb_str("always", v));
	} else if (strcmp(v->str, "on-failure") == 0) {
		SET(s->restart, jb_str("on-failure", v));
	} else if (str_starts(v->str, "on-failure:")) {
		struct jnode *r = jb_new(J_OBJECT, v);

		max = strtol(v->str + 11, &end, 10);
		if (end == v->str + 11 || *end != '\0' || max < 0 || max > 1000000) {
			json_free(r);
			return cx_error(x, v, false, "restart '%s': expected on-failure:N with N a "
					"count of retries", v->str);
		}
		jb_put(r, "policy", jb_str("on-failure", v));
		jb_put(r, "max_restarts", jb_num((double)max, v));
		SET(s->restart, r);
	} else {
		return cx_error(x, v, false, "restart '%s': expected no, always, on-failure[:N] "
				"or unless-stopped", v->str);
	}
	return 0;
}

static int deploy_restart(struct cx *x, const struct jnode *v, struct compose_svc *s)
{
	static const char *const keys[] = {"condition", "delay", "max_attempts",
					   "window", NULL};
	const struct jnode *c = json_get(v, "condition"), *m = json_get(v, "max_attempts");
	const char *policy = "always";
	struct jnode *r;
	long max = 0;
	int err;

	if (v->type != J_OBJECT)
		return cx_error(x, v, false, "'restart_policy' is not a mapping");
	if ((err = cx_keys(x, v, keys, "deploy.restart_policy")) != 0)
		return err;
	if ((c = json_get(v, "delay")) != NULL || (c = json_get(v, "window")) != NULL)
		return cx_unsupported(x, c, NULL);
	c = json_get(v, "condition");
	if (c != NULL) {
		if (c->type != J_STRING || (strcmp(c->str, "none") && strcmp(c->str, "on-failure") &&
					    strcmp(c->str, "any")))
			return cx_error(x, c, false, "condition: expected none, on-failure or any");
		policy = strcmp(c->str, "none") == 0 ? "never"
			 : strcmp(c->str, "any") == 0 ? "always" : "on-failure";
	}
	if (m != NULL && (err = cx_int(x, m, "max_attempts", 0, 1000000, &max)) != 0)
		return err;
	r = jb_new(J_OBJECT, v);
	jb_put(r, "policy", jb_str(policy, c != NULL ? c : v));
	if (m != NULL)
		jb_put(r, "max_restarts", jb_num((double)max, m));
	if (s->restart != NULL) {
		json_free(r);
		return cx_error(x, v, true, "'restart_policy' and 'restart' both set; "
				"expected one of them");
	}
	SET(s->restart, r);
	return 0;
}

/* One list of device requests (service 'gpus', or deploy's reservations
   'devices') into devwatch's gpus; the model holds one request. */
static int device_requests(struct cx *x, const struct jnode *v, const char *what,
			   struct compose_svc *s)
{
	static const char *const keys[] = {"capabilities", "count", "device_ids", "driver",
					   "options", NULL};
	const struct jnode *d, *k;
	struct jnode *g;
	struct strlist l = {0};
	int err;

	if (v->type != J_ARRAY || v->n == 0)
		return cx_error(x, v, false, "'%s' is %s; expected a list of device requests",
				what, v->type == J_ARRAY ? "empty" : "not a list");
	if (v->n > 1)
		return cx_error(x, &v->kids[1], false, "a second device request in '%s' is not "
				"supported yet; expected one", what);
	d = &v->kids[0];
	if (d->type != J_OBJECT)
		return cx_error(x, d, false, "a device request is not a mapping; expected "
				"{capabilities, count, device_ids, driver}");
	if ((err = cx_keys(x, d, keys, what)) != 0)
		return err;
	if ((k = json_get(d, "options")) != NULL)
		return cx_unsupported(x, k, NULL);
	if ((k = json_get(d, "driver")) != NULL &&
	    (k->type != J_STRING || strcmp(k->str, "nvidia") != 0))
		return cx_error(x, k, false, "device driver '%s' is not supported yet; expected "
				"nvidia", k->str != NULL ? k->str : "");
	if (s->gpus != NULL)
		return cx_error(x, v, true, "'%s' and another GPU request both set; expected one",
				what);
	g = jb_new(J_OBJECT, d);
	if ((k = json_get(d, "count")) != NULL) {
		long n;

		if (k->type == J_STRING && strcasecmp(k->str, "all") == 0)
			jb_put(g, "count", jb_str("all", k));
		else if ((err = cx_int(x, k, "count", 1, 1024, &n)) == 0)
			jb_put(g, "count", jb_num((double)n, k));
	}
	if (err == 0 && (k = json_get(d, "device_ids")) != NULL &&
	    (err = cx_strings(x, k, "device_ids", &l)) == 0)
		jb_put(g, "device_ids", jb_strs(&l, k));
	strlist_release(&l);
	if (err == 0 && (k = json_get(d, "capabilities")) != NULL &&
	    (err = cx_strings(x, k, "capabilities", &l)) == 0)
		jb_put(g, "capabilities", jb_strs(&l, k));
	strlist_release(&l);
	if (err != 0) {
		json_free(g);
		return err;
	}
	SET(s->gpus, g);
	return 0;
}

int compose_gpus(struct cx *x, const struct jnode *v, struct compose_svc *s)
{
	if (v->type == J_STRING && strcasecmp(v->str, "all") == 0) {
		if (s->gpus != NULL)
			return cx_error(x, v, true, "'gpus' and another GPU request both set; "
					"expected one");
		SET(s->gpus, jb_str("all", v));
		return 0;
	}
	if (v->type != J_ARRAY)
		return cx_error(x, v, false, "'gpus' is not \"all\" or a list; expected \"all\" "
				"or a list of device requests");
	return device_requests(x, v, "gpus", s);
}

/* limits or reservations: cpus and memory into the limit or request slots. */
static int resource_set(struct cx *x, const struct jnode *l, bool limit,
			struct compose_svc *s)
{
	static const char *const lkeys[] = {"cpus", "memory", "pids", NULL};
	static const char *const rkeys[] = {"cpus", "devices", "generic_resources",
					    "memory", NULL};
	const char *where = limit ? "deploy.resources.limits" : "deploy.resources.reservations";
	const struct jnode *k;
	int err;

	if (l->type == J_NULL)
		return 0;
	if (l->type != J_OBJECT)
		return cx_error(x, l, false, "'%s' is not a mapping", l->key);
	if ((err = cx_keys(x, l, limit ? lkeys : rkeys, where)) != 0)
		return err;
	if ((k = json_get(l, limit ? "pids" : "generic_resources")) != NULL)
		return cx_unsupported(x, k, NULL);
	if ((k = json_get(l, "cpus")) != NULL &&
	    (err = cpus_value(x, k, limit ? "cpus" : "reservations.cpus",
			      limit ? &s->cpus : &s->cpus_req)) != 0)
		return err;
	if ((k = json_get(l, "memory")) != NULL &&
	    (err = memory_value(x, k, limit ? "memory" : "reservations.memory",
				limit ? &s->memory : &s->mem_req)) != 0)
		return err;
	if (!limit && (k = json_get(l, "devices")) != NULL)
		return device_requests(x, k, "devices", s);
	return 0;
}

static int deploy_resources(struct cx *x, const struct jnode *v, struct compose_svc *s)
{
	static const char *const keys[] = {"limits", "reservations", NULL};
	const struct jnode *k;
	int err;

	if (v->type != J_OBJECT)
		return cx_error(x, v, false, "'resources' is not a mapping");
	if ((err = cx_keys(x, v, keys, "deploy.resources")) != 0)
		return err;
	if ((k = json_get(v, "limits")) != NULL && (err = resource_set(x, k, true, s)) != 0)
		return err;
	if ((k = json_get(v, "reservations")) != NULL)
		return resource_set(x, k, false, s);
	return 0;
}

int compose_deploy(struct cx *x, const struct jnode *v, struct compose_svc *s)
{
	static const char *const keys[] = {"endpoint_mode", "labels", "mode", "placement",
					   "replicas", "resources", "restart_policy",
					   "rollback_config", "update_config", NULL};
	static const char *const swarm[] = {"endpoint_mode", "placement",
					    "rollback_config", "update_config", NULL};
	const struct jnode *k;
	int err;

	if (v->type == J_NULL)
		return 0;
	if (v->type != J_OBJECT)
		return cx_error(x, v, false, "'deploy' is not a mapping");
	if ((err = cx_keys(x, v, keys, "deploy")) != 0)
		return err;
	for (size_t i = 0; swarm[i] != NULL; i++)
		if ((k = json_get(v, swarm[i])) != NULL)
			cx_warn(x, k, true, "'deploy.%s' applies to swarm services only; ignored",
				swarm[i]);
	if ((k = json_get(v, "labels")) != NULL)
		return cx_unsupported(x, k, NULL);
	if ((k = json_get(v, "mode")) != NULL &&
	    (k->type != J_STRING || strcmp(k->str, "replicated") != 0))
		return cx_error(x, k, false, "deploy mode '%s' is not supported yet; expected "
				"replicated", k->str != NULL ? k->str : "");
	if ((k = json_get(v, "replicas")) != NULL && (err = compose_scale(x, k, s)) != 0)
		return err;
	if ((k = json_get(v, "resources")) != NULL && (err = deploy_resources(x, k, s)) != 0)
		return err;
	if ((k = json_get(v, "restart_policy")) != NULL)
		return deploy_restart(x, k, s);
	return 0;
}
