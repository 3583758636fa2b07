/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * XML escaping and JUnit outcomes for the reports (xmlesc.h).
 */
#include "xmlesc.h"

void gx_escape(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;

        switch (c) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default:
            fputc(c < 0x20 && c != '\n' && c != '\t' ? '?' : c, f);
        }
    }
}

void gx_junit_outcome(FILE *f, const char *tag, const char *message,
                      const char *type, const char *const *body)
{
    fprintf(f, "      <%s message=\"", tag);
    gx_escape(f, message);
    fprintf(f, "\" type=\"");
    gx_escape(f, type);
    fprintf(f, "\">");
    for (; body && *body; body++) {
        gx_escape(f, *body);
    }
    fprintf(f, "</%s>\n", tag);
}
