/*
 * Build contexts: the files of a context folder that the engine gets, as the
 * engine's own client picks them (.dockerignore, with the Dockerfile and
 * .dockerignore always sent), their input hash for the image tag, and the
 * tar stream itself (libarchive), deterministic so equal inputs give equal
 * bytes.
 */
#ifndef DW_BUILD_CONTEXT_H
#define DW_BUILD_CONTEXT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/pattern.h"
#include "build/dockerfile.h"
#include "project/project.h"

struct ctx_entry {
	char *rel;  /* relative to the context root */
	mode_t mode; /* type and permission bits */
	int64_t size;
	char *link; /* symlink target, or NULL */
};

struct build_context {
	char *root;
	struct ctx_entry *v; /* sorted by rel */
	size_t n;
	struct pattern_list ignore;
};

/* Walk root (honouring root/.dockerignore). dockerfile is relative to root
   and is always included. Returns 0 or a negative code with *cause. */
int context_scan(struct build_context *bc, const char *root,
		 const char *dockerfile, char **cause);
/* XXH3-128 over the build spec (dockerfile, args, target) and every entry
   (name, type, mode, link, content) that feeds the image: the Dockerfile,
   .dockerignore, and what `inputs` names (all entries when inputs is NULL
   or cannot tell), but for what a sync rule of `synced` covers (none when
   NULL), as 32 hex chars. The tag so follows DESIGN.md section 4's rule:
   a file that no instruction reads, or that a sync rule brings in live,
   does not make a new image; a container made from the older image is
   caught up before it counts as ready. */
int context_hash(const struct build_context *bc, const struct build_spec *b,
		 const struct dockerfile_inputs *inputs,
		 const struct project_container *synced, char out[33],
		 char **cause);
/* Write the context as a tar stream to fd. */
int context_write_tar(const struct build_context *bc, int fd, char **cause);
void context_close(struct build_context *bc);

#endif
