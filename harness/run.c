/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Gauntlet scenario execution (run.h).
 *
 * A run boots one VM, performs the scenario's steps, then judges it with
 * the verdicts every scenario gets whatever it says (docs/scenarios.md,
 * "Verdicts").  The first failing step ends the steps; the verdicts still
 * run on whatever state is left, so a failure always leaves its logs.
 */
#define _GNU_SOURCE
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <math.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent_client.h"
#include "agent_proto.h"
#include "guestfiles.h"
#include "qmp.h"
#include "verdict.h"
#include "vm.h"

#define MAX_DEVICES     GVM_ROOT_PORTS
#define MAX_RULES_LIVE  64
#define MAX_WORKLOADS   32
#define MAX_FORBID      64
#define CMD_GRACE_MS    30000   /* host bound = guest deadline + this */

typedef struct Device {
    char id[GS_MAX_NAME + 1];
    char backing[4096];
    bool present;
    bool hotplugged;            /* a hotplug step names it */
    int live[MAX_RULES_LIVE];   /* scenario rule index of each device rule */
    int nlive;
} Device;

typedef struct Workload {
    const char *name;
    uint32_t id;
    bool running;
} Workload;

typedef struct Verdict {
    char name[32];
    GrStatus status;
    char detail[1024];
} Verdict;

typedef struct Run {
    const GrConfig *cfg;
    const GsScenario *s;
    const GtTarget *t;
    char dir[4096];
    Gvm *vm;
    FILE *qmp_tx, *agent_tx, *steps_log;
    Device dev[MAX_DEVICES];
    int ndev;
    uint64_t *fired;            /* per scenario rule: harvested fire counts */
    char **rule_text;
    Workload wl[MAX_WORKLOADS];
    int nwl;
    struct { regex_t re; const char *pattern; long from; int line; } forbid[MAX_FORBID];
    int nforbid;
    long log_consumed;          /* console offset consumed by expect_log */
    bool module_loaded;
    bool kfault_armed;
    char kfault_dirs[4][64];
    long kfault_from[4];        /* console offset when each was armed */
    int nkfault;
    bool integrity_written;
    uint64_t seed;
    /* outcome */
    GrStatus status;
    char reason[2048];
    const char *kind;           /* "step", "hang", "panic", "verdict", ... */
    Verdict verdicts[16];
    int nverdicts;
    int steps_done;
    double t0;
    double deadline;            /* the scenario's own timeout */
    const char *start;          /* "cold" or "snapshot" */
    double ready_s;             /* QEMU start to driver ready (0: never) */
    char snapshot_note[1024];   /* what --snapshot did, for result.json */
} Run;

const char *gr_status_name(GrStatus st)
{
    static const char *const n[] = { "pass", "fail", "skip", "error" };

    return st <= GR_ERROR ? n[st] : "?";
}

static void logf_(Run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(Run *r, const char *fmt, ...)
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

static void one_line(char *s)
{
    for (char *p = s; *p; p++) {
        if (*p == '\n' || *p == '\r' || *p == '\t') {
            *p = ' ';
        }
    }
}

/* The first failure wins; later ones only go to the step log.  The
 * reason is one line (a console tail in it is flattened). */
static int fail_(Run *r, GrStatus st, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail_(Run *r, GrStatus st, const char *kind, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    logf_(r, "%s: %s", gr_status_name(st), msg);
    if (r->status == GR_PASS) {
        r->status = st;
        r->kind = kind;
        snprintf(r->reason, sizeof(r->reason), "%s", msg);
        one_line(r->reason);
    }
    return -1;
}

static const char *tail_of(const char *s, size_t n)
{
    size_t l = s ? strlen(s) : 0;

    return l > n ? s + l - n : (s ? s : "");
}

static void add_verdict(Run *r, const char *name, GrStatus st,
                        const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void add_verdict(Run *r, const char *name, GrStatus st,
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
    one_line(v->detail);
    logf_(r, "verdict %s: %s: %s", name, gr_status_name(st), v->detail);
}

/* ---- VM liveness ---------------------------------------------------------- */

static bool console_has(Run *r, const char *needle)
{
    char *log = r->vm ? gvm_file_tail(r->vm->console, 1 << 20) : NULL;
    bool yes = log && strstr(log, needle);

    free(log);
    return yes;
}

/*
 * After an agent or QMP failure, find out why and record it: QEMU gone
 * (panic?), a guest that no longer answers (hang), or, when the guest is
 * fine, the caller's own failure of the given kind (NULL: none, only the
 * VM's death is recorded).  Returns -1.
 */
static int vm_trouble(Run *r, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int vm_trouble(Run *r, const char *kind, const char *fmt, ...)
{
    char how[64], what[1024], *tail;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (!r->vm) {
        return fail_(r, GR_ERROR, "error", "%s: no VM", what);
    }
    if (gvm_running(r->vm)) {
        double rtt;

        if (ga_ping(r->vm->agent, 5000, &rtt) == GA_OK) {
            /* the guest answers: the caller's failure stands */
            return kind ? fail_(r, GR_FAIL, kind, "%s", what) : -1;
        }
        /* A panicking guest's QEMU exits (panic=-1, -no-reboot) a moment
         * after the agent's link drops: give it that moment. */
        for (double end = gvm_now() + 3; gvm_running(r->vm) && gvm_now() < end;) {
            usleep(50000);
        }
    }
    tail = gvm_file_tail(r->vm->console, 1500);
    if (console_has(r, "Kernel panic")) {
        fail_(r, GR_FAIL, "panic", "%s: guest kernel panic (QEMU %s); console "
              "tail: %s", what, gvm_describe_exit(r->vm, how, sizeof(how)),
              tail_of(tail, 600));
    } else if (!gvm_running(r->vm)) {
        fail_(r, GR_FAIL, "qemu-exit", "%s: QEMU exited (%s); console tail: %s",
              what, gvm_describe_exit(r->vm, how, sizeof(how)), tail_of(tail, 600));
    } else {
        fail_(r, GR_FAIL, "hang", "%s: guest hung (agent does not answer a "
              "ping in 5 s); console tail: %s", what, tail_of(tail, 600));
    }
    free(tail);
    return -1;
}

static bool vm_dead(Run *r)
{
    return r->kind && (!strcmp(r->kind, "hang") || !strcmp(r->kind, "panic") ||
                       !strcmp(r->kind, "qemu-exit") || !strcmp(r->kind, "timeout"));
}

/* ---- guest commands ------------------------------------------------------- */

static const char *const *guest_env(Run *r)
{
    static char dev[512], stress[1024], ioread[1024], stats[512], target[128];
    static char seed[48];
    static const char *env[8];

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
    env[6] = NULL;
    return env;
}

/* Commands that run driver code opt in to kernel faults once one is armed
 * (GAUNTLET_MAKE_IT_FAIL): failslab and fail_page_alloc are then scoped to
 * their workers (task-filter), never to the agent, the shell or other
 * tasks. */
static char *scoped(Run *r, const char *cmd)
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

/* Run a guest shell command with a deadline (seconds).  Returns 0 when an
 * exit status arrived (in res), -1 after recording a failure. */
static int guest(Run *r, const char *cmd, double timeout, ga_result *res)
{
    ga_cmd c = { 0 };
    int rc;

    memset(res, 0, sizeof(*res));
    if (!r->vm) {
        return fail_(r, GR_ERROR, "error", "guest command without a VM: %s", cmd);
    }
    c.shell = cmd;
    c.env = guest_env(r);
    c.timeout_ms = (uint32_t)(timeout * 1000);
    logf_(r, "guest$ %s", cmd);
    rc = ga_run_cmd(r->vm->agent, &c, (int)(timeout * 1000) + CMD_GRACE_MS, res);
    if (rc != GA_OK) {
        return vm_trouble(r, "step", "guest command '%s': %s", cmd,
                          ga_last_error(r->vm->agent));
    }
    {
        char d[256];

        logf_(r, "  -> %s", ga_result_describe(res, d, sizeof(d)));
        if (res->out_len) {
            logf_(r, "  stdout: %s", tail_of(res->out, 2000));
        }
        if (res->err_len) {
            logf_(r, "  stderr: %s", tail_of(res->err, 2000));
        }
    }
    return 0;
}

static int exit_status(const ga_result *res)
{
    if (res->exit_kind == GA_EXIT_SIGNAL) {
        return 128 + res->signal;
    }
    return res->exit_code;
}

/* Quick guest command whose exit status is all that matters: 1 ok, 0 not,
 * -1 trouble. */
static int guest_ok(Run *r, const char *cmd, double timeout)
{
    ga_result res;
    int ok;

    if (guest(r, cmd, timeout, &res) < 0) {
        ga_result_free(&res);
        return -1;
    }
    ok = ga_result_ok(&res);
    ga_result_free(&res);
    return ok;
}

/* ---- devices and the fault engine ------------------------------------------ */

static Device *find_dev(Run *r, const char *id)
{
    for (int i = 0; i < r->ndev; i++) {
        if (!strcmp(r->dev[i].id, id)) {
            return &r->dev[i];
        }
    }
    return NULL;
}

static Device *add_dev(Run *r, const char *id)
{
    Device *d = find_dev(r, id);

    if (d || r->ndev >= MAX_DEVICES) {
        return d;
    }
    d = &r->dev[r->ndev++];
    snprintf(d->id, sizeof(d->id), "%s", id);
    snprintf(d->backing, sizeof(d->backing), "%s/disk-%s.img", r->dir, id);
    d->present = true;
    return d;
}

/*
 * Visit every step in file order, repeat bodies included (once each).
 * fn gets the step and whether it is anything but the first top-level
 * step; the walk stops at, and returns, the first step fn returns true
 * for (NULL when none does).
 */
typedef bool (*StepFn)(const GsStep *st, bool not_first, void *ctx);

static const GsStep *walk_steps(const GsStep *steps, size_t n, bool top,
                                StepFn fn, void *ctx)
{
    for (size_t i = 0; i < n; i++) {
        const GsStep *st = &steps[i], *hit;

        if (fn(st, !top || i > 0, ctx)) {
            return st;
        }
        if (st->type == GS_STEP_REPEAT &&
            (hit = walk_steps(st->u.repeat.steps, st->u.repeat.nsteps, false,
                              fn, ctx))) {
            return hit;
        }
    }
    return NULL;
}

static bool collect_device(const GsStep *st, bool not_first, void *ctx)
{
    Run *r = ctx;
    Device *d;

    if (st->type != GS_STEP_HOTPLUG) {
        return false;
    }
    d = add_dev(r, st->u.hotplug.device);
    /* a device first plugged in by the scenario is absent at boot */
    if (d && !d->hotplugged) {
        d->hotplugged = true;
        d->present = st->u.hotplug.action != GS_HOTPLUG_ADD;
    }
    return false;
}

/* k1, then every device a hotplug step names, with its state at boot. */
static void collect_devices(Run *r)
{
    add_dev(r, "k1");
    walk_steps(r->s->steps, r->s->nsteps, true, collect_device, r);
}

static char *device_arg(Run *r, Device *d, char *err, size_t errlen)
{
    char drive[80], bus[16];
    const char *vars[] = { "id", d->id, "drive", drive, "bus", bus, NULL };

    snprintf(drive, sizeof(drive), "drive-%s", d->id);
    snprintf(bus, sizeof(bus), "rp%d", (int)(d - r->dev) + 1);
    return gt_expand(r->t->device, vars, err, errlen);
}

static char qom_path_buf[128];
static const char *qom_path(Device *d)
{
    snprintf(qom_path_buf, sizeof(qom_path_buf), "/machine/peripheral/%s", d->id);
    return qom_path_buf;
}

/* Add the device's live rules' fire counts to the harvest and forget them
 * (before the rules are replaced or the device goes away). */
/* Add the fire counts of d's live rules into acc (indexed by scenario
 * rule), read from the device now. */
static int live_fired(Run *r, Device *d, uint64_t *acc)
{
    json_object *list = NULL;

    if (!gt_has_faults(r->t) || !d->present || !r->vm || d->nlive == 0) {
        return 0;
    }
    if (gq_qom_get(r->vm->qmp, qom_path(d), r->t->fault_stats, &list) != GQ_OK) {
        logf_(r, "fault-stats of %s: %s", d->id, gq_error(r->vm->qmp));
        return -1;
    }
    for (int i = 0; i < d->nlive && i < (int)json_object_array_length(list); i++) {
        json_object *f;

        if (d->live[i] >= 0 &&
            json_object_object_get_ex(json_object_array_get_idx(list, i),
                                      "fired", &f)) {
            acc[d->live[i]] += (uint64_t)json_object_get_int64(f);
        }
    }
    json_object_put(list);
    return 0;
}

/* Add the device's live rules' fire counts to the harvest and forget them
 * (before the rules are replaced or the device goes away). */
static int harvest(Run *r, Device *d, bool forget)
{
    if (live_fired(r, d, r->fired) < 0) {
        return -1;
    }
    if (forget) {
        d->nlive = 0;
    }
    return 0;
}

/* Fire count of scenario rule idx now (harvested + live); -1 all. */
static int64_t rule_fired(Run *r, int idx)
{
    uint64_t *now = calloc((size_t)r->s->nrules + 1, sizeof(*now));
    int64_t sum = 0;

    memcpy(now, r->fired, (size_t)r->s->nrules * sizeof(*now));
    for (int i = 0; i < r->ndev; i++) {
        live_fired(r, &r->dev[i], now);
    }
    for (int k = 0; k < r->s->nrules; k++) {
        if (idx < 0 || idx == k) {
            sum += (int64_t)now[k];
        }
    }
    free(now);
    return sum;
}

static int set_faults(Run *r, Device *d, const char *prop, const char *rules)
{
    json_object *v = json_object_new_string(rules);
    int rc = gq_qom_set(r->vm->qmp, qom_path(d), prop, v);

    json_object_put(v);
    logf_(r, "qom-set %s %s '%s': %s", d->id, prop, rules,
          rc == GQ_OK ? "ok" : gq_error(r->vm->qmp));
    return rc;
}

/* ---- steps ------------------------------------------------------------------ */

static int wait_ready(Run *r, double timeout, bool quiet)
{
    double end = gvm_now() + timeout;

    for (;;) {
        int ok = guest_ok(r, r->t->ready, 10);

        if (ok != 0) {
            return ok > 0 ? 0 : -1;
        }
        if (gvm_now() >= end) {
            if (!quiet) {
                fail_(r, GR_FAIL, "step", "device not ready after %.0f s "
                      "('%s' keeps failing)", timeout, r->t->ready);
            }
            return -1;
        }
        usleep(250000);
    }
}

static char *expand_integrity(Run *r, const char *tmpl, const char *backing)
{
    char lba[32], blocks[32], seed[32], bs[32], err[512];
    const char *vars[] = {
        "lba", lba, "blocks", blocks, "seed", seed, "block_size", bs,
        "backing", backing ? backing : "", "kestrelctl",
        r->cfg->host_tool ? r->cfg->host_tool : "gauntlet-data", NULL
    };
    char *s;

    snprintf(lba, sizeof(lba), "%ld", r->t->integrity_lba);
    snprintf(blocks, sizeof(blocks), "%ld", r->t->integrity_blocks);
    snprintf(seed, sizeof(seed), "%" PRIu64, r->seed);
    snprintf(bs, sizeof(bs), "%ld", r->t->block_size);
    s = gt_expand(tmpl, vars, err, sizeof(err));
    if (!s) {
        fail_(r, GR_ERROR, "error", "target %s: %s", r->t->name, err);
    }
    return s;
}

static bool any_faults_armed(Run *r)
{
    for (int i = 0; i < r->ndev; i++) {
        if (r->dev[i].present && r->dev[i].nlive) {
            return true;
        }
    }
    return r->kfault_armed;
}

static int do_unload(Run *r, GsExpect expect);

static bool any_present(Run *r)
{
    for (int i = 0; i < r->ndev; i++) {
        if (r->dev[i].present) {
            return true;
        }
    }
    return false;
}

/* The first time the driver is ready with no fault armed, write the
 * integrity region: acknowledged writes the verdicts check at the end. */
static int maybe_write_integrity(Run *r)
{
    char *w;
    int ok;

    if (r->integrity_written || !r->t->integrity_write[0] ||
        any_faults_armed(r) || !r->dev[0].present) {
        return 0;
    }
    w = expand_integrity(r, r->t->integrity_write, NULL);
    if (!w) {
        return -1;
    }
    ok = guest_ok(r, w, 300);
    if (ok > 0) {
        r->integrity_written = true;
    } else if (ok == 0) {
        fail_(r, GR_FAIL, "integrity", "writing the integrity region failed: %s", w);
    }
    free(w);
    return ok > 0 ? 0 : -1;
}

static int do_load(Run *r, const GsStep *st)
{
    char err[512], *cmd, *sc;
    const char *vars[] = { "params", st->u.load.params, NULL };
    ga_result res;
    int rc, ok;

    cmd = gt_expand(r->t->load, vars, err, sizeof(err));
    if (!cmd) {
        return fail_(r, GR_ERROR, "error", "target %s: %s", r->t->name, err);
    }
    sc = scoped(r, cmd);
    rc = guest(r, sc, 120, &res);
    free(sc);
    if (rc < 0) {
        free(cmd);
        ga_result_free(&res);
        return -1;
    }
    ok = ga_result_ok(&res);
    if (ok) {
        r->module_loaded = true;
    }
    if (st->u.load.expect == GS_EXPECT_OK) {
        if (!ok) {
            rc = fail_(r, GR_FAIL, "step", "load '%s' failed (exit %d): %s",
                       cmd, exit_status(&res), tail_of(res.err, 300));
        } else if (!any_present(r)) {
            /* nothing to bind yet (a scenario that hot-plugs it later) */
        } else if (wait_ready(r, (double)r->t->ready_timeout, false) == 0) {
            if (!r->ready_s) {
                r->ready_s = gvm_now() - r->vm->t_exec;
            }
            rc = maybe_write_integrity(r);
        } else {
            rc = -1;
        }
    } else {
        /* A PCI driver's insmod succeeds even when probe fails: "fail"
         * means the device does not become usable. */
        if (ok && wait_ready(r, 3, true) == 0) {
            rc = fail_(r, GR_FAIL, "step", "load '%s' was expected to fail, "
                       "but the device became ready", cmd);
        } else if (r->status != GR_PASS) {
            rc = -1;
        } else if (ok) {
            /* insmod worked and probe failed: the module must still
             * unload cleanly, and the next load starts from scratch */
            rc = do_unload(r, GS_EXPECT_OK);
        }
    }
    free(cmd);
    ga_result_free(&res);
    return rc;
}

static int do_unload(Run *r, GsExpect expect)
{
    ga_result res;
    int rc, ok;

    rc = guest(r, r->t->unload, 120, &res);
    if (rc < 0) {
        ga_result_free(&res);
        return -1;
    }
    ok = ga_result_ok(&res);
    if (ok) {
        r->module_loaded = false;
    }
    if (expect == GS_EXPECT_OK && !ok) {
        rc = fail_(r, GR_FAIL, "step", "unload '%s' failed (exit %d): %s",
                   r->t->unload, exit_status(&res), tail_of(res.err, 300));
    } else if (expect == GS_EXPECT_FAIL && ok) {
        rc = fail_(r, GR_FAIL, "step", "unload was expected to fail but succeeded");
    }
    ga_result_free(&res);
    return rc;
}

static int match_re(Run *r, const char *pattern, const char *text, bool *m)
{
    regex_t re;

    if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB)) {
        return fail_(r, GR_ERROR, "error", "bad regex '%s'", pattern);
    }
    *m = regexec(&re, text ? text : "", 0, NULL, 0) == 0;
    regfree(&re);
    return 0;
}

static int do_run(Run *r, const GsStep *st)
{
    ga_result res;
    char *cmd = scoped(r, st->u.run.cmd);
    int rc = guest(r, cmd, st->u.run.timeout, &res);
    bool m;

    free(cmd);
    if (rc < 0) {
        ga_result_free(&res);
        return -1;
    }
    if (res.timed_out) {
        rc = fail_(r, GR_FAIL, "step", "'%s' timed out after %.1f s",
                   st->u.run.cmd, st->u.run.timeout);
    } else if (exit_status(&res) != st->u.run.expect_exit) {
        rc = fail_(r, GR_FAIL, "step", "'%s' exited %d, expected %" PRId64 ": %s",
                   st->u.run.cmd, exit_status(&res), st->u.run.expect_exit,
                   tail_of(res.err_len ? res.err : res.out, 300));
    } else if (st->u.run.expect_stdout &&
               (match_re(r, st->u.run.expect_stdout, res.out, &m) < 0 || !m)) {
        rc = fail_(r, GR_FAIL, "step", "'%s': stdout does not match /%s/",
                   st->u.run.cmd, st->u.run.expect_stdout);
    } else if (st->u.run.expect_stderr &&
               (match_re(r, st->u.run.expect_stderr, res.err, &m) < 0 || !m)) {
        rc = fail_(r, GR_FAIL, "step", "'%s': stderr does not match /%s/",
                   st->u.run.cmd, st->u.run.expect_stderr);
    }
    ga_result_free(&res);
    return rc;
}

static Workload *find_wl(Run *r, const char *name)
{
    for (int i = 0; i < r->nwl; i++) {
        if (r->wl[i].running && !strcmp(r->wl[i].name, name)) {
            return &r->wl[i];
        }
    }
    return NULL;
}

static int do_workload(Run *r, const GsStep *st)
{
    ga_cmd c = { 0 };
    char *cmd = scoped(r, st->u.workload.cmd);
    Workload *w = NULL;
    int rc;

    for (int i = 0; i < r->nwl; i++) {
        if (!r->wl[i].running) {
            w = &r->wl[i];
        }
    }
    if (!w && r->nwl < MAX_WORKLOADS) {
        w = &r->wl[r->nwl++];
    }
    if (!w) {
        free(cmd);
        return fail_(r, GR_ERROR, "error", "more than %d workloads", MAX_WORKLOADS);
    }
    c.shell = cmd;
    c.env = guest_env(r);
    logf_(r, "guest& %s", cmd);
    rc = ga_start_cmd(r->vm->agent, &c, &w->id);
    free(cmd);
    if (rc != GA_OK) {
        return vm_trouble(r, "step", "starting workload '%s': %s",
                          st->u.workload.name, ga_last_error(r->vm->agent));
    }
    w->name = st->u.workload.name;
    w->running = true;
    return 0;
}

static int stop_workload(Run *r, Workload *w, bool wait, double timeout,
                         int64_t expect, bool judge)
{
    ga_result res = { 0 };
    int rc;

    if (!wait) {
        ga_kill(r->vm->agent, w->id, SIGTERM);
    }
    rc = ga_wait(r->vm->agent, w->id, (int)(timeout * 1000), &res);
    if (rc == GA_ETIMEOUT && !wait) {
        ga_kill(r->vm->agent, w->id, SIGKILL);
        rc = ga_wait(r->vm->agent, w->id, 10000, &res);
    }
    w->running = false;
    if (rc != GA_OK) {
        ga_result_free(&res);
        return vm_trouble(r, judge ? "step" : NULL, "workload '%s' did not end "
                          "within %.0f s: %s", w->name, timeout,
                          ga_last_error(r->vm->agent));
    }
    {
        char d[256];

        logf_(r, "workload '%s' ended: %s; stdout: %s; stderr: %s", w->name,
              ga_result_describe(&res, d, sizeof(d)), tail_of(res.out, 1500),
              tail_of(res.err, 1500));
    }
    rc = 0;
    if (judge) {
        /* Stopped by our SIGTERM and exiting on it counts as a clean end. */
        int st = exit_status(&res);

        if (!wait && res.exit_kind == GA_EXIT_SIGNAL && res.signal == SIGTERM) {
            st = 0;
        }
        if (st != expect) {
            rc = fail_(r, GR_FAIL, "step", "workload '%s' exited %d, expected "
                       "%" PRId64 ": %s", w->name, st, expect,
                       tail_of(res.err_len ? res.err : res.out, 300));
        }
    }
    ga_result_free(&res);
    return rc;
}

static int do_faults(Run *r, const GsStep *st)
{
    Device *d = &r->dev[0];
    const char *text = st->u.faults.rules;
    const char *prop = st->u.faults.op == GS_FAULTS_ADD ? r->t->fault_add :
                       r->t->fault_set;

    if (!d->present) {
        return fail_(r, GR_FAIL, "step", "faults: device %s is not present", d->id);
    }
    if (st->u.faults.op != GS_FAULTS_ADD) {
        harvest(r, d, true);
    }
    if (st->u.faults.op == GS_FAULTS_CLEAR) {
        text = "";
    }
    if (set_faults(r, d, prop, text) != GQ_OK) {
        return fail_(r, GR_FAIL, "step", "faults: %s", gq_error(r->vm->qmp));
    }
    for (int i = 0; i < st->u.faults.nrules && d->nlive < MAX_RULES_LIVE; i++) {
        d->live[d->nlive++] = st->u.faults.first_rule + i;
    }
    return 0;
}

static int do_hotplug(Run *r, const GsStep *st)
{
    Device *d = find_dev(r, st->u.hotplug.device);
    char err[512];
    json_object *ev = NULL;
    int rc;

    if (!d) {
        return fail_(r, GR_ERROR, "error", "hotplug: unknown device %s",
                     st->u.hotplug.device);
    }
    if (st->u.hotplug.action == GS_HOTPLUG_ADD) {
        char *arg;
        json_object *args;
        GqReply *rep;

        if (d->present) {
            return fail_(r, GR_FAIL, "step", "hotplug add: %s is already present",
                         d->id);
        }
        arg = device_arg(r, d, err, sizeof(err));
        if (!arg) {
            return fail_(r, GR_ERROR, "error", "target %s: %s", r->t->name, err);
        }
        /* device_add takes the -device string as a QemuOpts-like dict */
        args = json_object_new_object();
        {
            char *save, *tok, *copy = strdup(arg);
            bool first = true;

            for (tok = strtok_r(copy, ",", &save); tok;
                 tok = strtok_r(NULL, ",", &save)) {
                char *eq = strchr(tok, '=');

                if (first) {
                    json_object_object_add(args, "driver",
                                           json_object_new_string(tok));
                    first = false;
                } else if (eq) {
                    *eq = 0;
                    json_object_object_add(args, tok, json_object_new_string(eq + 1));
                }
            }
            free(copy);
        }
        rep = gq_execute(r->vm->qmp, "device_add", args, 10000);
        json_object_put(args);
        free(arg);
        if (rep->rc != GQ_OK) {
            rc = fail_(r, GR_FAIL, "step", "device_add: %s", gq_error(r->vm->qmp));
            gq_reply_free(rep);
            return rc;
        }
        gq_reply_free(rep);
        d->present = true;
        d->nlive = 0;
        if (r->module_loaded) {
            if (wait_ready(r, (double)r->t->ready_timeout, false) < 0) {
                return -1;
            }
            return maybe_write_integrity(r);
        }
        return 0;
    }

    if (!d->present) {
        return fail_(r, GR_FAIL, "step", "hotplug remove: %s is not present", d->id);
    }
    harvest(r, d, true);
    if (st->u.hotplug.action == GS_HOTPLUG_SURPRISE && r->t->surprise_rule[0]) {
        /* the link goes down: every register reads as all-ones */
        if (set_faults(r, d, r->t->fault_add, r->t->surprise_rule) != GQ_OK) {
            return fail_(r, GR_ERROR, "error", "surprise removal: %s",
                         gq_error(r->vm->qmp));
        }
        usleep(200000);
    }
    gq_drop_events(r->vm->qmp);
    {
        json_object *args = json_object_new_object();
        GqReply *rep;

        json_object_object_add(args, "id", json_object_new_string(d->id));
        rep = gq_execute(r->vm->qmp, "device_del", args, 10000);
        json_object_put(args);
        if (rep->rc != GQ_OK) {
            rc = fail_(r, GR_FAIL, "step", "device_del: %s", gq_error(r->vm->qmp));
            gq_reply_free(rep);
            return rc;
        }
        gq_reply_free(rep);
    }
    /* pciehp: attention button, 5 s grace, then the driver's remove();
     * QEMU also reports the deletion of the device's children (its MSI-X
     * and such, by QOM path only): wait for the one with our id. */
    {
        double end = gvm_now() + 60;

        for (;;) {
            json_object *data, *dev;
            int left = (int)((end - gvm_now()) * 1000);

            rc = left > 0 ? gq_wait_event(r->vm->qmp, "DEVICE_DELETED", left, &ev) :
                 GQ_ERR_TIMEOUT;
            if (rc != GQ_OK) {
                break;
            }
            if (json_object_object_get_ex(ev, "data", &data) &&
                json_object_object_get_ex(data, "device", &dev) &&
                !strcmp(json_object_get_string(dev), d->id)) {
                json_object_put(ev);
                break;
            }
            json_object_put(ev);
        }
    }
    if (rc != GQ_OK) {
        return vm_trouble(r, "step", "hot-unplug: the guest did not release %s "
                          "within 60 s (no DEVICE_DELETED)", d->id);
    }
    d->present = false;
    return 0;
}

static const char *pm_level_name(GsPmTestLevel l)
{
    static const char *const n[] = {
        "none", "freezer", "devices", "platform", "processors", "core"
    };

    return n[l];
}

static int do_suspend(Run *r, const GsStep *st)
{
    for (int64_t i = 0; i < st->u.suspend.cycles; i++) {
        logf_(r, "suspend cycle %" PRId64 "/%" PRId64, i + 1, st->u.suspend.cycles);
        if (st->u.suspend.mode == GS_SUSPEND_PM_TEST) {
            char cmd[300];
            int ok;

            snprintf(cmd, sizeof(cmd), "p=/sys/module/suspend/parameters/"
                     "pm_test_delay; [ -w $p ] && echo 0 > $p; "
                     "echo %s > /sys/power/pm_test && echo mem > /sys/power/state; "
                     "rc=$?; echo none > /sys/power/pm_test; exit $rc",
                     pm_level_name(st->u.suspend.level));
            ok = guest_ok(r, cmd, 120);
            if (ok <= 0) {
                return ok < 0 ? -1 : fail_(r, GR_FAIL, "step",
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
                return vm_trouble(r, "step", "suspend: cannot start: %s",
                                  ga_last_error(r->vm->agent));
            }
            rc = gq_wait_event(r->vm->qmp, "SUSPEND", 60000, &ev);
            json_object_put(ev);
            if (rc != GQ_OK) {
                rc = ga_wait(r->vm->agent, id, 1000, &res);
                if (rc == GA_OK) {
                    rc = fail_(r, GR_FAIL, "step", "suspend: the guest did not "
                               "suspend: 'echo mem > /sys/power/state' exited "
                               "%d: %s", exit_status(&res), tail_of(res.err, 250));
                    ga_result_free(&res);
                    return rc;
                }
                ga_kill(r->vm->agent, id, SIGKILL);
                return vm_trouble(r, "hang", "suspend: the guest did not reach S3 "
                                  "within 60 s (no SUSPEND event; a driver's "
                                  "suspend blocked?)");
            }
            usleep(100000);
            rep = gq_execute(r->vm->qmp, "system_wakeup", NULL, 10000);
            rc = rep->rc;
            gq_reply_free(rep);
            if (rc != GQ_OK) {
                return fail_(r, GR_ERROR, "error", "system_wakeup: %s",
                             gq_error(r->vm->qmp));
            }
            rc = ga_wait(r->vm->agent, id, 120000, &res);
            if (rc != GA_OK) {
                return vm_trouble(r, "hang", "resume: the guest did not come "
                                  "back within 120 s (the suspend command did "
                                  "not return)");
            }
            rc = exit_status(&res);
            ga_result_free(&res);
            if (rc != 0) {
                return fail_(r, GR_FAIL, "step", "suspend/resume: 'echo mem > "
                             "/sys/power/state' exited %d", rc);
            }
        }
    }
    return 0;
}

static int do_kfault(Run *r, const GsStep *st)
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
    ok = guest_ok(r, probe, 10);
    if (ok < 0) {
        return -1;
    }
    if (!ok) {
        if (st->u.kfault.require) {
            return fail_(r, GR_FAIL, "step", "kfault %s: the guest kernel has no "
                         "/sys/kernel/debug/%s (%s)", dir, dir, cfgs[st->u.kfault.type]);
        }
        return fail_(r, GR_SKIP, "skip", "kfault %s: the guest kernel has no "
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
    ok = guest_ok(r, cmd, 30);
    if (ok <= 0) {
        return ok < 0 ? -1 : fail_(r, GR_FAIL, "step", "kfault %s: arming failed "
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

/* Every kernel fault a scenario arms must have been injected, and at least
 * once with the target's module on the stack: a failure that only ever hit
 * the shell's fork or the module loader proves nothing about the driver.
 * The kernel reports each injection ("FAULT_INJECTION: forcing a failure.",
 * "name <dir>, ...", then the stack: verbose=2, rate-limited to 5/s). */
static void verdict_kfault(Run *r, const char *log, size_t len)
{
    for (int i = 0; i < r->nkfault; i++) {
        const char *dir = r->kfault_dirs[i];
        const char *p = log + (r->kfault_from[i] < (long)len ? r->kfault_from[i] : (long)len);
        char name[96], mod[96];
        long hits = 0, in_mod = 0;

        snprintf(name, sizeof(name), "name %s,", dir);
        snprintf(mod, sizeof(mod), " [%s]", r->t->kfault_module ? r->t->kfault_module : "");
        static const char hdr[] = "FAULT_INJECTION: forcing a failure.";

        while ((p = strstr(p, hdr))) {
            const char *nl = strchr(p, '\n');
            const char *next, *end, *m;

            p += sizeof(hdr) - 1;
            if (!nl || !strstr(nl, name) || strstr(nl, name) > nl + 200) {
                continue;   /* another capability's report */
            }
            hits++;
            next = strstr(p, hdr);
            end = next ? next : log + len;
            /* this report's stack: up to the next report, at most 8 KiB
             * (far beyond any trace) */
            if (end - p > 8192) {
                end = p + 8192;
            }
            m = r->t->kfault_module ? strstr(p, mod) : NULL;
            in_mod += m && m < end;
        }
        if (!hits) {
            add_verdict(r, "kfault-fired", GR_FAIL, "%s was armed but the kernel "
                        "reported no injected failure", dir);
        } else if (r->t->kfault_module && !in_mod) {
            add_verdict(r, "kfault-fired", GR_FAIL, "%s: %ld failure(s) injected, "
                        "none with %s on the stack (they hit other code)", dir,
                        hits, r->t->kfault_module);
        } else {
            add_verdict(r, "kfault-fired", GR_PASS, "%s: %ld failure(s) reported, "
                        "%ld in %s's code", dir, hits, in_mod,
                        r->t->kfault_module ? r->t->kfault_module : "the driver");
        }
    }
}

/* New console lines since *from; returns a malloc'd chunk (complete lines). */
static char *console_since(Run *r, long *from)
{
    size_t n;
    char *buf = gvm_file_read(r->vm->console, *from, &n);
    char *last = memrchr(buf, '\n', n);

    if (!last) {
        buf[0] = 0;
        return buf;
    }
    last[1] = 0;
    *from += (long)(last + 1 - buf);
    return buf;
}

/* Search text line by line; on a match, returns the offset just past the
 * matching line, else -1. */
static long match_lines(const regex_t *re, const char *text)
{
    const char *p = text;

    while (*p) {
        const char *e = strchr(p, '\n');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        char *line = strndup(p, l);
        bool m = regexec(re, line, 0, NULL, 0) == 0;

        free(line);
        if (m) {
            return (long)(p - text + l + (e ? 1 : 0));
        }
        p += l + (e ? 1 : 0);
    }
    return -1;
}

static int do_expect_log(Run *r, const GsStep *st)
{
    regex_t re;
    double end = gvm_now() + st->u.expect_log.timeout;
    long pos = r->log_consumed;
    int rc = -1;

    if (regcomp(&re, st->u.expect_log.pattern, REG_EXTENDED | REG_NOSUB)) {
        return fail_(r, GR_ERROR, "error", "bad regex");
    }
    for (;;) {
        long start = pos;
        char *chunk = console_since(r, &pos);
        long off = match_lines(&re, chunk);

        if (off >= 0) {
            r->log_consumed = start + off;
            free(chunk);
            rc = 0;
            break;
        }
        free(chunk);
        if (gvm_now() >= end || !gvm_running(r->vm)) {
            rc = fail_(r, GR_FAIL, "step", "no kernel log line matched /%s/ "
                       "within %.1f s", st->u.expect_log.pattern,
                       st->u.expect_log.timeout);
            break;
        }
        usleep(100000);
    }
    regfree(&re);
    return rc;
}

static int read_counter(Run *r, const GsStep *st, int64_t *v)
{
    if (st->u.counter.source == GS_SRC_FAULT) {
        *v = rule_fired(r, st->u.counter.rule);
        return 0;
    }
    if (st->u.counter.source == GS_SRC_DRIVER) {
        char cmd[1024];
        ga_result res;
        char *end;

        if (!r->t->stats[0]) {
            return fail_(r, GR_ERROR, "error", "target %s has no driver counters",
                         r->t->name);
        }
        snprintf(cmd, sizeof(cmd), "cat '%s/%s'", r->t->stats, st->u.counter.name);
        if (guest(r, cmd, 10, &res) < 0) {
            ga_result_free(&res);
            return -1;
        }
        if (!ga_result_ok(&res)) {
            ga_result_free(&res);
            return fail_(r, GR_FAIL, "step", "driver counter '%s' unreadable "
                         "(%s/%s)", st->u.counter.name, r->t->stats,
                         st->u.counter.name);
        }
        errno = 0;
        *v = strtoll(res.out, &end, 0);
        ga_result_free(&res);
        return errno ? fail_(r, GR_FAIL, "step", "driver counter '%s': not a "
                             "number", st->u.counter.name) : 0;
    }
    {
        json_object *o = NULL, *f;
        Device *d = &r->dev[0];

        if (!r->t->device_stats[0] || !d->present ||
            gq_qom_get(r->vm->qmp, qom_path(d), r->t->device_stats, &o)) {
            return fail_(r, GR_FAIL, "step", "device counter '%s' unavailable",
                         st->u.counter.name);
        }
        if (!json_object_object_get_ex(o, st->u.counter.name, &f)) {
            json_object_put(o);
            return fail_(r, GR_FAIL, "step", "device has no counter '%s'",
                         st->u.counter.name);
        }
        *v = json_object_get_int64(f);
        json_object_put(o);
        return 0;
    }
}

static int do_counter(Run *r, const GsStep *st)
{
    static const char *const ops[] = { "==", "!=", "<", "<=", ">", ">=" };
    int64_t v = 0, want = st->u.counter.value;
    bool ok = false;

    if (read_counter(r, st, &v) < 0) {
        return -1;
    }
    switch (st->u.counter.op) {
    case GS_OP_EQ: ok = v == want; break;
    case GS_OP_NE: ok = v != want; break;
    case GS_OP_LT: ok = v < want; break;
    case GS_OP_LE: ok = v <= want; break;
    case GS_OP_GT: ok = v > want; break;
    case GS_OP_GE: ok = v >= want; break;
    }
    logf_(r, "counter %s %s = %" PRId64 " (want %s %" PRId64 ")",
          st->u.counter.source == GS_SRC_DRIVER ? "driver" :
          st->u.counter.source == GS_SRC_FAULT ? "fault" : "device",
          st->u.counter.name, v, ops[st->u.counter.op], want);
    if (!ok) {
        return fail_(r, GR_FAIL, "step", "counter %s %s is %" PRId64 ", expected "
                     "%s %" PRId64, st->u.counter.source == GS_SRC_DRIVER ?
                     "driver" : st->u.counter.source == GS_SRC_FAULT ? "fault rule" :
                     "device", st->u.counter.name, v, ops[st->u.counter.op], want);
    }
    return 0;
}

static int do_wait(Run *r, double seconds)
{
    double end = gvm_now() + seconds;

    while (gvm_now() < end) {
        double left = end - gvm_now();

        if (r->vm && !gvm_running(r->vm)) {
            return vm_trouble(r, "step", "during wait");
        }
        /* keep background output flowing meanwhile */
        if (r->vm) {
            ga_poll(r->vm->agent, (int)(fmin(left, 0.5) * 1000) + 1);
        } else {
            usleep((useconds_t)(fmin(left, 0.5) * 1e6));
        }
    }
    return 0;
}

static int boot(Run *r, const GsStep *st);

static int run_steps(Run *r, const GsStep *steps, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const GsStep *st = &steps[i];
        int rc = 0;

        if (gvm_now() > r->deadline) {
            return fail_(r, GR_FAIL, "timeout", "scenario timeout (%" PRId64
                         " s) reached before step %s at %s:%d:%d",
                         r->s->timeout, gs_step_name(st->type), r->s->file,
                         st->line, st->col);
        }
        if (!r->vm && st->type != GS_STEP_BOOT && st->type != GS_STEP_WAIT &&
            st->type != GS_STEP_REPEAT && boot(r, NULL) < 0) {
            return -1;
        }
        logf_(r, "step %s at %s:%d:%d", gs_step_name(st->type), r->s->file,
              st->line, st->col);
        switch (st->type) {
        case GS_STEP_BOOT:
            rc = r->vm ? 0 : boot(r, st);
            break;
        case GS_STEP_LOAD:
            rc = do_load(r, st);
            break;
        case GS_STEP_UNLOAD:
            rc = do_unload(r, st->u.unload.expect);
            break;
        case GS_STEP_RUN:
            rc = do_run(r, st);
            break;
        case GS_STEP_WORKLOAD:
            rc = do_workload(r, st);
            break;
        case GS_STEP_WORKLOAD_STOP: {
            Workload *w = find_wl(r, st->u.workload_stop.name);

            rc = w ? stop_workload(r, w, st->u.workload_stop.wait,
                                   st->u.workload_stop.timeout,
                                   st->u.workload_stop.expect_exit, true) :
                 fail_(r, GR_ERROR, "error", "no workload %s",
                       st->u.workload_stop.name);
            break;
        }
        case GS_STEP_FAULTS:
            rc = do_faults(r, st);
            break;
        case GS_STEP_HOTPLUG:
            rc = do_hotplug(r, st);
            break;
        case GS_STEP_SUSPEND:
            rc = do_suspend(r, st);
            break;
        case GS_STEP_KFAULT:
            rc = do_kfault(r, st);
            break;
        case GS_STEP_EXPECT_LOG:
            rc = do_expect_log(r, st);
            break;
        case GS_STEP_FORBID_LOG:
            if (r->nforbid < MAX_FORBID &&
                !regcomp(&r->forbid[r->nforbid].re, st->u.forbid_log.pattern,
                         REG_EXTENDED | REG_NOSUB)) {
                long pos = 0;
                struct stat sb;

                if (r->vm && !stat(r->vm->console, &sb)) {
                    pos = sb.st_size;
                }
                r->forbid[r->nforbid].pattern = st->u.forbid_log.pattern;
                r->forbid[r->nforbid].from = pos;
                r->forbid[r->nforbid].line = st->line;
                r->nforbid++;
            }
            break;
        case GS_STEP_COUNTER:
            rc = do_counter(r, st);
            break;
        case GS_STEP_WAIT:
            rc = do_wait(r, st->u.wait.seconds);
            break;
        case GS_STEP_REPEAT:
            for (int64_t k = 0; k < st->u.repeat.count && rc == 0; k++) {
                logf_(r, "repeat %" PRId64 "/%" PRId64, k + 1, st->u.repeat.count);
                rc = run_steps(r, st->u.repeat.steps, st->u.repeat.nsteps);
            }
            break;
        default:
            rc = fail_(r, GR_ERROR, "error", "step type %d not implemented", st->type);
        }
        if (rc < 0) {
            if (r->status == GR_PASS) {
                fail_(r, GR_FAIL, "step", "step %s failed", gs_step_name(st->type));
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
        if (r->vm && !gvm_running(r->vm)) {
            return vm_trouble(r, "step", "after the step");
        }
        r->steps_done++;
    }
    return 0;
}

/* ---- boot ------------------------------------------------------------------- */

static int make_backing(Run *r, Device *d)
{
    int fd = open(d->backing, O_RDWR | O_CREAT | O_TRUNC, 0644);

    if (fd < 0 || ftruncate(fd, (off_t)r->t->drive_size_mb << 20)) {
        if (fd >= 0) {
            close(fd);
        }
        return fail_(r, GR_ERROR, "error", "backing file %s: %s", d->backing,
                     strerror(errno));
    }
    close(fd);
    return 0;
}

/* A VM saved right after boot + load (see "snapshot fast reset"). */
typedef struct Snapshot {
    char dir[4096];
    char mig[4200];             /* the migration stream */
    char accel[8];              /* the accelerator it was saved under */
    bool module_loaded, integrity_written;
    char built_by[256];         /* the scenario that saved it */
    ino_t ino;                  /* of dir, to discard only this one */
} Snapshot;

static int copy_file(Run *r, const char *from, const char *to);

/* Start the VM: boot it, or restore it from sn (then the backing files
 * are copies of the snapshot's and the accelerator is the snapshot's). */
static int boot_vm(Run *r, const GsStep *st, const Snapshot *sn)
{
    GvmOptions o = { 0 };
    char err[8192];
    char **extra = calloc(4 * MAX_DEVICES + 8, sizeof(char *));
    int n = 0, k = r->s->kernel;

    for (int i = 0; i < r->ndev; i++) {
        Device *d = &r->dev[i];
        char *arg;

        if (sn) {
            char from[4300];

            snprintf(from, sizeof(from), "%s/disk-%s.img", sn->dir, d->id);
            if (copy_file(r, from, d->backing) < 0) {
                goto out;
            }
        } else if (make_backing(r, d) < 0) {
            goto out;
        }
        extra[n++] = strdup("-blockdev");
        if (asprintf(&extra[n++], "driver=raw,node-name=drive-%s,file.driver=file,"
                     "file.filename=%s,cache.direct=off", d->id, d->backing) < 0) {
            abort();
        }
        if (d->present) {
            arg = device_arg(r, d, err, sizeof(err));
            if (!arg) {
                fail_(r, GR_ERROR, "error", "target %s: %s", r->t->name, err);
                goto out;
            }
            extra[n++] = strdup("-device");
            extra[n++] = arg;
        }
    }
    if (!r->cfg->kernel[k] || !r->cfg->initrd[k]) {
        fail_(r, GR_SKIP, "skip", "no %s kernel configured",
              k == GS_KERNEL_DEBUG ? "debug" : "stock");
        goto out;
    }
    o.qemu = r->cfg->qemu;
    o.kernel = r->cfg->kernel[k];
    o.initrd = r->cfg->initrd[k];
    o.cmdline = st ? st->u.boot.cmdline : NULL;
    o.fw_dirs = r->cfg->fw_dirs;
    o.dir = r->dir;
    o.accel = sn ? sn->accel : r->cfg->accel;
    o.mem_mb = st ? (int)st->u.boot.memory_mb : 512;
    o.smp = st ? (int)st->u.boot.smp : 1;
    o.extra = (const char *const *)extra;
    /* a restored agent is up at once; allow for a loaded host */
    o.boot_timeout_ms = sn ? 60000 : 180000;
    o.incoming = sn ? sn->mig : NULL;
    o.qmp_transcript = r->qmp_tx;
    o.interactive = r->cfg->shell;
    o.agent_transcript = r->agent_tx;
    if (sn) {
        logf_(r, "restore: %s (saved by %s), kernel %s, initrd %s", sn->mig,
              sn->built_by, o.kernel, o.initrd);
    } else {
        logf_(r, "boot: kernel %s, initrd %s", o.kernel, o.initrd);
    }
    r->vm = gvm_start(&o, err, sizeof(err));
    if (!r->vm && sn) {
        /* the harness's own trouble (a damaged or stale snapshot), never
         * the driver's */
        fail_(r, GR_ERROR, "snapshot", "snapshot restore failed: %s", err);
    } else if (!r->vm) {
        /* a guest that does not come up is the kernel's (or driver's) fault
         * only if QEMU itself started */
        fail_(r, strstr(err, "QEMU did not come up") ? GR_ERROR : GR_FAIL,
              strstr(err, "QEMU did not come up") ? "error" : "boot",
              "boot failed: %s", err);
    } else if (sn) {
        logf_(r, "restored in %.2f s, agent ready after %.2f s (accel %s, guest %s)",
              r->vm->restore_s, r->vm->boot_s, r->vm->accel,
              ga_agent_uname(r->vm->agent));
    } else {
        logf_(r, "booted in %.1f s (accel %s, guest %s)", r->vm->boot_s,
              r->vm->accel, ga_agent_uname(r->vm->agent));
    }
out:
    for (int i = 0; i < n; i++) {
        free(extra[i]);
    }
    free(extra);
    return r->vm ? 0 : -1;
}

static int boot(Run *r, const GsStep *st)
{
    return boot_vm(r, st, NULL);
}

/* ---- snapshot fast reset ------------------------------------------------------ */
/*
 * With cfg->snapshot, a scenario whose steps start with boot (or none, the
 * default boot) and a load that must succeed does not boot.  The first
 * scenario with a given key boots and loads as usual (all its own
 * artifacts and verdicts), then saves the VM: QMP stop, migration into
 * vm.mig, a copy of every backing file and of the console log so far, and
 * goes on with its steps.  Every later scenario with that key starts QEMU
 * with the same command line and -incoming, loads vm.mig, continues the
 * guest, checks the driver is ready and goes on from the step after load,
 * on its own copy of the backing files.  Its console.log starts with the
 * saved boot log, so expect_log, forbid_log and the kernel-log verdict see
 * exactly what a cold run's log holds.
 *
 * The key is everything the saved state depends on: the QEMU binary, the
 * kernel and image, the target file, the boot options, the load
 * parameters, the devices present at boot, the accelerator and the
 * integrity seed.  One snapshot is shared read-only by every worker; a
 * lock file makes the first one build it while the others wait (bounded).
 */
#define SNAPSHOT_FORMAT 1
#define SNAPSHOT_LOCK_WAIT_S 900.0

/* Bounded host command (cp, rm): 0 on exit status 0. */
static int host_cmd(Run *r, char *const argv[], int timeout_ms, char *err,
                    size_t errlen)
{
    double end = gvm_now() + timeout_ms / 1000.0;
    pid_t pid = fork();
    int st;

    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        int nul = open("/dev/null", O_RDWR);

        if (nul >= 0) {
            dup2(nul, 0);
            dup2(nul, 1);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    while (waitpid(pid, &st, WNOHANG) == 0) {
        if (gvm_now() > end) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            snprintf(err, errlen, "%s %s: killed after %d ms", argv[0],
                     argv[1], timeout_ms);
            return -1;
        }
        usleep(5000);
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st)) {
        snprintf(err, errlen, "%s %s ... failed (status 0x%x)", argv[0],
                 argv[1], st);
        return -1;
    }
    return 0;
}

/* Copy a (sparse) file: a reflink where the file system has them. */
static int copy_file_err(Run *r, const char *from, const char *to, char *err,
                         size_t errlen)
{
    char *argv[] = { "cp", "--reflink=auto", "--sparse=always", "--",
                     (char *)from, (char *)to, NULL };

    return host_cmd(r, argv, 120000, err, errlen);
}

/* The same, a failure of the run (the harness's: error). */
static int copy_file(Run *r, const char *from, const char *to)
{
    char err[512];

    if (copy_file_err(r, from, to, err, sizeof(err)) < 0) {
        return fail_(r, GR_ERROR, "snapshot", "copying %s to %s: %s", from, to,
                     err);
    }
    return 0;
}

static void remove_tree(Run *r, const char *path)
{
    char *argv[] = { "rm", "-rf", "--", (char *)path, NULL };
    char err[512];

    if (host_cmd(r, argv, 120000, err, sizeof(err)) < 0) {
        logf_(r, "snapshot: removing %s: %s", path, err);
    }
}

/* How many leading steps a snapshot replaces (0: none, the scenario boots):
 * boot (optional: the default boot) and a load expected to succeed. */
static size_t snapshot_steps(const GsScenario *s, const GsStep **boot_st)
{
    size_t i = 0;

    *boot_st = NULL;
    if (s->nsteps && s->steps[0].type == GS_STEP_BOOT) {
        *boot_st = &s->steps[0];
        i = 1;
    }
    if (i >= s->nsteps || s->steps[i].type != GS_STEP_LOAD ||
        s->steps[i].u.load.expect != GS_EXPECT_OK) {
        return 0;
    }
    return i + 1;
}

static void key_file(FILE *f, const char *what, const char *path)
{
    struct stat sb;

    if (path && !stat(path, &sb)) {
        fprintf(f, "%s %s size %lld mtime %lld.%09ld\n", what, path,
                (long long)sb.st_size, (long long)sb.st_mtim.tv_sec,
                sb.st_mtim.tv_nsec);
    } else {
        fprintf(f, "%s %s missing\n", what, path ? path : "(none)");
    }
}

static uint64_t fnv1a(const char *p, size_t n, uint64_t h)
{
    for (size_t i = 0; i < n; i++) {
        h = (h ^ (unsigned char)p[i]) * 0x100000001b3ULL;
    }
    return h;
}

/* The key text (malloc'd) and its hash, which names the snapshot. */
static char *snapshot_key(Run *r, const GsStep *boot_st, const GsStep *load_st,
                          char hex[17])
{
    char *text = NULL, *target;
    size_t len = 0, tlen;
    FILE *f = open_memstream(&text, &len);
    int k = r->s->kernel;

    fprintf(f, "gauntlet snapshot format %d\n", SNAPSHOT_FORMAT);
    key_file(f, "qemu", r->cfg->qemu);
    key_file(f, "kernel", r->cfg->kernel[k]);
    key_file(f, "initrd", r->cfg->initrd[k]);
    target = gvm_file_read(r->t->file, 0, &tlen);
    fprintf(f, "target %s %s fnv %016" PRIx64 "\n", r->t->name, r->t->file,
            fnv1a(target, tlen, 0xcbf29ce484222325ULL));
    free(target);
    fprintf(f, "boot memory %d smp %d cmdline \"%s\"\n",
            boot_st ? (int)boot_st->u.boot.memory_mb : 512,
            boot_st ? (int)boot_st->u.boot.smp : 1,
            boot_st && boot_st->u.boot.cmdline ? boot_st->u.boot.cmdline : "");
    fprintf(f, "load params \"%s\"\n", load_st->u.load.params ?
            load_st->u.load.params : "");
    fprintf(f, "devices");
    for (int i = 0; i < r->ndev; i++) {
        fprintf(f, " %s:%s", r->dev[i].id, r->dev[i].present ? "present" : "absent");
    }
    fprintf(f, "\naccel %s\nseed %" PRIu64 "\n", r->cfg->accel ? r->cfg->accel :
            "auto", r->seed);
    fclose(f);
    snprintf(hex, 17, "%016" PRIx64, fnv1a(text, len, 0xcbf29ce484222325ULL));
    return text;
}

/* Take the lock file, waiting at most until deadline: fd, or -1. */
static int snapshot_lock(const char *path, double deadline)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

    if (fd < 0) {
        return -1;
    }
    while (flock(fd, LOCK_EX | LOCK_NB)) {
        if (errno != EWOULDBLOCK || gvm_now() > deadline) {
            close(fd);
            return -1;
        }
        usleep(100000);
    }
    return fd;
}

/* A complete snapshot for this key in dir: 1 (sn filled), else 0. */
static int snapshot_find(Run *r, const char *dir, const char *key, Snapshot *sn)
{
    char path[4300];
    char *have;
    json_object *m, *v;
    struct stat sb;
    int ok = 0;

    snprintf(path, sizeof(path), "%s/key.txt", dir);
    have = gvm_file_read(path, 0, NULL);
    snprintf(path, sizeof(path), "%s/meta.json", dir);
    m = strcmp(have, key) ? NULL : json_object_from_file(path);
    free(have);
    memset(sn, 0, sizeof(*sn));
    snprintf(sn->dir, sizeof(sn->dir), "%s", dir);
    snprintf(sn->mig, sizeof(sn->mig), "%s/vm.mig", dir);
    if (m && !stat(dir, &sb)) {
        sn->ino = sb.st_ino;
        if (json_object_object_get_ex(m, "accel", &v)) {
            snprintf(sn->accel, sizeof(sn->accel), "%s", json_object_get_string(v));
        }
        if (json_object_object_get_ex(m, "built_by", &v)) {
            snprintf(sn->built_by, sizeof(sn->built_by), "%s",
                     json_object_get_string(v));
        }
        sn->module_loaded = json_object_object_get_ex(m, "module_loaded", &v) &&
                            json_object_get_boolean(v);
        sn->integrity_written = json_object_object_get_ex(m, "integrity_written", &v) &&
                                json_object_get_boolean(v);
        /* a truncated stream is refused here, with a clear reason */
        if (json_object_object_get_ex(m, "mig_bytes", &v) && !stat(sn->mig, &sb) &&
            sb.st_size != json_object_get_int64(v)) {
            logf_(r, "snapshot %s: vm.mig has %lld bytes, %" PRId64 " were "
                  "saved (truncated or damaged): discarded, saving a new one",
                  dir, (long long)sb.st_size, json_object_get_int64(v));
            snprintf(r->snapshot_note, sizeof(r->snapshot_note), "discarded "
                     "%s: vm.mig has %lld bytes, %" PRId64 " were saved; ", dir,
                     (long long)sb.st_size, json_object_get_int64(v));
            ok = -1;
        } else {
            ok = sn->accel[0] ? 1 : 0;
        }
    }
    json_object_put(m);
    return ok;
}

/* Move a bad or stale snapshot out of the way (only the one we saw). */
static void snapshot_discard(Run *r, const Snapshot *sn)
{
    char bad[4300];
    struct stat sb;

    if (stat(sn->dir, &sb) || (sn->ino && sb.st_ino != sn->ino)) {
        return;
    }
    snprintf(bad, sizeof(bad), "%s.bad-%d", sn->dir, (int)getpid());
    if (!rename(sn->dir, bad)) {
        logf_(r, "snapshot %s discarded", sn->dir);
        remove_tree(r, bad);
    }
}

/* Save the VM just booted and loaded into dir (under the lock), then let it
 * go on.  0 saved; 1 not saved (this run goes on cold; e.g. a device QEMU
 * cannot migrate); -1 when the VM could not be continued. */
static int snapshot_save(Run *r, const char *dir, const char *key)
{
    char tmp[4200], path[4300], err[4096];
    json_object *m;
    struct stat sb;
    double t = gvm_now();
    int saved;

    snprintf(tmp, sizeof(tmp), "%s.tmp-%d", dir, (int)getpid());
    remove_tree(r, tmp);
    if (mkdir(tmp, 0755)) {
        logf_(r, "snapshot: mkdir %s: %s", tmp, strerror(errno));
        snprintf(r->snapshot_note, sizeof(r->snapshot_note), "not saved: "
                 "mkdir %s: %s", tmp, strerror(errno));
        return 0;
    }
    snprintf(path, sizeof(path), "%s/vm.mig", tmp);
    saved = gvm_save(r->vm, path, 120000, err, sizeof(err));
    for (int i = 0; saved == 0 && i < r->ndev; i++) {
        char to[4300];

        snprintf(to, sizeof(to), "%s/disk-%s.img", tmp, r->dev[i].id);
        saved = copy_file_err(r, r->dev[i].backing, to, err, sizeof(err));
    }
    if (saved == 0) {
        snprintf(path, sizeof(path), "%s/console.log", tmp);
        saved = copy_file_err(r, r->vm->console, path, err, sizeof(err));
    }
    if (saved == 0) {
        FILE *f;

        snprintf(path, sizeof(path), "%s/key.txt", tmp);
        f = fopen(path, "w");
        if (f) {
            fputs(key, f);
            fclose(f);
        }
        snprintf(path, sizeof(path), "%s/vm.mig", tmp);
        m = json_object_new_object();
        json_object_object_add(m, "format", json_object_new_int(SNAPSHOT_FORMAT));
        json_object_object_add(m, "accel", json_object_new_string(r->vm->accel));
        json_object_object_add(m, "built_by", json_object_new_string(r->s->name));
        json_object_object_add(m, "module_loaded",
                               json_object_new_boolean(r->module_loaded));
        json_object_object_add(m, "integrity_written",
                               json_object_new_boolean(r->integrity_written));
        json_object_object_add(m, "mig_bytes", json_object_new_int64(
                                   stat(path, &sb) ? -1 : (int64_t)sb.st_size));
        json_object_object_add(m, "boot_ready_s", json_object_new_double(r->ready_s));
        json_object_object_add(m, "save_s", json_object_new_double(gvm_now() - t));
        snprintf(path, sizeof(path), "%s/meta.json", tmp);
        saved = json_object_to_file_ext(path, m, JSON_C_TO_STRING_PRETTY);
        json_object_put(m);
        if (saved) {
            snprintf(err, sizeof(err), "writing %s failed", path);
        }
    }
    if (saved == 0) {
        /* a stale snapshot of the same name (another key, a leftover) */
        if (!stat(dir, &sb)) {
            Snapshot old = { .ino = sb.st_ino };

            snprintf(old.dir, sizeof(old.dir), "%s", dir);
            snapshot_discard(r, &old);
        }
        if (rename(tmp, dir)) {
            snprintf(err, sizeof(err), "rename %s: %s", tmp, strerror(errno));
            saved = -1;
        }
    }
    {
        size_t l = strlen(r->snapshot_note);   /* keep a "discarded" note */

        if (saved == 0) {
            logf_(r, "snapshot saved in %s (%.2f s)", dir, gvm_now() - t);
            snprintf(r->snapshot_note + l, sizeof(r->snapshot_note) - l,
                     "saved %s", dir);
        } else {
            logf_(r, "snapshot not saved: %s", err);
            snprintf(r->snapshot_note + l, sizeof(r->snapshot_note) - l,
                     "not saved: %s", err);
            remove_tree(r, tmp);
        }
    }
    if (r->vm && gvm_resume(r->vm, err, sizeof(err)) < 0) {
        return fail_(r, GR_ERROR, "snapshot", "continuing the VM after saving "
                     "it: %s", err);
    }
    return saved == 0 ? 0 : 1;
}

/* Start from sn instead of booting and loading. */
static int snapshot_restore(Run *r, const GsStep *boot_st, const Snapshot *sn)
{
    char con[4300], path[4300];

    /* the saved boot log first: QEMU appends what follows */
    snprintf(con, sizeof(con), "%s/console.log", r->dir);
    snprintf(path, sizeof(path), "%s/console.log", sn->dir);
    r->start = "snapshot";
    if (copy_file(r, path, con) < 0 || boot_vm(r, boot_st, sn) < 0) {
        snapshot_discard(r, sn);
        return -1;
    }
    r->module_loaded = sn->module_loaded;
    r->integrity_written = sn->integrity_written;
    snprintf(r->snapshot_note, sizeof(r->snapshot_note), "restored %s (saved by "
             "%s)", sn->dir, sn->built_by);
    /* The guest's monotonic clocks go on from the save (QEMU migrates the
     * virtual clock and the TSC offset: no jump, so no hung-task or RCU
     * stall report), but its wall clock is as old as the snapshot.  Set it
     * to the host's, which a cold boot reads from the RTC (libvirt does
     * the same after a restore, with guest-set-time). */
    {
        char cmd[128];
        struct timespec now;
        int ok;

        clock_gettime(CLOCK_REALTIME, &now);
        snprintf(cmd, sizeof(cmd), "date -u -s @%lld >/dev/null",
                 (long long)now.tv_sec);
        ok = guest_ok(r, cmd, 10);
        if (ok < 0) {
            return -1;
        }
        if (!ok) {
            logf_(r, "restore: setting the guest's wall clock failed");
        }
    }
    /* the restored driver must really be live, as after a load step */
    if (r->module_loaded && any_present(r)) {
        if (wait_ready(r, (double)r->t->ready_timeout, false) < 0) {
            return -1;
        }
        r->ready_s = gvm_now() - r->vm->t_exec;
    }
    logf_(r, "restored: driver ready %.2f s after QEMU started", r->ready_s);
    return 0;
}

/* Marker of a snapshot that could not be made in this runner invocation
 * (its boot or load failed, or the save did): later scenarios with the key
 * boot cold at once instead of queueing behind the lock to fail again. */
static bool snapshot_failed_here(const char *marker)
{
    char *text = gvm_file_read(marker, 0, NULL);
    long pid = atol(text);

    free(text);
    return pid == (long)getppid();
}

static void snapshot_mark_failed(const char *marker, const char *why)
{
    FILE *f = fopen(marker, "w");

    if (f) {
        fprintf(f, "%ld\n%s\n", (long)getppid(), why);
        fclose(f);
    }
}

/*
 * Start the scenario from a snapshot where it can: restore one, or build
 * one with this scenario's own boot and load.  Returns how many leading
 * steps were done (0: none, boot as usual), or -1 after a failure.
 */
static int snapshot_start(Run *r)
{
    const GsStep *boot_st;
    size_t n = snapshot_steps(r->s, &boot_st);
    char hex[17], dir[4300], lockp[4400], failp[4400];
    char *key;
    Snapshot sn;
    int lock, found, rc = (int)n;

    if (!n) {
        snprintf(r->snapshot_note, sizeof(r->snapshot_note), "not used: the "
                 "steps do not start with boot and a load expected to succeed");
        return 0;
    }
    if (!r->cfg->kernel[r->s->kernel] || !r->cfg->snapshot_dir) {
        return 0;   /* the cold boot reports what is missing */
    }
    key = snapshot_key(r, boot_st, &r->s->steps[n - 1], hex);
    mkdir(r->cfg->snapshot_dir, 0755);
    snprintf(dir, sizeof(dir), "%s/%s-%s", r->cfg->snapshot_dir, r->t->name, hex);
    snprintf(lockp, sizeof(lockp), "%s.lock", dir);
    snprintf(failp, sizeof(failp), "%s.failed", dir);
    lock = snapshot_lock(lockp, fmin(gvm_now() + SNAPSHOT_LOCK_WAIT_S,
                                     r->deadline - 60));
    if (lock < 0) {
        logf_(r, "snapshot %s: lock not taken in time; booting", dir);
        snprintf(r->snapshot_note, sizeof(r->snapshot_note), "not used: %s "
                 "busy", lockp);
        free(key);
        return 0;
    }
    found = snapshot_find(r, dir, key, &sn);
    if (found > 0) {
        close(lock);
        free(key);
        return snapshot_restore(r, boot_st, &sn) < 0 ? -1 : (int)n;
    }
    if (found < 0) {
        snapshot_discard(r, &sn);
    }
    if (snapshot_failed_here(failp)) {
        char *why = gvm_file_read(failp, 0, NULL);
        char *nl = strchr(why, '\n');

        logf_(r, "snapshot %s: could not be made earlier in this run (%s); "
              "booting", dir, nl ? nl + 1 : "");
        snprintf(r->snapshot_note, sizeof(r->snapshot_note), "not used: could "
                 "not be made earlier in this run: %s", nl ? nl + 1 : "");
        one_line(r->snapshot_note);
        free(why);
        close(lock);
        free(key);
        return 0;
    }
    /* Build it: this scenario's own boot and load, judged as usual. */
    logf_(r, "snapshot %s: none yet; booting to save one", dir);
    if (run_steps(r, r->s->steps, n) < 0) {
        snapshot_mark_failed(failp, r->reason);
        rc = -1;
    } else {
        int saved = snapshot_save(r, dir, key);

        if (saved > 0) {
            snapshot_mark_failed(failp, r->snapshot_note);
        }
        rc = saved < 0 ? -1 : (int)n;
    }
    close(lock);
    free(key);
    return rc;
}

/* ---- verdicts ----------------------------------------------------------------- */

static void save_text(Run *r, const char *name, const char *text, size_t len)
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

static void verdict_faults(Run *r)
{
    json_object *arr = json_object_new_array();
    char unfired[512] = "";
    size_t ul = 0;
    char path[4200];

    for (int i = 0; i < r->ndev; i++) {
        if (!vm_dead(r)) {
            harvest(r, &r->dev[i], true);
        }
    }
    for (int k = 0; k < r->s->nrules; k++) {
        bool allowed = r->s->allow_unfired_all;
        json_object *o = json_object_new_object();

        for (size_t j = 0; j < r->s->nallow_unfired; j++) {
            allowed |= r->s->allow_unfired[j] == k;
        }
        json_object_object_add(o, "index", json_object_new_int(k));
        json_object_object_add(o, "rule", json_object_new_string(r->rule_text[k] ?
                                                                 r->rule_text[k] : ""));
        json_object_object_add(o, "fired", json_object_new_int64((int64_t)r->fired[k]));
        json_object_object_add(o, "allow_unfired", json_object_new_boolean(allowed));
        json_object_array_add(arr, o);
        if (!r->fired[k] && !allowed && ul < sizeof(unfired) - 80) {
            ul += (size_t)snprintf(unfired + ul, sizeof(unfired) - ul, "%s#%d '%s'",
                                   ul ? ", " : "", k, r->rule_text[k] ? r->rule_text[k] : "");
        }
    }
    snprintf(path, sizeof(path), "%s/faults.json", r->dir);
    json_object_to_file_ext(path, arr, JSON_C_TO_STRING_PRETTY);
    json_object_put(arr);
    if (!r->s->nrules) {
        add_verdict(r, "faults-fired", GR_SKIP, "no fault rules declared");
    } else if (vm_dead(r)) {
        add_verdict(r, "faults-fired", GR_SKIP, "not judged: the VM died");
    } else if (ul) {
        add_verdict(r, "faults-fired", GR_FAIL, "rule(s) never fired: %s", unfired);
    } else {
        add_verdict(r, "faults-fired", GR_PASS, "every declared rule fired");
    }
}

static void disarm(Run *r)
{
    for (int i = 0; i < r->nkfault; i++) {
        char cmd[256];

        snprintf(cmd, sizeof(cmd), "echo 0 > /sys/kernel/debug/%s/probability; "
                 "[ -e /sys/kernel/debug/%s/inject ] && echo > "
                 "/sys/kernel/debug/%s/inject; true", r->kfault_dirs[i],
                 r->kfault_dirs[i], r->kfault_dirs[i]);
        guest_ok(r, cmd, 10);
    }
    r->kfault_armed = false;
    for (int i = 0; i < r->ndev; i++) {
        Device *d = &r->dev[i];

        if (d->present && gt_has_faults(r->t)) {
            harvest(r, d, true);
            set_faults(r, d, r->t->fault_set, "");
        }
    }
}

/* The guest's gcov data into gcov/guest/ (mirroring the build paths the
 * kernel shows under /sys/kernel/debug/gcov); QEMU writes its own into
 * gcov/qemu/ at exit (vm.c).  gauntlet coverage turns both into lcov
 * tracefiles.  Missing data is not a verdict: a stock kernel has none. */
static void collect_gcov(Run *r)
{
    char host[4200], err[512];
    int n;

    snprintf(host, sizeof(host), "%s/gcov/guest", r->dir);
    n = gf_fetch(r->vm->agent, "/sys/kernel/debug/gcov", ".gcda", host, 30000,
                 err, sizeof(err));
    if (n < 0) {
        logf_(r, "coverage: guest gcov data not collected: %s", err);
    } else if (n > 0) {
        logf_(r, "coverage: %d gcov data file(s) from the guest in gcov/guest", n);
    }
}

static void judge(Run *r)
{
    GrStatus before = r->status;
    bool alive = r->vm && !vm_dead(r) && gvm_running(r->vm);
    bool dev_ok = r->ndev > 0 && r->dev[0].present;

    if (alive) {
        for (int i = 0; i < r->nwl; i++) {
            if (r->wl[i].running) {
                stop_workload(r, &r->wl[i], false, 60, 0, false);
            }
        }
    }
    verdict_faults(r);
    if (alive && !vm_dead(r)) {
        disarm(r);
    }

    /* data integrity, in the guest */
    if (!r->integrity_written) {
        add_verdict(r, "integrity-guest", GR_SKIP, "no integrity region was "
                    "written (the driver never loaded with faults off)");
    } else if (!alive || vm_dead(r)) {
        add_verdict(r, "integrity-guest", GR_SKIP, "the VM is gone");
    } else if (!r->module_loaded || !dev_ok) {
        add_verdict(r, "integrity-guest", GR_SKIP, "driver unloaded or device "
                    "removed; checked on the host only");
    } else if (wait_ready(r, (double)r->t->ready_timeout, true) < 0) {
        add_verdict(r, "integrity-guest", GR_SKIP, "device not ready at the end "
                    "(as the scenario left it); checked on the host only");
    } else {
        char *v = expand_integrity(r, r->t->integrity_verify, NULL);
        ga_result res;

        if (v && guest(r, v, 300, &res) == 0) {
            if (ga_result_ok(&res)) {
                add_verdict(r, "integrity-guest", GR_PASS, "%ld blocks read back "
                            "intact", r->t->integrity_blocks);
            } else {
                add_verdict(r, "integrity-guest", GR_FAIL, "read-back of the "
                            "acknowledged writes failed: %s",
                            tail_of(res.err_len ? res.err : res.out, 400));
            }
        }
        ga_result_free(&res);
        free(v);
    }

    /* the module unloads cleanly */
    if (!alive || vm_dead(r)) {
        add_verdict(r, "unload", GR_SKIP, "the VM is gone");
    } else if (!r->module_loaded) {
        add_verdict(r, "unload", GR_SKIP, "module not loaded at the end");
    } else {
        ga_result res;

        if (guest(r, r->t->unload, 120, &res) == 0) {
            if (ga_result_ok(&res)) {
                r->module_loaded = false;
                add_verdict(r, "unload", GR_PASS, "%s", r->t->unload);
            } else {
                add_verdict(r, "unload", GR_FAIL, "'%s' exited %d: %s",
                            r->t->unload, exit_status(&res), tail_of(res.err, 300));
            }
        } else {
            add_verdict(r, "unload", GR_FAIL, "'%s' did not finish", r->t->unload);
        }
        ga_result_free(&res);
    }

    /* kmemleak, where the kernel has it */
    if (alive && !vm_dead(r)) {
        ga_result res;
        const char *k = "k=/sys/kernel/debug/kmemleak; [ -e $k ] || exit 3; "
                        "echo scan > $k; sleep 1; echo scan > $k; cat $k";

        if (guest(r, k, 120, &res) == 0) {
            if (res.exit_kind == GA_EXIT_CODE && res.exit_code == 3) {
                add_verdict(r, "kmemleak", GR_SKIP, "kernel without kmemleak");
            } else if (res.out_len) {
                save_text(r, "kmemleak.txt", res.out, res.out_len);
                add_verdict(r, "kmemleak", GR_FAIL, "kmemleak reports leaks (see "
                            "kmemleak.txt): %.200s", res.out);
            } else {
                add_verdict(r, "kmemleak", GR_PASS, "no leaks reported");
            }
        }
        ga_result_free(&res);
        if (guest(r, "dmesg", 60, &res) == 0 && res.out_len) {
            save_text(r, "kernel.log", res.out, res.out_len);
        }
        ga_result_free(&res);
    } else {
        add_verdict(r, "kmemleak", GR_SKIP, "the VM is gone");
    }

    /* coverage of the modules built with gcov (GCOV_PROFILE on a kernel
     * with CONFIG_GCOV_KERNEL), after the unload: gcov_persist keeps an
     * unloaded module's counts, so its exit path counts too */
    if (alive && !vm_dead(r)) {
        collect_gcov(r);
    }

    /* stop QEMU: the backing files are complete after this */
    if (r->vm) {
        gvm_stop(r->vm, 15000);
        r->vm = NULL;
    }

    /* data integrity, in the host backing file */
    if (!r->integrity_written) {
        add_verdict(r, "integrity-host", GR_SKIP, "no integrity region was written");
    } else {
        char *cmd = expand_integrity(r, r->t->integrity_host_verify, r->dev[0].backing);

        if (cmd) {
            char out[4200];
            int st;

            snprintf(out, sizeof(out), "%s/integrity-host.txt", r->dir);
            {
                char *full;

                if (asprintf(&full, "%s >'%s' 2>&1", cmd, out) < 0) {
                    abort();
                }
                logf_(r, "host$ %s", cmd);
                st = system(full);
                free(full);
            }
            if (st == 0) {
                add_verdict(r, "integrity-host", GR_PASS, "%ld blocks intact in %s",
                            r->t->integrity_blocks, r->dev[0].backing);
            } else {
                char *t = gvm_file_tail(out, 400);

                add_verdict(r, "integrity-host", GR_FAIL, "backing file check "
                            "failed: %s", t);
                free(t);
            }
            free(cmd);
        }
    }

    /* the kernel log: oops, BUG, WARNING, lockdep, KASAN, hung tasks... */
    {
        char path[4200];
        char *log;
        size_t len;

        snprintf(path, sizeof(path), "%s/console.log", r->dir);
        log = gvm_file_read(path, 0, &len);
        if (!len) {
            add_verdict(r, "kernel-log", GR_SKIP, "no console log");
        } else {
            GvOptions gopt = { .allow = r->cfg->kernel_allow,
                               .n_allow = r->cfg->n_kernel_allow };
            GvReport *rep = gv_judge(log, len, NULL, &gopt);

            verdict_kfault(r, log, len);

            if (rep && gv_failed(rep)) {
                char *sum = gv_format_summary(rep);
                char *first = gv_format(&rep->findings[0]);

                save_text(r, "kernel-verdict.txt", sum, strlen(sum));
                add_verdict(r, "kernel-log", GR_FAIL, "%s (%zu report(s), %zu "
                            "distinct; see kernel-verdict.txt)", first, rep->n,
                            rep->n_unique);
                free(sum);
                free(first);
            } else if (rep && rep->error) {
                add_verdict(r, "kernel-log", GR_FAIL, "known-issues list: %s",
                            rep->error);
            } else if (rep && rep->n_allowed) {
                add_verdict(r, "kernel-log", GR_PASS, "no kernel reports in %u lines "
                            "but %zu known kernel issue(s) of the known-issues "
                            "list", rep->n_lines, rep->n_allowed);
            } else if (rep) {
                add_verdict(r, "kernel-log", GR_PASS, "no kernel reports in %u lines",
                            rep->n_lines);
            }
            gv_report_free(rep);
            for (int i = 0; i < r->nforbid; i++) {
                if (r->forbid[i].from < (long)len) {
                    long off = match_lines(&r->forbid[i].re, log + r->forbid[i].from);

                    if (off >= 0) {
                        add_verdict(r, "forbid-log", GR_FAIL, "%s:%d: forbidden "
                                    "pattern /%s/ appeared in the kernel log",
                                    r->s->file, r->forbid[i].line,
                                    r->forbid[i].pattern);
                    }
                }
            }
        }
        for (int i = 0; i < r->nforbid; i++) {
            regfree(&r->forbid[i].re);
        }
        free(log);
    }

    /* the first failed verdict becomes the reason, unless a step failed */
    for (int i = 0; i < r->nverdicts; i++) {
        if (r->verdicts[i].status == GR_FAIL &&
            (before == GR_PASS || before == GR_SKIP) &&
            (r->status == GR_PASS || r->status == GR_SKIP)) {
            r->status = GR_FAIL;
            r->kind = r->verdicts[i].name;
            snprintf(r->reason, sizeof(r->reason), "verdict %s: %s",
                     r->verdicts[i].name, r->verdicts[i].detail);
        }
    }
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
    json_object_object_add(o, "kind", json_object_new_string(r->kind ? r->kind : ""));
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
    snprintf(path, sizeof(path), "%s/result.json", r->dir);
    json_object_to_file_ext(path, o, JSON_C_TO_STRING_PRETTY);
    json_object_put(o);
}

/* Split a faults step's text on ';' (the grammar's separator), one text
 * per scenario rule, for faults.json. */
static bool rule_text(const GsStep *st, bool not_first, void *ctx)
{
    Run *r = ctx;
    char *copy, *save, *tok;
    int k = st->u.faults.first_rule;

    if (st->type != GS_STEP_FAULTS || !st->u.faults.nrules) {
        return false;
    }
    copy = strdup(st->u.faults.rules);
    for (tok = strtok_r(copy, ";", &save); tok && k < r->s->nrules;
         tok = strtok_r(NULL, ";", &save)) {
        while (*tok == ' ' || *tok == '\n') {
            tok++;
        }
        if (*tok) {
            r->rule_text[k++] = strdup(tok);
        }
    }
    free(copy);
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

/* A hotplug step naming a device that found no root port. */
static bool is_portless_hotplug(const GsStep *st, bool not_first, void *ctx)
{
    return st->type == GS_STEP_HOTPLUG && !find_dev(ctx, st->u.hotplug.device);
}

int gr_validate(const GsScenario *s, const GtTarget *t, const GrConfig *cfg,
                char *err, size_t errlen)
{
    Run r = { 0 };
    const GsStep *st;

    if ((st = walk_steps(s->steps, s->nsteps, true, is_faults, NULL)) &&
        !gt_has_faults(t)) {
        snprintf(err, errlen, "%s:%d:%d: step 'faults' needs a device fault "
                 "engine, and target '%s' has none", s->file, st->line, st->col,
                 t->name);
        return -1;
    }
    if ((st = walk_steps(s->steps, s->nsteps, true, is_late_boot, NULL))) {
        snprintf(err, errlen, "%s:%d:%d: 'boot' may only be the first step "
                 "(it starts the VM)", s->file, st->line, st->col);
        return -1;
    }
    r.s = s;
    r.t = t;
    collect_devices(&r);
    if ((st = walk_steps(s->steps, s->nsteps, true, is_portless_hotplug, &r))) {
        snprintf(err, errlen, "%s:%d:%d: at most %d devices (one per PCIe root "
                 "port)", s->file, st->line, st->col, MAX_DEVICES);
        return -1;
    }
    (void)cfg;
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
    r.t0 = gvm_now();
    r.deadline = r.t0 + (double)s->timeout;
    r.seed = cfg->seed;
    snprintf(r.dir, sizeof(r.dir), "%s", dir);
    mkdir(dir, 0755);
    snprintf(path, sizeof(path), "%s/steps.log", dir);
    r.steps_log = fopen(path, "w");
    snprintf(path, sizeof(path), "%s/qmp-transcript.txt", dir);
    r.qmp_tx = fopen(path, "w");
    snprintf(path, sizeof(path), "%s/agent-transcript.txt", dir);
    r.agent_tx = fopen(path, "w");
    r.fired = calloc((size_t)s->nrules + 1, sizeof(*r.fired));
    r.rule_text = calloc((size_t)s->nrules + 1, sizeof(*r.rule_text));
    walk_steps(s->steps, s->nsteps, true, rule_text, &r);
    collect_devices(&r);
    logf_(&r, "scenario %s (%s), target %s, kernel %s, seed %" PRIu64,
          s->name, s->file, t->name, s->kernel == GS_KERNEL_DEBUG ? "debug" :
          "stock", r.seed);

    if (cfg->shell) {
        /* the scenario's devices and boot options, a shell instead of steps */
        const GsStep *b = s->nsteps && s->steps[0].type == GS_STEP_BOOT ?
                          &s->steps[0] : NULL;

        boot(&r, b);
        fprintf(stderr, "gauntlet shell: %s\n", r.reason);
        return GR_ERROR;
    }
    r.start = "cold";
    {
        int done = cfg->snapshot ? snapshot_start(&r) : 0;

        if (done >= 0) {
            run_steps(&r, s->steps + done, s->nsteps - (size_t)done);
        }
    }
    judge(&r);
    if (r.vm) {
        gvm_stop(r.vm, 5000);
    }
    dur = gvm_now() - r.t0;
    logf_(&r, "result: %s%s%s (%.1f s)", gr_status_name(r.status),
          r.reason[0] ? ": " : "", r.reason, dur);
    write_result(&r, dur);
    for (int k = 0; k < s->nrules; k++) {
        free(r.rule_text[k]);
    }
    free(r.rule_text);
    free(r.fired);
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
