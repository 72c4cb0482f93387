/*
 * A growable byte buffer with a hard cap, for everything that grows from
 * outside input: engine responses, log streams, API requests (as curl's
 * lib/curlx/dynbuf.c). The data is always NUL-terminated.
 */
#ifndef DW_BASE_BUF_H
#define DW_BASE_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data; /* NULL until the first add; then NUL-terminated */
	size_t len;
	size_t alloc;
	size_t max; /* cap on len; an add that would pass it fails */
};

void buf_init(struct buf *b, size_t max);
/* Append n bytes. Returns 0, or DW_TOOBIG (and b unchanged) past the cap. */
int buf_add(struct buf *b, const void *p, size_t n);
int buf_adds(struct buf *b, const char *s);
int buf_addc(struct buf *b, char c);
int buf_addf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int buf_vaddf(struct buf *b, const char *fmt, va_list ap);
/* Drop the first n bytes, keeping the rest. */
void buf_consume(struct buf *b, size_t n);
/* Empty the buffer, keeping its memory. */
void buf_reset(struct buf *b);
/* Free the memory; the buffer may be reused after buf_init. */
void buf_release(struct buf *b);
/* Hand the data to the caller (never NULL) and reset the buffer. */
char *buf_detach(struct buf *b, size_t *len);
/* The data as a string; "" when empty. */
const char *buf_str(const struct buf *b);
/* The NUL-terminated strings of file `path` (at most `cap` bytes read; a
   cut last one and empty ones are skipped), in order; NULL with *n 0 when
   the file cannot be read. Caller frees each string and the array. */
char **read_nul_list(const char *path, size_t cap, size_t *n);

#endif
