/*
 * `devwatch trigger NAME`: ask the running `up` session to apply NAME's
 * update now (DESIGN.md section 9): every synced file goes in again and
 * every step a file triggers runs; a container without sync rules is
 * rebuilt. Without a session there is nothing to trigger.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "cmd-api.h"
#include "cmd-util.h"
#include "cmd.h"

int cmd_trigger(int argc, char **argv)
{
	static const struct option opts[] = {
		{"file", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *file = NULL;
	struct apiclient api;
	char *cause = NULL;
	int c, rc;

	while ((c = getopt_long(argc, argv, "f:hv", opts, NULL)) != -1) {
		switch (c) {
		case 'f': file = optarg; break;
		case 'v': break;
		case 'h':
			cmd_usage(stdout, "trigger",
				  "  -f, --file FILE  project file (default devwatch.json, else a compose file)\n");
			return DW_EXIT_OK;
		default:
			return cmd_usage_error("trigger", "unknown option");
		}
	}
	if (optind + 1 != argc)
		return cmd_usage_error("trigger", optind == argc ? "a container name is needed"
								 : "one container name only");
	rc = cmd_api_find(cmd_project_file(file), &api, &cause);
	if (rc == DW_NOTFOUND) {
		fprintf(stderr, "devwatch trigger: no 'devwatch up' session runs for '%s': "
			"start one, then trigger\n", cmd_project_file(file));
		return DW_EXIT_FAIL;
	}
	if (rc != 0) {
		fprintf(stderr, "devwatch trigger: %s\n", cause);
		free(cause);
		return rc == DW_PROJECT || rc == UV_ENOENT ? DW_EXIT_USAGE : DW_EXIT_FAIL;
	}
	return cmd_api_trigger(&api, argv[optind]);
}
