/*
 * The control API assembled from its parts (see control.h): the route
 * table, the handlers that call into the session's control_ops, logs
 * served from the event stream, and the api file.
 */
#include "api/control.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/apifile.h"
#include "api/dashboard.h"
#include "api/http.h"
#include "api/sse.h"
#include "base/buf.h"
#include "base/error.h"
#include "base/log.h"
#include "base/util.h"

#define MAX_TAIL 10000
#define FOLLOW_QUEUE (1u << 20)

struct follower {
	struct control *c;
	struct http_stream *st;
	struct events_sub *sub;
	char *name;
	struct follower *prev, *next;
};

struct control {
	const struct control_ops *ops;
	void *ctx;
	struct events *es;
	struct manager *manager;
	struct sse *sse;
	struct http_server *server;
	char *api_file;
	char *version;
	struct follower *followers;
	int open; /* the server and the sse */
	void (*close_cb)(void *arg);
	void *close_arg;
};

static bool known(struct control *c, const char *name)
{
	const char *const *names;
	size_t n = c->ops->names(c->ctx, &names);

	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

/* 404 naming what exists; returns false. */
static bool unknown(struct control *c, struct http_req *r, const char *name)
{
	const char *const *names;
	size_t n = c->ops->names(c->ctx, &names);
	cJSON *root = cJSON_CreateObject();
	cJSON *err = cJSON_AddObjectToObject(root, "error");
	cJSON *avail = cJSON_AddArrayToObject(err, "available");
	char *msg = xasprintf("no container '%s' in this project", name);

	cJSON_AddStringToObject(err, "message", msg);
	cJSON_AddStringToObject(err, "wanted", name);
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(avail, cJSON_CreateString(names[i]));
	free(msg);
	http_reply_json(r, 404, root);
	return false;
}

static bool named(struct control *c, struct http_req *r)
{
	const char *name = http_req_tail(r);

	if (known(c, name))
		return true;
	return unknown(c, r, name);
}

static void on_status(struct http_req *r, void *arg)
{
	struct control *c = arg;
	cJSON *s = c->ops->status(c->ctx);

	if (s == NULL) {
		http_reply_error(r, 500, "cannot describe the session");
		return;
	}
	http_req_add_header(r, "Cache-Control", "no-store");
	http_reply_json(r, 200, s);
}

static void act(struct control *c, struct http_req *r,
		int (*fn)(void *, const char *, char **), const char *key)
{
	const char *name = http_req_tail(r);
	char *cause = NULL;
	cJSON *j;
	int err;

	if (!named(c, r))
		return;
	err = fn(c->ctx, name, &cause);
	if (err != 0) {
		http_reply_error(r, err == DW_NOTFOUND ? 404 : 409, "%s",
				 cause ? cause : dw_strerror(err));
		free(cause);
		return;
	}
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, key, name);
	http_reply_json(r, 202, j);
}

static void on_trigger(struct http_req *r, void *arg)
{
	struct control *c = arg;

	act(c, r, c->ops->trigger, "triggered");
}

static void on_restart(struct http_req *r, void *arg)
{
	struct control *c = arg;

	act(c, r, c->ops->restart, "restarting");
}

static void on_invoke(struct http_req *r, void *arg)
{
	struct control *c = arg;
	struct lambda_fn *fn;

	if (!named(c, r))
		return;
	fn = c->ops->function(c->ctx, http_req_tail(r));
	if (fn == NULL) {
		http_reply_error(r, 409, "'%s' is not a function container (set \"function\": true)",
				 http_req_tail(r));
		return;
	}
	lambda_invoke_http(r, fn);
}

static void on_version(struct http_req *r, void *arg)
{
	struct control *c = arg;
	char *text = xasprintf("devwatch %s", c->version);

	http_reply(r, 200, "text/plain; charset=utf-8", text, strlen(text));
	free(text);
}

/* ---- logs: the tail from the history, then live lines ---- */

struct tail {
	const char *name;
	char **lines; /* a ring of the last n */
	size_t n, next, count;
};

static const char *log_line(const struct event *ev, const char *name)
{
	const cJSON *line;

	if (strcmp(ev->kind, "log") != 0 || strcmp(ev->container, name) != 0)
		return NULL;
	line = cJSON_GetObjectItemCaseSensitive(ev->fields, "line");
	return cJSON_IsString(line) ? line->valuestring : NULL;
}

static void on_tail_event(const struct event *ev, void *arg)
{
	struct tail *t = arg;
	const char *line = log_line(ev, t->name);

	if (line == NULL || t->n == 0)
		return;
	free(t->lines[t->next]);
	t->lines[t->next] = xstrdup(line);
	t->next = (t->next + 1) % t->n;
	t->count++;
}

static void on_follow_event(const struct event *ev, void *arg)
{
	struct follower *f = arg;
	const char *line = log_line(ev, f->name);
	struct buf b;

	if (line == NULL)
		return;
	buf_init(&b, FOLLOW_QUEUE);
	if (buf_addf(&b, "%s\n", line) == 0)
		(void)http_stream_write(f->st, b.data, b.len);
	buf_release(&b);
}

static void on_follow_close(struct http_stream *st, void *arg)
{
	struct follower *f = arg;
	struct control *c = f->c;

	events_unsubscribe(f->sub);
	if (f->prev)
		f->prev->next = f->next;
	else
		c->followers = f->next;
	if (f->next)
		f->next->prev = f->prev;
	free(f->name);
	free(f);
}

static void on_logs(struct http_req *r, void *arg)
{
	struct control *c = arg;
	const char *q = http_req_query(r, "tail"), *fq = http_req_query(r, "follow");
	bool follow = fq && (strcmp(fq, "1") == 0 || strcmp(fq, "true") == 0);
	long n = q == NULL ? 100 : strcmp(q, "all") == 0 ? MAX_TAIL : strtol(q, NULL, 10);
	struct tail t = {.name = http_req_tail(r)};
	struct buf out;
	size_t kept, first;

	if (!named(c, r))
		return;
	t.n = (size_t)(n < 0 ? 0 : DW_MIN(n, MAX_TAIL));
	t.lines = xcalloc(t.n ? t.n : 1, sizeof(*t.lines));
	events_replay(c->es, 0, on_tail_event, &t);
	kept = DW_MIN(t.count, t.n);
	first = t.count > t.n ? t.next : 0;
	buf_init(&out, (size_t)64 << 20);
	for (size_t i = 0; i < kept; i++)
		(void)buf_addf(&out, "%s\n", t.lines[(first + i) % (t.n ? t.n : 1)]);
	for (size_t i = 0; i < t.n; i++)
		free(t.lines[i]);
	free(t.lines);
	if (!follow) {
		http_reply(r, 200, "text/plain; charset=utf-8", buf_str(&out), out.len);
	} else {
		struct follower *f = xcalloc(1, sizeof(*f));

		f->c = c;
		f->name = xstrdup(t.name);
		f->st = http_reply_stream(r, 200, "text/plain; charset=utf-8",
					  FOLLOW_QUEUE + out.len, on_follow_close, f);
		(void)http_stream_write(f->st, buf_str(&out), out.len);
		f->sub = events_subscribe(c->es, on_follow_event, f);
		f->next = c->followers;
		if (c->followers)
			c->followers->prev = f;
		c->followers = f;
	}
	buf_release(&out);
}

/* ---- lifecycle ---- */

int control_new(uv_loop_t *loop, const struct control_options *opts,
		const struct control_ops *ops, void *ctx, struct events *es,
		struct manager *manager, struct control **out, char **cause)
{
	struct control *c = xcalloc(1, sizeof(*c));
	struct http_route routes[] = {
		{"GET", "/api/status", 0, on_status, c},
		{"GET", "/api/events", 0, sse_handle, NULL},
		{"GET", "/api/logs/", HTTP_PREFIX, on_logs, c},
		{"POST", "/api/trigger/", HTTP_PREFIX | HTTP_MUTATES, on_trigger, c},
		{"POST", "/api/restart/", HTTP_PREFIX | HTTP_MUTATES, on_restart, c},
		{"POST", "/api/invoke/", HTTP_PREFIX | HTTP_MUTATES, on_invoke, c},
		DASHBOARD_ROUTES,
		/* The manager's routes, /version (harpoon's) among them ... */
		MANAGER_ROUTES(manager),
		/* ... or, without a manager, this /version. */
		{"GET", "/version", 0, on_version, c},
	};
	size_t n = ARRAY_SIZE(routes);
	/* Bodies up to Lambda's 6 MiB payload, for /api/invoke. */
	struct http_options ho = {.port = opts->port, .name = "api",
				  .max_body = 6u << 20};
	int err;

	c->ops = ops;
	c->ctx = ctx;
	c->es = es;
	c->manager = manager;
	c->version = xstrdup(opts->version ? opts->version : "");
	c->sse = sse_new(loop, es, 0);
	routes[1].arg = c->sse;
	if (manager == NULL) {
		routes[n - 5] = routes[n - 1];
		n -= 4;
	}
	err = http_server_new(loop, &ho, routes, n, &c->server, cause);
	if (err != 0)
		goto fail;
	if (opts->state_dir) {
		c->api_file = path_join(opts->state_dir, "api");
		err = apifile_write(c->api_file, http_server_port(c->server), cause);
		if (err != 0) {
			free(c->api_file);
			c->api_file = NULL;
			c->open = 1;
			http_server_close(c->server, NULL, NULL);
			goto fail;
		}
	}
	c->open = 2;
	log_debug("api: serving on http://127.0.0.1:%d/", http_server_port(c->server));
	*out = c;
	return 0;
fail:
	sse_close(c->sse, NULL, NULL);
	free(c->version);
	free(c);
	return err;
}

int control_port(const struct control *c)
{
	return http_server_port(c->server);
}

static void on_part_closed(void *arg)
{
	struct control *c = arg;

	if (--c->open > 0)
		return;
	if (c->close_cb)
		c->close_cb(c->close_arg);
	free(c->version);
	free(c);
}

void control_close(struct control *c, void (*cb)(void *arg), void *arg)
{
	c->close_cb = cb;
	c->close_arg = arg;
	if (c->api_file) {
		apifile_remove(c->api_file);
		free(c->api_file);
		c->api_file = NULL;
	}
	for (struct follower *f = c->followers; f; f = f->next)
		http_stream_end(f->st);
	sse_close(c->sse, on_part_closed, c);
	http_server_close(c->server, on_part_closed, c);
}
