/*
 * `devwatch check`: validate the project file and say what it holds, or
 * where it is wrong (exit 2). --keys prints the key reference.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>
#include <uv.h>

#include "base/error.h"
#include "cmd.h"
#include "project/project.h"

int cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{"file", required_argument, NULL, 'f'},
		{"json", no_argument, NULL, 'j'},
		{"keys", no_argument, NULL, 'k'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *file = NULL;
	struct project *p = NULL;
	char *cause = NULL;
	int json = 0, o, err;

	while ((o = getopt_long(argc, argv, "f:hv", opts, NULL)) != -1) {
		switch (o) {
		case 'f': file = optarg; break;
		case 'j': json = 1; break;
		case 'k': project_print_keys(stdout); return DW_EXIT_OK;
		case 'h':
			cmd_usage(stdout, "check",
				  "  -f, --file FILE  project file (default devwatch.json, else a compose file)\n"
				  "      --json       print the result as JSON\n"
				  "      --keys       list every key of the project file\n");
			return DW_EXIT_OK;
		case 'v': break;
		default: return cmd_usage_error("check", "unknown option");
		}
	}
	if (optind < argc)
		return cmd_usage_error("check", "unexpected argument '%s'", argv[optind]);
	file = cmd_project_file(file);
	err = project_load(file, &p, &cause);
	if (err != 0) {
		if (json) {
			cJSON *j = cJSON_CreateObject();
			char *t;

			cJSON_AddBoolToObject(j, "ok", 0);
			cJSON_AddStringToObject(j, "error", cause);
			t = cJSON_PrintUnformatted(j);
			printf("%s\n", t);
			free(t);
			cJSON_Delete(j);
		}
		fprintf(stderr, "devwatch: %s\n", cause);
		free(cause);
		return err == DW_PROJECT || err == UV_ENOENT ? DW_EXIT_USAGE : DW_EXIT_FAIL;
	}
	if (json) {
		printf("{\"ok\":true,\"name\":\"%s\",\"containers\":%zu}\n", p->name,
		       p->n_containers);
	} else {
		printf("%s: ok, project '%s', %zu container%s:", file, p->name,
		       p->n_containers, p->n_containers == 1 ? "" : "s");
		for (size_t i = 0; i < p->n_containers; i++)
			printf(" %s", p->containers[i].name);
		printf("\n");
	}
	project_free(p);
	return DW_EXIT_OK;
}
