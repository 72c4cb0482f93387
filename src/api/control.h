/*
 * The control API of one session (DESIGN.md section 9), assembled: one
 * HTTP server on 127.0.0.1 serving
 *   GET  /version                    (the manager's, when there is one)
 *   GET  /api/status                 ops->status
 *   GET  /api/events                 server-sent events (sse.h)
 *   GET  /api/logs/NAME?tail=N|all[&follow=1]  text/plain, the last N
 *                                    (default 100) log lines the event
 *                                    stream kept, then live ones
 *   POST /api/trigger/NAME           ops->trigger, 202 {"triggered": NAME}
 *   POST /api/restart/NAME           ops->restart, 202 {"restarting": NAME}
 *   POST /api/invoke/NAME            lambda_invoke_http on ops->function
 *   the container manager's routes   (manager.h), when one is given
 *   GET  /, /dashboard/...           the dashboard (dashboard.h)
 * and, when state_dir is set, the file STATE_DIR/api holding
 * "PORT\nPID\n" (apifile.h) for `devwatch status`, `trigger`, `logs` and
 * `invoke` to find it. An unknown NAME is 404 with the known names.
 *
 * The session stays below: it implements struct control_ops and emits
 * into the struct events it passes in.
 */
#ifndef DW_API_CONTROL_H
#define DW_API_CONTROL_H

#include <stddef.h>

#include <cjson/cJSON.h>
#include <uv.h>

#include "api/events.h"
#include "api/lambda.h"
#include "api/manager.h"

struct control;

struct control_ops {
	/* The project's container names. */
	size_t (*names)(void *ctx, const char *const **out);
	/*
	 * The session now, as `devwatch status --json` and the dashboard
	 * read it; the caller frees:
	 * {"project": NAME, "version": V, "containers": [{"name", "state",
	 *  "ready": bool, "function": bool, "image", "urls": ["http://..."],
	 *  "replicas": [{"replica": N, "id", "state", "ready"}],
	 *  "last_update": {the fields of its last "update" event}}]}
	 * with "state" one of events.h's.
	 */
	cJSON *(*status)(void *ctx);
	/* Apply NAME's pending changes now / restart NAME. 0, or a negative
	   code with *cause (answered 409 with it). */
	int (*trigger)(void *ctx, const char *name, char **cause);
	int (*restart)(void *ctx, const char *name, char **cause);
	/* NAME's function, or NULL when NAME is not a function container. */
	struct lambda_fn *(*function)(void *ctx, const char *name);
};

struct control_options {
	int port;		/* 0 = a free one */
	const char *state_dir;	/* write STATE_DIR/api; NULL = no file */
	const char *version;	/* for /version when there is no manager */
};

/*
 * Start serving. manager may be NULL (no container-manager routes).
 * ops, ctx, es and manager must outlive the control API. Returns 0 and
 * sets *out, or a negative code with *cause.
 */
int control_new(uv_loop_t *loop, const struct control_options *opts,
		const struct control_ops *ops, void *ctx, struct events *es,
		struct manager *manager, struct control **out, char **cause);
/* The port it listens on. */
int control_port(const struct control *c);
/*
 * Remove the api file, end every stream, close the server and free c;
 * cb (may be NULL) runs once everything is closed. Safe to call from a
 * handler (a /shutdown's manager_ops.exit).
 */
void control_close(struct control *c, void (*cb)(void *arg), void *arg);

#endif
