/*
 * Images for containers: build a `build` spec (context tar streamed to
 * POST /build, tagged devwatch/<project>-<container>:<input hash>, skipped
 * when that tag exists) or pull an `image` by its pull policy. Progress lines
 * go to a callback as they arrive. Everything runs on the loop; the context
 * walk, hash and tar run on the threadpool.
 */
#ifndef DW_BUILD_IMAGE_H
#define DW_BUILD_IMAGE_H

#include <stdbool.h>

#include "engine/engine.h"
#include "project/project.h"

/* One line of build or pull progress, without its newline. */
typedef void (*image_progress_cb)(void *arg, const char *line);
/* err 0: ref is the image to run ("devwatch/shop-web:3fa2..."), built says
   whether the engine built or pulled anything. Otherwise cause says why. */
typedef void (*image_done_cb)(void *arg, int err, const char *ref,
			      bool built, const char *cause);

/* Start ensuring the container's image. Returns 0 (done_cb will run) or a
   negative code. */
int image_ensure(struct engine *e, const struct project *p,
		 const struct project_container *c, image_progress_cb progress,
		 image_done_cb done, void *arg);

/* The synced paths (project-relative) that the built image `ref` holds,
   from its record; NULL with *n 0 when there is none. Caller frees each
   string and the array. */
char **image_synced_paths(const struct project *p, const char *ref, size_t *n);

#endif
