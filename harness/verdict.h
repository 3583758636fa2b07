/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Gauntlet kernel-log verdict rules: find the kernel's own reports (oops,
 * BUG, WARNING, lockdep, KASAN, UBSAN, hung task, RCU stall, lockups,
 * general protection faults, panics, kmemleak, list corruption) in a
 * console or dmesg log, the way blktests judges dmesg after a test's
 * marker, and give each a de-duplication signature.
 *
 * Input: any bytes (serial console with or without "[   12.345678]"
 * timestamps and "[  T123]" caller ids, `dmesg -r` "<4>" prefixes, raw
 * /dev/kmsg records "4,123,456789,-;", CR/LF or LF, NULs and garbage).
 * Lines written by userspace are recognised when the prefix says so
 * (syslog facility != kernel: "<12>", "12,..;") and never count.
 *
 * WARNING policy: a "WARNING:" line counts when it is the kernel's __warn()
 * header ("WARNING: CPU: 0 PID: 1 at file:line func"), the old "WARNING: at
 * file:line", a lockdep/RCU header (kind LOCKDEP), or any other "WARNING:"
 * line that a "cut here" line precedes or a "Call Trace:" follows.  A bare
 * "WARNING: ..." sentence without a stack (a userspace echo into /dev/kmsg,
 * a driver's prose) does not, unless GvOptions.any_warning is set, which is
 * blktests' rule (any line containing "WARNING:" at its start).
 */
#ifndef GAUNTLET_VERDICT_H
#define GAUNTLET_VERDICT_H

#include <stdbool.h>
#include <stddef.h>

typedef enum GvKind {
    GV_OOPS,            /* page fault / NULL deref / "Oops:" / "invalid opcode" */
    GV_BUG,             /* "kernel BUG at", other "BUG: ..." */
    GV_WARNING,
    GV_LOCKDEP,         /* circular/recursive locking, inconsistent lock
                           state, suspicious RCU usage, ... */
    GV_KASAN,           /* "BUG: KASAN:" (also KFENCE, KMSAN) */
    GV_UBSAN,
    GV_HUNG_TASK,       /* "INFO: task X:123 blocked for more than N seconds" */
    GV_RCU_STALL,
    GV_LOCKUP,          /* soft lockup, hard LOCKUP, workqueue lockup */
    GV_GPF,             /* general protection fault */
    GV_PANIC,           /* "Kernel panic - not syncing" */
    GV_KMEMLEAK,        /* "unreferenced object", "kmemleak: N new suspected" */
    GV_LIST_CORRUPTION, /* list_add/list_del corruption (+ its BUG) */
    GV_NKINDS
} GvKind;

typedef struct GvFinding {
    GvKind kind;
    unsigned line;          /* 1-based line (as `grep -n` counts) of the header */
    char *text;             /* that line, prefixes stripped, sanitized */
    unsigned block_first;   /* first and last line of the whole report */
    unsigned block_last;
    char *block;            /* those lines, '\n'-separated, sanitized */
    bool truncated;         /* the report has no end (log cut, cap reached) */
    char *title;            /* e.g. "WARNING", "KASAN: slab-out-of-bounds Write" */
    char *frame;            /* first meaningful frame "func [mod]" or NULL */
    char *signature;        /* title + " in " + frame: the de-dup key */
    int dup_of;             /* index of the first finding with this
                               signature, -1 when this is the first */
} GvFinding;

typedef struct GvOptions {
    /* extended regexes (POSIX ERE); a finding whose header text or
     * signature matches one is dropped (counted in GvReport.n_allowed) */
    const char *const *allow;
    size_t n_allow;
    bool any_warning;       /* blktests rule: every "WARNING:" line counts */
    unsigned max_block_lines; /* block cap (0: 400) */
} GvOptions;

typedef struct GvReport {
    GvFinding *findings;
    size_t n;
    size_t n_unique;        /* distinct signatures */
    size_t n_allowed;       /* findings dropped by the allow-list */
    unsigned n_lines;       /* lines in the log */
    bool marker_given;
    bool marker_found;      /* false with a marker: the whole log was judged */
    unsigned marker_line;   /* 1-based, 0 if none */
    char *error;            /* non-NULL: a bad allow regex; no verdict */
} GvReport;

/* Judge LEN bytes of LOG (any bytes).  MARKER (may be NULL): only lines
 * after the first line containing it are judged; when it is not found the
 * whole log is judged and marker_found says so.  OPT may be NULL.
 * Returns NULL only when out of memory. */
GvReport *gv_judge(const char *log, size_t len, const char *marker,
                   const GvOptions *opt);
void gv_report_free(GvReport *r);

/* True when the report holds a finding (the scenario fails). */
bool gv_failed(const GvReport *r);

const char *gv_kind_name(GvKind k);   /* "WARNING", "HUNG_TASK", ... */

/* One line: "<signature> at line N" (malloc'd). */
char *gv_format(const GvFinding *f);
/* Multi-line summary of a report (malloc'd): verdict, marker, each unique
 * signature with its count and first line, truncation. */
char *gv_format_summary(const GvReport *r);

#endif /* GAUNTLET_VERDICT_H */
