/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Gauntlet scenario execution: one scenario, one VM, one artifact folder.
 * run.c performs the steps and the verdicts; runner.c schedules scenarios
 * and writes the reports.
 */
#ifndef GAUNTLET_RUN_H
#define GAUNTLET_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "scenario.h"
#include "target.h"

typedef enum GrStatus { GR_PASS, GR_FAIL, GR_SKIP, GR_ERROR } GrStatus;

/* What the run needs from the outside world. */
typedef struct GrConfig {
    const char *qemu;
    const char *kernel[2], *initrd[2];  /* indexed by GsKernel */
    const char *kernel_version[2];      /* shown in the reports */
    const char *accel;
    const char *host_tool;              /* host gauntlet-data (verify) */
    const char *const *fw_dirs;
    uint64_t seed;                      /* integrity pattern seed */
    /* known kernel issues: EREs on a kernel-log finding's signature or
     * header that do not fail the kernel-log verdict (--known-issues) */
    const char *const *kernel_allow;
    size_t n_kernel_allow;
    bool shell;                         /* interactive console, no steps */
    /* Fast reset: scenarios that start with boot + load restore a VM saved
     * after the same boot and load (made by the first one that needs it)
     * instead of booting; snapshots live in snapshot_dir. */
    bool snapshot;
    const char *snapshot_dir;
} GrConfig;

/* Run one scenario against target t, artifacts in dir (created).  Writes
 * dir/result.json and returns the status.  Never hangs: every wait is
 * bounded and QEMU is always killed. */
GrStatus gr_run_scenario(const GrConfig *cfg, const GsScenario *s,
                         const GtTarget *t, const char *dir);

/* Checks that need the target but no VM (done for every scenario before
 * any VM starts).  0, or -1 with "file:line:col: message" in err. */
int gr_validate(const GsScenario *s, const GtTarget *t, const GrConfig *cfg,
                char *err, size_t errlen);

const char *gr_status_name(GrStatus st);

#endif /* GAUNTLET_RUN_H */
