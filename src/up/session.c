/*
 * The `up` session's lifecycle: load, connect, images, containers, readiness,
 * then running until a signal or a failure, then teardown. Each instance
 * walks its own chain of engine calls (instance.c: inspect -> adopt or
 * remove -> create -> start; probe.c: inspect ports -> probe); the session
 * counts instances still to become ready and the calls still to finish at
 * teardown. The watcher and live updates are live.c's.
 */
#include "up/session.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/log.h"
#include "base/util.h"
#include "build/container.h"
#include "build/image.h"
#include "up/datasets.h"
#include "up/function.h"
#include "up/instance.h"
#include "up/live.h"
#include "up/logs.h"
#include "up/monitor.h"
#include "up/network.h"
#include "up/order.h"
#include "up/printer.h"
#include "up/say.h"

static void teardown(struct session *s);
static void finish_if_done(struct session *s);

/* ---- images ---- */

static void image_progress(void *arg, const char *line)
{
	struct cstate *cs = arg;

	session_emit(&(struct up_event){.kind = UP_BUILD, .s = cs->inst[0].s, .cs = cs,
					.text = line, .len = strlen(line)});
}

static void image_done(void *arg, int err, const char *ref, bool built,
		       const char *cause)
{
	struct cstate *cs = arg;
	struct session *s = cs->inst[0].s;

	s->images_pending--;
	session_emit(&(struct up_event){.kind = UP_BUILD_END, .s = s, .cs = cs, .failed = err != 0});
	if (s->shutting_down) {
		teardown(s);
		return;
	}
	if (err != 0) {
		session_fail(s, NULL, "%s: %s", cs->c->name,
			     cause != NULL ? cause : dw_strerror(err));
		return;
	}
	cs->image_ref = xstrdup(ref);
	session_say(s, &cs->inst[0], "image", "image %s %s", ref,
		    built ? (cs->c->build != NULL ? "built" : "pulled")
			  : (cs->c->build != NULL ? "up to date, not rebuilt"
						  : "present"));
	order_image_ready(cs);
}

/* ---- teardown ---- */

static void engine_closed(void *arg)
{
	struct session *s = arg;

	s->e = NULL;
}

static void on_network_removed(int err, const char *msg, void *arg)
{
	struct session *s = arg;

	if (err != 0)
		fprintf(stderr, "devwatch: %s\n", msg);
	s->teardown_pending--;
	finish_if_done(s);
}

static void finish_if_done(struct session *s)
{
	if (s->teardown_pending > 0 || s->images_pending > 0 || s->finished)
		return;
	/* The network goes last, once no container is on it. */
	if (s->network_up && !s->o.keep && s->e != NULL) {
		s->network_up = false;
		s->teardown_pending++;
		if (network_remove(s->e, s->p, on_network_removed, s) == 0)
			return;
		s->teardown_pending--;
	}
	s->finished = true;
	session_sinks_stop(s);
	uv_signal_stop(&s->sigint);
	uv_signal_stop(&s->sigterm);
	uv_signal_stop(&s->sighup);
	for (size_t i = 0; i < s->n_cs; i++)
		for (int r = 0; r < s->cs[i].n_inst; r++)
			uv_timer_stop(&s->cs[i].inst[r].timer);
	if (s->e != NULL)
		engine_close(s->e, engine_closed, s);
}

static void on_removed(struct engine_req *req, int err,
		       const struct engine_resp *resp, void *arg)
{
	struct instance *in = arg;
	struct session *s = in->s;

	(void)req;
	if (in->state == INST_GONE)
		return; /* the other of two racing removals */
	if (err == 0 && (resp->status == 204 || resp->status == 404 ||
			 resp->status == 409))
		session_say(s, in, "removed", "removed %s", in->name);
	else
		fprintf(stderr, "devwatch: %s: could not remove %s: %s\n", in->label,
			in->name, err != 0 ? dw_strerror(err) : "the engine refused");
	in->state = INST_GONE;
	s->teardown_pending--;
	finish_if_done(s);
}

static void remove_inst(struct instance *in)
{
	struct engine_call call = {.method = "DELETE", .timeout_ms = 30000};
	char path[256];

	if (in->removing)
		return;
	in->removing = true;
	call.path = inst_path(in, "/containers/%s?force=1&v=1", path, sizeof(path));
	engine_request(in->s->e, &call, on_removed, in, NULL);
}

static void stored_then_remove(struct instance *in, void *arg)
{
	(void)arg;
	if (in->state != INST_GONE)
		remove_inst(in);
}

static void on_stopped(struct engine_req *req, int err,
		       const struct engine_resp *resp, void *arg)
{
	struct instance *in = arg;

	(void)req, (void)err, (void)resp;
	if (in->state == INST_GONE)
		return;
	/* A job stored its datasets when it ended. */
	if (in->cs->c->job || in->removing)
		remove_inst(in);
	else
		datasets_store(in, stored_then_remove, NULL);
}

static void teardown(struct session *s)
{
	s->shutting_down = true;
	monitor_stop(s);
	session_live_stop(s);
	if (s->images_pending > 0)
		return; /* image_done calls back here */
	if (s->teardown_pending > 0)
		return;
	for (size_t i = 0; i < s->n_cs; i++) {
		for (int r = 0; r < s->cs[i].n_inst; r++) {
			struct instance *in = &s->cs[i].inst[r];

			uv_timer_stop(&in->timer);
			if (in->probe != NULL)
				engine_cancel(in->probe);
			session_log_close(in);
			if (s->o.keep || in->id == NULL || in->state == INST_GONE)
				continue;
			/* Graceful first; a second signal removes at once. */
			struct engine_call call = {.method = "POST", .timeout_ms = 15000};
			char path[256], grace[64];

			in->state = INST_STOPPING;
			s->teardown_pending++;
			snprintf(grace, sizeof(grace), "/containers/%%s/stop?t=%d",
				 (in->cs->c->stop_grace_ms + 999) / 1000);
			call.path = inst_path(in, grace, path, sizeof(path));
			engine_request(s->e, &call, on_stopped, in, NULL);
		}
	}
	if (s->o.keep)
		session_say(s, NULL, "kept", "--keep: leaving the containers running");
	finish_if_done(s);
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct session *s = h->data;

	if (++s->signals == 1) {
		if (!s->o.json)
			fprintf(stderr, "\ndevwatch: %s, stopping (again to force)\n",
				signum == SIGINT   ? "interrupted"
				: signum == SIGHUP ? "the terminal closed"
						   : "terminated");
		teardown(s);
		return;
	}
	/* Second signal: remove everything now. */
	for (size_t i = 0; i < s->n_cs; i++)
		for (int r = 0; r < s->cs[i].n_inst; r++)
			if (s->cs[i].inst[r].state == INST_STOPPING)
				remove_inst(&s->cs[i].inst[r]);
}

/* ---- setup ---- */

/* A remote engine reads a bind mount's source on its own machine. */
static void warn_remote_binds(struct session *s)
{
	for (size_t i = 0; i < s->n_cs && engine_is_remote(s->e); i++)
		for (size_t m = 0; m < s->cs[i].c->n_mounts; m++)
			if (strcmp(s->cs[i].c->mounts[m].type, "bind") == 0) {
				session_say(s, NULL, "warning",
					    "the engine at %s is remote: bind mount '%s' of '%s' "
					    "is a path on the engine's machine, not this one",
					    engine_address(s->e), s->cs[i].c->mounts[m].source,
					    s->cs[i].c->name);
				return;
			}
}

static void start_images(struct session *s)
{
	if (s->shutting_down)
		return;
	for (size_t i = 0; i < s->n_cs; i++) {
		struct cstate *cs = &s->cs[i];

		s->images_pending++;
		if (image_ensure(s->e, s->p, cs->c, image_progress, image_done, cs) != 0) {
			s->images_pending--;
			session_fail(s, NULL, "%s: cannot start the image job", cs->c->name);
			return;
		}
	}
}

static void on_network(int err, const char *msg, void *arg)
{
	struct session *s = arg;

	s->teardown_pending--;
	if (err != 0) {
		session_fail(s, NULL, "%s", msg);
		return;
	}
	s->network_up = true;
	if (s->shutting_down) {
		finish_if_done(s);
		return;
	}
	session_functions_serve(s, start_images);
}

/* The project network comes first: every container joins it. */
static void images_start(struct session *s)
{
	if (s->network_up || !network_needed(s->p)) {
		session_functions_serve(s, start_images);
		return;
	}
	s->teardown_pending++;
	if (network_ensure(s->e, s->p, on_network, s) != 0)
		on_network(DW_ENGINE_DOWN, "cannot create the project network", s);
}

static void on_engine(struct engine *e, int err, void *arg)
{
	struct session *s = arg;

	if (err != 0) {
		char *m = engine_down_message(e);

		fprintf(stderr, "devwatch: %s\n", m);
		free(m);
		s->exit_code = DW_EXIT_FAIL;
		s->shutting_down = true;
		finish_if_done(s);
		return;
	}
	monitor_start(s);
	session_sinks_start(s);
	warn_remote_binds(s);
	/* Watch from the first moment: the images are built from the tree
	   the watcher has scanned, and what changes while they build and
	   start is applied once each container is ready. */
	session_live_start(s);
}

static void mkdirs(const char *path)
{
	char *p = xstrdup(path);

	for (char *q = p + 1; *q != '\0'; q++) {
		if (*q == '/') {
			*q = '\0';
			mkdir(p, 0755);
			*q = '/';
		}
	}
	mkdir(p, 0755);
	free(p);
}

static void setup_instances(struct session *s)
{
	int colour = 0;

	s->n_cs = s->p->n_containers;
	s->cs = xcalloc(s->n_cs, sizeof(*s->cs));
	s->label_width = 8;
	for (size_t i = 0; i < s->n_cs; i++) {
		struct cstate *cs = &s->cs[i];

		cs->c = &s->p->containers[i];
		cs->n_inst = cs->c->replicas;
		cs->inst = xcalloc((size_t)cs->n_inst, sizeof(*cs->inst));
		for (int r = 0; r < cs->n_inst; r++) {
			struct instance *in = &cs->inst[r];

			in->s = s;
			in->cs = cs;
			in->replica = r + 1;
			in->name = project_container_instance(s->p, cs->c, r + 1);
			in->label = cs->n_inst == 1 ? xstrdup(cs->c->name)
						    : xasprintf("%s-%d", cs->c->name, r + 1);
			in->colour = colour;
			uv_timer_init(s->loop, &in->timer);
			in->timer.data = in;
			if ((int)strlen(in->label) > s->label_width)
				s->label_width = (int)strlen(in->label);
			s->not_ready++;
		}
		cs->colour = colour++;
	}
}

static void free_session(struct session *s)
{
	monitor_free(s);
	session_sinks_release(s);
	session_live_free(s);
	for (size_t i = 0; i < s->n_cs; i++) {
		struct cstate *cs = &s->cs[i];

		for (int r = 0; r < cs->n_inst; r++)
			instance_release(&cs->inst[r], false);
		free(cs->inst);
		free(cs->image_ref);
	}
	free(s->cs);
	free(s->logdir);
	progress_release(&s->progress);
	project_free(s->p);
}

int session_run(const struct session_opts *o)
{
	struct session s = {.o = *o};
	char *cause = NULL;
	int err;

	s.start_ns = now_ns();
	s.loop = uv_default_loop();
	err = project_load(o->file, &s.p, &cause);
	if (err != 0) {
		fprintf(stderr, "devwatch: %s\n", cause);
		free(cause);
		return err == DW_PROJECT || err == UV_ENOENT ? DW_EXIT_USAGE : DW_EXIT_FAIL;
	}
	err = engine_new(s.loop, NULL, &s.e, &cause);
	if (err != 0) {
		fprintf(stderr, "devwatch: %s\n", cause);
		free(cause);
		project_free(s.p);
		return DW_EXIT_USAGE;
	}
	s.hooks.stop = teardown;
	s.hooks.images_start = images_start;
	session_add_sink(&s, &printer_sink);
	for (size_t i = 0; o->sinks != NULL && o->sinks[i] != NULL; i++)
		session_add_sink(&s, o->sinks[i]);
	s.logdir = xasprintf("%s/.devwatch/logs", s.p->root);
	mkdirs(s.logdir);
	setup_instances(&s);
	/* With -v (or --json) every builder line is printed as it comes. */
	progress_init(&s.progress, !o->json && dw_log_level <= DW_LOG_INFO, s.label_width);
	uv_signal_init(s.loop, &s.sigint);
	uv_signal_init(s.loop, &s.sigterm);
	uv_signal_init(s.loop, &s.sighup);
	s.sigint.data = s.sigterm.data = s.sighup.data = &s;
	uv_signal_start(&s.sigint, on_signal, SIGINT);
	uv_signal_start(&s.sigterm, on_signal, SIGTERM);
	uv_signal_start(&s.sighup, on_signal, SIGHUP);
	engine_negotiate(s.e, on_engine, &s);
	uv_run(s.loop, UV_RUN_DEFAULT);
	uv_close((uv_handle_t *)&s.sigint, NULL);
	uv_close((uv_handle_t *)&s.sigterm, NULL);
	uv_close((uv_handle_t *)&s.sighup, NULL);
	free_session(&s);
	uv_run(s.loop, UV_RUN_DEFAULT);
	uv_loop_close(s.loop);
	return s.exit_code;
}
