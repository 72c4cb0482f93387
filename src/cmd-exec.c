/*
 * `devwatch exec NAME [-r N] -- CMD...`: run a command in a running
 * container of the project, as `docker exec` does: a TTY (raw terminal,
 * window size followed) when stdin is a terminal, plain streams otherwise,
 * and the command's exit code passed through.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/error.h"
#include "base/util.h"
#include "cmd-util.h"
#include "cmd.h"
#include "cmd-pump.h"
#include "cmd-term.h"

#define EXEC_HELP                                                              \
	"  -f, --file FILE     project file (default devwatch.json, else a compose file)\n"          \
	"  -r, --replica N     which replica (default 1)\n"                     \
	"  -T, --no-tty        no TTY even when stdin is a terminal\n"          \
	"The exit code is the command's (126/127 when it cannot run).\n"

/* Create the exec. Returns its ID (caller frees) or NULL after printing. */
static char *exec_create(struct cmd_ctx *x, const char *name, char **argv,
			 bool tty)
{
	cJSON *o = cJSON_CreateObject(), *cmd = cJSON_AddArrayToObject(o, "Cmd");
	char *body, *path = xasprintf("/containers/%s/exec", name), *resp = NULL;
	char *id = NULL;
	size_t len = 0;
	long status = 0;
	int err;

	for (size_t i = 0; argv[i] != NULL; i++)
		cJSON_AddItemToArray(cmd, cJSON_CreateString(argv[i]));
	cJSON_AddBoolToObject(o, "AttachStdin", true);
	cJSON_AddBoolToObject(o, "AttachStdout", true);
	cJSON_AddBoolToObject(o, "AttachStderr", true);
	cJSON_AddBoolToObject(o, "Tty", tty);
	if (tty) {
		const char *term = getenv("TERM");
		char *kv = xasprintf("TERM=%s", term != NULL ? term : "xterm");

		cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "Env"), cJSON_CreateString(kv));
		free(kv);
	}
	body = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	err = engine_call_sync(x->e, &(struct engine_call){.method = "POST", .path = path,
							   .body = body, .body_len = strlen(body),
							   .timeout_ms = 30000},
			       &status, &resp, &len);
	if (err == 0 && status == 201) {
		cJSON *r = cJSON_ParseWithLength(resp, len);
		cJSON *v = cJSON_GetObjectItem(r, "Id");

		if (cJSON_IsString(v))
			id = xstrdup(v->valuestring);
		cJSON_Delete(r);
	} else if (err != 0) {
		fprintf(stderr, "devwatch exec: %s\n", dw_strerror(err));
	} else {
		char *m = engine_error_message(resp, len);

		fprintf(stderr, "devwatch exec: cannot exec in %s: %s\n", name, m);
		free(m);
	}
	free(resp);
	free(body);
	free(path);
	return id;
}

/* The exec's exit code, or -1. */
static int exec_code(struct cmd_ctx *x, const char *id)
{
	char *path = xasprintf("/exec/%s/json", id), *resp = NULL;
	size_t len = 0;
	long status = 0;
	int code = -1;

	if (engine_call_sync(x->e, &(struct engine_call){.method = "GET", .path = path,
							 .timeout_ms = 30000},
			     &status, &resp, &len) == 0 && status == 200) {
		cJSON *r = cJSON_ParseWithLength(resp, len);
		cJSON *v = cJSON_GetObjectItem(r, "ExitCode");

		if (cJSON_IsNumber(v) && !cJSON_IsTrue(cJSON_GetObjectItem(r, "Running")))
			code = v->valueint;
		cJSON_Delete(r);
	}
	free(resp);
	free(path);
	return code;
}

int cmd_exec(int argc, char **argv)
{
	static const struct option opts[] = {
		{"file", required_argument, NULL, 'f'},
		{"replica", required_argument, NULL, 'r'},
		{"no-tty", no_argument, NULL, 'T'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *file = NULL, *cname;
	struct project_container *c;
	struct cmd_ctx x;
	char *name, *id, *cause = NULL, *start, *resize;
	bool tty = term_stdin_is_tty();
	struct winsize ws;
	char body[96];
	int o, replica = 1, rc;

	while ((o = getopt_long(argc, argv, "+f:r:Thv", opts, NULL)) != -1) {
		switch (o) {
		case 'f': file = optarg; break;
		case 'r':
			replica = atoi(optarg);
			if (replica < 1 || replica > 64)
				return cmd_usage_error("exec", "replica '%s': expected 1 to 64", optarg);
			break;
		case 'T': tty = false; break;
		case 'v': break;
		case 'h': cmd_usage(stdout, "exec", EXEC_HELP); return DW_EXIT_OK;
		default: return cmd_usage_error("exec", "unknown option");
		}
	}
	if (optind >= argc)
		return cmd_usage_error("exec", "expected a container name");
	cname = argv[optind++];
	if (optind < argc && strcmp(argv[optind], "--") == 0)
		optind++;
	if (optind >= argc)
		return cmd_usage_error("exec", "expected a command after '--'");
	if ((rc = cmd_ctx_open(&x, cmd_project_file(file))) != 0)
		return rc;
	c = project_find(x.p, cname);
	if (c == NULL || replica > c->replicas) {
		if (c == NULL)
			fprintf(stderr, "devwatch exec: no container '%s' in %s\n", cname, x.p->file);
		else
			fprintf(stderr, "devwatch exec: '%s' has %d replica%s; expected -r 1 to %d\n",
				cname, c->replicas, c->replicas == 1 ? "" : "s", c->replicas);
		cmd_ctx_close(&x);
		return DW_EXIT_USAGE;
	}
	name = project_container_instance(x.p, c, replica);
	id = exec_create(&x, name, argv + optind, tty);
	if (id == NULL) {
		free(name);
		cmd_ctx_close(&x);
		return DW_EXIT_FAIL;
	}
	start = xasprintf("/exec/%s/start", id);
	/* Engines from API 1.42 size the TTY before the command starts. */
	if (tty && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0)
		snprintf(body, sizeof(body), "{\"Detach\":false,\"Tty\":true,\"ConsoleSize\":[%d,%d]}",
			 ws.ws_row, ws.ws_col);
	else
		snprintf(body, sizeof(body), "{\"Detach\":false,\"Tty\":%s}", tty ? "true" : "false");
	resize = xasprintf("/exec/%s/resize", id);
	rc = pump_run(x.e, &(struct pump_opts){.path = start,
					       .body = body,
					       .tty = tty, .with_stdin = true,
					       .resize_path = resize},
		      &cause);
	if (rc != 0) {
		fprintf(stderr, "devwatch exec: %s\n", cause);
		free(cause);
		rc = DW_EXIT_FAIL;
	} else {
		rc = exec_code(&x, id);
		if (rc < 0) {
			fprintf(stderr, "devwatch exec: cannot read the exit code of the command\n");
			rc = DW_EXIT_FAIL;
		}
	}
	free(start);
	free(resize);
	free(id);
	free(name);
	cmd_ctx_close(&x);
	return rc;
}
