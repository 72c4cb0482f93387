/*
 * Unit tests for the compose keys that place a service among the others
 * and say how it runs: depends_on (list and map, conditions, required,
 * restart, jobs), healthcheck as readiness, network_mode and networks with
 * aliases, env_file, init, stop_signal, stop_grace_period, deploy's
 * reservations and devices, and gpus; each with its errors' positions.
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
#include "project/compose.h"
#include "project/json.h"
#include "project/project.h"

static char dir[] = "/tmp/dw-test-compose-deps-XXXXXX";
static char file[256];

static void write_at(const char *name, const char *text)
{
	char *p = path_join(dir, name);
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(p);
}

static int setup(void **state)
{
	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(file, sizeof(file), "%s/compose.yaml", dir);
	unsetenv("COMPOSE_PROFILES");
	unsetenv("COMPOSE_PROJECT_NAME");
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static struct project *load_ok(const char *text)
{
	struct project *p = NULL;
	char *cause = NULL;

	write_at("compose.yaml", text);
	if (project_load(file, &p, &cause) != 0)
		fail_msg("unexpected error: %s", cause);
	return p;
}

/* Expect an error whose text after "FILE:" starts with want. */
static void load_err(const char *text, const char *want)
{
	struct project *p = NULL;
	char *cause = NULL;
	int err;

	write_at("compose.yaml", text);
	err = project_load(file, &p, &cause);
	if (err == 0)
		fail_msg("expected error '%s', got none", want);
	assert_int_equal(err, DW_PROJECT);
	assert_null(p);
	assert_memory_equal(cause, file, strlen(file));
	if (strncmp(cause + strlen(file) + 1, want, strlen(want)) != 0)
		fail_msg("error\n  got:  %s\n  want: %s", cause + strlen(file) + 1, want);
	free(cause);
}

/* The warnings of a load, joined by newlines. */
static char *warnings_of(const char *text)
{
	struct strlist w = {0};
	struct jnode *tree = NULL;
	char *cause = NULL, *all = xstrdup("");

	write_at("compose.yaml", text);
	if (compose_load(file, &tree, &w, &cause) != 0)
		fail_msg("unexpected error: %s", cause);
	json_free(tree);
	for (size_t i = 0; i < w.n; i++) {
		char *next = xasprintf("%s%s\n", all, w.v[i] + strlen(file) + 1);

		free(all);
		free(w.v[i]);
		all = next;
	}
	free(w.v);
	return all;
}

static const struct depend *dep(const struct project_container *c, const char *name)
{
	for (size_t i = 0; i < c->n_depends; i++)
		if (strcmp(c->depends[i].name, name) == 0)
			return &c->depends[i];
	fail_msg("no depends_on '%s' in '%s'", name, c->name);
	return NULL;
}

static void test_depends_on(void **state)
{
	static const char base[] =
		"services:\n"
		"  db: {image: i, healthcheck: {test: [CMD, ok]}}\n"
		"  seed: {image: i}\n"
		"  cache: {image: i}\n"
		"  web:\n"
		"    image: i\n"
		"    depends_on:\n"
		"      db: {condition: service_healthy}\n"
		"      seed: {condition: service_completed_successfully, restart: false}\n"
		"      cache:\n"
		"      extra: {condition: service_started, required: false}\n"
		"  worker: {image: i, depends_on: [cache, db, cache]}\n";
	struct project *p = load_ok(base);
	struct project_container *web = project_find(p, "web");
	struct project_container *worker = project_find(p, "worker");
	char *w;

	(void)state;
	assert_int_equal(web->n_depends, 3);
	assert_int_equal(dep(web, "db")->cond, DEP_READY);
	assert_int_equal(dep(web, "seed")->cond, DEP_COMPLETED);
	assert_int_equal(dep(web, "cache")->cond, DEP_STARTED);
	/* at the entry's key */
	assert_int_equal(dep(web, "db")->line, 8);
	assert_int_equal(dep(web, "db")->column, 7);
	/* a service others wait on to complete is a job; the others are not */
	assert_true(project_find(p, "seed")->job);
	assert_false(project_find(p, "db")->job);
	assert_int_equal(worker->n_depends, 2);
	assert_int_equal(dep(worker, "db")->cond, DEP_STARTED);
	project_free(p);
	w = warnings_of(base);
	assert_non_null(strstr(w, "11:7: service 'web' depends on 'extra', which is not enabled; "
			       "not required, so ignored"));
	free(w);
	w = warnings_of("services:\n  a: {image: i}\n"
			"  b: {image: i, depends_on: {a: {condition: service_started, required: false}}}\n");
	assert_non_null(strstr(w, "3:30: 'required: false': devwatch still waits for 'a'"));
	free(w);
	w = warnings_of("services:\n  a: {image: i}\n"
			"  b: {image: i, depends_on: {a: {condition: service_healthy}}}\n");
	assert_non_null(strstr(w, "3:30: service 'a' has no healthcheck: devwatch counts it "
			       "healthy when its image's HEALTHCHECK passes"));
	free(w);
	w = warnings_of(base);
	assert_null(strstr(w, "has no healthcheck"));
	free(w);

	load_err("services:\n  w: {image: i, depends_on: [db]}\n",
		 "2:30: service 'w' depends on undefined service 'db'");
	load_err("services:\n  db: {image: i, profiles: [x]}\n  w: {image: i, depends_on: {db: {}}}\n",
		 "3:30: service 'w' depends on service 'db', which is not enabled; expected its "
		 "profile in COMPOSE_PROFILES or 'required: false'");
	load_err("services:\n  w:\n    image: i\n    depends_on:\n      db: {condition: healthy}\n",
		 "5:23: condition 'healthy': expected service_started, service_healthy or "
		 "service_completed_successfully");
	load_err("services:\n  db: {image: i}\n  w:\n    image: i\n    depends_on:\n"
		 "      db: {restart: true}\n",
		 "6:12: 'restart: true' in depends_on is not supported yet; devwatch leaves 'w' "
		 "running when it replaces 'db'");
	load_err("services:\n  w:\n    image: i\n    depends_on: [\"\"]\n",
		 "4:18: 'depends_on' holds an empty name; expected a service name");
	load_err("services:\n  w:\n    image: i\n    depends_on: {db: started}\n",
		 "4:22: depends_on 'db' is a string; expected a mapping with 'condition'");
	load_err("services:\n  w:\n    image: i\n    depends_on: {db: {when: now}}\n",
		 "4:23: unknown key 'when' in depends_on");
	load_err("services:\n  db:\n    image: i\n    healthcheck: {test: [CMD, ok]}\n"
		 "  w: {image: i, depends_on: {db: {condition: service_completed_successfully}}}\n",
		 "4:5: service 'db' has a healthcheck, and 'w' waits for it to complete");
	load_err("services:\n  db:\n    image: i\n    restart: always\n"
		 "  w: {image: i, depends_on: {db: {condition: service_completed_successfully}}}\n",
		 "4:14: service 'db' restarts, and 'w' waits for it to complete");
	/* the model's own check, at the compose entry */
	load_err("services:\n  w: {image: i, depends_on: [w]}\n",
		 "2:30: depends_on 'w': a container cannot depend on itself");
}

static void test_healthcheck(void **state)
{
	struct project *p;
	struct project_container *c;
	char *w;

	(void)state;
	p = load_ok("services:\n"
		    "  a:\n"
		    "    image: i\n"
		    "    healthcheck:\n"
		    "      test: [CMD, redis-cli, ping]\n"
		    "      interval: 2s\n"
		    "      timeout: 500ms\n"
		    "      retries: 5\n"
		    "      start_period: 1m30s\n"
		    "  b: {image: i, healthcheck: {test: [CMD-SHELL, \"curl -f localhost || exit 1\"],\n"
		    "      start_interval: 250ms, interval: 1h}}\n"
		    "  c: {image: i, healthcheck: {test: pg_isready}}\n"
		    "  d: {image: i, healthcheck: {disable: true}}\n"
		    "  e: {image: i, healthcheck: {test: [NONE]}}\n");
	c = project_find(p, "a");
	assert_true(c->readiness.set);
	assert_string_equal(c->readiness.cmd[0], "redis-cli");
	assert_string_equal(c->readiness.cmd[1], "ping");
	assert_null(c->readiness.cmd[2]);
	assert_int_equal(c->readiness.interval_ms, 2000);
	assert_int_equal(c->readiness.timeout_ms, 500);
	/* unhealthy where compose would say so: 90s + 5 * (2s + 0.5s) */
	assert_int_equal(c->readiness.start_timeout_ms, 102500);
	c = project_find(p, "b");
	assert_string_equal(c->readiness.cmd[0], "/bin/sh");
	assert_string_equal(c->readiness.cmd[1], "-c");
	assert_string_equal(c->readiness.cmd[2], "curl -f localhost || exit 1");
	assert_int_equal(c->readiness.interval_ms, 250);
	c = project_find(p, "c");
	assert_string_equal(c->readiness.cmd[2], "pg_isready");
	/* compose's defaults: 30s timeout, 3 retries of 30s + 30s */
	assert_int_equal(c->readiness.timeout_ms, 30000);
	assert_int_equal(c->readiness.start_timeout_ms, 180000);
	assert_int_equal(c->readiness.interval_ms, 100);
	assert_false(project_find(p, "d")->readiness.set);
	assert_false(project_find(p, "e")->readiness.set);
	project_free(p);
	w = warnings_of("services:\n  d: {image: i, healthcheck: {disable: true}}\n");
	assert_non_null(strstr(w, "2:31: healthcheck of service 'd' disabled"));
	free(w);

	load_err("services:\n  a:\n    image: i\n    healthcheck: {interval: 1s}\n",
		 "4:5: a 'healthcheck' without 'test' (the image's, with other timings) is not "
		 "supported yet");
	load_err("services:\n  a:\n    image: i\n    healthcheck: {test: [RUN, x]}\n",
		 "4:26: healthcheck test 'RUN': expected CMD, CMD-SHELL or NONE first");
	load_err("services:\n  a:\n    image: i\n    healthcheck: {test: [CMD]}\n",
		 "4:26: CMD: expected the command after it");
	load_err("services:\n  a:\n    image: i\n    healthcheck:\n      test: [CMD, x]\n"
		 "      interval: 10 seconds\n",
		 "6:17: 'healthcheck.interval' is '10 seconds'; expected a duration such as "
		 "\"1m30s\"");
	load_err("services:\n  a:\n    image: i\n    healthcheck: {test: x, retries: many}\n",
		 "4:37: 'healthcheck.retries' is 'many'; expected an integer from 0 to 1000");
	load_err("services:\n  a:\n    image: i\n    healthcheck: {test: x, tries: 3}\n",
		 "4:28: unknown key 'tries' in healthcheck (did you mean 'retries'?)");
}

static void test_network(void **state)
{
	struct project *p;
	struct project_container *c;

	(void)state;
	p = load_ok("services:\n"
		    "  api:\n"
		    "    image: i\n"
		    "    networks:\n"
		    "      default:\n"
		    "        aliases: [backend, api.local]\n"
		    "  proxy: {image: i, network_mode: \"service:api\"}\n"
		    "  tool: {image: i, network_mode: host}\n"
		    "  box: {image: i, network_mode: none}\n"
		    "  plain: {image: i, networks: [default]}\n");
	c = project_find(p, "api");
	assert_int_equal(c->network, NET_PROJECT);
	assert_int_equal(c->aliases.n, 2);
	assert_string_equal(c->aliases.v[1], "api.local");
	c = project_find(p, "proxy");
	assert_int_equal(c->network, NET_CONTAINER);
	assert_string_equal(c->network_of, "api");
	assert_int_equal(project_find(p, "tool")->network, NET_HOST);
	assert_int_equal(project_find(p, "box")->network, NET_NONE);
	assert_int_equal(project_find(p, "plain")->aliases.n, 0);
	/* the sidecar starts after the container whose network it joins */
	assert_true(p->order[0] == 0);
	project_free(p);

	load_err("services:\n  w:\n    image: i\n    networks: [front]\n",
		 "4:16: network 'front' is not supported yet; devwatch gives the project one "
		 "network, expected 'default'");
	load_err("services:\n  w:\n    image: i\n    networks:\n      back: {}\n",
		 "5:7: network 'back' is not supported yet");
	load_err("services:\n  w:\n    image: i\n    networks:\n      default: {ipv4_address: 10.0.0.9}\n",
		 "5:17: 'ipv4_address' in service 'w' is not supported yet");
	load_err("services:\n  w:\n    image: i\n    networks: [default]\n    network_mode: host\n",
		 "5:5: service 'w' declares mutually exclusive 'network_mode' and 'networks'");
	load_err("services:\n  w:\n    image: i\n    network_mode: bridge\n",
		 "4:19: network_mode 'bridge' is not supported yet");
	load_err("services:\n  w:\n    image: i\n    network_mode: wifi\n",
		 "4:19: network_mode 'wifi': expected service:NAME, host or none");
	load_err("services:\n  w:\n    image: i\n    network_mode: \"service:db\"\n",
		 "4:19: network 'container:db': no container 'db' in the project");
	load_err("services:\n  w:\n    image: i\n    networks: {default: {aliases: [Bad]}}\n",
		 "4:36: alias 'Bad': expected lowercase letters");
}

static void test_env_file(void **state)
{
	struct project *p;
	struct project_container *c;

	(void)state;
	write_at("one.env", "# settings\nA=1\nB=from-one\n");
	write_at("two.env", "B=from-two\n");
	p = load_ok("services:\n"
		    "  a: {image: i, env_file: one.env}\n"
		    "  b:\n"
		    "    image: i\n"
		    "    environment: {A: env}\n"
		    "    env_file:\n"
		    "      - one.env\n"
		    "      - {path: ./two.env, required: true}\n"
		    "      - {path: missing.env, required: false}\n");
	c = project_find(p, "a");
	assert_int_equal(c->env_files.n, 1);
	assert_int_equal(c->file_env.n, 2);
	assert_string_equal(c->file_env.v[1].value, "from-one");
	c = project_find(p, "b");
	assert_int_equal(c->env_files.n, 2);
	assert_non_null(strstr(c->env_files.v[1], "/two.env"));
	assert_string_equal(c->file_env.v[2].value, "from-two");
	assert_string_equal(c->env.v[0].value, "env");
	project_free(p);

	load_err("services:\n  w:\n    image: i\n    env_file: [one.env, nope.env]\n",
		 "4:25: env file nope.env not found; expected a file, or 'required: false'");
	load_err("services:\n  w:\n    image: i\n    env_file: {path: one.env, format: raw}\n",
		 "4:31: 'format' in service 'w' is not supported yet; devwatch reads KEY=VALUE lines");
	load_err("services:\n  w:\n    image: i\n    env_file: [{required: false}]\n",
		 "4:17: env_file entry without 'path'");
	load_err("services:\n  w:\n    image: i\n    env_file: \"\"\n",
		 "4:15: 'env_file' path is empty; expected a file name");
	/* values compose's dotenv reading would change are errors, not
	   silently read another way */
	write_at("interp.env", "# ok\nA='${kept}'\nB=${HOME}/x\n");
	load_err("services:\n  w:\n    image: i\n    env_file: interp.env\n",
		 "4:15: env file interp.env:3: '$' (interpolated by compose) in a value is not "
		 "supported yet");
	write_at("comment.env", "A=1 # one\n");
	load_err("services:\n  w:\n    image: i\n    env_file: [{path: comment.env}]\n",
		 "4:23: env file comment.env:1: an inline '#' comment is not supported yet");
	write_at("escape.env", "A=\"a\\nb\"\n");
	load_err("services:\n  w:\n    image: i\n    env_file: escape.env\n",
		 "4:15: env file escape.env:1: '$' or '\\' in a double-quoted value");
}

static void test_run_keys(void **state)
{
	struct project *p;
	struct project_container *c;

	(void)state;
	p = load_ok("services:\n"
		    "  a:\n"
		    "    image: i\n"
		    "    init: true\n"
		    "    stop_signal: SIGINT\n"
		    "    stop_grace_period: 1m30s\n"
		    "    deploy:\n"
		    "      resources:\n"
		    "        limits: {cpus: \"2\", memory: 1g}\n"
		    "        reservations:\n"
		    "          cpus: \"0.5\"\n"
		    "          memory: 256m\n"
		    "          devices:\n"
		    "            - {driver: nvidia, count: 2, capabilities: [gpu, utility]}\n"
		    "  b: {image: i, stop_grace_period: 1.5s, gpus: all,\n"
		    "      deploy: {resources: {reservations: {memory: 64m}}}}\n"
		    "  c: {image: i, gpus: [{device_ids: [\"0\", \"3\"]}]}\n");
	c = project_find(p, "a");
	assert_true(c->init);
	assert_string_equal(c->stop_signal, "SIGINT");
	assert_int_equal(c->stop_grace_ms, 90000);
	assert_true(c->cpus == 2);
	assert_true(c->cpus_request == 0.5);
	assert_int_equal(c->memory, 1024 * 1024 * 1024);
	assert_int_equal(c->memory_request, 256 * 1024 * 1024);
	assert_true(c->gpus.set);
	assert_int_equal(c->gpus.count, 2);
	assert_int_equal(c->gpus.capabilities.n, 2);
	assert_string_equal(c->gpus.capabilities.v[1], "utility");
	c = project_find(p, "b");
	assert_int_equal(c->stop_grace_ms, 1500);
	assert_int_equal(c->gpus.count, -1);
	assert_int_equal(c->memory_request, 64 * 1024 * 1024);
	assert_int_equal(c->memory, 0);
	assert_false(c->init);
	c = project_find(p, "c");
	assert_int_equal(c->gpus.device_ids.n, 2);
	assert_string_equal(c->gpus.device_ids.v[1], "3");
	project_free(p);

	load_err("services:\n  w:\n    image: i\n    stop_grace_period: 0s\n",
		 "4:24: stop_grace_period '0s' is not supported yet; devwatch waits at least 1ms");
	load_err("services:\n  w:\n    image: i\n    stop_grace_period: 10\n",
		 "4:24: 'stop_grace_period' is '10'; expected a duration such as \"1m30s\"");
	load_err("services:\n  w:\n    image: i\n    stop_grace_period: 1x\n",
		 "4:24: 'stop_grace_period' is '1x'; expected a duration");
	load_err("services:\n  w:\n    image: i\n    stop_signal: TERM!\n",
		 "4:18: stop_signal 'TERM!': expected a signal name");
	load_err("services:\n  w:\n    image: i\n    init: maybe\n",
		 "4:11: 'init' is not a boolean; expected true or false");
	load_err("services:\n  w:\n    image: i\n    deploy:\n      resources:\n"
		 "        reservations: {generic_resources: []}\n",
		 "6:24: 'generic_resources' in service 'w' is not supported yet");
	load_err("services:\n  w:\n    image: i\n    deploy:\n      resources:\n"
		 "        reservations: {cpus: \"2\"}\n        limits: {cpus: \"1\"}\n",
		 "6:30: resources.cpus: the request is above the limit");
	load_err("services:\n  w:\n    image: i\n    gpus: [{count: 1}, {count: 1}]\n",
		 "4:25: a second device request in 'gpus' is not supported yet");
	load_err("services:\n  w:\n    image: i\n    gpus: [{driver: amd}]\n",
		 "4:21: device driver 'amd' is not supported yet; expected nvidia");
	load_err("services:\n  w:\n    image: i\n    gpus: [{options: {x: y}}]\n",
		 "4:13: 'options' in service 'w' is not supported yet");
	load_err("services:\n  w:\n    image: i\n    gpus: all\n    deploy: {resources: {reservations: "
		 "{devices: [{count: all}]}}}\n",
		 "5:41: 'devices' and another GPU request both set");
	load_err("services:\n  w:\n    image: i\n    gpus: [{count: lots}]\n",
		 "4:20: 'count' is 'lots'; expected an integer from 1 to 1024");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_depends_on),
		cmocka_unit_test(test_healthcheck),
		cmocka_unit_test(test_network),
		cmocka_unit_test(test_env_file),
		cmocka_unit_test(test_run_keys),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
