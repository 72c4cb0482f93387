/*
 * `devwatch up`: not built yet.
 */
#include <stdio.h>

#include "base/error.h"
#include "cmd.h"

int cmd_up(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fputs("devwatch up: not implemented yet\n", stderr);
	return DW_EXIT_FAIL;
}
