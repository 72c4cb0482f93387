/*
 * Glob matching and .dockerignore pattern lists. See pattern.h. The matcher
 * is a direct backtracking walk over pattern and path (as fnmatch), with
 * `**` trying each later segment boundary.
 */
#include "base/pattern.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

static bool match_class(const char **pp, char c)
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

static bool gm(const char *p, const char *s)
{
	while (*p != '\0') {
		if (p[0] == '*' && p[1] == '*') {
			while (*p == '*')
				p++;
			if (*p == '\0')
				return true;
			if (*p == '/') {
				/* zero segments, or skip through any '/' */
				p++;
				if (gm(p, s))
					return true;
				for (const char *q = s; *q != '\0'; q++)
					if (*q == '/' && gm(p, q + 1))
						return true;
				return false;
			}
			for (const char *q = s;; q++) {
				if (gm(p, q))
					return true;
				if (*q == '\0')
					return false;
			}
		}
		switch (*p) {
		case '*':
			p++;
			for (const char *q = s;; q++) {
				if (gm(p, q))
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
			if (*s == '\0' || *s == '/' || !match_class(&p, *s))
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

bool glob_match(const char *glob, const char *path)
{
	return gm(glob, path);
}

bool glob_has_magic(const char *s)
{
	return strpbrk(s, "*?[\\") != NULL;
}

/* Does glob match path or one of its parent directories? */
static bool match_or_parent(const char *glob, const char *path)
{
	char buf[4096];
	size_t n = strlen(path);

	if (gm(glob, path))
		return true;
	if (n >= sizeof(buf))
		return false;
	memcpy(buf, path, n + 1);
	for (char *slash = strrchr(buf, '/'); slash != NULL;
	     slash = strrchr(buf, '/')) {
		*slash = '\0';
		if (gm(glob, buf))
			return true;
	}
	return false;
}

bool glob_match_rel(const char *glob, const char *path, bool is_dir)
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
	/* A leading '/' anchors the glob at the root, as in .gitignore. */
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
			    gm(g, base))
				return true;
			if (slash == NULL)
				return false;
			end = slash;
		}
	}
	if (dir_only) {
		if (gm(g, path))
			return is_dir;
		/* Only parents, which are directories. */
		char buf[4096];
		size_t pn = strlen(path);

		if (pn >= sizeof(buf))
			return false;
		memcpy(buf, path, pn + 1);
		for (char *slash = strrchr(buf, '/'); slash != NULL;
		     slash = strrchr(buf, '/')) {
			*slash = '\0';
			if (gm(g, buf))
				return true;
		}
		return false;
	}
	return match_or_parent(g, path);
}

void pattern_list_init(struct pattern_list *l)
{
	memset(l, 0, sizeof(*l));
}

/* filepath.Clean for a relative pattern: drop "./", "//", trailing '/'. */
static char *clean_pattern(const char *s)
{
	char *out = xmalloc(strlen(s) + 2), *o = out;

	while (*s == '/')
		s++;
	while (*s != '\0') {
		const char *e = strchr(s, '/');
		size_t n = e != NULL ? (size_t)(e - s) : strlen(s);

		if (n == 0 || (n == 1 && s[0] == '.')) {
			/* skip */
		} else if (n == 2 && s[0] == '.' && s[1] == '.') {
			char *last;

			*o = '\0';
			last = strrchr(out, '/');
			o = last != NULL ? last : out;
		} else {
			if (o != out)
				*o++ = '/';
			memcpy(o, s, n);
			o += n;
		}
		s += n;
		while (*s == '/')
			s++;
	}
	if (o == out)
		*o++ = '.';
	*o = '\0';
	return out;
}

void pattern_list_add(struct pattern_list *l, const char *line)
{
	char *t = xstrdup(line), *s = t, *e;
	bool neg = false;

	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
			 e[-1] == '\n'))
		*--e = '\0';
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0' || *s == '#') {
		free(t);
		return;
	}
	if (*s == '!') {
		neg = true;
		s++;
		while (*s == ' ' || *s == '\t')
			s++;
	}
	l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	l->v[l->n].glob = clean_pattern(s);
	l->v[l->n].negate = neg;
	l->n++;
	l->has_negation |= neg;
	free(t);
}

int pattern_list_load(struct pattern_list *l, const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;

	if (f == NULL)
		return errno == ENOENT ? 0 : -errno;
	while (getline(&line, &cap, f) >= 0)
		pattern_list_add(l, line);
	free(line);
	fclose(f);
	return 0;
}

bool pattern_list_match(const struct pattern_list *l, const char *path)
{
	bool matched = false;

	for (size_t i = 0; i < l->n; i++) {
		if (matched != l->v[i].negate)
			continue; /* cannot change the outcome */
		if (match_or_parent(l->v[i].glob, path))
			matched = !l->v[i].negate;
	}
	return matched;
}

bool pattern_list_may_include_under(const struct pattern_list *l,
				    const char *dir)
{
	size_t n = strlen(dir);

	for (size_t i = 0; i < l->n; i++) {
		const char *g = l->v[i].glob;

		if (!l->v[i].negate)
			continue;
		/* An exception could name something under dir when it starts
		   with dir's path or has a wildcard before that point. */
		if (strncmp(g, dir, n) == 0 && (g[n] == '/' || g[n] == '\0'))
			return true;
		if (glob_has_magic(g))
			return true;
	}
	return false;
}

void pattern_list_close(struct pattern_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].glob);
	free(l->v);
	pattern_list_init(l);
}
