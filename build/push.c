/*
 * Image push (see push.h). A job walks its steps by callbacks: tag each
 * tag (POST /images/{local}/tag), look up credentials on the threadpool,
 * then push each tag in turn (POST /images/{repo}/push), reading the
 * JSON-lines stream for layer status and errors.
 */
#include "build/push.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/error.h"
#include "base/util.h"
#include "engine/auth.h"

#define PUSH_MAX_TAGS 8

struct push_job {
	struct engine *e;
	char *local;
	char *repo;
	char *tags[PUSH_MAX_TAGS];
	size_t n, next;
	image_progress_cb progress;
	image_push_cb done;
	void *arg;
	uv_work_t work;
	char *auth;
	char *cause;
	char *error_line; /* errorDetail from the stream */
	int err;
};

static void push_next(struct push_job *j);

static void job_end(struct push_job *j, int err)
{
	j->done(j->arg, err, j->cause);
	for (size_t i = 0; i < j->n; i++)
		free(j->tags[i]);
	free(j->local);
	free(j->repo);
	free(j->auth);
	free(j->cause);
	free(j->error_line);
	free(j);
}

static void say(struct push_job *j, const char *fmt, const char *a,
		const char *b)
{
	char *s;

	if (j->progress == NULL)
		return;
	s = xasprintf(fmt, a, b);
	j->progress(j->arg, s);
	free(s);
}

static int on_line(const char *line, size_t len, void *arg)
{
	struct push_job *j = arg;
	cJSON *o = cJSON_ParseWithLength(line, len), *v, *id;

	if (o == NULL)
		return 0;
	v = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "errorDetail"), "message");
	if (!cJSON_IsString(v))
		v = cJSON_GetObjectItem(o, "error");
	if (cJSON_IsString(v)) {
		free(j->error_line);
		j->error_line = xstrdup(v->valuestring);
	} else if (cJSON_IsString(v = cJSON_GetObjectItem(o, "status"))) {
		/* Status changes only: "Pushing" repeats with every chunk. */
		id = cJSON_GetObjectItem(o, "id");
		if (!cJSON_IsString(id))
			say(j, "%s%s", v->valuestring, "");
		else if (strcmp(v->valuestring, "Pushing") != 0)
			say(j, "%s: %s", id->valuestring, v->valuestring);
	}
	cJSON_Delete(o);
	return 0;
}

static void pushed(struct engine_req *req, int err,
		   const struct engine_resp *resp, void *arg)
{
	struct push_job *j = arg;
	const char *tag = j->tags[j->next];

	(void)req;
	if (err != 0 || resp->status >= 300 || j->error_line != NULL) {
		char *msg = err != 0 ? xstrdup(dw_strerror(err))
			    : j->error_line != NULL
				    ? xstrdup(j->error_line)
				    : engine_error_message(resp->body, resp->len);

		dw_cause(&j->cause, "push of %s:%s failed: %s", j->repo, tag,
			 msg);
		free(msg);
		job_end(j, DW_PUSH);
		return;
	}
	j->next++;
	push_next(j);
}

static void push_next(struct push_job *j)
{
	struct engine_call call = {.method = "POST", .on_line = on_line,
				   .stream_arg = j, .max_body = 1u << 20};
	char *repo, *tag, *path;
	int err;

	if (j->next == j->n) {
		job_end(j, 0);
		return;
	}
	repo = engine_urlencode(j->repo);
	tag = engine_urlencode(j->tags[j->next]);
	path = xasprintf("/images/%s/push?tag=%s", repo, tag);
	call.path = path;
	/* The engine insists on the header, even for a registry without
	   authentication. */
	call.registry_auth = j->auth != NULL ? j->auth : "e30=";
	say(j, "pushing %s:%s", j->repo, j->tags[j->next]);
	err = engine_request(j->e, &call, pushed, j, NULL);
	free(repo);
	free(tag);
	free(path);
	if (err != 0)
		job_end(j, err);
}

static void auth_work(uv_work_t *w)
{
	struct push_job *j = container_of(w, struct push_job, work);

	j->err = engine_registry_auth(j->repo, &j->auth, &j->cause);
}

static void auth_done(uv_work_t *w, int status)
{
	struct push_job *j = container_of(w, struct push_job, work);

	if (status != 0 || j->err != 0) {
		job_end(j, j->err != 0 ? DW_PUSH : status);
		return;
	}
	j->next = 0;
	push_next(j);
}

static void tag_next(struct push_job *j);

static void tagged(struct engine_req *req, int err,
		   const struct engine_resp *resp, void *arg)
{
	struct push_job *j = arg;

	(void)req;
	if (err != 0 || resp->status >= 300) {
		char *msg = err != 0 ? xstrdup(dw_strerror(err))
				     : engine_error_message(resp->body, resp->len);

		dw_cause(&j->cause, "cannot tag %s as %s:%s: %s", j->local,
			 j->repo, j->tags[j->next], msg);
		free(msg);
		job_end(j, DW_PUSH);
		return;
	}
	j->next++;
	tag_next(j);
}

static void tag_next(struct push_job *j)
{
	struct engine_call call = {.method = "POST"};
	char *local, *repo, *tag, *path;
	int err;

	if (j->next == j->n) {
		err = uv_queue_work(engine_loop(j->e), &j->work, auth_work,
				    auth_done);
		if (err != 0)
			job_end(j, err);
		return;
	}
	local = engine_urlencode(j->local);
	repo = engine_urlencode(j->repo);
	tag = engine_urlencode(j->tags[j->next]);
	path = xasprintf("/images/%s/tag?repo=%s&tag=%s", local, repo, tag);
	call.path = path;
	err = engine_request(j->e, &call, tagged, j, NULL);
	free(local);
	free(repo);
	free(tag);
	free(path);
	if (err != 0)
		job_end(j, err);
}

int image_push(struct engine *e, const char *local, const char *repo,
	       const char *const *tags, size_t n, image_progress_cb progress,
	       image_push_cb done, void *arg)
{
	struct push_job *j;

	if (n == 0 || n > PUSH_MAX_TAGS)
		return DW_USAGE;
	j = xcalloc(1, sizeof(*j));
	j->e = e;
	j->local = xstrdup(local);
	j->repo = xstrdup(repo);
	for (size_t i = 0; i < n; i++)
		j->tags[i] = xstrdup(tags[i]);
	j->n = n;
	j->progress = progress;
	j->done = done;
	j->arg = arg;
	tag_next(j);
	return 0;
}
