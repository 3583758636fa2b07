/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Campaign vocabularies (campaign_vocab.h): a target's campaign.yaml read
 * with libyaml's document loader and checked section by section before
 * any run is drawn (the schema of docs/campaigns.md, "Vocabulary files"),
 * and the draws the generator makes from it.
 *
 * Every error is "file:line:col: message" (the position of the offending
 * node).  Everything is allocated in one arena, freed at once, also when
 * a check fails half-way (the checks leave through longjmp).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign_vocab_parse.h"

const char *const cv_kfault_names[] = { "failslab", "fail_page_alloc", NULL };
const char *const cv_pm_levels[] = {
    "", "freezer", "devices", "platform", "processors", "core", NULL,
};

/* ---- sections ----------------------------------------------------------------- */

/* A text of seconds over the workload's variables, N or N+M+... (the
 * workload's stop timeout, power_cut's within): its variables are integers
 * (ranges from 0, or choices that are all integers), and the shape holds
 * with every variable at its lowest and at its highest value.  Returns the
 * sum at the lowest values. */
static long seconds_sum(Parser *P, const CvVocab *V, const CvText *t, const yaml_node_t *tn,
                        const char *what)
{
    char probe[CS_TEXT];
    long lowest = 0;

    for (int i = 0; i < V->workload.nvars; i++) {
        const CvVar *x = &V->workload.vars[i];
        char ph[48];

        snprintf(ph, sizeof(ph), "{%s}", x->name);
        if (!strstr(t->text, ph)) {
            continue;
        }
        for (int c = 0; c < x->nchoices; c++) {
            if (!x->choices[c][0] || strspn(x->choices[c], "0123456789") !=
                strlen(x->choices[c])) {
                cvp_fail(P, tn, "%s uses '%s', whose choice '%s' is not a number",
                        what, x->name, x->choices[c]);
            }
        }
        if (x->range && (x->lo < 0 || x->hex)) {
            cvp_fail(P, tn, "%s uses '%s', which is not a decimal range from 0", what, x->name);
        }
    }
    for (int hi = 0; hi < 2; hi++) {
        char *vals[CV_MAX_VARS];
        char store[CV_MAX_VARS][CS_TEXT];

        for (int i = 0; i < V->workload.nvars; i++) {
            const CvVar *x = &V->workload.vars[i];

            if (x->range) {
                snprintf(store[i], sizeof(store[i]), "%lld", hi ? x->hi : x->lo);
            } else {
                long long best = -1;

                for (int c = 0; c < x->nchoices; c++) {
                    long long y = strtoll(x->choices[c], NULL, 10);

                    best = best < 0 || (hi ? y > best : y < best) ? y : best;
                }
                snprintf(store[i], sizeof(store[i]), "%lld", best);
            }
            vals[i] = store[i];
        }
        cv_expand(t, V->workload.vars, vals, V->workload.nvars, NULL, probe, sizeof(probe));
        if (cv_sum(probe) < 0) {
            cvp_fail(P, tn, "%s wants seconds, 1..7200, written N or N+M with "
                    "workload variables (e.g. \"{duration}+120\"), got '%s' (as '%s')",
                    what, t->text, probe);
        }
        lowest = hi ? lowest : cv_sum(probe);
    }
    return lowest;
}

static void parse_workload(Parser *P, CvVocab *V, const yaml_node_t *n)
{
    static const char *const keys[] = {
        "cmd", "vars", "options", "disturbed", "stop", "ends", NULL,
    };
    static const char *const stop_keys[] = { "wait", "timeout", NULL };
    yaml_node_t *v, *stop, *tn;

    cvp_map_check(P, n, "workload", keys);
    if ((v = cvp_map_get(P, n, "vars"))) {
        V->workload.vars = cvp_vars(P, v, &V->workload.nvars);
    }
    tn = cvp_map_need(P, n, "cmd", "workload");
    cvp_template(P, &V->workload.cmd, tn, cvp_scalar(P, tn, "cmd"), NULL,
                   V->workload.vars, V->workload.nvars);
    if ((v = cvp_map_get(P, n, "options"))) {
        cvp_list(P, &V->workload.options, v, "a workload option", "opt",
                   IT_CHANCE | IT_DROP, true, V->workload.vars, V->workload.nvars);
    }
    if ((v = cvp_map_get(P, n, "disturbed"))) {
        cvp_list(P, &V->workload.disturbed, v, "a disturbed option", "opt", 0, false,
                   V->workload.vars, V->workload.nvars);
    }
    if (V->workload.options.n + V->workload.disturbed.n > CS_MAX_OPTS) {
        cvp_fail(P, n, "workload: %d options and disturbed options, at most %d",
                V->workload.options.n + V->workload.disturbed.n, CS_MAX_OPTS);
    }
    stop = cvp_map_need(P, n, "stop", "workload");
    cvp_map_check(P, stop, "workload stop", stop_keys);
    V->workload.wait = cvp_bool(P, cvp_map_need(P, stop, "wait", "workload stop"), "wait");
    tn = cvp_map_need(P, stop, "timeout", "workload stop");
    cvp_template(P, &V->workload.timeout, tn, cvp_scalar(P, tn, "timeout"), NULL,
                   V->workload.vars, V->workload.nvars);
    seconds_sum(P, V, &V->workload.timeout, tn, "timeout");
    if ((v = cvp_map_get(P, n, "ends"))) {
        cvp_template(P, &V->workload.ends, v, cvp_scalar(P, v, "ends"), NULL,
                     V->workload.vars, V->workload.nvars);
        seconds_sum(P, V, &V->workload.ends, v, "ends");
        V->workload.has_ends = true;
    }
}

static void parse_events(Parser *P, CvVocab *V, const yaml_node_t *n)
{
    static const char *const keys[] = { "count", "first_wait", "gap", "weights", NULL };
    static const char *const wkeys[] = { "faults", "clear", "suspend", "hotplug", NULL };
    yaml_node_t *w;
    unsigned total = 0;

    cvp_map_check(P, n, "events", keys);
    V->events.count = cvp_range(P, cvp_map_need(P, n, "count", "events"), "count", 0, 20);
    V->events.first_wait = cvp_secs(P, cvp_map_need(P, n, "first_wait", "events"), "first_wait");
    V->events.gap = cvp_secs(P, cvp_map_need(P, n, "gap", "events"), "gap");
    w = cvp_map_need(P, n, "weights", "events");
    cvp_map_check(P, w, "events weights", wkeys);
    for (int i = 0; i < CV_NEV; i++) {
        yaml_node_t *v = cvp_map_get(P, w, wkeys[i]);

        V->events.weight[i] = v ? cvp_uint(P, v, wkeys[i], 0, 1000000) : 0;
        total += V->events.weight[i];
    }
    if (V->events.count.hi > 0 && !(V->events.weight[CV_EV_FAULTS] +
                                    V->events.weight[CV_EV_SUSPEND] +
                                    V->events.weight[CV_EV_HOTPLUG])) {
        cvp_fail(P, w, "events: no event a run can start with has a weight above 0 "
                "(faults, suspend or hotplug)");
    }
    (void)total;
}

/* The actions' `starves`: names of points of this file (every point is
 * known only once the list is read), kept as a mask of their indices. */
static void parse_starves(Parser *P, const CvVocab *V, const CvPoint *points, CvPoint *pt,
                          const yaml_node_t *acts)
{
    for (int a = 0; a < pt->actions.n; a++) {
        yaml_node_t *an = cvp_seq_at(P, acts, a), *sv;
        CvItem *ac = (CvItem *)&pt->actions.v[a];

        if (an->type != YAML_MAPPING_NODE || !(sv = cvp_map_get(P, an, "starves"))) {
            continue;
        }
        for (int k = 0, nk = cvp_seq_len(P, sv, "starves"); k < nk; k++) {
            yaml_node_t *pn = cvp_seq_at(P, sv, k);
            const char *name = cvp_scalar(P, pn, "a point of starves");
            int j;

            for (j = 0; j < V->faults.npoints && strcmp(points[j].name.text, name); j++) {
            }
            if (j == V->faults.npoints) {
                cvp_fail(P, pn, "starves: '%s' is not a point of this file", name);
            }
            if (j >= 64) {
                cvp_fail(P, pn, "starves: point '%s' is number %d, starves names only the "
                         "first 64", name, j + 1);
            }
            ac->starves |= 1ull << j;
        }
    }
}

static void parse_faults(Parser *P, CvVocab *V, const yaml_node_t *n)
{
    static const char *const keys[] = {
        "rules", "add_chance", "points", "triggers", "suffixes", "fire_within", NULL,
    };
    static const char *const pkeys[] = {
        "point", "weight", "every_command", "events", "filters", "actions", NULL,
    };
    yaml_node_t *pts, *v;
    CvPoint *points;
    size_t trig_max, suf_max = 0;
    unsigned wsum = 0;

    cvp_map_check(P, n, "faults", keys);
    V->faults.rules = cvp_range(P, cvp_map_need(P, n, "rules", "faults"), "rules", 1, CS_MAX_RULES);
    V->faults.add_chance = cvp_uint(P, cvp_map_need(P, n, "add_chance", "faults"), "add_chance",
                                    0, 100);
    v = cvp_map_need(P, n, "triggers", "faults");
    cvp_list(P, &V->faults.triggers, v, "a trigger", "trigger", IT_TRIGGER, false, NULL, 0);
    cvp_need_weight(P, &V->faults.triggers, v, "faults triggers");
    trig_max = cvp_list_maxlen(&V->faults.triggers);
    if ((v = cvp_map_get(P, n, "suffixes"))) {
        cvp_list(P, &V->faults.suffixes, v, "a suffix", "suffix", IT_CHANCE, false, NULL, 0);
        for (int i = 0; i < V->faults.suffixes.n; i++) {
            suf_max += V->faults.suffixes.v[i].t.maxlen;
        }
    }
    if ((v = cvp_map_get(P, n, "fire_within"))) {
        CvSecs fw = cvp_secs(P, v, "fire_within");

        if (fw.lo_ds != fw.hi_ds) {
            cvp_fail(P, v, "fire_within is one number of seconds, not a range");
        }
        V->faults.fire_within_ds = fw.hi_ds;
    }
    pts = cvp_map_need(P, n, "points", "faults");
    V->faults.npoints = cvp_seq_len(P, pts, "points");
    points = cvp_alloc(P, (size_t)(V->faults.npoints ? V->faults.npoints : 1) * sizeof(*points));
    for (int i = 0; i < V->faults.npoints; i++) {
        yaml_node_t *pn = cvp_seq_at(P, pts, i), *t;
        CvPoint *pt = &points[i];
        size_t filt_max, act_max = 0;

        cvp_map_check(P, pn, "a fault point", pkeys);
        t = cvp_map_need(P, pn, "point", "a fault point");
        cvp_template(P, &pt->name, t, cvp_scalar(P, t, "point"), NULL, NULL, 0);
        if (!pt->name.text[0]) {
            cvp_fail(P, t, "point is empty");
        }
        pt->weight = 1;
        if ((v = cvp_map_get(P, pn, "weight"))) {
            pt->weight = cvp_uint(P, v, "weight", 0, 1000000);
        }
        if ((v = cvp_map_get(P, pn, "every_command"))) {
            pt->every_command = cvp_bool(P, v, "every_command");
        }
        if ((v = cvp_map_get(P, pn, "events"))) {
            pt->has_events = true;
            pt->events = cvp_uint(P, v, "events", 0, 1000000000);
        }
        if ((v = cvp_map_get(P, pn, "filters"))) {
            cvp_list(P, &pt->filters, v, "a filter", "filter", IT_WEIGHT, false, NULL, 0);
            cvp_need_weight(P, &pt->filters, v, "filters");
        }
        v = cvp_map_need(P, pn, "actions", "a fault point");
        cvp_list(P, &pt->actions, v, "an action", "action",
                   IT_WEIGHT | IT_BENIGN | IT_TRIGGERS | IT_STARVES, false, NULL, 0);
        cvp_need_weight(P, &pt->actions, v, "actions");
        filt_max = cvp_list_maxlen(&pt->filters);
        for (int a = 0; a < pt->actions.n; a++) {
            const CvItem *ac = &pt->actions.v[a];
            size_t tm = ac->has_triggers ? cvp_list_maxlen(&ac->triggers) : trig_max;
            size_t l = ac->t.maxlen + tm;

            const CvList *tl = ac->has_triggers ? &ac->triggers : &V->faults.triggers;
            unsigned tw = 0;

            if (ac->has_triggers) {
                cvp_need_weight(P, &ac->triggers, cvp_map_get(P, cvp_seq_at(P, v, a), "triggers"),
                            "an action's triggers");
            }
            for (int k = 0; k < tl->n; k++) {
                tw += !tl->v[k].benign_only || tl->v[k].has_otherwise || ac->benign ?
                      tl->v[k].weight : 0;
            }
            if (!tw) {
                cvp_fail(P, cvp_seq_at(P, v, a), "action '%s' is not benign, and every trigger "
                        "it may take is benign_only", ac->t.text);
            }
            act_max = l > act_max ? l : act_max;
        }
        /* POINT FILTER ':' ACTION ':' TRIGGER SUFFIXES */
        if (pt->name.maxlen + filt_max + act_max + suf_max + 2 >= CS_TEXT) {
            cvp_fail(P, pn, "a rule at point '%s' may be %zu characters long, at most %d",
                    pt->name.text, pt->name.maxlen + filt_max + act_max + suf_max + 2,
                    CS_TEXT - 1);
        }
        wsum += pt->has_events && !pt->events ? 0 : pt->weight;
    }
    if (!wsum) {
        cvp_fail(P, pts, "faults points: no point with a weight above 0 that the workload "
                 "reaches (events above 0)");
    }
    for (int i = 0; i < V->faults.npoints; i++) {
        parse_starves(P, V, points, &points[i], cvp_map_get(P, cvp_seq_at(P, pts, i), "actions"));
    }
    V->faults.points = points;
}

static void parse_suspend(Parser *P, CvVocab *V, const yaml_node_t *n)
{
    static const char *const keys[] = { "s3", "levels", "cycles", NULL };
    yaml_node_t *lv;
    int *levels;

    cvp_map_check(P, n, "suspend", keys);
    V->suspend.s3_chance = cvp_uint(P, cvp_map_need(P, n, "s3", "suspend"), "s3", 0, 100);
    lv = cvp_map_need(P, n, "levels", "suspend");
    V->suspend.nlevels = cvp_seq_len(P, lv, "levels");
    if (!V->suspend.nlevels) {
        cvp_fail(P, lv, "levels is empty (pm_test levels: freezer, devices, platform, "
                "processors, core)");
    }
    levels = cvp_alloc(P, (size_t)V->suspend.nlevels * sizeof(*levels));
    for (int i = 0; i < V->suspend.nlevels; i++) {
        const char *s = cvp_scalar(P, cvp_seq_at(P, lv, i), "a level");

        levels[i] = 0;
        for (int k = 1; cv_pm_levels[k]; k++) {
            if (!strcmp(cv_pm_levels[k], s)) {
                levels[i] = k;
            }
        }
        if (!levels[i]) {
            cvp_fail(P, cvp_seq_at(P, lv, i), "unknown pm_test level '%s' (expected one of: "
                    "freezer, devices, platform, processors, core)", s);
        }
    }
    V->suspend.levels = levels;
    V->suspend.cycles = cvp_range(P, cvp_map_need(P, n, "cycles", "suspend"), "cycles", 1, 10);
}

static void parse_hotplug(Parser *P, CvVocab *V, const yaml_node_t *n)
{
    static const char *const keys[] = { "modes", "replug_after", "settle", NULL };
    static const char *const mkeys[] = { "remove", "surprise", "remove_fast", NULL };
    yaml_node_t *m, *v;

    cvp_map_check(P, n, "hotplug", keys);
    m = cvp_map_need(P, n, "modes", "hotplug");
    cvp_map_check(P, m, "hotplug modes", mkeys);
    if ((v = cvp_map_get(P, m, "remove"))) {
        V->hotplug.remove_weight = cvp_uint(P, v, "remove", 0, 1000000);
    }
    if ((v = cvp_map_get(P, m, "surprise"))) {
        V->hotplug.surprise_weight = cvp_uint(P, v, "surprise", 0, 1000000);
    }
    if ((v = cvp_map_get(P, m, "remove_fast"))) {
        V->hotplug.remove_fast_weight = cvp_uint(P, v, "remove_fast", 0, 1000000);
    }
    if (!V->hotplug.remove_weight && !V->hotplug.surprise_weight &&
        !V->hotplug.remove_fast_weight) {
        cvp_fail(P, m, "hotplug modes: remove, remove_fast or surprise needs a "
                 "weight above 0");
    }
    V->hotplug.replug_after = cvp_secs(P, cvp_map_need(P, n, "replug_after", "hotplug"),
                                       "replug_after");
    V->hotplug.settle = cvp_secs(P, cvp_map_need(P, n, "settle", "hotplug"), "settle");
}

static void parse_kfaults(Parser *P, CvVocab *V, const yaml_node_t *n)
{
    static const char *const keys[] = {
        "chance", "count", "types", "probability", "times", "interval", NULL,
    };
    yaml_node_t *tv;
    int *types;

    cvp_map_check(P, n, "kfaults", keys);
    V->kfaults.chance = cvp_uint(P, cvp_map_need(P, n, "chance", "kfaults"), "chance", 0, 100);
    V->kfaults.count = cvp_range(P, cvp_map_need(P, n, "count", "kfaults"), "count", 1, 4);
    tv = cvp_map_need(P, n, "types", "kfaults");
    V->kfaults.ntypes = cvp_seq_len(P, tv, "types");
    if (!V->kfaults.ntypes) {
        cvp_fail(P, tv, "types is empty (expected some of: failslab, fail_page_alloc)");
    }
    types = cvp_alloc(P, (size_t)V->kfaults.ntypes * sizeof(*types));
    for (int i = 0; i < V->kfaults.ntypes; i++) {
        const char *s = cvp_scalar(P, cvp_seq_at(P, tv, i), "a kernel fault type");

        types[i] = -1;
        for (int k = 0; cv_kfault_names[k]; k++) {
            if (!strcmp(cv_kfault_names[k], s)) {
                types[i] = k;
            }
        }
        if (types[i] < 0) {
            cvp_fail(P, cvp_seq_at(P, tv, i), "unknown kernel fault type '%s' (expected one of: "
                    "failslab, fail_page_alloc)", s);
        }
    }
    V->kfaults.types = types;
    V->kfaults.probability = cvp_range(P, cvp_map_need(P, n, "probability", "kfaults"),
                                       "probability", 1, 100);
    V->kfaults.times = cvp_range(P, cvp_map_need(P, n, "times", "kfaults"), "times", -1, 1000000);
    if (!(V->kfaults.times.lo == -1 && V->kfaults.times.hi == -1) &&
        V->kfaults.times.lo < 1) {
        cvp_fail(P, cvp_map_get(P, n, "times"), "times wants -1 (no limit) or counts from 1 "
                "(0 would never fail anything)");
    }
    V->kfaults.interval = cvp_range(P, cvp_map_need(P, n, "interval", "kfaults"), "interval",
                                    1, 1000000);
}

/* power_cut: the share of runs that end in a power cut, of those the share
 * that boot again, and the share with the volatile write cache on.  The
 * cache is drawn in cut runs only (docs/campaigns.md): an orderly end
 * flushes it, so a run without a cut would judge the same as with it off. */
static void parse_power_cut(Parser *P, CvVocab *V, const yaml_node_t *n)
{
    static const char *const keys[] = {
        "chance", "boot_again", "write_cache", "after", "within", NULL,
    };
    yaml_node_t *v;
    long within;

    cvp_map_check(P, n, "power_cut", keys);
    V->power_cut.chance = cvp_uint(P, cvp_map_need(P, n, "chance", "power_cut"), "chance",
                                   0, 100);
    if ((v = cvp_map_get(P, n, "boot_again"))) {
        V->power_cut.boot_again = cvp_uint(P, v, "boot_again", 0, 100);
    }
    if ((v = cvp_map_get(P, n, "write_cache"))) {
        V->power_cut.write_cache = cvp_uint(P, v, "write_cache", 0, 100);
    }
    V->power_cut.after = (CvSecs){ 1, 15 };
    if ((v = cvp_map_get(P, n, "after"))) {
        V->power_cut.after = cvp_secs(P, v, "after");
    }
    /* within: the cut comes this many seconds after the workload's start
     * at the latest, by the schedule's waits; a run with no event must
     * fit, so the longest first wait and the longest after stay below the
     * shortest within */
    if ((v = cvp_map_get(P, n, "within"))) {
        cvp_template(P, &V->power_cut.within, v, cvp_scalar(P, v, "within"), NULL,
                     V->workload.vars, V->workload.nvars);
        within = seconds_sum(P, V, &V->power_cut.within, v, "within");
        if (V->events.first_wait.hi_ds + V->power_cut.after.hi_ds >= (unsigned long)within * 10) {
            cvp_fail(P, v, "within: the first wait (up to %.1f s) and after (up to %.1f s) "
                     "may reach %ld s, the shortest within ('%s'): make them shorter",
                     V->events.first_wait.hi_ds / 10.0, V->power_cut.after.hi_ds / 10.0,
                     within, V->power_cut.within.text);
        }
        V->power_cut.has_within = true;
    }
}

static void parse_root(Parser *P, CvVocab *V, const yaml_node_t *root, const char *target)
{
    static const char *const keys[] = {
        "module", "settings", "workload", "events", "faults", "suspend", "hotplug",
        "kfaults", "power_cut", NULL,
    };
    static const char *const ev_section[CV_NEV] = { "faults", NULL, "suspend", "hotplug" };
    yaml_node_t *v, *ev;
    int steps;

    cvp_map_check(P, root, "a campaign vocabulary", keys);
    snprintf(V->module, sizeof(V->module), "%s", target);
    if ((v = cvp_map_get(P, root, "module"))) {
        const char *m = cvp_scalar(P, v, "module");

        if (!*m || strlen(m) >= sizeof(V->module) || strpbrk(m, " \t[]:")) {
            cvp_fail(P, v, "module wants the driver's module name (1-63 characters, "
                    "no blanks), got '%s'", m);
        }
        snprintf(V->module, sizeof(V->module), "%s", m);
    }
    if ((v = cvp_map_get(P, root, "settings"))) {
        cvp_list(P, &V->settings, v, "a driver setting", "cmd", IT_CHANCE | IT_DROP, true,
                   NULL, 0);
        if (V->settings.n > CS_MAX_OPTS) {
            cvp_fail(P, v, "settings has %d entries, at most %d", V->settings.n, CS_MAX_OPTS);
        }
    }
    parse_workload(P, V, cvp_map_need(P, root, "workload", "a campaign vocabulary"));
    ev = cvp_map_need(P, root, "events", "a campaign vocabulary");
    parse_events(P, V, ev);
    if ((v = cvp_map_get(P, root, "faults"))) {
        parse_faults(P, V, v);
        V->has_faults = true;
    }
    if ((v = cvp_map_get(P, root, "suspend"))) {
        parse_suspend(P, V, v);
        V->has_suspend = true;
    }
    if ((v = cvp_map_get(P, root, "hotplug"))) {
        parse_hotplug(P, V, v);
        V->has_hotplug = true;
    }
    if ((v = cvp_map_get(P, root, "kfaults"))) {
        parse_kfaults(P, V, v);
        V->has_kfaults = true;
    }
    if ((v = cvp_map_get(P, root, "power_cut"))) {
        parse_power_cut(P, V, v);
        V->has_power_cut = true;
    }
    /* an event with a weight needs its section */
    for (int i = 0; i < CV_NEV; i++) {
        bool has = i == CV_EV_FAULTS ? V->has_faults : i == CV_EV_SUSPEND ? V->has_suspend :
                   i == CV_EV_HOTPLUG ? V->has_hotplug : V->has_faults;

        if (V->events.weight[i] && !has) {
            cvp_fail(P, cvp_map_key_node(P, cvp_map_get(P, ev, "weights"),
                                    i == CV_EV_CLEAR ? "clear" : ev_section[i]),
                    "events weight '%s' is above 0, but the file has no '%s' section",
                    i == CV_EV_CLEAR ? "clear" : ev_section[i],
                    ev_section[i] ? ev_section[i] : "faults");
        }
    }
    /* the most steps a run can have: kernel faults, the workload and its
     * first wait, per event a wait and at most four steps (an unplug, a
     * wait, the plug, a wait), the stop, or instead a wait and the power
     * cut (the wait before a stop that ends the workload, fire_within, is
     * one step too) */
    steps = (V->has_kfaults ? (int)V->kfaults.count.hi : 0) + 3 + 5 * (int)V->events.count.hi +
            (V->has_power_cut || (V->faults.fire_within_ds && !V->workload.wait) ? 1 : 0);
    if (steps > CS_MAX_STEPS) {
        cvp_fail(P, cvp_map_get(P, ev, "count"), "a run could have %d steps, at most %d: fewer events or kernel "
                "faults", steps, CS_MAX_STEPS);
    }
}

/* libyaml's own message, at the problem, with where the construct began */
static void yaml_error(const yaml_parser_t *p, const char *path, char *err, size_t errlen)
{
    int l = snprintf(err, errlen, "%s:%zu:%zu: YAML: %s", path, p->problem_mark.line + 1,
                     p->problem_mark.column + 1, p->problem ? p->problem : "error");

    if (p->context && l >= 0 && (size_t)l < errlen) {
        snprintf(err + l, errlen - (size_t)l, " %s that starts at %zu:%zu", p->context,
                 p->context_mark.line + 1, p->context_mark.column + 1);
    }
}

/* The loader's state lives on the heap: it changes between setjmp and
 * longjmp, and only memory that a pointer fixed before setjmp reaches is
 * sure to hold its value afterwards. */
typedef struct Load {
    Parser P;
    yaml_parser_t parser;
    FILE *f;
    bool have_doc;
} Load;

static void load_end(Load *L)
{
    if (L->have_doc) {
        yaml_document_delete(&L->P.doc);
    }
    yaml_parser_delete(&L->parser);
    fclose(L->f);
    free(L);
}

int cv_load(const char *path, const char *target, CvVocab **out, char *err, size_t errlen)
{
    Load *L;
    CvVocab *V;
    yaml_node_t *root;
    yaml_document_t extra;

    *out = NULL;
    err[0] = 0;
    L = calloc(1, sizeof(*L));
    if (!L) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    L->P = (Parser){ .path = path, .err = err, .errlen = errlen };
    L->f = fopen(path, "rb");
    if (!L->f) {
        snprintf(err, errlen, "%s: no campaign vocabulary for target '%s' (%s); "
                 "docs/campaigns.md says how to write one", path, target, strerror(errno));
        free(L);
        return -1;
    }
    if (!yaml_parser_initialize(&L->parser)) {
        fclose(L->f);
        free(L);
        snprintf(err, errlen, "%s: cannot initialise the YAML parser", path);
        return -1;
    }
    yaml_parser_set_input_file(&L->parser, L->f);
    if (setjmp(L->P.fail)) {
        cvp_arena_free(L->P.arena);
        load_end(L);
        return -1;
    }
    if (!yaml_parser_load(&L->parser, &L->P.doc)) {
        yaml_error(&L->parser, path, err, errlen);
        longjmp(L->P.fail, 1);
    }
    L->have_doc = true;
    root = yaml_document_get_root_node(&L->P.doc);
    if (!root) {
        cvp_fail(&L->P, NULL, "the file is empty (a campaign vocabulary needs at least "
                 "workload and events)");
    }
    V = cvp_alloc(&L->P, sizeof(*V));
    snprintf(V->path, sizeof(V->path), "%s", path);
    parse_root(&L->P, V, root, target);
    /* one document only */
    if (!yaml_parser_load(&L->parser, &extra)) {
        yaml_error(&L->parser, path, err, errlen);
        longjmp(L->P.fail, 1);
    }
    if (yaml_document_get_root_node(&extra)) {
        yaml_node_t *x = yaml_document_get_root_node(&extra);

        snprintf(err, errlen, "%s:%zu:%zu: a second YAML document; a campaign "
                 "vocabulary is one document", path, x->start_mark.line + 1,
                 x->start_mark.column + 1);
        yaml_document_delete(&extra);
        longjmp(L->P.fail, 1);
    }
    yaml_document_delete(&extra);
    V->arena = L->P.arena;
    load_end(L);
    *out = V;
    return 0;
}

int cv_load_target(const char *targets_dir, const char *target, CvVocab **out,
                   char *err, size_t errlen)
{
    char path[4096];

    if (snprintf(path, sizeof(path), "%s/%s/campaign.yaml", targets_dir, target) >=
        (int)sizeof(path)) {
        snprintf(err, errlen, "%s: path too long", targets_dir);
        *out = NULL;
        return -1;
    }
    return cv_load(path, target, out, err, errlen);
}

void cv_free(CvVocab *v)
{
    if (v) {
        cvp_arena_free(v->arena);
    }
}

/* "N" or "N+M+..." in 1..7200, else -1. */
long cv_sum(const char *s)
{
    long total = 0;

    while (*s) {
        char *end;
        long t;

        if (*s < '0' || *s > '9') {
            return -1;
        }
        errno = 0;
        t = strtol(s, &end, 10);
        if (errno || t > 7200) {
            return -1;
        }
        total += t;
        s = end;
        if (*s == '+') {
            s++;
            if (!*s) {
                return -1;
            }
        } else if (*s) {
            return -1;
        }
    }
    return total >= 1 && total <= 7200 ? total : -1;
}

/* ---- drawing -------------------------------------------------------------------- */

/* uniform in lo..hi, for any two long longs (in unsigned arithmetic: no
 * signed overflow) */
static long long offset(long long lo, long long hi, CsRng *r)
{
    return (long long)((uint64_t)lo + cs_rng_range(r, 0, (uint64_t)hi - (uint64_t)lo));
}

void cv_draw_var(const CvVar *v, CsRng *r, char *buf, size_t len)
{
    if (v->range) {
        long long x = offset(v->lo, v->hi, r);

        if (v->hex) {
            snprintf(buf, len, "0x%llx", x);
        } else {
            snprintf(buf, len, "%lld", x);
        }
    } else {
        snprintf(buf, len, "%s", v->choices[cs_rng_range(r, 0, (uint64_t)v->nchoices - 1)]);
    }
}

void cv_expand(const CvText *t, const CvVar *scope_vars, char *const *scope_vals,
               int nscope, CsRng *r, char *buf, size_t len)
{
    char own[CV_MAX_VARS][CS_TEXT];
    size_t l = 0;

    /* the item's own variables, in order, once each */
    for (int i = 0; i < t->nvars; i++) {
        if (r) {
            cv_draw_var(&t->vars[i], r, own[i], sizeof(own[i]));
        } else {
            own[i][0] = 0;
        }
    }
    for (const char *p = t->text; *p && l + 1 < len; p++) {
        const char *val = NULL, *close;
        size_t nl;

        if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
            buf[l++] = *p++;
            continue;
        }
        if (*p != '{' || !(close = strchr(p, '}'))) {
            buf[l++] = *p;
            continue;
        }
        nl = (size_t)(close - p - 1);
        for (int i = 0; i < t->nvars && !val; i++) {
            if (strlen(t->vars[i].name) == nl && !memcmp(t->vars[i].name, p + 1, nl)) {
                val = own[i];
            }
        }
        for (int i = 0; i < nscope && !val; i++) {
            if (strlen(scope_vars[i].name) == nl && !memcmp(scope_vars[i].name, p + 1, nl)) {
                val = scope_vals[i];
            }
        }
        for (; val && *val && l + 1 < len; val++) {
            buf[l++] = *val;
        }
        p = close;
    }
    buf[l] = 0;
}

int cv_pick(const CvList *l, CsRng *r, bool (*ok)(const CvItem *, void *), void *arg)
{
    uint64_t total = 0, x;

    for (int i = 0; i < l->n; i++) {
        total += !ok || ok(&l->v[i], arg) ? l->v[i].weight : 0;
    }
    if (!total) {
        return -1;
    }
    x = cs_rng_range(r, 0, total - 1);
    for (int i = 0; i < l->n; i++) {
        uint64_t w = !ok || ok(&l->v[i], arg) ? l->v[i].weight : 0;

        if (x < w) {
            return i;
        }
        x -= w;
    }
    return -1;
}

long long cv_range(const CvRange *g, CsRng *r)
{
    return offset(g->lo, g->hi, r);
}

double cv_secs(const CvSecs *g, CsRng *r)
{
    return (double)cs_rng_range(r, g->lo_ds, g->hi_ds) / 10.0;
}
