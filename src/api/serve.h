/*
 * `devwatch serve`: the container manager alone (DESIGN.md section 9,
 * harpoon's container_manager): the project's containers start only when
 * /start_container asks, and /shutdown, SIGINT or SIGTERM remove them all
 * and end the process.
 */
#ifndef DW_SERVE_H
#define DW_SERVE_H

/*
 * Serve the project of file on 127.0.0.1:port (0 = a free one); with
 * pathfile, write "PORT\nPID\n" there once listening and remove it at the
 * end. Runs the loop until the end; returns an exit code.
 */
int serve_run(const char *file, int port, const char *pathfile);

#endif
