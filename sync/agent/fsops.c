/*
 * The agent's file operations: write sets, deletions and listings. Every
 * path arrives as (root, rel): root is the sync rule's target, opened as
 * the image has it (symlinks followed, made when missing); below it every
 * folder is opened with O_NOFOLLOW, one component at a time (openat), so
 * nothing lands outside the root whatever names or symlinks the container
 * already holds. A symlink where a folder is needed becomes a real folder,
 * as the shell agent's P did. Files are written to a temporary name and
 * renamed over the old one, so a reader sees the old file or the new.
 *
 * Write-set state (one set at a time): `hb` gathers a header split across
 * pieces; `cur` is the entry whose `left` bytes are still coming, into
 * `fd` (a file) or `link` (a link target); `skip` drops the bytes of an
 * entry that failed; `broken` drops the rest of a malformed set. `pfd` is
 * the folder of the last entry, walked as above, and `pkey` its root and
 * relative folder: the next entry in the same folder (5,000 files moved
 * in at once are) uses it without walking again. It is closed when the
 * set ends or an entry fails, so each set walks afresh.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "sync/agent/agent.h"

#define TMP_NAME ".devwatch-agent.tmp"

void ag_fail(struct ag_result *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (r->failed++ > 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
	r->msg_len = n < 0 ? 0 : (size_t)n >= sizeof(r->msg) ? sizeof(r->msg) - 1 : (size_t)n;
}

/* The root, absolute: made when missing (mkdir -p, following symlinks, as
   the image defines the target). Returns an fd or -1. */
static int open_root(const char *root, size_t n)
{
	char path[AP_NAME_MAX + 1];
	int fd;

	if (n == 0 || root[0] != '/' || memchr(root, '\0', n) != NULL)
		return errno = EINVAL, -1;
	memcpy(path, root, n);
	path[n] = '\0';
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0 || errno != ENOENT)
		return fd;
	for (size_t i = 1; i <= n; i++) {
		if (i < n && path[i] != '/')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0755) != 0 && errno != EEXIST)
			return -1;
		if (i < n)
			path[i] = '/';
	}
	return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* Open folder `name` in dfd without following a symlink: a symlink there
   is replaced by a real folder, a missing one made when `create`. Returns
   an fd, -1 with errno, or -2 when missing and not `create`. */
static int open_sub(int dfd, const char *name, bool create)
{
	struct stat st;

	for (int tries = 0; tries < 3; tries++) {
		int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		if (fd >= 0)
			return fd;
		if (errno == ENOENT) {
			if (!create)
				return -2;
			if (mkdirat(dfd, name, 0755) != 0 && errno != EEXIST)
				return -1;
			continue;
		}
		if (errno != ELOOP && errno != ENOTDIR)
			return -1;
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			return -1;
		if (!S_ISLNK(st.st_mode))
			return errno = ENOTDIR, -1;
		if (unlinkat(dfd, name, 0) != 0 || mkdirat(dfd, name, 0755) != 0)
			return -1;
	}
	return errno = ELOOP, -1;
}

/* The folder holding rel's last component, walked from rootfd; the last
   component goes to name. Returns an fd (rootfd itself is never returned:
   it is dup'd), -1 with errno, or -2 when a folder is missing. */
static int walk_parent(int rootfd, const char *rel, size_t n, bool create,
		       char name[256])
{
	int fd = dup(rootfd);
	size_t i = 0;

	if (fd < 0)
		return -1;
	for (;;) {
		size_t j = i;
		int sub;

		while (j < n && rel[j] != '/')
			j++;
		if (j - i > 255) {
			close(fd);
			return errno = ENAMETOOLONG, -1;
		}
		memcpy(name, rel + i, j - i);
		name[j - i] = '\0';
		if (j == n)
			return fd;
		sub = open_sub(fd, name, create);
		close(fd);
		if (sub < 0)
			return sub;
		fd = sub;
		i = j + 1;
	}
}

static const char *errstr(int e)
{
	return strerror(e);
}

/* ---- write sets ---- */

static struct {
	unsigned char hb[AP_WHDR_MAX];
	size_t hlen;
	bool active;	/* cur is being written */
	bool skip;	/* cur failed: drop its bytes */
	bool broken;
	struct ap_whdr cur;
	char root[AP_NAME_MAX + 1];
	char rel[AP_NAME_MAX + 1];
	uint64_t left;
	int pfd;	/* cur's folder, kept for the next entry */
	char pkey[2 * AP_NAME_MAX + 2]; /* root NUL folder of pfd */
	size_t pkey_len;
	mode_t umask;	/* the agent's, read once */
	bool umask_known;
	int fd;		/* cur's temporary file */
	char name[256];
	bool exact;	/* fd was created with cur's mode */
	int32_t failed0; /* the set's failures before cur */
	char link[AP_NAME_MAX + 1];
	size_t link_len;
} ws = {.pfd = -1, .fd = -1};

static void folder_drop(void)
{
	if (ws.pfd >= 0)
		close(ws.pfd);
	ws.pfd = -1;
	ws.pkey_len = 0;
}

/* The entry is done; after a failure the folder is walked again. */
static void entry_close(const struct ag_result *r)
{
	if (ws.fd >= 0) {
		close(ws.fd);
		ws.fd = -1;
		unlinkat(ws.pfd, TMP_NAME, 0);
	}
	if (r->failed != ws.failed0)
		folder_drop();
	ws.active = false;
	ws.skip = false;
}

/* Point ws.pfd at the folder holding h's last component, walking from
   the root unless the last entry's folder is the same; the last
   component goes to ws.name. Returns 0 or -1 with errno. */
static int folder_for(const struct ap_whdr *h)
{
	char key[sizeof(ws.pkey)];
	size_t dl = h->rel_len, kl;
	int rootfd;

	while (dl > 0 && h->rel[dl - 1] != '/')
		dl--;
	memcpy(key, h->root, h->root_len);
	key[h->root_len] = '\0';
	memcpy(key + h->root_len + 1, h->rel, dl);
	kl = h->root_len + 1 + dl;
	if (h->rel_len - dl > 255)
		return errno = ENAMETOOLONG, -1;
	if (ws.pfd >= 0 && kl == ws.pkey_len && memcmp(key, ws.pkey, kl) == 0) {
		memcpy(ws.name, h->rel + dl, h->rel_len - dl);
		ws.name[h->rel_len - dl] = '\0';
		return 0;
	}
	folder_drop();
	rootfd = open_root(h->root, h->root_len);
	if (rootfd < 0)
		return -1;
	ws.pfd = walk_parent(rootfd, h->rel, h->rel_len, true, ws.name);
	close(rootfd);
	if (ws.pfd < 0)
		return ws.pfd = -1, -1;
	memcpy(ws.pkey, key, kl);
	ws.pkey_len = kl;
	return 0;
}

/* The temporary, created with the file's mode when the umask keeps it
   (then no fchmod is needed); a stale one from a killed agent goes. */
static int open_tmp(mode_t mode, bool *exact)
{
	mode_t m = mode & 0777;
	int fd;

	if (!ws.umask_known) {
		ws.umask = umask(022);
		umask(ws.umask);
		ws.umask_known = true;
	}
	*exact = (mode & 07000) == 0 && (m & ws.umask) == 0;
	if (!*exact)
		m = 0600;
	for (int tries = 0; tries < 2; tries++) {
		fd = openat(ws.pfd, TMP_NAME, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, m);
		if (fd >= 0 || errno != EEXIST)
			return fd;
		unlinkat(ws.pfd, TMP_NAME, 0);
	}
	return fd;
}

/* Rename the temporary over name; an empty folder in the way goes. */
static int put_in_place(void)
{
	if (renameat(ws.pfd, TMP_NAME, ws.pfd, ws.name) == 0)
		return 0;
	if ((errno == EISDIR || errno == ENOTEMPTY || errno == EEXIST) &&
	    unlinkat(ws.pfd, ws.name, AT_REMOVEDIR) == 0 &&
	    renameat(ws.pfd, TMP_NAME, ws.pfd, ws.name) == 0)
		return 0;
	return -1;
}

static void entry_start(struct ag_result *r)
{
	struct ap_whdr *h = &ws.cur;
	struct timespec ts[2] = {{h->mtime_s, h->mtime_ns}, {h->mtime_s, h->mtime_ns}};
	mode_t mode = h->mode & 07777;
	struct stat st;

	memcpy(ws.root, h->root, h->root_len);
	ws.root[h->root_len] = '\0';
	memcpy(ws.rel, h->rel, h->rel_len);
	ws.rel[h->rel_len] = '\0';
	ws.active = true;
	ws.failed0 = r->failed;
	ws.left = h->size;
	ws.link_len = 0;
	if (!ap_rel_clean(h->rel, h->rel_len)) {
		ag_fail(r, "refusing to write '%s' under '%s': not a clean relative path", ws.rel, ws.root);
		ws.skip = true;
		return;
	}
	if (folder_for(h) != 0) {
		/* entry_close drops the folder: the entry failed */
		ag_fail(r, "cannot write '%s/%s': %s", ws.root, ws.rel, errstr(errno));
		ws.skip = true;
		return;
	}
	if (h->kind == AP_DIR) {
		if (mkdirat(ws.pfd, ws.name, mode) != 0) {
			if (errno != EEXIST || fstatat(ws.pfd, ws.name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
				ag_fail(r, "cannot make '%s/%s': %s", ws.root, ws.rel, errstr(errno));
			} else if (S_ISLNK(st.st_mode)) {
				if (unlinkat(ws.pfd, ws.name, 0) != 0 || mkdirat(ws.pfd, ws.name, mode) != 0)
					ag_fail(r, "cannot make '%s/%s': %s", ws.root, ws.rel, errstr(errno));
			} else if (!S_ISDIR(st.st_mode)) {
				ag_fail(r, "cannot make '%s/%s': it exists and is not a folder", ws.root, ws.rel);
			}
		}
		fchmodat(ws.pfd, ws.name, mode, 0);
		utimensat(ws.pfd, ws.name, ts, AT_SYMLINK_NOFOLLOW);
		ws.skip = true; /* no bytes follow */
		return;
	}
	if (h->kind == AP_FILE) {
		ws.fd = open_tmp(h->mode, &ws.exact);
		if (ws.fd < 0) {
			ag_fail(r, "cannot write '%s/%s': %s", ws.root, ws.rel, errstr(errno));
			ws.skip = true;
		}
	}
}

static void entry_finish(struct ag_result *r)
{
	struct ap_whdr *h = &ws.cur;
	struct timespec ts[2] = {{h->mtime_s, h->mtime_ns}, {h->mtime_s, h->mtime_ns}};

	if (!ws.skip && h->kind == AP_FILE) {
		if ((!ws.exact && fchmod(ws.fd, h->mode & 07777) != 0) || futimens(ws.fd, ts) != 0 ||
		    close(ws.fd) != 0) {
			ws.fd = -1;
			ag_fail(r, "cannot write '%s/%s': %s", ws.root, ws.rel, errstr(errno));
			unlinkat(ws.pfd, TMP_NAME, 0);
		} else {
			ws.fd = -1;
			if (put_in_place() != 0) {
				ag_fail(r, "cannot write '%s/%s': %s", ws.root, ws.rel, errstr(errno));
				unlinkat(ws.pfd, TMP_NAME, 0);
			}
		}
	} else if (!ws.skip && h->kind == AP_LINK) {
		ws.link[ws.link_len] = '\0';
		unlinkat(ws.pfd, TMP_NAME, 0);
		if (strlen(ws.link) != ws.link_len || symlinkat(ws.link, ws.pfd, TMP_NAME) != 0 ||
		    put_in_place() != 0) {
			ag_fail(r, "cannot link '%s/%s': %s", ws.root, ws.rel, errstr(errno));
			unlinkat(ws.pfd, TMP_NAME, 0);
		} else {
			utimensat(ws.pfd, ws.name, ts, AT_SYMLINK_NOFOLLOW);
		}
	}
	entry_close(r);
}

static void entry_bytes(const unsigned char *p, size_t n, struct ag_result *r)
{
	if (ws.skip)
		return;
	if (ws.cur.kind == AP_LINK) {
		memcpy(ws.link + ws.link_len, p, n);
		ws.link_len += n;
		return;
	}
	while (n > 0) {
		ssize_t w = write(ws.fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			ag_fail(r, "cannot write '%s/%s': %s", ws.root, ws.rel, errstr(errno));
			close(ws.fd);
			ws.fd = -1;
			unlinkat(ws.pfd, TMP_NAME, 0);
			ws.skip = true;
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

void ag_write_piece(const unsigned char *p, size_t n, struct ag_result *r)
{
	while (n > 0 && !ws.broken) {
		if (!ws.active) {
			size_t room = sizeof(ws.hb) - ws.hlen, add = n < room ? n : room;
			long used;

			memcpy(ws.hb + ws.hlen, p, add);
			used = ap_whdr_get(ws.hb, ws.hlen + add, &ws.cur);
			if (used < 0 || (used == 0 && ws.hlen + add == sizeof(ws.hb))) {
				ag_fail(r, "malformed write set");
				ws.broken = true;
				return;
			}
			if (used == 0) {
				ws.hlen += add;
				return;
			}
			p += (size_t)used - ws.hlen;
			n -= (size_t)used - ws.hlen;
			ws.hlen = 0;
			entry_start(r);
			if (ws.left == 0)
				entry_finish(r);
			continue;
		}
		{
			size_t take = n < ws.left ? n : (size_t)ws.left;

			entry_bytes(p, take, r);
			p += take;
			n -= take;
			ws.left -= take;
			if (ws.left == 0)
				entry_finish(r);
		}
	}
}

void ag_write_end(struct ag_result *r)
{
	if (ws.active || ws.hlen > 0) {
		ag_fail(r, "the write set ended inside an entry");
		entry_close(r);
	}
	folder_drop();
	ws.hlen = 0;
	ws.broken = false;
}

/* ---- deletions ---- */

static int rm_tree(int dfd, const char *name)
{
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d;
	struct dirent *de;
	int rc = 0;

	if (fd < 0)
		return unlinkat(dfd, name, 0) == 0 || errno == ENOENT ? 0 : -1;
	d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (de->d_type == DT_DIR ||
		    (de->d_type == DT_UNKNOWN && fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		     S_ISDIR(st.st_mode))) {
			if (rm_tree(fd, de->d_name) != 0)
				rc = -1;
		} else if (unlinkat(fd, de->d_name, 0) != 0 && errno != ENOENT) {
			rc = -1;
		}
	}
	closedir(d);
	if (unlinkat(dfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
		rc = -1;
	return rc;
}

void ag_delete(const unsigned char *p, size_t n, struct ag_result *r)
{
	struct ap_rd rd;

	ap_rd_init(&rd, p, n);
	while (rd.n > 0) {
		size_t rl, ll;
		const char *root = ap_get_str16(&rd, AP_NAME_MAX, &rl);
		const char *rel = ap_get_str16(&rd, AP_NAME_MAX, &ll);
		char name[256];
		struct stat st;
		int rootfd, pfd;

		if (rd.bad) {
			ag_fail(r, "malformed deletion list");
			return;
		}
		if (!ap_rel_clean(rel, ll)) {
			ag_fail(r, "refusing to delete '%.*s' under '%.*s': not a clean relative path",
				(int)ll, rel, (int)rl, root);
			continue;
		}
		rootfd = open_root(root, rl);
		if (rootfd < 0) {
			ag_fail(r, "cannot open '%.*s': %s", (int)rl, root, errstr(errno));
			continue;
		}
		pfd = walk_parent(rootfd, rel, ll, false, name);
		close(rootfd);
		if (pfd == -2)
			continue; /* a folder on the way is gone: so is the path */
		if (pfd < 0) {
			ag_fail(r, "cannot delete '%.*s/%.*s': %s", (int)rl, root, (int)ll, rel, errstr(errno));
			continue;
		}
		if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    (S_ISDIR(st.st_mode) ? rm_tree(pfd, name) : unlinkat(pfd, name, 0)) != 0 &&
		    errno != ENOENT)
			ag_fail(r, "cannot delete '%.*s/%.*s': %s", (int)rl, root, (int)ll, rel, errstr(errno));
		close(pfd);
	}
}

/* ---- listings ---- */

static struct {
	unsigned char out[256u << 10];
	size_t len;
	bool hash;
	char path[AP_NAME_MAX + 1];
} ls;

static void flush_entries(void)
{
	if (ls.len > 0)
		ag_send('E', ls.out, ls.len);
	ls.len = 0;
}

static void hash_file(int dfd, const char *name, struct ap_entry *e)
{
	static unsigned char buf[1u << 16];
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	XXH3_state_t st;
	ssize_t n;

	if (fd < 0)
		return;
	XXH3_128bits_reset(&st);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		XXH3_128bits_update(&st, buf, (size_t)n);
	close(fd);
	if (n == 0) {
		XXH128_canonical_t c;

		XXH128_canonicalFromHash(&c, XXH3_128bits_digest(&st));
		memcpy(e->hash, c.digest, 16);
		e->has_hash = true;
	}
}

/* Emit the entry for `name` in dfd, at ls.path (plen bytes), and descend
   into a folder. */
static void list_one(int dfd, const char *name, size_t plen, const struct stat *st,
		     struct ag_result *r)
{
	struct ap_entry e = {0};
	char link[AP_NAME_MAX + 1];

	e.kind = S_ISREG(st->st_mode) ? AP_FILE : S_ISDIR(st->st_mode) ? AP_DIR
						 : S_ISLNK(st->st_mode) ? AP_LINK : AP_OTHER;
	e.mode = (uint32_t)st->st_mode;
	e.size = (uint64_t)st->st_size;
	e.mtime_s = st->st_mtim.tv_sec;
	e.mtime_ns = (uint32_t)st->st_mtim.tv_nsec;
	e.path = ls.path;
	e.path_len = plen;
	if (e.kind == AP_LINK) {
		ssize_t n = readlinkat(dfd, name, link, sizeof(link) - 1);

		e.link = link;
		e.link_len = n > 0 ? (size_t)n : 0;
	}
	if (e.kind == AP_FILE && ls.hash)
		hash_file(dfd, name, &e);
	if (ls.len + ap_entry_size(&e) > sizeof(ls.out))
		flush_entries();
	ls.len += ap_entry_put(ls.out + ls.len, &e);
	if (e.kind == AP_DIR) {
		int fd = plen == 0 ? dup(dfd)
				   : openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
		struct dirent *de;

		if (d == NULL) {
			if (fd >= 0)
				close(fd);
			ag_fail(r, "cannot list '%s': %s", ls.path, errstr(errno));
			return;
		}
		while ((de = readdir(d)) != NULL) {
			size_t nl = strlen(de->d_name), sub = plen + (plen > 0) + nl;
			struct stat cst;

			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			if (sub > AP_NAME_MAX) {
				ag_fail(r, "cannot list '%s/%s': name too long", ls.path, de->d_name);
				continue;
			}
			if (fstatat(fd, de->d_name, &cst, AT_SYMLINK_NOFOLLOW) != 0)
				continue; /* gone meanwhile */
			if (plen > 0)
				ls.path[plen] = '/';
			memcpy(ls.path + plen + (plen > 0), de->d_name, nl + 1);
			list_one(fd, de->d_name, sub, &cst, r);
			ls.path[plen] = '\0';
		}
		closedir(d);
	}
}

void ag_list(const unsigned char *p, size_t n, struct ag_result *r)
{
	struct ap_rd rd;

	ap_rd_init(&rd, p, n);
	ls.hash = (ap_get_u8(&rd) & AP_HASH) != 0;
	ls.len = 0;
	while (rd.n > 0 && !rd.bad) {
		size_t rl;
		const char *root = ap_get_str16(&rd, AP_NAME_MAX, &rl);
		char path[AP_NAME_MAX + 1];
		struct stat st;
		int fd;

		if (rd.bad)
			break;
		if (rl == 0 || root[0] != '/' || memchr(root, '\0', rl) != NULL) {
			ag_fail(r, "cannot list '%.*s': not an absolute path", (int)rl, root);
			continue;
		}
		/* The root as the image has it (followed), like the writes. */
		memcpy(path, root, rl);
		path[rl] = '\0';
		ls.path[0] = '\0';
		if (stat(path, &st) != 0) {
			if (errno != ENOENT)
				ag_fail(r, "cannot list '%s': %s", path, errstr(errno));
			continue; /* missing: no entries */
		}
		if (!S_ISDIR(st.st_mode)) {
			list_one(AT_FDCWD, path, 0, &st, r);
			continue;
		}
		fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0) {
			ag_fail(r, "cannot list '%s': %s", path, errstr(errno));
			continue;
		}
		list_one(fd, ".", 0, &st, r);
		close(fd);
	}
	if (rd.bad)
		ag_fail(r, "malformed list request");
	flush_entries();
}
