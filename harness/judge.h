/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The verdicts every scenario gets (judge.c runs them; one file per
 * verdict, judge_*.c).  Private to the run, like run_priv.h.
 */
#ifndef GAUNTLET_JUDGE_H
#define GAUNTLET_JUDGE_H

#include "run_priv.h"

typedef struct Judge Judge;

/* Judges a guest command of the guest phase once the list has run:
 * c->ran false when the VM died before its turn, else c->rc and c->res as
 * gr_guest's. */
typedef void (*JudgeDone)(Judge *j, GrGuestCmd *c);

#define JUDGE_MAX_CMDS GR_GUEST_LIST_MAX  /* 4 kernel faults disarmed, 6 others */

/* What the verdicts share: the run, whether its VM still answers, the
 * guest phase's commands, and the console log once QEMU has stopped. */
struct Judge {
    Run *r;
    bool alive;                 /* the VM answered after the steps */
    /* The guest phase: each verdict queues its guest commands (or judges
     * at once, a skip), judge.c runs them all in one round trip, in the
     * order queued, and each done() judges its own command's result. */
    GrGuestCmd cmds[JUDGE_MAX_CMDS];
    JudgeDone done[JUDGE_MAX_CMDS];
    char *owned[JUDGE_MAX_CMDS];
    int ncmds;
    char *log;                  /* console.log (host phase) */
    size_t len;
};

/* Whether the guest can still be asked (it may die during the verdicts). */
bool gr_judge_alive(Judge *j);
/* Queue a guest command of the guest phase (cmd is taken: freed after the
 * list); done judges its result.  Set ->ready on what it returns for a
 * command that needs the device ready first.  A full list is a bug:
 * abort. */
GrGuestCmd *gr_judge_queue(Judge *j, char *cmd, double timeout,
                           uint32_t output_limit, JudgeDone done);
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
