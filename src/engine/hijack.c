/*
 * Hijacked connections: exec start (and attach) with `Upgrade: tcp`. curl
 * cannot hand over a connection after a 101, so this is a raw libuv stream:
 * write the HTTP request, read the answer's head (capped), and from then on
 * pass bytes both ways untouched. This is the live-update fast channel, so it
 * copies each write once and sets TCP_NODELAY on TCP.
 *
 * The stream is a unix socket, TCP (an IPv6 literal is resolved without its
 * brackets), TLS over TCP (tls.c: the HTTP request waits for the handshake;
 * reads are decrypted before the head parser sees them, writes encrypted
 * before they are queued), or an ssh:// engine's local socket (ssh.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "base/util.h"
#include "engine/engine-int.h"

#define HIJACK_HEAD_MAX (16u << 10)
#define HIJACK_READ_SIZE (64u << 10)

struct engine_hijack {
	union {
		uv_handle_t handle;
		uv_stream_t stream;
		uv_pipe_t pipe;
		uv_tcp_t tcp;
	} u;
	uv_connect_t conn;
	uv_getaddrinfo_t gai;
	struct engine *e;
	char *request;
	struct buf head;
	size_t pending;
	bool upgraded;
	bool closed;
	bool initialized;
	bool gai_pending;    /* the resolver still holds h */
	bool handle_closed;  /* uv_close finished */
	bool tls_on;	     /* tls holds a session */
	bool tls_ready;	     /* its handshake finished */
	struct engine_tls tls;
	char *plain;	     /* decrypted bytes (TLS only) */
	engine_hijack_open_cb open_cb;
	engine_hijack_read_cb read_cb;
	void *arg;
	engine_hijack_drain_cb drain_cb;  /* once pending <= drain_below */
	void *drain_arg;
	size_t drain_below;
	struct engine_hijack *next;
	char rbuf[HIJACK_READ_SIZE];
};

struct hijack_write {
	uv_write_t req;
	struct engine_hijack *h;
	size_t n;
	char *owned;	/* the caller's buffer, freed when written */
	char data[];
};

static void unlink_hijack(struct engine_hijack *h)
{
	struct engine_hijack **pp;

	for (pp = &h->e->hijacks; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == h) {
			*pp = h->next;
			return;
		}
	}
}

/* Report a failure before the upgrade, once, and stop. */
static void fail_open(struct engine_hijack *h, int err)
{
	engine_hijack_open_cb cb = h->open_cb;

	h->open_cb = NULL;
	if (h->closed || cb == NULL)
		return;
	cb(h, err, h->arg);
}

static void on_alloc(uv_handle_t *handle, size_t hint, uv_buf_t *b)
{
	struct engine_hijack *h = (struct engine_hijack *)handle;

	(void)hint;
	*b = uv_buf_init(h->rbuf, sizeof(h->rbuf));
}

int engine_hijack_parse_head(const char *data, size_t len, size_t *used)
{
	const char *end, *p = data;
	int status = 0;

	if (len < 4)
		return 0;
	end = memmem(data, len, "\r\n\r\n", 4);
	if (end == NULL)
		return len >= HIJACK_HEAD_MAX ? DW_TOOBIG : 0;
	*used = (size_t)(end - data) + 4;
	/* The status line: "HTTP/1.x NNN" then a space or its end. */
	if (end - data < 12 || memcmp(p, "HTTP/1.", 7) != 0 || p[7] < '0' ||
	    p[7] > '9' || p[8] != ' ')
		return DW_ENGINE_PROTO;
	for (p += 9; p < data + 12; p++) {
		if (*p < '0' || *p > '9')
			return DW_ENGINE_PROTO;
		status = status * 10 + (*p - '0');
	}
	if (*p != ' ' && *p != '\r')
		return DW_ENGINE_PROTO;
	if (status == 101 || status == 200)
		return 1;
	return status == 404 ? DW_NOTFOUND : DW_ENGINE_HTTP;
}

/* Bytes of the HTTP exchange (decrypted when TLS), or n < 0 at the end. */
static void got_plain(struct engine_hijack *h, const char *data, ssize_t n)
{
	size_t used = 0, before;
	int rc;

	if (h->upgraded) {
		if (n != 0)
			h->read_cb(h, data, n, h->arg);
		if (n < 0 && !h->closed)
			uv_read_stop(&h->u.stream);
		return;
	}
	if (n < 0) {
		uv_read_stop(&h->u.stream);
		fail_open(h, n == UV_EOF ? DW_ENGINE_PROTO : (int)n);
		return;
	}
	before = h->head.len;
	if (buf_add(&h->head, data, (size_t)n) != 0) {
		uv_read_stop(&h->u.stream);
		fail_open(h, DW_TOOBIG);
		return;
	}
	rc = engine_hijack_parse_head(h->head.data, h->head.len, &used);
	if (rc == 0)
		return;
	if (rc < 0) {
		if (rc != DW_ENGINE_PROTO && rc != DW_TOOBIG)
			log_debug("hijack: engine answered %.*s", (int)DW_MIN(used, 200u),
				  h->head.data);
		uv_read_stop(&h->u.stream);
		fail_open(h, rc);
		return;
	}
	h->upgraded = true;
	{
		engine_hijack_open_cb cb = h->open_cb;
		size_t rest_off = used - before;
		size_t rest = (size_t)n - rest_off;

		h->open_cb = NULL;
		buf_release(&h->head);
		cb(h, 0, h->arg);
		if (!h->closed && rest > 0)
			h->read_cb(h, data + rest_off, (ssize_t)rest, h->arg);
	}
}

static int send_request(struct engine_hijack *h);
static int tls_flush(struct engine_hijack *h);

/* Ciphertext from the engine: finish the handshake, then decrypt. */
static void got_tls(struct engine_hijack *h, const char *data, ssize_t n)
{
	ssize_t m;
	int rc;

	if (n < 0) {
		got_plain(h, NULL, n);
		return;
	}
	engine_tls_feed(&h->tls, data, (size_t)n);
	if (!h->tls_ready) {
		rc = engine_tls_handshake(h->e, &h->tls);
		if (rc >= 0 && tls_flush(h) != 0)
			rc = DW_ENGINE_DOWN;
		if (rc == 0)
			return;
		if (rc < 0 || send_request(h) != 0) {
			uv_read_stop(&h->u.stream);
			fail_open(h, DW_ENGINE_DOWN);
			return;
		}
		h->tls_ready = true;
	}
	while (!h->closed) {
		m = engine_tls_read(&h->tls, h->plain, HIJACK_READ_SIZE);
		if (m == 0)
			break;
		got_plain(h, h->plain, m);
		if (m < 0)
			break;
	}
	if (!h->closed)
		tls_flush(h); /* TLS 1.3 may answer tickets or key updates */
}

static void on_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *b)
{
	struct engine_hijack *h = (struct engine_hijack *)stream;

	if (h->closed)
		return;
	if (h->tls_on)
		got_tls(h, b->base, n);
	else
		got_plain(h, b->base, n);
}

static void on_written(uv_write_t *req, int status)
{
	struct hijack_write *w = (struct hijack_write *)req;
	struct engine_hijack *h = w->h;
	engine_hijack_drain_cb cb = h->drain_cb;

	h->pending -= w->n;
	if (status < 0 && status != UV_ECANCELED)
		log_debug("hijack: write failed: %s", uv_strerror(status));
	free(w->owned);
	free(w);
	if (cb != NULL && !h->closed && h->pending <= h->drain_below) {
		h->drain_cb = NULL;
		cb(h, h->drain_arg);
	}
}

/* Queue n bytes on the stream as they are: copied, or, with owned set,
   data itself, freed once written (also on failure). */
static int stream_write(struct engine_hijack *h, const void *data, size_t n,
			bool owned)
{
	struct hijack_write *w = xmalloc(sizeof(*w) + (owned ? 0 : n));
	uv_buf_t b;
	int rc;

	w->h = h;
	w->n = n;
	w->owned = owned ? (char *)data : NULL;
	if (!owned)
		memcpy(w->data, data, n);
	b = uv_buf_init(owned ? w->owned : w->data, (unsigned)n);
	rc = uv_write(&w->req, &h->u.stream, &b, 1, on_written);
	if (rc != 0) {
		free(w->owned);
		free(w);
		return rc;
	}
	h->pending += n;
	return 0;
}

/* Send what OpenSSL has produced. */
static int tls_flush(struct engine_hijack *h)
{
	size_t n;
	char *out = engine_tls_take(&h->tls, &n);

	return out != NULL ? stream_write(h, out, n, true) : 0;
}

/* Queue n bytes of the exchange, encrypted first on a TLS stream. */
static int raw_write(struct engine_hijack *h, const void *data, size_t n,
		     bool owned)
{
	int rc;

	if (!h->tls_on)
		return stream_write(h, data, n, owned);
	rc = engine_tls_write(&h->tls, data, n);
	if (owned)
		free((void *)data);
	return rc != 0 ? rc : tls_flush(h);
}

static int send_request(struct engine_hijack *h)
{
	int rc = raw_write(h, h->request, strlen(h->request), false);

	free(h->request);
	h->request = NULL;
	return rc;
}

/* The stream is open: start TLS or send the request, and read. */
static int stream_open(struct engine_hijack *h)
{
	int rc;

	if (h->e->t.transport == ENGINE_TCP)
		uv_tcp_nodelay(&h->u.tcp, 1);
	if (h->e->t.tls) {
		rc = engine_tls_start(h->e, &h->tls);
		if (rc != 0)
			return rc;
		h->tls_on = true;
		h->plain = xmalloc(HIJACK_READ_SIZE);
		rc = engine_tls_handshake(h->e, &h->tls);
		if (rc >= 0)
			rc = tls_flush(h);
	} else {
		rc = send_request(h);
	}
	if (rc == 0)
		rc = uv_read_start(&h->u.stream, on_alloc, on_read);
	return rc;
}

static void on_connect(uv_connect_t *c, int status)
{
	struct engine_hijack *h = c->data;
	int rc;

	if (h->closed)
		return;
	if (status < 0) {
		free(h->e->down_reason);
		h->e->down_reason = xstrdup(uv_strerror(status));
		fail_open(h, DW_ENGINE_DOWN);
		return;
	}
	rc = stream_open(h);
	if (rc != 0)
		fail_open(h, rc);
}

static void on_resolved(uv_getaddrinfo_t *g, int status, struct addrinfo *ai)
{
	struct engine_hijack *h = g->data;
	int rc;

	h->gai_pending = false;
	if (h->closed) {
		uv_freeaddrinfo(ai);
		if (h->handle_closed)
			free(h);
		return;
	}
	if (status < 0) {
		uv_freeaddrinfo(ai);
		fail_open(h, DW_ENGINE_DOWN);
		return;
	}
	rc = uv_tcp_connect(&h->conn, &h->u.tcp, ai->ai_addr, on_connect);
	uv_freeaddrinfo(ai);
	if (rc != 0)
		fail_open(h, DW_ENGINE_DOWN);
}

int engine_hijack_open(struct engine *e, const char *path, const char *body,
		       engine_hijack_open_cb open_cb,
		       engine_hijack_read_cb read_cb, void *arg,
		       struct engine_hijack **out)
{
	struct engine_hijack *h;
	const char *api = engine_api_version(e);
	size_t blen = body != NULL ? strlen(body) : 0;
	int rc;

	if (api == NULL || e->closing)
		return DW_ENGINE_DOWN;
	h = xcalloc(1, sizeof(*h));
	h->e = e;
	h->open_cb = open_cb;
	h->read_cb = read_cb;
	h->arg = arg;
	h->conn.data = h;
	h->gai.data = h;
	buf_init(&h->head, HIJACK_HEAD_MAX);
	h->request = xasprintf("POST /v%s%s HTTP/1.1\r\n"
			       "Host: localhost\r\n"
			       "Content-Type: application/json\r\n"
			       "Connection: Upgrade\r\n"
			       "Upgrade: tcp\r\n"
			       "Content-Length: %zu\r\n\r\n%s",
			       api, path, blen, body != NULL ? body : "");
	if (e->t.transport != ENGINE_TCP) {
		rc = uv_pipe_init(e->loop, &h->u.pipe, 0);
		if (rc == 0) {
			h->initialized = true;
			uv_pipe_connect(&h->conn, &h->u.pipe,
					e->t.transport == ENGINE_SSH
						? e->ssh_sock
						: e->t.sock_path,
					on_connect);
		}
	} else {
		char port[16];
		struct addrinfo hints = {.ai_family = AF_UNSPEC,
					 .ai_socktype = SOCK_STREAM};

		snprintf(port, sizeof(port), "%d", e->t.port);
		rc = uv_tcp_init(e->loop, &h->u.tcp);
		if (rc == 0) {
			h->initialized = true;
			rc = uv_getaddrinfo(e->loop, &h->gai, on_resolved,
					    e->t.host, port, &hints);
			h->gai_pending = rc == 0;
		}
	}
	if (rc != 0) {
		bool init = h->initialized;

		free(h->request);
		buf_release(&h->head);
		if (!init) {
			free(h);
		} else {
			/* A half-made handle still closes through the loop. */
			h->next = e->hijacks;
			e->hijacks = h;
			engine_hijack_close(h);
		}
		return rc;
	}
	h->next = e->hijacks;
	e->hijacks = h;
	if (out != NULL)
		*out = h;
	return 0;
}

int engine_hijack_write(struct engine_hijack *h, const void *data, size_t n)
{
	if (h->closed || !h->upgraded)
		return UV_ENOTCONN;
	if (n == 0)
		return 0;
	return raw_write(h, data, n, false);
}

int engine_hijack_write_owned(struct engine_hijack *h, char *data, size_t n)
{
	if (h->closed || !h->upgraded || n == 0) {
		free(data);
		return n == 0 ? 0 : UV_ENOTCONN;
	}
	return raw_write(h, data, n, true);
}

void engine_hijack_on_drain(struct engine_hijack *h, size_t below,
			    engine_hijack_drain_cb cb, void *arg)
{
	h->drain_below = below;
	h->drain_arg = arg;
	h->drain_cb = cb;
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	(void)status;
	free(req);
}

int engine_hijack_shutdown(struct engine_hijack *h)
{
	uv_shutdown_t *req;
	int rc;

	if (h->closed || !h->upgraded)
		return UV_ENOTCONN;
	req = xmalloc(sizeof(*req));
	rc = uv_shutdown(req, &h->u.stream, on_shutdown);
	if (rc != 0)
		free(req);
	return rc;
}

size_t engine_hijack_pending(const struct engine_hijack *h)
{
	return h->pending;
}

static void hijack_closed(uv_handle_t *handle)
{
	struct engine_hijack *h = (struct engine_hijack *)handle;
	struct engine *e = h->e;

	free(h->request);
	h->request = NULL;
	buf_release(&h->head);
	if (h->tls_on)
		engine_tls_free(&h->tls);
	free(h->plain);
	h->plain = NULL;
	h->handle_closed = true;
	if (!h->gai_pending)
		free(h);
	engine_handle_closed(e);
}

void engine_hijack_close(struct engine_hijack *h)
{
	if (h == NULL || h->closed)
		return;
	h->closed = true;
	unlink_hijack(h);
	if (h->gai_pending)
		uv_cancel((uv_req_t *)&h->gai);
	h->e->open_handles++;
	uv_close(&h->u.handle, hijack_closed);
}

void engine_hijack_close_all(struct engine *e)
{
	while (e->hijacks != NULL)
		engine_hijack_close(e->hijacks);
}
