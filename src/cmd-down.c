/*
 * `devwatch down`: not built yet.
 */
#include <stdio.h>

#include "base/error.h"
#include "cmd.h"

int cmd_down(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fputs("devwatch down: not implemented yet\n", stderr);
	return DW_EXIT_FAIL;
}
