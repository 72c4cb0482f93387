/*
 * Fuzz target: the head of the engine's answer to a hijacked exec start
 * (engine_hijack_parse_head), read as on_read does: on a growing prefix,
 * cut by a seed in the first two bytes. The first decision must be the one
 * made on the whole input, and a whole head is never longer than the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "engine/engine-int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data + 2;
	size_t n, have = 0, used_whole = 0, used = 0;
	uint32_t seed;
	int whole, rc = 0;
	char *copy;

	dw_log_level = -1;
	if (size < 2)
		return 0;
	seed = (uint32_t)data[0] << 8 | data[1] | 1;
	n = size - 2;
	whole = engine_hijack_parse_head(s, n, &used_whole);
	if (whole != 0 && whole != 1 && whole != DW_TOOBIG && whole != DW_NOTFOUND &&
	    whole != DW_ENGINE_HTTP && whole != DW_ENGINE_PROTO)
		abort();
	if (whole == 1 && (used_whole > n || used_whole < 16))
		abort();
	while (have < n && rc == 0) {
		seed = seed * 1103515245u + 12345u;
		have += 1 + (seed >> 16) % 37;
		if (have > n)
			have = n;
		/* An exact-size copy, so reading past the prefix is caught. */
		copy = malloc(have);
		memcpy(copy, s, have);
		rc = engine_hijack_parse_head(copy, have, &used);
		free(copy);
	}
	if (rc != 0 && rc != DW_TOOBIG && (rc != whole || used != used_whole))
		abort();
	return 0;
}
