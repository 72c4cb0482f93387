/*
 * Datasets (DESIGN.md section 10): when a container stops, each dataset's
 * path is copied out through the engine's archive API into its sink, a
 * folder inside the project, replacing the previous copy whole.
 *
 * The tar streams into a temporary folder beside the sink
 * ("SINK.devwatch-XXXXXX"), is extracted there on the threadpool, and the
 * result is swapped with the sink in one rename. Modes are kept and
 * symlinks stay links. Nothing is written outside the sink whatever the tar
 * holds: a member with an absolute name or a "..", a symlink whose target
 * leaves the sink, a hardlink to anything outside it, and a member that
 * would pass through a symlink are refused (and counted), and device nodes
 * and fifos are skipped.
 */
#ifndef DW_BUILD_DATASET_H
#define DW_BUILD_DATASET_H

#include <stdint.h>

#include "engine/engine.h"
#include "project/project.h"

#define DATASET_TAR_MAX (4ull << 30)

struct dataset_stats {
	uint64_t files;		/* regular files written */
	uint64_t bytes;		/* their sizes */
	uint64_t refused;	/* members refused as unsafe */
	uint64_t skipped;	/* device nodes, fifos */
	char first_refused[256];/* "NAME: why" of the first one refused */
};

/*
 * Copy d->path out of container `id` into d->sink_abs. cb runs once on the
 * loop thread with 0 and the stats, or a negative code and a message (the
 * previous sink is then left as it was). Returns 0, or a negative code
 * without calling cb.
 */
typedef void (*dataset_done_cb)(int err, const struct dataset_stats *st,
				const char *msg, void *arg);
int dataset_copy_out(struct engine *e, const char *id, const struct dataset *d,
		     dataset_done_cb cb, void *arg);

/* Extract the engine's tar of a path (its first component is the path's
   base name) from tar_path into the existing folder dest. Blocking. Returns
   0, or a negative code with *cause for a tar that cannot be read. */
int dataset_extract(const char *tar_path, const char *dest,
		    struct dataset_stats *st, char **cause);

/* Make `fresh` (a folder) the sink: swap it in with one rename, then
   remove the old copy. Blocking. Returns 0 or a negative code. */
int dataset_install(const char *fresh, const char *sink_abs, char **cause);

/* Remove every "SINK.devwatch-*" folder a killed devwatch left beside the
   sink. Returns how many, or a negative code. */
int dataset_clean_temp(const char *sink_abs);

/* Remove a tree without following links, even with read-only folders. */
int dataset_remove_tree(const char *path);

/* "12.3 KiB" into buf. */
const char *dataset_size(uint64_t bytes, char *buf, size_t n);

#endif
