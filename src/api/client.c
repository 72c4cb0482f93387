/*
 * Blocking calls to a running session's control API (see client.h).
 */
#include "api/client.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <uv.h>

#include "api/apifile.h"
#include "base/buf.h"
#include "base/error.h"
#include "base/util.h"

#define MAX_ANSWER (64u << 20)

int apiclient_find(const char *path, struct apiclient *c, char **cause)
{
	int err = apifile_read(path, &c->port, &c->pid, cause);

	if (err != 0)
		return err;
	snprintf(c->base, sizeof(c->base), "http://127.0.0.1:%d", c->port);
	return 0;
}

struct sink {
	struct buf body;
	apiclient_chunk_cb cb;
	void *arg;
	long status;
	bool stopped;
	CURL *easy;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;
	size_t len = size * n;

	if (s->cb) {
		if (s->status == 0)
			curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &s->status);
		/* An error answer is kept whole for the message. */
		if (s->status < 200 || s->status > 299)
			return buf_add(&s->body, p, len) == 0 ? len : 0;
		if (s->cb(p, len, s->arg) != 0) {
			s->stopped = true;
			return 0;
		}
		return len;
	}
	return buf_add(&s->body, p, len) == 0 ? len : 0;
}

static CURL *prepare(const struct apiclient *c, const char *method,
		     const char *path, const char *body, struct sink *s,
		     struct curl_slist **headers, char *url, size_t url_cap)
{
	CURL *e = curl_easy_init();

	snprintf(url, url_cap, "%s%s", c->base, path);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
	*headers = curl_slist_append(NULL, "Expect:");
	if (strcmp(method, "POST") == 0) {
		*headers = curl_slist_append(*headers, "Content-Type: application/json");
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, body ? body : "{}");
	}
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, *headers);
	s->easy = e;
	return e;
}

static int perform(CURL *e, struct sink *s, const char *url, char **cause)
{
	CURLcode rc = curl_easy_perform(e);

	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &s->status);
	if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && s->stopped))
		return 0;
	if (rc == CURLE_COULDNT_CONNECT) {
		dw_cause(cause, "cannot reach the session at '%s': it does not answer", url);
		return UV_ECONNREFUSED;
	}
	if (rc == CURLE_WRITE_ERROR) {
		dw_cause(cause, "the answer from '%s' is over %u bytes", url, MAX_ANSWER);
		return DW_TOOBIG;
	}
	dw_cause(cause, "cannot talk to the session at '%s': %s", url,
		 curl_easy_strerror(rc));
	return DW_ENGINE_PROTO;
}

int apiclient_call(const struct apiclient *c, const char *method,
		   const char *path, const char *body,
		   struct apiclient_resp *out, char **cause)
{
	struct sink s = {0};
	struct curl_slist *headers;
	char url[1024];
	CURL *e;
	int err;

	buf_init(&s.body, MAX_ANSWER);
	e = prepare(c, method, path, body, &s, &headers, url, sizeof(url));
	if (strcmp(method, "POST") != 0 && strcmp(method, "GET") != 0)
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	err = perform(e, &s, url, cause);
	curl_easy_cleanup(e);
	curl_slist_free_all(headers);
	if (err != 0) {
		buf_release(&s.body);
		return err;
	}
	out->status = s.status;
	out->body = buf_detach(&s.body, &out->len);
	return 0;
}

int apiclient_stream(const struct apiclient *c, const char *path,
		     apiclient_chunk_cb cb, void *arg, char **cause)
{
	struct sink s = {.cb = cb, .arg = arg};
	struct curl_slist *headers;
	char url[1024];
	CURL *e;
	int err;

	buf_init(&s.body, MAX_ANSWER);
	e = prepare(c, "GET", path, NULL, &s, &headers, url, sizeof(url));
	err = perform(e, &s, url, cause);
	curl_easy_cleanup(e);
	curl_slist_free_all(headers);
	if (err == 0 && (s.status < 200 || s.status > 299)) {
		struct apiclient_resp r = {s.status, (char *)buf_str(&s.body), s.body.len};
		char *msg = apiclient_error_message(&r);

		dw_cause(cause, "'%s' answered %ld: %s", url, s.status, msg);
		free(msg);
		err = DW_ENGINE_HTTP;
	}
	buf_release(&s.body);
	return err;
}

void apiclient_resp_release(struct apiclient_resp *r)
{
	free(r->body);
	r->body = NULL;
	r->len = 0;
}

char *apiclient_error_message(const struct apiclient_resp *r)
{
	cJSON *j = cJSON_ParseWithLength(r->body, r->len);
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(j, "error");
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(err, "message");
	const cJSON *em = cJSON_GetObjectItemCaseSensitive(j, "errorMessage");
	const cJSON *et = cJSON_GetObjectItemCaseSensitive(j, "errorType");
	char *out;

	if (cJSON_IsString(msg))
		out = xstrdup(msg->valuestring);
	else if (cJSON_IsString(em))
		out = xasprintf("%s%s%s", cJSON_IsString(et) ? et->valuestring : "",
				cJSON_IsString(et) ? ": " : "", em->valuestring);
	else
		out = xstrndup(r->body ? r->body : "", r->len);
	cJSON_Delete(j);
	return out;
}
