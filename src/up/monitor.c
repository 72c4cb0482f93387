/*
 * The engine's event stream during `up`, and what follows from it: crash
 * reports, the engine's restarts of a container, the crash-loop rule, waking
 * an exited container for a save, and finding the engine again after it
 * went away. See monitor.h for the contract.
 *
 * Glossary of an instance's phase (struct mon_inst):
 *   OK          nothing to do; session.c and live.c own the instance
 *   EXITED      it exited and stays so (restart never, or readiness failed
 *               after a restart); the next save wakes it
 *   LOOPED      a crash loop: restarts turned off, stopped; a save wakes it
 *   RESTARTING  the engine restarts it: readiness again on its next start
 *   WAKING      devwatch starts it again for a save, then readiness
 *   LOST        the engine is gone
 *   RECOVERING  the engine is back: re-adopt, start or create, readiness,
 *               then a catch-up sync
 * Updates wait (session_wake) in every phase but OK.
 */
#include "up/monitor.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "base/error.h"
#include "base/log.h"
#include "base/util.h"
#include "build/container.h"
#include "up/function.h"
#include "up/logs.h"
#include "up/monitor-int.h"

#define EVENT_LINE_MAX (64u << 10)
#define TAIL_LINE_MAX (16u << 10)

static void subscribe(struct monitor *m);

static const char *policy_name(enum restart_policy p)
{
	return p == RESTART_ALWAYS ? "always" : p == RESTART_ON_FAILURE ? "on-failure" : "never";
}

bool mon_gone(const struct monitor *m)
{
	return m->stopped || m->s->shutting_down;
}

/* ---- waiters ---- */

void mon_resolve(struct mon_inst *mi, int err)
{
	session_ready_cb cb = mi->wake_cb;

	mi->wake_cb = NULL;
	if (cb != NULL)
		cb(mi->in, err, mi->wake_arg);
}

void mon_quiesce(struct instance *in, enum inst_state st)
{
	/* It exited: whatever its runtime held will not be answered. */
	if (st == INST_EXITED)
		session_function_gone(in, "the function's container exited");
	uv_timer_stop(&in->timer);
	in->liveness = false;
	in->state = st;
	if (in->probe != NULL) {
		engine_cancel(in->probe);
		in->probe = NULL;
	}
}

/* ---- the log tail of a crash ---- */

struct tail {
	struct mon_inst *mi;
	char *msg;
	struct buf part;
	char *lines[SESSION_TAIL];
	int n;
};

static void tail_line(struct tail *t, const char *l, size_t n)
{
	if (n > 0 && l[n - 1] == '\r')
		n--;
	if (t->n == SESSION_TAIL) {
		free(t->lines[0]);
		memmove(t->lines, t->lines + 1, sizeof(t->lines[0]) * (SESSION_TAIL - 1));
		t->n--;
	}
	t->lines[t->n++] = xstrndup(l, n);
}

static int tail_frame(int stream, const char *data, size_t len, void *arg)
{
	struct tail *t = arg;

	(void)stream;
	while (len > 0) {
		const char *nl = memchr(data, '\n', len);
		size_t take = nl != NULL ? (size_t)(nl - data) : len;
		size_t room = TAIL_LINE_MAX - t->part.len;

		/* A longer line is cut at the cap. */
		buf_add(&t->part, data, take < room ? take : room);
		if (nl == NULL)
			break;
		tail_line(t, buf_str(&t->part), t->part.len);
		buf_reset(&t->part);
		data += take + 1;
		len -= take + 1;
	}
	return 0;
}

static void tail_done(struct engine_req *req, int err, const struct engine_resp *resp,
		      void *arg)
{
	struct tail *t = arg;
	struct instance *in = t->mi->in;

	(void)req, (void)resp;
	if (t->part.len > 0)
		tail_line(t, t->part.data, t->part.len);
	if (err != DW_CANCELED && !mon_gone(t->mi->m)) {
		session_say(in->s, in, "exited", "%s", t->msg);
		progress_hide(&in->s->progress);
		if (t->n == 0)
			fprintf(stderr, "%s: no log output\n", in->label);
		else
			fprintf(stderr, "last %d log line%s of %s:\n", t->n,
				t->n == 1 ? "" : "s", in->label);
		for (int i = 0; i < t->n; i++)
			fprintf(stderr, "  %s | %s\n", in->label, t->lines[i]);
		fflush(stderr);
		progress_show(&in->s->progress);
	}
	for (int i = 0; i < t->n; i++)
		free(t->lines[i]);
	buf_release(&t->part);
	free(t->msg);
	free(t);
}

/* Say msg (one line), then the container's last log lines. The message
   goes out even when the logs cannot be read. */
static void report_with_tail(struct mon_inst *mi, const char *id, char *msg)
{
	struct instance *in = mi->in;
	struct engine_call call = {.method = "GET", .on_frame = tail_frame,
				   .raw_stream = in->cs->c->tty, .max_body = TAIL_LINE_MAX,
				   .timeout_ms = 5000};
	struct tail *t = xcalloc(1, sizeof(*t));
	char path[256];

	t->mi = mi;
	t->msg = msg;
	buf_init(&t->part, TAIL_LINE_MAX);
	snprintf(path, sizeof(path), "/containers/%s/logs?stdout=1&stderr=1&tail=%d", id,
		 SESSION_TAIL);
	call.path = path;
	call.stream_arg = t;
	if (engine_request(in->s->e, &call, tail_done, t, NULL) != 0)
		tail_done(NULL, 0, NULL, t);
}

/* ---- crashes ---- */

static int recent_exits(struct mon_inst *mi)
{
	uint64_t now = now_ns(), window = (uint64_t)MONITOR_LOOP_SECS * 1000000000u;
	int n = 0;

	for (int i = 0; i < MONITOR_LOOP_EXITS; i++)
		if (mi->exits[i] != 0 && now - mi->exits[i] <= window)
			n++;
	return n;
}

static void loop_stop(struct mon_inst *mi);

static void on_loop_inspect(struct engine_req *req, int err, const struct engine_resp *resp,
			    void *arg)
{
	struct mon_inst *mi = arg;
	struct container_info ci;

	(void)req;
	if (err != 0 || mon_gone(mi->m) || mi->phase != MP_LOOPED || resp->status != 200)
		return;
	if (container_info_parse(resp->body, resp->len, NULL, &ci) != 0)
		return;
	/* A restart the engine had already scheduled may still have fired. */
	if ((ci.running || ci.restarting) && ++mi->stop_tries < 5)
		loop_stop(mi);
	container_info_free(&ci);
}

static void on_loop_stopped(struct engine_req *req, int err, const struct engine_resp *resp,
			    void *arg)
{
	struct mon_inst *mi = arg;
	struct engine_call call = {.method = "GET"};
	char path[256];

	(void)req, (void)resp;
	if (err != 0 || mon_gone(mi->m) || mi->phase != MP_LOOPED || mi->in->id == NULL)
		return;
	snprintf(path, sizeof(path), "/containers/%s/json", mi->in->id);
	call.path = path;
	engine_request(mi->m->s->e, &call, on_loop_inspect, mi, NULL);
}

static void loop_stop(struct mon_inst *mi)
{
	struct engine_call call = {.method = "POST", .timeout_ms = 30000};
	char path[256];

	monitor_expect_exit(mi->in);
	snprintf(path, sizeof(path), "/containers/%s/stop?t=1", mi->in->id);
	call.path = path;
	engine_request(mi->m->s->e, &call, on_loop_stopped, mi, NULL);
}

static void on_policy_off(struct engine_req *req, int err, const struct engine_resp *resp,
			  void *arg)
{
	struct mon_inst *mi = arg;

	(void)req;
	if (err != 0 || mon_gone(mi->m) || mi->phase != MP_LOOPED)
		return;
	if (resp->status != 200) {
		char *m = engine_error_message(resp->body, resp->len);

		log_warn("%s: cannot turn its restart policy off: %s", mi->in->label, m);
		free(m);
	}
	loop_stop(mi);
}

static void crash_loop(struct mon_inst *mi, const char *id)
{
	struct instance *in = mi->in;

	mon_quiesce(in, INST_EXITED);
	if (in->ready_cb == mon_on_ready)
		in->ready_cb = NULL;
	mi->phase = MP_LOOPED;
	mi->woke = false;
	mi->policy_off = true;
	mi->stop_tries = 0;
	report_with_tail(mi, id,
			 xasprintf("crash loop: exited %d times in %d s (last exit code %d); "
				   "stopped it and turned its restarts off; the next save "
				   "that touches it starts it again",
				   recent_exits(mi), MONITOR_LOOP_SECS, mi->last_code));
	mon_set_policy(mi, false, on_policy_off);
	mon_resolve(mi, DW_CRASHED);
}

/* The engine started it again after a crash: readiness again. */
static void engine_restarted(struct mon_inst *mi)
{
	struct instance *in = mi->in;

	if (in->state == INST_PROBING || in->state == INST_STARTING)
		return; /* already waiting for it */
	session_say(in->s, in, "restarted",
		    "restarted by the engine (restart: %s); waiting for readiness",
		    policy_name(in->cs->c->restart));
	mon_bring_up(mi);
}

static void on_die_inspect(struct engine_req *req, int err, const struct engine_resp *resp,
			   void *arg)
{
	struct mon_inst *mi = arg;
	struct instance *in = mi->in;
	struct container_info ci;
	bool restarts;

	(void)req;
	if (err != 0 || mon_gone(mi->m) || resp->status != 200)
		return; /* removed (ours), or the engine went away */
	if (container_info_parse(resp->body, resp->len, NULL, &ci) != 0)
		return;
	restarts = ci.running || ci.restarting || mi->started_seen;
	if (in->id == NULL || strcmp(ci.id, in->id) != 0 ||
	    (mi->phase != MP_OK && mi->phase != MP_RESTARTING && mi->phase != MP_WAKING)) {
		container_info_free(&ci);
		return;
	}
	if (restarts && recent_exits(mi) >= MONITOR_LOOP_EXITS) {
		crash_loop(mi, ci.id);
	} else if (restarts) {
		if (in->state == INST_READY)
			mon_quiesce(in, INST_EXITED);
		mi->phase = MP_RESTARTING;
		report_with_tail(mi, ci.id,
				 xasprintf("exited unexpectedly with code %d (%d in %d s); the "
					   "engine restarts it (restart: %s)",
					   mi->last_code, recent_exits(mi), MONITOR_LOOP_SECS,
					   policy_name(in->cs->c->restart)));
		if (mi->started_seen)
			engine_restarted(mi);
	} else {
		mon_quiesce(in, INST_EXITED);
		if (in->ready_cb == mon_on_ready)
			in->ready_cb = NULL;
		mi->phase = MP_EXITED;
		mi->woke = false;
		report_with_tail(mi, ci.id,
				 xasprintf("%s with code %d and stays stopped "
					   "(restart: %s); the next save that touches it starts "
					   "it again",
					   mi->killed ? "was stopped from outside devwatch"
						      : "exited unexpectedly",
					   mi->last_code, policy_name(in->cs->c->restart)));
		mon_resolve(mi, DW_CRASHED);
	}
	container_info_free(&ci);
}

static void on_die(struct mon_inst *mi, const char *id, int code, bool killed)
{
	struct instance *in = mi->in;
	struct engine_call call = {.method = "GET"};
	char path[256];

	if (in->restarting || in->removing || in->state == INST_STOPPING ||
	    in->state == INST_GONE)
		return;
	if (mi->phase != MP_OK && mi->phase != MP_RESTARTING && mi->phase != MP_WAKING)
		return;
	/* Before readiness (start-up, or a restart of a live update) the
	   waiting side decides; session.c fails start-up with the log tail. */
	if (mi->phase == MP_OK && in->state != INST_READY && !mi->woke)
		return;
	mi->exits[mi->next_exit] = now_ns();
	mi->next_exit = (mi->next_exit + 1) % MONITOR_LOOP_EXITS;
	mi->last_code = code;
	mi->killed = killed;
	mi->started_seen = false;
	snprintf(path, sizeof(path), "/containers/%s/json", id);
	call.path = path;
	engine_request(in->s->e, &call, on_die_inspect, mi, NULL);
}

/* Removed from outside devwatch: the next save creates it anew. */
static void on_destroy(struct mon_inst *mi)
{
	struct instance *in = mi->in;

	if (in->restarting || in->removing || in->state == INST_STOPPING ||
	    in->state == INST_GONE || !in->s->all_ready ||
	    mi->phase == MP_LOST || mi->phase == MP_RECOVERING || mi->phase == MP_WAKING)
		return;
	mon_quiesce(in, INST_EXITED);
	if (in->ready_cb == mon_on_ready)
		in->ready_cb = NULL;
	mi->phase = MP_EXITED;
	mi->policy_off = false;
	session_say(in->s, in, "removed-outside",
		    "%s was removed outside devwatch; the next save that touches it "
		    "creates it again", in->name);
	mon_resolve(mi, DW_CRASHED);
}

static void on_start(struct mon_inst *mi, const char *id)
{
	struct instance *in = mi->in;

	/* The engine started it again (a restart policy): its log stream
	   ended with the last run. */
	if (in->logs == NULL && in->state != INST_GONE && in->state != INST_STOPPING &&
	    strcmp(in->id, id) == 0)
		session_follow_logs(in, (long)time(NULL) - 1);
	if (mi->expect_id != NULL && strcmp(mi->expect_id, id) == 0) {
		/* Started again after our own stop: its next exit is news. */
		free(mi->expect_id);
		mi->expect_id = NULL;
	}
	mi->started_seen = true;
	if (mi->phase == MP_RESTARTING)
		engine_restarted(mi);
}

/* Paused from outside devwatch: an update in the session open into it
   would wait for the unpause without a word. The live side sends it
   again, the engine refuses the new exec, and it is held and said so. */
static void on_pause(struct mon_inst *mi)
{
	struct instance *in = mi->in;

	if (in->s->hooks.paused != NULL && in->state != INST_GONE && in->state != INST_STOPPING)
		in->s->hooks.paused(in);
}

/* ---- the event stream ---- */

static struct mon_inst *find(struct monitor *m, const char *id)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->mi[i].in->id != NULL && strcmp(m->mi[i].in->id, id) == 0)
			return &m->mi[i];
	return NULL;
}

static void handle_events(uv_timer_t *t)
{
	struct monitor *m = container_of(t, struct monitor, defer);
	uint64_t now = now_ns(), next = 0;
	int kept = 0;

	/* In order; from the first one not due yet, everything waits. */
	for (int i = 0; i < m->queued; i++) {
		struct event *ev = &m->queue[i];
		struct mon_inst *mi;

		if (kept > 0 || ev->due_ns > now) {
			if (kept == 0)
				next = ev->due_ns;
			m->queue[kept++] = *ev;
			continue;
		}
		if (mon_gone(m) || m->lost)
			continue;
		if (ev->killed && (m->events == NULL || ev->stream != m->stream))
			continue; /* the stream ended since: the engine went down */
		mi = find(m, ev->id);
		if (mi == NULL)
			continue;
		if (ev->die)
			on_die(mi, ev->id, ev->code, ev->killed);
		else if (ev->destroy)
			on_destroy(mi);
		else if (ev->pause)
			on_pause(mi);
		else
			on_start(mi, ev->id);
	}
	m->queued = kept;
	if (kept > 0)
		uv_timer_start(&m->defer, handle_events, (next - now) / 1000000 + 1, 0);
}

static int on_event(const char *line, size_t len, void *arg)
{
	struct monitor *m = arg;
	cJSON *o = cJSON_ParseWithLength(line, len);
	cJSON *action = cJSON_GetObjectItem(o, "Action");
	cJSON *actor = cJSON_GetObjectItem(o, "Actor");
	cJSON *id = cJSON_GetObjectItem(actor, "ID");
	cJSON *tn = cJSON_GetObjectItem(o, "timeNano");
	struct mon_inst *mi;

	log_trace("engine event %.*s", (int)len, line);
	if (cJSON_IsNumber(tn) && tn->valuedouble > 0) {
		long long ns = (long long)tn->valuedouble;

		snprintf(m->last_time, sizeof(m->last_time), "%lld.%09lld", ns / 1000000000,
			 ns % 1000000000);
	}
	if (mon_gone(m) || !cJSON_IsString(action) || !cJSON_IsString(id) ||
	    strlen(id->valuestring) >= sizeof(m->queue[0].id) ||
	    (mi = find(m, id->valuestring)) == NULL) {
		cJSON_Delete(o);
		return 0;
	}
	/* Bookkeeping only here: a request started from inside this
	   callback would stall, so the rest waits for handle_events. */
	if (strcmp(action->valuestring, "kill") == 0)
		mi->kill_ns = now_ns();
	else if (strcmp(action->valuestring, "start") == 0)
		mi->kill_ns = 0; /* a kill stops the run it was sent to only */
	if ((strcmp(action->valuestring, "die") == 0 ||
	     strcmp(action->valuestring, "destroy") == 0) &&
	    mi->expect_id != NULL && strcmp(mi->expect_id, id->valuestring) == 0) {
		/* our own stop or removal */
	} else if (strcmp(action->valuestring, "die") != 0 &&
		   strcmp(action->valuestring, "start") != 0 &&
		   strcmp(action->valuestring, "destroy") != 0 &&
		   strcmp(action->valuestring, "pause") != 0) {
		/* not ours to handle */
	} else if (m->queued == EVENT_QUEUE) {
		log_warn("too many engine events at once; dropped a '%s'", action->valuestring);
	} else {
		struct event *ev = &m->queue[m->queued++];
		cJSON *code = cJSON_GetObjectItem(cJSON_GetObjectItem(actor, "Attributes"),
						  "exitCode");

		ev->die = strcmp(action->valuestring, "die") == 0;
		ev->destroy = strcmp(action->valuestring, "destroy") == 0;
		ev->pause = strcmp(action->valuestring, "pause") == 0;
		ev->code = cJSON_IsString(code) ? atoi(code->valuestring) : -1;
		ev->killed = ev->die && mi->kill_ns != 0 && now_ns() - mi->kill_ns < KILL_WINDOW_NS;
		ev->due_ns = ev->killed ? now_ns() + KILL_GRACE_MS * 1000000ull : 0;
		ev->stream = m->stream;
		snprintf(ev->id, sizeof(ev->id), "%s", id->valuestring);
		if (m->queued == 1 || ev->due_ns == 0)
			uv_timer_start(&m->defer, handle_events,
				       ev->due_ns != 0 ? KILL_GRACE_MS : 0, 0);
	}
	cJSON_Delete(o);
	return 0;
}

static void resubscribe(uv_timer_t *t)
{
	struct monitor *m = container_of(t, struct monitor, timer);

	if (!mon_gone(m) && !m->lost && m->events == NULL)
		subscribe(m);
}

static void on_ping_after_end(struct engine_req *req, int err, const struct engine_resp *resp,
			      void *arg)
{
	struct monitor *m = arg;

	(void)req;
	if (mon_gone(m) || err == DW_CANCELED)
		return;
	if (err != 0 || resp->status != 200) {
		mon_engine_lost(m, err != 0 ? dw_strerror(err) : "it answered with an error");
		return;
	}
	/* The stream ended but the engine answers: follow it again (not at
	   once, should it keep ending). */
	uv_timer_start(&m->timer, resubscribe, MONITOR_BACKOFF_MIN_MS, 0);
}

static void events_ended(struct engine_req *req, int err, const struct engine_resp *resp,
			 void *arg)
{
	struct monitor *m = arg;
	struct engine_call call = {.method = "GET", .path = "/_ping", .timeout_ms = 3000};

	if (m->events == req)
		m->events = NULL;
	if (mon_gone(m) || err == DW_CANCELED || m->lost)
		return;
	if (err == 0 && resp->status != 200) {
		char *msg = engine_error_message(resp->body, resp->len);

		/* Crashes go unreported until it answers; try again later. */
		if (!m->refused)
			session_say(m->s, NULL, "notice",
				    "cannot follow the engine's events (%ld: %s); crashes are "
				    "not reported meanwhile; trying again every %d s",
				    resp->status, msg, MONITOR_BACKOFF_MAX_MS / 1000);
		m->refused = true;
		free(msg);
		uv_timer_start(&m->timer, resubscribe, MONITOR_BACKOFF_MAX_MS, 0);
		return;
	}
	log_debug("the engine's event stream ended: %s", err != 0 ? dw_strerror(err) : "closed");
	if (engine_request(m->s->e, &call, on_ping_after_end, m, NULL) != 0)
		mon_engine_lost(m, "cannot ask it");
}

static void subscribe(struct monitor *m)
{
	struct engine_call call = {.method = "GET", .on_line = on_event, .max_body = EVENT_LINE_MAX};
	char *filters, *enc, *label, *path;
	cJSON *o = cJSON_CreateObject();

	label = xasprintf("%s=%s", LABEL_PROJECT, m->s->p->name);
	cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "type"), cJSON_CreateString("container"));
	cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "label"), cJSON_CreateString(label));
	filters = cJSON_PrintUnformatted(o);
	enc = engine_urlencode(filters);
	if (m->last_time[0] != '\0')
		path = xasprintf("/events?filters=%s&since=%s", enc, m->last_time);
	else
		path = xasprintf("/events?filters=%s", enc);
	call.path = path;
	call.stream_arg = m;
	m->stream++;
	if (engine_request(m->s->e, &call, events_ended, m, &m->events) != 0)
		m->events = NULL;
	free(path);
	free(enc);
	free(filters);
	free(label);
	cJSON_Delete(o);
}

/* ---- losing and finding the engine ---- */

static void retry(uv_timer_t *t);

static void engine_back(struct monitor *m)
{
	struct session *s = m->s;

	m->lost = false;
	m->s->engine_lost = false;
	m->last_time[0] = '\0'; /* its old events are gone with it */
	session_say(s, NULL, "engine-back",
		    "the engine is back at %s after %.1f s; recovering the containers, then "
		    "applying what changed meanwhile",
		    engine_address(s->e), (double)(now_ns() - m->lost_ns) / 1e9);
	subscribe(m);
	for (size_t i = 0; i < m->n; i++) {
		m->mi[i].phase = MP_RECOVERING;
		m->mi[i].catchup = true;
		memset(m->mi[i].exits, 0, sizeof(m->mi[i].exits));
	}
	for (size_t i = 0; i < m->n; i++)
		mon_bring_up(&m->mi[i]);
	/* Updates that waited go now: each waits in session_wake until its
	   container is recovered and caught up. */
	if (s->hooks.resume != NULL)
		s->hooks.resume(s);
}

static void on_ping(struct engine_req *req, int err, const struct engine_resp *resp, void *arg)
{
	struct monitor *m = arg;

	(void)req;
	if (mon_gone(m) || err == DW_CANCELED || !m->lost)
		return;
	if (err == 0 && resp->status == 200) {
		engine_back(m);
		return;
	}
	m->backoff_ms = m->backoff_ms * 2 > MONITOR_BACKOFF_MAX_MS ? MONITOR_BACKOFF_MAX_MS
								  : m->backoff_ms * 2;
	uv_timer_start(&m->timer, retry, m->backoff_ms, 0);
}

static void retry(uv_timer_t *t)
{
	struct monitor *m = container_of(t, struct monitor, timer);
	struct engine_call call = {.method = "GET", .path = "/_ping", .timeout_ms = 3000};

	if (mon_gone(m) || !m->lost)
		return;
	if (engine_request(m->s->e, &call, on_ping, m, NULL) != 0)
		uv_timer_start(&m->timer, retry, m->backoff_ms, 0);
}

void mon_engine_lost(struct monitor *m, const char *why)
{
	struct session *s = m->s;
	char when[32];
	time_t now = time(NULL);

	if (m->lost || mon_gone(m))
		return;
	if (!s->all_ready) {
		session_fail(s, NULL, "lost the engine at %s while starting: %s",
			     engine_address(s->e), why);
		return;
	}
	m->lost = true;
	m->s->engine_lost = true;
	m->lost_ns = now_ns();
	m->queued = 0; /* what the old engine said no longer holds */
	strftime(when, sizeof(when), "%H:%M:%S", localtime(&now));
	session_say(s, NULL, "engine-lost",
		    "lost the engine at %s at %s (%s); still watching, reconnecting",
		    engine_address(s->e), when, why);
	for (size_t i = 0; i < m->n; i++) {
		struct mon_inst *mi = &m->mi[i];

		struct instance *in = mi->in;
		session_ready_cb cb = in->ready_cb;

		mi->phase = MP_LOST;
		mi->woke = false;
		in->ready_cb = NULL;
		mon_quiesce(in, INST_EXITED);
		/* A restart of a live update waited on it: that update ends. */
		if (cb != NULL && cb != mon_on_ready)
			cb(in, DW_ENGINE_DOWN, in->ready_arg);
	}
	m->backoff_ms = MONITOR_BACKOFF_MIN_MS;
	uv_timer_start(&m->timer, retry, m->backoff_ms, 0);
}

/* ---- lifecycle ---- */

void monitor_expect_exit(struct instance *in)
{
	struct mon_inst *mi = in->mon;

	if (mi == NULL || in->id == NULL)
		return;
	free(mi->expect_id);
	mi->expect_id = xstrdup(in->id);
}

void monitor_start(struct session *s)
{
	struct monitor *m = xcalloc(1, sizeof(*m));
	size_t k = 0;

	m->s = s;
	for (size_t i = 0; i < s->n_cs; i++)
		m->n += (size_t)s->cs[i].n_inst;
	m->mi = xcalloc(m->n, sizeof(*m->mi));
	for (size_t i = 0; i < s->n_cs; i++) {
		for (int r = 0; r < s->cs[i].n_inst; r++, k++) {
			m->mi[k].m = m;
			m->mi[k].in = &s->cs[i].inst[r];
			s->cs[i].inst[r].mon = &m->mi[k];
		}
	}
	uv_timer_init(s->loop, &m->timer);
	uv_timer_init(s->loop, &m->defer);
	m->open_timers = 2;
	s->monitor = m;
	subscribe(m);
}

void monitor_stop(struct session *s)
{
	struct monitor *m = s->monitor;

	if (m == NULL || m->stopped)
		return;
	m->stopped = true;
	uv_timer_stop(&m->timer);
	uv_timer_stop(&m->defer);
	m->queued = 0;
	if (m->events != NULL) {
		engine_forget(m->events);
		m->events = NULL;
	}
}

static void timer_closed(uv_handle_t *h)
{
	struct monitor *m = h->data;

	if (--m->open_timers == 0)
		free(m);
}

void monitor_free(struct session *s)
{
	struct monitor *m = s->monitor;

	if (m == NULL)
		return;
	monitor_stop(s);
	for (size_t i = 0; i < m->n; i++) {
		mon_prewrite_free(&m->mi[i]);
		free(m->mi[i].expect_id);
		m->mi[i].in->mon = NULL;
	}
	free(m->mi);
	s->monitor = NULL;
	m->timer.data = m->defer.data = m;
	uv_close((uv_handle_t *)&m->timer, timer_closed);
	uv_close((uv_handle_t *)&m->defer, timer_closed);
}
