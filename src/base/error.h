/*
 * Error codes and human-readable causes shared by every layer.
 *
 * 0 is success and a negative value is failure. libuv's UV_E* codes pass
 * through unchanged; devwatch's own codes are declared once in DW_ERRNO_MAP,
 * which yields the enum, the name and the message (as libuv's UV_ERRNO_MAP).
 * Detail for people travels separately in a `char **cause`, worded git's way:
 * lowercase, no final period, the subject quoted.
 */
#ifndef DW_BASE_ERROR_H
#define DW_BASE_ERROR_H

#include <stdarg.h>

#define DW_ERRNO_MAP(XX)                                                       \
	XX(ENGINE_DOWN, "engine does not answer")                              \
	XX(ENGINE_HTTP, "engine returned an error")                            \
	XX(ENGINE_PROTO, "engine sent a malformed answer")                     \
	XX(PROJECT, "invalid project file")                                    \
	XX(TOOBIG, "input exceeds its size cap")                               \
	XX(NOTFOUND, "not found")                                              \
	XX(BUILD, "image build failed")                                        \
	XX(PULL, "image pull failed")                                          \
	XX(PUSH, "image push failed")                                          \
	XX(CRASHED, "container exited")                                        \
	XX(NOTREADY, "container did not become ready")                         \
	XX(STEP, "run step failed")                                            \
	XX(TIMEOUT, "timed out")                                               \
	XX(CANCELED, "canceled")                                               \
	XX(USAGE, "usage error")

enum dw_errno {
	DW__ERRNO_BASE = -7000,
#define XX(code, _) DW_##code,
	DW_ERRNO_MAP(XX)
#undef XX
	DW__ERRNO_END
};

/* Exit codes of the binary (DESIGN.md section 8). */
enum { DW_EXIT_OK = 0, DW_EXIT_FAIL = 1, DW_EXIT_USAGE = 2 };

/* Message for a devwatch or libuv error code; never NULL. */
const char *dw_strerror(int err);
/* Symbolic name ("DW_TOOBIG", "ENOENT"); never NULL. */
const char *dw_err_name(int err);

/*
 * Replace *cause with a newly formatted string. Does nothing when cause is
 * NULL. The caller owns *cause and frees it with free().
 */
void dw_cause(char **cause, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void dw_vcause(char **cause, const char *fmt, va_list ap);

#endif
