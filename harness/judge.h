/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The verdicts every scenario gets (judge.c runs them; one file per
 * verdict, judge_*.c).  Private to the run, like run_priv.h.
 */
#ifndef GAUNTLET_JUDGE_H
#define GAUNTLET_JUDGE_H

#include "run_priv.h"

/* What the verdicts share: the run, whether its VM still answers, and the
 * console log once QEMU has stopped. */
typedef struct Judge {
    Run *r;
    bool alive;                 /* the VM answered after the steps */
    char *log;                  /* console.log (host phase) */
    size_t len;
} Judge;

/* Whether the guest can still be asked (it may die during the verdicts). */
bool gr_judge_alive(Judge *j);
/* name is one of the verdicts (scenarios' expect_fail). */
bool gr_verdict_known(const char *name);
void gr_save_text(Run *r, const char *name, const char *text, size_t len);

void gr_judge_faults_fired(Judge *j);       /* judge_faults.c */
void gr_judge_kfault_fired(Judge *j);
void gr_judge_integrity_guest(Judge *j);    /* judge_integrity.c */
void gr_judge_integrity_host(Judge *j);
void gr_ledger_final_flush(Judge *j);       /* judge_ledger.c */
void gr_judge_ledger(Judge *j);
void gr_judge_unload(Judge *j);             /* judge_unload.c */
void gr_judge_kmemleak(Judge *j);           /* judge_kmemleak.c */
void gr_judge_iommu(Judge *j);              /* judge_iommu.c */
void gr_judge_kernel_log(Judge *j);         /* judge_kernel_log.c */
void gr_judge_forbid_log(Judge *j);

#endif /* GAUNTLET_JUDGE_H */
