/*
 * devwatch's in-container agent: a static executable that devwatch copies
 * into a container (/.devwatch/agent) and runs as one exec, attached over
 * a hijacked connection. It reads request frames on stdin and answers each
 * with one status frame on stdout (see proto.h); it needs nothing from the
 * image: no shell, tar or coreutils. It starts no process of its own
 * except the run steps, which get the exec's environment, working folder
 * and user (the container's), stdin from /dev/null, and their output sent
 * back as it comes.
 *
 * It ends at the end of stdin. A frame it cannot read (too long, cut
 * short) ends it with a message on stderr and exit code 3: the framing is
 * lost, and devwatch opens a new session.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "sync/agent/agent.h"

extern char **environ;

static unsigned char in[AP_FRAME_MAX];

uint64_t ag_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void write_all(int fd, struct iovec *iov, int n)
{
	while (n > 0) {
		ssize_t w = writev(fd, iov, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			_exit(0); /* devwatch is gone */
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
}

void ag_send(char type, const void *p, size_t n)
{
	unsigned char hdr[AP_FRAME_HDR];
	struct iovec iov[2] = {{hdr, sizeof(hdr)}, {(void *)p, n}};

	ap_frame_put(hdr, type, (uint32_t)n);
	write_all(1, iov, n > 0 ? 2 : 1);
}

static void send_status(char op, const struct ag_result *r, uint64_t t0)
{
	unsigned char b[64 + sizeof(r->msg)];
	struct ap_status s = {.op = op, .code = r->failed, .ns = ag_now_ns() - t0,
			      .msg = r->msg, .msg_len = r->msg_len};

	ag_send('S', b, ap_status_put(b, &s));
}

/* Read exactly n bytes. Returns 0, or -1 at the end of stdin. */
static int read_full(void *p, size_t n)
{
	unsigned char *d = p;

	while (n > 0) {
		ssize_t r = read(0, d, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		d += r;
		n -= (size_t)r;
	}
	return 0;
}

/* The XXH3-128 of this executable, so devwatch knows the copy is whole
   and current. */
static void hello(const char *self)
{
	static unsigned char buf[1u << 16];
	unsigned char b[4 + 16];
	XXH3_state_t st;
	XXH128_canonical_t c;
	int fd = open(self, O_RDONLY | O_CLOEXEC);
	ssize_t n = 0;

	if (fd < 0)
		fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	XXH3_128bits_reset(&st);
	while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
		XXH3_128bits_update(&st, buf, (size_t)n);
	if (fd >= 0)
		close(fd);
	XXH128_canonicalFromHash(&c, XXH3_128bits_digest(&st));
	ap_put_u32(b, AP_VERSION);
	memcpy(b + 4, c.digest, 16);
	if (fd < 0 || n < 0)
		memset(b + 4, 0, 16); /* cannot read itself: never matches */
	ag_send('H', b, sizeof(b));
}

/* ---- run steps ---- */

/* Forward the step's output until both pipes close. */
static void pump(int out, int err)
{
	static unsigned char buf[1 + (1u << 16)];
	struct pollfd pf[2] = {{out, POLLIN, 0}, {err, POLLIN, 0}};
	int open_n = 2;

	while (open_n > 0) {
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		for (int i = 0; i < 2; i++) {
			ssize_t n;

			if (pf[i].fd < 0 || pf[i].revents == 0)
				continue;
			n = read(pf[i].fd, buf + 1, sizeof(buf) - 1);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				close(pf[i].fd);
				pf[i].fd = -1;
				open_n--;
				continue;
			}
			buf[0] = (unsigned char)(i + 1);
			ag_send('O', buf, (size_t)n + 1);
		}
	}
}

/* Run argv (shell: through /bin/sh -c). Returns its exit code, 128 + a
   signal, or 127 when it cannot start (r says why). */
static int spawn_step(char **argv, bool shell, struct ag_result *r)
{
	posix_spawn_file_actions_t fa;
	int po[2], pe[2], rc, status;
	pid_t pid;

	if (shell && access("/bin/sh", X_OK) != 0) {
		ag_fail(r, "cannot run '%s': the image has no /bin/sh (give the step as an argv list)",
			argv[2]);
		return 127;
	}
	if (pipe2(po, O_CLOEXEC) != 0)
		return ag_fail(r, "pipe: %s", strerror(errno)), 127;
	if (pipe2(pe, O_CLOEXEC) != 0) {
		close(po[0]);
		close(po[1]);
		return ag_fail(r, "pipe: %s", strerror(errno)), 127;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, po[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	rc = shell ? posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, environ)
		   : posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(po[1]);
	close(pe[1]);
	if (rc != 0) {
		close(po[0]);
		close(pe[0]);
		ag_fail(r, "cannot run '%s': %s", shell ? argv[2] : argv[0], strerror(rc));
		return 127;
	}
	pump(po[0], pe[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 127;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

static void run(const unsigned char *p, size_t n)
{
	static char *argv[4096 + 1];
	static char strs[AP_FRAME_MAX + 4096];
	struct ag_result r = {0};
	uint64_t t0 = ag_now_ns();
	struct ap_rd rd;
	uint8_t form;
	uint32_t argc = 1;
	size_t used = 0;
	int code;

	ap_rd_init(&rd, p, n);
	form = ap_get_u8(&rd);
	if (form == AP_RUN_ARGV)
		argc = ap_get_u32(&rd);
	if (argc == 0 || argc > 4096 || (form != AP_RUN_ARGV && form != AP_RUN_SHELL))
		rd.bad = true;
	for (uint32_t i = 0; i < argc && !rd.bad; i++) {
		uint32_t len = ap_get_u32(&rd);
		const char *s = ap_get_bytes(&rd, len);

		if (s == NULL || memchr(s, '\0', len) != NULL) {
			rd.bad = true;
			break;
		}
		memcpy(strs + used, s, len);
		strs[used + len] = '\0';
		argv[form == AP_RUN_SHELL ? 2 : i] = strs + used;
		used += len + 1;
	}
	if (rd.bad || rd.n > 0) {
		ag_fail(&r, "malformed run step");
		code = 127;
	} else if (form == AP_RUN_SHELL) {
		argv[0] = (char *)"sh";
		argv[1] = (char *)"-c";
		argv[3] = NULL;
		code = spawn_step(argv, true, &r);
	} else {
		argv[argc] = NULL;
		code = spawn_step(argv, false, &r);
	}
	{
		unsigned char b[64 + sizeof(r.msg)];
		struct ap_status s = {.op = 'X', .code = code, .ns = ag_now_ns() - t0,
				      .msg = r.msg, .msg_len = r.msg_len};

		ag_send('S', b, ap_status_put(b, &s));
	}
}

int main(int argc, char **argv)
{
	struct ag_result wr = {0};
	uint64_t wt0 = 0;
	bool writing = false;

	(void)argc;
	signal(SIGPIPE, SIG_IGN);
	hello(argv[0] != NULL ? argv[0] : "/proc/self/exe");
	for (;;) {
		unsigned char hdr[AP_FRAME_HDR];
		char type;
		uint32_t len;

		if (read_full(hdr, sizeof(hdr)) != 0)
			return 0;
		if (ap_frame_get(hdr, &type, &len, AP_FRAME_MAX) != 0) {
			fprintf(stderr, "devwatch agent: a frame of %u bytes (at most %u)\n", len,
				AP_FRAME_MAX);
			return 3;
		}
		if (read_full(in, len) != 0) {
			fprintf(stderr, "devwatch agent: a frame cut short\n");
			return 3;
		}
		switch (type) {
		case 'W':
			if (!writing) {
				memset(&wr, 0, sizeof(wr));
				wt0 = ag_now_ns();
				writing = true;
			}
			if (len > 0)
				ag_write_piece(in + 1, len - 1, &wr);
			if (len == 0 || (in[0] & AP_LAST)) {
				ag_write_end(&wr);
				send_status('W', &wr, wt0);
				writing = false;
			}
			break;
		case 'D': {
			struct ag_result r = {0};
			uint64_t t0 = ag_now_ns();

			ag_delete(in, len, &r);
			send_status('D', &r, t0);
			break;
		}
		case 'L': {
			struct ag_result r = {0};
			uint64_t t0 = ag_now_ns();

			ag_list(in, len, &r);
			send_status('L', &r, t0);
			break;
		}
		case 'X':
			run(in, len);
			break;
		default: {
			struct ag_result r = {0};

			ag_fail(&r, "unknown request '%c'", type);
			send_status(type, &r, ag_now_ns());
			break;
		}
		}
	}
}
