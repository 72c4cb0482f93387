/*
 * `devwatch trigger`: not built yet.
 */
#include <stdio.h>

#include "base/error.h"
#include "cmd.h"

int cmd_trigger(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fputs("devwatch trigger: not implemented yet\n", stderr);
	return DW_EXIT_FAIL;
}
