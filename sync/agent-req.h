/*
 * Requests to devwatch's in-container agent, built from a sync plan, and
 * the splitting of its answers into frames (wire format: sync/agent/proto.h).
 *
 * A plan's writes become one write stream: each entry's header (rule
 * target, path under it, kind, mode, mtime, size) and its bytes, read from
 * the host as the stream is produced, so a large change goes out in frames
 * while later files are still being read. A file is read once, up to the
 * size its header declared: one that grows is cut there and one that
 * shrinks is padded, and the watcher's next change set carries its final
 * content (as sync/tarstream.h does). Reading files blocks, so
 * agent_stream_fill runs on the threadpool for all but a save's first bytes.
 */
#ifndef DW_SYNC_AGENT_REQ_H
#define DW_SYNC_AGENT_REQ_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "sync/agent/proto.h"
#include "sync/plan.h"

struct agent_stream;

/* The stream over p's writes; p must outlive it and not change. */
struct agent_stream *agent_stream_new(const struct sync_plan *p);
/*
 * Append one 'W' frame to out: its header, the flags byte and up to `max`
 * bytes of the stream (max <= AP_FRAME_MAX - 1). Returns 1 when this frame
 * ends the stream (it carries AP_LAST), 0 when more follows, or DW_TOOBIG
 * when out's cap is hit. A file that vanished or cannot be read is skipped
 * with a warning: its removal or fix is the next change.
 */
int agent_stream_frame(struct agent_stream *st, struct buf *out, size_t max);
void agent_stream_free(struct agent_stream *st);

/* The (root, rel) split of a container path under its rule's target:
   root is `to` and rel the rest; when dst is `to` itself (or to is NULL),
   root is dst's folder and rel its last component. */
void agent_split(const char *dst, const char *to, const char **root,
		 size_t *root_len, const char **rel, size_t *rel_len);

/* Append the 'D' frame of p's deletions. Returns 0 or DW_TOOBIG (more
   than one frame holds). */
int agent_req_delete(struct buf *out, const struct sync_plan *p);
/* Append the 'X' frame of run step i: argv when the plan has its exec
   form, else the command for sh -c. Returns 0 or DW_TOOBIG. */
int agent_req_run(struct buf *out, const struct sync_plan *p, size_t i);
/* Append an 'L' frame listing one path, hashing contents when `hash`. */
int agent_req_list(struct buf *out, const char *path, bool hash);

/*
 * Take the next whole frame from the front of in: *type and its payload
 * (valid until in changes) and *used, the bytes to consume. Returns 1 when
 * a frame is there, 0 when more bytes are needed, or DW_ENGINE_PROTO when
 * a frame announces more than AP_FRAME_MAX.
 */
int agent_frame_next(const struct buf *in, char *type, const char **payload,
		     size_t *len, size_t *used);

#endif
