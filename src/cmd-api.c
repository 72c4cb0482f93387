/*
 * `status`, `trigger` and `logs` through a running session's control API
 * (see cmd-api.h), with the blocking client of api/client.h.
 */
#include "cmd-api.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/log.h"
#include "base/util.h"
#include "cmd.h"
#include "project/project.h"

#define MAX_SSE_LINE (1u << 20)

int cmd_api_find(const char *file, struct apiclient *c, char **cause)
{
	struct project *p = NULL;
	char *path;
	int err;

	err = project_load(file, &p, cause);
	if (err != 0)
		return err;
	path = xasprintf("%s/.devwatch/api", p->root);
	project_free(p);
	err = apiclient_find(path, c, cause);
	free(path);
	return err;
}

/* GET or POST path; the JSON answer, or NULL after saying why. */
static cJSON *call(const struct apiclient *c, const char *cmd, const char *method,
		   const char *path, long *status)
{
	struct apiclient_resp r = {0};
	char *cause = NULL;
	cJSON *j;

	if (apiclient_call(c, method, path, NULL, &r, &cause) != 0) {
		fprintf(stderr, "devwatch %s: the session at %s: %s\n", cmd, c->base, cause);
		free(cause);
		return NULL;
	}
	*status = r.status;
	if (r.status >= 300) {
		char *m = apiclient_error_message(&r);

		fprintf(stderr, "devwatch %s: %s\n", cmd, m);
		free(m);
		apiclient_resp_release(&r);
		return NULL;
	}
	j = cJSON_Parse(r.body);
	if (j == NULL)
		fprintf(stderr, "devwatch %s: the session at %s sent no JSON\n", cmd, c->base);
	apiclient_resp_release(&r);
	return j;
}

static const char *str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : "";
}

int cmd_api_status(const struct apiclient *c, bool json)
{
	long status = 0;
	cJSON *st = call(c, "status", "GET", "/api/status", &status), *cs, *out;

	if (st == NULL)
		return DW_EXIT_FAIL;
	out = cJSON_CreateArray();
	if (!json)
		printf("%-16s %-8s %-10s %s\n", "CONTAINER", "REPLICA", "STATE", "URLS");
	cJSON_ArrayForEach(cs, cJSON_GetObjectItemCaseSensitive(st, "containers")) {
		cJSON *r;

		cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(cs, "replicas")) {
			cJSON *o = cJSON_CreateObject(), *u;
			int rep = cJSON_GetObjectItemCaseSensitive(r, "replica")->valueint;
			struct buf urls;

			/* The engine path's fields, and the session's own. */
			cJSON_AddStringToObject(o, "container", str(cs, "name"));
			cJSON_AddNumberToObject(o, "replica", rep);
			cJSON_AddStringToObject(o, "state", str(r, "state"));
			cJSON_AddStringToObject(o, "id", str(r, "id"));
			cJSON_AddItemToObject(o, "ports", cJSON_Duplicate(
				cJSON_GetObjectItemCaseSensitive(r, "ports"), true));
			cJSON_AddItemToObject(o, "urls", cJSON_Duplicate(
				cJSON_GetObjectItemCaseSensitive(r, "urls"), true));
			cJSON_AddBoolToObject(o, "ready", cJSON_IsTrue(
				cJSON_GetObjectItemCaseSensitive(r, "ready")));
			cJSON_AddItemToArray(out, o);
			buf_init(&urls, 4096);
			cJSON_ArrayForEach(u, cJSON_GetObjectItemCaseSensitive(r, "urls"))
				if (cJSON_IsString(u))
					buf_addf(&urls, "%s%s", urls.len ? " " : "", u->valuestring);
			if (!json)
				printf("%-16s %-8d %-10s %s\n", str(cs, "name"), rep,
				       str(r, "state"), buf_str(&urls));
			buf_release(&urls);
		}
	}
	if (json) {
		char *t = cJSON_PrintUnformatted(out);

		printf("%s\n", t);
		free(t);
	}
	cJSON_Delete(out);
	cJSON_Delete(st);
	return DW_EXIT_OK;
}

bool cmd_api_plain_name(const char *name)
{
	if (*name == '\0' || strlen(name) > 128)
		return false;
	for (const char *p = name; *p != '\0'; p++)
		if (!(isalnum((unsigned char)*p) || *p == '-' || *p == '_' || *p == '.'))
			return false;
	return true;
}

int cmd_api_trigger(const struct apiclient *c, const char *name)
{
	char *path;
	long status = 0;
	cJSON *j;

	if (!cmd_api_plain_name(name)) {
		fprintf(stderr, "devwatch trigger: no container '%s' in the project\n", name);
		return DW_EXIT_USAGE;
	}
	path = xasprintf("/api/trigger/%s", name);
	j = call(c, "trigger", "POST", path, &status);
	free(path);
	if (j == NULL)
		return DW_EXIT_FAIL;
	printf("triggered %s\n", name);
	cJSON_Delete(j);
	return DW_EXIT_OK;
}

/* ---- logs ---- */

struct logs_out {
	char **names;
	int n;
	struct buf line; /* an unfinished SSE line */
};

static bool wanted(const struct logs_out *o, const char *name)
{
	for (int i = 0; i < o->n; i++)
		if (strcmp(o->names[i], name) == 0)
			return true;
	return o->n == 0;
}

static void sse_line(struct logs_out *o, const char *l)
{
	cJSON *ev, *f;

	if (strncmp(l, "data: ", 6) != 0)
		return;
	ev = cJSON_Parse(l + 6);
	f = cJSON_GetObjectItemCaseSensitive(ev, "fields");
	if (strcmp(str(ev, "kind"), "log") == 0 && wanted(o, str(ev, "container"))) {
		const cJSON *rep = cJSON_GetObjectItemCaseSensitive(ev, "replica");
		FILE *to = strcmp(str(f, "stream"), "stderr") == 0 ? stderr : stdout;

		if (cJSON_IsNumber(rep) && rep->valueint > 1)
			fprintf(to, "%s-%d | %s\n", str(ev, "container"), rep->valueint,
				str(f, "line"));
		else
			fprintf(to, "%s | %s\n", str(ev, "container"), str(f, "line"));
		fflush(to);
	}
	cJSON_Delete(ev);
}

static int on_events(const char *data, size_t n, void *arg)
{
	struct logs_out *o = arg;

	for (size_t i = 0; i < n; i++) {
		if (data[i] != '\n') {
			if (buf_add(&o->line, data + i, 1) != 0)
				return 1; /* a line past the cap: stop */
			continue;
		}
		sse_line(o, buf_str(&o->line));
		o->line.len = 0;
	}
	return 0;
}

static int print_tail(const struct apiclient *c, const char *name)
{
	char *path = xasprintf("/api/logs/%s?tail=all", name);
	struct apiclient_resp r = {0};
	char *cause = NULL;
	int err = apiclient_call(c, "GET", path, NULL, &r, &cause);

	free(path);
	if (err != 0 || r.status != 200) {
		char *m = err != 0 ? cause : apiclient_error_message(&r);

		fprintf(stderr, "devwatch logs: %s\n", m);
		free(m);
		apiclient_resp_release(&r);
		return -1;
	}
	for (char *l = r.body, *nl; *l != '\0'; l = nl + 1) {
		nl = strchr(l, '\n');
		if (nl == NULL)
			break;
		printf("%s | %.*s\n", name, (int)(nl - l), l);
	}
	fflush(stdout);
	apiclient_resp_release(&r);
	return 0;
}

int cmd_api_logs(const struct apiclient *c, char **names, int n, bool follow)
{
	struct logs_out o = {.names = names, .n = n};
	char *cause = NULL;
	int err = 0;

	if (!follow) {
		long status = 0;
		cJSON *st = call(c, "logs", "GET", "/api/status", &status), *cs;

		if (st == NULL)
			return DW_EXIT_FAIL;
		cJSON_ArrayForEach(cs, cJSON_GetObjectItemCaseSensitive(st, "containers"))
			if (wanted(&o, str(cs, "name")) && print_tail(c, str(cs, "name")) != 0)
				err = -1;
		cJSON_Delete(st);
		return err != 0 ? DW_EXIT_FAIL : DW_EXIT_OK;
	}
	/* Every kept line, then live ones, of every container at once. */
	buf_init(&o.line, MAX_SSE_LINE);
	err = apiclient_stream(c, "/api/events?since=0&kinds=log", on_events, &o, &cause);
	buf_release(&o.line);
	if (err != 0) {
		fprintf(stderr, "devwatch logs: %s\n", cause);
		free(cause);
		return DW_EXIT_FAIL;
	}
	return DW_EXIT_OK;
}
