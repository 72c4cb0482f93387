/*
 * `devwatch down`: remove every container labelled with the project's name,
 * whether a running devwatch started it or a killed one left it behind.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/error.h"
#include "base/util.h"
#include "build/listing.h"
#include "cmd-util.h"
#include "cmd.h"

int cmd_down(int argc, char **argv)
{
	static const struct option opts[] = {
		{"file", required_argument, NULL, 'f'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *file = NULL;
	struct cmd_ctx x;
	struct container_list list;
	int c, rc, removed = 0, failed = 0, json = 0;

	while ((c = getopt_long(argc, argv, "f:hv", opts, NULL)) != -1) {
		switch (c) {
		case 'f': file = optarg; break;
		case 'j': json = 1; break;
		case 'v': break;
		case 'h':
			cmd_usage(stdout, "down",
				  "  -f, --file FILE  project file (default devwatch.json)\n"
				  "      --json       print the result as JSON\n");
			return DW_EXIT_OK;
		default:
			return cmd_usage_error("down", "unknown option");
		}
	}
	if (optind < argc)
		return cmd_usage_error("down", "unexpected argument '%s'", argv[optind]);
	rc = cmd_ctx_open(&x, cmd_project_file(file));
	if (rc != 0)
		return rc;
	if (cmd_list_containers(&x, &list) != 0) {
		cmd_ctx_close(&x);
		return DW_EXIT_FAIL;
	}
	for (size_t i = 0; i < list.n; i++) {
		const char *name = list.v[i].name;
		char *path;
		long status = 0;
		int err;

		path = xasprintf("/containers/%s?force=1&v=1", list.v[i].id);
		err = engine_call_sync(x.e, &(struct engine_call){.method = "DELETE", .path = path,
								  .timeout_ms = 60000},
				       &status, NULL, NULL);
		free(path);
		if (err == 0 && (status == 204 || status == 404)) {
			removed++;
			if (!json)
				printf("removed %s\n", name);
		} else {
			failed++;
			fprintf(stderr, "devwatch: could not remove %s: %s\n", name,
				err != 0 ? dw_strerror(err) : "the engine refused");
		}
	}
	if (json)
		printf("{\"removed\":%d,\"failed\":%d}\n", removed, failed);
	else if (removed == 0 && failed == 0)
		printf("no containers of project '%s'\n", x.p->name);
	container_list_free(&list);
	cmd_ctx_close(&x);
	return failed > 0 ? DW_EXIT_FAIL : DW_EXIT_OK;
}
