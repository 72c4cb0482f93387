/*
 * XXH3-128 of a file compiled for AVX2, chosen at run time when the CPU has
 * it (as xxHash's own xxh_x86dispatch does). Debian's libxxhash is built
 * for baseline x86-64 (SSE2); hashing is a large part of a scan, and AVX2
 * halves it. The code is xxHash's, inlined from its header with
 * XXH_INLINE_ALL; only this file is compiled with -mavx2 (see
 * CMakeLists.txt), and nothing here runs unless the CPU supports it.
 */
#include "watch/hash-file.h"

#if defined(__x86_64__) && defined(__AVX2__)
#define XXH_INLINE_ALL
#include <xxhash.h>

#include <errno.h>
#include <unistd.h>

int hash_fd_avx2(int fd, char *buf, size_t size, uint64_t *hi, uint64_t *lo)
{
	XXH3_state_t st;
	ssize_t n;
	XXH128_hash_t h;

	XXH3_128bits_reset(&st);
	while ((n = read(fd, buf, size)) > 0)
		XXH3_128bits_update(&st, buf, (size_t)n);
	if (n < 0)
		return -errno;
	h = XXH3_128bits_digest(&st);
	*hi = h.high64;
	*lo = h.low64;
	return 0;
}
#endif
