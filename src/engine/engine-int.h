/*
 * The engine client's private state, shared by engine.c (requests through
 * curl), endpoint.c (where the engine is), hijack.c (raw upgraded
 * connections), stream.c (decoding), tls.c
 * (TLS over memory BIOs for hijacked streams) and ssh.c (dial-stdio
 * children for ssh:// engines).
 */
#ifndef DW_ENGINE_ENGINE_INT_H
#define DW_ENGINE_ENGINE_INT_H

#include <curl/curl.h>
#include <openssl/ssl.h>

#include "base/buf.h"
#include "engine/engine.h"
#include "engine/resolve.h"

struct engine_ssh_child;

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

	struct engine_target t; /* where the engine is, and how */
	char *base_url;
	char *port_host;   /* where published ports are reached, for URLs */
	bool remote;	   /* on another machine */
	SSL_CTX *ssl_ctx;  /* hijacked TLS streams, made at first use */
	struct engine_ssh_child *ssh_children;
	uv_pipe_t ssh_listener; /* ssh://: connections become dial-stdio */
	bool ssh_listening;
	char *ssh_dir;		/* its private folder */
	char *ssh_sock;		/* and socket, where curl and hijacks go */
	char *down_reason; /* why the last connection failed */

	struct engine_req *reqs;     /* every live request (all_next) */
	struct engine_req *waiting;  /* waiting for the version (next) */
	struct engine_req *deferred; /* finished, to report (next) */
	struct engine_req *adding;   /* started inside a curl callback, to add
					to the multi from the loop (add_next) */
	struct engine_hijack *hijacks;

	engine_ready_cb ready_cb;
	void *ready_arg;

	int in_stream_cb; /* inside a caller's line, frame or upload
			     callback, which curl runs */
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
	char *auth; /* our copy of call.registry_auth */
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
	bool add_pending; /* on the engine's adding list */
	char errbuf[CURL_ERROR_SIZE];
	struct engine_req *add_next;
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

/* ---- endpoint.c ---- */

/* Fill e->base_url, e->port_host and e->remote from e->t. */
void engine_endpoint_init(struct engine *e);
/* Point a curl handle for an engine call (not a probe) at the engine. */
void engine_endpoint_options(struct engine *e, CURL *c);

/* ---- ssh.c ---- */

/*
 * For an ssh:// engine: listen on a unix socket in a new private folder
 * (e->ssh_sock); each connection accepted there becomes the stdin and
 * stdout of its own `ssh ... docker system dial-stdio`. Returns 0 or
 * DW_USAGE with *cause.
 */
int engine_ssh_listen(struct engine *e, char **cause);
/* Stop listening, remove the socket and its folder, and SIGTERM every
   child still running; handles close through the loop. */
void engine_ssh_close(struct engine *e);

/* ---- tls.c ---- */

/* One TLS client session over memory BIOs: ciphertext in and out is the
   caller's to move. */
struct engine_tls {
	SSL *ssl;
	BIO *in;  /* from the engine */
	BIO *out; /* to the engine */
};

/* Make the engine's SSL_CTX once (its CA, certificate, key and verify
   mode). Returns 0 or DW_ENGINE_DOWN with e->down_reason set. */
int engine_tls_ctx(struct engine *e);
/* Start a client session for e's host. Returns 0 or DW_ENGINE_DOWN. */
int engine_tls_start(struct engine *e, struct engine_tls *c);
/* Advance the handshake: 1 done, 0 needs more input, or DW_ENGINE_DOWN
   with e->down_reason set. */
int engine_tls_handshake(struct engine *e, struct engine_tls *c);
/* Hand ciphertext from the engine to the session. */
void engine_tls_feed(struct engine_tls *c, const char *data, size_t n);
/* Decrypted bytes into buf: > 0 bytes, 0 when more input is needed,
   UV_EOF after the engine's close_notify, or DW_ENGINE_PROTO. */
ssize_t engine_tls_read(struct engine_tls *c, char *buf, size_t size);
/* Encrypt n bytes; the ciphertext waits for engine_tls_take. Returns 0 or
   DW_ENGINE_PROTO. */
int engine_tls_write(struct engine_tls *c, const void *data, size_t n);
/* Ciphertext waiting to be sent, as a malloc'd buffer (NULL when none). */
char *engine_tls_take(struct engine_tls *c, size_t *n);
void engine_tls_free(struct engine_tls *c);

#endif
