/*
 * Container logs during `up`: followed through the engine, split into lines
 * per stream, each an event (printed by printer.c), appended to
 * .devwatch/logs/<name>.log, and the last lines kept for failure reports.
 * When the stream ends the container has stopped: before readiness that
 * fails the session; after it, it is reported.
 */
#include "up/logs.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/error.h"
#include "base/log.h"
#include "base/util.h"
#include "build/container.h"
#include "up/say.h"

#define LOG_LINE_MAX (64u << 10)

static void emit_line(struct instance *in, int stream, const char *line, size_t n)
{
	struct session *s = in->s;

	if (n > 0 && line[n - 1] == '\r')
		n--;
	if (in->tail_only)
		goto tail;
	session_emit(&(struct up_event){.kind = UP_LOG, .s = s, .in = in, .text = line,
					.len = n, .stream = stream});
	if (in->logf != NULL) {
		fprintf(in->logf, "%.*s\n", (int)n, line);
		fflush(in->logf);
	}
tail:
	free(in->tail[in->tail_next]);
	in->tail[in->tail_next] = xstrndup(line, n);
	in->tail_next = (in->tail_next + 1) % SESSION_TAIL;
}

static int on_frame(int stream, const char *data, size_t len, void *arg)
{
	struct instance *in = arg;
	struct buf *b = &in->partial[stream >= 0 && stream < 3 ? stream : 1];

	while (len > 0) {
		const char *nl = memchr(data, '\n', len);
		size_t take = nl != NULL ? (size_t)(nl - data) : len;

		if (buf_add(b, data, take) != 0) {
			/* An endless line: print what we have and go on. */
			emit_line(in, stream, b->data, b->len);
			buf_reset(b);
			continue;
		}
		if (nl == NULL)
			break;
		emit_line(in, stream, buf_str(b), b->len);
		buf_reset(b);
		data += take + 1;
		len -= take + 1;
	}
	return 0;
}

static void flush_partial(struct instance *in)
{
	for (int i = 0; i < 3; i++) {
		if (in->partial[i].len > 0)
			emit_line(in, i, in->partial[i].data, in->partial[i].len);
		buf_reset(&in->partial[i]);
	}
}

static void on_exit_inspect(struct engine_req *req, int err,
			    const struct engine_resp *resp, void *arg)
{
	struct instance *in = arg;
	struct container_info ci;

	(void)req;
	if (err != 0 || in->s->shutting_down || in->state == INST_STOPPING ||
	    in->state == INST_GONE || in->state == INST_FAILED ||
	    in->state == INST_EXITED)
		return;
	if (in->cs->c->job)
		return; /* a job's end is awaited by order.c */
	if (resp->status != 200 ||
	    container_info_parse(resp->body, resp->len, NULL, &ci) != 0) {
		session_fail(in->s, in, "container disappeared");
		return;
	}
	if (ci.running || ci.restarting) {
		/* Restarted by its policy: follow the new run. One still waiting
		   to restart has no new run yet: monitor.c follows it when the
		   engine's start event comes. */
		if (!ci.restarting)
			session_follow_logs(in, (long)time(NULL));
		container_info_free(&ci);
		return;
	}
	/* After readiness, monitor.c reports the exit from the engine's
	   events and decides what follows. */
	if (in->state == INST_PROBING || in->state == INST_STARTING) {
		session_fail_exited(in, ci.exit_code);
	}
	container_info_free(&ci);
}

static void on_logs_end(struct engine_req *req, int err,
			const struct engine_resp *resp, void *arg)
{
	struct instance *in = arg;
	struct engine_call call = {.method = "GET"};
	char path[256];

	(void)resp;
	if (in->logs == req)
		in->logs = NULL;
	flush_partial(in);
	if (err == DW_CANCELED || in->s->shutting_down || in->id == NULL ||
	    in->restarting)
		return;
	snprintf(path, sizeof(path), "/containers/%s/json", in->id);
	call.path = path;
	engine_request(in->s->e, &call, on_exit_inspect, in, NULL);
}

void session_follow_logs(struct instance *in, long since)
{
	struct engine_call call = {.method = "GET", .on_frame = on_frame,
				   .stream_arg = in, .raw_stream = in->cs->c->tty,
				   .max_body = LOG_LINE_MAX};
	char path[512];

	if (in->logf == NULL) {
		char *file = xasprintf("%s/%s.log", in->s->logdir, in->label);

		in->logf = fopen(file, "a");
		free(file);
	}
	for (int i = 0; i < 3; i++)
		if (in->partial[i].max == 0)
			buf_init(&in->partial[i], LOG_LINE_MAX);
	if (in->logs != NULL)
		engine_cancel(in->logs);
	snprintf(path, sizeof(path),
		 "/containers/%s/logs?follow=1&stdout=1&stderr=1&since=%ld", in->id,
		 since);
	call.path = path;
	engine_request(in->s->e, &call, on_logs_end, in, &in->logs);
}

void session_log_close(struct instance *in)
{
	if (in->logs != NULL) {
		/* Final: the instance may be freed before a callback could run. */
		engine_forget(in->logs);
		in->logs = NULL;
	}
	if (in->logf != NULL) {
		fclose(in->logf);
		in->logf = NULL;
	}
}

/* ---- a container that exited before it was ready ---- */

struct exited {
	struct instance *in;
	int code;
};

static void tail_fetched(struct engine_req *req, int err,
			 const struct engine_resp *resp, void *arg)
{
	struct exited *x = arg;
	struct instance *in = x->in;

	(void)req, (void)err, (void)resp;
	flush_partial(in);
	in->tail_only = false;
	if (in->cs->c->job)
		session_fail(in->s, in, "job failed with exit code %d", x->code);
	else
		session_fail(in->s, in, "exited with code %d before it was ready", x->code);
	free(x);
}

/* The follow stream may not have delivered the last lines yet (or at all,
   for a container that died at once): read the log tail from the engine,
   then fail with it. */
void session_fail_exited(struct instance *in, int code)
{
	struct exited *x;
	struct engine_call call = {.method = "GET", .on_frame = on_frame,
				   .raw_stream = in->cs->c->tty, .max_body = LOG_LINE_MAX,
				   .timeout_ms = 5000};
	char path[256];

	if (in->id == NULL || in->s->shutting_down || in->state == INST_FAILED) {
		session_fail(in->s, in, "exited with code %d before it was ready", code);
		return;
	}
	x = xcalloc(1, sizeof(*x));
	x->in = in;
	x->code = code;
	in->state = INST_FAILED;
	if (in->logs != NULL) {
		engine_forget(in->logs);
		in->logs = NULL;
	}
	flush_partial(in);
	for (int i = 0; i < SESSION_TAIL; i++) {
		free(in->tail[i]);
		in->tail[i] = NULL;
	}
	in->tail_only = true;
	snprintf(path, sizeof(path), "/containers/%s/logs?stdout=1&stderr=1&tail=%d", in->id,
		 SESSION_TAIL);
	call.path = path;
	call.stream_arg = in;
	if (engine_request(in->s->e, &call, tail_fetched, x, NULL) != 0) {
		in->tail_only = false;
		free(x);
		session_fail(in->s, in, "exited with code %d before it was ready", code);
	}
}
