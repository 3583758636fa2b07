/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Suites of the Kestrel core unit tests: kestrel_unit_tests [SUITE],
 * run by tests/common/check_main.c.
 */
#include "check_main.h"
#include "unit.h"

GAUNTLET_SUITES(
    { "regs", regs_suite },
    { "rings", rings_suite },
    { "commands", commands_suite },
    { "actions", actions_suite },
    { "fault", fault_suite },
    { "gport", gport_suite },
    { "faultlog", faultlog_suite },
);
