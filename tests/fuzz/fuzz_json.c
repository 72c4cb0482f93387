/*
 * Fuzz target: the positioned JSON reader of devwatch.json (project/json.c).
 * Any input must come back as a tree or as an error "LINE:COL: ...", in
 * time linear in its size; an accepted object never holds a key twice.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>

#include "base/log.h"
#include "project/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct jnode *n, int depth)
{
	if (depth > 65 || n->line < 1 || n->column < 1)
		abort();
	if (n->type == J_STRING && n->str == NULL)
		abort();
	for (size_t i = 0; i < n->n; i++) {
		const struct jnode *k = &n->kids[i];

		if (n->type == J_OBJECT &&
		    (k->key == NULL || json_get(n, k->key) != k))
			abort(); /* a key without a name, or a duplicate */
		check(k, depth + 1);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *cause = NULL;
	struct jnode *root;

	dw_log_level = -1;
	root = json_parse((const char *)data, size, &cause);
	if (root != NULL) {
		check(root, 0);
		json_free(root);
	} else if (cause == NULL || !isdigit((unsigned char)cause[0])) {
		abort(); /* an error must say where */
	}
	free(cause);
	return 0;
}
