/* SPDX-License-Identifier: GPL-2.0 */
/* Suites of libkvfio's unit tests (no VM, no root, no VFIO). */
#ifndef KVFIO_TESTS_H
#define KVFIO_TESTS_H

#include <check.h>

Suite *iova_suite(void);
Suite *io_suite(void);
Suite *recovery_suite(void);
Suite *unplug_suite(void);
Suite *counters_suite(void);

#endif
