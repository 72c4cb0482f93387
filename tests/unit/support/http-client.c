/*
 * The unit tests' HTTP client: curl multi on the test's uv loop. One poll
 * context per socket curl asks about, a timer for curl's timeouts, and
 * curl_multi_info_read drained after every socket action.
 */
#include "http-client.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "base/util.h"

#define MAX_REQS 1024

struct sock_ctx {
	uv_poll_t poll;
	curl_socket_t fd;
	struct tclient *c;
};

struct tclient {
	uv_loop_t *loop;
	CURLM *multi;
	uv_timer_t timer;
	uv_timer_t deadline;
	struct treq *reqs[MAX_REQS];
	size_t n_reqs;
	bool expired;
};

static void drain(struct tclient *c)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(c->multi, &left)) != NULL) {
		struct treq *t;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&t);
		curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE,
				  &t->status);
		t->curl_code = m->data.result;
		t->done = true;
		curl_multi_remove_handle(c->multi, m->easy_handle);
	}
}

static void on_poll(uv_poll_t *p, int status, int events)
{
	struct sock_ctx *sc = p->data;
	int flags = 0, running;

	if (status < 0)
		flags = CURL_CSELECT_ERR;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(sc->c->multi, sc->fd, flags, &running);
	drain(sc->c);
}

static void on_closed(uv_handle_t *h)
{
	free(h->data);
}

static int socket_cb(CURL *e, curl_socket_t fd, int what, void *userp,
		     void *socketp)
{
	struct tclient *c = userp;
	struct sock_ctx *sc = socketp;
	int events = 0;

	if (what == CURL_POLL_REMOVE) {
		if (sc) {
			uv_poll_stop(&sc->poll);
			uv_close((uv_handle_t *)&sc->poll, on_closed);
			curl_multi_assign(c->multi, fd, NULL);
		}
		return 0;
	}
	if (sc == NULL) {
		sc = xcalloc(1, sizeof(*sc));
		sc->fd = fd;
		sc->c = c;
		uv_poll_init_socket(c->loop, &sc->poll, fd);
		sc->poll.data = sc;
		curl_multi_assign(c->multi, fd, sc);
	}
	if (what & CURL_POLL_IN)
		events |= UV_READABLE;
	if (what & CURL_POLL_OUT)
		events |= UV_WRITABLE;
	uv_poll_start(&sc->poll, events, on_poll);
	return 0;
}

static void on_timeout(uv_timer_t *t)
{
	struct tclient *c = t->data;
	int running;

	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	drain(c);
}

static int timer_cb(CURLM *m, long ms, void *userp)
{
	struct tclient *c = userp;

	if (ms < 0)
		uv_timer_stop(&c->timer);
	else
		uv_timer_start(&c->timer, on_timeout, (uint64_t)ms, 0);
	return 0;
}

struct tclient *tclient_new(uv_loop_t *loop)
{
	struct tclient *c = xcalloc(1, sizeof(*c));

	curl_global_init(CURL_GLOBAL_DEFAULT);
	c->loop = loop;
	c->multi = curl_multi_init();
	uv_timer_init(loop, &c->timer);
	uv_timer_init(loop, &c->deadline);
	c->timer.data = c;
	c->deadline.data = c;
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	return c;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct treq *t = arg;

	if (t->pause)
		return CURL_WRITEFUNC_PAUSE;
	(void)buf_add(&t->body, p, size * n);
	if (t->on_data)
		t->on_data(t, p, size * n, t->arg);
	return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct treq *t = arg;

	(void)buf_add(&t->heads, p, size * n);
	return size * n;
}

struct treq *tclient_start(struct tclient *c, const char *method,
			   const char *url, const char *const *headers,
			   const char *body)
{
	struct treq *t = xcalloc(1, sizeof(*t));
	struct curl_slist *list = NULL;
	CURL *e = curl_easy_init();

	buf_init(&t->body, 4u << 20);
	buf_init(&t->heads, 64u << 10);
	t->c = c;
	t->easy = e;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(e, CURLOPT_PRIVATE, t);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
	/* No "Expect: 100-continue" unless a test asks for it. */
	list = curl_slist_append(list, "Expect:");
	for (size_t i = 0; headers && headers[i]; i++)
		list = curl_slist_append(list, headers[i]);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, list);
	t->hdr_list = list;
	if (body) {
		t->payload = xstrdup(body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->payload);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	if (c->n_reqs < MAX_REQS)
		c->reqs[c->n_reqs++] = t;
	curl_multi_add_handle(c->multi, e);
	return t;
}

void tclient_abort(struct treq *t)
{
	if (t->done)
		return;
	curl_multi_remove_handle(t->c->multi, t->easy);
	t->done = true;
	t->curl_code = CURLE_ABORTED_BY_CALLBACK;
}

static void on_deadline(uv_timer_t *t)
{
	((struct tclient *)t->data)->expired = true;
}

bool tclient_wait(struct tclient *c, const bool *flag, unsigned timeout_ms)
{
	c->expired = false;
	uv_timer_start(&c->deadline, on_deadline, timeout_ms, 0);
	while (!*flag && !c->expired)
		uv_run(c->loop, UV_RUN_ONCE);
	uv_timer_stop(&c->deadline);
	return *flag;
}

struct treq *tclient_do(struct tclient *c, const char *method, const char *url,
			const char *const *headers, const char *body)
{
	struct treq *t = tclient_start(c, method, url, headers, body);

	tclient_wait(c, &t->done, 10000);
	return t;
}

const char *treq_header(const struct treq *t, const char *name, char *out,
			size_t cap)
{
	const char *p = buf_str(&t->heads);
	size_t n = strlen(name);

	while (*p) {
		const char *eol = strstr(p, "\r\n");
		size_t len = eol ? (size_t)(eol - p) : strlen(p);

		if (len > n && strncasecmp(p, name, n) == 0 && p[n] == ':') {
			const char *v = p + n + 1;
			size_t vl;

			while (*v == ' ')
				v++;
			vl = (size_t)(p + len - v);
			if (vl >= cap)
				vl = cap - 1;
			memcpy(out, v, vl);
			out[vl] = '\0';
			return out;
		}
		p += len + (eol ? 2 : 0);
	}
	return NULL;
}

void tclient_free(struct tclient *c)
{
	for (size_t i = 0; i < c->n_reqs; i++) {
		struct treq *t = c->reqs[i];

		if (!t->done)
			curl_multi_remove_handle(c->multi, t->easy);
		curl_easy_cleanup(t->easy);
		curl_slist_free_all(t->hdr_list);
		buf_release(&t->body);
		buf_release(&t->heads);
		free(t->payload);
		free(t);
	}
	curl_multi_cleanup(c->multi);
	uv_close((uv_handle_t *)&c->timer, NULL);
	uv_close((uv_handle_t *)&c->deadline, on_closed);
}
