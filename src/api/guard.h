/*
 * The request guard of the HTTP server: DNS-rebinding and cross-site
 * defences (DESIGN.md section 9), as pure functions of a request's method
 * and headers so that each refusal can be tested alone.
 *
 * Control API (HTTP_POLICY_LOOPBACK):
 * - Host must be a loopback name or address with the server's port:
 *   "127.0.0.1:P", any 127.0.0.0/8 address, "localhost:P" (and
 *   "*.localhost"), "[::1]:P". Anything else is 421: a page that rebinds
 *   its own name to 127.0.0.1 still sends that name.
 * - A state change (HTTP_MUTATES) must be a POST (405), carry
 *   Content-Type: application/json (415: an HTML form cannot send it
 *   without a CORS preflight, which we never answer), and carry no foreign
 *   Origin and no cross-site Sec-Fetch-Site (403).
 * - HTTP_GET_MUTATES (harpoon's GET /shutdown) keeps the Origin and
 *   Sec-Fetch-Site checks; curl and scripts send neither.
 *
 * Runtime API (HTTP_POLICY_RUNTIME): Host must be an IP literal,
 * "localhost" or "host.docker.internal" with the server's port (421), and
 * a request carrying any browser marker (Origin, Referer, Sec-Fetch-*) is
 * 403: a Lambda runtime client never sends one.
 */
#ifndef DW_API_GUARD_H
#define DW_API_GUARD_H

#include <stdbool.h>

#include "api/http.h"

struct guard_req {
	const char *method;
	const char *host;	  /* NULL when absent */
	const char *origin;	  /* NULL when absent */
	const char *referer;
	const char *fetch_site;	  /* Sec-Fetch-Site */
	const char *fetch_mode;	  /* Sec-Fetch-Mode */
	const char *content_type;
};

/*
 * Returns 0 when the request may proceed, or the HTTP status to refuse it
 * with (403, 405, 415, 421), with *why a static sentence for the body.
 */
int guard_check(const struct guard_req *r, enum http_policy policy,
		int port, unsigned route_flags, const char **why);

/* True when host ("name:port", "[::1]:port") names this server under the
   policy. A Host without a port means port 80. */
bool guard_host_ok(const char *host, enum http_policy policy, int port);

/* True when the media type of a Content-Type value is application/json,
   parameters aside ("application/json; charset=utf-8"). */
bool guard_is_json(const char *content_type);

#endif
