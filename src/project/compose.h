/*
 * Compose files: the Compose Specification read into devwatch's project
 * model (DESIGN.md section 12).
 *
 * A compose file is translated into the tree a devwatch.json with the same
 * meaning would parse to, every node carrying the line and column of the
 * YAML it came from. project_load() then validates that tree exactly as it
 * validates devwatch.json, so both front ends produce the same model and the
 * same config hashes, and every error names the compose file's
 * file:line:column. A key devwatch cannot honour yet is an error there,
 * never silently dropped; where compose itself only warns, so does this
 * reader (the warnings are handed back, not printed).
 */
#ifndef DW_PROJECT_COMPOSE_H
#define DW_PROJECT_COMPOSE_H

#include <stdbool.h>

#include "project/project.h"

struct jnode;

/* The names discovery tries after devwatch.json, in compose's order. */
extern const char *const compose_file_names[];

/* True when path's base name is one of compose_file_names, or ends in
   ".yaml" or ".yml": such a file is read as a compose file. */
bool compose_is_file(const char *path);

/* The project file a command uses in dir when -f is not given:
   "devwatch.json" when it exists there, else the first compose file name
   that does, else "devwatch.json" (so the error names what was expected).
   Returns a static string. */
const char *project_default_file(const char *dir);

/*
 * Read a compose file into the equivalent devwatch.json tree (free with
 * json_free). Variables come from the environment and then from the
 * file's folder's .env. Each warning is added to *warnings as
 * "FILE:LINE:COL: ..." (the caller frees them; warnings may be NULL).
 * Returns 0, DW_PROJECT with *cause "FILE:LINE:COL: ...", or a UV_E* code
 * when the file cannot be read. May write the Dockerfile of a
 * dockerfile_inline build under the context's .devwatch/compose/.
 */
int compose_load(const char *path, struct jnode **out,
		 struct strlist *warnings, char **cause);

/* The tree as devwatch.json text, with a first comment naming the compose
   file. Caller frees. */
char *compose_json_text(const char *path, const struct jnode *tree);

/* compose_load, then the project validator over the tree; the warnings
   are logged. Same returns as project_load. */
int compose_project_load(const char *path, struct project **out,
			 char **cause);

#endif
