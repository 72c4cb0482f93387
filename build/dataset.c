/*
 * Dataset copy-out. See dataset.h. The tar arrives on the loop and goes to a
 * file in the temporary folder; extraction and the swap run on the
 * threadpool, with inputs copied in and nothing of the loop touched.
 */
#include "build/dataset.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "base/error.h"
#include "base/util.h"

#define NAME_MAX_LEN 4096

struct copy {
	uv_work_t work;
	struct engine *e;
	char *tmp;	/* SINK.devwatch-XXXXXX */
	char *sink;
	char *path;	/* in the container, for messages */
	int fd;
	uint64_t got;
	int err;
	char *msg;
	struct dataset_stats st;
	dataset_done_cb cb;
	void *arg;
};

const char *dataset_size(uint64_t bytes, char *buf, size_t n)
{
	if (bytes < 1024)
		snprintf(buf, n, "%llu B", (unsigned long long)bytes);
	else if (bytes < 1024 * 1024)
		snprintf(buf, n, "%.1f KiB", (double)bytes / 1024);
	else if (bytes < 1024ull * 1024 * 1024)
		snprintf(buf, n, "%.1f MiB", (double)bytes / (1024 * 1024));
	else
		snprintf(buf, n, "%.2f GiB", (double)bytes / (1024.0 * 1024 * 1024));
	return buf;
}

/* ---- removing trees ---- */

static int open_up(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)f;
	if (flag == FTW_D && (st->st_mode & 0700) != 0700)
		chmod(p, (st->st_mode & 07777) | 0700);
	return 0;
}

static int remove_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st, (void)f;
	if (flag == FTW_DP)
		return rmdir(p) != 0 && errno != ENOENT ? -1 : 0;
	return unlink(p) != 0 && errno != ENOENT ? -1 : 0;
}

int dataset_remove_tree(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlink(path) == 0 ? 0 : -errno;
	/* A folder copied out read-only cannot lose its entries until it is
	   writable again: open every folder up first, then remove depth first. */
	nftw(path, open_up, 16, FTW_PHYS);
	return nftw(path, remove_one, 16, FTW_PHYS | FTW_DEPTH) == 0 ? 0 : -errno;
}

int dataset_clean_temp(const char *sink_abs)
{
	char *pat = xasprintf("%s.devwatch-*", sink_abs);
	glob_t g;
	int n = 0;

	if (glob(pat, GLOB_NOSORT, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++)
			if (dataset_remove_tree(g.gl_pathv[i]) == 0)
				n++;
		globfree(&g);
	}
	free(pat);
	return n;
}

/* ---- member names ---- */

/* Normalise a member name: '.' and empty components dropped. Fails on an
   absolute name, a "..", or one too long. */
static int clean_name(const char *raw, char *out, size_t n)
{
	size_t o = 0;

	if (raw[0] == '/')
		return -1;
	for (const char *p = raw; *p != '\0';) {
		const char *e = strchr(p, '/');
		size_t len = e != NULL ? (size_t)(e - p) : strlen(p);

		if (len == 2 && p[0] == '.' && p[1] == '.')
			return -1;
		if (len > 0 && !(len == 1 && p[0] == '.')) {
			if (o + len + 2 > n)
				return -1;
			if (o > 0)
				out[o++] = '/';
			memcpy(out + o, p, len);
			o += len;
		}
		p += len;
		if (*p == '/')
			p++;
	}
	out[o] = '\0';
	return 0;
}

/* The engine names members after the path's base name ("out/x" for
   /out): strip it. *root is set for the base folder itself. */
static int strip_base(const char *clean, const char *base, const char **rest,
		      bool *root)
{
	size_t bl = strlen(base);

	*root = false;
	if (strcmp(clean, base) == 0) {
		*root = true;
		*rest = clean;
		return 0;
	}
	if (strncmp(clean, base, bl) == 0 && clean[bl] == '/') {
		*rest = clean + bl + 1;
		return 0;
	}
	return -1;
}

/* Does a symlink at `member` (inside the sink) pointing to `target` stay
   inside the sink? Only leading ".." components count as safe: after a
   name, ".." would climb from wherever that name (maybe a link) leads. */
static bool link_stays_in(const char *member, const char *target)
{
	bool named = false;
	int depth = 0;

	if (target[0] == '/' || target[0] == '\0')
		return false;
	for (const char *p = member; (p = strchr(p, '/')) != NULL; p++)
		depth++;
	for (const char *p = target; *p != '\0';) {
		const char *e = strchr(p, '/');
		size_t len = e != NULL ? (size_t)(e - p) : strlen(p);

		if (len == 2 && p[0] == '.' && p[1] == '.') {
			if (named || --depth < 0)
				return false;
		} else if (len > 0 && !(len == 1 && p[0] == '.')) {
			named = true;
			depth++;
		}
		p += len;
		if (*p == '/')
			p++;
	}
	return true;
}

static void refuse(struct dataset_stats *st, const char *name, const char *why)
{
	if (st->refused++ == 0)
		snprintf(st->first_refused, sizeof(st->first_refused), "%.160s: %s",
			 name, why);
}

/* ---- extraction ---- */

static int copy_data(struct archive *in, struct archive *out)
{
	const void *buf;
	size_t size;
	la_int64_t off;
	int r;

	while ((r = archive_read_data_block(in, &buf, &size, &off)) == ARCHIVE_OK)
		if (archive_write_data_block(out, buf, size, off) != ARCHIVE_OK)
			return -1;
	return r == ARCHIVE_EOF ? 0 : -1;
}

/* One member: decide, then write it below dest. Returns 0 (written, or
   refused and counted) or -1 when the tar itself is broken. */
static int one_member(struct archive *in, struct archive *out,
		      struct archive_entry *ae, const char *dest, char *base,
		      struct dataset_stats *st)
{
	char clean[NAME_MAX_LEN], lclean[NAME_MAX_LEN], *full;
	const char *raw = archive_entry_pathname(ae), *rest, *lrest;
	const char *hl = archive_entry_hardlink(ae);
	mode_t type = archive_entry_filetype(ae);
	bool root, lroot;
	int rc = 0;

	if (raw == NULL || clean_name(raw, clean, sizeof(clean)) != 0 || clean[0] == '\0') {
		refuse(st, raw != NULL ? raw : "?", "an absolute name or '..'");
		return 0;
	}
	if (base[0] == '\0')
		snprintf(base, NAME_MAX_LEN, "%.*s", (int)strcspn(clean, "/"), clean);
	if (strip_base(clean, base, &rest, &root) != 0) {
		refuse(st, raw, "outside the dataset's path");
		return 0;
	}
	if (root && type == AE_IFDIR) {
		chmod(dest, (archive_entry_perm(ae) & 07777) | 0700);
		return 0;
	}
	if (hl != NULL) {
		if (clean_name(hl, lclean, sizeof(lclean)) != 0 ||
		    strip_base(lclean, base, &lrest, &lroot) != 0 || lroot) {
			refuse(st, raw, "a hardlink to a file outside the sink");
			return 0;
		}
		full = xasprintf("%s/%s", dest, lrest);
		archive_entry_set_hardlink(ae, full);
		free(full);
	} else if (type == AE_IFLNK) {
		const char *t = archive_entry_symlink(ae);

		if (t == NULL || !link_stays_in(rest, t)) {
			refuse(st, raw, "a symlink pointing out of the sink");
			return 0;
		}
	} else if (type != AE_IFREG && type != AE_IFDIR) {
		st->skipped++;
		return 0;
	}
	full = xasprintf("%s/%s", dest, rest);
	archive_entry_set_pathname(ae, full);
	free(full);
	/* Modes as they were, without set-user or set-group bits. */
	archive_entry_set_perm(ae, archive_entry_perm(ae) & 01777);
	archive_entry_set_uid(ae, getuid());
	archive_entry_set_gid(ae, getgid());
	if (archive_write_header(out, ae) != ARCHIVE_OK) {
		/* libarchive's own guard: a path through a symlink, say. */
		refuse(st, raw, archive_error_string(out));
		return 0;
	}
	if (type == AE_IFREG && hl == NULL) {
		st->files++;
		st->bytes += (uint64_t)archive_entry_size(ae);
		rc = copy_data(in, out);
	}
	if (archive_write_finish_entry(out) != ARCHIVE_OK)
		refuse(st, raw, archive_error_string(out));
	return rc;
}

int dataset_extract(const char *tar_path, const char *dest,
		    struct dataset_stats *st, char **cause)
{
	struct archive *in = archive_read_new(), *out = archive_write_disk_new();
	struct archive_entry *ae;
	char *base = xcalloc(1, NAME_MAX_LEN);
	int r, err = 0;

	memset(st, 0, sizeof(*st));
	archive_read_support_format_tar(in);
	archive_read_support_format_gnutar(in);
	archive_write_disk_set_options(out, ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
						    ARCHIVE_EXTRACT_SECURE_SYMLINKS |
						    ARCHIVE_EXTRACT_SECURE_NODOTDOT |
						    ARCHIVE_EXTRACT_NO_OVERWRITE);
	if (archive_read_open_filename(in, tar_path, 64 << 10) != ARCHIVE_OK) {
		dw_cause(cause, "cannot read the tar: %s", archive_error_string(in));
		err = DW_ENGINE_PROTO;
		goto out;
	}
	while ((r = archive_read_next_header(in, &ae)) == ARCHIVE_OK ||
	       r == ARCHIVE_WARN) {
		if (one_member(in, out, ae, dest, base, st) != 0) {
			dw_cause(cause, "the tar breaks off: %s", archive_error_string(in));
			err = DW_ENGINE_PROTO;
			goto out;
		}
	}
	if (r != ARCHIVE_EOF) {
		dw_cause(cause, "cannot read the tar: %s", archive_error_string(in));
		err = DW_ENGINE_PROTO;
	}
out:
	/* Closing applies the folders' own modes, deferred until now. */
	archive_write_close(out);
	archive_write_free(out);
	archive_read_free(in);
	free(base);
	return err;
}

int dataset_install(const char *fresh, const char *sink_abs, char **cause)
{
	struct stat st;

	if (lstat(sink_abs, &st) != 0) {
		if (rename(fresh, sink_abs) == 0)
			return 0;
	} else if (renameat2(AT_FDCWD, fresh, AT_FDCWD, sink_abs, RENAME_EXCHANGE) == 0) {
		/* `fresh` now holds the previous copy. */
		return dataset_remove_tree(fresh);
	}
	dw_cause(cause, "cannot move the copy into '%s': %s", sink_abs, strerror(errno));
	return -errno;
}

/* ---- the engine side ---- */

static void mkdir_parents(const char *path)
{
	char *p = xstrdup(path);

	for (char *q = p + 1; *q != '\0'; q++) {
		if (*q == '/') {
			*q = '\0';
			mkdir(p, 0755);
			*q = '/';
		}
	}
	free(p);
}

static void copy_free(struct copy *c)
{
	if (c->fd >= 0)
		close(c->fd);
	if (c->tmp != NULL)
		dataset_remove_tree(c->tmp);
	free(c->tmp);
	free(c->sink);
	free(c->path);
	free(c->msg);
	free(c);
}

static void copy_end(struct copy *c)
{
	c->cb(c->err, &c->st, c->msg, c->arg);
	copy_free(c);
}

static int on_bytes(int stream, const char *data, size_t len, void *arg)
{
	struct copy *c = arg;

	(void)stream;
	c->got += len;
	if (c->got > DATASET_TAR_MAX)
		return -1;
	while (len > 0) {
		ssize_t n = write(c->fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

static void extract_work(uv_work_t *w)
{
	struct copy *c = container_of(w, struct copy, work);
	char *tar = xasprintf("%s/tar", c->tmp), *fresh = xasprintf("%s/new", c->tmp);
	char *cause = NULL;

	if (mkdir(fresh, 0755) != 0) {
		c->err = -errno;
		c->msg = xasprintf("cannot make '%s': %s", fresh, strerror(errno));
	} else if ((c->err = dataset_extract(tar, fresh, &c->st, &cause)) != 0 ||
		   (c->err = dataset_install(fresh, c->sink, &cause)) != 0) {
		c->msg = cause;
		cause = NULL;
	}
	free(cause);
	free(tar);
	free(fresh);
}

static void extract_done(uv_work_t *w, int status)
{
	struct copy *c = container_of(w, struct copy, work);

	if (status != 0 && c->err == 0) {
		c->err = status;
		c->msg = xstrdup(dw_strerror(status));
	}
	copy_end(c);
}

static void on_archive(struct engine_req *req, int err,
		       const struct engine_resp *resp, void *arg)
{
	struct copy *c = arg;

	(void)req;
	close(c->fd);
	c->fd = -1;
	if (err != 0 || resp->status != 200) {
		char *m = err != 0 ? xstrdup(c->got > DATASET_TAR_MAX ? "larger than 4 GiB"
									: dw_strerror(err))
				   : engine_error_message(resp->body, resp->len);

		c->err = err != 0 ? err : resp->status == 404 ? DW_NOTFOUND : DW_ENGINE_HTTP;
		c->msg = xasprintf("cannot copy '%s' out: %s", c->path, m);
		free(m);
		copy_end(c);
		return;
	}
	if (uv_queue_work(engine_loop(c->e), &c->work, extract_work, extract_done) != 0) {
		c->err = DW_ENGINE_PROTO;
		c->msg = xstrdup("cannot queue the extraction");
		copy_end(c);
	}
}

int dataset_copy_out(struct engine *e, const char *id, const struct dataset *d,
		     dataset_done_cb cb, void *arg)
{
	struct copy *c = xcalloc(1, sizeof(*c));
	char *tar, *enc, *path;
	int err;

	c->e = e;
	c->fd = -1;
	c->sink = xstrdup(d->sink_abs);
	c->path = xstrdup(d->path);
	c->cb = cb;
	c->arg = arg;
	mkdir_parents(d->sink_abs);
	c->tmp = xasprintf("%s.devwatch-XXXXXX", d->sink_abs);
	if (mkdtemp(c->tmp) == NULL) {
		err = -errno;
		free(c->tmp);
		c->tmp = NULL;
		copy_free(c);
		return err;
	}
	tar = xasprintf("%s/tar", c->tmp);
	c->fd = open(tar, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	free(tar);
	if (c->fd < 0) {
		err = -errno;
		copy_free(c);
		return err;
	}
	enc = engine_urlencode(d->path);
	path = xasprintf("/containers/%s/archive?path=%s", id, enc);
	err = engine_request(e, &(struct engine_call){.method = "GET", .path = path,
						      .on_frame = on_bytes, .raw_stream = true,
						      .stream_arg = c, .timeout_ms = 600000},
			     on_archive, c, NULL);
	free(enc);
	free(path);
	if (err != 0)
		copy_free(c);
	return err;
}
