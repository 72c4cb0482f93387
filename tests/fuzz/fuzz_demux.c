/*
 * Fuzz target: the engine's multiplexed stdout/stderr stream
 * (engine_demux_feed). The first two bytes seed how the rest is cut into
 * reads (as a socket would cut it), the third says raw (tty) or framed.
 * What comes out must not depend on the cuts, and is never more than went in.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "base/log.h"
#include "engine/engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct sink {
	XXH64_state_t *h;
	size_t bytes;
	int last;
};

static int on_frame(int stream, const char *d, size_t len, void *arg)
{
	struct sink *k = arg;
	unsigned char tag = (unsigned char)stream;

	if (stream < 0 || stream > 3 || len == 0)
		abort();
	/* Hash (stream, byte) pairs: pieces of one frame may come in any cuts. */
	for (size_t i = 0; i < len; i++) {
		XXH64_update(k->h, &tag, 1);
		XXH64_update(k->h, d + i, 1);
	}
	k->bytes += len;
	return 0;
}

static uint64_t run(const uint8_t *d, size_t n, bool raw, uint32_t seed,
		    int *rc, size_t *bytes)
{
	struct engine_demux dm;
	struct sink k = {.h = XXH64_createState()};
	uint64_t out;

	XXH64_reset(k.h, 0);
	engine_demux_init(&dm, raw);
	*rc = 0;
	while (n > 0 && *rc == 0) {
		size_t take = n;

		if (seed != 0) {
			seed = seed * 1103515245u + 12345u;
			take = 1 + (seed >> 16) % 13;
			if (take > n)
				take = n;
		}
		*rc = engine_demux_feed(&dm, (const char *)d, take, on_frame, &k);
		d += take;
		n -= take;
	}
	out = XXH64_digest(k.h);
	XXH64_freeState(k.h);
	*bytes = k.bytes;
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t seed;
	bool raw;
	int rc1, rc2;
	size_t b1, b2;
	uint64_t h1, h2;

	dw_log_level = -1;
	if (size < 3)
		return 0;
	seed = (uint32_t)data[0] << 8 | data[1] | 1;
	raw = data[2] == 'r';
	h1 = run(data + 3, size - 3, raw, 0, &rc1, &b1);
	h2 = run(data + 3, size - 3, raw, seed, &rc2, &b2);
	if (b1 > size - 3)
		abort();
	/* A bad header stops both at the same byte; before it, the same
	   bytes came out. */
	if (rc1 != rc2 || h1 != h2 || b1 != b2)
		abort();
	return 0;
}
