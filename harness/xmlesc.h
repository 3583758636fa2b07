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

#endif /* GAUNTLET_XMLESC_H */
