/*
 * Unit tests for the compose reader: interpolation (every form, .env, $$,
 * errors), anchors and merge keys, both syntaxes of ports and volumes,
 * develop.watch mapped onto live_update steps, file discovery, the convert
 * round trip, and every kind of error with its file:line:column.
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
#include "base/pattern.h"
#include "base/util.h"
#include "build/context.h"
#include "project/compose-int.h"
#include "project/compose.h"
#include "project/project-int.h"

static char dir[] = "/tmp/dw-test-compose-XXXXXX";
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
	char p[300];

	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(p, sizeof(p), "%s/web", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/web/src", dir);
	mkdir(p, 0755);
	write_at("web/Dockerfile", "FROM busybox:1.36\nCOPY src /app\n");
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

static char *interp(struct compose_env *e, const char *in)
{
	struct strlist unset = {0};
	char *out = NULL, *msg = NULL;

	if (compose_interpolate(e, in, &out, &unset, &msg) != 0)
		fail_msg("'%s': %s", in, msg);
	strlist_release(&unset);
	return out;
}

static void interp_is(struct compose_env *e, const char *in, const char *want)
{
	char *got = interp(e, in);

	assert_string_equal(got, want);
	free(got);
}

static void interp_err(struct compose_env *e, const char *in, const char *want)
{
	struct strlist unset = {0};
	char *out = NULL, *msg = NULL;

	assert_int_equal(compose_interpolate(e, in, &out, &unset, &msg), -1);
	assert_null(out);
	assert_string_equal(msg, want);
	free(msg);
	strlist_release(&unset);
}

static void test_interpolation(void **state)
{
	struct compose_env e;
	struct strlist unset = {0};
	char *out = NULL, *msg = NULL;

	(void)state;
	write_at(".env", "# a comment\nFROM_FILE=file\nexport EXPORTED=yes\n"
			 "BOTH=from-file\nQUOTED=\"a\\tb ${FROM_FILE}\"\n"
			 "SINGLE='no ${FROM_FILE}'\nINLINE=v # comment\nEMPTY=\n");
	setenv("BOTH", "from-env", 1);
	setenv("SET", "value", 1);
	setenv("EMPTYENV", "", 1);
	unsetenv("NOPE");
	assert_int_equal(compose_env_load(&e, dir, NULL), 0);
	interp_is(&e, "plain", "plain");
	interp_is(&e, "$SET ${SET}-x", "value value-x");
	interp_is(&e, "$$SET costs $$5 and $1 and $ alone", "$SET costs $5 and $1 and $ alone");
	interp_is(&e, "${FROM_FILE} ${EXPORTED} ${BOTH}", "file yes from-env");
	interp_is(&e, "${QUOTED}|${SINGLE}|${INLINE}|${EMPTY}", "a\tb file|no ${FROM_FILE}|v|");
	interp_is(&e, "${NOPE:-d1} ${EMPTYENV:-d2} ${NOPE-d3} ${EMPTYENV-d4}", "d1 d2 d3 ");
	interp_is(&e, "${NOPE:-${SET}} ${NOPE:-${NOPE:-deep}}x", "value deepx");
	interp_is(&e, "${SET:+alt} ${EMPTYENV:+alt} ${EMPTYENV+alt} ${NOPE+alt}", "alt  alt ");
	interp_is(&e, "${SET:?boom} ${EMPTYENV?fine}", "value ");
	interp_err(&e, "${NOPE:?set it first}", "required variable NOPE is missing a value: set it first");
	interp_err(&e, "${EMPTYENV:?}", "required variable EMPTYENV is missing a value");
	interp_err(&e, "${NOPE?in ${SET}}", "required variable NOPE is missing a value: in value");
	interp_err(&e, "x ${", "invalid interpolation format in 'x ${'; you may need to escape any $ with another $");
	interp_err(&e, "${A B}", "invalid interpolation format in '${A B}'; you may need to escape any $ with another $");
	interp_err(&e, "${}", "invalid interpolation format in '${}'; you may need to escape any $ with another $");
	interp_err(&e, "${SET", "invalid interpolation format in '${SET'; you may need to escape any $ with another $");
	/* An unset name is reported once per load, and is blank. */
	assert_int_equal(compose_interpolate(&e, "${NOPE}$NOPE", &out, &unset, &msg), 0);
	assert_string_equal(out, "");
	assert_int_equal(unset.n, 1);
	assert_string_equal(unset.v[0], "NOPE");
	free(out);
	strlist_release(&unset);
	assert_int_equal(compose_interpolate(&e, "$NOPE", &out, &unset, &msg), 0);
	assert_int_equal(unset.n, 0);
	free(out);
	compose_env_release(&e);
	write_at(".env", "GOOD=1\nBAD NAME=2\n");
	assert_int_equal(compose_env_load(&e, dir, &msg), DW_PROJECT);
	assert_non_null(strstr(msg, ".env:2: unexpected character in variable name 'BAD NAME=2'"));
	free(msg);
	compose_env_release(&e);
	out = path_join(dir, ".env");
	unlink(out);
	free(out);
}

static void test_split_words(void **state)
{
	char **v = NULL, *msg = NULL;

	(void)state;
	assert_int_equal(compose_split_words("sh -c 'echo \"$HOME\"; ls'  a\\ b \"q\\\"x\" ''", &v, &msg), 0);
	assert_string_equal(v[0], "sh");
	assert_string_equal(v[1], "-c");
	assert_string_equal(v[2], "echo \"$HOME\"; ls");
	assert_string_equal(v[3], "a b");
	assert_string_equal(v[4], "q\"x");
	assert_string_equal(v[5], "");
	assert_null(v[6]);
	for (size_t i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
	assert_int_equal(compose_split_words("echo 'open", &v, &msg), -1);
	assert_string_equal(msg, "unterminated single quote in 'echo 'open'");
	free(msg);
}

static void test_merge_and_anchors(void **state)
{
	struct project *p;
	struct project_container *c;

	(void)state;
	p = load_ok("x-base: &base\n"
		    "  image: busybox:1.36\n"
		    "  user: nobody\n"
		    "  environment: &env {A: \"1\", B: two}\n"
		    "x-more: &more\n"
		    "  user: root\n"
		    "  working_dir: /srv\n"
		    "  x-note: extensions are fine here too\n"
		    "services:\n"
		    "  one:\n"
		    "    <<: *base\n"
		    "    user: daemon\n"
		    "  two:\n"
		    "    <<: [*more, *base]\n"
		    "    environment: *env\n"
		    "    command: &cmd [sleep, \"1000\"]\n"
		    "  three:\n"
		    "    image: busybox:1.36\n"
		    "    entrypoint: *cmd\n");
	assert_int_equal(p->n_containers, 3);
	c = project_find(p, "one");
	assert_string_equal(c->image, "busybox:1.36");
	assert_string_equal(c->user, "daemon"); /* written beats merged */
	assert_int_equal(c->env.n, 2);
	c = project_find(p, "two");
	assert_string_equal(c->user, "root"); /* the first merged wins */
	assert_string_equal(c->workdir, "/srv");
	assert_string_equal(c->image, "busybox:1.36");
	assert_string_equal(c->env.v[1].value, "two");
	assert_string_equal(c->cmd[0], "sleep");
	c = project_find(p, "three");
	assert_string_equal(c->entrypoint[1], "1000");
	project_free(p);
	/* Aliases that multiply stop at the cap, not at memory's end. */
	load_err("a: &a [x, x, x, x, x, x, x, x, x, x]\n"
		 "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
		 "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
		 "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
		 "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
		 "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
		 "services: {w: {image: i}}\n",
		 "1:32: the file expands to more than 200000 nodes");
	load_err("x: &m [1]\nservices:\n  w:\n    <<: *m\n", "4:5: merge key '<<' holds something else");
}

static void test_ports(void **state)
{
	struct project *p;
	struct project_container *c;

	(void)state;
	p = load_ok("services:\n"
		    "  w:\n"
		    "    image: busybox:1.36\n"
		    "    ports:\n"
		    "      - 3000\n"
		    "      - \"8080:80\"\n"
		    "      - \"127.0.0.1:8001:8001\"\n"
		    "      - \"127.0.0.1::5000/udp\"\n"
		    "      - \"9090-9091:8080-8081\"\n"
		    "      - \"[::1]:6001:6001\"\n"
		    "      - \"7000-7001\"\n"
		    "      - target: 81\n"
		    "        published: \"8081\"\n"
		    "        host_ip: 0.0.0.0\n"
		    "        app_protocol: http\n"
		    "        mode: host\n"
		    "        name: web\n"
		    "      - {target: \"82\", protocol: udp}\n");
	c = project_find(p, "w");
	assert_int_equal(c->n_ports, 11);
	assert_int_equal(c->ports[0].host, 0); /* compose: a free host port */
	assert_int_equal(c->ports[0].container, 3000);
	assert_int_equal(c->ports[1].host, 8080);
	assert_int_equal(c->ports[1].container, 80);
	assert_string_equal(c->ports[2].host_ip, "127.0.0.1");
	assert_int_equal(c->ports[3].host, 0);
	assert_string_equal(c->ports[3].protocol, "udp");
	assert_int_equal(c->ports[4].host, 9090);
	assert_int_equal(c->ports[5].host, 9091);
	assert_int_equal(c->ports[5].container, 8081);
	assert_string_equal(c->ports[6].host_ip, "::1");
	assert_int_equal(c->ports[7].host, 0);
	assert_int_equal(c->ports[8].container, 7001);
	assert_int_equal(c->ports[9].host, 8081);
	assert_string_equal(c->ports[9].protocol, "http");
	assert_string_equal(c->ports[9].host_ip, "0.0.0.0");
	assert_int_equal(c->ports[10].host, 0);
	assert_string_equal(c->ports[10].protocol, "udp");
	project_free(p);
	load_err("services:\n  w:\n    image: i\n    ports: [\"80:x\"]\n", "4:13: port '80:x': expected");
	load_err("services:\n  w:\n    image: i\n    ports: [\"8000-8010:80\"]\n",
		 "4:13: port '8000-8010:80': a host port range for one container port is not supported yet");
	load_err("services:\n  w:\n    image: i\n    ports: [\"80/sctp\"]\n",
		 "4:13: port protocol 'sctp' is not supported yet");
	load_err("services:\n  w:\n    image: i\n    ports:\n      - published: 80\n",
		 "5:9: port: missing key 'target'");
}

static void test_volumes(void **state)
{
	struct project *p;
	struct project_container *c;
	char *want;

	(void)state;
	p = load_ok("name: shop\n"
		    "services:\n"
		    "  w:\n"
		    "    image: busybox:1.36\n"
		    "    tmpfs: /run\n"
		    "    volumes:\n"
		    "      - ./web:/srv/web:ro\n"
		    "      - data:/data\n"
		    "      - type: volume\n"
		    "        source: shared\n"
		    "        target: /shared\n"
		    "        read_only: \"true\"\n"
		    "      - type: bind\n"
		    "        source: ./web/src\n"
		    "        target: /src\n"
		    "        bind: {create_host_path: true}\n"
		    "      - {type: tmpfs, target: /cache}\n"
		    "      - old:/old:rw\n"
		    "volumes:\n"
		    "  data:\n"
		    "  shared: {external: true}\n"
		    "  old: {name: legacy-volume}\n");
	c = project_find(p, "w");
	assert_int_equal(c->n_mounts, 7);
	assert_string_equal(c->mounts[0].type, "tmpfs");
	assert_string_equal(c->mounts[0].target, "/run");
	want = path_join(dir, "web");
	assert_string_equal(c->mounts[1].type, "bind");
	assert_non_null(strstr(c->mounts[1].source, "/web"));
	assert_true(c->mounts[1].read_only);
	free(want);
	assert_string_equal(c->mounts[2].type, "volume");
	assert_string_equal(c->mounts[2].source, "shop_data");
	assert_string_equal(c->mounts[3].source, "shared");
	assert_true(c->mounts[3].read_only);
	assert_string_equal(c->mounts[4].target, "/src");
	assert_string_equal(c->mounts[5].type, "tmpfs");
	project_free(p);
	p = load_ok("services:\n  w:\n    image: i\n    volumes: [\"old:/old:rw\"]\nvolumes:\n  old: {name: legacy-volume}\n");
	assert_string_equal(p->containers[0].mounts[0].source, "legacy-volume");
	project_free(p);
	load_err("services:\n  w:\n    image: i\n    volumes: [\"data:/data\"]\n",
		 "4:15: service 'w' refers to undefined volume 'data'");
	load_err("services:\n  w:\n    image: i\n    volumes: [\"/data\"]\n",
		 "4:15: an anonymous volume ('/data') is not supported yet");
	load_err("services:\n  w:\n    image: i\n    volumes: [\"./web:/w:z\"]\n",
		 "4:15: volume option 'z' is not supported yet");
	load_err("services:\n  w:\n    image: i\n    volumes:\n      - type: bind\n        source: ./web\n        target: /w\n        bind: {propagation: shared}\n",
		 "8:16: 'propagation' in service 'w' is not supported yet");
	load_err("services:\n  w:\n    image: i\n    volumes:\n      - {type: npipe, source: a, target: /a}\n",
		 "5:16: volume type 'npipe' is not supported yet");
}

static const struct live_step *nth_step(const struct project_container *c,
					enum live_step_kind kind, int n)
{
	for (size_t i = 0; i < c->n_steps; i++)
		if (c->steps[i].kind == kind && n-- == 0)
			return &c->steps[i];
	fail_msg("no step %d of kind %d", n, kind);
	return NULL;
}

static void test_watch(void **state)
{
	struct project *p;
	struct project_container *c;
	const struct live_step *s;

	(void)state;
	p = load_ok("services:\n"
		    "  web:\n"
		    "    build: web\n"
		    "    develop:\n"
		    "      watch:\n"
		    "        - action: sync\n"
		    "          path: ./web/src\n"
		    "          target: /app\n"
		    "          ignore: [node_modules/, \"*.tmp\"]\n"
		    "          initial_sync: true\n"
		    "        - action: sync+exec\n"
		    "          path: web/conf\n"
		    "          target: /etc/app\n"
		    "          exec:\n"
		    "            command: kill -HUP 1\n"
		    "        - action: rebuild\n"
		    "          path: package.json\n"
		    "        - action: restart\n"
		    "          path: ./web\n"
		    "          include: [\"*.ini\", settings.yaml]\n"
		    "        - action: sync\n"
		    "          path: .\n"
		    "          target: /all\n"
		    "          include: [README.md, docs]\n");
	c = project_find(p, "web");
	assert_int_equal(c->n_steps, 7);
	s = nth_step(c, STEP_FALL_BACK_ON, 0);
	assert_string_equal(s->globs.v[0], "/package.json");
	s = nth_step(c, STEP_FALL_BACK_ON, 1);
	assert_int_equal(s->globs.n, 2);
	assert_string_equal(s->globs.v[0], "/web/*.ini");
	assert_string_equal(s->globs.v[1], "/web/settings.yaml");
	s = nth_step(c, STEP_SYNC, 0);
	assert_string_equal(s->from, "web/src");
	assert_string_equal(s->to, "/app");
	s = nth_step(c, STEP_SYNC, 1);
	assert_string_equal(s->from, "web/conf");
	s = nth_step(c, STEP_SYNC, 2);
	assert_string_equal(s->from, "README.md");
	assert_string_equal(s->to, "/all/README.md");
	s = nth_step(c, STEP_SYNC, 3);
	assert_string_equal(s->from, "docs");
	assert_string_equal(s->to, "/all/docs");
	s = nth_step(c, STEP_RUN, 0);
	assert_string_equal(s->argv[0], "kill");
	assert_string_equal(s->argv[2], "1");
	assert_string_equal(s->triggers.v[0], "/web/conf");
	assert_int_equal(p->ignore.n, 2);
	assert_string_equal(p->ignore.v[0], "/web/src/node_modules/");
	assert_string_equal(p->ignore.v[1], "/web/src/*.tmp");
	/* The globs are anchored: a package.json deeper down is another file. */
	assert_true(glob_match_rel("/package.json", "package.json", false));
	assert_false(glob_match_rel("/package.json", "web/package.json", false));
	assert_true(glob_match_rel("/web/src/node_modules/", "web/src/node_modules/x/y.js", false));
	assert_false(glob_match_rel("/web/src/node_modules/", "web/node_modules/x", false));
	project_free(p);
	p = load_ok("services:\n  w:\n    image: i\n    develop:\n      watch:\n"
		    "        - {action: sync+restart, path: web, target: /w}\n"
		    "        - {action: restart, path: web/Dockerfile}\n");
	c = &p->containers[0];
	assert_int_equal(c->n_steps, 3);
	assert_int_equal(c->steps[2].kind, STEP_RESTART);
	assert_true(c->steps[2].restart);
	project_free(p);
	load_err("services:\n  w:\n    image: i\n    develop:\n      watch:\n"
		 "        - {action: sync+restart, path: web, target: /w}\n"
		 "        - {action: sync, path: web/src, target: /s}\n",
		 "7:20: service 'w' mixes 'sync+restart' with 'sync' or 'sync+exec' rules; not supported yet");
	load_err("services:\n  w:\n    image: i\n    develop:\n      watch:\n        - {action: rebuild, path: web}\n",
		 "6:20: can't watch service 'w' with action rebuild without a build context");
	load_err("services:\n  w:\n    image: i\n    develop:\n      watch:\n"
		 "        - action: sync+exec\n          path: web\n          target: /w\n"
		 "          exec: {command: make, user: root}\n",
		 "9:33: 'user' in service 'w' is not supported yet; devwatch runs steps as the container's user");
	load_err("services:\n  w:\n    image: i\n    develop:\n      watch:\n        - {action: sync, path: web}\n",
		 "6:20: action 'sync' needs 'target'");
	load_err("services:\n  w:\n    image: i\n    develop:\n      watch:\n        - {action: copy, path: web}\n",
		 "6:20: action 'copy': expected sync");
	load_err("services:\n  w:\n    image: i\n    develop:\n      watch:\n        - {action: sync, path: ../up, target: /u}\n",
		 "6:32: watch path '../up' outside the project folder is not supported yet");
	load_err("services:\n  w:\n    image: i\n    develop:\n      watch:\n        - {action: sync, path: web, target: /w, include: \"*.js\"}\n",
		 "6:58: include pattern '*.js' on a sync rule");
	load_err("services:\n  w:\n    image: i\n    develop:\n      watch:\n        - {action: sync, path: web, target: /w, ignore: [\"!keep\"]}\n",
		 "6:58: ignore pattern '!keep' is not supported yet");
}

static void test_service_keys(void **state)
{
	struct project *p;
	struct project_container *c;
	struct build_context bc;
	bool sent_df = false, sent_state = false;
	char *df;
	struct stat st;

	(void)state;
	setenv("ARG_FROM_ENV", "env-arg", 1);
	p = load_ok("services:\n"
		    "  api:\n"
		    "    build:\n"
		    "      context: .\n"
		    "      dockerfile_inline: |\n"
		    "        FROM busybox:1.36\n"
		    "        CMD [\"sleep\", \"1000\"]\n"
		    "      args: [\"A=1\", ARG_FROM_ENV, UNSET_ARG]\n"
		    "      target: dev\n"
		    "    command: [\"sh\", \"-c\", \"sleep 1\"]\n"
		    "    entrypoint: /bin/sh -c\n"
		    "    environment: [\"X=1\", \"X=2\", \"Y=a=b\"]\n"
		    "    working_dir: /srv\n"
		    "    tty: true\n"
		    "    stdin_open: \"yes\"\n"
		    "    restart: unless-stopped\n"
		    "    cpus: 1.5\n"
		    "    mem_limit: 1GiB\n"
		    "    scale: 2\n"
		    "  db:\n"
		    "    image: busybox:1.36\n"
		    "    pull_policy: if_not_present\n"
		    "    restart: on-failure:5\n"
		    "    deploy:\n"
		    "      replicas: 3\n"
		    "      resources: {limits: {cpus: \"0.25\", memory: 64m}}\n"
		    "      placement: {constraints: []}\n");
	c = project_find(p, "api");
	assert_non_null(c->build);
	assert_string_equal(c->build->dockerfile, ".devwatch/compose/api.Dockerfile");
	df = path_join(dir, ".devwatch/compose/api.Dockerfile");
	assert_int_equal(stat(df, &st), 0);
	free(df);
	/* The build context sends that Dockerfile, and nothing else of
	   devwatch's state. */
	write_at(".devwatch/hashcache", "state\n");
	assert_int_equal(context_scan(&bc, dir, c->build->dockerfile, NULL), 0);
	for (size_t i = 0; i < bc.n; i++) {
		sent_df |= strcmp(bc.v[i].rel, ".devwatch/compose/api.Dockerfile") == 0;
		sent_state |= strcmp(bc.v[i].rel, ".devwatch/hashcache") == 0;
	}
	assert_true(sent_df);
	assert_false(sent_state);
	context_close(&bc);
	assert_int_equal(c->build->args.n, 2);
	assert_string_equal(c->build->args.v[1].value, "env-arg");
	assert_string_equal(c->build->target, "dev");
	assert_string_equal(c->cmd[2], "sleep 1");
	assert_string_equal(c->entrypoint[0], "/bin/sh");
	assert_string_equal(c->entrypoint[1], "-c");
	assert_int_equal(c->env.n, 2);
	assert_string_equal(c->env.v[0].value, "2");
	assert_string_equal(c->env.v[1].value, "a=b");
	assert_true(c->tty);
	assert_true(c->stdin_open);
	assert_int_equal(c->restart, RESTART_ALWAYS);
	assert_true(c->cpus == 1.5);
	assert_int_equal(c->memory, 1024 * 1024 * 1024);
	assert_int_equal(c->replicas, 2);
	c = project_find(p, "db");
	assert_int_equal(c->pull, PULL_MISSING);
	assert_int_equal(c->restart, RESTART_ON_FAILURE);
	assert_int_equal(c->max_restarts, 5);
	assert_int_equal(c->replicas, 3);
	assert_true(c->cpus == 0.25);
	assert_int_equal(c->memory, 64 * 1024 * 1024);
	project_free(p);
	/* profiles */
	write_at("compose.yaml", "services:\n  a: {image: i}\n  b: {image: i, profiles: [debug]}\n");
	p = load_ok("services:\n  a: {image: i}\n  b: {image: i, profiles: [debug]}\n");
	assert_int_equal(p->n_containers, 1);
	project_free(p);
	setenv("COMPOSE_PROFILES", "other,debug", 1);
	p = load_ok("services:\n  a: {image: i}\n  b: {image: i, profiles: [debug]}\n");
	assert_int_equal(p->n_containers, 2);
	project_free(p);
	unsetenv("COMPOSE_PROFILES");
	load_err("services:\n  b: {image: i, profiles: [debug]}\n", "1:1: no service is enabled");
}

static void test_errors(void **state)
{
	(void)state;
	load_err("services:\n  w:\n    image: i\n    links: [db]\n",
		 "4:5: 'links' in service 'w' is not supported yet");
	load_err("services:\n  w:\n    image: i\n    labels: {a: b}\n",
		 "4:5: 'labels' in service 'w' is not supported yet; devwatch sets only its own labels");
	load_err("services:\n  w:\n    image: i\n    prots: [80]\n",
		 "4:5: unknown key 'prots' in service 'w' (did you mean 'ports'?)");
	load_err("services:\n  w:\n    image: i\n    deploy:\n      resources:\n        limits: {pids: 10}\n",
		 "6:18: 'pids' in service 'w' is not supported yet");
	load_err("servics:\n  w: {image: i}\n", "1:1: unknown key 'servics' in the compose file (did you mean 'services'?)");
	load_err("services:\n  w:\n    image: i\n    tty: maybe\n", "4:10: 'tty' is not a boolean; expected true or false");
	load_err("services:\n  w:\n    image: ${IMG:?set IMG}\n", "3:12: required variable IMG is missing a value: set IMG");
	load_err("services:\n  w:\n    image: i\n    ports: [80\n", "5:1: invalid YAML");
	load_err("services:\n  w: {image: i}\n  w: {image: j}\n", "3:3: invalid YAML: duplicate key");
	load_err("# nothing\n", "1:1: the file is empty; expected a mapping with 'services'");
	load_err("services: {w: {image: i}}\n---\nservices: {x: {image: j}}\n",
		 "3:1: a second YAML document in the file is not supported yet");
	load_err("services: {w: {image: i, volumes: [\":/x\"]}}\n", "1:36: volume ':/x': expected");
	load_err("services:\n  w:\n    build: {context: web, ssh: [default]}\n",
		 "3:27: 'ssh' in service 'w' is not supported yet");
	load_err("services:\n  w:\n    restart: sometimes\n", "3:14: restart 'sometimes': expected no, always");
	load_err("services:\n  w:\n    user: root\n", "2:3: service 'w' has neither an image nor a build context");
	load_err("services:\n  w:\n    image: i\n    mem_limit: lots\n", "4:16: 'mem_limit' is 'lots'; expected a size");
	load_err("services:\n  w:\n    image: i\n    working_dir: srv\n", "4:18: workdir 'srv': expected an absolute path");
	load_err("services:\n  w:\n    image: !reset i\n", "3:12: tag '!reset' is not supported yet");
	load_err("include: [other.yaml]\nservices:\n  w: {image: i}\n", "1:1: 'include' is not supported yet");
	load_err("name: Bad Name\nservices:\n  w: {image: i}\n", "1:7: project name 'Bad Name': expected lowercase");
	load_err("networks:\n  default: {name: mine}\nservices:\n  w: {image: i}\n",
		 "2:3: settings for network 'default' are not supported yet");
	load_err("services:\n  w:\n    build: ../outside\n", "3:12: build context '../outside' is outside the project folder");
}

static void test_discovery(void **state)
{
	char sub[300], *p;

	(void)state;
	snprintf(sub, sizeof(sub), "%s/disc", dir);
	mkdir(sub, 0755);
	assert_string_equal(project_default_file(sub), "devwatch.json");
	p = path_join(sub, "docker-compose.yml");
	fclose(fopen(p, "w"));
	assert_string_equal(project_default_file(sub), "docker-compose.yml");
	free(p);
	p = path_join(sub, "compose.yaml");
	fclose(fopen(p, "w"));
	assert_string_equal(project_default_file(sub), "compose.yaml");
	free(p);
	p = path_join(sub, "devwatch.json");
	fclose(fopen(p, "w"));
	assert_string_equal(project_default_file(sub), "devwatch.json");
	free(p);
	assert_true(compose_is_file("x/docker-compose.yml"));
	assert_true(compose_is_file("stack.yaml"));
	assert_false(compose_is_file("devwatch.json"));
}

static void test_convert_round_trip(void **state)
{
	static const char text[] =
		"name: trip\n"
		"services:\n"
		"  web:\n"
		"    build: {context: web, args: {V: \"2\"}}\n"
		"    ports: [\"8080:80\", 9000, \"[::1]:7000:70\"]\n"
		"    environment: {A: \"1\"}\n"
		"    volumes: [\"./web/Dockerfile:/df:ro\", \"d:/d\"]\n"
		"    deploy: {resources: {limits: {cpus: 0.5, memory: 128m}}}\n"
		"    restart: on-failure:2\n"
		"    develop:\n"
		"      watch:\n"
		"        - {action: sync, path: web/src, target: /app, ignore: [tmp/]}\n"
		"        - {action: rebuild, path: web/package.json}\n"
		"    depends_on: {db: {condition: service_healthy}}\n"
		"    networks: {default: {aliases: [site]}}\n"
		"  db:\n"
		"    image: busybox:1.36\n"
		"    healthcheck: {test: [CMD, \"true\"], interval: 1s}\n"
		"    init: true\n"
		"    stop_grace_period: 1m\n"
		"volumes:\n  d:\n";
	struct project *a = NULL, *b = NULL;
	struct strlist warnings = {0};
	struct jnode *tree = NULL;
	char *cause = NULL, *json;

	(void)state;
	write_at("compose.yaml", text);
	assert_int_equal(compose_load(file, &tree, &warnings, &cause), 0);
	json = compose_json_text("compose.yaml", tree);
	json_free(tree);
	a = load_ok(text);
	if (project_parse(file, json, strlen(json), &b, &cause) != 0)
		fail_msg("convert output does not load: %s\n%s", cause, json);
	assert_string_equal(a->name, b->name);
	assert_int_equal(a->n_containers, b->n_containers);
	assert_string_equal(a->containers[0].config_hash, b->containers[0].config_hash);
	assert_string_equal(a->containers[1].config_hash, b->containers[1].config_hash);
	assert_int_equal(b->containers[0].n_depends, 1);
	assert_int_equal(b->containers[1].readiness.interval_ms, 1000);
	assert_int_equal(a->containers[0].n_steps, b->containers[0].n_steps);
	assert_int_equal(a->ignore.n, 1);
	assert_string_equal(a->ignore.v[0], b->ignore.v[0]);
	assert_non_null(strstr(json, "// devwatch.json for compose.yaml"));
	project_free(a);
	project_free(b);
	free(json);
	strlist_release(&warnings);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_interpolation),
		cmocka_unit_test(test_split_words),
		cmocka_unit_test(test_merge_and_anchors),
		cmocka_unit_test(test_ports),
		cmocka_unit_test(test_volumes),
		cmocka_unit_test(test_watch),
		cmocka_unit_test(test_service_keys),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_discovery),
		cmocka_unit_test(test_convert_round_trip),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
