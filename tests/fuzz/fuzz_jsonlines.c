/*
 * Fuzz target: the engine's JSON-lines progress streams (build, pull):
 * engine_lines_feed cutting the stream into lines under a small cap, and
 * engine_progress_parse reading each one, as a build does. The first two
 * bytes seed how the rest is cut into reads; the lines must not depend on
 * the cuts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/log.h"
#include "engine/engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LINE_CAP 512

struct sink {
	uint64_t h;
	size_t lines;
};

static int on_line(const char *line, size_t len, void *arg)
{
	struct sink *k = arg;
	char *text = NULL;
	enum engine_line_kind kind;

	if (len > LINE_CAP || memchr(line, '\n', len) != NULL)
		abort();
	kind = engine_progress_parse(line, len, &text);
	if ((kind == ENGINE_LINE_NONE) != (text == NULL))
		abort();
	free(text);
	k->h = XXH64(line, len, k->h + kind);
	k->lines++;
	return 0;
}

static int run(const uint8_t *d, size_t n, uint32_t seed, struct sink *k)
{
	struct buf line;
	int rc = 0;

	buf_init(&line, LINE_CAP);
	while (n > 0 && rc == 0) {
		size_t take = n;

		if (seed != 0) {
			seed = seed * 1103515245u + 12345u;
			take = 1 + (seed >> 16) % 29;
			if (take > n)
				take = n;
		}
		rc = engine_lines_feed(&line, (const char *)d, take, on_line, k);
		d += take;
		n -= take;
	}
	if (rc == 0 && line.len > 0)
		on_line(buf_str(&line), line.len, k); /* the unterminated last */
	buf_release(&line);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sink a = {0}, b = {0};
	int ra, rb;

	dw_log_level = -1;
	if (size < 2)
		return 0;
	ra = run(data + 2, size - 2, 0, &a);
	rb = run(data + 2, size - 2, (uint32_t)data[0] << 8 | data[1] | 1, &b);
	if (ra != rb || (ra != 0 && ra != DW_TOOBIG))
		abort();
	if (ra == 0 && (a.h != b.h || a.lines != b.lines))
		abort();
	return 0;
}
