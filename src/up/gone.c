/*
 * The gone set (gone.h).
 */
#include "up/gone.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "sync/plan.h"

void gone_note(struct tree *gone, const struct changeset *cs)
{
	for (size_t i = 0; i < cs->n; i++) {
		const struct change *c = &cs->v[i];
		size_t n = strlen(c->path);
		struct tentry *e;

		if (c->kind == CHANGE_REMOVED)
			tree_put(gone, c->path, n);
		else if (c->kind == CHANGE_ADDED && (e = tree_get(gone, c->path, n)) != NULL)
			tree_del(gone, e);
	}
}

char **gone_under_sync(const struct tree *gone, const struct project_container *c, size_t *n)
{
	char **v = NULL;
	size_t i = 0, k = 0;
	struct tentry *e;

	while ((e = tree_next(gone, &i)) != NULL) {
		char *to = sync_map(c, e->path);

		if (to == NULL)
			continue;
		free(to);
		v = xreallocarray(v, k + 1, sizeof(char *));
		v[k++] = xstrdup(e->path);
	}
	*n = k;
	return v;
}
