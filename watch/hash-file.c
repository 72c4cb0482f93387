/*
 * hash_fd: dispatch to the AVX2 build when the CPU supports it. See
 * hash-file.h and hash-avx2.c.
 */
#include "watch/hash-file.h"

#include <errno.h>
#include <stdbool.h>
#include <unistd.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

static int hash_fd_lib(int fd, char *buf, size_t size, uint64_t *hi, uint64_t *lo)
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

int hash_fd(int fd, char *buf, size_t size, uint64_t *hi, uint64_t *lo)
{
#if defined(__x86_64__) && defined(DW_HAVE_AVX2_BUILD)
	static int avx2 = -1;

	if (avx2 < 0)
		avx2 = __builtin_cpu_supports("avx2") ? 1 : 0;
	if (avx2)
		return hash_fd_avx2(fd, buf, size, hi, lo);
#endif
	return hash_fd_lib(fd, buf, size, hi, lo);
}
