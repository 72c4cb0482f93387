/*
 * The container manager (DESIGN.md section 9): harpoon's container_manager
 * HTTP contract, bodies and codes, over an interface the session
 * implements (struct manager_ops), so a test suite written for harpoon
 * runs against `devwatch serve` and `devwatch up` unchanged:
 *
 *   POST /start_container {"image": NAME, "ports": [[0, 4545]]}
 *     200 {"ports": {"4545": 32772}, "just_created": true,
 *          "container_id": "..."}
 *     A repeated start answers the same container, "just_created": false.
 *     Starts of one NAME run one at a time, as harpoon's do.
 *   POST /stop_container {"image": NAME}          204
 *   GET  /shutdown   204 once every container is removed, then ops->exit
 *                    (after the answer went out); again while shutting
 *                    down: 204 at once
 *   GET  /version    200 "devwatch VERSION" (text/plain, as harpoon's)
 *
 * Errors have harpoon's shape, {"error": {"message": ..., ...},
 * "error_code": CLASS}: an unknown NAME is 404 NoSuchImage with "wanted"
 * and the sorted "available" names; an empty body is 400 BadRequest;
 * invalid JSON is 400 BadJSON; a missing or mistyped field is 400
 * BadSpecValue with its "key"; a failed start is 500 BadImage with the
 * cause in "error"; a request during shutdown is 503 ShuttingDown.
 *
 * A port is [HOST, CONTAINER], "HOST:CONTAINER", or CONTAINER alone (a
 * free host port); HOST 0 is a free port.
 */
#ifndef DW_API_MANAGER_H
#define DW_API_MANAGER_H

#include <stdbool.h>
#include <stddef.h>

#include "api/http.h"

struct manager;
struct manager_call;

struct manager_port {
	int host;      /* 0 = a free port (as asked); the bound one in answers */
	int container;
};

/* What a start produced: the container and its published ports. */
struct manager_container {
	const char *id;
	bool just_created;
	const struct manager_port *ports;
	size_t n_ports;
};

/*
 * The session's side. start, stop and shutdown return 0 and then call
 * manager_started or manager_done exactly once with the call, on the loop
 * (maybe before they return); or return a negative code and never call
 * it, and the manager answers 500 with dw_strerror of the code.
 */
struct manager_ops {
	/* The names /start_container accepts (the project's containers). */
	size_t (*names)(void *ctx, const char *const **out);
	int (*start)(void *ctx, const char *name,
		     const struct manager_port *ports, size_t n_ports,
		     struct manager_call *call);
	int (*stop)(void *ctx, const char *name, struct manager_call *call);
	/* Remove every container; answer with manager_done. */
	int (*shutdown)(void *ctx, struct manager_call *call);
	/* /shutdown's 204 is out (or its client left): end the process. */
	void (*exit)(void *ctx);
};

/* The manager's answer to a start: err 0 with c, or a negative err with
   message (may be NULL) for the BadImage body. Frees call. */
void manager_started(struct manager_call *call, int err, const char *message,
		     const struct manager_container *c);
/* The answer to a stop or a shutdown. Frees call. */
void manager_done(struct manager_call *call, int err, const char *message);

/* ops and ctx must outlive the manager; version goes into /version. */
struct manager *manager_new(const struct manager_ops *ops, void *ctx,
			    const char *version);
/* Free the manager once no call is outstanding. NULL does nothing. */
void manager_free(struct manager *m);

/* Route handlers; arg is the struct manager. */
void manager_handle_start(struct http_req *req, void *arg);
void manager_handle_stop(struct http_req *req, void *arg);
void manager_handle_shutdown(struct http_req *req, void *arg);
void manager_handle_version(struct http_req *req, void *arg);
#define MANAGER_ROUTES(m)                                                      \
	{"POST", "/start_container", HTTP_MUTATES, manager_handle_start, (m)}, \
	{"POST", "/stop_container", HTTP_MUTATES, manager_handle_stop, (m)},   \
	{"GET", "/shutdown", HTTP_GET_MUTATES, manager_handle_shutdown, (m)},  \
	{"GET", "/version", 0, manager_handle_version, (m)}

#endif
