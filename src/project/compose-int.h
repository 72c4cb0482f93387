/*
 * Shared by the compose reader's files: the YAML tree (struct jnode, as
 * devwatch.json's reader builds it, with YAML marks), variables and
 * interpolation, the builder of the devwatch.json tree, and the context that
 * carries errors and warnings with file:line:column.
 */
#ifndef DW_PROJECT_COMPOSE_INT_H
#define DW_PROJECT_COMPOSE_INT_H

#include <stdbool.h>

#include "project/json.h"
#include "project/project.h"

/* compose-interp.c: the variables interpolation sees. */
struct compose_env {
	struct kvlist dotenv;	  /* the project folder's .env, in file order */
	struct strlist unset;	  /* names already warned about */
};

/* Read dir/.env (a missing file is none). DW_PROJECT with *cause
   "FILE:LINE: ..." when it is malformed. */
int compose_env_load(struct compose_env *e, const char *dir, char **cause);
void compose_env_release(struct compose_env *e);
/* The environment's value, else .env's, else NULL. */
const char *compose_env_get(const struct compose_env *e, const char *name);

/*
 * Interpolate one string value as compose does: $$, $VAR, ${VAR},
 * ${VAR:-d}, ${VAR-d}, ${VAR:+r}, ${VAR+r}, ${VAR:?msg}, ${VAR?msg}, nested
 * in defaults. A `$` before anything else stays as it is. Returns 0 and
 * *out, or -1 and *msg (what is wrong, no position). Names used but unset
 * are added to *unset_now (once each) for a warning.
 */
int compose_interpolate(struct compose_env *e, const char *in, char **out,
			struct strlist *unset_now, char **msg);

/* Split a command string into words as compose does (shell quoting, no
   expansion). Returns 0 and a NULL-terminated argv, or -1 and *msg. */
int compose_split_words(const char *s, char ***argv, char **msg);

/* compose-yaml.c: YAML text to a positioned tree. Plain scalars are typed
   by the YAML 1.2 core schema; every scalar keeps its text in str; string
   values are interpolated. Aliases, anchors and merge keys are resolved
   with a cap on the nodes they may expand to. */
struct cx;
int compose_yaml_read(struct cx *x, const char *text, size_t len,
		      struct jnode **out);

/* The context of one load. */
struct cx {
	const char *file;
	char *root;		  /* absolute folder of the file */
	char **cause;
	struct compose_env env;
	struct strlist *warnings;
	char *project;		  /* the project name */
	const struct jnode *volumes; /* top-level volumes, or NULL */
	struct strlist ignore;	  /* globs for the project's ignore */
	const char *svc;	  /* the service being read */
	struct strlist optional;  /* "SERVICE/DEPENDENCY" with required: false */
};

/* Error at n's value (at_key: at its key) as "FILE:L:C: ..." in *cause;
   returns DW_PROJECT. */
int cx_error(struct cx *x, const struct jnode *n, bool at_key,
	     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void cx_warn(struct cx *x, const struct jnode *n, bool at_key,
	     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* "'KEY' in service 'S' is not supported yet" at the key. */
int cx_unsupported(struct cx *x, const struct jnode *n, const char *why);

/* Typed reads of the YAML tree, casting strings as compose does. */
int cx_string(struct cx *x, const struct jnode *n, const char *what,
	      char **out);
int cx_bool(struct cx *x, const struct jnode *n, const char *what, bool *out);
int cx_int(struct cx *x, const struct jnode *n, const char *what, long lo,
	   long hi, long *out);
/* A string or a list of strings (compose's string_or_list). */
int cx_strings(struct cx *x, const struct jnode *n, const char *what,
	       struct strlist *out);
/* A command: a string split into words, or a list. */
int cx_command(struct cx *x, const struct jnode *n, const char *what,
	       struct jnode **out);
/* list_or_dict ("K=V" items or a mapping) into a devwatch object; a name
   with no value takes the variable's value, or is left out when unset. */
int cx_dict(struct cx *x, const struct jnode *n, const char *what,
	    struct jnode **out);
/* Check a mapping's keys against names (NULL-terminated); x- keys pass. */
int cx_keys(struct cx *x, const struct jnode *map, const char *const *names,
	    const char *where);
/* A path of the compose file made relative to the project root (cleaned),
   or NULL when it lies outside. */
char *cx_rel_path(struct cx *x, const char *path);

/* Building the devwatch.json tree; nodes take the position of `at`. */
struct jnode *jb_new(enum jtype t, const struct jnode *at);
struct jnode *jb_str(const char *s, const struct jnode *at);
struct jnode *jb_num(double v, const struct jnode *at);
struct jnode *jb_bool(bool v, const struct jnode *at);
struct jnode *jb_strs(const struct strlist *l, const struct jnode *at);
/* Move child into parent (an array when key is NULL); child is consumed. */
void jb_put(struct jnode *parent, const char *key, struct jnode *child);

/* compose-svc.c: one service into one devwatch container. */
int compose_service(struct cx *x, const struct jnode *svc,
		    struct jnode **out);

/* A service's devwatch keys while its compose keys are read (the key
   table's functions fill it); emitted in one order at the end. */
struct compose_svc {
	struct jnode *image, *build, *pull, *cmd, *entrypoint, *env;
	struct jnode *ports, *mounts, *cpus, *memory, *restart, *replicas;
	struct jnode *cpus_req, *mem_req, *gpus, *depends, *readiness;
	struct jnode *network, *aliases, *env_file;
	struct jnode *extra;	/* the keys the table renames, in file order */
	const struct jnode *image_at, *develop, *networks_at, *mode_at;
};

#define SET(slot, v)                                                           \
	do {                                                                   \
		json_free(slot);                                               \
		(slot) = (v);                                                  \
	} while (0)

/* compose-run.c: resources, deploy, restart and GPUs. */
int compose_cpus(struct cx *x, const struct jnode *v, struct compose_svc *s);
int compose_mem_limit(struct cx *x, const struct jnode *v,
		      struct compose_svc *s);
int compose_scale(struct cx *x, const struct jnode *v, struct compose_svc *s);
int compose_restart(struct cx *x, const struct jnode *v,
		    struct compose_svc *s);
int compose_deploy(struct cx *x, const struct jnode *v, struct compose_svc *s);
int compose_gpus(struct cx *x, const struct jnode *v, struct compose_svc *s);

/* compose-deps.c: how a service stands among the others: depends_on,
   healthcheck (readiness), network_mode, networks and aliases, env_file,
   stop_grace_period; and the pass over all services once read. */
int compose_depends_on(struct cx *x, const struct jnode *v,
		       struct compose_svc *s);
int compose_healthcheck(struct cx *x, const struct jnode *v,
			struct compose_svc *s);
int compose_network_mode(struct cx *x, const struct jnode *v,
			 struct compose_svc *s);
int compose_networks(struct cx *x, const struct jnode *v,
		     struct compose_svc *s);
int compose_env_file(struct cx *x, const struct jnode *v,
		     struct compose_svc *s);
int compose_stop_grace(struct cx *x, const struct jnode *v,
		       struct compose_svc *s);
/* A Go duration ("1m30s", "500ms", "0") in milliseconds (rounded up). */
int compose_duration(struct cx *x, const struct jnode *v, const char *what,
		     double *ms);
/* After every enabled service is read (containers: the devwatch tree's
   "containers"; services: the compose file's, all of them): a dependency
   on a service not enabled is an error, or dropped with a warning when
   not required; a service others wait on to complete becomes a job. */
int compose_link_services(struct cx *x, const struct jnode *services,
			  struct jnode *containers);
/* compose-syntax.c: ports and volumes (short and long syntax) into
   devwatch ports and mounts, appended to *out (created when NULL). tmpfs:
   the service's 'tmpfs' key (paths) rather than 'volumes'. */
int compose_ports(struct cx *x, const struct jnode *v, struct jnode **out);
int compose_volumes(struct cx *x, const struct jnode *v, bool tmpfs,
		    struct jnode **out);

/* compose-watch.c: develop.watch into live_update steps (*steps NULL when
   there are none); ignore globs go to x->ignore. mounts: the container's
   devwatch mounts, for compose's bind-mount check. */
int compose_develop(struct cx *x, const struct jnode *develop, bool has_build,
		    const struct jnode *mounts, struct jnode **steps);

void strlist_push(struct strlist *l, const char *s);
void strlist_release(struct strlist *l);

#endif
