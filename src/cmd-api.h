/*
 * The commands' side of a running `up` session (DESIGN.md section 9):
 * `status`, `trigger`, `logs` and `invoke` ask it through its control API when
 * .devwatch/api names a live one.
 */
#ifndef DW_CMD_API_H
#define DW_CMD_API_H

#include <stdbool.h>

#include "api/client.h"

/*
 * Find the session of the project file. Returns 0 with *c; DW_NOTFOUND
 * when none runs; another negative code with *cause when the project or
 * its api file cannot be read.
 */
int cmd_api_find(const char *file, struct apiclient *c, char **cause);

/* `status [--json]` from the session; an exit code. */
int cmd_api_status(const struct apiclient *c, bool json);
/* `logs [--follow] [NAME...]` from the session; an exit code. */
int cmd_api_logs(const struct apiclient *c, char **names, int n, bool follow);
/* A name that goes into an API path as it is: what project names allow. */
bool cmd_api_plain_name(const char *name);
/* `trigger NAME`; an exit code. */
int cmd_api_trigger(const struct apiclient *c, const char *name);

#endif
