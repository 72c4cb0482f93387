/*
 * Starting one instance on the engine (instance.c): adopt, or create and
 * start, then readiness (probe.h).
 */
#ifndef DW_UP_INSTANCE_H
#define DW_UP_INSTANCE_H

#include <stdbool.h>

#include "up/model.h"

/* Start an instance whose dependencies are met (order.c decides when). */
void session_begin(struct instance *in);
/* The same for a replacement's "<name>-next" (replace.c), which is
   itself what a stale one would be. */
void session_begin_next(struct instance *in);
/* Release what an instance owns. A temporary one (a replacement) is itself
   freed once its timer has closed; one of a cstate's array is not. */
void instance_release(struct instance *in, bool temporary);

#endif
