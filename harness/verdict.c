/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Gauntlet kernel-log verdict rules (verdict.h): the judge.
 *
 * The log is copied, sanitized (NUL and control bytes become '?', CR
 * before LF or at the end of a line is dropped, any other CR becomes a
 * space) and split into lines on LF.  Each line's prefixes (level "<4>",
 * /dev/kmsg record "4,12,345,-;", "[   1.234567]" timestamp, "[  T12]"
 * caller id) are stripped to get the message (verdict_lines.c).  A report
 * starts at a header message (gv_detect(), verdict_detect.c); its block runs
 * to its end marker ("---[ end trace", KASAN/UBSAN's closing "====", the
 * "</TASK>" of the last stack) or to the next header, the first run of
 * unrelated lines, the end of the log (the block is then truncated) or the
 * block cap.  Its signature is its title and its first meaningful frame
 * (verdict_frame.c).  verdict_priv.h maps the files.
 */
#define _GNU_SOURCE
#include "verdict_priv.h"

#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GV_DEFAULT_CAP 400u
#define GV_FOREIGN_RUN 8      /* unrelated lines that end a report */

char *gv_xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    return n < 0 ? NULL : s;
}

/* ---- the judge --------------------------------------------------------------------- */

static bool header_at(const Judge *j, unsigned i, Header *h)
{
    const Line *l = &j->lines[i];
    const char *m = l->msg;

    if (l->user) {
        return false;
    }
    if (gv_detect(m, h, j->opt->any_warning)) {
        return true;
    }
    /* a report glued to the end of other output: "foo[  1.2] WARNING: ..." */
    for (m = strchr(l->msg[0] ? l->msg + 1 : l->msg, '['); m; m = strchr(m + 1, '[')) {
        size_t n = gv_timestamp_len(m);

        if (n) {
            const char *r = m + n;

            r += gv_caller_len(r);
            if (*r == ' ') {
                r++;
            }
            if (gv_detect(r, h, j->opt->any_warning)) {
                return true;
            }
        }
    }
    return false;
}

/* A weak "WARNING: prose" counts when "cut here" precedes it or a
 * "Call Trace:" follows within a few lines. */
static bool weak_warning_counts(const Judge *j, unsigned i, unsigned lo)
{
    unsigned k;

    for (k = i; k > lo && k + 3 > i; k--) {
        if (gv_is_cut_here(j->lines[k - 1].msg)) {
            return true;
        }
    }
    for (k = i + 1; k < j->n && k <= i + 12; k++) {
        Header h;

        if (starts(j->lines[k].msg, "Call Trace:") || starts(j->lines[k].msg, "Call trace:")) {
            return true;
        }
        if (!j->lines[k].user && gv_detect(j->lines[k].msg, &h, false)) {
            return false;
        }
    }
    return false;
}

static bool foreign(const Judge *j, const Line *l, GvKind kind)
{
    if (l->user) {
        return true;
    }
    if (j->ts_ctx && !l->has_ts) {
        return l->msg[0] != '\0';
    }
    return !gv_lenient(kind) && !gv_is_reportish(l->msg);
}

static int add_finding(GvReport *r, size_t *cap, GvFinding *f)
{
    if (r->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        GvFinding *nf = realloc(r->findings, nc * sizeof(*nf));

        if (!nf) {
            return -1;
        }
        r->findings = nf;
        *cap = nc;
    }
    r->findings[r->n++] = *f;
    return 0;
}

static void free_finding(GvFinding *f)
{
    free(f->text);
    free(f->block);
    free(f->title);
    free(f->frame);
    free(f->signature);
}

static char *join_lines(const Judge *j, unsigned a, unsigned b)
{
    size_t len = 0;
    unsigned i;
    char *s, *p;

    for (i = a; i <= b; i++) {
        len += strlen(j->lines[i].raw) + 1;
    }
    s = malloc(len + 1);
    if (!s) {
        return NULL;
    }
    p = s;
    for (i = a; i <= b; i++) {
        size_t n = strlen(j->lines[i].raw);

        memcpy(p, j->lines[i].raw, n);
        p += n;
        *p++ = '\n';
    }
    *p = '\0';
    return s;
}

GvReport *gv_judge(const char *log, size_t len, const char *marker, const GvOptions *opt)
{
    static const GvOptions defaults;
    GvReport *r = calloc(1, sizeof(*r));
    Judge j = { 0 };
    char *buf = NULL;
    regex_t *res = NULL;
    size_t nres = 0, fcap = 0, i, nl = 1;
    unsigned start = 0, cap, li, lo;
    unsigned n_ts = 0, n_nonempty = 0;

    if (!r) {
        return NULL;
    }
    if (!opt) {
        opt = &defaults;
    }
    if (!log) {
        len = 0;
    }
    j.opt = opt;
    cap = opt->max_block_lines ? opt->max_block_lines : GV_DEFAULT_CAP;

    /* allow-list */
    if (opt->n_allow) {
        res = calloc(opt->n_allow, sizeof(*res));
        if (!res) {
            goto oom;
        }
        for (nres = 0; nres < opt->n_allow; nres++) {
            int rc;

            if (!opt->allow || !opt->allow[nres]) {
                r->error = gv_xasprintf("allow-list entry %zu is NULL", nres);
                goto out;
            }
            rc = regcomp(&res[nres], opt->allow[nres], REG_EXTENDED | REG_NOSUB);
            if (rc != 0) {
                char eb[128];

                regerror(rc, &res[nres], eb, sizeof(eb));
                r->error = gv_xasprintf("bad allow-list regex '%s': %s", opt->allow[nres], eb);
                goto out;
            }
        }
    }

    /* sanitize and split */
    buf = malloc(len + 1);
    if (!buf) {
        goto oom;
    }
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)log[i];

        if (c == '\n') {
            nl++;
            buf[i] = '\0';
        } else if (c == '\r') {
            buf[i] = (i + 1 >= len || log[i + 1] == '\n' || log[i + 1] == '\r') ? '\r' : ' ';
        } else if ((c < 0x20 && c != '\t') || c == 0x7f) {
            buf[i] = '?';
        } else {
            buf[i] = (char)c;
        }
    }
    buf[len] = '\0';
    if (len > 0 && log[len - 1] == '\n') {
        nl--;           /* a final newline does not start a line */
    }
    if (nl > 0xfffffff0u) {
        goto oom;
    }
    j.lines = calloc(nl ? nl : 1, sizeof(*j.lines));
    if (!j.lines) {
        goto oom;
    }
    {
        char *p = buf;
        char *end = buf + len;

        for (li = 0; li < nl; li++) {
            size_t n = strlen(p);
            char *q = p + n;

            while (q > p && q[-1] == '\r') {
                *--q = '\0';
            }
            for (q = p; *q; q++) {
                if (*q == '\r') {
                    *q = ' ';
                }
            }
            j.lines[li].raw = p;
            gv_strip_prefixes(&j.lines[li]);
            if (j.lines[li].msg[0]) {
                n_nonempty++;
                n_ts += j.lines[li].has_ts;
            }
            p += n + 1;
            if (p > end) {
                p = end;
            }
        }
    }
    j.n = (unsigned)nl;
    r->n_lines = j.n;
    /* a log whose kernel lines mostly carry timestamps: lines without one
     * are someone else's output */
    j.ts_ctx = n_ts > 0 && n_ts * 2 >= n_nonempty;

    /* marker */
    if (marker && *marker) {
        r->marker_given = true;
        for (li = 0; li < j.n; li++) {
            if (strstr(j.lines[li].raw, marker)) {
                r->marker_found = true;
                r->marker_line = li + 1;
                start = li + 1;
                break;
            }
        }
    }

    /* reports */
    lo = start;
    for (li = start; li < j.n; li++) {
        Header h, h2;
        GvFinding f = { 0 };
        unsigned first = li, last = li, k, foreign_run = 0;
        bool ended = false, soft_end = false, capped = false;
        const char *acc = "";
        char *frame;

        if (!header_at(&j, li, &h)) {
            continue;
        }
        if (h.weak_warning && !weak_warning_counts(&j, li, lo)) {
            continue;
        }
        /* the report's preamble: "cut here", the "====" rule */
        for (k = li; k > lo && k + 3 > li; k--) {
            const char *m = j.lines[k - 1].msg;

            if (gv_is_cut_here(m)) {
                first = k - 1;
                break;
            }
            if (gv_is_rule(m, '=') && k == li) {
                first = k - 1;
                break;
            }
        }
        for (k = li + 1; k < j.n; k++) {
            const Line *l = &j.lines[k];

            if (k - first >= cap) {
                capped = true;
                break;
            }
            if (header_at(&j, k, &h2)) {
                bool absorb = false;

                if (h2.oops_line && k <= li + 8 &&
                    (h.kind == GV_OOPS || h.kind == GV_BUG || h.kind == GV_LIST_CORRUPTION ||
                     h.kind == GV_GPF || h.kind == GV_KASAN)) {
                    absorb = true;
                }
                if (h2.kernel_bug && h.kind == GV_LIST_CORRUPTION && k <= li + 4) {
                    absorb = true;
                }
                if (h2.weak_warning && !weak_warning_counts(&j, k, li)) {
                    absorb = true;
                }
                if (!absorb) {
                    break;
                }
            }
            /* "cut here" opens the next report (list corruption's own BUG
             * follows its message) */
            if (!l->user && gv_is_cut_here(l->msg) &&
                !(h.kind == GV_LIST_CORRUPTION && k <= li + 2)) {
                break;
            }
            if (soft_end) {
                if (l->user || (j.ts_ctx && !l->has_ts) || !gv_is_tail_line(l->msg, h.kind)) {
                    ended = true;
                    break;
                }
                soft_end = false;
            }
            if (!l->user && gv_is_end_trace(l->msg)) {
                last = k;
                while (k + 1 < j.n && !j.lines[k + 1].user &&
                       gv_is_register_line(j.lines[k + 1].msg)) {
                    last = ++k;
                }
                ended = true;
                break;
            }
            if (!l->user && (h.kind == GV_KASAN || h.kind == GV_UBSAN) && gv_is_rule(l->msg, '=')) {
                last = k;
                ended = true;
                break;
            }
            if (!l->user && starts_ws(l->msg, "</TASK>")) {
                last = k;
                soft_end = true;
                foreign_run = 0;
                continue;
            }
            if (foreign(&j, l, h.kind)) {
                if (++foreign_run > GV_FOREIGN_RUN) {
                    break;      /* other output: the report is over */
                }
                continue;
            }
            foreign_run = 0;
            last = k;
        }
        if (k >= j.n && soft_end) {
            ended = true;           /* the log ends after the last stack */
        }
        {
            /* a __warn() WARNING ends with "---[ end trace"; a bare
             * "WARNING: prose" line (any_warning) has no end to miss */
            bool warn_full = h.kind == GV_WARNING &&
                             (strstr(j.lines[li].msg, "WARNING: CPU: ") ||
                              strstr(j.lines[li].msg, "WARNING: at "));
            bool strict = warn_full || h.kind == GV_OOPS || h.kind == GV_GPF ||
                          (h.kind == GV_BUG && h.kernel_bug) ||
                          h.kind == GV_LIST_CORRUPTION || h.kind == GV_KASAN ||
                          h.kind == GV_UBSAN;
            bool eof = k >= j.n;

            /* ended: an end marker, or the stack's end followed by other
             * output.  Otherwise a report with an end marker is truncated;
             * one without is truncated only when the log stops inside it. */
            f.truncated = capped ||
                          (!ended && (strict || (eof && foreign_run == 0 && h.kind != GV_KMEMLEAK)));
        }
        f.kind = h.kind;
        f.line = li + 1;
        f.block_first = first + 1;
        f.block_last = last + 1;
        f.text = strdup(j.lines[li].msg);
        f.block = join_lines(&j, first, last);
        if (h.kind == GV_KASAN) {
            acc = gv_kasan_access(&j, li, last);
        }
        frame = gv_find_frame(&j, li, li, last, h.kind);
        f.frame = frame;
        f.title = gv_xasprintf("%s%s", h.title, acc);
        f.signature = frame ? gv_xasprintf("%s%s in %s", h.title, acc, frame)
                            : gv_xasprintf("%s%s", h.title, acc);
        f.dup_of = -1;
        if (!f.text || !f.block || !f.title || !f.signature) {
            free_finding(&f);
            goto oom;
        }
        /* allow-list */
        for (i = 0; i < nres; i++) {
            if (regexec(&res[i], f.text, 0, NULL, 0) == 0 ||
                regexec(&res[i], f.signature, 0, NULL, 0) == 0) {
                break;
            }
        }
        if (i < nres) {
            r->n_allowed++;
            free_finding(&f);
        } else {
            size_t d;

            for (d = 0; d < r->n; d++) {
                if (strcmp(r->findings[d].signature, f.signature) == 0) {
                    f.dup_of = (int)d;
                    break;
                }
            }
            if (f.dup_of < 0) {
                r->n_unique++;
            }
            if (add_finding(r, &fcap, &f) < 0) {
                free_finding(&f);
                goto oom;
            }
        }
        li = last > li ? last : li;
        lo = li + 1;
    }
    goto out;

oom:
    gv_report_free(r);
    r = NULL;
out:
    for (i = 0; i < nres; i++) {
        regfree(&res[i]);
    }
    free(res);
    free(j.lines);
    free(buf);
    return r;
}

void gv_report_free(GvReport *r)
{
    size_t i;

    if (!r) {
        return;
    }
    for (i = 0; i < r->n; i++) {
        free_finding(&r->findings[i]);
    }
    free(r->findings);
    free(r->error);
    free(r);
}

bool gv_failed(const GvReport *r)
{
    return r && (r->n > 0 || r->error);
}
