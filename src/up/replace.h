/*
 * Replacing an instance's container with a new one from cs->image_ref
 * (replace.c): a rebuild or recreate of the live-update layer.
 */
#ifndef DW_UP_REPLACE_H
#define DW_UP_REPLACE_H

#include "up/model.h"

/* Start a new container next to the old one (or in its place, when it
   holds fixed host ports), wait for it, then remove the old one and give
   the new one its name. On failure the old one stays (or runs again).
   Sidecars that share its network follow it. */
void session_replace(struct instance *old, session_ready_cb cb, void *arg);

#endif
