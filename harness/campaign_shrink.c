/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shrinking: the first failing run of a signature is reduced (steps,
 * rules, workload options, driver settings) while it still fails with the
 * same signature, written as shrunk.yaml and re-run once to confirm.
 */
#define _GNU_SOURCE
#include "campaign_priv.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "junit.h"
#include "proc.h"

/* ---- shrinking ---------------------------------------------------------------- */

static void shrink_log(FILE *log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void shrink_log(FILE *log, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    if (log) {
        va_list ap2;

        va_copy(ap2, ap);
        vfprintf(log, fmt, ap2);
        va_end(ap2);
        fflush(log);
    }
    printf("  ");
    vprintf(fmt, ap);
    va_end(ap);
}

/* Run candidate schedules (at most jobs of them) and return the index of
 * the first that still fails with signature sig, or -1. */
static int try_candidates(Campaign *c, Sig *g, const char *dir, CsSchedule *cand,
                          int ncand, int *tryno, FILE *log)
{
    char *files[64], names[64][96], batchdir[4300];
    int n = 0, hit = -1, rc;

    for (int i = 0; i < ncand && i < 64; i++) {
        char err[8192], path[4300];

        /* short: QEMU's sockets live in the run folder, 107 bytes at most */
        snprintf(names[n], sizeof(names[n]), "s%zut%03d", (size_t)(g - c->sigs), ++*tryno);
        snprintf(path, sizeof(path), "%s/%s.yaml", dir, names[n]);
        if (cs_write_scenario(&cand[i], names[n], path, err, sizeof(err)) < 0) {
            shrink_log(log, "candidate %s not written: %s\n", names[n], err);
            files[n] = NULL;
        } else {
            files[n] = cp_strdup(path);
        }
        n++;
    }
    snprintf(batchdir, sizeof(batchdir), "%s/shrink/%zu/%03d", c->out,
             (size_t)(g - c->sigs), *tryno);
    {
        char *valid[64];
        size_t nv = 0;

        for (int i = 0; i < n; i++) {
            if (files[i]) {
                valid[nv++] = files[i];
            }
        }
        rc = nv ? cp_run_runner(c, batchdir, valid, nv, c->jobs,
                             cp_batch_deadline(nv, c->jobs)) : 0;
    }
    if (rc == 2) {
        shrink_log(log, "the runner refused a candidate (see above); skipped\n");
    }
    for (int i = 0; i < n; i++) {
        Result r;
        char sig[512];

        if (!files[i]) {
            continue;
        }
        cp_read_result(batchdir, names[i], &r);
        cs_signature(&(CsFailure){ r.status, r.fkind, r.fverdict, r.fstep },
                     r.artifacts, sig, sizeof(sig));
        shrink_log(log, "  %s: %s (%s)%s\n", names[i], r.status, sig,
                   !strcmp(r.status, "fail") && !strcmp(sig, g->sig) ? "  same signature" : "");
        if (hit < 0 && !strcmp(r.status, "fail") && !strcmp(sig, g->sig)) {
            hit = i;
        }
        free(r.reason);
        free(files[i]);
    }
    return hit;
}

/*
 * Reductions a signature must not take.  kfault-fired fails when an armed
 * kernel fault was never reported with the driver on the stack; without
 * the workload (the I/O that reaches the driver's sites, and that arms
 * fail-nth in gauntlet enumerate --kfault) nothing is injected, so the
 * candidate fails kfault-fired trivially, for another reason than the run
 * it came from, and would be kept as a "reproduction" that proves nothing.
 */
static bool reduction_allowed(const Sig *g, const CsSchedule *s, const CsReduction *r)
{
    if (!strcmp(g->sig, "verdict:kfault-fired") && r->kind == CS_RED_STEP &&
        s->steps[r->a].kind == CS_WORKLOAD_START) {
        return false;
    }
    return true;
}

void cp_shrink_signature(Campaign *c, Sig *g, const CsGenOptions *go)
{
    const Run *first = &c->runs[g->first];
    CsSchedule cur, *cand = calloc((size_t)c->jobs, sizeof(*cand));
    CsReduction red[256], pick[64];
    char dir[4300], path[4400], name[96];
    int tryno = 0, start = 0;
    bool improved_this_pass = false;
    double t_end = cp_now() + c->shrink_time;
    FILE *log;

    snprintf(dir, sizeof(dir), "%s/failures/%s", c->out, g->id);
    cp_mkdir_p(dir);
    snprintf(path, sizeof(path), "%s/shrink.log", dir);
    log = fopen(path, "w");
    if (c->scheds) {
        cur = c->scheds[g->first];
    } else {
        cs_generate(&cur, c->seed, first->index, go);
    }
    g->size_before = cs_size(&cur);
    printf("gauntlet-campaign: shrinking %s (run %" PRIu64 ", size %d): %s\n",
           g->id, first->index, g->size_before, g->sig);
    if (log) {
        fprintf(log, "signature: %s\nfrom run %" PRIu64 " of seed %" PRIu64 " (%s)\n",
                g->sig, first->index, c->seed, first->file);
    }
    for (;;) {
        int nred = cs_reductions(&cur, red, 256), npick = 0, hit;

        if (start >= nred) {
            if (!improved_this_pass) {
                break;
            }
            improved_this_pass = false;
            start = 0;
            continue;
        }
        if (g->attempts >= c->shrink_attempts || cp_now() > t_end) {
            snprintf(g->shrink_note, sizeof(g->shrink_note), "stopped at the %s bound",
                     g->attempts >= c->shrink_attempts ? "attempt" : "time");
            shrink_log(log, "%s\n", g->shrink_note);
            break;
        }
        while (start < nred && npick < c->jobs && npick < 64 &&
               g->attempts + npick < c->shrink_attempts) {
            if (reduction_allowed(g, &cur, &red[start]) &&
                cs_reduce(&cur, &red[start], &cand[npick]) == 0) {
                pick[npick++] = red[start];
            }
            start++;
        }
        if (!npick) {
            continue;
        }
        for (int i = 0; i < npick; i++) {
            char what[256];

            cs_reduction_describe(&cur, &pick[i], what, sizeof(what));
            shrink_log(log, "try %d: %s\n", tryno + i + 1, what);
        }
        g->attempts += npick;
        hit = try_candidates(c, g, dir, cand, npick, &tryno, log);
        if (hit >= 0) {
            char what[256];

            cs_reduction_describe(&cur, &pick[hit], what, sizeof(what));
            shrink_log(log, "kept: %s (size %d -> %d)\n", what, cs_size(&cur),
                       cs_size(&cand[hit]));
            /* go on where this reduction was in the smaller schedule's list:
             * the reductions before it were tried on a larger schedule */
            start = cs_reductions(&cand[hit], red, 256);
            for (int i = 0, nr = start; i < nr; i++) {
                if ((red[i].kind == pick[hit].kind && red[i].a >= pick[hit].a) ||
                    red[i].kind > pick[hit].kind) {
                    start = i;
                    break;
                }
            }
            cur = cand[hit];
            improved_this_pass = true;
        }
    }
    free(cand);
    g->size_after = cs_size(&cur);
    if (c->scheds) {
        snprintf(cur.origin, sizeof(cur.origin),
                 "Shrunk by gauntlet enumerate from its run %s (%d of %d schedule "
                 "items left). It failed with signature: %s", first->name,
                 g->size_after, g->size_before, g->sig);
    } else {
        snprintf(cur.origin, sizeof(cur.origin),
                 "Shrunk by gauntlet campaign from seed %" PRIu64 ", run %" PRIu64
                 " (%d of %d schedule items left). It failed with signature: %s",
                 c->seed, first->index, g->size_after, g->size_before, g->sig);
    }
    snprintf(name, sizeof(name), "shrunk-%.8s", g->id + 4);
    snprintf(g->shrunk, sizeof(g->shrunk), "%s/shrunk.yaml", dir);
    {
        char err[8192];

        if (cs_write_scenario(&cur, name, g->shrunk, err, sizeof(err)) < 0) {
            shrink_log(log, "cannot write %s: %s\n", g->shrunk, err);
            g->shrunk[0] = 0;
            if (log) {
                fclose(log);
            }
            return;
        }
    }
    g->shrunk_done = true;
    /* confirm: the written file, run once more */
    {
        char *files[1] = { g->shrunk }, cdir[4400], sig[512];
        Result r;

        snprintf(cdir, sizeof(cdir), "%s/shrink/%zu/confirm", c->out,
                 (size_t)(g - c->sigs));
        cp_run_runner(c, cdir, files, 1, 1, cp_batch_deadline(1, 1));
        cp_read_result(cdir, name, &r);
        cs_signature(&(CsFailure){ r.status, r.fkind, r.fverdict, r.fstep },
                     r.artifacts, sig, sizeof(sig));
        g->confirmed_run = true;
        g->reproduced = !strcmp(r.status, "fail") && !strcmp(sig, g->sig);
        shrink_log(log, "confirm %s: %s (%s): %s\n", g->shrunk, r.status, sig,
                   g->reproduced ? "reproduces" : "DOES NOT reproduce");
        free(r.reason);
    }
    if (log) {
        fclose(log);
    }
}
