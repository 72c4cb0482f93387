/*
 * Log output to stderr with a level prefix. See log.h.
 */
#include "base/log.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int dw_log_level = DW_LOG_INFO;
static bool tracing;
static bool colour_err;
static bool colour_out;

void log_setup(int verbosity)
{
	const char *t = getenv("DEVWATCH_TRACE");

	dw_log_level = DW_LOG_INFO + verbosity;
	tracing = t != NULL && strcmp(t, "1") == 0;
	if (tracing && dw_log_level < DW_LOG_TRACE)
		dw_log_level = DW_LOG_TRACE;
	colour_err = log_color(stderr);
	colour_out = log_color(stdout);
}

bool log_color(FILE *f)
{
	const char *nc = getenv("NO_COLOR");

	if (nc != NULL && nc[0] != '\0')
		return false;
	return isatty(fileno(f)) == 1;
}

bool log_tracing(void)
{
	return tracing;
}

void log_emit(int level, const char *fmt, ...)
{
	static const char *const names[] = {"error", "warning", "", "debug",
					    "trace"};
	static const char *const colours[] = {"\033[31m", "\033[33m", "",
					       "\033[2m", "\033[2m"};
	va_list ap;

	if (level < 0 || level > DW_LOG_TRACE)
		level = DW_LOG_TRACE;
	if (level != DW_LOG_INFO)
		fprintf(stderr, "%s%s:%s ", colour_err ? colours[level] : "",
			names[level], colour_err ? "\033[0m" : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

const char *log_colour_code(int index)
{
	static const char *const palette[] = {"\033[36m", "\033[33m",
					      "\033[32m", "\033[35m",
					      "\033[34m", "\033[91m"};

	if (!colour_out)
		return "";
	return palette[(unsigned)index % (sizeof(palette) / sizeof(palette[0]))];
}

const char *log_colour_reset(void)
{
	return colour_out ? "\033[0m" : "";
}
