/*
 * A sync plan's tar, in pieces. See tarstream.h.
 *
 * State between calls: `i` is the next member to start; `fd` is the open
 * file whose data is being copied (-1 between members) and `left` the bytes
 * of it that its header still owes.
 */
#include "sync/tarstream.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "base/error.h"
#include "base/log.h"
#include "base/util.h"

#define READ_SIZE (1u << 16)

struct tar_stream {
	const struct sync_plan *p;
	const struct buf *dirs; /* written first, or NULL */
	size_t dir_at;
	struct archive *a;
	struct archive_entry *ae;
	struct buf *out; /* where the write callback appends, per fill */
	size_t i;
	int fd;
	int64_t left;
	bool closed;
	bool overflow; /* out's cap was hit: the fill fails */
	bool discard;  /* being freed unfinished: drop what comes */
	char rbuf[READ_SIZE];
};

static la_ssize_t tar_write(struct archive *a, void *arg, const void *data,
                            size_t n)
{
	struct tar_stream *ts = arg;

	(void)a;
	/* Never fail libarchive: an archive in its fatal state leaks its
	   block buffer when freed. The fill reports the overflow instead. */
	if (!ts->discard && !ts->overflow && buf_add(ts->out, data, n) != 0)
		ts->overflow = true;
	return (la_ssize_t)n;
}

struct tar_stream *tar_stream_new(const struct sync_plan *p)
{
	struct tar_stream *ts = xcalloc(1, sizeof(*ts));

	ts->p = p;
	ts->fd = -1;
	ts->a = archive_write_new();
	ts->ae = archive_entry_new();
	archive_write_set_format_gnutar(ts->a);
	archive_write_set_bytes_per_block(ts->a, READ_SIZE);
	archive_write_set_bytes_in_last_block(ts->a, 1);
	archive_write_open2(ts->a, ts, NULL, tar_write, NULL, NULL);
	return ts;
}

void tar_stream_dirs(struct tar_stream *ts, const struct buf *dirs)
{
	ts->dirs = dirs;
}

/* The next folder of ts->dirs. Returns 0 or DW_TOOBIG. */
static int put_dir(struct tar_stream *ts, char **cause)
{
	const char *d = ts->dirs->data + ts->dir_at;

	ts->dir_at += strlen(d) + 1;
	archive_entry_clear(ts->ae);
	archive_entry_set_pathname(ts->ae, d + 1);
	archive_entry_set_filetype(ts->ae, AE_IFDIR);
	archive_entry_set_perm(ts->ae, 0755);
	archive_entry_set_size(ts->ae, 0);
	archive_entry_set_mtime(ts->ae, time(NULL), 0);
	if (archive_write_header(ts->a, ts->ae) != ARCHIVE_OK) {
		dw_cause(cause, "tar %s: %s", d, archive_error_string(ts->a));
		return DW_TOOBIG;
	}
	return 0;
}

/* Write member i's header. Returns 0, 1 when it is skipped, or DW_TOOBIG. */
static int start_member(struct tar_stream *ts, const struct sync_write *w,
                        char **cause)
{
	struct stat st;
	int fd = -1;

	if (lstat(w->src, &st) != 0)
		return 1; /* gone again: its removal is the next change */
	archive_entry_clear(ts->ae);
	archive_entry_set_pathname(ts->ae, w->dst + 1);
	archive_entry_set_uid(ts->ae, 0);
	archive_entry_set_gid(ts->ae, 0);
	if (S_ISLNK(st.st_mode)) {
		ssize_t n = readlink(w->src, ts->rbuf, sizeof(ts->rbuf) - 1);

		if (n < 0)
			return 1;
		ts->rbuf[n] = '\0';
		archive_entry_set_symlink(ts->ae, ts->rbuf);
		archive_entry_set_size(ts->ae, 0);
	} else if (S_ISREG(st.st_mode)) {
		fd = open(w->src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
			int e = errno;

			if (fd >= 0)
				close(fd);
			if (e == EACCES)
				log_warn("cannot sync %s: %s", w->src,
				         strerror(e));
			return 1;
		}
		archive_entry_set_size(ts->ae, st.st_size);
	} else if (S_ISDIR(st.st_mode)) {
		archive_entry_set_size(ts->ae, 0);
	} else {
		return 1;
	}
	archive_entry_set_mode(ts->ae, st.st_mode);
	archive_entry_set_mtime(ts->ae, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	if (archive_write_header(ts->a, ts->ae) != ARCHIVE_OK) {
		if (fd >= 0)
			close(fd);
		/* One unwritable name must not hold back the rest. */
		log_warn("cannot sync %s: %s", w->dst,
		         archive_error_string(ts->a));
		return 1;
	}
	ts->fd = fd;
	ts->left = fd >= 0 ? (int64_t)st.st_size : 0;
	return 0;
}

/* Copy the current file's next piece. Returns 0 or DW_TOOBIG. */
static int copy_data(struct tar_stream *ts, const struct sync_write *w,
                     char **cause)
{
	size_t want = (size_t)DW_MIN((int64_t)sizeof(ts->rbuf), ts->left);
	ssize_t n = want > 0 ? read(ts->fd, ts->rbuf, want) : 0;

	if (n <= 0) {
		/* The end, or the file shrank: libarchive pads the entry to
		   its declared size when the next header or the end comes. */
		close(ts->fd);
		ts->fd = -1;
		ts->left = 0;
		return 0;
	}
	ts->left -= n;
	if (archive_write_data(ts->a, ts->rbuf, (size_t)n) < 0) {
		dw_cause(cause, "tar %s: %s", w->dst,
		         archive_error_string(ts->a));
		return DW_TOOBIG;
	}
	return 0;
}

int tar_stream_fill(struct tar_stream *ts, struct buf *out, size_t want,
                    char **cause)
{
	const struct sync_plan *p = ts->p;
	int rc = 0;

	ts->out = out;
	while (rc >= 0 && out->len < want) {
		if (ts->fd >= 0) {
			rc = copy_data(ts, &p->writes[ts->i - 1], cause);
		} else if (ts->dirs != NULL && ts->dir_at < ts->dirs->len) {
			rc = put_dir(ts, cause);
		} else if (ts->i < p->n_members) {
			rc = start_member(ts, &p->writes[ts->i], cause);
			ts->i++;
			if (rc > 0)
				rc = 0;
		} else {
			if (!ts->closed &&
			    archive_write_close(ts->a) != ARCHIVE_OK) {
				dw_cause(cause, "tar: %s",
				         archive_error_string(ts->a));
				return DW_TOOBIG;
			}
			ts->closed = true;
			rc = 1;
			break;
		}
		if (ts->overflow) {
			dw_cause(cause, "tar %s: more than %zu bytes",
			         ts->i > 0 ? p->writes[ts->i - 1].dst : "",
			         out->max);
			return DW_TOOBIG;
		}
	}
	if (ts->overflow) {
		dw_cause(cause, "tar: more than %zu bytes", out->max);
		return DW_TOOBIG;
	}
	return rc;
}

void tar_stream_free(struct tar_stream *ts)
{
	if (ts == NULL)
		return;
	if (ts->fd >= 0)
		close(ts->fd);
	/* An unfinished stream still closes (libarchive frees its buffers
	   only then), into nothing: out may be gone. */
	ts->discard = true;
	if (!ts->closed)
		archive_write_close(ts->a);
	archive_entry_free(ts->ae);
	archive_write_free(ts->a);
	free(ts);
}
