/*
 * The journal of new paths. See journal.h. Each append opens the file
 * with O_APPEND and writes all the set's added paths in one write(2), so
 * a kill between two appends leaves whole entries.
 */
#include "up/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/util.h"

#define JOURNAL_MAX (64u << 20)

static char *journal_path(const char *root)
{
	return xasprintf("%s/.devwatch/synced", root);
}

void journal_append(const char *root, const struct changeset *cs)
{
	struct buf b;
	char *path;
	int fd;

	buf_init(&b, JOURNAL_MAX);
	for (size_t i = 0; i < cs->n; i++)
		if (cs->v[i].kind == CHANGE_ADDED)
			buf_add(&b, cs->v[i].path, strlen(cs->v[i].path) + 1);
	if (b.len == 0) {
		buf_release(&b);
		return;
	}
	path = journal_path(root);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, b.data, b.len) != (ssize_t)b.len)
		log_debug("cannot append to %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	free(path);
	buf_release(&b);
}

char **journal_read(const char *root, size_t *n)
{
	char *path = journal_path(root), **v = read_nul_list(path, JOURNAL_MAX, n);

	free(path);
	return v;
}

void journal_remove(const char *root)
{
	char *path = journal_path(root);

	if (unlink(path) != 0 && errno != ENOENT)
		log_debug("cannot remove %s: %s", path, strerror(errno));
	free(path);
}
