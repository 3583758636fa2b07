/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gauntlet-campaign: fault-injection campaigns (docs/campaigns.md).
 *
 *   gauntlet-campaign --seed S --runs N [--shard K/M] [--time T] [-j N] ...
 *   gauntlet-campaign merge DIR... --out DIR
 *
 * Run i of seed S draws a schedule from its own random stream
 * (campaign_gen.c), written as an ordinary scenario file.  The files go
 * through gauntlet-runner in batches; each failing run gets a signature
 * (campaign_sig.c), failures are grouped by it, and the first failing run
 * of each signature is shrunk to a small scenario that still fails with
 * the same signature, then re-run once to confirm it.
 *
 * Exit status: 0 nothing failed or errored, 1 a run failed or errored,
 * 2 bad usage or a harness problem (a generated file the runner refused).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "campaign.h"
#include "campaign_gen.h"
#include "campaign_sig.h"
#include "campaign_vocab.h"
#include "target.h"
#include "junit.h"
#include "proc.h"

typedef struct Run {
    uint64_t index;
    char name[80];
    char file[4200];
    bool ran;
    char status[16];            /* pass fail skip error */
    char kind[64];
    char fkind[32], fverdict[64], fstep[32];    /* result.json "failure" */
    char *reason;
    char artifacts[4200];
    char start[16];             /* "snapshot" / "cold" when the runner says */
    double duration;
    char sig[512];
    int boot_retries;           /* runs again once when its guest did not boot */
} Run;

typedef struct Sig {
    char sig[512];
    char id[64];
    size_t count;
    size_t first;               /* index into runs */
    char shrunk[4200];
    int size_before, size_after, attempts;
    bool shrunk_done, reproduced, confirmed_run;
    char shrink_note[256];
} Sig;

typedef struct Campaign {
    /* options */
    uint64_t seed, nruns;
    unsigned shard_k, shard_m;
    double time_limit;          /* 0: none */
    bool debug;
    const char *target;
    const char *targets_dir;
    CvVocab *vocab;             /* targets_dir/target/campaign.yaml */
    GtTarget *checker;          /* targets_dir/target/target.yaml, if any */
    int jobs, batch;
    const char *out;
    const char *runner;
    const char **runner_args;
    size_t nrunner_args;
    bool snapshot;
    char snapshot_dir[4200];    /* "" when the runner has no --snapshot-dir */
    bool shrink;
    int shrink_attempts;
    double shrink_time;
    /* state */
    Run *runs;
    size_t nruns_sel;
    Sig *sigs;
    size_t nsigs;
    int nbatch;
    double t0, run_wall;
    bool stopped_by_time;
} Campaign;

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s ? s : "");

    if (!d) {
        abort();
    }
    return d;
}

static int mkdir_p(const char *path)
{
    char buf[4200];

    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            if (mkdir(buf, 0755) && errno != EEXIST) {
                return -1;
            }
            *p = '/';
        }
    }
    if (mkdir(buf, 0755) && errno != EEXIST) {
        return -1;
    }
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f,
"usage: gauntlet-campaign --seed S --runs N [OPTIONS]\n"
"       gauntlet-campaign merge DIR... --out DIR\n"
"  --seed S               campaign seed (0..2^64-1)\n"
"  --runs N               runs in the whole campaign (1..10000000)\n"
"  --shard K/M            this shard's runs: index i with i %% M == K-1\n"
"  --time T               start no new batch after T seconds\n"
"  --kernel stock|debug   guest kernel; debug adds kernel faults (kfault)\n"
"  --targets DIR          the targets folder: DIR/NAME/campaign.yaml is the\n"
"                         vocabulary the runs are drawn from\n"
"  --target NAME          the target (./gauntlet passes its default)\n"
"  -j N                   runs in parallel (runner -j, default 2)\n"
"  --batch N              runs per runner invocation (default 20; with\n"
"                         --time, 2 x -j so the limit is checked often)\n"
"  --out DIR              results (default results/campaign-s<seed>-<time>)\n"
"  --runner PATH          the gauntlet-runner to use\n"
"  --runner-arg ARG       pass ARG to every runner invocation (repeat)\n"
"  --no-shrink            group failures, do not shrink them\n"
"  --shrink-attempts N    candidate runs per signature (default 40)\n"
"  --shrink-time S        seconds per signature (default 1800)\n"
"  --generate-only DIR    write the selected runs' scenario files, run nothing\n");
}

static int parse_u64(const char *opt, const char *s, uint64_t lo, uint64_t hi,
                     uint64_t *out)
{
    char *end;
    unsigned long long v;

    errno = 0;
    if (!s || !*s || *s == '-') {
        goto bad;
    }
    v = strtoull(s, &end, 0);
    if (errno || *end || v < lo || v > hi) {
        goto bad;
    }
    *out = v;
    return 0;
bad:
    fprintf(stderr, "gauntlet-campaign: %s wants an integer in %" PRIu64 "..%" PRIu64
            ", got '%s'\n", opt, lo, hi, s ? s : "");
    return -1;
}

/* ---- running the runner ---------------------------------------------------- */

/* Run the runner on files with --out dir; returns its exit status, or -1
 * when it could not be started or was killed at the deadline. */
static int run_runner(const Campaign *c, const char *dir, char **files, size_t n,
                      int jobs, double deadline_s)
{
    size_t argc = 0, cap = c->nrunner_args + n + 16;
    char **argv = calloc(cap, sizeof(*argv));
    char jbuf[16];
    pid_t pid;
    int ws = 0;
    double end = now_s() + deadline_s;

    argv[argc++] = (char *)c->runner;
    for (size_t i = 0; i < c->nrunner_args; i++) {
        argv[argc++] = (char *)c->runner_args[i];
    }
    snprintf(jbuf, sizeof(jbuf), "%d", jobs);
    argv[argc++] = "-j";
    argv[argc++] = jbuf;
    argv[argc++] = "--out";
    argv[argc++] = (char *)dir;
    if (c->snapshot) {
        argv[argc++] = "--snapshot";
        if (c->snapshot_dir[0]) {
            /* one snapshot for the whole campaign, shrinking included */
            argv[argc++] = "--snapshot-dir";
            argv[argc++] = (char *)c->snapshot_dir;
        }
    }
    for (size_t i = 0; i < n; i++) {
        argv[argc++] = files[i];
    }
    argv[argc] = NULL;
    if (mkdir_p(dir) < 0) {
        fprintf(stderr, "gauntlet-campaign: cannot create %s: %s\n", dir, strerror(errno));
        free(argv);
        return -1;
    }
    {
        /* the runner leads its own process group, and so does each of
         * its scenario processes (runner.c); their QEMUs die with them
         * (PR_SET_PDEATHSIG in vm.c): gp_kill_tree reaches them all */
        GpSpec sp = { .argv = argv, .output = GP_OUT_INHERIT, .own_group = true };
        char err[600];

        pid = gp_spawn(&sp, err, sizeof(err));
        free(argv);
        if (pid < 0) {
            fprintf(stderr, "gauntlet-campaign: %s\n", err);
            return -1;
        }
    }
    for (;;) {
        int w = gp_wait(pid, end - now_s(), &ws);

        if (w == 1) {
            break;
        }
        if (w < 0 && errno != EINTR) {
            return -1;
        }
        if (w == 0) {
            fprintf(stderr, "gauntlet-campaign: the runner overran its deadline "
                    "(%.0f s); killing it\n", deadline_s);
            gp_kill_tree(pid);
            waitpid(pid, &ws, 0);
            return -1;
        }
    }
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
}

/* Does the runner's usage (--help) mention this option? */
static bool runner_has_option(const char *runner, const char *option)
{
    GpSpec sp = { .argv = (char *[]){ (char *)runner, "--help", NULL },
                  .output = GP_OUT_CAPTURE, .timeout_s = 20 };
    GpResult res;
    bool has = false;

    if (gp_run(&sp, &res) < 0) {
        gp_result_free(&res);
        return false;
    }
    for (const char *m = res.out; (m = strstr(m, option)); m++) {
        char after = m[strlen(option)];

        /* the whole option, not a prefix of a longer one */
        has |= after == ' ' || after == '\n' || after == ',' || after == '=';
    }
    gp_result_free(&res);
    return has;
}

/* One scenario's result from a batch's report.json (or its result.json). */
typedef struct Result {
    char status[16], kind[64], start[16];
    char fkind[32], fverdict[64], fstep[32];    /* result.json "failure" */
    char *reason;
    char artifacts[4200];
    double duration;
    bool found;
} Result;

static void result_fill(Result *r, json_object *o)
{
    json_object *v;

    r->found = true;
    snprintf(r->status, sizeof(r->status), "%s",
             json_object_object_get_ex(o, "status", &v) ? json_object_get_string(v) : "error");
    snprintf(r->kind, sizeof(r->kind), "%s",
             json_object_object_get_ex(o, "kind", &v) ? json_object_get_string(v) : "");
    snprintf(r->start, sizeof(r->start), "%s",
             json_object_object_get_ex(o, "start", &v) ? json_object_get_string(v) : "");
    if (json_object_object_get_ex(o, "failure", &v) && json_object_is_type(v, json_type_object)) {
        json_object *k, *st;

        snprintf(r->fkind, sizeof(r->fkind), "%s", json_object_object_get_ex(v, "kind", &k) &&
                 json_object_is_type(k, json_type_string) ? json_object_get_string(k) : "");
        snprintf(r->fverdict, sizeof(r->fverdict), "%s",
                 json_object_object_get_ex(v, "verdict", &k) &&
                 json_object_is_type(k, json_type_string) ? json_object_get_string(k) : "");
        snprintf(r->fstep, sizeof(r->fstep), "%s",
                 json_object_object_get_ex(v, "step", &st) &&
                 json_object_is_type(st, json_type_object) &&
                 json_object_object_get_ex(st, "type", &k) ? json_object_get_string(k) : "");
    }
    r->reason = xstrdup(json_object_object_get_ex(o, "reason", &v) ?
                        json_object_get_string(v) : "");
    snprintf(r->artifacts, sizeof(r->artifacts), "%s",
             json_object_object_get_ex(o, "artifacts", &v) ? json_object_get_string(v) : "");
    r->duration = json_object_object_get_ex(o, "duration_s", &v) ?
                  json_object_get_double(v) : 0;
}

static void read_result(const char *dir, const char *name, Result *r)
{
    char path[4300];
    json_object *root, *arr, *v;

    memset(r, 0, sizeof(*r));
    snprintf(path, sizeof(path), "%s/report.json", dir);
    root = json_object_from_file(path);
    if (root && json_object_object_get_ex(root, "scenarios", &arr) &&
        json_object_is_type(arr, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
            json_object *o = json_object_array_get_idx(arr, i);

            if (json_object_object_get_ex(o, "name", &v) &&
                !strcmp(json_object_get_string(v), name)) {
                result_fill(r, o);
                break;
            }
        }
    }
    if (root) {
        json_object_put(root);
    }
    if (r->found) {
        return;
    }
    snprintf(path, sizeof(path), "%s/%s/result.json", dir, name);
    root = json_object_from_file(path);
    if (root) {
        result_fill(r, root);
        json_object_put(root);
        return;
    }
    snprintf(r->status, sizeof(r->status), "error");
    snprintf(r->kind, sizeof(r->kind), "no-result");
    r->reason = xstrdup("the runner wrote no result for this run");
    snprintf(r->artifacts, sizeof(r->artifacts), "%s/%s", dir, name);
}

/* Per-runner-invocation deadline: every scenario may take its timeout
 * (600 s) plus the runner's 300 s grace, j at a time, plus slack. */
static double batch_deadline(size_t n, int jobs)
{
    return (double)((n + (size_t)jobs - 1) / (size_t)jobs) * 900.0 + 600.0;
}

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
            files[n] = xstrdup(path);
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
        rc = nv ? run_runner(c, batchdir, valid, nv, c->jobs,
                             batch_deadline(nv, c->jobs)) : 0;
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
        read_result(batchdir, names[i], &r);
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

static void shrink_signature(Campaign *c, Sig *g, const CsGenOptions *go)
{
    const Run *first = &c->runs[g->first];
    CsSchedule cur, *cand = calloc((size_t)c->jobs, sizeof(*cand));
    CsReduction red[256], pick[64];
    char dir[4300], path[4400], name[96];
    int tryno = 0, start = 0;
    bool improved_this_pass = false;
    double t_end = now_s() + c->shrink_time;
    FILE *log;

    snprintf(dir, sizeof(dir), "%s/failures/%s", c->out, g->id);
    mkdir_p(dir);
    snprintf(path, sizeof(path), "%s/shrink.log", dir);
    log = fopen(path, "w");
    cs_generate(&cur, c->seed, first->index, go);
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
        if (g->attempts >= c->shrink_attempts || now_s() > t_end) {
            snprintf(g->shrink_note, sizeof(g->shrink_note), "stopped at the %s bound",
                     g->attempts >= c->shrink_attempts ? "attempt" : "time");
            shrink_log(log, "%s\n", g->shrink_note);
            break;
        }
        while (start < nred && npick < c->jobs && npick < 64 &&
               g->attempts + npick < c->shrink_attempts) {
            if (cs_reduce(&cur, &red[start], &cand[npick]) == 0) {
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
    snprintf(cur.origin, sizeof(cur.origin),
             "Shrunk by gauntlet campaign from seed %" PRIu64 ", run %" PRIu64
             " (%d of %d schedule items left). It failed with signature: %s",
             c->seed, first->index, g->size_after, g->size_before, g->sig);
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
        run_runner(c, cdir, files, 1, 1, batch_deadline(1, 1));
        read_result(cdir, name, &r);
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

/* ---- reports ---------------------------------------------------------------------- */

static void count_status(const Campaign *c, size_t counts[4], size_t *ran)
{
    static const char *const st[] = { "pass", "fail", "skip", "error" };

    *ran = 0;
    for (size_t i = 0; i < c->nruns_sel; i++) {
        if (!c->runs[i].ran) {
            continue;
        }
        (*ran)++;
        for (int k = 0; k < 4; k++) {
            if (!strcmp(c->runs[i].status, st[k])) {
                counts[k]++;
            }
        }
    }
}

static void write_reports(const Campaign *c)
{
    char path[4300], shard[32];
    size_t counts[4] = { 0 }, ran;
    json_object *root = json_object_new_object(), *arr = json_object_new_array();
    json_object *sarr = json_object_new_array();

    count_status(c, counts, &ran);
    snprintf(shard, sizeof(shard), "%u/%u", c->shard_k, c->shard_m);
    json_object_object_add(root, "tool", json_object_new_string("gauntlet-campaign"));
    json_object_object_add(root, "seed", json_object_new_uint64(c->seed));
    json_object_object_add(root, "runs", json_object_new_uint64(c->nruns));
    json_object_object_add(root, "shard", json_object_new_string(shard));
    json_object_object_add(root, "kernel", json_object_new_string(c->debug ? "debug" : "stock"));
    json_object_object_add(root, "target", json_object_new_string(c->target));
    json_object_object_add(root, "vocabulary", json_object_new_string(c->vocab->path));
    json_object_object_add(root, "selected", json_object_new_uint64(c->nruns_sel));
    json_object_object_add(root, "ran", json_object_new_uint64(ran));
    json_object_object_add(root, "stopped_by_time", json_object_new_boolean(c->stopped_by_time));
    json_object_object_add(root, "snapshot", json_object_new_boolean(c->snapshot));
    json_object_object_add(root, "jobs", json_object_new_int(c->jobs));
    json_object_object_add(root, "pass", json_object_new_uint64(counts[0]));
    json_object_object_add(root, "fail", json_object_new_uint64(counts[1]));
    json_object_object_add(root, "skip", json_object_new_uint64(counts[2]));
    json_object_object_add(root, "error", json_object_new_uint64(counts[3]));
    json_object_object_add(root, "run_wall_s", json_object_new_double(c->run_wall));
    json_object_object_add(root, "runs_per_minute", json_object_new_double(
                               c->run_wall > 0 ? (double)ran * 60.0 / c->run_wall : 0));
    json_object_object_add(root, "wall_s", json_object_new_double(now_s() - c->t0));
    for (size_t i = 0; i < c->nruns_sel; i++) {
        const Run *r = &c->runs[i];
        json_object *o;

        if (!r->ran) {
            continue;
        }
        o = json_object_new_object();
        json_object_object_add(o, "run", json_object_new_uint64(r->index));
        json_object_object_add(o, "name", json_object_new_string(r->name));
        json_object_object_add(o, "file", json_object_new_string(r->file));
        json_object_object_add(o, "status", json_object_new_string(r->status));
        json_object_object_add(o, "kind", json_object_new_string(r->kind));
        json_object_object_add(o, "reason", json_object_new_string(r->reason ? r->reason : ""));
        json_object_object_add(o, "signature", json_object_new_string(r->sig));
        json_object_object_add(o, "artifacts", json_object_new_string(r->artifacts));
        json_object_object_add(o, "duration_s", json_object_new_double(r->duration));
        json_object_object_add(o, "boot_retries", json_object_new_int(r->boot_retries));
        if (r->start[0]) {
            json_object_object_add(o, "start", json_object_new_string(r->start));
        }
        json_object_array_add(arr, o);
    }
    json_object_object_add(root, "results", arr);
    for (size_t i = 0; i < c->nsigs; i++) {
        const Sig *g = &c->sigs[i];
        json_object *o = json_object_new_object(), *rl = json_object_new_array();

        json_object_object_add(o, "signature", json_object_new_string(g->sig));
        json_object_object_add(o, "id", json_object_new_string(g->id));
        json_object_object_add(o, "count", json_object_new_uint64(g->count));
        for (size_t k = 0; k < c->nruns_sel; k++) {
            if (c->runs[k].ran && !strcmp(c->runs[k].status, "fail") &&
                !strcmp(c->runs[k].sig, g->sig)) {
                json_object_array_add(rl, json_object_new_uint64(c->runs[k].index));
            }
        }
        json_object_object_add(o, "runs", rl);
        json_object_object_add(o, "first_run", json_object_new_uint64(c->runs[g->first].index));
        json_object_object_add(o, "first_artifacts",
                               json_object_new_string(c->runs[g->first].artifacts));
        if (g->shrunk_done) {
            json_object_object_add(o, "shrunk", json_object_new_string(g->shrunk));
            json_object_object_add(o, "size_before", json_object_new_int(g->size_before));
            json_object_object_add(o, "size_after", json_object_new_int(g->size_after));
            json_object_object_add(o, "shrink_attempts", json_object_new_int(g->attempts));
            json_object_object_add(o, "reproduced", json_object_new_boolean(g->reproduced));
        }
        if (g->shrink_note[0]) {
            json_object_object_add(o, "shrink_note", json_object_new_string(g->shrink_note));
        }
        json_object_array_add(sarr, o);
    }
    json_object_object_add(root, "signatures", sarr);
    snprintf(path, sizeof(path), "%s/campaign.json", c->out);
    if (json_object_to_file_ext(path, root, JSON_C_TO_STRING_PRETTY) < 0) {
        fprintf(stderr, "gauntlet-campaign: cannot write %s\n", path);
    }
    json_object_put(root);

    snprintf(path, sizeof(path), "%s/junit.xml", c->out);
    {
        char err[600], suite[128];
        GjCounts cnt = { (double)ran, (double)counts[1], (double)counts[3],
                         (double)counts[2], c->run_wall };
        GjWriter *w = gj_open(path, err, sizeof(err));

        if (!w) {
            fprintf(stderr, "gauntlet-campaign: %s\n", err);
            return;
        }
        snprintf(suite, sizeof(suite), "campaign-s%" PRIu64 "-shard%u-of-%u", c->seed,
                 c->shard_k, c->shard_m);
        gj_begin(w, "testsuites", "gauntlet-campaign", &cnt);
        gj_begin(w, "testsuite", suite, &cnt);
        for (size_t i = 0; i < c->nruns_sel; i++) {
            const Run *r = &c->runs[i];

            if (!r->ran) {
                continue;
            }
            gj_case(w, "gauntlet.campaign", r->name, r->file, r->duration);
            if (strcmp(r->status, "pass")) {
                const char *tag = !strcmp(r->status, "fail") ? "failure" :
                                  !strcmp(r->status, "skip") ? "skipped" : "error";
                const char *body[] = { "signature: ", r->sig, "\n", r->reason,
                                       "\nartifacts: ", r->artifacts, NULL };

                gj_outcome(w, tag, r->reason, r->sig, body);
            }
            gj_end(w);
        }
        gj_end(w);
        gj_end(w);
        if (gj_close(w, err, sizeof(err)) < 0) {
            fprintf(stderr, "gauntlet-campaign: %s: %s\n", path, err);
        }
    }
}

static void print_summary(const Campaign *c)
{
    size_t counts[4] = { 0 }, ran;

    count_status(c, counts, &ran);
    printf("\ngauntlet-campaign: seed %" PRIu64 ", shard %u/%u: %zu of %zu selected runs "
           "ran%s\n", c->seed, c->shard_k, c->shard_m, ran, c->nruns_sel,
           c->stopped_by_time ? " (stopped by --time)" : "");
    printf("  pass %zu, fail %zu, error %zu, skip %zu\n", counts[0], counts[1],
           counts[3], counts[2]);
    printf("  %.1f runs per minute (%zu runs in %.0f s, -j %d%s)\n",
           c->run_wall > 0 ? (double)ran * 60.0 / c->run_wall : 0.0, ran, c->run_wall,
           c->jobs, c->snapshot ? ", --snapshot" : ", cold boots");
    if (c->nsigs) {
        printf("  failures by signature:\n");
        for (size_t i = 0; i < c->nsigs; i++) {
            const Sig *g = &c->sigs[i];

            printf("  %4zu  %s\n        first: run %" PRIu64 " (%s)\n", g->count, g->sig,
                   c->runs[g->first].index, c->runs[g->first].artifacts);
            if (g->shrunk_done) {
                printf("        shrunk: %s (%d -> %d items, %d attempts), %s\n",
                       g->shrunk, g->size_before, g->size_after, g->attempts,
                       g->reproduced ? "reproduces" : "DOES NOT reproduce");
            }
        }
    }
    for (size_t i = 0; i < c->nruns_sel; i++) {
        if (c->runs[i].ran && !strcmp(c->runs[i].status, "error")) {
            printf("  error: %s: %s\n", c->runs[i].name, c->runs[i].reason);
        }
    }
    printf("  reports: %s/{campaign.json,junit.xml}\n", c->out);
}

/* ---- main -------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    enum {
        O_SEED = 256, O_RUNS, O_SHARD, O_TIME, O_KERNEL, O_TARGET, O_OUT, O_RUNNER,
        O_RUNNER_ARG, O_NO_SHRINK, O_SHRINK_ATTEMPTS, O_SHRINK_TIME, O_GEN_ONLY, O_BATCH,
        O_TARGETS,
    };
    static const struct option lopts[] = {
        { "seed", required_argument, NULL, O_SEED },
        { "runs", required_argument, NULL, O_RUNS },
        { "shard", required_argument, NULL, O_SHARD },
        { "time", required_argument, NULL, O_TIME },
        { "kernel", required_argument, NULL, O_KERNEL },
        { "target", required_argument, NULL, O_TARGET },
        { "targets", required_argument, NULL, O_TARGETS },
        { "out", required_argument, NULL, O_OUT },
        { "runner", required_argument, NULL, O_RUNNER },
        { "runner-arg", required_argument, NULL, O_RUNNER_ARG },
        { "no-shrink", no_argument, NULL, O_NO_SHRINK },
        { "shrink-attempts", required_argument, NULL, O_SHRINK_ATTEMPTS },
        { "shrink-time", required_argument, NULL, O_SHRINK_TIME },
        { "generate-only", required_argument, NULL, O_GEN_ONLY },
        { "batch", required_argument, NULL, O_BATCH },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    Campaign c = {
        .shard_k = 1, .shard_m = 1, .jobs = 2, .batch = 20,
        .shrink = true, .shrink_attempts = 40, .shrink_time = 1800,
    };
    const char *gen_only = NULL;
    bool have_seed = false, have_runs = false, batch_given = false;
    char outbuf[4096];
    CsGenOptions go;
    uint64_t v;
    int opt;

    if (argc > 1 && !strcmp(argv[1], "merge")) {
        return cs_merge_main(argc - 1, argv + 1);
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    c.t0 = now_s();
    c.runner_args = calloc((size_t)argc + 1, sizeof(*c.runner_args));
    while ((opt = getopt_long(argc, argv, "j:h", lopts, NULL)) != -1) {
        switch (opt) {
        case O_SEED:
            if (parse_u64("--seed", optarg, 0, UINT64_MAX, &c.seed) < 0) {
                return 2;
            }
            have_seed = true;
            break;
        case O_RUNS:
            if (parse_u64("--runs", optarg, 1, 10000000, &c.nruns) < 0) {
                return 2;
            }
            have_runs = true;
            break;
        case O_SHARD: {
            unsigned k, m;
            char tail;

            if (sscanf(optarg, "%u/%u%c", &k, &m, &tail) != 2 || m < 1 || m > 100000 ||
                k < 1 || k > m || optarg[0] == '-') {
                fprintf(stderr, "gauntlet-campaign: --shard wants K/M with 1 <= K <= M "
                        "(e.g. 2/8), got '%s'\n", optarg);
                return 2;
            }
            c.shard_k = k;
            c.shard_m = m;
            break;
        }
        case O_TIME:
            if (parse_u64("--time", optarg, 1, 100000000, &v) < 0) {
                return 2;
            }
            c.time_limit = (double)v;
            break;
        case O_KERNEL:
            if (strcmp(optarg, "stock") && strcmp(optarg, "debug")) {
                fprintf(stderr, "gauntlet-campaign: --kernel wants stock or debug, "
                        "got '%s'\n", optarg);
                return 2;
            }
            c.debug = !strcmp(optarg, "debug");
            break;
        case O_TARGET: {
            bool ok = *optarg && strlen(optarg) <= 63;

            for (const char *p = optarg; *p; p++) {
                ok &= (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
                      *p == '-' || *p == '_' || *p == '.';
            }
            if (!ok) {
                fprintf(stderr, "gauntlet-campaign: --target wants a target name "
                        "([a-z0-9._-], 1-63 chars), got '%s'\n", optarg);
                return 2;
            }
            c.target = optarg;
            break;
        }
        case O_TARGETS: c.targets_dir = optarg; break;
        case O_OUT: c.out = optarg; break;
        case O_RUNNER: c.runner = optarg; break;
        case O_RUNNER_ARG: c.runner_args[c.nrunner_args++] = optarg; break;
        case O_NO_SHRINK: c.shrink = false; break;
        case O_SHRINK_ATTEMPTS:
            if (parse_u64("--shrink-attempts", optarg, 1, 100000, &v) < 0) {
                return 2;
            }
            c.shrink_attempts = (int)v;
            break;
        case O_SHRINK_TIME:
            if (parse_u64("--shrink-time", optarg, 1, 10000000, &v) < 0) {
                return 2;
            }
            c.shrink_time = (double)v;
            break;
        case O_GEN_ONLY: gen_only = optarg; break;
        case O_BATCH:
            if (parse_u64("--batch", optarg, 1, 10000, &v) < 0) {
                return 2;
            }
            c.batch = (int)v;
            batch_given = true;
            break;
        case 'j':
            if (parse_u64("-j", optarg, 1, 64, &v) < 0) {
                return 2;
            }
            c.jobs = (int)v;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "gauntlet-campaign: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (!have_seed || !have_runs) {
        fprintf(stderr, "gauntlet-campaign: --seed and --runs are required\n");
        usage(stderr);
        return 2;
    }
    if (!c.target || !c.targets_dir) {
        fprintf(stderr, "gauntlet-campaign: --target NAME and --targets DIR are required "
                "(./gauntlet campaign passes them)\n");
        usage(stderr);
        return 2;
    }
    {
        char err[8192];

        char tpath[4200];

        if (cv_load_target(c.targets_dir, c.target, &c.vocab, err, sizeof(err)) < 0) {
            fprintf(stderr, "gauntlet-campaign: %s\n", err);
            return 2;
        }
        /* the target's own rule checker judges every drawn rule before a
         * file is written (as the runner will) */
        snprintf(tpath, sizeof(tpath), "%s/%s/target.yaml", c.targets_dir, c.target);
        if (!access(tpath, F_OK)) {
            c.checker = gt_load(tpath, err, sizeof(err));
            if (!c.checker) {
                fprintf(stderr, "gauntlet-campaign: %s\n", err);
                return 2;
            }
            cs_set_rule_checker(c.checker, getenv("GAUNTLET_BUILD"));
        }
    }
    go.debug = c.debug;
    go.target = c.target;
    go.vocab = c.vocab;
    if (c.time_limit > 0 && !batch_given) {
        c.batch = 2 * c.jobs;   /* --time is checked between batches */
    }

    /* this shard's runs: i % M == K-1 */
    c.runs = calloc(c.nruns / c.shard_m + 1, sizeof(*c.runs));
    if (!c.runs) {
        fprintf(stderr, "gauntlet-campaign: out of memory\n");
        return 2;
    }
    for (uint64_t i = c.shard_k - 1; i < c.nruns; i += c.shard_m) {
        Run *r = &c.runs[c.nruns_sel++];

        r->index = i;
        cs_run_name(r->name, sizeof(r->name), c.seed, i);
    }

    if (!c.out && !gen_only) {
        time_t t = time(NULL);
        struct tm tm;
        char stamp[32];

        localtime_r(&t, &tm);
        strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
        snprintf(outbuf, sizeof(outbuf), "results/campaign-s%" PRIu64 "-%s", c.seed, stamp);
        c.out = outbuf;
    }
    {
        const char *dir = gen_only ? gen_only : c.out;
        char sched[4200];

        snprintf(sched, sizeof(sched), gen_only ? "%s" : "%s/schedules", dir);
        if (mkdir_p(sched) < 0) {
            fprintf(stderr, "gauntlet-campaign: cannot create %s: %s\n", sched,
                    strerror(errno));
            return 2;
        }
        for (size_t i = 0; i < c.nruns_sel; i++) {
            Run *r = &c.runs[i];
            CsSchedule s;
            char err[8192];

            snprintf(r->file, sizeof(r->file), "%s/%s.yaml", sched, r->name);
            cs_generate(&s, c.seed, r->index, &go);
            if (cs_write_scenario(&s, r->name, r->file, err, sizeof(err)) < 0) {
                fprintf(stderr, "gauntlet-campaign: run %" PRIu64 ": %s\n(vocabulary: %s)\n",
                        r->index, err, c.vocab->path);
                return 2;
            }
        }
        if (gen_only) {
            printf("gauntlet-campaign: %zu scenario files (seed %" PRIu64 ", shard %u/%u) "
                   "in %s\n", c.nruns_sel, c.seed, c.shard_k, c.shard_m, gen_only);
            cv_free(c.vocab);
            free(c.runs);
            free(c.runner_args);
            return 0;
        }
    }
    if (!c.runner) {
        fprintf(stderr, "gauntlet-campaign: --runner PATH is required to run "
                "(./gauntlet campaign passes it)\n");
        return 2;
    }
    if (access(c.runner, X_OK)) {
        fprintf(stderr, "gauntlet-campaign: runner %s: %s\n", c.runner, strerror(errno));
        return 2;
    }
    {
        /* QEMU's unix sockets sit in each run's folder and sun_path holds
         * 107 bytes: OUT/runs/batch-NNNN/<name>/agent.sock must fit */
        char abs[PATH_MAX], longest[128];

        mkdir_p(c.out);
        cs_run_name(longest, sizeof(longest), c.seed, c.nruns - 1);
        if (realpath(c.out, abs) &&
            strlen(abs) + strlen("/runs/batch-0000/") + strlen(longest) +
            strlen("/agent.sock") > 107) {
            fprintf(stderr, "gauntlet-campaign: --out %s is too long: QEMU's sockets "
                    "in %s/runs/batch-NNNN/%s/ would pass the 107-byte limit; choose "
                    "a shorter --out\n", c.out, abs, longest);
            return 2;
        }
    }
    c.snapshot = runner_has_option(c.runner, "--snapshot");
    if (c.snapshot && runner_has_option(c.runner, "--snapshot-dir")) {
        snprintf(c.snapshot_dir, sizeof(c.snapshot_dir), "%s/snapshots", c.out);
        if (mkdir_p(c.snapshot_dir) < 0) {
            fprintf(stderr, "gauntlet-campaign: cannot create %s: %s\n", c.snapshot_dir,
                    strerror(errno));
            return 2;
        }
    }
    printf("gauntlet-campaign: seed %" PRIu64 ", %" PRIu64 " runs, shard %u/%u: %zu runs "
           "here, -j %d, batches of %d%s; results in %s\n", c.seed, c.nruns, c.shard_k,
           c.shard_m, c.nruns_sel, c.jobs, c.batch,
           c.snapshot ? ", runs start from a snapshot (--snapshot)" : "", c.out);
    signal(SIGPIPE, SIG_IGN);

    /* the runs, batch by batch; a new signature is shrunk as soon as its
     * batch is done, so results come early in a long campaign */
    c.sigs = calloc(c.nruns_sel + 1, sizeof(*c.sigs));
    /* the queue of runs to do: each selected run once, and a run whose
     * guest did not boot once more at the end */
    size_t *queue = calloc(2 * c.nruns_sel + 1, sizeof(*queue)), qhead = 0, qtail = 0;

    for (size_t i = 0; i < c.nruns_sel; i++) {
        queue[qtail++] = i;
    }
    while (qhead < qtail) {
        size_t n = qtail - qhead < (size_t)c.batch ? qtail - qhead : (size_t)c.batch;
        size_t nsigs_before = c.nsigs;
        char dir[4300], **files = calloc(n, sizeof(*files));
        double t_batch;
        int rc;

        if (c.time_limit > 0 && now_s() - c.t0 >= c.time_limit) {
            c.stopped_by_time = true;
            printf("gauntlet-campaign: --time %.0f s reached; no new runs\n",
                   c.time_limit);
            free(files);
            break;
        }
        snprintf(dir, sizeof(dir), "%s/runs/batch-%04d", c.out, c.nbatch++);
        for (size_t i = 0; i < n; i++) {
            files[i] = c.runs[queue[qhead + i]].file;
        }
        t_batch = now_s();
        rc = run_runner(&c, dir, files, n, c.jobs, batch_deadline(n, c.jobs));
        c.run_wall += now_s() - t_batch;
        free(files);
        if (rc == 2) {
            fprintf(stderr, "gauntlet-campaign: the runner refused the batch in %s "
                    "(bad usage or a generated file it does not accept: a harness "
                    "problem, see above)\n", dir);
            write_reports(&c);
            return 2;
        }
        for (size_t i = 0; i < n; i++) {
            Run *r = &c.runs[queue[qhead + i]];
            Result res;
            size_t k;

            read_result(dir, r->name, &res);
            free(r->reason);
            r->sig[0] = 0;
            r->ran = true;
            snprintf(r->status, sizeof(r->status), "%s", res.status);
            snprintf(r->kind, sizeof(r->kind), "%s", res.kind);
            snprintf(r->fkind, sizeof(r->fkind), "%s", res.fkind);
            snprintf(r->fverdict, sizeof(r->fverdict), "%s", res.fverdict);
            snprintf(r->fstep, sizeof(r->fstep), "%s", res.fstep);
            snprintf(r->start, sizeof(r->start), "%s", res.start);
            snprintf(r->artifacts, sizeof(r->artifacts), "%s", res.artifacts);
            r->reason = res.reason;
            r->duration = res.duration;
            {
                /* the guest never came up, its kernel was in trouble before
                 * the driver was loaded, or the host starved it: not the
                 * driver's doing */
                CsFailure f = { r->status, r->fkind, r->fverdict, r->fstep };
                bool klog = !strcmp(r->status, "fail") && !strcmp(r->fkind, "verdict") &&
                            !strcmp(r->fverdict, "kernel-log");
                const char *why = cs_boot_failure(&f) ? "boot" :
                    klog && cs_report_before_load(r->artifacts, c.vocab->module) ? "before-load" :
                    klog && cs_host_starved(r->artifacts, c.vocab->module) ? "host-starved" : NULL;

                if (why) {
                    snprintf(r->kind, sizeof(r->kind), "%s", why);
                    snprintf(r->fkind, sizeof(r->fkind), "%s", why);
                    snprintf(r->status, sizeof(r->status), "error");
                }
            }
            if (!strcmp(r->status, "error") &&
                (!strcmp(r->kind, "boot") || !strcmp(r->kind, "before-load") ||
                 !strcmp(r->kind, "host-starved"))) {
                if (!r->boot_retries++) {
                    printf("gauntlet-campaign: %s: not the driver's doing (%s, %s); "
                           "it runs again at the end\n", r->name, r->kind, r->artifacts);
                    queue[qtail++] = queue[qhead + i];
                }
            }
            if (!strcmp(r->status, "pass")) {
                continue;
            }
            cs_signature(&(CsFailure){ r->status, r->fkind, r->fverdict, r->fstep },
                         r->artifacts, r->sig, sizeof(r->sig));
            if (strcmp(r->status, "fail")) {
                continue;
            }
            for (k = 0; k < c.nsigs && strcmp(c.sigs[k].sig, r->sig); k++) {
            }
            if (k == c.nsigs) {
                snprintf(c.sigs[k].sig, sizeof(c.sigs[k].sig), "%s", r->sig);
                cs_signature_id(r->sig, c.sigs[k].id, sizeof(c.sigs[k].id));
                c.sigs[k].first = (size_t)(r - c.runs);
                c.nsigs++;
            }
            c.sigs[k].count++;
        }
        qhead += n;
        write_reports(&c);
        for (size_t k = nsigs_before; k < c.nsigs && c.shrink; k++) {
            shrink_signature(&c, &c.sigs[k], &go);
            write_reports(&c);
        }
    }
    free(queue);
    write_reports(&c);
    print_summary(&c);
    {
        size_t counts[4] = { 0 }, ran;

        count_status(&c, counts, &ran);
        cv_free(c.vocab);
        return counts[1] || counts[3] ? 1 : 0;
    }
}
