/*
 * The tar of a sync plan's writes, produced piece by piece, so a large
 * change streams into the container while later files are still being read
 * instead of being built whole in memory first. Reading files blocks, so
 * tar_stream_fill runs on the threadpool; a stream is used by one thread at
 * a time and touches no loop object.
 *
 * Member names are the absolute container paths without the leading '/'.
 * A file is read once, up to the size its header declared: a file that grows
 * meanwhile is cut there and one that shrinks is padded, and either way the
 * watcher's next change set carries its final content.
 */
#ifndef DW_SYNC_TARSTREAM_H
#define DW_SYNC_TARSTREAM_H

#include <stddef.h>

#include "base/buf.h"
#include "sync/plan.h"

struct tar_stream;

/* A stream over p's writes. p must outlive the stream and not change. */
struct tar_stream *tar_stream_new(const struct sync_plan *p);
/* Before the first fill: the tar starts with these folders (NUL-separated
   absolute container paths; dirs must outlive the stream), mode 0755,
   owned by root. The archive API puts a folder in place of whatever is
   at its path that is not a folder: a symlink there is replaced, not
   followed. */
void tar_stream_dirs(struct tar_stream *ts, const struct buf *dirs);
/*
 * Append the next bytes of the tar to out until it holds at least `want`
 * bytes or the tar is complete. Returns 1 when the tar is complete (end
 * blocks included), 0 when more follows, or DW_TOOBIG when out's cap is hit
 * (*cause says which file). A file that vanished or cannot be read is
 * skipped with a warning: its removal or fix is the next change.
 */
int tar_stream_fill(struct tar_stream *ts, struct buf *out, size_t want,
                    char **cause);
void tar_stream_free(struct tar_stream *ts);

#endif
