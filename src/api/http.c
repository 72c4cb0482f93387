/*
 * The HTTP server: libmicrohttpd in its external-loop epoll mode, driven by
 * a uv_poll_t on MHD's epoll descriptor and a uv_timer_t for MHD's own
 * timeouts (libmicrohttpd manual, "Implementing external select").
 *
 * MHD calls the access handler several times per request: once with the
 * headers, once per piece of body, and once more when the body is complete
 * (or after a suspended connection is resumed). Glossary of a request:
 * - refused: the guard, the router or a cap answered on the first call;
 * - handled: its route's handler has run (once, with the whole body);
 * - answered: http_reply* built its response; queued: MHD has it;
 * - parked: handled, unanswered, its connection suspended until a reply.
 * Answers and streams are in http-reply.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/guard.h"
#include "api/http-int.h"
#include "base/error.h"
#include "base/log.h"
#include "base/util.h"

#define DEFAULT_MAX_BODY (1u << 20)
#define DEFAULT_MAX_HEADER (32u << 10)
#define CONNECTION_LIMIT 1000
#define CONNECTION_TIMEOUT_S 120

static void arm(struct http_server *s);
static void do_close(struct http_server *s);

static void run(struct http_server *s)
{
	s->in_run = true;
	s->rerun = false;
	MHD_run(s->mhd);
	s->in_run = false;
	if (s->close_pending)
		do_close(s);
	else
		arm(s);
}

static void on_timer(uv_timer_t *t)
{
	run(container_of(t, struct http_server, timer));
}

static void on_poll(uv_poll_t *p, int status, int events)
{
	run(container_of(p, struct http_server, poll));
}

/* Arm the timer with MHD's next deadline, or at once when a resume or a
   reply happened during the run just finished. */
static void arm(struct http_server *s)
{
	MHD_UNSIGNED_LONG_LONG ms;

	if (s->closing)
		return;
	if (s->rerun) {
		uv_timer_start(&s->timer, on_timer, 0, 0);
		return;
	}
	if (MHD_get_timeout(s->mhd, &ms) == MHD_YES)
		uv_timer_start(&s->timer, on_timer, ms, 0);
	else
		uv_timer_stop(&s->timer);
}

/* Something changed outside MHD's callbacks (a resume): run MHD soon. */
void http_kick(struct http_server *s)
{
	if (s->in_run)
		s->rerun = true;
	else if (!s->closing)
		uv_timer_start(&s->timer, on_timer, 0, 0);
}

void http_resume(struct http_req *r)
{
	if (!r->suspended)
		return;
	r->suspended = false;
	MHD_resume_connection(r->conn);
	http_kick(r->s);
}

static const struct route *find_route(const struct http_server *s,
				      const char *method, const char *path,
				      bool *path_known)
{
	*path_known = false;
	for (size_t i = 0; i < s->n_routes; i++) {
		const struct route *rt = &s->routes[i];
		bool hit = (rt->flags & HTTP_PREFIX)
				   ? strncmp(path, rt->path, rt->path_len) == 0
				   : strcmp(path, rt->path) == 0;

		if (!hit)
			continue;
		*path_known = true;
		if (rt->method == NULL || strcmp(rt->method, method) == 0)
			return rt;
		/* A state change is routed whatever its method, so that the
		   guard, not the router, says why a GET is refused. */
		if (rt->flags & HTTP_MUTATES)
			return rt;
	}
	return NULL;
}

/* ---- the access handler ---- */

static struct http_req *req_new(struct http_server *s,
				struct MHD_Connection *conn, const char *url,
				const char *method)
{
	struct http_req *r = xcalloc(1, sizeof(*r));

	r->s = s;
	r->conn = conn;
	r->method = xstrdup(method);
	r->path = xstrdup(url);
	buf_init(&r->body, s->max_body);
	r->next = s->reqs;
	if (s->reqs)
		s->reqs->prev = r;
	s->reqs = r;
	return r;
}

static void req_free(struct http_req *r)
{
	struct http_server *s = r->s;

	if (r->prev)
		r->prev->next = r->next;
	else
		s->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	if (r->stream)
		r->stream->req = NULL;
	if (r->resp && !r->queued)
		MHD_destroy_response(r->resp);
	for (size_t i = 0; i < r->n_hdrs; i++) {
		free(r->hdrs[i].name);
		free(r->hdrs[i].value);
	}
	free(r->hdrs);
	buf_release(&r->body);
	free(r->method);
	free(r->path);
	free(r);
}

static enum MHD_Result queue(struct http_req *r)
{
	enum MHD_Result ok = MHD_queue_response(r->conn, (unsigned)r->status,
						r->resp);

	MHD_destroy_response(r->resp);
	r->resp = NULL;
	r->queued = true;
	return ok;
}

static const char *hdr(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

/* The first call: guard, route and caps. Returns false when refused (the
   refusal is then answered). */
static bool admit(struct http_req *r)
{
	struct http_server *s = r->s;
	struct guard_req g = {
		.method = r->method,
		.host = hdr(r->conn, "Host"),
		.origin = hdr(r->conn, "Origin"),
		.referer = hdr(r->conn, "Referer"),
		.fetch_site = hdr(r->conn, "Sec-Fetch-Site"),
		.fetch_mode = hdr(r->conn, "Sec-Fetch-Mode"),
		.content_type = hdr(r->conn, "Content-Type"),
	};
	const char *why, *cl;
	bool known;
	int code;

	r->route = find_route(s, r->method, r->path, &known);
	code = guard_check(&g, s->policy, s->port,
			   r->route ? r->route->flags : 0, &why);
	if (code != 0) {
		log_debug("%s: %s %s: %s", s->name, r->method, r->path, why);
		http_reply_error(r, code, "%s", why);
		return false;
	}
	if (r->route == NULL) {
		if (known)
			http_reply_error(r, 405, "'%s' does not answer %s",
					 r->path, r->method);
		else
			http_reply_error(r, 404, "Unknown path: %s", r->path);
		return false;
	}
	cl = hdr(r->conn, "Content-Length");
	if (cl && strtoull(cl, NULL, 10) > s->max_body) {
		http_reply_error(r, 413, "refused: a body over %zu bytes",
				 s->max_body);
		return false;
	}
	return true;
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *conn,
				 const char *url, const char *method,
				 const char *version, const char *upload,
				 size_t *upload_size, void **con_cls)
{
	struct http_server *s = cls;
	struct http_req *r = *con_cls;

	if (r == NULL) {
		r = req_new(s, conn, url, method);
		*con_cls = r;
		if (!admit(r))
			return queue(r);
		return MHD_YES;
	}
	if (*upload_size > 0) {
		/* Past the cap the rest is read and dropped, then refused. */
		if (!r->too_big && buf_add(&r->body, upload, *upload_size) != 0)
			r->too_big = true;
		*upload_size = 0;
		return MHD_YES;
	}
	if (r->too_big && !r->answered)
		http_reply_error(r, 413, "refused: a body over %zu bytes",
				 s->max_body);
	if (!r->handled && !r->answered) {
		r->handled = true;
		r->route->fn(r, r->route->arg);
	}
	if (r->answered && !r->queued)
		return queue(r);
	if (s->closing)
		return MHD_NO; /* parked while the server closes: end it */
	if (!r->answered && !r->suspended) {
		r->suspended = true;
		MHD_suspend_connection(conn);
	}
	return MHD_YES;
}

static void completed_cb(void *cls, struct MHD_Connection *conn,
			 void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct http_req *r = *con_cls;

	if (r == NULL)
		return;
	*con_cls = NULL;
	if (r->on_end)
		r->on_end(r, r->queued && toe == MHD_REQUEST_TERMINATED_COMPLETED_OK,
			  r->end_arg);
	req_free(r);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct http_server *s = cls;
	char line[512];

	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	log_debug("%s: %s", s->name, line);
}

/* ---- the server ---- */

static void copy_routes(struct http_server *s, const struct http_route *routes,
			size_t n)
{
	s->routes = xcalloc(n ? n : 1, sizeof(*s->routes));
	for (size_t i = 0; i < n; i++) {
		struct route *rt = &s->routes[i];

		rt->method = routes[i].method ? xstrdup(routes[i].method) : NULL;
		rt->path = xstrdup(routes[i].path);
		rt->path_len = strlen(rt->path);
		rt->flags = routes[i].flags;
		rt->fn = routes[i].fn;
		rt->arg = routes[i].arg;
	}
	s->n_routes = n;
}

static void free_server(struct http_server *s)
{
	for (size_t i = 0; i < s->n_routes; i++) {
		free(s->routes[i].method);
		free(s->routes[i].path);
	}
	free(s->routes);
	free(s->name);
	free(s);
}

/* Bind and listen ourselves, so that a failure says why (in use, not
   permitted); MHD takes the socket over and closes it when it stops. */
static int listen_on(const struct sockaddr_in *sa, int *out)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int one = 1, err;

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) != 0 ||
	    listen(fd, 511) != 0) {
		err = -errno;
		close(fd);
		return err;
	}
	*out = fd;
	return 0;
}

int http_server_new(uv_loop_t *loop, const struct http_options *opts,
		    const struct http_route *routes, size_t n,
		    struct http_server **out, char **cause)
{
	struct http_server *s;
	struct sockaddr_in sa = {.sin_family = AF_INET};
	const char *address = opts->address ? opts->address : "127.0.0.1";
	const union MHD_DaemonInfo *info;
	size_t max_header = opts->max_header ? opts->max_header
					     : DEFAULT_MAX_HEADER;
	int err, fd = -1;

	if (inet_pton(AF_INET, address, &sa.sin_addr) != 1) {
		dw_cause(cause, "cannot listen on '%s': expected an IPv4 address",
			 address);
		return DW_USAGE;
	}
	if (opts->port < 0 || opts->port > 65535) {
		dw_cause(cause, "cannot listen on port %d: expected 0 to 65535",
			 opts->port);
		return DW_USAGE;
	}
	sa.sin_port = htons((uint16_t)opts->port);
	s = xcalloc(1, sizeof(*s));
	s->loop = loop;
	s->policy = opts->policy;
	s->max_body = opts->max_body ? opts->max_body : DEFAULT_MAX_BODY;
	s->name = xstrdup(opts->name ? opts->name : "api");
	copy_routes(s, routes, n);
	err = listen_on(&sa, &fd);
	if (err != 0) {
		dw_cause(cause, "cannot listen on '%s:%d': %s", address, opts->port,
			 uv_strerror(err));
		free_server(s);
		return err;
	}
	s->mhd = MHD_start_daemon(
		MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG,
		0, NULL, NULL, access_cb, s,
		MHD_OPTION_LISTEN_SOCKET, fd,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, max_header,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTION_LIMIT,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_S,
		MHD_OPTION_NOTIFY_COMPLETED, completed_cb, s,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
		MHD_OPTION_END);
	if (s->mhd == NULL) {
		dw_cause(cause, "cannot serve HTTP on '%s:%d': libmicrohttpd refused to start",
			 address, opts->port);
		close(fd);
		free_server(s);
		return UV_EINVAL;
	}
	info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : opts->port;
	snprintf(s->address, sizeof(s->address), "%s", address);
	info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	err = info ? uv_poll_init(loop, &s->poll, info->epoll_fd) : UV_EINVAL;
	if (err != 0) {
		dw_cause(cause, "cannot watch the HTTP server's descriptor: %s",
			 uv_strerror(err));
		MHD_stop_daemon(s->mhd);
		free_server(s);
		return err;
	}
	uv_timer_init(loop, &s->timer);
	uv_poll_start(&s->poll, UV_READABLE, on_poll);
	s->open_handles = 2;
	arm(s);
	log_debug("%s: listening on %s:%d", s->name, s->address, s->port);
	*out = s;
	return 0;
}

int http_server_port(const struct http_server *s)
{
	return s->port;
}

const char *http_server_address(const struct http_server *s)
{
	return s->address;
}

static void on_handle_closed(uv_handle_t *h)
{
	struct http_server *s = h->data;

	if (--s->open_handles > 0)
		return;
	if (s->close_cb)
		s->close_cb(s->close_arg);
	free_server(s);
}

void http_server_close(struct http_server *s, void (*cb)(void *arg), void *arg)
{
	s->close_cb = cb;
	s->close_arg = arg;
	/* From a handler or an on_end: MHD cannot stop inside its own run,
	   so finish the run first. */
	if (s->in_run)
		s->close_pending = true;
	else
		do_close(s);
}

static void do_close(struct http_server *s)
{
	s->close_pending = false;
	/* MHD may not stop with a connection suspended: wake every parked
	   request and stream, then let MHD close them all. Parked requests
	   end unanswered (their on_end says so). */
	for (struct http_req *r = s->reqs; r; r = r->next) {
		if (r->stream) {
			r->stream->ending = true;
			r->stream->suspended = false;
		}
		if (r->suspended) {
			r->suspended = false;
			MHD_resume_connection(r->conn);
		}
	}
	s->closing = true;
	MHD_run(s->mhd);
	MHD_stop_daemon(s->mhd);
	s->mhd = NULL;
	s->poll.data = s;
	s->timer.data = s;
	uv_close((uv_handle_t *)&s->poll, on_handle_closed);
	uv_close((uv_handle_t *)&s->timer, on_handle_closed);
}

/* ---- request accessors ---- */

const char *http_req_path(const struct http_req *r)
{
	return r->path;
}

const char *http_req_tail(const struct http_req *r)
{
	if (r->route == NULL || !(r->route->flags & HTTP_PREFIX))
		return "";
	return r->path + r->route->path_len;
}

const char *http_req_header(const struct http_req *r, const char *name)
{
	return hdr(r->conn, name);
}

const char *http_req_query(const struct http_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *http_req_body(const struct http_req *r, size_t *len)
{
	if (len)
		*len = r->body.len;
	return buf_str(&r->body);
}

void http_req_on_end(struct http_req *r, http_end_cb cb, void *arg)
{
	r->on_end = cb;
	r->end_arg = arg;
}
