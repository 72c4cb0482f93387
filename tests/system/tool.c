/*
 * A tiny static program for the images with no shell and no tools
 * (test_live_scratch.sh, test_live_distroless.sh): the container's process
 * and the argv run steps.
 *
 *   tool serve             wait until SIGTERM
 *   tool stamp FILE WORD   write "WORD uid=U cwd=D env=$STAMP_ENV" to FILE,
 *                          say so on stdout and stderr
 *   tool fail N            say so on stderr and exit N
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void on_term(int sig)
{
	(void)sig;
	_exit(0);
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "serve") == 0) {
		signal(SIGTERM, on_term);
		for (;;)
			pause();
	}
	if (argc == 4 && strcmp(argv[1], "stamp") == 0) {
		char cwd[4096];
		const char *env = getenv("STAMP_ENV");
		FILE *f = fopen(argv[2], "w");

		if (f == NULL || getcwd(cwd, sizeof(cwd)) == NULL) {
			perror(argv[2]);
			return 1;
		}
		fprintf(f, "%s uid=%d cwd=%s env=%s\n", argv[3], (int)getuid(), cwd,
			env != NULL ? env : "");
		fclose(f);
		printf("stamped %s\n", argv[2]);
		fprintf(stderr, "stamp said %s on stderr\n", argv[3]);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "fail") == 0) {
		fprintf(stderr, "tool failing with %s\n", argv[2]);
		return atoi(argv[2]);
	}
	fprintf(stderr, "usage: tool serve | stamp FILE WORD | fail N\n");
	return 2;
}
