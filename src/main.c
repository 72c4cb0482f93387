/*
 * devwatch's entry point: global options, then dispatch through cmd_table.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "base/error.h"
#include "base/log.h"
#include "cmd.h"
#include "project/compose.h"

const struct cmd_entry cmd_table[] = {
	{"up", "up [-f FILE] [--keep] [--json] [-v]",
	 "start the project's containers and live-update them", cmd_up},
	{"down", "down [-f FILE] [--json]",
	 "stop and remove the project's containers", cmd_down},
	{"push", "push [-f FILE] [--tag TAG] [NAME...]",
	 "push built images to publish.registry", cmd_push},
	{"status", "status [-f FILE] [--json]",
	 "show the project's containers", cmd_status},
	{"logs", "logs [-f FILE] [--follow] [NAME...]",
	 "show container logs", cmd_logs},
	{"check", "check [-f FILE] [--json]", "validate the project file",
	 cmd_check},
	{"run", "run [-f FILE] NAME [-- ARGS...]",
	 "run a job or a one-off copy of a container in the foreground", cmd_run},
	{"exec", "exec [-f FILE] [-r N] [-T] NAME -- CMD...",
	 "run a command in a running container", cmd_exec},
	{"attach", "attach [-f FILE] [-r N] NAME",
	 "attach to a container's terminal (detach: ctrl-p ctrl-q)", cmd_attach},
	{"trigger", "trigger [-f FILE] NAME",
	 "apply pending changes to a container now", cmd_trigger},
	{"invoke", "invoke [-f FILE] NAME [--data JSON|-]",
	 "deliver one event to a function container and print its response", cmd_invoke},
	{"hash", "hash [DIR] [--json]", "hash a source tree as up would",
	 cmd_hash},
	{"watch", "watch [DIR] [--json]", "print settled change sets",
	 cmd_watch},
	{"serve", "serve [-f FILE] [[PATHFILE][:PORT]]",
	 "the container manager alone: start containers on request", cmd_serve},
	{"convert", "convert [FILE]",
	 "print the devwatch.json equivalent of a compose file", cmd_convert},
	{"version", "version [--json]", "print the version", cmd_version},
	{NULL, NULL, NULL, NULL},
};

static void usage(FILE *f)
{
	const struct cmd_entry *c;

	fputs("usage: devwatch [-v] <command> [options]\n\ncommands:\n", f);
	for (c = cmd_table; c->name != NULL; c++)
		fprintf(f, "  %-9s %s\n", c->name, c->summary);
	fputs("\nRun 'devwatch <command> --help' for a command's options.\n",
	      f);
}

void cmd_usage(FILE *f, const char *name, const char *options_help)
{
	const struct cmd_entry *c;

	for (c = cmd_table; c->name != NULL; c++) {
		if (strcmp(c->name, name) == 0) {
			fprintf(f, "usage: devwatch %s\n\n%s\n", c->usage,
				c->summary);
			break;
		}
	}
	if (options_help != NULL && options_help[0] != '\0')
		fprintf(f, "\noptions:\n%s", options_help);
}

int cmd_usage_error(const char *name, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "devwatch %s: ", name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nRun 'devwatch %s --help' for usage.\n", name);
	return DW_EXIT_USAGE;
}

const char *cmd_project_file(const char *opt_f)
{
	return opt_f != NULL ? opt_f : project_default_file(".");
}

int main(int argc, char **argv)
{
	const struct cmd_entry *c;
	int verbosity = 0, i = 1, rc;

	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "-v") == 0 ||
		    strcmp(argv[i], "--verbose") == 0) {
			verbosity++;
		} else if (strcmp(argv[i], "-h") == 0 ||
			   strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return DW_EXIT_OK;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("devwatch %s\n", DEVWATCH_VERSION);
			return DW_EXIT_OK;
		} else {
			fprintf(stderr, "devwatch: unknown option '%s'\n",
				argv[i]);
			usage(stderr);
			return DW_EXIT_USAGE;
		}
		i++;
	}
	if (i >= argc) {
		usage(stderr);
		return DW_EXIT_USAGE;
	}
	/* Commands also accept -v; count those before dispatch. */
	for (int j = i + 1; j < argc; j++) {
		if (strcmp(argv[j], "--") == 0)
			break;
		if (strcmp(argv[j], "-v") == 0 || strcmp(argv[j], "-vv") == 0)
			verbosity += (int)strlen(argv[j]) - 1;
	}
	log_setup(verbosity);
	for (c = cmd_table; c->name != NULL; c++) {
		if (strcmp(c->name, argv[i]) == 0)
			break;
	}
	if (c->name == NULL) {
		fprintf(stderr, "devwatch: unknown command '%s'\n", argv[i]);
		usage(stderr);
		return DW_EXIT_USAGE;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	optind = 1;
	rc = c->exec(argc - i, argv + i);
	curl_global_cleanup();
	return rc;
}
