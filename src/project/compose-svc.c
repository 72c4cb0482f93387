/*
 * One compose service into one devwatch container. The key table lists
 * every key of the Compose Specification's service: each either maps onto
 * a devwatch key (its function fills the staging struct), is not supported
 * yet (an error at the key, with the reason when there is one), or is
 * ignored with a warning where compose itself would change nothing. The
 * staged keys are emitted in one order at the end, so that two compose keys
 * meaning one devwatch key (cpus and deploy's limit) can be checked.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/util.h"
#include "project/compose-int.h"
#include "project/project-int.h"

struct svc {
	struct jnode *image, *build, *pull, *cmd, *entrypoint, *env;
	struct jnode *ports, *mounts, *cpus, *memory, *restart, *replicas;
	struct jnode *extra;	/* the keys the table renames, in file order */
	const struct jnode *image_at, *develop;
};

#define SET(slot, v)                                                           \
	do {                                                                   \
		json_free(slot);                                               \
		(slot) = (v);                                                  \
	} while (0)

static int map_image(struct cx *x, const struct jnode *v, struct svc *s)
{
	char *img;
	int err = cx_string(x, v, "image", &img);

	if (err != 0)
		return err;
	if (img[0] == '\0')
		err = cx_error(x, v, false, "'image' is empty; expected an image reference");
	else
		SET(s->image, jb_str(img, v));
	s->image_at = v;
	free(img);
	return err;
}

static int write_inline(struct cx *x, const struct jnode *v, const char *ctx_abs,
			const char *rel)
{
	char *dir = path_join(ctx_abs, ".devwatch/compose");
	char *file = path_join(ctx_abs, rel), *tmp = xasprintf("%s.tmp", file);
	char *old = NULL;
	FILE *f;
	int err = 0;

	for (char *p = dir + strlen(ctx_abs) + 1;; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;

			*p = '\0';
			if (mkdir(dir, 0755) != 0 && errno != EEXIST)
				err = -errno;
			*p = c;
			if (c == '\0' || err != 0)
				break;
		}
	}
	f = err == 0 ? fopen(file, "rb") : NULL;
	if (f != NULL) {
		size_t n = strlen(v->str);

		old = xcalloc(1, n + 2);
		if (fread(old, 1, n + 1, f) != n || memcmp(old, v->str, n) != 0) {
			free(old);
			old = NULL;
		}
		fclose(f);
	}
	/* Rewrite only what changed, so the image's inputs keep their hash. */
	if (err == 0 && old == NULL) {
		f = fopen(tmp, "wb");
		if (f == NULL || fputs(v->str, f) < 0 || fclose(f) != 0 ||
		    rename(tmp, file) != 0)
			err = -errno;
	}
	if (err != 0)
		err = cx_error(x, v, false, "cannot write the inline Dockerfile to %s: %s",
			       file, strerror(-err));
	free(old);
	free(tmp);
	free(file);
	free(dir);
	return err;
}

static int map_build(struct cx *x, const struct jnode *v, struct svc *s)
{
	static const char *const keys[] = {
		"additional_contexts", "args", "cache_from", "cache_to", "context",
		"dockerfile", "dockerfile_inline", "entitlements", "extra_hosts",
		"isolation", "labels", "network", "no_cache", "no_cache_filter",
		"platforms", "privileged", "provenance", "pull", "sbom", "secrets",
		"shm_size", "ssh", "tags", "target", "ulimits", NULL};
	static const char *const mapped[] = {"args", "context", "dockerfile",
					     "dockerfile_inline", "target", NULL};
	const struct jnode *ctx = v, *k, *df, *inl;
	struct jnode *b = jb_new(J_OBJECT, v), *args;
	char *ctx_s = NULL, *rel;
	int err;

	if (v->type == J_OBJECT) {
		if ((err = cx_keys(x, v, keys, "build")) != 0)
			goto out;
		for (size_t i = 0; i < v->n; i++) {
			size_t j = 0;

			while (mapped[j] != NULL && strcmp(mapped[j], v->kids[i].key) != 0)
				j++;
			if (mapped[j] == NULL && !str_starts(v->kids[i].key, "x-")) {
				err = cx_unsupported(x, &v->kids[i], NULL);
				goto out;
			}
		}
		ctx = json_get(v, "context");
	} else if (v->type != J_STRING) {
		err = cx_error(x, v, false, "'build' is %s; expected a context path or a mapping",
			       v->type == J_NULL ? "empty" : "not a string");
		goto out;
	}
	if (ctx != NULL && (err = cx_string(x, ctx, "build.context", &ctx_s)) != 0)
		goto out;
	if (ctx_s != NULL && (strstr(ctx_s, "://") != NULL || str_starts(ctx_s, "git@"))) {
		err = cx_error(x, ctx, false, "a remote build context ('%s') is not supported yet",
			       ctx_s);
		goto out;
	}
	rel = cx_rel_path(x, ctx_s != NULL ? ctx_s : ".");
	if (rel == NULL) {
		err = cx_error(x, ctx, false, "build context '%s' is outside the project folder; "
			       "expected a folder inside %s", ctx_s, x->root);
		goto out;
	}
	jb_put(b, "context", jb_str(rel, ctx != NULL ? ctx : v));
	df = json_get(v, "dockerfile");
	inl = json_get(v, "dockerfile_inline");
	if (df != NULL && inl != NULL) {
		err = cx_error(x, inl, true, "'dockerfile' and 'dockerfile_inline' both set; "
			       "expected one of them");
	} else if (df != NULL) {
		char *d;

		if ((err = cx_string(x, df, "build.dockerfile", &d)) == 0)
			jb_put(b, "dockerfile", jb_str(d, df));
		free(d);
	} else if (inl != NULL) {
		char *ctx_abs = strcmp(rel, ".") == 0 ? xstrdup(x->root)
						      : path_join(x->root, rel);
		char *df_rel = xasprintf(".devwatch/compose/%s.Dockerfile", x->svc);

		if (inl->type != J_STRING)
			err = cx_error(x, inl, false, "'dockerfile_inline' is not a string; "
				       "expected the Dockerfile's text");
		else
			err = write_inline(x, inl, ctx_abs, df_rel);
		if (err == 0) {
			jb_put(b, "dockerfile", jb_str(df_rel, inl));
			/* The file is devwatch's: never watched or synced. */
			if (strcmp(rel, ".") != 0) {
				char *g = xasprintf("%s/.devwatch/", rel);

				strlist_push(&x->ignore, g);
				free(g);
			}
		}
		free(df_rel);
		free(ctx_abs);
	}
	free(rel);
	if (err == 0 && (k = json_get(v, "args")) != NULL &&
	    (err = cx_dict(x, k, "build.args", &args)) == 0)
		jb_put(b, "args", args);
	if (err == 0 && (k = json_get(v, "target")) != NULL) {
		char *t;

		if ((err = cx_string(x, k, "build.target", &t)) == 0)
			jb_put(b, "target", jb_str(t, k));
		free(t);
	}
out:
	free(ctx_s);
	if (err != 0) {
		json_free(b);
		return err;
	}
	SET(s->build, b);
	return 0;
}

static int map_pull(struct cx *x, const struct jnode *v, struct svc *s)
{
	static const char *const from[] = {"always", "never", "missing",
					   "if_not_present", "build", NULL};
	static const char *const to[] = {"always", "never", "missing", "missing",
					 NULL};
	size_t i = 0;

	if (v->type != J_STRING)
		return cx_error(x, v, false, "'pull_policy' is not a string; expected "
				"always, never, missing, if_not_present or build");
	while (from[i] != NULL && strcmp(from[i], v->str) != 0)
		i++;
	if (from[i] == NULL)
		return cx_error(x, v, false, "pull_policy '%s' is not supported yet; expected "
				"always, never, missing, if_not_present or build", v->str);
	SET(s->pull, jb_str(to[i] != NULL ? to[i] : "build", v));
	return 0;
}

static int map_command(struct cx *x, const struct jnode *v, struct svc *s)
{
	struct jnode *a;
	int err = cx_command(x, v, "command", &a);

	if (err == 0 && a != NULL && a->n == 0) {
		json_free(a);
		return cx_error(x, v, false, "an empty 'command' is not supported yet");
	}
	if (err == 0)
		SET(s->cmd, a);
	return err;
}

static int map_entrypoint(struct cx *x, const struct jnode *v, struct svc *s)
{
	struct jnode *a;
	int err = cx_command(x, v, "entrypoint", &a);

	if (err == 0 && a != NULL && a->n == 0) {
		json_free(a);
		return cx_error(x, v, false, "an empty 'entrypoint' (clearing the image's) is "
				"not supported yet");
	}
	if (err == 0)
		SET(s->entrypoint, a);
	return err;
}

static int map_environment(struct cx *x, const struct jnode *v, struct svc *s)
{
	struct jnode *d;
	int err = cx_dict(x, v, "environment", &d);

	if (err == 0)
		SET(s->env, d);
	return err;
}

/* A key that means what a devwatch key of another name means. */
static int as_string(struct cx *x, const struct jnode *v, const char *dkey,
		     struct svc *s)
{
	char *t;
	int err = cx_string(x, v, v->key, &t);

	if (err == 0)
		jb_put(s->extra, dkey, jb_str(t, v));
	free(t);
	return err;
}

static int as_bool(struct cx *x, const struct jnode *v, const char *dkey,
		   struct svc *s)
{
	bool b;
	int err = cx_bool(x, v, v->key, &b);

	if (err == 0)
		jb_put(s->extra, dkey, jb_bool(b, v));
	return err;
}

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
		      struct svc *s)
{
	char *end = NULL;
	double c = v->type == J_NUMBER ? v->num
		   : v->type == J_STRING ? strtod(v->str, &end) : -1;

	if ((end != NULL && (end == v->str || *end != '\0')) || !(c > 0 && c <= 1024))
		return cx_error(x, v, false, "'%s' is '%s'; expected a number of CPUs above 0, "
				"e.g. 0.5", what, v->str != NULL ? v->str : "");
	return set_once(x, v, what, &s->cpus, jb_num(c, v));
}

/* Byte sizes as compose reads them: 1024-based k, m, g, t, p, optionally
   followed by i and b ("512m", "1GiB", "2.5g", "1024"). */
static int memory_value(struct cx *x, const struct jnode *v, const char *what,
			struct svc *s)
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
	return set_once(x, v, what, &s->memory, jb_num((double)(long long)(n * mult), v));
}

static int map_cpus(struct cx *x, const struct jnode *v, struct svc *s)
{
	return cpus_value(x, v, "cpus", s);
}

static int map_mem_limit(struct cx *x, const struct jnode *v, struct svc *s)
{
	return memory_value(x, v, "mem_limit", s);
}

static int map_scale(struct cx *x, const struct jnode *v, struct svc *s)
{
	long n;
	int err = cx_int(x, v, v->key, 0, 1000000, &n);

	if (err == 0 && n == 0)
		return cx_error(x, v, false, "'%s' 0 (a service that never starts) is not "
				"supported yet", v->key);
	return err != 0 ? err : set_once(x, v, v->key, &s->replicas, jb_num((double)n, v));
}

static int map_restart(struct cx *x, const struct jnode *v, struct svc *s)
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

static int deploy_restart(struct cx *x, const struct jnode *v, struct svc *s)
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

static int deploy_resources(struct cx *x, const struct jnode *v, struct svc *s)
{
	static const char *const keys[] = {"limits", "reservations", NULL};
	static const char *const lkeys[] = {"cpus", "memory", "pids", NULL};
	const struct jnode *l, *k;
	int err;

	if (v->type != J_OBJECT)
		return cx_error(x, v, false, "'resources' is not a mapping");
	if ((err = cx_keys(x, v, keys, "deploy.resources")) != 0)
		return err;
	if ((k = json_get(v, "reservations")) != NULL)
		return cx_unsupported(x, k, NULL);
	if ((l = json_get(v, "limits")) == NULL || l->type == J_NULL)
		return 0;
	if (l->type != J_OBJECT)
		return cx_error(x, l, false, "'limits' is not a mapping");
	if ((err = cx_keys(x, l, lkeys, "deploy.resources.limits")) != 0)
		return err;
	if ((k = json_get(l, "pids")) != NULL)
		return cx_unsupported(x, k, NULL);
	if ((k = json_get(l, "cpus")) != NULL && (err = cpus_value(x, k, "cpus", s)) != 0)
		return err;
	if ((k = json_get(l, "memory")) != NULL)
		return memory_value(x, k, "memory", s);
	return 0;
}

static int map_deploy(struct cx *x, const struct jnode *v, struct svc *s)
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
	if ((k = json_get(v, "replicas")) != NULL && (err = map_scale(x, k, s)) != 0)
		return err;
	if ((k = json_get(v, "resources")) != NULL && (err = deploy_resources(x, k, s)) != 0)
		return err;
	if ((k = json_get(v, "restart_policy")) != NULL)
		return deploy_restart(x, k, s);
	return 0;
}

static int map_develop(struct cx *x, const struct jnode *v, struct svc *s)
{
	s->develop = v;
	return 0;
}

static int map_accepted(struct cx *x, const struct jnode *v, struct svc *s)
{
	return 0;
}

static int map_ports(struct cx *x, const struct jnode *v, struct svc *s)
{
	return compose_ports(x, v, &s->ports);
}

static int map_volumes(struct cx *x, const struct jnode *v, struct svc *s)
{
	return compose_volumes(x, v, false, &s->mounts);
}

static int map_tmpfs(struct cx *x, const struct jnode *v, struct svc *s)
{
	return compose_volumes(x, v, true, &s->mounts);
}

/*
 * Every key of a compose service, in the specification's order: mapped by a
 * function (FN), renamed to a devwatch key of the same meaning (AS_STRING,
 * AS_BOOL), not supported yet (TODO: an error at the key, with the reason
 * when there is one), or a warning and nothing else (WARN). Mapping a key
 * the model learns is one line here.
 */
enum skind { S_TODO, S_WARN, S_FN, S_STRING, S_BOOL };

static const struct skey {
	const char *name;
	enum skind kind;
	int (*fn)(struct cx *x, const struct jnode *v, struct svc *s);
	const char *dkey;	/* S_STRING, S_BOOL */
	const char *why;	/* S_TODO, S_WARN */
} service_keys[] = {
#define TODO(n) {n, S_TODO, NULL, NULL, NULL}
#define TODO_WHY(n, why) {n, S_TODO, NULL, NULL, why}
#define WARN(n, why) {n, S_WARN, NULL, NULL, why}
#define FN(n, f) {n, S_FN, f, NULL, NULL}
#define AS_STRING(n, d) {n, S_STRING, NULL, d, NULL}
#define AS_BOOL(n, d) {n, S_BOOL, NULL, d, NULL}
	TODO("annotations"),
	TODO("attach"),
	TODO("blkio_config"),
	FN("build", map_build),
	TODO("cap_add"),
	TODO("cap_drop"),
	TODO("cgroup"),
	TODO("cgroup_parent"),
	FN("command", map_command),
	TODO("configs"),
	TODO_WHY("container_name", "devwatch names containers <project>-<service>-<replica>"),
	TODO("cpu_count"),
	TODO("cpu_percent"),
	TODO("cpu_period"),
	TODO("cpu_quota"),
	TODO("cpu_rt_period"),
	TODO("cpu_rt_runtime"),
	TODO("cpu_shares"),
	FN("cpus", map_cpus),
	TODO("cpuset"),
	TODO("credential_spec"),
	TODO("depends_on"),
	FN("deploy", map_deploy),
	FN("develop", map_develop),
	TODO("device_cgroup_rules"),
	TODO("devices"),
	TODO("dns"),
	TODO("dns_opt"),
	TODO("dns_search"),
	TODO("domainname"),
	FN("entrypoint", map_entrypoint),
	TODO("env_file"),
	FN("environment", map_environment),
	WARN("expose", "a port is reachable from the project's other containers without it; ignored"),
	TODO("extends"),
	TODO("external_links"),
	TODO("extra_hosts"),
	TODO("gpus"),
	TODO("group_add"),
	TODO("healthcheck"),
	TODO("hostname"),
	FN("image", map_image),
	TODO("init"),
	TODO("ipc"),
	TODO("isolation"),
	TODO("label_file"),
	TODO_WHY("labels", "devwatch sets only its own labels"),
	TODO("links"),
	TODO("logging"),
	TODO("mac_address"),
	FN("mem_limit", map_mem_limit),
	TODO("mem_reservation"),
	TODO("mem_swappiness"),
	TODO("memswap_limit"),
	TODO("models"),
	TODO("network_mode"),
	TODO("networks"),
	TODO("oom_kill_disable"),
	TODO("oom_score_adj"),
	TODO("pid"),
	TODO("pids_limit"),
	TODO("platform"),
	FN("ports", map_ports),
	TODO("post_start"),
	TODO("pre_start"),
	TODO("pre_stop"),
	TODO("privileged"),
	FN("profiles", map_accepted),
	TODO("provider"),
	FN("pull_policy", map_pull),
	TODO("pull_refresh_after"),
	TODO("read_only"),
	FN("restart", map_restart),
	TODO("runtime"),
	FN("scale", map_scale),
	TODO("secrets"),
	TODO("security_opt"),
	TODO("shm_size"),
	AS_BOOL("stdin_open", "stdin"),
	TODO("stop_grace_period"),
	TODO("stop_signal"),
	TODO("storage_opt"),
	TODO("sysctls"),
	FN("tmpfs", map_tmpfs),
	AS_BOOL("tty", "tty"),
	TODO("ulimits"),
	TODO("use_api_socket"),
	AS_STRING("user", "user"),
	TODO("userns_mode"),
	TODO("uts"),
	FN("volumes", map_volumes),
	TODO("volumes_from"),
	AS_STRING("working_dir", "workdir"),
	{NULL, S_TODO, NULL, NULL, NULL},
#undef TODO
#undef TODO_WHY
#undef WARN
#undef FN
#undef AS_STRING
#undef AS_BOOL
};

static const struct skey *find_key(const char *name)
{
	for (const struct skey *k = service_keys; k->name != NULL; k++)
		if (strcmp(k->name, name) == 0)
			return k;
	return NULL;
}

static int unknown(struct cx *x, const struct jnode *k)
{
	const char *names[ARRAY_SIZE(service_keys)];
	char where[160];
	size_t n = 0;

	for (const struct skey *t = service_keys; t->name != NULL; t++)
		names[n++] = t->name;
	names[n] = NULL;
	snprintf(where, sizeof(where), "service '%s'", x->svc);
	return cx_keys(x, k, names, where);
}

static void put(struct jnode *c, const char *key, struct jnode **slot)
{
	if (*slot != NULL)
		jb_put(c, key, *slot);
	*slot = NULL;
}

static void release(struct svc *s)
{
	struct jnode **all[] = {&s->image, &s->build, &s->pull, &s->cmd,
				&s->entrypoint, &s->env, &s->ports, &s->mounts,
				&s->cpus, &s->memory, &s->restart, &s->replicas,
				&s->extra};

	for (size_t i = 0; i < ARRAY_SIZE(all); i++)
		SET(*all[i], NULL);
}

int compose_service(struct cx *x, const struct jnode *n, struct jnode **out)
{
	struct svc s = {.extra = jb_new(J_OBJECT, n)};
	struct jnode *c = NULL, *steps = NULL;
	int err = 0;

	if (n->type != J_OBJECT) {
		release(&s);
		return cx_error(x, n, true, "service '%s' is %s; expected a mapping", n->key,
				n->type == J_NULL ? "empty" : "not a mapping");
	}
	if ((err = unknown(x, n)) != 0) {
		release(&s);
		return err;
	}
	for (size_t i = 0; i < n->n && err == 0; i++) {
		const struct jnode *v = &n->kids[i];
		const struct skey *k = find_key(v->key);

		if (k == NULL)
			continue; /* an x- extension */
		switch (k->kind) {
		case S_FN: err = k->fn(x, v, &s); break;
		case S_STRING: err = as_string(x, v, k->dkey, &s); break;
		case S_BOOL: err = as_bool(x, v, k->dkey, &s); break;
		case S_WARN:
			cx_warn(x, v, true, "'%s' in service '%s': %s", v->key, x->svc, k->why);
			break;
		default: err = cx_unsupported(x, v, k->why);
		}
	}
	if (err == 0 && s.image == NULL && s.build == NULL)
		err = cx_error(x, n, true, "service '%s' has neither an image nor a build "
			       "context specified", x->svc);
	if (err == 0 && s.image != NULL && s.build != NULL) {
		cx_warn(x, s.image_at, true, "'image' of service '%s' names its built image "
			"in compose; devwatch tags built images itself", x->svc);
		SET(s.image, NULL);
	}
	if (err == 0 && s.pull != NULL && s.build == NULL && strcmp(s.pull->str, "build") == 0)
		err = cx_error(x, s.pull, false, "pull_policy 'build' needs 'build'");
	else if (err == 0 && s.pull != NULL && s.build != NULL &&
		 strcmp(s.pull->str, "build") != 0 && strcmp(s.pull->str, "missing") != 0)
		err = cx_error(x, s.pull, false, "pull_policy '%s' with 'build' is not supported "
			       "yet; devwatch builds the image", s.pull->str);
	if (err == 0 && s.develop != NULL)
		err = compose_develop(x, s.develop, s.build != NULL, s.mounts, &steps);
	if (err == 0) {
		c = jb_new(J_OBJECT, n);
		put(c, "image", &s.image);
		if (s.build == NULL)
			put(c, "pull", &s.pull);
		put(c, "build", &s.build);
		put(c, "cmd", &s.cmd);
		put(c, "entrypoint", &s.entrypoint);
		put(c, "env", &s.env);
		put(c, "ports", &s.ports);
		put(c, "mounts", &s.mounts);
		if (s.cpus != NULL || s.memory != NULL) {
			struct jnode *r = jb_new(J_OBJECT, s.cpus != NULL ? s.cpus : s.memory);

			put(r, "cpus", &s.cpus);
			put(r, "memory", &s.memory);
			jb_put(c, "resources", r);
		}
		put(c, "restart", &s.restart);
		put(c, "replicas", &s.replicas);
		for (size_t i = 0; i < s.extra->n; i++) {
			struct jnode *kid = xmalloc(sizeof(*kid));

			*kid = s.extra->kids[i];
			jb_put(c, NULL, kid);
		}
		s.extra->n = 0;
		put(c, "live_update", &steps);
		c->line = n->key_line;
		c->column = n->key_column;
		*out = c;
	}
	release(&s);
	return err;
}
