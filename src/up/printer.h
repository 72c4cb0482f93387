/*
 * The terminal printer: the sink of the session's events (event.h) that
 * writes them to stdout, one line each with the container's label and
 * colour, or as JSON lines with --json; failures go to stderr. Long work
 * (a build, a pull) is one updating line per container on a terminal
 * (progress.h).
 */
#ifndef DW_UP_PRINTER_H
#define DW_UP_PRINTER_H

#include "up/event.h"

extern const struct up_sink printer_sink;

#endif
