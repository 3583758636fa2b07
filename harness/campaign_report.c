/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A campaign's reports: campaign.json, junit.xml and the summary.
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
#include "report_html.h"
#include "proc.h"

/* ---- reports ---------------------------------------------------------------------- */

void cp_count_status(const Campaign *c, size_t counts[4], size_t *ran)
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

/* The fault rules drawn and fired, per point, over the runs' faults.json
 * (written by the runner's faults-fired verdict: every rule, its fire
 * count, whether allow_unfired let it stay unfired).  A JSON array of
 * {point, drawn, fired, percent, unfired_allowed}, most drawn first, and
 * the totals in tot[3] (drawn, fired, unfired_allowed). */
json_object *cp_fired_by_point(const Campaign *c, uint64_t tot[3])
{
    struct { char point[48]; uint64_t drawn, fired, allowed; } *pt = NULL;
    size_t npt = 0;
    json_object *arr = json_object_new_array();

    tot[0] = tot[1] = tot[2] = 0;
    for (size_t i = 0; i < c->nruns_sel; i++) {
        const Run *r = &c->runs[i];
        char path[4300];
        json_object *fj;

        if (!r->ran || !r->artifacts[0]) {
            continue;
        }
        snprintf(path, sizeof(path), "%s/faults.json", r->artifacts);
        fj = json_object_from_file(path);
        for (size_t k = 0; fj && json_object_is_type(fj, json_type_array) &&
             k < json_object_array_length(fj); k++) {
            json_object *e = json_object_array_get_idx(fj, k), *v;
            const char *rule = json_object_object_get_ex(e, "rule", &v) ?
                               json_object_get_string(v) : "";
            size_t l = strcspn(rule, "[:"), j;
            bool fired = json_object_object_get_ex(e, "fired", &v) &&
                         json_object_get_int64(v) > 0;
            bool allowed = json_object_object_get_ex(e, "allow_unfired", &v) &&
                           json_object_get_boolean(v);

            if (!l || l >= sizeof(pt->point)) {
                continue;
            }
            for (j = 0; j < npt && (strlen(pt[j].point) != l ||
                                    strncmp(pt[j].point, rule, l)); j++) {
            }
            if (j == npt) {
                pt = realloc(pt, (npt + 1) * sizeof(*pt));
                if (!pt) {
                    abort();
                }
                memset(&pt[npt], 0, sizeof(*pt));
                memcpy(pt[npt].point, rule, l);
                npt++;
            }
            pt[j].drawn++;
            pt[j].fired += fired;
            pt[j].allowed += !fired && allowed;
        }
        json_object_put(fj);
    }
    for (size_t a = 0; a < npt; a++) {      /* most drawn first; few points */
        for (size_t b = a + 1; b < npt; b++) {
            if (pt[b].drawn > pt[a].drawn) {
                __typeof__(*pt) t = pt[a];

                pt[a] = pt[b];
                pt[b] = t;
            }
        }
    }
    for (size_t j = 0; j < npt; j++) {
        json_object *o = json_object_new_object();

        json_object_object_add(o, "point", json_object_new_string(pt[j].point));
        json_object_object_add(o, "drawn", json_object_new_uint64(pt[j].drawn));
        json_object_object_add(o, "fired", json_object_new_uint64(pt[j].fired));
        json_object_object_add(o, "percent", json_object_new_double(
                                   (double)(int)(1000.0 * (double)pt[j].fired /
                                                 (double)pt[j].drawn + 0.5) / 10.0));
        json_object_object_add(o, "unfired_allowed", json_object_new_uint64(pt[j].allowed));
        json_object_array_add(arr, o);
        tot[0] += pt[j].drawn;
        tot[1] += pt[j].fired;
        tot[2] += pt[j].allowed;
    }
    free(pt);
    return arr;
}

void cp_write_reports(const Campaign *c)
{
    char path[4300], shard[32];
    size_t counts[4] = { 0 }, ran;
    json_object *root = json_object_new_object(), *arr = json_object_new_array();
    json_object *sarr = json_object_new_array();

    cp_count_status(c, counts, &ran);
    snprintf(shard, sizeof(shard), "%u/%u", c->shard_k, c->shard_m);
    json_object_object_add(root, "tool", json_object_new_string(c->tool ? "gauntlet-enumerate" :
                                                                "gauntlet-campaign"));
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
    json_object_object_add(root, "wall_s", json_object_new_double(cp_now() - c->t0));
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
    {
        uint64_t tot[3];
        json_object *fp = cp_fired_by_point(c, tot), *ft = json_object_new_object();

        json_object_object_add(root, "fired_by_point", fp);
        json_object_object_add(ft, "drawn", json_object_new_uint64(tot[0]));
        json_object_object_add(ft, "fired", json_object_new_uint64(tot[1]));
        json_object_object_add(ft, "percent", json_object_new_double(
                                   tot[0] ? (double)(int)(1000.0 * (double)tot[1] /
                                                          (double)tot[0] + 0.5) / 10.0 : 0));
        json_object_object_add(ft, "unfired_allowed", json_object_new_uint64(tot[2]));
        json_object_object_add(root, "fired", ft);
    }
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
        if (c->tool) {
            snprintf(suite, sizeof(suite), "%s-%s-shard%u-of-%u", c->tool, c->target,
                     c->shard_k, c->shard_m);
        } else {
            snprintf(suite, sizeof(suite), "campaign-s%" PRIu64 "-shard%u-of-%u", c->seed,
                     c->shard_k, c->shard_m);
        }
        gj_begin(w, "testsuites", "gauntlet-campaign", &cnt);
        gj_begin(w, "testsuite", suite, &cnt);
        for (size_t i = 0; i < c->nruns_sel; i++) {
            const Run *r = &c->runs[i];

            if (!r->ran) {
                continue;
            }
            gj_case(w, c->tool ? "gauntlet.enumerate" : "gauntlet.campaign", r->name,
                    r->file, r->duration);
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
    {
        char err[1024];

        /* report.html from campaign.json (gauntlet-report DIR) */
        if (ghr_write(c->out, err, sizeof(err)) < 0) {
            fprintf(stderr, "gauntlet-campaign: report.html: %s\n", err);
        }
    }
}

void cp_print_summary(const Campaign *c)
{
    size_t counts[4] = { 0 }, ran;

    cp_count_status(c, counts, &ran);
    if (c->tool) {
        printf("\ngauntlet-%s: shard %u/%u: %zu of %zu selected runs ran%s\n", c->tool,
               c->shard_k, c->shard_m, ran, c->nruns_sel,
               c->stopped_by_time ? " (stopped by --time)" : "");
    } else {
        printf("\ngauntlet-campaign: seed %" PRIu64 ", shard %u/%u: %zu of %zu selected runs "
               "ran%s\n", c->seed, c->shard_k, c->shard_m, ran, c->nruns_sel,
               c->stopped_by_time ? " (stopped by --time)" : "");
    }
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
    {
        /* every drawn rule must fire: the fraction that did, per point;
         * an unfired rule is an event the runs did not test, even where
         * allow_unfired let the run pass */
        uint64_t tot[3];
        json_object *fp = cp_fired_by_point(c, tot);

        if (tot[0]) {
            printf("  fault rules fired: %" PRIu64 " of %" PRIu64 " drawn (%.1f%%)\n",
                   tot[1], tot[0], 100.0 * (double)tot[1] / (double)tot[0]);
            for (size_t j = 0; j < json_object_array_length(fp); j++) {
                json_object *o = json_object_array_get_idx(fp, j);

                printf("    %-12s %3" PRId64 " of %3" PRId64 " fired (%5.1f%%)\n",
                       json_object_get_string(json_object_object_get(o, "point")),
                       json_object_get_int64(json_object_object_get(o, "fired")),
                       json_object_get_int64(json_object_object_get(o, "drawn")),
                       json_object_get_double(json_object_object_get(o, "percent")));
            }
            if (tot[2]) {
                printf("  UNTESTED: %" PRIu64 " drawn rule(s) never fired; allow_unfired "
                       "let their runs pass, but those events were not tested "
                       "(campaign.json fired_by_point)\n", tot[2]);
            }
        }
        json_object_put(fp);
    }
    printf("  reports: %s/{campaign.json,junit.xml,report.html}\n", c->out);
}
