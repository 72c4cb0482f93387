/*
 * Walking and hashing. A walk (the initial scan, a rescan after overflow or
 * a lost watch, a new directory) lstats every entry, adds inotify watches to
 * directories before reading them, and queues files whose stat key differs
 * from what the tree holds. Queued files are hashed in chunks on the libuv
 * threadpool; the results are compared with the tree on the loop thread and
 * only real differences go into the change set.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "base/log.h"
#include "base/util.h"
#include "watch/hash-file.h"
#include "watch/watcher-int.h"

#define WATCH_MASK                                                             \
	(IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_CLOSE_WRITE | \
	 IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR |   \
	 IN_DONT_FOLLOW | IN_EXCL_UNLINK)
#define CHUNK_FILES 256
#define CHUNK_BYTES (16u << 20)
/* A last batch this small is hashed on the loop. */
#define INLINE_FILES 8
#define INLINE_BYTES (256u << 10)

static char *abs_of(const struct watcher *w, const char *rel)
{
	return rel[0] ? path_join(w->root, rel) : xstrdup(w->root);
}

static enum change_type ctype_of(uint32_t mode)
{
	return S_ISDIR(mode) ? CTYPE_DIR : S_ISLNK(mode) ? CTYPE_SYMLINK : CTYPE_FILE;
}

int watch_add_dir(struct watcher *w, const char *rel)
{
	char *abs;
	int wd;

	if (w->o.no_watch)
		return 0;
	abs = abs_of(w, rel);
	wd = inotify_add_watch(w->ifd, abs, WATCH_MASK);
	free(abs);
	if (wd < 0) {
		int e = errno;

		if (e == ENOSPC && !w->watch_limit_warned) {
			w->watch_limit_warned = true;
			log_warn("out of inotify watches at %zu directories: raise the "
				 "limit with 'sysctl fs.inotify.max_user_watches=%zu'; "
				 "until then unwatched folders are rescanned when their "
				 "parent changes",
				 w->n_watches, w->n_watches * 4 + 65536);
		}
		if (e != ENOENT && e != ENOTDIR) {
			w->unwatched = xreallocarray(w->unwatched, w->n_unwatched + 1,
						     sizeof(char *));
			w->unwatched[w->n_unwatched++] = xstrdup(rel);
		}
		return -e;
	}
	if ((size_t)wd >= w->wd_cap) {
		size_t cap = w->wd_cap ? w->wd_cap : 256;

		while (cap <= (size_t)wd)
			cap *= 2;
		w->wd_path = xreallocarray(w->wd_path, cap, sizeof(char *));
		memset(w->wd_path + w->wd_cap, 0, (cap - w->wd_cap) * sizeof(char *));
		w->wd_cap = cap;
	}
	if (w->wd_path[wd] == NULL)
		w->n_watches++;
	free(w->wd_path[wd]);
	w->wd_path[wd] = xstrdup(rel);
	return 0;
}

/* Drop the watches of rel and everything under it (moved or deleted). */
void watch_forget_under(struct watcher *w, const char *rel)
{
	size_t n = strlen(rel);

	for (size_t wd = 0; wd < w->wd_cap; wd++) {
		const char *p = w->wd_path[wd];

		if (p == NULL)
			continue;
		if (n == 0 || (strncmp(p, rel, n) == 0 && (p[n] == '\0' || p[n] == '/'))) {
			inotify_rm_watch(w->ifd, (int)wd);
			free(w->wd_path[wd]);
			w->wd_path[wd] = NULL;
			w->n_watches--;
		}
	}
}

static void key_of(struct skey *k, const struct stat *st)
{
	k->mode = st->st_mode;
	k->size = (uint64_t)st->st_size;
	k->ino = (uint64_t)st->st_ino;
	k->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
	k->ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
}

static void set_key(struct tentry *e, const struct skey *k)
{
	e->mode = k->mode;
	e->size = k->size;
	e->ino = k->ino;
	e->mtime_ns = k->mtime_ns;
	e->ctime_ns = k->ctime_ns;
}

static void chunk_work(uv_work_t *req);
static void chunk_done(uv_work_t *req, int status);

static void dispatch(struct watcher *w)
{
	struct hash_chunk *c = w->filling;

	if (c == NULL || c->n == 0)
		return;
	w->filling = NULL;
	w->chunks_left++;
	if (!w->initial && c->n <= INLINE_FILES && c->bytes <= INLINE_BYTES) {
		/* A save: hashing it here takes tens of µs, the trip through
		   the threadpool and back ~0.3-1 ms. (The sizes are from the
		   settle's stat; the first scan may not have them.) */
		chunk_work(&c->work);
		chunk_done(&c->work, 0);
		return;
	}
	uv_queue_work(w->loop, &c->work, chunk_work, chunk_done);
}

void scan_queue(struct watcher *w, const char *rel, const struct stat *st)
{
	struct hash_chunk *c = w->filling;
	struct hash_job *j;

	if (c == NULL) {
		c = w->filling = xcalloc(1, sizeof(*c));
		c->w = w;
		c->rootfd = w->rootfd;
		c->cap = 64;
		c->jobs = xcalloc(c->cap, sizeof(*c->jobs));
	}
	if (c->n == c->cap) {
		c->cap *= 2;
		c->jobs = xreallocarray(c->jobs, c->cap, sizeof(*c->jobs));
	}
	j = &c->jobs[c->n++];
	memset(j, 0, sizeof(*j));
	j->rel = xstrdup(rel);
	key_of(&j->k, st);
	c->bytes += (uint64_t)st->st_size;
	if (c->n >= CHUNK_FILES || c->bytes >= CHUNK_BYTES)
		dispatch(w);
}

static void add_change(struct watcher *w, const char *rel, enum change_kind k,
		       uint32_t mode, uint64_t size, const char *link,
		       uint64_t hi, uint64_t lo)
{
	struct change c = {.path = (char *)rel, .kind = k, .type = ctype_of(mode),
			   .mode = mode & 07777, .size = size,
			   .link_target = (char *)link, .hash_hi = hi, .hash_lo = lo};

	if (w->initial && !w->had_cache)
		return; /* the first scan ever is the baseline, not a change */
	changeset_add(&w->out, &c);
}

void scan_emit_removed(struct watcher *w, struct tentry *e)
{
	w->changed = true;
	add_change(w, e->path, CHANGE_REMOVED, e->mode, 0, NULL, 0, 0);
	tree_del(&w->tree, e);
}

/* Remove rel and everything the tree holds under it. */
void scan_remove_subtree(struct watcher *w, const char *rel)
{
	size_t n = strlen(rel), i = 0;
	struct tentry *e;

	while ((e = tree_next(&w->tree, &i)) != NULL) {
		if (e->len > n && strncmp(e->path, rel, n) == 0 && e->path[n] == '/')
			scan_emit_removed(w, e);
	}
	e = tree_get(&w->tree, rel, n);
	if (e != NULL)
		scan_emit_removed(w, e);
	watch_forget_under(w, rel);
}

/* A directory seen on a walk: record it (a new one is a change). */
static void see_dir(struct watcher *w, const char *rel, const struct stat *st)
{
	struct tentry *e = tree_get(&w->tree, rel, strlen(rel));

	if (e != NULL && !S_ISDIR(e->mode)) {
		scan_emit_removed(w, e);
		e = NULL;
	}
	if (e == NULL) {
		e = tree_put(&w->tree, rel, strlen(rel));
		tree_set_key(e, st);
		w->changed = true;
		add_change(w, rel, CHANGE_ADDED, st->st_mode, 0, NULL, 0, 0);
	} else if ((e->mode & 07777) != (st->st_mode & 07777)) {
		add_change(w, rel, CHANGE_MODIFIED, st->st_mode, 0, NULL, 0, 0);
	}
	tree_set_key(e, st);
	e->mark = w->gen;
}

static void see_file(struct watcher *w, const char *rel, const struct stat *st)
{
	/* The first scan without a cache knows nothing yet: skip the lookup. */
	struct tentry *e = w->initial && !w->had_cache ? NULL
						       : tree_get(&w->tree, rel, strlen(rel));

	if (e != NULL) {
		e->mark = w->gen;
		if (e->hashed && tree_same_key(e, st))
			return; /* unchanged (or a restart with the cache) */
	}
	scan_queue(w, rel, st);
}

/* ---- folder listings on the threadpool ----
 *
 * A walk lists folders on the threadpool (readdir and an lstat per entry:
 * the part the kernel makes slow) and applies each listing on the loop
 * thread, which alone touches the tree, the ignore rules and the watches.
 * A folder's watch is added before it is listed, so nothing created in it
 * meanwhile is missed. */

struct lentry {
	char *name;
	struct skey k; /* not a struct stat: 40 bytes, not 144, per entry */
};

struct list_job {
	uv_work_t work;
	struct watcher *w;
	int rootfd;
	bool files_unstated; /* regular files: type from readdir only */
	char *rel;
	struct lentry *v;
	size_t n;
	int err;
};

static void list_work(uv_work_t *req)
{
	struct list_job *j = container_of(req, struct list_job, work);
	int fd = openat(j->rootfd, j->rel[0] ? j->rel : ".",
			O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	size_t cap = 0;
	struct dirent *de;
	struct stat st;
	DIR *d;

	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		j->err = -errno;
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		struct lentry *e;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (j->n == cap) {
			cap = cap ? cap * 2 : 32;
			j->v = xreallocarray(j->v, cap, sizeof(*j->v));
		}
		e = &j->v[j->n];
		if (j->files_unstated && de->d_type == DT_REG) {
			/* A first scan has nothing to compare keys with: the
			   hash job's fstat on the open file gives the key. */
			memset(&e->k, 0, sizeof(e->k));
			e->k.mode = S_IFREG;
		} else if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			continue; /* gone since readdir */
		} else {
			key_of(&e->k, &st);
		}
		e->name = xstrdup(de->d_name);
		j->n++;
	}
	closedir(d);
}

static void walk_dir(struct watcher *w, const char *rel);
static void walk_check_done(struct watcher *w);

static void list_done(uv_work_t *req, int status)
{
	struct list_job *j = container_of(req, struct list_job, work);
	struct watcher *w = j->w;

	(void)status;
	if (j->err != 0 && j->err != -ENOENT && j->err != -ENOTDIR)
		log_warn("cannot read folder %s/%s: %s", w->root, j->rel, strerror(-j->err));
	for (size_t i = 0; i < j->n; i++) {
		struct lentry *e = &j->v[i];
		char *crel = j->rel[0] ? xasprintf("%s/%s", j->rel, e->name) : xstrdup(e->name);
		struct stat st = {.st_mode = e->k.mode, .st_size = (off_t)e->k.size,
				  .st_ino = e->k.ino};

		st.st_mtim.tv_sec = e->k.mtime_ns / 1000000000;
		st.st_mtim.tv_nsec = e->k.mtime_ns % 1000000000;
		st.st_ctim.tv_sec = e->k.ctime_ns / 1000000000;
		st.st_ctim.tv_nsec = e->k.ctime_ns % 1000000000;
		if (!w->closing && !ignore_path(&w->ig, crel, S_ISDIR(st.st_mode))) {
			if (S_ISDIR(st.st_mode)) {
				see_dir(w, crel, &st);
				walk_dir(w, crel);
			} else if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) {
				see_file(w, crel, &st);
			}
		}
		free(crel);
		free(e->name);
	}
	free(j->v);
	free(j->rel);
	free(j);
	w->lists_left--;
	walk_check_done(w);
}

static void walk_dir(struct watcher *w, const char *rel)
{
	struct list_job *j = xcalloc(1, sizeof(*j));

	watch_add_dir(w, rel);
	j->w = w;
	j->rootfd = w->rootfd;
	j->files_unstated = w->initial && !w->had_cache;
	j->rel = xstrdup(rel);
	w->lists_left++;
	uv_queue_work(w->loop, &j->work, list_work, list_done);
}

/* Walk a subtree; afterwards, what the tree holds under it and the walk did
   not see has gone (scan_finish_removals). */
void scan_walk(struct watcher *w, const char *rel)
{
	w->walked = xreallocarray(w->walked, w->n_walked + 1, sizeof(char *));
	w->walked[w->n_walked++] = xstrdup(rel);
	walk_dir(w, rel);
}

void scan_finish_removals(struct watcher *w)
{
	size_t i = 0;
	struct tentry *e;

	if (w->n_walked == 0)
		return;
	while ((e = tree_next(&w->tree, &i)) != NULL) {
		if (e->mark == w->gen)
			continue;
		for (size_t k = 0; k < w->n_walked; k++) {
			size_t n = strlen(w->walked[k]);

			if (n == 0 || (e->len > n && strncmp(e->path, w->walked[k], n) == 0 &&
				       e->path[n] == '/')) {
				scan_emit_removed(w, e);
				break;
			}
		}
	}
	for (size_t k = 0; k < w->n_walked; k++)
		free(w->walked[k]);
	w->n_walked = 0;
}

/* The length of rel's top-most folder the tree does not hold, or 0. */
static size_t unknown_folder(const struct watcher *w, const char *rel)
{
	for (const char *s = strchr(rel, '/'); s != NULL; s = strchr(s + 1, '/'))
		if (tree_get(&w->tree, rel, (size_t)(s - rel)) == NULL)
			return (size_t)(s - rel);
	return 0;
}

/* One dirty path: what is there now? */
void scan_path(struct watcher *w, const char *rel, bool rewalk)
{
	size_t folder = unknown_folder(w, rel);
	struct tentry *e;
	char *abs;
	struct stat st;

	if (rel[0] == '\0') {
		scan_walk(w, "");
		return;
	}
	/* The tree holds a path only with its folders. A path can settle
	   before its folder does (a folder moved in, then chmod'ed after the
	   file's write), and a sync makes a file's folders in the container:
	   a folder never reported would never be removed there. So such a
	   path is looked at through the top-most folder not known yet. */
	if (folder > 0) {
		char *up = xstrndup(rel, folder);

		scan_path(w, up, true);
		free(up);
		return;
	}
	e = tree_get(&w->tree, rel, strlen(rel));
	abs = abs_of(w, rel);
	if (lstat(abs, &st) != 0 || ignore_path(&w->ig, rel, S_ISDIR(st.st_mode))) {
		if (e != NULL)
			scan_remove_subtree(w, rel);
		free(abs);
		return;
	}
	free(abs);
	if (S_ISDIR(st.st_mode)) {
		bool is_new = e == NULL || !S_ISDIR(e->mode);

		see_dir(w, rel, &st);
		if (is_new || rewalk)
			scan_walk(w, rel);
		return;
	}
	if (e != NULL && S_ISDIR(e->mode))
		scan_remove_subtree(w, rel);
	if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))
		see_file(w, rel, &st);
	else if (e != NULL)
		scan_emit_removed(w, e); /* became a FIFO or a socket */
}

/* ---- hashing on the threadpool ---- */

/* Hash one file relative to the root folder's descriptor (openat: no
   path building, and the kernel walks only the relative part). */
static void hash_one(int rootfd, struct hash_job *j, bool want_key)
{
	int fd;
	char buf[1 << 16];
	ssize_t n;

	if (S_ISLNK(j->k.mode)) {
		n = readlinkat(rootfd, j->rel, buf, sizeof(buf) - 1);
		if (n < 0) {
			j->err = -errno;
		} else {
			XXH128_hash_t h = XXH3_128bits(buf, (size_t)n);

			buf[n] = '\0';
			j->link = xstrdup(buf);
			j->h_hi = h.high64;
			j->h_lo = h.low64;
		}
		return;
	}
	fd = openat(rootfd, j->rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOATIME);
	if (fd < 0 && errno == EPERM) /* O_NOATIME on a file we do not own */
		fd = openat(rootfd, j->rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		j->err = -errno;
		return;
	}
	j->err = hash_fd(fd, buf, sizeof(buf), &j->h_hi, &j->h_lo);
	if (j->err == 0 && want_key) {
		struct stat now;

		/* The key of what we hashed, not of the event. */
		if (fstat(fd, &now) == 0)
			key_of(&j->k, &now);
	}
	close(fd);
}

static void chunk_work(uv_work_t *req)
{
	struct hash_chunk *c = container_of(req, struct hash_chunk, work);

	for (size_t i = 0; i < c->n; i++)
		hash_one(c->rootfd, &c->jobs[i], true);
}

static void apply_job(struct watcher *w, struct hash_job *j)
{
	struct tentry *e = tree_get(&w->tree, j->rel, strlen(j->rel));

	if (j->err == -ENOENT || j->err == -ELOOP || j->err == -ENOTDIR) {
		/* Gone between its event and its hash. */
		if (e != NULL)
			scan_emit_removed(w, e);
		return;
	}
	if (j->err != 0) {
		log_warn("cannot read %s/%s: %s; skipped", w->root, j->rel,
			 strerror(-j->err));
		return;
	}
	w->changed = true;
	if (e != NULL && e->hashed && e->h_hi == j->h_hi && e->h_lo == j->h_lo &&
	    e->mode == j->k.mode) {
		set_key(e, &j->k); /* touched, same bytes: no change */
		return;
	}
	if (e == NULL) {
		e = tree_put(&w->tree, j->rel, strlen(j->rel));
		add_change(w, j->rel, CHANGE_ADDED, j->k.mode, j->k.size, j->link,
			   j->h_hi, j->h_lo);
	} else {
		add_change(w, j->rel, CHANGE_MODIFIED, j->k.mode, j->k.size, j->link,
			   j->h_hi, j->h_lo);
	}
	set_key(e, &j->k);
	e->h_hi = j->h_hi;
	e->h_lo = j->h_lo;
	e->hashed = 1;
	e->mark = w->gen;
}

static void chunk_done(uv_work_t *req, int status)
{
	struct hash_chunk *c = container_of(req, struct hash_chunk, work);
	struct watcher *w = c->w;

	(void)status;
	for (size_t i = 0; i < c->n; i++) {
		apply_job(w, &c->jobs[i]);
		free(c->jobs[i].rel);
		free(c->jobs[i].link);
	}
	free(c->jobs);
	free(c);
	if (--w->chunks_left == 0 && w->walk_done) {
		w->walk_done = false;
		watcher_settled(w);
	}
}

/* The settle's own part is done; once every listing is back too, send the
   last batch, and finish once every batch is back. */
static void walk_check_done(struct watcher *w)
{
	if (!w->sync_done || w->lists_left > 0)
		return;
	w->sync_done = false;
	dispatch(w);
	if (w->chunks_left == 0) {
		watcher_settled(w);
		return;
	}
	w->walk_done = true;
}

void scan_hash_start(struct watcher *w)
{
	w->sync_done = true;
	walk_check_done(w);
}
