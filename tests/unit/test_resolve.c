/*
 * Unit tests for engine resolution over fake docker config folders: the
 * order (DOCKER_HOST, DOCKER_CONTEXT, currentContext, the default socket),
 * addresses (default ports, IPv6 literals, bare HOST:PORT, ssh users and
 * ports, what is refused), TLS material from DOCKER_CERT_PATH and from a
 * context's tls folder, and errors that name the file and what was
 * expected. Context folders are named by sha256sum of the name, computed
 * outside the code under test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/error.h"
#include "base/util.h"
#include "engine/resolve.h"

/* printf prod | sha256sum, printf tlsctx | sha256sum */
#define PROD_HASH "6754af9632a2745e85c293e5aac0863370d9bd3330b9938c00cadfd215227d77"
#define TLS_HASH "71614c1fecf740cb7c15fc358b0458ce7ab245624a47b58c430fc3334c3d64f2"

static char dir[64];

static void put(const char *rel, const char *text)
{
	char *path = path_join(dir, rel), *cmd;
	FILE *f;

	cmd = xasprintf("mkdir -p \"$(dirname '%s')\"", path);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(path);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/dw-resolve-XXXXXX");
	assert_non_null(mkdtemp(dir));
	setenv("DOCKER_CONFIG", dir, 1);
	unsetenv("DOCKER_HOST");
	unsetenv("DOCKER_CONTEXT");
	unsetenv("DOCKER_TLS_VERIFY");
	unsetenv("DOCKER_TLS");
	unsetenv("DOCKER_CERT_PATH");
	return 0;
}

static int teardown(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);

	(void)state;
	assert_int_equal(system(cmd), 0);
	free(cmd);
	return 0;
}

/* Resolve and expect success. */
static void ok(const char *given, struct engine_target *t)
{
	char *cause = NULL;
	int err = engine_resolve(given, t, &cause);

	if (err != 0)
		fail_msg("resolve '%s': %s", given ? given : "(env)", cause);
}

/* Resolve and expect DW_USAGE with `want` in the cause. */
static void refused(const char *given, const char *want)
{
	struct engine_target t;
	char *cause = NULL;

	assert_int_equal(engine_resolve(given, &t, &cause), DW_USAGE);
	assert_non_null(cause);
	if (strstr(cause, want) == NULL)
		fail_msg("cause '%s' lacks '%s'", cause, want);
	free(cause);
}

static void test_addresses(void **state)
{
	struct engine_target t;

	(void)state;
	ok(NULL, &t);
	assert_int_equal(t.transport, ENGINE_UNIX);
	assert_string_equal(t.address, "unix:///var/run/docker.sock");
	assert_string_equal(t.how, "default socket");
	engine_target_release(&t);

	ok("tcp://engine.example", &t);
	assert_int_equal(t.transport, ENGINE_TCP);
	assert_string_equal(t.host, "engine.example");
	assert_int_equal(t.port, 2375);
	assert_false(t.tls);
	assert_string_equal(t.how, "given");
	engine_target_release(&t);

	ok("tcp://[::1]:2399/", &t);
	assert_string_equal(t.host, "::1");
	assert_int_equal(t.port, 2399);
	assert_string_equal(t.address, "tcp://[::1]:2399");
	engine_target_release(&t);

	ok("tcp://[fe80::1]", &t);
	assert_string_equal(t.host, "fe80::1");
	assert_int_equal(t.port, 2375);
	engine_target_release(&t);

	ok("10.1.2.3:4000", &t); /* no scheme: tcp, as the docker CLI */
	assert_int_equal(t.transport, ENGINE_TCP);
	assert_string_equal(t.address, "tcp://10.1.2.3:4000");
	engine_target_release(&t);

	ok("tcp://:2377", &t);
	assert_string_equal(t.host, "127.0.0.1");
	engine_target_release(&t);

	ok("ssh://dev@build.example:2222", &t);
	assert_int_equal(t.transport, ENGINE_SSH);
	assert_string_equal(t.user, "dev");
	assert_string_equal(t.host, "build.example");
	assert_int_equal(t.port, 2222);
	engine_target_release(&t);

	ok("ssh://[::1]", &t);
	assert_null(t.user);
	assert_string_equal(t.host, "::1");
	assert_int_equal(t.port, 0);
	assert_string_equal(t.address, "ssh://[::1]");
	engine_target_release(&t);

	ok("unix://", &t);
	assert_string_equal(t.sock_path, "/var/run/docker.sock");
	engine_target_release(&t);

	refused("tcp://h:0", "expected tcp://HOST[:PORT]");
	refused("tcp://h:65536", "expected tcp://HOST[:PORT]");
	refused("tcp://h:12x", "expected tcp://HOST[:PORT]");
	refused("tcp://::1:2375", "expected tcp://HOST[:PORT]");
	refused("tcp://[::1", "expected tcp://HOST[:PORT]");
	refused("tcp://[::1]x", "expected tcp://HOST[:PORT]");
	refused("tcp://", "expected tcp://HOST[:PORT]");
	refused("tcp://h:1/base", "a path after the address is not supported");
	refused("ssh://h/x", "a path after the host is not supported");
	refused("ssh://-oProxyCommand=x", "expected ssh://[USER@]HOST[:PORT]");
	refused("ssh://@h", "expected ssh://[USER@]HOST[:PORT]");
	refused("unix://relative", "expected unix:///ABSOLUTE/PATH");
	refused("npipe:////./pipe/docker", "expected unix:///PATH, tcp://");
}

static void test_docker_host_tls(void **state)
{
	struct engine_target t;
	char *certs = path_join(dir, "certs");

	(void)state;
	setenv("DOCKER_HOST", "tcp://10.0.0.5", 1);
	setenv("DOCKER_CONTEXT", "prod", 1); /* DOCKER_HOST wins */
	ok(NULL, &t);
	assert_string_equal(t.how, "from DOCKER_HOST");
	assert_int_equal(t.port, 2375);
	engine_target_release(&t);

	/* TLS: port 2376, files from DOCKER_CERT_PATH, each only if there. */
	setenv("DOCKER_TLS_VERIFY", "1", 1);
	setenv("DOCKER_CERT_PATH", certs, 1);
	put("certs/ca.pem", "x");
	ok(NULL, &t);
	assert_true(t.tls);
	assert_true(t.tls_verify);
	assert_int_equal(t.port, 2376);
	assert_true(str_ends(t.ca_file, "/certs/ca.pem"));
	assert_null(t.cert_file);
	engine_target_release(&t);

	put("certs/cert.pem", "x");
	refused(NULL, "needs both cert.pem and key.pem");
	put("certs/key.pem", "x");
	ok(NULL, &t);
	assert_true(str_ends(t.key_file, "/certs/key.pem"));
	engine_target_release(&t);

	/* Without DOCKER_CERT_PATH the config folder holds them. */
	unsetenv("DOCKER_CERT_PATH");
	ok(NULL, &t);
	assert_null(t.ca_file);
	engine_target_release(&t);
	put("ca.pem", "x");
	ok(NULL, &t);
	assert_non_null(t.ca_file);
	assert_true(str_starts(t.ca_file, dir));
	engine_target_release(&t);

	/* DOCKER_TLS alone: TLS without verification. */
	unsetenv("DOCKER_TLS_VERIFY");
	setenv("DOCKER_TLS", "1", 1);
	ok(NULL, &t);
	assert_true(t.tls);
	assert_false(t.tls_verify);
	engine_target_release(&t);

	/* TLS means nothing to a unix socket. */
	setenv("DOCKER_HOST", "unix:///tmp/x.sock", 1);
	ok(NULL, &t);
	assert_false(t.tls);
	engine_target_release(&t);
	free(certs);
}

static void test_contexts(void **state)
{
	struct engine_target t;

	(void)state;
	/* currentContext of config.json */
	put("config.json", "{\"auths\": {}, \"currentContext\": \"prod\"}");
	put("contexts/meta/" PROD_HASH "/meta.json",
	    "{\"Name\":\"prod\",\"Metadata\":{},\"Endpoints\":{\"docker\":"
	    "{\"Host\":\"ssh://ops@prod.example\",\"SkipTLSVerify\":false}}}");
	ok(NULL, &t);
	assert_int_equal(t.transport, ENGINE_SSH);
	assert_string_equal(t.how, "context prod");
	assert_string_equal(t.context, "prod");
	assert_string_equal(t.user, "ops");
	engine_target_release(&t);

	/* DOCKER_CONTEXT overrides it; TLS material from contexts/tls. */
	put("contexts/meta/" TLS_HASH "/meta.json",
	    "{\"Name\":\"tlsctx\",\"Endpoints\":{\"docker\":"
	    "{\"Host\":\"tcp://[2001:db8::5]\"}}}");
	put("contexts/tls/" TLS_HASH "/docker/ca.pem", "x");
	put("contexts/tls/" TLS_HASH "/docker/cert.pem", "x");
	put("contexts/tls/" TLS_HASH "/docker/key.pem", "x");
	setenv("DOCKER_CONTEXT", "tlsctx", 1);
	ok(NULL, &t);
	assert_string_equal(t.how, "context tlsctx");
	assert_string_equal(t.address, "tcp://[2001:db8::5]:2376");
	assert_true(t.tls);
	assert_true(t.tls_verify);
	assert_true(str_ends(t.cert_file, TLS_HASH "/docker/cert.pem"));
	engine_target_release(&t);

	/* SkipTLSVerify keeps TLS but drops verification. */
	put("contexts/meta/" TLS_HASH "/meta.json",
	    "{\"Endpoints\":{\"docker\":{\"Host\":\"tcp://h:1\","
	    "\"SkipTLSVerify\":true}}}");
	ok(NULL, &t);
	assert_true(t.tls);
	assert_false(t.tls_verify);
	engine_target_release(&t);

	/* "default" is the default engine, whatever config.json says. */
	setenv("DOCKER_CONTEXT", "default", 1);
	ok(NULL, &t);
	assert_string_equal(t.how, "default socket");
	engine_target_release(&t);

	setenv("DOCKER_CONTEXT", "nope", 1);
	refused(NULL, "context 'nope' (from DOCKER_CONTEXT) does not exist: no '");
	unsetenv("DOCKER_CONTEXT");

	put("config.json", "{\"currentContext\": \"gone\"}");
	refused(NULL, "(the currentContext of config.json) does not exist");
	put("config.json", "{\"currentContext\": ");
	refused(NULL, "config.json': not JSON");
	put("config.json", "{}");
	put("contexts/meta/" PROD_HASH "/meta.json", "{\"Endpoints\":{}}");
	setenv("DOCKER_CONTEXT", "prod", 1);
	refused(NULL, "expected a string at Endpoints.docker.Host");
	put("contexts/meta/" PROD_HASH "/meta.json",
	    "{\"Endpoints\":{\"docker\":{\"Host\":\"tcp://h:x\"}}}");
	refused(NULL, "context 'prod' 'tcp://h:x': expected tcp://HOST[:PORT]");
	unsetenv("DOCKER_CONTEXT");
	ok(NULL, &t);
	assert_string_equal(t.how, "default socket");
	engine_target_release(&t);
}

static void test_local(void **state)
{
	(void)state;
	assert_true(engine_host_is_local("localhost"));
	assert_true(engine_host_is_local("127.0.0.1"));
	assert_true(engine_host_is_local("127.3.4.5"));
	assert_true(engine_host_is_local("::1"));
	assert_true(engine_host_is_local("0:0:0:0:0:0:0:1"));
	assert_false(engine_host_is_local("192.0.2.1")); /* TEST-NET-1 */
	assert_false(engine_host_is_local("engine.example"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_addresses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_docker_host_tls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_contexts, setup, teardown),
		cmocka_unit_test(test_local),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
