/*
 * The catch-up sync. See catchup.h. Each sync rule's target is fetched as
 * a tar through the engine (one request at a time, capped), then read and
 * hashed on the threadpool, where the comparison with the local snapshot
 * runs too: the job owns copies of everything it reads.
 *
 * Glossary of the comparison walk: `cv` and `lv` are the container's and
 * the local entries, both sorted by project-relative path; `skip` is the
 * folder just deleted, whose contents the walk passes over (rm -rf takes
 * them with it).
 */
#include "sync/catchup.h"

#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/log.h"
#include "base/util.h"
#include "sync/agent/proto.h"
#include "sync/plan.h"

/* A target larger than this is not listed: every local file under it is
   written instead, and nothing there is deleted. */
#define CATCHUP_MAX_TAR (512u << 20)

struct catchup {
	struct engine *e;
	struct channel *ch;	/* the agent's listing, while it serves */
	struct changeset container; /* what the agent listed */
	char *cid;
	const struct project_container *c;
	struct changeset local;
	char **gone;
	size_t n_gone;
	catchup_done_cb cb;
	void *arg;
	const struct live_step **rules;
	size_t n_rules, next;
	char **tar;		/* per rule: the target as a tar, or NULL */
	size_t *tar_len;
	struct engine_req *req;
	uv_work_t work;
	bool working, cancelled;
	struct changeset diff;
	int err;
};

static int request_next(struct catchup *x);
static void fail(struct catchup *x, int err);

static void catchup_free(struct catchup *x)
{
	for (size_t i = 0; i < x->n_rules; i++)
		free(x->tar[i]);
	free(x->tar);
	free(x->tar_len);
	free(x->rules);
	for (size_t i = 0; i < x->n_gone; i++)
		free(x->gone[i]);
	free(x->gone);
	changeset_release(&x->local);
	changeset_release(&x->container);
	changeset_release(&x->diff);
	free(x->cid);
	free(x);
}

/* ---- reading a target's tar (threadpool) ---- */

static const char *rule_from(const struct live_step *r)
{
	return strcmp(r->from, ".") == 0 ? "" : r->from;
}

/* The project-relative path of `rest` (relative to rule r's target, ""
   for the target itself), or NULL for the target folder itself or a path
   another rule owns. */
static char *listed_rel(const struct project_container *c,
			const struct live_step *r, const char *rest, bool dir)
{
	const char *to = NULL;
	char *rel, *mapped;

	if (rest[0] == '\0') {
		if (dir)
			return NULL; /* the target folder itself */
		rel = xstrdup(r->from); /* a single-file rule */
	} else {
		rel = rule_from(r)[0] ? xasprintf("%s/%s", r->from, rest) : xstrdup(rest);
	}
	mapped = sync_map_to(c, rel, &to);
	if (mapped == NULL || to != r->to) {
		free(mapped);
		free(rel);
		return NULL;
	}
	free(mapped);
	return rel;
}

/* As listed_rel, for tar member `name` ("BASENAME/rest..." of a folder). */
static char *member_rel(const struct project_container *c,
			const struct live_step *r, const char *name, bool dir)
{
	const char *slash = strchr(name, '/');
	char *rest = xstrdup(slash != NULL ? slash + 1 : ""), *rel;
	size_t n = strlen(rest);

	while (n > 0 && rest[n - 1] == '/')
		rest[--n] = '\0';
	rel = listed_rel(c, r, rest, dir);
	free(rest);
	return rel;
}

static void read_entry(struct archive *a, struct archive_entry *ae,
		       struct change *ch)
{
	unsigned t = archive_entry_filetype(ae);

	ch->mode = archive_entry_perm(ae) & 07777;
	ch->size = (uint64_t)archive_entry_size(ae);
	if (t == AE_IFDIR) {
		ch->type = CTYPE_DIR;
	} else if (t == AE_IFLNK) {
		ch->type = CTYPE_SYMLINK;
		ch->link_target = (char *)archive_entry_symlink(ae);
	} else {
		/* Regular files are hashed; a hard link or a special file
		   keeps hash 0, which never equals a local file's. */
		ch->type = CTYPE_FILE;
		if (t == AE_IFREG && archive_entry_hardlink(ae) == NULL) {
			XXH3_state_t st;
			XXH128_hash_t h;
			const void *blk;
			size_t len;
			la_int64_t off;

			XXH3_128bits_reset(&st);
			while (archive_read_data_block(a, &blk, &len, &off) == ARCHIVE_OK)
				XXH3_128bits_update(&st, blk, len);
			h = XXH3_128bits_digest(&st);
			ch->hash_hi = h.high64;
			ch->hash_lo = h.low64;
		}
	}
}

static int read_tar(struct catchup *x, size_t k, struct changeset *out)
{
	struct archive *a = archive_read_new();
	struct archive_entry *ae;
	int r, err = 0;

	archive_read_support_format_tar(a);
	if (archive_read_open_memory(a, x->tar[k], x->tar_len[k]) != ARCHIVE_OK) {
		archive_read_free(a);
		return DW_ENGINE_PROTO;
	}
	while ((r = archive_read_next_header(a, &ae)) == ARCHIVE_OK) {
		bool dir = archive_entry_filetype(ae) == AE_IFDIR;
		char *rel = member_rel(x->c, x->rules[k], archive_entry_pathname(ae), dir);
		struct change ch = {.kind = CHANGE_ADDED};

		if (rel == NULL)
			continue;
		ch.path = rel;
		read_entry(a, ae, &ch);
		changeset_add(out, &ch);
		free(rel);
	}
	if (r != ARCHIVE_EOF)
		err = DW_ENGINE_PROTO;
	archive_read_free(a);
	return err;
}

/* ---- the comparison ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Did the local tree have rel, or a folder above it, and lose it? */
static bool was_local(char *const *gone, size_t n_gone, const char *rel)
{
	char *p, *slash;
	bool hit = false;

	if (n_gone == 0)
		return false;
	p = xstrdup(rel);
	for (;;) {
		if (bsearch(&p, gone, n_gone, sizeof(char *), cmp_str) != NULL) {
			hit = true;
			break;
		}
		if ((slash = strrchr(p, '/')) == NULL)
			break;
		*slash = '\0';
	}
	free(p);
	return hit;
}

static bool same(const struct change *l, const struct change *r)
{
	if (l->type != r->type)
		return false;
	switch (l->type) {
	case CTYPE_SYMLINK:
		return l->link_target != NULL && r->link_target != NULL &&
		       strcmp(l->link_target, r->link_target) == 0;
	case CTYPE_DIR:
		return l->mode == r->mode;
	case CTYPE_FILE:
		return l->mode == r->mode && l->size == r->size &&
		       (l->hash_hi | l->hash_lo) != 0 && l->hash_hi == r->hash_hi &&
		       l->hash_lo == r->hash_lo;
	}
	return false;
}

static bool is_rule_root(const struct project_container *c, const char *rel)
{
	for (size_t i = 0; i < c->n_steps; i++)
		if (c->steps[i].kind == STEP_SYNC && strcmp(c->steps[i].from, rel) == 0)
			return true;
	return false;
}

static bool inside(const char *rel, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(rel, dir, n) == 0 && rel[n] == '/';
}

void catchup_compare(const struct project_container *c,
		     const struct changeset *container,
		     const struct changeset *local, char *const *gone,
		     size_t n_gone, struct changeset *diff)
{
	const struct change *cv = container->v, *lv = local->v;
	size_t i = 0, j = 0;
	const char *skip = NULL;

	while (i < container->n || j < local->n) {
		int d = i == container->n ? 1 : j == local->n ? -1
					     : strcmp(cv[i].path, lv[j].path);

		if (d < 0) {
			/* Only in the container. */
			const struct change *r = &cv[i++];

			if (skip != NULL && inside(r->path, skip))
				continue;
			if (was_local(gone, n_gone, r->path)) {
				struct change rm = *r;

				rm.kind = CHANGE_REMOVED;
				rm.link_target = NULL;
				changeset_add(diff, &rm);
				skip = r->type == CTYPE_DIR ? r->path : NULL;
			}
			continue;
		}
		if (d > 0 || !same(&lv[j], &cv[i])) {
			const struct change *l = &lv[j];

			if (!(l->type == CTYPE_DIR && is_rule_root(c, l->path))) {
				struct change w = *l;

				w.kind = d > 0 ? CHANGE_ADDED : CHANGE_MODIFIED;
				changeset_add(diff, &w);
			}
		}
		if (d == 0)
			i++;
		j++;
	}
	changeset_normalize(diff);
}

static void work(uv_work_t *req)
{
	struct catchup *x = container_of(req, struct catchup, work);
	struct changeset container;

	changeset_init(&container);
	changeset_merge(&container, &x->container); /* the agent's listing */
	for (size_t k = 0; k < x->n_rules && x->err == 0; k++)
		if (x->tar[k] != NULL)
			x->err = read_tar(x, k, &container);
	if (x->err == 0) {
		changeset_normalize(&container);
		catchup_compare(x->c, &container, &x->local, x->gone, x->n_gone, &x->diff);
	}
	changeset_release(&container);
}

static void after_work(uv_work_t *req, int status)
{
	struct catchup *x = container_of(req, struct catchup, work);

	x->working = false;
	if (x->cancelled) {
		catchup_free(x);
		return;
	}
	if (status != 0 && x->err == 0)
		x->err = status;
	if (x->err != 0)
		changeset_release(&x->diff);
	x->cb(x->err, &x->diff, x->arg);
	catchup_free(x);
}

/* ---- listing through the agent (loop) ---- */

static void on_entry(const char *root, const struct ap_entry *e, void *arg)
{
	struct catchup *x = arg;
	const struct live_step *r = NULL;
	struct change ch = {.kind = CHANGE_ADDED, .mode = e->mode & 07777,
			    .size = e->size};
	char *rest, *rel, *link = NULL;

	for (size_t k = 0; k < x->n_rules && r == NULL; k++)
		if (strcmp(x->rules[k]->to, root) == 0)
			r = x->rules[k];
	if (r == NULL)
		return;
	rest = xstrndup(e->path, e->path_len);
	rel = listed_rel(x->c, r, rest, e->kind == AP_DIR);
	free(rest);
	if (rel == NULL)
		return;
	ch.path = rel;
	switch (e->kind) {
	case AP_DIR:
		ch.type = CTYPE_DIR;
		break;
	case AP_LINK:
		ch.type = CTYPE_SYMLINK;
		link = xstrndup(e->link, e->link_len);
		ch.link_target = link;
		break;
	default:
		/* A special file keeps hash 0, which equals no local file. */
		ch.type = CTYPE_FILE;
		if (e->kind == AP_FILE && e->has_hash) {
			XXH128_canonical_t c;
			XXH128_hash_t h;

			memcpy(c.digest, e->hash, sizeof(c.digest));
			h = XXH128_hashFromCanonical(&c);
			ch.hash_hi = h.high64;
			ch.hash_lo = h.low64;
		}
	}
	changeset_add(&x->container, &ch);
	free(link);
	free(rel);
}

static void on_listed(int err, void *arg)
{
	struct catchup *x = arg;

	x->ch = NULL;
	if (err != 0) {
		/* The agent cannot serve here, or a target could not be listed
		   whole (one missing, say): the archive API answers either. */
		log_debug("catch-up: the agent's listing ended with %s; asking the engine",
			  dw_strerror(err));
		changeset_release(&x->container);
		changeset_init(&x->container);
	} else {
		x->next = x->n_rules; /* nothing to fetch: compare */
	}
	err = request_next(x);
	if (err != 0)
		fail(x, err);
}

/* ---- listing through the engine (loop) ---- */

static void fail(struct catchup *x, int err)
{
	changeset_init(&x->diff);
	x->cb(err, &x->diff, x->arg);
	catchup_free(x);
}

static void on_archive(struct engine_req *req, int err,
		       const struct engine_resp *resp, void *arg)
{
	struct catchup *x = arg;
	size_t k = x->next;

	(void)req;
	x->req = NULL;
	if (err == DW_TOOBIG) {
		log_info("catch-up: %s is over %u MiB; writing all of it",
			 x->rules[k]->to, CATCHUP_MAX_TAR >> 20);
	} else if (err != 0) {
		fail(x, err);
		return;
	} else if (resp->status == 200) {
		x->tar[k] = xmalloc(resp->len + 1);
		memcpy(x->tar[k], resp->body, resp->len);
		x->tar_len[k] = resp->len;
	} else if (resp->status != 404) {
		/* 404: the target is not there yet; everything is written. */
		fail(x, resp->status == 409 ? DW_CRASHED : DW_ENGINE_HTTP);
		return;
	}
	x->next++;
	err = request_next(x);
	if (err != 0)
		fail(x, err);
}

/* The next target's listing, or the comparison once all are in. Returns
   0 or why nothing could be started. */
static int request_next(struct catchup *x)
{
	struct engine_call call = {.method = "GET", .max_body = CATCHUP_MAX_TAR,
				   .timeout_ms = 120000};
	char *enc, *path;
	int err;

	if (x->next == x->n_rules) {
		x->working = true;
		err = uv_queue_work(engine_loop(x->e), &x->work, work, after_work);
		if (err != 0)
			x->working = false;
		return err;
	}
	enc = engine_urlencode(x->rules[x->next]->to);
	path = xasprintf("/containers/%s/archive?path=%s", x->cid, enc);
	call.path = path;
	err = engine_request(x->e, &call, on_archive, x, &x->req);
	free(path);
	free(enc);
	return err;
}

int catchup_start(struct engine *e, struct channel *ch, const char *cid,
		  const struct project_container *c, struct changeset *local,
		  char **gone, size_t n_gone, catchup_done_cb cb, void *arg,
		  struct catchup **out)
{
	struct catchup *x = xcalloc(1, sizeof(*x));
	int err;

	x->e = e;
	x->cid = xstrdup(cid);
	x->c = c;
	x->cb = cb;
	x->arg = arg;
	x->local = *local;
	changeset_init(local);
	x->gone = gone;
	x->n_gone = n_gone;
	if (x->n_gone > 1)
		qsort(x->gone, x->n_gone, sizeof(char *), cmp_str);
	changeset_init(&x->diff);
	for (size_t i = 0; i < c->n_steps; i++) {
		if (c->steps[i].kind != STEP_SYNC)
			continue;
		x->rules = xreallocarray(x->rules, x->n_rules + 1, sizeof(*x->rules));
		x->rules[x->n_rules++] = &c->steps[i];
	}
	x->tar = xcalloc(x->n_rules ? x->n_rules : 1, sizeof(*x->tar));
	x->tar_len = xcalloc(x->n_rules ? x->n_rules : 1, sizeof(*x->tar_len));
	changeset_init(&x->container);
	if (ch != NULL && x->n_rules > 0) {
		const char **paths = xcalloc(x->n_rules, sizeof(*paths));

		for (size_t i = 0; i < x->n_rules; i++)
			paths[i] = x->rules[i]->to;
		err = channel_list(ch, paths, x->n_rules, true, on_entry, on_listed, x);
		free(paths);
		if (err == 0) {
			x->ch = ch;
			*out = x;
			return 0;
		}
		/* UV_ENOTSUP: only a fallback serves; the engine lists. */
	}
	err = request_next(x);
	if (err != 0) {
		x->gone = NULL; /* the caller keeps what it gave */
		x->n_gone = 0;
		catchup_free(x);
		return err;
	}
	*out = x;
	return 0;
}

void catchup_cancel(struct catchup *x)
{
	if (x == NULL)
		return;
	if (x->working) {
		x->cancelled = true;
		return;
	}
	if (x->req != NULL)
		engine_forget(x->req);
	/* A listing on x->ch ends without a callback once the owner frees or
	   resets that channel, as it must right after this. */
	catchup_free(x);
}
