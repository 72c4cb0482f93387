/*
 * The request guard: which Host, Origin and content types a request may
 * carry (see guard.h for the rules and why each exists).
 */
#include "api/guard.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


/* Longest host name we look at; a longer Host is refused. */
#define HOST_MAX 255

/*
 * Split "name:port" or "[v6]:port" into name (brackets dropped) and port.
 * Returns false for a malformed value.
 */
static bool split_host(const char *host, char *name, size_t cap, int *port)
{
	const char *colon;
	size_t n;

	if (host[0] == '[') {
		const char *end = strchr(host, ']');

		if (end == NULL)
			return false;
		n = (size_t)(end - host - 1);
		if (n == 0 || n >= cap)
			return false;
		memcpy(name, host + 1, n);
		name[n] = '\0';
		colon = end[1] == ':' ? end + 1 : NULL;
		if (colon == NULL && end[1] != '\0')
			return false;
	} else {
		colon = strrchr(host, ':');
		n = colon ? (size_t)(colon - host) : strlen(host);
		if (n == 0 || n >= cap || memchr(host, ':', n) != NULL)
			return false;
		memcpy(name, host, n);
		name[n] = '\0';
	}
	if (colon == NULL) {
		*port = 80;
		return true;
	}
	{
		char *end;
		long p = strtol(colon + 1, &end, 10);

		if (colon[1] == '\0' || *end != '\0' || p <= 0 || p > 65535)
			return false;
		*port = (int)p;
	}
	return true;
}

static bool is_loopback_name(const char *name)
{
	struct in_addr a4;
	struct in6_addr a6;
	size_t n = strlen(name);

	if (n > 0 && name[n - 1] == '.')
		n--; /* "localhost." is the same name */
	if (n == 9 && strncasecmp(name, "localhost", 9) == 0)
		return true;
	if (n > 10 && strncasecmp(name + n - 10, ".localhost", 10) == 0)
		return true;
	if (inet_pton(AF_INET, name, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, name, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return false;
}

static bool is_ip_literal(const char *name)
{
	struct in_addr a4;
	struct in6_addr a6;

	return inet_pton(AF_INET, name, &a4) == 1 ||
	       inet_pton(AF_INET6, name, &a6) == 1;
}

bool guard_host_ok(const char *host, enum http_policy policy, int port)
{
	char name[HOST_MAX + 1];
	int p;

	if (host == NULL || !split_host(host, name, sizeof(name), &p))
		return false;
	if (p != port)
		return false;
	if (policy == HTTP_POLICY_RUNTIME)
		return is_ip_literal(name) || strcasecmp(name, "localhost") == 0 ||
		       strcasecmp(name, "host.docker.internal") == 0;
	return is_loopback_name(name);
}

bool guard_is_json(const char *content_type)
{
	const char *semi;
	size_t n;

	if (content_type == NULL)
		return false;
	while (*content_type == ' ' || *content_type == '\t')
		content_type++;
	semi = strchr(content_type, ';');
	n = semi ? (size_t)(semi - content_type) : strlen(content_type);
	while (n > 0 && (content_type[n - 1] == ' ' || content_type[n - 1] == '\t'))
		n--;
	return n == 16 && strncasecmp(content_type, "application/json", 16) == 0;
}

/* An Origin is ours when it is http://HOST with a Host we accept. */
static bool origin_ok(const char *origin, int port)
{
	if (origin == NULL)
		return true;
	if (strncasecmp(origin, "http://", 7) != 0)
		return false;
	return guard_host_ok(origin + 7, HTTP_POLICY_LOOPBACK, port);
}

static bool fetch_site_ok(const char *site)
{
	return site == NULL || strcasecmp(site, "same-origin") == 0 ||
	       strcasecmp(site, "none") == 0;
}

int guard_check(const struct guard_req *r, enum http_policy policy,
		int port, unsigned route_flags, const char **why)
{
	if (!guard_host_ok(r->host, policy, port)) {
		*why = policy == HTTP_POLICY_RUNTIME
			       ? "refused: the Host header must be an address of this server with its port"
			       : "refused: the Host header must be a loopback name with this server's port";
		return 421;
	}
	if (policy == HTTP_POLICY_RUNTIME) {
		if (r->origin || r->referer || r->fetch_site || r->fetch_mode) {
			*why = "refused: the runtime API does not serve browsers";
			return 403;
		}
		return 0;
	}
	if (!(route_flags & (HTTP_MUTATES | HTTP_GET_MUTATES)))
		return 0;
	if (!origin_ok(r->origin, port) || !fetch_site_ok(r->fetch_site)) {
		*why = "refused: a state change from another origin";
		return 403;
	}
	if (route_flags & HTTP_GET_MUTATES)
		return 0;
	if (strcmp(r->method, "POST") != 0) {
		*why = "refused: a state change must be a POST";
		return 405;
	}
	if (!guard_is_json(r->content_type)) {
		*why = "refused: a state change must carry Content-Type: application/json";
		return 415;
	}
	return 0;
}
