/*
 * `devwatch check`: not built yet.
 */
#include <stdio.h>

#include "base/error.h"
#include "cmd.h"

int cmd_check(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fputs("devwatch check: not implemented yet\n", stderr);
	return DW_EXIT_FAIL;
}
