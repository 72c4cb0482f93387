/*
 * Opening devwatch's agent in a container (see channel-agent.h): HEAD its
 * path; when absent (or anything else is there), PUT a tar holding it,
 * mode 0755 and owned by root; create the exec and attach over a hijacked
 * connection; and check its hello, whose hash must be that of the copy
 * embedded here: a stale or damaged copy is replaced once, and then the
 * agent counts as unable to run here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>
#include <cjson/cJSON.h>
#include <xxhash.h>

#include "base/error.h"
#include "base/log.h"
#include "base/util.h"
#include "sync/channel-agent-int.h"

#define AGENT_DIR ".devwatch"
#define AGENT_PATH "/.devwatch/agent"

/* The agent's bytes, from the generated agent-blob.c (.incbin). */
extern const unsigned char dw_agent_bin[], dw_agent_bin_end[];

/* ---- the embedded binary ---- */

const unsigned char *agent_binary(size_t *len)
{
	*len = (size_t)(dw_agent_bin_end - dw_agent_bin);
	return dw_agent_bin;
}

const unsigned char *agent_binary_hash(void)
{
	static XXH128_canonical_t c;
	static bool done;

	if (!done) {
		size_t n;
		const unsigned char *b = agent_binary(&n);

		XXH128_canonicalFromHash(&c, XXH3_128bits(b, n));
		done = true;
	}
	return c.digest;
}

/* ---- opening ---- */

static void on_hijacked(struct engine_hijack *h, int err, void *arg)
{
	struct agent_chan *a = arg;
	char *why;

	(void)h;
	if (err == 0)
		return;
	agc_enter(a);
	why = xasprintf("the exec session could not attach: %s", dw_strerror(err));
	agc_unavailable(a, why);
	free(why);
	agc_leave(a);
}

static void exec_created(struct engine_req *req, int err, const struct engine_resp *resp,
			 void *arg)
{
	struct agent_chan *a = arg;
	cJSON *o, *id;
	char path[160];

	(void)req;
	a->req = NULL;
	agc_enter(a);
	if (err != 0 || resp->status != 201) {
		char *m = err != 0 ? xstrdup(dw_strerror(err)) : engine_error_message(resp->body, resp->len);

		log_debug("agent: exec create: %s", m);
		free(m);
		agc_fail_open(a, err != 0 ? err : DW_ENGINE_HTTP);
		agc_leave(a);
		return;
	}
	o = cJSON_ParseWithLength(resp->body, resp->len);
	id = cJSON_GetObjectItem(o, "Id");
	if (!cJSON_IsString(id) || strlen(id->valuestring) > 100) {
		cJSON_Delete(o);
		agc_fail_open(a, DW_ENGINE_PROTO);
		agc_leave(a);
		return;
	}
	snprintf(path, sizeof(path), "/exec/%s/start", id->valuestring);
	cJSON_Delete(o);
	engine_demux_init(&a->dm, false);
	buf_reset(&a->open_err);
	if (engine_hijack_open(a->e, path, "{\"Detach\":false,\"Tty\":false}", on_hijacked,
			       agc_on_read, a, &a->h) != 0) {
		a->h = NULL;
		agc_unavailable(a, "the exec session could not attach");
	}
	agc_leave(a);
}

static void open_exec(struct agent_chan *a)
{
	cJSON *o = cJSON_CreateObject(), *cmd = cJSON_AddArrayToObject(o, "Cmd");
	struct engine_call call = {.method = "POST"};
	char path[160], *body;
	int rc;

	a->state = AG_OPENING;
	cJSON_AddItemToArray(cmd, cJSON_CreateString(AGENT_PATH));
	cJSON_AddBoolToObject(o, "AttachStdin", true);
	cJSON_AddBoolToObject(o, "AttachStdout", true);
	cJSON_AddBoolToObject(o, "AttachStderr", true);
	cJSON_AddBoolToObject(o, "Tty", false);
	body = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	snprintf(path, sizeof(path), "/containers/%s/exec", a->cid);
	call.path = path;
	call.body = body;
	call.body_len = strlen(body);
	rc = engine_request(a->e, &call, exec_created, a, &a->req);
	free(body);
	if (rc != 0) {
		a->req = NULL;
		agc_fail_open(a, rc);
	}
}

static la_ssize_t tar_out(struct archive *ar, void *arg, const void *data, size_t n)
{
	(void)ar;
	return buf_add(arg, data, n) == 0 ? (la_ssize_t)n : -1;
}

/* The tar that puts the agent at AGENT_PATH, mode 0755, owned by root. */
static void agent_tar(struct buf *out)
{
	struct archive *ar = archive_write_new();
	struct archive_entry *ae = archive_entry_new();
	size_t n;
	const unsigned char *bin = agent_binary(&n);

	archive_write_set_format_gnutar(ar);
	archive_write_set_bytes_in_last_block(ar, 1);
	archive_write_open2(ar, out, NULL, tar_out, NULL, NULL);
	archive_entry_set_pathname(ae, AGENT_DIR);
	archive_entry_set_filetype(ae, AE_IFDIR);
	archive_entry_set_perm(ae, 0755);
	archive_write_header(ar, ae);
	archive_entry_clear(ae);
	archive_entry_set_pathname(ae, AGENT_DIR "/agent");
	archive_entry_set_filetype(ae, AE_IFREG);
	archive_entry_set_perm(ae, 0755);
	archive_entry_set_size(ae, (la_int64_t)n);
	archive_write_header(ar, ae);
	archive_write_data(ar, bin, n);
	archive_write_close(ar);
	archive_entry_free(ae);
	archive_write_free(ar);
}

static void installed(struct engine_req *req, int err, const struct engine_resp *resp, void *arg)
{
	struct agent_chan *a = arg;

	(void)req;
	a->req = NULL;
	agc_enter(a);
	if (err != 0) {
		agc_fail_open(a, err);
	} else if (resp->status == 404) {
		agc_fail_open(a, DW_NOTFOUND);
	} else if (resp->status != 200) {
		char *m = engine_error_message(resp->body, resp->len);
		char *why = xasprintf("cannot copy it into the container: %s", m);

		agc_unavailable(a, why);
		free(why);
		free(m);
	} else {
		a->installed = true;
		open_exec(a);
	}
	agc_leave(a);
}

void agc_install(struct agent_chan *a)
{
	struct engine_call call = {.method = "PUT", .content_type = "application/x-tar"};
	char path[200];
	struct buf tar;
	int rc;

	a->state = AG_INSTALLING;
	buf_init(&tar, 64u << 20);
	agent_tar(&tar);
	snprintf(path, sizeof(path), "/containers/%s/archive?path=%%2F", a->cid);
	call.path = path;
	call.body = tar.data;
	call.body_len = tar.len;
	rc = engine_request(a->e, &call, installed, a, &a->req);
	buf_release(&tar);
	if (rc != 0) {
		a->req = NULL;
		agc_fail_open(a, rc);
	}
}

static void probed(struct engine_req *req, int err, const struct engine_resp *resp, void *arg)
{
	struct agent_chan *a = arg;

	(void)req;
	a->req = NULL;
	agc_enter(a);
	if (err != 0)
		agc_fail_open(a, err);
	else if (resp->status == 200)
		open_exec(a);
	else
		agc_install(a); /* absent, or something else in the way: the PUT says */
	agc_leave(a);
}

int agc_open_session(struct agent_chan *a)
{
	struct engine_call call = {.method = "HEAD"};
	char path[200];
	int rc;

	a->state = AG_PROBING;
	a->installed = false;
	a->open_t0 = now_ns();
	snprintf(path, sizeof(path), "/containers/%s/archive?path=%%2F.devwatch%%2Fagent", a->cid);
	call.path = path;
	rc = engine_request(a->e, &call, probed, a, &a->req);
	if (rc != 0) {
		a->req = NULL;
		a->state = AG_CLOSED;
	}
	return rc;
}

void agc_on_hello(struct agent_chan *a, const char *p, size_t n)
{
	struct ap_rd r;
	uint32_t version;
	const char *hash;

	ap_rd_init(&r, p, n);
	version = ap_get_u32(&r);
	hash = ap_get_bytes(&r, 16);
	if (hash != NULL && version == AP_VERSION && memcmp(hash, agent_binary_hash(), 16) == 0) {
		a->state = AG_READY;
		log_debug("agent: ready in %.12s after %.1f ms%s", a->cid,
			  (double)(now_ns() - a->open_t0) / 1e6, a->installed ? " (copied in)" : "");
		agc_start_op(a);
		return;
	}
	if (!a->installed) {
		/* Another devwatch's copy, or a damaged one: replace it once. */
		agc_close_session(a);
		agc_install(a);
		return;
	}
	agc_unavailable(a, "the copy in the container does not match devwatch's");
}
