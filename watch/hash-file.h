/*
 * Hashing a file's content with XXH3-128: the AVX2 build when the CPU has
 * it, libxxhash otherwise. Same result either way.
 */
#ifndef DW_WATCH_HASH_FILE_H
#define DW_WATCH_HASH_FILE_H

#include <stddef.h>
#include <stdint.h>

/* Read fd to its end through buf and hash it. Returns 0 or -errno. */
int hash_fd(int fd, char *buf, size_t size, uint64_t *hi, uint64_t *lo);
int hash_fd_avx2(int fd, char *buf, size_t size, uint64_t *hi, uint64_t *lo);

#endif
