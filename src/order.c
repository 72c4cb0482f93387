/*
 * See order.h. The session walks containers in the project's start order
 * (p->order, dependencies first), so what is printed reads top down.
 */
#include "order.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/util.h"
#include "datasets.h"

static const char *cond_name[] = {"started", "ready", "completed"};

static struct cstate *cstate_of(struct session *s, const char *name)
{
	for (size_t i = 0; i < s->n_cs; i++)
		if (strcmp(s->cs[i].c->name, name) == 0)
			return &s->cs[i];
	return NULL;
}

/* Has every instance of cs reached cond? */
static bool reached(const struct cstate *cs, enum dep_cond cond)
{
	if (!cs->begun)
		return false;
	for (int i = 0; i < cs->n_inst; i++) {
		const struct instance *in = &cs->inst[i];

		switch (cond) {
		case DEP_STARTED:
			if (in->state != INST_PROBING && in->state != INST_READY)
				return false;
			break;
		case DEP_READY:
			if (in->state != INST_READY)
				return false;
			break;
		case DEP_COMPLETED:
			if (!in->completed)
				return false;
			break;
		}
	}
	return true;
}

/* What cs still waits for, as "db (ready), migrate (completed)"; empty
   when nothing. */
static void waits_for(struct session *s, const struct cstate *cs, struct buf *b)
{
	const struct project_container *c = cs->c;

	if (c->network == NET_CONTAINER) {
		struct cstate *t = cstate_of(s, c->network_of);

		if (t != NULL && !reached(t, DEP_STARTED))
			buf_addf(b, "%s%s (started; its network)", b->len ? ", " : "", t->c->name);
	}
	for (size_t i = 0; i < c->n_depends; i++) {
		struct cstate *t = cstate_of(s, c->depends[i].name);

		if (t != NULL && !reached(t, c->depends[i].cond))
			buf_addf(b, "%s%s (%s)", b->len ? ", " : "", t->c->name,
				 cond_name[c->depends[i].cond]);
	}
}

/* What cs waited for, now reached: "db ready, migrate completed". */
static void said(const struct project_container *c, struct buf *b)
{
	if (c->network == NET_CONTAINER)
		buf_addf(b, "%s started", c->network_of);
	for (size_t i = 0; i < c->n_depends; i++)
		buf_addf(b, "%s%s %s", b->len ? ", " : "", c->depends[i].name,
			 cond_name[c->depends[i].cond]);
}

static void begin(struct cstate *cs)
{
	cs->begun = true;
	for (int i = 0; i < cs->n_inst; i++)
		session_begin(&cs->inst[i]);
}

void order_kick(struct session *s)
{
	struct buf b;

	if (s->shutting_down)
		return;
	buf_init(&b, 1u << 16);
	for (size_t k = 0; k < s->p->n_containers; k++) {
		struct cstate *cs = &s->cs[s->p->order[k]];

		if (cs->begun || cs->image_ref == NULL)
			continue;
		buf_reset(&b);
		waits_for(s, cs, &b);
		if (b.len == 0) {
			if (cs->said_wait) {
				said(cs->c, &b);
				session_say(s, &cs->inst[0], "starting", "starting: %s", buf_str(&b));
			}
			begin(cs);
		} else if (!cs->said_wait) {
			cs->said_wait = true;
			session_say(s, &cs->inst[0], "waiting", "waits for %s", buf_str(&b));
		}
	}
	buf_release(&b);
}

void order_image_ready(struct cstate *cs)
{
	order_kick(cs->inst[0].s);
}

static void sidecar_replaced(struct instance *in, int err, void *arg)
{
	(void)arg;
	if (err == 0)
		session_say(in->s, in, "replaced", "replaced with the container whose network it shares");
	else
		session_say(in->s, in, "replace-failed", "could not follow its network's new container");
}

void order_replaced(struct instance *in)
{
	struct session *s = in->s;

	if (s->shutting_down)
		return;
	for (size_t i = 0; i < s->n_cs; i++) {
		struct cstate *cs = &s->cs[i];

		if (cs->c->network != NET_CONTAINER || strcmp(cs->c->network_of, in->cs->c->name) != 0 ||
		    !cs->begun)
			continue;
		/* Its namespace went with the old container: follow the new. */
		for (int r = 0; r < cs->n_inst; r++)
			if (cs->inst[r].state == INST_READY)
				session_replace(&cs->inst[r], sidecar_replaced, NULL);
	}
}

/* ---- jobs ---- */

static void job_stored(struct instance *in, void *arg)
{
	int code = (int)(intptr_t)arg;

	if (in->state != INST_PROBING)
		return;
	if (code != 0) {
		session_fail_exited(in, code);
		return;
	}
	in->completed = true;
	session_mark_ready(in);
}

static void on_waited(struct engine_req *req, int err,
		      const struct engine_resp *resp, void *arg)
{
	struct instance *in = arg;
	cJSON *o, *v;
	int code;

	(void)req;
	in->probe = NULL;
	if (err == DW_CANCELED || in->state != INST_PROBING)
		return;
	if (err != 0 || resp->status != 200) {
		session_fail(in->s, in, "cannot wait for the job: %s",
			     err != 0 ? dw_strerror(err) : "the engine refused");
		return;
	}
	o = cJSON_ParseWithLength(resp->body, resp->len);
	v = cJSON_GetObjectItem(o, "StatusCode");
	code = cJSON_IsNumber(v) ? v->valueint : -1;
	cJSON_Delete(o);
	datasets_store(in, job_stored, (void *)(intptr_t)code);
}

void job_wait(struct instance *in)
{
	char *path = xasprintf("/containers/%s/wait", in->id);

	/* The wait is the instance's probe: teardown cancels it, and a
	   replacement that goes away forgets it. */
	in->state = INST_PROBING;
	if (engine_request(in->s->e, &(struct engine_call){.method = "POST", .path = path},
			   on_waited, in, &in->probe) != 0)
		session_fail(in->s, in, "cannot wait for the job");
	free(path);
	order_kick(in->s);
}
