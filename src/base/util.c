/*
 * Allocation and string helpers. Allocation failure aborts: devwatch cannot
 * do anything useful without memory, and checking every small allocation
 * would bury the logic (tmux's xmalloc.c makes the same choice).
 */
#include "base/util.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>


static void oom(void)
{
	fputs("devwatch: out of memory\n", stderr);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		oom();
	return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (p == NULL)
		oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		oom();
	return q;
}

void *xreallocarray(void *p, size_t nmemb, size_t size)
{
	void *q = reallocarray(p, nmemb ? nmemb : 1, size ? size : 1);

	if (q == NULL)
		oom();
	return q;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		oom();
	return p;
}

char *xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	if (p == NULL)
		oom();
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		oom();
	return s;
}

bool str_starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool str_ends(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

char *path_join(const char *a, const char *b)
{
	size_t n;

	if (a == NULL || a[0] == '\0' || strcmp(a, ".") == 0)
		return xstrdup(b);
	if (b == NULL || b[0] == '\0' || strcmp(b, ".") == 0)
		return xstrdup(a);
	n = strlen(a);
	while (n > 1 && a[n - 1] == '/')
		n--;
	while (b[0] == '/')
		b++;
	if (a[n - 1] == '/')
		return xasprintf("%.*s%s", (int)n, a, b);
	return xasprintf("%.*s/%s", (int)n, a, b);
}

uint64_t now_ns(void)
{
	return uv_hrtime();
}
