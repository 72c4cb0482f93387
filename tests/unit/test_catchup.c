/*
 * Unit tests for the catch-up comparison (sync/catchup.c): what a container
 * holds against the local tree. Equal paths give nothing; a differing
 * content, mode, type or link target is written; a local path missing in
 * the container is written; a container path the local tree had and lost
 * is deleted (a folder once, its contents with it); one it never had stays;
 * each rule owns only its own paths, and a rule's root folder is never
 * written for itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/changeset.h"
#include "project/project.h"
#include "sync/catchup.h"

static void add(struct changeset *cs, const char *path, enum change_type t,
		unsigned mode, uint64_t h, const char *link)
{
	struct change c = {.path = (char *)path, .kind = CHANGE_ADDED, .type = t,
			   .mode = mode, .size = h, .hash_hi = h, .hash_lo = h,
			   .link_target = (char *)link};

	changeset_add(cs, &c);
}

/* The diff as "kind path" lines, for one readable assertion. */
static char *render(const struct changeset *d)
{
	static char out[4096];
	size_t n = 0;

	out[0] = '\0';
	for (size_t i = 0; i < d->n; i++)
		n += (size_t)snprintf(out + n, sizeof(out) - n, "%c %s\n",
				      d->v[i].kind == CHANGE_ADDED	  ? 'A'
				      : d->v[i].kind == CHANGE_MODIFIED ? 'M'
									: 'R',
				      d->v[i].path);
	return out;
}

static void compare(void **state)
{
	struct live_step steps[] = {
		{.kind = STEP_SYNC, .from = "site", .to = "/www"},
		{.kind = STEP_SYNC, .from = "site/api", .to = "/srv/api"},
	};
	struct project_container c = {.name = "web", .steps = steps, .n_steps = 2};
	struct changeset box, local, diff;
	char *gone[] = {"site/old", "site/olddir", "site/renamed.txt"};

	(void)state;
	changeset_init(&box);
	changeset_init(&local);
	changeset_init(&diff);
	/* Both sides. */
	add(&local, "site", CTYPE_DIR, 0755, 0, NULL);
	add(&local, "site/same.txt", CTYPE_FILE, 0644, 1, NULL);
	add(&box, "site/same.txt", CTYPE_FILE, 0644, 1, NULL);
	add(&local, "site/content.txt", CTYPE_FILE, 0644, 2, NULL);
	add(&box, "site/content.txt", CTYPE_FILE, 0644, 3, NULL);
	add(&local, "site/mode.sh", CTYPE_FILE, 0755, 4, NULL);
	add(&box, "site/mode.sh", CTYPE_FILE, 0644, 4, NULL);
	add(&local, "site/link", CTYPE_SYMLINK, 0777, 0, "a");
	add(&box, "site/link", CTYPE_SYMLINK, 0777, 0, "b");
	add(&local, "site/type", CTYPE_FILE, 0644, 5, NULL);
	add(&box, "site/type", CTYPE_DIR, 0755, 0, NULL);
	/* Only local: written. */
	add(&local, "site/new.txt", CTYPE_FILE, 0644, 6, NULL);
	add(&local, "site/api/main.py", CTYPE_FILE, 0644, 7, NULL);
	/* Only in the container: lost locally, or never local. */
	add(&box, "site/old", CTYPE_FILE, 0644, 8, NULL);
	add(&box, "site/olddir", CTYPE_DIR, 0755, 0, NULL);
	add(&box, "site/olddir/a", CTYPE_FILE, 0644, 9, NULL);
	add(&box, "site/olddir/b", CTYPE_FILE, 0644, 9, NULL);
	add(&box, "site/blog.html", CTYPE_FILE, 0644, 10, NULL);
	/* A local file not hashed yet (hash 0) is written, to be sure. */
	add(&local, "site/unhashed", CTYPE_FILE, 0644, 0, NULL);
	add(&box, "site/unhashed", CTYPE_FILE, 0644, 0, NULL);
	changeset_normalize(&box);
	changeset_normalize(&local);

	catchup_compare(&c, &box, &local, gone, 3, &diff);
	assert_string_equal(render(&diff), "A site/api/main.py\n"
					   "M site/content.txt\n"
					   "M site/link\n"
					   "M site/mode.sh\n"
					   "A site/new.txt\n"
					   "R site/old\n"
					   "R site/olddir\n"
					   "M site/type\n"
					   "M site/unhashed\n");
	changeset_release(&box);
	changeset_release(&local);
	changeset_release(&diff);
}

static void nothing_differs(void **state)
{
	struct live_step steps[] = {{.kind = STEP_SYNC, .from = ".", .to = "/app"}};
	struct project_container c = {.name = "api", .steps = steps, .n_steps = 1};
	struct changeset box, local, diff;

	(void)state;
	changeset_init(&box);
	changeset_init(&local);
	changeset_init(&diff);
	add(&local, "a", CTYPE_DIR, 0755, 0, NULL);
	add(&box, "a", CTYPE_DIR, 0755, 0, NULL);
	add(&local, "a/x.py", CTYPE_FILE, 0644, 11, NULL);
	add(&box, "a/x.py", CTYPE_FILE, 0644, 11, NULL);
	add(&box, "__pycache__", CTYPE_DIR, 0755, 0, NULL); /* never local */
	changeset_normalize(&box);
	changeset_normalize(&local);
	catchup_compare(&c, &box, &local, NULL, 0, &diff);
	assert_int_equal(diff.n, 0);
	changeset_release(&box);
	changeset_release(&local);
	changeset_release(&diff);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(compare),
		cmocka_unit_test(nothing_differs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
