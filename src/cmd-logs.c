/*
 * `devwatch logs`: the logs of the project's containers (all, or the named
 * ones), from the engine, with the `name |` prefix; --follow keeps going.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "base/util.h"
#include "build/container.h"
#include "build/listing.h"
#include "cmd-api.h"
#include "cmd-util.h"
#include "cmd.h"

struct log_out {
	char prefix[96];
	bool at_line_start[3];
	int colour;
};

static int on_frame(int stream, const char *data, size_t len, void *arg)
{
	struct log_out *o = arg;
	FILE *f = stream == 2 ? stderr : stdout;
	int s = stream >= 0 && stream < 3 ? stream : 1;

	while (len > 0) {
		const char *nl = memchr(data, '\n', len);
		size_t take = nl != NULL ? (size_t)(nl - data) + 1 : len;

		if (o->at_line_start[s])
			fprintf(f, "%s%s |%s ", log_colour_code(o->colour), o->prefix,
				log_colour_reset());
		fwrite(data, 1, take, f);
		o->at_line_start[s] = nl != NULL;
		data += take;
		len -= take;
	}
	fflush(f);
	return 0;
}

static bool wanted(char **names, int n, const char *name)
{
	if (n == 0)
		return true;
	for (int i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

int cmd_logs(int argc, char **argv)
{
	static const struct option opts[] = {
		{"file", required_argument, NULL, 'f'},
		{"follow", no_argument, NULL, 'F'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *file = NULL;
	struct cmd_ctx x;
	struct container_list list;
	struct apiclient api;
	char *cause = NULL;
	int c, rc, follow = 0, colour = 0, err = 0;

	while ((c = getopt_long(argc, argv, "f:hv", opts, NULL)) != -1) {
		switch (c) {
		case 'f': file = optarg; break;
		case 'F': follow = 1; break;
		case 'v': break;
		case 'h':
			cmd_usage(stdout, "logs",
				  "  -f, --file FILE  project file (default devwatch.json, else a compose file)\n"
				  "      --follow     keep printing new lines\n");
			return DW_EXIT_OK;
		default:
			return cmd_usage_error("logs", "unknown option");
		}
	}
	rc = cmd_ctx_open(&x, cmd_project_file(file));
	if (rc != 0)
		return rc;
	for (int i = optind; i < argc; i++) {
		if (project_find(x.p, argv[i]) == NULL) {
			fprintf(stderr, "devwatch logs: no container '%s' in %s\n", argv[i], x.p->file);
			cmd_ctx_close(&x);
			return DW_EXIT_USAGE;
		}
	}
	/* A running session keeps its containers' lines: ask it. */
	rc = cmd_api_find(cmd_project_file(file), &api, &cause);
	if (rc == 0) {
		cmd_ctx_close(&x);
		return cmd_api_logs(&api, argv + optind, argc - optind, follow);
	}
	free(cause); /* a bad api file: the engine still answers */
	if (cmd_list_containers(&x, &list) != 0) {
		cmd_ctx_close(&x);
		return DW_EXIT_FAIL;
	}
	/* One at a time without --follow; with it, all streams together. */
	struct log_out *outs = xcalloc(list.n + 1, sizeof(*outs));
	int n = 0, pending = 0;

	for (size_t i = 0; i < list.n; i++) {
		const char *cn = list.v[i].container, *rp = list.v[i].replica;
		struct project_container *pc;
		char *path;

		if (cn[0] == '\0' || !wanted(argv + optind, argc - optind, cn))
			continue;
		pc = project_find(x.p, cn);
		struct log_out *o = &outs[n++];

		if (pc != NULL && pc->replicas > 1 && rp[0] != '\0')
			snprintf(o->prefix, sizeof(o->prefix), "%s-%s", cn, rp);
		else
			snprintf(o->prefix, sizeof(o->prefix), "%s", cn);
		o->at_line_start[1] = o->at_line_start[2] = true;
		o->colour = colour++;
		path = xasprintf("/containers/%s/logs?stdout=1&stderr=1%s", list.v[i].id,
				 follow ? "&follow=1" : "");
		struct engine_call call = {.method = "GET", .path = path, .on_frame = on_frame,
					   .stream_arg = o, .raw_stream = pc != NULL && pc->tty};
		if (follow) {
			if (engine_request(x.e, &call, NULL, NULL, NULL) == 0)
				pending++;
		} else {
			long status = 0;

			err = engine_call_sync(x.e, &call, &status, NULL, NULL);
			if (err == 0 && status != 200)
				err = DW_ENGINE_HTTP;
		}
		free(path);
	}
	if (follow && pending > 0)
		uv_run(uv_default_loop(), UV_RUN_DEFAULT);
	container_list_free(&list);
	cmd_ctx_close(&x);
	free(outs);
	return err != 0 ? DW_EXIT_FAIL : DW_EXIT_OK;
}
