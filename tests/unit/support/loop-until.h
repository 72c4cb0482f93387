/*
 * Run a test's loop until a condition holds, and fail the test if it does
 * not within TLOOP_MS. A bare `while (!cond) uv_run(loop, UV_RUN_ONCE)`
 * blocks in the poll for ever when the event it waits for never comes, or
 * came in a callback that ran just before the poll (the stall of
 * src/base/loop.c's loop_run_until); a 10 ms ticker makes each turn of
 * this loop end, so the condition and the deadline are looked at again.
 */
#ifndef DW_TEST_LOOP_UNTIL_H
#define DW_TEST_LOOP_UNTIL_H

#include <stdint.h>

#include <uv.h>

#define TLOOP_MS 10000

void tloop_tick(uv_timer_t *t);

#define TLOOP_UNTIL(loop, cond)                                                \
	do {                                                                   \
		uv_timer_t tick_;                                              \
		uint64_t end_ = uv_now(loop) + TLOOP_MS;                       \
                                                                               \
		uv_timer_init((loop), &tick_);                                 \
		uv_timer_start(&tick_, tloop_tick, 10, 10);                    \
		while (!(cond) && uv_now(loop) < end_)                         \
			uv_run((loop), UV_RUN_ONCE);                           \
		uv_close((uv_handle_t *)&tick_, NULL);                         \
		uv_run((loop), UV_RUN_NOWAIT); /* the ticker's close */        \
		assert_true(cond);                                             \
	} while (0)

#endif
