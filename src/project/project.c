/*
 * devwatch.json to struct project: read the positioned JSON tree, check every
 * key against the key table, convert and range-check each value, resolve
 * paths, and compute each container's config hash. The first error stops
 * the load and names file:line:column and what was expected.
 */
#include "project/project.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/util.h"
#include "project/compose.h"
#include "project/json.h"
#include "project/keys.h"
#include "project/project-int.h"



#define perr pctx_error

int pctx_error(struct pctx *x, const struct jnode *n, bool at_key,
	       const char *fmt, ...)
{
	char *msg;
	va_list ap;
	int line = at_key && n->key != NULL ? n->key_line : n->line;
	int column = at_key && n->key != NULL ? n->key_column : n->column;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	dw_cause(x->cause, "%s:%d:%d: %s", x->file, line, column, msg);
	free(msg);
	return DW_PROJECT;
}

int pctx_type(struct pctx *x, const struct jnode *n, enum jtype want,
	      const char *what)
{
	if (n->type == want)
		return 0;
	return perr(x, n, false, "'%s' is %s; expected %s", what,
		    json_type_name(n->type), json_type_name(want));
}

int pctx_keys(struct pctx *x, const struct jnode *obj, int level,
	      const char *where)
{
	for (size_t i = 0; i < obj->n; i++) {
		const struct jnode *k = &obj->kids[i];
		const char *hint;

		if (keys_known(level, k->key))
			continue;
		hint = keys_suggest(level, k->key);
		if (hint != NULL)
			return perr(x, k, true,
				    "unknown key '%s' in %s (did you mean '%s'?)",
				    k->key, where, hint);
		return perr(x, k, true, "unknown key '%s' in %s", k->key,
			    where);
	}
	return 0;
}

int pctx_string(struct pctx *x, const struct jnode *n, const char *what,
		char **out)
{
	int err = pctx_type(x, n, J_STRING, what);

	if (err != 0)
		return err;
	if (strlen(n->str) == 0)
		return perr(x, n, false, "'%s' is empty; expected a value",
			    what);
	*out = xstrdup(n->str);
	return 0;
}

int pctx_int(struct pctx *x, const struct jnode *n, const char *what,
	     long lo, long hi, int *out)
{
	if (n->type != J_NUMBER || !n->integral)
		return perr(x, n, false, "'%s' is %s; expected an integer",
			    what, n->type == J_NUMBER ? "a fraction"
						      : json_type_name(n->type));
	if (n->num < (double)lo || n->num > (double)hi)
		return perr(x, n, false, "'%s' is %.0f; expected %ld to %ld",
			    what, n->num, lo, hi);
	*out = (int)n->num;
	return 0;
}

int pctx_bool(struct pctx *x, const struct jnode *n, const char *what,
	      bool *out)
{
	int err = pctx_type(x, n, J_BOOL, what);

	if (err == 0)
		*out = n->b;
	return err;
}

int pctx_strlist(struct pctx *x, const struct jnode *n, const char *what,
		 struct strlist *out)
{
	int err = pctx_type(x, n, J_ARRAY, what);

	if (err != 0)
		return err;
	out->v = xcalloc(n->n + 1, sizeof(char *));
	for (size_t i = 0; i < n->n; i++) {
		if (n->kids[i].type != J_STRING || n->kids[i].str[0] == '\0')
			return perr(x, &n->kids[i], false,
				    "'%s' holds %s; expected a non-empty string",
				    what, json_type_name(n->kids[i].type));
		out->v[out->n++] = xstrdup(n->kids[i].str);
	}
	return 0;
}

/* A command: a string is shell form (sh -c), an array is exec form. */
int pctx_argv(struct pctx *x, const struct jnode *n, const char *what,
	      char ***out)
{
	char **v;

	if (n->type == J_STRING) {
		if (n->str[0] == '\0')
			return perr(x, n, false, "'%s' is empty; expected a command", what);
		v = xcalloc(4, sizeof(char *));
		v[0] = xstrdup("/bin/sh");
		v[1] = xstrdup("-c");
		v[2] = xstrdup(n->str);
		*out = v;
		return 0;
	}
	if (n->type != J_ARRAY || n->n == 0)
		return perr(x, n, false,
			    "'%s' is %s; expected a string or a non-empty "
			    "array of strings",
			    what, n->type == J_ARRAY ? "an empty array"
						     : json_type_name(n->type));
	v = xcalloc(n->n + 1, sizeof(char *));
	*out = v;
	for (size_t i = 0; i < n->n; i++) {
		if (n->kids[i].type != J_STRING)
			return perr(x, &n->kids[i], false,
				    "'%s' holds %s; expected a string", what,
				    json_type_name(n->kids[i].type));
		v[i] = xstrdup(n->kids[i].str);
	}
	return 0;
}

/* "30s", "500ms", "2m", or a number of milliseconds. */
int pctx_duration(struct pctx *x, const struct jnode *n, const char *what,
		  int *out_ms)
{
	double v, mult = 1;
	char *end;

	if (n->type == J_NUMBER) {
		v = n->num;
	} else if (n->type == J_STRING) {
		errno = 0;
		v = strtod(n->str, &end);
		if (end == n->str || errno != 0)
			goto bad;
		if (strcmp(end, "ms") == 0)
			mult = 1;
		else if (strcmp(end, "s") == 0)
			mult = 1000;
		else if (strcmp(end, "m") == 0)
			mult = 60000;
		else
			goto bad;
	} else {
		goto bad;
	}
	v *= mult;
	if (!(v >= 1 && v <= 86400000.0))
		goto bad;
	*out_ms = (int)v;
	return 0;
bad:
	return perr(x, n, false,
		    "'%s': expected a duration such as \"500ms\", \"30s\" or "
		    "\"2m\" (1ms to 24h)",
		    what);
}

int pctx_kvlist(struct pctx *x, const struct jnode *n, const char *what,
		struct kvlist *out)
{
	int err = pctx_type(x, n, J_OBJECT, what);

	if (err != 0)
		return err;
	out->v = xcalloc(n->n + 1, sizeof(struct kv));
	for (size_t i = 0; i < n->n; i++) {
		const struct jnode *k = &n->kids[i];
		char *val;

		if (k->key[0] == '\0' || strchr(k->key, '=') != NULL)
			return perr(x, k, true,
				    "'%s' key '%s': expected a name without '='",
				    what, k->key);
		if (k->type == J_STRING)
			val = xstrdup(k->str);
		else if (k->type == J_BOOL)
			val = xstrdup(k->b ? "true" : "false");
		else if (k->type == J_NUMBER && k->integral)
			val = xasprintf("%.0f", k->num);
		else if (k->type == J_NUMBER)
			val = xasprintf("%g", k->num);
		else
			return perr(x, k, false,
				    "'%s.%s' is %s; expected a string, number "
				    "or boolean",
				    what, k->key, json_type_name(k->type));
		out->v[out->n].key = xstrdup(k->key);
		out->v[out->n].value = val;
		out->n++;
	}
	return 0;
}

/* Engine-safe name: lowercase [a-z0-9_.-], starting alphanumeric. */
static char *clean_name(const char *s)
{
	char *o = xstrdup(s), *d = o;

	for (const char *p = s; *p != '\0'; p++) {
		char c = (char)tolower((unsigned char)*p);

		if (isalnum((unsigned char)c) || c == '_' || c == '.' || c == '-')
			*d++ = c;
		else if (d > o && d[-1] != '-')
			*d++ = '-';
	}
	*d = '\0';
	while (o[0] == '-' || o[0] == '.' || o[0] == '_')
		memmove(o, o + 1, strlen(o));
	if (o[0] == '\0') {
		free(o);
		o = xstrdup("project");
	}
	return o;
}

bool project_name_ok(const char *s, bool allow_dot)
{
	if (!isalnum((unsigned char)s[0]) || strlen(s) > 63)
		return false;
	for (const char *p = s; *p != '\0'; p++) {
		if (isupper((unsigned char)*p))
			return false;
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' &&
		    !(allow_dot && *p == '.'))
			return false;
	}
	return true;
}

static void free_strlist(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

static void free_argv(char **v)
{
	for (size_t i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

static void free_kvlist(struct kvlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].value);
	}
	free(l->v);
}

static void free_probe(struct probe *p)
{
	free(p->http_path);
	free_argv(p->cmd);
}

static void free_container(struct project_container *c)
{
	free(c->name);
	free(c->image);
	if (c->build != NULL) {
		free(c->build->context);
		free(c->build->context_abs);
		free(c->build->dockerfile);
		free(c->build->dockerfile_abs);
		free_kvlist(&c->build->args);
		free(c->build->target);
		free(c->build);
	}
	free_argv(c->cmd);
	free_argv(c->entrypoint);
	free_kvlist(&c->env);
	free(c->workdir);
	free(c->user);
	for (size_t i = 0; i < c->n_ports; i++) {
		free(c->ports[i].protocol);
		free(c->ports[i].host_ip);
	}
	free(c->ports);
	for (size_t i = 0; i < c->n_mounts; i++) {
		free(c->mounts[i].type);
		free(c->mounts[i].source);
		free(c->mounts[i].target);
	}
	free(c->mounts);
	free_probe(&c->readiness);
	free_probe(&c->liveness);
	for (size_t i = 0; i < c->n_steps; i++) {
		struct live_step *s = &c->steps[i];

		free_strlist(&s->globs);
		free(s->from);
		free(s->to);
		free(s->cmd);
		free_argv(s->argv);
		free_strlist(&s->triggers);
	}
	free(c->steps);
	project_free_run_options(c);
}

void project_free(struct project *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n_containers; i++)
		free_container(&p->containers[i]);
	free(p->containers);
	free(p->order);
	free_strlist(&p->ignore);
	free(p->publish_registry);
	free(p->publish_tag);
	free_kvlist(&p->swarm_nodes);
	free(p->file);
	free(p->root);
	free(p->name);
	free(p);
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir, *abs;

	if (slash == NULL)
		dir = xstrdup(".");
	else if (slash == path)
		dir = xstrdup("/");
	else
		dir = xstrndup(path, (size_t)(slash - path));
	abs = realpath(dir, NULL);
	if (abs == NULL)
		return dir;
	free(dir);
	return abs;
}

/* "publish": {"registry": "HOST[:PORT]/PREFIX", "tag": "TAG"} */
static int parse_publish(struct pctx *x, const struct jnode *n,
			 struct project *p)
{
	const struct jnode *r, *t;
	int err = pctx_type(x, n, J_OBJECT, "publish");

	if (err == 0)
		err = pctx_keys(x, n, KEYS_PUBLISH, "'publish'");
	if (err != 0)
		return err;
	if ((r = json_get(n, "registry")) != NULL) {
		err = pctx_string(x, r, "publish.registry", &p->publish_registry);
		if (err != 0)
			return err;
		if (p->publish_registry[0] == '\0' ||
		    strstr(p->publish_registry, "://") != NULL ||
		    strpbrk(p->publish_registry, " @") != NULL ||
		    str_ends(p->publish_registry, "/"))
			return perr(x, r, false,
				    "publish.registry '%s': expected "
				    "HOST[:PORT]/PREFIX without a scheme",
				    p->publish_registry);
	}
	if ((t = json_get(n, "tag")) != NULL) {
		err = pctx_string(x, t, "publish.tag", &p->publish_tag);
		if (err != 0)
			return err;
		if (p->publish_tag[0] == '\0' || strlen(p->publish_tag) > 128 ||
		    strspn(p->publish_tag, "abcdefghijklmnopqrstuvwxyz"
					   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
			    strlen(p->publish_tag) ||
		    p->publish_tag[0] == '.' || p->publish_tag[0] == '-')
			return perr(x, t, false,
				    "publish.tag '%s': expected letters, digits, "
				    "'_', '.' or '-' (up to 128)",
				    p->publish_tag);
	}
	return 0;
}

int project_parse(const char *path, const char *text, size_t len,
		  struct project **out, char **cause)
{
	char *perr_cause = NULL;
	struct jnode *root = json_parse(text, len, &perr_cause);

	if (root == NULL) {
		dw_cause(cause, "%s:%s", path, perr_cause);
		free(perr_cause);
		return DW_PROJECT;
	}
	return project_parse_tree(path, root, out, cause);
}

int project_parse_tree(const char *path, struct jnode *root,
		       struct project **out, char **cause)
{
	struct pctx x = {.file = path, .cause = cause};
	struct project *p = xcalloc(1, sizeof(*p));
	const struct jnode *n, *cs;
	int err;

	p->file = xstrdup(path);
	p->root = dir_of(path);
	x.p = p;
	x.root = root;
	if (root->type != J_OBJECT) {
		err = perr(&x, root, false,
			   "the project file is %s; expected an object",
			   json_type_name(root->type));
		goto out;
	}
	err = pctx_keys(&x, root, KEYS_TOP, "the project");
	if (err != 0)
		goto out;
	if ((n = json_get(root, "name")) != NULL) {
		err = pctx_type(&x, n, J_STRING, "name");
		if (err != 0)
			goto out;
		if (!project_name_ok(n->str, true)) {
			err = perr(&x, n, false,
				   "name '%s': expected lowercase letters, "
				   "digits, '-', '_' or '.', starting with a "
				   "letter or digit",
				   n->str);
			goto out;
		}
		p->name = xstrdup(n->str);
	} else {
		const char *base = strrchr(p->root, '/');

		p->name = clean_name(base != NULL ? base + 1 : p->root);
	}
	if ((n = json_get(root, "ignore")) != NULL) {
		err = pctx_strlist(&x, n, "ignore", &p->ignore);
		if (err != 0)
			goto out;
	}
	if ((n = json_get(root, "publish")) != NULL) {
		err = parse_publish(&x, n, p);
		if (err != 0)
			goto out;
	}
	if ((n = json_get(root, "swarm")) != NULL) {
		err = project_parse_swarm(&x, n, p);
		if (err != 0)
			goto out;
	}
	cs = json_get(root, "containers");
	if (cs == NULL) {
		err = perr(&x, root, false,
			   "missing key 'containers'; expected an object "
			   "with at least one container");
		goto out;
	}
	err = pctx_type(&x, cs, J_OBJECT, "containers");
	if (err != 0)
		goto out;
	if (cs->n == 0) {
		err = perr(&x, cs, false,
			   "'containers' is empty; expected at least one");
		goto out;
	}
	p->containers = xcalloc(cs->n, sizeof(*p->containers));
	for (size_t i = 0; i < cs->n; i++) {
		err = project_parse_container(&x, &cs->kids[i],
					      &p->containers[i]);
		p->n_containers++;
		if (err != 0)
			goto out;
	}
	err = project_check_graph(&x);
out:
	json_free(root);
	if (err != 0) {
		project_free(p);
		return err;
	}
	*out = p;
	return 0;
}

int project_load(const char *path, struct project **out, char **cause)
{
	FILE *f;
	struct buf b;
	char chunk[8192];
	size_t n;
	int err;

	if (compose_is_file(path))
		return compose_project_load(path, out, cause);
	f = fopen(path, "rb");
	if (f == NULL) {
		err = -errno;
		dw_cause(cause, "cannot read '%s': %s", path, strerror(errno));
		return err;
	}
	buf_init(&b, 4u << 20);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (buf_add(&b, chunk, n) != 0) {
			fclose(f);
			buf_release(&b);
			dw_cause(cause, "%s: larger than 4 MiB", path);
			return DW_PROJECT;
		}
	}
	fclose(f);
	err = project_parse(path, buf_str(&b), b.len, out, cause);
	buf_release(&b);
	return err;
}

struct project_container *project_find(struct project *p, const char *name)
{
	for (size_t i = 0; i < p->n_containers; i++)
		if (strcmp(p->containers[i].name, name) == 0)
			return &p->containers[i];
	return NULL;
}

char *project_container_instance(const struct project *p,
				 const struct project_container *c,
				 int replica)
{
	return xasprintf("%s-%s-%d", p->name, c->name, replica);
}

char *project_network_name(const struct project *p)
{
	return xasprintf("devwatch-%s", p->name);
}

bool project_container_synced(const struct project_container *c,
			      const char *rel)
{
	for (size_t i = 0; i < c->n_steps; i++) {
		const struct live_step *s = &c->steps[i];
		size_t n;

		if (s->kind != STEP_SYNC)
			continue;
		if (strcmp(s->from, ".") == 0)
			return true;
		n = strlen(s->from);
		if (strncmp(rel, s->from, n) == 0 && (rel[n] == '\0' || rel[n] == '/'))
			return true;
	}
	return false;
}

char *project_image_repo(const struct project *p,
			 const struct project_container *c)
{
	return xasprintf("devwatch/%s-%s", p->name, c->name);
}

void project_print_keys(FILE *f)
{
	static const char *levels[] = {"", "", "containers.NAME.", "build.",
				       "ports[].", "mounts[].", "resources.",
				       "restart.", "readiness/liveness.",
				       "live_update[].", "sync.", "run.",
				       "resources.cpus/memory.", "gpus.",
				       "datasets[]."};

	for (const struct key_info *k = project_keys; k->name != NULL; k++) {
		char key[64];

		snprintf(key, sizeof(key), "%s%s", levels[k->level], k->name);
		fprintf(f, "  %-28s %-16s %s\n", key, k->type, k->help);
	}
}
