/*
 * Reading and writing the API file ("PORT\nPID\n"), atomically.
 */
#include "api/apifile.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "base/util.h"

int apifile_write(const char *path, int port, char **cause)
{
	char *tmp = xasprintf("%s.%ld.tmp", path, (long)getpid());
	FILE *f = fopen(tmp, "w");
	int err = 0;

	if (f == NULL) {
		err = -errno;
		dw_cause(cause, "cannot write '%s': %s", tmp, strerror(errno));
		goto out;
	}
	fprintf(f, "%d\n%ld\n", port, (long)getpid());
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		err = -errno;
		dw_cause(cause, "cannot write '%s': %s", path, strerror(errno));
		unlink(tmp);
	}
out:
	free(tmp);
	return err;
}

int apifile_read(const char *path, int *port, pid_t *pid, char **cause)
{
	char text[64], *end;
	FILE *f = fopen(path, "r");
	size_t n;
	long p, id;

	if (f == NULL)
		return DW_NOTFOUND;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	p = strtol(text, &end, 10);
	if (end == text || *end != '\n' || p <= 0 || p > 65535)
		goto bad;
	id = strtol(end + 1, &end, 10);
	if (id <= 0 || (*end != '\n' && *end != '\0'))
		goto bad;
	if (kill((pid_t)id, 0) != 0 && errno == ESRCH)
		return DW_NOTFOUND;
	*port = (int)p;
	*pid = (pid_t)id;
	return 0;
bad:
	dw_cause(cause, "cannot read '%s': expected \"PORT\\nPID\\n\"", path);
	return DW_PROJECT;
}

void apifile_remove(const char *path)
{
	int port;
	pid_t pid;

	if (apifile_read(path, &port, &pid, NULL) == 0 && pid == getpid())
		unlink(path);
}
