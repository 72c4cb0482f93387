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

#include "base/buf.h"

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

char **read_nul_list(const char *path, size_t cap, size_t *n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char **v = NULL, chunk[1 << 16];
	struct buf b;
	ssize_t k;

	*n = 0;
	if (fd < 0)
		return NULL;
	buf_init(&b, cap);
	while ((k = read(fd, chunk, sizeof(chunk))) > 0 && buf_add(&b, chunk, (size_t)k) == 0)
		;
	close(fd);
	for (size_t i = 0; i < b.len;) {
		size_t len = strnlen(b.data + i, b.len - i);

		if (len > 0 && i + len < b.len) {
			v = xreallocarray(v, *n + 1, sizeof(*v));
			v[(*n)++] = xstrndup(b.data + i, len);
		}
		i += len + 1;
	}
	buf_release(&b);
	return v;
}
