/*
 * Registry credentials from the docker CLI's config.json (see auth.h).
 * Docker Hub's entries are keyed "https://index.docker.io/v1/"; other
 * registries by host, with or without a scheme and a path, which is why
 * keys are normalised before they are compared. A credential helper gets
 * the server on stdin and answers {"Username", "Secret"}; its output is
 * capped and it gets ten seconds.
 */
#include "engine/auth.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/util.h"
#include "engine/resolve.h"

#define HUB_KEY "https://index.docker.io/v1/"
#define HELPER_MAX (64u << 10)
#define HELPER_MS 10000
#define CONFIG_MAX (1u << 20)

extern char **environ;

char *engine_registry_host(const char *image)
{
	const char *slash = strchr(image, '/');
	size_t n = slash != NULL ? (size_t)(slash - image) : 0;

	/* A first part with '.', ':' or "localhost" is a registry. */
	if (slash == NULL ||
	    (memchr(image, '.', n) == NULL && memchr(image, ':', n) == NULL &&
	     !(n == 9 && strncmp(image, "localhost", 9) == 0)))
		return xstrdup("docker.io");
	return xstrndup(image, n);
}

/* "https://host:5000/v2/" -> "host:5000"; Hub's names -> "docker.io". */
static char *key_host(const char *key)
{
	const char *p = strstr(key, "://");
	char *h;

	p = p != NULL ? p + 3 : key;
	h = xstrndup(p, strcspn(p, "/"));
	if (strcmp(h, "index.docker.io") == 0 ||
	    strcmp(h, "registry-1.docker.io") == 0) {
		free(h);
		h = xstrdup("docker.io");
	}
	return h;
}

static char *b64url(const char *s)
{
	size_t n = strlen(s);
	char *out = xmalloc(4 * ((n + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)n);
	for (char *c = out; *c != '\0'; c++)
		*c = *c == '+' ? '-' : *c == '/' ? '_' : *c;
	return out;
}

/* Standard base64 "user:password" from auths[...].auth. */
static int decode_auth(const char *b64, char **user, char **pass)
{
	size_t n = strlen(b64), pad = 0;
	unsigned char *out;
	int len;
	char *colon;

	if (n == 0 || n % 4 != 0 || n > 4096)
		return -1;
	out = xmalloc(n / 4 * 3 + 1);
	len = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)n);
	if (len < 0) {
		free(out);
		return -1;
	}
	pad = (b64[n - 1] == '=') + (b64[n - 2] == '=');
	out[len - (int)pad] = '\0';
	colon = strchr((char *)out, ':');
	if (colon == NULL) {
		free(out);
		return -1;
	}
	*user = xstrndup((char *)out, (size_t)(colon - (char *)out));
	*pass = xstrdup(colon + 1);
	free(out);
	return 0;
}

static char *header_json(const char *user, const char *secret,
			 const char *token, const char *server)
{
	cJSON *o = cJSON_CreateObject();
	char *json, *h;

	if (token != NULL) {
		cJSON_AddStringToObject(o, "identitytoken", token);
	} else {
		cJSON_AddStringToObject(o, "username", user);
		cJSON_AddStringToObject(o, "password", secret);
	}
	cJSON_AddStringToObject(o, "serveraddress", server);
	json = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	h = b64url(json);
	free(json);
	return h;
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Run docker-credential-NAME get with server on stdin; its stdout into out
   (capped). Returns the exit status, or -1 with *cause. */
static int run_helper(const char *name, const char *server, struct buf *out,
		      char **cause)
{
	char *prog = xasprintf("docker-credential-%s", name);
	char *argv[] = {prog, "get", NULL};
	posix_spawn_file_actions_t fa;
	int in[2], outp[2], status = -1;
	pid_t pid;
	struct timespec t0;
	char chunk[4096];
	bool failed = false;

	/* stdin is a socket so that writing to a helper that has gone
	   raises no SIGPIPE (MSG_NOSIGNAL). */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) != 0 ||
	    pipe2(outp, O_CLOEXEC) != 0) {
		dw_cause(cause, "cannot run '%s': %s", prog, strerror(errno));
		free(prog);
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
	errno = posix_spawnp(&pid, prog, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(outp[1]);
	if (errno != 0) {
		dw_cause(cause, "cannot run '%s' (credsStore or credHelpers in "
				"config.json): %s", prog, strerror(errno));
		close(in[1]);
		close(outp[0]);
		free(prog);
		return -1;
	}
	/* A helper that does not read fails below, by its exit status. */
	(void)!send(in[1], server, strlen(server), MSG_NOSIGNAL);
	close(in[1]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd p = {.fd = outp[0], .events = POLLIN};
		long left = HELPER_MS - ms_since(&t0);
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
			kill(pid, SIGKILL);
			dw_cause(cause, "'%s get' gave no answer in %d s", prog,
				 HELPER_MS / 1000);
			failed = true;
			break;
		}
		n = read(outp[0], chunk, sizeof(chunk));
		if (n <= 0)
			break;
		if (buf_add(out, chunk, (size_t)n) != 0) {
			kill(pid, SIGKILL);
			dw_cause(cause, "'%s get' answered more than 64 KiB", prog);
			failed = true;
			break;
		}
	}
	close(outp[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	free(prog);
	if (failed)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int from_helper(const char *name, const char *server, char **header,
		       char **cause)
{
	struct buf out;
	cJSON *j;
	const cJSON *user, *secret;
	int rc;

	buf_init(&out, HELPER_MAX);
	rc = run_helper(name, server, &out, cause);
	if (rc < 0) {
		buf_release(&out);
		return DW_USAGE;
	}
	if (rc != 0) {
		/* "credentials not found" is no credentials, not an error. */
		bool none = strstr(buf_str(&out), "not found") != NULL;

		if (!none)
			dw_cause(cause, "'docker-credential-%s get' for '%s' "
					"failed: %s", name, server, buf_str(&out));
		buf_release(&out);
		return none ? 0 : DW_USAGE;
	}
	j = cJSON_Parse(buf_str(&out));
	buf_release(&out);
	user = cJSON_GetObjectItemCaseSensitive(j, "Username");
	secret = cJSON_GetObjectItemCaseSensitive(j, "Secret");
	if (!cJSON_IsString(user) || !cJSON_IsString(secret)) {
		cJSON_Delete(j);
		dw_cause(cause, "'docker-credential-%s get' for '%s': expected "
				"JSON with Username and Secret", name, server);
		return DW_USAGE;
	}
	*header = strcmp(user->valuestring, "<token>") == 0
			  ? header_json(NULL, NULL, secret->valuestring, server)
			  : header_json(user->valuestring, secret->valuestring,
					NULL, server);
	cJSON_Delete(j);
	return 0;
}

static const cJSON *find_host(const cJSON *obj, const char *host)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, obj) {
		char *h = key_host(e->string);
		bool same = strcmp(h, host) == 0;

		free(h);
		if (same)
			return e;
	}
	return NULL;
}

static int read_config(cJSON **out, char **cause)
{
	char *dir = engine_config_dir(), *path = path_join(dir, "config.json");
	FILE *f = fopen(path, "rb");
	struct buf b;
	char chunk[4096];
	size_t n;
	int err = 0;

	*out = NULL;
	free(dir);
	if (f == NULL) {
		free(path);
		return 0; /* no config: no credentials */
	}
	buf_init(&b, CONFIG_MAX);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && err == 0)
		err = buf_add(&b, chunk, n);
	fclose(f);
	if (err == 0)
		*out = cJSON_ParseWithLength(b.data, b.len);
	if (err != 0 || *out == NULL) {
		dw_cause(cause, "cannot read '%s': %s", path,
			 err != 0 ? "larger than 1 MiB" : "not JSON");
		err = DW_USAGE;
	}
	buf_release(&b);
	free(path);
	return err;
}

int engine_registry_auth(const char *image, char **header, char **cause)
{
	char *host = engine_registry_host(image), *user = NULL, *pass = NULL;
	const char *server;
	const cJSON *helper, *store, *entry, *v;
	cJSON *cfg;
	int err;

	*header = NULL;
	err = read_config(&cfg, cause);
	if (err != 0 || cfg == NULL)
		goto out;
	server = strcmp(host, "docker.io") == 0 ? HUB_KEY : host;
	helper = find_host(cJSON_GetObjectItemCaseSensitive(cfg, "credHelpers"),
			   host);
	store = cJSON_GetObjectItemCaseSensitive(cfg, "credsStore");
	if (cJSON_IsString(helper) && helper->valuestring[0] != '\0') {
		err = from_helper(helper->valuestring, server, header, cause);
		goto out;
	}
	if (cJSON_IsString(store) && store->valuestring[0] != '\0') {
		err = from_helper(store->valuestring, server, header, cause);
		if (err != 0 || *header != NULL)
			goto out;
	}
	entry = find_host(cJSON_GetObjectItemCaseSensitive(cfg, "auths"), host);
	if (entry == NULL)
		goto out;
	v = cJSON_GetObjectItemCaseSensitive(entry, "identitytoken");
	if (cJSON_IsString(v) && v->valuestring[0] != '\0') {
		*header = header_json(NULL, NULL, v->valuestring, server);
		goto out;
	}
	v = cJSON_GetObjectItemCaseSensitive(entry, "auth");
	if (cJSON_IsString(v) && v->valuestring[0] != '\0') {
		if (decode_auth(v->valuestring, &user, &pass) != 0) {
			dw_cause(cause, "config.json: auths '%s': expected "
					"base64 of user:password in 'auth'",
				 entry->string);
			err = DW_USAGE;
			goto out;
		}
		*header = header_json(user, pass, NULL, server);
	}
out:
	free(user);
	free(pass);
	cJSON_Delete(cfg);
	free(host);
	return err;
}
