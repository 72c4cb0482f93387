/*
 * The channel's fallback (channel-int.h), for a container where no agent
 * runs: the tar through the archive API (PUT /containers/{id}/archive),
 * deletions and each run step as an exec of their own.
 */
#include "sync/channel-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "base/error.h"
#include "base/log.h"
#include "base/util.h"

/* ---- the fallback: archive API and one exec per step ---- */

void chan_go_fallback(struct channel *ch, const char *why)
{
	if (ch->h != NULL) {
		engine_hijack_close(ch->h);
		ch->h = NULL;
	}
	ch->state = CH_FALLBACK;
	chan_say(ch, "fast channel unavailable (%s); using the engine's archive API", why);
	if (ch->p != NULL)
		chan_fb_start(ch);
}

void chan_fb_start(struct channel *ch)
{
	ch->fb_phase = FB_LINKS;
	ch->fb_at = 0;
	buf_reset(&ch->fb_links);
	free(ch->step_ns);
	ch->n_step_ns = ch->p->n_runs;
	ch->step_ns = xcalloc(ch->p->n_runs + 1, sizeof(uint64_t));
	ch->run = 0;
	chan_fb_next(ch);
}

struct fb_exec {
	struct channel *ch;
	char id[80];
	struct buf line;
};

static int fb_frame(int stream, const char *data, size_t len, void *arg)
{
	struct fb_exec *x = arg;

	(void)stream;
	chan_show_lines(x->ch, &x->line, data, len);
	return 0;
}

static void fb_step_done(struct channel *ch, int rc)
{
	if (ch->fb_phase == FB_DELETE) {
		/* deletions: report, do not stop */
		if (rc != 0)
			chan_say(ch, "%s", "could not remove deleted paths in the container (no rm?)");
		ch->fb_phase = FB_RUN;
		chan_fb_next(ch);
		return;
	}
	ch->step_ns[ch->run] = now_ns() - ch->run_start;
	if (rc != 0) {
		chan_finish(ch, 0, (int)ch->run, rc);
		return;
	}
	ch->run++;
	chan_fb_next(ch);
}

/* A request of the exec's was refused: the step failed, and x goes. */
static void fb_exec_failed(struct fb_exec *x)
{
	struct channel *ch = x->ch;

	buf_release(&x->line);
	free(x);
	fb_step_done(ch, -1);
}

static void fb_inspected(struct engine_req *req, int err,
			 const struct engine_resp *resp, void *arg)
{
	struct fb_exec *x = arg;
	struct channel *ch = x->ch;
	int rc = chan_exec_exit_code(err, resp);

	(void)req;
	buf_release(&x->line);
	free(x);
	fb_step_done(ch, rc);
}

static void fb_started(struct engine_req *req, int err,
		       const struct engine_resp *resp, void *arg)
{
	struct fb_exec *x = arg;
	struct engine_call call = {.method = "GET"};
	char path[160];

	(void)req, (void)err, (void)resp;
	if (x->line.len > 0 && x->ch->out != NULL)
		x->ch->out(buf_str(&x->line), x->line.len, x->ch->arg);
	snprintf(path, sizeof(path), "/exec/%s/json", x->id);
	call.path = path;
	if (engine_request(x->ch->e, &call, fb_inspected, x, NULL) != 0)
		fb_exec_failed(x);
}

static void fb_created(struct engine_req *req, int err,
		       const struct engine_resp *resp, void *arg)
{
	struct fb_exec *x = arg;
	struct engine_call call = {.method = "POST", .body = "{\"Detach\":false,\"Tty\":false}",
				   .on_frame = fb_frame, .stream_arg = x};
	char path[160];
	cJSON *o, *id;

	(void)req;
	if (err != 0 || resp->status != 201) {
		fb_exec_failed(x);
		return;
	}
	o = cJSON_ParseWithLength(resp->body, resp->len);
	id = cJSON_GetObjectItem(o, "Id");
	if (!cJSON_IsString(id) || !engine_id_ok(id->valuestring) ||
	    strlen(id->valuestring) >= sizeof(x->id)) {
		cJSON_Delete(o);
		fb_exec_failed(x);
		return;
	}
	snprintf(x->id, sizeof(x->id), "%s", id->valuestring);
	cJSON_Delete(o);
	snprintf(path, sizeof(path), "/exec/%s/start", x->id);
	call.path = path;
	call.body_len = strlen(call.body);
	if (engine_request(x->ch->e, &call, fb_started, x, NULL) != 0)
		fb_exec_failed(x);
}

/* One exec of argv (NULL-terminated), its output shown, its code to
   fb_step_done. */
static void fb_exec(struct channel *ch, char *const *argv)
{
	struct fb_exec *x = xcalloc(1, sizeof(*x));

	x->ch = ch;
	buf_init(&x->line, LINE_MAX_BYTES);
	if (chan_exec_create(ch, (const char *const *)argv, false, fb_created, x, NULL) != 0)
		fb_exec_failed(x);
}

static void fb_put_done(struct engine_req *req, int err,
			const struct engine_resp *resp, void *arg)
{
	struct channel *ch = arg;

	(void)req;
	if (err != 0 || resp->status != 200) {
		char *m = err != 0 ? xstrdup(dw_strerror(err)) : engine_error_message(resp->body, resp->len);

		chan_say(ch, "writing files through the archive API failed: %s", m);
		free(m);
		chan_finish(ch, err != 0 ? err : DW_ENGINE_HTTP, -1, 0);
		return;
	}
	ch->fb_phase = FB_DELETE;
	chan_fb_next(ch);
}

/* The whole tar is built: one PUT of it (the request copies the body). */
void chan_fb_put(struct channel *ch, const struct buf *tar)
{
	char path[200];
	struct engine_call call = {.method = "PUT", .content_type = "application/x-tar",
				   .body = tar->data, .body_len = tar->len};
	int err;

	snprintf(path, sizeof(path), "/containers/%s/archive?path=%%2F", ch->cid);
	call.path = path;
	err = engine_request(ch->e, &call, fb_put_done, ch, NULL);
	if (err != 0) {
		chan_say(ch, "writing files through the archive API failed: %s", dw_strerror(err));
		chan_finish(ch, err, -1, 0);
	}
}

/* ---- the folders on the way: symlinks in the container? ----
 *
 * The archive API writes through a symlink the container has where the
 * tree has a folder, and `rm -rf` of a path under one removes what it
 * points to, out of the rule's target. So each folder between a rule's
 * `to` and a written or deleted path is looked at first (HEAD of the
 * archive path, shallowest first, none under a symlink found). The tar
 * then starts with a real folder at each symlink's place (the archive
 * API replaces the link, never what it points to), and the deletions
 * run after it. A symlink the container makes in between is not seen:
 * this guards against what is there, not against a race. */

#define GO_MODE_SYMLINK (1LL << 27) /* Go's os.ModeSymlink */

/* The mode in an X-Docker-Container-Path-Stat value, or -1. */
static long long stat_mode(const char *path_stat)
{
	size_t n = path_stat != NULL ? strlen(path_stat) : 0;
	unsigned char *json;
	long long mode = -1;
	cJSON *o, *m;
	int len;

	if (n == 0 || n % 4 != 0 || n > 4096)
		return -1;
	json = xcalloc(n / 4 * 3 + 1, 1);
	len = EVP_DecodeBlock(json, (const unsigned char *)path_stat, (int)n);
	if (len > 0) {
		o = cJSON_ParseWithLength((const char *)json, (size_t)len);
		m = cJSON_GetObjectItem(o, "mode");
		if (cJSON_IsNumber(m) && m->valuedouble >= 0)
			mode = (long long)m->valuedouble;
		cJSON_Delete(o);
	}
	free(json);
	return mode;
}

/* True when d is at or under a symlink found so far. */
static bool under_link(const struct channel *ch, const char *d)
{
	size_t n = strlen(d);

	for (const char *s = ch->fb_links.data; s < ch->fb_links.data + ch->fb_links.len;
	     s += strlen(s) + 1) {
		size_t m = strlen(s);

		if (m <= n && memcmp(s, d, m) == 0 && (d[m] == '\0' || d[m] == '/'))
			return true;
	}
	return false;
}

static void look_next(struct channel *ch);

static void looked(struct engine_req *req, int err, const struct engine_resp *resp, void *arg)
{
	struct channel *ch = arg;
	const char *d;
	long long mode;

	(void)req;
	if (ch->p == NULL)
		return; /* the update was dropped meanwhile */
	if (err != 0) {
		chan_say(ch, "could not look at the container's folders: %s", dw_strerror(err));
		chan_finish(ch, err, -1, 0);
		return;
	}
	d = ch->p->parents.data + ch->fb_at;
	mode = resp->status == 200 ? stat_mode(resp->path_stat) : -1;
	if (mode >= 0 && (mode & GO_MODE_SYMLINK) != 0)
		buf_add(&ch->fb_links, d, strlen(d) + 1);
	ch->fb_at += strlen(d) + 1;
	look_next(ch);
}

/* HEAD the next folder not under a symlink found; at the end, go on. */
static void look_next(struct channel *ch)
{
	const struct sync_plan *p = ch->p;

	while (ch->fb_at < p->parents.len && under_link(ch, p->parents.data + ch->fb_at))
		ch->fb_at += strlen(p->parents.data + ch->fb_at) + 1;
	if (ch->fb_at < p->parents.len) {
		struct engine_call call = {.method = "HEAD"};
		char *enc = engine_urlencode(p->parents.data + ch->fb_at);
		char *path = xasprintf("/containers/%s/archive?path=%s", ch->cid, enc);
		int err;

		call.path = path;
		err = engine_request(ch->e, &call, looked, ch, NULL);
		free(path);
		free(enc);
		if (err != 0) {
			chan_say(ch, "could not look at the container's folders: %s", dw_strerror(err));
			chan_finish(ch, err, -1, 0);
		}
		return;
	}
	ch->fb_phase = FB_PUT;
	chan_fb_next(ch);
}

void chan_fb_next(struct channel *ch)
{
	const struct sync_plan *p = ch->p;

	if (ch->fb_phase == FB_LINKS) {
		look_next(ch);
		return;
	}
	if (ch->fb_phase == FB_PUT) {
		if (p->n_members > 0 || ch->fb_links.len > 0) {
			chan_start_job(ch, true); /* then fb_put */
			return;
		}
		ch->fb_phase = FB_DELETE;
	}
	if (ch->fb_phase == FB_DELETE) {
		if (p->deletes.len > 0) {
			char **argv = xcalloc(p->n_deletes + 4, sizeof(char *));
			size_t n = 0;

			argv[n++] = (char *)"rm";
			argv[n++] = (char *)"-rf";
			argv[n++] = (char *)"--";
			for (const char *s = p->deletes.data; s < p->deletes.data + p->deletes.len;
			     s += strlen(s) + 1)
				argv[n++] = (char *)s;
			fb_exec(ch, argv);
			free(argv);
			return;
		}
		ch->fb_phase = FB_RUN;
	}
	if (ch->run >= p->n_runs) {
		chan_finish(ch, 0, -1, 0);
		return;
	}
	{
		char *argv[] = {(char *)"sh", (char *)"-c", p->runs[ch->run], NULL};

		ch->run_start = now_ns();
		fb_exec(ch, argv);
	}
}

