/*
 * ssh:// engines, the docker CLI's way: each connection is its own
 * `ssh -o ConnectTimeout=30 -T [-l USER] [-p PORT] -- HOST docker system
 * dial-stdio`, and HTTP runs over that process's stdin and stdout.
 *
 * libcurl wants a socket it can connect to itself (the libcurl 7.88 of
 * Debian 12 fails an already-connected one from CURLOPT_OPENSOCKETFUNCTION:
 * curl issue #10626), so the engine gets a unix socket in a private folder
 * (mode 0700) under $TMPDIR. Each connection accepted there is handed, as
 * it is, to a new dial-stdio child as its stdin and stdout: there is no
 * relay loop and no copy in devwatch. When the client end closes, ssh sees
 * EOF and exits, and the child is reaped on the loop. REST calls and
 * hijacked execs both connect there, as to any unix socket.
 *
 * Children run in a session of their own, so a Ctrl-C at the terminal
 * reaches devwatch alone, which then still has a way to the engine to
 * remove its containers; ssh therefore cannot prompt and must authenticate
 * with a key or an agent.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "base/log.h"
#include "base/util.h"
#include "engine/engine-int.h"

struct engine_ssh_child {
	uv_process_t proc;
	struct engine *e;
	struct engine_ssh_child *next;
};

static void unlink_child(struct engine_ssh_child *c)
{
	struct engine_ssh_child **pp;

	for (pp = &c->e->ssh_children; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			return;
		}
	}
}

static void child_closed(uv_handle_t *h)
{
	struct engine_ssh_child *c = container_of(h, struct engine_ssh_child,
						  proc);
	struct engine *e = c->e;

	free(c);
	engine_handle_closed(e);
}

static void child_exited(uv_process_t *p, int64_t status, int sig)
{
	struct engine_ssh_child *c = container_of(p, struct engine_ssh_child,
						  proc);

	log_debug("engine %s: ssh exited (status %lld, signal %d)",
		  c->e->t.address, (long long)status, sig);
	unlink_child(c);
	uv_close((uv_handle_t *)p, child_closed);
}

/* Run a dial-stdio child on fd (a connection accepted on the listener). */
static int spawn_child(struct engine *e, int fd)
{
	struct engine_ssh_child *c;
	uv_process_options_t o = {0};
	uv_stdio_container_t io[3];
	char port[16], *args[16];
	int n = 0, rc;

	args[n++] = "ssh";
	args[n++] = "-o";
	args[n++] = "ConnectTimeout=30";
	args[n++] = "-T";
	if (e->t.user != NULL) {
		args[n++] = "-l";
		args[n++] = e->t.user;
	}
	if (e->t.port != 0) {
		snprintf(port, sizeof(port), "%d", e->t.port);
		args[n++] = "-p";
		args[n++] = port;
	}
	args[n++] = "--";
	args[n++] = e->t.host;
	args[n++] = "docker";
	args[n++] = "system";
	args[n++] = "dial-stdio";
	args[n] = NULL;
	io[0].flags = UV_INHERIT_FD;
	io[0].data.fd = fd;
	io[1].flags = UV_INHERIT_FD;
	io[1].data.fd = fd;
	io[2].flags = UV_INHERIT_FD;
	io[2].data.fd = STDERR_FILENO;
	o.file = "ssh";
	o.args = args;
	o.stdio = io;
	o.stdio_count = 3;
	o.exit_cb = child_exited;
	o.flags = UV_PROCESS_DETACHED;
	c = xcalloc(1, sizeof(*c));
	c->e = e;
	e->open_handles++;
	rc = uv_spawn(e->loop, &c->proc, &o);
	if (rc != 0) {
		log_warn("cannot run 'ssh' for %s: %s", e->t.address,
			 uv_strerror(rc));
		/* A failed spawn still closes its handle through the loop. */
		uv_close((uv_handle_t *)&c->proc, child_closed);
		return rc;
	}
	c->next = e->ssh_children;
	e->ssh_children = c;
	log_debug("engine %s: ssh pid %d", e->t.address, c->proc.pid);
	return 0;
}

static void conn_closed(uv_handle_t *h)
{
	struct engine *e = h->data;

	free(h);
	engine_handle_closed(e);
}

static void on_connection(uv_stream_t *server, int status)
{
	struct engine *e = server->data;
	uv_pipe_t *conn;
	uv_os_fd_t fd;

	if (status < 0)
		return;
	conn = xmalloc(sizeof(*conn));
	uv_pipe_init(e->loop, conn, 0);
	conn->data = e;
	e->open_handles++;
	/* The child gets the descriptor; ours closes once it is spawned, and
	   a failed spawn closes the connection, which the client sees. */
	if (uv_accept(server, (uv_stream_t *)conn) == 0 &&
	    uv_fileno((uv_handle_t *)conn, &fd) == 0)
		spawn_child(e, fd);
	uv_close((uv_handle_t *)conn, conn_closed);
}

int engine_ssh_listen(struct engine *e, char **cause)
{
	const char *tmp = getenv("TMPDIR");
	char *dir;
	int rc;

	if (tmp == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	dir = xasprintf("%s/devwatch-ssh-XXXXXX", tmp);
	if (mkdtemp(dir) == NULL) {
		dw_cause(cause, "cannot make a folder in '%s' for the ssh "
				"engine's socket: %s", tmp, strerror(errno));
		free(dir);
		return DW_USAGE;
	}
	e->ssh_dir = dir;
	e->ssh_sock = xasprintf("%s/engine.sock", dir);
	rc = uv_pipe_init(e->loop, &e->ssh_listener, 0);
	if (rc == 0) {
		e->ssh_listening = true;
		e->ssh_listener.data = e;
		rc = uv_pipe_bind(&e->ssh_listener, e->ssh_sock);
	}
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&e->ssh_listener, 64,
			       on_connection);
	if (rc != 0) {
		dw_cause(cause, "cannot listen on '%s' for the ssh engine: %s",
			 e->ssh_sock, uv_strerror(rc));
		return DW_USAGE;
	}
	return 0;
}

static void listener_closed(uv_handle_t *h)
{
	engine_handle_closed(h->data);
}

void engine_ssh_close(struct engine *e)
{
	if (e->ssh_sock != NULL)
		unlink(e->ssh_sock);
	if (e->ssh_dir != NULL)
		rmdir(e->ssh_dir);
	if (e->ssh_listening) {
		e->ssh_listening = false;
		e->open_handles++;
		uv_close((uv_handle_t *)&e->ssh_listener, listener_closed);
	}
	for (struct engine_ssh_child *c = e->ssh_children; c != NULL;
	     c = c->next)
		uv_process_kill(&c->proc, SIGTERM);
}
