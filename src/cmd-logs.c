/*
 * `devwatch logs`: not built yet.
 */
#include <stdio.h>

#include "base/error.h"
#include "cmd.h"

int cmd_logs(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fputs("devwatch logs: not implemented yet\n", stderr);
	return DW_EXIT_FAIL;
}
