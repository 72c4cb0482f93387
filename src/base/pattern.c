/*
 * Glob matching and .dockerignore pattern lists. See pattern.h. The matcher
 * runs in time bounded by pattern length x path length, whatever the
 * pattern (see glob_match).
 */
#include "base/pattern.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

/* At a '[': the end of the class (past its ']'), or NULL when it has none.
   With c not '\0', *ok tells whether the class takes c. Where the class
   ends depends on the pattern only, never on c. */
static const char *class_end(const char *p, char c, bool *ok)
{
	bool neg = false, hit = false;

	p++;
	if (*p == '!' || *p == '^') {
		neg = true;
		p++;
	}
	do {
		char lo = *p, hi;

		if (lo == '\0')
			return NULL;
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
			hit = true;
		p++;
	} while (*p != ']');
	*ok = hit != neg;
	return p + 1;
}

/*
 * The matcher is a position-set simulation (Thompson's construction) over
 * the pattern's tokens, so its cost is bounded by tokens x path length: a
 * backtracking walk is exponential in the number of stars ("*a*a*a*b"
 * against a long name). Tokens:
 *   T_LIT c     one byte c            T_ANY    `?`: one byte but '/'
 *   T_CLASS     `[...]`: one byte but '/', in the class
 *   T_STAR      `*`: any run without '/'
 *   T_DSTAR     `**` not before '/': any run
 *   T_OPT       `**` before '/', first half: skip the T_TOSLASH after
 *               it (zero segments), or enter it
 *   T_TOSLASH   `**` before '/', second half: any run ending in '/'
 *   T_FAIL      a class without ']': matches nothing
 * A state k means "tokens before k matched"; state n is the end.
 */
enum { T_LIT, T_ANY, T_CLASS, T_STAR, T_DSTAR, T_OPT, T_TOSLASH, T_FAIL };

struct gtok {
	unsigned char kind;
	char c;
	const char *cls; /* T_CLASS: at its '[' */
};

/* Tokenise p into t (room for strlen(p) + 1 tokens). Returns the count. */
static size_t tokenise(const char *p, struct gtok *t)
{
	size_t n = 0;
	bool ok;

	while (*p != '\0') {
		struct gtok *k = &t[n++];

		k->c = '\0';
		k->cls = NULL;
		if (p[0] == '*' && p[1] == '*') {
			while (*p == '*')
				p++;
			if (*p == '/') {
				k->kind = T_OPT;
				t[n++].kind = T_TOSLASH;
				p++;
			} else {
				k->kind = T_DSTAR;
			}
			continue;
		}
		switch (*p) {
		case '*':
			k->kind = T_STAR;
			p++;
			break;
		case '?':
			k->kind = T_ANY;
			p++;
			break;
		case '[':
			k->cls = p;
			p = class_end(p, '\0', &ok);
			if (p == NULL) {
				k->kind = T_FAIL;
				return n; /* nothing after it can match */
			}
			k->kind = T_CLASS;
			break;
		case '\\':
			if (p[1] != '\0')
				p++;
			/* fall through */
		default:
			k->kind = T_LIT;
			k->c = *p++;
		}
	}
	return n;
}

/* The simulation: the states reached so far after the current byte are
   listed in `next`, and state k is among them when mark[k] == gen, so a
   byte costs the states alive, not the pattern's length. */
struct gsim {
	const struct gtok *t;
	size_t n;
	uint32_t *mark;
	uint32_t gen;
	uint32_t *next;
	size_t n_next;
};

static void put(struct gsim *g, size_t k)
{
	g->mark[k] = g->gen;
	g->next[g->n_next++] = (uint32_t)k;
}

/* Add state k and what it reaches without consuming a byte. */
static void reach(struct gsim *g, size_t k)
{
	while (k <= g->n && g->mark[k] != g->gen) {
		put(g, k);
		if (k == g->n)
			return;
		switch (g->t[k].kind) {
		case T_STAR:
		case T_DSTAR:
			k++;
			break;
		case T_OPT:
			if (g->mark[k + 1] != g->gen)
				put(g, k + 1); /* T_TOSLASH: it consumes */
			k += 2;
			break;
		default:
			return;
		}
	}
}

/* One byte c taken from state k. */
static void step(struct gsim *g, size_t k, char c)
{
	const struct gtok *t = &g->t[k];
	bool ok = false;

	if (k == g->n)
		return; /* the end takes no byte */
	switch (t->kind) {
	case T_LIT:
		if (t->c == c)
			reach(g, k + 1);
		break;
	case T_ANY:
		if (c != '/')
			reach(g, k + 1);
		break;
	case T_CLASS:
		if (c != '/' && class_end(t->cls, c, &ok) != NULL && ok)
			reach(g, k + 1);
		break;
	case T_STAR:
		if (c != '/')
			reach(g, k);
		break;
	case T_DSTAR:
		reach(g, k);
		break;
	case T_TOSLASH:
		if (g->mark[k] != g->gen)
			put(g, k);
		if (c == '/')
			reach(g, k + 1);
		break;
	default: /* T_OPT moves on no byte; T_FAIL never */
		break;
	}
}

#define GLOB_STACK_TOKENS 128

/* What one pass of glob over path finds: MATCH_WHOLE when it matches the
   path, MATCH_PARENT when it matches one of the path's parents (the path
   up to a '/'). */
enum { MATCH_PARENT = 1, MATCH_WHOLE = 2 };

static int gmatch(const char *glob, const char *path)
{
	struct gtok st_tok[GLOB_STACK_TOKENS], *t = st_tok;
	uint32_t st_state[3 * (GLOB_STACK_TOKENS + 1)], *state = st_state, *cur;
	size_t m = strlen(glob), n_cur;
	struct gsim g;
	const char *s;
	int found = 0;
	size_t lit = strcspn(glob, "*?[\\");

	/* What matches starts with the glob's literal prefix, and so does a
	   path one of whose parents matches: most globs of a walk fail here,
	   and a glob without wildcards needs nothing more. */
	if (strncmp(glob, path, lit) != 0)
		return 0;
	if (glob[lit] == '\0')
		return path[lit] == '\0' ? MATCH_WHOLE : path[lit] == '/' ? MATCH_PARENT : 0;
	glob += lit;
	path += lit;
	m -= lit;
	if (m + 1 > GLOB_STACK_TOKENS) {
		t = xcalloc(m + 1, sizeof(*t));
		state = xcalloc(3 * (m + 2), sizeof(*state));
	}
	g.t = t;
	g.n = tokenise(glob, t);
	g.mark = state;
	memset(g.mark, 0, (g.n + 1) * sizeof(*g.mark));
	cur = state + (g.n + 1);
	g.next = cur + (g.n + 1);
	g.gen = 1;
	g.n_next = 0;
	reach(&g, 0);
	for (s = path; *s != '\0' && g.n_next > 0; s++) {
		uint32_t *tmp = cur;

		if (*s == '/' && g.mark[g.n] == g.gen)
			found |= MATCH_PARENT;
		cur = g.next;
		n_cur = g.n_next;
		g.next = tmp;
		g.n_next = 0;
		g.gen++;
		for (size_t i = 0; i < n_cur; i++)
			step(&g, cur[i], *s);
	}
	/* No state left means no match, whatever is left of the path. */
	if (*s == '\0' && g.n_next > 0 && g.mark[g.n] == g.gen)
		found |= MATCH_WHOLE;
	if (t != st_tok) {
		free(t);
		free(state);
	}
	return found;
}

bool glob_match(const char *glob, const char *path)
{
	return (gmatch(glob, path) & MATCH_WHOLE) != 0;
}

bool glob_match_parent(const char *glob, const char *path)
{
	return gmatch(glob, path) != 0;
}

bool glob_has_magic(const char *s)
{
	return strpbrk(s, "*?[\\") != NULL;
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
			    glob_match(g, base))
				return true;
			if (slash == NULL)
				return false;
			end = slash;
		}
	}
	if (dir_only) {
		int found = gmatch(g, path);

		/* The path itself if it is a directory; its parents are. (A
		   file "x/x" under a matching "x" used to be missed, unlike
		   with a bare name.) */
		return ((found & MATCH_WHOLE) && is_dir) || (found & MATCH_PARENT);
	}
	return glob_match_parent(g, path);
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
		if (glob_match_parent(l->v[i].glob, path))
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
