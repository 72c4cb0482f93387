/*
 * Inside sync/channel-agent.c and sync/agent-open.c (the session's
 * opening: probe, copy-in, exec, hello): the channel's state and the
 * functions the two share. Not a contract for anyone else.
 */
#ifndef DW_SYNC_CHANNEL_AGENT_INT_H
#define DW_SYNC_CHANNEL_AGENT_INT_H

#include "base/buf.h"
#include "sync/agent-req.h"
#include "sync/channel-agent.h"

enum ag_state { AG_CLOSED, AG_PROBING, AG_INSTALLING, AG_OPENING, AG_READY, AG_OFF };
enum ag_op { OP_NONE, OP_UPDATE, OP_LIST };

struct ag_job {
	uv_work_t req;
	struct agent_chan *a;
	struct agent_stream *st;
	struct buf out;
	int rc;
	bool running;
	unsigned gen;
};

struct agent_chan {
	struct engine *e;
	char *cid;
	struct agent_hooks hk;
	enum ag_state state;
	bool installed;		/* copied in during this open */
	uint64_t open_t0;	/* when this open began */
	struct engine_req *req;
	struct engine_hijack *h;
	struct engine_demux dm;
	struct buf rx;		/* the agent's stdout, gathering frames */
	struct buf line[3];	/* output lines per stream */
	struct buf open_err;	/* what it said before its hello */

	enum ag_op op;
	const struct sync_plan *p;
	char ops[2];		/* W/D statuses still expected, in order */
	int n_ops;
	size_t run;
	bool running;
	uint64_t *step_ns;
	size_t n_step_ns;
	int fail_rc;

	char **paths;
	size_t n_paths, listed;
	bool hash;
	int list_failed;
	agent_entry_cb lcb;
	agent_list_done_cb ldone;
	void *larg;

	struct ag_job *job;
	int jobs_running;
	unsigned gen;
	int depth;
	bool doomed;
};

/* channel-agent.c */
void agc_enter(struct agent_chan *a);
/* True when a is gone: touch nothing more. */
bool agc_leave(struct agent_chan *a);
/* Not the agent's fault (container gone or stopped): the operation fails
   with err, and the next one opens again. */
void agc_fail_open(struct agent_chan *a, int err);
/* The agent cannot run here: tell the owner why. */
void agc_unavailable(struct agent_chan *a, const char *why);
void agc_close_session(struct agent_chan *a);
/* The session is ready: start the operation waiting for it. */
void agc_start_op(struct agent_chan *a);
void agc_on_read(struct engine_hijack *h, const char *data, ssize_t n, void *arg);

/* agent-open.c */
/* HEAD, PUT when needed, exec, attach. Returns 0 or engine_request's code. */
int agc_open_session(struct agent_chan *a);
/* Copy the agent in (again), then exec it. */
void agc_install(struct agent_chan *a);
/* The agent's hello: ready, replaced once, or unavailable. */
void agc_on_hello(struct agent_chan *a, const char *p, size_t n);

#endif
