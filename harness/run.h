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

/* What failed first: result.json's "failure.kind" (gr_fail_kind_name),
 * which campaign signatures read instead of the human-readable reason. */
typedef enum GrFailKind {
    GR_FAIL_NONE,       /* nothing failed */
    GR_FAIL_STEP,       /* a step did not do what it says */
    GR_FAIL_VERDICT,    /* a verdict failed (failure.verdict names it) */
    GR_FAIL_BOOT,       /* the guest did not come up */
    GR_FAIL_HANG,       /* the guest stopped answering */
    GR_FAIL_PANIC,      /* the guest kernel panicked */
    GR_FAIL_QEMU_EXIT,  /* QEMU exited on its own */
    GR_FAIL_TIMEOUT,    /* the scenario's own timeout */
    GR_FAIL_INTEGRITY,  /* writing the integrity region failed */
    GR_FAIL_SNAPSHOT,   /* the snapshot cache (the harness's own trouble) */
    GR_FAIL_SKIP,       /* skipped: what the scenario needs is missing */
    GR_FAIL_ERROR,      /* the harness or the configuration */
    GR_FAIL__MAX
} GrFailKind;

/* What the run needs from the outside world. */
typedef struct GrConfig {
    const char *qemu;
    const char *kernel[2], *initrd[2];  /* indexed by GsKernel */
    const char *kernel_version[2];      /* shown in the reports */
    const char *accel;
    const char *host_tool;              /* host gauntlet-data (verify) */
    const char *ledger_tool;            /* gauntlet-ledger (NULL: next to host_tool) */
    const char *build;                  /* Gauntlet's build folder: {build} */
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
    /* How a snapshot holds guest RAM: "file" (a RAM file mapped
     * copy-on-write at restore, the stream has the device state only) or
     * "stream" (RAM in the migration stream).  NULL: "file". */
    const char *snapshot_ram;
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
const char *gr_fail_kind_name(GrFailKind k);

#endif /* GAUNTLET_RUN_H */
