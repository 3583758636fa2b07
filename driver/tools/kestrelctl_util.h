/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by kestrelctl's commands (kestrelctl.c, kestrel_fuzz_ioctl.c). */
#ifndef KESTRELCTL_UTIL_H
#define KESTRELCTL_UTIL_H

#include <stdint.h>
#include <time.h>

/* Monotonic clock, in seconds. */
static inline double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The splitmix64 finaliser: the data patterns and every seeded stream. */
static inline uint64_t mix64(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

#endif /* KESTRELCTL_UTIL_H */
