/*
 * Fuzz target: the Dockerfile-input analysis (build/dockerfile.c), then the
 * question it answers, asked for a few paths, so hostile COPY globs meet
 * the glob matcher too. The text goes through a memfd, as a file would.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/log.h"
#include "build/dockerfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fd = -1;
static char path[64];

static const char *const probes[] = {
	"a", "main.c", "src/app/main.c", ".dockerignore", "a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dockerfile_inputs in;
	char *cause = NULL;

	dw_log_level = -1;
	if (fd < 0) {
		fd = memfd_create("Dockerfile", 0);
		if (fd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	if (dockerfile_inputs(path, &in, &cause) != 0)
		abort(); /* a readable file always parses */
	for (size_t i = 0; i < in.n; i++)
		if (in.src[i] == NULL || in.src[i][0] == '\0')
			abort();
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
		(void)dockerfile_is_input(&in, probes[i]);
	dockerfile_inputs_free(&in);
	free(cause);
	return 0;
}
