/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Gauntlet scenario execution (run.h): one scenario, one VM, one artifact
 * folder.
 *
 * A run boots one VM, performs the scenario's steps, then judges it with
 * the verdicts every scenario gets whatever it says (docs/scenarios.md,
 * "Verdicts").  The first failing step ends the steps; the verdicts still
 * run on whatever state is left, so a failure always leaves its logs.
 *
 * This file: the outcome of a run (first failure, its kind and step), the
 * VM's health, guest commands, the step loop and its table of executors
 * (one step_*.c file per kind of step), the checks made before any VM
 * starts (gr_validate) and result.json.
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
#include "fault_log.h"
#include "guestfiles.h"
#include "judge.h"
#include "qmp.h"
#include "verdict.h"

const char *gr_status_name(GrStatus st)
{
    static const char *const n[] = { "pass", "fail", "skip", "error" };

    return st <= GR_ERROR ? n[st] : "?";
}

const char *gr_fail_kind_name(GrFailKind k)
{
    static const char *const n[GR_FAIL__MAX] = {
        [GR_FAIL_NONE] = "", [GR_FAIL_STEP] = "step",
        [GR_FAIL_VERDICT] = "verdict", [GR_FAIL_BOOT] = "boot",
        [GR_FAIL_HANG] = "hang", [GR_FAIL_PANIC] = "panic",
        [GR_FAIL_QEMU_EXIT] = "qemu-exit", [GR_FAIL_TIMEOUT] = "timeout",
        [GR_FAIL_INTEGRITY] = "integrity", [GR_FAIL_SNAPSHOT] = "snapshot",
        [GR_FAIL_SKIP] = "skip", [GR_FAIL_ERROR] = "error",
    };

    return k < GR_FAIL__MAX ? n[k] : "?";
}

void gr_log(Run *r, const char *fmt, ...)
{
    va_list ap;

    if (!r->steps_log) {
        return;
    }
    fprintf(r->steps_log, "[%8.3f] ", gvm_now() - r->t0);
    va_start(ap, fmt);
    vfprintf(r->steps_log, fmt, ap);
    va_end(ap);
    fputc('\n', r->steps_log);
    fflush(r->steps_log);
}

void gr_one_line(char *s)
{
    for (char *p = s; *p; p++) {
        if (*p == '\n' || *p == '\r' || *p == '\t') {
            *p = ' ';
        }
    }
}

/* The first failure wins; later ones only go to the step log.  The
 * reason is one line (a console tail in it is flattened). */
int gr_fail(Run *r, GrStatus st, GrFailKind kind, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    gr_log(r, "%s: %s", gr_status_name(st), msg);
    if (r->status == GR_PASS) {
        r->status = st;
        r->kind = kind;
        snprintf(r->reason, sizeof(r->reason), "%s", msg);
        gr_one_line(r->reason);
    }
    return -1;
}

const char *gr_tail(const char *s, size_t n)
{
    size_t l = s ? strlen(s) : 0;

    return l > n ? s + l - n : (s ? s : "");
}

void gr_verdict(Run *r, const char *name, GrStatus st,
                        const char *fmt, ...)
{
    Verdict *v;
    va_list ap;

    if (r->nverdicts >= (int)(sizeof(r->verdicts) / sizeof(r->verdicts[0]))) {
        return;
    }
    v = &r->verdicts[r->nverdicts++];
    snprintf(v->name, sizeof(v->name), "%s", name);
    v->status = st;
    va_start(ap, fmt);
    vsnprintf(v->detail, sizeof(v->detail), fmt, ap);
    va_end(ap);
    gr_one_line(v->detail);
    gr_log(r, "verdict %s: %s: %s", name, gr_status_name(st), v->detail);
}

/* ---- VM liveness ---------------------------------------------------------- */

bool gr_console_has(Run *r, const char *needle)
{
    char *log = r->vm ? gvm_file_tail(r->vm->console, 1 << 20) : NULL;
    bool yes = log && strstr(log, needle);

    free(log);
    return yes;
}

/*
 * After an agent or QMP failure, find out why and record it: QEMU gone
 * (panic?), a guest that no longer answers (hang), or, when the guest is
 * fine, the caller's own failure of the given kind (GR_FAIL_NONE: none, only the
 * VM's death is recorded).  Returns -1.
 */
int gr_vm_trouble(Run *r, GrFailKind kind, const char *fmt, ...)
{
    char how[64], what[1024], *tail;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (!r->vm) {
        return gr_fail(r, GR_ERROR, GR_FAIL_ERROR, "%s: no VM", what);
    }
    if (!gvm_ended(r->vm)) {
        double rtt;

        if (ga_ping(r->vm->agent, 5000, &rtt) == GA_OK) {
            /* the guest answers: the caller's failure stands */
            return kind != GR_FAIL_NONE ? gr_fail(r, GR_FAIL, kind, "%s", what) : -1;
        }
        /* A panicking guest resets the machine (panic=-1) a moment after
         * the agent's link drops, and QEMU stops (gvm_ended): give it that
         * moment. */
        for (double end = gvm_now() + 3; !gvm_ended(r->vm) && gvm_now() < end;) {
            usleep(50000);
        }
    }
    tail = gvm_file_tail(r->vm->console, 1500);
    if (gr_console_has(r, "Kernel panic")) {
        gr_fail(r, GR_FAIL, GR_FAIL_PANIC, "%s: guest kernel panic (QEMU %s); console "
              "tail: %s", what, gvm_describe_exit(r->vm, how, sizeof(how)),
              gr_tail(tail, 600));
    } else if (gvm_ended(r->vm)) {
        gr_fail(r, GR_FAIL, GR_FAIL_QEMU_EXIT, "%s: QEMU exited (%s); console tail: %s",
              what, gvm_describe_exit(r->vm, how, sizeof(how)), gr_tail(tail, 600));
    } else {
        gr_fail(r, GR_FAIL, GR_FAIL_HANG, "%s: guest hung (agent does not answer a "
              "ping in 5 s); console tail: %s", what, gr_tail(tail, 600));
    }
    free(tail);
    return -1;
}

bool gr_vm_dead(Run *r)
{
    return r->kind == GR_FAIL_HANG || r->kind == GR_FAIL_PANIC ||
           r->kind == GR_FAIL_QEMU_EXIT || r->kind == GR_FAIL_TIMEOUT;
}

/* ---- guest commands ------------------------------------------------------- */

const char *const *gr_guest_env(Run *r)
{
    static char dev[512], stress[1024], ioread[1024], stats[512], target[128];
    static char seed[48];
    static const char *env[9];

    snprintf(dev, sizeof(dev), "GAUNTLET_DEV=%s", r->t->env_dev);
    snprintf(stress, sizeof(stress), "GAUNTLET_STRESS=%s", r->t->env_stress);
    snprintf(ioread, sizeof(ioread), "GAUNTLET_IO_READ=%s", r->t->env_io_read);
    snprintf(stats, sizeof(stats), "GAUNTLET_STATS=%s", r->t->stats);
    snprintf(target, sizeof(target), "GAUNTLET_TARGET=%s", r->t->name);
    snprintf(seed, sizeof(seed), "GAUNTLET_SEED=%" PRIu64, r->seed);
    env[0] = dev;
    env[1] = stress;
    env[2] = ioread;
    env[3] = stats;
    env[4] = target;
    env[5] = seed;
    /* the verified workloads record their acknowledged writes there */
    env[6] = "GAUNTLET_LEDGER=" GVM_LEDGER_TTY;
    env[7] = NULL;
    return env;
}

/* Commands that run driver code opt in to kernel faults once one is armed
 * (GAUNTLET_MAKE_IT_FAIL): failslab and fail_page_alloc are then scoped to
 * their workers (task-filter), never to the agent, the shell or other
 * tasks. */
char *gr_scoped(Run *r, const char *cmd)
{
    bool alloc = false;
    char *s;

    if (!r->kfault_armed) {
        return strdup(cmd);
    }
    for (int i = 0; i < r->nkfault; i++) {
        alloc |= strcmp(r->kfault_dirs[i], "fail_function") != 0;
    }
    /* A failing allocation in the shell's fork or exec would end the
     * command before it reaches the driver: with failslab or
     * fail_page_alloc armed, the command opts in itself (kestrelctl's
     * workers set /proc/thread-self/make-it-fail once they are ready).
     * fail_function is not task-filtered (do_kfault): nothing to set. */
    if (!alloc) {
        return strdup(cmd);
    }
    if (asprintf(&s, "export GAUNTLET_MAKE_IT_FAIL=1; %s", cmd) < 0) {
        abort();
    }
    return s;
}

/* Output fit for the step log: no control bytes but tab, CR, LF, ESC. */
static bool is_text(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];

        if (ch < 0x20 && ch != '\t' && ch != '\n' && ch != '\r' && ch != 0x1b) {
            return false;
        }
    }
    return true;
}

static void log_result(Run *r, const char *num, const ga_result *res)
{
    char d[256];

    gr_log(r, "  ->%s %s", num, ga_result_describe(res, d, sizeof(d)));
    if (res->out_len && !is_text(res->out, res->out_len)) {
        gr_log(r, "  stdout: %zu bytes of binary data", res->out_len);
    } else if (res->out_len) {
        gr_log(r, "  stdout: %s", gr_tail(res->out, 2000));
    }
    if (res->err_len) {
        gr_log(r, "  stderr: %s", gr_tail(res->err, 2000));
    }
}

/* Run a guest shell command with a deadline (seconds).  Returns 0 when an
 * exit status arrived (in res), -1 after recording a failure. */
int gr_guest(Run *r, const char *cmd, double timeout, ga_result *res)
{
    ga_cmd c = { 0 };
    int rc;

    memset(res, 0, sizeof(*res));
    if (!r->vm) {
        return gr_fail(r, GR_ERROR, GR_FAIL_ERROR, "guest command without a VM: %s", cmd);
    }
    c.shell = cmd;
    c.env = gr_guest_env(r);
    c.timeout_ms = (uint32_t)(timeout * 1000);
    gr_log(r, "guest$ %s", cmd);
    rc = ga_run_cmd(r->vm->agent, &c, (int)(timeout * 1000) + CMD_GRACE_MS, res);
    if (rc != GA_OK) {
        return gr_vm_trouble(r, GR_FAIL_STEP, "guest command '%s': %s", cmd,
                          ga_last_error(r->vm->agent));
    }
    log_result(r, "", res);
    return 0;
}

/* One command of a list on its own: its ready gate polled from the host
 * (gr_wait_ready), then the command. */
static void guest_one(Run *r, GrGuestCmd *g)
{
    g->ran = true;
    if (g->ready && gr_wait_ready(r, (double)r->t->ready_timeout, true) < 0) {
        if (!gr_vm_dead(r) && r->vm) {
            g->not_ready = true;
            g->rc = 0;
        }
        return;
    }
    g->rc = gr_guest(r, g->cmd, g->timeout, &g->res);
}

/* A command as the agent gets it: one of the list's, or the ready check
 * before a gated one (gate_for: its index). */
typedef struct Wire {
    const char *cmd;
    double timeout;
    uint32_t output_limit;
    int index;                  /* in cmds */
    bool gate;                  /* the ready check before cmds[index] */
    uint32_t id;
} Wire;

static bool cancelled(const ga_result *res)
{
    return res->error && !strncmp(res->error, GA_CANCELLED, strlen(GA_CANCELLED));
}

/*
 * cmds[from..n) in one go: queued in the agent one after the other, a
 * gated command (ready) right after one try of the ready check, IF_OK.
 * When that check fails, the agent cancels the gated command and all
 * after it: the host then polls as gr_wait_ready does, runs the gated
 * one, and sends the rest again.
 */
static void guest_list_from(Run *r, GrGuestCmd *cmds, int from, int n,
                            void (*each)(void *opaque, int i), void *opaque)
{
    ga_client *a = r->vm->agent;
    Wire w[2 * GR_GUEST_LIST_MAX];
    int m = 0;
    uint32_t prev = 0;

    for (int i = from; i < n; i++) {
        if (cmds[i].ready) {
            w[m++] = (Wire){ .cmd = r->t->ready, .timeout = READY_CHECK_S,
                             .index = i, .gate = true };
        }
        w[m++] = (Wire){ .cmd = cmds[i].cmd, .timeout = cmds[i].timeout,
                         .output_limit = cmds[i].output_limit, .index = i };
    }
    gr_log(r, "guest: %d commands in one go, queued in the agent one after "
           "the other", m);
    for (int k = 0; k < m; k++) {
        ga_cmd c = { .shell = w[k].cmd, .env = gr_guest_env(r),
                     .timeout_ms = (uint32_t)(w[k].timeout * 1000),
                     .output_limit = w[k].output_limit, .after = prev,
                     .if_ok = k > 0 && w[k - 1].gate };

        gr_log(r, "guest$ %s (%d of %d)", w[k].cmd, k + 1, m);
        /* a failed send leaves id 0: failed below, in its turn */
        if (ga_start_cmd(a, &c, &w[k].id) == GA_OK) {
            prev = w[k].id;
        }
    }
    for (int k = 0; k < m; k++) {
        GrGuestCmd *g = &cmds[w[k].index];
        ga_result res = { 0 }, *rp = w[k].gate ? &res : &g->res;
        char num[32];
        int rc;

        snprintf(num, sizeof(num), " (%d of %d)", k + 1, m);
        if (gr_vm_dead(r)) {
            /* nothing after a dead VM runs; what was sent is forgotten */
            for (; k < m; k++) {
                if (!w[k].gate && each) {
                    each(opaque, w[k].index);
                }
            }
            return;
        }
        if (!w[k].id) {
            g->ran = true;
            g->rc = gr_vm_trouble(r, GR_FAIL_STEP, "guest command '%s': %s",
                                  w[k].cmd, ga_last_error(a));
            if (!w[k].gate && each) {
                each(opaque, w[k].index);
            }
            continue;
        }
        rc = ga_wait_or_kill(a, w[k].id, (int)(w[k].timeout * 1000) + CMD_GRACE_MS,
                             rp);
        if (rc == GA_EAGENT && cancelled(rp)) {
            /* the gate before it failed: it and the rest were cancelled */
            gr_log(r, "  ->%s %s", num, rp->error);
            ga_result_free(rp);
            memset(rp, 0, sizeof(*rp));
            for (int q = k + 1; q < m; q++) {
                ga_result dropped;

                if (w[q].id && ga_wait(a, w[q].id, CMD_GRACE_MS, &dropped) != GA_EAGENT) {
                    gr_log(r, "guest list: command %d of %d was not cancelled",
                           q + 1, m);
                }
                ga_result_free(&dropped);
            }
            guest_one(r, g);
            if (each) {
                each(opaque, w[k].index);
            }
            if (w[k].index + 1 < n && !gr_vm_dead(r)) {
                guest_list_from(r, cmds, w[k].index + 1, n, each, opaque);
            } else {
                for (int i = w[k].index + 1; i < n && each; i++) {
                    each(opaque, i);
                }
            }
            return;
        }
        if (rc != GA_OK) {
            g->ran = true;
            g->rc = gr_vm_trouble(r, GR_FAIL_STEP, "guest command '%s': %s",
                                  w[k].cmd, ga_last_error(a));
        } else {
            log_result(r, num, rp);
            if (!w[k].gate) {
                g->ran = true;
                g->rc = 0;
            }
        }
        if (w[k].gate) {
            ga_result_free(&res);
        } else if (each) {
            each(opaque, w[k].index);
        }
    }
}

/*
 * A list of guest commands in one round trip: all sent at once, queued in
 * the agent one after the other (GA_FEAT_AFTER; an agent without it gets
 * them one at a time), each with its own deadline counted from its own
 * start, its own output and exit status, and gr_guest's failure handling.
 * The host waits for each in turn, at most its deadline plus the grace
 * from the end of the one before.  Once the VM is dead the rest are not
 * waited for (ran stays false, rc -1).  each(opaque, i), if given, sees
 * every command in order as soon as its result is in (or, for those that
 * did not run, at the end); it must not run guest commands itself while
 * later ones may still be queued in the agent.
 */
void gr_guest_list(Run *r, GrGuestCmd *cmds, int n,
                   void (*each)(void *opaque, int i), void *opaque)
{
    ga_client *a = r->vm ? r->vm->agent : NULL;

    for (int i = 0; i < n; i++) {
        memset(&cmds[i].res, 0, sizeof(cmds[i].res));
        cmds[i].rc = -1;
        cmds[i].ran = false;
        cmds[i].not_ready = false;
    }
    if (n > GR_GUEST_LIST_MAX) {
        abort();    /* a caller's bug: JUDGE_MAX_CMDS is below it */
    }
    if (!a && n) {
        gr_fail(r, GR_ERROR, GR_FAIL_ERROR, "guest commands without a VM: %s",
                cmds[0].cmd);
    }
    if (a && (ga_agent_features(a) & GA_FEAT_AFTER) && n > 0) {
        guest_list_from(r, cmds, 0, n, each, opaque);
        return;
    }
    for (int i = 0; i < n; i++) {
        if (a && !gr_vm_dead(r)) {
            guest_one(r, &cmds[i]);
        }
        if (each) {
            each(opaque, i);
        }
    }
}

int gr_exit_status(const ga_result *res)
{
    if (res->exit_kind == GA_EXIT_SIGNAL) {
        return 128 + res->signal;
    }
    return res->exit_code;
}

/* Quick guest command whose exit status is all that matters: 1 ok, 0 not,
 * -1 trouble. */
int gr_guest_ok(Run *r, const char *cmd, double timeout)
{
    ga_result res;
    int ok;

    if (gr_guest(r, cmd, timeout, &res) < 0) {
        ga_result_free(&res);
        return -1;
    }
    ok = ga_result_ok(&res);
    ga_result_free(&res);
    return ok;
}

/*
 * Visit every step in file order, repeat bodies included (once each).
 * fn gets the step and whether it is anything but the first top-level
 * step; the walk stops at, and returns, the first step fn returns true
 * for (NULL when none does).
 */
typedef bool (*StepFn)(const GsStep *st, bool not_first, void *ctx);

const GsStep *gr_walk_steps(const GsStep *steps, size_t n, bool top,
                                StepFn fn, void *ctx)
{
    for (size_t i = 0; i < n; i++) {
        const GsStep *st = &steps[i], *hit;

        if (fn(st, !top || i > 0, ctx)) {
            return st;
        }
        if (st->type == GS_STEP_REPEAT &&
            (hit = gr_walk_steps(st->u.repeat.steps, st->u.repeat.nsteps, false,
                              fn, ctx))) {
            return hit;
        }
    }
    return NULL;
}

int gr_boot(Run *r, const GsStep *st);

static int step_boot(Run *r, const GsStep *st)
{
    return r->vm ? 0 : gr_boot(r, st);
}

static int step_repeat(Run *r, const GsStep *st)
{
    int rc = 0;

    for (int64_t k = 0; k < st->u.repeat.count && rc == 0; k++) {
        gr_log(r, "repeat %" PRId64 "/%" PRId64, k + 1, st->u.repeat.count);
        rc = gr_run_steps(r, st->u.repeat.steps, st->u.repeat.nsteps);
    }
    return rc;
}

/* The executor of every kind of step (scenario.h's GsStepType; the keys
 * and the parse-time checks of each are scenario_steps.c's).  A step that
 * needs the VM boots the default one first when no boot step did. */
static const struct {
    int (*exec)(Run *r, const GsStep *st);
    bool needs_vm;
} step_table[GS_STEP__MAX] = {
    [GS_STEP_BOOT] = { step_boot, false },
    [GS_STEP_LOAD] = { gr_step_load, true },
    [GS_STEP_UNLOAD] = { gr_step_unload, true },
    [GS_STEP_RUN] = { gr_step_run, true },
    [GS_STEP_WORKLOAD] = { gr_step_workload, true },
    [GS_STEP_WORKLOAD_STOP] = { gr_step_workload_stop, true },
    [GS_STEP_FAULTS] = { gr_step_faults, true },
    [GS_STEP_HOTPLUG] = { gr_step_hotplug, true },
    [GS_STEP_SUSPEND] = { gr_step_suspend, true },
    [GS_STEP_KFAULT] = { gr_step_kfault, true },
    [GS_STEP_EXPECT_LOG] = { gr_step_expect_log, true },
    [GS_STEP_FORBID_LOG] = { gr_step_forbid_log, true },
    [GS_STEP_COUNTER] = { gr_step_counter, true },
    [GS_STEP_WAIT] = { gr_step_wait, false },
    [GS_STEP_REPEAT] = { step_repeat, false },
    [GS_STEP_REBOOT] = { gr_step_reboot, true },
    [GS_STEP_POWER_CUT] = { gr_step_power_cut, true },
};

int gr_run_steps(Run *r, const GsStep *steps, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const GsStep *st = &steps[i];
        int rc;

        if (gvm_now() > r->deadline) {
            r->failed_step = st;
            return gr_fail(r, GR_FAIL, GR_FAIL_TIMEOUT, "scenario timeout (%" PRId64
                           " s) reached before step %s at %s:%d:%d",
                           r->s->timeout, gs_step_name(st->type), r->s->file,
                           st->line, st->col);
        }
        if ((unsigned)st->type >= GS_STEP__MAX || !step_table[st->type].exec) {
            r->failed_step = st;
            return gr_fail(r, GR_ERROR, GR_FAIL_ERROR, "step type %d not "
                           "implemented", st->type);
        }
        if (!r->vm && step_table[st->type].needs_vm && gr_boot(r, NULL) < 0) {
            return -1;
        }
        gr_log(r, "step %s at %s:%d:%d", gs_step_name(st->type), r->s->file,
               st->line, st->col);
        rc = step_table[st->type].exec(r, st);
        if (rc < 0) {
            if (r->status == GR_PASS) {
                gr_fail(r, GR_FAIL, GR_FAIL_STEP, "step %s failed", gs_step_name(st->type));
            }
            if (!r->failed_step && st->type != GS_STEP_REPEAT) {
                r->failed_step = st;
            }
            /* add the position to the reason */
            if (!strstr(r->reason, r->s->file)) {
                char tmp[2048];

                snprintf(tmp, sizeof(tmp), "%s:%d:%d: %s: %s", r->s->file,
                         st->line, st->col, gs_step_name(st->type), r->reason);
                snprintf(r->reason, sizeof(r->reason), "%s", tmp);
            }
            return -1;
        }
        if (r->vm && !r->vm_ended && gvm_ended(r->vm)) {
            return gr_vm_trouble(r, GR_FAIL_STEP, "after the step");
        }
        r->steps_done++;
    }
    return 0;
}

/* ---- result ---------------------------------------------------------------------- */

static void write_result(Run *r, double dur)
{
    json_object *o = json_object_new_object(), *vs = json_object_new_array();
    char path[4200];

    json_object_object_add(o, "name", json_object_new_string(r->s->name));
    json_object_object_add(o, "file", json_object_new_string(r->s->file));
    json_object_object_add(o, "description",
                           json_object_new_string(r->s->description));
    json_object_object_add(o, "target", json_object_new_string(r->t->name));
    json_object_object_add(o, "kernel", json_object_new_string(
                               r->s->kernel == GS_KERNEL_DEBUG ? "debug" : "stock"));
    json_object_object_add(o, "kernel_version", json_object_new_string(
                               r->cfg->kernel_version[r->s->kernel] ?
                               r->cfg->kernel_version[r->s->kernel] : ""));
    json_object_object_add(o, "status", json_object_new_string(gr_status_name(r->status)));
    /* "kind": the failed verdict's name, else the kind of failure (the
     * JUnit type attribute); "failure": the same as fields, for tools */
    json_object_object_add(o, "kind", json_object_new_string(
                               r->kind == GR_FAIL_VERDICT && r->failed_verdict >= 0 ?
                               r->verdicts[r->failed_verdict].name :
                               gr_fail_kind_name(r->kind)));
    {
        json_object *f = json_object_new_object();

        json_object_object_add(f, "kind", json_object_new_string(
                                   gr_fail_kind_name(r->kind)));
        json_object_object_add(f, "verdict", r->kind == GR_FAIL_VERDICT &&
                               r->failed_verdict >= 0 ? json_object_new_string(
                                   r->verdicts[r->failed_verdict].name) : NULL);
        if (r->failed_step) {
            json_object *st = json_object_new_object();

            json_object_object_add(st, "type", json_object_new_string(
                                       gs_step_name(r->failed_step->type)));
            json_object_object_add(st, "line", json_object_new_int(r->failed_step->line));
            json_object_object_add(st, "col", json_object_new_int(r->failed_step->col));
            json_object_object_add(f, "step", st);
        } else {
            json_object_object_add(f, "step", NULL);
        }
        json_object_object_add(o, "failure", f);
    }
    json_object_object_add(o, "reason", json_object_new_string(r->reason));
    json_object_object_add(o, "duration_s", json_object_new_double(dur));
    json_object_object_add(o, "steps_done", json_object_new_int(r->steps_done));
    json_object_object_add(o, "start", json_object_new_string(r->start));
    json_object_object_add(o, "ready_s", r->ready_s > 0 ?
                           json_object_new_double(r->ready_s) : NULL);
    if (r->cfg->snapshot) {
        json_object_object_add(o, "snapshot",
                               json_object_new_string(r->snapshot_note));
    }
    json_object_object_add(o, "seed", json_object_new_int64((int64_t)r->seed));
    /* real S3 cycles: QEMU's SUSPEND events and the WAKEUPs that followed */
    json_object_object_add(o, "s3_suspends", json_object_new_int((int)r->s3_suspends));
    json_object_object_add(o, "s3_wakeups", json_object_new_int((int)r->s3_wakeups));
    json_object_object_add(o, "artifacts", json_object_new_string(r->dir));
    for (int i = 0; i < r->nverdicts; i++) {
        json_object *v = json_object_new_object();

        json_object_object_add(v, "name", json_object_new_string(r->verdicts[i].name));
        json_object_object_add(v, "status",
                               json_object_new_string(gr_status_name(r->verdicts[i].status)));
        json_object_object_add(v, "detail", json_object_new_string(r->verdicts[i].detail));
        json_object_array_add(vs, v);
    }
    json_object_object_add(o, "verdicts", vs);
    /* the ledger check's counts (docs/ledger.md), null when none ran */
    json_object_object_add(o, "ledger", r->ledger ? json_object_get(r->ledger) : NULL);
    /* the iommu verdict's counts and fault lines, null without an IOMMU */
    json_object_object_add(o, "iommu", r->iommu ? json_object_get(r->iommu) : NULL);
    /* what the fault engines injected: fault-log.json, its size and newest
     * entries; null when none was read (no fault log, or none in QEMU) */
    json_object_object_add(o, "fault_log", r->fault_log_read ?
                           gfl_summary(r->fault_log, "fault-log.json",
                                       r->fault_log_lost) : NULL);
    snprintf(path, sizeof(path), "%s/result.json", r->dir);
    json_object_to_file_ext(path, o, JSON_C_TO_STRING_PRETTY);
    json_object_put(o);
}

void gr_note_rule_text(Run *r, const char *text, int first, int n)
{
    char *copy, *save, *tok;
    int k = first;

    copy = strdup(text);
    for (tok = strtok_r(copy, ";", &save); tok && k < first + n && k < r->s->nrules;
         tok = strtok_r(NULL, ";", &save)) {
        while (*tok == ' ' || *tok == '\n') {
            tok++;
        }
        if (*tok) {
            free(r->rule_text[k]);
            r->rule_text[k++] = strdup(tok);
        }
    }
    free(copy);
}

/* Split a faults step's text on ';' (the grammar's separator), one text
 * per scenario rule, for faults.json (a text with ${NAME}s: as written,
 * until the step sends it with their values). */
static bool rule_text(const GsStep *st, bool not_first, void *ctx)
{
    Run *r = ctx;

    if (st->type != GS_STEP_FAULTS || !st->u.faults.nrules) {
        return false;
    }
    gr_note_rule_text(r, st->u.faults.rules, st->u.faults.first_rule,
                      st->u.faults.nrules);
    return false;
}

static bool is_faults(const GsStep *st, bool not_first, void *ctx)
{
    return st->type == GS_STEP_FAULTS;
}

static bool is_late_boot(const GsStep *st, bool not_first, void *ctx)
{
    return st->type == GS_STEP_BOOT && not_first;
}

/* A step that ends the VM for good (a reboot, a power cut that does not
 * boot again) anywhere but as the scenario's last step. */
static bool is_early_reboot(const GsStep *st, bool not_first, void *ctx)
{
    const GsScenario *s = ctx;

    bool ends = st->type == GS_STEP_REBOOT ||
                (st->type == GS_STEP_POWER_CUT && !st->u.power_cut.boot_again);

    return ends && st != &s->steps[s->nsteps - 1];
}

/* A power cut the device's fault engine must make. */
static bool is_device_cut(const GsStep *st, bool not_first, void *ctx)
{
    return st->type == GS_STEP_POWER_CUT && st->u.power_cut.at == GS_CUT_DEVICE;
}

/* A hotplug step naming a device that found no root port. */
static bool is_portless_hotplug(const GsStep *st, bool not_first, void *ctx)
{
    return st->type == GS_STEP_HOTPLUG && !gr_find_dev(ctx, st->u.hotplug.device);
}

/* Every faults step's rules through the target's checker: the first one
 * refused or unusable stops the walk with its message in the context. */
typedef struct RuleCheck {
    const GsScenario *s;
    const GtTarget *t;
    const GrConfig *cfg;
    char *err;
    size_t errlen;
} RuleCheck;

static bool rules_refused(const GsStep *st, bool not_first, void *ctx)
{
    RuleCheck *c = ctx;
    char msg[1024];
    int n, rc;

    if (st->type != GS_STEP_FAULTS || st->u.faults.op == GS_FAULTS_CLEAR) {
        return false;
    }
    /* a ${NAME} is checked as GS_CAPTURE_PLACEHOLDER: the step checks the
     * text with its values again when it runs */
    rc = gt_check_rules(c->t, c->cfg->build, st->u.faults.check_text, &n, msg,
                        sizeof(msg));
    if (rc > 0) {
        gs_rule_error(c->s, st, msg, c->err, c->errlen);
        return true;
    }
    if (rc < 0) {
        snprintf(c->err, c->errlen, "%s:%d:%d: %s", c->s->file, st->line,
                 st->col, msg);
        return true;
    }
    if (n >= 0 && n != st->u.faults.nrules) {
        snprintf(c->err, c->errlen, "%s:%d:%d: the fault checker of target '%s' "
                 "counts %d rule(s) where the scenario has %d (rules are "
                 "separated by ';')", c->s->file, st->line, st->col, c->t->name,
                 n, st->u.faults.nrules);
        return true;
    }
    return false;
}

int gr_validate(const GsScenario *s, const GtTarget *t, const GrConfig *cfg,
                char *err, size_t errlen)
{
    Run r = { 0 };
    const GsStep *st;
    RuleCheck rc = { s, t, cfg, err, errlen };

    if ((st = gr_walk_steps(s->steps, s->nsteps, true, is_faults, NULL)) &&
        !gt_has_faults(t)) {
        snprintf(err, errlen, "%s:%d:%d: step 'faults' needs a device fault "
                 "engine, and target '%s' has none", s->file, st->line, st->col,
                 t->name);
        return -1;
    }
    if (gr_walk_steps(s->steps, s->nsteps, true, rules_refused, &rc)) {
        return -1;
    }
    if ((st = gr_walk_steps(s->steps, s->nsteps, true, is_early_reboot, (void *)s))) {
        snprintf(err, errlen, "%s:%d:%d: '%s' must be the last step, outside "
                 "any repeat (the VM ends with it%s)", s->file, st->line, st->col,
                 gs_step_name(st->type), st->type == GS_STEP_POWER_CUT ?
                 "; 'boot_again: true' goes on in a new VM" : "");
        return -1;
    }
    if ((st = gr_walk_steps(s->steps, s->nsteps, true, is_device_cut, NULL)) &&
        !gt_has_faults(t)) {
        snprintf(err, errlen, "%s:%d:%d: 'power_cut' at 'device' needs a device "
                 "fault engine (a rule's power-cut action), and target '%s' has "
                 "none", s->file, st->line, st->col, t->name);
        return -1;
    }
    for (size_t i = 0; i < s->nexpect_fail; i++) {
        if (!gr_verdict_known(s->expect_fail[i])) {
            snprintf(err, errlen, "%s: 'expect_fail': no verdict is named '%s'",
                     s->file, s->expect_fail[i]);
            return -1;
        }
    }
    if (s->write_cache && !t->write_cache[0]) {
        snprintf(err, errlen, "%s: 'write_cache: true', but target '%s' names no "
                 "device argument that turns a volatile write cache on "
                 "(write_cache in its target.yaml)", s->file, t->name);
        return -1;
    }
    r.s = s;
    r.t = t;
    if (strcmp(gr_iommu(&r), "intel") &&
        !gr_iommu_expect_ok(s->iommu_faults_op, 0, s->iommu_faults_value)) {
        snprintf(err, errlen, "%s: 'iommu_faults' expects DMA faults, but the "
                 "guest has no IOMMU (target '%s' has iommu: %s; the "
                 "scenario's 'iommu: intel' would give it one)", s->file,
                 t->name, t->iommu);
        return -1;
    }
    if ((st = gr_walk_steps(s->steps, s->nsteps, true, is_late_boot, NULL))) {
        snprintf(err, errlen, "%s:%d:%d: 'boot' may only be the first step "
                 "(it starts the VM)", s->file, st->line, st->col);
        return -1;
    }
    r.s = s;
    r.t = t;
    gr_collect_devices(&r);
    if ((st = gr_walk_steps(s->steps, s->nsteps, true, is_portless_hotplug, &r))) {
        snprintf(err, errlen, "%s:%d:%d: at most %d devices (one per PCIe root "
                 "port)", s->file, st->line, st->col, MAX_DEVICES);
        return -1;
    }
    return 0;
}

GrStatus gr_run_scenario(const GrConfig *cfg, const GsScenario *s,
                         const GtTarget *t, const char *dir)
{
    Run r = { 0 };
    char path[4200];
    double dur;

    r.cfg = cfg;
    r.s = s;
    r.t = t;
    r.failed_verdict = -1;
    r.t0 = gvm_now();
    r.deadline = r.t0 + (double)s->timeout;
    r.seed = cfg->seed;
    snprintf(r.dir, sizeof(r.dir), "%s", dir);
    mkdir(dir, 0755);
    /* kept across the VMs of this run (a power cut's second boot) only */
    snprintf(r.ledger_path, sizeof(r.ledger_path), "%s/ledger.log", dir);
    unlink(r.ledger_path);
    snprintf(path, sizeof(path), "%s/steps.log", dir);
    r.steps_log = fopen(path, "w");
    snprintf(path, sizeof(path), "%s/qmp-transcript.txt", dir);
    r.qmp_tx = fopen(path, "w");
    snprintf(path, sizeof(path), "%s/agent-transcript.txt", dir);
    r.agent_tx = fopen(path, "w");
    r.fired = calloc((size_t)s->nrules + 1, sizeof(*r.fired));
    r.hits = calloc((size_t)s->nrules + 1, sizeof(*r.hits));
    r.rule_text = calloc((size_t)s->nrules + 1, sizeof(*r.rule_text));
    gr_walk_steps(s->steps, s->nsteps, true, rule_text, &r);
    gr_collect_devices(&r);
    gr_log(&r, "scenario %s (%s), target %s, kernel %s, seed %" PRIu64,
          s->name, s->file, t->name, s->kernel == GS_KERNEL_DEBUG ? "debug" :
          "stock", r.seed);

    if (cfg->shell) {
        /* the scenario's devices and boot options, a shell instead of steps */
        const GsStep *b = s->nsteps && s->steps[0].type == GS_STEP_BOOT ?
                          &s->steps[0] : NULL;

        gr_boot(&r, b);
        fprintf(stderr, "gauntlet shell: %s\n", r.reason);
        return GR_ERROR;
    }
    r.start = "cold";
    {
        int done = cfg->snapshot ? gr_snapshot_start(&r) : 0;

        if (done >= 0) {
            gr_run_steps(&r, s->steps + done, s->nsteps - (size_t)done);
        }
    }
    gr_judge(&r);
    if (r.vm) {
        gvm_stop(r.vm, 5000);
    }
    gr_write_fault_log(&r);
    dur = gvm_now() - r.t0;
    gr_log(&r, "result: %s%s%s (%.1f s)", gr_status_name(r.status),
          r.reason[0] ? ": " : "", r.reason, dur);
    write_result(&r, dur);
    for (int k = 0; k < s->nrules; k++) {
        free(r.rule_text[k]);
    }
    free(r.rule_text);
    free(r.fired);
    free(r.hits);
    json_object_put(r.ledger);
    json_object_put(r.iommu);
    json_object_put(r.fault_log);
    if (r.steps_log) {
        fclose(r.steps_log);
    }
    if (r.qmp_tx) {
        fclose(r.qmp_tx);
    }
    if (r.agent_tx) {
        fclose(r.agent_tx);
    }
    return r.status;
}
