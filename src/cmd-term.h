/*
 * The terminal side of exec, attach and run: stdin read on the loop (a
 * terminal in raw mode, a pipe, or a file), window-size changes, and the
 * engine's output written to stdout and stderr, demultiplexed unless the
 * container has a TTY. The mode is restored on term_close and on every
 * exit path that passes through it.
 */
#ifndef DW_TERM_H
#define DW_TERM_H

#include <stdbool.h>
#include <sys/types.h>

#include <uv.h>

#include "engine/engine.h"

struct term;

/* Bytes from stdin; n < 0 is UV_EOF or an error, after which none come. */
typedef void (*term_input_cb)(struct term *t, const char *data, ssize_t n,
			      void *arg);
/* The window is now rows x cols (also called once at term_start). */
typedef void (*term_resize_cb)(struct term *t, int rows, int cols, void *arg);

struct term {
	uv_loop_t *loop;
	bool tty;		/* stdin is a terminal */
	bool raw;		/* it is in raw mode now */
	bool reading;
	union {
		uv_handle_t handle;
		uv_stream_t stream;
		uv_tty_t tty;
		uv_pipe_t pipe;
	} in;
	bool in_open;
	uv_fs_t fsreq;		/* stdin a regular file */
	bool is_file;
	int64_t file_off;
	uv_signal_t winch;
	bool winch_open;
	struct engine_demux demux;
	term_input_cb on_input;
	term_resize_cb on_resize;
	void *arg;
	char buf[64 << 10];
};

/* True when stdin is a terminal. */
bool term_stdin_is_tty(void);

/*
 * Start reading stdin (when on_input is not NULL) and, on a terminal,
 * watching the window. raw puts the terminal in raw mode (for a TTY
 * session). Returns 0 or a negative code.
 */
int term_start(struct term *t, uv_loop_t *loop, bool raw,
	       term_input_cb on_input, term_resize_cb on_resize, void *arg);
/* Stop reading stdin (EOF already seen, or the session is over). */
void term_stop_input(struct term *t);
/* Output from the engine: raw bytes when tty, else multiplexed frames. */
void term_output(struct term *t, bool tty, const char *data, size_t n);
/* Restore the terminal and close the handles (run the loop afterwards). */
void term_close(struct term *t);

#endif
