/*
 * `devwatch status`: the project's containers on the engine, by label: name,
 * state and published ports.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "build/listing.h"
#include "cmd-api.h"
#include "cmd-util.h"
#include "cmd.h"

int cmd_status(int argc, char **argv)
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
	cJSON *out;
	struct apiclient api;
	char *cause = NULL;
	int c, rc, json = 0;

	while ((c = getopt_long(argc, argv, "f:hv", opts, NULL)) != -1) {
		switch (c) {
		case 'f': file = optarg; break;
		case 'j': json = 1; break;
		case 'v': break;
		case 'h':
			cmd_usage(stdout, "status",
				  "  -f, --file FILE  project file (default devwatch.json, else a compose file)\n"
				  "      --json       print as JSON\n");
			return DW_EXIT_OK;
		default:
			return cmd_usage_error("status", "unknown option");
		}
	}
	if (optind < argc)
		return cmd_usage_error("status", "unexpected argument '%s'", argv[optind]);
	/* A running session knows more than the engine: ask it. */
	rc = cmd_api_find(cmd_project_file(file), &api, &cause);
	if (rc == 0)
		return cmd_api_status(&api, json);
	free(cause); /* the engine's path below says what is wrong */
	rc = cmd_ctx_open(&x, cmd_project_file(file));
	if (rc != 0)
		return rc;
	if (cmd_list_containers(&x, &list) != 0) {
		cmd_ctx_close(&x);
		return DW_EXIT_FAIL;
	}
	out = cJSON_CreateArray();
	if (!json)
		printf("%-16s %-8s %-10s %s\n", "CONTAINER", "REPLICA", "STATE", "PORTS");
	for (size_t i = 0; i < list.n; i++) {
		const struct container_entry *ce = &list.v[i];
		cJSON *o = cJSON_CreateObject(), *po;
		char buf[512] = "";
		size_t n = 0;

		cJSON_AddStringToObject(o, "container", ce->container);
		cJSON_AddNumberToObject(o, "replica", atoi(ce->replica));
		cJSON_AddStringToObject(o, "state", ce->state);
		cJSON_AddStringToObject(o, "id", ce->id);
		po = cJSON_AddObjectToObject(o, "ports");
		for (size_t k = 0; k < ce->n_ports; k++) {
			const struct container_port *pt = &ce->ports[k];
			char key[16];

			snprintf(key, sizeof(key), "%d", pt->private_port);
			if (cJSON_GetObjectItem(po, key) != NULL)
				continue; /* IPv4 and IPv6 bindings of one port */
			cJSON_AddNumberToObject(po, key, pt->public_port);
			if (n < sizeof(buf) - 32)
				n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%d->%d",
						      n ? ", " : "", pt->public_port,
						      pt->private_port);
		}
		if (!json)
			printf("%-16s %-8s %-10s %s\n", ce->container, ce->replica,
			       ce->state[0] != '\0' ? ce->state : "?", buf);
		cJSON_AddItemToArray(out, o);
	}
	if (json) {
		char *t = cJSON_PrintUnformatted(out);

		printf("%s\n", t);
		free(t);
	}
	cJSON_Delete(out);
	container_list_free(&list);
	cmd_ctx_close(&x);
	return DW_EXIT_OK;
}
