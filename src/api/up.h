/*
 * The control API of one `up` session (DESIGN.md section 9), as a sink of
 * the session's events (up/event.h): it serves the session's state and its
 * events on 127.0.0.1 through api/control.h, announced in .devwatch/api,
 * from the moment the engine answers until teardown ends. A failure to
 * listen is a warning: the session runs on without it.
 */
#ifndef DW_API_UP_H
#define DW_API_UP_H

#include "up/event.h"

extern const struct up_sink up_api_sink;

#endif
