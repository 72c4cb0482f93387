/*
 * `devwatch trigger`: part of the control API (DESIGN.md section 9), which is
 * not built yet. It answers --help and says so plainly otherwise.
 */
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "cmd.h"

int cmd_trigger(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			cmd_usage(stdout, "trigger", "");
			puts("\nNot available yet: it needs the control API, which is not built.");
			return DW_EXIT_OK;
		}
	}
	fputs("devwatch trigger: not available yet: the control API it needs is not "
	      "built (see DESIGN.md section 9)\n", stderr);
	return DW_EXIT_FAIL;
}
