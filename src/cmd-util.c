/*
 * Shared by down, status and logs. See cmd-util.h.
 */
#include "cmd-util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "base/util.h"
#include "build/container.h"
#include "build/listing.h"
#include "project/compose.h"

int cmd_ctx_open(struct cmd_ctx *x, const char *file)
{
	char *cause = NULL;
	int err;

	x->p = NULL;
	x->e = NULL;
	err = project_load(file, &x->p, &cause);
	if (err != 0) {
		fprintf(stderr, "devwatch: %s\n", cause);
		free(cause);
		return err == DW_PROJECT || err == UV_ENOENT ? DW_EXIT_USAGE : DW_EXIT_FAIL;
	}
	err = engine_new(uv_default_loop(), NULL, &x->e, &cause);
	if (err != 0) {
		fprintf(stderr, "devwatch: %s\n", cause);
		free(cause);
		project_free(x->p);
		return DW_EXIT_USAGE;
	}
	return 0;
}

void cmd_ctx_close(struct cmd_ctx *x)
{
	if (x->e != NULL) {
		engine_close(x->e, NULL, NULL);
		uv_run(uv_default_loop(), UV_RUN_DEFAULT);
		uv_loop_close(uv_default_loop());
	}
	project_free(x->p);
}

int cmd_list_containers(struct cmd_ctx *x, struct container_list *out)
{
	char *filter = container_label_filter(x->p->name, NULL);
	char *path = xasprintf("/containers/json?all=1&filters=%s", filter);
	struct engine_call call = {.method = "GET", .path = path, .timeout_ms = 30000};
	char *body = NULL, *cause = NULL;
	size_t len = 0;
	long status = 0;
	int err, rc = -1;

	memset(out, 0, sizeof(*out));
	err = engine_call_sync(x->e, &call, &status, &body, &len);
	free(filter);
	free(path);
	if (err == DW_ENGINE_DOWN) {
		char *m = engine_down_message(x->e);

		fprintf(stderr, "devwatch: %s\n", m);
		free(m);
	} else if (err != 0 || status != 200) {
		fprintf(stderr, "devwatch: listing containers failed: %s\n",
			err != 0 ? dw_strerror(err) : body);
	} else if (container_list_parse(body, len, out, &cause) != 0) {
		fprintf(stderr, "devwatch: the engine's answer makes no sense: %s\n", cause);
		container_list_free(out);
		free(cause);
	} else {
		rc = 0;
	}
	free(body);
	return rc;
}

struct project *cmd_try_project(const char *dir, bool *bad)
{
	char *file = path_join(dir, project_default_file(dir)), *cause = NULL;
	struct project *p = NULL;

	*bad = false;
	if (access(file, F_OK) == 0 && project_load(file, &p, &cause) != 0) {
		fprintf(stderr, "devwatch: %s\n", cause);
		*bad = true;
	}
	free(cause);
	free(file);
	return p;
}
