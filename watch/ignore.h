/*
 * What the watcher never looks at, in DESIGN.md's order: .git/ always,
 * .gitignore through libgit2 inside a git repository only, .dockerignore for
 * paths under a build context, the project's `ignore` globs, editor
 * temporaries, and devwatch's own state folder.
 */
#ifndef DW_WATCH_IGNORE_H
#define DW_WATCH_IGNORE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/pattern.h"

struct git_repository;

struct ignore_ctx {
	char *rel;		  /* context folder relative to the root, "" = root */
	struct pattern_list list; /* its .dockerignore */
	char *dockerfile;	  /* relative to the context: never ignored */
};

struct ignore {
	struct git_repository *repo;
	char *git_prefix;	/* the root relative to the repo's workdir, "" or "a/b/" */
	char **globs;		/* the project's ignore globs */
	size_t n_globs;
	struct ignore_ctx *ctx;
	size_t n_ctx;
};

/* root: absolute path. globs: NULL-terminated, may be NULL. */
int ignore_init(struct ignore *ig, const char *root, char *const *globs);
/* Add a build context (relative to the root) whose .dockerignore applies. */
void ignore_add_context(struct ignore *ig, const char *root, const char *rel,
			const char *dockerfile);
/* rel: path relative to the root, no leading or trailing '/'. */
bool ignore_path(const struct ignore *ig, const char *rel, bool is_dir);
/* Editor temporaries and other names never synced, by base name. */
bool ignore_name(const char *name);
void ignore_close(struct ignore *ig);

#endif
