/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Steps of the machine's power: suspend (real S3 with QMP system_wakeup, or
 * /sys/power/pm_test levels, for a number of cycles) and reboot (the
 * kernel's restart path, every driver's shutdown callback, then the end of
 * the VM).
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

int gr_step_suspend(Run *r, const GsStep *st)
{
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
        /* Real S3: the write blocks until resume, so run it in the
         * background, wake the machine when it is down, then collect it. */
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
                return gr_vm_trouble(r, GR_FAIL_STEP, "suspend: cannot start: %s",
                                  ga_last_error(r->vm->agent));
            }
            rc = gq_wait_event(r->vm->qmp, "SUSPEND", 60000, &ev);
            json_object_put(ev);
            if (rc != GQ_OK) {
                rc = ga_wait(r->vm->agent, id, 1000, &res);
                if (rc == GA_OK) {
                    rc = gr_fail(r, GR_FAIL, GR_FAIL_STEP, "suspend: the guest did not "
                               "suspend: 'echo mem > /sys/power/state' exited "
                               "%d: %s", gr_exit_status(&res), gr_tail(res.err, 250));
                    ga_result_free(&res);
                    return rc;
                }
                ga_kill(r->vm->agent, id, SIGKILL);
                return gr_vm_trouble(r, GR_FAIL_HANG, "suspend: the guest did not reach S3 "
                                  "within 60 s (no SUSPEND event; a driver's "
                                  "suspend blocked?)");
            }
            usleep(100000);
            rep = gq_execute(r->vm->qmp, "system_wakeup", NULL, 10000);
            rc = rep->rc;
            gq_reply_free(rep);
            if (rc != GQ_OK) {
                return gr_fail(r, GR_ERROR, GR_FAIL_ERROR, "system_wakeup: %s",
                             gq_error(r->vm->qmp));
            }
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
        }
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
        if (r->dev[i].present && gr_harvest(r, &r->dev[i], true) < 0) {
            return -1;
        }
    }
    if (ga_start(r->vm->agent, "sync; reboot -f", 10000, &id) != GA_OK) {
        return gr_vm_trouble(r, GR_FAIL_STEP, "reboot: %s",
                             ga_last_error(r->vm->agent));
    }
    while (gvm_running(r->vm) && gvm_now() < end) {
        usleep(50000);
    }
    if (!gvm_running(r->vm) && gr_console_has(r, "reboot: Restarting system")) {
        r->vm_ended = true;
        gr_log(r, "reboot: the guest restarted (%s) %.1f s after the command",
               gvm_describe_exit(r->vm, how, sizeof(how)),
               st->u.reboot.timeout - (end - gvm_now()));
        return 0;
    }
    tail = gvm_file_tail(r->vm->console, 1500);
    if (gvm_running(r->vm)) {
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
