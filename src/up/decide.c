/*
 * The decision of DESIGN.md section 4, per container and change set:
 *  1. a fall_back_on glob, the Dockerfile or .dockerignore: rebuild;
 *  2. S = paths some sync rule covers, U = the rest;
 *  3. a Dockerfile input in U (a context file, not .dockerignored, named by
 *     a COPY/ADD/RUN --mount=type=bind source): rebuild;
 *  4. S empty: nothing; 5. otherwise a live update.
 */
#include "up/decide.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "sync/plan.h"

int decide_load(struct decide_ctx *d, const struct project_container *c,
		char **cause)
{
	char *ign;
	int err;

	decide_close(d);
	d->c = c;
	pattern_list_init(&d->ignore);
	if (c->build == NULL) {
		d->loaded = true;
		return 0;
	}
	err = dockerfile_inputs(c->build->dockerfile_abs, &d->inputs, cause);
	ign = path_join(c->build->context_abs, ".dockerignore");
	pattern_list_load(&d->ignore, ign);
	free(ign);
	d->loaded = err == 0;
	return err;
}

/* The path relative to the build context, or NULL when outside it. */
static const char *in_context(const struct build_spec *b, const char *rel)
{
	size_t n = strlen(b->context);

	if (strcmp(b->context, ".") == 0)
		return rel;
	if (strncmp(rel, b->context, n) == 0 && rel[n] == '/')
		return rel + n + 1;
	return NULL;
}

/* One path's decision, with its reason for a rebuild or recreate. */
static enum decision decide_path(struct decide_ctx *d, const struct change *ch,
				 char **reason)
{
	const struct project_container *c = d->c;
	const struct build_spec *b = c->build;
	const char *path = ch->path, *sub;
	char *mapped;

	for (size_t k = 0; k < c->n_steps; k++) {
		const struct live_step *s = &c->steps[k];

		if (s->kind != STEP_FALL_BACK_ON)
			continue;
		for (size_t g = 0; g < s->globs.n; g++) {
			if (glob_match_rel(s->globs.v[g], path, ch->type == CTYPE_DIR)) {
				*reason = xasprintf("%s matches fall_back_on '%s'", path,
						    s->globs.v[g]);
				return DECIDE_RECREATE;
			}
		}
	}
	sub = b != NULL ? in_context(b, path) : NULL;
	if (sub != NULL && (strcmp(sub, b->dockerfile) == 0 ||
			    strcmp(sub, ".dockerignore") == 0)) {
		*reason = xasprintf("%s changed", path);
		return DECIDE_REBUILD;
	}
	mapped = sync_map(c, path);
	if (mapped != NULL) {
		free(mapped);
		return DECIDE_LIVE;
	}
	if (sub != NULL && ch->type != CTYPE_DIR && d->loaded &&
	    !pattern_list_match(&d->ignore, sub) && dockerfile_is_input(&d->inputs, sub)) {
		*reason = xasprintf("%s is a Dockerfile input that no sync rule covers", path);
		return DECIDE_REBUILD;
	}
	return DECIDE_NOTHING;
}

enum decision decide(struct decide_ctx *d, const struct changeset *cs,
		     char **reason)
{
	enum decision best = DECIDE_NOTHING;

	*reason = NULL;
	for (size_t i = 0; i < cs->n && best != DECIDE_RECREATE; i++) {
		char *why = NULL;
		enum decision one = decide_path(d, &cs->v[i], &why);

		if (one > best) {
			best = one;
			free(*reason);
			*reason = why;
		} else {
			free(why);
		}
	}
	return best;
}

void decide_close(struct decide_ctx *d)
{
	if (d->loaded || d->inputs.src != NULL)
		dockerfile_inputs_free(&d->inputs);
	pattern_list_close(&d->ignore);
	d->loaded = false;
}
