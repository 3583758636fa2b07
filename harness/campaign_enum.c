/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gauntlet enumerate (docs/enumerate.md): every single device fault of a
 * workload, one run each.
 *
 *   gauntlet-campaign enumerate --target T --targets DIR --workload CMD
 *       --point P [--point P...] --action A [--action A...]
 *       [--max-n N | --sample K] [--setting CMD]... [--counts FILE]
 *       [--shard K/M] [-j N] [--out DIR] [--runner PATH] ...
 *
 * A clean run first: the workload with one counting rule per point (the
 * point's first action with a trigger no run reaches, nth=10^15), whose
 * hits (faults.json) are the events at that point.  Then one run per
 * (point, action, n), n = 1..N (N the clean run's count, or --max-n, or
 * --sample K values spread over 1..N), the rule POINT:ACTION:nth=n armed
 * before the workload starts: it fires at the n-th event and at no other
 * (the engine's nth=N is "hit number N only", so it is nth=n,once).
 * Each run is an ordinary scenario judged by every verdict, the rule
 * among them (faults-fired: it must fire); failures are grouped by
 * signature and shrunk by the campaign's code (campaign.c cp_run_all),
 * the reports are the campaign's (campaign.json, junit.xml) plus
 * enumerate.json and enumerate.txt, the table (campaign_enum_table.c).
 * Exit 1 when a run failed or errored, or a point had no event to
 * enumerate (nothing was tested there).
 * --kfault failslab|fail_page_alloc (the debug kernel) enumerates the
 * kernel's fail-nth instead: the workload arms it over its ioctls under
 * GAUNTLET_FAIL_NTH=n (kestrelctl stress does), the clean run counts the
 * capability's sites with n = 10^9, and each run fails the n-th
 * (kernel_schedule, kernel_clean_run).  --kfault fail_function:FUNC
 * fails FUNC's n-th call through the capability's space (fail-nth does
 * not count in its kprobe handler).
 * Runs are numbered over the pairs in order, then n; a shard K/M takes
 * run i with i % M == K-1, as campaigns do, and `gauntlet merge` merges
 * enumerate.json too.
 */
#define _GNU_SOURCE
#include "campaign_priv.h"
#include "report_html.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CE_MAX_POINTS   16
#define CE_MAX_ACTIONS  16
#define CE_COUNT_NTH    "1000000000000000"    /* 10^15: no run reaches it */
#define CE_KCOUNT_NTH   1000000000              /* fail-nth's count: 10^9 */
#define CE_KF_FUNCTION  2                       /* --kfault fail_function:F */

/*
 * Kernel-side enumeration (--kfault TYPE, docs/enumerate.md): the
 * capability's filters, set in every run (clean or not) before the
 * workload, so that fail-nth counts the driver's sites of TYPE only.
 * fail-nth counts every site that passes the capability's own filters,
 * before any other check (lib/fault-inject.c should_fail_ex), so the
 * filters are all there is to choose the sites:
 *   failslab: sleeping allocations count; fail_page_alloc's min-order no
 *   allocation reaches; cache-filter Y with every slab cache marked but
 *   kmemleak's own (CE_FAILSLAB_CMDLINE: the debug kernel's caches take
 *   the mark at boot only, /sys/kernel/slab/NAME/failslab is read-only
 *   in 6.1).  kmemleak tracks each slab allocation with one of its own
 *   (kmemleak_object, __GFP_NOWARN: failed silently, no report), right
 *   after the traced one, so without this every other site would be
 *   kmemleak's; the run checks that the marks took (a kmalloc cache
 *   marked, kmemleak_object not) before it counts anything.
 *   fail_page_alloc: every order and gfp, and failslab none
 *   (cache-filter Y, and its runs boot without the marks).
 * The probabilities stay 0 (no random failure); the run's kfault step arms
 * the capability's verbose report for the kfault-fired verdict, and its
 * task filter fails nobody at random (the workload sets no make-it-fail
 * under GAUNTLET_FAIL_NTH).
 */
#define CE_KFILTERS 4
#define CE_FAILSLAB_CMDLINE "slub_debug=A;-,kmemleak_object,kmemleak_scan_area"
static const char *const ce_kfilter[][CE_KFILTERS] = {
    /* fail_function counts the calls of its one function: no filter */
    [0] = { "echo N > /sys/kernel/debug/failslab/ignore-gfp-wait",
            "echo Y > /sys/kernel/debug/failslab/cache-filter",
            "grep -qx 1 /sys/kernel/slab/kmalloc-64/failslab && "
            "grep -qx 0 /sys/kernel/slab/kmemleak_object/failslab",
            "echo 1000 > /sys/kernel/debug/fail_page_alloc/min-order" },
    [1] = { "echo Y > /sys/kernel/debug/failslab/cache-filter",
            "echo N > /sys/kernel/debug/fail_page_alloc/ignore-gfp-wait && "
            "echo N > /sys/kernel/debug/fail_page_alloc/ignore-gfp-highmem",
            "echo 0 > /sys/kernel/debug/fail_page_alloc/min-order", NULL },
    [CE_KF_FUNCTION] = { NULL, NULL, NULL, NULL },
};

typedef struct Pair {
    const char *point, *action;
    int64_t events;             /* in the clean run; -1 not counted */
    int64_t n_max;              /* the last n enumerated */
    int64_t sample;             /* 0: every n */
} Pair;

static void usage(FILE *f)
{
    fprintf(f,
"usage: gauntlet-campaign enumerate --target NAME --targets DIR --workload CMD\n"
"           --point P [--point P...] --action A [--action A...] [OPTIONS]\n"
"  --workload CMD         a guest command that ends by itself and exits 0\n"
"                         (short and deterministic: its events are counted)\n"
"  --workload-timeout S   its bound (default 120)\n"
"  --setting CMD          a guest command after the load (repeat)\n"
"  --point P, --action A  every pair the target's rule checker accepts\n"
"  --fault P:A            this pair (repeat); with or without --point/--action\n"
"  --max-n N              enumerate n = 1..min(N, events)\n"
"  --sample K             K values of n spread evenly over 1..events\n"
"  --kfault TYPE          kernel side, --kernel debug: failslab or\n"
"                         fail_page_alloc with fail-nth over the ioctls of a\n"
"                         workload that honours GAUNTLET_FAIL_NTH, or\n"
"                         fail_function:FUNC call by call (instead of --fault)\n"
"  --counts FILE          take the events from FILE (an enumerate.json, or\n"
"                         {\"POINT\": N, ...}) instead of a clean run\n"
"  --kernel stock|debug, --shard K/M, --time T, -j N, --batch N, --out DIR,\n"
"  --runner PATH, --runner-arg ARG, --no-shrink, --shrink-attempts N,\n"
"  --shrink-time S, --generate-only DIR: as gauntlet-campaign\n");
}

static int parse_u64(const char *opt, const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    return cp_parse_u64("gauntlet-enumerate", opt, s, lo, hi, out);
}

/* The schedule every run shares: the settings, then the rules, then the
 * workload to its end. */
static void base_schedule(CsSchedule *s, const char *target, bool debug, const char *workload,
                          double wtimeout, const char **settings, int nsettings)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->target, sizeof(s->target), "%s", target);
    s->debug = debug;
    for (int i = 0; i < nsettings; i++) {
        snprintf(s->params[s->nparams].text, CS_TEXT, "%s", settings[i]);
        s->params[s->nparams++].droppable = true;
    }
    snprintf(s->workload_cmd, sizeof(s->workload_cmd), "%s", workload);
    s->workload_wait = true;
    s->workload_timeout = wtimeout;
    s->steps[0].kind = CS_FAULTS_SET;
    s->steps[1].kind = CS_WORKLOAD_START;
    s->steps[2].kind = CS_WORKLOAD_STOP;
    s->nsteps = 3;
}

/* "e<pair>-<point>-n<n>": short, as QEMU's sockets live in the run's
 * folder (107 bytes); the pair's number tells its action */
static void run_name(char *buf, size_t len, size_t pair, const Pair *p, int64_t n)
{
    char pt[13];
    size_t k = 0;

    for (const char *q = p->point; *q && k < sizeof(pt) - 1; q++) {
        pt[k++] = (*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') || *q == '.' ? *q : '_';
    }
    pt[k] = 0;
    snprintf(buf, len, "e%zu-%s-n%" PRId64, pair + 1, pt, n);
}

static void rule_text(char *buf, size_t len, const Pair *p, int64_t n)
{
    if (n == 1) {
        snprintf(buf, len, "%s:%s:once", p->point, p->action);
    } else {
        snprintf(buf, len, "%s:%s:nth=%" PRId64, p->point, p->action, n);
    }
}

/* The i-th value of n of a pair (0-based), and how many there are. */
static int64_t pair_nvals(const Pair *p)
{
    if (p->events <= 0) {
        return 0;
    }
    return p->sample && p->sample < p->n_max ? p->sample : p->n_max;
}

static int64_t pair_n(const Pair *p, int64_t j)
{
    int64_t k = pair_nvals(p);

    if (k == p->n_max || k <= 1) {
        return j + 1;
    }
    /* spread over 1..n_max, both ends included; strictly increasing
     * because k < n_max */
    return 1 + (j * (p->n_max - 1) + (k - 1) / 2) / (k - 1);
}

/* Counts from a file: an enumerate.json ("pairs" with point and events)
 * or an object {"POINT": N}.  0, or -1 with a message. */
static int read_counts(const char *path, Pair *pairs, size_t npairs)
{
    json_object *o = json_object_from_file(path), *pl, *v;

    if (!o || !json_object_is_type(o, json_type_object)) {
        fprintf(stderr, "gauntlet-enumerate: --counts %s: not a JSON object%s%s\n", path,
                o ? "" : ": ", o ? "" : json_util_get_last_err());
        json_object_put(o);
        return -1;
    }
    for (size_t i = 0; i < npairs; i++) {
        int64_t n = -1;

        if (json_object_object_get_ex(o, "pairs", &pl) &&
            json_object_is_type(pl, json_type_array)) {
            for (size_t k = 0; k < json_object_array_length(pl); k++) {
                json_object *e = json_object_array_get_idx(pl, k), *pt, *ev;

                if (json_object_object_get_ex(e, "point", &pt) &&
                    !strcmp(json_object_get_string(pt), pairs[i].point) &&
                    json_object_object_get_ex(e, "events", &ev)) {
                    n = json_object_get_int64(ev);
                }
            }
        } else if (json_object_object_get_ex(o, pairs[i].point, &v) &&
                   json_object_is_type(v, json_type_int)) {
            n = json_object_get_int64(v);
        }
        if (n < 0) {
            fprintf(stderr, "gauntlet-enumerate: --counts %s: no count for point %s\n",
                    path, pairs[i].point);
            json_object_put(o);
            return -1;
        }
        pairs[i].events = n;
    }
    json_object_put(o);
    return 0;
}

/*
 * Write and run a clean run's schedule s, and put its result into the
 * report ("clean").  0: it passed (the caller frees res->reason); 1: it
 * did not pass (said, and freed); 2: a harness problem.
 */
static int run_clean_schedule(Campaign *c, const CsSchedule *s, json_object *report,
                              Result *res)
{
    char path[4300], dir[4300], err[8192], *files[1];
    json_object *cl = json_object_new_object();

    snprintf(path, sizeof(path), "%s/schedules/enum-clean.yaml", c->out);
    if (cs_write_scenario(s, "enum-clean", path, err, sizeof(err)) < 0) {
        fprintf(stderr, "gauntlet-enumerate: the clean run: %s\n", err);
        json_object_put(cl);
        return 2;
    }
    snprintf(dir, sizeof(dir), "%s/clean", c->out);
    files[0] = path;
    printf("gauntlet-enumerate: the clean run (%s)\n", path);
    if (cp_run_runner(c, dir, files, 1, 1, cp_batch_deadline(1, 1)) == 2) {
        fprintf(stderr, "gauntlet-enumerate: the runner refused the clean run (%s)\n", path);
        json_object_put(cl);
        return 2;
    }
    cp_read_result(dir, "enum-clean", res);
    json_object_object_add(cl, "status", json_object_new_string(res->status));
    json_object_object_add(cl, "reason", json_object_new_string(res->reason));
    json_object_object_add(cl, "artifacts", json_object_new_string(res->artifacts));
    json_object_object_add(cl, "duration_s", json_object_new_double(res->duration));
    json_object_object_add(report, "clean", cl);
    if (strcmp(res->status, "pass")) {
        fprintf(stderr, "gauntlet-enumerate: the clean run did not pass (%s: %s; %s): "
                "the workload must pass without faults before its faults are "
                "enumerated\n", res->status, res->reason, res->artifacts);
        free(res->reason);
        return 1;
    }
    return 0;
}

/* The clean run: the workload with a counting rule per point.  Fills
 * each pair's events; 0, 1 (the clean run did not pass: its reason
 * printed), 2 (a harness problem). */
static int clean_run(Campaign *c, const CsSchedule *base, Pair *pairs, size_t npairs,
                     const char **points, int npoints, const char **count_action,
                     json_object *report)
{
    CsSchedule s = *base;
    char path[4300];
    int64_t hits[CE_MAX_POINTS];
    Result res;
    json_object *fj;
    int rc;

    s.steps[0].nrules = npoints;
    for (int k = 0; k < npoints; k++) {
        snprintf(s.steps[0].rules[k].text, CS_TEXT, "%s:%s:nth=" CE_COUNT_NTH, points[k],
                 count_action[k]);
        s.steps[0].rules[k].sure = false;
        hits[k] = -1;
    }
    snprintf(s.origin, sizeof(s.origin), "gauntlet enumerate's clean run "
             "(docs/enumerate.md): the workload with rules that never fire, whose "
             "hits count the events at each point.");
    rc = run_clean_schedule(c, &s, report, &res);
    if (rc) {
        return rc;
    }
    snprintf(path, sizeof(path), "%s/faults.json", res.artifacts);
    fj = json_object_from_file(path);
    for (size_t i = 0; fj && json_object_is_type(fj, json_type_array) &&
         i < json_object_array_length(fj); i++) {
        json_object *e = json_object_array_get_idx(fj, i), *ix, *h;

        if (json_object_object_get_ex(e, "index", &ix) &&
            json_object_object_get_ex(e, "hits", &h) &&
            json_object_get_int(ix) >= 0 && json_object_get_int(ix) < npoints) {
            hits[json_object_get_int(ix)] = json_object_get_int64(h);
        }
    }
    json_object_put(fj);
    for (int k = 0; k < npoints; k++) {
        if (hits[k] < 0) {
            fprintf(stderr, "gauntlet-enumerate: the clean run's %s has no hit count for "
                    "%s (a runner without faults.json's hits?)\n", path, points[k]);
            free(res.reason);
            return 2;
        }
        printf("gauntlet-enumerate: %s: %" PRId64 " event%s in the clean run\n", points[k],
               hits[k], hits[k] == 1 ? "" : "s");
        for (size_t i = 0; i < npairs; i++) {
            if (!strcmp(pairs[i].point, points[k])) {
                pairs[i].events = hits[k];
            }
        }
    }
    free(res.reason);
    return 0;
}

/* A kernel-side run (--kfault): the base's settings and filters, then
 * (arm) the capability's kfault step, then the workload with
 * GAUNTLET_FAIL_NTH=n, so that kestrelctl stress fails the n-th site its
 * ioctls reach.  The clean run has no kfault step (nothing is injected,
 * and kfault-fired would rightly fail it) and n = CE_KCOUNT_NTH. */
static void kernel_schedule(CsSchedule *s, const CsSchedule *base, int kf, const char *func,
                            const char *workload, int64_t n, bool arm)
{
    int k = 0;

    *s = *base;
    memset(s->steps, 0, sizeof(s->steps));
    if (arm) {
        s->steps[k].kind = CS_KFAULT;
        s->steps[k].kf_type = kf < CE_KF_FUNCTION ? kf : 0;
        s->steps[k].kf_probability = 100;   /* task-filter: nobody opts in */
        s->steps[k].kf_times = 1;
        s->steps[k].kf_interval = 1;
        if (kf == CE_KF_FUNCTION) {
            /* the n-th call: space n lets n - 1 calls through (size 1) */
            snprintf(s->steps[k].kf_function, sizeof(s->steps[k].kf_function), "%s", func);
            s->steps[k].kf_space = n;
        }
        k++;
    }
    s->steps[k++].kind = CS_WORKLOAD_START;
    s->steps[k++].kind = CS_WORKLOAD_STOP;
    s->nsteps = k;
    if (kf != CE_KF_FUNCTION) {
        snprintf(s->workload_cmd, sizeof(s->workload_cmd), "export GAUNTLET_FAIL_NTH=%"
                 PRId64 "; %s", n, workload);
    } else if (arm) {
        snprintf(s->workload_cmd, sizeof(s->workload_cmd), "%s", workload);
    } else {
        /* the count: armed with space n (never reached, probability 100,
         * no task filter) from before the workload to its end; what is
         * left of space after it gives the calls, in the fail-nth line */
        snprintf(s->params[s->nparams++].text, CS_TEXT,
                 "echo %s > /sys/kernel/debug/fail_function/inject", func);
        snprintf(s->params[s->nparams++].text, CS_TEXT,
                 "d=/sys/kernel/debug/fail_function && echo N > $d/task-filter && echo %"
                 PRId64 " > $d/space && echo 1 > $d/times && echo 100 > $d/probability", n);
        snprintf(s->workload_cmd, sizeof(s->workload_cmd), "%s; r=$?; echo \"fail-nth %"
                 PRId64 ": 1 thread(s) armed, 0 injected; $((%" PRId64 " - $(cat "
                 "/sys/kernel/debug/fail_function/space))) calls\"; exit $r", workload, n, n);
    }
}

/* The workload's fail-nth line in a run's steps.log (the last): "
 * fail-nth N: T thread(s) armed, I injected; K fault-injection sites
 * counted ...".  0 with the figures, -1 when there is none. */
static int read_fail_nth(const char *artifacts, int64_t *armed, int64_t *threads,
                         int64_t *injected, int64_t *sites)
{
    char path[4300], *text = NULL, *p;
    size_t len = 0;
    FILE *f;
    int rc = -1;

    snprintf(path, sizeof(path), "%s/steps.log", artifacts);
    f = fopen(path, "r");
    if (!f) {
        return -1;
    }
    if (getdelim(&text, &len, 0, f) < 0) {
        fclose(f);
        free(text);
        return -1;
    }
    fclose(f);
    for (p = text; (p = strstr(p, "fail-nth ")); p++) {
        long long a, t, i, k;

        if (sscanf(p, "fail-nth %lld: %lld thread(s) armed, %lld injected; %lld",
                   &a, &t, &i, &k) == 4) {
            *armed = a;
            *threads = t;
            *injected = i;
            *sites = k;
            rc = 0;
        }
    }
    free(text);
    return rc;
}

/* The kernel side's clean run: the workload with fail-nth armed at
 * CE_KCOUNT_NTH, which no workload reaches; what it counted is the pair's
 * events.  0, 1 (the clean run did not pass, or injected), 2. */
static int kernel_clean_run(Campaign *c, const CsSchedule *base, int kf, const char *func,
                            const char *workload, Pair *pair, json_object *report)
{
    CsSchedule s;
    int64_t armed = 0, threads = 0, injected = 0, sites = 0;
    Result res;
    int rc;

    kernel_schedule(&s, base, kf, func, workload, CE_KCOUNT_NTH, false);
    if (kf == CE_KF_FUNCTION) {
        snprintf(s.origin, sizeof(s.origin), "gauntlet enumerate --kfault fail_function:%s's "
                 "clean run (docs/enumerate.md): fail_function armed with space %d, which "
                 "the workload never reaches, counting the calls of %s.", func,
                 CE_KCOUNT_NTH, func);
    } else {
        snprintf(s.origin, sizeof(s.origin), "gauntlet enumerate --kfault %s's clean run "
                 "(docs/enumerate.md): the workload with fail-nth armed at %d, which it "
                 "never reaches, counting the %s sites its ioctls reach.", pair->point,
                 CE_KCOUNT_NTH, pair->point);
    }
    rc = run_clean_schedule(c, &s, report, &res);
    if (rc) {
        return rc;
    }
    if (read_fail_nth(res.artifacts, &armed, &threads, &injected, &sites) < 0 ||
        armed != CE_KCOUNT_NTH || threads < 1) {
        fprintf(stderr, "gauntlet-enumerate: the clean run's workload printed no fail-nth "
                "count (%s/steps.log): --kfault needs a workload that arms fail-nth in its I/O "
                "threads under GAUNTLET_FAIL_NTH and prints what it counted "
                "(docs/enumerate.md)\n", res.artifacts);
        free(res.reason);
        return 2;
    }
    if (injected) {
        fprintf(stderr, "gauntlet-enumerate: the clean run injected a failure at fail-nth "
                "%d: the workload reaches too many sites to count\n", CE_KCOUNT_NTH);
        free(res.reason);
        return 1;
    }
    if (kf == CE_KF_FUNCTION) {
        printf("gauntlet-enumerate: fail_function: %" PRId64 " call%s of %s in the clean "
               "run\n", sites, sites == 1 ? "" : "s", func);
    } else {
        printf("gauntlet-enumerate: %s: %" PRId64 " site%s reached by the ioctls of the "
               "workload (the busiest of %" PRId64 " thread%s) in the clean run\n",
               pair->point, sites, sites == 1 ? "" : "s", threads, threads == 1 ? "" : "s");
    }
    pair->events = sites;
    free(res.reason);
    return 0;
}

/*
 * The error paths each run reached (debug kernel: gcov): the driver's lines
 * its gcov data has and the clean run's does not (campaign_enum_gcov.c).
 * paths[i] and text[i] for run i of this shard (NULL: not read); the
 * report's "gcov" says what was compared, or why nothing was.
 */
typedef struct RunPaths {
    json_object **paths;
    char **text;
    char **note;
} RunPaths;

static void error_paths(const Campaign *c, json_object *report, RunPaths *rp)
{
    json_object *cl, *a, *g = json_object_new_object();
    char err[1024] = "";
    CeCov *clean = NULL;
    size_t nread = 0;

    rp->paths = calloc(c->nruns_sel + 1, sizeof(*rp->paths));
    rp->text = calloc(c->nruns_sel + 1, sizeof(*rp->text));
    rp->note = calloc(c->nruns_sel + 1, sizeof(*rp->note));
    if (!rp->paths || !rp->text || !rp->note) {
        abort();
    }
    json_object_object_add(report, "gcov", g);
    if (!json_object_object_get_ex(report, "clean", &cl) ||
        !json_object_object_get_ex(cl, "artifacts", &a)) {
        json_object_object_add(g, "note", json_object_new_string(
                                   "no clean run here (--counts): no baseline, no error path "
                                   "named"));
        return;
    }
    clean = ce_cov_capture(json_object_get_string(a), "enum_clean", err, sizeof(err));
    if (!clean) {
        fprintf(stderr, "gauntlet-enumerate: error paths not named: the clean run's %s\n", err);
        json_object_object_add(g, "note", json_object_new_string(err));
        return;
    }
    for (size_t i = 0; i < c->nruns_sel; i++) {
        const Run *r = &c->runs[i];
        CeCov *cov;

        if (!r->ran || !r->artifacts[0]) {
            continue;
        }
        cov = ce_cov_capture(r->artifacts, r->name, err, sizeof(err));
        if (!cov) {
            rp->note[i] = cp_strdup(err);
            continue;
        }
        rp->paths[i] = ce_cov_new_paths(clean, cov, &rp->text[i]);
        nread++;
        ce_cov_free(cov);
    }
    ce_cov_free(clean);
    json_object_object_add(g, "baseline", json_object_get(a));
    json_object_object_add(g, "runs_read", json_object_new_uint64(nread));
}

static void write_enumerate_json(const Campaign *c, json_object *report, const Pair *pairs,
                                 size_t npairs, const size_t *run_pair, const int64_t *run_n,
                                 const RunPaths *rp, bool print_table)
{
    json_object *pl = json_object_new_array(), *rl = json_object_new_array();
    json_object *sl = json_object_new_array();
    size_t counts[4] = { 0 }, ran;
    char path[4300], shard[32], *table;
    FILE *f;

    cp_count_status(c, counts, &ran);
    snprintf(shard, sizeof(shard), "%u/%u", c->shard_k, c->shard_m);
    json_object_object_add(report, "shard", json_object_new_string(shard));
    json_object_object_add(report, "selected", json_object_new_uint64(c->nruns_sel));
    json_object_object_add(report, "ran", json_object_new_uint64(ran));
    json_object_object_add(report, "pass", json_object_new_uint64(counts[0]));
    json_object_object_add(report, "fail", json_object_new_uint64(counts[1]));
    json_object_object_add(report, "skip", json_object_new_uint64(counts[2]));
    json_object_object_add(report, "error", json_object_new_uint64(counts[3]));
    json_object_object_add(report, "stopped_by_time", json_object_new_boolean(c->stopped_by_time));
    json_object_object_add(report, "run_wall_s", json_object_new_double(c->run_wall));
    json_object_object_add(report, "runs_per_minute", json_object_new_double(
                               c->run_wall > 0 ? (double)ran * 60.0 / c->run_wall : 0));
    for (size_t p = 0; p < npairs; p++) {
        json_object *o = json_object_new_object();

        json_object_object_add(o, "point", json_object_new_string(pairs[p].point));
        json_object_object_add(o, "action", json_object_new_string(pairs[p].action));
        json_object_object_add(o, "events", json_object_new_int64(pairs[p].events));
        json_object_object_add(o, "n_max", json_object_new_int64(pairs[p].n_max));
        json_object_object_add(o, "sample", json_object_new_int64(pairs[p].sample));
        json_object_object_add(o, "runs", json_object_new_int64(pair_nvals(&pairs[p])));
        json_object_array_add(pl, o);
    }
    json_object_object_add(report, "pairs", pl);
    for (size_t i = 0; i < c->nruns_sel; i++) {
        const Run *r = &c->runs[i];
        json_object *o;

        if (!r->ran) {
            continue;
        }
        o = json_object_new_object();
        json_object_object_add(o, "pair", json_object_new_uint64(run_pair[i]));
        json_object_object_add(o, "n", json_object_new_int64(run_n[i]));
        json_object_object_add(o, "run", json_object_new_uint64(r->index));
        json_object_object_add(o, "name", json_object_new_string(r->name));
        json_object_object_add(o, "status", json_object_new_string(r->status));
        json_object_object_add(o, "signature", json_object_new_string(r->sig));
        json_object_object_add(o, "reason", json_object_new_string(r->reason ? r->reason : ""));
        json_object_object_add(o, "file", json_object_new_string(r->file));
        json_object_object_add(o, "artifacts", json_object_new_string(r->artifacts));
        json_object_object_add(o, "duration_s", json_object_new_double(r->duration));
        if (rp && rp->paths[i]) {
            json_object_object_add(o, "error_paths", json_object_get(rp->paths[i]));
            json_object_object_add(o, "error_paths_text", json_object_new_string(rp->text[i]));
        } else if (rp && rp->note[i]) {
            json_object_object_add(o, "error_paths_note", json_object_new_string(rp->note[i]));
        }
        json_object_array_add(rl, o);
    }
    json_object_object_add(report, "results", rl);
    for (size_t k = 0; k < c->nsigs; k++) {
        const Sig *g = &c->sigs[k];
        json_object *o = json_object_new_object();

        json_object_object_add(o, "signature", json_object_new_string(g->sig));
        json_object_object_add(o, "id", json_object_new_string(g->id));
        json_object_object_add(o, "count", json_object_new_uint64(g->count));
        json_object_object_add(o, "first_run", json_object_new_string(c->runs[g->first].name));
        if (g->shrunk_done) {
            json_object_object_add(o, "shrunk", json_object_new_string(g->shrunk));
            json_object_object_add(o, "reproduced", json_object_new_boolean(g->reproduced));
        }
        json_object_array_add(sl, o);
    }
    json_object_object_add(report, "signatures", sl);
    table = ce_render_table(report);
    json_object_object_add(report, "table", json_object_new_string(table));
    snprintf(path, sizeof(path), "%s/enumerate.json", c->out);
    if (json_object_to_file_ext(path, report, JSON_C_TO_STRING_PRETTY) < 0) {
        fprintf(stderr, "gauntlet-enumerate: cannot write %s\n", path);
    }
    snprintf(path, sizeof(path), "%s/enumerate.txt", c->out);
    f = fopen(path, "w");
    if (f) {
        fputs(table, f);
        fclose(f);
    }
    if (print_table) {
        printf("\ngauntlet-enumerate: per point and action, the n-th event faulted:\n%s",
               table);
        printf("  reports: %s/{enumerate.json,enumerate.txt,campaign.json,junit.xml}\n",
               c->out);
    }
    free(table);
}

int ce_enumerate_main(int argc, char **argv)
{
    enum {
        O_WORKLOAD = CP_O__END, O_WTIMEOUT, O_SETTING, O_POINT, O_ACTION, O_MAXN,
        O_SAMPLE, O_COUNTS, O_GEN_ONLY, O_FAULT, O_KFAULT,
    };
    static const struct option lopts[] = {
        CP_COMMON_LONG_OPTIONS,
        { "workload", required_argument, NULL, O_WORKLOAD },
        { "workload-timeout", required_argument, NULL, O_WTIMEOUT },
        { "setting", required_argument, NULL, O_SETTING },
        { "point", required_argument, NULL, O_POINT },
        { "action", required_argument, NULL, O_ACTION },
        { "fault", required_argument, NULL, O_FAULT },
        { "kfault", required_argument, NULL, O_KFAULT },
        { "max-n", required_argument, NULL, O_MAXN },
        { "sample", required_argument, NULL, O_SAMPLE },
        { "counts", required_argument, NULL, O_COUNTS },
        { "generate-only", required_argument, NULL, O_GEN_ONLY },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    Campaign c = {
        .shard_k = 1, .shard_m = 1, .jobs = 2, .batch = 20, .tool = "enumerate",
        .shrink = true, .shrink_attempts = 40, .shrink_time = 1800,
    };
    const char *points[CE_MAX_POINTS], *actions[CE_MAX_ACTIONS], *count_action[CE_MAX_POINTS];
    /* --fault POINT:ACTION: a pair of its own (fpoint[i] with faction[i]) */
    const char *fpoint[CE_MAX_POINTS], *faction[CE_MAX_POINTS];
    int nfaults = 0;
    int kf = -1;                /* --kfault: index into cv_kfault_names, or CE_KF_FUNCTION */
    const char *kfunc = NULL;   /* --kfault fail_function:FUNC */
    const char **settings = calloc((size_t)argc + 1, sizeof(*settings));
    const char *workload = NULL, *counts_file = NULL, *gen_only = NULL;
    int npoints = 0, nactions = 0, nsettings = 0, opt;
    uint64_t max_n = 0, sample = 0, wtimeout = 120;
    bool batch_given = false;
    Pair pairs[CE_MAX_POINTS * CE_MAX_ACTIONS + CE_MAX_POINTS];
    size_t npairs = 0, *run_pair;
    int64_t *run_n;
    CsSchedule base;
    CsGenOptions go;
    RunPaths rp = { NULL, NULL, NULL };
    json_object *report = json_object_new_object();
    char outbuf[4096];

    setvbuf(stdout, NULL, _IOLBF, 0);
    c.t0 = cp_now();
    c.runner_args = calloc((size_t)argc + 1, sizeof(*c.runner_args));
    optind = 1;
    while ((opt = getopt_long(argc, argv, "j:h", lopts, NULL)) != -1) {
        switch (opt) {
        case O_WORKLOAD: workload = optarg; break;
        case O_WTIMEOUT:
            if (parse_u64("--workload-timeout", optarg, 1, 7200, &wtimeout) < 0) {
                return 2;
            }
            break;
        case O_SETTING:
            if (nsettings >= CS_MAX_OPTS || strlen(optarg) >= CS_TEXT) {
                fprintf(stderr, "gauntlet-enumerate: at most %d --setting, each below %d "
                        "bytes\n", CS_MAX_OPTS, CS_TEXT);
                return 2;
            }
            settings[nsettings++] = optarg;
            break;
        case O_POINT:
        case O_ACTION:
            if ((opt == O_POINT ? npoints >= CE_MAX_POINTS : nactions >= CE_MAX_ACTIONS) ||
                !*optarg || strlen(optarg) > 60 || strpbrk(optarg, ":; \t\n")) {
                fprintf(stderr, "gauntlet-enumerate: --%s '%s': at most %d, each one %s "
                        "(1-60 bytes, no ':', ';' or blank)\n", opt == O_POINT ? "point" :
                        "action", optarg, opt == O_POINT ? CE_MAX_POINTS : CE_MAX_ACTIONS,
                        opt == O_POINT ? "point with an optional [filter]" : "action");
                return 2;
            }
            if (opt == O_POINT) {
                points[npoints++] = optarg;
            } else {
                actions[nactions++] = optarg;
            }
            break;
        case O_FAULT: {
            char *colon = strchr(optarg, ':');

            if (nfaults >= CE_MAX_POINTS || !colon || colon == optarg || !colon[1] ||
                strchr(colon + 1, ':') || strpbrk(optarg, "; \t\n") || strlen(optarg) > 120) {
                fprintf(stderr, "gauntlet-enumerate: --fault '%s': at most %d, each "
                        "POINT:ACTION (e.g. cq.post:drop)\n", optarg, CE_MAX_POINTS);
                return 2;
            }
            *colon = 0;
            fpoint[nfaults] = optarg;
            faction[nfaults++] = colon + 1;
            break;
        }
        case O_KFAULT:
            if (kf >= 0) {
                fprintf(stderr, "gauntlet-enumerate: --kfault once per enumeration (each "
                        "capability has its own filters and clean run)\n");
                return 2;
            }
            for (int k = 0; cv_kfault_names[k]; k++) {
                if (!strcmp(optarg, cv_kfault_names[k])) {
                    kf = k;
                }
            }
            if (kf < 0 && !strncmp(optarg, "fail_function:", 14)) {
                const char *f = optarg + 14;
                size_t i = 0;

                for (; f[i] && (f[i] == '_' || (f[i] >= 'a' && f[i] <= 'z') ||
                                (f[i] >= 'A' && f[i] <= 'Z') ||
                                (i && f[i] >= '0' && f[i] <= '9')); i++) {
                }
                if (!i || f[i] || i > 60) {
                    fprintf(stderr, "gauntlet-enumerate: --kfault fail_function:FUNC wants "
                            "a C identifier (1-60 bytes), got '%s'\n", f);
                    return 2;
                }
                kf = CE_KF_FUNCTION;
                kfunc = f;
            }
            if (kf < 0) {
                fprintf(stderr, "gauntlet-enumerate: --kfault wants failslab, "
                        "fail_page_alloc or fail_function:FUNC, got '%s'\n", optarg);
                return 2;
            }
            break;
        case O_MAXN:
            if (parse_u64("--max-n", optarg, 1, 1000000, &max_n) < 0) {
                return 2;
            }
            break;
        case O_SAMPLE:
            if (parse_u64("--sample", optarg, 1, 1000000, &sample) < 0) {
                return 2;
            }
            break;
        case O_COUNTS: counts_file = optarg; break;
        case O_GEN_ONLY: gen_only = optarg; break;
        case 'h':
            usage(stdout);
            return 0;
        default: {
            int r = cp_common_opt(&c, opt, optarg, "gauntlet-enumerate", &batch_given);

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
        fprintf(stderr, "gauntlet-enumerate: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (kf >= 0 && (nfaults || npoints || nactions)) {
        fprintf(stderr, "gauntlet-enumerate: --kfault enumerates kernel faults on its own: "
                "no --fault, --point or --action with it (run two enumerations)\n");
        return 2;
    }
    if (kf >= 0 && !c.debug) {
        fprintf(stderr, "gauntlet-enumerate: --kfault needs --kernel debug (the stock "
                "kernel has no fault injection)\n");
        return 2;
    }
    if (!c.target || !c.targets_dir || !workload ||
        (kf < 0 && !nfaults && (!npoints || !nactions)) || (!npoints != !nactions)) {
        fprintf(stderr, "gauntlet-enumerate: --target, --targets, --workload, and "
                "--fault POINT:ACTION or --point and --action (each at least once) are "
                "required\n");
        usage(stderr);
        return 2;
    }
    if (max_n && sample) {
        fprintf(stderr, "gauntlet-enumerate: --max-n and --sample exclude each other\n");
        return 2;
    }
    if (strlen(workload) >= CS_TEXT) {
        fprintf(stderr, "gauntlet-enumerate: --workload is longer than %d bytes\n",
                CS_TEXT - 1);
        return 2;
    }
    if (gen_only && !counts_file) {
        fprintf(stderr, "gauntlet-enumerate: --generate-only needs --counts (the runs "
                "depend on the clean run's counts)\n");
        return 2;
    }
    {
        char err[8192], tpath[4200];

        if (cv_load_target(c.targets_dir, c.target, &c.vocab, err, sizeof(err)) < 0) {
            fprintf(stderr, "gauntlet-enumerate: %s\n", err);
            return 2;
        }
        snprintf(tpath, sizeof(tpath), "%s/%s/target.yaml", c.targets_dir, c.target);
        if (!access(tpath, F_OK)) {
            c.checker = gt_load(tpath, err, sizeof(err));
            if (!c.checker) {
                fprintf(stderr, "gauntlet-enumerate: %s\n", err);
                return 2;
            }
            cs_set_rule_checker(c.checker, getenv("GAUNTLET_BUILD"));
        }
    }
    go.debug = c.debug;
    go.target = c.target;
    go.vocab = c.vocab;
    if (c.time_limit > 0 && !batch_given) {
        c.batch = 2 * c.jobs;
    }
    if (!c.out) {
        snprintf(outbuf, sizeof(outbuf), "results/enumerate-%ld", (long)time(NULL));
        c.out = outbuf;
    }
    {
        char sched[4200];

        snprintf(sched, sizeof(sched), "%s/schedules", gen_only ? gen_only : c.out);
        if (cp_mkdir_p(sched) < 0) {
            fprintf(stderr, "gauntlet-enumerate: cannot create %s: %s\n", sched,
                    strerror(errno));
            return 2;
        }
    }
    base_schedule(&base, c.target, c.debug, workload, (double)wtimeout, settings, nsettings);
    if (kf >= 0) {
        if (base.nparams + CE_KFILTERS > CS_MAX_OPTS) {
            fprintf(stderr, "gauntlet-enumerate: at most %d --setting with --kfault\n",
                    CS_MAX_OPTS - CE_KFILTERS);
            return 2;
        }
        /* the capability's filters: not droppable, they define n (and so
         * is the boot's cmdline: no reduction touches it) */
        for (int k = 0; k < CE_KFILTERS && ce_kfilter[kf][k]; k++) {
            snprintf(base.params[base.nparams].text, CS_TEXT, "%s", ce_kfilter[kf][k]);
            base.params[base.nparams++].droppable = false;
        }
        if (kf == 0) {
            snprintf(base.boot_cmdline, sizeof(base.boot_cmdline), "%s",
                     CE_FAILSLAB_CMDLINE);
        }
        if (kf == CE_KF_FUNCTION) {
            pairs[npairs++] = (Pair){ "fail_function", kfunc, -1, 0, 0 };
        } else {
            pairs[npairs++] = (Pair){ cv_kfault_names[kf], "fail-nth", -1, 0, 0 };
        }
    }

    /* the pairs the target's checker accepts; every point and every action
     * must make at least one */
    {
        bool point_used[CE_MAX_POINTS] = { false }, action_used[CE_MAX_ACTIONS] = { false };
        char probe[4300], err[8192];

        snprintf(probe, sizeof(probe), "%s/schedules/enum-probe.yaml", gen_only ? gen_only : c.out);
        for (int pi = 0; pi < npoints; pi++) {
            for (int ai = 0; ai < nactions; ai++) {
                CsSchedule s = base;
                Pair p = { points[pi], actions[ai], -1, 0, 0 };

                s.steps[0].nrules = 1;
                rule_text(s.steps[0].rules[0].text, CS_TEXT, &p, 2);
                if (cs_write_scenario(&s, "enum-probe", probe, err, sizeof(err)) < 0) {
                    char *cut = strstr(err, "\n--- text ---");

                    if (cut) {
                        *cut = 0;   /* the message, not the probe's text */
                    }
                    printf("gauntlet-enumerate: %s:%s is not a rule of this target, not "
                           "enumerated (%s)\n", points[pi], actions[ai], err);
                    continue;
                }
                if (!point_used[pi]) {
                    count_action[pi] = actions[ai];
                }
                point_used[pi] = action_used[ai] = true;
                pairs[npairs++] = p;
            }
        }
        for (int fi = 0; fi < nfaults; fi++) {
            CsSchedule s = base;
            Pair p = { fpoint[fi], faction[fi], -1, 0, 0 };
            int pi;

            s.steps[0].nrules = 1;
            rule_text(s.steps[0].rules[0].text, CS_TEXT, &p, 2);
            if (cs_write_scenario(&s, "enum-probe", probe, err, sizeof(err)) < 0) {
                char *cut = strstr(err, "\n--- text ---");

                if (cut) {
                    *cut = 0;
                }
                fprintf(stderr, "gauntlet-enumerate: --fault %s:%s is not a rule of this "
                        "target: %s\n", fpoint[fi], faction[fi], err);
                return 2;
            }
            for (pi = 0; pi < npoints && strcmp(points[pi], fpoint[fi]); pi++) {
            }
            if (pi == npoints) {
                if (npoints >= CE_MAX_POINTS) {
                    fprintf(stderr, "gauntlet-enumerate: more than %d points\n",
                            CE_MAX_POINTS);
                    return 2;
                }
                points[npoints++] = fpoint[fi];
                count_action[pi] = faction[fi];
                point_used[pi] = true;
            }
            pairs[npairs++] = p;
        }
        unlink(probe);
        for (int pi = 0; pi < npoints; pi++) {
            if (!point_used[pi]) {
                fprintf(stderr, "gauntlet-enumerate: --point %s makes no rule with any "
                        "--action given (see above)\n", points[pi]);
                return 2;
            }
        }
        for (int ai = 0; ai < nactions; ai++) {
            if (!action_used[ai]) {
                fprintf(stderr, "gauntlet-enumerate: --action %s makes no rule with any "
                        "--point given (see above)\n", actions[ai]);
                return 2;
            }
        }
    }
    json_object_object_add(report, "tool", json_object_new_string("gauntlet-enumerate"));
    json_object_object_add(report, "target", json_object_new_string(c.target));
    json_object_object_add(report, "kernel", json_object_new_string(c.debug ? "debug" : "stock"));
    json_object_object_add(report, "workload", json_object_new_string(workload));
    {
        json_object *sl = json_object_new_array();

        for (int i = 0; i < nsettings; i++) {
            json_object_array_add(sl, json_object_new_string(settings[i]));
        }
        json_object_object_add(report, "settings", sl);
    }
    if (!gen_only) {
        /* the longest run name run_name() can make */
        char longest[96];

        snprintf(longest, sizeof(longest), "e%d-%012d-n%d", CE_MAX_POINTS * CE_MAX_ACTIONS,
                 0, 1000000);
        if (cp_prepare_runner(&c, longest)) {
            return 2;
        }
        signal(SIGPIPE, SIG_IGN);
    }
    if (kf >= 0) {
        json_object_object_add(report, "kfault", json_object_new_string(
                                   kf == CE_KF_FUNCTION ? "fail_function" : cv_kfault_names[kf]));
        if (kfunc) {
            json_object_object_add(report, "kfault_function", json_object_new_string(kfunc));
        }
    }
    if (counts_file) {
        if (read_counts(counts_file, pairs, npairs) < 0) {
            return 2;
        }
        json_object_object_add(report, "counts_from", json_object_new_string(counts_file));
    } else if (kf >= 0) {
        int rc = kernel_clean_run(&c, &base, kf, kfunc, workload, &pairs[0], report);

        if (rc) {
            write_enumerate_json(&c, report, pairs, npairs, NULL, NULL, NULL, false);
            return rc;
        }
    } else {
        int rc = clean_run(&c, &base, pairs, npairs, points, npoints, count_action, report);

        if (rc) {
            /* the pairs, uncounted (events -1), and no run */
            write_enumerate_json(&c, report, pairs, npairs, NULL, NULL, NULL, false);
            return rc;
        }
    }

    /* the runs: pairs in order, then n; this shard's */
    {
        uint64_t total = 0, i = 0;

        for (size_t p = 0; p < npairs; p++) {
            pairs[p].n_max = pairs[p].events;
            if (max_n && (int64_t)max_n < pairs[p].n_max) {
                pairs[p].n_max = (int64_t)max_n;
            }
            pairs[p].sample = sample && (int64_t)sample < pairs[p].n_max ? (int64_t)sample : 0;
            total += (uint64_t)pair_nvals(&pairs[p]);
        }
        c.nruns = total;
        c.runs = calloc(total / c.shard_m + 1, sizeof(*c.runs));
        c.scheds = calloc(total / c.shard_m + 1, sizeof(*c.scheds));
        run_pair = calloc(total / c.shard_m + 1, sizeof(*run_pair));
        run_n = calloc(total / c.shard_m + 1, sizeof(*run_n));
        if (!c.runs || !c.scheds || !run_pair || !run_n) {
            fprintf(stderr, "gauntlet-enumerate: out of memory\n");
            return 2;
        }
        for (size_t p = 0; p < npairs; p++) {
            for (int64_t j = 0; j < pair_nvals(&pairs[p]); j++, i++) {
                size_t k = c.nruns_sel;
                CsSchedule *s = &c.scheds[k];
                Run *r = &c.runs[k];
                int64_t n = pair_n(&pairs[p], j);
                char err[8192];

                if (i % c.shard_m != c.shard_k - 1) {
                    continue;
                }
                c.nruns_sel++;
                if (kf >= 0) {
                    kernel_schedule(s, &base, kf, kfunc, workload, n, true);
                    if (kf == CE_KF_FUNCTION) {
                        snprintf(s->origin, sizeof(s->origin), "gauntlet enumerate --kfault "
                                 "fail_function:%s (docs/enumerate.md): call number %" PRId64
                                 " of the %" PRId64 " the clean run counted fails (space %"
                                 PRId64 "); the driver must survive it with every verdict "
                                 "clean.", kfunc, n, pairs[p].events, n);
                    } else {
                        snprintf(s->origin, sizeof(s->origin), "gauntlet enumerate --kfault "
                                 "%s (docs/enumerate.md): fail-nth %" PRId64 ", the %s site "
                                 "number %" PRId64 " of the %" PRId64 " the clean run's ioctls "
                                 "reached fails; the driver must survive it with every verdict "
                                 "clean.", pairs[p].point, n, pairs[p].point, n,
                                 pairs[p].events);
                    }
                } else {
                    *s = base;
                    s->steps[0].nrules = 1;
                    rule_text(s->steps[0].rules[0].text, CS_TEXT, &pairs[p], n);
                    s->steps[0].rules[0].sure = true;   /* n <= the events counted */
                    snprintf(s->origin, sizeof(s->origin), "gauntlet enumerate "
                             "(docs/enumerate.md): %s at %s event number %" PRId64 " of the %"
                             PRId64 " the clean run of this workload counted; the driver must "
                             "survive it with every verdict clean.", pairs[p].action,
                             pairs[p].point, n, pairs[p].events);
                }
                r->index = i;
                run_pair[k] = p;
                run_n[k] = n;
                run_name(r->name, sizeof(r->name), p, &pairs[p], n);
                snprintf(r->file, sizeof(r->file), "%s/schedules/%s.yaml",
                         gen_only ? gen_only : c.out, r->name);
                if (cs_write_scenario(s, r->name, r->file, err, sizeof(err)) < 0) {
                    fprintf(stderr, "gauntlet-enumerate: %s: %s\n", r->name, err);
                    return 2;
                }
            }
        }
        if (gen_only) {
            printf("gauntlet-enumerate: %zu scenario files (%" PRIu64 " runs, shard %u/%u) "
                   "in %s/schedules\n", c.nruns_sel, total, c.shard_k, c.shard_m, gen_only);
            return 0;
        }
        printf("gauntlet-enumerate: %" PRIu64 " runs over %zu (point, action) pairs, shard "
               "%u/%u: %zu here, -j %d%s; results in %s\n", total, npairs, c.shard_k,
               c.shard_m, c.nruns_sel, c.jobs,
               c.snapshot ? ", runs start from a snapshot (--snapshot)" : "", c.out);
    }
    if (cp_run_all(&c, &go) == 2) {
        write_enumerate_json(&c, report, pairs, npairs, run_pair, run_n, NULL, false);
        return 2;
    }
    cp_write_reports(&c);
    cp_print_summary(&c);
    if (c.debug) {
        error_paths(&c, report, &rp);
    }
    write_enumerate_json(&c, report, pairs, npairs, run_pair, run_n, c.debug ? &rp : NULL,
                         true);
    {
        char err[1024];

        /* report.html again, now with enumerate.json's tables */
        if (ghr_write(c.out, err, sizeof(err)) < 0) {
            fprintf(stderr, "gauntlet-enumerate: report.html: %s\n", err);
        }
    }
    {
        size_t counts[4] = { 0 }, ran;
        bool unreached = false;

        cp_count_status(&c, counts, &ran);
        json_object_put(report);
        cv_free(c.vocab);
        for (size_t p = 0; p < npairs; p++) {
            if (!pairs[p].events) {
                printf("gauntlet-enumerate: %s:%s: nothing enumerated, the workload never "
                       "reaches %s (exit 1)\n", pairs[p].point, pairs[p].action,
                       pairs[p].point);
                unreached = true;
            }
        }
        return counts[1] || counts[3] || unreached ? 1 : 0;
    }
}
