/*
 * The watcher's life: the initial scan, then inotify events read through a
 * uv_poll_t (never uv_fs_event_t, which drops IN_Q_OVERFLOW), gathered into
 * a dirty set, and settled once the tree is quiet for settle_ms (or after
 * cap_ms under a constant writer). A settle rechecks each dirty path, hashes
 * what may have changed, and reports only real changes. One settle runs at
 * a time; events that arrive meanwhile wait for the next.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <xxhash.h>

#include "base/error.h"
#include "base/log.h"
#include "base/util.h"
#include "watch/watcher-int.h"

static void settle(struct watcher *w, bool capped);

static int env_ms(const char *name, int dflt)
{
	const char *v = getenv(name);
	int n = v != NULL ? atoi(v) : 0;

	return n > 0 ? n : dflt;
}

/* How long d must be quiet. A multi-step save (a temporary made, written,
   renamed into place) has names coming and going: it gets the whole
   window, so that it settles as one change. A file rewritten in place and
   closed is a whole save already; the third of the window left covers a
   second write or a rename right after the close. */
static uint64_t quiet_ns(const struct watcher *w, const struct tentry *d)
{
	uint64_t ns = (uint64_t)w->o.settle_ms * 1000000u;

	return (d->mark & (DIRTY_CLOSED | DIRTY_NAMED)) == DIRTY_CLOSED ? ns / 3 : ns;
}

/* mask: the inotify event's, or 0 for a folder, an overflow, a lost
   watch. */
static void mark_dirty(struct watcher *w, const char *rel, int flags, uint32_t mask)
{
	struct tentry *d = tree_put(&w->dirty, rel, strlen(rel));

	d->mark |= (uint8_t)flags;
	if (mask == 0 || (mask & (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO)))
		d->mark |= DIRTY_NAMED;
	/* A chmod or utime after the close leaves the save whole. */
	if (mask & IN_CLOSE_WRITE)
		d->mark |= DIRTY_CLOSED;
	else if (mask & IN_MODIFY)
		d->mark &= (uint8_t)~DIRTY_CLOSED;
	d->mtime_ns = (int64_t)now_ns(); /* in the dirty set: its last event */
	if ((d->mark & (DIRTY_CLOSED | DIRTY_NAMED)) == DIRTY_CLOSED) {
		uint64_t due = (uint64_t)d->mtime_ns + quiet_ns(w, d);

		if (w->soon == 0 || due < w->soon)
			w->soon = due;
	}
	if (w->first_event_ns == 0)
		w->first_event_ns = (uint64_t)d->mtime_ns;
}

static void quiet_disarm(struct watcher *w)
{
	struct itimerspec its = {0};

	if (w->quiet_armed && w->qfd >= 0)
		timerfd_settime(w->qfd, 0, &its, NULL);
	w->quiet_armed = false;
}

/* End the quiet window at `at` (uv_hrtime's clock, ns). */
static void quiet_arm(struct watcher *w, uint64_t at)
{
	struct itimerspec its = {0};

	if (w->qfd < 0)
		return;
	if (at == 0)
		at = 1; /* zero would disarm */
	its.it_value.tv_sec = (time_t)(at / 1000000000u);
	its.it_value.tv_nsec = (long)(at % 1000000000u);
	timerfd_settime(w->qfd, TFD_TIMER_ABSTIME, &its, NULL);
	w->quiet_armed = true;
	w->quiet_due = at;
}

static void on_quiet(uv_poll_t *p, int status, int events)
{
	struct watcher *w = container_of(p, struct watcher, quiet);
	uint64_t n;

	(void)events;
	if (status < 0 || read(w->qfd, &n, sizeof(n)) != (ssize_t)sizeof(n))
		return; /* not due after all (re-armed meanwhile) */
	w->quiet_armed = false;
	settle(w, false);
}

static void on_cap(uv_timer_t *t)
{
	struct watcher *w = container_of(t, struct watcher, cap);

	w->cap_running = false;
	settle(w, true);
}

/* The earliest time a dirty path has been quiet long enough. */
static uint64_t quiet_at(const struct watcher *w)
{
	uint64_t first = UINT64_MAX;
	size_t i = 0;
	struct tentry *d;

	while ((d = tree_next((struct tree *)&w->dirty, &i)) != NULL) {
		uint64_t due = (uint64_t)d->mtime_ns + quiet_ns(w, d);

		if (due < first)
			first = due;
	}
	return first;
}

/* The quiet timer is not pushed back by later events: it fires when the
   first of them has been quiet long enough, and settle() takes the paths
   that have been quiet that long, so a file written constantly (a log)
   never holds back an edit elsewhere. What is not quiet yet is looked at
   again the moment the earliest of it is. A write closed since may be
   due before the window armed: it brings the timer forward. */
static void schedule(struct watcher *w)
{
	if (!w->quiet_armed)
		quiet_arm(w, quiet_at(w));
	else if (w->soon != 0 && w->soon < w->quiet_due)
		quiet_arm(w, w->soon);
	w->soon = 0;
	if (!w->cap_running) {
		w->cap_running = true;
		uv_timer_start(&w->cap, on_cap, (uint64_t)w->o.cap_ms, 0);
	}
}

static void handle_event(struct watcher *w, const struct inotify_event *ev)
{
	const char *dir;
	char *rel;
	bool is_dir = (ev->mask & IN_ISDIR) != 0;

	if (ev->mask & IN_Q_OVERFLOW) {
		log_info("inotify queue overflowed: rescanning %s", w->root);
		w->full_rescan = true;
		mark_dirty(w, "", DIRTY_REWALK, 0);
		return;
	}
	if (ev->wd < 0 || (size_t)ev->wd >= w->wd_cap || w->wd_path[ev->wd] == NULL)
		return; /* a watch we dropped */
	dir = w->wd_path[ev->wd];
	if (ev->mask & IN_IGNORED) {
		/* The kernel dropped a watch we still wanted: rescan there. */
		rel = xstrdup(dir);
		free(w->wd_path[ev->wd]);
		w->wd_path[ev->wd] = NULL;
		w->n_watches--;
		mark_dirty(w, rel, DIRTY_REWALK, 0);
		free(rel);
		return;
	}
	if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
		mark_dirty(w, dir, DIRTY_PATH, 0);
		return;
	}
	if (ev->len == 0 || ev->name[0] == '\0')
		return;
	rel = dir[0] ? xasprintf("%s/%s", dir, ev->name) : xstrdup(ev->name);
	if (!ignore_path(&w->ig, rel, is_dir)) {
		if (is_dir && (ev->mask & (IN_DELETE | IN_MOVED_FROM))) {
			/* Its watches would report under the old name. */
			watch_forget_under(w, rel);
			mark_dirty(w, rel, DIRTY_PATH, 0);
		} else if (is_dir && (ev->mask & (IN_CREATE | IN_MOVED_TO))) {
			/* Watch it now; the settle walks it, so files made
			   before the watch existed are found too. */
			watch_add_dir(w, rel);
			mark_dirty(w, rel, DIRTY_REWALK, 0);
		} else {
			mark_dirty(w, rel, DIRTY_PATH, ev->mask);
		}
	}
	free(rel);
}

static void on_inotify(uv_poll_t *p, int status, int events)
{
	struct watcher *w = container_of(p, struct watcher, poll);
	char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool any = false;

	(void)events;
	if (status < 0)
		return;
	for (;;) {
		ssize_t n = read(w->ifd, buf, sizeof(buf));

		if (n <= 0)
			break;
		for (char *q = buf; q < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)q;

			if (log_tracing())
				log_trace("inotify wd=%d mask=%#x %s", ev->wd, ev->mask,
					  ev->len ? ev->name : "");
			handle_event(w, ev);
			q += sizeof(*ev) + ev->len;
		}
		any = true;
	}
	if (any && w->dirty.n > 0)
		schedule(w);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void settle(struct watcher *w, bool capped)
{
	uint64_t now = now_ns();
	size_t i = 0, n = 0;
	struct tentry *d;
	struct tree keep;
	char **paths;
	uint8_t *flags;

	if (w->closing)
		return;
	if (w->busy) {
		w->fire_again = true;
		return;
	}
	quiet_disarm(w);
	if (w->dirty.n == 0 && w->n_unwatched == 0) {
		uv_timer_stop(&w->cap);
		w->cap_running = false;
		return;
	}
	/* Quiet paths go now; busy ones wait, up to the cap. */
	paths = xcalloc(w->dirty.n + 1, sizeof(char *));
	flags = xcalloc(w->dirty.n + 1, 1);
	tree_init(&keep);
	while ((d = tree_next(&w->dirty, &i)) != NULL) {
		if (capped || w->full_rescan || now >= (uint64_t)d->mtime_ns + quiet_ns(w, d)) {
			flags[n] = d->mark;
			paths[n++] = xstrdup(d->path);
		} else {
			struct tentry *k = tree_put(&keep, d->path, d->len);

			k->mark = d->mark;
			k->mtime_ns = d->mtime_ns;
		}
	}
	tree_close(&w->dirty);
	w->dirty = keep;
	if (n == 0 && !w->full_rescan && w->n_unwatched == 0) {
		free(paths);
		free(flags);
		schedule(w);
		return;
	}
	if (w->dirty.n == 0) {
		uv_timer_stop(&w->cap);
		w->cap_running = false;
	}
	w->busy = true;
	if (++w->gen == 0)
		w->gen = 1;
	changeset_init(&w->out);
	w->out.first_event_ns = w->first_event_ns;
	w->out.settled_ns = now;
	w->first_event_ns = w->dirty.n > 0 ? now : 0;
	{
		/* Sort with the flags: parents before children, so a removed
		   folder goes first. */
		struct pf {
			char *p;
			uint8_t f;
		} *v = xcalloc(n + 1, sizeof(*v));

		for (size_t k = 0; k < n; k++)
			v[k] = (struct pf){paths[k], flags[k]};
		qsort(v, n, sizeof(*v), cmp_str);
		for (size_t k = 0; k < n; k++) {
			paths[k] = v[k].p;
			flags[k] = v[k].f;
		}
		free(v);
	}
	if (w->full_rescan) {
		w->full_rescan = false;
		scan_walk(w, "");
	} else {
		for (size_t k = 0; k < n; k++)
			scan_path(w, paths[k], (flags[k] & DIRTY_REWALK) != 0);
	}
	/* Folders we could not watch are caught by looking again; those that
	   still cannot be watched put themselves back on the list. */
	{
		char **unw = w->unwatched;
		size_t n_unw = w->n_unwatched;

		w->unwatched = NULL;
		w->n_unwatched = 0;
		for (size_t k = 0; k < n_unw; k++) {
			scan_path(w, unw[k], true);
			free(unw[k]);
		}
		free(unw);
	}
	for (size_t k = 0; k < n; k++)
		free(paths[k]);
	free(paths);
	free(flags);
	scan_hash_start(w);
}

static void on_save(uv_timer_t *t)
{
	struct watcher *w = container_of(t, struct watcher, save);

	if (w->changed && !w->busy)
		cache_save(w);
	else if (w->changed)
		uv_timer_start(&w->save, on_save, 100, 0); /* mid-settle */
}

void watcher_settled(struct watcher *w)
{
	bool initial = w->initial;

	scan_finish_removals(w);
	changeset_normalize(&w->out);
	w->initial = false;
	/* Still busy during the callbacks: a watcher_close() from one of them
	   only marks closing, and the close happens below. */
	if (initial) {
		if (w->o.use_cache && w->changed)
			cache_save(w);
		if (w->on_ready != NULL)
			w->on_ready(w, 0, w->arg);
	}
	w->out.hashed_ns = now_ns();
	if (w->out.n > 0 && w->on_change != NULL && !w->closing)
		w->on_change(w, &w->out, w->arg);
	if (!initial && w->o.use_cache && !w->closing && !uv_is_active((uv_handle_t *)&w->save))
		for (size_t i = 0; i < w->out.n; i++)
			if (w->out.v[i].kind != CHANGE_MODIFIED) {
				uv_timer_start(&w->save, on_save, 1000, 0);
				break;
			}
	changeset_release(&w->out);
	w->busy = false;
	if (w->closing) {
		watcher_close(w);
		return;
	}
	if (w->fire_again || (w->dirty.n > 0 && !w->quiet_armed)) {
		w->fire_again = false;
		if (w->dirty.n > 0)
			schedule(w);
	}
}

int watcher_new(uv_loop_t *loop, const struct watch_options *o,
		watch_change_cb on_change, watch_ready_cb on_ready, void *arg,
		struct watcher **out, char **cause)
{
	struct watcher *w;
	char *root = realpath(o->root, NULL);

	if (root == NULL) {
		int e = -errno;

		dw_cause(cause, "cannot watch %s: %s", o->root, strerror(errno));
		return e;
	}
	w = xcalloc(1, sizeof(*w));
	w->loop = loop;
	w->root = root;
	w->o = *o;
	w->o.root = w->root;
	w->o.settle_ms = o->settle_ms > 0 ? o->settle_ms : env_ms("DEVWATCH_SETTLE_MS", 3);
	w->o.cap_ms = o->cap_ms > 0 ? o->cap_ms : env_ms("DEVWATCH_SETTLE_CAP_MS", 100);
	w->on_change = on_change;
	w->on_ready = on_ready;
	w->arg = arg;
	w->ifd = -1;
	w->qfd = -1;
	w->rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	ignore_init(&w->ig, root, o->ignore);
	for (size_t i = 0; i < o->n_contexts; i++)
		ignore_add_context(&w->ig, root, o->contexts[i].rel, o->contexts[i].dockerfile);
	tree_init(&w->tree);
	tree_init(&w->dirty);
	uv_timer_init(loop, &w->cap);
	uv_timer_init(loop, &w->save);
	w->handles = 2;
	if (!o->no_watch) {
		w->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (w->ifd >= 0)
			w->qfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (w->ifd < 0 || w->qfd < 0) {
			dw_cause(cause, "%s: %s%s", w->ifd < 0 ? "inotify" : "timerfd",
				 strerror(errno),
				 w->ifd < 0 ? " (raise fs.inotify.max_user_instances)" : "");
			/* No handle was made on them yet. */
			if (w->ifd >= 0)
				close(w->ifd);
			w->ifd = -1;
			*out = w;
			w->closing = true;
			watcher_close(w);
			*out = NULL;
			return DW_USAGE;
		}
		uv_poll_init(loop, &w->poll, w->ifd);
		uv_poll_start(&w->poll, UV_READABLE, on_inotify);
		uv_poll_init(loop, &w->quiet, w->qfd);
		uv_poll_start(&w->quiet, UV_READABLE, on_quiet);
		w->handles += 2;
	}
	if (o->use_cache)
		w->had_cache = cache_load(w) == 0;
	w->initial = true;
	w->busy = true;
	w->gen = 1;
	changeset_init(&w->out);
	scan_walk(w, "");
	scan_hash_start(w);
	*out = w;
	return 0;
}

static void handle_closed(uv_handle_t *h)
{
	struct watcher *w = h->data;

	if (--w->handles > 0)
		return;
	free(w);
}

/* Stop polling *fd, close its handle and the descriptor. */
static void close_poll(struct watcher *w, uv_poll_t *p, int *fd)
{
	if (*fd < 0)
		return;
	uv_poll_stop(p);
	p->data = w;
	uv_close((uv_handle_t *)p, handle_closed);
	close(*fd);
	*fd = -1;
}

void watcher_close(struct watcher *w)
{
	if (w == NULL)
		return;
	w->closing = true;
	if (w->busy)
		return; /* the settle in flight finishes the close */
	if (w->o.use_cache && !w->initial && w->changed)
		cache_save(w);
	close_poll(w, &w->poll, &w->ifd);
	for (size_t i = 0; i < w->wd_cap; i++)
		free(w->wd_path[i]);
	free(w->wd_path);
	w->wd_path = NULL;
	w->wd_cap = 0;
	for (size_t i = 0; i < w->n_unwatched; i++)
		free(w->unwatched[i]);
	free(w->unwatched);
	w->unwatched = NULL;
	w->n_unwatched = 0;
	free(w->walked);
	w->walked = NULL;
	tree_close(&w->tree);
	tree_close(&w->dirty);
	ignore_close(&w->ig);
	free(w->root);
	w->root = NULL;
	if (w->rootfd >= 0)
		close(w->rootfd);
	w->rootfd = -1;
	close_poll(w, &w->quiet, &w->qfd);
	w->cap.data = w;
	uv_close((uv_handle_t *)&w->cap, handle_closed);
	w->save.data = w;
	uv_close((uv_handle_t *)&w->save, handle_closed);
}

size_t watcher_watch_count(const struct watcher *w)
{
	return w->n_watches;
}
