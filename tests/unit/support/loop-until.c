/*
 * The ticker of TLOOP_UNTIL (loop-until.h): it only wakes the loop.
 */
#include "loop-until.h"

void tloop_tick(uv_timer_t *t)
{
	(void)t;
}
