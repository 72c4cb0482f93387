/*
 * Answers to HTTP requests: whole ones (copied into an MHD response, sent
 * once the access handler runs again) and streams, which MHD pulls from
 * a capped queue through its content reader. The reader parks the
 * connection when the queue is empty; a write wakes it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "api/http-int.h"
#include "base/error.h"
#include "base/log.h"
#include "base/util.h"

#define STREAM_BLOCK 16384

static void add_headers(struct http_req *r, struct MHD_Response *resp)
{
	for (size_t i = 0; i < r->n_hdrs; i++)
		MHD_add_response_header(resp, r->hdrs[i].name, r->hdrs[i].value);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
}

static void answer(struct http_req *r, int status, struct MHD_Response *resp)
{
	add_headers(r, resp);
	r->answered = true;
	r->status = status;
	r->resp = resp;
	http_resume(r);
}

void http_reply(struct http_req *r, int status, const char *content_type,
		const void *body, size_t len)
{
	struct MHD_Response *resp;
	char *copy;

	if (r->answered)
		return;
	copy = xmalloc(len + 1);
	if (len)
		memcpy(copy, body, len);
	resp = MHD_create_response_from_buffer_with_free_callback(len, copy,
								  free);
	if (content_type)
		MHD_add_response_header(resp, "Content-Type", content_type);
	answer(r, status, resp);
}

void http_reply_empty(struct http_req *r, int status)
{
	http_reply(r, status, NULL, "", 0);
}

void http_reply_json(struct http_req *r, int status, cJSON *json)
{
	char *text = cJSON_PrintUnformatted(json);

	cJSON_Delete(json);
	if (text == NULL) {
		http_reply_error(r, 500, "cannot encode the answer");
		return;
	}
	http_reply(r, status, "application/json", text, strlen(text));
	free(text);
}

void http_reply_error(struct http_req *r, int status, const char *fmt, ...)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *err = cJSON_AddObjectToObject(root, "error");
	char *msg;
	va_list ap;
	struct buf b;

	buf_init(&b, 4096);
	va_start(ap, fmt);
	(void)buf_vaddf(&b, fmt, ap);
	va_end(ap);
	msg = buf_detach(&b, NULL);
	cJSON_AddStringToObject(err, "message", msg);
	free(msg);
	http_reply_json(r, status, root);
}

void http_req_add_header(struct http_req *r, const char *name,
			 const char *value)
{
	r->hdrs = xreallocarray(r->hdrs, r->n_hdrs + 1, sizeof(*r->hdrs));
	r->hdrs[r->n_hdrs].name = xstrdup(name);
	r->hdrs[r->n_hdrs].value = xstrdup(value);
	r->n_hdrs++;
}

/* ---- streams ---- */

static void stream_wake(struct http_stream *st)
{
	if (!st->suspended || st->req == NULL)
		return;
	st->suspended = false;
	st->req->suspended = false;
	MHD_resume_connection(st->req->conn);
	http_kick(st->s);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
	struct http_stream *st = cls;
	size_t n;

	if (st->dropped)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (st->q.len > 0) {
		n = DW_MIN(max, st->q.len);
		memcpy(out, st->q.data, n);
		buf_consume(&st->q, n);
		return (ssize_t)n;
	}
	if (st->ending)
		return MHD_CONTENT_READER_END_OF_STREAM;
	/* Nothing to send: sleep until a write or an end wakes us. */
	st->suspended = true;
	st->req->suspended = true;
	MHD_suspend_connection(st->req->conn);
	return 0;
}

static void stream_free(void *cls)
{
	struct http_stream *st = cls;

	if (st->req)
		st->req->stream = NULL;
	if (st->on_close)
		st->on_close(st, st->arg);
	buf_release(&st->q);
	free(st);
}

struct http_stream *http_reply_stream(struct http_req *r, int status,
				      const char *content_type,
				      size_t max_queued,
				      http_stream_close_cb on_close, void *arg)
{
	struct http_stream *st;
	struct MHD_Response *resp;

	if (r->answered)
		return NULL;
	st = xcalloc(1, sizeof(*st));
	st->s = r->s;
	st->req = r;
	buf_init(&st->q, max_queued);
	st->on_close = on_close;
	st->arg = arg;
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK,
						 stream_read, st, stream_free);
	MHD_add_response_header(resp, "Content-Type", content_type);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	r->stream = st;
	answer(r, status, resp);
	return st;
}

/* Cut a slow client off now: shut its socket down, so MHD sees the error
   at once instead of at its idle timeout. */
static void stream_drop(struct http_stream *st)
{
	const union MHD_ConnectionInfo *ci;

	st->dropped = true;
	if (st->req == NULL)
		return;
	ci = MHD_get_connection_info(st->req->conn,
				     MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci)
		shutdown(ci->connect_fd, SHUT_RDWR);
	stream_wake(st);
	http_kick(st->s);
}

int http_stream_write(struct http_stream *st, const void *data, size_t n)
{
	if (st->ending || st->dropped)
		return UV_EPIPE;
	if (buf_add(&st->q, data, n) != 0) {
		log_debug("%s: dropping a client %zu bytes behind", st->s->name,
			  st->q.len);
		stream_drop(st);
		return DW_TOOBIG;
	}
	stream_wake(st);
	return 0;
}

void http_stream_end(struct http_stream *st)
{
	st->ending = true;
	stream_wake(st);
}

uint32_t http_req_peer_ipv4(const struct http_req *r)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr_in *in;

	if (ci == NULL || ci->client_addr == NULL || ci->client_addr->sa_family != AF_INET)
		return 0;
	in = (const struct sockaddr_in *)(const void *)ci->client_addr;
	return ntohl(in->sin_addr.s_addr);
}

bool http_req_peer_closed(const struct http_req *r)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	char c;
	ssize_t n;

	if (ci == NULL)
		return true;
	n = recv(ci->connect_fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}
