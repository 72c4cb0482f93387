/*
 * Shared by the project-file validator's files: the parse context and the
 * value converters, each of which reports file:line:column on a mismatch.
 */
#ifndef DW_PROJECT_PROJECT_INT_H
#define DW_PROJECT_PROJECT_INT_H

#include "project/json.h"
#include "project/project.h"

struct pctx {
	const char *file;
	char **cause;
	struct project *p;
	const struct jnode *root;
};

/* Validate a project tree (devwatch.json's, or one a compose file was
   read into) as project_parse does; consumes root. */
int project_parse_tree(const char *path, struct jnode *root,
		       struct project **out, char **cause);

int pctx_type(struct pctx *x, const struct jnode *n, enum jtype want,
	      const char *what);
int pctx_keys(struct pctx *x, const struct jnode *obj, int level,
	      const char *where);
int pctx_string(struct pctx *x, const struct jnode *n, const char *what,
		char **out);
int pctx_int(struct pctx *x, const struct jnode *n, const char *what,
	     long lo, long hi, int *out);
int pctx_bool(struct pctx *x, const struct jnode *n, const char *what,
	      bool *out);
int pctx_strlist(struct pctx *x, const struct jnode *n, const char *what,
		 struct strlist *out);
int pctx_argv(struct pctx *x, const struct jnode *n, const char *what,
	      char ***out);
int pctx_duration(struct pctx *x, const struct jnode *n, const char *what,
		  int *out_ms);
int pctx_kvlist(struct pctx *x, const struct jnode *n, const char *what,
		struct kvlist *out);
int pctx_error(struct pctx *x, const struct jnode *n, bool at_key,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

bool project_name_ok(const char *s, bool allow_dot);
/* Normalise a relative path ("./a//b/" -> "a/b", "" -> "."); NULL when it
   climbs out with "..". */
char *project_clean_rel(const char *s);
/* Normalise an absolute container path; NULL when not absolute. */
char *project_clean_abs(const char *s);

/* swarm.c: the "swarm" object. */
int project_parse_swarm(struct pctx *x, const struct jnode *n,
			struct project *p);

int project_parse_container(struct pctx *x, const struct jnode *n,
			    struct project_container *c);

struct buf;
/* run-options.c: resources, gpus, network, aliases, depends_on, job,
   function, datasets, stop_signal, stop_grace, env_file, init. */
int project_parse_run_options(struct pctx *x, const struct jnode *n,
			      struct project_container *c);
/* Add those options to a config hash's input. */
void project_hash_run_options(struct buf *b, const struct project_container *c);
void project_free_run_options(struct project_container *c);
/* graph.c: depends_on and "container:NAME" across containers, cycles, and
   p->order. Run once every container is parsed. */
int project_check_graph(struct pctx *x);

#endif
