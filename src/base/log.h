/*
 * Logging. The level is checked before the arguments are evaluated, so a
 * disabled log line costs one compare. `-v` raises the level (repeatable);
 * DEVWATCH_TRACE=1 enables dumps of raw fs and engine events.
 * Colour is used only when the stream is a TTY and NO_COLOR is unset.
 */
#ifndef DW_BASE_LOG_H
#define DW_BASE_LOG_H

#include <stdbool.h>
#include <stdio.h>

enum dw_log_level {
	DW_LOG_ERROR = 0,
	DW_LOG_WARN = 1,
	DW_LOG_INFO = 2,
	DW_LOG_DEBUG = 3,
	DW_LOG_TRACE = 4,
};

extern int dw_log_level;

/* Read NO_COLOR and DEVWATCH_TRACE; call once from main. */
void log_setup(int verbosity);
void log_emit(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* True when colour may be written to f (a TTY, and NO_COLOR unset). */
bool log_color(FILE *f);
/* True when DEVWATCH_TRACE=1. */
bool log_tracing(void);

#define dw_log(level, ...)                                                     \
	do {                                                                   \
		if ((level) <= dw_log_level)                                   \
			log_emit((level), __VA_ARGS__);                        \
	} while (0)
#define log_error(...) dw_log(DW_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) dw_log(DW_LOG_WARN, __VA_ARGS__)
#define log_info(...) dw_log(DW_LOG_INFO, __VA_ARGS__)
#define log_debug(...) dw_log(DW_LOG_DEBUG, __VA_ARGS__)
#define log_trace(...)                                                         \
	do {                                                                   \
		if (log_tracing())                                             \
			log_emit(DW_LOG_TRACE, __VA_ARGS__);                   \
	} while (0)

/* ANSI colours for prefixes; empty strings when colour is off. */
const char *log_colour_code(int index);
const char *log_colour_reset(void);

#endif
