/* SPDX-License-Identifier: GPL-2.0 */
/* Suites of the Kestrel driver's user-space unit tests. */
#ifndef KESTREL_DRIVER_TESTS_H
#define KESTREL_DRIVER_TESTS_H

#include <check.h>

Suite *lib_suite(void);

#endif
