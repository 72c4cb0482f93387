/*
 * Dockerfile-input analysis (DESIGN.md section 4): which files of the build
 * context an image reads. Every stage's COPY and ADD sources (not --from=,
 * not URLs) and RUN --mount=type=bind sources count. A source with a $VAR
 * makes the whole context an input, since we cannot tell what it names.
 */
#ifndef DW_BUILD_DOCKERFILE_H
#define DW_BUILD_DOCKERFILE_H

#include <stdbool.h>
#include <stddef.h>

struct dockerfile_inputs {
	char **src;	/* context-relative sources, cleaned; globs allowed */
	size_t n;
	bool everything; /* a source the analysis cannot tell */
};

/* Parse the Dockerfile at path. Returns 0, or a negative code with *cause
   ("Dockerfile:7: ..."). */
int dockerfile_inputs(const char *path, struct dockerfile_inputs *out,
		      char **cause);
/* Does the context-relative path feed the image? */
bool dockerfile_is_input(const struct dockerfile_inputs *in, const char *rel);
void dockerfile_inputs_free(struct dockerfile_inputs *in);

#endif
