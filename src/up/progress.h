/*
 * Long work (a build, a pull) shown on a terminal as one updating line per
 * container instead of every line the builder prints. The lines form a
 * block at the bottom of the screen; anything else printed meanwhile goes
 * above it (progress_hide before, progress_show after). Each piece of
 * work's full output is kept, capped, and printed if the work fails.
 *
 * Off a terminal, with --json or with -v, it is off: progress_update
 * returns false and the caller prints each line as it comes, as before.
 */
#ifndef DW_PROGRESS_H
#define DW_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"

struct progress_line {
	char *label;
	int colour;
	char *text;	/* the latest line */
	struct buf log; /* every line, for a failure */
};

struct progress {
	bool on;
	int label_width;
	struct progress_line *v;
	size_t n;
	size_t drawn; /* lines of the block on the screen now */
};

/* On when stdout is a terminal (not TERM=dumb) and `allowed`. */
void progress_init(struct progress *p, bool allowed, int label_width);
/* The work of `label` printed `line`. Returns false when progress is off
   (print the line yourself). */
bool progress_update(struct progress *p, const char *label, int colour,
		     const char *line);
/* The work of `label` ended; when it failed, its kept output goes to
   stderr, above the block. Nothing when label has no line. */
void progress_done(struct progress *p, const char *label, bool failed);
/* Take the block off the screen before other output, and put it back. */
void progress_hide(struct progress *p);
void progress_show(struct progress *p);
void progress_release(struct progress *p);

#endif
