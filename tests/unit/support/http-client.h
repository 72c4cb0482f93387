/*
 * An HTTP client for unit tests: libcurl's multi interface driven by the
 * test's libuv loop (as curl's docs/examples/multi-uv.c), so a test drives
 * a server that lives on the same loop. Requests can set any header
 * (Host, Origin, Content-Type) and stream the answer as it arrives.
 */
#ifndef DW_TEST_HTTP_CLIENT_H
#define DW_TEST_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include <uv.h>

#include "base/buf.h"

struct tclient;
struct treq;

/* Called for each piece of the body as it arrives. */
typedef void (*treq_data_cb)(struct treq *t, const char *data, size_t n,
			     void *arg);

struct treq {
	long status;	  /* 0 until the answer's status line */
	struct buf body;  /* the answer's body (capped at 4 MiB) */
	struct buf heads; /* the answer's header lines, "Name: value\r\n" */
	bool done;
	int curl_code;	  /* CURLcode once done */
	bool pause;	  /* set to stop reading (a slow client) */
	treq_data_cb on_data;
	void *arg;
	/* private */
	void *easy;
	void *hdr_list;
	struct tclient *c;
	char *payload;
};

struct tclient *tclient_new(uv_loop_t *loop);
/* Cancel what is running and free everything; the loop then has no
   handle of the client's left once it runs to completion. */
void tclient_free(struct tclient *c);

/*
 * Start a request. headers is NULL or a NULL-terminated list of
 * "Name: value" lines ("Host:" with no value removes curl's). body may be
 * NULL. The treq stays owned by the client until tclient_free.
 */
struct treq *tclient_start(struct tclient *c, const char *method,
			   const char *url, const char *const *headers,
			   const char *body);
/* Abort a running request (the server sees the connection close). */
void tclient_abort(struct treq *t);
/* Run the loop until *flag is true or timeout_ms passes; returns *flag. */
bool tclient_wait(struct tclient *c, const bool *flag, unsigned timeout_ms);
/* Run one request to its end; returns it. */
struct treq *tclient_do(struct tclient *c, const char *method, const char *url,
			const char *const *headers, const char *body);
/* The value of header name in t's answer (case-insensitive), copied into
   out; NULL when absent. */
const char *treq_header(const struct treq *t, const char *name, char *out,
			size_t cap);

#endif
