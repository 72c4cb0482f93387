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
#include "monitor.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "base/error.h"
#include "base/log.h"
#include "base/util.h"
#include "build/container.h"

#define EVENT_LINE_MAX (64u << 10)
#define EVENT_QUEUE 64 /* events of ours waiting for the loop */
#define TAIL_LINE_MAX (16u << 10)

enum mon_phase {
	MP_OK = 0,
	MP_EXITED,
	MP_LOOPED,
	MP_RESTARTING,
	MP_WAKING,
	MP_LOST,
	MP_RECOVERING,
};

struct monitor;

struct mon_inst {
	struct monitor *m;
	struct instance *in;
	enum mon_phase phase;
	uint64_t exits[MONITOR_LOOP_EXITS]; /* ring of unexpected exit times */
	int next_exit;
	int last_code;
	bool started_seen;  /* a start event since the last unexpected die */
	bool policy_off;    /* the crash loop turned its restart policy off */
	bool catchup;       /* needs a catch-up sync once ready */
	char *expect_id;    /* a container devwatch stops itself */
	int stop_tries;
	session_ready_cb wake_cb;
	void *wake_arg;
};

/* A die or start of one of our containers, handled outside curl's
   callback (a request started from inside a stream's callback stalls). */
struct event {
	bool die;
	int code;
	char id[72];
};

struct monitor {
	struct session *s;
	struct engine_req *events;
	uv_timer_t timer;   /* reconnect backoff */
	uv_timer_t defer;   /* handles the queued events */
	int open_timers;
	struct event queue[EVENT_QUEUE];
	int queued;
	uint64_t backoff_ms;
	uint64_t lost_ns;
	char last_time[48]; /* "sec.nsec" of the last event seen */
	bool lost;
	bool stopped;
	struct mon_inst *mi;
	size_t n;
};

static void subscribe(struct monitor *m);
static void engine_lost(struct monitor *m, const char *why);
static void bring_up(struct mon_inst *mi);
static void probe_ready(struct mon_inst *mi);
static void on_ready(struct instance *in, int err, void *arg);

static const char *policy_name(enum restart_policy p)
{
	return p == RESTART_ALWAYS ? "always" : p == RESTART_ON_FAILURE ? "on-failure" : "never";
}

static bool gone(const struct monitor *m)
{
	return m->stopped || m->s->shutting_down;
}

/* ---- waiters ---- */

static void resolve(struct mon_inst *mi, int err)
{
	session_ready_cb cb = mi->wake_cb;

	mi->wake_cb = NULL;
	if (cb != NULL)
		cb(mi->in, err, mi->wake_arg);
}

/* Take the instance away from whatever probed it: no timer, no probe. */
static void quiesce(struct instance *in, enum inst_state st)
{
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

		if (buf_add(&t->part, data, take) != 0) {
			tail_line(t, t->part.data, t->part.len);
			buf_reset(&t->part);
			continue;
		}
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
	if (err != DW_CANCELED && !gone(t->mi->m)) {
		session_say(in->s, in, "exited", "%s", t->msg);
		if (t->n == 0)
			fprintf(stderr, "%s: no log output\n", in->label);
		else
			fprintf(stderr, "last %d log line%s of %s:\n", t->n,
				t->n == 1 ? "" : "s", in->label);
		for (int i = 0; i < t->n; i++)
			fprintf(stderr, "  %s | %s\n", in->label, t->lines[i]);
		fflush(stderr);
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
	if (err != 0 || gone(mi->m) || mi->phase != MP_LOOPED || resp->status != 200)
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
	if (err != 0 || gone(mi->m) || mi->phase != MP_LOOPED || mi->in->id == NULL)
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
	if (err != 0 || gone(mi->m) || mi->phase != MP_LOOPED)
		return;
	if (resp->status != 200) {
		char *m = engine_error_message(resp->body, resp->len);

		log_warn("%s: cannot turn its restart policy off: %s", mi->in->label, m);
		free(m);
	}
	loop_stop(mi);
}

static void set_policy(struct mon_inst *mi, bool on, engine_done_cb cb)
{
	const struct project_container *c = mi->in->cs->c;
	struct engine_call call = {.method = "POST", .timeout_ms = 30000};
	char path[256], body[128];

	if (on && c->restart == RESTART_ON_FAILURE)
		snprintf(body, sizeof(body),
			 "{\"RestartPolicy\":{\"Name\":\"on-failure\",\"MaximumRetryCount\":%d}}",
			 c->max_restarts);
	else
		snprintf(body, sizeof(body), "{\"RestartPolicy\":{\"Name\":\"%s\"}}",
			 on && c->restart == RESTART_ALWAYS ? "always" : "no");
	snprintf(path, sizeof(path), "/containers/%s/update", mi->in->id);
	call.path = path;
	call.body = body;
	call.body_len = strlen(body);
	engine_request(mi->m->s->e, &call, cb, mi, NULL);
}

static void crash_loop(struct mon_inst *mi, const char *id)
{
	struct instance *in = mi->in;

	quiesce(in, INST_EXITED);
	in->ready_cb = NULL;
	mi->phase = MP_LOOPED;
	mi->policy_off = true;
	mi->stop_tries = 0;
	report_with_tail(mi, id,
			 xasprintf("crash loop: exited %d times in %d s (last exit code %d); "
				   "stopped it and turned its restarts off; the next save "
				   "that touches it starts it again",
				   recent_exits(mi), MONITOR_LOOP_SECS, mi->last_code));
	set_policy(mi, false, on_policy_off);
	resolve(mi, DW_CRASHED);
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
	bring_up(mi);
}

static void on_die_inspect(struct engine_req *req, int err, const struct engine_resp *resp,
			   void *arg)
{
	struct mon_inst *mi = arg;
	struct instance *in = mi->in;
	struct container_info ci;
	bool restarts;

	(void)req;
	log_debug("%s: inspect after its exit: %s, %ld", in->label, dw_strerror(err),
		  err == 0 ? resp->status : 0L);
	if (err != 0 || gone(mi->m) || resp->status != 200)
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
			quiesce(in, INST_EXITED);
		mi->phase = MP_RESTARTING;
		report_with_tail(mi, ci.id,
				 xasprintf("exited unexpectedly with code %d (%d in %d s); the "
					   "engine restarts it (restart: %s)",
					   mi->last_code, recent_exits(mi), MONITOR_LOOP_SECS,
					   policy_name(in->cs->c->restart)));
		if (mi->started_seen)
			engine_restarted(mi);
	} else {
		quiesce(in, INST_EXITED);
		in->ready_cb = NULL;
		mi->phase = MP_EXITED;
		report_with_tail(mi, ci.id,
				 xasprintf("exited unexpectedly with code %d and stays stopped "
					   "(restart: %s); the next save that touches it starts "
					   "it again",
					   mi->last_code, policy_name(in->cs->c->restart)));
		resolve(mi, DW_CRASHED);
	}
	container_info_free(&ci);
}

static void on_die(struct mon_inst *mi, const char *id, int code)
{
	struct instance *in = mi->in;
	struct engine_call call = {.method = "GET"};
	char path[256];

	if (mi->expect_id != NULL && strcmp(mi->expect_id, id) == 0) {
		free(mi->expect_id);
		mi->expect_id = NULL;
		return;
	}
	if (in->restarting || in->removing || in->state == INST_STOPPING ||
	    in->state == INST_GONE)
		return;
	if (mi->phase != MP_OK && mi->phase != MP_RESTARTING && mi->phase != MP_WAKING)
		return;
	/* Before readiness (start-up, or a restart of a live update) the
	   waiting side decides; session.c fails start-up with the log tail. */
	if (mi->phase == MP_OK && in->state != INST_READY)
		return;
	mi->exits[mi->next_exit] = now_ns();
	mi->next_exit = (mi->next_exit + 1) % MONITOR_LOOP_EXITS;
	mi->last_code = code;
	mi->started_seen = false;
	snprintf(path, sizeof(path), "/containers/%s/json", id);
	call.path = path;
	engine_request(in->s->e, &call, on_die_inspect, mi, NULL);
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
		/* Started again after our own stop: that exit has passed. */
		free(mi->expect_id);
		mi->expect_id = NULL;
	}
	mi->started_seen = true;
	if (mi->phase == MP_RESTARTING)
		engine_restarted(mi);
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

	for (int i = 0; i < m->queued && !gone(m); i++) {
		struct event *ev = &m->queue[i];
		struct mon_inst *mi = find(m, ev->id);

		if (mi == NULL)
			continue;
		if (ev->die)
			on_die(mi, ev->id, ev->code);
		else
			on_start(mi, ev->id);
	}
	m->queued = 0;
}

static int on_event(const char *line, size_t len, void *arg)
{
	struct monitor *m = arg;
	cJSON *o = cJSON_ParseWithLength(line, len);
	cJSON *action = cJSON_GetObjectItem(o, "Action");
	cJSON *actor = cJSON_GetObjectItem(o, "Actor");
	cJSON *id = cJSON_GetObjectItem(actor, "ID");
	cJSON *tn = cJSON_GetObjectItem(o, "timeNano");

	log_trace("engine event %.*s", (int)len, line);
	if (cJSON_IsNumber(tn) && tn->valuedouble > 0) {
		long long ns = (long long)tn->valuedouble;

		snprintf(m->last_time, sizeof(m->last_time), "%lld.%09lld", ns / 1000000000,
			 ns % 1000000000);
	}
	if (gone(m) || !cJSON_IsString(action) || !cJSON_IsString(id) ||
	    strlen(id->valuestring) >= sizeof(m->queue[0].id) ||
	    (strcmp(action->valuestring, "die") != 0 && strcmp(action->valuestring, "start") != 0)) {
		cJSON_Delete(o);
		return 0;
	}
	if (m->queued == EVENT_QUEUE) {
		log_warn("too many engine events at once; dropped a '%s'", action->valuestring);
	} else {
		struct event *ev = &m->queue[m->queued++];
		cJSON *code = cJSON_GetObjectItem(cJSON_GetObjectItem(actor, "Attributes"),
						  "exitCode");

		ev->die = strcmp(action->valuestring, "die") == 0;
		ev->code = cJSON_IsString(code) ? atoi(code->valuestring) : -1;
		snprintf(ev->id, sizeof(ev->id), "%s", id->valuestring);
		uv_timer_start(&m->defer, handle_events, 0, 0);
	}
	cJSON_Delete(o);
	return 0;
}

static void on_ping_after_end(struct engine_req *req, int err, const struct engine_resp *resp,
			      void *arg)
{
	struct monitor *m = arg;

	(void)req;
	if (gone(m) || err == DW_CANCELED)
		return;
	if (err != 0 || resp->status != 200) {
		engine_lost(m, err != 0 ? dw_strerror(err) : "it answered with an error");
		return;
	}
	/* The stream ended but the engine answers: follow it again. */
	subscribe(m);
}

static void events_ended(struct engine_req *req, int err, const struct engine_resp *resp,
			 void *arg)
{
	struct monitor *m = arg;
	struct engine_call call = {.method = "GET", .path = "/_ping", .timeout_ms = 3000};

	(void)resp;
	if (m->events == req)
		m->events = NULL;
	if (gone(m) || err == DW_CANCELED || m->lost)
		return;
	log_debug("the engine's event stream ended: %s", err != 0 ? dw_strerror(err) : "closed");
	if (engine_request(m->s->e, &call, on_ping_after_end, m, NULL) != 0)
		engine_lost(m, "cannot ask it");
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
		bring_up(&m->mi[i]);
	/* Updates that waited go now: each waits in session_wake until its
	   container is recovered and caught up. */
	session_live_resume(s);
}

static void on_ping(struct engine_req *req, int err, const struct engine_resp *resp, void *arg)
{
	struct monitor *m = arg;

	(void)req;
	if (gone(m) || err == DW_CANCELED || !m->lost)
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

	if (gone(m) || !m->lost)
		return;
	if (engine_request(m->s->e, &call, on_ping, m, NULL) != 0)
		uv_timer_start(&m->timer, retry, m->backoff_ms, 0);
}

static void engine_lost(struct monitor *m, const char *why)
{
	struct session *s = m->s;
	char when[32];
	time_t now = time(NULL);

	if (m->lost || gone(m))
		return;
	if (!s->all_ready) {
		session_fail(s, NULL, "lost the engine at %s while starting: %s",
			     engine_address(s->e), why);
		return;
	}
	m->lost = true;
	m->lost_ns = now_ns();
	strftime(when, sizeof(when), "%H:%M:%S", localtime(&now));
	session_say(s, NULL, "engine-lost",
		    "lost the engine at %s at %s (%s); still watching, reconnecting",
		    engine_address(s->e), when, why);
	for (size_t i = 0; i < m->n; i++) {
		struct mon_inst *mi = &m->mi[i];

		struct instance *in = mi->in;
		session_ready_cb cb = in->ready_cb;

		mi->phase = MP_LOST;
		in->ready_cb = NULL;
		quiesce(in, INST_EXITED);
		/* A restart of a live update waited on it: that update ends. */
		if (cb != NULL && cb != on_ready)
			cb(in, DW_ENGINE_DOWN, in->ready_arg);
	}
	m->backoff_ms = MONITOR_BACKOFF_MIN_MS;
	uv_timer_start(&m->timer, retry, m->backoff_ms, 0);
}

bool session_engine_lost(const struct session *s)
{
	const struct monitor *m = s->monitor;

	return m != NULL && m->lost;
}

/* ---- bringing an instance up: inspect, start or create, readiness ---- */

static void caught_up(struct instance *in, int err, void *arg)
{
	struct mon_inst *mi = arg;

	if (gone(mi->m) || mi->phase != MP_RECOVERING)
		return;
	if (err != 0) {
		/* What the catch-up could not write is still pending or is
		   written by the next one. */
		session_say(in->s, in, "notice", "catch-up sync failed (%s); the next save "
			    "syncs again", dw_strerror(err));
	}
	mi->phase = MP_OK;
	session_say(in->s, in, "recovered", "recovered: ready and caught up");
	resolve(mi, 0);
}

static void on_ready(struct instance *in, int err, void *arg)
{
	struct mon_inst *mi = arg;
	enum mon_phase was = mi->phase;

	if (gone(mi->m) || mi->m->lost)
		return;
	if (err != 0) {
		mi->phase = MP_EXITED;
		session_say(in->s, in, "not-ready",
			    "did not become ready; the next save that touches it starts it again");
		resolve(mi, err);
		return;
	}
	if (mi->catchup) {
		mi->catchup = false;
		mi->phase = MP_RECOVERING;
		if (!session_live_initial(in, caught_up, mi))
			caught_up(in, 0, mi);
		return;
	}
	mi->phase = MP_OK;
	session_say(in->s, in, "ready", "ready again%s",
		    was == MP_WAKING ? "; applying the change" : "");
	resolve(mi, 0);
}

static void probe_ready(struct mon_inst *mi)
{
	struct instance *in = mi->in;

	in->synced_once = true; /* the catch-up, if any, is ours */
	in->ready_cb = on_ready;
	in->ready_arg = mi;
	session_probe(in);
}

/* Something in the chain failed: the engine went away, or the container
   cannot be brought back. */
static void up_failed(struct mon_inst *mi, int err, const char *what, const char *why)
{
	struct instance *in = mi->in;

	if (gone(mi->m) || mi->m->lost)
		return;
	if (err == DW_ENGINE_DOWN) {
		engine_lost(mi->m, dw_strerror(err));
		return;
	}
	in->state = INST_FAILED;
	mi->phase = MP_EXITED;
	session_say(in->s, in, "not-ready", "cannot %s %s: %s; the next save that touches it "
		    "tries again", what, in->name, why);
	resolve(mi, DW_NOTREADY);
}

static void fail_resp(struct mon_inst *mi, int err, const struct engine_resp *resp,
		      const char *what)
{
	char *m = err != 0 ? xstrdup(dw_strerror(err))
			   : engine_error_message(resp->body, resp->len);

	up_failed(mi, err, what, m);
	free(m);
}

static void on_up_ports(struct engine_req *req, int err, const struct engine_resp *resp,
			void *arg)
{
	struct mon_inst *mi = arg;
	struct container_info ci;

	(void)req;
	if (gone(mi->m) || mi->m->lost || err == DW_CANCELED)
		return;
	if (err != 0 || resp->status != 200 ||
	    container_info_parse(resp->body, resp->len, mi->in->cs->c, &ci) != 0) {
		fail_resp(mi, err, resp, "inspect");
		return;
	}
	free(mi->in->host_ports);
	mi->in->host_ports = ci.host_ports;
	ci.host_ports = NULL;
	container_info_free(&ci);
	if (mi->in->logs == NULL)
		session_follow_logs(mi->in, (long)time(NULL) - 1);
	probe_ready(mi);
}

static void inspect_ports(struct mon_inst *mi)
{
	struct engine_call call = {.method = "GET"};
	char path[256];

	snprintf(path, sizeof(path), "/containers/%s/json", mi->in->id);
	call.path = path;
	engine_request(mi->m->s->e, &call, on_up_ports, mi, NULL);
}

static void on_up_started(struct engine_req *req, int err, const struct engine_resp *resp,
			  void *arg)
{
	struct mon_inst *mi = arg;

	(void)req;
	if (gone(mi->m) || mi->m->lost || err == DW_CANCELED)
		return;
	if (err != 0 || (resp->status != 204 && resp->status != 304)) {
		fail_resp(mi, err, resp, "start");
		return;
	}
	inspect_ports(mi);
}

static void start_it(struct mon_inst *mi)
{
	struct engine_call call = {.method = "POST", .timeout_ms = 60000};
	char path[256];

	snprintf(path, sizeof(path), "/containers/%s/start", mi->in->id);
	call.path = path;
	engine_request(mi->m->s->e, &call, on_up_started, mi, NULL);
}

static void on_policy_on(struct engine_req *req, int err, const struct engine_resp *resp,
			 void *arg)
{
	struct mon_inst *mi = arg;

	(void)req;
	if (gone(mi->m) || mi->m->lost || err == DW_CANCELED)
		return;
	if (err != 0 || resp->status != 200) {
		fail_resp(mi, err, resp, "restore the restart policy of");
		return;
	}
	mi->policy_off = false;
	start_it(mi);
}

static void on_up_created(struct engine_req *req, int err, const struct engine_resp *resp,
			  void *arg)
{
	struct mon_inst *mi = arg;
	cJSON *o, *id;

	(void)req;
	if (gone(mi->m) || mi->m->lost || err == DW_CANCELED)
		return;
	if (err != 0 || resp->status != 201) {
		fail_resp(mi, err, resp, "create");
		return;
	}
	o = cJSON_ParseWithLength(resp->body, resp->len);
	id = cJSON_GetObjectItem(o, "Id");
	if (!cJSON_IsString(id) || id->valuestring[0] == '\0') {
		cJSON_Delete(o);
		up_failed(mi, DW_ENGINE_PROTO, "create", "the engine's answer has no 'Id'");
		return;
	}
	free(mi->in->id);
	mi->in->id = xstrdup(id->valuestring);
	cJSON_Delete(o);
	mi->catchup = true; /* a new container: only the image's files */
	mi->policy_off = false;
	start_it(mi);
}

static void create_it(struct mon_inst *mi)
{
	struct instance *in = mi->in;
	struct engine_call call = {.method = "POST", .timeout_ms = 60000};
	char *body = container_create_body(in->s->p, in->cs->c, in->replica, in->cs->image_ref);
	char *enc = engine_urlencode(in->name);
	char *path = xasprintf("/containers/create?name=%s", enc);

	session_say(in->s, in, "notice", "%s is gone; creating it anew", in->name);
	call.path = path;
	call.body = body;
	call.body_len = strlen(body);
	engine_request(in->s->e, &call, on_up_created, mi, NULL);
	free(body);
	free(enc);
	free(path);
}

static void on_up_inspect(struct engine_req *req, int err, const struct engine_resp *resp,
			  void *arg)
{
	struct mon_inst *mi = arg;
	struct instance *in = mi->in;
	struct container_info ci;

	(void)req;
	if (gone(mi->m) || mi->m->lost || err == DW_CANCELED)
		return;
	if (err != 0) {
		fail_resp(mi, err, resp, "inspect");
		return;
	}
	if (resp->status == 404) {
		create_it(mi);
		return;
	}
	if (resp->status != 200 || container_info_parse(resp->body, resp->len, in->cs->c, &ci) != 0) {
		fail_resp(mi, 0, resp, "inspect");
		return;
	}
	free(in->id);
	in->id = ci.id;
	ci.id = NULL;
	if (mi->policy_off) {
		container_info_free(&ci);
		set_policy(mi, true, on_policy_on);
		return;
	}
	if (ci.running && !ci.restarting) {
		free(in->host_ports);
		in->host_ports = ci.host_ports;
		ci.host_ports = NULL;
		container_info_free(&ci);
		if (mi->phase == MP_RECOVERING)
			session_say(in->s, in, "adopted", "still running; adopted it again");
		session_follow_logs(in, (long)time(NULL));
		probe_ready(mi);
		return;
	}
	container_info_free(&ci);
	start_it(mi);
}

/* Inspect by name: running is adopted, stopped is started (with its
   restart policy back, after a crash loop), gone is created anew; then
   readiness. The engine restarting it already skips to readiness. */
static void bring_up(struct mon_inst *mi)
{
	struct instance *in = mi->in;
	struct engine_call call = {.method = "GET"};
	char path[256];

	quiesce(in, INST_STARTING);
	if (mi->phase == MP_RESTARTING) {
		inspect_ports(mi);
		return;
	}
	snprintf(path, sizeof(path), "/containers/%s/json", in->name);
	call.path = path;
	engine_request(in->s->e, &call, on_up_inspect, mi, NULL);
}

bool session_wake(struct instance *in, session_ready_cb cb, void *arg)
{
	struct mon_inst *mi = in->mon;

	if (mi == NULL || gone(mi->m))
		return false;
	switch (mi->phase) {
	case MP_OK:
		/* Readiness failed after a live restart: a save wakes it too. */
		if (in->state != INST_FAILED || !in->s->all_ready)
			return false;
		break;
	case MP_EXITED:
	case MP_LOOPED:
		break;
	default:
		/* Already coming back: wait for it. */
		mi->wake_cb = cb;
		mi->wake_arg = arg;
		return true;
	}
	mi->wake_cb = cb;
	mi->wake_arg = arg;
	mi->phase = MP_WAKING;
	memset(mi->exits, 0, sizeof(mi->exits));
	free(mi->expect_id);
	mi->expect_id = NULL;
	session_say(in->s, in, "wake", "starting it again for this change");
	bring_up(mi);
	return true;
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
		free(m->mi[i].expect_id);
		m->mi[i].in->mon = NULL;
	}
	free(m->mi);
	s->monitor = NULL;
	m->timer.data = m->defer.data = m;
	uv_close((uv_handle_t *)&m->timer, timer_closed);
	uv_close((uv_handle_t *)&m->defer, timer_closed);
}
