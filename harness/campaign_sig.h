/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Failure signatures of campaign runs: the de-duplication key that groups
 * failures and that a shrunk scenario must keep.  It is the first kernel
 * report's signature from harness/verdict.c ("WARNING in kestrel_reap
 * [kestrel]", "KASAN: slab-use-after-free Read in ..."), found in the
 * run's console log, or else the kind of failure with the step it
 * happened in ("verdict:integrity-host", "hang:suspend",
 * "step:workload_stop"), from result.json's failure fields.
 */
#ifndef GAUNTLET_CAMPAIGN_SIG_H
#define GAUNTLET_CAMPAIGN_SIG_H

#include <stdbool.h>
#include <stddef.h>

/* What failed in a run, as result.json's fields say it (never read from
 * the human-readable reason): "status", and "failure": its "kind", the
 * failed "verdict" and the failed "step"'s type ("" for each when absent). */
typedef struct CsFailure {
    const char *status;
    const char *kind;
    const char *verdict;
    const char *step;
} CsFailure;

/* artifacts: the run's folder (its console.log, else kernel.log, is
 * judged). */
void cs_signature(const CsFailure *f, const char *artifacts, char *sig,
                  size_t len);

/* A run that failed booting never reached the driver (the host was too
 * slow to boot the guest, say): the campaign counts it as the harness's
 * error, not as a failure. */
bool cs_boot_failure(const CsFailure *f);

/* The first kernel report in the run's console log came before the log
 * first names the module (its load): the kernel was in trouble before the
 * driver existed, e.g. an RCU stall of a guest starved by its host. */
bool cs_report_before_load(const char *artifacts, const char *module);

/* The first kernel report is an RCU stall that the kernel itself blames on
 * a CPU that did not run ("kthread starved for N jiffies", "timer wakeup
 * didn't happen"), with no frame of the module in it: the host starved the
 * guest (TCG on a loaded machine), not the driver. */
bool cs_host_starved(const char *artifacts, const char *module);

/* A file-name-safe id: "sig-<8 hex of a hash>-<slug>" (at most 48 chars). */
void cs_signature_id(const char *sig, char *id, size_t len);

#endif /* GAUNTLET_CAMPAIGN_SIG_H */
