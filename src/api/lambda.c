/*
 * The Lambda Runtime API server (see lambda.h for the contract and the
 * reasoning on where it listens).
 *
 * Glossary of one function's state:
 * - queued: invocations not yet handed out, oldest first;
 * - inflight: handed to a runtime by /next, waiting for /response or
 *   /error (several with replicas);
 * - pollers: /next requests parked until there is something to hand out.
 * Every invocation has a timer for its deadline; it is freed from that
 * timer's close callback.
 */
#include "api/lambda.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <cjson/cJSON.h>

#include "base/error.h"
#include "base/log.h"
#include "base/util.h"

#define PREFIX "/2018-06-01/runtime/"
#define MAX_PAYLOAD (6u << 20)
#define DEFAULT_TIMEOUT_MS 60000
#define MAX_POLLERS 64
#define N_ENV 8

struct inv {
	struct lambda_fn *fn;
	char id[37];
	char *payload;
	size_t len;
	int64_t deadline_ms;
	uv_timer_t timer;
	lambda_done_cb cb;
	void *arg;
	struct inv *prev, *next;
};

struct list {
	struct inv *head, *tail;
};

struct lambda_fn {
	uv_loop_t *loop;
	char *name;
	char *arn;
	char endpoint[64];
	char *env[N_ENV + 1];
	unsigned timeout_ms;
	uint32_t allow_net, allow_mask; /* peers served; mask 0 = any */
	struct http_server *server;
	struct list queued;
	struct list inflight;
	struct http_req *pollers[MAX_POLLERS];
	size_t n_pollers;
	bool paused;
	bool closing;
	char *init_error; /* the last /init/error: message, type, body */
	char *init_type;
	char *init_body;
	void (*idle_cb)(void *arg);
	void *idle_arg;
	int open; /* the server and every invocation's timer */
	void (*close_cb)(void *arg);
	void *close_arg;
};

static void dispatch(struct lambda_fn *fn);

static void list_add(struct list *l, struct inv *v)
{
	v->prev = l->tail;
	v->next = NULL;
	if (l->tail)
		l->tail->next = v;
	else
		l->head = v;
	l->tail = v;
}

static void list_del(struct list *l, struct inv *v)
{
	if (v->prev)
		v->prev->next = v->next;
	else
		l->head = v->next;
	if (v->next)
		v->next->prev = v->prev;
	else
		l->tail = v->prev;
	v->prev = v->next = NULL;
}

static int64_t now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void random_hex(char *out, size_t bytes)
{
	unsigned char r[32];

	if (uv_random(NULL, NULL, r, bytes, 0, NULL) != 0)
		for (size_t i = 0; i < bytes; i++) /* never expected */
			r[i] = (unsigned char)(now_ns() >> (i % 8));
	for (size_t i = 0; i < bytes; i++)
		sprintf(out + 2 * i, "%02x", r[i]);
}

static void make_uuid(char out[37])
{
	char h[33];

	random_hex(h, 16);
	h[12] = '4';			       /* version 4 */
	h[16] = "89ab"[(h[16] - '0') & 3];     /* RFC 4122 variant */
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12,
		 h + 16, h + 20);
}

static void forget_init_error(struct lambda_fn *fn)
{
	free(fn->init_error);
	free(fn->init_type);
	free(fn->init_body);
	fn->init_error = fn->init_type = fn->init_body = NULL;
}

static void maybe_free(struct lambda_fn *fn)
{
	if (!fn->closing || fn->open > 0)
		return;
	if (fn->close_cb)
		fn->close_cb(fn->close_arg);
	for (int i = 0; i < N_ENV && fn->env[i]; i++)
		free(fn->env[i]);
	forget_init_error(fn);
	free(fn->name);
	free(fn->arn);
	free(fn);
}

static void on_inv_closed(uv_handle_t *h)
{
	struct inv *v = h->data;
	struct lambda_fn *fn = v->fn;

	free(v->payload);
	free(v);
	fn->open--;
	maybe_free(fn);
}

static void check_idle(struct lambda_fn *fn)
{
	void (*cb)(void *arg) = fn->idle_cb;

	if (cb == NULL || fn->inflight.head)
		return;
	fn->idle_cb = NULL;
	cb(fn->idle_arg);
}

/* End v with res: take it off its list, tell its owner, free it. */
static void finish(struct inv *v, struct list *from, enum lambda_outcome o,
		   const char *body, size_t len, const char *type,
		   const char *message)
{
	struct lambda_result res = {o, body ? body : "", len, type, message};
	struct lambda_fn *fn = v->fn;

	list_del(from, v);
	uv_timer_stop(&v->timer);
	if (v->cb)
		v->cb(&res, v->arg);
	uv_close((uv_handle_t *)&v->timer, on_inv_closed);
	if (from == &fn->inflight)
		check_idle(fn);
}

static void on_deadline(uv_timer_t *t)
{
	struct inv *v = container_of(t, struct inv, timer);
	struct lambda_fn *fn = v->fn;
	bool queued = false;
	char msg[128];

	for (struct inv *q = fn->queued.head; q; q = q->next)
		queued |= q == v;
	snprintf(msg, sizeof(msg), "Task timed out after %.2f seconds",
		 fn->timeout_ms / 1000.0);
	log_info("%s: invocation %s: %s", fn->name, v->id, msg);
	finish(v, queued ? &fn->queued : &fn->inflight, LAMBDA_TIMEOUT, NULL,
	       0, "Sandbox.Timedout", msg);
}

int lambda_invoke(struct lambda_fn *fn, const char *payload, size_t len,
		  lambda_done_cb cb, void *arg)
{
	struct inv *v;

	if (fn->closing)
		return UV_ECANCELED;
	if (len > MAX_PAYLOAD)
		return DW_TOOBIG;
	if (fn->init_error) {
		/* Broken until its runtime starts over: say why at once. */
		struct lambda_result res = {LAMBDA_ERROR, fn->init_body,
					    strlen(fn->init_body),
					    fn->init_type, fn->init_error};

		cb(&res, arg);
		return 0;
	}
	v = xcalloc(1, sizeof(*v));
	v->fn = fn;
	make_uuid(v->id);
	v->payload = xmalloc(len + 1);
	memcpy(v->payload, payload, len);
	v->payload[len] = '\0';
	v->len = len;
	v->deadline_ms = now_ms() + fn->timeout_ms;
	v->cb = cb;
	v->arg = arg;
	uv_timer_init(fn->loop, &v->timer);
	v->timer.data = v;
	uv_timer_start(&v->timer, on_deadline, fn->timeout_ms, 0);
	fn->open++;
	list_add(&fn->queued, v);
	dispatch(fn);
	return 0;
}

/* ---- the runtime's side ---- */

static void trace_id(char *out, size_t cap)
{
	char a[25], b[17];

	random_hex(a, 12);
	random_hex(b, 8);
	snprintf(out, cap, "Root=1-%08" PRIx64 "-%s;Parent=%s;Sampled=0",
		 (uint64_t)(now_ms() / 1000), a, b);
}

static void drop_poller(struct lambda_fn *fn, struct http_req *r)
{
	for (size_t i = 0; i < fn->n_pollers; i++) {
		if (fn->pollers[i] == r) {
			memmove(&fn->pollers[i], &fn->pollers[i + 1],
				(fn->n_pollers - i - 1) * sizeof(*fn->pollers));
			fn->n_pollers--;
			return;
		}
	}
}

static void on_poller_end(struct http_req *r, bool sent, void *arg)
{
	drop_poller(arg, r);
}

/* A handed-out invocation, until its /next answer has gone out. */
struct handed {
	struct lambda_fn *fn;
	char id[37];
};

static void list_push_front(struct list *l, struct inv *v)
{
	v->prev = NULL;
	v->next = l->head;
	if (l->head)
		l->head->prev = v;
	else
		l->tail = v;
	l->head = v;
}

/* The /next answer did not go out (the runtime left while parked): the
   invocation was never received, so it goes back to the front. */
static void on_handed_end(struct http_req *r, bool sent, void *arg)
{
	struct handed *h = arg;
	struct lambda_fn *fn = h->fn;

	if (!sent && !fn->closing) {
		for (struct inv *v = fn->inflight.head; v; v = v->next) {
			if (strcmp(v->id, h->id) == 0) {
				log_debug("%s: invocation %s not delivered; queued again",
					  fn->name, v->id);
				list_del(&fn->inflight, v);
				list_push_front(&fn->queued, v);
				dispatch(fn);
				break;
			}
		}
	}
	free(h);
}

/*
 * Hand queued invocations, oldest first, to parked /next requests, newest
 * first: a runtime that restarted polls again, and its old poll (which
 * MHD cannot see die while parked) is the least likely to be alive.
 */
static void dispatch(struct lambda_fn *fn)
{
	while (!fn->paused && fn->queued.head && fn->n_pollers > 0) {
		struct inv *v = fn->queued.head;
		struct http_req *r = fn->pollers[fn->n_pollers - 1];
		struct handed *h;
		char deadline[32], trace[96];

		drop_poller(fn, r);
		if (http_req_peer_closed(r)) {
			/* Its runtime left while it waited: end it, try the next. */
			http_req_on_end(r, NULL, NULL);
			http_reply_empty(r, 410);
			continue;
		}
		h = xcalloc(1, sizeof(*h));
		h->fn = fn;
		memcpy(h->id, v->id, sizeof(h->id));
		http_req_on_end(r, on_handed_end, h);
		list_del(&fn->queued, v);
		list_add(&fn->inflight, v);
		snprintf(deadline, sizeof(deadline), "%" PRId64, v->deadline_ms);
		trace_id(trace, sizeof(trace));
		http_req_add_header(r, "Lambda-Runtime-Aws-Request-Id", v->id);
		http_req_add_header(r, "Lambda-Runtime-Deadline-Ms", deadline);
		http_req_add_header(r, "Lambda-Runtime-Invoked-Function-Arn", fn->arn);
		http_req_add_header(r, "Lambda-Runtime-Trace-Id", trace);
		http_reply(r, 200, "application/json", v->payload, v->len);
		log_debug("%s: invocation %s handed out", fn->name, v->id);
	}
}

static void lambda_error(struct http_req *r, int status, const char *type,
			 const char *message)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddStringToObject(j, "errorMessage", message);
	cJSON_AddStringToObject(j, "errorType", type);
	http_reply_json(r, status, j);
}

static void accepted(struct http_req *r)
{
	http_reply(r, 202, "application/json", "{\"status\":\"OK\"}", 15);
}

/* A peer outside the allowed subnet is refused (403); true when it was. */
static bool refused(struct lambda_fn *fn, struct http_req *r)
{
	if ((http_req_peer_ipv4(r) & fn->allow_mask) == fn->allow_net)
		return false;
	lambda_error(r, 403, "AccessDenied",
		     "only the function's own network may use its runtime API");
	return true;
}

static void on_next(struct http_req *r, void *arg)
{
	struct lambda_fn *fn = arg;

	if (refused(fn, r))
		return;
	if (fn->n_pollers == MAX_POLLERS) {
		lambda_error(r, 429, "TooManyRequests",
			     "too many runtimes waiting for an invocation");
		return;
	}
	/* A runtime asking again has (re)started: its init went well. */
	forget_init_error(fn);
	fn->pollers[fn->n_pollers++] = r;
	http_req_on_end(r, on_poller_end, fn);
	dispatch(fn);
}

/* errorType and errorMessage from a runtime's error body, with the
   header's type and a default when the body says nothing. */
static void error_fields(struct http_req *r, const cJSON *j, const char **type,
			 const char **message)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "errorType");
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "errorMessage");
	const char *h = http_req_header(r, "Lambda-Runtime-Function-Error-Type");

	*type = cJSON_IsString(t) ? t->valuestring : h ? h : "Runtime.Unknown";
	*message = cJSON_IsString(m) ? m->valuestring
				     : "the function reported an error";
}

static void on_invocation(struct http_req *r, void *arg)
{
	struct lambda_fn *fn = arg;
	const char *tail = http_req_tail(r), *slash = strchr(tail, '/');
	size_t idlen = slash ? (size_t)(slash - tail) : 0, len;
	const char *body = http_req_body(r, &len);
	bool respond = slash && strcmp(slash, "/response") == 0;
	struct inv *v;

	if (refused(fn, r))
		return;
	if (!respond && (slash == NULL || strcmp(slash, "/error") != 0)) {
		lambda_error(r, 404, "InvalidRequest", "unknown runtime API path");
		return;
	}
	for (v = fn->inflight.head; v; v = v->next)
		if (strlen(v->id) == idlen && memcmp(v->id, tail, idlen) == 0)
			break;
	if (v == NULL) {
		lambda_error(r, 400, "InvalidRequestID",
			     "no invocation in flight has this request id");
		return;
	}
	if (respond) {
		accepted(r);
		finish(v, &fn->inflight, LAMBDA_OK, body, len, NULL, NULL);
	} else {
		cJSON *j = cJSON_ParseWithLength(body, len);
		const char *type, *message;

		error_fields(r, j, &type, &message);
		accepted(r);
		finish(v, &fn->inflight, LAMBDA_ERROR, body, len, type, message);
		cJSON_Delete(j);
	}
}

static void on_init_error(struct http_req *r, void *arg)
{
	struct lambda_fn *fn = arg;
	size_t len;
	const char *body = http_req_body(r, &len);
	cJSON *j;
	const char *type, *message;

	if (refused(fn, r))
		return;
	j = cJSON_ParseWithLength(body, len);
	error_fields(r, j, &type, &message);
	log_warn("%s: the function's init failed: %s: %s", fn->name, type, message);
	forget_init_error(fn);
	fn->init_error = xstrdup(message);
	fn->init_type = xstrdup(type);
	fn->init_body = xstrndup(body, len);
	accepted(r);
	while (fn->queued.head)
		finish(fn->queued.head, &fn->queued, LAMBDA_ERROR, body, len,
		       type, message);
	while (fn->inflight.head)
		finish(fn->inflight.head, &fn->inflight, LAMBDA_ERROR, body,
		       len, type, message);
	cJSON_Delete(j);
}

/* ---- the control API's side ---- */

static void on_http_client_end(struct http_req *r, bool sent, void *arg)
{
	*(struct http_req **)arg = NULL; /* the invocation runs on */
}

static void on_http_done(const struct lambda_result *res, void *arg)
{
	struct http_req **slot = arg, *r = *slot;
	cJSON *j;

	free(slot);
	if (r == NULL)
		return;
	http_req_on_end(r, NULL, NULL);
	if (res->outcome == LAMBDA_OK) {
		http_reply(r, 200, "application/json", res->body, res->len);
		return;
	}
	/* Pass the function's own error object on (stackTrace and all),
	   making sure it names its message and type. */
	j = cJSON_ParseWithLength(res->body, res->len);
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		j = cJSON_CreateObject();
	}
	cJSON_DeleteItemFromObjectCaseSensitive(j, "errorMessage");
	cJSON_DeleteItemFromObjectCaseSensitive(j, "errorType");
	cJSON_AddStringToObject(j, "errorMessage", res->error_message);
	cJSON_AddStringToObject(j, "errorType", res->error_type);
	http_reply_json(r, res->outcome == LAMBDA_CANCELED ? 503 : 502, j);
}

void lambda_invoke_http(struct http_req *req, struct lambda_fn *fn)
{
	struct http_req **slot = xmalloc(sizeof(*slot));
	size_t len;
	const char *body = http_req_body(req, &len);
	int err;

	*slot = req;
	/* Before the invocation: its callback may run at once. */
	http_req_on_end(req, on_http_client_end, slot);
	err = lambda_invoke(fn, body, len, on_http_done, slot);
	if (err != 0) {
		http_req_on_end(req, NULL, NULL);
		free(slot);
		http_reply_error(req, err == DW_TOOBIG ? 413 : 503,
				 "cannot invoke '%s': %s", fn->name,
				 dw_strerror(err));
	}
}

/* ---- lifecycle ---- */

static void build_env(struct lambda_fn *fn, unsigned timeout_ms)
{
	int i = 0;

	fn->env[i++] = xasprintf("AWS_LAMBDA_RUNTIME_API=%s", fn->endpoint);
	fn->env[i++] = xasprintf("AWS_LAMBDA_FUNCTION_NAME=%s", fn->name);
	fn->env[i++] = xstrdup("AWS_LAMBDA_FUNCTION_VERSION=$LATEST");
	fn->env[i++] = xstrdup("AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128");
	fn->env[i++] = xasprintf("AWS_LAMBDA_FUNCTION_TIMEOUT=%u", timeout_ms / 1000);
	fn->env[i++] = xstrdup("AWS_REGION=us-east-1");
	fn->env[i++] = xstrdup("AWS_DEFAULT_REGION=us-east-1");
	fn->env[i] = NULL;
}

/* "A.B.C.D/N" into a network and mask (host byte order). */
static int parse_cidr(const char *s, uint32_t *net, uint32_t *mask)
{
	char ip[INET_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	struct in_addr a;
	char *end;
	long bits;

	if (slash == NULL || (size_t)(slash - s) >= sizeof(ip))
		return DW_USAGE;
	memcpy(ip, s, (size_t)(slash - s));
	ip[slash - s] = '\0';
	bits = strtol(slash + 1, &end, 10);
	if (inet_pton(AF_INET, ip, &a) != 1 || *end != '\0' || end == slash + 1 ||
	    bits < 0 || bits > 32)
		return DW_USAGE;
	*mask = bits == 0 ? 0 : ~0u << (32 - bits);
	*net = ntohl(a.s_addr) & *mask;
	return 0;
}

int lambda_fn_new(uv_loop_t *loop, const struct lambda_options *opts,
		  struct lambda_fn **out, char **cause)
{
	struct lambda_fn *fn = xcalloc(1, sizeof(*fn));
	struct http_route routes[] = {
		{"GET", PREFIX "invocation/next", 0, on_next, fn},
		{"POST", PREFIX "invocation/", HTTP_PREFIX, on_invocation, fn},
		{"POST", PREFIX "init/error", 0, on_init_error, fn},
	};
	struct http_options ho = {
		.address = opts->address,
		.port = opts->port,
		.policy = HTTP_POLICY_RUNTIME,
		.max_body = MAX_PAYLOAD,
	};
	int err;

	if (opts->allow != NULL &&
	    parse_cidr(opts->allow, &fn->allow_net, &fn->allow_mask) != 0) {
		dw_cause(cause, "cannot serve '%s' to '%s': expected an IPv4 subnet as A.B.C.D/N",
			 opts->name, opts->allow);
		free(fn);
		return DW_USAGE;
	}
	fn->loop = loop;
	fn->name = xstrdup(opts->name);
	fn->arn = xasprintf("arn:aws:lambda:us-east-1:000000000000:function:%s",
			    opts->name);
	fn->timeout_ms = opts->timeout_ms ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
	ho.name = fn->name;
	err = http_server_new(loop, &ho, routes, ARRAY_SIZE(routes),
			      &fn->server, cause);
	if (err != 0) {
		free(fn->name);
		free(fn->arn);
		free(fn);
		return err;
	}
	fn->open = 1;
	snprintf(fn->endpoint, sizeof(fn->endpoint), "%s:%d",
		 http_server_address(fn->server), http_server_port(fn->server));
	build_env(fn, fn->timeout_ms);
	*out = fn;
	return 0;
}

const char *lambda_fn_endpoint(const struct lambda_fn *fn)
{
	return fn->endpoint;
}

const char *const *lambda_fn_env(const struct lambda_fn *fn)
{
	return (const char *const *)fn->env;
}

void lambda_fn_pause(struct lambda_fn *fn, bool paused)
{
	fn->paused = paused;
	if (!paused)
		dispatch(fn);
}

size_t lambda_fn_waiting(const struct lambda_fn *fn)
{
	return fn->n_pollers;
}

bool lambda_fn_ready(const struct lambda_fn *fn)
{
	for (size_t i = 0; i < fn->n_pollers; i++)
		if (!http_req_peer_closed(fn->pollers[i]))
			return true;
	return fn->inflight.head != NULL;
}

bool lambda_fn_busy(const struct lambda_fn *fn)
{
	return fn->inflight.head != NULL;
}

void lambda_fn_on_idle(struct lambda_fn *fn, void (*cb)(void *arg), void *arg)
{
	fn->idle_cb = cb;
	fn->idle_arg = arg;
	check_idle(fn);
}

void lambda_fn_reset(struct lambda_fn *fn, const char *type,
		     const char *message)
{
	forget_init_error(fn);
	while (fn->inflight.head)
		finish(fn->inflight.head, &fn->inflight, LAMBDA_ERROR, NULL, 0,
		       type, message);
	/* Parked polls of the runtime that is gone. */
	while (fn->n_pollers > 0) {
		struct http_req *r = fn->pollers[fn->n_pollers - 1];

		drop_poller(fn, r);
		http_req_on_end(r, NULL, NULL);
		lambda_error(r, 410, "Runtime.Gone", "the function's container is gone");
	}
}

const char *lambda_fn_init_error(const struct lambda_fn *fn)
{
	return fn->init_error;
}

static void on_server_closed(void *arg)
{
	struct lambda_fn *fn = arg;

	fn->open--;
	maybe_free(fn);
}

void lambda_fn_close(struct lambda_fn *fn, void (*cb)(void *arg), void *arg)
{
	fn->closing = true;
	fn->close_cb = cb;
	fn->close_arg = arg;
	fn->idle_cb = NULL;
	while (fn->queued.head)
		finish(fn->queued.head, &fn->queued, LAMBDA_CANCELED, NULL, 0,
		       "Sandbox.Canceled", "the function is shutting down");
	while (fn->inflight.head)
		finish(fn->inflight.head, &fn->inflight, LAMBDA_CANCELED, NULL,
		       0, "Sandbox.Canceled", "the function is shutting down");
	http_server_close(fn->server, on_server_closed, fn);
}
