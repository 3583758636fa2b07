/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The verdicts every scenario gets, after its steps, in the order of the
 * table below, which is the order of the report.  The run's workloads are
 * stopped first; the verdicts of the armed phase read what the faults did,
 * everything armed is disarmed, the guest phase asks the guest, the guest's
 * coverage data is collected, QEMU stops, and the host phase reads what is
 * left on the host: the backing files and the console log.  One file per
 * verdict: judge_*.c.
 */
#define _GNU_SOURCE
#include "judge.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent_proto.h"
#include "guestfiles.h"
#include "qmp.h"
#include "verdict.h"

static void kfault_disarmed(Judge *j, GrGuestCmd *c)
{
    (void)j;
    (void)c;    /* as before the list: whatever its status, the end goes on */
}

/* Device faults off now (QMP); kernel faults off by the guest phase's
 * first commands, before anything else runs there. */
static void disarm(Judge *j)
{
    Run *r = j->r;

    for (int i = 0; i < r->nkfault; i++) {
        char *cmd;

        if (asprintf(&cmd, "echo 0 > /sys/kernel/debug/%s/probability; "
                     "[ -e /sys/kernel/debug/%s/inject ] && echo > "
                     "/sys/kernel/debug/%s/inject; true", r->kfault_dirs[i],
                     r->kfault_dirs[i], r->kfault_dirs[i]) < 0) {
            abort();
        }
        gr_judge_queue(j, cmd, 10, 0, kfault_disarmed);
    }
    r->kfault_armed = false;
    for (int i = 0; i < r->ndev; i++) {
        Device *d = &r->dev[i];

        if (gr_fault_object_here(r, d) && gt_has_faults(r->t)) {
            gr_harvest(r, d, true);
            gr_set_faults(r, d, r->t->fault_set, "");
        }
    }
}

void gr_save_text(Run *r, const char *name, const char *text, size_t len)
{
    char path[4200];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", r->dir, name);
    f = fopen(path, "wb");
    if (f) {
        fwrite(text, 1, len, f);
        fclose(f);
    }
}


/* ARMED and HOST verdicts judge in their function; a GUEST verdict's
 * queues its guest command (gr_judge_queue) or judges at once (a skip). */
typedef enum Phase { ARMED, GUEST, HOST } Phase;

static const struct {
    const char *name;
    Phase phase;
    void (*judge)(Judge *j);
} verdicts[] = {
    { "faults-fired", ARMED, gr_judge_faults_fired },
    { "integrity-guest", GUEST, gr_judge_integrity_guest },
    { "unload", GUEST, gr_judge_unload },
    { "kmemleak", GUEST, gr_judge_kmemleak },
    { "integrity-host", HOST, gr_judge_integrity_host },
    { "ledger", HOST, gr_judge_ledger },
    { "iommu", HOST, gr_judge_iommu },
    { "kfault-fired", HOST, gr_judge_kfault_fired },
    { "kernel-log", HOST, gr_judge_kernel_log },
    { "forbid-log", HOST, gr_judge_forbid_log },
};

bool gr_judge_alive(Judge *j)
{
    return j->alive && !gr_vm_dead(j->r);
}

static void run_phase(Judge *j, Phase p)
{
    for (size_t i = 0; i < sizeof(verdicts) / sizeof(verdicts[0]); i++) {
        if (verdicts[i].phase == p) {
            verdicts[i].judge(j);
        }
    }
}

#define GCOV_DIR "/sys/kernel/debug/gcov"
#define GCOV_TIMEOUT_S 30

/* The guest's gcov data into gcov/guest/ (mirroring the build paths the
 * kernel shows under /sys/kernel/debug/gcov); QEMU writes its own into
 * gcov/qemu/ at exit (vm.c).  gauntlet coverage turns both into lcov
 * tracefiles.  Missing data is not a verdict: a stock kernel has none.
 * The listing is the guest phase's last command; the files come after. */
static void collect_gcov(Run *r, const GrGuestCmd *listing)
{
    char host[4200], err[512];
    int n;

    if (!listing->ran || listing->rc < 0 || !r->vm) {
        return;
    }
    snprintf(host, sizeof(host), "%s/gcov/guest", r->dir);
    n = gf_fetch_listed(r->vm->agent, &listing->res, GCOV_DIR, ".gcda", host,
                        GCOV_TIMEOUT_S * 1000, err, sizeof(err));
    if (n < 0) {
        gr_log(r, "coverage: guest gcov data not collected: %s", err);
    } else if (n > 0) {
        gr_log(r, "coverage: %d gcov data file(s) from the guest in gcov/guest", n);
    }
}

static void gcov_listed(Judge *j, GrGuestCmd *c)
{
    (void)j;
    (void)c;    /* fetched once the list is done (collect_gcov) */
}

GrGuestCmd *gr_judge_queue(Judge *j, char *cmd, double timeout,
                           uint32_t output_limit, JudgeDone done)
{
    if (j->ncmds == JUDGE_MAX_CMDS) {
        fprintf(stderr, "gauntlet-runner: more than %d guest commands in the "
                "guest phase (JUDGE_MAX_CMDS)\n", JUDGE_MAX_CMDS);
        abort();
    }
    j->cmds[j->ncmds] = (GrGuestCmd){ .cmd = cmd, .timeout = timeout,
                                      .output_limit = output_limit };
    j->owned[j->ncmds] = cmd;
    j->done[j->ncmds] = done;
    return &j->cmds[j->ncmds++];
}

/* each result in turn to the verdict that queued it */
static void judge_one(void *opaque, int i)
{
    Judge *j = opaque;

    j->done[i](j, &j->cmds[i]);
}

/*
 * The guest phase: the kernel faults' disarming (queued by disarm()), the
 * orderly end's flush, each guest verdict's command
 * (or its skip), the kernel log and the gcov listing, all sent in one
 * round trip and run one after the other in the guest; each verdict then
 * judges its own command's result, with its own status and reason.
 */
static void run_guest_phase(Judge *j)
{
    Run *r = j->r;
    int gcov = -1;

    /* an orderly end: the device's volatile cache flushed for the ledger */
    gr_ledger_final_flush(j);
    run_phase(j, GUEST);
    /* coverage of the modules built with gcov (GCOV_PROFILE on a kernel
     * with CONFIG_GCOV_KERNEL), after the unload: gcov_persist keeps an
     * unloaded module's counts, so its exit path counts too */
    if (gr_judge_alive(j)) {
        gcov = j->ncmds;
        gr_judge_queue(j, strdup("find " GCOV_DIR " -type f"), GCOV_TIMEOUT_S,
                       GF_LIST_LIMIT, gcov_listed);
    }
    gr_guest_list(r, j->cmds, j->ncmds, judge_one, j);
    if (gcov >= 0) {
        collect_gcov(r, &j->cmds[gcov]);
    }
    for (int i = 0; i < j->ncmds; i++) {
        ga_result_free(&j->cmds[i].res);
        free(j->owned[i]);
    }
    j->ncmds = 0;
}

bool gr_verdict_known(const char *name)
{
    for (size_t i = 0; i < sizeof(verdicts) / sizeof(verdicts[0]); i++) {
        if (!strcmp(verdicts[i].name, name)) {
            return true;
        }
    }
    return false;
}

/*
 * The scenario's expect_fail: each verdict named there must fail (then it
 * counts as a pass, said so in its detail), and one that did not fail
 * fails the run: a negative control that stopped catching what it shows.
 */
static void apply_expect_fail(Run *r)
{
    for (size_t k = 0; k < r->s->nexpect_fail; k++) {
        const char *name = r->s->expect_fail[k];
        Verdict *v = NULL;

        for (int i = 0; i < r->nverdicts; i++) {
            if (!strcmp(r->verdicts[i].name, name)) {
                v = &r->verdicts[i];
            }
        }
        if (v && v->status == GR_FAIL) {
            char tmp[sizeof(v->detail)];

            snprintf(tmp, sizeof(tmp), "failed as expected (expect_fail): %s",
                     v->detail);
            snprintf(v->detail, sizeof(v->detail), "%s", tmp);
            v->status = GR_PASS;
        } else if (v) {
            char tmp[sizeof(v->detail)];

            snprintf(tmp, sizeof(tmp), "expected to fail (expect_fail) but "
                     "%s: %s", v->status == GR_PASS ? "passed" :
                     v->status == GR_SKIP ? "was skipped" : "could not judge",
                     v->detail);
            snprintf(v->detail, sizeof(v->detail), "%s", tmp);
            v->status = GR_FAIL;
        }
    }
}


void gr_judge(Run *r)
{
    GrStatus before = r->status;
    Judge j = { .r = r, .alive = r->vm && !r->vm_ended && !gr_vm_dead(r) &&
                                 !gvm_ended(r->vm) };
    char path[4200];

    if (j.alive) {
        for (int i = 0; i < r->nwl; i++) {
            if (r->wl[i].running) {
                gr_stop_workload(r, &r->wl[i], false, 60, 0, false);
            }
        }
    }
    run_phase(&j, ARMED);
    if (gr_judge_alive(&j)) {
        disarm(&j);
    }
    run_guest_phase(&j);
    /* stop QEMU: the backing files and the console log are complete */
    if (r->vm) {
        double t = gvm_now();

        gvm_stop(r->vm, 15000);
        r->vm = NULL;
        gr_log(r, "qemu stopped in %.3f s", gvm_now() - t);
    }
    snprintf(path, sizeof(path), "%s/console.log", r->dir);
    j.log = gvm_file_read(path, 0, &j.len);
    run_phase(&j, HOST);
    free(j.log);

    apply_expect_fail(r);
    /* the first failed verdict becomes the reason, unless a step failed;
     * a verdict that could not judge (GR_ERROR: its check did not
     * complete) makes the run an error, never a pass */
    for (int i = 0; i < r->nverdicts; i++) {
        GrStatus st = r->verdicts[i].status;

        if ((st == GR_FAIL || st == GR_ERROR) &&
            (before == GR_PASS || before == GR_SKIP) &&
            (r->status == GR_PASS || r->status == GR_SKIP)) {
            r->status = st;
            r->kind = st == GR_FAIL ? GR_FAIL_VERDICT : GR_FAIL_ERROR;
            r->failed_verdict = i;
            snprintf(r->reason, sizeof(r->reason), "verdict %s: %s",
                     r->verdicts[i].name, r->verdicts[i].detail);
        }
    }
}
