/*
 * The fast channel's first choice: devwatch's own agent (sync/agent/), a
 * static executable embedded in devwatch. At first connect it is copied
 * into the container with one PUT /containers/{id}/archive (to
 * /.devwatch/agent, gone with the container) unless a copy is there, and
 * run as one exec attached over a hijacked connection. Its hello carries
 * the XXH3-128 of the copy it runs from: a stale or damaged copy is
 * replaced once. Each update is one write stream (frames of file headers
 * and contents), one deletion frame and one frame per run step, each
 * answered by one status with the agent's time; nothing starts a process
 * in the container but the run steps.
 *
 * When the agent cannot run here (another architecture, a noexec or
 * read-only root), the owner is told why and takes over (sync/channel.c
 * falls back to its shell agent, then to the archive API).
 */
#ifndef DW_SYNC_CHANNEL_AGENT_H
#define DW_SYNC_CHANNEL_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"
#include "sync/agent/proto.h"
#include "sync/plan.h"

struct agent_chan;

struct agent_hooks {
	/* A line of run-step output or of the agent's complaints. */
	void (*out)(const char *line, size_t n, void *arg);
	/* The update finished: err, step and rc as channel_done_cb. */
	void (*done)(int err, int step, int rc, void *arg);
	/* The agent cannot serve this container, and why. An update in
	   flight is not finished: the owner takes it over. */
	void (*unavailable)(const char *why, void *arg);
	void *arg;
};

/* One listed entry under `root` (e->path relative to it, "" for root). */
typedef void (*agent_entry_cb)(const char *root, const struct ap_entry *e,
			       void *arg);
/* The listing ended: 0, UV_ENOTSUP when the agent cannot run here,
   DW_STEP when a path could not be listed in full, or another code. */
typedef void (*agent_list_done_cb)(int err, void *arg);

struct agent_chan *agent_chan_new(struct engine *e, const char *cid,
				  const struct agent_hooks *hk);
/* Apply a plan (opening the session first when needed). One operation at
   a time. Returns 0, UV_EBUSY, or UV_ENOTSUP after `unavailable`. */
int agent_chan_apply(struct agent_chan *a, const struct sync_plan *p);
/* List each path (absolute) as the container has it, contents hashed
   (XXH3-128) when `hash`. Returns 0 or as agent_chan_apply. */
int agent_chan_list(struct agent_chan *a, const char *const *paths, size_t n,
		    bool hash, agent_entry_cb cb, agent_list_done_cb done,
		    void *arg);
/* Run step i of the last update: its time inside the agent, in ns. */
uint64_t agent_chan_step_ns(const struct agent_chan *a, size_t i);
/* Close the session; the next operation reopens it. An operation in
   flight is dropped without its callback. */
void agent_chan_reset(struct agent_chan *a);
/* Free; safe from inside a hook (then freed on the way out). */
void agent_chan_free(struct agent_chan *a);

/* The embedded agent: its bytes, and its XXH3-128 (canonical). */
const unsigned char *agent_binary(size_t *len);
const unsigned char *agent_binary_hash(void);

#endif
