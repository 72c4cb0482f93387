/*
 * `devwatch push [-f FILE] [--tag TAG] [NAME...]`: build (or find) each
 * container's image as `up` would, then push it to publish.registry as
 * REGISTRY/PROJECT-NAME, tagged by its content hash and by a user tag
 * (--tag, else publish.tag, else "latest"). One container at a time, so
 * the layer lines read in order.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/loop.h"
#include "base/util.h"
#include "build/image.h"
#include "build/push.h"
#include "cmd-util.h"
#include "cmd.h"

struct push_run {
	struct cmd_ctx x;
	const char *tag;
	const struct project_container **todo;
	size_t n, next;
	int failed;
	bool done;
};

static void push_one(struct push_run *r);

static void progress(void *arg, const char *line)
{
	struct push_run *r = arg;

	printf("%-9s %s\n", r->todo[r->next]->name, line);
	fflush(stdout);
}

static void pushed(void *arg, int err, const char *cause)
{
	struct push_run *r = arg;

	if (err != 0) {
		fprintf(stderr, "devwatch: %s: %s\n", r->todo[r->next]->name,
			cause != NULL ? cause : dw_strerror(err));
		r->failed++;
	}
	r->next++;
	push_one(r);
}

static void built(void *arg, int err, const char *ref, bool did_build,
		  const char *cause)
{
	struct push_run *r = arg;
	const struct project_container *c = r->todo[r->next];
	char *repo, *name;
	const char *hash = ref != NULL ? strrchr(ref, ':') : NULL;
	const char *tags[2];

	(void)did_build;
	if (err != 0 || hash == NULL) {
		pushed(r, err != 0 ? err : DW_BUILD, cause);
		return;
	}
	name = project_image_repo(r->x.p, c); /* devwatch/PROJECT-NAME */
	repo = xasprintf("%s/%s", r->x.p->publish_registry,
			 strchr(name, '/') + 1);
	tags[0] = hash + 1;
	tags[1] = r->tag;
	err = image_push(r->x.e, ref, repo, tags, strcmp(tags[0], tags[1]) ? 2 : 1,
			 progress, pushed, r);
	if (err == 0)
		printf("%-9s pushing %s (%s, %s)\n", c->name, repo, tags[0], tags[1]);
	free(name);
	free(repo);
	if (err != 0)
		pushed(r, err, NULL);
}

static void push_one(struct push_run *r)
{
	int err;

	if (r->next == r->n) {
		r->done = true;
		return;
	}
	err = image_ensure(r->x.e, r->x.p, r->todo[r->next], progress, built, r);
	if (err != 0)
		pushed(r, err, NULL);
}

int cmd_push(int argc, char **argv)
{
	static const struct option opts[] = {
		{"file", required_argument, NULL, 'f'},
		{"tag", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct push_run r = {0};
	const char *file = NULL, *tag = NULL;
	int c, rc;

	while ((c = getopt_long(argc, argv, "f:t:hv", opts, NULL)) != -1) {
		switch (c) {
		case 'f': file = optarg; break;
		case 't': tag = optarg; break;
		case 'v': break;
		case 'h':
			cmd_usage(stdout, "push",
				  "  -f, --file FILE  project file (default devwatch.json, else a compose file)\n"
				  "  -t, --tag TAG    tag beside the content hash (default\n"
				  "                   publish.tag, else latest)\n");
			return DW_EXIT_OK;
		default:
			return cmd_usage_error("push", "unknown option");
		}
	}
	rc = cmd_ctx_open(&r.x, cmd_project_file(file));
	if (rc != 0)
		return rc;
	if (r.x.p->publish_registry == NULL) {
		fprintf(stderr, "devwatch: '%s' has no publish.registry; add "
				"\"publish\": {\"registry\": \"HOST[:PORT]/PREFIX\"}\n",
			r.x.p->file);
		cmd_ctx_close(&r.x);
		return DW_EXIT_USAGE;
	}
	r.tag = tag != NULL ? tag : r.x.p->publish_tag != NULL ? r.x.p->publish_tag : "latest";
	r.todo = xcalloc(r.x.p->n_containers + 1, sizeof(*r.todo));
	for (size_t i = 0; i < r.x.p->n_containers; i++) {
		const struct project_container *pc = &r.x.p->containers[i];
		bool named = optind == argc;

		for (int a = optind; a < argc; a++)
			named = named || strcmp(argv[a], pc->name) == 0;
		if (named && pc->build != NULL)
			r.todo[r.n++] = pc;
	}
	for (int a = optind; a < argc; a++) {
		const struct project_container *pc = project_find(r.x.p, argv[a]);

		if (pc == NULL || pc->build == NULL) {
			fprintf(stderr, "devwatch: %s '%s' in '%s'%s\n",
				pc == NULL ? "no container" : "nothing to push for container",
				argv[a], r.x.p->file,
				pc == NULL ? "" : ": it uses 'image', not 'build'");
			free(r.todo);
			cmd_ctx_close(&r.x);
			return DW_EXIT_USAGE;
		}
	}
	if (r.n == 0) {
		fprintf(stderr, "devwatch: no container of '%s' has 'build'; nothing to push\n",
			r.x.p->file);
		free(r.todo);
		cmd_ctx_close(&r.x);
		return DW_EXIT_USAGE;
	}
	r.done = false;
	push_one(&r);
	loop_run_until(uv_default_loop(), &r.done);
	free(r.todo);
	cmd_ctx_close(&r.x);
	return r.failed ? DW_EXIT_FAIL : DW_EXIT_OK;
}
