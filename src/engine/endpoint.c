/*
 * Where the engine is, as the rest of the client needs it: the base URL
 * curl sends to, how curl reaches it (a unix socket, the ssh socket, TLS
 * material), the host at which its published ports are reached, and what
 * to say when it cannot be reached.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/util.h"
#include "engine/engine-int.h"

void engine_endpoint_init(struct engine *e)
{
	const struct engine_target *t = &e->t;
	char *h;

	if (t->transport == ENGINE_TCP) {
		h = strchr(t->host, ':') != NULL ? xasprintf("[%s]", t->host)
						 : xstrdup(t->host);
		e->base_url = xasprintf("%s://%s:%d", t->tls ? "https" : "http",
					h, t->port);
		free(h);
	} else {
		/* A unix socket (ssh's too): the name is unused. */
		e->base_url = xstrdup("http://localhost");
	}
	/* Published ports are on the engine's machine, at the address we
	   reach it by. */
	if (t->transport == ENGINE_UNIX)
		e->port_host = xstrdup("127.0.0.1");
	else if (strchr(t->host, ':') != NULL)
		e->port_host = xasprintf("[%s]", t->host);
	else
		e->port_host = xstrdup(t->host);
	e->remote = t->transport != ENGINE_UNIX && !engine_host_is_local(t->host);
}

const char *engine_address(const struct engine *e)
{
	return e->t.address;
}

const char *engine_how(const struct engine *e)
{
	return e->t.how;
}

bool engine_is_remote(const struct engine *e)
{
	return e->remote;
}

const char *engine_host_for_ports(const struct engine *e, const char *host_ip,
				  char *buf, size_t size)
{
	if (host_ip == NULL || host_ip[0] == '\0' ||
	    strcmp(host_ip, "0.0.0.0") == 0 || strcmp(host_ip, "::") == 0)
		return e->port_host;
	snprintf(buf, size, strchr(host_ip, ':') != NULL ? "[%s]" : "%s",
		 host_ip);
	return buf;
}

/* How curl reaches the engine (not a probe's URL): its socket, its ssh
   child or its TLS material. */
void engine_endpoint_options(struct engine *e, CURL *c)
{
	const struct engine_target *t = &e->t;

	if (t->transport == ENGINE_UNIX) {
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, t->sock_path);
	} else if (t->transport == ENGINE_SSH) {
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, e->ssh_sock);
	} else if (t->tls) {
		if (t->ca_file != NULL)
			curl_easy_setopt(c, CURLOPT_CAINFO, t->ca_file);
		if (t->cert_file != NULL) {
			curl_easy_setopt(c, CURLOPT_SSLCERT, t->cert_file);
			curl_easy_setopt(c, CURLOPT_SSLKEY, t->key_file);
		}
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, t->tls_verify ? 1L : 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, t->tls_verify ? 2L : 0L);
	}
}

char *engine_down_message(const struct engine *e)
{
	const char *why = e->down_reason;
	char tmp[256];

	if (e->t.transport == ENGINE_UNIX) {
		struct stat st;

		if (stat(e->t.sock_path, &st) != 0) {
			snprintf(tmp, sizeof(tmp), "%s", strerror(errno));
			why = tmp;
		} else if (!S_ISSOCK(st.st_mode)) {
			why = "not a socket";
		}
	}
	if (strcmp(e->t.how, "default socket") == 0)
		return xasprintf("cannot reach the Docker engine at %s: %s; "
				 "start it with 'sudo dockerd' or 'bash "
				 "scripts/engine.sh', or set DOCKER_HOST",
				 e->t.address, why != NULL ? why : "no answer");
	return xasprintf("cannot reach the Docker engine at %s: %s; is it "
			 "running and reachable from here? (address: %s)",
			 e->t.address, why != NULL ? why : "no answer",
			 e->t.how);
}
