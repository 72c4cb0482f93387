/*
 * `devwatch version`: the program's version, the engine it resolved and how
 * (DOCKER_HOST, a context, the default socket), and with --json the
 * libraries it was built against. It does not connect to the engine.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <git2.h>
#include <uv.h>
#include <xxhash.h>

#include "base/error.h"
#include "cmd.h"
#include "engine/resolve.h"

/* "tcp://10.0.0.5:2376 (context prod, TLS verified)" */
static void print_engine(const struct engine_target *t, bool json)
{
	const char *tls = !t->tls ? "" : t->tls_verify ? ", TLS verified"
						       : ", TLS without verification";

	if (!json) {
		printf("engine %s (%s%s)\n", t->address, t->how, tls);
		return;
	}
	{
		cJSON *o = cJSON_CreateObject();
		char *text;

		cJSON_AddStringToObject(o, "address", t->address);
		cJSON_AddStringToObject(o, "how", t->how);
		cJSON_AddBoolToObject(o, "tls", t->tls);
		cJSON_AddBoolToObject(o, "tls_verify", t->tls_verify);
		text = cJSON_PrintUnformatted(o);
		printf(",\"engine\":%s", text);
		free(text);
		cJSON_Delete(o);
	}
}

int cmd_version(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct engine_target t;
	char *cause = NULL;
	int json = 0, o, maj, min, rev, err;

	while ((o = getopt_long(argc, argv, "hv", opts, NULL)) != -1) {
		if (o == 'j') {
			json = 1;
		} else if (o == 'h') {
			cmd_usage(stdout, "version",
				  "  --json    print as JSON\n");
			return DW_EXIT_OK;
		} else if (o != 'v') {
			return cmd_usage_error("version", "unknown option");
		}
	}
	if (optind < argc)
		return cmd_usage_error("version", "unexpected argument '%s'",
				       argv[optind]);
	git_libgit2_version(&maj, &min, &rev);
	err = engine_resolve(NULL, &t, &cause);
	if (json) {
		printf("{\"version\":\"%s\",\"libuv\":\"%s\",\"libcurl\":\"%s\","
		       "\"cjson\":\"%s\",\"libgit2\":\"%d.%d.%d\","
		       "\"libarchive\":\"%s\",\"xxhash\":\"%u\"",
		       DEVWATCH_VERSION, uv_version_string(),
		       curl_version_info(CURLVERSION_NOW)->version,
		       cJSON_Version(), maj, min, rev,
		       archive_version_string(), XXH_versionNumber());
		if (err == 0)
			print_engine(&t, true);
		printf("}\n");
	} else {
		printf("devwatch %s\n", DEVWATCH_VERSION);
		if (err == 0)
			print_engine(&t, false);
	}
	if (err != 0) {
		fprintf(stderr, "devwatch: %s\n", cause);
		free(cause);
		return DW_EXIT_USAGE;
	}
	engine_target_release(&t);
	return DW_EXIT_OK;
}
