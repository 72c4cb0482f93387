/*
 * `devwatch run NAME [-- ARGS...]`: run one job, or a one-off copy of any
 * container, in the foreground. Its image is built or pulled as `up` would,
 * the copy joins the project network (made when `up` is not running), its
 * output streams to this terminal, its datasets are stored when it ends,
 * and it is removed. The exit code is the container's.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/error.h"
#include "base/loop.h"
#include "base/util.h"
#include "build/container.h"
#include "build/image.h"
#include "cmd-util.h"
#include "cmd.h"
#include "up/datasets.h"
#include "up/network.h"
#include "cmd-pump.h"

#define RUN_HELP                                                               \
	"  -f, --file FILE     project file (default devwatch.json, else a compose file)\n"          \
	"ARGS replace the container's cmd. The exit code is the container's.\n"

struct run {
	struct cmd_ctx x;
	struct project_container *c;
	uv_signal_t sigint, sigterm;
	char *name;
	char *id;
	char *image;
	bool step_done;	/* the async step in flight has finished */
	bool stopping;
	bool start_failed;
	bool start_answered; /* the start request has its answer */
	struct pump *pump;	/* while pump_run runs */
	int err;
	char *msg;
};

/* Run the loop until the step in flight finishes. */
static void await(struct run *r)
{
	loop_run_until(engine_loop(r->x.e), &r->step_done);
}

static void on_stopped(struct engine_req *req, int err,
		       const struct engine_resp *resp, void *arg)
{
	(void)req, (void)err, (void)resp, (void)arg;
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct run *r = h->data;
	char *path;

	(void)signum;
	if (r->stopping || r->id == NULL) {
		r->stopping = true;
		return;
	}
	r->stopping = true;
	fprintf(stderr, "\ndevwatch: stopping %s\n", r->name);
	path = xasprintf("/containers/%s/stop?t=%d", r->id, (r->c->stop_grace_ms + 999) / 1000);
	engine_request(r->x.e, &(struct engine_call){.method = "POST", .path = path,
						     .timeout_ms = 120000},
		       on_stopped, r, NULL);
	free(path);
}

static void on_network(int err, const char *msg, void *arg)
{
	struct run *r = arg;

	r->step_done = true;
	r->err = err;
	if (err != 0)
		r->msg = xstrdup(msg);
}

static void on_progress(void *arg, const char *line)
{
	struct run *r = arg;

	fprintf(stderr, "%s  %s\n", r->c->name, line);
}

static void on_image(void *arg, int err, const char *ref, bool built,
		     const char *cause)
{
	struct run *r = arg;

	(void)built;
	r->step_done = true;
	r->err = err;
	if (err != 0)
		r->msg = xstrdup(cause != NULL ? cause : dw_strerror(err));
	else
		r->image = xstrdup(ref);
}

/* POST a create or start; 0, or an exit code after printing. */
static int call(struct run *r, const char *method, const char *path,
		const char *body, long want, char **out)
{
	char *resp = NULL;
	size_t len = 0;
	long status = 0;
	int err = engine_call_sync(r->x.e, &(struct engine_call){.method = method, .path = path,
								.body = body,
								.body_len = body != NULL ? strlen(body) : 0,
								.timeout_ms = 60000},
				   &status, &resp, &len);

	if (err == 0 && status == want) {
		if (out != NULL)
			*out = resp;
		else
			free(resp);
		return 0;
	}
	{
		char *m = err != 0 ? xstrdup(dw_strerror(err)) : engine_error_message(resp, len);

		fprintf(stderr, "devwatch run: %s %s: %s\n", method, path, m);
		free(m);
	}
	free(resp);
	return DW_EXIT_FAIL;
}

static int create(struct run *r, char **args)
{
	char *body = container_create_body(r->x.p, r->c, 0, r->image), *enc, *path, *resp = NULL;
	cJSON *o = cJSON_Parse(body), *v;
	int rc;

	free(body);
	if (args != NULL && args[0] != NULL) {
		cJSON *cmd = cJSON_CreateArray();

		for (size_t i = 0; args[i] != NULL; i++)
			cJSON_AddItemToArray(cmd, cJSON_CreateString(args[i]));
		cJSON_ReplaceItemInObject(o, "Cmd", cmd);
		if (cJSON_GetObjectItem(o, "Cmd") == NULL)
			cJSON_AddItemToObject(o, "Cmd", cmd);
	}
	cJSON_ReplaceItemInObject(o, "AttachStdin", cJSON_CreateBool(r->c->stdin_open));
	body = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	enc = engine_urlencode(r->name);
	path = xasprintf("/containers/create?name=%s", enc);
	rc = call(r, "POST", path, body, 201, &resp);
	if (rc == 0) {
		o = cJSON_Parse(resp);
		v = cJSON_GetObjectItem(o, "Id");
		r->id = xstrdup(cJSON_IsString(v) ? v->valuestring : r->name);
		cJSON_Delete(o);
	}
	free(resp);
	free(path);
	free(enc);
	free(body);
	return rc;
}

/* The container's exit code once it ends, or -1. */
static int wait_code(struct run *r)
{
	char *path = xasprintf("/containers/%s/wait", r->id), *resp = NULL;
	cJSON *o, *v;
	int code = -1;

	if (call(r, "POST", path, NULL, 200, &resp) == 0) {
		o = cJSON_Parse(resp);
		v = cJSON_GetObjectItem(o, "StatusCode");
		code = cJSON_IsNumber(v) ? v->valueint : -1;
		cJSON_Delete(o);
	}
	free(resp);
	free(path);
	return code;
}

static void on_started(struct engine_req *req, int err,
		       const struct engine_resp *resp, void *arg)
{
	struct run *r = arg;

	(void)req;
	r->start_answered = true;
	if (err == 0 && (resp->status == 204 || resp->status == 304))
		return;
	{
		char *m = err != 0 ? xstrdup(dw_strerror(err))
				   : engine_error_message(resp->body, resp->len);

		fprintf(stderr, "devwatch run: cannot start %s: %s\n", r->name, m);
		free(m);
	}
	r->start_failed = true;
	if (r->pump != NULL)
		pump_stop(r->pump);
}

/* The stream is open before the container starts, so no output is lost. */
static void attached(struct pump *p, void *arg)
{
	struct run *r = arg;
	char *path = xasprintf("/containers/%s/start", r->id);

	r->pump = p;
	r->start_answered = false;
	if (engine_request(r->x.e, &(struct engine_call){.method = "POST", .path = path,
							 .timeout_ms = 60000},
			   on_started, r, NULL) != 0) {
		r->start_answered = true;
		r->start_failed = true;
		pump_stop(p);
	}
	free(path);
}

/* Everything after the image: create, attach, start, wait, store. */
static int run_container(struct run *r, char **args)
{
	char *path, *resize, *cause = NULL;
	int rc;

	if ((rc = create(r, args)) != 0)
		return rc;
	path = xasprintf("/containers/%s/attach?stream=1&stdout=1&stderr=1&stdin=%d",
			 r->id, r->c->stdin_open ? 1 : 0);
	resize = xasprintf("/containers/%s/resize", r->id);
	r->start_answered = true; /* until attached() sends it */
	rc = pump_run(r->x.e, &(struct pump_opts){.path = path, .tty = r->c->tty,
						  .with_stdin = r->c->stdin_open,
						  .resize_path = r->c->tty ? resize : NULL,
						  .opened = attached, .arg = r},
		      &cause);
	free(resize);
	free(path);
	/* The stream can end (a container that cannot start) before the
	   start's answer: wait for it, without the pump. */
	r->pump = NULL;
	loop_run_until(engine_loop(r->x.e), &r->start_answered);
	if (rc != 0) {
		fprintf(stderr, "devwatch run: %s\n", cause);
		free(cause);
		return DW_EXIT_FAIL;
	}
	if (r->start_failed)
		return DW_EXIT_FAIL;
	rc = wait_code(r);
	datasets_store_sync(r->x.e, r->id, r->c, r->c->name);
	return rc < 0 ? DW_EXIT_FAIL : rc;
}

static void cleanup(struct run *r, bool made_network)
{
	if (r->id != NULL) {
		char *path = xasprintf("/containers/%s?force=1&v=1", r->id);

		engine_call_sync(r->x.e, &(struct engine_call){.method = "DELETE", .path = path,
							       .timeout_ms = 60000},
				 NULL, NULL, NULL);
		free(path);
	}
	/* Still in use by a running `up`: that one removes it later. */
	if (made_network) {
		char *cause = NULL;

		network_remove_sync(r->x.e, r->x.p, &cause);
		free(cause);
	}
}

int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{"file", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *file = NULL;
	struct run r = {0};
	char **args = NULL;
	bool net = false;
	int o, rc;

	while ((o = getopt_long(argc, argv, "+f:hv", opts, NULL)) != -1) {
		switch (o) {
		case 'f': file = optarg; break;
		case 'v': break;
		case 'h': cmd_usage(stdout, "run", RUN_HELP); return DW_EXIT_OK;
		default: return cmd_usage_error("run", "unknown option");
		}
	}
	if (optind >= argc)
		return cmd_usage_error("run", "expected a container name");
	if (optind + 1 < argc) {
		if (strcmp(argv[optind + 1], "--") != 0)
			return cmd_usage_error("run", "unexpected argument '%s'; put ARGS after '--'",
					       argv[optind + 1]);
		args = argv + optind + 2;
	}
	if ((rc = cmd_ctx_open(&r.x, cmd_project_file(file))) != 0)
		return rc;
	r.c = project_find(r.x.p, argv[optind]);
	if (r.c == NULL) {
		fprintf(stderr, "devwatch run: no container '%s' in %s\n", argv[optind], r.x.p->file);
		cmd_ctx_close(&r.x);
		return DW_EXIT_USAGE;
	}
	if (r.c->function) {
		/* Its runtime would find no Runtime API to ask for work. */
		fprintf(stderr, "devwatch run: '%s' is a function container: it runs in "
			"'devwatch up', which serves its Runtime API; there, "
			"'devwatch invoke %s' calls it\n", r.c->name, r.c->name);
		cmd_ctx_close(&r.x);
		return DW_EXIT_USAGE;
	}
	r.name = xasprintf("%s-%s-run-%d", r.x.p->name, r.c->name, (int)getpid());
	uv_signal_init(engine_loop(r.x.e), &r.sigint);
	uv_signal_init(engine_loop(r.x.e), &r.sigterm);
	r.sigint.data = r.sigterm.data = &r;
	uv_signal_start(&r.sigint, on_signal, SIGINT);
	uv_signal_start(&r.sigterm, on_signal, SIGTERM);
	rc = DW_EXIT_FAIL;
	if (r.c->network == NET_PROJECT) {
		r.step_done = false;
		if (network_ensure(r.x.e, r.x.p, on_network, &r) != 0)
			goto out;
		await(&r);
		if (r.err != 0) {
			fprintf(stderr, "devwatch run: %s\n", r.msg);
			goto out;
		}
		net = true;
	}
	r.step_done = false;
	if (image_ensure(r.x.e, r.x.p, r.c, on_progress, on_image, &r) != 0)
		goto out;
	await(&r);
	if (r.err != 0) {
		fprintf(stderr, "devwatch run: %s: %s\n", r.c->name, r.msg);
		goto out;
	}
	if (r.stopping) {
		rc = 128 + SIGINT;
		goto out;
	}
	rc = run_container(&r, args);
out:
	cleanup(&r, net);
	uv_close((uv_handle_t *)&r.sigint, NULL);
	uv_close((uv_handle_t *)&r.sigterm, NULL);
	free(r.name);
	free(r.id);
	free(r.image);
	free(r.msg);
	cmd_ctx_close(&r.x);
	return rc;
}
