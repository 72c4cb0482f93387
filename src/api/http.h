/*
 * An HTTP/1.1 server on the caller's libuv loop, for the control API, the
 * container manager and the Lambda Runtime API (DESIGN.md sections 9, 11).
 *
 * The protocol is GNU libmicrohttpd's, run in its external-loop epoll mode:
 * one uv_poll_t watches MHD's epoll descriptor and one uv_timer_t drives
 * MHD's own timeouts. Every callback below runs on the loop thread.
 *
 * A request is routed by a small table (method, exact path or prefix). The
 * guard (guard.h) runs before any handler: a bad Host, a foreign Origin, a
 * state change that is not a JSON POST, or a body over the cap never reaches
 * one. No CORS header is ever sent.
 *
 * A handler answers at once or later: a request left unanswered when its
 * handler returns is parked (its connection suspended) until http_reply*
 * is called, or until the server closes, when its on_end callback reports
 * that it ended unanswered. A streamed answer (server-sent events) queues
 * at most its cap; a client that falls behind is dropped, never waited on.
 */
#ifndef DW_API_HTTP_H
#define DW_API_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <uv.h>

struct http_server;
struct http_req;
struct http_stream;

/* Route flags. */
enum {
	HTTP_PREFIX = 1 << 0,  /* path is a prefix; http_req_tail gives the rest */
	HTTP_MUTATES = 1 << 1, /* state change: POST, application/json, no
				  foreign Origin (DESIGN.md section 9) */
	HTTP_GET_MUTATES = 1 << 2, /* a state change that a foreign client's
				      contract makes a GET (harpoon's /shutdown):
				      no foreign Origin or Sec-Fetch-Site */
};

typedef void (*http_handler)(struct http_req *req, void *arg);

struct http_route {
	const char *method; /* "GET", "POST"; NULL for any */
	const char *path;   /* "/api/status", or a prefix "/api/logs/" */
	unsigned flags;
	http_handler fn;
	void *arg;
};

/* Which Host headers and clients the guard accepts (guard.h). */
enum http_policy {
	HTTP_POLICY_LOOPBACK, /* the control API: loopback names only */
	HTTP_POLICY_RUNTIME,  /* the Lambda Runtime API: see lambda.h */
};

struct http_options {
	const char *address; /* numeric IPv4 to bind; NULL = "127.0.0.1" */
	int port;	     /* 0 = a free one (http_server_port says which) */
	enum http_policy policy;
	size_t max_body;     /* request body cap; 0 = 1 MiB */
	size_t max_header;   /* cap on the request line and headers; 0 = 32 KiB */
	const char *name;    /* for log lines: "api", "runtime web" */
};

/*
 * Listen and serve `routes` (n entries, copied; the first match wins).
 * Returns 0 and sets *out, or a negative code with *cause ("cannot listen
 * on '127.0.0.1:4545': address in use"). DW_USAGE for a non-numeric address.
 */
int http_server_new(uv_loop_t *loop, const struct http_options *opts,
		    const struct http_route *routes, size_t n,
		    struct http_server **out, char **cause);
/* The port bound. */
int http_server_port(const struct http_server *s);
/* The address bound ("127.0.0.1"). */
const char *http_server_address(const struct http_server *s);
/*
 * Stop listening, end every parked request and stream (their on_end and
 * on_close run), and free the server. cb (may be NULL) runs once every
 * handle is closed. May be called from a handler or an on_end callback:
 * the server then closes as soon as that callback returns.
 */
void http_server_close(struct http_server *s, void (*cb)(void *arg),
		       void *arg);

/* ---- a request, valid from its handler until it is answered or ended ---- */

/* The path without the query string ("/api/logs/web"). */
const char *http_req_path(const struct http_req *r);
/* For a HTTP_PREFIX route, what follows the prefix ("web"); else "". */
const char *http_req_tail(const struct http_req *r);
/* A header or query argument, or NULL. */
const char *http_req_header(const struct http_req *r, const char *name);
const char *http_req_query(const struct http_req *r, const char *name);
/* The whole body (NUL-terminated; "" when none). */
const char *http_req_body(const struct http_req *r, size_t *len);
/* True when the client has closed its end: MHD cannot see that while a
   request is parked, so a long poll checks before answering. */
bool http_req_peer_closed(const struct http_req *r);
/* The client's IPv4 address in host byte order; 0 when it is not IPv4. */
uint32_t http_req_peer_ipv4(const struct http_req *r);

/*
 * Called once when a request ends: sent is true when its answer went out,
 * false when it ended unanswered (client gone, server closing). The request
 * is freed after this returns. Setting it again replaces the previous one.
 */
typedef void (*http_end_cb)(struct http_req *r, bool sent, void *arg);
void http_req_on_end(struct http_req *r, http_end_cb cb, void *arg);

/* Add a header to the answer; call before http_reply*. Copies both. */
void http_req_add_header(struct http_req *r, const char *name,
			 const char *value);

/*
 * Answer. Each request is answered once; a second answer is ignored.
 * http_reply copies body; http_reply_json takes json and frees it;
 * http_reply_error sends {"error": {"message": MESSAGE}} with status.
 */
void http_reply(struct http_req *r, int status, const char *content_type,
		const void *body, size_t len);
void http_reply_json(struct http_req *r, int status, cJSON *json);
void http_reply_error(struct http_req *r, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* An answer with no body (204). */
void http_reply_empty(struct http_req *r, int status);

/* ---- streamed answers ---- */

/* The stream ended: the client left, was dropped as too slow, or the server
   closed. The stream is freed after this returns. */
typedef void (*http_stream_close_cb)(struct http_stream *st, void *arg);

/*
 * Answer with a stream of unknown length (chunked). At most max_queued
 * bytes wait for the client; past that the client is dropped. Returns the
 * stream, valid until on_close runs (which it always does, once).
 */
struct http_stream *http_reply_stream(struct http_req *r, int status,
				      const char *content_type,
				      size_t max_queued,
				      http_stream_close_cb on_close, void *arg);
/*
 * Queue bytes (copied). Returns 0; DW_TOOBIG when the client is too far
 * behind (it is then dropped and on_close runs later, from the loop); or
 * UV_EPIPE when the stream is already ending.
 */
int http_stream_write(struct http_stream *st, const void *data, size_t n);
/* Finish the stream after what is queued; on_close runs once it is sent. */
void http_stream_end(struct http_stream *st);

#endif
