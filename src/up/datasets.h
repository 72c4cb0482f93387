/*
 * Storing a container's datasets when it stops (DESIGN.md section 10): at
 * a job's end, before a replaced container is removed, at teardown, by
 * `down` and by `run`. Each dataset stored prints one line with its size;
 * one that fails prints why and the rest still go. The copy itself is
 * build/dataset.c.
 */
#ifndef DW_DATASETS_H
#define DW_DATASETS_H

#include "up/model.h"

typedef void (*datasets_done_cb)(struct instance *in, void *arg);

/* Copy each dataset out of in->id, one after another, then call cb (at
   once when the container has none). */
void datasets_store(struct instance *in, datasets_done_cb cb, void *arg);
/* Stop container `id` (with the container's grace), store in's datasets
   from it, then call cb. For a replacement: the old one stops first. */
void datasets_stop_and_store(struct instance *in, const char *id,
			     datasets_done_cb cb, void *arg);

/* For commands that own the loop (run, down): store c's datasets from
   container `id`, printing to stderr under `label`. Returns how many
   failed. */
int datasets_store_sync(struct engine *e, const char *id,
			const struct project_container *c, const char *label);

#endif
