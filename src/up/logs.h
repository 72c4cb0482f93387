/*
 * Container logs during `up` (logs.c): followed through the engine, each
 * line an event (UP_LOG) for the printer and the API, appended to
 * .devwatch/logs/<name>.log, and the last SESSION_TAIL lines kept for
 * failure reports.
 */
#ifndef DW_UP_LOGS_H
#define DW_UP_LOGS_H

#include "up/model.h"

/* Start following an instance's logs (since: unix seconds, 0 = all). */
void session_follow_logs(struct instance *in, long since);
void session_log_close(struct instance *in);
/* The container exited before it was ready: fail with its log tail. */
void session_fail_exited(struct instance *in, int code);

#endif
