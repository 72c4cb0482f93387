/*
 * Which engine to talk to, resolved as the docker CLI resolves it:
 *
 *   1. an address given by the caller (tests, future flags);
 *   2. DOCKER_HOST, with DOCKER_TLS_VERIFY / DOCKER_TLS and DOCKER_CERT_PATH
 *      (ca.pem, cert.pem, key.pem; default: the config folder);
 *   3. DOCKER_CONTEXT;
 *   4. "currentContext" of config.json in $DOCKER_CONFIG or ~/.docker;
 *   5. unix:///var/run/docker.sock.
 *
 * A context other than "default" is read from
 * contexts/meta/<sha256 of its name>/meta.json (Endpoints.docker.Host and
 * SkipTLSVerify) and its TLS material from contexts/tls/<sha256>/docker/.
 *
 * Addresses: unix:///PATH; tcp://HOST[:PORT] (2375, or 2376 with TLS; HOST
 * may be an IPv6 literal in brackets; a bare HOST:PORT means tcp); and
 * ssh://[USER@]HOST[:PORT], reached through `ssh ... docker system
 * dial-stdio`. This is plain data: no loop, no connection.
 */
#ifndef DW_ENGINE_RESOLVE_H
#define DW_ENGINE_RESOLVE_H

#include <stdbool.h>

enum engine_transport {
	ENGINE_UNIX = 0,
	ENGINE_TCP,
	ENGINE_SSH,
};

struct engine_target {
	enum engine_transport transport;
	char *address;	 /* normalised: "tcp://[::1]:2375" */
	char *how;	 /* "from DOCKER_HOST", "context NAME",
			    "default socket", "given" */
	char *context;	 /* the context's name, or NULL */
	char *sock_path; /* ENGINE_UNIX */
	char *host;	 /* ENGINE_TCP, ENGINE_SSH: no brackets */
	int port;	 /* ENGINE_TCP; ENGINE_SSH: 0 = ssh's default */
	char *user;	 /* ENGINE_SSH: NULL = ssh's default */
	bool tls;	 /* ENGINE_TCP only */
	bool tls_verify;
	char *ca_file;	 /* each NULL when absent */
	char *cert_file;
	char *key_file;
};

/*
 * Resolve the engine: `given` when not NULL, else the environment and the
 * docker config as above. Returns 0 and fills *t (release it with
 * engine_target_release), or DW_USAGE with *cause for a malformed address,
 * a missing context or unreadable config.
 */
int engine_resolve(const char *given, struct engine_target *t, char **cause);

/*
 * Parse one address (no environment). `what` names its source in messages
 * ("DOCKER_HOST", "context 'prod'"). tls picks the default TCP port.
 * Returns 0 or DW_USAGE with *cause; on error *t is left released.
 */
int engine_parse_address(const char *addr, const char *what, bool tls,
			 struct engine_target *t, char **cause);

/* The folder of config.json: $DOCKER_CONFIG, else $HOME/.docker. Caller
   frees. */
char *engine_config_dir(void);

/* True when host names this machine: localhost, 127/8, ::1 or an address
   of one of its interfaces. */
bool engine_host_is_local(const char *host);

void engine_target_release(struct engine_target *t);

#endif
