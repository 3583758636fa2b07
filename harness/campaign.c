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
 *
 * This file: options, the shard's runs, their batches and the outcome;
 * campaign_priv.h maps the others.
 */
#define _GNU_SOURCE
#include "campaign_priv.h"

#include <dirent.h>
#include <getopt.h>
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

double cp_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

char *cp_strdup(const char *s)
{
    char *d = strdup(s ? s : "");

    if (!d) {
        abort();
    }
    return d;
}

int cp_mkdir_p(const char *path)
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
"       gauntlet-campaign enumerate ... (--help: its options; docs/enumerate.md)\n"
"  --seed S               campaign seed (0..2^64-1)\n"
"  --runs N               runs in the whole campaign (1..10000000)\n"
"  --shard K/M            this shard's runs: index i with i %% M == K-1\n"
"  --time T               start no new batch after T seconds\n"
"  --kernel stock|debug   guest kernel; debug adds kernel faults (kfault)\n"
"  --targets DIR, --target-dir DIR   the targets folder (the last wins):\n"
"                         DIR/NAME/campaign.yaml is the\n"
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
    return cp_parse_u64("gauntlet-campaign", opt, s, lo, hi, out);
}

/* Check the runner and ask it what it offers (--snapshot, --target-dir,
 * --snapshot-dir); check that QEMU's sockets in a run folder named like
 * longest fit.  0, or 2 with a message. */
int cp_prepare_runner(Campaign *c, const char *longest)
{
    if (!c->runner) {
        fprintf(stderr, "gauntlet-campaign: --runner PATH is required to run "
                "(./gauntlet campaign passes it)\n");
        return 2;
    }
    if (access(c->runner, X_OK)) {
        fprintf(stderr, "gauntlet-campaign: runner %s: %s\n", c->runner, strerror(errno));
        return 2;
    }
    {
        /* QEMU's unix sockets sit in each run's folder and sun_path holds
         * 107 bytes: OUT/runs/batch-NNNN/<name>/agent.sock must fit */
        char abs[PATH_MAX];

        cp_mkdir_p(c->out);
        if (realpath(c->out, abs) &&
            strlen(abs) + strlen("/runs/batch-0000/") + strlen(longest) +
            strlen("/agent.sock") > 107) {
            fprintf(stderr, "gauntlet-campaign: --out %s is too long: QEMU's sockets "
                    "in %s/runs/batch-NNNN/%s/ would pass the 107-byte limit; choose "
                    "a shorter --out\n", c->out, abs, longest);
            return 2;
        }
    }
    c->snapshot = cp_runner_has_option(c->runner, "--snapshot");
    /* the runner finds the targets where the vocabulary is */
    c->pass_target_dir = cp_runner_has_option(c->runner, "--target-dir");
    if (c->snapshot && cp_runner_has_option(c->runner, "--snapshot-dir")) {
        snprintf(c->snapshot_dir, sizeof(c->snapshot_dir), "%s/snapshots", c->out);
        if (cp_mkdir_p(c->snapshot_dir) < 0) {
            fprintf(stderr, "gauntlet-campaign: cannot create %s: %s\n", c->snapshot_dir,
                    strerror(errno));
            return 2;
        }
    }
    return 0;
}

/* Run the selected runs (c->runs) batch by batch through the runner,
 * group failures by signature and shrink each new signature as soon as its
 * batch is done (go: what the shrinker regenerates a campaign run from;
 * c->scheds, when set, holds the runs' schedules instead).  The reports
 * are rewritten after every batch and shrink.  Returns 0, or 2 when the
 * runner refused a batch (a harness problem). */
int cp_run_all(Campaign *c, const CsGenOptions *go)
{
    /* the runs, batch by batch; a new signature is shrunk as soon as its
     * batch is done, so results come early in a long campaign */
    c->sigs = calloc(c->nruns_sel + 1, sizeof(*c->sigs));
    /* the queue of runs to do: each selected run once, and a run whose
     * guest did not boot once more at the end */
    size_t *queue = calloc(2 * c->nruns_sel + 1, sizeof(*queue)), qhead = 0, qtail = 0;

    for (size_t i = 0; i < c->nruns_sel; i++) {
        queue[qtail++] = i;
    }
    while (qhead < qtail) {
        size_t n = qtail - qhead < (size_t)c->batch ? qtail - qhead : (size_t)c->batch;
        size_t nsigs_before = c->nsigs;
        char dir[4300], **files = calloc(n, sizeof(*files));
        double t_batch;
        int rc;

        if (c->time_limit > 0 && cp_now() - c->t0 >= c->time_limit) {
            c->stopped_by_time = true;
            printf("gauntlet-campaign: --time %.0f s reached; no new runs\n",
                   c->time_limit);
            free(files);
            break;
        }
        snprintf(dir, sizeof(dir), "%s/runs/batch-%04d", c->out, c->nbatch++);
        for (size_t i = 0; i < n; i++) {
            files[i] = c->runs[queue[qhead + i]].file;
        }
        t_batch = cp_now();
        rc = cp_run_runner(c, dir, files, n, c->jobs, cp_batch_deadline(n, c->jobs));
        c->run_wall += cp_now() - t_batch;
        free(files);
        if (rc == 2) {
            fprintf(stderr, "gauntlet-campaign: the runner refused the batch in %s "
                    "(bad usage or a generated file it does not accept: a harness "
                    "problem, see above)\n", dir);
            free(queue);
            cp_write_reports(c);
            return 2;
        }
        for (size_t i = 0; i < n; i++) {
            Run *r = &c->runs[queue[qhead + i]];
            Result res;
            size_t k;

            cp_read_result(dir, r->name, &res);
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
                    klog && cs_report_before_load(r->artifacts, c->vocab->module) ? "before-load" :
                    klog && cs_host_starved(r->artifacts, c->vocab->module) ? "host-starved" : NULL;

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
            for (k = 0; k < c->nsigs && strcmp(c->sigs[k].sig, r->sig); k++) {
            }
            if (k == c->nsigs) {
                snprintf(c->sigs[k].sig, sizeof(c->sigs[k].sig), "%s", r->sig);
                cs_signature_id(r->sig, c->sigs[k].id, sizeof(c->sigs[k].id));
                c->sigs[k].first = (size_t)(r - c->runs);
                c->nsigs++;
            }
            c->sigs[k].count++;
        }
        qhead += n;
        cp_write_reports(c);
        for (size_t k = nsigs_before; k < c->nsigs && c->shrink; k++) {
            cp_shrink_signature(c, &c->sigs[k], go);
            cp_write_reports(c);
        }
    }
    free(queue);
    return 0;
}

/* ---- main -------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    enum { O_SEED = CP_O__END, O_RUNS, O_GEN_ONLY };
    static const struct option lopts[] = {
        { "seed", required_argument, NULL, O_SEED },
        { "runs", required_argument, NULL, O_RUNS },
        CP_COMMON_LONG_OPTIONS,
        { "generate-only", required_argument, NULL, O_GEN_ONLY },
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
    int opt;

    if (argc > 1 && !strcmp(argv[1], "merge")) {
        return cs_merge_main(argc - 1, argv + 1);
    }
    if (argc > 1 && !strcmp(argv[1], "enumerate")) {
        return ce_enumerate_main(argc - 1, argv + 1);
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    c.t0 = cp_now();
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
        case O_GEN_ONLY: gen_only = optarg; break;
        case 'h':
            usage(stdout);
            return 0;
        default: {
            int r = cp_common_opt(&c, opt, optarg, "gauntlet-campaign", &batch_given);

            if (r < 0) {
                return 2;
            }
            if (!r) {
                usage(stderr);
                return 2;
            }
        }
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
        if (cp_mkdir_p(sched) < 0) {
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
    {
        char longest[128];

        cs_run_name(longest, sizeof(longest), c.seed, c.nruns - 1);
        if (cp_prepare_runner(&c, longest)) {
            return 2;
        }
    }
    printf("gauntlet-campaign: seed %" PRIu64 ", %" PRIu64 " runs, shard %u/%u: %zu runs "
           "here, -j %d, batches of %d%s; results in %s\n", c.seed, c.nruns, c.shard_k,
           c.shard_m, c.nruns_sel, c.jobs, c.batch,
           c.snapshot ? ", runs start from a snapshot (--snapshot)" : "", c.out);
    signal(SIGPIPE, SIG_IGN);

    if (cp_run_all(&c, &go) == 2) {
        return 2;
    }
    cp_write_reports(&c);
    cp_print_summary(&c);
    {
        size_t counts[4] = { 0 }, ran;

        cp_count_status(&c, counts, &ran);
        cv_free(c.vocab);
        return counts[1] || counts[3] ? 1 : 0;
    }
}
