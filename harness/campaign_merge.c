/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gauntlet-campaign merge DIR... --out DIR: one report from many shards.
 *
 * From every DIR (searched recursively) it takes junit.xml, campaign.json
 * (gauntlet-campaign), report.json (gauntlet-runner) and lcov tracefiles
 * (*.info), and writes into --out:
 *   junit.xml      every <testsuite> of every input, totals summed (junit.c)
 *   campaign.json  results concatenated, counts summed, failures grouped
 *                  again by signature across shards
 *   report.json    scenarios concatenated, counts summed
 *   enumerate.json gauntlet enumerate's shards: results concatenated, the
 *                  table rendered again (campaign_enum_table.c), and
 *                  enumerate.txt, the table
 *   coverage.info  `lcov -a` over all tracefiles
 * Inputs are all read and checked before anything is written; a file that
 * does not parse stops the merge with its path (exit 2).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "campaign.h"
#include "junit.h"
#include "proc.h"

/* lcov -a over every shard's tracefile */
#define LCOV_TIMEOUT_S 1800.0

typedef struct Files {
    char **v;
    size_t n;
} Files;

static Files f_junit, f_campaign, f_report, f_info, f_enum;
static char out_real[PATH_MAX];

static void push(Files *f, const char *p)
{
    f->v = realloc(f->v, (f->n + 1) * sizeof(*f->v));
    f->v[f->n] = strdup(p);
    if (!f->v || !f->v[f->n]) {
        abort();
    }
    f->n++;
}

static int visit(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    const char *base = path + ftw->base;
    size_t l = strlen(base);
    char rp[PATH_MAX];

    (void)sb;
    if (type == FTW_D && out_real[0] && realpath(path, rp) && !strcmp(rp, out_real)) {
        return FTW_SKIP_SUBTREE;    /* never merge the output into itself */
    }
    if (type != FTW_F) {
        return FTW_CONTINUE;
    }
    if (!strcmp(base, "junit.xml") || !strcmp(base, "report.json")) {
        /* a campaign's runner batches and shrink attempts write these too:
         * the campaign's own junit.xml and campaign.json hold those runs */
        char dir[PATH_MAX], cj[PATH_MAX + 32];
        bool in_campaign = false;

        snprintf(dir, sizeof(dir), "%.*s../", (int)ftw->base, path);
        for (int up = 1; up <= 4 && !in_campaign; up++) {
            snprintf(cj, sizeof(cj), "%scampaign.json", dir);
            in_campaign = access(cj, F_OK) == 0;
            strncat(dir, "../", sizeof(dir) - strlen(dir) - 1);
        }
        if (!in_campaign) {
            push(base[0] == 'j' ? &f_junit : &f_report, path);
        }
    } else if (!strcmp(base, "campaign.json")) {
        push(&f_campaign, path);
    } else if (!strcmp(base, "enumerate.json")) {
        push(&f_enum, path);
    } else if (l > 5 && !strcmp(base + l - 5, ".info")) {
        push(&f_info, path);
    }
    return FTW_CONTINUE;
}

static int64_t get_i(json_object *o, const char *k)
{
    json_object *v;

    return json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v) : 0;
}

static json_object *load_json(const char *path, const char *must_have)
{
    json_object *o = json_object_from_file(path), *v;

    if (!o || !json_object_is_type(o, json_type_object) ||
        !json_object_object_get_ex(o, must_have, &v) ||
        !json_object_is_type(v, json_type_array)) {
        fprintf(stderr, "gauntlet merge: %s: not a gauntlet report (no '%s' list)%s%s\n",
                path, must_have, o ? "" : ": ", o ? "" : json_util_get_last_err());
        if (o) {
            json_object_put(o);
        }
        return NULL;
    }
    return o;
}

static json_object *merge_campaigns(json_object **in, size_t n)
{
    json_object *root = json_object_new_object(), *results = json_object_new_array();
    json_object *sigs = json_object_new_array(), *shards = json_object_new_array();
    static const char *const sums[] = { "selected", "ran", "pass", "fail", "skip", "error" };
    int64_t tot[6] = { 0 }, ftot[3] = { 0 };
    double rpm = 0, wall = 0;
    json_object *fired = json_object_new_array();

    for (size_t i = 0; i < n; i++) {
        json_object *v, *arr;

        /* the fired fraction per point: drawn, fired, unfired_allowed summed */
        if (json_object_object_get_ex(in[i], "fired_by_point", &arr) &&
            json_object_is_type(arr, json_type_array)) {
            for (size_t k = 0; k < json_object_array_length(arr); k++) {
                json_object *e = json_object_array_get_idx(arr, k), *m = NULL, *pv;
                static const char *const fk[] = { "drawn", "fired", "unfired_allowed" };

                if (!json_object_object_get_ex(e, "point", &pv)) {
                    continue;
                }
                for (size_t j = 0; j < json_object_array_length(fired) && !m; j++) {
                    json_object *h = json_object_array_get_idx(fired, j), *hv;

                    if (json_object_object_get_ex(h, "point", &hv) &&
                        !strcmp(json_object_get_string(hv), json_object_get_string(pv))) {
                        m = h;
                    }
                }
                if (!m) {
                    m = json_object_new_object();
                    json_object_object_add(m, "point", json_object_get(pv));
                    json_object_array_add(fired, m);
                }
                for (int q = 0; q < 3; q++) {
                    json_object_object_add(m, fk[q], json_object_new_int64(
                                               get_i(m, fk[q]) + get_i(e, fk[q])));
                    ftot[q] += get_i(e, fk[q]);
                }
                json_object_object_add(m, "percent", json_object_new_double(
                                           (double)(int)(1000.0 * (double)get_i(m, "fired") /
                                                         (double)get_i(m, "drawn") + 0.5) /
                                           10.0));
            }
        }

        for (int k = 0; k < 6; k++) {
            tot[k] += get_i(in[i], sums[k]);
        }
        if (json_object_object_get_ex(in[i], "runs_per_minute", &v)) {
            rpm += json_object_get_double(v);
        }
        if (json_object_object_get_ex(in[i], "run_wall_s", &v) &&
            json_object_get_double(v) > wall) {
            wall = json_object_get_double(v);
        }
        {
            json_object *sh = json_object_new_object();

            if (json_object_object_get_ex(in[i], "seed", &v)) {
                json_object_object_add(sh, "seed", json_object_get(v));
            }
            if (json_object_object_get_ex(in[i], "shard", &v)) {
                json_object_object_add(sh, "shard", json_object_get(v));
            }
            if (json_object_object_get_ex(in[i], "ran", &v)) {
                json_object_object_add(sh, "ran", json_object_get(v));
            }
            json_object_array_add(shards, sh);
        }
        json_object_object_get_ex(in[i], "results", &arr);
        for (size_t k = 0; k < json_object_array_length(arr); k++) {
            json_object_array_add(results, json_object_get(json_object_array_get_idx(arr, k)));
        }
        if (!json_object_object_get_ex(in[i], "signatures", &arr) ||
            !json_object_is_type(arr, json_type_array)) {
            continue;
        }
        for (size_t k = 0; k < json_object_array_length(arr); k++) {
            json_object *g = json_object_array_get_idx(arr, k), *sv, *m = NULL;
            const char *sig;

            if (!json_object_object_get_ex(g, "signature", &sv)) {
                continue;
            }
            sig = json_object_get_string(sv);
            for (size_t j = 0; j < json_object_array_length(sigs); j++) {
                json_object *h = json_object_array_get_idx(sigs, j), *hv;

                if (json_object_object_get_ex(h, "signature", &hv) &&
                    !strcmp(json_object_get_string(hv), sig)) {
                    m = h;
                }
            }
            if (!m) {
                json_object_array_add(sigs, json_object_get(g));
                continue;
            }
            /* the same failure in another shard: add its count and runs */
            {
                json_object *ra, *rb;

                json_object_object_add(m, "count", json_object_new_int64(
                                           get_i(m, "count") + get_i(g, "count")));
                if (json_object_object_get_ex(m, "runs", &ra) &&
                    json_object_object_get_ex(g, "runs", &rb)) {
                    for (size_t q = 0; q < json_object_array_length(rb); q++) {
                        json_object_array_add(ra, json_object_get(
                                                  json_object_array_get_idx(rb, q)));
                    }
                }
            }
        }
    }
    json_object_object_add(root, "tool", json_object_new_string("gauntlet-campaign merge"));
    json_object_object_add(root, "shards", shards);
    for (int k = 0; k < 6; k++) {
        json_object_object_add(root, sums[k], json_object_new_int64(tot[k]));
    }
    json_object_object_add(root, "runs_per_minute", json_object_new_double(rpm));
    json_object_object_add(root, "run_wall_s", json_object_new_double(wall));
    json_object_object_add(root, "results", results);
    json_object_object_add(root, "signatures", sigs);
    json_object_object_add(root, "fired_by_point", fired);
    {
        json_object *ft = json_object_new_object();

        json_object_object_add(ft, "drawn", json_object_new_int64(ftot[0]));
        json_object_object_add(ft, "fired", json_object_new_int64(ftot[1]));
        json_object_object_add(ft, "percent", json_object_new_double(
                                   ftot[0] ? (double)(int)(1000.0 * (double)ftot[1] /
                                                           (double)ftot[0] + 0.5) / 10.0 : 0));
        json_object_object_add(ft, "unfired_allowed", json_object_new_int64(ftot[2]));
        json_object_object_add(root, "fired", ft);
    }
    return root;
}

static json_object *merge_reports(json_object **in, size_t n)
{
    json_object *root = json_object_new_object(), *sc = json_object_new_array();
    static const char *const sums[] = { "pass", "fail", "skip", "error" };
    double wall = 0;

    for (int k = 0; k < 4; k++) {
        int64_t t = 0;

        for (size_t i = 0; i < n; i++) {
            t += get_i(in[i], sums[k]);
        }
        json_object_object_add(root, sums[k], json_object_new_int64(t));
    }
    for (size_t i = 0; i < n; i++) {
        json_object *arr, *v;

        if (json_object_object_get_ex(in[i], "wall_s", &v) && json_object_get_double(v) > wall) {
            wall = json_object_get_double(v);
        }
        json_object_object_get_ex(in[i], "scenarios", &arr);
        for (size_t k = 0; k < json_object_array_length(arr); k++) {
            json_object_array_add(sc, json_object_get(json_object_array_get_idx(arr, k)));
        }
    }
    json_object_object_add(root, "tool", json_object_new_string("gauntlet"));
    json_object_object_add(root, "wall_s", json_object_new_double(wall));
    json_object_object_add(root, "scenarios", sc);
    return root;
}

static int run_lcov(const Files *info, const char *out)
{
    char **argv = calloc(info->n * 2 + 8, sizeof(*argv));
    size_t a = 0;
    int rc = 0;

    argv[a++] = "lcov";
    argv[a++] = "--quiet";
    for (size_t i = 0; i < info->n; i++) {
        argv[a++] = "-a";
        argv[a++] = info->v[i];
    }
    argv[a++] = "-o";
    argv[a++] = (char *)out;
    argv[a] = NULL;
    {
        GpSpec sp = { .argv = argv, .output = GP_OUT_INHERIT,
                      .timeout_s = LCOV_TIMEOUT_S };
        GpResult res;

        if (gp_run(&sp, &res) < 0) {
            fprintf(stderr, "gauntlet merge: %s; install lcov with ./gauntlet deps\n",
                    res.why);
            rc = -1;
        } else if (gp_failed(&res)) {
            fprintf(stderr, "gauntlet merge: lcov -a: %s\n", res.why);
            rc = -1;
        }
        gp_result_free(&res);
    }
    free(argv);
    return rc;
}

int cs_merge_main(int argc, char **argv)
{
    const char *out = NULL;
    char **dirs = calloc((size_t)argc + 1, sizeof(*dirs));
    size_t ndirs = 0, ncamp = 0, nrep = 0, nenum = 0;
    json_object **camp, **rep, **enm, *enum_merged = NULL;
    GjCounts tot = { 0 };
    char err[1200];
    char path[PATH_MAX + 64];
    int rc = 0;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--out")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "gauntlet merge: --out wants a directory\n");
                return 2;
            }
            out = argv[++i];
        } else if (!strncmp(argv[i], "--out=", 6)) {
            out = argv[i] + 6;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: gauntlet merge DIR... --out DIR\n");
            return 0;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "gauntlet merge: unknown option '%s' "
                    "(usage: gauntlet merge DIR... --out DIR)\n", argv[i]);
            return 2;
        } else {
            dirs[ndirs++] = argv[i];
        }
    }
    if (!out || !ndirs) {
        fprintf(stderr, "gauntlet merge: usage: gauntlet merge DIR... --out DIR\n");
        return 2;
    }
    if (mkdir(out, 0755) && errno != EEXIST) {
        fprintf(stderr, "gauntlet merge: cannot create %s: %s\n", out, strerror(errno));
        return 2;
    }
    if (!realpath(out, out_real)) {
        out_real[0] = 0;
    }
    for (size_t i = 0; i < ndirs; i++) {
        struct stat sb;
        char rp[PATH_MAX];

        if (stat(dirs[i], &sb) || !S_ISDIR(sb.st_mode)) {
            fprintf(stderr, "gauntlet merge: %s: not a directory\n", dirs[i]);
            return 2;
        }
        if (realpath(dirs[i], rp) && !strcmp(rp, out_real)) {
            fprintf(stderr, "gauntlet merge: the output %s is also an input\n", out);
            return 2;
        }
        nftw(dirs[i], visit, 32, FTW_PHYS | FTW_ACTIONRETVAL);
    }
    if (!f_junit.n && !f_campaign.n && !f_report.n && !f_info.n && !f_enum.n) {
        fprintf(stderr, "gauntlet merge: no junit.xml, campaign.json, report.json or "
                "*.info in the given directories\n");
        return 2;
    }

    /* read and check everything first */
    for (size_t i = 0; i < f_junit.n; i++) {
        if (gj_collect(f_junit.v[i], &tot, err, sizeof(err)) < 0) {
            fprintf(stderr, "gauntlet merge: %s\n", err);
            return 2;
        }
    }
    camp = calloc(f_campaign.n + 1, sizeof(*camp));
    rep = calloc(f_report.n + 1, sizeof(*rep));
    for (size_t i = 0; i < f_campaign.n; i++) {
        if (!(camp[ncamp++] = load_json(f_campaign.v[i], "results"))) {
            return 2;
        }
    }
    for (size_t i = 0; i < f_report.n; i++) {
        if (!(rep[nrep++] = load_json(f_report.v[i], "scenarios"))) {
            return 2;
        }
    }
    enm = calloc(f_enum.n + 1, sizeof(*enm));
    for (size_t i = 0; i < f_enum.n; i++) {
        if (!(enm[nenum++] = load_json(f_enum.v[i], "results"))) {
            return 2;
        }
    }
    if (nenum) {
        enum_merged = ce_merge(enm, nenum, err, sizeof(err));
        if (!enum_merged) {
            fprintf(stderr, "gauntlet merge: enumerate.json: %s\n", err);
            return 2;
        }
    }

    if (f_junit.n) {
        snprintf(path, sizeof(path), "%s/junit.xml", out);
        if (gj_merge((const char *const *)f_junit.v, f_junit.n, "gauntlet", path, &tot,
                     err, sizeof(err)) < 0) {
            fprintf(stderr, "gauntlet merge: %s\n", err);
            return 2;
        }
        printf("gauntlet merge: %s: %zu file(s), %.0f tests, %.0f failures, %.0f errors, "
               "%.0f skipped\n", path, f_junit.n, tot.tests, tot.failures, tot.errors,
               tot.skipped);
    }
    if (ncamp) {
        json_object *m = merge_campaigns(camp, ncamp);

        snprintf(path, sizeof(path), "%s/campaign.json", out);
        if (json_object_to_file_ext(path, m, JSON_C_TO_STRING_PRETTY) < 0) {
            rc = 1;
        }
        printf("gauntlet merge: %s: %zu shard(s), %" PRId64 " runs, %" PRId64 " failed, "
               "%zu signature(s)\n", path, ncamp, get_i(m, "ran"), get_i(m, "fail"),
               json_object_array_length(json_object_object_get(m, "signatures")));
        json_object_put(m);
    }
    if (nrep) {
        json_object *m = merge_reports(rep, nrep);

        snprintf(path, sizeof(path), "%s/report.json", out);
        if (json_object_to_file_ext(path, m, JSON_C_TO_STRING_PRETTY) < 0) {
            rc = 1;
        }
        printf("gauntlet merge: %s: %zu report(s)\n", path, nrep);
        json_object_put(m);
    }
    if (enum_merged) {
        json_object *t;
        FILE *f;

        snprintf(path, sizeof(path), "%s/enumerate.json", out);
        if (json_object_to_file_ext(path, enum_merged, JSON_C_TO_STRING_PRETTY) < 0) {
            rc = 1;
        }
        printf("gauntlet merge: %s: %zu shard(s), %" PRId64 " runs, %" PRId64 " failed\n",
               path, nenum, get_i(enum_merged, "ran"), get_i(enum_merged, "fail"));
        snprintf(path, sizeof(path), "%s/enumerate.txt", out);
        f = fopen(path, "w");
        if (!f || !json_object_object_get_ex(enum_merged, "table", &t) ||
            fputs(json_object_get_string(t), f) < 0) {
            rc = 1;
        } else {
            fputs(json_object_get_string(t), stdout);
        }
        if (f) {
            fclose(f);
        }
        json_object_put(enum_merged);
    }
    if (f_info.n) {
        snprintf(path, sizeof(path), "%s/coverage.info", out);
        if (run_lcov(&f_info, path) < 0) {
            fprintf(stderr, "gauntlet merge: lcov -a over %zu tracefile(s) failed\n",
                    f_info.n);
            rc = 1;
        } else {
            printf("gauntlet merge: %s: %zu tracefile(s)\n", path, f_info.n);
        }
    }
    return rc;
}
