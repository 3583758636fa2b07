// SPDX-License-Identifier: GPL-2.0
/*
 * Suites of the driver's user-space unit tests (pure code only: nothing
 * here needs root, a kernel or a VM): kestrel_driver_tests [SUITE], run by
 * tests/common/check_main.c.
 */
#include "check_main.h"
#include "tests.h"

GAUNTLET_SUITES(
	{ "lib", lib_suite },
);
