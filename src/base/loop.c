/*
 * See loop.h. The glossary of the wait:
 *   prepare    runs on every iteration after the due timers and pending
 *              callbacks, just before libuv computes its poll timeout;
 *              uv_stop there makes that poll return at once
 *   innermost  the wait whose flag decides; an outer wait's flag turning
 *              true during a nested one must not make the nested loop spin
 */
#include "base/loop.h"

#include <stdlib.h>

#include "base/util.h"

struct waiter {
	uv_prepare_t prepare;
	const bool *done;
	struct waiter *outer;
};

static struct waiter *innermost;

static void on_prepare(uv_prepare_t *p)
{
	struct waiter *w = container_of(p, struct waiter, prepare);

	if (w == innermost && *w->done)
		uv_stop(p->loop);
}

static void waiter_closed(uv_handle_t *h)
{
	free(container_of((uv_prepare_t *)h, struct waiter, prepare));
}

void loop_run_until(uv_loop_t *loop, const bool *done)
{
	struct waiter *w;

	if (*done)
		return;
	w = xcalloc(1, sizeof(*w));
	w->done = done;
	w->outer = innermost;
	uv_prepare_init(loop, &w->prepare);
	uv_prepare_start(&w->prepare, on_prepare);
	/* The wait itself keeps nothing alive. */
	uv_unref((uv_handle_t *)&w->prepare);
	innermost = w;
	while (!*done)
		uv_run(loop, UV_RUN_ONCE);
	innermost = w->outer;
	/* Freed in its close callback, on a later turn of the loop. */
	uv_close((uv_handle_t *)&w->prepare, waiter_closed);
}
