/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one runner of Gauntlet's Check test programs (the shape of
 * libevdev's test-main.c): each program lists its suites in
 * gauntlet_suites[] and links this file.
 *
 *   PROGRAM            run every suite
 *   PROGRAM SUITE      run one
 *
 * Tests run in forked children (Check's default; CK_FORK=no in the
 * environment overrides it for debugging).  The exit status is 0 only if
 * every test passed, 2 for a usage error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"

int main(int argc, char **argv)
{
    SRunner *sr = NULL;
    size_t i;
    int failed;

    if (argc > 2) {
        fprintf(stderr, "usage: %s [SUITE]\n", argv[0]);
        return 2;
    }
    for (i = 0; i < gauntlet_nsuites; i++) {
        if (argc == 2 && strcmp(argv[1], gauntlet_suites[i].name) != 0) {
            continue;
        }
        if (!sr) {
            sr = srunner_create(gauntlet_suites[i].make());
        } else {
            srunner_add_suite(sr, gauntlet_suites[i].make());
        }
    }
    if (!sr) {
        fprintf(stderr, "%s: no suite '%s'; suites:", argv[0], argv[1]);
        for (i = 0; i < gauntlet_nsuites; i++) {
            fprintf(stderr, " %s", gauntlet_suites[i].name);
        }
        fprintf(stderr, "\n");
        return 2;
    }
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
