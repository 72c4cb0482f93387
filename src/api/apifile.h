/*
 * The file that says a session is serving its API: `.devwatch/api` for
 * `up` (DESIGN.md section 9), or the PATHFILE of `devwatch serve PATHFILE`,
 * holding "PORT\nPID\n" (harpoon's format, read by shell scripts).
 *
 * It is written whole or not at all (a temporary file renamed into
 * place), so a reader never sees half of it.
 */
#ifndef DW_API_APIFILE_H
#define DW_API_APIFILE_H

#include <stdbool.h>
#include <sys/types.h>

/* Write "PORT\nPID\n" (this process) to path. 0, or a negative code with
   *cause ("cannot write '.devwatch/api': ..."). */
int apifile_write(const char *path, int port, char **cause);

/*
 * Read path. Returns 0 with *port and *pid when it is well formed and
 * its process is alive; DW_NOTFOUND when the file is missing or its
 * process is gone (a stale file from a killed session); DW_PROJECT with
 * *cause when it is malformed.
 */
int apifile_read(const char *path, int *port, pid_t *pid, char **cause);

/* Remove path if it still names this process. */
void apifile_remove(const char *path);

#endif
