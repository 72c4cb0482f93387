/*
 * The terminal printer (printer.h).
 */
#include "up/printer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/util.h"
#include "sync/channel.h"
#include "sync/plan.h"
#include "up/model.h"

static void print_json(cJSON *o)
{
	char *t = cJSON_PrintUnformatted(o);

	printf("%s\n", t);
	free(t);
	cJSON_Delete(o);
}

/* {"event": name, "container", "replica", "message"}: a line of the
   session, a run step's output, a builder line. */
static void json_said(struct instance *in, const char *name, const char *msg)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "event", name);
	if (in != NULL) {
		cJSON_AddStringToObject(o, "container", in->cs->c->name);
		cJSON_AddNumberToObject(o, "replica", in->replica);
	}
	cJSON_AddStringToObject(o, "message", msg);
	print_json(o);
}

static void said(const struct up_event *ev)
{
	struct session *s = ev->s;
	struct instance *in = ev->in;

	if (s->o.json)
		json_said(in, ev->name, ev->text);
	else if (in != NULL)
		printf("%s%-*s%s  %s\n", log_colour_code(in->cs->colour), s->label_width,
		       in->label, log_colour_reset(), ev->text);
	else
		printf("%-*s  %s\n", s->label_width, "devwatch", ev->text);
}

static void error(const struct up_event *ev)
{
	struct instance *in = ev->in;

	if (ev->s->shutting_down)
		return;
	fprintf(stderr, "devwatch: %s%s%s\n", in != NULL ? in->label : "", in != NULL ? ": " : "",
		ev->text);
}

/* A log line, or a run step's output line. */
static void line(const struct up_event *ev)
{
	struct session *s = ev->s;
	struct instance *in = ev->in;

	if (!s->o.json) {
		printf("%s%-*s |%s %.*s\n", log_colour_code(in->colour), s->label_width, in->label,
		       log_colour_reset(), (int)ev->len, ev->text);
		return;
	}
	char *l = xstrndup(ev->text, ev->len);

	if (ev->kind == UP_OUTPUT) {
		json_said(in, "output", l);
	} else {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "event", "log");
		cJSON_AddStringToObject(o, "container", in->cs->c->name);
		cJSON_AddNumberToObject(o, "replica", in->replica);
		cJSON_AddStringToObject(o, "stream", ev->stream == 2 ? "stderr" : "stdout");
		cJSON_AddStringToObject(o, "line", l);
		print_json(o);
	}
	free(l);
}

/* A builder line becomes the container's progress line on a terminal. */
static void build(const struct up_event *ev)
{
	struct session *s = ev->s;
	struct cstate *cs = ev->cs;

	if (s->o.json)
		json_said(&cs->inst[0], "build", ev->text);
	else if (!progress_update(&s->progress, cs->c->name, cs->colour, ev->text))
		printf("%s%-*s%s  %s\n", log_colour_code(cs->colour), s->label_width, cs->c->name,
		       log_colour_reset(), ev->text);
}

/* On a terminal, a large update is one progress line until it ends. */
static void sync_begins(const struct up_event *ev)
{
	struct session *s = ev->s;
	char line[128];

	if (s->o.json)
		return;
	snprintf(line, sizeof(line), "syncing %zu file%s, %.1f MB ...", ev->plan->n_writes,
		 ev->plan->n_writes == 1 ? "" : "s", (double)ev->plan->bytes / 1e6);
	if (progress_update(&s->progress, ev->cs->c->name, ev->cs->colour, line))
		fflush(stdout);
}

static void update_json(const struct up_event *ev)
{
	const struct up_update *u = ev->update;
	const struct sync_plan *p = u->plan;
	cJSON *o = cJSON_CreateObject(), *files, *steps;

	cJSON_AddStringToObject(o, "event", u->failed ? "update-failed" : "update");
	cJSON_AddStringToObject(o, "container", ev->cs->c->name);
	cJSON_AddStringToObject(o, "what", u->what);
	cJSON_AddNumberToObject(o, "replicas", ev->cs->n_inst);
	cJSON_AddNumberToObject(o, "count", (double)p->n_names);
	files = cJSON_AddArrayToObject(o, "files");
	for (size_t i = 0; i < p->n_names && i < 100; i++)
		cJSON_AddItemToArray(files, cJSON_CreateString(p->names[i]));
	steps = cJSON_AddArrayToObject(o, "steps");
	for (size_t i = 0; i < p->n_runs && u->ch != NULL; i++) {
		cJSON *st = cJSON_CreateObject();

		cJSON_AddStringToObject(st, "run", p->runs[i]);
		cJSON_AddNumberToObject(st, "ms", (double)channel_step_ns(u->ch, i) / 1e6);
		cJSON_AddItemToArray(steps, st);
	}
	cJSON_AddBoolToObject(o, "restarted", p->restart && !u->failed);
	cJSON_AddNumberToObject(o, "ms", (double)(u->ended - u->first_event) / 1e6);
	print_json(o);
}

/* One line per update: the container (not a replica: all of them were
   updated), what happened, the files, each step with its time, and the
   time from the first event to applied. */
static void update(const struct up_event *ev)
{
	struct session *s = ev->s;
	const struct up_update *u = ev->update;
	const struct sync_plan *p = u->plan;
	struct buf b;

	if (s->o.json) {
		update_json(ev);
		return;
	}
	buf_init(&b, 1u << 16);
	buf_adds(&b, u->what);
	if (p->n_names > 0) {
		buf_addf(&b, " %zu file%s (", p->n_names, p->n_names == 1 ? "" : "s");
		for (size_t i = 0; i < p->n_names && i < 3; i++) {
			const char *base = strrchr(p->names[i], '/');

			buf_addf(&b, "%s%s", i ? ", " : "", base ? base + 1 : p->names[i]);
		}
		if (p->n_names > 3)
			buf_addf(&b, ", +%zu more", p->n_names - 3);
		buf_adds(&b, ")");
	}
	if (ev->cs->n_inst > 1)
		buf_addf(&b, " to %d replicas", ev->cs->n_inst);
	for (size_t i = 0; i < p->n_runs && u->ch != NULL; i++) {
		uint64_t ns = channel_step_ns(u->ch, i);

		if (ns == 0 && (int)i > u->failed_step && u->failed_step >= 0)
			break;
		buf_addf(&b, " · run '%s' %.0f ms", p->runs[i], (double)ns / 1e6);
	}
	if (p->restart && !u->failed)
		buf_adds(&b, " · restarted");
	buf_addf(&b, " · %.0f ms", (double)(u->ended - u->first_event) / 1e6);
	printf("%s%-*s%s  %s\n", log_colour_code(ev->cs->colour), s->label_width,
	       ev->cs->c->name, log_colour_reset(), buf_str(&b));
	buf_release(&b);
}

static void on_event(void *st, const struct up_event *ev)
{
	struct session *s = ev->s;

	(void)st;
	switch (ev->kind) {
	case UP_BUILD:
		build(ev); /* the progress block itself */
		fflush(stdout);
		return;
	case UP_BUILD_END:
		progress_done(&s->progress, ev->cs->c->name, ev->failed);
		return;
	case UP_SYNC:
		sync_begins(ev);
		return;
	case UP_UPDATE:
		/* A large sync's progress line gives way to the update's. */
		progress_done(&s->progress, ev->cs->c->name, false);
		break;
	default:
		break;
	}
	/* The progress block is redrawn below each line. */
	progress_hide(&s->progress);
	switch (ev->kind) {
	case UP_SAID:
		said(ev);
		break;
	case UP_ERROR:
		error(ev);
		break;
	case UP_LOG:
	case UP_OUTPUT:
		line(ev);
		break;
	case UP_BUILD:
	case UP_BUILD_END:
	case UP_SYNC:
		break;
	case UP_UPDATE:
		update(ev);
		break;
	}
	fflush(stdout);
	if (ev->kind != UP_ERROR)
		progress_show(&s->progress);
}

const struct up_sink printer_sink = {.event = on_event};
