/*
 * The fast channel into a running container. First choice: devwatch's own
 * agent, copied into the container (sync/channel-agent.h). When it cannot
 * run there, or DEVWATCH_AGENT=sh, one persistent exec of a small
 * fixed sh agent, attached over a hijacked engine connection. Each update
 * streams a tar (written with tar -x at '/', sent in pieces as the
 * threadpool reads the files), a NUL-separated delete list (xargs -0 rm -rf
 * --) and the run steps, each framed by a byte count that the agent reads
 * exactly (dd iflag=count_bytes,fullblock), and reads back
 * one status line per operation. File names and contents are data on the
 * agent's stdin, never shell text. A change of 32 MiB or more skips the
 * agent's dd: its tar goes to a second exec of `tar -x` reading its own
 * stdin, ended by a half-close, between the agent's P and its D.
 *
 * When the image lacks sh, tar, dd, xargs, rm or cat, the channel says why
 * once and falls back to the engine's archive API (PUT /containers/{id}/archive)
 * plus one exec per deletion batch and run step. A channel whose exec died
 * (a restart, say) reopens on the next update.
 */
#ifndef DW_SYNC_CHANNEL_H
#define DW_SYNC_CHANNEL_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/engine.h"
#include "sync/channel-agent.h"
#include "sync/plan.h"

struct channel;

/* A line of run-step output (stderr of the agent). */
typedef void (*channel_output_cb)(const char *line, size_t n, void *arg);
/* The update finished. err 0 and step -1: all applied. Otherwise step is
   the failed run step's index (rc its exit code), or -1 with err set when
   the files could not be written. step_ms[i] holds each run's time. */
typedef void (*channel_done_cb)(struct channel *ch, int err, int step, int rc,
				void *arg);
/* A one-line notice (the fallback taken, and why). */
typedef void (*channel_notice_cb)(const char *msg, void *arg);

struct channel *channel_new(struct engine *e, const char *container_id,
			    channel_output_cb out, channel_notice_cb notice,
			    void *arg);
/* Apply a plan. One update at a time per channel. Returns 0 or a negative
   code (then done is not called). */
int channel_apply(struct channel *ch, const struct sync_plan *p,
		  channel_done_cb done, void *arg);
/* One entry of a listing: root is the listed path, e->path is relative
   to it ("" for root itself); e's strings are valid during the call. */
typedef void (*channel_entry_cb)(const char *root, const struct ap_entry *e,
				 void *arg);
/* The listing ended: 0; DW_STEP when a path could not be listed in full;
   UV_ENOTSUP when devwatch's agent turned out unable to run here. */
typedef void (*channel_list_done_cb)(int err, void *arg);
/* List each absolute path as the container has it (type, mode, size,
   mtime, link target; XXH3-128 of file contents when `hash`), through
   devwatch's agent: for the catch-up sync. One operation at a time.
   Returns 0, UV_EBUSY, UV_EINVAL (a path not absolute or too long), or
   UV_ENOTSUP when only a fallback serves this container (then use the
   archive API); done is not called then. */
int channel_list(struct channel *ch, const char *const *paths, size_t n,
		 bool hash, channel_entry_cb cb, channel_list_done_cb done,
		 void *arg);
/* Send output and notices elsewhere from now on: a channel handed to a
   new owner. */
void channel_rebind(struct channel *ch, channel_output_cb out,
		    channel_notice_cb notice, void *arg);
/* Duration of run step i of the last update, in ns. */
uint64_t channel_step_ns(const struct channel *ch, size_t i);
/* Close now (a restart or replacement ahead); the next apply reopens.
   NULL (a replica never updated yet) does nothing. */
void channel_reset(struct channel *ch);
/* The container was paused: a session open into it answers nothing until
   the unpause. Close it; an update in flight ends with DW_CANCELED, so the
   caller sends it again on a new exec, which the engine refuses while the
   container is paused. NULL does nothing. */
void channel_interrupt(struct channel *ch);
void channel_free(struct channel *ch);

#endif
