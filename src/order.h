/*
 * Start order inside an `up` session (DESIGN.md section 10): a container
 * starts once its image is ready and what it depends on has reached its
 * condition (started, ready, or a job completed); a sidecar starts after
 * the container whose network it joins, and is replaced with it. Jobs run
 * to completion. The session calls these hooks; they never block.
 */
#ifndef DW_ORDER_H
#define DW_ORDER_H

#include "session.h"

/* The container's image is ready: start it now or say what it waits for. */
void order_image_ready(struct cstate *cs);
/* Some instance moved on (started, ready, completed): start what waited. */
void order_kick(struct session *s);
/* An instance was replaced by a new container: replace its sidecars. */
void order_replaced(struct instance *in);

/* A job's instance has started: wait for it to end, store its datasets,
   and count it ready on exit 0 or fail with its last lines otherwise. */
void job_wait(struct instance *in);

#endif
