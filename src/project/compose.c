/*
 * The compose reader's top level: find and read the file, its top-level
 * keys (one table says what each is), the project name as compose derives
 * it, the volume and network declarations, profiles, and one container per
 * enabled service. Also the shared helpers: errors and warnings at
 * file:line:column, typed reads that cast strings as compose does, and the
 * builder of the devwatch.json tree, which `devwatch convert` prints.
 */
#include "project/compose.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/log.h"
#include "base/util.h"
#include "project/compose-int.h"
#include "project/keys.h"
#include "project/project-int.h"

#define FILE_MAX (4u << 20)

const char *const compose_file_names[] = {
	"compose.yaml", "compose.yml", "docker-compose.yaml",
	"docker-compose.yml", NULL,
};

bool compose_is_file(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base != NULL ? base + 1 : path;
	for (size_t i = 0; compose_file_names[i] != NULL; i++)
		if (strcmp(base, compose_file_names[i]) == 0)
			return true;
	return str_ends(base, ".yaml") || str_ends(base, ".yml");
}

const char *project_default_file(const char *dir)
{
	char *p = path_join(dir, "devwatch.json");
	bool found = access(p, F_OK) == 0;

	free(p);
	if (found)
		return "devwatch.json";
	for (size_t i = 0; compose_file_names[i] != NULL; i++) {
		p = path_join(dir, compose_file_names[i]);
		found = access(p, F_OK) == 0;
		free(p);
		if (found)
			return compose_file_names[i];
	}
	return "devwatch.json";
}

/* ---- errors, warnings, typed reads ---- */

static void position(const struct jnode *n, bool at_key, int *line, int *col)
{
	*line = at_key && n->key != NULL && n->key_line > 0 ? n->key_line : n->line;
	*col = at_key && n->key != NULL && n->key_line > 0 ? n->key_column : n->column;
	if (*line <= 0) {
		*line = 1;
		*col = 1;
	}
}

int cx_error(struct cx *x, const struct jnode *n, bool at_key,
	     const char *fmt, ...)
{
	char *msg;
	va_list ap;
	int line, col;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	position(n, at_key, &line, &col);
	dw_cause(x->cause, "%s:%d:%d: %s", x->file, line, col, msg);
	free(msg);
	return DW_PROJECT;
}

void cx_warn(struct cx *x, const struct jnode *n, bool at_key,
	     const char *fmt, ...)
{
	char *msg, *full;
	va_list ap;
	int line, col;

	if (x->warnings == NULL)
		return;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	position(n, at_key, &line, &col);
	full = xasprintf("%s:%d:%d: %s", x->file, line, col, msg);
	strlist_push(x->warnings, full);
	free(full);
	free(msg);
}

int cx_unsupported(struct cx *x, const struct jnode *n, const char *why)
{
	if (x->svc != NULL)
		return cx_error(x, n, true, "'%s' in service '%s' is not supported yet%s%s",
				n->key, x->svc, why != NULL ? "; " : "",
				why != NULL ? why : "");
	return cx_error(x, n, true, "'%s' is not supported yet%s%s", n->key,
			why != NULL ? "; " : "", why != NULL ? why : "");
}

static const char *type_name(const struct jnode *n)
{
	switch (n->type) {
	case J_NULL: return "empty";
	case J_BOOL: return "a boolean";
	case J_NUMBER: return "a number";
	case J_STRING: return "a string";
	case J_ARRAY: return "a list";
	default: return "a mapping";
	}
}

int cx_string(struct cx *x, const struct jnode *n, const char *what,
	      char **out)
{
	if (n->type != J_STRING && n->type != J_NUMBER && n->type != J_BOOL)
		return cx_error(x, n, false, "'%s' is %s; expected a string", what,
				type_name(n));
	*out = xstrdup(n->str);
	return 0;
}

int cx_bool(struct cx *x, const struct jnode *n, const char *what, bool *out)
{
	static const char *const yes[] = {"y", "yes", "on", NULL};
	static const char *const no[] = {"n", "no", "off", NULL};

	if (n->type == J_BOOL) {
		*out = n->b;
		return 0;
	}
	if (n->type == J_STRING) {
		if (strcasecmp(n->str, "true") == 0 || strcasecmp(n->str, "false") == 0) {
			*out = strcasecmp(n->str, "true") == 0;
			return 0;
		}
		for (int i = 0; yes[i] != NULL; i++) {
			if (strcasecmp(n->str, yes[i]) == 0 || strcasecmp(n->str, no[i]) == 0) {
				*out = strcasecmp(n->str, yes[i]) == 0;
				cx_warn(x, n, false,
					"\"%s\" for boolean is not supported by YAML 1.2, please use '%s'",
					n->str, *out ? "true" : "false");
				return 0;
			}
		}
	}
	return cx_error(x, n, false, "'%s' is %s; expected true or false", what,
			n->type == J_STRING ? "not a boolean" : type_name(n));
}

int cx_int(struct cx *x, const struct jnode *n, const char *what, long lo,
	   long hi, long *out)
{
	char *end;
	long v;

	if (n->type == J_NUMBER && n->integral && n->num >= (double)lo &&
	    n->num <= (double)hi) {
		*out = (long)n->num;
		return 0;
	}
	if (n->type == J_STRING) {
		errno = 0;
		v = strtol(n->str, &end, 10);
		if (end != n->str && *end == '\0' && errno == 0 && v >= lo && v <= hi) {
			*out = v;
			return 0;
		}
	}
	return cx_error(x, n, false, "'%s' is '%s'; expected an integer from %ld to %ld",
			what, n->str != NULL ? n->str : type_name(n), lo, hi);
}

int cx_strings(struct cx *x, const struct jnode *n, const char *what,
	       struct strlist *out)
{
	if (n->type == J_STRING) {
		strlist_push(out, n->str);
		return 0;
	}
	if (n->type != J_ARRAY)
		return cx_error(x, n, false, "'%s' is %s; expected a string or a list of strings",
				what, type_name(n));
	for (size_t i = 0; i < n->n; i++) {
		const struct jnode *k = &n->kids[i];

		if (k->type != J_STRING && k->type != J_NUMBER)
			return cx_error(x, k, false, "'%s' holds %s; expected a string",
					what, type_name(k));
		strlist_push(out, k->str);
	}
	return 0;
}

int cx_command(struct cx *x, const struct jnode *n, const char *what,
	       struct jnode **out)
{
	struct jnode *a;

	*out = NULL;
	if (n->type == J_NULL)
		return 0;
	if (n->type == J_STRING) {
		char **argv = NULL, *msg = NULL;

		if (compose_split_words(n->str, &argv, &msg) != 0) {
			int err = cx_error(x, n, false, "'%s': %s", what, msg);

			free(msg);
			return err;
		}
		a = jb_new(J_ARRAY, n);
		for (size_t i = 0; argv[i] != NULL; i++) {
			jb_put(a, NULL, jb_str(argv[i], n));
			free(argv[i]);
		}
		free(argv);
		*out = a;
		return 0;
	}
	if (n->type != J_ARRAY)
		return cx_error(x, n, false, "'%s' is %s; expected a string or a list of strings",
				what, type_name(n));
	a = jb_new(J_ARRAY, n);
	for (size_t i = 0; i < n->n; i++) {
		const struct jnode *k = &n->kids[i];

		if (k->type != J_STRING && k->type != J_NUMBER && k->type != J_BOOL) {
			json_free(a);
			return cx_error(x, k, false, "'%s' holds %s; expected a string",
					what, type_name(k));
		}
		jb_put(a, NULL, jb_str(k->str, k));
	}
	*out = a;
	return 0;
}

static void dict_set(struct jnode *d, const char *key, const char *val,
		     const struct jnode *at)
{
	for (size_t i = 0; i < d->n; i++) {
		if (strcmp(d->kids[i].key, key) == 0) {
			free(d->kids[i].str);
			d->kids[i].str = xstrdup(val);
			return;
		}
	}
	jb_put(d, key, jb_str(val, at));
}

int cx_dict(struct cx *x, const struct jnode *n, const char *what,
	    struct jnode **out)
{
	struct jnode *d = jb_new(J_OBJECT, n);

	if (n->type == J_OBJECT) {
		for (size_t i = 0; i < n->n; i++) {
			const struct jnode *k = &n->kids[i];
			const char *v = k->str;

			if (k->type == J_NULL)
				v = compose_env_get(&x->env, k->key);
			else if (k->type == J_ARRAY || k->type == J_OBJECT)
				goto bad_value;
			if (v != NULL)
				dict_set(d, k->key, v, k);
			continue;
bad_value:
			json_free(d);
			return cx_error(x, k, false, "'%s.%s' is %s; expected a string, number or boolean",
					what, k->key, type_name(k));
		}
	} else if (n->type == J_ARRAY) {
		for (size_t i = 0; i < n->n; i++) {
			const struct jnode *k = &n->kids[i];
			const char *eq;
			char *name;

			if (k->type != J_STRING || k->str[0] == '\0' || k->str[0] == '=') {
				json_free(d);
				return cx_error(x, k, false, "'%s' holds %s; expected \"NAME=VALUE\" or \"NAME\"",
						what, k->type == J_STRING ? "a string without a name" : type_name(k));
			}
			eq = strchr(k->str, '=');
			name = eq != NULL ? xstrndup(k->str, (size_t)(eq - k->str)) : xstrdup(k->str);
			if (eq != NULL)
				dict_set(d, name, eq + 1, k);
			else if (compose_env_get(&x->env, name) != NULL)
				dict_set(d, name, compose_env_get(&x->env, name), k);
			free(name);
		}
	} else if (n->type != J_NULL) {
		json_free(d);
		return cx_error(x, n, false, "'%s' is %s; expected a mapping or a list of \"NAME=VALUE\"",
				what, type_name(n));
	}
	*out = d;
	return 0;
}

static int unknown_key(struct cx *x, const struct jnode *k,
		       const char *const *names, const char *where)
{
	const char *hint = keys_nearest(k->key, names);

	if (hint != NULL)
		return cx_error(x, k, true, "unknown key '%s' in %s (did you mean '%s'?)",
				k->key, where, hint);
	return cx_error(x, k, true, "unknown key '%s' in %s", k->key, where);
}

int cx_keys(struct cx *x, const struct jnode *map, const char *const *names,
	    const char *where)
{
	for (size_t i = 0; i < map->n; i++) {
		const struct jnode *k = &map->kids[i];
		size_t j = 0;

		if (str_starts(k->key, "x-"))
			continue;
		while (names[j] != NULL && strcmp(names[j], k->key) != 0)
			j++;
		if (names[j] == NULL)
			return unknown_key(x, k, names, where);
	}
	return 0;
}

char *cx_rel_path(struct cx *x, const char *path)
{
	size_t n = strlen(x->root);

	if (path[0] != '/')
		return project_clean_rel(path);
	if (strncmp(path, x->root, n) == 0 && (path[n] == '/' || path[n] == '\0'))
		return project_clean_rel(path[n] == '/' ? path + n + 1 : "");
	return NULL;
}

/* ---- the devwatch.json tree ---- */

struct jnode *jb_new(enum jtype t, const struct jnode *at)
{
	struct jnode *j = xcalloc(1, sizeof(*j));

	j->type = t;
	if (at != NULL) {
		j->line = at->line;
		j->column = at->column;
	}
	return j;
}

struct jnode *jb_str(const char *s, const struct jnode *at)
{
	struct jnode *j = jb_new(J_STRING, at);

	j->str = xstrdup(s);
	return j;
}

struct jnode *jb_num(double v, const struct jnode *at)
{
	struct jnode *j = jb_new(J_NUMBER, at);

	j->num = v;
	j->integral = v == (double)(long long)v;
	j->str = j->integral ? xasprintf("%lld", (long long)v) : xasprintf("%g", v);
	return j;
}

struct jnode *jb_bool(bool v, const struct jnode *at)
{
	struct jnode *j = jb_new(J_BOOL, at);

	j->b = v;
	return j;
}

struct jnode *jb_strs(const struct strlist *l, const struct jnode *at)
{
	struct jnode *a = jb_new(J_ARRAY, at);

	for (size_t i = 0; i < l->n; i++)
		jb_put(a, NULL, jb_str(l->v[i], at));
	return a;
}

void jb_put(struct jnode *parent, const char *key, struct jnode *child)
{
	parent->kids = xreallocarray(parent->kids, parent->n + 1, sizeof(*child));
	if (key != NULL) {
		free(child->key);
		child->key = xstrdup(key);
		if (child->key_line == 0) {
			child->key_line = child->line;
			child->key_column = child->column;
		}
	}
	parent->kids[parent->n++] = *child;
	free(child);
}

static cJSON *to_cjson(const struct jnode *n)
{
	cJSON *j;

	switch (n->type) {
	case J_NULL: return cJSON_CreateNull();
	case J_BOOL: return cJSON_CreateBool(n->b);
	case J_NUMBER: return cJSON_CreateNumber(n->num);
	case J_STRING: return cJSON_CreateString(n->str);
	case J_ARRAY:
		j = cJSON_CreateArray();
		for (size_t i = 0; i < n->n; i++)
			cJSON_AddItemToArray(j, to_cjson(&n->kids[i]));
		return j;
	default:
		j = cJSON_CreateObject();
		for (size_t i = 0; i < n->n; i++)
			cJSON_AddItemToObject(j, n->kids[i].key, to_cjson(&n->kids[i]));
		return j;
	}
}

char *compose_json_text(const char *path, const struct jnode *tree)
{
	cJSON *j = to_cjson(tree);
	char *body = cJSON_Print(j), *text;

	text = xasprintf("// devwatch.json for %s, written by 'devwatch convert'\n%s\n",
			 path, body);
	free(body);
	cJSON_Delete(j);
	return text;
}

/* ---- the top level ---- */

/* compose's project name rule: lowercase, [a-z0-9_-], starting with a
   letter or digit. */
static char *normalize_name(const char *s)
{
	char *o = xstrdup(s), *d = o;

	for (const char *p = s; *p != '\0'; p++) {
		char c = (char)tolower((unsigned char)*p);

		if (isalnum((unsigned char)c) || ((c == '_' || c == '-') && d > o))
			*d++ = c;
	}
	*d = '\0';
	return o;
}

static bool compose_name_ok(const char *s)
{
	if (!islower((unsigned char)s[0]) && !isdigit((unsigned char)s[0]))
		return false;
	for (const char *p = s; *p != '\0'; p++)
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) &&
		    *p != '_' && *p != '-')
			return false;
	return true;
}

static int project_name(struct cx *x, const struct jnode *top)
{
	const struct jnode *n = json_get(top, "name");
	const char *env = compose_env_get(&x->env, "COMPOSE_PROJECT_NAME");

	if (n != NULL) {
		int err = cx_string(x, n, "name", &x->project);

		if (err != 0)
			return err;
	} else if (env != NULL && env[0] != '\0') {
		x->project = xstrdup(env);
	} else {
		const char *base = strrchr(x->root, '/');

		x->project = normalize_name(base != NULL ? base + 1 : x->root);
		if (x->project[0] == '\0')
			return cx_error(x, top, false,
					"cannot derive a project name from folder '%s'; add 'name'",
					x->root);
	}
	if (!compose_name_ok(x->project))
		return cx_error(x, n != NULL ? n : top, false,
				"project name '%s': expected lowercase letters, digits, '-' "
				"or '_', starting with a letter or digit",
				x->project);
	return 0;
}

static int volume_decls(struct cx *x, const struct jnode *v)
{
	static const char *const keys[] = {"driver", "driver_opts", "external",
					   "labels", "name", NULL};

	if (v->type == J_NULL)
		return 0;
	if (v->type != J_OBJECT)
		return cx_error(x, v, false, "'volumes' is %s; expected a mapping of volume names",
				type_name(v));
	for (size_t i = 0; i < v->n; i++) {
		const struct jnode *d = &v->kids[i], *k;
		char where[160];
		int err;

		if (d->type == J_NULL)
			continue;
		snprintf(where, sizeof(where), "volume '%s'", d->key);
		if (d->type != J_OBJECT)
			return cx_error(x, d, false, "volume '%s' is %s; expected a mapping",
					d->key, type_name(d));
		if ((err = cx_keys(x, d, keys, where)) != 0)
			return err;
		if ((k = json_get(d, "driver")) != NULL &&
		    (k->type != J_STRING || strcmp(k->str, "local") != 0))
			return cx_unsupported(x, k, "devwatch creates volumes with the 'local' driver");
		if ((k = json_get(d, "driver_opts")) != NULL)
			return cx_unsupported(x, k, NULL);
		if ((k = json_get(d, "labels")) != NULL)
			return cx_unsupported(x, k, NULL);
	}
	x->volumes = v;
	return 0;
}

static int network_decls(struct cx *x, const struct jnode *v)
{
	static const char *const keys[] = {"attachable", "driver", "driver_opts",
					   "enable_ipv4", "enable_ipv6", "external",
					   "internal", "ipam", "labels", "name", NULL};

	if (v->type == J_NULL)
		return 0;
	if (v->type != J_OBJECT)
		return cx_error(x, v, false, "'networks' is %s; expected a mapping of network names",
				type_name(v));
	for (size_t i = 0; i < v->n; i++) {
		const struct jnode *d = &v->kids[i];
		char where[160];
		int err;

		if (d->type == J_NULL)
			continue;
		snprintf(where, sizeof(where), "network '%s'", d->key);
		if (d->type != J_OBJECT)
			return cx_error(x, d, false, "network '%s' is %s; expected a mapping",
					d->key, type_name(d));
		if ((err = cx_keys(x, d, keys, where)) != 0)
			return err;
		/* Services join 'default' only (their 'networks' key names no
		   other), so compose would drop these as unused, except
		   'default', which is the project's own network. */
		if (strcmp(d->key, "default") == 0 && d->n > 0)
			return cx_error(x, d, true,
					"settings for network 'default' are not supported yet; "
					"devwatch gives each project a network of its own");
	}
	return 0;
}

static int empty_or_unsupported(struct cx *x, const struct jnode *k)
{
	if (k->type == J_NULL || ((k->type == J_OBJECT || k->type == J_ARRAY) && k->n == 0))
		return 0;
	return cx_unsupported(x, k, NULL);
}

static bool profile_enabled(struct cx *x, const struct jnode *svc,
			    int *err)
{
	const struct jnode *p = json_get(svc, "profiles");
	const char *env = compose_env_get(&x->env, "COMPOSE_PROFILES");
	struct strlist want = {0};
	bool on = false;

	*err = 0;
	if (p == NULL)
		return true;
	if ((*err = cx_strings(x, p, "profiles", &want)) != 0) {
		strlist_release(&want);
		return false;
	}
	for (size_t i = 0; i < want.n && !on && env != NULL; i++) {
		const char *s = env;

		while (!on && *s != '\0') {
			size_t len = strcspn(s, ",");

			on = (len == 1 && s[0] == '*') ||
			     (len == strlen(want.v[i]) && strncmp(s, want.v[i], len) == 0);
			s += len + (s[len] == ',');
		}
	}
	strlist_release(&want);
	return on;
}

static int services(struct cx *x, const struct jnode *s, struct jnode **out)
{
	struct jnode *cs = jb_new(J_OBJECT, s);
	int err = 0;

	if (s->type != J_OBJECT || s->n == 0) {
		json_free(cs);
		return cx_error(x, s, s->type == J_NULL, "'services' is %s; expected a mapping of services",
				s->type == J_OBJECT ? "empty" : type_name(s));
	}
	for (size_t i = 0; i < s->n && err == 0; i++) {
		const struct jnode *svc = &s->kids[i];
		struct jnode *c = NULL;

		if (!profile_enabled(x, svc, &err))
			continue;
		x->svc = svc->key;
		err = compose_service(x, svc, &c);
		x->svc = NULL;
		if (err == 0)
			jb_put(cs, svc->key, c);
	}
	if (err == 0 && cs->n == 0)
		err = cx_error(x, s, true,
			       "no service is enabled; expected COMPOSE_PROFILES to name a "
			       "profile of one");
	if (err == 0)
		err = compose_link_services(x, s, cs);
	if (err != 0) {
		json_free(cs);
		return err;
	}
	*out = cs;
	return 0;
}

static int top_level(struct cx *x, const struct jnode *top, struct jnode **out)
{
	static const char *const keys[] = {"version", "name", "include", "services",
					   "models", "networks", "volumes", "secrets",
					   "configs", NULL};
	static const char *const unsupported[] = {"include", "models", "secrets",
						  "configs", NULL};
	const struct jnode *k;
	struct jnode *root, *cs = NULL;
	int err;

	if (top->type != J_OBJECT)
		return cx_error(x, top, false, "the compose file is %s; expected a mapping",
				type_name(top));
	if ((err = cx_keys(x, top, keys, "the compose file")) != 0)
		return err;
	if ((k = json_get(top, "version")) != NULL)
		cx_warn(x, k, true,
			"the attribute 'version' is obsolete, it will be ignored, please "
			"remove it to avoid potential confusion");
	for (const char *const *u = unsupported; *u != NULL; u++)
		if ((k = json_get(top, *u)) != NULL && (err = empty_or_unsupported(x, k)) != 0)
			return err;
	if ((err = project_name(x, top)) != 0)
		return err;
	if ((k = json_get(top, "volumes")) != NULL && (err = volume_decls(x, k)) != 0)
		return err;
	if ((k = json_get(top, "networks")) != NULL && (err = network_decls(x, k)) != 0)
		return err;
	if ((k = json_get(top, "services")) == NULL)
		return cx_error(x, top, false, "missing key 'services'; expected a mapping of services");
	if ((err = services(x, k, &cs)) != 0)
		return err;
	root = jb_new(J_OBJECT, top);
	jb_put(root, "name", jb_str(x->project, top));
	if (x->ignore.n > 0)
		jb_put(root, "ignore", jb_strs(&x->ignore, top));
	jb_put(root, "containers", cs);
	*out = root;
	return 0;
}

static int read_file(const char *path, struct buf *b, char **cause)
{
	FILE *f = fopen(path, "rb");
	char chunk[8192];
	size_t n;
	int err = 0;

	if (f == NULL) {
		err = -errno;
		dw_cause(cause, "cannot read '%s': %s", path, strerror(errno));
		return err;
	}
	while (err == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		err = buf_add(b, chunk, n);
	fclose(f);
	if (err != 0) {
		dw_cause(cause, "%s: larger than 4 MiB", path);
		return DW_PROJECT;
	}
	return 0;
}

static char *folder_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash == NULL ? xstrdup(".")
		    : slash == path ? xstrdup("/")
				    : xstrndup(path, (size_t)(slash - path));
	char *abs = realpath(dir, NULL);

	if (abs == NULL)
		return dir;
	free(dir);
	return abs;
}

int compose_load(const char *path, struct jnode **out,
		 struct strlist *warnings, char **cause)
{
	struct cx x = {.file = path, .cause = cause, .warnings = warnings};
	struct jnode *y = NULL;
	struct buf b;
	int err;

	buf_init(&b, FILE_MAX);
	if ((err = read_file(path, &b, cause)) != 0) {
		buf_release(&b);
		return err;
	}
	x.root = folder_of(path);
	err = compose_env_load(&x.env, x.root, cause);
	if (err == 0)
		err = compose_yaml_read(&x, buf_str(&b), b.len, &y);
	if (err == 0)
		err = top_level(&x, y, out);
	json_free(y);
	buf_release(&b);
	compose_env_release(&x.env);
	strlist_release(&x.ignore);
	strlist_release(&x.optional);
	free(x.project);
	free(x.root);
	return err;
}

int compose_project_load(const char *path, struct project **out, char **cause)
{
	struct strlist warnings = {0};
	struct jnode *tree = NULL;
	int err = compose_load(path, &tree, &warnings, cause);

	for (size_t i = 0; i < warnings.n; i++)
		log_warn("%s", warnings.v[i]);
	strlist_release(&warnings);
	if (err != 0)
		return err;
	return project_parse_tree(path, tree, out, cause);
}
