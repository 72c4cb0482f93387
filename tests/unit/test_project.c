/*
 * Unit tests for the project file: every key parsed to its value, defaults,
 * and every kind of error with its exact file:line:column.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/error.h"
#include "base/util.h"
#include "project/json.h"
#include "project/project.h"

static char dir[] = "/tmp/dw-test-project-XXXXXX";
static char file[256];

static int setup(void **state)
{
	char p[300];
	FILE *f;

	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(p, sizeof(p), "%s/web", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/web/Dockerfile", dir);
	f = fopen(p, "w");
	fputs("FROM busybox:1.36\n", f);
	fclose(f);
	snprintf(p, sizeof(p), "%s/data", dir);
	mkdir(p, 0755);
	snprintf(file, sizeof(file), "%s/devwatch.json", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static struct project *parse_ok(const char *text)
{
	struct project *p = NULL;
	char *cause = NULL;
	int err = project_parse(file, text, strlen(text), &p, &cause);

	if (err != 0)
		fail_msg("unexpected error: %s", cause);
	free(cause);
	return p;
}

/* Parse and expect an error whose text (after the file name) starts with
   want. */
static void parse_err(const char *text, const char *want)
{
	struct project *p = NULL;
	char *cause = NULL;
	int err = project_parse(file, text, strlen(text), &p, &cause);
	size_t flen = strlen(file);

	if (err == 0)
		fail_msg("expected error '%s', got none", want);
	assert_int_equal(err, DW_PROJECT);
	assert_null(p);
	assert_non_null(cause);
	assert_memory_equal(cause, file, flen);
	if (getenv("SHOW"))
		printf("WANT %s\nGOT  %s\n", want, cause + flen + 1);
	else if (strncmp(cause + flen + 1, want, strlen(want)) != 0)
		fail_msg("expected '%s'\n     got '%s'", want, cause + flen + 1);
	free(cause);
}

static void test_full(void **state)
{
	struct project *p;
	struct project_container *c;

	(void)state;
	p = parse_ok("{\n"
		     "  // line comment\n"
		     "  \"name\": \"shop\", /* block */\n"
		     "  \"ignore\": [\"tmp/\", \"**/*.log\"],\n"
		     "  \"containers\": {\n"
		     "    \"web\": {\n"
		     "      \"build\": {\"context\": \"./web/\", \"args\": {\"V\": 2}, \"target\": \"dev\"},\n"
		     "      \"cmd\": \"httpd -f\",\n"
		     "      \"entrypoint\": [\"/init\", \"--\"],\n"
		     "      \"env\": {\"A\": \"x\", \"B\": true, \"C\": 1.5},\n"
		     "      \"workdir\": \"/srv//app/\",\n"
		     "      \"user\": \"1000:1000\",\n"
		     "      \"ports\": [\"8080:80\", \"90\", \"127.0.0.1:0:91\", \"53/udp\",\n"
		     "                {\"host\": 0, \"container\": 92, \"protocol\": \"http\"}],\n"
		     "      \"mounts\": [\"data:/data:ro\", {\"type\": \"tmpfs\", \"target\": \"/tmp\"}],\n"
		     "      \"resources\": {\"cpus\": 0.5, \"memory\": \"512m\"},\n"
		     "      \"restart\": {\"policy\": \"on-failure\", \"max_restarts\": 3},\n"
		     "      \"tty\": true, \"stdin\": false,\n"
		     "      \"readiness\": {\"http\": \"/health\", \"interval\": \"50ms\", \"start_timeout\": \"2m\"},\n"
		     "      \"liveness\": {\"cmd\": \"true\", \"retries\": 5},\n"
		     "      \"live_update\": [\n"
		     "        {\"fall_back_on\": [\"web/package.json\"]},\n"
		     "        {\"sync\": {\"from\": \"web/site/\", \"to\": \"/www/\"}},\n"
		     "        {\"run\": {\"cmd\": \"sh build.sh\", \"trigger\": [\"web/site/partials/**\"]}},\n"
		     "        {\"restart_container\": true}\n"
		     "      ]\n"
		     "    },\n"
		     "    \"db\": {\"image\": \"busybox:1.36\", \"pull\": \"never\"}\n"
		     "  }\n"
		     "}\n");
	assert_string_equal(p->name, "shop");
	assert_int_equal(p->ignore.n, 2);
	assert_string_equal(p->ignore.v[1], "**/*.log");
	assert_int_equal(p->n_containers, 2);
	c = project_find(p, "web");
	assert_non_null(c);
	assert_int_equal(c->line, 6);
	assert_int_equal(c->column, 5);
	assert_null(c->image);
	assert_string_equal(c->build->context, "web");
	assert_string_equal(c->build->dockerfile, "Dockerfile");
	assert_string_equal(c->build->args.v[0].value, "2");
	assert_string_equal(c->build->target, "dev");
	assert_string_equal(c->cmd[0], "/bin/sh");
	assert_string_equal(c->cmd[2], "httpd -f");
	assert_string_equal(c->entrypoint[1], "--");
	assert_null(c->entrypoint[2]);
	assert_string_equal(c->env.v[1].value, "true");
	assert_string_equal(c->env.v[2].value, "1.5");
	assert_string_equal(c->workdir, "/srv/app");
	assert_string_equal(c->user, "1000:1000");
	assert_int_equal(c->n_ports, 5);
	assert_int_equal(c->ports[0].host, 8080);
	assert_int_equal(c->ports[0].container, 80);
	assert_int_equal(c->ports[1].host, 90);
	assert_string_equal(c->ports[2].host_ip, "127.0.0.1");
	assert_int_equal(c->ports[2].host, 0);
	assert_string_equal(c->ports[3].protocol, "udp");
	assert_string_equal(c->ports[4].protocol, "http");
	assert_int_equal(c->n_mounts, 2);
	assert_true(c->mounts[0].read_only);
	assert_true(str_ends(c->mounts[0].source, "/data"));
	assert_string_equal(c->mounts[1].type, "tmpfs");
	assert_true(c->cpus > 0.49 && c->cpus < 0.51);
	assert_int_equal(c->memory, 512 * 1024 * 1024);
	assert_int_equal(c->restart, RESTART_ON_FAILURE);
	assert_int_equal(c->max_restarts, 3);
	assert_true(c->tty);
	assert_false(c->stdin_open);
	assert_string_equal(c->readiness.http_path, "/health");
	assert_int_equal(c->readiness.port, 8080 == 0 ? 0 : 80);
	assert_int_equal(c->readiness.interval_ms, 50);
	assert_int_equal(c->readiness.start_timeout_ms, 120000);
	assert_int_equal(c->liveness.retries, 5);
	assert_int_equal(c->n_steps, 4);
	assert_int_equal(c->steps[0].kind, STEP_FALL_BACK_ON);
	assert_string_equal(c->steps[1].from, "web/site");
	assert_string_equal(c->steps[1].to, "/www");
	assert_string_equal(c->steps[2].cmd, "sh build.sh");
	assert_string_equal(c->steps[2].triggers.v[0], "web/site/partials/**");
	assert_true(c->steps[3].restart);
	assert_int_equal(strlen(c->config_hash), 32);
	c = project_find(p, "db");
	assert_string_equal(c->image, "busybox:1.36");
	assert_int_equal(c->pull, PULL_NEVER);
	assert_int_equal(c->replicas, 1);
	project_free(p);
}

static void test_defaults_and_names(void **state)
{
	struct project *p;
	char *s;

	(void)state;
	p = parse_ok("{\"containers\": {\"web\": {\"build\": \"web\"}}}");
	assert_true(str_starts(p->name, "dw-test-project-"));
	s = project_container_instance(p, &p->containers[0], 2);
	assert_true(str_ends(s, "-web-2"));
	free(s);
	s = project_image_repo(p, &p->containers[0]);
	assert_true(str_starts(s, "devwatch/dw-test-project-"));
	free(s);
	assert_string_equal(p->containers[0].build->dockerfile, "Dockerfile");
	assert_false(p->containers[0].readiness.set);
	project_free(p);
}

static void test_config_hash(void **state)
{
	struct project *a, *b, *c;

	(void)state;
	a = parse_ok("{\"name\": \"x\", \"containers\": {\"w\": {\"image\": \"i\", \"env\": {\"A\": \"1\"}}}}");
	b = parse_ok("{\"name\": \"x\", \"containers\": {\"w\": {\"image\": \"i\", \"env\": {\"A\": \"1\"},"
		     " \"live_update\": [{\"sync\": {\"from\": \"data\", \"to\": \"/d\"}}]}}}");
	c = parse_ok("{\"name\": \"x\", \"containers\": {\"w\": {\"image\": \"i\", \"env\": {\"A\": \"2\"}}}}");
	/* live_update does not shape the container; env does. */
	assert_string_equal(a->containers[0].config_hash, b->containers[0].config_hash);
	assert_string_not_equal(a->containers[0].config_hash, c->containers[0].config_hash);
	project_free(a);
	project_free(b);
	project_free(c);
}

static void test_errors(void **state)
{
	(void)state;
	parse_err("", "1:1: unexpected end of file");
	parse_err("[]", "1:1: the project file is an array; expected an object");
	parse_err("{\"containers\": {}}", "1:16: 'containers' is empty");
	parse_err("{}", "1:1: missing key 'containers'");
	parse_err("{\"name\": \"x\",\n \"contaners\": {}}", "2:2: unknown key 'contaners' in the project (did you mean 'containers'?)");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"prots\": []}}}",
		  "1:37: unknown key 'prots' in container 'w' (did you mean 'ports'?)");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"zzzzzzzz\": 1}}}",
		  "1:37: unknown key 'zzzzzzzz' in container 'w'");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\",}}}", "1:36: trailing comma");
	parse_err("{\"containers\": {\"w\": {\"image\": 'i'}}}", "1:32: expected a value (strings need double quotes)");
	parse_err("{\"a\": 1, \"a\": 2}", "1:10: duplicate key 'a'");
	parse_err("/* open", "1:1: unterminated comment");
	parse_err("{\"containers\": {\"w\": {}}}", "1:17: container 'w': expected exactly one of 'image' or 'build'");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"build\": \"web\"}}}", "1:17: container 'w': expected exactly one");
	parse_err("{\"containers\": {\"W!\": {\"image\": \"i\"}}}", "1:17: container name 'W!'");
	parse_err("{\"name\": \"Bad Name\", \"containers\": {\"w\": {\"image\": \"i\"}}}", "1:10: name 'Bad Name'");
	parse_err("{\"containers\": {\"w\": {\"build\": \"nope\"}}}", "1:32: build context 'nope' does not exist");
	parse_err("{\"containers\": {\"w\": {\"build\": {\"context\": \"web\", \"dockerfile\": \"X\"}}}}", "1:65: Dockerfile");
	parse_err("{\"containers\": {\"w\": {\"build\": \"../x\"}}}", "1:32: build context '../x': expected a folder inside the project");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"replicas\": 0}}}", "1:49: 'replicas' is 0; expected 1 to 64");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"replicas\": 1.5}}}", "1:49: 'replicas' is a fraction; expected an integer");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"ports\": [\"80:x\"]}}}", "1:47: port '80:x'");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"ports\": [\"70000\"]}}}", "1:47: port '70000'");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"ports\": [{\"host\": 1}]}}}", "1:47: port: missing key 'container'");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"ports\": [\"80/sctp\"]}}}", "1:47: port protocol 'sctp'");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"workdir\": \"rel\"}}}", "1:48: workdir 'rel': expected an absolute path");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"pull\": \"sometimes\"}}}", "1:45: pull 'sometimes'");
	parse_err("{\"containers\": {\"w\": {\"build\": \"web\", \"pull\": \"always\"}}}", "1:39: 'pull' applies to 'image' only");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"env\": {\"A\": [1]}}}}", "1:50: 'env.A' is an array");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"mounts\": [\"nothere:/x\"]}}}", "1:48: mount source");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"mounts\": [\"data:rel\"]}}}", "1:48: mount target 'rel'");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"resources\": {\"memory\": \"lots\"}}}}", "1:61: memory");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"resources\": {\"cpus\": 0}}}}", "1:59: cpus");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"restart\": \"sometimes\"}}}", "1:48: restart 'sometimes'");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"restart\": {\"max_restarts\": 2}}}}", "1:49: max_restarts needs policy 'on-failure'");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"tty\": \"yes\"}}}", "1:44: 'tty' is a string; expected a boolean");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"readiness\": {\"http\": \"/\"}}}}", "1:51: readiness: no 'port'");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"readiness\": {\"http\": \"x\", \"port\": 1}}}}", "1:59: http 'x'");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"readiness\": {}}}}", "1:50: readiness: expected exactly one of 'http' or 'cmd'");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"readiness\": {\"cmd\": \"x\", \"interval\": \"soon\"}}}}", "1:75: 'interval': expected a duration");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"replicas\": 2, \"ports\": [\"80:80\"]}}}", "1:49: replicas 2 with fixed host port 80");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"live_update\": [{\"sync\": {\"from\": \"a\", \"to\": \"/a\"}}, {\"fall_back_on\": [\"x\"]}]}}}",
		  "1:90: live_update: 'fall_back_on' after 'sync'");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"live_update\": [{\"sync\": {\"from\": \"../a\", \"to\": \"/a\"}}]}}}",
		  "1:71: sync from '../a': expected a path inside the project");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"live_update\": [{\"sync\": {\"from\": \"a\", \"to\": \"a\"}}]}}}",
		  "1:82: sync to 'a': expected an absolute container path");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"live_update\": [{\"sync\": {\"from\": \"a\"}}]}}}",
		  "1:62: sync: missing key 'to'");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"live_update\": [{\"run\": {}}]}}}",
		  "1:61: run: missing key 'cmd'");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"live_update\": [{\"sync\": {}, \"run\": {}}]}}}",
		  "1:53: live_update step: expected exactly one");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"live_update\": [{\"snyc\": {}}]}}}",
		  "1:54: unknown key 'snyc' in a live_update step (did you mean 'sync'?)");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"live_update\": [{\"restart_container\": true}, {\"restart_container\": true}]}}}",
		  "1:82: live_update: a second restart_container");
}

/* Inputs the fuzzers and the first campaign found (each is also a seed in
   tests/fuzz/corpus/json or project). */
static void test_hostile_input(void **state)
{
	(void)state;
	/* A backslash at the very end was taken for the end of the string. */
	parse_err("\"abc\\", "1:1: unterminated string");
	parse_err("{\"name\": \"a\\u0000b\"}", "1:12: \\u0000 in a string; expected no NUL");
	/* A number past int64_t was converted anyway (undefined behaviour). */
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"resources\": {\"memory\": 99999999999999999999}}}}",
		  "1:61: memory");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"resources\": {\"memory\": 1000}}}}",
		  "1:61: memory");
	/* These leaked the mount's source (ASan says so). */
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"mounts\": [{\"source\": \"data\"}]}}}",
		  "1:48: mount: missing key 'target'");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"mounts\": [{\"source\": \"data\", \"target\": 5}]}}}",
		  "1:77: 'target' is a number");
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The duplicate-key check compared each key with all before it: 80,000
   keys took 147 s. With a hash set, 200,000 take well under a second. */
static void test_many_keys(void **state)
{
	enum { KEYS = 200000 };
	struct buf_s {
		char *s;
		size_t n;
	} b = {xmalloc((size_t)KEYS * 24 + 64), 0};
	struct jnode *root;
	char *cause = NULL;
	double t0;

	(void)state;
	b.s[b.n++] = '{';
	for (int i = 0; i < KEYS; i++)
		b.n += (size_t)sprintf(b.s + b.n, "%s\"k%d\": %d", i ? ", " : "", i, i);
	b.s[b.n++] = '}';
	t0 = now_s();
	root = json_parse(b.s, b.n, &cause);
	assert_non_null(root);
	assert_int_equal(root->n, KEYS);
	assert_int_equal(json_get(root, "k199999")->num, 199999);
	json_free(root);
	/* The same with the first key again at the end. */
	b.n--;
	b.n += (size_t)sprintf(b.s + b.n, ", \"k0\": 1}");
	root = json_parse(b.s, b.n, &cause);
	assert_null(root);
	assert_non_null(strstr(cause, "duplicate key 'k0'"));
	if (now_s() - t0 > 5.0)
		fail_msg("two parses of %d keys took %.1f s", KEYS, now_s() - t0);
	free(cause);
	free(b.s);
}

static void test_multi_keys(void **state)
{
	struct project *p;
	struct project_container *c;
	char path[300];
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/app.env", dir);
	f = fopen(path, "w");
	fputs("# comment\n\nA=from-file\nexport B=\"quoted value\"\nC='x=y'\n", f);
	fclose(f);
	p = parse_ok("{\"containers\": {\n"
		     " \"db\": {\"image\": \"i\", \"aliases\": [\"database\", \"pg.local\"],\n"
		     "        \"resources\": {\"cpus\": {\"request\": 0.25, \"limit\": 1.5},\n"
		     "                      \"memory\": {\"request\": \"64m\", \"limit\": \"1g\"}},\n"
		     "        \"gpus\": {\"device_ids\": [\"0\", \"GPU-1\"], \"capabilities\": [\"gpu\", \"compute\"]},\n"
		     "        \"stop_signal\": \"SIGINT\", \"stop_grace\": \"10s\", \"init\": true,\n"
		     "        \"env_file\": \"app.env\", \"env\": {\"A\": \"from-env\"}},\n"
		     " \"migrate\": {\"image\": \"i\", \"job\": true, \"depends_on\": {\"db\": \"ready\"},\n"
		     "        \"gpus\": \"all\", \"datasets\": [{\"path\": \"/out/\", \"sink\": \"./reports//m/\"}]},\n"
		     " \"proxy\": {\"image\": \"i\", \"network\": \"container:api\", \"gpus\": 2},\n"
		     " \"api\": {\"image\": \"i\", \"depends_on\": {\"migrate\": \"completed\", \"db\": \"started\"},\n"
		     "        \"resources\": {\"cpus\": 0.5, \"memory\": {\"request\": \"32m\"}},\n"
		     "        \"env_file\": [\"app.env\"]},\n"
		     " \"h\": {\"image\": \"i\", \"network\": \"host\"},\n"
		     " \"n\": {\"image\": \"i\", \"network\": \"none\", \"gpus\": {\"count\": 1}}\n"
		     "}}\n");
	c = project_find(p, "db");
	assert_int_equal(c->network, NET_PROJECT);
	assert_int_equal(c->aliases.n, 2);
	assert_string_equal(c->aliases.v[1], "pg.local");
	assert_true(c->cpus_request > 0.24 && c->cpus_request < 0.26);
	assert_true(c->cpus > 1.49 && c->cpus < 1.51);
	assert_int_equal(c->memory_request, 64 * 1024 * 1024);
	assert_int_equal(c->memory, 1024 * 1024 * 1024);
	assert_true(c->gpus.set);
	assert_int_equal(c->gpus.count, 0);
	assert_int_equal(c->gpus.device_ids.n, 2);
	assert_string_equal(c->gpus.device_ids.v[1], "GPU-1");
	assert_string_equal(c->gpus.capabilities.v[1], "compute");
	assert_string_equal(c->stop_signal, "SIGINT");
	assert_int_equal(c->stop_grace_ms, 10000);
	assert_true(c->init);
	assert_false(c->job);
	assert_int_equal(c->env_files.n, 1);
	assert_true(str_ends(c->env_files.v[0], "/app.env"));
	assert_int_equal(c->file_env.n, 3);
	assert_string_equal(c->file_env.v[0].key, "A");
	assert_string_equal(c->file_env.v[0].value, "from-file");
	assert_string_equal(c->file_env.v[1].value, "quoted value");
	assert_string_equal(c->file_env.v[2].value, "x=y");
	c = project_find(p, "migrate");
	assert_true(c->job);
	assert_int_equal(c->n_depends, 1);
	assert_string_equal(c->depends[0].name, "db");
	assert_int_equal(c->depends[0].cond, DEP_READY);
	assert_int_equal(c->depends[0].line, 8);
	assert_int_equal(c->depends[0].column, 56);
	assert_int_equal(c->gpus.count, -1);
	assert_int_equal(c->n_datasets, 1);
	assert_string_equal(c->datasets[0].path, "/out");
	assert_string_equal(c->datasets[0].sink, "reports/m");
	assert_true(str_ends(c->datasets[0].sink_abs, "/reports/m"));
	assert_int_equal(c->stop_grace_ms, 3000);
	c = project_find(p, "proxy");
	assert_int_equal(c->network, NET_CONTAINER);
	assert_string_equal(c->network_of, "api");
	assert_int_equal(c->gpus.count, 2);
	c = project_find(p, "api");
	assert_int_equal(c->depends[0].cond, DEP_COMPLETED);
	assert_int_equal(c->depends[1].cond, DEP_STARTED);
	assert_true(c->cpus > 0.49 && c->cpus < 0.51);
	assert_int_equal(c->memory, 0);
	assert_int_equal(c->memory_request, 32 * 1024 * 1024);
	assert_int_equal(c->file_env.n, 3);
	assert_int_equal(project_find(p, "h")->network, NET_HOST);
	assert_int_equal(project_find(p, "n")->network, NET_NONE);
	assert_int_equal(project_find(p, "n")->gpus.count, 1);
	/* The sink is output: the watcher ignores it and its temp folders. */
	assert_string_equal(p->ignore.v[p->ignore.n - 2], "reports/m/");
	/* Start order: each container after what it depends on and after the
	   container whose network it joins. */
	{
		size_t pos[6];
		const char *names[] = {"db", "migrate", "proxy", "api", "h", "n"};

		for (size_t i = 0; i < p->n_containers; i++)
			for (size_t k = 0; k < 6; k++)
				if (strcmp(p->containers[p->order[i]].name, names[k]) == 0)
					pos[k] = i;
		assert_true(pos[0] < pos[1]);
		assert_true(pos[1] < pos[3]);
		assert_true(pos[3] < pos[2]);
	}
	project_free(p);
	unlink(path);
}

static void test_multi_config_hash(void **state)
{
	struct project *a, *b;

	(void)state;
	a = parse_ok("{\"name\": \"x\", \"containers\": {\"w\": {\"image\": \"i\"}}}");
	b = parse_ok("{\"name\": \"x\", \"containers\": {\"w\": {\"image\": \"i\", \"init\": true}}}");
	assert_string_not_equal(a->containers[0].config_hash, b->containers[0].config_hash);
	project_free(b);
	b = parse_ok("{\"name\": \"x\", \"containers\": {\"w\": {\"image\": \"i\", \"aliases\": [\"q\"]}}}");
	assert_string_not_equal(a->containers[0].config_hash, b->containers[0].config_hash);
	project_free(a);
	project_free(b);
}

/* "function": true, its hash, and what cannot go with it. */
static void test_function(void **state)
{
	struct project *a, *b;
	char path[300];
	FILE *f;

	(void)state;
	a = parse_ok("{\"name\": \"x\", \"containers\": {\"w\": {\"image\": \"i\"}}}");
	b = parse_ok("{\"name\": \"x\", \"containers\": {\"w\": {\"image\": \"i\", \"function\": true,\n"
		     "  \"replicas\": 1, \"readiness\": {\"cmd\": \"true\"}, \"network\": \"host\"}}}");
	assert_false(a->containers[0].function);
	assert_true(b->containers[0].function);
	assert_int_equal(b->containers[0].readiness.cmd != NULL, 1);
	assert_string_not_equal(a->containers[0].config_hash, b->containers[0].config_hash);
	project_free(a);
	project_free(b);
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"function\": \"yes\"}}}",
		  "1:49: 'function' is a string; expected a boolean");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"function\": true, \"replicas\": 2}}}",
		  "1:67: a function runs one replica; expected no 'replicas' beside 'function'");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"job\": true, \"function\": true}}}",
		  "1:37: a function takes invocations until it is stopped; expected no 'job' beside 'function'");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"function\": true,\n \"network\": \"none\"}}}",
		  "2:13: a function reaches devwatch's runtime API over the network; expected a network other than \"none\"");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"function\": true,\n"
		  " \"env\": {\"AWS_LAMBDA_RUNTIME_API\": \"10.0.0.1:9001\"}}}}",
		  "2:2: 'AWS_LAMBDA_RUNTIME_API' is what devwatch gives a function; expected no such key in 'env'");
	snprintf(path, sizeof(path), "%s/fn.env", dir);
	f = fopen(path, "w");
	fputs("AWS_LAMBDA_RUNTIME_API=10.0.0.1:9001\n", f);
	fclose(f);
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"env_file\": \"fn.env\", \"function\": true}}}",
		  "1:37: 'AWS_LAMBDA_RUNTIME_API' is what devwatch gives a function; expected no such key in the 'env_file' files");
	/* Without "function", the file may set it. */
	a = parse_ok("{\"containers\": {\"w\": {\"image\": \"i\", \"env_file\": \"fn.env\"}}}");
	project_free(a);
	unlink(path);
}

static void test_multi_errors(void **state)
{
	(void)state;
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"network\": \"bridge\"}}}",
		  "1:48: network 'bridge': expected \"container:NAME\", \"host\" or \"none\"");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"network\": \"container:\"}}}",
		  "1:48: network 'container:'");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"network\": \"container:x\"}}}",
		  "1:48: network 'container:x': no container 'x' in the project");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"network\": \"container:w\"}}}",
		  "1:48: network 'container:w': a container cannot join its own network");
	parse_err("{\"containers\": {\"a\": {\"image\": \"i\"}, \"b\": {\"image\": \"i\", \"network\": \"container:a\"},\n"
		  " \"c\": {\"image\": \"i\", \"network\": \"container:b\"}}}",
		  "2:33: network 'container:b': 'b' is itself a sidecar");
	parse_err("{\"containers\": {\"a\": {\"image\": \"i\", \"replicas\": 2},\n"
		  " \"b\": {\"image\": \"i\", \"network\": \"container:a\"}}}",
		  "2:33: network 'container:a': 'a' has 2 replicas; expected one");
	parse_err("{\"containers\": {\"a\": {\"image\": \"i\"},\n"
		  " \"b\": {\"image\": \"i\", \"network\": \"container:a\", \"ports\": [\"0:80\"]}}}",
		  "2:48: a sidecar shares 'a''s ports");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"network\": \"host\", \"aliases\": [\"x\"]}}}",
		  "1:56: aliases need the project network");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"aliases\": [\"ok\", \"Not Ok\"]}}}",
		  "1:55: alias 'Not Ok'");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"aliases\": \"x\"}}}",
		  "1:48: 'aliases' is a string; expected an array");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"depends_on\": [\"db\"]}}}",
		  "1:51: 'depends_on' is an array; expected an object");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"depends_on\": {\"db\": \"healthy\"}}}}",
		  "1:58: depends_on 'db': expected \"started\", \"ready\" or \"completed\"");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\",\n   \"depends_on\": {\"db\": \"ready\"}}}}",
		  "2:19: depends_on 'db': no container 'db' in the project");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"depends_on\": {\"w\": \"ready\"}}}}",
		  "1:52: depends_on 'w': a container cannot depend on itself");
	parse_err("{\"containers\": {\"a\": {\"image\": \"i\"},\n \"b\": {\"image\": \"i\", \"depends_on\": {\"a\": \"completed\"}}}}",
		  "2:37: depends_on 'a': \"completed\" needs a job");
	parse_err("{\"containers\": {\n"
		  " \"a\": {\"image\": \"i\", \"depends_on\": {\"b\": \"ready\"}},\n"
		  " \"b\": {\"image\": \"i\", \"depends_on\": {\"c\": \"started\"}},\n"
		  " \"c\": {\"image\": \"i\", \"depends_on\": {\"a\": \"ready\"}}}}",
		  "4:37: depends_on cycle: a -> b -> c -> a; expected no loop");
	parse_err("{\"containers\": {\n"
		  " \"a\": {\"image\": \"i\", \"depends_on\": {\"b\": \"ready\"}},\n"
		  " \"b\": {\"image\": \"i\", \"network\": \"container:a\"}}}",
		  "3:33: depends_on cycle: a -> b -> a");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"job\": 1}}}",
		  "1:44: 'job' is a number; expected a boolean");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"restart\": \"always\", \"job\": true}}}",
		  "1:37: a job runs once");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"datasets\": [{\"path\": \"/o\"}]}}}",
		  "1:50: dataset: missing key 'sink'");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"datasets\": [{\"path\": \"o\", \"sink\": \"s\"}]}}}",
		  "1:59: dataset path 'o': expected an absolute container path");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"datasets\": [{\"path\": \"/o\", \"sink\": \"../s\"}]}}}",
		  "1:73: dataset sink '../s': expected a folder inside the project");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"datasets\": [{\"path\": \"/o\", \"sink\": \".\"}]}}}",
		  "1:73: dataset sink '.'");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"datasets\": [{\"path\": \"/o\", \"snk\": \"s\"}]}}}",
		  "1:65: unknown key 'snk' in a dataset (did you mean 'sink'?)");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"datasets\": [{\"path\": \"/o\", \"sink\": \"s\"},\n"
		  "   {\"path\": \"/p\", \"sink\": \"s/\"}]}}}",
		  "2:4: dataset sink 's' is used twice");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"resources\": {\"cpus\": {\"limit\": 0}}}}}",
		  "1:69: cpus: expected a number above 0");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"resources\": {\"cpus\": {}}}}}",
		  "1:59: resources.cpus: expected 'request', 'limit' or both");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"resources\": {\"memory\": {\"request\": \"2g\", \"limit\": \"1g\"}}}}}",
		  "1:73: resources.memory: the request is above the limit");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"resources\": {\"memory\": {\"requst\": \"2g\"}}}}}",
		  "1:62: unknown key 'requst' in resources.memory (did you mean 'request'?)");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"resources\": {\"memory\": {\"limit\": \"1x\"}}}}}",
		  "1:71: memory: expected bytes");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"gpus\": \"some\"}}}",
		  "1:45: gpus: expected \"all\", a count");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"gpus\": 0}}}",
		  "1:45: 'gpus' is 0; expected 1 to 1024");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"gpus\": {\"count\": 1, \"device_ids\": [\"0\"]}}}}",
		  "1:58: gpus: 'device_ids' and 'count' together");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"gpus\": {\"cuont\": 1}}}}",
		  "1:46: unknown key 'cuont' in gpus (did you mean 'count'?)");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"gpus\": {\"capabilities\": [1]}}}}",
		  "1:63: 'gpus.capabilities' holds a number");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"stop_signal\": \"sigint\"}}}",
		  "1:52: stop_signal 'sigint': expected a signal name");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"stop_signal\": \"99\"}}}",
		  "1:52: stop_signal '99'");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"stop_grace\": \"forever\"}}}",
		  "1:51: 'stop_grace': expected a duration");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"init\": \"yes\"}}}",
		  "1:45: 'init' is a string; expected a boolean");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"env_file\": \"missing.env\"}}}",
		  "1:49: env_file ");
	parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"env_file\": [3]}}}",
		  "1:50: 'env_file' holds a number");
	{
		char path[300];
		FILE *f;

		snprintf(path, sizeof(path), "%s/bad.env", dir);
		f = fopen(path, "w");
		fputs("A=1\nnot a pair\n", f);
		fclose(f);
		parse_err("{\"containers\": {\"w\": {\"image\": \"i\", \"env_file\": [\"bad.env\"]}}}",
			  "1:50: env_file ");
		{
			struct project *p = NULL;
			char *cause = NULL;
			const char *t = "{\"containers\": {\"w\": {\"image\": \"i\", \"env_file\": [\"bad.env\"]}}}";

			assert_int_equal(project_parse(file, t, strlen(t), &p, &cause), DW_PROJECT);
			assert_true(str_ends(cause, "/bad.env:2: expected KEY=VALUE"));
			free(cause);
		}
		unlink(path);
	}
}

static void test_swarm_keys(void **state)
{
	struct project *p;

	(void)state;
	p = parse_ok("{\"swarm\": {\"nodes\": {\"n-1\": \"tcp://10.0.0.2:2375\"}, \"port\": 2376},"
		     " \"containers\": {\"a\": {\"image\": \"busybox\"}}}");
	assert_int_equal(p->swarm_port, 2376);
	assert_string_equal(project_swarm_node(p, "n-1"), "tcp://10.0.0.2:2375");
	assert_null(project_swarm_node(p, "n-2"));
	project_free(p);
	parse_err("{\"swarm\": {\"nodes\": {\"n\": \"10.0.0.2\"}}, \"containers\": {\"a\": {\"image\": \"b\"}}}",
		  "1:27: swarm.nodes.n '10.0.0.2': expected an engine address");
	parse_err("{\"swarm\": {\"port\": 0}, \"containers\": {\"a\": {\"image\": \"b\"}}}",
		  "1:20: 'swarm.port'");
	parse_err("{\"swarm\": {\"node\": {}}, \"containers\": {\"a\": {\"image\": \"b\"}}}",
		  "1:12: unknown key 'node' in 'swarm' (did you mean 'nodes'?)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_defaults_and_names),
		cmocka_unit_test(test_config_hash),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_hostile_input),
		cmocka_unit_test(test_many_keys),
		cmocka_unit_test(test_multi_keys),
		cmocka_unit_test(test_multi_config_hash),
		cmocka_unit_test(test_multi_errors),
		cmocka_unit_test(test_function),
		cmocka_unit_test(test_swarm_keys),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
