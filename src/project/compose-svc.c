/*
 * One compose service into one devwatch container. The key table lists
 * every key of the Compose Specification's service: each either maps onto
 * a devwatch key (its function, here or in compose-run.c and
 * compose-deps.c, fills the staging struct), is not supported
 * yet (an error at the key, with the reason when there is one), or is
 * ignored with a warning where compose itself would change nothing. The
 * staged keys are emitted in one order at the end, so that two compose keys
 * meaning one devwatch key (cpus and deploy's limit) can be checked.
 */
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

static int map_image(struct cx *x, const struct jnode *v, struct compose_svc *s)
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

static int map_build(struct cx *x, const struct jnode *v, struct compose_svc *s)
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

static int map_pull(struct cx *x, const struct jnode *v, struct compose_svc *s)
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

static int map_command(struct cx *x, const struct jnode *v, struct compose_svc *s)
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

static int map_entrypoint(struct cx *x, const struct jnode *v, struct compose_svc *s)
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

static int map_environment(struct cx *x, const struct jnode *v, struct compose_svc *s)
{
	struct jnode *d;
	int err = cx_dict(x, v, "environment", &d);

	if (err == 0)
		SET(s->env, d);
	return err;
}

/* A key that means what a devwatch key of another name means. */
static int as_string(struct cx *x, const struct jnode *v, const char *dkey,
		     struct compose_svc *s)
{
	char *t;
	int err = cx_string(x, v, v->key, &t);

	if (err == 0)
		jb_put(s->extra, dkey, jb_str(t, v));
	free(t);
	return err;
}

static int as_bool(struct cx *x, const struct jnode *v, const char *dkey,
		   struct compose_svc *s)
{
	bool b;
	int err = cx_bool(x, v, v->key, &b);

	if (err == 0)
		jb_put(s->extra, dkey, jb_bool(b, v));
	return err;
}

static int map_develop(struct cx *x, const struct jnode *v, struct compose_svc *s)
{
	s->develop = v;
	return 0;
}

static int map_accepted(struct cx *x, const struct jnode *v, struct compose_svc *s)
{
	return 0;
}

static int map_ports(struct cx *x, const struct jnode *v, struct compose_svc *s)
{
	return compose_ports(x, v, &s->ports);
}

static int map_volumes(struct cx *x, const struct jnode *v, struct compose_svc *s)
{
	return compose_volumes(x, v, false, &s->mounts);
}

static int map_tmpfs(struct cx *x, const struct jnode *v, struct compose_svc *s)
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
	int (*fn)(struct cx *x, const struct jnode *v, struct compose_svc *s);
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
	FN("cpus", compose_cpus),
	TODO("cpuset"),
	TODO("credential_spec"),
	FN("depends_on", compose_depends_on),
	FN("deploy", compose_deploy),
	FN("develop", map_develop),
	TODO("device_cgroup_rules"),
	TODO("devices"),
	TODO("dns"),
	TODO("dns_opt"),
	TODO("dns_search"),
	TODO("domainname"),
	FN("entrypoint", map_entrypoint),
	FN("env_file", compose_env_file),
	FN("environment", map_environment),
	WARN("expose", "a port is reachable from the project's other containers without it; ignored"),
	TODO("extends"),
	TODO("external_links"),
	TODO("extra_hosts"),
	FN("gpus", compose_gpus),
	TODO("group_add"),
	FN("healthcheck", compose_healthcheck),
	TODO("hostname"),
	FN("image", map_image),
	AS_BOOL("init", "init"),
	TODO("ipc"),
	TODO("isolation"),
	TODO("label_file"),
	TODO_WHY("labels", "devwatch sets only its own labels"),
	TODO("links"),
	TODO("logging"),
	TODO("mac_address"),
	FN("mem_limit", compose_mem_limit),
	TODO("mem_reservation"),
	TODO("mem_swappiness"),
	TODO("memswap_limit"),
	TODO("models"),
	FN("network_mode", compose_network_mode),
	FN("networks", compose_networks),
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
	FN("restart", compose_restart),
	TODO("runtime"),
	FN("scale", compose_scale),
	TODO("secrets"),
	TODO("security_opt"),
	TODO("shm_size"),
	AS_BOOL("stdin_open", "stdin"),
	FN("stop_grace_period", compose_stop_grace),
	AS_STRING("stop_signal", "stop_signal"),
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

/* A limit alone, or {request, limit} when there is a reservation. */
static void resource(struct jnode *r, const char *key, struct jnode **limit,
		     struct jnode **request)
{
	struct jnode *o;

	if (*request == NULL) {
		put(r, key, limit);
		return;
	}
	o = jb_new(J_OBJECT, *request);
	put(o, "request", request);
	put(o, "limit", limit);
	jb_put(r, key, o);
}

static void resources(struct jnode *c, struct compose_svc *s)
{
	struct jnode *at = s->cpus != NULL ? s->cpus : s->memory != NULL ? s->memory
			   : s->cpus_req != NULL ? s->cpus_req : s->mem_req;
	struct jnode *r;

	if (at == NULL)
		return;
	r = jb_new(J_OBJECT, at);
	resource(r, "cpus", &s->cpus, &s->cpus_req);
	resource(r, "memory", &s->memory, &s->mem_req);
	jb_put(c, "resources", r);
}

static void release(struct compose_svc *s)
{
	struct jnode **all[] = {&s->image, &s->build, &s->pull, &s->cmd,
				&s->entrypoint, &s->env, &s->ports, &s->mounts,
				&s->cpus, &s->memory, &s->restart, &s->replicas,
				&s->cpus_req, &s->mem_req, &s->gpus, &s->depends,
				&s->readiness, &s->network, &s->aliases,
				&s->env_file, &s->extra};

	for (size_t i = 0; i < ARRAY_SIZE(all); i++)
		SET(*all[i], NULL);
}

int compose_service(struct cx *x, const struct jnode *n, struct jnode **out)
{
	struct compose_svc s = {.extra = jb_new(J_OBJECT, n)};
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
	if (err == 0 && s.networks_at != NULL && s.mode_at != NULL)
		err = cx_error(x, s.mode_at, true, "service '%s' declares mutually exclusive "
			       "'network_mode' and 'networks'; expected one of them", x->svc);
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
		resources(c, &s);
		put(c, "gpus", &s.gpus);
		put(c, "restart", &s.restart);
		put(c, "replicas", &s.replicas);
		put(c, "readiness", &s.readiness);
		put(c, "network", &s.network);
		put(c, "aliases", &s.aliases);
		put(c, "depends_on", &s.depends);
		put(c, "env_file", &s.env_file);
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
