/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kernel-log verdict library's private header (verdict.h is the public
 * one): a log line, a report header, the judge's state and the helpers the
 * verdict files share.  The files: verdict.c (gv_judge: split the log,
 * find each report's block, its signature, the allow-list), verdict_lines.c
 * (line prefixes and line classes), verdict_detect.c (report headers and
 * their titles), verdict_frame.c (stack frames: a report's culprit frame)
 * and verdict_format.c (kind names and the text summaries).
 */
#ifndef GAUNTLET_VERDICT_PRIV_H
#define GAUNTLET_VERDICT_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "verdict.h"

#define GV_TITLE_MAX 96

typedef struct Line {
    char *raw;          /* sanitized line */
    const char *msg;    /* raw with the prefixes stripped */
    bool has_ts;        /* had a "[ 1.234]" timestamp or a level prefix */
    bool user;          /* written by userspace (syslog facility != 0) */
} Line;

typedef struct Header {
    GvKind kind;
    char title[GV_TITLE_MAX];
    bool oops_line;     /* "Oops: 0002 [#1]", "invalid opcode: 0000 [#1]" */
    bool kernel_bug;    /* "kernel BUG at" */
    bool weak_warning;  /* "WARNING: <prose>": counts only with a stack */
} Header;

typedef struct Judge {
    Line *lines;
    unsigned n;
    const GvOptions *opt;
    bool ts_ctx;
} Judge;

static inline bool starts(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

/* starts() after leading blanks: the stack markers "<TASK>", "</IRQ>" ... */
static inline bool starts_ws(const char *s, const char *p)
{
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    return starts(s, p);
}

/* verdict.c */
char *gv_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* verdict_lines.c: prefixes */
size_t gv_timestamp_len(const char *s);
size_t gv_caller_len(const char *s);
void gv_strip_prefixes(Line *l);

/* verdict_lines.c: line classes */
bool gv_is_end_trace(const char *m);
bool gv_is_rule(const char *m, char c);
bool gv_is_cut_here(const char *m);
bool gv_is_register_line(const char *m);
bool gv_is_tail_line(const char *m, GvKind k);
bool gv_is_reportish(const char *m);
bool gv_lenient(GvKind k);

/* verdict_detect.c */
bool gv_detect(const char *m0, Header *h, bool any_warning);

/* verdict_frame.c */
char *gv_find_frame(const Judge *j, unsigned hdr, unsigned a, unsigned b, GvKind k);
const char *gv_kasan_access(const Judge *j, unsigned i, unsigned b);

#endif
