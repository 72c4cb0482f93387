/*
 * Path globs, shared by watch/ (ignores), build/ (.dockerignore, Dockerfile
 * sources) and sync/ (triggers, fall_back_on). Paths are relative, cleaned,
 * '/'-separated.
 *
 * glob_match: one glob against one path. `*` and `?` never cross '/', `**`
 * matches any number of whole segments (zero included), `[a-z]`/`[!x]` are
 * classes and `\` escapes, as Go's filepath.Match plus `**` (what the engine
 * uses for .dockerignore). Its time is bounded by pattern length x path
 * length, so no pattern can stall a walk.
 *
 * A pattern list is .dockerignore's semantics: lines in order, `!` re-includes,
 * the last matching line wins, and a line that matches a directory matches
 * everything under it. Leading and trailing '/' are dropped.
 *
 * glob_match_rel is the rule for the project's own globs (ignore, trigger,
 * fall_back_on): a glob without '/' matches a name at any depth, as in
 * .gitignore; a glob with '/' is anchored at the project root; a trailing '/'
 * matches directories only; a match on a directory covers what is under it.
 */
#ifndef DW_BASE_PATTERN_H
#define DW_BASE_PATTERN_H

#include <stdbool.h>
#include <stddef.h>

bool glob_match(const char *glob, const char *path);
/* Does glob match path or one of its parent directories (path up to a
   '/')? One pass, as cheap as glob_match. */
bool glob_match_parent(const char *glob, const char *path);
bool glob_match_rel(const char *glob, const char *path, bool is_dir);
/* True when s has a glob metacharacter. */
bool glob_has_magic(const char *s);

struct pattern {
	char *glob;
	bool negate;
};

struct pattern_list {
	struct pattern *v;
	size_t n;
	bool has_negation;
};

void pattern_list_init(struct pattern_list *l);
/* Add one line of a .dockerignore (comments and blanks are skipped). */
void pattern_list_add(struct pattern_list *l, const char *line);
/* Read a .dockerignore file. A missing file is an empty list (returns 0). */
int pattern_list_load(struct pattern_list *l, const char *path);
bool pattern_list_match(const struct pattern_list *l, const char *path);
/* False when nothing under an excluded dir can be re-included, so a walk
   may skip it. */
bool pattern_list_may_include_under(const struct pattern_list *l,
				    const char *dir);
void pattern_list_close(struct pattern_list *l);

#endif
