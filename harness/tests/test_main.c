/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Runner of the harness unit tests.
 *
 *   gauntlet_scenario_tests            run every suite
 *   gauntlet_scenario_tests SUITE      run one: scenario
 *
 * Tests run in forked children (CK_FORK=no in the environment to debug).
 * The exit status is 0 only if every test passed.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

Suite *scenario_suite(void);

static const struct {
    const char *name;
    Suite *(*make)(void);
} suites[] = {
    { "scenario", scenario_suite },
};

#define NSUITES (sizeof(suites) / sizeof(suites[0]))

int main(int argc, char **argv)
{
    SRunner *sr = NULL;
    unsigned i;
    int failed;

    if (argc > 2) {
        fprintf(stderr, "usage: %s [SUITE]\n", argv[0]);
        return 2;
    }
    for (i = 0; i < NSUITES; i++) {
        if (argc == 2 && strcmp(argv[1], suites[i].name) != 0) {
            continue;
        }
        if (!sr) {
            sr = srunner_create(suites[i].make());
        } else {
            srunner_add_suite(sr, suites[i].make());
        }
    }
    if (!sr) {
        fprintf(stderr, "%s: no suite '%s'; suites:", argv[0], argv[1]);
        for (i = 0; i < NSUITES; i++) {
            fprintf(stderr, " %s", suites[i].name);
        }
        fprintf(stderr, "\n");
        return 2;
    }
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
