/*
 * Capped growable buffer. See buf.h.
 */
#include "base/buf.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "base/util.h"

void buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	b->max = max;
}

static int grow(struct buf *b, size_t n)
{
	size_t need, a;

	if (n > b->max || b->len > b->max - n)
		return DW_TOOBIG;
	need = b->len + n + 1;
	if (need <= b->alloc)
		return 0;
	a = b->alloc ? b->alloc : 64;
	while (a < need)
		a *= 2;
	b->data = xrealloc(b->data, a);
	b->alloc = a;
	return 0;
}

int buf_add(struct buf *b, const void *p, size_t n)
{
	int err = grow(b, n);

	if (err != 0)
		return err;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int buf_adds(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int buf_addc(struct buf *b, char c)
{
	return buf_add(b, &c, 1);
}

int buf_vaddf(struct buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n, err;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return DW_TOOBIG;
	err = grow(b, (size_t)n);
	if (err != 0)
		return err;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = buf_vaddf(b, fmt, ap);
	va_end(ap);
	return err;
}

void buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		buf_reset(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void buf_release(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
}

char *buf_detach(struct buf *b, size_t *len)
{
	char *p = b->data ? b->data : xstrdup("");

	if (len != NULL)
		*len = b->len;
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	return p;
}

const char *buf_str(const struct buf *b)
{
	return b->data ? b->data : "";
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
