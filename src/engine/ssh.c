/*
 * ssh:// engines, the docker CLI's way: each connection is its own
 * `ssh -o ConnectTimeout=30 -T [-l USER] [-p PORT] -- HOST docker system
 * dial-stdio`, and HTTP runs over that process's stdin and stdout.
 *
 * There is no relay in between: the child's stdin and stdout are one end of
 * a socketpair, and the other end is the connection itself. libcurl gets it
 * from CURLOPT_OPENSOCKETFUNCTION (marked already connected), a hijacked
 * exec wraps it in a uv_pipe. When that end closes, ssh sees EOF and exits;
 * the child is reaped on the loop. Children run in a session of their own
 * so a Ctrl-C at the terminal reaches devwatch, which then still has a way
 * to the engine to remove its containers; ssh therefore cannot prompt and
 * must authenticate with a key or an agent.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

int engine_ssh_dial(struct engine *e)
{
	struct engine_ssh_child *c;
	uv_process_options_t o = {0};
	uv_stdio_container_t io[3];
	char port[16], *args[16];
	int sv[2], n = 0, rc;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return -errno;
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
	io[0].data.fd = sv[1];
	io[1].flags = UV_INHERIT_FD;
	io[1].data.fd = sv[1];
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
	rc = uv_spawn(e->loop, &c->proc, &o);
	close(sv[1]);
	if (rc != 0) {
		free(e->down_reason);
		e->down_reason = xasprintf("cannot run 'ssh': %s",
					   uv_strerror(rc));
		close(sv[0]);
		/* A failed spawn still closes its handle through the loop. */
		e->open_handles++;
		uv_close((uv_handle_t *)&c->proc, child_closed);
		return DW_ENGINE_DOWN;
	}
	e->open_handles++;
	c->next = e->ssh_children;
	e->ssh_children = c;
	log_debug("engine %s: ssh pid %d", e->t.address, c->proc.pid);
	return sv[0];
}

void engine_ssh_kill_all(struct engine *e)
{
	for (struct engine_ssh_child *c = e->ssh_children; c != NULL;
	     c = c->next)
		uv_process_kill(&c->proc, SIGTERM);
}
