/*
 * What a change set means for one container (DESIGN.md section 4): nothing,
 * a live update, or a rebuild, with the reason naming the file.
 */
#ifndef DW_DECIDE_H
#define DW_DECIDE_H

#include <stdbool.h>

#include "base/changeset.h"
#include "base/pattern.h"
#include "build/dockerfile.h"
#include "project/project.h"

/* Ordered: a change set's decision is the largest of its paths'. REBUILD
   replaces the container when the image tag changes; RECREATE (a
   fall_back_on match: the user asked to start over) replaces it even when
   the tag stays, and recreates a registry-image container. */
enum decision { DECIDE_NOTHING, DECIDE_LIVE, DECIDE_REBUILD, DECIDE_RECREATE };

/* What the decision needs to know about a built container's context. */
struct decide_ctx {
	const struct project_container *c;
	struct dockerfile_inputs inputs;
	struct pattern_list ignore; /* the context's .dockerignore */
	bool loaded;
};

/* Read the Dockerfile and .dockerignore (again after they change). */
int decide_load(struct decide_ctx *d, const struct project_container *c,
		char **cause);
enum decision decide(struct decide_ctx *d, const struct changeset *cs,
		     char **reason);
void decide_close(struct decide_ctx *d);

#endif
