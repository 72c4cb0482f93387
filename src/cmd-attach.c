/*
 * `devwatch attach NAME`: join a running `tty` or `stdin` container's
 * terminal, as `docker attach` does: stdin in, output out, the window size
 * followed, and ctrl-p ctrl-q to detach (the engine watches for the keys
 * and closes the stream). Exits 0 on detach, or with the container's code
 * when it ends.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/error.h"
#include "base/util.h"
#include "cmd-util.h"
#include "cmd.h"
#include "cmd-pump.h"

#define ATTACH_HELP                                                            \
	"  -f, --file FILE     project file (default devwatch.json, else a compose file)\n"          \
	"  -r, --replica N     which replica (default 1)\n"                     \
	"Detach with ctrl-p ctrl-q; the container keeps running.\n"

struct state {
	char *id;
	bool tty, open_stdin, running;
	int exit_code;
};

/* Inspect the container. Returns 0, or an exit code after printing. */
static int inspect(struct cmd_ctx *x, const char *name, struct state *st)
{
	char *path = xasprintf("/containers/%s/json", name), *resp = NULL;
	size_t len = 0;
	long status = 0;
	int err, rc = 0;

	err = engine_call_sync(x->e, &(struct engine_call){.method = "GET", .path = path,
							   .timeout_ms = 30000},
			       &status, &resp, &len);
	if (err != 0 || status != 200) {
		fprintf(stderr, "devwatch attach: %s\n",
			err != 0 ? dw_strerror(err)
			: status == 404 ? "the container is not running; start it with 'devwatch up'"
					: "the engine refused to inspect it");
		rc = err != 0 ? DW_EXIT_FAIL : DW_EXIT_USAGE;
	} else {
		cJSON *o = cJSON_ParseWithLength(resp, len);
		cJSON *cfg = cJSON_GetObjectItem(o, "Config");
		cJSON *state = cJSON_GetObjectItem(o, "State");
		cJSON *v = cJSON_GetObjectItem(o, "Id");
		cJSON *code = cJSON_GetObjectItem(state, "ExitCode");

		free(st->id);
		st->id = xstrdup(cJSON_IsString(v) ? v->valuestring : name);
		st->tty = cJSON_IsTrue(cJSON_GetObjectItem(cfg, "Tty"));
		st->open_stdin = cJSON_IsTrue(cJSON_GetObjectItem(cfg, "OpenStdin"));
		st->running = cJSON_IsTrue(cJSON_GetObjectItem(state, "Running"));
		st->exit_code = cJSON_IsNumber(code) ? code->valueint : 0;
		cJSON_Delete(o);
	}
	free(resp);
	free(path);
	return rc;
}

/* The container's exit code once it is not running, or -1 when it still
   runs half a second later. */
static int wait_exit(struct cmd_ctx *x, const char *id)
{
	char *path = xasprintf("/containers/%s/wait?condition=not-running", id), *resp = NULL;
	size_t len = 0;
	long status = 0;
	int code = -1;

	if (engine_call_sync(x->e, &(struct engine_call){.method = "POST", .path = path,
							 .timeout_ms = 500},
			     &status, &resp, &len) == 0 && status == 200) {
		cJSON *o = cJSON_ParseWithLength(resp, len);
		cJSON *v = cJSON_GetObjectItem(o, "StatusCode");

		code = cJSON_IsNumber(v) ? v->valueint : -1;
		cJSON_Delete(o);
	}
	free(resp);
	free(path);
	return code;
}

int cmd_attach(int argc, char **argv)
{
	static const struct option opts[] = {
		{"file", required_argument, NULL, 'f'},
		{"replica", required_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *file = NULL;
	struct project_container *c;
	struct state st = {0};
	struct cmd_ctx x;
	char *name = NULL, *path = NULL, *resize = NULL, *cause = NULL;
	int o, replica = 1, rc;

	while ((o = getopt_long(argc, argv, "f:r:hv", opts, NULL)) != -1) {
		switch (o) {
		case 'f': file = optarg; break;
		case 'r':
			replica = atoi(optarg);
			if (replica < 1 || replica > 64)
				return cmd_usage_error("attach", "replica '%s': expected 1 to 64", optarg);
			break;
		case 'v': break;
		case 'h': cmd_usage(stdout, "attach", ATTACH_HELP); return DW_EXIT_OK;
		default: return cmd_usage_error("attach", "unknown option");
		}
	}
	if (optind + 1 != argc)
		return cmd_usage_error("attach", "expected one container name");
	if ((rc = cmd_ctx_open(&x, cmd_project_file(file))) != 0)
		return rc;
	c = project_find(x.p, argv[optind]);
	if (c == NULL || replica > c->replicas) {
		fprintf(stderr, "devwatch attach: no container '%s' (replica %d) in %s\n",
			argv[optind], replica, x.p->file);
		rc = DW_EXIT_USAGE;
		goto out;
	}
	if (!c->tty && !c->stdin_open) {
		fprintf(stderr, "devwatch attach: '%s' has neither \"tty\" nor \"stdin\"; "
				"use 'devwatch logs %s' or 'devwatch exec %s -- sh'\n",
			c->name, c->name, c->name);
		rc = DW_EXIT_USAGE;
		goto out;
	}
	name = project_container_instance(x.p, c, replica);
	if ((rc = inspect(&x, name, &st)) != 0)
		goto out;
	if (!st.running) {
		fprintf(stderr, "devwatch attach: %s is not running (exit code %d)\n", name,
			st.exit_code);
		rc = DW_EXIT_FAIL;
		goto out;
	}
	path = xasprintf("/containers/%s/attach?stream=1&stdout=1&stderr=1&stdin=%d"
			 "&detachKeys=ctrl-p,ctrl-q",
			 st.id, st.open_stdin ? 1 : 0);
	resize = xasprintf("/containers/%s/resize", st.id);
	rc = pump_run(x.e, &(struct pump_opts){.path = path, .tty = st.tty,
					       .with_stdin = st.open_stdin,
					       .resize_path = st.tty ? resize : NULL},
		      &cause);
	if (rc != 0) {
		fprintf(stderr, "devwatch attach: %s\n", cause);
		free(cause);
		rc = DW_EXIT_FAIL;
		goto out;
	}
	/* The stream ended: a detach, or the container's end (which the
	   engine may record a moment after the stream closes). */
	rc = wait_exit(&x, st.id);
	if (rc < 0) {
		fprintf(stderr, "\ndevwatch: detached from %s (still running)\n", name);
		rc = DW_EXIT_OK;
	}
out:
	free(st.id);
	free(path);
	free(resize);
	free(name);
	cmd_ctx_close(&x);
	return rc;
}
