/*
 * A live update as data: a change set mapped through a container's sync
 * rules. Files to write are listed as (host path, container path) pairs,
 * which sync/tarstream.h turns into a tar whose member names are the
 * absolute container paths (without the leading '/'), so extraction at '/'
 * puts each where its rule says; removed paths become a NUL-separated list.
 * Building a plan reads no file: that happens on the threadpool, while the
 * tar streams. Names are
 * only ever data: nothing here is shell text. A path with an empty, "." or
 * ".." component never maps, so nothing lands outside a rule's `to`.
 */
#ifndef DW_SYNC_PLAN_H
#define DW_SYNC_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/changeset.h"
#include "project/project.h"

/* One path to write: src on the host, dst absolute in the container, to
   the rule's target it falls under (devwatch's agent walks from there
   without following symlinks; NULL: from dst's folder). */
struct sync_write {
	char *src;
	char *dst;
	char *to;
};

struct sync_plan {
	struct sync_write *writes; /* in change-set order (parents first) */
	size_t n_members;     /* entries of writes, folders included */
	struct buf deletes;   /* NUL-separated absolute container paths */
	struct buf parents;   /* NUL-separated folders between a rule's `to`
				 and the files written: any that is a
				 symlink in the container is replaced by a
				 real folder first, so no write goes through
				 it to somewhere outside `to` */
	char **pv;	      /* parents being collected */
	size_t n_pv;
	size_t n_writes;      /* files and links among them */
	uint64_t bytes;	      /* their sizes when the change was seen */
	size_t n_deletes;
	char **delete_to;     /* each deletion's rule target, in order */
	char **names;	      /* project-relative paths applied, for messages */
	size_t n_names;
	char **runs;	      /* run steps whose trigger matched, in order */
	size_t n_runs;
	char ***run_argv;     /* each run step's exec form (NULL-terminated),
				 or NULL for a shell command */
	bool restart;
};

/* The container path for a project-relative path, or NULL when no sync rule
   covers it. The most specific rule (longest `from`) wins. */
char *sync_map(const struct project_container *c, const char *rel);
/* As sync_map, and also the rule's `to` (not to be freed) in *to. */
char *sync_map_to(const struct project_container *c, const char *rel,
		  const char **to);
/* Build the plan for c from cs. Reads no file and cannot fail: files that
   vanish are skipped when the tar streams. Release with sync_plan_release. */
void sync_plan_build(const char *root, const struct project_container *c,
		     const struct changeset *cs, struct sync_plan *out);
void sync_plan_release(struct sync_plan *p);
/* Drop the plan's run steps (a sync of files only). */
void sync_plan_drop_runs(struct sync_plan *p);

#endif
