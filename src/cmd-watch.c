/*
 * `devwatch watch`: not built yet.
 */
#include <stdio.h>

#include "base/error.h"
#include "cmd.h"

int cmd_watch(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fputs("devwatch watch: not implemented yet\n", stderr);
	return DW_EXIT_FAIL;
}
