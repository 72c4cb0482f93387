/*
 * Pushing a built image: tag it REPO:TAG for each tag, then push each tag
 * with the registry's credentials (engine/auth.h, looked up on the
 * threadpool). Layer status lines go to a progress callback as they
 * arrive; per-byte progress is left out. The engine answers 200 before a
 * push fails, so an "errorDetail" in the stream is what makes it an error.
 */
#ifndef DW_BUILD_PUSH_H
#define DW_BUILD_PUSH_H

#include <stddef.h>

#include "build/image.h"
#include "engine/engine.h"

/* err 0, or DW_PUSH (or the engine's code) with cause saying why. */
typedef void (*image_push_cb)(void *arg, int err, const char *cause);

/*
 * Push `local` (an image the engine holds) as repo:tags[i] for each of the
 * n tags (strings are copied). Returns 0 (done runs later) or a negative
 * code, without calling done.
 */
int image_push(struct engine *e, const char *local, const char *repo,
	       const char *const *tags, size_t n, image_progress_cb progress,
	       image_push_cb done, void *arg);

#endif
