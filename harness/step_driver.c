/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Steps that drive the driver and its data: load, unload, run, workload
 * and workload_stop; the readiness poll and the integrity region written
 * once the driver is first ready with no fault armed.
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

/* ---- steps ------------------------------------------------------------------ */

int gr_wait_ready(Run *r, double timeout, bool quiet)
{
    double end = gvm_now() + timeout;

    for (;;) {
        int ok = gr_guest_ok(r, r->t->ready, READY_CHECK_S);

        if (ok != 0) {
            return ok > 0 ? 0 : -1;
        }
        if (gvm_now() >= end) {
            if (!quiet) {
                gr_fail(r, GR_FAIL, GR_FAIL_STEP, "device not ready after %.0f s "
                      "('%s' keeps failing)", timeout, r->t->ready);
            }
            return -1;
        }
        usleep(250000);
    }
}

/* A target's integrity command: the region, the seed, the backing file and
 * the target's host tools ({NAME}) as placeholders. */
char *gr_expand_integrity(Run *r, const char *tmpl, const char *backing)
{
    char lba[32], blocks[32], seed[32], bs[32], err[512];
    const char *base[] = {
        "lba", lba, "blocks", blocks, "seed", seed, "block_size", bs,
        "backing", backing ? backing : "", "gauntlet-data",
        r->cfg->host_tool ? r->cfg->host_tool : "gauntlet-data",
        "target_dir", r->t->dir, r->cfg->build ? "build" : NULL, r->cfg->build,
        NULL
    };
    char **vars, *s = NULL;

    snprintf(lba, sizeof(lba), "%ld", r->t->integrity_lba);
    snprintf(blocks, sizeof(blocks), "%ld", r->t->integrity_blocks);
    snprintf(seed, sizeof(seed), "%" PRIu64, r->seed);
    snprintf(bs, sizeof(bs), "%ld", r->t->block_size);
    vars = gt_tool_vars(r->t, r->cfg->build, base, err, sizeof(err));
    if (vars) {
        s = gt_expand(tmpl, (const char *const *)vars, err, sizeof(err));
        gt_vars_free(vars);
    }
    if (!s) {
        gr_fail(r, GR_ERROR, GR_FAIL_ERROR, "target %s: %s", r->t->name, err);
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

int gr_unload(Run *r, GsExpect expect);

bool gr_any_present(Run *r)
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
int gr_write_integrity(Run *r)
{
    char *w;
    int ok;

    if (r->integrity_written || !r->t->integrity_write[0] ||
        any_faults_armed(r) || !r->dev[0].present) {
        return 0;
    }
    w = gr_expand_integrity(r, r->t->integrity_write, NULL);
    if (!w) {
        return -1;
    }
    ok = gr_guest_ok(r, w, 300);
    if (ok > 0) {
        r->integrity_written = true;
    } else if (ok == 0) {
        gr_fail(r, GR_FAIL, GR_FAIL_INTEGRITY, "writing the integrity region failed: %s", w);
    }
    free(w);
    return ok > 0 ? 0 : -1;
}

int gr_step_load(Run *r, const GsStep *st)
{
    char err[512], *cmd, *sc;
    const char *vars[] = { "params", st->u.load.params, NULL };
    ga_result res;
    int rc, ok;

    cmd = gt_expand(r->t->load, vars, err, sizeof(err));
    if (!cmd) {
        return gr_fail(r, GR_ERROR, GR_FAIL_ERROR, "target %s: %s", r->t->name, err);
    }
    sc = gr_scoped(r, cmd);
    rc = gr_guest(r, sc, 120, &res);
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
            rc = gr_fail(r, GR_FAIL, GR_FAIL_STEP, "load '%s' failed (exit %d): %s",
                       cmd, gr_exit_status(&res), gr_tail(res.err, 300));
        } else if (!gr_any_present(r)) {
            /* nothing to bind yet (a scenario that hot-plugs it later) */
        } else if (gr_wait_ready(r, (double)r->t->ready_timeout, false) == 0) {
            if (!r->ready_s) {
                r->ready_s = gvm_now() - r->vm->t_exec;
            }
            rc = gr_write_integrity(r);
        } else {
            rc = -1;
        }
    } else {
        /* A PCI driver's insmod succeeds even when probe fails: "fail"
         * means the device does not become usable. */
        if (ok && gr_wait_ready(r, 3, true) == 0) {
            rc = gr_fail(r, GR_FAIL, GR_FAIL_STEP, "load '%s' was expected to fail, "
                       "but the device became ready", cmd);
        } else if (r->status != GR_PASS) {
            rc = -1;
        } else if (ok) {
            /* insmod worked and probe failed: the module must still
             * unload cleanly, and the next load starts from scratch */
            rc = gr_unload(r, GS_EXPECT_OK);
        }
    }
    free(cmd);
    ga_result_free(&res);
    return rc;
}

int gr_unload(Run *r, GsExpect expect)
{
    ga_result res;
    int rc, ok;

    rc = gr_guest(r, r->t->unload, 120, &res);
    if (rc < 0) {
        ga_result_free(&res);
        return -1;
    }
    ok = ga_result_ok(&res);
    if (ok) {
        r->module_loaded = false;
    }
    if (expect == GS_EXPECT_OK && !ok) {
        rc = gr_fail(r, GR_FAIL, GR_FAIL_STEP, "unload '%s' failed (exit %d): %s",
                   r->t->unload, gr_exit_status(&res), gr_tail(res.err, 300));
    } else if (expect == GS_EXPECT_FAIL && ok) {
        rc = gr_fail(r, GR_FAIL, GR_FAIL_STEP, "unload was expected to fail but succeeded");
    }
    ga_result_free(&res);
    return rc;
}

static int match_re(Run *r, const char *pattern, const char *text, bool *m)
{
    regex_t re;

    if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB)) {
        return gr_fail(r, GR_ERROR, GR_FAIL_ERROR, "bad regex '%s'", pattern);
    }
    *m = regexec(&re, text ? text : "", 0, NULL, 0) == 0;
    regfree(&re);
    return 0;
}

int gr_capture(Run *r, const char *name, const char *out, size_t len,
               char *err, size_t errlen)
{
    int i;

    while (len && strchr(" \t\r\n\v\f", out[0])) {
        out++;
        len--;
    }
    while (len && strchr(" \t\r\n\v\f", out[len - 1])) {
        len--;
    }
    if (!len) {
        snprintf(err, errlen, "capture %s: the command printed nothing (blanks "
                 "aside): expected a value", name);
        return -1;
    }
    if (len > GS_MAX_CAPTURE_LEN) {
        snprintf(err, errlen, "capture %s: the command printed %zu bytes (blanks "
                 "around them aside), expected at most %d", name, len,
                 GS_MAX_CAPTURE_LEN);
        return -1;
    }
    if (memchr(out, '\0', len)) {
        snprintf(err, errlen, "capture %s: the output holds a NUL byte", name);
        return -1;
    }
    for (i = 0; i < r->ncapture && strcmp(r->capture[i].name, name); i++) {
    }
    if (i == GS_MAX_CAPTURES) {
        snprintf(err, errlen, "capture %s: more than %d names", name,
                 GS_MAX_CAPTURES);
        return -1;
    }
    if (i == r->ncapture) {
        snprintf(r->capture[i].name, sizeof(r->capture[i].name), "%s", name);
        r->ncapture++;
    }
    memcpy(r->capture[i].value, out, len);
    r->capture[i].value[len] = '\0';
    gr_log(r, "captured %s = '%s'", name, r->capture[i].value);
    return 0;
}

const char *gr_captured(void *run, const char *name, size_t len)
{
    Run *r = run;

    for (int i = 0; i < r->ncapture; i++) {
        if (strlen(r->capture[i].name) == len &&
            !memcmp(r->capture[i].name, name, len)) {
            return r->capture[i].value;
        }
    }
    return NULL;
}

int gr_step_run(Run *r, const GsStep *st)
{
    ga_result res;
    char *cmd = gr_scoped(r, st->u.run.cmd);
    int rc = gr_guest(r, cmd, st->u.run.timeout, &res);
    bool m;

    free(cmd);
    if (rc < 0) {
        ga_result_free(&res);
        return -1;
    }
    if (res.timed_out) {
        rc = gr_fail(r, GR_FAIL, GR_FAIL_STEP, "'%s' timed out after %.1f s",
                   st->u.run.cmd, st->u.run.timeout);
    } else if (gr_exit_status(&res) != st->u.run.expect_exit) {
        rc = gr_fail(r, GR_FAIL, GR_FAIL_STEP, "'%s' exited %d, expected %" PRId64 ": %s",
                   st->u.run.cmd, gr_exit_status(&res), st->u.run.expect_exit,
                   gr_tail(res.err_len ? res.err : res.out, 300));
    } else if (st->u.run.expect_stdout &&
               (match_re(r, st->u.run.expect_stdout, res.out, &m) < 0 || !m)) {
        rc = gr_fail(r, GR_FAIL, GR_FAIL_STEP, "'%s': stdout does not match /%s/",
                   st->u.run.cmd, st->u.run.expect_stdout);
    } else if (st->u.run.expect_stderr &&
               (match_re(r, st->u.run.expect_stderr, res.err, &m) < 0 || !m)) {
        rc = gr_fail(r, GR_FAIL, GR_FAIL_STEP, "'%s': stderr does not match /%s/",
                   st->u.run.cmd, st->u.run.expect_stderr);
    } else if (st->u.run.capture) {
        char err[256];

        if (res.out_dropped) {
            rc = gr_fail(r, GR_FAIL, GR_FAIL_STEP, "'%s': capture %s: %" PRIu64
                         " bytes of stdout were not kept: expected at most %d",
                         st->u.run.cmd, st->u.run.capture, res.out_total,
                         GS_MAX_CAPTURE_LEN);
        } else if (gr_capture(r, st->u.run.capture, res.out ? res.out : "",
                              res.out_len, err, sizeof(err)) < 0) {
            rc = gr_fail(r, GR_FAIL, GR_FAIL_STEP, "'%s': %s", st->u.run.cmd, err);
        }
    }
    ga_result_free(&res);
    return rc;
}

Workload *gr_find_workload(Run *r, const char *name)
{
    for (int i = 0; i < r->nwl; i++) {
        if (r->wl[i].running && !strcmp(r->wl[i].name, name)) {
            return &r->wl[i];
        }
    }
    return NULL;
}

int gr_step_workload(Run *r, const GsStep *st)
{
    ga_cmd c = { 0 };
    char *cmd = gr_scoped(r, st->u.workload.cmd);
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
        return gr_fail(r, GR_ERROR, GR_FAIL_ERROR, "more than %d workloads", MAX_WORKLOADS);
    }
    c.shell = cmd;
    c.env = gr_guest_env(r);
    gr_log(r, "guest& %s", cmd);
    rc = ga_start_cmd(r->vm->agent, &c, &w->id);
    free(cmd);
    if (rc != GA_OK) {
        return gr_vm_trouble(r, GR_FAIL_STEP, "starting workload '%s': %s",
                          st->u.workload.name, ga_last_error(r->vm->agent));
    }
    w->name = st->u.workload.name;
    w->running = true;
    return 0;
}

int gr_stop_workload(Run *r, Workload *w, bool wait, double timeout,
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
        return gr_vm_trouble(r, judge ? GR_FAIL_STEP : GR_FAIL_NONE, "workload '%s' did not end "
                          "within %.0f s: %s", w->name, timeout,
                          ga_last_error(r->vm->agent));
    }
    {
        char d[256];

        gr_log(r, "workload '%s' ended: %s; stdout: %s; stderr: %s", w->name,
              ga_result_describe(&res, d, sizeof(d)), gr_tail(res.out, 1500),
              gr_tail(res.err, 1500));
    }
    rc = 0;
    if (judge) {
        /* Stopped by our SIGTERM and exiting on it counts as a clean end. */
        int st = gr_exit_status(&res);

        if (!wait && res.exit_kind == GA_EXIT_SIGNAL && res.signal == SIGTERM) {
            st = 0;
        }
        if (st != expect) {
            rc = gr_fail(r, GR_FAIL, GR_FAIL_STEP, "workload '%s' exited %d, expected "
                       "%" PRId64 ": %s", w->name, st, expect,
                       gr_tail(res.err_len ? res.err : res.out, 300));
        }
    }
    ga_result_free(&res);
    return rc;
}

int gr_step_unload(Run *r, const GsStep *st)
{
    return gr_unload(r, st->u.unload.expect);
}

int gr_step_workload_stop(Run *r, const GsStep *st)
{
    Workload *w = gr_find_workload(r, st->u.workload_stop.name);

    if (!w) {
        return gr_fail(r, GR_ERROR, GR_FAIL_ERROR, "no workload %s",
                       st->u.workload_stop.name);
    }
    return gr_stop_workload(r, w, st->u.workload_stop.wait,
                            st->u.workload_stop.timeout,
                            st->u.workload_stop.expect_exit, true);
}
