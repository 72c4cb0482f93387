/*
 * Small helpers every layer may use: container_of, array sizes, allocation
 * that aborts on exhaustion (as tmux's xmalloc.c), and string helpers.
 */
#ifndef DW_BASE_UTIL_H
#define DW_BASE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define container_of(ptr, type, member)                                        \
	((type *)((char *)(ptr)-offsetof(type, member)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define DW_MIN(a, b) ((a) < (b) ? (a) : (b))
#define DW_MAX(a, b) ((a) > (b) ? (a) : (b))

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
void *xreallocarray(void *p, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

bool str_starts(const char *s, const char *prefix);
bool str_ends(const char *s, const char *suffix);

/*
 * Join two path parts with one '/'; "" or "." as a yields b. Returns a new
 * string the caller frees.
 */
char *path_join(const char *a, const char *b);

/* Monotonic clock in nanoseconds (uv_hrtime without a loop). */
uint64_t now_ns(void);

#endif
