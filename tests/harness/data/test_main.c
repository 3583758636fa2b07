/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Suites of the data-tool unit tests: gauntlet_data_tests [SUITE], run by
 * tests/common/check_main.c.
 */
#include "check_main.h"

Suite *pattern_suite(void);
Suite *ledger_suite(void);

GAUNTLET_SUITES(
    { "pattern", pattern_suite },
    { "ledger", ledger_suite },
);
