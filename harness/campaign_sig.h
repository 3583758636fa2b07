/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Failure signatures of campaign runs: the de-duplication key that groups
 * failures and that a shrunk scenario must keep.  It is the first kernel
 * report's signature from harness/verdict.c ("WARNING in kestrel_reap
 * [kestrel]", "KASAN: slab-use-after-free Read in ..."), found in the
 * run's console log, or else the kind of verdict that failed
 * ("verdict:integrity-host", "hang", "step:workload").
 */
#ifndef GAUNTLET_CAMPAIGN_SIG_H
#define GAUNTLET_CAMPAIGN_SIG_H

#include <stddef.h>

/* status, kind and reason as result.json has them; artifacts: the run's
 * folder (its console.log, else kernel.log, is judged). */
void cs_signature(const char *status, const char *kind, const char *reason,
                  const char *artifacts, char *sig, size_t len);

/* A file-name-safe id: "sig-<8 hex of a hash>-<slug>" (at most 48 chars). */
void cs_signature_id(const char *sig, char *id, size_t len);

#endif /* GAUNTLET_CAMPAIGN_SIG_H */
