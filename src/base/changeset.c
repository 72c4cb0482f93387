/*
 * Change sets as plain data. See changeset.h.
 */
#include "base/changeset.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/util.h"

void changeset_init(struct changeset *cs)
{
	memset(cs, 0, sizeof(*cs));
}

static void change_release(struct change *c)
{
	free(c->path);
	free(c->link_target);
}

void changeset_add(struct changeset *cs, const struct change *c)
{
	struct change *d;

	if (cs->n == cs->alloc) {
		cs->alloc = cs->alloc ? cs->alloc * 2 : 16;
		cs->v = xreallocarray(cs->v, cs->alloc, sizeof(*cs->v));
	}
	d = &cs->v[cs->n++];
	*d = *c;
	d->path = xstrdup(c->path);
	d->link_target = c->link_target ? xstrdup(c->link_target) : NULL;
}

static int by_path(const void *a, const void *b)
{
	const struct change *x = a, *y = b;
	int r = strcmp(x->path, y->path);

	if (r != 0)
		return r;
	/* stable: keep arrival order for equal paths */
	return x < y ? -1 : x > y;
}

/* Fold `later` into `earlier` for the same path. Returns 0 when the pair
   cancels out (added, then removed). */
static int fold(struct change *earlier, struct change *later)
{
	enum change_kind k0 = earlier->kind, k1 = later->kind;
	enum change_kind k;

	if (k0 == CHANGE_ADDED && k1 == CHANGE_REMOVED)
		return 0;
	if (k0 == CHANGE_ADDED)
		k = CHANGE_ADDED;
	else if (k0 == CHANGE_REMOVED && k1 != CHANGE_REMOVED)
		k = CHANGE_MODIFIED;
	else
		k = k1;
	change_release(earlier);
	*earlier = *later;
	earlier->kind = k;
	later->path = NULL;
	later->link_target = NULL;
	return 1;
}

void changeset_normalize(struct changeset *cs)
{
	size_t i, out = 0;

	if (cs->n < 2)
		return;
	qsort(cs->v, cs->n, sizeof(*cs->v), by_path);
	for (i = 0; i < cs->n; i++) {
		if (out > 0 && cs->v[out - 1].path != NULL &&
		    strcmp(cs->v[out - 1].path, cs->v[i].path) == 0) {
			if (fold(&cs->v[out - 1], &cs->v[i]) == 0) {
				change_release(&cs->v[out - 1]);
				change_release(&cs->v[i]);
				out--;
			}
			continue;
		}
		cs->v[out++] = cs->v[i];
	}
	cs->n = out;
}

void changeset_merge(struct changeset *into, struct changeset *more)
{
	size_t i;

	changeset_normalize(into);
	for (i = 0; i < more->n; i++) {
		changeset_add(into, &more->v[i]);
	}
	if (into->first_event_ns == 0 ||
	    (more->first_event_ns != 0 &&
	     more->first_event_ns < into->first_event_ns))
		into->first_event_ns = more->first_event_ns;
	if (more->settled_ns > into->settled_ns)
		into->settled_ns = more->settled_ns;
	if (more->hashed_ns > into->hashed_ns)
		into->hashed_ns = more->hashed_ns;
	changeset_release(more);
	changeset_normalize(into);
}

void changeset_release(struct changeset *cs)
{
	size_t i;

	for (i = 0; i < cs->n; i++)
		change_release(&cs->v[i]);
	free(cs->v);
	changeset_init(cs);
}

char *changeset_to_json(const struct changeset *cs)
{
	static const char *const names[] = {"added", "modified", "removed"};
	cJSON *root = cJSON_CreateObject(), *arr[3];
	char *s, *out;
	size_t i;

	for (i = 0; i < 3; i++)
		arr[i] = cJSON_AddArrayToObject(root, names[i]);
	for (i = 0; i < cs->n; i++) {
		/* Directories carry a trailing '/', as ls -F shows them. */
		char *p = cs->v[i].type == CTYPE_DIR
				  ? xasprintf("%s/", cs->v[i].path)
				  : xstrdup(cs->v[i].path);

		cJSON_AddItemToArray(arr[cs->v[i].kind], cJSON_CreateString(p));
		free(p);
	}
	s = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	out = xstrdup(s);
	cJSON_free(s);
	return out;
}

void changeset_merge_copy(struct changeset *into, const struct changeset *cs)
{
	struct changeset tmp;

	changeset_init(&tmp);
	for (size_t i = 0; i < cs->n; i++)
		changeset_add(&tmp, &cs->v[i]);
	tmp.first_event_ns = cs->first_event_ns;
	tmp.settled_ns = cs->settled_ns;
	tmp.hashed_ns = cs->hashed_ns;
	changeset_merge(into, &tmp);
}
