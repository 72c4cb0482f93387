/*
 * Readiness and liveness of an instance (probe.c), and restarts, which
 * wait for readiness again.
 */
#ifndef DW_UP_PROBE_H
#define DW_UP_PROBE_H

#include "up/model.h"

struct container_info;

/* The container was started: read back its host ports, then probe. */
void session_probe_started(struct instance *in);
/* Start (or restart) readiness probing of a started instance whose ports
   are known; a job is waited for instead. */
void session_probe(struct instance *in);
/* Take the bound host ports (and the addresses the engine reports them on)
   of an inspect answer into the instance. */
void session_take_ports(struct instance *in, struct container_info *ci);
/* Restart the container and wait for readiness again; cb gets 0 or why. */
void session_restart(struct instance *in, session_ready_cb cb, void *arg);

#endif
