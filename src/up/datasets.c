/*
 * See datasets.h.
 */
#include "up/datasets.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/loop.h"
#include "base/util.h"
#include "build/dataset.h"
#include "up/say.h"

struct store {
	struct instance *in;
	char *id;
	size_t next;
	datasets_done_cb cb;
	void *arg;
	/* with the caller's loop */
	const struct dataset *d;
	bool done;
	int failed;
	const char *label;
};

/* "stored /out in reports · 3 files, 12.0 KiB" */
static char *stored_line(const struct dataset *d, const struct dataset_stats *st)
{
	char size[32];

	return xasprintf("stored %s in %s · %llu file%s, %s%s%s%s", d->path, d->sink,
			 (unsigned long long)st->files, st->files == 1 ? "" : "s",
			 dataset_size(st->bytes, size, sizeof(size)),
			 st->refused > 0 ? " · refused " : "",
			 st->refused > 0 ? st->first_refused : "",
			 st->refused > 1 ? " (and more)" : "");
}

static void store_next(struct store *x);

static void on_copied(int err, const struct dataset_stats *st, const char *msg,
		      void *arg)
{
	struct store *x = arg;
	const struct dataset *d = &x->in->cs->c->datasets[x->next - 1];

	if (err != 0) {
		session_say(x->in->s, x->in, "dataset-failed", "dataset %s not stored: %s",
			    d->path, msg);
	} else {
		char *line = stored_line(d, st);

		session_say(x->in->s, x->in, "dataset", "%s", line);
		free(line);
	}
	store_next(x);
}

static void store_next(struct store *x)
{
	const struct project_container *c = x->in->cs->c;

	while (x->next < c->n_datasets) {
		const struct dataset *d = &c->datasets[x->next++];

		if (dataset_copy_out(x->in->s->e, x->id, d, on_copied, x) == 0)
			return;
		session_say(x->in->s, x->in, "dataset-failed", "dataset %s not stored: cannot start the copy",
			    d->path);
	}
	x->cb(x->in, x->arg);
	free(x->id);
	free(x);
}

static struct store *store_new(struct instance *in, const char *id,
			       datasets_done_cb cb, void *arg)
{
	struct store *x = xcalloc(1, sizeof(*x));

	x->in = in;
	x->id = xstrdup(id);
	x->cb = cb;
	x->arg = arg;
	return x;
}

void datasets_store(struct instance *in, datasets_done_cb cb, void *arg)
{
	if (in->cs->c->n_datasets == 0 || in->id == NULL) {
		cb(in, arg);
		return;
	}
	store_next(store_new(in, in->id, cb, arg));
}

static void on_stopped(struct engine_req *req, int err,
		       const struct engine_resp *resp, void *arg)
{
	(void)req, (void)err, (void)resp;
	store_next(arg);
}

void datasets_stop_and_store(struct instance *in, const char *id,
			     datasets_done_cb cb, void *arg)
{
	struct store *x;
	char *path;

	if (in->cs->c->n_datasets == 0 || id == NULL) {
		cb(in, arg);
		return;
	}
	x = store_new(in, id, cb, arg);
	path = xasprintf("/containers/%s/stop?t=%d", id, (in->cs->c->stop_grace_ms + 999) / 1000);
	if (engine_request(in->s->e, &(struct engine_call){.method = "POST", .path = path,
							   .timeout_ms = 120000},
			   on_stopped, x, NULL) != 0)
		store_next(x);
	free(path);
}

/* ---- with the caller's loop ---- */

static void on_copied_sync(int err, const struct dataset_stats *st, const char *msg,
			   void *arg)
{
	struct store *x = arg;

	x->done = true;
	if (err != 0) {
		x->failed++;
		fprintf(stderr, "%s  dataset %s not stored: %s\n", x->label, x->d->path, msg);
	} else {
		char *line = stored_line(x->d, st);

		fprintf(stderr, "%s  %s\n", x->label, line);
		free(line);
	}
}

int datasets_store_sync(struct engine *e, const char *id,
			const struct project_container *c, const char *label)
{
	struct store x = {.label = label};

	for (size_t i = 0; i < c->n_datasets; i++) {
		x.d = &c->datasets[i];
		x.done = false;
		if (dataset_copy_out(e, id, x.d, on_copied_sync, &x) != 0) {
			x.failed++;
			fprintf(stderr, "%s  dataset %s not stored: cannot start the copy\n", label,
				x.d->path);
			continue;
		}
		loop_run_until(engine_loop(e), &x.done);
	}
	return x.failed;
}
