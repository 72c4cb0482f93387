/*
 * The devwatch error table and cause formatting. See error.h.
 */
#include "base/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

#include "base/util.h"

const char *dw_strerror(int err)
{
	switch (err) {
#define XX(code, msg)                                                          \
	case DW_##code:                                                        \
		return msg;
		DW_ERRNO_MAP(XX)
#undef XX
	default:
		return uv_strerror(err);
	}
}

const char *dw_err_name(int err)
{
	switch (err) {
#define XX(code, _)                                                            \
	case DW_##code:                                                        \
		return "DW_" #code;
		DW_ERRNO_MAP(XX)
#undef XX
	default:
		return uv_err_name(err);
	}
}

void dw_vcause(char **cause, const char *fmt, va_list ap)
{
	char *s;

	if (cause == NULL)
		return;
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	free(*cause);
	*cause = s;
}

void dw_cause(char **cause, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	dw_vcause(cause, fmt, ap);
	va_end(ap);
}
