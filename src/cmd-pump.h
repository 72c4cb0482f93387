/*
 * One foreground stream between the terminal and a hijacked engine
 * connection, for exec, attach and run: stdin goes in (and its EOF
 * half-closes the connection), output comes out, and window changes go to
 * the engine's resize endpoint. pump_run owns the loop until the engine
 * closes the stream.
 */
#ifndef DW_PUMP_H
#define DW_PUMP_H

#include <stdbool.h>

#include "engine/engine.h"

struct pump;

struct pump_opts {
	const char *path;	  /* "/exec/ID/start", "/containers/ID/attach?..." */
	const char *body;	  /* JSON, or NULL */
	bool tty;		  /* raw output, raw terminal */
	bool with_stdin;	  /* read stdin and send it */
	const char *resize_path;  /* "/exec/ID/resize", or NULL */
	/* Once the stream is open (e.g. to start the container). */
	void (*opened)(struct pump *p, void *arg);
	void *arg;
};

/* End the stream from the outside (the container could not start). */
void pump_stop(struct pump *p);

/* Returns 0 once the engine closed the stream, or a negative code with
   *cause when it could not be opened. */
int pump_run(struct engine *e, const struct pump_opts *o, char **cause);

#endif
