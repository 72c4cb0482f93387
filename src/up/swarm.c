/*
 * `devwatch up --swarm` (DESIGN.md section 13): against a swarm manager,
 * each container of the project runs as a service with its replicas
 * spread over the nodes. Its image is built on the manager's engine and
 * pushed to publish.registry, from where every node pulls it. Ports are
 * published in mode=host on each node that runs a task (no ingress mesh:
 * it needs IPVS), and the services join one overlay network with
 * endpoint_mode dnsrr, so that their names resolve to the tasks.
 *
 * This file is the lifecycle: check the engine is a manager, make the
 * network, scan the tree, build and push each image, create the
 * services, then hand over to swarm-tasks.c and swarm-live.c; on
 * Ctrl-C or SIGTERM remove the services and the network (unless --keep).
 */
#include "up/swarm.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/util.h"
#include "build/image.h"
#include "build/push.h"
#include "engine/auth.h"
#include "engine/swarm.h"
#include "up/live.h"
#include "up/swarm-int.h"

void swarm_say(struct swarm *sw, const struct swarm_svc *sv, int slot,
	       const char *fmt, ...)
{
	char label[160];
	va_list ap;

	(void)sw;
	if (sv == NULL)
		snprintf(label, sizeof(label), "swarm");
	else if (slot > 0)
		snprintf(label, sizeof(label), "%s.%d", sv->c->name, slot);
	else
		snprintf(label, sizeof(label), "%s", sv->c->name);
	printf("%-10s ", label);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void teardown(struct swarm *sw);

void swarm_fail(struct swarm *sw, const char *fmt, ...)
{
	va_list ap;

	fputs("devwatch: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	sw->exit_code = DW_EXIT_FAIL;
	teardown(sw);
}

/* ---- images ---- */

static void image_progress(void *arg, const char *line)
{
	struct swarm_svc *sv = arg;

	swarm_say(sv->sw, sv, 0, "%s", line);
}

static void pushed(void *arg, int err, const char *cause)
{
	struct swarm_svc *sv = arg;

	if (err != 0) {
		swarm_say(sv->sw, sv, 0, "push failed: %s", cause != NULL ? cause : dw_strerror(err));
		free(sv->rolling);
		sv->rolling = NULL;
	}
	sv->image_cb(sv, err);
}

static void built(void *arg, int err, const char *ref, bool did_build,
		  const char *cause)
{
	struct swarm_svc *sv = arg;
	struct swarm *sw = sv->sw;
	const char *hash = ref != NULL ? strrchr(ref, ':') : NULL;
	const char *tags[1];
	char *name, *repo;

	(void)did_build;
	if (sw->stopping)
		return;
	if (err != 0 || hash == NULL) {
		swarm_say(sw, sv, 0, "build failed: %s", cause != NULL ? cause : dw_strerror(err));
		sv->image_cb(sv, err != 0 ? err : DW_BUILD);
		return;
	}
	name = project_image_repo(sw->p, sv->c); /* devwatch/PROJECT-NAME */
	repo = xasprintf("%s/%s", sw->p->publish_registry, strchr(name, '/') + 1);
	tags[0] = hash + 1;
	free(sv->rolling);
	sv->rolling = xasprintf("%s:%s", repo, tags[0]);
	err = image_push(sw->mgr, ref, repo, tags, 1, NULL, pushed, sv);
	if (err == 0)
		swarm_say(sw, sv, 0, "pushing %s", sv->rolling);
	free(name);
	free(repo);
	if (err != 0)
		pushed(sv, err, NULL);
}

void swarm_image(struct swarm_svc *sv, swarm_image_cb done)
{
	int err;

	sv->image_cb = done;
	if (sv->c->build == NULL) {
		/* A registry image: every node pulls it as it is. */
		free(sv->rolling);
		sv->rolling = xstrdup(sv->c->image);
		done(sv, 0);
		return;
	}
	err = image_ensure(sv->sw->mgr, sv->sw->p, sv->c, image_progress, built, sv);
	if (err != 0) {
		swarm_say(sv->sw, sv, 0, "build failed: %s", dw_strerror(err));
		done(sv, err);
	}
}

/* ---- services ---- */

static void late_removed(void *arg, int err, const char *id, const char *cause)
{
	struct swarm_svc *sv = arg;

	(void)id;
	if (err != 0)
		fprintf(stderr, "devwatch: cannot remove service '%s': %s\n", sv->name,
			cause != NULL ? cause : dw_strerror(err));
}

static void created(void *arg, int err, const char *id, const char *cause)
{
	struct swarm_svc *sv = arg;
	struct swarm *sw = sv->sw;

	if (sw->stopping && err == 0) {
		/* Made while the removals were already under way: remove it
		   too (the network's removal waits for its tasks). */
		if (engine_service_remove(sw->mgr, id, late_removed, sv) != 0)
			fprintf(stderr, "devwatch: service '%s' is left; 'devwatch down' "
				"removes it\n", sv->name);
		return;
	}
	if (err != 0) {
		swarm_fail(sw, "cannot create service '%s': %s", sv->name,
			   cause != NULL ? cause : dw_strerror(err));
		return;
	}
	sv->id = xstrdup(id);
	sv->image = sv->rolling;
	sv->rolling = NULL;
	sv->roll_t0 = 0;
	swarm_say(sw, sv, 0, "service %s: %d replica%s of %s", sv->name, sv->n_tasks,
		  sv->n_tasks == 1 ? "" : "s", sv->image);
	if (--sw->to_create == 0)
		swarm_tasks_start(sw);
}

static void create_service(struct swarm_svc *sv)
{
	struct swarm *sw = sv->sw;
	const struct project_container *c = sv->c;
	struct engine_service_port *ports = xcalloc(c->n_ports + 1, sizeof(*ports));
	char **env = xcalloc(c->env.n + c->file_env.n + 1, sizeof(*env));
	const char **aliases = xcalloc(c->aliases.n + 2, sizeof(*aliases));
	const char *labels[] = {"dev.devwatch.project", sw->p->name,
				"dev.devwatch.container", c->name,
				"dev.devwatch.config-hash", c->config_hash, NULL};
	struct engine_service s = {
		.name = sv->name, .image = sv->rolling, .replicas = c->replicas,
		.labels = labels, .command = (const char *const *)c->entrypoint,
		.args = (const char *const *)c->cmd, .workdir = c->workdir,
		.user = c->user, .network = sw->network, .aliases = aliases,
		.ports = ports, .n_ports = c->n_ports, .dnsrr = true,
		.stop_grace_ms = c->stop_grace_ms,
	};
	size_t k = 0;
	int err;

	/* env_file first, env over it, as up does. */
	for (size_t i = 0; i < c->file_env.n; i++)
		env[k++] = xasprintf("%s=%s", c->file_env.v[i].key, c->file_env.v[i].value);
	for (size_t i = 0; i < c->env.n; i++)
		env[k++] = xasprintf("%s=%s", c->env.v[i].key, c->env.v[i].value);
	s.env = (const char *const *)env;
	aliases[0] = c->name;
	for (size_t i = 0; i < c->aliases.n; i++)
		aliases[i + 1] = c->aliases.v[i];
	for (size_t i = 0; i < c->n_ports; i++) {
		ports[i].target = c->ports[i].container;
		ports[i].published = c->ports[i].host;
		ports[i].protocol = strcmp(c->ports[i].protocol, "udp") == 0 ? "udp" : "tcp";
	}
	err = engine_service_create(sw->mgr, &s, sw->auth, created, sv);
	for (size_t i = 0; i < k; i++)
		free(env[i]);
	free(env);
	free(aliases);
	free(ports);
	if (err != 0)
		swarm_fail(sw, "cannot create service '%s': %s", sv->name, dw_strerror(err));
}

static void first_image(struct swarm_svc *sv, int err)
{
	if (sv->sw->stopping)
		return;
	if (err != 0) {
		swarm_fail(sv->sw, "no image for '%s'", sv->c->name);
		return;
	}
	create_service(sv);
}

static void scanned(struct watcher *w, int err, void *arg)
{
	struct swarm *sw = arg;

	(void)w;
	if (err != 0) {
		swarm_fail(sw, "cannot scan '%s': %s", sw->p->root, dw_strerror(err));
		return;
	}
	sw->scanned = true;
	sw->to_create = (int)sw->n_sv;
	for (size_t i = 0; i < sw->n_sv && !sw->stopping; i++)
		swarm_image(&sw->sv[i], first_image);
}

/* ---- teardown ---- */

static void net_removed(void *arg, int err, const char *id, const char *cause);

static void net_retry(uv_timer_t *t)
{
	struct swarm *sw = t->data;

	if (engine_network_remove(sw->mgr, sw->network, net_removed, sw) != 0)
		sw->done = true;
}

static void net_removed(void *arg, int err, const char *id, const char *cause)
{
	struct swarm *sw = arg;

	(void)id;
	/* Until the engine has none: the tasks' containers still detach
	   for a moment, and the manager's copy of the network goes with
	   the last of them. */
	if ((err == 0 || err == DW_ENGINE_HTTP) && ++sw->net_tries < 120) {
		uv_timer_start(&sw->poll, net_retry, 250, 0);
		return;
	}
	if (err == DW_NOTFOUND)
		swarm_say(sw, NULL, 0, "removed network %s", sw->network);
	else
		fprintf(stderr, "devwatch: cannot remove network '%s': %s\n", sw->network,
			cause != NULL ? cause : "its containers did not let go of it in 30 s");
	sw->done = true;
}

static void svc_removed(void *arg, int err, const char *id, const char *cause)
{
	struct swarm_svc *sv = arg;
	struct swarm *sw = sv->sw;

	(void)id;
	if (err != 0) {
		fprintf(stderr, "devwatch: cannot remove service '%s': %s\n", sv->name,
			cause != NULL ? cause : dw_strerror(err));
		sw->exit_code = DW_EXIT_FAIL;
	}
	if (--sw->to_remove > 0)
		return;
	swarm_say(sw, NULL, 0, "removed the services");
	if (engine_network_remove(sw->mgr, sw->network, net_removed, sw) != 0)
		sw->done = true;
}

static void teardown(struct swarm *sw)
{
	if (sw->stopping)
		return;
	sw->stopping = true;
	if (sw->w != NULL)
		watcher_close(sw->w);
	sw->w = NULL;
	swarm_tasks_stop(sw);
	if (sw->keep) {
		sw->done = true;
		return;
	}
	sw->to_remove = 1; /* held until every removal has started */
	for (size_t i = 0; i < sw->n_sv; i++) {
		if (sw->sv[i].id == NULL)
			continue;
		sw->to_remove++;
		if (engine_service_remove(sw->mgr, sw->sv[i].id, svc_removed, &sw->sv[i]) != 0)
			sw->to_remove--;
	}
	svc_removed(&sw->sv[0], 0, NULL, NULL);
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct swarm *sw = h->data;

	(void)signum;
	if (sw->stopping) {
		/* A second Ctrl-C: stop waiting for the engine. */
		sw->done = true;
		return;
	}
	swarm_say(sw, NULL, 0, "stopping");
	teardown(sw);
}

/* ---- set-up ---- */

/* What a service cannot be: said before anything starts. */
static int check_project(const struct project *p, char **cause)
{
	if (p->publish_registry == NULL) {
		*cause = xasprintf("'%s' has no publish.registry, which every swarm node "
				   "pulls from; add \"publish\": {\"registry\": "
				   "\"HOST[:PORT]/PREFIX\"}", p->file);
		return DW_USAGE;
	}
	for (size_t i = 0; i < p->n_containers; i++) {
		const struct project_container *c = &p->containers[i];
		const char *why = c->job ? "'job' (a service runs until it is removed)"
				  : c->function ? "'function' (the Lambda Runtime API is served "
						  "on this machine)"
				  : c->network != NET_PROJECT ? "'network' other than the project's"
				  : c->n_datasets > 0 ? "'datasets'"
				  : c->tty || c->stdin_open ? "'tty' or 'stdin'"
				  : NULL;

		for (size_t m = 0; why == NULL && m < c->n_mounts; m++)
			if (strcmp(c->mounts[m].type, "bind") == 0)
				why = "a bind mount (a path on whichever node runs the task)";
		for (size_t s = 0; why == NULL && s < c->n_steps; s++)
			if (c->steps[s].kind == STEP_RESTART && c->steps[s].restart)
				why = "'restart_container' (the swarm replaces a task instead)";
		if (why != NULL) {
			*cause = xasprintf("container '%s' in '%s' has %s, which up --swarm "
					   "does not support", c->name, p->file, why);
			return DW_USAGE;
		}
	}
	return 0;
}

/* The manager answers GET /nodes; any other engine says why not. */
static int check_manager(struct swarm *sw, char **cause)
{
	struct engine_call call = {.method = "GET", .path = "/nodes", .timeout_ms = 30000};
	char *body = NULL, *msg;
	size_t len = 0;
	long status = 0;
	int err = engine_call_sync(sw->mgr, &call, &status, &body, &len);

	if (err == DW_ENGINE_DOWN) {
		*cause = engine_down_message(sw->mgr);
	} else if (err != 0) {
		*cause = xasprintf("GET /nodes failed: %s", dw_strerror(err));
	} else if (status != 200) {
		msg = engine_error_message(body, len);
		*cause = xasprintf("the engine at %s is not a swarm manager (GET /nodes "
				   "answered %ld: %s); point DOCKER_HOST at a manager",
				   engine_address(sw->mgr), status, msg);
		free(msg);
		err = DW_USAGE;
	}
	free(body);
	return err;
}

static int make_network(struct swarm *sw, char **cause)
{
	const char *labels[] = {"dev.devwatch.project", sw->p->name, NULL};
	char *spec = engine_overlay_spec(sw->network, labels), *body = NULL, *msg;
	struct engine_call call = {.method = "POST", .path = "/networks/create",
				   .body = spec, .body_len = strlen(spec), .timeout_ms = 30000};
	size_t len = 0;
	long status = 0;
	int err = engine_call_sync(sw->mgr, &call, &status, &body, &len);

	if (err == 0 && status != 201 && status != 409) {
		msg = engine_error_message(body, len);
		*cause = xasprintf("cannot create overlay network '%s': %s", sw->network, msg);
		free(msg);
		err = DW_ENGINE_HTTP;
	} else if (err != 0) {
		*cause = xasprintf("cannot create overlay network '%s': %s", sw->network,
				   dw_strerror(err));
	}
	free(body);
	free(spec);
	return err;
}

static int setup(struct swarm *sw, const char *file, char **cause)
{
	char *probe;
	int err = project_load(file, &sw->p, cause);

	if (err != 0)
		return err == DW_PROJECT || err == UV_ENOENT ? DW_USAGE : err;
	err = check_project(sw->p, cause);
	if (err == 0)
		err = engine_new(sw->loop, NULL, &sw->mgr, cause);
	if (err != 0)
		return DW_USAGE;
	probe = xasprintf("%s/x", sw->p->publish_registry);
	err = engine_registry_auth(probe, &sw->auth, cause);
	free(probe);
	if (err == 0)
		err = check_manager(sw, cause);
	if (err != 0)
		return err;
	/* A session killed earlier left its services: start afresh. */
	sw->network = project_network_name(sw->p);
	err = engine_services_remove_project(sw->mgr, sw->p->name, sw->network, cause);
	if (err < 0)
		return err;
	if (err > 0)
		swarm_say(sw, NULL, 0, "removed %d service%s left by an earlier session", err,
			  err == 1 ? "" : "s");
	return make_network(sw, cause);
}

static void svc_init(struct swarm *sw, struct swarm_svc *sv,
		     const struct project_container *c)
{
	char *cause = NULL;

	sv->sw = sw;
	sv->c = c;
	sv->name = xasprintf("%s-%s", sw->p->name, c->name);
	sv->n_tasks = c->replicas;
	sv->tasks = xcalloc((size_t)sv->n_tasks, sizeof(*sv->tasks));
	for (int r = 0; r < sv->n_tasks; r++) {
		sv->tasks[r].sv = sv;
		sv->tasks[r].slot = r + 1;
		uv_timer_init(sw->loop, &sv->tasks[r].timer);
		changeset_init(&sv->tasks[r].cdiff);
	}
	for (size_t i = 0; i < c->n_steps; i++)
		sv->has_sync |= c->steps[i].kind == STEP_SYNC;
	changeset_init(&sv->pending);
	changeset_init(&sv->current);
	sv->failed_step = -1;
	if (decide_load(&sv->dc, c, &cause) != 0) {
		swarm_say(sw, sv, 0, "notice: %s", cause);
		free(cause);
	}
}

static void svc_release(struct swarm_svc *sv)
{
	for (int r = 0; r < sv->n_tasks; r++) {
		free(sv->tasks[r].task_id);
		free(sv->tasks[r].cid);
	}
	free(sv->tasks);
	decide_close(&sv->dc);
	changeset_release(&sv->pending);
	changeset_release(&sv->current);
	sync_plan_release(&sv->plan);
	free(sv->name);
	free(sv->id);
	free(sv->image);
	free(sv->rolling);
	free(sv->reason);
}

static void signal_init(struct swarm *sw, uv_signal_t *h, int signum)
{
	uv_signal_init(sw->loop, h);
	h->data = sw;
	uv_signal_start(h, on_signal, signum);
}

static void engine_closed(void *arg)
{
	(void)arg;
}

int swarm_run(const char *file, bool keep)
{
	struct swarm sw = {.loop = uv_default_loop(), .keep = keep};
	char *cause = NULL;
	int err;

	sw.start_ns = now_ns();
	tree_init(&sw.gone);
	uv_timer_init(sw.loop, &sw.poll);
	sw.poll.data = &sw;
	err = setup(&sw, file, &cause);
	if (err != 0) {
		fprintf(stderr, "devwatch: %s\n", cause != NULL ? cause : dw_strerror(err));
		free(cause);
		sw.exit_code = err == DW_USAGE ? DW_EXIT_USAGE : DW_EXIT_FAIL;
		goto out;
	}
	swarm_say(&sw, NULL, 0, "manager %s (%s), images pushed to %s",
		  engine_address(sw.mgr), engine_how(sw.mgr), sw.p->publish_registry);
	sw.n_sv = sw.p->n_containers;
	sw.sv = xcalloc(sw.n_sv, sizeof(*sw.sv));
	for (size_t i = 0; i < sw.n_sv; i++) {
		svc_init(&sw, &sw.sv[i], &sw.p->containers[sw.p->order[i]]);
		if ((sw.sv[i].c->readiness.set && sw.sv[i].c->readiness.http_path == NULL) ||
		    sw.sv[i].c->liveness.set)
			swarm_say(&sw, &sw.sv[i], 0, "notice: command readiness probes and liveness "
				  "probes do not run with --swarm: a task is ready once it runs "
				  "and is caught up");
	}
	signal_init(&sw, &sw.sigint, SIGINT);
	signal_init(&sw, &sw.sigterm, SIGTERM);
	signal_init(&sw, &sw.sighup, SIGHUP);
	watch_options_for(&sw.wo, sw.p, NULL);
	/* As up: a restart is cheap, and what the tree lost meanwhile is
	   known. */
	sw.wo.use_cache = true;
	if (watcher_new(sw.loop, &sw.wo, swarm_on_change, scanned, &sw, &sw.w, &cause) != 0) {
		swarm_fail(&sw, "cannot watch '%s': %s", sw.p->root, cause);
		free(cause);
	}
	while (!sw.done)
		uv_run(sw.loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&sw.sigint, NULL);
	uv_close((uv_handle_t *)&sw.sigterm, NULL);
	uv_close((uv_handle_t *)&sw.sighup, NULL);
	watch_options_release(&sw.wo);
out:
	if (!sw.stopping)
		swarm_tasks_stop(&sw);
	uv_close((uv_handle_t *)&sw.poll, NULL);
	if (sw.mgr != NULL)
		engine_close(sw.mgr, engine_closed, NULL);
	uv_run(sw.loop, UV_RUN_DEFAULT);
	for (size_t i = 0; i < sw.n_sv; i++)
		svc_release(&sw.sv[i]);
	free(sw.sv);
	tree_close(&sw.gone);
	free(sw.network);
	free(sw.auth);
	project_free(sw.p);
	uv_loop_close(sw.loop);
	return sw.exit_code;
}
