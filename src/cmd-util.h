/*
 * What the one-shot commands (down, status, logs) share: load the project,
 * connect to the engine with its own loop, and list the project's
 * containers by label.
 */
#ifndef DW_CMD_UTIL_H
#define DW_CMD_UTIL_H

#include <cjson/cJSON.h>

#include "engine/engine.h"
#include "project/project.h"

struct cmd_ctx {
	struct project *p;
	struct engine *e;
};

/* Returns 0, or an exit code after printing why. */
int cmd_ctx_open(struct cmd_ctx *x, const char *file);
void cmd_ctx_close(struct cmd_ctx *x);
struct container_list;
/* GET /containers/json?all=1 for the project's label, checked (see
   build/listing.h). Returns 0, or -1 after printing why. Free the list
   with container_list_free. */
int cmd_list_containers(struct cmd_ctx *x, struct container_list *out);



#include "watch/watch.h"

/* Load dir's project file (devwatch.json, or a compose file) when there is
   one (NULL otherwise, or on error, which is printed when it exists but is
   broken: *bad set). */
struct project *cmd_try_project(const char *dir, bool *bad);
#endif
