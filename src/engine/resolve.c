/*
 * Engine resolution, the docker CLI's order (see resolve.h): an explicit
 * address, DOCKER_HOST, DOCKER_CONTEXT, config.json's currentContext, the
 * default socket. Contexts live in the config folder under a folder named
 * by the SHA-256 of their name, which is why this file needs libcrypto.
 * Every file read from the config folder is capped.
 */
#include "engine/resolve.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <uv.h>

#include "base/error.h"
#include "base/util.h"

#define DEFAULT_SOCKET "/var/run/docker.sock"
#define CONFIG_MAX (1u << 20)
#define ADDRESS_MAX 1024

void engine_target_release(struct engine_target *t)
{
	free(t->address);
	free(t->how);
	free(t->context);
	free(t->sock_path);
	free(t->host);
	free(t->user);
	free(t->ca_file);
	free(t->cert_file);
	free(t->key_file);
	memset(t, 0, sizeof(*t));
}

char *engine_config_dir(void)
{
	const char *d = getenv("DOCKER_CONFIG"), *home = getenv("HOME");
	struct passwd *pw;

	if (d != NULL && d[0] != '\0')
		return xstrdup(d);
	if (home == NULL || home[0] == '\0') {
		pw = getpwuid(getuid());
		home = pw != NULL ? pw->pw_dir : "/";
	}
	return path_join(home, ".docker");
}

static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* Read a whole small file. Returns 0, UV_ENOENT, DW_TOOBIG or another
   negative code. */
static int read_small(const char *path, char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *data;
	size_t n;

	if (f == NULL)
		return -errno;
	data = xmalloc(CONFIG_MAX + 1);
	n = fread(data, 1, CONFIG_MAX + 1, f);
	fclose(f);
	if (n > CONFIG_MAX) {
		free(data);
		return DW_TOOBIG;
	}
	data[n] = '\0';
	*out = data;
	*len = n;
	return 0;
}

static int read_json(const char *path, cJSON **out, char **cause)
{
	char *data = NULL;
	size_t len = 0;
	int err = read_small(path, &data, &len);

	if (err == UV_ENOENT)
		return err;
	if (err != 0) {
		dw_cause(cause, "cannot read '%s': %s", path, dw_strerror(err));
		return DW_USAGE;
	}
	*out = cJSON_ParseWithLength(data, len);
	free(data);
	if (*out == NULL) {
		dw_cause(cause, "cannot parse '%s': not JSON", path);
		return DW_USAGE;
	}
	return 0;
}

/* ---- addresses ---- */

static int bad(char **cause, const char *what, const char *addr,
	       const char *expected)
{
	dw_cause(cause, "%s '%s': expected %s", what, addr, expected);
	return DW_USAGE;
}

/* Split "HOST[:PORT]" or "[V6][:PORT]" into a bracket-free host and a port
   (def when absent). Returns 0 or -1. */
static int split_hostport(const char *hp, int def, char **host, int *port)
{
	const char *end, *colon;
	char *stop;
	long p = def;

	if (hp[0] == '[') {
		end = strchr(hp, ']');
		if (end == NULL || end == hp + 1)
			return -1;
		*host = xstrndup(hp + 1, (size_t)(end - hp - 1));
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] != '\0' && colon == NULL)
			goto error;
	} else {
		colon = strchr(hp, ':');
		if (colon != NULL && strchr(colon + 1, ':') != NULL)
			return -1; /* an IPv6 literal needs brackets */
		*host = xstrndup(hp, colon != NULL ? (size_t)(colon - hp)
						   : strlen(hp));
	}
	if (colon != NULL) {
		errno = 0;
		p = strtol(colon + 1, &stop, 10);
		if (colon[1] == '\0' || *stop != '\0' || errno != 0 || p <= 0 ||
		    p > 65535)
			goto error;
	}
	if ((*host)[0] == '\0' || strpbrk(*host, "/?#@ ") != NULL)
		goto error;
	*port = (int)p;
	return 0;
error:
	free(*host);
	*host = NULL;
	return -1;
}

static char *bracket(const char *host)
{
	return strchr(host, ':') != NULL ? xasprintf("[%s]", host)
					 : xstrdup(host);
}

static int parse_unix(const char *rest, const char *addr, const char *what,
		      struct engine_target *t, char **cause)
{
	if (rest[0] == '\0')
		rest = DEFAULT_SOCKET;
	if (rest[0] != '/')
		return bad(cause, what, addr, "unix:///ABSOLUTE/PATH");
	t->transport = ENGINE_UNIX;
	t->sock_path = xstrdup(rest);
	t->address = xasprintf("unix://%s", rest);
	return 0;
}

static int parse_tcp(const char *rest, const char *addr, const char *what,
		     bool tls, struct engine_target *t, char **cause)
{
	char *hp = xstrdup(rest), *host = NULL, *h;
	size_t n = strlen(hp);
	int port = 0;

	if (n > 0 && hp[n - 1] == '/')
		hp[n - 1] = '\0';
	if (strchr(hp, '/') != NULL) {
		free(hp);
		dw_cause(cause, "%s '%s': a path after the address is not "
				"supported", what, addr);
		return DW_USAGE;
	}
	if (hp[0] == ':') { /* tcp://:2375 is the local host, as dockerd */
		char *full = xasprintf("127.0.0.1%s", hp);

		free(hp);
		hp = full;
	}
	if (hp[0] == '\0' ||
	    split_hostport(hp, tls ? 2376 : 2375, &host, &port) != 0) {
		free(hp);
		return bad(cause, what, addr, "tcp://HOST[:PORT]");
	}
	free(hp);
	t->transport = ENGINE_TCP;
	t->host = host;
	t->port = port;
	h = bracket(host);
	t->address = xasprintf("tcp://%s:%d", h, port);
	free(h);
	return 0;
}

static int parse_ssh(const char *rest, const char *addr, const char *what,
		     struct engine_target *t, char **cause)
{
	const char *at = strchr(rest, '@');
	char *host = NULL, *h;
	int port = 0;

	if (strchr(rest, '/') != NULL || strchr(rest, '?') != NULL) {
		dw_cause(cause, "%s '%s': a path after the host is not "
				"supported", what, addr);
		return DW_USAGE;
	}
	if (at == rest)
		return bad(cause, what, addr, "ssh://[USER@]HOST[:PORT]");
	if (split_hostport(at != NULL ? at + 1 : rest, 0, &host, &port) != 0)
		return bad(cause, what, addr, "ssh://[USER@]HOST[:PORT]");
	if (host[0] == '-') { /* ssh would take it for an option */
		free(host);
		return bad(cause, what, addr, "ssh://[USER@]HOST[:PORT]");
	}
	t->transport = ENGINE_SSH;
	t->host = host;
	t->port = port;
	if (at != NULL)
		t->user = xstrndup(rest, (size_t)(at - rest));
	h = bracket(host);
	if (port != 0)
		t->address = xasprintf("ssh://%s%s%s:%d", at ? t->user : "",
				       at ? "@" : "", h, port);
	else
		t->address = xasprintf("ssh://%s%s%s", at ? t->user : "",
				       at ? "@" : "", h);
	free(h);
	return 0;
}

int engine_parse_address(const char *addr, const char *what, bool tls,
			 struct engine_target *t, char **cause)
{
	static const char expected[] =
		"unix:///PATH, tcp://HOST[:PORT] or ssh://[USER@]HOST[:PORT]";
	const char *sep = strstr(addr, "://");
	int err;

	memset(t, 0, sizeof(*t));
	if (strlen(addr) > ADDRESS_MAX)
		return bad(cause, what, "...", "an address under 1 KiB");
	if (sep == NULL)
		err = addr[0] == '\0' ? bad(cause, what, addr, expected)
				      : parse_tcp(addr, addr, what, tls, t,
						  cause);
	else if (str_starts(addr, "unix://"))
		err = parse_unix(addr + 7, addr, what, t, cause);
	else if (str_starts(addr, "tcp://"))
		err = parse_tcp(addr + 6, addr, what, tls, t, cause);
	else if (str_starts(addr, "ssh://"))
		err = parse_ssh(addr + 6, addr, what, t, cause);
	else
		err = bad(cause, what, addr, expected);
	if (err != 0)
		engine_target_release(t);
	return err;
}

/* ---- TLS material ---- */

/* Take ca.pem, cert.pem and key.pem from dir when present. A certificate
   needs its key and the other way round. */
static int tls_files(struct engine_target *t, const char *dir,
		     const char *what, char **cause)
{
	char *ca = path_join(dir, "ca.pem"), *cert = path_join(dir, "cert.pem");
	char *key = path_join(dir, "key.pem");

	if (exists(cert) != exists(key)) {
		dw_cause(cause, "%s: '%s' needs both cert.pem and key.pem", what,
			 dir);
		free(ca), free(cert), free(key);
		return DW_USAGE;
	}
	t->ca_file = exists(ca) ? ca : (free(ca), NULL);
	t->cert_file = exists(cert) ? cert : (free(cert), NULL);
	t->key_file = exists(key) ? key : (free(key), NULL);
	return 0;
}

/* ---- contexts ---- */

static void sha256_hex(const char *s, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL);
	for (unsigned int i = 0; i < n && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[64] = '\0';
}

static int load_context(const char *cfg, const char *name, const char *from,
			struct engine_target *t, char **cause)
{
	char hash[65], *meta, *tlsdir, *what;
	cJSON *j = NULL, *ep, *host, *skip;
	int err;

	sha256_hex(name, hash);
	meta = xasprintf("%s/contexts/meta/%s/meta.json", cfg, hash);
	tlsdir = xasprintf("%s/contexts/tls/%s/docker", cfg, hash);
	what = xasprintf("context '%s'", name);
	err = read_json(meta, &j, cause);
	if (err == UV_ENOENT) {
		dw_cause(cause, "context '%s' (%s) does not exist: no '%s'",
			 name, from, meta);
		err = DW_USAGE;
	}
	if (err != 0)
		goto out;
	ep = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(j, "Endpoints"), "docker");
	host = cJSON_GetObjectItemCaseSensitive(ep, "Host");
	skip = cJSON_GetObjectItemCaseSensitive(ep, "SkipTLSVerify");
	if (!cJSON_IsString(host) || host->valuestring[0] == '\0') {
		dw_cause(cause, "cannot use '%s': expected a string at "
				"Endpoints.docker.Host", meta);
		err = DW_USAGE;
		goto out;
	}
	/* Parse first with the TLS default port if TLS material exists. */
	{
		char *ca = path_join(tlsdir, "ca.pem");
		char *cert = path_join(tlsdir, "cert.pem");
		bool has_tls = exists(ca) || exists(cert);

		free(ca), free(cert);
		err = engine_parse_address(host->valuestring, what,
					   has_tls || cJSON_IsTrue(skip), t,
					   cause);
		if (err != 0)
			goto out;
		if (t->transport == ENGINE_TCP) {
			err = tls_files(t, tlsdir, what, cause);
			if (err != 0) {
				engine_target_release(t);
				goto out;
			}
			t->tls = has_tls || cJSON_IsTrue(skip);
			t->tls_verify = t->tls && !cJSON_IsTrue(skip);
		}
	}
	t->context = xstrdup(name);
	t->how = xasprintf("context %s", name);
out:
	cJSON_Delete(j);
	free(meta);
	free(tlsdir);
	free(what);
	return err;
}

/* config.json's currentContext, or NULL. */
static int current_context(const char *cfg, char **name, char **cause)
{
	char *path = path_join(cfg, "config.json");
	cJSON *j = NULL, *cur;
	int err = read_json(path, &j, cause);

	*name = NULL;
	if (err == UV_ENOENT)
		err = 0;
	cur = cJSON_GetObjectItemCaseSensitive(j, "currentContext");
	if (err == 0 && cJSON_IsString(cur) && cur->valuestring[0] != '\0')
		*name = xstrdup(cur->valuestring);
	cJSON_Delete(j);
	free(path);
	return err;
}

/* DOCKER_HOST (or a given address) with the TLS variables. */
static int from_host(const char *addr, const char *what, const char *how,
		     struct engine_target *t, char **cause)
{
	const char *verify = getenv("DOCKER_TLS_VERIFY");
	const char *plain = getenv("DOCKER_TLS");
	const char *certs = getenv("DOCKER_CERT_PATH");
	bool want_verify = verify != NULL && verify[0] != '\0';
	bool tls = want_verify || (plain != NULL && plain[0] != '\0');
	int err = engine_parse_address(addr, what, tls, t, cause);

	if (err != 0)
		return err;
	t->how = xstrdup(how);
	if (t->transport != ENGINE_TCP || !tls)
		return 0;
	t->tls = true;
	t->tls_verify = want_verify;
	{
		char *dir = certs != NULL && certs[0] != '\0'
				    ? xstrdup(certs)
				    : engine_config_dir();

		err = tls_files(t, dir, "DOCKER_CERT_PATH", cause);
		free(dir);
	}
	if (err != 0)
		engine_target_release(t);
	return err;
}

int engine_resolve(const char *given, struct engine_target *t, char **cause)
{
	const char *env = getenv("DOCKER_HOST"), *ctx = getenv("DOCKER_CONTEXT");
	char *cfg, *cur = NULL;
	int err;

	memset(t, 0, sizeof(*t));
	if (given != NULL && given[0] != '\0')
		return from_host(given, "engine address", "given", t, cause);
	if (env != NULL && env[0] != '\0')
		return from_host(env, "DOCKER_HOST", "from DOCKER_HOST", t,
				 cause);
	cfg = engine_config_dir();
	if (ctx != NULL && ctx[0] != '\0') {
		cur = xstrdup(ctx);
	} else {
		err = current_context(cfg, &cur, cause);
		if (err != 0)
			goto out;
	}
	if (cur != NULL && strcmp(cur, "default") != 0) {
		err = load_context(cfg, cur,
				   ctx != NULL && ctx[0] != '\0'
					   ? "from DOCKER_CONTEXT"
					   : "the currentContext of config.json",
				   t, cause);
		goto out;
	}
	err = engine_parse_address("unix://" DEFAULT_SOCKET, "default", false,
				   t, cause);
	if (err == 0)
		t->how = xstrdup("default socket");
out:
	free(cur);
	free(cfg);
	return err;
}

/* ---- where the engine is ---- */

static bool same_addr(const char *host, const uv_interface_address_t *ia)
{
	char buf[INET6_ADDRSTRLEN];

	if (ia->address.address4.sin_family == AF_INET)
		uv_ip4_name(&ia->address.address4, buf, sizeof(buf));
	else
		uv_ip6_name(&ia->address.address6, buf, sizeof(buf));
	return strcmp(buf, host) == 0;
}

bool engine_host_is_local(const char *host)
{
	unsigned char a[16];
	uv_interface_address_t *ifs = NULL;
	char name[HOST_NAME_MAX + 1];
	int n = 0;
	bool local = false;

	if (strcmp(host, "localhost") == 0 || str_ends(host, ".localhost"))
		return true;
	if (inet_pton(AF_INET, host, a) == 1 && a[0] == 127)
		return true;
	if (inet_pton(AF_INET6, host, a) == 1 &&
	    memcmp(a, &in6addr_loopback, sizeof(a)) == 0)
		return true;
	if (gethostname(name, sizeof(name)) == 0 && strcmp(name, host) == 0)
		return true;
	if (uv_interface_addresses(&ifs, &n) != 0)
		return false;
	for (int i = 0; i < n && !local; i++)
		local = same_addr(host, &ifs[i]);
	uv_free_interface_addresses(ifs, n);
	return local;
}
