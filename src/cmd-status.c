/*
 * `devwatch status`: the project's containers on the engine, by label: name,
 * state and published ports.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "build/container.h"
#include "cmd-api.h"
#include "cmd-util.h"
#include "cmd.h"

static const char *label(cJSON *it, const char *key)
{
	cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(it, "Labels"), key);

	return cJSON_IsString(v) ? v->valuestring : "";
}

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
	cJSON *list, *it, *out;
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
				  "  -f, --file FILE  project file (default devwatch.json)\n"
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
	list = cmd_list_containers(&x);
	if (list == NULL) {
		cmd_ctx_close(&x);
		return DW_EXIT_FAIL;
	}
	out = cJSON_CreateArray();
	if (!json)
		printf("%-16s %-8s %-10s %s\n", "CONTAINER", "REPLICA", "STATE", "PORTS");
	cJSON_ArrayForEach(it, list) {
		cJSON *ports = cJSON_GetObjectItem(it, "Ports"), *pt, *o;
		cJSON *state = cJSON_GetObjectItem(it, "State");
		char buf[512] = "";
		size_t n = 0;

		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "container", label(it, LABEL_CONTAINER));
		cJSON_AddNumberToObject(o, "replica", atoi(label(it, LABEL_REPLICA)));
		cJSON_AddStringToObject(o, "state", cJSON_IsString(state) ? state->valuestring : "");
		cJSON_AddStringToObject(o, "id", cJSON_GetObjectItem(it, "Id")->valuestring);
		cJSON *po = cJSON_AddObjectToObject(o, "ports");
		cJSON_ArrayForEach(pt, ports) {
			cJSON *pub = cJSON_GetObjectItem(pt, "PublicPort");
			cJSON *priv = cJSON_GetObjectItem(pt, "PrivatePort");
			char key[16];

			if (!cJSON_IsNumber(pub) || !cJSON_IsNumber(priv))
				continue;
			snprintf(key, sizeof(key), "%d", priv->valueint);
			if (cJSON_GetObjectItem(po, key) != NULL)
				continue; /* IPv4 and IPv6 bindings of one port */
			cJSON_AddNumberToObject(po, key, pub->valueint);
			if (n < sizeof(buf) - 32)
				n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%d->%d",
						      n ? ", " : "", pub->valueint, priv->valueint);
		}
		if (!json)
			printf("%-16s %-8s %-10s %s\n", label(it, LABEL_CONTAINER),
			       label(it, LABEL_REPLICA),
			       cJSON_IsString(state) ? state->valuestring : "?", buf);
		cJSON_AddItemToArray(out, o);
	}
	if (json) {
		char *t = cJSON_PrintUnformatted(out);

		printf("%s\n", t);
		free(t);
	}
	cJSON_Delete(out);
	cJSON_Delete(list);
	cmd_ctx_close(&x);
	return DW_EXIT_OK;
}
