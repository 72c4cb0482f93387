/*
 * `devwatch up`: start the project's containers, keep them live-updated, and
 * remove them on Ctrl-C or SIGTERM (unless --keep). The session is
 * src/up/; the control API (src/api/up.c) observes it.
 */
#include <getopt.h>
#include <stdio.h>

#include "api/up.h"
#include "base/error.h"
#include "cmd.h"
#include "up/session.h"
#include "up/swarm.h"

int cmd_up(int argc, char **argv)
{
	static const struct option opts[] = {
		{"file", required_argument, NULL, 'f'},
		{"keep", no_argument, NULL, 'k'},
		{"json", no_argument, NULL, 'j'},
		{"no-watch", no_argument, NULL, 'W'},
		{"swarm", no_argument, NULL, 'S'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static const struct up_sink *const sinks[] = {&up_api_sink, NULL};
	struct session_opts o = {.sinks = sinks};
	const char *file = NULL;
	bool swarm = false;
	int c;

	while ((c = getopt_long(argc, argv, "f:hv", opts, NULL)) != -1) {
		switch (c) {
		case 'f': file = optarg; break;
		case 'k': o.keep = true; break;
		case 'j': o.json = true; break;
		case 'W': o.no_watch = true; break;
		case 'S': swarm = true; break;
		case 'v': break;
		case 'h':
			cmd_usage(stdout, "up",
				  "  -f, --file FILE  project file (default devwatch.json, else a compose file)\n"
				  "      --keep       leave the containers running on exit\n"
				  "      --json       print events as JSON lines\n"
				  "      --no-watch   start the containers, do not live-update\n"
				  "      --swarm      run each container as a service of the swarm\n"
				  "                   the engine manages (images pushed to\n"
				  "                   publish.registry)\n");
			return DW_EXIT_OK;
		default:
			return cmd_usage_error("up", "unknown option");
		}
	}
	if (optind < argc)
		return cmd_usage_error("up", "unexpected argument '%s'", argv[optind]);
	o.file = cmd_project_file(file);
	if (swarm && (o.json || o.no_watch))
		return cmd_usage_error("up", "--swarm does not take --json or --no-watch");
	if (swarm)
		return swarm_run(o.file, o.keep);
	return session_run(&o);
}
