/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Steps of the machine's power: suspend (real S3 with QMP system_wakeup, or
 * /sys/power/pm_test levels, for a number of cycles), reboot (the kernel's
 * restart path, every driver's shutdown callback, then the end of the VM)
 * and power_cut (QEMU killed at once: nothing flushed, a device's volatile
 * cache lost; optionally a new VM on the same disks).
 */
#define _GNU_SOURCE
#include "run_priv.h"

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

static const char *pm_level_name(GsPmTestLevel l)
{
    static const char *const n[] = {
        "none", "freezer", "devices", "platform", "processors", "core"
    };

    return n[l];
}

/* The guest's count of completed suspends (/sys/power/suspend_stats/
 * success), or -1 (a recorded failure) when it cannot be read. */
static int64_t suspend_successes(Run *r)
{
    ga_result res = { 0 };
    char *end = NULL;
    int64_t n = -1;

    if (gr_guest(r, "cat /sys/power/suspend_stats/success", 30, &res) < 0) {
        return -1;
    }
    if (gr_exit_status(&res) == 0 && res.out) {
        n = strtoll(res.out, &end, 10);
        if (end == res.out || n < 0) {
            n = -1;
        }
    }
    if (n < 0) {
        gr_fail(r, GR_ERROR, GR_FAIL_ERROR, "cannot read "
                "/sys/power/suspend_stats/success: %s",
                gr_tail(res.out ? res.out : "", 200));
    }
    ga_result_free(&res);
    return n;
}

/* One real S3 cycle: the guest's write blocks until resume, so it runs in
 * the background; QEMU's SUSPEND event says the machine is down, then
 * system_wakeup and QEMU's WAKEUP, then the write returns. */
static int s3_cycle(Run *r)
{
    ga_cmd c = { 0 };
    uint32_t id;
    ga_result res = { 0 };
    json_object *ev = NULL;
    int rc;
    GqReply *rep;

    gq_drop_events(r->vm->qmp);
    c.shell = "[ -w /sys/power/pm_test ] && echo none > /sys/power/pm_test; "
              "echo mem > /sys/power/state";
    c.timeout_ms = 180000;
    if (ga_start_cmd(r->vm->agent, &c, &id) != GA_OK) {
        return gr_vm_trouble(r, GR_FAIL_STEP, "cannot start: %s",
                             ga_last_error(r->vm->agent));
    }
    rc = gq_wait_event(r->vm->qmp, "SUSPEND", 60000, &ev);
    json_object_put(ev);
    if (rc != GQ_OK) {
        rc = ga_wait(r->vm->agent, id, 1000, &res);
        if (rc == GA_OK) {
            rc = gr_fail(r, GR_FAIL, GR_FAIL_STEP, "the guest did not "
                         "suspend: 'echo mem > /sys/power/state' exited "
                         "%d without the machine reaching S3 (no SUSPEND "
                         "event): %s", gr_exit_status(&res),
                         gr_tail(res.err, 250));
            ga_result_free(&res);
            return rc;
        }
        ga_kill(r->vm->agent, id, SIGKILL);
        return gr_vm_trouble(r, GR_FAIL_HANG, "the guest did not reach S3 "
                             "within 60 s (no SUSPEND event; a driver's "
                             "suspend blocked?)");
    }
    r->s3_suspends++;
    usleep(100000);
    gq_drop_events(r->vm->qmp);
    rep = gq_execute(r->vm->qmp, "system_wakeup", NULL, 10000);
    rc = rep->rc;
    gq_reply_free(rep);
    if (rc != GQ_OK) {
        return gr_fail(r, GR_ERROR, GR_FAIL_ERROR, "system_wakeup: %s",
                       gq_error(r->vm->qmp));
    }
    if (gq_wait_event(r->vm->qmp, "WAKEUP", 10000, NULL) != GQ_OK) {
        return gr_vm_trouble(r, GR_FAIL_HANG, "resume: system_wakeup was "
                             "accepted but QEMU sent no WAKEUP within 10 s");
    }
    r->s3_wakeups++;
    rc = ga_wait(r->vm->agent, id, 120000, &res);
    if (rc != GA_OK) {
        return gr_vm_trouble(r, GR_FAIL_HANG, "resume: the guest did not come "
                             "back within 120 s (the suspend command did "
                             "not return)");
    }
    rc = gr_exit_status(&res);
    ga_result_free(&res);
    if (rc != 0) {
        return gr_fail(r, GR_FAIL, GR_FAIL_STEP, "suspend/resume: 'echo mem > "
                       "/sys/power/state' exited %d", rc);
    }
    return 0;
}

int gr_step_suspend(Run *r, const GsStep *st)
{
    int64_t before = -1, after;
    unsigned ev0 = r->s3_suspends;
    double t0 = gvm_now();

    if (st->u.suspend.mode == GS_SUSPEND_S3 &&
        (before = suspend_successes(r)) < 0) {
        return -1;
    }
    for (int64_t i = 0; i < st->u.suspend.cycles; i++) {
        gr_log(r, "suspend cycle %" PRId64 "/%" PRId64, i + 1, st->u.suspend.cycles);
        if (st->u.suspend.mode == GS_SUSPEND_PM_TEST) {
            char cmd[300];
            int ok;

            snprintf(cmd, sizeof(cmd), "p=/sys/module/suspend/parameters/"
                     "pm_test_delay; [ -w $p ] && echo 0 > $p; "
                     "echo %s > /sys/power/pm_test && echo mem > /sys/power/state; "
                     "rc=$?; echo none > /sys/power/pm_test; exit $rc",
                     pm_level_name(st->u.suspend.level));
            ok = gr_guest_ok(r, cmd, 120);
            if (ok <= 0) {
                return ok < 0 ? -1 : gr_fail(r, GR_FAIL, GR_FAIL_STEP,
                    "suspend (pm_test %s) failed", pm_level_name(st->u.suspend.level));
            }
            continue;
        }
        if (s3_cycle(r) < 0) {
            return -1;
        }
    }
    if (st->u.suspend.mode != GS_SUSPEND_S3) {
        return 0;
    }
    /* the cycles really done, counted on both sides */
    after = suspend_successes(r);
    if (after < 0) {
        return -1;
    }
    gr_log(r, "suspend: %u real S3 cycles in %.1f s (QMP SUSPEND/WAKEUP), "
           "the guest counted %" PRId64 " (suspend_stats/success %" PRId64
           " -> %" PRId64 "); %u in this run", r->s3_suspends - ev0,
           gvm_now() - t0, after - before, before, after, r->s3_suspends);
    if (after - before != st->u.suspend.cycles) {
        return gr_fail(r, GR_FAIL, GR_FAIL_STEP, "%" PRId64 " S3 "
                       "cycles asked, the guest counted %" PRId64 " successful "
                       "suspends (/sys/power/suspend_stats/success)",
                       st->u.suspend.cycles, after - before);
    }
    return 0;
}

/*
 * reboot: `reboot -f` in the guest, which goes straight to the kernel's
 * restart (kernel_restart: device_shutdown(), so every driver's shutdown
 * callback runs) without user space's shutdown.  QEMU runs with
 * -no-reboot, so the machine's reset ends it: the step passes when QEMU
 * exits after the kernel says "reboot: Restarting system" within the
 * step's timeout, and fails as a hang (a shutdown callback that never
 * returns) otherwise.  It is the scenario's last step (gr_validate); the
 * verdicts then judge what is left on the host: the backing files and the
 * whole console log, shutdown included.
 */
int gr_step_reboot(Run *r, const GsStep *st)
{
    double end = gvm_now() + st->u.reboot.timeout;
    uint32_t id;
    char how[64], *tail;

    /* the device's fire counts, before the device is gone with QEMU */
    for (int i = 0; i < r->ndev; i++) {
        if (gr_fault_object_here(r, &r->dev[i]) &&
            gr_harvest(r, &r->dev[i], true) < 0) {
            return -1;
        }
    }
    if (ga_start(r->vm->agent, "sync; reboot -f", 10000, &id) != GA_OK) {
        return gr_vm_trouble(r, GR_FAIL_STEP, "reboot: %s",
                             ga_last_error(r->vm->agent));
    }
    while (!gvm_ended(r->vm) && gvm_now() < end) {
        usleep(50000);
    }
    if (gvm_ended(r->vm) && gr_console_has(r, "reboot: Restarting system")) {
        r->vm_ended = true;
        gr_log(r, "reboot: the guest restarted (%s) %.1f s after the command",
               gvm_describe_exit(r->vm, how, sizeof(how)),
               st->u.reboot.timeout - (end - gvm_now()));
        return 0;
    }
    tail = gvm_file_tail(r->vm->console, 1500);
    if (!gvm_ended(r->vm)) {
        gr_fail(r, GR_FAIL, GR_FAIL_HANG, "the guest did not restart "
                "within %.0f s (a shutdown callback that never returns?); console "
                "tail: %s", st->u.reboot.timeout, gr_tail(tail, 600));
    } else {
        gr_fail(r, GR_FAIL, GR_FAIL_QEMU_EXIT, "QEMU exited (%s) before "
                "the kernel restarted; console tail: %s",
                gvm_describe_exit(r->vm, how, sizeof(how)), gr_tail(tail, 600));
    }
    free(tail);
    return -1;
}

/* The power cut's mark in the write ledger: the writes before it that no
 * flush covered may have been lost (docs/ledger.md).  QEMU is gone, so
 * nothing else writes the file now. */
static void ledger_mark_cut(Run *r, const GsStep *st)
{
    FILE *f = fopen(r->ledger_path, "a");

    if (!f) {
        gr_log(r, "power_cut: ledger %s: %s", r->ledger_path, strerror(errno));
        return;
    }
    /* a record the cut left half-sent ends here, not in the mark */
    fprintf(f, "\nP power cut %d (%s:%d, at %s)\n", r->power_cuts, r->s->file,
            st->line, st->u.power_cut.at == GS_CUT_DEVICE ? "device" : "now");
    fclose(f);
}

/*
 * power_cut: the machine loses power.  At 'now' the harness kills QEMU at
 * this point of the scenario; at 'device' it waits (up to the step's
 * timeout) for the device's fault engine to stop the VM at a device event
 * (a rule's power-cut action) and kills it then.  SIGKILL: QEMU flushes
 * nothing, and a device's volatile write cache is gone with it.  The fire
 * counters are read first, while QMP still answers.  The ledger gets its
 * mark, and with boot_again a new VM boots on the same backing files (the
 * driver is not loaded: the scenario's next steps do that); otherwise the
 * step ends the scenario and the verdicts judge the disks.
 */
int gr_step_power_cut(Run *r, const GsStep *st)
{
    char how[64];
    int rc;

    if (st->u.power_cut.at == GS_CUT_DEVICE) {
        double left = r->deadline - gvm_now();
        double t = st->u.power_cut.timeout < left ? st->u.power_cut.timeout : left;

        rc = gq_wait_event(r->vm->qmp, "STOP", (int)(t * 1000) > 0 ?
                           (int)(t * 1000) : 1, NULL);
        if (rc != GQ_OK || gvm_ended(r->vm)) {
            /* a STOP after SHUTDOWN is the guest's reset, not the cut */
            if (gvm_ended(r->vm)) {
                return gr_vm_trouble(r, GR_FAIL_STEP, "power_cut: waiting for "
                                     "the device to cut the power");
            }
            return gr_fail(r, GR_FAIL, GR_FAIL_STEP, "power_cut: the device did "
                           "not cut the power within %.0f s (no STOP event: did "
                           "a rule with the power-cut action fire?)", t);
        }
        gr_log(r, "power_cut: the device stopped the VM (STOP event)");
    }
    for (int i = 0; i < r->ndev; i++) {
        if (gr_fault_object_here(r, &r->dev[i]) &&
            gr_harvest(r, &r->dev[i], true) < 0) {
            return -1;
        }
    }
    gvm_kill(r->vm);
    r->vm = NULL;
    r->power_cuts++;
    ledger_mark_cut(r, st);
    gr_log(r, "power_cut %d: QEMU killed (SIGKILL: nothing flushed)",
           r->power_cuts);
    /* what lived in the VM is gone with it */
    for (int i = 0; i < r->nwl; i++) {
        r->wl[i].running = false;
    }
    r->module_loaded = false;
    r->kfault_armed = false;
    r->nkfault = 0;
    for (int i = 0; i < r->ndev; i++) {
        r->dev[i].nlive = 0;
    }
    if (!st->u.power_cut.boot_again) {
        r->vm_ended = true;
        return 0;
    }
    {
        char from[4200], to[4200];

        /* this run's first QEMU's log, kept (the next one truncates it) */
        snprintf(from, sizeof(from), "%s/qemu.log", r->dir);
        snprintf(to, sizeof(to), "%s/qemu-before-cut-%d.log", r->dir, r->power_cuts);
        rename(from, to);
    }
    /* the scenario's own boot options (memory, CPUs, command line) again */
    rc = gr_boot_vm(r, r->s->nsteps && r->s->steps[0].type == GS_STEP_BOOT ?
                    &r->s->steps[0] : NULL, NULL);
    if (rc == 0) {
        gr_log(r, "power_cut: booted again on the same disks");
    } else {
        gr_log(r, "power_cut: the second boot failed (%s)", r->vm ?
               gvm_describe_exit(r->vm, how, sizeof(how)) : "no VM");
    }
    return rc;
}
