/*
 * Requests to the agent. See agent-req.h.
 *
 * Write-stream state between frames: `i` is the next member to start;
 * `fd` the open file being copied (-1 between members) and `left` the
 * bytes its header still owes; `link` holds a link target being sent from
 * `link_off`; `pad` is set once a file came up short, so the rest of its
 * declared size goes as zeros.
 */
#include "sync/agent-req.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/log.h"
#include "base/util.h"

#define READ_SIZE (256u << 10)

struct agent_stream {
	const struct sync_plan *p;
	size_t i;
	int fd;
	uint64_t left;
	bool pad;
	bool in_link;
	char link[AP_NAME_MAX + 1];
	size_t link_len, link_off;
	bool ended;
	char rbuf[READ_SIZE];
};

struct agent_stream *agent_stream_new(const struct sync_plan *p)
{
	struct agent_stream *st = xcalloc(1, sizeof(*st));

	st->p = p;
	st->fd = -1;
	return st;
}

void agent_stream_free(struct agent_stream *st)
{
	if (st == NULL)
		return;
	if (st->fd >= 0)
		close(st->fd);
	free(st);
}

void agent_split(const char *dst, const char *to, const char **root,
		 size_t *root_len, const char **rel, size_t *rel_len)
{
	size_t tn = to != NULL ? strlen(to) : 0;
	const char *slash;

	if (to != NULL && strcmp(to, "/") == 0 && dst[0] == '/' && dst[1] != '\0') {
		*root = "/";
		*root_len = 1;
		*rel = dst + 1;
		*rel_len = strlen(dst + 1);
		return;
	}
	if (to != NULL && tn > 0 && strncmp(dst, to, tn) == 0 && dst[tn] == '/' &&
	    dst[tn + 1] != '\0') {
		*root = to;
		*root_len = tn;
		*rel = dst + tn + 1;
		*rel_len = strlen(dst + tn + 1);
		return;
	}
	slash = strrchr(dst, '/');
	if (slash == NULL || slash == dst) {
		*root = "/";
		*root_len = 1;
	} else {
		*root = dst;
		*root_len = (size_t)(slash - dst);
	}
	*rel = slash != NULL ? slash + 1 : dst;
	*rel_len = strlen(*rel);
}

/* Add member i's header to out. Returns 0, or 1 when it is skipped. */
static int start_member(struct agent_stream *st, const struct sync_write *w,
			struct buf *out)
{
	unsigned char hdr[AP_WHDR_MAX];
	struct ap_whdr h = {0};
	struct stat s;

	if (lstat(w->src, &s) != 0)
		return 1; /* gone again: its removal is the next change */
	if (S_ISLNK(s.st_mode)) {
		ssize_t n = readlink(w->src, st->link, sizeof(st->link) - 1);

		if (n <= 0)
			return 1;
		h.kind = AP_LINK;
		h.size = (uint64_t)n;
		st->link_len = (size_t)n;
		st->link_off = 0;
		st->in_link = true;
	} else if (S_ISREG(s.st_mode)) {
		int fd = open(w->src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

		if (fd < 0 || fstat(fd, &s) != 0 || !S_ISREG(s.st_mode)) {
			int e = errno;

			if (fd >= 0)
				close(fd);
			if (e == EACCES)
				log_warn("cannot sync %s: %s", w->src, strerror(e));
			return 1;
		}
		h.kind = AP_FILE;
		h.size = (uint64_t)s.st_size;
		st->fd = fd;
		st->pad = false;
	} else if (S_ISDIR(s.st_mode)) {
		h.kind = AP_DIR;
	} else {
		return 1;
	}
	h.mode = (uint32_t)(s.st_mode & 07777);
	h.mtime_s = s.st_mtim.tv_sec;
	h.mtime_ns = (uint32_t)s.st_mtim.tv_nsec;
	agent_split(w->dst, w->to, &h.root, &h.root_len, &h.rel, &h.rel_len);
	if (h.root_len > AP_NAME_MAX || h.rel_len > AP_NAME_MAX) {
		log_warn("cannot sync %s: name too long", w->dst);
		if (st->fd >= 0)
			close(st->fd);
		st->fd = -1;
		st->in_link = false;
		return 1;
	}
	st->left = h.size;
	buf_add(out, hdr, ap_whdr_put(hdr, &h));
	return 0;
}

/* Copy up to room bytes of the current member's content. */
static void copy_content(struct agent_stream *st, struct buf *out, size_t room)
{
	size_t want = (size_t)DW_MIN((uint64_t)DW_MIN(room, sizeof(st->rbuf)), st->left);
	ssize_t n;

	if (st->in_link) {
		buf_add(out, st->link + st->link_off, want);
		st->link_off += want;
		st->left -= want;
		return;
	}
	n = st->pad || st->fd < 0 ? 0 : read(st->fd, st->rbuf, want);
	if (n <= 0) {
		/* The file shrank (or broke): zeros to the declared size. */
		st->pad = true;
		memset(st->rbuf, 0, want);
		n = (ssize_t)want;
	}
	buf_add(out, st->rbuf, (size_t)n);
	st->left -= (uint64_t)n;
}

int agent_stream_frame(struct agent_stream *st, struct buf *out, size_t max)
{
	const struct sync_plan *p = st->p;
	unsigned char hdr[AP_FRAME_HDR + 1] = {0};
	size_t start = out->len, body;

	if (max > AP_FRAME_MAX - 1)
		max = AP_FRAME_MAX - 1;
	if (out->len + sizeof(hdr) + max > out->max)
		return DW_TOOBIG;
	buf_add(out, hdr, sizeof(hdr));
	body = out->len;
	while (out->len - body < max) {
		size_t room = max - (out->len - body);

		if (st->left > 0) {
			copy_content(st, out, room);
			continue;
		}
		if (st->fd >= 0) {
			close(st->fd);
			st->fd = -1;
		}
		st->in_link = false;
		if (st->i >= p->n_members) {
			st->ended = true;
			break;
		}
		if (room < AP_WHDR_MAX && out->len > body)
			break; /* the next header goes in the next frame */
		start_member(st, &p->writes[st->i++], out);
	}
	ap_frame_put((unsigned char *)out->data + start, 'W', (uint32_t)(out->len - body + 1));
	out->data[start + AP_FRAME_HDR] = st->ended ? AP_LAST : 0;
	return st->ended ? 1 : 0;
}

/* Drop what was added from `at` on. */
static void truncate_to(struct buf *out, size_t at)
{
	out->len = at;
	if (out->data != NULL)
		out->data[at] = '\0';
}

/* Reserve a frame header at the end of out; returns its offset. */
static size_t frame_begin(struct buf *out)
{
	static const unsigned char zero[AP_FRAME_HDR];
	size_t at = out->len;

	buf_add(out, zero, sizeof(zero));
	return at;
}

static int frame_end(struct buf *out, size_t at, char type)
{
	size_t len = out->len - at - AP_FRAME_HDR;

	if (len > AP_FRAME_MAX) {
		truncate_to(out, at);
		return DW_TOOBIG;
	}
	ap_frame_put((unsigned char *)out->data + at, type, (uint32_t)len);
	return 0;
}

static int add_str16(struct buf *out, const char *s, size_t n)
{
	unsigned char l[2];

	if (n > AP_NAME_MAX)
		return DW_TOOBIG;
	ap_put_u16(l, (uint16_t)n);
	if (buf_add(out, l, 2) != 0 || buf_add(out, s, n) != 0)
		return DW_TOOBIG;
	return 0;
}

static int add_str32(struct buf *out, const char *s)
{
	unsigned char l[4];
	size_t n = strlen(s);

	ap_put_u32(l, (uint32_t)n);
	if (buf_add(out, l, 4) != 0 || buf_add(out, s, n) != 0)
		return DW_TOOBIG;
	return 0;
}

int agent_req_delete(struct buf *out, const struct sync_plan *p)
{
	size_t at = frame_begin(out), i = 0;
	int rc = 0;

	for (const char *s = p->deletes.data; rc == 0 && s != NULL &&
	     s < p->deletes.data + p->deletes.len; s += strlen(s) + 1, i++) {
		const char *root, *rel;
		size_t rl, ll;

		agent_split(s, p->delete_to != NULL && i < p->n_deletes ? p->delete_to[i] : NULL,
			    &root, &rl, &rel, &ll);
		rc = add_str16(out, root, rl);
		if (rc == 0)
			rc = add_str16(out, rel, ll);
	}
	if (rc != 0) {
		truncate_to(out, at);
		return rc;
	}
	return frame_end(out, at, 'D');
}

int agent_req_run(struct buf *out, const struct sync_plan *p, size_t i)
{
	char *const *argv = p->run_argv != NULL ? p->run_argv[i] : NULL;
	size_t at = frame_begin(out);
	int rc = 0;

	if (argv != NULL) {
		unsigned char b[5];
		size_t n = 0;

		while (argv[n] != NULL)
			n++;
		b[0] = AP_RUN_ARGV;
		ap_put_u32(b + 1, (uint32_t)n);
		buf_add(out, b, 5);
		for (size_t k = 0; rc == 0 && k < n; k++)
			rc = add_str32(out, argv[k]);
	} else {
		buf_addc(out, AP_RUN_SHELL);
		rc = add_str32(out, p->runs[i]);
	}
	if (rc != 0) {
		truncate_to(out, at);
		return rc;
	}
	return frame_end(out, at, 'X');
}

int agent_req_list(struct buf *out, const char *path, bool hash)
{
	size_t at = frame_begin(out);
	int rc;

	buf_addc(out, hash ? AP_HASH : 0);
	rc = add_str16(out, path, strlen(path));
	if (rc != 0) {
		truncate_to(out, at);
		return rc;
	}
	return frame_end(out, at, 'L');
}

int agent_frame_next(const struct buf *in, char *type, const char **payload,
		     size_t *len, size_t *used)
{
	uint32_t n;

	if (in->len < AP_FRAME_HDR)
		return 0;
	if (ap_frame_get((const unsigned char *)in->data, type, &n, AP_FRAME_MAX) != 0)
		return DW_ENGINE_PROTO;
	if (in->len < AP_FRAME_HDR + (size_t)n)
		return 0;
	*payload = in->data + AP_FRAME_HDR;
	*len = n;
	*used = AP_FRAME_HDR + (size_t)n;
	return 1;
}
