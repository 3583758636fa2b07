/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Suites of the harness unit tests: gauntlet_harness_tests [SUITE], run
 * by tests/common/check_main.c.
 */
#include "check_main.h"

Suite *scenario_suite(void);
Suite *verdict_suite(void);
Suite *yaml_writer_suite(void);
Suite *proc_suite(void);
Suite *junit_suite(void);
Suite *target_suite(void);
Suite *fault_log_suite(void);
Suite *iommu_faults_suite(void);
Suite *report_html_suite(void);

GAUNTLET_SUITES(
    { "scenario", scenario_suite },
    { "verdict", verdict_suite },
    { "yaml_writer", yaml_writer_suite },
    { "proc", proc_suite },
    { "junit", junit_suite },
    { "target", target_suite },
    { "fault_log", fault_log_suite },
    { "iommu_faults", iommu_faults_suite },
    { "report_html", report_html_suite },
);
