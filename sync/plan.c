/*
 * Mapping change sets through sync rules, and the tar of what to write.
 * See plan.h. The tar is built in memory with libarchive: live updates are
 * edits, and the bulk case (thousands of files) is still tens of MB.
 */
#include "sync/plan.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "base/error.h"
#include "base/log.h"
#include "base/pattern.h"
#include "base/util.h"

#define PLAN_MAX (1u << 30)

static bool clean_rel(const char *rel)
{
	const char *p = rel;

	if (*p == '/' || *p == '\0')
		return false;
	while (*p) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p += n;
		if (*p == '/')
			p++;
	}
	return true;
}

char *sync_map(const struct project_container *c, const char *rel)
{
	const char *to;

	return sync_map_to(c, rel, &to);
}

char *sync_map_to(const struct project_container *c, const char *rel,
		  const char **to)
{
	const struct live_step *best = NULL;
	size_t best_len = 0;

	if (!clean_rel(rel))
		return NULL;
	for (size_t i = 0; i < c->n_steps; i++) {
		const struct live_step *s = &c->steps[i];
		size_t n;

		if (s->kind != STEP_SYNC)
			continue;
		n = strcmp(s->from, ".") == 0 ? 0 : strlen(s->from);
		if (n > 0 && !(strncmp(rel, s->from, n) == 0 && (rel[n] == '\0' || rel[n] == '/')))
			continue;
		if (best == NULL || n > best_len) {
			best = s;
			best_len = n;
		}
	}
	if (best == NULL)
		return NULL;
	*to = best->to;
	rel += best_len;
	while (*rel == '/')
		rel++;
	if (*rel == '\0')
		return xstrdup(best->to);
	return strcmp(best->to, "/") == 0 ? xasprintf("/%s", rel)
					  : xasprintf("%s/%s", best->to, rel);
}

static la_ssize_t tar_write(struct archive *a, void *arg, const void *p, size_t n)
{
	struct buf *b = arg;

	(void)a;
	return buf_add(b, p, n) == 0 ? (la_ssize_t)n : -1;
}

static int add_member(struct archive *a, struct archive_entry *ae,
		      const char *abs, const char *cpath, char **cause)
{
	struct stat st;
	int fd = -1, err = 0;
	char buf[1 << 16];

	if (lstat(abs, &st) != 0)
		return 1; /* gone again: its removal is the next change */
	archive_entry_clear(ae);
	archive_entry_set_pathname(ae, cpath + 1);
	archive_entry_set_mode(ae, st.st_mode);
	archive_entry_set_uid(ae, 0);
	archive_entry_set_gid(ae, 0);
	archive_entry_set_mtime(ae, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	if (S_ISLNK(st.st_mode)) {
		ssize_t n = readlink(abs, buf, sizeof(buf) - 1);

		if (n < 0)
			return 1;
		buf[n] = '\0';
		archive_entry_set_symlink(ae, buf);
		archive_entry_set_size(ae, 0);
	} else if (S_ISREG(st.st_mode)) {
		fd = open(abs, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0 || fstat(fd, &st) != 0) {
			if (fd >= 0)
				close(fd);
			return 1;
		}
		archive_entry_set_size(ae, st.st_size);
	} else if (S_ISDIR(st.st_mode)) {
		archive_entry_set_size(ae, 0);
	} else {
		return 1;
	}
	if (archive_write_header(a, ae) != ARCHIVE_OK) {
		/* One unwritable name must not hold back the rest. */
		log_warn("cannot sync %s: %s", cpath, archive_error_string(a));
		if (fd >= 0)
			close(fd);
		return archive_errno(a) == ENOMEM ? DW_TOOBIG : 1;
	}
	while (err == 0 && fd >= 0) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n <= 0)
			break;
		if (archive_write_data(a, buf, (size_t)n) < 0) {
			dw_cause(cause, "tar %s: %s", cpath, archive_error_string(a));
			err = DW_TOOBIG;
		}
	}
	if (fd >= 0)
		close(fd);
	return err;
}

/* Collect the folders strictly between `to` and cpath. */
static void add_parents(struct sync_plan *p, const char *to, const char *cpath)
{
	size_t tn = strcmp(to, "/") == 0 ? 0 : strlen(to);
	char *d = xstrdup(cpath), *slash;

	while ((slash = strrchr(d, '/')) != NULL && (size_t)(slash - d) > tn) {
		*slash = '\0';
		if (p->n_pv > 0 && strcmp(p->pv[p->n_pv - 1], d) == 0)
			break; /* files come sorted: the rest is there already */
		p->pv = xreallocarray(p->pv, p->n_pv + 1, sizeof(char *));
		p->pv[p->n_pv++] = xstrdup(d);
	}
	free(d);
}

static size_t depth(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '/';
	return n;
}

static int by_depth(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	size_t dx = depth(x), dy = depth(y);

	return dx != dy ? (dx < dy ? -1 : 1) : strcmp(x, y);
}

/* Shallowest first, each once: a symlink at /to/a must go before /to/a/b
   is looked at, or the check would follow it. */
static void finish_parents(struct sync_plan *p)
{
	if (p->n_pv > 1)
		qsort(p->pv, p->n_pv, sizeof(char *), by_depth);
	for (size_t i = 0; i < p->n_pv; i++)
		if (i == 0 || strcmp(p->pv[i], p->pv[i - 1]) != 0)
			buf_add(&p->parents, p->pv[i], strlen(p->pv[i]) + 1);
	for (size_t i = 0; i < p->n_pv; i++)
		free(p->pv[i]);
	free(p->pv);
	p->pv = NULL;
	p->n_pv = 0;
}

static bool triggered(const struct live_step *s, const struct changeset *cs)
{
	if (s->triggers.n == 0)
		return true;
	for (size_t i = 0; i < cs->n; i++)
		for (size_t k = 0; k < s->triggers.n; k++)
			if (glob_match_rel(s->triggers.v[k], cs->v[i].path,
					   cs->v[i].type == CTYPE_DIR))
				return true;
	return false;
}

int sync_plan_build(const char *root, const struct project_container *c,
		    const struct changeset *cs, struct sync_plan *p, char **cause)
{
	struct archive *a = archive_write_new();
	struct archive_entry *ae = archive_entry_new();
	int err = 0;

	memset(p, 0, sizeof(*p));
	buf_init(&p->tar, PLAN_MAX);
	buf_init(&p->deletes, PLAN_MAX);
	buf_init(&p->parents, PLAN_MAX);
	archive_write_set_format_gnutar(a);
	archive_write_set_bytes_in_last_block(a, 1);
	archive_write_open2(a, &p->tar, NULL, tar_write, NULL, NULL);
	for (size_t i = 0; i < cs->n && err == 0; i++) {
		const struct change *ch = &cs->v[i];
		const char *to = NULL;
		char *cpath = sync_map_to(c, ch->path, &to);

		if (cpath == NULL)
			continue;
		if (ch->kind == CHANGE_REMOVED) {
			buf_add(&p->deletes, cpath, strlen(cpath) + 1);
			p->n_deletes++;
			/* rm -rf must not reach through a symlinked folder either */
			add_parents(p, to, cpath);
		} else if (strcmp(cpath, "/") != 0) {
			char *abs = path_join(root, ch->path);
			int rc = add_member(a, ae, abs, cpath, cause);

			free(abs);
			if (rc == 0)
				add_parents(p, to, cpath);
			if (rc < 0)
				err = rc;
			else if (rc == 0 && ch->type != CTYPE_DIR)
				p->n_writes++;
		}
		if (ch->type != CTYPE_DIR) {
			p->names = xreallocarray(p->names, p->n_names + 1, sizeof(char *));
			p->names[p->n_names++] = xstrdup(ch->path);
		}
		free(cpath);
	}
	archive_write_close(a);
	archive_entry_free(ae);
	archive_write_free(a);
	finish_parents(p);
	if (p->n_writes == 0 && p->tar.len <= 1024)
		buf_reset(&p->tar); /* only the end-of-archive blocks */
	for (size_t i = 0; i < c->n_steps; i++) {
		const struct live_step *s = &c->steps[i];

		if (s->kind == STEP_RUN && triggered(s, cs)) {
			p->runs = xreallocarray(p->runs, p->n_runs + 1, sizeof(char *));
			if (s->cmd != NULL) {
				p->runs[p->n_runs++] = xstrdup(s->cmd);
			} else {
				/* exec form: quote each word for sh -c */
				struct buf q;

				buf_init(&q, 1u << 20);
				for (size_t k = 0; s->argv[k] != NULL; k++) {
					buf_adds(&q, k ? " '" : "'");
					for (const char *t = s->argv[k]; *t; t++)
						*t == '\'' ? buf_adds(&q, "'\\''") : buf_addc(&q, *t);
					buf_addc(&q, '\'');
				}
				p->runs[p->n_runs++] = buf_detach(&q, NULL);
			}
		} else if (s->kind == STEP_RESTART) {
			p->restart = s->restart;
		}
	}
	return err;
}

void sync_plan_release(struct sync_plan *p)
{
	buf_release(&p->tar);
	buf_release(&p->deletes);
	buf_release(&p->parents);
	for (size_t i = 0; i < p->n_pv; i++)
		free(p->pv[i]);
	free(p->pv);
	for (size_t i = 0; i < p->n_names; i++)
		free(p->names[i]);
	free(p->names);
	for (size_t i = 0; i < p->n_runs; i++)
		free(p->runs[i]);
	free(p->runs);
	memset(p, 0, sizeof(*p));
}
