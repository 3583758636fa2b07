// SPDX-License-Identifier: GPL-2.0
/*
 * libkvfio's unit tests: kvfio_tests [SUITE], one ctest a suite
 * (unit.vfio_<suite>).  The driver runs against Kestrel's device core
 * in-process (kvfio_double.c): nothing here needs root, VFIO or a VM.
 */
#include "check_main.h"
#include "tests.h"

GAUNTLET_SUITES(
	{ "iova", iova_suite },
	{ "io", io_suite },
	{ "recovery", recovery_suite },
	{ "unplug", unplug_suite },
	{ "counters", counters_suite },
);
