/*
 * `devwatch serve [-f FILE] [[PATHFILE][:PORT]]`: the container manager
 * (serve.h). `:PORT` (default 4545) serves in the foreground; `PATHFILE`
 * forks, the child writes "PORT\nPID\n" to PATHFILE (a free port unless
 * one is given), and the parent exits 0 once that port accepts
 * connections, 1 if it never does.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api/apifile.h"
#include "base/error.h"
#include "base/util.h"
#include "cmd-util.h"
#include "cmd.h"
#include "api/serve.h"

#define DEFAULT_PORT 4545
#define READY_WAIT_S 120

static bool accepts(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

/* The parent: wait for the child's file and port. */
static int wait_child(pid_t child, const char *pathfile)
{
	struct timespec pause = {.tv_nsec = 20 * 1000 * 1000};
	time_t end = time(NULL) + READY_WAIT_S;
	int status;

	while (time(NULL) < end) {
		int port = 0;
		pid_t pid = 0;
		char *cause = NULL;

		if (waitpid(child, &status, WNOHANG) == child) {
			fprintf(stderr, "devwatch serve: the server exited before it listened\n");
			return DW_EXIT_FAIL;
		}
		if (apifile_read(pathfile, &port, &pid, &cause) == 0 && pid == child &&
		    accepts(port))
			return DW_EXIT_OK;
		free(cause);
		nanosleep(&pause, NULL);
	}
	fprintf(stderr, "devwatch serve: nothing listened within %d s\n", READY_WAIT_S);
	kill(child, SIGTERM);
	return DW_EXIT_FAIL;
}

/* Split [PATHFILE][:PORT]; -1 when PORT is not a port. */
static int parse_spec(const char *spec, char **pathfile, int *port)
{
	const char *colon = strrchr(spec, ':');
	char *end;
	long n;

	*pathfile = NULL;
	*port = -1;
	if (colon != NULL) {
		n = strtol(colon + 1, &end, 10);
		if (colon[1] == '\0' || *end != '\0' || n < 0 || n > 65535)
			return -1;
		*port = (int)n;
	}
	if (colon != spec && *spec != '\0')
		*pathfile = colon != NULL ? xstrndup(spec, (size_t)(colon - spec)) : xstrdup(spec);
	return 0;
}

int cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{"file", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *file = NULL;
	char *pathfile = NULL;
	int c, port = -1, rc;
	pid_t child;

	while ((c = getopt_long(argc, argv, "+f:hv", opts, NULL)) != -1) {
		switch (c) {
		case 'f': file = optarg; break;
		case 'v': break;
		case 'h':
			cmd_usage(stdout, "serve",
				  "  -f, --file FILE  project file (default devwatch.json, else a compose file)\n"
				  "  :PORT            serve in the foreground (default 4545)\n"
				  "  PATHFILE[:PORT]  serve in the background; PATHFILE gets\n"
				  "                   \"PORT\\nPID\\n\" (a free port by default)\n");
			return DW_EXIT_OK;
		default:
			return cmd_usage_error("serve", "unknown option");
		}
	}
	if (argc - optind > 1)
		return cmd_usage_error("serve", "unexpected argument '%s'", argv[optind + 1]);
	if (optind < argc && parse_spec(argv[optind], &pathfile, &port) != 0)
		return cmd_usage_error("serve", "'%s' is not [PATHFILE][:PORT] with PORT 0-65535",
				       argv[optind]);
	if (pathfile == NULL)
		return serve_run(cmd_project_file(file), port < 0 ? DEFAULT_PORT : port, NULL);
	unlink(pathfile); /* a stale one must not pass for the child's */
	fflush(NULL);
	child = fork();
	if (child < 0) {
		fprintf(stderr, "devwatch serve: cannot fork: %s\n", strerror(errno));
		free(pathfile);
		return DW_EXIT_FAIL;
	}
	if (child == 0) {
		int fd = open("/dev/null", O_RDWR);

		setsid();
		if (fd >= 0) {
			dup2(fd, 0);
			close(fd);
		}
		rc = serve_run(cmd_project_file(file), port < 0 ? 0 : port, pathfile);
		free(pathfile);
		fflush(NULL);
		_exit(rc);
	}
	rc = wait_child(child, pathfile);
	free(pathfile);
	return rc;
}
