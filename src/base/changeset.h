/*
 * A change set: what really changed in the source tree between two settled
 * states, as plain data. watch/ produces it; sync/ and the up session consume
 * it. It lives in base/ because watch/ and sync/ sit side by side and may not
 * use each other.
 *
 * Paths are relative to the project root, '/'-separated, with no leading
 * "./" and no trailing '/'. Entries are sorted by path (strcmp), one entry per
 * path.
 */
#ifndef DW_BASE_CHANGESET_H
#define DW_BASE_CHANGESET_H

#include <stddef.h>
#include <stdint.h>

enum change_kind { CHANGE_ADDED, CHANGE_MODIFIED, CHANGE_REMOVED };
enum change_type { CTYPE_FILE, CTYPE_DIR, CTYPE_SYMLINK };

struct change {
	char *path;
	enum change_kind kind;
	enum change_type type; /* for removals, the type it had */
	uint32_t mode;	       /* st_mode permission bits (07777) */
	uint64_t size;
	char *link_target;     /* symlinks: the target as read; else NULL */
	uint64_t hash_hi, hash_lo; /* XXH3-128 of content (files) */
};

struct changeset {
	struct change *v;
	size_t n, alloc;
	uint64_t first_event_ns; /* now_ns() of the earliest event behind it */
	uint64_t settled_ns;	 /* when the latest of it settled (hashing began) */
	uint64_t hashed_ns;	 /* when the latest of it was hashed (delivered) */
};

void changeset_init(struct changeset *cs);
/* Append a copy of c (strings duplicated). */
void changeset_add(struct changeset *cs, const struct change *c);
/* Sort by path and fold repeated paths (later entries win, with
   added+removed cancelling and removed+added becoming modified). */
void changeset_normalize(struct changeset *cs);
/*
 * Merge `more` into `into` as if `more` happened after: used for the pending
 * set of a container while an update is in flight. `more` is left empty.
 */
void changeset_merge(struct changeset *into, struct changeset *more);
/* The same with a copy of cs, which stays as it is (one change set
   merged into several pending sets). */
void changeset_merge_copy(struct changeset *into, const struct changeset *cs);
void changeset_release(struct changeset *cs);
/* {"added":[...],"modified":[...],"removed":[...]} — caller frees. */
char *changeset_to_json(const struct changeset *cs);

#endif
