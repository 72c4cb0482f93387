/*
 * The command line's side of the control API: `devwatch status`,
 * `trigger`, `logs` and `invoke` find a running session through its api
 * file (apifile.h) and ask it, instead of the engine.
 *
 * A command owns its process and runs no loop while it waits, so these
 * calls block (libcurl's easy interface). They send what the server's
 * guard wants: Host 127.0.0.1:PORT, and JSON POSTs. Every answer is
 * capped (64 MiB).
 */
#ifndef DW_API_CLIENT_H
#define DW_API_CLIENT_H

#include <stddef.h>
#include <sys/types.h>

struct apiclient {
	int port;
	pid_t pid;
	char base[32]; /* "http://127.0.0.1:PORT" */
};

struct apiclient_resp {
	long status;
	char *body; /* NUL-terminated; free with apiclient_resp_release */
	size_t len;
};

/*
 * Find the session whose api file is path (".devwatch/api"). Returns 0;
 * DW_NOTFOUND when none runs (no file, or its process is gone); or
 * another negative code with *cause.
 */
int apiclient_find(const char *path, struct apiclient *c, char **cause);

/*
 * One call: method "GET" or "POST" (a POST sends body as JSON, "{}" when
 * NULL). Returns 0 with *out (any HTTP status); UV_ECONNREFUSED with
 * *cause when the session does not answer; DW_TOOBIG past the cap.
 */
int apiclient_call(const struct apiclient *c, const char *method,
		   const char *path, const char *body,
		   struct apiclient_resp *out, char **cause);

/* Called with each piece of a streamed answer; non-zero stops it. */
typedef int (*apiclient_chunk_cb)(const char *data, size_t n, void *arg);

/*
 * GET path and hand the body to cb as it arrives (logs with follow=1,
 * events), until the server ends it or cb returns non-zero. Returns 0,
 * a negative code with *cause, or DW_ENGINE_HTTP with *cause for a
 * non-2xx answer.
 */
int apiclient_stream(const struct apiclient *c, const char *path,
		     apiclient_chunk_cb cb, void *arg, char **cause);

void apiclient_resp_release(struct apiclient_resp *r);

/* The message of an error answer: error.message, or errorType and
   errorMessage (an invoke's), or the body itself. Caller frees. */
char *apiclient_error_message(const struct apiclient_resp *r);

#endif
