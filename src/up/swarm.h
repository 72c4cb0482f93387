/*
 * `devwatch up --swarm`: the project's containers as services of the
 * swarm whose manager the engine is (DESIGN.md section 13). See swarm.c.
 */
#ifndef DW_UP_SWARM_H
#define DW_UP_SWARM_H

#include <stdbool.h>

/* Run the session until Ctrl-C or SIGTERM; returns the exit code. keep
   leaves the services running. */
int swarm_run(const char *file, bool keep);

#endif
