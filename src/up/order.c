/*
 * See order.h. The session walks containers in the project's start order
 * (p->order, dependencies first), so what is printed reads top down.
 */
#include "up/order.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/util.h"
#include "up/instance.h"
#include "up/say.h"

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

