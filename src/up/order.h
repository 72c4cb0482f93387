/*
 * Start order inside an `up` session (DESIGN.md section 10): a container
 * starts once its image is ready and what it depends on has reached its
 * condition (started, ready, or a job completed); a sidecar starts after
 * the container whose network it joins (replace.c replaces it with that
 * one). The session calls these; they never block.
 */
#ifndef DW_ORDER_H
#define DW_ORDER_H

#include "up/model.h"

/* The container's image is ready: start it now or say what it waits for. */
void order_image_ready(struct cstate *cs);
/* Some instance moved on (started, ready, completed): start what waited. */
void order_kick(struct session *s);

#endif
