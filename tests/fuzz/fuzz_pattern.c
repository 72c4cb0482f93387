/*
 * Fuzz target: globs and .dockerignore lists (base/pattern.c). Input: a
 * flags byte, then "PATTERN\nPATH\nLINE\nLINE...". Checks glob_match,
 * glob_match_parent and glob_match_rel against the backtracking code they
 * replaced (kept here as the reference, and run only where it is fast: few
 * stars, short paths), then a pattern list of PATTERN and the other lines.
 * libFuzzer's timeout catches any pattern whose cost is not polynomial.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/pattern.h"
#include "base/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- the reference: src/base/pattern.c before the position-set matcher */

static bool ref_class(const char **pp, char c)
{
	const char *p = *pp + 1;
	bool neg = false, ok = false;

	if (*p == '!' || *p == '^') {
		neg = true;
		p++;
	}
	do {
		char lo = *p, hi;

		if (lo == '\0')
			return false;
		if (lo == '\\' && p[1] != '\0')
			lo = *++p;
		hi = lo;
		if (p[1] == '-' && p[2] != ']' && p[2] != '\0') {
			hi = p[2];
			if (hi == '\\' && p[3] != '\0')
				hi = *(p += 1, p + 2);
			p += 2;
		}
		if (c >= lo && c <= hi)
			ok = true;
		p++;
	} while (*p != ']');
	*pp = p + 1;
	return ok != neg;
}

static bool ref_gm(const char *p, const char *s)
{
	while (*p != '\0') {
		if (p[0] == '*' && p[1] == '*') {
			while (*p == '*')
				p++;
			if (*p == '\0')
				return true;
			if (*p == '/') {
				p++;
				if (ref_gm(p, s))
					return true;
				for (const char *q = s; *q != '\0'; q++)
					if (*q == '/' && ref_gm(p, q + 1))
						return true;
				return false;
			}
			for (const char *q = s;; q++) {
				if (ref_gm(p, q))
					return true;
				if (*q == '\0')
					return false;
			}
		}
		switch (*p) {
		case '*':
			p++;
			for (const char *q = s;; q++) {
				if (ref_gm(p, q))
					return true;
				if (*q == '\0' || *q == '/')
					return false;
			}
		case '?':
			if (*s == '\0' || *s == '/')
				return false;
			p++;
			s++;
			break;
		case '[':
			if (*s == '\0' || *s == '/' || !ref_class(&p, *s))
				return false;
			s++;
			break;
		case '\\':
			if (p[1] != '\0')
				p++;
			/* fall through */
		default:
			if (*p != *s)
				return false;
			p++;
			s++;
		}
	}
	return *s == '\0';
}

/* Does glob match path or one of its parent directories? */
static bool ref_or_parent(const char *glob, const char *path)
{
	char buf[4096];
	size_t n = strlen(path);

	if (ref_gm(glob, path))
		return true;
	if (n >= sizeof(buf))
		return false;
	memcpy(buf, path, n + 1);
	for (char *slash = strrchr(buf, '/'); slash != NULL;
	     slash = strrchr(buf, '/')) {
		*slash = '\0';
		if (ref_gm(glob, buf))
			return true;
	}
	return false;
}

static bool ref_rel(const char *glob, const char *path, bool is_dir)
{
	char g[1024];
	size_t n = strlen(glob);
	bool dir_only = false, anchored;
	const char *base;

	if (n == 0 || n >= sizeof(g))
		return false;
	memcpy(g, glob, n + 1);
	while (n > 1 && g[n - 1] == '/') {
		g[--n] = '\0';
		dir_only = true;
	}
	/* (As main since: a leading '/' anchors the glob at the root.) */
	anchored = g[0] == '/';
	if (anchored)
		memmove(g, g + 1, n--);
	if (!anchored && strchr(g, '/') == NULL && !(g[0] == '*' && g[1] == '*')) {
		/* A bare name: any component of path (or its parents). */
		char buf[4096];
		size_t pn = strlen(path);
		char *end;

		if (pn >= sizeof(buf))
			return false;
		memcpy(buf, path, pn + 1);
		end = buf + pn;
		for (;;) {
			char *slash;

			*end = '\0';
			slash = strrchr(buf, '/');
			base = slash != NULL ? slash + 1 : buf;
			/* Components above the last one are directories. */
			if ((!dir_only || is_dir || end != buf + pn) &&
			    ref_gm(g, base))
				return true;
			if (slash == NULL)
				return false;
			end = slash;
		}
	}
	if (dir_only) {
		/* (Fixed with the new matcher: a file under a matching
		   directory is matched, as with a bare name.) */
		if (ref_gm(g, path) && is_dir)
			return true;
		/* Only parents, which are directories. */
		char buf[4096];
		size_t pn = strlen(path);

		if (pn >= sizeof(buf))
			return false;
		memcpy(buf, path, pn + 1);
		for (char *slash = strrchr(buf, '/'); slash != NULL;
		     slash = strrchr(buf, '/')) {
			*slash = '\0';
			if (ref_gm(g, buf))
				return true;
		}
		return false;
	}
	return ref_or_parent(g, path);
}

/* ---- the target */

static size_t count(const char *s, char c)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += *s == c;
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, *pat, *path, *rest, *nl;
	struct pattern_list l;
	bool flag;

	dw_log_level = -1;
	if (size < 1)
		return 0;
	flag = data[0] & 1;
	text = xstrndup((const char *)data + 1, size - 1);
	pat = text;
	nl = strchr(pat, '\n');
	path = nl != NULL ? (*nl = '\0', nl + 1) : (char *)"";
	nl = strchr(path, '\n');
	rest = nl != NULL ? (*nl = '\0', nl + 1) : (char *)"";

	if (count(pat, '*') <= 3 && strlen(path) <= 32) {
		/* The matcher must agree with the reference, to the bit. */
		if (glob_match(pat, path) != ref_gm(pat, path) ||
		    glob_match_parent(pat, path) != ref_or_parent(pat, path) ||
		    glob_match_rel(pat, path, flag) != ref_rel(pat, path, flag))
			abort();
	} else {
		(void)glob_match(pat, path);
		(void)glob_match_parent(pat, path);
		(void)glob_match_rel(pat, path, flag);
	}

	pattern_list_init(&l);
	pattern_list_add(&l, pat);
	while (*rest != '\0') {
		nl = strchr(rest, '\n');
		if (nl != NULL)
			*nl = '\0';
		pattern_list_add(&l, rest);
		rest = nl != NULL ? nl + 1 : rest + strlen(rest);
	}
	(void)pattern_list_match(&l, path);
	(void)pattern_list_may_include_under(&l, path);
	pattern_list_close(&l);
	free(text);
	return 0;
}
