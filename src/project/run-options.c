/*
 * The run options of a container that shape how it runs beside the others
 * (DESIGN.md section 10): resources as a limit or {request, limit}, gpus,
 * network, aliases, depends_on, job, function, datasets, stop_signal,
 * stop_grace, env_file and init. Each is checked where it stands; what needs the other
 * containers (depends_on names, cycles, "container:NAME") is checked once
 * all are read, in graph.c.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/util.h"
#include "project/keys.h"
#include "project/project-int.h"

#define perr pctx_error
#define ENV_FILE_MAX (1u << 20)
#define DEFAULT_STOP_GRACE_MS 3000

/* Memory limits: at least the engine's 4 MiB, and below 1e15 bytes, so the
   conversion to int64_t is defined whatever the file says. */
#define MEMORY_MIN (4.0 * 1024 * 1024)
#define MEMORY_MAX 1e15

static int parse_memory(struct pctx *x, const struct jnode *n, int64_t *out)
{
	double v;
	char *end;

	if (n->type == J_NUMBER && n->integral && n->num >= MEMORY_MIN &&
	    n->num < MEMORY_MAX) {
		*out = (int64_t)n->num;
		return 0;
	}
	if (n->type == J_STRING) {
		v = strtod(n->str, &end);
		switch (tolower((unsigned char)*end)) {
		case 'k': v *= 1024; end++; break;
		case 'm': v *= 1024 * 1024; end++; break;
		case 'g': v *= 1024.0 * 1024 * 1024; end++; break;
		case '\0': break;
		default: v = -1;
		}
		if (tolower((unsigned char)*end) == 'b')
			end++;
		if (end != n->str && *end == '\0' && v >= MEMORY_MIN && v < MEMORY_MAX) {
			*out = (int64_t)v;
			return 0;
		}
	}
	return perr(x, n, false, "memory: expected bytes or \"512m\", \"1g\" (at least 4m)");
}

static int parse_cpus(struct pctx *x, const struct jnode *n, double *out)
{
	if (n->type != J_NUMBER || !(n->num > 0 && n->num <= 1024))
		return perr(x, n, false, "cpus: expected a number above 0, e.g. 0.5");
	*out = n->num;
	return 0;
}

/* cpus or memory: a limit, or {"request": R, "limit": L}. */
static int parse_limit(struct pctx *x, const struct jnode *n, bool memory,
		       double *cpus, double *cpus_req, int64_t *mem,
		       int64_t *mem_req)
{
	const struct jnode *req, *lim;
	const char *what = memory ? "resources.memory" : "resources.cpus";
	int err;

	if (n->type != J_OBJECT)
		return memory ? parse_memory(x, n, mem) : parse_cpus(x, n, cpus);
	if ((err = pctx_keys(x, n, KEYS_LIMIT, what)) != 0)
		return err;
	req = json_get(n, "request");
	lim = json_get(n, "limit");
	if (req == NULL && lim == NULL)
		return perr(x, n, false, "%s: expected 'request', 'limit' or both", what);
	if (req != NULL && (err = memory ? parse_memory(x, req, mem_req)
					 : parse_cpus(x, req, cpus_req)) != 0)
		return err;
	if (lim != NULL && (err = memory ? parse_memory(x, lim, mem)
					 : parse_cpus(x, lim, cpus)) != 0)
		return err;
	if (req != NULL && lim != NULL &&
	    (memory ? *mem_req > *mem : *cpus_req > *cpus))
		return perr(x, req, false, "%s: the request is above the limit; expected at most the limit",
			    what);
	return 0;
}

static int parse_resources(struct pctx *x, const struct jnode *n,
			   struct project_container *c)
{
	const struct jnode *v;
	int err = pctx_type(x, n, J_OBJECT, "resources");

	if (err == 0)
		err = pctx_keys(x, n, KEYS_RESOURCES, "resources");
	if (err != 0)
		return err;
	if ((v = json_get(n, "cpus")) != NULL &&
	    (err = parse_limit(x, v, false, &c->cpus, &c->cpus_request, NULL, NULL)))
		return err;
	if ((v = json_get(n, "memory")) != NULL)
		return parse_limit(x, v, true, NULL, NULL, &c->memory, &c->memory_request);
	return 0;
}

static int parse_gpus(struct pctx *x, const struct jnode *n,
		      struct gpu_request *g)
{
	const struct jnode *v;
	int err;

	g->set = true;
	if (n->type == J_STRING && strcmp(n->str, "all") == 0) {
		g->count = -1;
		return 0;
	}
	if (n->type == J_NUMBER)
		return pctx_int(x, n, "gpus", 1, 1024, &g->count);
	if (n->type != J_OBJECT)
		return perr(x, n, false, "gpus: expected \"all\", a count, or {\"count\", \"device_ids\", \"capabilities\"}");
	if ((err = pctx_keys(x, n, KEYS_GPUS, "gpus")) != 0)
		return err;
	if ((v = json_get(n, "count")) != NULL) {
		if (v->type == J_STRING && strcmp(v->str, "all") == 0)
			g->count = -1;
		else if ((err = pctx_int(x, v, "gpus.count", 1, 1024, &g->count)) != 0)
			return err;
	}
	if ((v = json_get(n, "device_ids")) != NULL) {
		if ((err = pctx_strlist(x, v, "gpus.device_ids", &g->device_ids)) != 0)
			return err;
		if (json_get(n, "count") != NULL)
			return perr(x, v, true, "gpus: 'device_ids' and 'count' together; expected one of them");
	}
	if ((v = json_get(n, "capabilities")) != NULL &&
	    (err = pctx_strlist(x, v, "gpus.capabilities", &g->capabilities)) != 0)
		return err;
	if (json_get(n, "count") == NULL && g->device_ids.n == 0)
		g->count = -1;
	return 0;
}

static int parse_network(struct pctx *x, const struct jnode *n,
			 struct project_container *c)
{
	int err = pctx_type(x, n, J_STRING, "network");

	if (err != 0)
		return err;
	c->network_line = n->line;
	c->network_column = n->column;
	if (strcmp(n->str, "host") == 0) {
		c->network = NET_HOST;
	} else if (strcmp(n->str, "none") == 0) {
		c->network = NET_NONE;
	} else if (str_starts(n->str, "container:") && n->str[10] != '\0') {
		c->network = NET_CONTAINER;
		c->network_of = xstrdup(n->str + 10);
	} else {
		return perr(x, n, false, "network '%s': expected \"container:NAME\", \"host\" or \"none\"",
			    n->str);
	}
	return 0;
}

static bool alias_ok(const char *s)
{
	if (!isalnum((unsigned char)s[0]) || strlen(s) > 63)
		return false;
	for (const char *p = s; *p != '\0'; p++)
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) &&
		    *p != '-' && *p != '_' && *p != '.')
			return false;
	return true;
}

static int parse_aliases(struct pctx *x, const struct jnode *n,
			 struct project_container *c)
{
	int err = pctx_strlist(x, n, "aliases", &c->aliases);

	for (size_t i = 0; err == 0 && i < c->aliases.n; i++)
		if (!alias_ok(c->aliases.v[i]))
			return perr(x, &n->kids[i], false,
				    "alias '%s': expected lowercase letters, digits, '-', '_' or '.', starting with a letter or digit",
				    c->aliases.v[i]);
	return err;
}

static int parse_depends(struct pctx *x, const struct jnode *n,
			 struct project_container *c)
{
	int err = pctx_type(x, n, J_OBJECT, "depends_on");

	if (err != 0)
		return err;
	c->depends = xcalloc(n->n + 1, sizeof(*c->depends));
	for (size_t i = 0; i < n->n; i++) {
		const struct jnode *k = &n->kids[i];
		struct depend *d = &c->depends[c->n_depends++];

		d->name = xstrdup(k->key);
		d->line = k->key_line;
		d->column = k->key_column;
		if (k->type == J_STRING && strcmp(k->str, "started") == 0)
			d->cond = DEP_STARTED;
		else if (k->type == J_STRING && strcmp(k->str, "ready") == 0)
			d->cond = DEP_READY;
		else if (k->type == J_STRING && strcmp(k->str, "completed") == 0)
			d->cond = DEP_COMPLETED;
		else
			return perr(x, k, false, "depends_on '%s': expected \"started\", \"ready\" or \"completed\"",
				    k->key);
	}
	return 0;
}

static void ignore_add(struct project *p, char *glob)
{
	p->ignore.v = xrealloc(p->ignore.v, (p->ignore.n + 2) * sizeof(char *));
	p->ignore.v[p->ignore.n++] = glob;
	p->ignore.v[p->ignore.n] = NULL;
}

static int parse_dataset(struct pctx *x, const struct jnode *n,
			 struct dataset *d)
{
	const struct jnode *path, *sink;
	int err;

	if ((err = pctx_type(x, n, J_OBJECT, "dataset")) != 0 ||
	    (err = pctx_keys(x, n, KEYS_DATASET, "a dataset")) != 0)
		return err;
	path = json_get(n, "path");
	sink = json_get(n, "sink");
	if (path == NULL || sink == NULL)
		return perr(x, n, false, "dataset: missing key '%s'; expected {\"path\": \"/out\", \"sink\": \"reports\"}",
			    path == NULL ? "path" : "sink");
	if ((err = pctx_type(x, path, J_STRING, "path")) != 0)
		return err;
	d->path = project_clean_abs(path->str);
	if (d->path == NULL || strcmp(d->path, "/") == 0)
		return perr(x, path, false, "dataset path '%s': expected an absolute container path below '/'",
			    path->str);
	if ((err = pctx_type(x, sink, J_STRING, "sink")) != 0)
		return err;
	d->sink = project_clean_rel(sink->str);
	if (d->sink == NULL || strcmp(d->sink, ".") == 0 ||
	    strcmp(d->sink, ".git") == 0 || str_starts(d->sink, ".git/") ||
	    strcmp(d->sink, ".devwatch") == 0 || str_starts(d->sink, ".devwatch/"))
		return perr(x, sink, false, "dataset sink '%s': expected a folder inside the project (not the project itself, .git or .devwatch)",
			    sink->str);
	d->sink_abs = path_join(x->p->root, d->sink);
	/* The sink and its temporary folders are output, never input. */
	ignore_add(x->p, xasprintf("%s/", d->sink));
	ignore_add(x->p, xasprintf("%s.devwatch-*", d->sink));
	return 0;
}

static int parse_datasets(struct pctx *x, const struct jnode *n,
			  struct project_container *c)
{
	int err = pctx_type(x, n, J_ARRAY, "datasets");

	if (err != 0)
		return err;
	c->datasets = xcalloc(n->n + 1, sizeof(*c->datasets));
	for (size_t i = 0; i < n->n; i++) {
		err = parse_dataset(x, &n->kids[i], &c->datasets[i]);
		c->n_datasets++;
		if (err != 0)
			return err;
		for (size_t j = 0; j < i; j++)
			if (strcmp(c->datasets[j].sink, c->datasets[i].sink) == 0)
				return perr(x, &n->kids[i], false, "dataset sink '%s' is used twice; expected one sink per dataset",
					    c->datasets[i].sink);
	}
	return 0;
}

static int parse_stop_signal(struct pctx *x, const struct jnode *n,
			     struct project_container *c)
{
	const char *s;
	int err = pctx_string(x, n, "stop_signal", &c->stop_signal);

	if (err != 0)
		return err;
	s = c->stop_signal;
	if (isdigit((unsigned char)s[0])) {
		char *end;
		long v = strtol(s, &end, 10);

		if (*end == '\0' && v >= 1 && v <= 64)
			return 0;
	} else {
		const char *p = str_starts(s, "SIG") ? s + 3 : s;
		bool ok = *p != '\0' && strlen(p) < 16;

		for (; ok && *p != '\0'; p++)
			ok = isupper((unsigned char)*p) || isdigit((unsigned char)*p) ||
			     *p == '+' || *p == '-';
		if (ok)
			return 0;
	}
	return perr(x, n, false, "stop_signal '%s': expected a signal name such as \"SIGINT\" or a number 1 to 64",
		    s);
}

/* One KEY=VALUE line of an env file, as compose reads it: blank lines and
   '#' comments skipped, "export " allowed, matching outer quotes dropped. */
static int env_line(char *line, struct kvlist *out, bool *skip)
{
	char *eq, *key, *val;
	size_t vl;

	while (*line == ' ' || *line == '\t')
		line++;
	*skip = *line == '\0' || *line == '#';
	if (*skip)
		return 0;
	if (str_starts(line, "export "))
		line += 7;
	eq = strchr(line, '=');
	if (eq == NULL || eq == line)
		return -1;
	*eq = '\0';
	key = line;
	val = eq + 1;
	for (char *k = key; *k != '\0'; k++)
		if (!isalnum((unsigned char)*k) && *k != '_' && *k != '.' && *k != '-')
			return -1;
	vl = strlen(val);
	if (vl >= 2 && (val[0] == '"' || val[0] == '\'') && val[vl - 1] == val[0]) {
		val[vl - 1] = '\0';
		val++;
	}
	out->v = xrealloc(out->v, (out->n + 1) * sizeof(struct kv));
	out->v[out->n].key = xstrdup(key);
	out->v[out->n].value = xstrdup(val);
	out->n++;
	return 0;
}

static int read_env_file(struct pctx *x, const struct jnode *n,
			 const char *path, struct kvlist *out)
{
	FILE *f = fopen(path, "r");
	char line[8192];
	size_t total = 0;
	int lineno = 0;

	if (f == NULL)
		return perr(x, n, false, "env_file %s: %s; expected a file of KEY=VALUE lines",
			    path, strerror(errno));
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t len = strlen(line);
		bool skip;

		lineno++;
		total += len;
		if (total > ENV_FILE_MAX || (len == sizeof(line) - 1 && line[len - 1] != '\n')) {
			fclose(f);
			return perr(x, n, false, "env_file %s:%d: too long (lines up to 8 KiB, files up to 1 MiB)",
				    path, lineno);
		}
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (env_line(line, out, &skip) != 0) {
			fclose(f);
			return perr(x, n, false, "env_file %s:%d: expected KEY=VALUE", path, lineno);
		}
	}
	fclose(f);
	return 0;
}

static int parse_env_files(struct pctx *x, const struct jnode *n,
			   struct project_container *c)
{
	struct strlist rel = {0};
	int err;

	if (n->type == J_STRING) {
		rel.v = xcalloc(2, sizeof(char *));
		rel.v[rel.n++] = xstrdup(n->str);
		err = rel.v[0][0] == '\0' ? perr(x, n, false, "'env_file' is empty; expected a path") : 0;
	} else {
		err = pctx_strlist(x, n, "env_file", &rel);
	}
	c->env_files.v = xcalloc(rel.n + 1, sizeof(char *));
	for (size_t i = 0; err == 0 && i < rel.n; i++) {
		const struct jnode *at = n->type == J_ARRAY ? &n->kids[i] : n;
		char *abs = rel.v[i][0] == '/' ? xstrdup(rel.v[i]) : path_join(x->p->root, rel.v[i]);

		c->env_files.v[c->env_files.n++] = abs;
		err = read_env_file(x, at, abs, &c->file_env);
	}
	for (size_t i = 0; i < rel.n; i++)
		free(rel.v[i]);
	free(rel.v);
	return err;
}

/* The environment devwatch gives a function (api/lambda.c); a file that
   set one of these would aim the runtime elsewhere. */
static const char *const lambda_env[] = {"AWS_LAMBDA_RUNTIME_API", NULL};

static const struct kv *find_env(const struct kvlist *l, const char *key)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].key, key) == 0)
			return &l->v[i];
	return NULL;
}

/* "function": true (DESIGN.md section 11): a container that takes
   invocations through the Lambda Runtime API devwatch serves it. */
static int check_function(struct pctx *x, const struct jnode *n,
			  struct project_container *c)
{
	if (c->job)
		return perr(x, json_get(n, "job"), true,
			    "a function takes invocations until it is stopped; "
			    "expected no 'job' beside 'function'");
	/* One runtime per function: the Runtime API server tells runtimes
	   apart by nothing, so a restart of one replica would fail the
	   invocations another holds. */
	if (c->replicas > 1)
		return perr(x, json_get(n, "replicas"), false,
			    "a function runs one replica; expected no 'replicas' beside 'function'");
	if (c->network == NET_NONE)
		return perr(x, json_get(n, "network"), false,
			    "a function reaches devwatch's runtime API over the network; "
			    "expected a network other than \"none\"");
	for (size_t i = 0; lambda_env[i] != NULL; i++) {
		if (find_env(&c->env, lambda_env[i]) != NULL)
			return perr(x, json_get(n, "env"), true,
				    "'%s' is what devwatch gives a function; expected no "
				    "such key in 'env'", lambda_env[i]);
		if (find_env(&c->file_env, lambda_env[i]) != NULL)
			return perr(x, json_get(n, "env_file"), true,
				    "'%s' is what devwatch gives a function; expected no "
				    "such key in the 'env_file' files", lambda_env[i]);
	}
	return 0;
}

int project_parse_run_options(struct pctx *x, const struct jnode *n,
			      struct project_container *c)
{
	const struct jnode *v;
	int err;

	c->stop_grace_ms = DEFAULT_STOP_GRACE_MS;
	if ((v = json_get(n, "resources")) != NULL && (err = parse_resources(x, v, c)))
		return err;
	if ((v = json_get(n, "gpus")) != NULL && (err = parse_gpus(x, v, &c->gpus)))
		return err;
	if ((v = json_get(n, "network")) != NULL && (err = parse_network(x, v, c)))
		return err;
	if ((v = json_get(n, "aliases")) != NULL) {
		if ((err = parse_aliases(x, v, c)) != 0)
			return err;
		if (c->network != NET_PROJECT)
			return perr(x, v, true, "aliases need the project network; this container has 'network'");
	}
	if ((v = json_get(n, "depends_on")) != NULL && (err = parse_depends(x, v, c)))
		return err;
	if ((v = json_get(n, "job")) != NULL && (err = pctx_bool(x, v, "job", &c->job)))
		return err;
	if (c->job && (c->readiness.set || c->liveness.set))
		return perr(x, json_get(n, c->readiness.set ? "readiness" : "liveness"), true,
			    "a job is done when it exits 0; expected no '%s'",
			    c->readiness.set ? "readiness" : "liveness");
	if (c->job && c->restart != RESTART_NEVER)
		return perr(x, json_get(n, "restart"), true,
			    "a job runs once; expected no 'restart' (or \"never\")");
	if ((v = json_get(n, "datasets")) != NULL && (err = parse_datasets(x, v, c)))
		return err;
	if ((v = json_get(n, "stop_signal")) != NULL && (err = parse_stop_signal(x, v, c)))
		return err;
	if ((v = json_get(n, "stop_grace")) != NULL &&
	    (err = pctx_duration(x, v, "stop_grace", &c->stop_grace_ms)))
		return err;
	if ((v = json_get(n, "env_file")) != NULL && (err = parse_env_files(x, v, c)))
		return err;
	if ((v = json_get(n, "init")) != NULL && (err = pctx_bool(x, v, "init", &c->init)))
		return err;
	if ((v = json_get(n, "function")) != NULL &&
	    (err = pctx_bool(x, v, "function", &c->function)))
		return err;
	if (c->function && (err = check_function(x, n, c)) != 0)
		return err;
	if (c->network == NET_CONTAINER && c->n_ports > 0)
		return perr(x, json_get(n, "ports"), true,
			    "a sidecar shares '%s''s ports; expected 'ports' on '%s' instead",
			    c->network_of, c->network_of);
	return 0;
}

void project_hash_run_options(struct buf *b, const struct project_container *c)
{
	buf_addf(b, "req=%g/%lld;", c->cpus_request, (long long)c->memory_request);
	if (c->gpus.set) {
		buf_addf(b, "gpus=%d;", c->gpus.count);
		for (size_t i = 0; i < c->gpus.device_ids.n; i++)
			buf_addf(b, "id=%s;", c->gpus.device_ids.v[i]);
		for (size_t i = 0; i < c->gpus.capabilities.n; i++)
			buf_addf(b, "cap=%s;", c->gpus.capabilities.v[i]);
	}
	buf_addf(b, "net=%d:%s;", c->network, c->network_of != NULL ? c->network_of : "");
	for (size_t i = 0; i < c->aliases.n; i++)
		buf_addf(b, "alias=%s;", c->aliases.v[i]);
	buf_addf(b, "job=%d;fn=%d;init=%d;stop=%s/%d;", c->job, c->function, c->init,
		 c->stop_signal != NULL ? c->stop_signal : "", c->stop_grace_ms);
	for (size_t i = 0; i < c->file_env.n; i++)
		buf_addf(b, "fenv=%zu:%s=%zu:%s;", strlen(c->file_env.v[i].key),
			 c->file_env.v[i].key, strlen(c->file_env.v[i].value),
			 c->file_env.v[i].value);
}

static void free_list(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

void project_free_run_options(struct project_container *c)
{
	free_list(&c->gpus.device_ids);
	free_list(&c->gpus.capabilities);
	free(c->network_of);
	free_list(&c->aliases);
	for (size_t i = 0; i < c->n_depends; i++)
		free(c->depends[i].name);
	free(c->depends);
	for (size_t i = 0; i < c->n_datasets; i++) {
		free(c->datasets[i].path);
		free(c->datasets[i].sink);
		free(c->datasets[i].sink_abs);
	}
	free(c->datasets);
	free(c->stop_signal);
	free_list(&c->env_files);
	for (size_t i = 0; i < c->file_env.n; i++) {
		free(c->file_env.v[i].key);
		free(c->file_env.v[i].value);
	}
	free(c->file_env.v);
}
