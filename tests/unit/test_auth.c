/*
 * Unit tests for registry credentials over a fake config folder: which
 * registry an image names, auths entries keyed with and without a scheme,
 * Docker Hub's key, identity tokens, credHelpers and credsStore through a
 * helper script (answering, "not found", failing), and malformed input.
 * The header is decoded here (URL-safe base64 of JSON) and checked field
 * by field.
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

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "base/error.h"
#include "base/util.h"
#include "engine/auth.h"

static char dir[64];
static char *old_path;

static void put(const char *rel, const char *text, int mode)
{
	char *path = path_join(dir, rel);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, (mode_t)mode);
	free(path);
}

static int setup(void **state)
{
	char *p;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/dw-auth-XXXXXX");
	assert_non_null(mkdtemp(dir));
	setenv("DOCKER_CONFIG", dir, 1);
	old_path = xstrdup(getenv("PATH") != NULL ? getenv("PATH") : "/usr/bin:/bin");
	p = xasprintf("%s:%s", dir, old_path);
	setenv("PATH", p, 1);
	free(p);
	return 0;
}

static int teardown(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);

	(void)state;
	setenv("PATH", old_path, 1);
	free(old_path);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	return 0;
}

/* Decode the URL-safe base64 header and return field `key` (static). */
static const char *field(const char *header, const char *key)
{
	static char value[256];
	char *std = xstrdup(header), *cmd, *out;
	FILE *f;
	cJSON *j;
	size_t n;

	for (char *c = std; *c != '\0'; c++)
		*c = *c == '-' ? '+' : *c == '_' ? '/' : *c;
	cmd = xasprintf("printf %%s '%s' | base64 -d", std);
	f = popen(cmd, "r");
	assert_non_null(f);
	out = xcalloc(1, 4096);
	n = fread(out, 1, 4095, f);
	pclose(f);
	assert_true(n > 0);
	j = cJSON_Parse(out);
	assert_non_null(j);
	value[0] = '\0';
	if (cJSON_IsString(cJSON_GetObjectItem(j, key)))
		snprintf(value, sizeof(value), "%s",
			 cJSON_GetObjectItem(j, key)->valuestring);
	cJSON_Delete(j);
	free(out);
	free(cmd);
	free(std);
	return value;
}

static char *auth_ok(const char *image)
{
	char *h = NULL, *cause = NULL;

	if (engine_registry_auth(image, &h, &cause) != 0)
		fail_msg("auth for '%s': %s", image, cause);
	return h;
}

static void test_hosts(void **state)
{
	static const char *const cases[][2] = {
		{"busybox:1.36", "docker.io"},
		{"library/busybox", "docker.io"},
		{"team/app:1", "docker.io"},
		{"127.0.0.1:5000/team/web:1", "127.0.0.1:5000"},
		{"localhost/x", "localhost"},
		{"ghcr.io/o/r@sha256:abc", "ghcr.io"},
		{"[::1]:5000/x", "[::1]:5000"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *h = engine_registry_host(cases[i][0]);

		assert_string_equal(h, cases[i][1]);
		free(h);
	}
}

static void test_auths(void **state)
{
	char *h, *cause = NULL;

	(void)state;
	/* No config.json at all: no credentials, no error. */
	h = auth_ok("reg.example:5000/x");
	assert_null(h);

	/* "dwuser:pa:ss" */
	put("config.json",
	    "{\"auths\": {"
	    "\"https://reg.example:5000/v2/\": {\"auth\": \"ZHd1c2VyOnBhOnNz\"},"
	    "\"https://index.docker.io/v1/\": {\"auth\": \"aHViOmh1YnB3\"},"
	    "\"tok.example\": {\"identitytoken\": \"T0K\"}}}", 0644);
	h = auth_ok("reg.example:5000/team/web:1");
	assert_non_null(h);
	assert_null(strpbrk(h, "+/")); /* URL-safe */
	assert_string_equal(field(h, "username"), "dwuser");
	assert_string_equal(field(h, "password"), "pa:ss");
	assert_string_equal(field(h, "serveraddress"), "reg.example:5000");
	free(h);
	h = auth_ok("busybox:1.36");
	assert_string_equal(field(h, "username"), "hub");
	assert_string_equal(field(h, "serveraddress"), "https://index.docker.io/v1/");
	free(h);
	h = auth_ok("tok.example/x");
	assert_string_equal(field(h, "identitytoken"), "T0K");
	free(h);
	h = auth_ok("other.example/x");
	assert_null(h);

	put("config.json", "{\"auths\": {\"reg.example\": {\"auth\": \"bm9jb2xvbg==\"}}}", 0644);
	assert_int_equal(engine_registry_auth("reg.example/x", &h, &cause), DW_USAGE);
	assert_non_null(strstr(cause, "expected base64 of user:password"));
	free(cause);
	cause = NULL;
	put("config.json", "{\"auths\": ", 0644);
	assert_int_equal(engine_registry_auth("reg.example/x", &h, &cause), DW_USAGE);
	assert_non_null(strstr(cause, "config.json': not JSON"));
	free(cause);
}

static void test_helpers(void **state)
{
	char *h, *cause = NULL;

	(void)state;
	put("docker-credential-dwt",
	    "#!/bin/sh\n"
	    "read -r s\n"
	    "case \"$s\" in\n"
	    "reg.example) echo '{\"ServerURL\":\"reg.example\",\"Username\":\"hu\",\"Secret\":\"hs\"}' ;;\n"
	    "tok.example) echo '{\"Username\":\"<token>\",\"Secret\":\"tk\"}' ;;\n"
	    "bad.example) echo 'nonsense' ;;\n"
	    "broken.example) echo 'keychain locked'; exit 1 ;;\n"
	    "*) echo 'credentials not found in native keychain'; exit 1 ;;\n"
	    "esac\n", 0755);
	put("config.json",
	    "{\"credHelpers\": {\"reg.example\": \"dwt\", \"tok.example\": \"dwt\","
	    " \"bad.example\": \"dwt\", \"broken.example\": \"dwt\", \"gone.example\": \"nosuch\"},"
	    " \"credsStore\": \"dwt\","
	    " \"auths\": {\"plain.example\": {\"auth\": \"dTpw\"}}}", 0644);
	h = auth_ok("reg.example/x");
	assert_string_equal(field(h, "username"), "hu");
	assert_string_equal(field(h, "password"), "hs");
	free(h);
	h = auth_ok("tok.example/x");
	assert_string_equal(field(h, "identitytoken"), "tk");
	free(h);
	/* credsStore has nothing for it: auths still count. */
	h = auth_ok("plain.example/x");
	assert_string_equal(field(h, "username"), "u");
	free(h);
	assert_int_equal(engine_registry_auth("bad.example/x", &h, &cause), DW_USAGE);
	assert_non_null(strstr(cause, "expected JSON with Username and Secret"));
	free(cause);
	cause = NULL;
	assert_int_equal(engine_registry_auth("broken.example/x", &h, &cause), DW_USAGE);
	assert_non_null(strstr(cause, "failed: keychain locked"));
	free(cause);
	cause = NULL;
	assert_int_equal(engine_registry_auth("gone.example/x", &h, &cause), DW_USAGE);
	assert_non_null(strstr(cause, "cannot run 'docker-credential-nosuch'"));
	free(cause);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hosts),
		cmocka_unit_test_setup_teardown(test_auths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_helpers, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
