/*
 * Mapping change sets through sync rules. See plan.h. Nothing here reads
 * a file: the writes are a list, streamed as a tar by sync/tarstream.c.
 */
#include "sync/plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "base/pattern.h"
#include "base/util.h"

#define PLAN_MAX (1u << 30)

static bool clean_rel(const char *rel)
{
	const char *p = rel;

	if (*p == '/' || *p == '\0')
		return false;
	while (*p) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p += n;
		if (*p == '/')
			p++;
	}
	return true;
}

char *sync_map(const struct project_container *c, const char *rel)
{
	const char *to;

	return sync_map_to(c, rel, &to);
}

char *sync_map_to(const struct project_container *c, const char *rel,
		  const char **to)
{
	const struct live_step *best = NULL;
	size_t best_len = 0;

	if (!clean_rel(rel))
		return NULL;
	for (size_t i = 0; i < c->n_steps; i++) {
		const struct live_step *s = &c->steps[i];
		size_t n;

		if (s->kind != STEP_SYNC)
			continue;
		n = strcmp(s->from, ".") == 0 ? 0 : strlen(s->from);
		if (n > 0 && !(strncmp(rel, s->from, n) == 0 && (rel[n] == '\0' || rel[n] == '/')))
			continue;
		if (best == NULL || n > best_len) {
			best = s;
			best_len = n;
		}
	}
	if (best == NULL)
		return NULL;
	*to = best->to;
	rel += best_len;
	while (*rel == '/')
		rel++;
	if (*rel == '\0')
		return xstrdup(best->to);
	return strcmp(best->to, "/") == 0 ? xasprintf("/%s", rel)
					  : xasprintf("%s/%s", best->to, rel);
}

/* Collect the folders strictly between `to` and cpath. */
static void add_parents(struct sync_plan *p, const char *to, const char *cpath)
{
	size_t tn = strcmp(to, "/") == 0 ? 0 : strlen(to);
	char *d = xstrdup(cpath), *slash;

	while ((slash = strrchr(d, '/')) != NULL && (size_t)(slash - d) > tn) {
		*slash = '\0';
		if (p->n_pv > 0 && strcmp(p->pv[p->n_pv - 1], d) == 0)
			break; /* files come sorted: the rest is there already */
		p->pv = xreallocarray(p->pv, p->n_pv + 1, sizeof(char *));
		p->pv[p->n_pv++] = xstrdup(d);
	}
	free(d);
}

static size_t depth(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '/';
	return n;
}

static int by_depth(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	size_t dx = depth(x), dy = depth(y);

	return dx != dy ? (dx < dy ? -1 : 1) : strcmp(x, y);
}

/* Shallowest first, each once: a symlink at /to/a must go before /to/a/b
   is looked at, or the check would follow it. */
static void finish_parents(struct sync_plan *p)
{
	if (p->n_pv > 1)
		qsort(p->pv, p->n_pv, sizeof(char *), by_depth);
	for (size_t i = 0; i < p->n_pv; i++)
		if (i == 0 || strcmp(p->pv[i], p->pv[i - 1]) != 0)
			buf_add(&p->parents, p->pv[i], strlen(p->pv[i]) + 1);
	for (size_t i = 0; i < p->n_pv; i++)
		free(p->pv[i]);
	free(p->pv);
	p->pv = NULL;
	p->n_pv = 0;
}

static bool triggered(const struct live_step *s, const struct changeset *cs)
{
	if (s->triggers.n == 0)
		return true;
	for (size_t i = 0; i < cs->n; i++)
		for (size_t k = 0; k < s->triggers.n; k++)
			if (glob_match_rel(s->triggers.v[k], cs->v[i].path,
					   cs->v[i].type == CTYPE_DIR))
				return true;
	return false;
}

void sync_plan_build(const char *root, const struct project_container *c,
		     const struct changeset *cs, struct sync_plan *p)
{
	memset(p, 0, sizeof(*p));
	buf_init(&p->deletes, PLAN_MAX);
	buf_init(&p->parents, PLAN_MAX);
	for (size_t i = 0; i < cs->n; i++) {
		const struct change *ch = &cs->v[i];
		const char *to = NULL;
		char *cpath = sync_map_to(c, ch->path, &to);

		if (cpath == NULL)
			continue;
		if (ch->kind == CHANGE_REMOVED) {
			buf_add(&p->deletes, cpath, strlen(cpath) + 1);
			p->delete_to = xreallocarray(p->delete_to, p->n_deletes + 1, sizeof(char *));
			p->delete_to[p->n_deletes++] = xstrdup(to);
			/* rm -rf must not reach through a symlinked folder either */
			add_parents(p, to, cpath);
		} else if (strcmp(cpath, "/") != 0) {
			p->writes = xreallocarray(p->writes, p->n_members + 1,
						  sizeof(*p->writes));
			p->writes[p->n_members].src = path_join(root, ch->path);
			p->writes[p->n_members].to = xstrdup(to);
			p->writes[p->n_members++].dst = xstrdup(cpath);
			add_parents(p, to, cpath);
			if (ch->type != CTYPE_DIR) {
				p->n_writes++;
				p->bytes += ch->size;
			}
		}
		if (ch->type != CTYPE_DIR) {
			p->names = xreallocarray(p->names, p->n_names + 1, sizeof(char *));
			p->names[p->n_names++] = xstrdup(ch->path);
		}
		free(cpath);
	}
	finish_parents(p);
	for (size_t i = 0; i < c->n_steps; i++) {
		const struct live_step *s = &c->steps[i];

		if (s->kind == STEP_RUN && triggered(s, cs)) {
			p->runs = xreallocarray(p->runs, p->n_runs + 1, sizeof(char *));
			p->run_argv = xreallocarray(p->run_argv, p->n_runs + 1, sizeof(char **));
			p->run_argv[p->n_runs] = NULL;
			if (s->cmd != NULL) {
				p->runs[p->n_runs++] = xstrdup(s->cmd);
			} else {
				/* exec form: quote each word for sh -c */
				struct buf q;
				size_t n = 0;

				while (s->argv[n] != NULL)
					n++;
				p->run_argv[p->n_runs] = xcalloc(n + 1, sizeof(char *));
				for (size_t k = 0; k < n; k++)
					p->run_argv[p->n_runs][k] = xstrdup(s->argv[k]);
				buf_init(&q, 1u << 20);
				for (size_t k = 0; s->argv[k] != NULL; k++) {
					buf_adds(&q, k ? " '" : "'");
					for (const char *t = s->argv[k]; *t; t++)
						*t == '\'' ? buf_adds(&q, "'\\''") : buf_addc(&q, *t);
					buf_addc(&q, '\'');
				}
				p->runs[p->n_runs++] = buf_detach(&q, NULL);
			}
		} else if (s->kind == STEP_RESTART) {
			p->restart = s->restart;
		}
	}
}

void sync_plan_drop_runs(struct sync_plan *p)
{
	for (size_t i = 0; i < p->n_runs; i++) {
		free(p->runs[i]);
		for (size_t k = 0; p->run_argv[i] != NULL && p->run_argv[i][k] != NULL; k++)
			free(p->run_argv[i][k]);
		free(p->run_argv[i]);
	}
	p->n_runs = 0;
}

void sync_plan_release(struct sync_plan *p)
{
	for (size_t i = 0; i < p->n_members; i++) {
		free(p->writes[i].src);
		free(p->writes[i].dst);
		free(p->writes[i].to);
	}
	free(p->writes);
	buf_release(&p->deletes);
	buf_release(&p->parents);
	for (size_t i = 0; i < p->n_pv; i++)
		free(p->pv[i]);
	free(p->pv);
	for (size_t i = 0; i < p->n_names; i++)
		free(p->names[i]);
	free(p->names);
	for (size_t i = 0; i < p->n_deletes; i++)
		free(p->delete_to[i]);
	free(p->delete_to);
	sync_plan_drop_runs(p);
	free(p->run_argv);
	free(p->runs);
	memset(p, 0, sizeof(*p));
}
