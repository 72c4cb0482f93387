/*
 * The Docker Engine client: libcurl's multi interface driven by a libuv loop
 * (curl's docs/examples/multi-uv.c). curl tells us which sockets to watch
 * (socket_cb) and when to wake (timer_cb); libuv tells curl when a socket is
 * ready (curl_multi_socket_action). Finished transfers are collected in
 * check_done and reported on the loop thread.
 *
 * Requests made before the API version is known wait in `waiting` and start
 * once GET /version answers. Each request owns a capped body buffer, a capped
 * line buffer for JSON-lines streams and a demuxer for multiplexed streams.
 */
#include "engine/engine-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "base/log.h"
#include "base/loop.h"
#include "base/util.h"

#define ENGINE_MAX_BODY (8u << 20)
#define ENGINE_NEWEST_API "1.41"
#define ENGINE_CONNECT_MS 5000L

struct sock_ctx {
	uv_poll_t poll;
	curl_socket_t fd;
	int events; /* what curl last asked for: UV_READABLE, UV_WRITABLE */
	struct engine *e;
};

static void start_transfer(struct engine_req *r);
static void finish(struct engine_req *r, int err);
static void on_defer(uv_timer_t *t);
static void unlink_adding(struct engine_req *r);

/* ---- curl <-> libuv glue ---- */

static void on_poll(uv_poll_t *p, int status, int events)
{
	struct sock_ctx *s = container_of(p, struct sock_ctx, poll);
	struct engine *e = s->e;
	int flags = 0, running;

	/* A socket error (the engine closed a kept-alive connection with our
	   next request unread: ECONNRESET) comes as status < 0 with no
	   events, and libuv has stopped the handle. curl is told that the
	   socket is ready for what it waits for, as well as in error, so that
	   it reads or writes and meets the error itself: then it retries a
	   reused connection on a new one, where a bare CURL_CSELECT_ERR fails
	   the transfer ("select/poll returned error"). */
	if (status < 0) {
		flags = CURL_CSELECT_ERR;
		events = s->events;
	}
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(e->multi, s->fd, flags, &running);
	/* curl asks again only when what it wants changes: a socket it still
	   wants (neither removed nor restarted by socket_cb) is watched again. */
	if (status < 0 && !uv_is_closing((uv_handle_t *)p) && !uv_is_active((uv_handle_t *)p))
		uv_poll_start(p, s->events, on_poll);
	engine_check_done(e);
}

static void on_timer(uv_timer_t *t)
{
	struct engine *e = container_of(t, struct engine, timer);
	int running;

	curl_multi_socket_action(e->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	engine_check_done(e);
}

static void sock_closed(uv_handle_t *h)
{
	struct sock_ctx *s = container_of((uv_poll_t *)h, struct sock_ctx, poll);
	struct engine *e = s->e;

	free(s);
	engine_handle_closed(e);
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp,
		     void *sockp)
{
	struct engine *e = userp;
	struct sock_ctx *s = sockp;
	int events = 0;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			uv_poll_stop(&s->poll);
			curl_multi_assign(e->multi, fd, NULL);
			e->open_handles++;
			uv_close((uv_handle_t *)&s->poll, sock_closed);
		}
		return 0;
	}
	if (s == NULL) {
		s = xcalloc(1, sizeof(*s));
		s->fd = fd;
		s->e = e;
		if (uv_poll_init_socket(e->loop, &s->poll, fd) != 0) {
			free(s);
			return -1;
		}
		curl_multi_assign(e->multi, fd, s);
	}
	if (what & CURL_POLL_IN)
		events |= UV_READABLE;
	if (what & CURL_POLL_OUT)
		events |= UV_WRITABLE;
	s->events = events;
	uv_poll_start(&s->poll, events, on_poll);
	return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct engine *e = userp;

	(void)multi;
	if (timeout_ms < 0)
		uv_timer_stop(&e->timer);
	else
		uv_timer_start(&e->timer, on_timer, (uint64_t)timeout_ms, 0);
	return 0;
}

/* ---- client ---- */

int engine_new(uv_loop_t *loop, const char *host, struct engine **out,
	       char **cause)
{
	struct engine *e = xcalloc(1, sizeof(*e));
	int err;

	e->loop = loop;
	err = engine_resolve(host, &e->t, cause);
	if (err != 0) {
		free(e);
		return err;
	}
	engine_endpoint_init(e);
	log_debug("engine %s (%s)", e->t.address, e->t.how);
	e->multi = curl_multi_init();
	curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e);
	curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e);
	uv_timer_init(loop, &e->timer);
	uv_timer_init(loop, &e->defer);
	e->defer.data = e;
	if (e->t.transport == ENGINE_SSH) {
		err = engine_ssh_listen(e, cause);
		if (err != 0) {
			/* Its handles close, and it is freed, through the loop. */
			engine_close(e, NULL, NULL);
			return err;
		}
	}
	*out = e;
	return 0;
}

uv_loop_t *engine_loop(const struct engine *e)
{
	return e->loop;
}

const char *engine_api_version(const struct engine *e)
{
	return e->state == ENGINE_READY ? e->api : NULL;
}

/* Compare "1.41" style versions. */
static int api_cmp(const char *a, const char *b)
{
	unsigned am = 0, an = 0, bm = 0, bn = 0;

	sscanf(a, "%u.%u", &am, &an);
	sscanf(b, "%u.%u", &bm, &bn);
	if (am != bm)
		return am < bm ? -1 : 1;
	return an < bn ? -1 : an > bn;
}

static void negotiated(struct engine_req *req, int err,
		       const struct engine_resp *resp, void *arg)
{
	struct engine *e = arg;
	struct engine_req *r, *next;
	char api[16];

	(void)req;
	if (err == 0 && resp->status == 200) {
		/* Only "digits.digits" goes into URLs; an engine that names
		   no such version gets the newest we speak. */
		if (engine_api_parse(resp->body, resp->len, api, sizeof(api)) == 0 &&
		    api_cmp(api, ENGINE_NEWEST_API) < 0)
			snprintf(e->api, sizeof(e->api), "%s", api);
		else
			snprintf(e->api, sizeof(e->api), "%s",
				 ENGINE_NEWEST_API);
		e->state = ENGINE_READY;
		log_debug("engine %s: API %s", e->t.address, e->api);
	} else {
		if (err == 0) {
			free(e->down_reason);
			e->down_reason = xasprintf(
				"GET /version answered %ld%s", resp->status,
				resp->status == 400 && !e->t.tls &&
						e->t.transport == ENGINE_TCP
					? " (an engine that wants TLS does: "
					  "set DOCKER_TLS_VERIFY=1 and "
					  "DOCKER_CERT_PATH)"
					: "");
		}
		e->state = ENGINE_DOWN;
		err = err != 0 ? err : DW_ENGINE_DOWN;
	}
	/* Start (or fail) everything that waited for the version. */
	for (r = e->waiting; r != NULL; r = next) {
		next = r->next;
		r->next = NULL;
		if (e->state == ENGINE_READY)
			start_transfer(r);
		else
			finish(r, DW_ENGINE_DOWN);
	}
	e->waiting = NULL;
	if (e->ready_cb != NULL) {
		engine_ready_cb cb = e->ready_cb;

		e->ready_cb = NULL;
		cb(e, e->state == ENGINE_READY ? 0 : DW_ENGINE_DOWN,
		   e->ready_arg);
	}
}

int engine_negotiate(struct engine *e, engine_ready_cb cb, void *arg)
{
	struct engine_call c = {.method = "GET", .path = "/version",
				.timeout_ms = 10000};

	e->ready_cb = cb;
	e->ready_arg = arg;
	if (e->state == ENGINE_READY || e->state == ENGINE_DOWN) {
		e->ready_cb = NULL;
		cb(e, e->state == ENGINE_READY ? 0 : DW_ENGINE_DOWN, arg);
		return 0;
	}
	if (e->state == ENGINE_NEGOTIATING)
		return 0;
	e->state = ENGINE_NEGOTIATING;
	return engine_request_raw(e, &c, negotiated, e, NULL, false);
}

/* ---- requests ---- */

static void release_req(struct engine_req *r)
{
	struct engine *e = r->e;
	struct engine_req **pp;

	for (pp = &e->reqs; *pp != NULL; pp = &(*pp)->all_next) {
		if (*pp == r) {
			*pp = r->all_next;
			break;
		}
	}
	if (r->easy != NULL) {
		if (r->in_multi)
			curl_multi_remove_handle(e->multi, r->easy);
		curl_easy_cleanup(r->easy);
	}
	curl_slist_free_all(r->headers);
	buf_release(&r->body);
	buf_release(&r->line);
	free(r->url);
	free(r->method);
	free(r->ctype);
	free(r->path_copy);
	free(r->req_body);
	free(r->auth);
	free(r);
}

static void finish(struct engine_req *r, int err)
{
	struct engine_resp resp;

	if (r->done)
		return;
	r->done = true;
	if (r->add_pending)
		unlink_adding(r);
	if (r->in_multi) {
		curl_multi_remove_handle(r->e->multi, r->easy);
		r->in_multi = false;
	}
	if (err == 0 && r->line.len > 0 && r->status < 300 &&
	    r->call.on_line != NULL)
		r->call.on_line(r->line.data, r->line.len, r->call.stream_arg);
	resp.status = r->status;
	resp.body = buf_str(&r->body);
	resp.len = r->body.len;
	resp.path_stat = NULL;
	if (err == 0 && r->easy != NULL && strcmp(r->method, "HEAD") == 0) {
		struct curl_header *h;

		if (curl_easy_header(r->easy, "X-Docker-Container-Path-Stat", 0, CURLH_HEADER, -1,
				     &h) == CURLHE_OK)
			resp.path_stat = h->value;
	}
	if (r->cb != NULL)
		r->cb(r, err, err == 0 ? &resp : NULL, r->arg);
	release_req(r);
}

static int deliver_lines(struct engine_req *r, const char *p, size_t n)
{
	int err = engine_lines_feed(&r->line, p, n, r->call.on_line,
				    r->call.stream_arg);

	if (err != 0)
		r->abort_err = err;
	return err;
}

static size_t write_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct engine_req *r = arg;
	struct engine *e = r->e;
	size_t n = size * nmemb;
	int rc = 0;

	if (r->deferred)
		return 0;
	if (r->status == 0)
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
	if (r->status >= 300 ||
	    (r->call.on_line == NULL && r->call.on_frame == NULL)) {
		if (buf_add(&r->body, p, n) != 0) {
			r->abort_err = DW_TOOBIG;
			return 0;
		}
		return n;
	}
	e->in_stream_cb++;
	if (r->call.on_line != NULL)
		rc = deliver_lines(r, p, n);
	else if (engine_demux_feed(&r->demux, p, n, r->call.on_frame,
				   r->call.stream_arg) != 0)
		rc = r->abort_err = DW_CANCELED;
	e->in_stream_cb--;
	return rc == 0 ? n : 0;
}

static size_t read_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct engine_req *r = arg;
	struct engine *e = r->e;
	ssize_t n;

	if (r->deferred)
		return CURL_READFUNC_ABORT;
	e->in_stream_cb++;
	n = r->call.upload(p, size * nmemb, r->call.upload_arg);
	e->in_stream_cb--;
	if (n < 0) {
		r->abort_err = (int)n;
		return CURL_READFUNC_ABORT;
	}
	return (size_t)n;
}

static void start_transfer(struct engine_req *r)
{
	struct engine *e = r->e;
	CURL *c = curl_easy_init();
	const char *ctype = r->ctype;

	r->easy = c;
	if (r->call.url != NULL)
		r->url = xstrdup(r->call.url);
	else if (r->versioned)
		r->url = xasprintf("%s/v%s%s", e->base_url, e->api,
				   r->call.path);
	else
		r->url = xasprintf("%s%s", e->base_url, r->call.path);
	curl_easy_setopt(c, CURLOPT_URL, r->url);
	if (r->call.url == NULL)
		engine_endpoint_options(e, c);
	curl_easy_setopt(c, CURLOPT_PRIVATE, r);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ENGINE_CONNECT_MS);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
	if (r->call.timeout_ms > 0)
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, r->call.timeout_ms);
	if (r->call.upload != NULL) {
		r->headers = curl_slist_append(r->headers,
					       "Transfer-Encoding: chunked");
		curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
		curl_easy_setopt(c, CURLOPT_READDATA, r);
		if (strcmp(r->method, "PUT") == 0) {
			curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		} else {
			curl_easy_setopt(c, CURLOPT_POST, 1L);
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
		}
	} else if (r->req_body != NULL || strcmp(r->method, "POST") == 0 ||
		   strcmp(r->method, "PUT") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS,
				 r->req_body != NULL ? r->req_body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)r->call.body_len);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
	} else if (strcmp(r->method, "HEAD") == 0) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (strcmp(r->method, "GET") != 0) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
	}
	if (r->req_body != NULL || r->call.upload != NULL) {
		char *h = xasprintf("Content-Type: %s", ctype);

		r->headers = curl_slist_append(r->headers, h);
		free(h);
	}
	if (r->auth != NULL) {
		char *h = xasprintf("X-Registry-Auth: %s", r->auth);

		r->headers = curl_slist_append(r->headers, h);
		free(h);
	}
	r->headers = curl_slist_append(r->headers, "Expect:");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, r->headers);
	log_trace("engine %s %s", r->method, r->url);
	if (curl_multi_add_handle(e->multi, c) == CURLM_RECURSIVE_API_CALL) {
		/* Started from inside one of curl's callbacks (a streamed
		   line, a finished request's done callback run by curl): curl
		   refuses the add there, and the request would wait forever.
		   It joins from the loop, right after. */
		r->add_pending = true;
		r->add_next = e->adding;
		e->adding = r;
		uv_timer_start(&e->defer, on_defer, 0, 0);
		return;
	}
	r->in_multi = true;
}

int engine_request_raw(struct engine *e, const struct engine_call *call,
		       engine_done_cb cb, void *arg, struct engine_req **out,
		       bool versioned)
{
	struct engine_req *r;

	if (e->closing)
		return DW_CANCELED;
	r = xcalloc(1, sizeof(*r));
	r->e = e;
	r->call = *call;
	r->method = xstrdup(call->method != NULL ? call->method : "GET");
	r->ctype = xstrdup(call->content_type != NULL ? call->content_type
						      : "application/json");
	r->cb = cb;
	r->arg = arg;
	if (call->body != NULL) {
		r->req_body = xmalloc(call->body_len + 1);
		memcpy(r->req_body, call->body, call->body_len);
		r->req_body[call->body_len] = '\0';
	}
	r->path_copy = xstrdup(call->url != NULL ? call->url : call->path);
	if (call->url != NULL) {
		r->call.url = r->path_copy;
		r->call.path = NULL;
		versioned = false;
	} else {
		r->call.path = r->path_copy;
	}
	r->call.body = r->req_body;
	if (call->registry_auth != NULL)
		r->auth = xstrdup(call->registry_auth);
	r->call.registry_auth = r->auth;
	r->versioned = versioned;
	buf_init(&r->body, call->max_body ? call->max_body : ENGINE_MAX_BODY);
	buf_init(&r->line, call->max_body ? call->max_body : ENGINE_MAX_BODY);
	engine_demux_init(&r->demux, call->raw_stream);
	r->all_next = e->reqs;
	e->reqs = r;
	if (out != NULL)
		*out = r;
	if (!versioned || e->state == ENGINE_READY) {
		start_transfer(r);
	} else {
		/* Wait for the API version, asking for it if nobody has. */
		r->next = e->waiting;
		e->waiting = r;
		if (e->state == ENGINE_NEW) {
			e->state = ENGINE_NEGOTIATING;
			struct engine_call v = {.method = "GET",
						.path = "/version",
						.timeout_ms = 10000};
			engine_request_raw(e, &v, negotiated, e, NULL, false);
		} else if (e->state == ENGINE_DOWN) {
			e->waiting = r->next;
			r->next = NULL;
			engine_defer_finish(r, DW_ENGINE_DOWN);
		}
	}
	return 0;
}

int engine_request(struct engine *e, const struct engine_call *call,
		   engine_done_cb cb, void *arg, struct engine_req **out)
{
	return engine_request_raw(e, call, cb, arg, out, true);
}

/* Report requests finished outside curl (cancel, engine down) from the loop,
   never from inside the caller's own call. */
static void unlink_adding(struct engine_req *r)
{
	struct engine_req **pp;

	for (pp = &r->e->adding; *pp != NULL; pp = &(*pp)->add_next)
		if (*pp == r) {
			*pp = r->add_next;
			break;
		}
	r->add_pending = false;
	r->add_next = NULL;
}

static void on_defer(uv_timer_t *t)
{
	struct engine *e = t->data;
	struct engine_req *r, *next, *list = e->deferred;

	while (e->adding != NULL) {
		r = e->adding;
		unlink_adding(r);
		curl_multi_add_handle(e->multi, r->easy);
		r->in_multi = true;
	}
	e->deferred = NULL;
	for (r = list; r != NULL; r = next) {
		next = r->next;
		r->next = NULL;
		finish(r, r->abort_err);
	}
}

void engine_defer_finish(struct engine_req *r, int err)
{
	struct engine *e = r->e;

	/* Not removed from the multi here: this may run inside a curl
	   callback. write_cb refuses more data, and finish() removes it. */
	r->deferred = true;
	r->abort_err = err;
	r->next = e->deferred;
	e->deferred = r;
	uv_timer_start(&e->defer, on_defer, 0, 0);
}

void engine_cancel(struct engine_req *r)
{
	struct engine *e = r->e;
	struct engine_req **pp;

	if (r->done || r->canceled)
		return;
	r->canceled = true;
	for (pp = &e->waiting; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			r->next = NULL;
			break;
		}
	}
	engine_defer_finish(r, DW_CANCELED);
}

void engine_forget(struct engine_req *r)
{
	if (r->done)
		return;
	r->cb = NULL;
	r->call.on_line = NULL;
	r->call.on_frame = NULL;
	r->call.upload = NULL;
	engine_cancel(r);
}

static int map_curl(struct engine_req *r, CURLcode rc)
{
	struct engine *e = r->e;

	if (rc == CURLE_OK)
		return 0;
	if (r->abort_err != 0)
		return r->abort_err;
	if (r->call.url != NULL) /* not the engine: a probe */
		return rc == CURLE_OPERATION_TIMEDOUT ? DW_TIMEOUT : DW_NOTREADY;
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
		free(e->down_reason);
		e->down_reason = xstrdup(r->errbuf[0] ? r->errbuf
						      : curl_easy_strerror(rc));
		return DW_ENGINE_DOWN;
	case CURLE_OPERATION_TIMEDOUT:
		if (!r->versioned && e->state != ENGINE_READY) {
			free(e->down_reason);
			e->down_reason = xstrdup("no answer in time");
			return DW_ENGINE_DOWN;
		}
		return DW_TIMEOUT;
	default:
		log_debug("engine %s: %s", r->url,
			  r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc));
		if (e->state != ENGINE_READY) {
			free(e->down_reason);
			e->down_reason = xstrdup(r->errbuf[0]
						     ? r->errbuf
						     : curl_easy_strerror(rc));
			return DW_ENGINE_DOWN;
		}
		return DW_ENGINE_PROTO;
	}
}

void engine_check_done(struct engine *e)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(e->multi, &left)) != NULL) {
		struct engine_req *r;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		if (r->deferred) {
			/* Cancelled: on_defer reports it. */
			curl_multi_remove_handle(e->multi, r->easy);
			r->in_multi = false;
			continue;
		}
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
		finish(r, map_curl(r, m->data.result));
	}
}

/* ---- synchronous use ---- */

struct sync_state {
	bool done;
	int err;
	long status;
	char *body;
	size_t len;
};

static void sync_done(struct engine_req *req, int err,
		      const struct engine_resp *resp, void *arg)
{
	struct sync_state *s = arg;

	(void)req;
	s->done = true;
	s->err = err;
	if (err == 0) {
		s->status = resp->status;
		s->body = xmalloc(resp->len + 1);
		memcpy(s->body, resp->body, resp->len);
		s->body[resp->len] = '\0';
		s->len = resp->len;
	}
}

int engine_call_sync(struct engine *e, const struct engine_call *call,
		     long *status, char **body, size_t *len)
{
	struct sync_state s = {0};
	int err;

	/* curl runs nothing from inside its own callbacks: the call would
	   wait for ever. */
	if (e->in_stream_cb > 0) {
		log_error("engine: %s %s: a synchronous call from inside a streamed "
			  "request's callback cannot finish", call->method != NULL ? call->method : "GET",
			  call->url != NULL ? call->url : call->path);
		return DW_USAGE;
	}
	err = engine_request(e, call, sync_done, &s, NULL);
	if (err != 0)
		return err;
	loop_run_until(e->loop, &s.done);
	if (status != NULL)
		*status = s.status;
	if (len != NULL)
		*len = s.len;
	if (body != NULL)
		*body = s.body;
	else
		free(s.body);
	return s.err;
}

/* ---- closing ---- */

void engine_handle_closed(struct engine *e)
{
	if (--e->open_handles > 0 || !e->closing)
		return;
	if (e->close_cb != NULL)
		e->close_cb(e->close_arg);
	engine_target_release(&e->t);
	free(e->ssh_dir);
	free(e->ssh_sock);
	SSL_CTX_free(e->ssl_ctx);
	free(e->port_host);
	free(e->base_url);
	free(e->down_reason);
	free(e);
}

static void timer_closed(uv_handle_t *h)
{
	engine_handle_closed(h->data);
}

void engine_close(struct engine *e, void (*cb)(void *arg), void *arg)
{
	if (e == NULL)
		return;
	e->closing = true;
	e->close_cb = cb;
	e->close_arg = arg;
	/* Cancelled requests learn of it before the client goes away. */
	/* A request whose callback is running (done) is released by its own
	   finish() once the callback returns: engine_close may be called from
	   inside one. */
	for (;;) {
		struct engine_req *r = e->reqs;

		while (r != NULL && r->done)
			r = r->all_next;
		if (r == NULL)
			break;
		finish(r, DW_CANCELED);
	}
	e->waiting = NULL;
	e->deferred = NULL;
	engine_hijack_close_all(e);
	curl_multi_cleanup(e->multi);
	e->multi = NULL;
	engine_ssh_close(e);
	e->open_handles += 2;
	e->timer.data = e;
	e->defer.data = e;
	uv_close((uv_handle_t *)&e->timer, timer_closed);
	uv_close((uv_handle_t *)&e->defer, timer_closed);
}
