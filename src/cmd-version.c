/*
 * `devwatch version`: the program's version, and with --json the libraries
 * it was built against.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <archive.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <git2.h>
#include <uv.h>
#include <xxhash.h>

#include "base/error.h"
#include "cmd.h"

int cmd_version(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int json = 0, o, maj, min, rev;

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
	if (json) {
		printf("{\"version\":\"%s\",\"libuv\":\"%s\",\"libcurl\":\"%s\","
		       "\"cjson\":\"%s\",\"libgit2\":\"%d.%d.%d\","
		       "\"libarchive\":\"%s\",\"xxhash\":\"%u\"}\n",
		       DEVWATCH_VERSION, uv_version_string(),
		       curl_version_info(CURLVERSION_NOW)->version,
		       cJSON_Version(), maj, min, rev,
		       archive_version_string(), XXH_versionNumber());
	} else {
		printf("devwatch %s\n", DEVWATCH_VERSION);
	}
	return DW_EXIT_OK;
}
