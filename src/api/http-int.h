/*
 * The HTTP server's insides, shared by http.c (the server, routing and
 * MHD's callbacks) and http-reply.c (answers and streams). Nothing
 * outside these two files includes this.
 */
#ifndef DW_API_HTTP_INT_H
#define DW_API_HTTP_INT_H

#include <arpa/inet.h>
#include <stdbool.h>

#include <microhttpd.h>

#include "api/http.h"
#include "base/buf.h"

struct route {
	char *method;
	char *path;
	size_t path_len;
	unsigned flags;
	http_handler fn;
	void *arg;
};

struct header {
	char *name;
	char *value;
};

struct http_server {
	uv_loop_t *loop;
	struct MHD_Daemon *mhd;
	uv_poll_t poll;
	uv_timer_t timer;
	struct route *routes;
	size_t n_routes;
	enum http_policy policy;
	size_t max_body;
	int port;
	char address[INET_ADDRSTRLEN];
	char *name;
	struct http_req *reqs; /* live requests, for close */
	bool in_run;
	bool rerun;
	bool closing;
	bool close_pending; /* asked to close from inside MHD_run */
	int open_handles;
	void (*close_cb)(void *arg);
	void *close_arg;
};

struct http_req {
	struct http_server *s;
	struct MHD_Connection *conn;
	struct http_req *prev, *next;
	char *method;
	char *path;
	const struct route *route;
	struct buf body;
	bool too_big;
	bool handled;
	bool answered;
	bool queued;
	bool suspended;
	int status;
	struct MHD_Response *resp;
	struct header *hdrs;
	size_t n_hdrs;
	http_end_cb on_end;
	void *end_arg;
	struct http_stream *stream;
};

struct http_stream {
	struct http_server *s;
	struct http_req *req; /* NULL once the request has ended */
	struct buf q;
	bool ending;
	bool dropped;
	bool suspended;
	http_stream_close_cb on_close;
	void *arg;
};

/* Run MHD soon: something changed outside its callbacks (a resume). */
void http_kick(struct http_server *s);
/* Wake a parked request's connection (its answer is ready). */
void http_resume(struct http_req *r);

#endif
