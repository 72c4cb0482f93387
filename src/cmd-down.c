/*
 * `devwatch down`: remove every container labelled with the project's name,
 * whether a running devwatch started it or a killed one left it behind,
 * then the project's network; on a swarm manager, the services of
 * `up --swarm` before all. Containers with datasets stop and store them
 * first; temporary folders a killed copy left beside a sink go too.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/error.h"
#include "base/util.h"
#include "build/listing.h"
#include "cmd-util.h"
#include "build/container.h"
#include "build/dataset.h"
#include "cmd.h"
#include "engine/swarm.h"
#include "up/datasets.h"
#include "up/network.h"

/* A container with datasets stops (with its grace) and gives them up
   before it is removed, as at the end of `up`. */
static void store_datasets(struct cmd_ctx *x, const struct container_entry *ce)
{
	const char *id = ce->id;
	struct project_container *c;
	char *path;

	if (ce->container[0] == '\0' || (c = project_find(x->p, ce->container)) == NULL ||
	    c->n_datasets == 0)
		return;
	path = xasprintf("/containers/%s/stop?t=%d", id, (c->stop_grace_ms + 999) / 1000);
	engine_call_sync(x->e, &(struct engine_call){.method = "POST", .path = path,
						     .timeout_ms = 120000},
			 NULL, NULL, NULL);
	free(path);
	datasets_store_sync(x->e, id, c, c->name);
}

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
				  "  -f, --file FILE  project file (default devwatch.json, else a compose file)\n"
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
	/* up --swarm's services first (on a swarm manager), or the swarm
	   would start again the containers removed below. */
	{
		char *cause = NULL, *net = project_network_name(x.p);
		int n = engine_services_remove_project(x.e, x.p->name, net, &cause);

		free(net);
		if (n < 0) {
			failed++;
			fprintf(stderr, "devwatch: %s\n", cause);
			free(cause);
		} else {
			removed += n;
			if (n > 0 && !json)
				printf("removed %d service%s\n", n, n == 1 ? "" : "s");
		}
	}
	if (cmd_list_containers(&x, &list) != 0) {
		cmd_ctx_close(&x);
		return DW_EXIT_FAIL;
	}
	for (size_t i = 0; i < list.n; i++) {
		const char *name = list.v[i].name;
		char *path;
		long status = 0;
		int err;

		store_datasets(&x, &list.v[i]);
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
	{
		char *cause = NULL;
		int n = network_remove_sync(x.e, x.p, &cause);

		if (n < 0) {
			failed++;
			fprintf(stderr, "devwatch: %s\n", cause);
			free(cause);
		} else if (n > 0 && !json) {
			char *name = project_network_name(x.p);

			printf("removed network %s\n", name);
			free(name);
		}
	}
	/* What a killed copy left beside a sink. */
	for (size_t i = 0; i < x.p->n_containers; i++)
		for (size_t d = 0; d < x.p->containers[i].n_datasets; d++)
			if (dataset_clean_temp(x.p->containers[i].datasets[d].sink_abs) > 0 && !json)
				printf("removed temporary folders of %s\n",
				       x.p->containers[i].datasets[d].sink);
	if (json)
		printf("{\"removed\":%d,\"failed\":%d}\n", removed, failed);
	else if (removed == 0 && failed == 0)
		printf("no containers of project '%s'\n", x.p->name);
	container_list_free(&list);
	cmd_ctx_close(&x);
	return failed > 0 ? DW_EXIT_FAIL : DW_EXIT_OK;
}
