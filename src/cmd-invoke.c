/*
 * `devwatch invoke NAME [--data JSON|-]`: deliver one event to a function
 * container of the running `up` session (DESIGN.md section 11) through
 * its control API, POST /api/invoke/NAME, and print the function's
 * response. A function error (502 with errorType and errorMessage) is
 * said on stderr and exits 1, so a script can tell it from an answer.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <uv.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/util.h"
#include "cmd-api.h"
#include "cmd.h"

/* Lambda's payload limit, which the session enforces too (413). */
#define MAX_EVENT (6u << 20)

static const char help[] =
	"  -f, --file FILE  project file (default devwatch.json, else a compose file)\n"
	"  -d, --data JSON  the event (default {}); '-' reads it from stdin\n"
	"\nexit status: 0 the function answered (its response on stdout);\n"
	"1 a function error or timeout (errorType: errorMessage on stderr), or no\n"
	"session answers; 2 a usage error, NAME unknown or not a function, or\n"
	"an event that is not JSON\n";

/* The event from --data: the text itself, or stdin's for '-'. */
static int read_event(const char *data, struct buf *out)
{
	char chunk[65536];
	size_t n;

	buf_init(out, MAX_EVENT);
	if (strcmp(data, "-") != 0)
		return buf_add(out, data, strlen(data)) == 0 ? 0 : DW_TOOBIG;
	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		if (buf_add(out, chunk, n) != 0)
			return DW_TOOBIG;
	return ferror(stdin) ? UV_EIO : 0;
}

/* The session's answer as an exit code, saying what went wrong. */
static int report(const char *name, const struct apiclient_resp *r)
{
	char *m;
	int rc;

	if (r->status == 200) {
		fwrite(r->body, 1, r->len, stdout);
		if (r->len == 0 || r->body[r->len - 1] != '\n')
			putchar('\n');
		return DW_EXIT_OK;
	}
	m = apiclient_error_message(r);
	if (r->status == 502) {
		fprintf(stderr, "devwatch invoke: '%s' failed: %s\n", name, m);
		rc = DW_EXIT_FAIL;
	} else {
		fprintf(stderr, "devwatch invoke: %s\n", m);
		rc = r->status == 404 || r->status == 409 || r->status == 413
			     ? DW_EXIT_USAGE : DW_EXIT_FAIL;
	}
	free(m);
	return rc;
}

int cmd_invoke(int argc, char **argv)
{
	static const struct option opts[] = {
		{"file", required_argument, NULL, 'f'},
		{"data", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *file = NULL, *data = "{}", *name;
	struct apiclient api;
	struct apiclient_resp r = {0};
	struct buf event;
	char *cause = NULL, *path;
	cJSON *j;
	int c, rc;

	while ((c = getopt_long(argc, argv, "f:d:hv", opts, NULL)) != -1) {
		switch (c) {
		case 'f': file = optarg; break;
		case 'd': data = optarg; break;
		case 'v': break;
		case 'h':
			cmd_usage(stdout, "invoke", help);
			return DW_EXIT_OK;
		default:
			return cmd_usage_error("invoke", "unknown option");
		}
	}
	if (optind + 1 != argc)
		return cmd_usage_error("invoke", optind == argc ? "a function name is needed"
								: "one function name only");
	name = argv[optind];
	if (!cmd_api_plain_name(name))
		return cmd_usage_error("invoke", "no container '%s' in the project", name);
	rc = read_event(data, &event);
	if (rc != 0) {
		buf_release(&event);
		if (rc == DW_TOOBIG)
			return cmd_usage_error("invoke", "the event is over %u bytes (Lambda's limit)",
					       MAX_EVENT);
		fprintf(stderr, "devwatch invoke: cannot read the event from stdin\n");
		return DW_EXIT_FAIL;
	}
	/* A NUL would end the body early: no JSON text holds one. */
	j = strlen(buf_str(&event)) == event.len
		    ? cJSON_ParseWithLength(buf_str(&event), event.len) : NULL;
	if (j == NULL) {
		buf_release(&event);
		return cmd_usage_error("invoke", "the event is not JSON; expected e.g. --data '{\"key\": 1}'");
	}
	cJSON_Delete(j);
	rc = cmd_api_find(cmd_project_file(file), &api, &cause);
	if (rc == DW_NOTFOUND) {
		buf_release(&event);
		fprintf(stderr, "devwatch invoke: no 'devwatch up' session runs for '%s': "
			"start one, then invoke\n", cmd_project_file(file));
		return DW_EXIT_FAIL;
	}
	if (rc != 0) {
		buf_release(&event);
		fprintf(stderr, "devwatch invoke: %s\n", cause);
		free(cause);
		return rc == DW_PROJECT || rc == UV_ENOENT ? DW_EXIT_USAGE : DW_EXIT_FAIL;
	}
	path = xasprintf("/api/invoke/%s", name);
	rc = apiclient_call(&api, "POST", path, buf_str(&event), &r, &cause);
	free(path);
	buf_release(&event);
	if (rc != 0) {
		fprintf(stderr, "devwatch invoke: %s\n", cause);
		free(cause);
		return DW_EXIT_FAIL;
	}
	rc = report(name, &r);
	apiclient_resp_release(&r);
	return rc;
}
