/*
 * `devwatch convert [FILE]`: print the devwatch.json that means what a
 * compose file means, so that a project can move over (and keep comments)
 * in one file. The result is validated as `up` would load it, so what is
 * printed always loads; an error names the compose file's line and column.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "base/error.h"
#include "cmd.h"
#include "project/compose.h"
#include "project/json.h"
#include "project/project-int.h"

static const char *find_compose(void)
{
	for (size_t i = 0; compose_file_names[i] != NULL; i++) {
		FILE *f = fopen(compose_file_names[i], "rb");

		if (f != NULL) {
			fclose(f);
			return compose_file_names[i];
		}
	}
	return NULL;
}

int cmd_convert(int argc, char **argv)
{
	static const struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct strlist warnings = {0};
	struct jnode *tree = NULL;
	struct project *p = NULL;
	const char *file;
	char *cause = NULL, *text;
	int o, err;

	while ((o = getopt_long(argc, argv, "hv", opts, NULL)) != -1) {
		switch (o) {
		case 'h':
			cmd_usage(stdout, "convert",
				  "  FILE  a compose file (default: compose.yaml, compose.yml,\n"
				  "        docker-compose.yaml or docker-compose.yml here)\n");
			return DW_EXIT_OK;
		case 'v': break;
		default: return cmd_usage_error("convert", "unknown option");
		}
	}
	if (argc - optind > 1)
		return cmd_usage_error("convert", "unexpected argument '%s'", argv[optind + 1]);
	file = optind < argc ? argv[optind] : find_compose();
	if (file == NULL)
		return cmd_usage_error("convert", "no compose file here; expected FILE or %s",
				       compose_file_names[0]);
	if (!compose_is_file(file))
		return cmd_usage_error("convert", "'%s' is not a compose file; expected a "
				       ".yaml or .yml file", file);
	err = compose_load(file, &tree, &warnings, &cause);
	for (size_t i = 0; i < warnings.n; i++) {
		fprintf(stderr, "devwatch: warning: %s\n", warnings.v[i]);
		free(warnings.v[i]);
	}
	free(warnings.v);
	if (err == 0) {
		text = compose_json_text(file, tree);
		err = project_parse_tree(file, tree, &p, &cause);
		if (err == 0)
			fputs(text, stdout);
		free(text);
	}
	if (err != 0) {
		fprintf(stderr, "devwatch: %s\n", cause);
		free(cause);
		return err == DW_PROJECT || err == UV_ENOENT ? DW_EXIT_USAGE : DW_EXIT_FAIL;
	}
	project_free(p);
	return DW_EXIT_OK;
}
