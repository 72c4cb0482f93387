/*
 * Live update inside an `up` session: not yet wired. The watcher and sync/
 * plug in here.
 */
#include "session.h"

void session_live_start(struct session *s)
{
	(void)s;
}

void session_live_stop(struct session *s)
{
	(void)s;
}
