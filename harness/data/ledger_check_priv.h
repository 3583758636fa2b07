/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the write ledger's parser (ledger_parse.c) and check
 * (ledger_check.c) share: allocation that never returns NULL (it exits
 * on ENOMEM, as the tool does), and "none".
 */
#ifndef LEDGER_CHECK_PRIV_H
#define LEDGER_CHECK_PRIV_H

#include <stddef.h>
#include <stdint.h>

#define GL_NONE         SIZE_MAX        /* no record, no index */

void *gl_xrealloc(void *p, size_t n, size_t size);
char *gl_xstrdup(const char *s);
char *gl_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* LEDGER_CHECK_PRIV_H */
