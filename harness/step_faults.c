/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Steps that arm faults: faults (the device's fault engine over QMP) and
 * kfault (the guest kernel's failslab, fail_page_alloc, fail_function).
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

/* The step's rule text with the values captured so far: 0 and a malloc'd
 * text, or -1 after recording a step failure. */
static int faults_text(Run *r, const GsStep *st, char **text)
{
    char err[512];
    int n;

    if (!st->u.faults.captures) {
        *text = strdup(st->u.faults.rules);
        return 0;
    }
    if (gs_expand(st->u.faults.rules, gr_captured, r, text, err, sizeof(err))) {
        return gr_fail(r, GR_FAIL, GR_FAIL_STEP, "'%s': %s",
                       st->u.faults.rules, err);
    }
    n = gs_count_rules(*text);
    if (n != st->u.faults.nrules) {
        gr_fail(r, GR_FAIL, GR_FAIL_STEP, "'%s' is %d rule(s) with its "
                "captured values, %d as written: '%s'", st->u.faults.rules, n,
                st->u.faults.nrules, *text);
        free(*text);
        *text = NULL;
        return -1;
    }
    gr_log(r, "faults: '%s' with its captured values: '%s'", st->u.faults.rules,
           *text);
    return 0;
}

int gr_step_faults(Run *r, const GsStep *st)
{
    Device *d = &r->dev[0];
    char *text = NULL;
    const char *prop = st->u.faults.op == GS_FAULTS_ADD ? r->t->fault_add :
                       r->t->fault_set;
    int rc;

    if (!d->present) {
        return gr_fail(r, GR_FAIL, GR_FAIL_STEP, "faults: device %s is not present", d->id);
    }
    if (st->u.faults.op != GS_FAULTS_CLEAR && faults_text(r, st, &text) < 0) {
        return -1;
    }
    if (st->u.faults.op != GS_FAULTS_ADD) {
        gr_harvest(r, d, true);
    }
    if (st->u.faults.op == GS_FAULTS_CLEAR) {
        text = strdup("");
    }
    rc = gr_set_faults(r, d, prop, text);
    if (rc != GQ_OK) {
        rc = gr_fail(r, GR_FAIL, GR_FAIL_STEP, "'%s': %s", text,
                     gq_error(r->vm->qmp));
        free(text);
        return rc;
    }
    if (st->u.faults.captures) {
        gr_note_rule_text(r, text, st->u.faults.first_rule, st->u.faults.nrules);
    }
    free(text);
    for (int i = 0; i < st->u.faults.nrules && d->nlive < MAX_RULES_LIVE; i++) {
        d->live[d->nlive++] = st->u.faults.first_rule + i;
    }
    return 0;
}

int gr_step_kfault(Run *r, const GsStep *st)
{
    static const char *const dirs[] = {
        "failslab", "fail_page_alloc", "fail_function"
    };
    static const char *const cfgs[] = {
        "CONFIG_FAILSLAB", "CONFIG_FAIL_PAGE_ALLOC", "CONFIG_FAIL_FUNCTION"
    };
    const char *dir = dirs[st->u.kfault.type];
    char cmd[2048], probe[256], fnret[256] = "";
    int ok;

    snprintf(probe, sizeof(probe), "test -d /sys/kernel/debug/%s", dir);
    ok = gr_guest_ok(r, probe, 10);
    if (ok < 0) {
        return -1;
    }
    if (!ok) {
        if (st->u.kfault.require) {
            return gr_fail(r, GR_FAIL, GR_FAIL_STEP, "kfault %s: the guest kernel has no "
                         "/sys/kernel/debug/%s (%s)", dir, dir, cfgs[st->u.kfault.type]);
        }
        return gr_fail(r, GR_SKIP, GR_FAIL_SKIP, "kfault %s: the guest kernel has no "
                     "/sys/kernel/debug/%s (%s; use kernel: debug)", dir, dir,
                     cfgs[st->u.kfault.type]);
    }
    /* fail_function makes the function return -ENOMEM (its default,
     * -EINVAL, is no allocation failure) */
    if (st->u.kfault.function) {
        snprintf(fnret, sizeof(fnret), "echo 0xfffffffffffffff4 > $d/%s/retval; ",
                 st->u.kfault.function);
    }
    /* Scoped: task-filter limits failures to tasks with make-it-fail, which
     * the harness sets only on the commands it runs for the scenario. */
    snprintf(cmd, sizeof(cmd),
             "set -e; d=/sys/kernel/debug/%s; "
             "%s%s%s%s"
             "echo %s > $d/task-filter; echo 2 > $d/verbose; "
             "echo 1000 > $d/verbose_ratelimit_interval_ms; "
             "echo 5 > $d/verbose_ratelimit_burst; "
             "[ -e $d/ignore-gfp-wait ] && echo N > $d/ignore-gfp-wait; "
             "[ -e $d/ignore-gfp-highmem ] && echo N > $d/ignore-gfp-highmem; "
             "[ -e $d/min-order ] && echo 0 > $d/min-order; "
             "echo %" PRId64 " > $d/interval; echo %" PRId64 " > $d/times; "
             "echo %" PRId64 " > $d/space; echo %" PRId64 " > $d/probability",
             dir,
             st->u.kfault.function ? "echo > $d/inject; echo " : "",
             st->u.kfault.function ? st->u.kfault.function : "",
             st->u.kfault.function ? " > $d/inject; " : "",
             fnret,
             /* fail_function's kprobe is an int3 trap: its handler runs in
              * NMI-like context, where in_task() is false and the task
              * filter would never match.  The function is the scope. */
             st->u.kfault.function ? "N" : "Y",
             st->u.kfault.interval, st->u.kfault.times, st->u.kfault.space,
             st->u.kfault.probability);
    ok = gr_guest_ok(r, cmd, 30);
    if (ok <= 0) {
        return ok < 0 ? -1 : gr_fail(r, GR_FAIL, GR_FAIL_STEP, "kfault %s: arming failed "
                                   "(function not injectable?)", dir);
    }
    r->kfault_armed = true;
    for (int i = 0; i < r->nkfault; i++) {
        if (!strcmp(r->kfault_dirs[i], dir)) {
            return 0;           /* re-armed: counted from the first arming */
        }
    }
    if (r->nkfault < 4) {
        struct stat sb;

        r->kfault_from[r->nkfault] = stat(r->vm->console, &sb) ? 0 : sb.st_size;
        snprintf(r->kfault_dirs[r->nkfault++], sizeof(r->kfault_dirs[0]), "%s", dir);
    }
    return 0;
}
