/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kernel log: no oops, BUG, WARNING, lockdep, KASAN or hung-task
 * report beyond the known-issues list (kernel-log, verdict.c classifies
 * the console log), and no forbidden pattern after its forbid_log step
 * (forbid-log).
 */
#define _GNU_SOURCE
#include "judge.h"

#include <stdlib.h>
#include <string.h>

#include "verdict.h"

void gr_judge_kernel_log(Judge *j)
{
    Run *r = j->r;
    GvOptions gopt = { .allow = r->cfg->kernel_allow,
                       .n_allow = r->cfg->n_kernel_allow };
    GvReport *rep;

    if (!j->len) {
        gr_verdict(r, "kernel-log", GR_SKIP, "no console log");
        return;
    }
    rep = gv_judge(j->log, j->len, NULL, &gopt);
    if (rep && gv_failed(rep)) {
        char *sum = gv_format_summary(rep);
        char *first = gv_format(&rep->findings[0]);

        gr_save_text(r, "kernel-verdict.txt", sum, strlen(sum));
        gr_verdict(r, "kernel-log", GR_FAIL, "%s (%zu report(s), %zu "
                   "distinct; see kernel-verdict.txt)", first, rep->n,
                   rep->n_unique);
        free(sum);
        free(first);
    } else if (rep && rep->error) {
        gr_verdict(r, "kernel-log", GR_FAIL, "known-issues list: %s",
                   rep->error);
    } else if (rep && rep->n_allowed) {
        gr_verdict(r, "kernel-log", GR_PASS, "no kernel reports in %u lines "
                   "but %zu known kernel issue(s) of the known-issues "
                   "list", rep->n_lines, rep->n_allowed);
    } else if (rep) {
        gr_verdict(r, "kernel-log", GR_PASS, "no kernel reports in %u lines",
                   rep->n_lines);
    }
    gv_report_free(rep);
}

void gr_judge_forbid_log(Judge *j)
{
    Run *r = j->r;

    for (int i = 0; i < r->nforbid && j->len; i++) {
        if (r->forbid[i].from < (long)j->len &&
            gr_match_lines(&r->forbid[i].re, j->log + r->forbid[i].from) >= 0) {
            gr_verdict(r, "forbid-log", GR_FAIL, "%s:%d: forbidden pattern /%s/ "
                       "appeared in the kernel log", r->s->file,
                       r->forbid[i].line, r->forbid[i].pattern);
        }
    }
    for (int i = 0; i < r->nforbid; i++) {
        regfree(&r->forbid[i].re);
    }
    r->nforbid = 0;
}
