/*
 * One entry of "containers": image or build, run options, probes and the
 * live_update steps, each checked where it stands in the file. Ends with the
 * container's config hash, over everything that shapes the container as the
 * engine creates it (not live_update, which changes nothing at creation).
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <xxhash.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/util.h"
#include "project/keys.h"
#include "project/project-int.h"

#define perr pctx_error
#define MAX_REPLICAS 64

char *project_clean_rel(const char *s)
{
	char *out = xmalloc(strlen(s) + 2), *o = out;
	const char *p = s;

	if (s[0] == '/') {
		free(out);
		return NULL;
	}
	while (*p != '\0') {
		const char *e = strchr(p, '/');
		size_t n = e != NULL ? (size_t)(e - p) : strlen(p);

		if (n == 0 || (n == 1 && p[0] == '.')) {
			/* skip */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			char *last;

			if (o == out) {
				free(out);
				return NULL;
			}
			*o = '\0';
			last = strrchr(out, '/');
			o = last != NULL ? last : out;
		} else {
			if (o != out)
				*o++ = '/';
			memcpy(o, p, n);
			o += n;
		}
		p += n;
		if (*p == '/')
			p++;
	}
	if (o == out)
		*o++ = '.';
	*o = '\0';
	return out;
}

char *project_clean_abs(const char *s)
{
	char *rel, *abs;

	if (s[0] != '/')
		return NULL;
	while (*s == '/')
		s++;
	rel = project_clean_rel(s);
	if (rel == NULL)
		return NULL;
	abs = strcmp(rel, ".") == 0 ? xstrdup("/") : xasprintf("/%s", rel);
	free(rel);
	return abs;
}

static int parse_build(struct pctx *x, const struct jnode *n,
		       struct project_container *c)
{
	struct build_spec *b = xcalloc(1, sizeof(*b));
	const struct jnode *v;
	struct stat st;
	int err;

	c->build = b;
	if (n->type == J_STRING) {
		/* "build": "web" is short for {"context": "web"}. */
		v = n;
	} else {
		err = pctx_type(x, n, J_OBJECT, "build");
		if (err == 0)
			err = pctx_keys(x, n, KEYS_BUILD, "build");
		if (err != 0)
			return err;
		v = json_get(n, "context");
	}
	if (v != NULL) {
		err = pctx_type(x, v, J_STRING, "build.context");
		if (err != 0)
			return err;
		b->context = project_clean_rel(v->str);
		if (b->context == NULL)
			return perr(x, v, false,
				    "build context '%s': expected a folder "
				    "inside the project",
				    v->str);
	} else {
		b->context = xstrdup(".");
		v = n;
	}
	b->context_abs = path_join(x->p->root, b->context);
	if (strcmp(b->context, ".") == 0) {
		free(b->context_abs);
		b->context_abs = xstrdup(x->p->root);
	}
	if (stat(b->context_abs, &st) != 0 || !S_ISDIR(st.st_mode))
		return perr(x, v, false,
			    "build context '%s' does not exist; expected a "
			    "folder at %s",
			    b->context, b->context_abs);
	if (n->type == J_OBJECT && (v = json_get(n, "dockerfile")) != NULL) {
		err = pctx_type(x, v, J_STRING, "build.dockerfile");
		if (err != 0)
			return err;
		b->dockerfile = project_clean_rel(v->str);
		if (b->dockerfile == NULL || strcmp(b->dockerfile, ".") == 0)
			return perr(x, v, false,
				    "dockerfile '%s': expected a file inside "
				    "the build context",
				    v->str);
	} else {
		b->dockerfile = xstrdup("Dockerfile");
		v = n;
	}
	b->dockerfile_abs = path_join(b->context_abs, b->dockerfile);
	if (stat(b->dockerfile_abs, &st) != 0 || !S_ISREG(st.st_mode))
		return perr(x, v, false,
			    "Dockerfile %s does not exist; expected a file "
			    "(build.dockerfile is relative to build.context)",
			    b->dockerfile_abs);
	if (n->type == J_OBJECT && (v = json_get(n, "args")) != NULL) {
		err = pctx_kvlist(x, v, "build.args", &b->args);
		if (err != 0)
			return err;
	}
	if (n->type == J_OBJECT && (v = json_get(n, "target")) != NULL) {
		err = pctx_string(x, v, "build.target", &b->target);
		if (err != 0)
			return err;
	}
	return 0;
}

static int parse_port_number(const char *s, int lo, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (end == s || *end != '\0' || v < lo || v > 65535)
		return -1;
	*out = (int)v;
	return 0;
}

static int parse_port(struct pctx *x, const struct jnode *n,
		      struct port_map *pm)
{
	const struct jnode *v;
	int err;

	pm->host_ip = xstrdup("");
	if (n->type == J_NUMBER) {
		err = pctx_int(x, n, "ports", 1, 65535, &pm->container);
		pm->host = pm->container;
		pm->protocol = xstrdup("tcp");
		return err;
	}
	if (n->type == J_STRING) {
		/* [ip:]host:container[/proto] or container[/proto] */
		char *s = xstrdup(n->str), *proto = strchr(s, '/'), *c;
		char *parts[3];
		int np = 0, rc = 0;

		pm->protocol = xstrdup(proto != NULL ? proto + 1 : "tcp");
		if (proto != NULL)
			*proto = '\0';
		for (c = strtok(s, ":"); c != NULL && np < 3; c = strtok(NULL, ":"))
			parts[np++] = c;
		if (c != NULL || np == 0)
			rc = -1;
		else if (np == 1)
			rc = parse_port_number(parts[0], 1, &pm->container),
			pm->host = pm->container;
		else
			rc = parse_port_number(parts[np - 2], 0, &pm->host) ||
			     parse_port_number(parts[np - 1], 1, &pm->container);
		if (rc == 0 && np == 3) {
			free(pm->host_ip);
			pm->host_ip = xstrdup(parts[0]);
		}
		free(s);
		if (rc != 0)
			return perr(x, n, false,
				    "port '%s': expected \"HOST:CONTAINER\", "
				    "\"CONTAINER\" or \"IP:HOST:CONTAINER\" "
				    "with ports 0 to 65535",
				    n->str);
	} else if (n->type == J_OBJECT) {
		err = pctx_keys(x, n, KEYS_PORT, "a port");
		if (err != 0)
			return err;
		v = json_get(n, "container");
		if (v == NULL)
			return perr(x, n, false,
				    "port: missing key 'container'; expected "
				    "the container's port");
		err = pctx_int(x, v, "container", 1, 65535, &pm->container);
		if (err != 0)
			return err;
		pm->host = pm->container;
		if ((v = json_get(n, "host")) != NULL &&
		    (err = pctx_int(x, v, "host", 0, 65535, &pm->host)) != 0)
			return err;
		if ((v = json_get(n, "host_ip")) != NULL) {
			free(pm->host_ip);
			pm->host_ip = NULL;
			if ((err = pctx_string(x, v, "host_ip", &pm->host_ip)))
				return err;
		}
		v = json_get(n, "protocol");
		if (v != NULL) {
			if ((err = pctx_string(x, v, "protocol", &pm->protocol)))
				return err;
		} else {
			pm->protocol = xstrdup("tcp");
		}
	} else {
		return perr(x, n, false,
			    "port is %s; expected \"8080:80\", \"80\" or "
			    "{\"host\": 0, \"container\": 80}",
			    json_type_name(n->type));
	}
	if (strcmp(pm->protocol, "tcp") != 0 && strcmp(pm->protocol, "udp") != 0 &&
	    strcmp(pm->protocol, "http") != 0)
		return perr(x, n, false, "port protocol '%s': expected tcp, udp or http",
			    pm->protocol);
	return 0;
}

static int parse_mount(struct pctx *x, const struct jnode *n, struct mount *m)
{
	const struct jnode *v;
	char *src = NULL, *dst = NULL;
	int err = 0;

	m->type = xstrdup("bind");
	if (n->type == J_STRING) {
		char *s = xstrdup(n->str), *c1 = strchr(s, ':'), *c2;

		if (c1 == NULL) {
			free(s);
			return perr(x, n, false, "mount '%s': expected \"SOURCE:TARGET[:ro]\"",
				    n->str);
		}
		*c1++ = '\0';
		c2 = strchr(c1, ':');
		if (c2 != NULL) {
			*c2++ = '\0';
			if (strcmp(c2, "ro") != 0 && strcmp(c2, "rw") != 0) {
				free(s);
				return perr(x, n, false, "mount '%s': expected ':ro' or ':rw' at the end",
					    n->str);
			}
			m->read_only = strcmp(c2, "ro") == 0;
		}
		src = xstrdup(s);
		dst = xstrdup(c1);
		free(s);
	} else if (n->type == J_OBJECT) {
		if ((err = pctx_keys(x, n, KEYS_MOUNT, "a mount")) != 0)
			return err;
		if ((v = json_get(n, "type")) != NULL) {
			free(m->type);
			m->type = NULL;
			if ((err = pctx_string(x, v, "type", &m->type)) != 0)
				return err;
			if (strcmp(m->type, "bind") && strcmp(m->type, "volume") &&
			    strcmp(m->type, "tmpfs"))
				return perr(x, v, false, "mount type '%s': expected bind, volume or tmpfs",
					    m->type);
		}
		if ((v = json_get(n, "source")) != NULL &&
		    (err = pctx_string(x, v, "source", &src)) != 0)
			return err;
		v = json_get(n, "target");
		if (v == NULL) {
			free(src);
			return perr(x, n, false, "mount: missing key 'target'; expected an absolute path");
		}
		if ((err = pctx_string(x, v, "target", &dst)) != 0) {
			free(src);
			return err;
		}
		if ((v = json_get(n, "readonly")) != NULL &&
		    (err = pctx_bool(x, v, "readonly", &m->read_only)) != 0) {
			free(src);
			free(dst);
			return err;
		}
	} else {
		return perr(x, n, false, "mount is %s; expected \"SOURCE:TARGET\" or an object",
			    json_type_name(n->type));
	}
	m->target = project_clean_abs(dst);
	if (m->target == NULL)
		err = perr(x, n, false, "mount target '%s': expected an absolute path", dst);
	else if (strcmp(m->type, "tmpfs") != 0 && src == NULL)
		err = perr(x, n, false, "mount: missing key 'source'");
	else if (strcmp(m->type, "bind") == 0) {
		struct stat st;

		m->source = src[0] == '/' ? xstrdup(src) : path_join(x->p->root, src);
		if (stat(m->source, &st) != 0)
			err = perr(x, n, false, "mount source %s does not exist; expected a file or folder",
				   m->source);
	} else if (src != NULL) {
		m->source = xstrdup(src);
	}
	free(src);
	free(dst);
	return err;
}

static int restart_policy(struct pctx *x, const struct jnode *n,
			  enum restart_policy *out)
{
	int err = pctx_type(x, n, J_STRING, "restart");

	if (err != 0)
		return err;
	if (strcmp(n->str, "never") == 0 || strcmp(n->str, "no") == 0)
		*out = RESTART_NEVER;
	else if (strcmp(n->str, "always") == 0)
		*out = RESTART_ALWAYS;
	else if (strcmp(n->str, "on-failure") == 0)
		*out = RESTART_ON_FAILURE;
	else
		return perr(x, n, false, "restart '%s': expected never, always or on-failure",
			    n->str);
	return 0;
}

static int parse_restart(struct pctx *x, const struct jnode *n,
			 struct project_container *c)
{
	const struct jnode *v;
	int err;

	if (n->type == J_STRING)
		return restart_policy(x, n, &c->restart);
	if ((err = pctx_type(x, n, J_OBJECT, "restart")) != 0 ||
	    (err = pctx_keys(x, n, KEYS_RESTART, "restart")) != 0)
		return err;
	if ((v = json_get(n, "policy")) != NULL &&
	    (err = restart_policy(x, v, &c->restart)) != 0)
		return err;
	if ((v = json_get(n, "max_restarts")) != NULL) {
		if ((err = pctx_int(x, v, "max_restarts", 0, 1000000, &c->max_restarts)))
			return err;
		if (c->restart != RESTART_ON_FAILURE)
			return perr(x, v, true, "max_restarts needs policy 'on-failure'");
	}
	return 0;
}

static int parse_probe(struct pctx *x, const struct jnode *n, const char *what,
		       struct project_container *c, struct probe *pr,
		       bool readiness)
{
	const struct jnode *v, *http, *cmd;
	int err;

	if ((err = pctx_type(x, n, J_OBJECT, what)) != 0 ||
	    (err = pctx_keys(x, n, KEYS_PROBE, what)) != 0)
		return err;
	pr->set = true;
	pr->interval_ms = readiness ? 100 : 5000;
	pr->timeout_ms = 1000;
	pr->start_timeout_ms = 60000;
	pr->retries = 3;
	http = json_get(n, "http");
	cmd = json_get(n, "cmd");
	if ((http == NULL) == (cmd == NULL))
		return perr(x, n, false, "%s: expected exactly one of 'http' or 'cmd'", what);
	if (http != NULL) {
		if ((err = pctx_string(x, http, "http", &pr->http_path)) != 0)
			return err;
		if (pr->http_path[0] != '/')
			return perr(x, http, false, "http '%s': expected a path starting with '/'",
				    pr->http_path);
		if ((v = json_get(n, "port")) != NULL) {
			if ((err = pctx_int(x, v, "port", 1, 65535, &pr->port)))
				return err;
		} else if (c->n_ports > 0) {
			pr->port = c->ports[0].container;
		} else {
			return perr(x, http, true, "%s: no 'port' and the container has no 'ports'; expected a port",
				    what);
		}
	} else if ((err = pctx_argv(x, cmd, "cmd", &pr->cmd)) != 0) {
		return err;
	}
	if ((v = json_get(n, "interval")) != NULL &&
	    (err = pctx_duration(x, v, "interval", &pr->interval_ms)))
		return err;
	if ((v = json_get(n, "timeout")) != NULL &&
	    (err = pctx_duration(x, v, "timeout", &pr->timeout_ms)))
		return err;
	if ((v = json_get(n, "start_timeout")) != NULL &&
	    (err = pctx_duration(x, v, "start_timeout", &pr->start_timeout_ms)))
		return err;
	if ((v = json_get(n, "retries")) != NULL &&
	    (err = pctx_int(x, v, "retries", 1, 1000, &pr->retries)))
		return err;
	return 0;
}

static const char *step_names[] = {"fall_back_on", "sync", "run",
				   "restart_container"};

static int parse_step(struct pctx *x, const struct jnode *n,
		      struct live_step *s)
{
	const struct jnode *k, *v;
	int err;

	if ((err = pctx_type(x, n, J_OBJECT, "live_update step")) != 0 ||
	    (err = pctx_keys(x, n, KEYS_STEP, "a live_update step")) != 0)
		return err;
	if (n->n != 1)
		return perr(x, n, false, "live_update step: expected exactly one of fall_back_on, sync, run, restart_container");
	k = &n->kids[0];
	s->line = n->line;
	s->column = n->column;
	if (strcmp(k->key, "fall_back_on") == 0) {
		s->kind = STEP_FALL_BACK_ON;
		return pctx_strlist(x, k, "fall_back_on", &s->globs);
	}
	if (strcmp(k->key, "restart_container") == 0) {
		s->kind = STEP_RESTART;
		return pctx_bool(x, k, "restart_container", &s->restart);
	}
	if (strcmp(k->key, "sync") == 0) {
		s->kind = STEP_SYNC;
		if ((err = pctx_type(x, k, J_OBJECT, "sync")) != 0 ||
		    (err = pctx_keys(x, k, KEYS_SYNC, "sync")) != 0)
			return err;
		if ((v = json_get(k, "from")) == NULL)
			return perr(x, k, false, "sync: missing key 'from'; expected a path relative to the project");
		if ((err = pctx_type(x, v, J_STRING, "from")) != 0)
			return err;
		s->from = project_clean_rel(v->str);
		if (s->from == NULL)
			return perr(x, v, false, "sync from '%s': expected a path inside the project",
				    v->str);
		if ((v = json_get(k, "to")) == NULL)
			return perr(x, k, false, "sync: missing key 'to'; expected an absolute container path");
		if ((err = pctx_type(x, v, J_STRING, "to")) != 0)
			return err;
		s->to = project_clean_abs(v->str);
		if (s->to == NULL)
			return perr(x, v, false, "sync to '%s': expected an absolute container path",
				    v->str);
		return 0;
	}
	s->kind = STEP_RUN;
	if ((err = pctx_type(x, k, J_OBJECT, "run")) != 0 ||
	    (err = pctx_keys(x, k, KEYS_RUN, "run")) != 0)
		return err;
	if ((v = json_get(k, "cmd")) == NULL)
		return perr(x, k, false, "run: missing key 'cmd'; expected a command");
	if (v->type == J_STRING) {
		if ((err = pctx_string(x, v, "cmd", &s->cmd)) != 0)
			return err;
	} else if ((err = pctx_argv(x, v, "cmd", &s->argv)) != 0) {
		return err;
	}
	if ((v = json_get(k, "trigger")) != NULL)
		return pctx_strlist(x, v, "trigger", &s->triggers);
	return 0;
}

static int parse_steps(struct pctx *x, const struct jnode *n,
		       struct project_container *c)
{
	int err = pctx_type(x, n, J_ARRAY, "live_update");
	enum live_step_kind last = STEP_FALL_BACK_ON;

	if (err != 0)
		return err;
	c->steps = xcalloc(n->n + 1, sizeof(*c->steps));
	for (size_t i = 0; i < n->n; i++) {
		struct live_step *s = &c->steps[i];

		err = parse_step(x, &n->kids[i], s);
		c->n_steps++;
		if (err != 0)
			return err;
		if (s->kind < last)
			return perr(x, &n->kids[i], false,
				    "live_update: '%s' after '%s'; expected the order fall_back_on, sync, run, restart_container",
				    step_names[s->kind], step_names[last]);
		if (s->kind == STEP_RESTART && last == STEP_RESTART)
			return perr(x, &n->kids[i], false,
				    "live_update: a second restart_container; expected one at most");
		last = s->kind;
	}
	return 0;
}

static void hash_str(struct buf *b, const char *tag, const char *s)
{
	buf_addf(b, "%s=%zu:%s;", tag, s != NULL ? strlen(s) : 0,
		 s != NULL ? s : "");
}

static void hash_argv(struct buf *b, const char *tag, char **v)
{
	buf_addf(b, "%s[", tag);
	for (size_t i = 0; v != NULL && v[i] != NULL; i++)
		hash_str(b, "", v[i]);
	buf_adds(b, "]");
}

static void config_hash(const struct project *p, struct project_container *c)
{
	struct buf b;
	XXH128_hash_t h;

	buf_init(&b, 1u << 24);
	hash_str(&b, "project", p->name);
	hash_str(&b, "image", c->image);
	if (c->build != NULL) {
		hash_str(&b, "context", c->build->context);
		hash_str(&b, "dockerfile", c->build->dockerfile);
		hash_str(&b, "target", c->build->target);
		for (size_t i = 0; i < c->build->args.n; i++) {
			hash_str(&b, "arg", c->build->args.v[i].key);
			hash_str(&b, "", c->build->args.v[i].value);
		}
	}
	hash_argv(&b, "cmd", c->cmd);
	hash_argv(&b, "entrypoint", c->entrypoint);
	for (size_t i = 0; i < c->env.n; i++) {
		hash_str(&b, "env", c->env.v[i].key);
		hash_str(&b, "", c->env.v[i].value);
	}
	hash_str(&b, "workdir", c->workdir);
	hash_str(&b, "user", c->user);
	for (size_t i = 0; i < c->n_ports; i++)
		buf_addf(&b, "port=%d:%d/%s@%s;", c->ports[i].host,
			 c->ports[i].container, c->ports[i].protocol,
			 c->ports[i].host_ip);
	for (size_t i = 0; i < c->n_mounts; i++) {
		hash_str(&b, "mount", c->mounts[i].type);
		hash_str(&b, "", c->mounts[i].source);
		hash_str(&b, "", c->mounts[i].target);
		buf_addf(&b, "%d;", c->mounts[i].read_only);
	}
	buf_addf(&b, "cpus=%g;mem=%lld;restart=%d/%d;tty=%d;stdin=%d;",
		 c->cpus, (long long)c->memory, c->restart, c->max_restarts,
		 c->tty, c->stdin_open);
	project_hash_run_options(&b, c);
	h = XXH3_128bits(b.data, b.len);
	snprintf(c->config_hash, sizeof(c->config_hash), "%016llx%016llx",
		 (unsigned long long)h.high64, (unsigned long long)h.low64);
	buf_release(&b);
}

int project_parse_container(struct pctx *x, const struct jnode *n,
			    struct project_container *c)
{
	const struct jnode *v, *image, *build;
	char where[128];
	int err;

	c->name = xstrdup(n->key);
	c->line = n->key_line;
	c->column = n->key_column;
	c->replicas = 1;
	if (!project_name_ok(n->key, false))
		return perr(x, n, true,
			    "container name '%s': expected lowercase letters, digits, '-' or '_', starting with a letter or digit",
			    n->key);
	snprintf(where, sizeof(where), "container '%s'", c->name);
	if ((err = pctx_type(x, n, J_OBJECT, c->name)) != 0 ||
	    (err = pctx_keys(x, n, KEYS_CONTAINER, where)) != 0)
		return err;
	image = json_get(n, "image");
	build = json_get(n, "build");
	if ((image == NULL) == (build == NULL))
		return perr(x, n, true, "%s: expected exactly one of 'image' or 'build'", where);
	if (image != NULL && (err = pctx_string(x, image, "image", &c->image)))
		return err;
	if (build != NULL && (err = parse_build(x, build, c)) != 0)
		return err;
	if ((v = json_get(n, "pull")) != NULL) {
		if (image == NULL)
			return perr(x, v, true, "'pull' applies to 'image' only; this container has 'build'");
		if ((err = pctx_type(x, v, J_STRING, "pull")) != 0)
			return err;
		if (strcmp(v->str, "missing") == 0)
			c->pull = PULL_MISSING;
		else if (strcmp(v->str, "always") == 0)
			c->pull = PULL_ALWAYS;
		else if (strcmp(v->str, "never") == 0)
			c->pull = PULL_NEVER;
		else
			return perr(x, v, false, "pull '%s': expected missing, always or never", v->str);
	}
	if ((v = json_get(n, "cmd")) != NULL && (err = pctx_argv(x, v, "cmd", &c->cmd)))
		return err;
	if ((v = json_get(n, "entrypoint")) != NULL &&
	    (err = pctx_argv(x, v, "entrypoint", &c->entrypoint)))
		return err;
	if ((v = json_get(n, "env")) != NULL && (err = pctx_kvlist(x, v, "env", &c->env)))
		return err;
	if ((v = json_get(n, "workdir")) != NULL) {
		if ((err = pctx_type(x, v, J_STRING, "workdir")) != 0)
			return err;
		c->workdir = project_clean_abs(v->str);
		if (c->workdir == NULL)
			return perr(x, v, false, "workdir '%s': expected an absolute path", v->str);
	}
	if ((v = json_get(n, "user")) != NULL && (err = pctx_string(x, v, "user", &c->user)))
		return err;
	if ((v = json_get(n, "ports")) != NULL) {
		if ((err = pctx_type(x, v, J_ARRAY, "ports")) != 0)
			return err;
		c->ports = xcalloc(v->n + 1, sizeof(*c->ports));
		for (size_t i = 0; i < v->n; i++) {
			err = parse_port(x, &v->kids[i], &c->ports[i]);
			c->n_ports++;
			if (err != 0)
				return err;
		}
	}
	if ((v = json_get(n, "mounts")) != NULL) {
		if ((err = pctx_type(x, v, J_ARRAY, "mounts")) != 0)
			return err;
		c->mounts = xcalloc(v->n + 1, sizeof(*c->mounts));
		for (size_t i = 0; i < v->n; i++) {
			err = parse_mount(x, &v->kids[i], &c->mounts[i]);
			c->n_mounts++;
			if (err != 0)
				return err;
		}
	}
	if ((v = json_get(n, "restart")) != NULL && (err = parse_restart(x, v, c)))
		return err;
	if ((v = json_get(n, "replicas")) != NULL &&
	    (err = pctx_int(x, v, "replicas", 1, MAX_REPLICAS, &c->replicas)))
		return err;
	if (c->replicas > 1) {
		for (size_t i = 0; i < c->n_ports; i++)
			if (c->ports[i].host != 0)
				return perr(x, v, false,
					    "replicas %d with fixed host port %d: expected host port 0 so each replica gets its own",
					    c->replicas, c->ports[i].host);
	}
	if ((v = json_get(n, "tty")) != NULL && (err = pctx_bool(x, v, "tty", &c->tty)))
		return err;
	if ((v = json_get(n, "stdin")) != NULL &&
	    (err = pctx_bool(x, v, "stdin", &c->stdin_open)))
		return err;
	if ((v = json_get(n, "readiness")) != NULL &&
	    (err = parse_probe(x, v, "readiness", c, &c->readiness, true)))
		return err;
	if ((v = json_get(n, "liveness")) != NULL &&
	    (err = parse_probe(x, v, "liveness", c, &c->liveness, false)))
		return err;
	if ((v = json_get(n, "live_update")) != NULL && (err = parse_steps(x, v, c)))
		return err;
	if ((err = project_parse_run_options(x, n, c)) != 0)
		return err;
	config_hash(x->p, c);
	return 0;
}
