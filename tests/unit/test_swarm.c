/*
 * Unit tests for engine/swarm.h's JSON half, on answers recorded from the
 * 3-node test swarm (tests/system/swarmlib.sh, engine 20.10.24): a task
 * list before and after a forced rolling update (each slot's running task
 * is the newest one desired running), the node list (hostname and
 * Status.Addr), a service inspect turned into an update body (version,
 * image, ForceUpdate), and the spec of a service with host-mode ports and
 * dnsrr. Malformed answers are errors that name the request.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "base/error.h"
#include "base/util.h"
#include "engine/swarm.h"

static char *slurp(const char *name, size_t *len)
{
	const char *dir = getenv("DEVWATCH_TEST_DATA");
	char *path, *buf;
	FILE *f;
	long n;

	assert_non_null(dir);
	path = xasprintf("%s/swarm/%s", dir, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = xmalloc((size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	free(path);
	*len = (size_t)n;
	return buf;
}

static void test_tasks(void **state)
{
	size_t len, n;
	char *body = slurp("tasks.json", &len), *cause = NULL;
	struct engine_task *t;
	const struct engine_task *slots[3];

	(void)state;
	assert_int_equal(engine_tasks_parse(body, len, &t, &n, &cause), 0);
	assert_int_equal(n, 3);
	assert_int_equal(engine_tasks_by_slot(t, n, 3, slots), 3);
	assert_int_equal(slots[0]->slot, 1);
	assert_string_equal(slots[0]->container_id,
			    "9403fc645da62a1ef52311aeec871b7fe4180d976ee87885c724b555769e0ab5");
	assert_string_equal(slots[0]->state_text, "running");
	assert_int_equal(slots[0]->n_ports, 1);
	assert_int_equal(engine_task_port(slots[0], 80), 18081);
	assert_int_equal(engine_task_port(slots[0], 81), 0);
	assert_string_equal(slots[0]->image, "busybox:1.36");
	assert_string_equal(slots[0]->service_id, "ri34s6bfbcevzsfx29ccgmvw8");
	assert_true(slots[0]->node_id[0] != '\0');
	/* Each slot on its own node. */
	assert_string_not_equal(slots[0]->node_id, slots[1]->node_id);
	assert_string_not_equal(slots[1]->node_id, slots[2]->node_id);
	assert_string_not_equal(slots[0]->node_id, slots[2]->node_id);
	/* Fewer slots asked: only those count. */
	assert_int_equal(engine_tasks_by_slot(t, n, 2, slots), 2);
	engine_tasks_free(t, n);
	free(body);
}

static void test_tasks_after_update(void **state)
{
	size_t len, len0, n, n0;
	char *body = slurp("tasks-updated.json", &len), *cause = NULL;
	char *body0 = slurp("tasks.json", &len0);
	struct engine_task *t, *t0;
	const struct engine_task *slots[3];

	(void)state;
	assert_int_equal(engine_tasks_parse(body, len, &t, &n, &cause), 0);
	assert_int_equal(engine_tasks_parse(body0, len0, &t0, &n0, &cause), 0);
	assert_int_equal(n, 6);
	assert_int_equal(engine_tasks_by_slot(t, n, 3, slots), 3);
	for (int s = 0; s < 3; s++) {
		assert_int_equal(slots[s]->slot, s + 1);
		assert_int_equal(slots[s]->state, ENGINE_TASK_RUNNING);
		assert_true(slots[s]->desired_running);
		/* The new task, not the one shut down by the update. */
		for (size_t i = 0; i < n0; i++)
			assert_string_not_equal(slots[s]->id, t0[i].id);
	}
	for (size_t i = 0; i < n; i++)
		if (!t[i].desired_running)
			assert_int_equal(t[i].state, ENGINE_TASK_ENDED);
	engine_tasks_free(t, n);
	engine_tasks_free(t0, n0);
	free(body);
	free(body0);
}

static void test_nodes(void **state)
{
	size_t len, n;
	char *body = slurp("nodes.json", &len), *cause = NULL;
	struct engine_node *v;

	(void)state;
	assert_int_equal(engine_nodes_parse(body, len, &v, &n, &cause), 0);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++) {
		char want[64];

		assert_true(v[i].ready);
		assert_true(str_starts(v[i].hostname, "dwswarm-5f485076-"));
		/* node N has address .1N */
		snprintf(want, sizeof(want), "10.215.246.1%c",
			 v[i].hostname[strlen(v[i].hostname) - 1]);
		assert_string_equal(v[i].addr, want);
		assert_int_equal(strlen(v[i].id), 25);
	}
	engine_nodes_free(v, n);
	free(body);
}

static void test_update_body(void **state)
{
	size_t len;
	char *body = slurp("service.json", &len), *cause = NULL, *spec = NULL;
	long version = 0;
	cJSON *o, *cs, *tt;

	(void)state;
	assert_int_equal(engine_service_update_body(body, len, "reg:5000/p/web:abc",
						    &version, &spec, &cause), 0);
	assert_true(version > 0);
	o = cJSON_Parse(spec);
	assert_non_null(o);
	assert_string_equal(cJSON_GetObjectItem(o, "Name")->valuestring, "rec-web");
	tt = cJSON_GetObjectItem(o, "TaskTemplate");
	cs = cJSON_GetObjectItem(tt, "ContainerSpec");
	assert_string_equal(cJSON_GetObjectItem(cs, "Image")->valuestring, "reg:5000/p/web:abc");
	assert_int_equal(cJSON_GetObjectItem(tt, "ForceUpdate")->valueint, 1);
	/* What the service had stays: its args, its ports. */
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(cs, "Args"), 0)->valuestring,
			    "sleep");
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(
				     cJSON_GetObjectItem(o, "EndpointSpec"), "Ports"), 0),
					     "PublishedPort")->valueint, 18081);
	cJSON_Delete(o);
	free(spec);
	free(body);
}

static void test_spec(void **state)
{
	static const struct engine_service_port ports[] = {{80, 8080, "tcp"}, {53, 0, "udp"}};
	static const char *const labels[] = {"dev.devwatch.project", "p", "dev.devwatch.container",
					     "web", NULL};
	static const char *const args[] = {"httpd", "-f", NULL};
	struct engine_service s = {
		.name = "p-web", .image = "reg/p-web:1", .replicas = 3, .labels = labels,
		.args = args, .ports = ports, .n_ports = 2, .dnsrr = true,
	};
	char *spec = engine_service_spec(&s);
	cJSON *o = cJSON_Parse(spec), *ep, *p0, *p1, *cs;

	(void)state;
	assert_non_null(o);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "Mode"),
								 "Replicated"), "Replicas")->valueint, 3);
	ep = cJSON_GetObjectItem(o, "EndpointSpec");
	assert_string_equal(cJSON_GetObjectItem(ep, "Mode")->valuestring, "dnsrr");
	p0 = cJSON_GetArrayItem(cJSON_GetObjectItem(ep, "Ports"), 0);
	p1 = cJSON_GetArrayItem(cJSON_GetObjectItem(ep, "Ports"), 1);
	assert_string_equal(cJSON_GetObjectItem(p0, "PublishMode")->valuestring, "host");
	assert_int_equal(cJSON_GetObjectItem(p0, "PublishedPort")->valueint, 8080);
	assert_null(cJSON_GetObjectItem(p1, "PublishedPort"));
	assert_string_equal(cJSON_GetObjectItem(p1, "Protocol")->valuestring, "udp");
	cs = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "TaskTemplate"), "ContainerSpec");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(cs, "Labels"),
						"dev.devwatch.container")->valuestring, "web");
	assert_null(cJSON_GetObjectItem(cs, "Command"));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(cs, "Args")), 2);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "UpdateConfig"),
						"Order")->valuestring, "stop-first");
	cJSON_Delete(o);
	free(spec);
	spec = engine_overlay_spec("devwatch-p", labels);
	o = cJSON_Parse(spec);
	assert_string_equal(cJSON_GetObjectItem(o, "Driver")->valuestring, "overlay");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "Attachable")));
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "Labels"),
						"dev.devwatch.project")->valuestring, "p");
	cJSON_Delete(o);
	free(spec);
}

static void test_created_and_ids(void **state)
{
	size_t len, n;
	char *body = slurp("create.json", &len), *id = NULL, *cause = NULL, **ids;
	const char *list = "[{\"ID\":\"abc\"},{\"ID\":\"../x\"},{\"Name\":\"n\"},{\"ID\":\"def\"}]";

	(void)state;
	assert_int_equal(engine_service_created_parse(body, len, &id, &cause), 0);
	assert_string_equal(id, "ri34s6bfbcevzsfx29ccgmvw8");
	free(id);
	free(body);
	assert_int_equal(engine_ids_parse(list, strlen(list), "GET /services", &ids, &n, &cause), 0);
	assert_int_equal(n, 2);
	assert_string_equal(ids[0], "abc");
	assert_string_equal(ids[1], "def");
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

static void test_malformed(void **state)
{
	char *cause = NULL, *spec = NULL, *id = NULL, **ids = NULL;
	struct engine_task *t = NULL;
	struct engine_node *v = NULL;
	size_t n = 0;
	long version;

	(void)state;
	assert_int_equal(engine_tasks_parse("{}", 2, &t, &n, &cause), DW_ENGINE_PROTO);
	assert_string_equal(cause, "cannot read the engine's answer to GET /tasks");
	free(cause);
	assert_int_equal(engine_nodes_parse("[", 1, &v, &n, &cause), DW_ENGINE_PROTO);
	assert_string_equal(cause, "cannot read the engine's answer to GET /nodes");
	free(cause);
	assert_int_equal(engine_service_update_body("{\"Spec\":{}}", 11, "i", &version, &spec,
						    &cause), DW_ENGINE_PROTO);
	assert_string_equal(cause, "cannot read the engine's answer to GET /services/ID");
	free(cause);
	assert_int_equal(engine_service_created_parse("{\"ID\":\"a/b\"}", 12, &id, &cause),
			 DW_ENGINE_PROTO);
	free(cause);
	assert_int_equal(engine_ids_parse("null", 4, "GET /services", &ids, &n, &cause),
			 DW_ENGINE_PROTO);
	free(cause);
	/* A task without a container yet, in an unknown state. */
	assert_int_equal(engine_tasks_parse("[{\"ID\":\"x\",\"Slot\":1,\"DesiredState\":\"running\","
					    "\"Status\":{\"State\":\"orphaned\"}}]", 76, &t, &n,
					    &cause), 0);
	assert_int_equal(n, 1);
	assert_int_equal(t[0].state, ENGINE_TASK_ENDED);
	assert_string_equal(t[0].container_id, "");
	engine_tasks_free(t, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tasks),
		cmocka_unit_test(test_tasks_after_update),
		cmocka_unit_test(test_nodes),
		cmocka_unit_test(test_update_body),
		cmocka_unit_test(test_spec),
		cmocka_unit_test(test_created_and_ids),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
