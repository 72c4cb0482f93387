/*
 * What the session says (say.h): each line and failure becomes an event,
 * and every sink gets it; printing is the printer sink's (printer.c).
 */
#include "up/say.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/error.h"
#include "base/log.h"
#include "base/util.h"

void session_add_sink(struct session *s, const struct up_sink *ops)
{
	if (s->n_sinks == SESSION_SINKS)
		abort();
	s->sinks[s->n_sinks++] = (struct session_sink){.ops = ops};
}

void session_emit(const struct up_event *ev)
{
	struct session *s = ev->s;

	for (int i = 0; i < s->n_sinks; i++) {
		struct session_sink *k = &s->sinks[i];

		if (k->ops->start == NULL || k->st != NULL)
			k->ops->event(k->st, ev);
	}
}

void session_sinks_start(struct session *s)
{
	for (int i = 0; i < s->n_sinks; i++)
		if (s->sinks[i].ops->start != NULL && s->sinks[i].st == NULL)
			s->sinks[i].st = s->sinks[i].ops->start(s);
}

void session_sinks_stop(struct session *s)
{
	for (int i = 0; i < s->n_sinks; i++)
		if (s->sinks[i].st != NULL && s->sinks[i].ops->stop != NULL)
			s->sinks[i].ops->stop(s->sinks[i].st);
}

void session_sinks_release(struct session *s)
{
	for (int i = 0; i < s->n_sinks; i++) {
		if (s->sinks[i].st != NULL && s->sinks[i].ops->release != NULL)
			s->sinks[i].ops->release(s->sinks[i].st);
		s->sinks[i].st = NULL;
	}
}

static char *format(const char *fmt, va_list ap)
{
	char *msg;

	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	return msg;
}

void session_say(struct session *s, struct instance *in, const char *event,
		 const char *fmt, ...)
{
	char *msg;
	va_list ap;

	va_start(ap, fmt);
	msg = format(fmt, ap);
	va_end(ap);
	session_emit(&(struct up_event){.kind = UP_SAID, .s = s, .in = in, .name = event,
					.text = msg});
	free(msg);
}

void session_print_tail(struct session *s, struct instance *in)
{
	int n = 0;

	progress_hide(&s->progress);
	for (int i = 0; i < SESSION_TAIL; i++)
		if (in->tail[(in->tail_next + i) % SESSION_TAIL] != NULL)
			n++;
	if (n == 0) {
		fprintf(stderr, "%s: no log output\n", in->label);
		return;
	}
	fprintf(stderr, "last %d log line%s of %s:\n", n, n == 1 ? "" : "s",
		in->label);
	for (int i = 0; i < SESSION_TAIL; i++) {
		const char *l = in->tail[(in->tail_next + i) % SESSION_TAIL];

		if (l != NULL)
			fprintf(stderr, "  %s | %s\n", in->label, l);
	}
}

void session_fail(struct session *s, struct instance *in, const char *fmt, ...)
{
	char *msg;
	va_list ap;

	va_start(ap, fmt);
	msg = format(fmt, ap);
	va_end(ap);
	if (in != NULL && in->ready_cb == NULL && s->engine_lost) {
		/* Nothing answers while the engine is gone; monitor.c brings
		   the instance back with the engine. */
		log_debug("%s: %s (the engine is gone)", in->label, msg);
		in->state = INST_EXITED;
		free(msg);
		return;
	}
	/* The printer says it on stderr unless the session is ending. */
	session_emit(&(struct up_event){.kind = UP_ERROR, .s = s, .in = in, .name = "error",
					.text = msg});
	free(msg);
	if (in != NULL) {
		in->state = INST_FAILED;
		if (!s->shutting_down)
			session_print_tail(s, in);
	}
	if (in != NULL && in->ready_cb != NULL) {
		/* A restart or replacement waits on this one: it decides. */
		session_ready_cb cb = in->ready_cb;

		in->ready_cb = NULL;
		cb(in, DW_NOTREADY, in->ready_arg);
		return;
	}
	if (!s->shutting_down) {
		s->exit_code = DW_EXIT_FAIL;
		s->hooks.stop(s);
	}
}
