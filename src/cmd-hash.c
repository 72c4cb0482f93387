/*
 * `devwatch hash [DIR]`: scan and hash a tree as `up` does (same ignores,
 * same parallel hashing) and print the file count, bytes, a tree digest and
 * the time taken. With --cache it uses and refreshes the hash cache, as a
 * restarted `up` would.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/error.h"
#include "base/util.h"
#include "cmd-util.h"
#include "cmd.h"
#include "up/live.h"

struct hash_run {
	uint64_t start;
	int json;
	int err;
};

static void on_ready(struct watcher *w, int err, void *arg)
{
	struct hash_run *r = arg;
	struct tree_summary s;
	double ms = (double)(now_ns() - r->start) / 1e6;

	r->err = err;
	if (err == 0) {
		watcher_summary(w, &s);
		if (r->json)
			printf("{\"files\":%llu,\"bytes\":%llu,\"digest\":\"%s\",\"ms\":%.0f}\n",
			       (unsigned long long)s.files, (unsigned long long)s.bytes,
			       s.digest, ms);
		else
			printf("%llu files, %llu bytes, %llu links, %llu folders\n"
			       "digest %s\n%.0f ms\n",
			       (unsigned long long)s.files, (unsigned long long)s.bytes,
			       (unsigned long long)s.links, (unsigned long long)s.dirs,
			       s.digest, ms);
	}
	watcher_close(w);
}

int cmd_hash(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"cache", no_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct hash_run r = {.start = now_ns()};
	struct watch_options o;
	struct watcher *w;
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
			cmd_usage(stdout, "hash",
				  "  --json    print {\"files\",\"bytes\",\"digest\",\"ms\"}\n"
				  "  --cache   use and refresh DIR/.devwatch/hashcache\n");
			return DW_EXIT_OK;
		default:
			return cmd_usage_error("hash", "unknown option");
		}
	}
	if (optind < argc)
		dir = argv[optind++];
	if (optind < argc)
		return cmd_usage_error("hash", "unexpected argument '%s'", argv[optind]);
	p = cmd_try_project(dir, &bad);
	if (bad)
		return DW_EXIT_USAGE;
	watch_options_for(&o, p, dir);
	o.no_watch = true;
	o.use_cache = cache;
	err = watcher_new(uv_default_loop(), &o, NULL, on_ready, &r, &w, &cause);
	if (err != 0) {
		fprintf(stderr, "devwatch hash: %s\n", cause);
		free(cause);
		watch_options_release(&o);
		project_free(p);
		return DW_EXIT_FAIL;
	}
	uv_run(uv_default_loop(), UV_RUN_DEFAULT);
	uv_loop_close(uv_default_loop());
	watch_options_release(&o);
	project_free(p);
	return r.err == 0 ? DW_EXIT_OK : DW_EXIT_FAIL;
}
