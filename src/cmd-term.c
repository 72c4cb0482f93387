/*
 * See term.h. stdout and stderr are written with plain blocking writes: a
 * foreground command has nothing else to do while its terminal drains.
 */
#include "cmd-term.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "base/util.h"

bool term_stdin_is_tty(void)
{
	return isatty(STDIN_FILENO) == 1;
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static int on_frame(int stream, const char *data, size_t len, void *arg)
{
	(void)arg;
	write_all(stream == 2 ? STDERR_FILENO : STDOUT_FILENO, data, len);
	return 0;
}

void term_output(struct term *t, bool tty, const char *data, size_t n)
{
	if (tty)
		write_all(STDOUT_FILENO, data, n);
	else
		engine_demux_feed(&t->demux, data, n, on_frame, t);
}

static void report_size(struct term *t)
{
	struct winsize ws;

	if (t->on_resize != NULL && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 &&
	    ws.ws_row > 0 && ws.ws_col > 0)
		t->on_resize(t, ws.ws_row, ws.ws_col, t->arg);
}

static void on_winch(uv_signal_t *h, int signum)
{
	(void)signum;
	report_size(container_of(h, struct term, winch));
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct term *t = container_of(h, struct term, in.handle);

	(void)hint;
	*b = uv_buf_init(t->buf, sizeof(t->buf));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct term *t = container_of(s, struct term, in.stream);

	if (n == 0)
		return;
	if (n < 0)
		term_stop_input(t);
	t->on_input(t, b->base, n, t->arg);
}

static void on_file_read(uv_fs_t *req)
{
	struct term *t = container_of(req, struct term, fsreq);
	ssize_t n = req->result;

	uv_fs_req_cleanup(req);
	if (!t->reading)
		return;
	if (n <= 0) {
		t->reading = false;
		t->on_input(t, NULL, n == 0 ? UV_EOF : n, t->arg);
		return;
	}
	t->file_off += n;
	t->on_input(t, t->buf, n, t->arg);
	if (t->reading) {
		uv_buf_t b = uv_buf_init(t->buf, sizeof(t->buf));

		uv_fs_read(t->loop, &t->fsreq, STDIN_FILENO, &b, 1, t->file_off, on_file_read);
	}
}

static int start_input(struct term *t, bool raw)
{
	uv_handle_type kind = uv_guess_handle(STDIN_FILENO);
	int rc;

	if (kind == UV_FILE) {
		uv_buf_t b = uv_buf_init(t->buf, sizeof(t->buf));

		t->is_file = true;
		t->reading = true;
		return uv_fs_read(t->loop, &t->fsreq, STDIN_FILENO, &b, 1, 0, on_file_read);
	}
	if (kind == UV_TTY) {
		rc = uv_tty_init(t->loop, &t->in.tty, STDIN_FILENO, 0);
		if (rc == 0 && raw) {
			rc = uv_tty_set_mode(&t->in.tty, UV_TTY_MODE_RAW);
			t->raw = rc == 0;
		}
	} else {
		rc = uv_pipe_init(t->loop, &t->in.pipe, 0);
		if (rc == 0)
			rc = uv_pipe_open(&t->in.pipe, STDIN_FILENO);
	}
	if (rc != 0)
		return rc;
	t->in_open = true;
	t->reading = true;
	return uv_read_start(&t->in.stream, on_alloc, on_read);
}

int term_start(struct term *t, uv_loop_t *loop, bool raw,
	       term_input_cb on_input, term_resize_cb on_resize, void *arg)
{
	int rc = 0;

	t->loop = loop;
	t->tty = term_stdin_is_tty();
	t->on_input = on_input;
	t->on_resize = on_resize;
	t->arg = arg;
	engine_demux_init(&t->demux, false);
	if (on_input != NULL && (rc = start_input(t, raw && t->tty)) != 0)
		return rc;
	if (t->tty && on_resize != NULL) {
		uv_signal_init(loop, &t->winch);
		t->winch_open = true;
		uv_signal_start(&t->winch, on_winch, SIGWINCH);
		report_size(t);
	}
	return 0;
}

void term_stop_input(struct term *t)
{
	if (!t->reading)
		return;
	t->reading = false;
	if (t->in_open)
		uv_read_stop(&t->in.stream);
	else if (t->is_file)
		uv_cancel((uv_req_t *)&t->fsreq);
}

void term_close(struct term *t)
{
	term_stop_input(t);
	if (t->raw) {
		uv_tty_reset_mode();
		t->raw = false;
	}
	if (t->in_open) {
		t->in_open = false;
		uv_close(&t->in.handle, NULL);
	}
	if (t->winch_open) {
		t->winch_open = false;
		uv_close((uv_handle_t *)&t->winch, NULL);
	}
}
