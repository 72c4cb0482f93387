/*
 * devwatch's in-container agent, internal interface between its main loop
 * (agent.c: frames, run steps, hello) and its file operations (fsops.c:
 * writes, deletions, listings). See proto.h for the wire format.
 */
#ifndef DW_SYNC_AGENT_AGENT_H
#define DW_SYNC_AGENT_AGENT_H

#include <stddef.h>
#include <stdint.h>

#include "sync/agent/proto.h"

/* One request's outcome, gathered while it runs. */
struct ag_result {
	int32_t failed;
	char msg[512]; /* the first failure */
	size_t msg_len;
};

/* Note a failure: counts it, keeps the first message. */
void ag_fail(struct ag_result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Write a frame to stdout whole; exits when stdout is gone. */
void ag_send(char type, const void *p, size_t n);
uint64_t ag_now_ns(void);

/* A piece of a write set ('W' payload after its flags byte). */
void ag_write_piece(const unsigned char *p, size_t n, struct ag_result *r);
/* The write set ended (AP_LAST): a half-written entry is dropped. */
void ag_write_end(struct ag_result *r);
/* A 'D' payload. */
void ag_delete(const unsigned char *p, size_t n, struct ag_result *r);
/* An 'L' payload: 'E' frames go out as entries are found. */
void ag_list(const unsigned char *p, size_t n, struct ag_result *r);

#endif
