/*
 * What the files of the channel share (channel.c: the fast path over the
 * shell agent, devwatch's agent and the API; channel-tar.c: the tar read
 * on the threadpool and a large tar's own exec; channel-fallback.c: the
 * archive API and one exec per step). Nothing else includes this.
 */
#ifndef DW_SYNC_CHANNEL_INT_H
#define DW_SYNC_CHANNEL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "engine/engine.h"
#include "sync/channel.h"

#define LINE_MAX_BYTES (64u << 10)

/* The tar streams in pieces of about CHUNK bytes; reading stops while more
   than HIGH_WATER bytes wait to be written, and resumes at LOW_WATER. */
#define CHUNK (4u << 20)
#define HIGH_WATER (16u << 20)
#define LOW_WATER (8u << 20)
/* The first piece of a tar is read on the loop, up to this much. */
#define INLINE_BYTES (256u << 10)
/* A piece this small is copied to go out in one write with its framing. */
#define COALESCE_BYTES (64u << 10)
/* A change this large goes to a tar exec of its own (see start_direct). */
#define DIRECT_BYTES (32u << 20)
/* The archive-API fallback sends the tar as one request body. */
#define FALLBACK_TAR_MAX (1u << 30)

enum ch_state { CH_CLOSED, CH_OPENING, CH_READY, CH_FALLBACK };
/* The fallback's steps of an update, in order. */
enum fb_phase { FB_LINKS, FB_PUT, FB_DELETE, FB_RUN };

struct channel {
	struct engine *e;
	char *cid;
	enum ch_state state;
	struct engine_hijack *h;
	struct engine_demux dm;
	struct buf line[3];
	struct buf open_err;
	channel_output_cb out;
	channel_notice_cb notice;
	void *arg;

	/* the update in flight */
	const struct sync_plan *p;
	channel_done_cb done;
	void *done_arg;
	char ops[4];	/* W/D statuses still expected, in order */
	int n_ops;
	size_t run;	/* next or current run step */
	bool running;
	uint64_t run_start;
	uint64_t *step_ns;
	size_t n_step_ns;
	int fail_err;	/* first W/D failure */
	int fail_rc;

	/* the tar being streamed (fast path) or built whole (fallback) */
	struct tar_job *job;
	int jobs_running; /* fills on the threadpool that point here */
	unsigned gen;	/* bumped when an update ends: stale jobs see it */

	/* a large tar's own exec: `tar -x` reading the stream on its stdin */
	struct engine_hijack *dh;
	struct engine_req *dreq;
	struct engine_demux ddm;
	struct buf dline;
	char *dexec_id;
	bool direct_busy; /* its status is still to come */
	bool direct_wait; /* it starts once P's status is in */

	/* fallback */
	char *exec_id;
	enum fb_phase fb_phase;
	size_t fb_at;	     /* in p->parents: the folder being looked at */
	struct buf fb_links; /* of those, the symlinks in the container */

	int depth;	/* inside our read callback */
	bool doomed;	/* freed from a callback: free on the way out */

	/* devwatch's own agent (channel-agent.c), first choice; ag_off once
	   it cannot run here or DEVWATCH_AGENT says not to use it */
	struct agent_chan *ag;
	bool ag_off;
};

/* channel.c */
/* The update ends: cb with its result (err, or the failed step and its
   exit code). */
void chan_finish(struct channel *ch, int err, int step, int rc);
/* A notice (fmt with one %s) to the channel's notice callback. */
void chan_say(struct channel *ch, const char *fmt, const char *a);
/* POST /containers/{id}/exec for argv (NULL-terminated), with stdin
   attached when `in`. Returns engine_request's result. */
int chan_exec_create(struct channel *ch, const char *const *argv, bool in,
		     engine_done_cb cb, void *arg, struct engine_req **out);
/* An exec's exit code from GET /exec/{id}/json, or -1. */
int chan_exec_exit_code(int err, const struct engine_resp *resp);
/* An exec's output: gather it in `line` and show each whole line; one
   longer than the buffer is shown in parts. chan_show_line shows what
   `line` holds. */
void chan_show_lines(struct channel *ch, struct buf *line, const char *data, size_t len);
void chan_show_line(struct channel *ch, struct buf *line);
/* The fast path: send the plan's deletions (after its tar). */
void chan_send_deletes(struct channel *ch);
/* Free a channel that is no longer in use. */
void chan_destroy(struct channel *ch);

/* channel-tar.c */
/* Start reading the plan's tar: streamed in pieces to the agent, or whole
   (full) for the fallback's request body. */
void chan_start_job(struct channel *ch, bool full);
/* The update that owned the job is over: drop it now, or when its fill
   comes back. */
void chan_abandon_job(struct channel *ch);
/* The same for a tar being streamed only (the fallback's whole tar does
   not depend on the session). */
void chan_abandon_stream(struct channel *ch);
/* A large change's tar through an exec of its own; dropping it. */
void chan_start_direct(struct channel *ch);
void chan_direct_close(struct channel *ch);

/* channel-fallback.c */
/* Leave the fast path for the archive API, saying why. */
void chan_go_fallback(struct channel *ch, const char *why);
/* The fallback takes the update in ch->p from its start; its next step;
   its PUT of the whole tar. */
void chan_fb_start(struct channel *ch);
void chan_fb_next(struct channel *ch);
void chan_fb_put(struct channel *ch, const struct buf *tar);

#endif
