/*
 * `devwatch watch [DIR]`: print one line per settled change set, paths
 * relative to DIR; a debugging tool for users and the seam for tests. With
 * --json each line is {"added":[...],"modified":[...],"removed":[...]}.
 * "watching N files" on stderr says the initial scan is done.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/error.h"
#include "base/util.h"
#include "cmd-util.h"
#include "cmd.h"
#include "up/live.h"

struct watch_run {
	int json;
	struct watcher *w;
	uv_signal_t sigint, sigterm;
};

static void on_change(struct watcher *w, struct changeset *cs, void *arg)
{
	struct watch_run *r = arg;

	(void)w;
	if (r->json) {
		char *s = changeset_to_json(cs);

		printf("%s\n", s);
		free(s);
	} else {
		static const char mark[] = {'+', '~', '-'};

		for (size_t i = 0; i < cs->n; i++)
			printf("%c %s%s\n", mark[cs->v[i].kind], cs->v[i].path,
			       cs->v[i].type == CTYPE_DIR ? "/" : "");
		printf("-- %zu change%s, %.1f ms after the first event\n", cs->n,
		       cs->n == 1 ? "" : "s",
		       cs->first_event_ns ? (double)(now_ns() - cs->first_event_ns) / 1e6 : 0.0);
	}
	fflush(stdout);
}

static void on_ready(struct watcher *w, int err, void *arg)
{
	struct tree_summary s;

	(void)arg;
	if (err != 0)
		return;
	watcher_summary(w, &s);
	fprintf(stderr, "watching %llu files in %zu folders\n",
		(unsigned long long)s.files, watcher_watch_count(w));
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct watch_run *r = h->data;

	(void)signum;
	watcher_close(r->w);
	uv_close((uv_handle_t *)&r->sigint, NULL);
	uv_close((uv_handle_t *)&r->sigterm, NULL);
}

int cmd_watch(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"cache", no_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct watch_run r = {0};
	struct watch_options o;
	struct project *p;
	const char *dir = ".";
	char *cause = NULL;
	bool bad, cache = false;
	int c, err;

	while ((c = getopt_long(argc, argv, "hv", opts, NULL)) != -1) {
		switch (c) {
		case 'j': r.json = 1; break;
		case 'c': cache = true; break;
		case 'v': break;
		case 'h':
			cmd_usage(stdout, "watch",
				  "  --json    one JSON object per change set\n"
				  "  --cache   use DIR/.devwatch/hashcache: changes made while\n"
				  "            not watching come out as the first change set\n");
			return DW_EXIT_OK;
		default:
			return cmd_usage_error("watch", "unknown option");
		}
	}
	if (optind < argc)
		dir = argv[optind++];
	if (optind < argc)
		return cmd_usage_error("watch", "unexpected argument '%s'", argv[optind]);
	p = cmd_try_project(dir, &bad);
	if (bad)
		return DW_EXIT_USAGE;
	watch_options_for(&o, p, dir);
	o.use_cache = cache;
	err = watcher_new(uv_default_loop(), &o, on_change, on_ready, &r, &r.w, &cause);
	if (err != 0) {
		fprintf(stderr, "devwatch watch: %s\n", cause);
		free(cause);
		watch_options_release(&o);
		project_free(p);
		return DW_EXIT_FAIL;
	}
	uv_signal_init(uv_default_loop(), &r.sigint);
	uv_signal_init(uv_default_loop(), &r.sigterm);
	r.sigint.data = r.sigterm.data = &r;
	uv_signal_start(&r.sigint, on_signal, SIGINT);
	uv_signal_start(&r.sigterm, on_signal, SIGTERM);
	uv_run(uv_default_loop(), UV_RUN_DEFAULT);
	uv_loop_close(uv_default_loop());
	watch_options_release(&o);
	project_free(p);
	return DW_EXIT_OK;
}
