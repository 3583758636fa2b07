/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Text into XML attributes and elements (JUnit reports of the runner and
 * the campaign).
 */
#ifndef GAUNTLET_XMLESC_H
#define GAUNTLET_XMLESC_H

#include <stdio.h>

/* Write s (may be NULL) with <, >, & and " escaped; control characters
 * other than newline and tab, which XML 1.0 forbids, become '?'. */
void gx_escape(FILE *f, const char *s);

/* A JUnit outcome element: <tag message="message" type="type">body</tag>
 * with every string escaped; body is the NULL-terminated list of strings
 * written one after the other (labels, values, newlines). */
void gx_junit_outcome(FILE *f, const char *tag, const char *message,
                      const char *type, const char *const *body);

#endif /* GAUNTLET_XMLESC_H */
