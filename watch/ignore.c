/*
 * The watcher's ignore rules. See ignore.h. Cheap checks first (names, then
 * globs), libgit2 last: it is the only one that may touch the disk.
 */
#include "watch/ignore.h"

#include <stdlib.h>
#include <string.h>

#include <git2.h>

#include "base/util.h"

bool ignore_name(const char *name)
{
	size_t n = strlen(name);

	/* vim: *.swp *.swx *.swo, *~ and its 4913 probe; emacs: .#* and #*#;
	   JetBrains: *___jb_tmp___ *___jb_old___; macOS: .DS_Store. Checked
	   by hand: this runs for every file of every walk. */
	if (n == 0)
		return false;
	if (name[n - 1] == '~' || strcmp(name, "4913") == 0 ||
	    strcmp(name, ".DS_Store") == 0)
		return true;
	if (name[0] == '.' && name[1] == '#')
		return true;
	if (name[0] == '#' && n > 1 && name[n - 1] == '#')
		return true;
	if (n > 4 && name[n - 4] == '.' && name[n - 3] == 's' && name[n - 2] == 'w' &&
	    (name[n - 1] == 'p' || name[n - 1] == 'x' || name[n - 1] == 'o'))
		return true;
	return str_ends(name, "___jb_tmp___") || str_ends(name, "___jb_old___");
}

int ignore_init(struct ignore *ig, const char *root, char *const *globs)
{
	git_buf found = {0};

	memset(ig, 0, sizeof(*ig));
	git_libgit2_init();
	/* Only inside a repository does .gitignore mean anything. */
	if (git_repository_discover(&found, root, 0, NULL) == 0 &&
	    git_repository_open(&ig->repo, found.ptr) == 0 &&
	    !git_repository_is_bare(ig->repo)) {
		const char *wd = git_repository_workdir(ig->repo);
		size_t n = wd != NULL ? strlen(wd) : 0;
		char *rroot = realpath(root, NULL);

		if (wd != NULL && rroot != NULL && strncmp(rroot, wd, n - 1) == 0) {
			const char *rest = rroot + n - 1;

			while (*rest == '/')
				rest++;
			ig->git_prefix = rest[0] ? xasprintf("%s/", rest) : xstrdup("");
		} else {
			git_repository_free(ig->repo);
			ig->repo = NULL;
		}
		free(rroot);
	} else if (ig->repo != NULL) {
		git_repository_free(ig->repo);
		ig->repo = NULL;
	}
	git_buf_dispose(&found);
	for (size_t i = 0; globs != NULL && globs[i] != NULL; i++) {
		ig->globs = xreallocarray(ig->globs, ig->n_globs + 1, sizeof(char *));
		ig->globs[ig->n_globs++] = xstrdup(globs[i]);
	}
	return 0;
}

void ignore_add_context(struct ignore *ig, const char *root, const char *rel,
			const char *dockerfile)
{
	struct ignore_ctx *c;
	char *dir = strcmp(rel, ".") == 0 || rel[0] == '\0' ? xstrdup(root)
							    : path_join(root, rel);
	char *file = path_join(dir, ".dockerignore");

	ig->ctx = xreallocarray(ig->ctx, ig->n_ctx + 1, sizeof(*ig->ctx));
	c = &ig->ctx[ig->n_ctx++];
	c->rel = strcmp(rel, ".") == 0 ? xstrdup("") : xstrdup(rel);
	c->dockerfile = xstrdup(dockerfile != NULL ? dockerfile : "Dockerfile");
	pattern_list_init(&c->list);
	pattern_list_load(&c->list, file);
	free(file);
	free(dir);
}

static bool in_context(const struct ignore_ctx *c, const char *rel,
		       const char **sub)
{
	size_t n = strlen(c->rel);

	if (n == 0) {
		*sub = rel;
		return true;
	}
	if (strncmp(rel, c->rel, n) == 0 && rel[n] == '/') {
		*sub = rel + n + 1;
		return true;
	}
	return false;
}

bool ignore_path(const struct ignore *ig, const char *rel, bool is_dir)
{
	const char *base = strrchr(rel, '/');

	base = base != NULL ? base + 1 : rel;
	if (strcmp(base, ".git") == 0 || (strcmp(rel, ".devwatch") == 0))
		return true;
	if (!is_dir && ignore_name(base))
		return true;
	for (size_t i = 0; i < ig->n_globs; i++)
		if (glob_match_rel(ig->globs[i], rel, is_dir))
			return true;
	for (size_t i = 0; i < ig->n_ctx; i++) {
		const char *sub;

		if (!in_context(&ig->ctx[i], rel, &sub))
			continue;
		if (strcmp(sub, ".dockerignore") == 0 ||
		    strcmp(sub, ig->ctx[i].dockerfile) == 0)
			continue;
		if (pattern_list_match(&ig->ctx[i].list, sub) &&
		    !(is_dir && pattern_list_may_include_under(&ig->ctx[i].list, sub)))
			return true;
	}
	if (ig->repo != NULL) {
		char *p = xasprintf("%s%s%s", ig->git_prefix, rel, is_dir ? "/" : "");
		int ignored = 0;

		git_ignore_path_is_ignored(&ignored, ig->repo, p);
		free(p);
		if (ignored)
			return true;
	}
	return false;
}

void ignore_close(struct ignore *ig)
{
	if (ig->repo != NULL)
		git_repository_free(ig->repo);
	free(ig->git_prefix);
	for (size_t i = 0; i < ig->n_globs; i++)
		free(ig->globs[i]);
	free(ig->globs);
	for (size_t i = 0; i < ig->n_ctx; i++) {
		free(ig->ctx[i].rel);
		free(ig->ctx[i].dockerfile);
		pattern_list_close(&ig->ctx[i].list);
	}
	free(ig->ctx);
	git_libgit2_shutdown();
	memset(ig, 0, sizeof(*ig));
}
