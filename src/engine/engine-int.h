/*
 * The engine client's private state, shared by engine.c (requests through
 * curl), hijack.c (raw upgraded connections) and stream.c (decoding).
 */
#ifndef DW_ENGINE_ENGINE_INT_H
#define DW_ENGINE_ENGINE_INT_H

#include <curl/curl.h>

#include "base/buf.h"
#include "engine/engine.h"

enum engine_state {
	ENGINE_NEW = 0,
	ENGINE_NEGOTIATING,
	ENGINE_READY,
	ENGINE_DOWN,
};

struct engine {
	uv_loop_t *loop;
	CURLM *multi;
	uv_timer_t timer; /* curl's wake-up */
	uv_timer_t defer; /* reports requests finished outside curl */
	enum engine_state state;
	char api[16];

	char *address;	 /* as given: unix:///... or tcp://... */
	char *sock_path; /* unix socket, or NULL for tcp */
	char *tcp_host;
	int tcp_port;
	char *base_url;
	char *down_reason; /* why the last connection failed */

	struct engine_req *reqs;     /* every live request (all_next) */
	struct engine_req *waiting;  /* waiting for the version (next) */
	struct engine_req *deferred; /* finished, to report (next) */
	struct engine_hijack *hijacks;

	engine_ready_cb ready_cb;
	void *ready_arg;

	int open_handles; /* uv handles still closing */
	bool closing;
	void (*close_cb)(void *arg);
	void *close_arg;
};

struct engine_req {
	struct engine *e;
	CURL *easy;
	struct engine_call call; /* strings below are our copies */
	char *method;
	char *path_copy;
	char *ctype;
	char *req_body;
	char *url;
	struct curl_slist *headers;
	struct buf body;
	struct buf line;
	struct engine_demux demux;
	engine_done_cb cb;
	void *arg;
	long status;
	int abort_err;
	bool versioned;
	bool in_multi;
	bool done;
	bool canceled;
	bool deferred;
	char errbuf[CURL_ERROR_SIZE];
	struct engine_req *next;
	struct engine_req *all_next;
};

int engine_request_raw(struct engine *e, const struct engine_call *call,
		       engine_done_cb cb, void *arg, struct engine_req **out,
		       bool versioned);
void engine_check_done(struct engine *e);
void engine_defer_finish(struct engine_req *r, int err);
void engine_handle_closed(struct engine *e);
void engine_hijack_close_all(struct engine *e);
/* The head of the answer to a hijack request, in data[0..len): 1 when it
   is whole and accepts the upgrade (101, or 200 from old engines), with
   *used its length; 0 while incomplete; DW_TOOBIG past the head cap;
   DW_NOTFOUND for a 404; DW_ENGINE_HTTP for another status; and
   DW_ENGINE_PROTO when it is not an HTTP/1.x answer. */
int engine_hijack_parse_head(const char *data, size_t len, size_t *used);

#endif
