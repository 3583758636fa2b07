/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Helpers shared by the agent's test programs (test_agent_proto.c over a
 * socketpair/pty, test_agent_vm.c in a real guest).
 */
#ifndef GAUNTLET_AGENT_TEST_H
#define GAUNTLET_AGENT_TEST_H

#include <stdio.h>
#include <time.h>

#include "agent_client.h"

static int failures;

#define CHECK(cond, ...)                                                     \
	do {                                                                 \
		if (cond) {                                                  \
			printf("ok   %s\n", #cond);                          \
		} else {                                                     \
			failures++;                                          \
			printf("FAIL %s (%s:%d): ", #cond, __FILE__, __LINE__); \
			printf(__VA_ARGS__);                                 \
			printf("\n");                                        \
		}                                                            \
		fflush(stdout);                                              \
	} while (0)

static inline double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* One result, and its stderr when there is any. */
static inline void show(const char *what, const ga_result *r)
{
	char d[300];

	printf("     %s: %s\n", what, ga_result_describe(r, d, sizeof(d)));
	if (r->err_len)
		printf("     stderr: %.400s\n", r->err);
	fflush(stdout);
}

#endif /* GAUNTLET_AGENT_TEST_H */
