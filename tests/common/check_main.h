/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Suites of a Check test program, run by tests/common/check_main.c. */
#ifndef GAUNTLET_CHECK_MAIN_H
#define GAUNTLET_CHECK_MAIN_H

#include <stddef.h>
#include <check.h>

typedef struct GauntletSuite {
    const char *name;
    Suite *(*make)(void);
} GauntletSuite;

extern const GauntletSuite gauntlet_suites[];
extern const size_t gauntlet_nsuites;

#define GAUNTLET_SUITES(...)                                              \
    const GauntletSuite gauntlet_suites[] = { __VA_ARGS__ };              \
    const size_t gauntlet_nsuites =                                       \
        sizeof(gauntlet_suites) / sizeof(gauntlet_suites[0])

#endif /* GAUNTLET_CHECK_MAIN_H */
