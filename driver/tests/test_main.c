// SPDX-License-Identifier: GPL-2.0
/*
 * Runner of the Kestrel driver's user-space unit tests (pure code only:
 * nothing here needs root, a kernel or a VM).
 *
 *   kestrel_driver_tests            run every suite
 *   kestrel_driver_tests SUITE      run one suite (see suites[] below)
 *
 * Tests run in forked children (Check's default; CK_FORK=no overrides it
 * for debugging).  The exit status is 0 only if every test passed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests.h"

static const struct {
	const char *name;
	Suite *(*make)(void);
} suites[] = {
	{ "lib", lib_suite },
};

#define NSUITES (sizeof(suites) / sizeof(suites[0]))

int main(int argc, char **argv)
{
	SRunner *sr = NULL;
	unsigned int i;
	int failed;

	if (argc > 2) {
		fprintf(stderr, "usage: %s [SUITE]\n", argv[0]);
		return 2;
	}
	for (i = 0; i < NSUITES; i++) {
		if (argc == 2 && strcmp(argv[1], suites[i].name) != 0)
			continue;
		if (!sr)
			sr = srunner_create(suites[i].make());
		else
			srunner_add_suite(sr, suites[i].make());
	}
	if (!sr) {
		fprintf(stderr, "%s: no suite '%s'; suites:", argv[0], argv[1]);
		for (i = 0; i < NSUITES; i++)
			fprintf(stderr, " %s", suites[i].name);
		fprintf(stderr, "\n");
		return 2;
	}
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
