/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by kestrelctl's commands (kestrelctl.c, kestrel_fuzz_ioctl.c). */
#ifndef KESTRELCTL_UTIL_H
#define KESTRELCTL_UTIL_H

#include <stdint.h>
#include <time.h>

#include "pattern.h"	/* gd_mix64: the splitmix64 finaliser */

/* Monotonic clock, in seconds. */
static inline double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

#endif /* KESTRELCTL_UTIL_H */
