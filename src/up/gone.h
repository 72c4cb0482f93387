/*
 * The gone set of a session (live-watch.c, swarm-live.c keep one): the
 * paths the local tree had and lost. A catch-up deletes these in a
 * container, and only these (DESIGN.md section 14).
 */
#ifndef DW_UP_GONE_H
#define DW_UP_GONE_H

#include <stddef.h>

#include "base/changeset.h"
#include "project/project.h"
#include "watch/tree.h"

/* A removed path joins the set; one that comes back leaves it. */
void gone_note(struct tree *gone, const struct changeset *cs);
/* The paths of the set that container c's sync rules cover, as a list
   to pass to a catch-up (caller frees each and the array). */
char **gone_under_sync(const struct tree *gone, const struct project_container *c, size_t *n);

#endif
