/*
 * How a compose service stands among the others, in devwatch's terms:
 * depends_on (conditions started, ready, completed), healthcheck as the
 * readiness probe, network_mode and networks (the project's one network and
 * its aliases), env_file and stop_grace_period. Once every service is read,
 * one pass checks the names depends_on uses against the enabled services
 * and makes a service that others wait on to complete a job.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "project/compose-int.h"

#define DURATION_MAX_MS 86400000.0

static const char *const conditions[] = {"service_started", "service_healthy",
					 "service_completed_successfully", NULL};
static const char *const dw_conditions[] = {"started", "ready", "completed"};

static int dependency(struct cx *x, const struct jnode *e, struct jnode *out)
{
	static const char *const keys[] = {"condition", "required", "restart", NULL};
	const struct jnode *k;
	const char *cond = "started";
	bool b = true;
	char *opt;
	int err;

	if (e->type == J_OBJECT) {
		if ((err = cx_keys(x, e, keys, "depends_on")) != 0)
			return err;
		if ((k = json_get(e, "condition")) != NULL) {
			size_t i = 0;

			while (conditions[i] != NULL &&
			       (k->type != J_STRING || strcmp(conditions[i], k->str) != 0))
				i++;
			if (conditions[i] == NULL)
				return cx_error(x, k, false, "condition '%s': expected service_started, "
						"service_healthy or service_completed_successfully",
						k->str != NULL ? k->str : "");
			cond = dw_conditions[i];
		}
		if ((k = json_get(e, "restart")) != NULL) {
			if ((err = cx_bool(x, k, "restart", &b)) != 0)
				return err;
			if (b)
				return cx_error(x, k, true, "'restart: true' in depends_on is not "
						"supported yet; devwatch leaves '%s' running when it "
						"replaces '%s'", x->svc, e->key);
		}
		b = true;
		if ((k = json_get(e, "required")) != NULL && (err = cx_bool(x, k, "required", &b)) != 0)
			return err;
		if (!b) {
			opt = xasprintf("%s/%s", x->svc, e->key);
			strlist_push(&x->optional, opt);
			free(opt);
		}
	} else if (e->type != J_NULL) {
		return cx_error(x, e, false, "depends_on '%s' is %s; expected a mapping with "
				"'condition'", e->key, e->type == J_STRING ? "a string" : "not a mapping");
	}
	if (json_get(out, e->key) == NULL) {
		jb_put(out, e->key, jb_str(cond, e));
		out->kids[out->n - 1].key_line = e->key_line;
		out->kids[out->n - 1].key_column = e->key_column;
	}
	return 0;
}

int compose_depends_on(struct cx *x, const struct jnode *v, struct compose_svc *s)
{
	struct jnode *d = jb_new(J_OBJECT, v);
	int err = 0;

	if (v->type == J_ARRAY) {
		for (size_t i = 0; i < v->n && err == 0; i++) {
			const struct jnode *e = &v->kids[i];

			if (e->type != J_STRING || e->str[0] == '\0')
				err = cx_error(x, e, false, "'depends_on' holds %s; expected a service name",
					       e->type == J_STRING ? "an empty name" : "not a string");
			else if (json_get(d, e->str) == NULL)
				jb_put(d, e->str, jb_str("started", e));
		}
	} else if (v->type == J_OBJECT) {
		for (size_t i = 0; i < v->n && err == 0; i++)
			err = dependency(x, &v->kids[i], d);
	} else if (v->type != J_NULL) {
		err = cx_error(x, v, false, "'depends_on' is not a list or a mapping; expected "
			       "service names");
	}
	if (err != 0) {
		json_free(d);
		return err;
	}
	SET(s->depends, d);
	return 0;
}

int compose_duration(struct cx *x, const struct jnode *v, const char *what,
		     double *ms)
{
	static const struct { const char *u; double ms; } units[] = {
		{"ns", 1e-6}, {"us", 1e-3}, {"\xc2\xb5s", 1e-3}, {"\xce\xbcs", 1e-3},
		{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000},
	};
	const char *p = v->str;
	double total = 0;

	if ((v->type != J_STRING && v->type != J_NUMBER) || p == NULL || p[0] == '\0')
		goto bad;
	if (strcmp(p, "0") == 0) {
		*ms = 0;
		return 0;
	}
	while (*p != '\0') {
		char *end;
		double n;
		size_t best = 0, best_len = 0;

		if (!isdigit((unsigned char)*p) && *p != '.')
			goto bad;
		n = strtod(p, &end);
		if (end == p)
			goto bad;
		p = end;
		for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
			size_t l = strlen(units[i].u);

			if (strncmp(p, units[i].u, l) == 0 && l > best_len) {
				best = i;
				best_len = l;
			}
		}
		if (best_len == 0)
			goto bad;
		total += n * units[best].ms;
		p += best_len;
	}
	if (total > DURATION_MAX_MS)
		goto bad;
	*ms = total;
	return 0;
bad:
	return cx_error(x, v, false, "'%s' is '%s'; expected a duration such as \"1m30s\", "
			"\"10s\" or \"500ms\" (up to 24h)", what, v->str != NULL ? v->str : "");
}

/* A duration from a healthcheck key, or def when it is not there. */
static int hc_duration(struct cx *x, const struct jnode *hc, const char *key,
		       double def, double *ms)
{
	const struct jnode *k = json_get(hc, key);
	char what[64];

	*ms = def;
	if (k == NULL)
		return 0;
	snprintf(what, sizeof(what), "healthcheck.%s", key);
	return compose_duration(x, k, what, ms);
}

static int hc_test(struct cx *x, const struct jnode *t, struct jnode **cmd)
{
	const struct jnode *first;
	struct jnode *a;

	*cmd = NULL;
	if (t->type == J_STRING) {
		if (t->str[0] == '\0')
			return cx_error(x, t, false, "'healthcheck.test' is empty; expected a command");
		a = jb_new(J_ARRAY, t);
		jb_put(a, NULL, jb_str("/bin/sh", t));
		jb_put(a, NULL, jb_str("-c", t));
		jb_put(a, NULL, jb_str(t->str, t));
		*cmd = a;
		return 0;
	}
	if (t->type != J_ARRAY || t->n == 0 || t->kids[0].type != J_STRING)
		return cx_error(x, t, false, "'healthcheck.test' is %s; expected a string, or a list "
				"starting with CMD, CMD-SHELL or NONE",
				t->type == J_ARRAY ? "a list without CMD" : "not a string or a list");
	first = &t->kids[0];
	if (strcmp(first->str, "NONE") == 0)
		return 0;
	if (strcmp(first->str, "CMD-SHELL") == 0 && t->n == 2 && t->kids[1].type == J_STRING)
		return hc_test(x, &t->kids[1], cmd);
	if (strcmp(first->str, "CMD-SHELL") == 0)
		return cx_error(x, first, false, "CMD-SHELL: expected one command string after it");
	if (strcmp(first->str, "CMD") != 0)
		return cx_error(x, first, false, "healthcheck test '%s': expected CMD, CMD-SHELL "
				"or NONE first", first->str);
	if (t->n == 1)
		return cx_error(x, first, false, "CMD: expected the command after it");
	a = jb_new(J_ARRAY, t);
	for (size_t i = 1; i < t->n; i++) {
		if (t->kids[i].type == J_ARRAY || t->kids[i].type == J_OBJECT ||
		    t->kids[i].type == J_NULL) {
			json_free(a);
			return cx_error(x, &t->kids[i], false, "'healthcheck.test' holds a value that "
					"is not a string");
		}
		jb_put(a, NULL, jb_str(t->kids[i].str, &t->kids[i]));
	}
	*cmd = a;
	return 0;
}

/*
 * compose's healthcheck as devwatch's readiness probe: the same command and
 * timeout per attempt; devwatch probes at start_interval, else interval,
 * else its own 100 ms; and it gives up when compose would have called the
 * container unhealthy: start_period plus retries times (interval + timeout),
 * with compose's defaults (30s, 30s, 3).
 */
int compose_healthcheck(struct cx *x, const struct jnode *v, struct compose_svc *s)
{
	static const char *const keys[] = {"disable", "interval", "retries", "start_interval",
					   "start_period", "test", "timeout", NULL};
	const struct jnode *k, *t;
	struct jnode *r, *cmd = NULL;
	double interval, timeout, period, start_iv, give_up;
	long retries = 3;
	bool off = false;
	int err;

	if (v->type != J_OBJECT)
		return cx_error(x, v, false, "'healthcheck' is not a mapping; expected test, "
				"interval, timeout, retries, start_period");
	if ((err = cx_keys(x, v, keys, "healthcheck")) != 0)
		return err;
	if ((k = json_get(v, "disable")) != NULL && (err = cx_bool(x, k, "disable", &off)) != 0)
		return err;
	t = json_get(v, "test");
	if (!off && t == NULL)
		return cx_error(x, v, true, "a 'healthcheck' without 'test' (the image's, with other "
				"timings) is not supported yet; expected 'test'");
	if (!off && (err = hc_test(x, t, &cmd)) != 0)
		return err;
	if (off || cmd == NULL) {
		cx_warn(x, off ? k : t, true, "healthcheck of service '%s' disabled: devwatch has no "
			"probe for it, and an image HEALTHCHECK still decides when it is ready", x->svc);
		SET(s->readiness, NULL);
		return 0;
	}
	if ((err = hc_duration(x, v, "interval", 30000, &interval)) != 0 ||
	    (err = hc_duration(x, v, "timeout", 30000, &timeout)) != 0 ||
	    (err = hc_duration(x, v, "start_period", 0, &period)) != 0 ||
	    (err = hc_duration(x, v, "start_interval", 0, &start_iv)) != 0 ||
	    ((k = json_get(v, "retries")) != NULL &&
	     (err = cx_int(x, k, "healthcheck.retries", 0, 1000, &retries)) != 0)) {
		json_free(cmd);
		return err;
	}
	if (retries == 0)
		retries = 3; /* the engine's meaning of 0 */
	give_up = period + (double)retries * (interval + timeout);
	r = jb_new(J_OBJECT, v);
	jb_put(r, "cmd", cmd);
	if (json_get(v, "start_interval") != NULL || json_get(v, "interval") != NULL) {
		double iv = json_get(v, "start_interval") != NULL ? start_iv : interval;

		jb_put(r, "interval", jb_num(iv < 1 ? 1 : (double)(long long)iv, v));
	}
	jb_put(r, "timeout", jb_num(timeout < 1 ? 1 : (double)(long long)timeout, v));
	jb_put(r, "start_timeout", jb_num(give_up > DURATION_MAX_MS ? DURATION_MAX_MS
					  : give_up < 1 ? 1 : (double)(long long)give_up, v));
	/* Errors about the probe point at the 'healthcheck' key. */
	r->key_line = v->key_line;
	r->key_column = v->key_column;
	SET(s->readiness, r);
	return 0;
}

int compose_network_mode(struct cx *x, const struct jnode *v, struct compose_svc *s)
{
	char *m;

	if (v->type != J_STRING)
		return cx_error(x, v, false, "'network_mode' is not a string; expected "
				"service:NAME, host or none");
	s->mode_at = v;
	if (strcmp(v->str, "host") == 0 || strcmp(v->str, "none") == 0) {
		SET(s->network, jb_str(v->str, v));
		return 0;
	}
	if (str_starts(v->str, "service:") && v->str[8] != '\0') {
		m = xasprintf("container:%s", v->str + 8);
		SET(s->network, jb_str(m, v));
		free(m);
		return 0;
	}
	if (strcmp(v->str, "bridge") == 0 || str_starts(v->str, "container:"))
		return cx_error(x, v, false, "network_mode '%s' is not supported yet; devwatch "
				"joins the project's network, or service:NAME, host or none", v->str);
	return cx_error(x, v, false, "network_mode '%s': expected service:NAME, host or none",
			v->str);
}

static int network_entry(struct cx *x, const struct jnode *e, const char *name,
			 struct compose_svc *s)
{
	static const char *const keys[] = {"aliases", "driver_opts", "gw_priority",
					   "interface_name", "ipv4_address", "ipv6_address",
					   "link_local_ips", "mac_address", "priority", NULL};
	struct strlist l = {0};
	const struct jnode *k;
	int err;

	if (strcmp(name, "default") != 0)
		return cx_error(x, e, e->key != NULL, "network '%s' is not supported yet; devwatch "
				"gives the project one network, expected 'default'", name);
	if (e->key == NULL || e->type == J_NULL)
		return 0;
	if (e->type != J_OBJECT)
		return cx_error(x, e, false, "network 'default' of service '%s' is not a mapping",
				x->svc);
	if ((err = cx_keys(x, e, keys, "a service's network")) != 0)
		return err;
	for (size_t i = 0; i < e->n; i++)
		if (strcmp(e->kids[i].key, "aliases") != 0 && !str_starts(e->kids[i].key, "x-"))
			return cx_unsupported(x, &e->kids[i], NULL);
	if ((k = json_get(e, "aliases")) == NULL)
		return 0;
	if ((err = cx_strings(x, k, "aliases", &l)) == 0)
		SET(s->aliases, jb_strs(&l, k));
	strlist_release(&l);
	return err;
}

int compose_networks(struct cx *x, const struct jnode *v, struct compose_svc *s)
{
	int err = 0;

	s->networks_at = v;
	if (v->type == J_ARRAY) {
		for (size_t i = 0; i < v->n && err == 0; i++)
			err = v->kids[i].type != J_STRING
				      ? cx_error(x, &v->kids[i], false, "'networks' holds a value "
						 "that is not a network name")
				      : network_entry(x, &v->kids[i], v->kids[i].str, s);
	} else if (v->type == J_OBJECT) {
		for (size_t i = 0; i < v->n && err == 0; i++)
			if (!str_starts(v->kids[i].key, "x-"))
				err = network_entry(x, &v->kids[i], v->kids[i].key, s);
	} else if (v->type != J_NULL) {
		err = cx_error(x, v, false, "'networks' is not a list or a mapping; expected "
			       "network names");
	}
	return err;
}

/* What compose's dotenv reading would change in a value devwatch reads as
   written (run-options.c): interpolation, escapes, inline comments and
   trimmed blanks; NULL when both read it alike. */
static const char *env_value_differs(const char *v)
{
	size_t n = strlen(v);

	if (v[0] == '\'')
		return NULL;
	if (v[0] == '"')
		return strpbrk(v, "$\\") != NULL ? "'$' or '\\' in a double-quoted value" : NULL;
	if (strchr(v, '$') != NULL)
		return "'$' (interpolated by compose) in a value";
	if (strstr(v, " #") != NULL || strstr(v, "\t#") != NULL)
		return "an inline '#' comment";
	if (n > 0 && (isspace((unsigned char)v[0]) || isspace((unsigned char)v[n - 1])))
		return "blanks around a value";
	return NULL;
}

static int env_file_check(struct cx *x, const struct jnode *path, const char *abs)
{
	FILE *f = fopen(abs, "r");
	char line[8192];
	int no = 0, err = 0;

	while (f != NULL && err == 0 && fgets(line, sizeof(line), f) != NULL) {
		char *p = line, *eq;
		const char *why;

		no++;
		line[strcspn(line, "\r\n")] = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (str_starts(p, "export "))
			p += 7;
		if (*p == '#' || (eq = strchr(p, '=')) == NULL)
			continue; /* a comment, or what devwatch reports itself */
		if ((why = env_value_differs(eq + 1)) != NULL)
			err = cx_error(x, path, false, "env file %s:%d: %s is not supported yet; "
				       "devwatch reads values as written", path->str, no, why);
	}
	if (f != NULL)
		fclose(f);
	return err;
}

static int env_file_entry(struct cx *x, const struct jnode *e, struct jnode *out)
{
	static const char *const keys[] = {"format", "path", "required", NULL};
	const struct jnode *path = e, *k;
	bool required = true;
	char *abs;
	int err;

	if (e->type == J_OBJECT) {
		if ((err = cx_keys(x, e, keys, "env_file")) != 0)
			return err;
		if ((k = json_get(e, "format")) != NULL)
			return cx_unsupported(x, k, "devwatch reads KEY=VALUE lines");
		if ((k = json_get(e, "required")) != NULL &&
		    (err = cx_bool(x, k, "required", &required)) != 0)
			return err;
		if ((path = json_get(e, "path")) == NULL)
			return cx_error(x, e, false, "env_file entry without 'path'; expected "
					"{path, required}");
	}
	if (path->type != J_STRING || path->str[0] == '\0')
		return cx_error(x, path, false, "'env_file' path is %s; expected a file name",
				path->type == J_STRING ? "empty" : "not a string");
	abs = path->str[0] == '/' ? xstrdup(path->str) : path_join(x->root, path->str);
	if (access(abs, R_OK) != 0) {
		free(abs);
		if (required)
			return cx_error(x, path, false, "env file %s not found; expected a file, or "
					"'required: false'", path->str);
		return 0; /* compose skips a missing optional file */
	}
	err = env_file_check(x, path, abs);
	free(abs);
	if (err != 0)
		return err;
	jb_put(out, NULL, jb_str(path->str, path));
	return 0;
}

int compose_env_file(struct cx *x, const struct jnode *v, struct compose_svc *s)
{
	struct jnode *l = jb_new(J_ARRAY, v);
	int err = 0;

	if (v->type == J_ARRAY) {
		for (size_t i = 0; i < v->n && err == 0; i++)
			err = env_file_entry(x, &v->kids[i], l);
	} else {
		err = env_file_entry(x, v, l);
	}
	if (err != 0) {
		json_free(l);
		return err;
	}
	SET(s->env_file, l);
	return 0;
}

int compose_stop_grace(struct cx *x, const struct jnode *v, struct compose_svc *s)
{
	double ms;
	int err = compose_duration(x, v, "stop_grace_period", &ms);

	if (err == 0 && ms < 1)
		return cx_error(x, v, false, "stop_grace_period '%s' is not supported yet; devwatch "
				"waits at least 1ms, expected a duration above 0", v->str);
	if (err == 0)
		jb_put(s->extra, "stop_grace", jb_num((double)(long long)(ms + 0.999), v));
	return err;
}

static struct jnode *member(struct jnode *obj, const char *key)
{
	for (size_t i = 0; obj != NULL && i < obj->n; i++)
		if (strcmp(obj->kids[i].key, key) == 0)
			return &obj->kids[i];
	return NULL;
}

static bool optional(struct cx *x, const char *svc, const char *dep)
{
	char *k = xasprintf("%s/%s", svc, dep);
	bool found = false;

	for (size_t i = 0; i < x->optional.n && !found; i++)
		found = strcmp(x->optional.v[i], k) == 0;
	free(k);
	return found;
}

/* A service that others wait on to complete runs to completion: a job. */
static int make_job(struct cx *x, const char *waiter, struct jnode *t)
{
	const struct jnode *k;

	if ((k = json_get(t, "readiness")) != NULL)
		return cx_error(x, k, true, "service '%s' has a healthcheck, and '%s' waits for "
				"it to complete (service_completed_successfully); expected one of them",
				t->key, waiter);
	if ((k = json_get(t, "restart")) != NULL &&
	    (k->type != J_STRING || strcmp(k->str, "never") != 0))
		return cx_error(x, k, true, "service '%s' restarts, and '%s' waits for it to "
				"complete (service_completed_successfully); expected restart 'no'",
				t->key, waiter);
	if (json_get(t, "job") == NULL)
		jb_put(t, "job", jb_bool(true, t));
	return 0;
}

int compose_link_services(struct cx *x, const struct jnode *services,
			  struct jnode *containers)
{
	int err = 0;

	for (size_t i = 0; i < containers->n && err == 0; i++) {
		struct jnode *c = &containers->kids[i], *d = member(c, "depends_on");

		for (size_t j = 0; d != NULL && j < d->n && err == 0;) {
			struct jnode *e = &d->kids[j], *t = member(containers, e->key);

			if (t != NULL && optional(x, c->key, e->key))
				cx_warn(x, e, true, "'required: false': devwatch still waits for '%s', "
					"and '%s' does not start when '%s' fails", e->key, c->key,
					e->key);
			if (t == NULL && optional(x, c->key, e->key)) {
				cx_warn(x, e, true, "service '%s' depends on '%s', which is not enabled; "
					"not required, so ignored", c->key, e->key);
				free(e->str);
				free(e->key);
				memmove(e, e + 1, (d->n - j - 1) * sizeof(*e));
				d->n--;
				continue;
			}
			if (t == NULL && json_get(services, e->key) != NULL)
				err = cx_error(x, e, true, "service '%s' depends on service '%s', which "
					       "is not enabled; expected its profile in COMPOSE_PROFILES "
					       "or 'required: false'", c->key, e->key);
			else if (t == NULL)
				err = cx_error(x, e, true, "service '%s' depends on undefined service "
					       "'%s'", c->key, e->key);
			else if (strcmp(e->str, "completed") == 0)
				err = make_job(x, c->key, t);
			else if (strcmp(e->str, "ready") == 0 && json_get(t, "readiness") == NULL)
				cx_warn(x, e, true, "service '%s' has no healthcheck: devwatch counts it "
					"healthy when its image's HEALTHCHECK passes, or without one when "
					"it still runs a moment later (compose fails)", e->key);
			j++;
		}
	}
	return err;
}
