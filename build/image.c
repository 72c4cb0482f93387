/*
 * Image build and pull. See image.h. A job walks through its steps by
 * callbacks: (build) scan+hash on the threadpool -> does the tag exist ->
 * tar on the threadpool -> POST /build; (image) inspect -> credentials on
 * the threadpool -> pull.
 */
#include "build/image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/log.h"
#include "base/util.h"
#include "build/context.h"
#include "engine/auth.h"

struct image_job {
	struct engine *e;
	const struct project *p;
	const struct project_container *c;
	image_progress_cb progress;
	image_done_cb done;
	void *arg;
	uv_work_t work;
	struct build_context bc;
	char hash[33];
	char *ref;
	char *cause;
	int err;
	int tar_fd;
	bool built;
	char *error_line; /* the engine's {"error": ...} from the stream */
	char *auth;	  /* X-Registry-Auth for a pull, or NULL */
	struct buf synced; /* the context's synced paths (project-relative,
			      NUL-separated): the image's record */
};

/* ---- the image's record ----
 *
 * The tag leaves out what sync rules bring in live, so one image serves
 * many states of the synced files. Which synced paths a built image holds
 * is kept in .devwatch/images/, so that a catch-up of a container made
 * from it knows which of them the tree has lost since (and deletes them);
 * an image without its record is built again, so there always is one. */

static char *record_path(const char *root, const char *ref)
{
	char *name = xstrdup(ref), *path;

	for (char *q = name; *q; q++)
		if (*q == '/' || *q == ':')
			*q = '_';
	path = xasprintf("%s/.devwatch/images/%s", root, name);
	free(name);
	return path;
}

static void write_record(struct image_job *j)
{
	char *dir = xasprintf("%s/.devwatch/images", j->p->root);
	char *path = record_path(j->p->root, j->ref), *tmp = xasprintf("%s.tmp", path);
	int fd;

	bool ok;

	mkdir(dir, 0755);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ok = fd >= 0 && write(fd, j->synced.data, j->synced.len) == (ssize_t)j->synced.len;
	if (fd >= 0 && close(fd) != 0)
		ok = false;
	if (ok && rename(tmp, path) != 0)
		ok = false;
	if (!ok) {
		/* Without its record the image is built again next time. */
		log_debug("cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
	}
	free(tmp);
	free(path);
	free(dir);
}

char **image_synced_paths(const struct project *p, const char *ref, size_t *n)
{
	char *path = record_path(p->root, ref), **v = read_nul_list(path, 64u << 20, n);

	free(path);
	return v;
}

static bool has_record(const struct image_job *j)
{
	char *path = record_path(j->p->root, j->ref);
	bool yes = access(path, R_OK) == 0;

	free(path);
	return yes;
}

static void job_end(struct image_job *j, int err)
{
	j->done(j->arg, err, j->ref, j->built, j->cause);
	context_close(&j->bc);
	if (j->tar_fd >= 0)
		close(j->tar_fd);
	free(j->ref);
	free(j->cause);
	free(j->error_line);
	free(j->auth);
	buf_release(&j->synced);
	free(j);
}

/* ---- progress streams ---- */

static int on_progress(const char *line, size_t len, void *arg)
{
	struct image_job *j = arg;
	char *text;

	switch (engine_progress_parse(line, len, &text)) {
	case ENGINE_LINE_ERROR:
		free(j->error_line);
		j->error_line = text;
		break;
	case ENGINE_LINE_TEXT:
		if (j->progress != NULL)
			j->progress(j->arg, text);
		free(text);
		break;
	case ENGINE_LINE_NONE:
		break;
	}
	return 0;
}

static void stream_done(struct engine_req *req, int err,
			const struct engine_resp *resp, void *arg)
{
	struct image_job *j = arg;
	bool pull = j->c->build == NULL;

	(void)req;
	if (err != 0) {
		dw_cause(&j->cause, "%s %s: %s", pull ? "pull" : "build", j->ref,
			 err == DW_ENGINE_DOWN ? "the engine stopped answering"
					       : dw_strerror(err));
		job_end(j, pull ? DW_PULL : DW_BUILD);
		return;
	}
	if (resp->status >= 300 || j->error_line != NULL) {
		char *msg = j->error_line != NULL
				    ? xstrdup(j->error_line)
				    : engine_error_message(resp->body, resp->len);

		dw_cause(&j->cause, "%s of %s failed: %s",
			 pull ? "pull" : "build", j->ref, msg);
		free(msg);
		job_end(j, pull ? DW_PULL : DW_BUILD);
		return;
	}
	j->built = true;
	if (!pull)
		write_record(j);
	job_end(j, 0);
}

/* ---- build ---- */

static ssize_t read_tar(char *buf, size_t size, void *arg)
{
	struct image_job *j = arg;
	ssize_t n = read(j->tar_fd, buf, size);

	return n < 0 ? -errno : n;
}

static void tar_work(uv_work_t *w)
{
	struct image_job *j = container_of(w, struct image_job, work);
	char tmpl[] = "/tmp/devwatch-context-XXXXXX";

	j->tar_fd = mkstemp(tmpl);
	if (j->tar_fd < 0) {
		j->err = -errno;
		dw_cause(&j->cause, "cannot create a temporary file: %s", strerror(errno));
		return;
	}
	unlink(tmpl);
	j->err = context_write_tar(&j->bc, j->tar_fd, &j->cause);
	if (j->err == 0 && lseek(j->tar_fd, 0, SEEK_SET) < 0)
		j->err = -errno;
}

static char *build_query(struct image_job *j)
{
	const struct build_spec *b = j->c->build;
	char *t = engine_urlencode(j->ref), *df = engine_urlencode(b->dockerfile);
	char *q = xasprintf("/build?t=%s&dockerfile=%s&rm=1&forcerm=1", t, df);

	free(t);
	free(df);
	if (b->target != NULL) {
		char *tg = engine_urlencode(b->target), *q2;

		q2 = xasprintf("%s&target=%s", q, tg);
		free(q);
		free(tg);
		q = q2;
	}
	if (b->args.n > 0) {
		cJSON *o = cJSON_CreateObject();
		char *js, *enc, *q2;

		for (size_t i = 0; i < b->args.n; i++)
			cJSON_AddStringToObject(o, b->args.v[i].key, b->args.v[i].value);
		js = cJSON_PrintUnformatted(o);
		enc = engine_urlencode(js);
		q2 = xasprintf("%s&buildargs=%s", q, enc);
		free(q);
		q = q2;
		free(js);
		free(enc);
		cJSON_Delete(o);
	}
	return q;
}

static void tar_done(uv_work_t *w, int status)
{
	struct image_job *j = container_of(w, struct image_job, work);
	struct engine_call call = {.method = "POST",
				   .content_type = "application/x-tar",
				   .upload = read_tar,
				   .upload_arg = j,
				   .on_line = on_progress,
				   .stream_arg = j,
				   .max_body = 1u << 20};
	char *q;
	int err;

	if (status != 0 || j->err != 0) {
		job_end(j, j->err != 0 ? j->err : status);
		return;
	}
	q = build_query(j);
	call.path = q;
	if (j->progress != NULL) {
		char *s = xasprintf("building %s (context %s, %zu files)", j->ref,
				    j->c->build->context, j->bc.n);

		j->progress(j->arg, s);
		free(s);
	}
	err = engine_request(j->e, &call, stream_done, j, NULL);
	free(q);
	if (err != 0)
		job_end(j, err);
}

static void exists_done(struct engine_req *req, int err,
			const struct engine_resp *resp, void *arg)
{
	struct image_job *j = arg;

	(void)req;
	if (err != 0) {
		job_end(j, err);
		return;
	}
	if (resp->status == 200 && has_record(j)) {
		job_end(j, 0); /* inputs unchanged: the tag is the proof */
		return;
	}
	uv_queue_work(engine_loop(j->e), &j->work,
		      tar_work, tar_done);
}

static void hash_work(uv_work_t *w)
{
	struct image_job *j = container_of(w, struct image_job, work);
	const struct build_spec *b = j->c->build;

	struct dockerfile_inputs in = {0};
	char *ignored = NULL;
	/* The tag follows what the image reads, as the run-time rule does.
	   A Dockerfile that cannot be read counts everything (the build
	   then says what is wrong with it). */
	bool known = dockerfile_inputs(b->dockerfile_abs, &in, &ignored) == 0;

	free(ignored);
	j->err = context_scan(&j->bc, b->context_abs, b->dockerfile, &j->cause);
	if (j->err == 0)
		j->err = context_hash(&j->bc, b, known ? &in : NULL, j->c, j->hash, &j->cause);
	for (size_t i = 0; j->err == 0 && i < j->bc.n; i++) {
		char *prel = strcmp(b->context, ".") == 0
				     ? xstrdup(j->bc.v[i].rel)
				     : xasprintf("%s/%s", b->context, j->bc.v[i].rel);

		if (project_container_synced(j->c, prel))
			buf_add(&j->synced, prel, strlen(prel) + 1);
		free(prel);
	}
	dockerfile_inputs_free(&in);
}

static void hash_done(uv_work_t *w, int status)
{
	struct image_job *j = container_of(w, struct image_job, work);
	struct engine_call call = {.method = "GET"};
	char *repo, *enc, *path;
	int err;

	if (status != 0 || j->err != 0) {
		job_end(j, j->err != 0 ? j->err : status);
		return;
	}
	repo = project_image_repo(j->p, j->c);
	j->ref = xasprintf("%s:%.16s", repo, j->hash);
	free(repo);
	enc = engine_urlencode(j->ref);
	path = xasprintf("/images/%s/json", enc);
	call.path = path;
	err = engine_request(j->e, &call, exists_done, j, NULL);
	free(enc);
	free(path);
	if (err != 0)
		job_end(j, err);
}

/* ---- pull ---- */

/* The credentials, on the threadpool: reading config.json and running a
   credential helper block. */
static void auth_work(uv_work_t *w)
{
	struct image_job *j = container_of(w, struct image_job, work);

	j->err = engine_registry_auth(j->ref, &j->auth, &j->cause);
}

static void pull_start(uv_work_t *w, int status)
{
	struct image_job *j = container_of(w, struct image_job, work);
	struct engine_call call = {.method = "POST", .on_line = on_progress,
				   .stream_arg = j, .max_body = 1u << 20};
	const char *ref = j->ref, *slash = strrchr(ref, '/');
	const char *colon = strrchr(slash != NULL ? slash : ref, ':');
	const char *at = strchr(ref, '@');
	char *name, *tag, *path;
	int err;

	if (status != 0 || j->err != 0) {
		job_end(j, j->err != 0 ? DW_PULL : status);
		return;
	}
	call.registry_auth = j->auth;
	if (at != NULL) {
		name = engine_urlencode(ref);
		tag = xstrdup("");
	} else if (colon != NULL) {
		char *n = xstrndup(ref, (size_t)(colon - ref));

		name = engine_urlencode(n);
		tag = engine_urlencode(colon + 1);
		free(n);
	} else {
		name = engine_urlencode(ref);
		tag = xstrdup("latest");
	}
	path = tag[0] ? xasprintf("/images/create?fromImage=%s&tag=%s", name, tag)
		      : xasprintf("/images/create?fromImage=%s", name);
	call.path = path;
	if (j->progress != NULL) {
		char *s = xasprintf("pulling %s", ref);

		j->progress(j->arg, s);
		free(s);
	}
	err = engine_request(j->e, &call, stream_done, j, NULL);
	free(name);
	free(tag);
	free(path);
	if (err != 0)
		job_end(j, err);
}

static void pull(struct image_job *j)
{
	int err = uv_queue_work(engine_loop(j->e), &j->work, auth_work,
				pull_start);

	if (err != 0)
		job_end(j, err);
}

static void local_done(struct engine_req *req, int err,
		       const struct engine_resp *resp, void *arg)
{
	struct image_job *j = arg;

	(void)req;
	if (err != 0) {
		job_end(j, err);
		return;
	}
	if (resp->status == 200 && j->c->pull != PULL_ALWAYS) {
		job_end(j, 0);
		return;
	}
	if (resp->status != 200 && j->c->pull == PULL_NEVER) {
		dw_cause(&j->cause, "image %s is not present and 'pull' is 'never'", j->ref);
		job_end(j, DW_NOTFOUND);
		return;
	}
	pull(j);
}

int image_ensure(struct engine *e, const struct project *p,
		 const struct project_container *c, image_progress_cb progress,
		 image_done_cb done, void *arg)
{
	struct image_job *j = xcalloc(1, sizeof(*j));

	j->e = e;
	j->p = p;
	j->c = c;
	j->progress = progress;
	j->done = done;
	j->arg = arg;
	j->tar_fd = -1;
	buf_init(&j->synced, 64u << 20);
	if (c->build != NULL)
		return uv_queue_work(engine_loop(e), &j->work, hash_work, hash_done);
	{
		struct engine_call call = {.method = "GET"};
		char *enc = engine_urlencode(c->image);
		char *path = xasprintf("/images/%s/json", enc);
		int err;

		j->ref = xstrdup(c->image);
		call.path = path;
		err = engine_request(e, &call, local_done, j, NULL);
		free(enc);
		free(path);
		if (err != 0)
			free(j->ref), free(j);
		return err;
	}
}
