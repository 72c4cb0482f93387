/*
 * develop.watch into live_update steps. Each rule keeps compose's meaning:
 *
 *   sync          a sync step {from: path, to: target}
 *   sync+restart  the same, and restart_container (for the container, so a
 *                 service may not mix it with plain sync or sync+exec)
 *   sync+exec     the same, and a run step of exec.command triggered by
 *                 changes under path
 *   rebuild       fall_back_on the path: rebuild and replace
 *   restart       fall_back_on the path too: devwatch has no restart
 *                 without a sync, and a replacement from the same (cached)
 *                 image is a restart that also gets a catch-up sync
 *
 * `ignore` patterns (relative to path, as compose reads them) become the
 * project's ignore globs under path; `include` narrows a rebuild or restart
 * rule's globs, or a sync rule to the files it names; `initial_sync` is what
 * devwatch always does. Paths become globs anchored at the project root.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/pattern.h"
#include "base/util.h"
#include "project/compose-int.h"

struct rules {
	struct jnode *falls, *syncs, *runs;
	const struct jnode *restart_at, *plain_at; /* sync+restart, other syncs */
};

/* path (relative, cleaned) with glob metacharacters escaped, anchored. */
static char *anchored(const char *rel, const char *pattern)
{
	size_t n;
	char *out, *o;

	if (strcmp(rel, ".") == 0 && pattern == NULL)
		return xstrdup("**");
	n = 2 * strlen(rel) + (pattern != NULL ? strlen(pattern) : 0) + 3;
	out = o = xmalloc(n);
	*o++ = '/';
	for (const char *p = strcmp(rel, ".") == 0 ? "" : rel; *p != '\0'; p++) {
		if (strchr("*?[\\", *p) != NULL)
			*o++ = '\\';
		*o++ = *p;
	}
	if (pattern != NULL) {
		if (o[-1] != '/')
			*o++ = '/';
		strcpy(o, pattern);
	} else {
		*o = '\0';
	}
	return out;
}

/* A dockerignore pattern of a rule, cleaned; NULL when devwatch cannot
   honour it. */
static char *clean_pattern(const char *p)
{
	while (p[0] == '/' || (p[0] == '.' && p[1] == '/'))
		p += p[0] == '/' ? 1 : 2;
	if (p[0] == '!' || p[0] == '\0')
		return NULL;
	return xstrdup(p);
}

static bool under(const char *dir, const char *path)
{
	size_t n = strlen(dir);

	return strncmp(dir, path, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* compose skips a sync rule whose path a bind mount already shares. */
static bool bind_mounted(struct cx *x, const char *rel, const struct jnode *mounts)
{
	char *abs = strcmp(rel, ".") == 0 ? xstrdup(x->root) : path_join(x->root, rel);
	bool found = false;

	for (size_t i = 0; mounts != NULL && i < mounts->n && !found; i++) {
		const struct jnode *t = json_get(&mounts->kids[i], "type");
		const struct jnode *s = json_get(&mounts->kids[i], "source");
		char *src, *real;

		if (t == NULL || strcmp(t->str, "bind") != 0 || s == NULL)
			continue;
		src = s->str[0] == '/' ? xstrdup(s->str) : path_join(x->root, s->str);
		real = realpath(src, NULL);
		found = under(real != NULL ? real : src, abs);
		free(real);
		free(src);
	}
	free(abs);
	return found;
}

static void step(struct jnode *list, const char *kind, struct jnode *body,
		 const struct jnode *at)
{
	struct jnode *s = jb_new(J_OBJECT, at);

	jb_put(s, kind, body);
	jb_put(list, NULL, s);
}

static int exec_step(struct cx *x, const struct jnode *e, const struct strlist *froms,
		     struct rules *r)
{
	static const char *const keys[] = {"command", "user", "privileged",
					   "working_dir", "environment", NULL};
	const struct jnode *k;
	struct jnode *run, *cmd, *trig;
	int err;

	if (e == NULL)
		return 0;
	if (e->type != J_OBJECT)
		return cx_error(x, e, false, "'exec' is not a mapping; expected {command}");
	if ((err = cx_keys(x, e, keys, "exec")) != 0)
		return err;
	for (size_t i = 1; keys[i] != NULL; i++)
		if ((k = json_get(e, keys[i])) != NULL)
			return cx_unsupported(x, k, "devwatch runs steps as the container's "
					      "user, in its working directory, with its environment");
	if ((k = json_get(e, "command")) == NULL)
		return cx_error(x, e, false, "exec: missing key 'command'");
	if ((err = cx_command(x, k, "exec.command", &cmd)) != 0)
		return err;
	if (cmd == NULL || cmd->n == 0) {
		json_free(cmd);
		return cx_error(x, k, false, "'exec.command' is empty; expected a command");
	}
	run = jb_new(J_OBJECT, e);
	jb_put(run, "cmd", cmd);
	trig = jb_new(J_ARRAY, e);
	for (size_t i = 0; i < froms->n; i++) {
		char *g = anchored(froms->v[i], NULL);

		jb_put(trig, NULL, jb_str(g, e));
		free(g);
	}
	jb_put(run, "trigger", trig);
	step(r->runs, "run", run, e);
	return 0;
}

static int rule(struct cx *x, const struct jnode *w, bool has_build,
		const struct jnode *mounts, struct rules *r)
{
	static const char *const keys[] = {"path", "action", "target", "ignore",
					   "include", "initial_sync", "exec", NULL};
	static const char *const actions[] = {"sync", "sync+restart", "sync+exec",
					      "rebuild", "restart", NULL};
	const struct jnode *pk = json_get(w, "path"), *ak = json_get(w, "action");
	const struct jnode *tk = json_get(w, "target"), *k;
	struct strlist ign = {0}, inc = {0}, froms = {0}, tos = {0};
	char *rel = NULL;
	const char *action;
	bool is_sync, b;
	int err, a = 0;

	if (w->type != J_OBJECT)
		return cx_error(x, w, false, "a watch rule is not a mapping; expected {path, action}");
	if ((err = cx_keys(x, w, keys, "a watch rule")) != 0)
		return err;
	if (pk == NULL || pk->type != J_STRING)
		return cx_error(x, pk != NULL ? pk : w, false, "watch rule: expected 'path', a string");
	if (ak == NULL || ak->type != J_STRING)
		return cx_error(x, ak != NULL ? ak : w, false, "watch rule: expected 'action'");
	while (actions[a] != NULL && strcmp(actions[a], ak->str) != 0)
		a++;
	if (actions[a] == NULL)
		return cx_error(x, ak, false, "action '%s': expected sync, sync+restart, "
				"sync+exec, rebuild or restart", ak->str);
	action = actions[a];
	is_sync = str_starts(action, "sync");
	if ((k = json_get(w, "x-initialSync")) != NULL)
		cx_warn(x, k, true, "x-initialSync is DEPRECATED, please use the official "
			"'initial_sync' attribute");
	if ((k = json_get(w, "initial_sync")) != NULL && (err = cx_bool(x, k, "initial_sync", &b)))
		return err;
	if ((k = json_get(w, "exec")) != NULL && strcmp(action, "sync+exec") != 0)
		return cx_error(x, k, true, "'exec' applies to action 'sync+exec' only");
	if (strcmp(action, "sync+exec") == 0 && k == NULL)
		return cx_error(x, ak, false, "action 'sync+exec' needs 'exec' with a command");
	if (is_sync && (tk == NULL || tk->type != J_STRING))
		return cx_error(x, tk != NULL ? tk : ak, false, "action '%s' needs 'target', "
				"the path in the container", action);
	if (!is_sync && tk != NULL)
		cx_warn(x, tk, true, "'target' does nothing with action '%s'; ignored", action);
	if (strcmp(action, "rebuild") == 0 && !has_build)
		return cx_error(x, ak, false, "can't watch service '%s' with action rebuild "
				"without a build context", x->svc);
	rel = cx_rel_path(x, pk->str);
	if (rel == NULL)
		return cx_error(x, pk, false, "watch path '%s' outside the project folder is not "
				"supported yet; devwatch watches %s", pk->str, x->root);
	if (is_sync && bind_mounted(x, rel, mounts)) {
		cx_warn(x, pk, false, "path '%s' also declared by a bind mount volume, this "
			"path won't be monitored", pk->str);
		free(rel);
		return 0;
	}
	if ((k = json_get(w, "ignore")) != NULL)
		err = cx_strings(x, k, "ignore", &ign);
	for (size_t i = 0; err == 0 && i < ign.n; i++) {
		char *p = clean_pattern(ign.v[i]), *g;

		if (p == NULL) {
			err = cx_error(x, k, false, "ignore pattern '%s' is not supported yet",
				       ign.v[i]);
			break;
		}
		g = anchored(rel, p);
		strlist_push(&x->ignore, g);
		free(g);
		free(p);
	}
	if (err == 0 && (k = json_get(w, "include")) != NULL)
		err = cx_strings(x, k, "include", &inc);
	for (size_t i = 0; err == 0 && i < inc.n; i++) {
		char *p = clean_pattern(inc.v[i]);

		if (p == NULL || (is_sync && glob_has_magic(p))) {
			err = cx_error(x, k, false, "include pattern '%s' %sis not supported yet",
				       inc.v[i], is_sync ? "on a sync rule (devwatch syncs "
				       "folders and files, not globs) " : "");
		} else if (is_sync) {
			char *f = strcmp(rel, ".") == 0 ? xstrdup(p) : path_join(rel, p);
			char *t = path_join(tk->str, p);

			strlist_push(&froms, f);
			strlist_push(&tos, t);
			free(f);
			free(t);
		} else {
			free(inc.v[i]);
			inc.v[i] = anchored(rel, p);
		}
		free(p);
	}
	if (err == 0 && !is_sync) {
		struct jnode *globs = jb_new(J_ARRAY, w);

		if (inc.n == 0) {
			char *g = anchored(rel, NULL);

			jb_put(globs, NULL, jb_str(g, pk));
			free(g);
		}
		for (size_t i = 0; i < inc.n; i++)
			jb_put(globs, NULL, jb_str(inc.v[i], k));
		step(r->falls, "fall_back_on", globs, w);
	}
	if (err == 0 && is_sync) {
		if (froms.n == 0) {
			strlist_push(&froms, rel);
			strlist_push(&tos, tk->str);
		}
		for (size_t i = 0; i < froms.n; i++) {
			struct jnode *s = jb_new(J_OBJECT, w);

			jb_put(s, "from", jb_str(froms.v[i], pk));
			jb_put(s, "to", jb_str(tos.v[i], tk));
			step(r->syncs, "sync", s, w);
		}
		if (strcmp(action, "sync+restart") == 0)
			r->restart_at = r->restart_at != NULL ? r->restart_at : ak;
		else
			r->plain_at = r->plain_at != NULL ? r->plain_at : ak;
		if (strcmp(action, "sync+exec") == 0)
			err = exec_step(x, json_get(w, "exec"), &froms, r);
	}
	strlist_release(&ign);
	strlist_release(&inc);
	strlist_release(&froms);
	strlist_release(&tos);
	free(rel);
	return err;
}

static void move_steps(struct jnode *all, struct jnode *list)
{
	for (size_t i = 0; i < list->n; i++) {
		struct jnode *kid = xmalloc(sizeof(*kid));

		*kid = list->kids[i];
		jb_put(all, NULL, kid);
	}
	free(list->kids);
	list->kids = NULL;
	list->n = 0;
	json_free(list);
}

int compose_develop(struct cx *x, const struct jnode *develop, bool has_build,
		    const struct jnode *mounts, struct jnode **steps)
{
	static const char *const keys[] = {"watch", NULL};
	struct rules r = {0};
	const struct jnode *w;
	struct jnode *all;
	int err;

	*steps = NULL;
	if (develop->type == J_NULL)
		return 0;
	if (develop->type != J_OBJECT)
		return cx_error(x, develop, false, "'develop' is not a mapping; expected {watch}");
	if ((err = cx_keys(x, develop, keys, "develop")) != 0)
		return err;
	if ((w = json_get(develop, "watch")) == NULL || w->type == J_NULL)
		return 0;
	if (w->type != J_ARRAY)
		return cx_error(x, w, false, "'watch' is not a list; expected a list of rules");
	r.falls = jb_new(J_ARRAY, w);
	r.syncs = jb_new(J_ARRAY, w);
	r.runs = jb_new(J_ARRAY, w);
	for (size_t i = 0; err == 0 && i < w->n; i++)
		err = rule(x, &w->kids[i], has_build, mounts, &r);
	if (err == 0 && r.restart_at != NULL && r.plain_at != NULL)
		err = cx_error(x, r.plain_at->line > r.restart_at->line ? r.plain_at : r.restart_at,
			       false, "service '%s' mixes 'sync+restart' with 'sync' or "
			       "'sync+exec' rules; not supported yet, as devwatch restarts a "
			       "container after any of its syncs", x->svc);
	all = jb_new(J_ARRAY, w);
	move_steps(all, r.falls);
	move_steps(all, r.syncs);
	move_steps(all, r.runs);
	if (err == 0 && r.restart_at != NULL)
		step(all, "restart_container", jb_bool(true, r.restart_at), r.restart_at);
	if (err != 0 || all->n == 0) {
		json_free(all);
		return err;
	}
	*steps = all;
	return 0;
}
