/*
 * Registry credentials, found as the docker CLI finds them in config.json
 * ($DOCKER_CONFIG or ~/.docker): credHelpers[host], else credsStore (both
 * through `docker-credential-NAME get`), else auths[host] ("auth" as
 * base64 user:password, or "identitytoken"). The result is the value of
 * the engine's X-Registry-Auth header: URL-safe base64 of
 * {"username","password","serveraddress"} or {"identitytoken", ...}.
 *
 * This reads files and may run a helper, so it blocks: call it from the
 * threadpool or from a command before its loop runs.
 */
#ifndef DW_ENGINE_AUTH_H
#define DW_ENGINE_AUTH_H

/*
 * The registry an image reference names: "127.0.0.1:5000" for
 * "127.0.0.1:5000/team/web:1", "docker.io" for "busybox:1.36". Caller
 * frees.
 */
char *engine_registry_host(const char *image);

/*
 * Credentials for the registry of `image`. Returns 0 with *header set (or
 * NULL when config.json has none for it), or DW_USAGE with *cause when
 * config.json cannot be read or a helper fails.
 */
int engine_registry_auth(const char *image, char **header, char **cause);

#endif
