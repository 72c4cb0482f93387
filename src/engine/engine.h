/*
 * The Docker Engine API client.
 *
 * libcurl over the engine's unix socket (or TCP), driven by the caller's
 * libuv loop through curl_multi_socket_action; nothing blocks the loop. The
 * engine is resolved as the docker CLI does (resolve.h: DOCKER_HOST, TLS,
 * contexts); an ssh:// engine's connections are `docker system dial-stdio`
 * children (ssh.c). The API version is negotiated once (GET /version) and
 * every path is prefixed with /v<version>.
 *
 * Responses are either buffered whole (capped, default 8 MiB) or streamed:
 * as lines (JSON-lines progress of build, pull, events) or as the engine's
 * multiplexed stdout/stderr frames (logs, attach, exec). Every stream buffer
 * has a cap.
 *
 * Hijacked connections (exec start with `Upgrade: tcp`) bypass curl: a raw
 * uv stream to the engine, which after the 101 answer carries the exec's
 * stdin one way and its multiplexed output the other.
 */
#ifndef DW_ENGINE_ENGINE_H
#define DW_ENGINE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <uv.h>

struct buf;
struct engine;
struct engine_req;
struct engine_hijack;

struct engine_resp {
	long status;	  /* HTTP status */
	const char *body; /* NUL-terminated; "" for streamed calls */
	size_t len;
	/* A HEAD of /containers/{id}/archive?path=: the engine's
	   X-Docker-Container-Path-Stat header (base64 of a JSON stat), or
	   NULL. */
	const char *path_stat;
};

/*
 * Called once per request on the loop thread. err is 0 when the engine
 * answered (any HTTP status: check resp->status), DW_ENGINE_DOWN when it could
 * not be reached, DW_TOOBIG when the body passed its cap, DW_CANCELED after
 * engine_cancel, DW_TIMEOUT, or another negative code. resp is NULL when err
 * is not 0, and valid only during the call.
 */
typedef void (*engine_done_cb)(struct engine_req *req, int err,
			       const struct engine_resp *resp, void *arg);
/* One line of a streamed response, without its '\n'. Return non-zero to
   abort the request (done_cb then gets DW_CANCELED). */
typedef int (*engine_line_cb)(const char *line, size_t len, void *arg);
/* One frame of a multiplexed stream: stream is 0 stdin, 1 stdout, 2 stderr.
   Return non-zero to abort. */
typedef int (*engine_frame_cb)(int stream, const char *data, size_t len,
			       void *arg);
/* Supplies a streamed request body (a tar context). Returns bytes written
   into buf, 0 at the end, or a negative code to abort. May be called on the
   loop thread only. */
typedef ssize_t (*engine_read_cb)(char *buf, size_t size, void *arg);

struct engine_call {
	const char *method;	  /* "GET", "POST", "PUT", "DELETE", "HEAD" */
	const char *path;	  /* "/containers/json?all=1"; no version prefix */
	const char *url;	  /* instead of path: a plain HTTP URL outside
				     the engine (readiness probes), sharing
				     the client's loop integration */
	const char *body;	  /* request body, or NULL */
	size_t body_len;
	const char *content_type; /* default "application/json" with a body */
	engine_read_cb upload;	  /* streamed body instead of `body` */
	void *upload_arg;
	engine_line_cb on_line;	  /* stream the answer as lines ... */
	engine_frame_cb on_frame; /* ... or as multiplexed frames */
	bool raw_stream;	  /* on_frame gets unframed stdout (tty) */
	void *stream_arg;
	size_t max_body;	  /* cap on a buffered body or one line;
				     0 = 8 MiB */
	long timeout_ms;	  /* 0 = none (streams like logs) */
	const char *registry_auth; /* X-Registry-Auth value (auth.h), or
				      NULL */
};

/*
 * Create a client on `loop`. host NULL means resolve as the docker CLI does
 * (engine_resolve). Returns 0 and sets *out, or DW_USAGE with *cause for a
 * malformed address or context. Does not connect: the first request (or
 * engine_negotiate) does.
 */
int engine_new(uv_loop_t *loop, const char *host, struct engine **out,
	       char **cause);
/* The loop the client runs on. */
uv_loop_t *engine_loop(const struct engine *e);
/* The address in use, for messages: "unix:///var/run/docker.sock". */
const char *engine_address(const struct engine *e);
/* How it was chosen: "from DOCKER_HOST", "context NAME", "default socket". */
const char *engine_how(const struct engine *e);
/* True when the engine runs on another machine, so that a bind mount's
   source is a path there. */
bool engine_is_remote(const struct engine *e);
/*
 * The host for a URL that reaches a port the engine published on host_ip
 * (as the engine reports it; NULL, "", "0.0.0.0" and "::" mean every
 * address): host_ip itself when specific, else the host in the engine's
 * tcp:// or ssh:// address, or 127.0.0.1 for a unix socket. IPv6 comes in
 * brackets. Returns e's string
 * or buf (size bytes).
 */
const char *engine_host_for_ports(const struct engine *e, const char *host_ip,
				  char *buf, size_t size);
/* The negotiated API version ("1.41"), or NULL before negotiation. */
const char *engine_api_version(const struct engine *e);

/*
 * GET /version and pick the API version: the engine's, capped at the newest
 * the client knows. cb gets 0, or DW_ENGINE_DOWN (with a message from
 * engine_down_message). Requests made before negotiation finishes wait for it.
 */
typedef void (*engine_ready_cb)(struct engine *e, int err, void *arg);
int engine_negotiate(struct engine *e, engine_ready_cb cb, void *arg);

/* "cannot reach the Docker engine at unix:///var/run/docker.sock: ...;
   start it with 'sudo dockerd' or 'bash scripts/engine.sh', or set
   DOCKER_HOST". Caller frees. */
char *engine_down_message(const struct engine *e);

/*
 * Start a request. Returns 0 and, when out is not NULL, the request handle
 * (valid until cb returns); or a negative code, in which case cb is never
 * called. The call struct and its strings are copied.
 */
int engine_request(struct engine *e, const struct engine_call *call,
		   engine_done_cb cb, void *arg, struct engine_req **out);
/* Abort a request; its cb is called with DW_CANCELED from the loop. */
void engine_cancel(struct engine_req *req);
/* Abort a request whose owner is going away: no callback runs. */
void engine_forget(struct engine_req *req);

/*
 * For commands that own the loop (down, status, check): run the loop until
 * this one call finishes. Returns the same err as engine_done_cb; on 0,
 * *status and a malloc'd NUL-terminated *body (may be NULL to ignore).
 * DW_USAGE from inside a line, frame or upload callback, where curl cannot
 * run the call.
 */
int engine_call_sync(struct engine *e, const struct engine_call *call,
		     long *status, char **body, size_t *len);

/*
 * Cancel every request, close every hijacked stream and free the client.
 * cb (may be NULL) runs when all its handles are closed.
 */
void engine_close(struct engine *e, void (*cb)(void *arg), void *arg);

/* Extract the engine's {"message": "..."} from an error body, or a copy of
   the body itself. Caller frees. */
char *engine_error_message(const char *body, size_t len);

/* Percent-encode s for a query string. Caller frees. */
char *engine_urlencode(const char *s);

/* Is s an id or name the engine could have given (1 to 128 of
   [A-Za-z0-9_.-]), fit to go into a URL path as it is? */
bool engine_id_ok(const char *s);

/* The ApiVersion of a GET /version answer, as "MAJOR.MINOR" (1 to 3 digits
   each) into out (at least 8 bytes). Returns 0, or DW_ENGINE_PROTO when the
   answer has no such field. */
int engine_api_parse(const char *body, size_t len, char *out, size_t size);

/* Split a JSON-lines stream: append data to `line` (its cap bounds a
   line) and call cb with each whole line, without its '\n'. Returns 0,
   DW_TOOBIG for a line past the cap, or DW_CANCELED when cb returned
   non-zero. What follows the last '\n' stays in `line`. */
int engine_lines_feed(struct buf *line, const char *data, size_t len,
		      engine_line_cb cb, void *arg);

/* One line of a build or pull progress stream: {"error": ...} is an
   ENGINE_LINE_ERROR, {"stream": ...} (trailing newlines dropped) or
   {"status": ..., "id": ..., "progress": ...} an ENGINE_LINE_TEXT, with
   its text in *text (caller frees); anything else ENGINE_LINE_NONE. */
enum engine_line_kind { ENGINE_LINE_NONE, ENGINE_LINE_TEXT, ENGINE_LINE_ERROR };
enum engine_line_kind engine_progress_parse(const char *line, size_t len,
					    char **text);

/* ---- multiplexed stream decoding (also used by hijacked exec) ---- */

struct engine_demux {
	unsigned char hdr[8];
	size_t hdr_len;
	size_t left;	/* payload bytes left in the current frame */
	int stream;
	bool raw;	/* tty: no framing, everything is stdout */
	bool bad;	/* a header that is not one: the stream is lost */
};
void engine_demux_init(struct engine_demux *d, bool raw);
/* Feed bytes; calls cb per payload piece (stream 0 to 3). Returns cb's
   non-zero, DW_ENGINE_PROTO once a header is not one (for good: what
   follows cannot be framed again), or 0. */
int engine_demux_feed(struct engine_demux *d, const char *data, size_t len,
		      engine_frame_cb cb, void *arg);

/* ---- hijacked connections ---- */

/* The upgrade finished (err 0) or failed. */
typedef void (*engine_hijack_open_cb)(struct engine_hijack *h, int err,
				      void *arg);
/* Raw bytes from the engine after the upgrade; n < 0 is UV_EOF or an error,
   after which no more reads arrive. */
typedef void (*engine_hijack_read_cb)(struct engine_hijack *h,
				      const char *data, ssize_t n, void *arg);

/*
 * POST `path` (e.g. "/exec/ID/start") with JSON `body` on a new raw
 * connection, with Connection: Upgrade and Upgrade: tcp, and hand over the
 * stream once the engine answers 101 (or 200, which older engines send).
 * Returns 0, or a negative code without calling open_cb.
 */
int engine_hijack_open(struct engine *e, const char *path, const char *body,
		       engine_hijack_open_cb open_cb,
		       engine_hijack_read_cb read_cb, void *arg,
		       struct engine_hijack **out);
/* Queue bytes (copied). Returns 0 or a negative code. */
int engine_hijack_write(struct engine_hijack *h, const void *data, size_t n);
/* Queue data without copying it: the client owns it from here and frees
   it once written, or at once when this fails. Returns 0 or a negative
   code. */
int engine_hijack_write_owned(struct engine_hijack *h, char *data, size_t n);
/* Writes finished: called once, from a write's completion, when pending
   bytes fall to `below` or less; check engine_hijack_pending first. cb
   NULL cancels. Not called after engine_hijack_close. */
typedef void (*engine_hijack_drain_cb)(struct engine_hijack *h, void *arg);
void engine_hijack_on_drain(struct engine_hijack *h, size_t below,
			    engine_hijack_drain_cb cb, void *arg);
/* Half-close: the exec sees EOF on stdin. */
int engine_hijack_shutdown(struct engine_hijack *h);
/* Bytes queued but not yet written (for back-pressure). */
size_t engine_hijack_pending(const struct engine_hijack *h);
/* Close and free; no callback runs after this returns. */
void engine_hijack_close(struct engine_hijack *h);

#endif
