/*
 * What ties containers together, checked once every container is read:
 * depends_on names and conditions, "network": "container:NAME", and the
 * start order they make. An edge A -> B means A starts after B (A depends on
 * B, or A is B's sidecar). A cycle is reported at the entry that closes it,
 * with the whole loop spelled out.
 */
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/util.h"
#include "project/project-int.h"

/* Report at a position stored in the model rather than at a node. */
static int perr_at(struct pctx *x, int line, int column, const char *msg)
{
	struct jnode at = {.line = line, .column = column};

	return pctx_error(x, &at, false, "%s", msg);
}

static int check_edges(struct pctx *x, struct project_container *c)
{
	struct project *p = x->p;
	char *msg = NULL;
	int err = 0;

	for (size_t i = 0; i < c->n_depends && err == 0; i++) {
		struct depend *d = &c->depends[i];
		struct project_container *t = project_find(p, d->name);

		if (t == NULL)
			msg = xasprintf("depends_on '%s': no container '%s' in the project",
					d->name, d->name);
		else if (t == c)
			msg = xasprintf("depends_on '%s': a container cannot depend on itself",
					d->name);
		else if (d->cond == DEP_COMPLETED && !t->job)
			msg = xasprintf("depends_on '%s': \"completed\" needs a job; expected \"started\" or \"ready\", or \"job\": true on '%s'",
					d->name, d->name);
		if (msg != NULL)
			err = perr_at(x, d->line, d->column, msg);
	}
	if (err == 0 && c->network == NET_CONTAINER) {
		struct project_container *t = project_find(p, c->network_of);

		if (t == NULL)
			msg = xasprintf("network 'container:%s': no container '%s' in the project",
					c->network_of, c->network_of);
		else if (t == c)
			msg = xasprintf("network 'container:%s': a container cannot join its own network",
					c->network_of);
		else if (t->network == NET_CONTAINER)
			msg = xasprintf("network 'container:%s': '%s' is itself a sidecar; expected a container with its own network",
					c->network_of, c->network_of);
		else if (t->replicas > 1)
			msg = xasprintf("network 'container:%s': '%s' has %d replicas; expected one",
					c->network_of, c->network_of, t->replicas);
		else if (t->job)
			msg = xasprintf("network 'container:%s': '%s' is a job; expected a container that keeps running",
					c->network_of, c->network_of);
		if (msg != NULL)
			err = perr_at(x, c->network_line, c->network_column, msg);
	}
	free(msg);
	return err;
}

/* Depth-first search state per container. */
enum mark { UNSEEN = 0, ON_PATH, DONE };

struct walk {
	struct pctx *x;
	enum mark *mark;
	size_t *path;	/* the containers on the current path */
	size_t depth;
	size_t n_order;
};

static size_t index_of(const struct project *p, const char *name)
{
	return (size_t)(project_find((struct project *)p, name) - p->containers);
}

static int visit(struct walk *w, size_t i);

/* Follow one edge to container j, found at line:column. */
static int follow(struct walk *w, size_t j, int line, int column)
{
	struct project *p = w->x->p;
	struct buf b;
	int err;

	if (w->mark[j] == DONE)
		return 0;
	if (w->mark[j] == UNSEEN)
		return visit(w, j);
	/* j is on the path: the loop runs from j to i, then back to j. */
	buf_init(&b, 1u << 16);
	buf_adds(&b, "depends_on cycle: ");
	for (size_t k = 0, on = 0; k < w->depth; k++) {
		on = on || w->path[k] == j;
		if (on)
			buf_addf(&b, "%s -> ", p->containers[w->path[k]].name);
	}
	buf_addf(&b, "%s; expected no loop", p->containers[j].name);
	err = perr_at(w->x, line, column, buf_str(&b));
	buf_release(&b);
	return err;
}

static int visit(struct walk *w, size_t i)
{
	struct project *p = w->x->p;
	struct project_container *c = &p->containers[i];
	int err = 0;

	w->mark[i] = ON_PATH;
	w->path[w->depth++] = i;
	if (c->network == NET_CONTAINER)
		err = follow(w, index_of(p, c->network_of), c->network_line,
			     c->network_column);
	for (size_t k = 0; k < c->n_depends && err == 0; k++)
		err = follow(w, index_of(p, c->depends[k].name),
			     c->depends[k].line, c->depends[k].column);
	w->depth--;
	w->mark[i] = DONE;
	if (err == 0)
		p->order[w->n_order++] = i;
	return err;
}

int project_check_graph(struct pctx *x)
{
	struct project *p = x->p;
	struct walk w = {.x = x};
	int err = 0;

	for (size_t i = 0; i < p->n_containers && err == 0; i++)
		err = check_edges(x, &p->containers[i]);
	if (err != 0)
		return err;
	p->order = xcalloc(p->n_containers, sizeof(size_t));
	w.mark = xcalloc(p->n_containers, sizeof(*w.mark));
	w.path = xcalloc(p->n_containers, sizeof(size_t));
	for (size_t i = 0; i < p->n_containers && err == 0; i++)
		if (w.mark[i] == UNSEEN)
			err = visit(&w, i);
	free(w.mark);
	free(w.path);
	return err;
}
