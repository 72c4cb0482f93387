/*
 * The project's own network (DESIGN.md section 10): a user-defined bridge
 * named "devwatch-PROJECT" and labelled dev.devwatch.project, on which each
 * container answers by its name and aliases. `up` creates it (or takes over
 * the one a killed `up` left) before any container; `up`'s teardown and
 * `down` remove it once its containers are gone.
 */
#ifndef DW_NETWORK_H
#define DW_NETWORK_H

#include <stdbool.h>

#include "engine/engine.h"
#include "project/project.h"

/* True when some container joins the project network. */
bool network_needed(const struct project *p);

/* Done: err 0, or a negative code with a message (valid during the call). */
typedef void (*network_cb)(int err, const char *msg, void *arg);

/* Create the network, or reuse one of the same name that carries this
   project's label. Returns 0, or a negative code without calling cb. */
int network_ensure(struct engine *e, const struct project *p, network_cb cb,
		   void *arg);
/* Remove it; a network already gone counts as removed. Returns 0, or a
   negative code without calling cb. */
int network_remove(struct engine *e, const struct project *p, network_cb cb,
		   void *arg);

/* For down: remove it with the caller's loop. Returns 1 removed, 0 there
   was none, or a negative code with *cause. */
int network_remove_sync(struct engine *e, const struct project *p,
			char **cause);

#endif
