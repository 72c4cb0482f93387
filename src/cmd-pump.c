/*
 * See pump.h.
 */
#include "cmd-pump.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/loop.h"
#include "base/util.h"
#include "cmd-term.h"

struct pump {
	struct engine *e;
	const struct pump_opts *o;
	struct engine_hijack *h;
	struct term term;
	bool open;
	bool ended;
	int err;
};

static void on_resized(struct engine_req *req, int err,
		       const struct engine_resp *resp, void *arg)
{
	(void)req, (void)err, (void)resp, (void)arg;
}

static void on_resize(struct term *t, int rows, int cols, void *arg)
{
	struct pump *p = arg;
	char *path;

	(void)t;
	if (p->o->resize_path == NULL || p->ended)
		return;
	path = xasprintf("%s%sh=%d&w=%d", p->o->resize_path,
			 strchr(p->o->resize_path, '?') != NULL ? "&" : "?", rows, cols);
	engine_request(p->e, &(struct engine_call){.method = "POST", .path = path,
						   .timeout_ms = 10000},
		       on_resized, p, NULL);
	free(path);
}

static void on_input(struct term *t, const char *data, ssize_t n, void *arg)
{
	struct pump *p = arg;

	(void)t;
	if (p->ended || !p->open)
		return;
	if (n < 0) {
		/* The process sees the end of its input. */
		engine_hijack_shutdown(p->h);
		return;
	}
	engine_hijack_write(p->h, data, (size_t)n);
}

static void end(struct pump *p)
{
	if (p->ended)
		return;
	p->ended = true;
	term_close(&p->term);
	if (p->h != NULL)
		engine_hijack_close(p->h);
	p->h = NULL;
}

static void on_read(struct engine_hijack *h, const char *data, ssize_t n,
		    void *arg)
{
	struct pump *p = arg;

	(void)h;
	if (n < 0) {
		end(p);
		return;
	}
	term_output(&p->term, p->o->tty, data, (size_t)n);
}

static void on_open(struct engine_hijack *h, int err, void *arg)
{
	struct pump *p = arg;
	int rc;

	if (err != 0) {
		p->err = err;
		p->h = NULL;
		engine_hijack_close(h);
		p->ended = true;
		return;
	}
	p->open = true;
	rc = term_start(&p->term, engine_loop(p->e), p->o->tty,
			p->o->with_stdin ? on_input : NULL,
			p->o->tty ? on_resize : NULL, p);
	if (rc != 0) {
		p->err = rc;
		end(p);
		return;
	}
	if (p->o->opened != NULL)
		p->o->opened(p, p->o->arg);
}

void pump_stop(struct pump *p)
{
	end(p);
}

int pump_run(struct engine *e, const struct pump_opts *o, char **cause)
{
	struct pump p = {.e = e, .o = o};
	int err;

	err = engine_hijack_open(e, o->path, o->body, on_open, on_read, &p, &p.h);
	if (err != 0) {
		dw_cause(cause, "cannot connect to the engine: %s", dw_strerror(err));
		return err;
	}
	loop_run_until(engine_loop(e), &p.ended);
	end(&p);
	/* Let the closed handles go. */
	uv_run(engine_loop(e), UV_RUN_NOWAIT);
	if (p.err != 0) {
		dw_cause(cause, "the engine refused the stream: %s", dw_strerror(p.err));
		return p.err;
	}
	return 0;
}
