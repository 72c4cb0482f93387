/*
 * The journal of new paths (.devwatch/synced): every path that appears in
 * the tree while `up` runs is appended here (NUL-separated) before any
 * update can carry it into a container. The hash cache is saved a second
 * after paths come and go, so a devwatch killed with -9 may restart with a
 * cache that lacks the newest ones; with the journal it still knows that
 * they existed, and a catch-up deletes those the tree has lost since. A
 * clean end (the cache saved whole) removes the journal.
 */
#ifndef DW_JOURNAL_H
#define DW_JOURNAL_H

#include <stddef.h>

#include "base/changeset.h"

/* Append cs's added paths. Failing to write is logged, not fatal: the
   cache still knows what it had at its last save. */
void journal_append(const char *root, const struct changeset *cs);
/* Every path in the journal, in order (may repeat); NULL with *n 0 when
   there is none. Caller frees each string and the array. */
char **journal_read(const char *root, size_t *n);
void journal_remove(const char *root);

#endif
