/*
 * Unit tests for the create body (build/container.c): resources as limits
 * and reservations, GPUs as DeviceRequests, stop signal and grace, init,
 * env_file under env, and the network each kind of container joins.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "build/container.h"
#include "project/project.h"

static char dir[] = "/tmp/dw-test-container-XXXXXX";
static char file[256];

static int setup(void **state)
{
	char p[300];
	FILE *f;

	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(file, sizeof(file), "%s/devwatch.json", dir);
	snprintf(p, sizeof(p), "%s/app.env", dir);
	f = fopen(p, "w");
	fputs("A=file\nB=file\nB=file-later\n", f);
	fclose(f);
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static const char *text =
	"{\"name\": \"shop\", \"containers\": {\n"
	" \"api\": {\"image\": \"i\", \"aliases\": [\"backend\"],\n"
	"   \"resources\": {\"cpus\": {\"request\": 0.5, \"limit\": 2}, \"memory\": {\"request\": \"256m\", \"limit\": \"1g\"}},\n"
	"   \"gpus\": \"all\", \"stop_signal\": \"SIGINT\", \"stop_grace\": \"1500ms\", \"init\": true,\n"
	"   \"env_file\": \"app.env\", \"env\": {\"A\": \"env\"}},\n"
	" \"proxy\": {\"image\": \"i\", \"network\": \"container:api\",\n"
	"   \"gpus\": {\"device_ids\": [\"0\", \"3\"], \"capabilities\": [\"gpu\", \"utility\"]}},\n"
	" \"w\": {\"image\": \"i\", \"network\": \"host\", \"gpus\": {\"count\": 2}},\n"
	" \"n\": {\"image\": \"i\", \"network\": \"none\"}\n"
	"}}";

static cJSON *body_of(struct project *p, const char *name)
{
	char *s = container_create_body(p, project_find(p, name), 1, "img:1");
	cJSON *o = cJSON_Parse(s);

	free(s);
	assert_non_null(o);
	return o;
}

static cJSON *at(cJSON *o, const char *a, const char *b)
{
	cJSON *v = cJSON_GetObjectItem(o, a);

	return b != NULL ? cJSON_GetObjectItem(v, b) : v;
}

static struct project *load(void)
{
	struct project *p = NULL;
	char *cause = NULL;

	if (project_parse(file, text, strlen(text), &p, &cause) != 0)
		fail_msg("%s", cause);
	return p;
}

static void test_resources_and_gpus(void **state)
{
	struct project *p = load();
	cJSON *o = body_of(p, "api"), *d, *caps;

	(void)state;
	assert_int_equal((int64_t)at(o, "HostConfig", "NanoCpus")->valuedouble, 2000000000LL);
	assert_int_equal(at(o, "HostConfig", "CpuShares")->valueint, 512);
	assert_int_equal((int64_t)at(o, "HostConfig", "Memory")->valuedouble, 1024LL << 20);
	assert_int_equal((int64_t)at(o, "HostConfig", "MemoryReservation")->valuedouble, 256LL << 20);
	assert_int_equal(cJSON_GetArraySize(at(o, "HostConfig", "DeviceRequests")), 1);
	d = cJSON_GetArrayItem(at(o, "HostConfig", "DeviceRequests"), 0);
	assert_int_equal(cJSON_GetObjectItem(d, "Count")->valueint, -1);
	assert_null(cJSON_GetObjectItem(d, "DeviceIDs"));
	caps = cJSON_GetObjectItem(d, "Capabilities");
	assert_int_equal(cJSON_GetArraySize(caps), 1);
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetArrayItem(caps, 0), 0)->valuestring, "gpu");
	assert_string_equal(at(o, "StopSignal", NULL)->valuestring, "SIGINT");
	assert_int_equal(at(o, "StopTimeout", NULL)->valueint, 2);
	assert_true(cJSON_IsTrue(at(o, "HostConfig", "Init")));
	cJSON_Delete(o);

	o = body_of(p, "proxy");
	d = cJSON_GetArrayItem(at(o, "HostConfig", "DeviceRequests"), 0);
	assert_int_equal(cJSON_GetObjectItem(d, "Count")->valueint, 0);
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(d, "DeviceIDs"), 1)->valuestring, "3");
	caps = cJSON_GetArrayItem(cJSON_GetObjectItem(d, "Capabilities"), 0);
	assert_int_equal(cJSON_GetArraySize(caps), 2);
	assert_string_equal(cJSON_GetArrayItem(caps, 1)->valuestring, "utility");
	assert_null(at(o, "HostConfig", "Memory"));
	assert_null(at(o, "HostConfig", "Init"));
	assert_null(at(o, "StopSignal", NULL));
	assert_int_equal(at(o, "StopTimeout", NULL)->valueint, 3);
	cJSON_Delete(o);

	o = body_of(p, "w");
	d = cJSON_GetArrayItem(at(o, "HostConfig", "DeviceRequests"), 0);
	assert_int_equal(cJSON_GetObjectItem(d, "Count")->valueint, 2);
	cJSON_Delete(o);
	o = body_of(p, "n");
	assert_null(at(o, "HostConfig", "DeviceRequests"));
	cJSON_Delete(o);
	project_free(p);
}

static void test_env_and_networks(void **state)
{
	struct project *p = load();
	cJSON *o = body_of(p, "api"), *env, *ep, *al;

	(void)state;
	/* env_file's B (its last value) stays; env's A wins over the file's. */
	env = at(o, "Env", NULL);
	assert_int_equal(cJSON_GetArraySize(env), 2);
	assert_string_equal(cJSON_GetArrayItem(env, 0)->valuestring, "B=file-later");
	assert_string_equal(cJSON_GetArrayItem(env, 1)->valuestring, "A=env");
	assert_string_equal(at(o, "HostConfig", "NetworkMode")->valuestring, "devwatch-shop");
	ep = at(at(o, "NetworkingConfig", "EndpointsConfig"), "devwatch-shop", NULL);
	al = cJSON_GetObjectItem(ep, "Aliases");
	assert_int_equal(cJSON_GetArraySize(al), 2);
	assert_string_equal(cJSON_GetArrayItem(al, 0)->valuestring, "api");
	assert_string_equal(cJSON_GetArrayItem(al, 1)->valuestring, "backend");
	cJSON_Delete(o);

	o = body_of(p, "proxy");
	assert_string_equal(at(o, "HostConfig", "NetworkMode")->valuestring, "container:shop-api-1");
	assert_null(at(o, "NetworkingConfig", NULL));
	cJSON_Delete(o);
	o = body_of(p, "w");
	assert_string_equal(at(o, "HostConfig", "NetworkMode")->valuestring, "host");
	cJSON_Delete(o);
	o = body_of(p, "n");
	assert_string_equal(at(o, "HostConfig", "NetworkMode")->valuestring, "none");
	assert_null(at(o, "NetworkingConfig", NULL));
	cJSON_Delete(o);
	project_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resources_and_gpus),
		cmocka_unit_test(test_env_and_networks),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
