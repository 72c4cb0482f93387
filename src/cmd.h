/*
 * The command table: one entry per `devwatch` subcommand, each implemented in
 * its own src/cmd-*.c file (as tmux's cmd-*.c). Every command takes its own
 * argv (argv[0] is the command name), parses its options with getopt_long,
 * answers --help, and returns an exit code from DW_EXIT_*.
 */
#ifndef DW_CMD_H
#define DW_CMD_H

#include <stdbool.h>
#include <stdio.h>

struct cmd_entry {
	const char *name;
	const char *usage;   /* "up [-f FILE] [--keep] [--json]" */
	const char *summary; /* one line for `devwatch --help` */
	int (*exec)(int argc, char **argv);
};

extern const struct cmd_entry cmd_table[];

int cmd_up(int argc, char **argv);
int cmd_down(int argc, char **argv);
int cmd_push(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_logs(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_trigger(int argc, char **argv);
int cmd_invoke(int argc, char **argv);
int cmd_hash(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_exec(int argc, char **argv);
int cmd_attach(int argc, char **argv);
int cmd_run(int argc, char **argv);

/* Print "usage: devwatch <usage>" and the given option help to f. */
void cmd_usage(FILE *f, const char *name, const char *options_help);
/* Report a usage error on stderr and return DW_EXIT_USAGE. */
int cmd_usage_error(const char *name, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The project file to use: -f's value, or devwatch.json, or a compose
   file found in the current folder (project_default_file). */
const char *cmd_project_file(const char *opt_f);

#endif
