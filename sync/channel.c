/*
 * The fast channel. See channel.h; the tar is channel-tar.c's, the archive
 * fallback channel-fallback.c's.
 *
 * Agent protocol, on the exec's stdin: a header line "<op> <bytes>\n" and
 * exactly that many bytes. P: NUL-separated folders that must not be
 * symlinks. D: NUL-separated paths to remove. X: a run step for sh -c.
 * W: a tar to extract at '/', sent as it is read from disk, in pieces
 * "<bytes>\n<bytes of tar>" ended by "0\n". w: a tar read whole before it
 * is sent (a save), as one frame: the same without the piece loop, which
 * spares a subshell in the container (~0.3 ms of ~1.9). GNU and busybox tar read their
 * input to the end on success; when tar fails early, cat drains the rest so
 * the framing holds (run only then: it costs ~1 ms on every save). The agent answers each with
 * "S <exit code>" on stdout; everything else it prints (run-step output,
 * tar's complaints) goes to stderr, which we show with the container's
 * prefix. W and D are pipelined; each X waits for the one before, since a
 * failed step stops the update.
 */
#include "sync/channel-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/error.h"
#include "base/log.h"
#include "base/util.h"
#include "sync/channel-agent.h"
#include "sync/tarstream.h"


static const char agent[] =
	"for c in tar dd xargs rm cat; do command -v $c >/dev/null 2>&1 || "
	"{ echo \"DWAGENT missing $c\"; exit 3; }; done\n"
	"echo 'DWAGENT ready'\n"
	"r() { dd bs=65536 count=\"$1\" iflag=count_bytes,fullblock 2>/dev/null; }\n"
	"while read -r op n; do\n"
	"  case $op in\n"
	"  P) r \"$n\" | xargs -0 sh -c 'for d; do if [ -L \"$d\" ]; then rm -f -- \"$d\"; fi; done; exit 0' sh; echo \"S $?\";;\n"
	"  W) { while read -r k && [ \"$k\" != 0 ]; do r \"$k\"; done; } |\n"
	"     { tar -x -p -f - -C / 1>&2 || { s=$?; cat >/dev/null; exit $s; }; }; echo \"S $?\";;\n"
	"  w) dd bs=65536 count=\"$n\" iflag=count_bytes,fullblock 2>/dev/null |\n"
	"     { tar -x -p -f - -C / 1>&2 || { s=$?; cat >/dev/null; exit $s; }; }; echo \"S $?\";;\n"
	"  D) r \"$n\" | xargs -0 rm -rf -- 1>&2; echo \"S $?\";;\n"
	"  X) c=$(r \"$n\"); sh -c \"$c\" </dev/null 1>&2; echo \"S $?\";;\n"
	"  *) echo 'S 99';;\n"
	"  esac\n"
	"done\n";


static void run_next(struct channel *ch);
static void ops_settled(struct channel *ch);

void chan_finish(struct channel *ch, int err, int step, int rc)
{
	channel_done_cb cb = ch->done;

	chan_abandon_job(ch);
	chan_direct_close(ch);
	ch->done = NULL;
	ch->p = NULL;
	if (cb != NULL)
		cb(ch, err, step, rc, ch->done_arg);
}

void chan_say(struct channel *ch, const char *fmt, const char *a)
{
	char msg[512];

	snprintf(msg, sizeof(msg), fmt, a);
	if (ch->notice != NULL)
		ch->notice(msg, ch->arg);
}

/* ---- execs ---- */

/* POST /containers/{id}/exec for argv (NULL-terminated), with stdin
   attached when `in`. Returns engine_request's result. */
int chan_exec_create(struct channel *ch, const char *const *argv, bool in,
		       engine_done_cb cb, void *arg, struct engine_req **out)
{
	cJSON *o = cJSON_CreateObject(), *cmd = cJSON_AddArrayToObject(o, "Cmd");
	struct engine_call call = {.method = "POST"};
	char path[160], *body;
	int rc;

	for (size_t i = 0; argv[i] != NULL; i++)
		cJSON_AddItemToArray(cmd, cJSON_CreateString(argv[i]));
	if (in)
		cJSON_AddBoolToObject(o, "AttachStdin", true);
	cJSON_AddBoolToObject(o, "AttachStdout", true);
	cJSON_AddBoolToObject(o, "AttachStderr", true);
	cJSON_AddBoolToObject(o, "Tty", false);
	body = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	snprintf(path, sizeof(path), "/containers/%s/exec", ch->cid);
	call.path = path;
	call.body = body;
	call.body_len = strlen(body);
	rc = engine_request(ch->e, &call, cb, arg, out);
	free(body);
	return rc;
}

/* An exec's exit code from GET /exec/{id}/json, or -1. */
int chan_exec_exit_code(int err, const struct engine_resp *resp)
{
	int rc = -1;

	if (err == 0 && resp->status == 200) {
		cJSON *o = cJSON_ParseWithLength(resp->body, resp->len);
		cJSON *c = cJSON_GetObjectItem(o, "ExitCode");

		if (cJSON_IsNumber(c))
			rc = c->valueint;
		cJSON_Delete(o);
	}
	return rc;
}

void chan_show_line(struct channel *ch, struct buf *line)
{
	if (ch->out != NULL)
		ch->out(buf_str(line), line->len, ch->arg);
	buf_reset(line);
}

/* An exec's output: gather it in `line` and show each whole line; one
   longer than the buffer is shown in parts. */
void chan_show_lines(struct channel *ch, struct buf *line, const char *data,
		       size_t len)
{
	while (len > 0) {
		const char *nl = memchr(data, '\n', len);
		size_t take = nl ? (size_t)(nl - data) : len;
		size_t room = line->max - line->len;

		if (take > room) {
			buf_add(line, data, room);
			chan_show_line(ch, line);
			data += room;
			len -= room;
			continue;
		}
		buf_add(line, data, take);
		if (nl == NULL)
			break;
		chan_show_line(ch, line);
		data += take + 1;
		len -= take + 1;
	}
}

/* ---- the fast path ---- */

static int send_op(struct channel *ch, char op, const char *data, size_t n)
{
	char hdr[32];
	int len = snprintf(hdr, sizeof(hdr), "%c %zu\n", op, n);
	int err = engine_hijack_write(ch->h, hdr, (size_t)len);

	if (err == 0 && n > 0)
		err = engine_hijack_write(ch->h, data, n);
	return err;
}

static void start_update(struct channel *ch)
{
	const struct sync_plan *p = ch->p;

	ch->n_ops = 0;
	ch->run = 0;
	ch->running = false;
	ch->fail_err = 0;
	free(ch->step_ns);
	ch->n_step_ns = p->n_runs;
	ch->step_ns = xcalloc(p->n_runs + 1, sizeof(uint64_t));
	if (p->parents.len > 0) {
		/* Folders that are symlinks in the container become real
		   folders before anything is written under them. */
		ch->ops[ch->n_ops++] = 'P';
		send_op(ch, 'P', p->parents.data, p->parents.len);
	}
	if (p->n_members > 0 && p->bytes >= DIRECT_BYTES) {
		/* D follows once its tar has exited; it starts after P, which
		   must have made the folders real before tar writes. */
		ch->direct_busy = true;
		if (ch->n_ops > 0)
			ch->direct_wait = true;
		else
			chan_start_direct(ch);
		return;
	}
	if (p->n_members > 0) {
		/* D follows once the whole tar is on its way. */
		ch->ops[ch->n_ops++] = 'W';
		chan_start_job(ch, false); /* it sends "W 0" with the first piece */
		return;
	}
	chan_send_deletes(ch);
}

void chan_send_deletes(struct channel *ch)
{
	const struct sync_plan *p = ch->p;

	if (p->deletes.len > 0) {
		ch->ops[ch->n_ops++] = 'D';
		send_op(ch, 'D', p->deletes.data, p->deletes.len);
	}
	ops_settled(ch);
}

/* Once every P/W/D status is in and the direct tar (if any) is done: the
   run steps, or the end of a failed update. */
static void ops_settled(struct channel *ch)
{
	if (ch->n_ops > 0 || ch->direct_busy)
		return;
	if (ch->fail_err != 0) {
		chan_finish(ch, ch->fail_err, -1, ch->fail_rc);
		return;
	}
	run_next(ch);
}

static void run_next(struct channel *ch)
{
	const struct sync_plan *p = ch->p;

	if (ch->run >= p->n_runs) {
		chan_finish(ch, 0, -1, 0);
		return;
	}
	ch->running = true;
	ch->run_start = now_ns();
	send_op(ch, 'X', p->runs[ch->run], strlen(p->runs[ch->run]));
}

static void on_status(struct channel *ch, int rc)
{
	if (ch->p == NULL)
		return;
	if (ch->n_ops > 0) {
		char op = ch->ops[0];

		memmove(ch->ops, ch->ops + 1, (size_t)--ch->n_ops);
		if (rc != 0 && ch->fail_err == 0) {
			ch->fail_err = DW_STEP;
			ch->fail_rc = rc;
			log_debug("agent: %c exited %d", op, rc);
		}
		if (op == 'P' && ch->direct_wait) {
			ch->direct_wait = false;
			chan_start_direct(ch);
		}
		ops_settled(ch);
		return;
	}
	if (!ch->running)
		return;
	ch->running = false;
	ch->step_ns[ch->run] = now_ns() - ch->run_start;
	if (rc != 0) {
		chan_finish(ch, 0, (int)ch->run, rc);
		return;
	}
	ch->run++;
	run_next(ch);
}


static void on_line(struct channel *ch, int stream, const char *l, size_t n)
{
	if (stream == 1) {
		if (n > 2 && l[0] == 'S' && l[1] == ' ') {
			on_status(ch, atoi(l + 2));
		} else if (ch->state == CH_OPENING && n >= 13 &&
			   memcmp(l, "DWAGENT ready", 13) == 0) {
			ch->state = CH_READY;
			buf_reset(&ch->open_err);
			if (ch->p != NULL)
				start_update(ch);
		} else if (ch->state == CH_OPENING && n > 16 &&
			   memcmp(l, "DWAGENT missing ", 16) == 0) {
			char *why = xasprintf("the image has no '%.*s'", (int)(n - 16), l + 16);

			chan_go_fallback(ch, why);
			free(why);
		} else if (ch->out != NULL) {
			ch->out(l, n, ch->arg);
		}
		return;
	}
	if (ch->state == CH_OPENING) {
		buf_add(&ch->open_err, l, n);
		return;
	}
	if (ch->out != NULL)
		ch->out(l, n, ch->arg);
}

static int on_frame(int stream, const char *data, size_t len, void *arg)
{
	struct channel *ch = arg;
	struct buf *b = &ch->line[stream == 2 ? 2 : 1];

	while (len > 0) {
		const char *nl = memchr(data, '\n', len);
		size_t take = nl ? (size_t)(nl - data) : len;

		if (take > b->max - b->len) {
			/* Longer than a line may be: show it in parts, as
			   show_lines does (flushing only would spin on a
			   piece past the cap). */
			size_t room = b->max - b->len;

			buf_add(b, data, room);
			on_line(ch, stream, buf_str(b), b->len);
			if (ch->doomed)
				return 1;
			buf_reset(b);
			data += room;
			len -= room;
			continue;
		}
		buf_add(b, data, take);
		if (nl == NULL)
			break;
		on_line(ch, stream, buf_str(b), b->len);
		if (ch->doomed)
			return 1; /* freed by a callback: touch nothing more */
		buf_reset(b);
		data += take + 1;
		len -= take + 1;
		if (ch->state == CH_FALLBACK || ch->h == NULL)
			break; /* went to the fallback mid-stream */
	}
	return 0;
}

static void on_read(struct engine_hijack *h, const char *data, ssize_t n, void *arg)
{
	struct channel *ch = arg;

	(void)h;
	if (n > 0) {
		ch->depth++;
		engine_demux_feed(&ch->dm, data, (size_t)n, on_frame, ch);
		if (--ch->depth == 0 && ch->doomed && ch->jobs_running == 0)
			chan_destroy(ch);
		return;
	}
	/* The agent is gone. */
	if (ch->state == CH_OPENING) {
		char *why = ch->open_err.len > 0
				    ? xasprintf("the agent did not start: %s", buf_str(&ch->open_err))
				    : xstrdup("the image has no sh");

		chan_go_fallback(ch, why);
		free(why);
		return;
	}
	engine_hijack_close(ch->h);
	ch->h = NULL;
	ch->state = CH_CLOSED;
	if (ch->p != NULL)
		chan_finish(ch, DW_CANCELED, -1, 0);
}

static void on_hijacked(struct engine_hijack *h, int err, void *arg)
{
	struct channel *ch = arg;

	(void)h;
	if (err != 0) {
		char *why = xasprintf("the exec session could not attach: %s", dw_strerror(err));

		chan_go_fallback(ch, why);
		free(why);
	}
}

static void on_exec_created(struct engine_req *req, int err,
			    const struct engine_resp *resp, void *arg)
{
	struct channel *ch = arg;
	cJSON *o, *id;
	char path[160];

	(void)req;
	if (err != 0 || resp->status != 201) {
		char *m = err != 0 ? xstrdup(dw_strerror(err)) : engine_error_message(resp->body, resp->len);

		ch->state = CH_CLOSED;
		log_debug("exec create: %s", m);
		free(m);
		if (ch->p != NULL)
			chan_finish(ch, err != 0 ? err : DW_ENGINE_HTTP, -1, 0);
		return;
	}
	o = cJSON_ParseWithLength(resp->body, resp->len);
	id = cJSON_GetObjectItem(o, "Id");
	if (!cJSON_IsString(id) || !engine_id_ok(id->valuestring)) {
		cJSON_Delete(o);
		chan_go_fallback(ch, "the engine gave the exec no valid id");
		return;
	}
	snprintf(path, sizeof(path), "/exec/%s/start", id->valuestring);
	cJSON_Delete(o);
	engine_demux_init(&ch->dm, false);
	err = engine_hijack_open(ch->e, path, "{\"Detach\":false,\"Tty\":false}",
				 on_hijacked, on_read, ch, &ch->h);
	if (err != 0)
		chan_go_fallback(ch, "the exec session could not attach");
}

/* Returns exec_create's result: on failure the channel stays closed. */
static int open_agent(struct channel *ch)
{
	const char *const argv[] = {"sh", "-c", agent, NULL};
	int err;

	ch->state = CH_OPENING;
	buf_reset(&ch->open_err);
	err = chan_exec_create(ch, argv, true, on_exec_created, ch, NULL);
	if (err != 0)
		ch->state = CH_CLOSED;
	return err;
}

/* ---- devwatch's agent (channel-agent.c) ---- */

static void ag_out(const char *line, size_t n, void *arg)
{
	struct channel *ch = arg;

	if (ch->out != NULL)
		ch->out(line, n, ch->arg);
}

static void ag_done(int err, int step, int rc, void *arg)
{
	chan_finish(arg, err, step, rc);
}

/* It cannot run here: the shell agent takes over, with the update. */
static void ag_unavailable(const char *why, void *arg)
{
	struct channel *ch = arg;

	ch->ag_off = true;
	chan_say(ch, "devwatch's agent unavailable (%s); using the shell agent", why);
	if (ch->p != NULL && ch->state == CH_CLOSED)
		open_agent(ch);
}

/* DEVWATCH_AGENT=sh or =archive forces a fallback (so the suite covers
   each path). */
static void use_agent(struct channel *ch)
{
	const char *force = getenv("DEVWATCH_AGENT");
	struct agent_hooks hk = {ag_out, ag_done, ag_unavailable, ch};

	if (force != NULL && strcmp(force, "archive") == 0) {
		ch->ag_off = true;
		ch->state = CH_FALLBACK;
		chan_say(ch, "fast channel unavailable (%s); using the engine's archive API",
		    "DEVWATCH_AGENT=archive");
		return;
	}
	if (force != NULL && strcmp(force, "sh") == 0) {
		ch->ag_off = true;
		return;
	}
	ch->ag = agent_chan_new(ch->e, ch->cid, &hk);
}

int channel_list(struct channel *ch, const char *const *paths, size_t n,
		 bool hash, channel_entry_cb cb, channel_list_done_cb done,
		 void *arg)
{
	if (ch->ag_off || ch->p != NULL)
		return ch->ag_off ? UV_ENOTSUP : UV_EBUSY;
	return agent_chan_list(ch->ag, paths, n, hash, cb, done, arg);
}

/* ---- API ---- */

struct channel *channel_new(struct engine *e, const char *container_id,
			    channel_output_cb out, channel_notice_cb notice,
			    void *arg)
{
	struct channel *ch = xcalloc(1, sizeof(*ch));

	ch->e = e;
	ch->cid = xstrdup(container_id);
	ch->out = out;
	ch->notice = notice;
	ch->arg = arg;
	for (int i = 0; i < 3; i++)
		buf_init(&ch->line[i], LINE_MAX_BYTES);
	buf_init(&ch->open_err, 4096);
	buf_init(&ch->fb_links, 1u << 30); /* some of a plan's parents */
	buf_init(&ch->dline, LINE_MAX_BYTES);
	use_agent(ch);
	return ch;
}

int channel_apply(struct channel *ch, const struct sync_plan *p,
		  channel_done_cb done, void *arg)
{
	if (ch->p != NULL)
		return UV_EBUSY;
	ch->p = p;
	ch->done = done;
	ch->done_arg = arg;
	if (!ch->ag_off) {
		int rc = agent_chan_apply(ch->ag, p);

		if (rc != UV_ENOTSUP) {
			if (rc != 0)
				ch->p = NULL;
			return rc;
		}
	}
	switch (ch->state) {
	case CH_READY:
		start_update(ch);
		break;
	case CH_CLOSED: {
		int err = open_agent(ch);

		if (err != 0) {
			/* No update started: the caller hears it from us. */
			ch->p = NULL;
			ch->done = NULL;
			return err;
		}
		break;
	}
	case CH_OPENING:
		break;
	case CH_FALLBACK:
		chan_fb_start(ch);
		break;
	}
	return 0;
}

uint64_t channel_step_ns(const struct channel *ch, size_t i)
{
	if (!ch->ag_off)
		return agent_chan_step_ns(ch->ag, i);
	return i < ch->n_step_ns ? ch->step_ns[i] : 0;
}

void channel_rebind(struct channel *ch, channel_output_cb out,
		    channel_notice_cb notice, void *arg)
{
	ch->out = out;
	ch->notice = notice;
	ch->arg = arg;
}

void channel_reset(struct channel *ch)
{
	if (ch == NULL)
		return;
	/* A tar mid-stream cannot go on over a new session. */
	chan_abandon_stream(ch);
	if (ch->h != NULL) {
		engine_hijack_close(ch->h);
		ch->h = NULL;
	}
	chan_direct_close(ch);
	if (ch->ag != NULL)
		agent_chan_reset(ch->ag);
	if (ch->state != CH_FALLBACK)
		ch->state = CH_CLOSED;
	for (int i = 0; i < 3; i++)
		buf_reset(&ch->line[i]);
}

void channel_interrupt(struct channel *ch)
{
	/* The archive API's requests are the engine's to refuse. */
	if (ch == NULL || (ch->state == CH_FALLBACK && ch->ag_off))
		return;
	channel_reset(ch);
	if (ch->p != NULL)
		chan_finish(ch, DW_CANCELED, -1, 0);
}

void channel_free(struct channel *ch)
{
	if (ch == NULL)
		return;
	channel_reset(ch);
	chan_abandon_job(ch);
	agent_chan_free(ch->ag);
	ch->ag = NULL;
	if (ch->depth > 0 || ch->jobs_running > 0) {
		/* on_read, or the job's fill coming back, finishes this */
		ch->doomed = true;
		return;
	}
	chan_destroy(ch);
}

void chan_destroy(struct channel *ch)
{
	for (int i = 0; i < 3; i++)
		buf_release(&ch->line[i]);
	buf_release(&ch->open_err);
	buf_release(&ch->fb_links);
	buf_release(&ch->dline);
	free(ch->step_ns);
	free(ch->exec_id);
	free(ch->cid);
	free(ch);
}

