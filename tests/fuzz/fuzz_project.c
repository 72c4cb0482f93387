/*
 * Fuzz target: the whole project-file load (project/project.c, keys.c,
 * container.c) from text, then what is built from a valid model: engine
 * names and each container's create body (build/container.c). The file
 * stands in a scratch folder with a build context "web" and a Dockerfile.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "build/container.h"
#include "project/project.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *file;

static void put_dockerfile(const char *dir)
{
	char *df = xasprintf("%s/Dockerfile", dir);
	FILE *f = fopen(df, "w");

	if (f == NULL)
		abort();
	fputs("FROM busybox:1.36\nCOPY . /app\n", f);
	fclose(f);
	free(df);
}

static char tmpl[] = "/tmp/devwatch-fuzz-project-XXXXXX";

/* The scratch folder goes when the fuzzer exits. */
static void cleanup(void)
{
	char *p = xasprintf("%s/web/Dockerfile", tmpl);

	unlink(p);
	p[strlen(p) - strlen("/Dockerfile")] = '\0';
	rmdir(p);
	free(p);
	p = xasprintf("%s/Dockerfile", tmpl);
	unlink(p);
	free(p);
	rmdir(tmpl);
}

static void setup(void)
{
	char *dir = mkdtemp(tmpl), *sub;

	if (dir == NULL)
		abort();
	atexit(cleanup);
	sub = xasprintf("%s/web", dir);
	mkdir(sub, 0755);
	put_dockerfile(dir);
	put_dockerfile(sub);
	file = xasprintf("%s/devwatch.json", dir);
	free(sub);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct project *p = NULL;
	char *cause = NULL;

	dw_log_level = -1;
	if (file == NULL)
		setup();
	if (project_parse(file, (const char *)data, size, &p, &cause) != 0) {
		if (cause == NULL || strncmp(cause, file, strlen(file)) != 0)
			abort(); /* an error must name the file */
		free(cause);
		return 0;
	}
	for (size_t i = 0; i < p->n_containers; i++) {
		struct project_container *c = &p->containers[i];
		char *name = project_container_instance(p, c, c->replicas);
		char *repo = project_image_repo(p, c);
		char *body = container_create_body(p, c, 1, c->image != NULL ? c->image : repo);

		if (c->memory < 0 || c->replicas < 1 || strlen(c->config_hash) != 32)
			abort();
		free(name);
		free(repo);
		free(body);
	}
	project_free(p);
	return 0;
}
