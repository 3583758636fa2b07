/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Campaign schedules: drawing, writing and reducing them (campaign_gen.h).
 *
 * Everything drawn comes from the target's campaign vocabulary
 * (campaign_vocab.h): this file knows the shape of a schedule (settings,
 * kernel faults, the workload, events, the stop) and the rules of the
 * harness (one real S3 per boot, a card plugged back after each unplug,
 * which rules must fire), never a target.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign_gen.h"
#include "yaml_writer.h"
#include "campaign_vocab.h"
#include "scenario.h"
#include "target.h"

/* ---- the random stream ----------------------------------------------------- */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void cs_rng_init(CsRng *r, uint64_t seed, uint64_t run)
{
    uint64_t a = seed, b = run ^ 0x6a09e667f3bcc909ull;

    r->state = splitmix64(&a) ^ splitmix64(&b);
}

uint64_t cs_rng_next(CsRng *r)
{
    return splitmix64(&r->state);
}

uint64_t cs_rng_range(CsRng *r, uint64_t lo, uint64_t hi)
{
    uint64_t span = hi - lo + 1;

    /* modulo bias is irrelevant here; the span is tiny */
    return span ? lo + cs_rng_next(r) % span : cs_rng_next(r);
}

static bool chance(CsRng *r, unsigned pct)
{
    return cs_rng_range(r, 0, 99) < pct;
}

static void opt_add(CsOpt *v, int *n, bool droppable, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void opt_add(CsOpt *v, int *n, bool droppable, const char *fmt, ...)
{
    va_list ap;

    if (*n >= CS_MAX_OPTS) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(v[*n].text, sizeof(v[*n].text), fmt, ap);
    va_end(ap);
    v[*n].droppable = droppable;
    (*n)++;
}

/* ---- fault rules ------------------------------------------------------------ */

static bool trigger_ok(const CvItem *t, void *benign)
{
    return !t->benign_only || t->has_otherwise || *(const bool *)benign;
}

/* What a rule may not be drawn as, from what is armed before it
 * (docs/campaigns.md, "Every drawn rule must fire"): points that an armed
 * rule's action starves (the workload brings them no event once it has
 * fired), and, for an action that starves points, the points of the rules
 * armed with it in the same step, which it could starve before they fire. */
typedef struct RuleBan {
    uint64_t starved;       /* points of the run no rule is drawn at */
    uint64_t step_points;   /* points of this step's rules drawn so far */
} RuleBan;

static bool action_ok(const CvItem *a, void *ban)
{
    return !(a->starves & ((const RuleBan *)ban)->step_points);
}

/* A point's weight in the draw: none for a point the workload never
 * reaches (events: 0), whose rules could never fire, for one that is
 * starved, and for one none of whose actions may be drawn. */
static unsigned point_weight(const CvPoint *p, int i, const RuleBan *ban)
{
    if ((p->has_events && !p->events) || (i < 64 && (ban->starved >> i & 1))) {
        return 0;
    }
    if (ban->step_points) {
        unsigned w = 0;

        for (int a = 0; a < p->actions.n; a++) {
            w += action_ok(&p->actions.v[a], (void *)ban) ? p->actions.v[a].weight : 0;
        }
        if (!w) {
            return 0;
        }
    }
    return p->weight;
}

static bool point_possible(const CvVocab *V, const RuleBan *ban)
{
    for (int i = 0; i < V->faults.npoints; i++) {
        if (point_weight(&V->faults.points[i], i, ban)) {
            return true;
        }
    }
    return false;
}

/* -1 when no point may be drawn */
static int pick_point(const CvVocab *V, CsRng *r, const RuleBan *ban)
{
    uint64_t total = 0, x;

    for (int i = 0; i < V->faults.npoints; i++) {
        total += point_weight(&V->faults.points[i], i, ban);
    }
    if (!total) {
        return -1;
    }
    x = cs_rng_range(r, 0, total - 1);
    for (int i = 0; i < V->faults.npoints; i++) {
        if (x < point_weight(&V->faults.points[i], i, ban)) {
            return i;
        }
        x -= point_weight(&V->faults.points[i], i, ban);
    }
    return -1;
}

/* The event (1, 2, ...) at which a trigger with its suffixes first fires,
 * counted from the rule's arming: once and always 1, nth=N and every=N N,
 * prob=P% the expected 100/P (rounded up), plus after=M's M; 0 when the
 * text says none of these. */
static uint64_t trigger_reach(const char *trig)
{
    uint64_t reach = 0;
    const char *a;

    if (!strncmp(trig, "once", 4) || !strncmp(trig, "always", 6)) {
        reach = 1;
    } else if (!strncmp(trig, "nth=", 4) || !strncmp(trig, "every=", 6)) {
        reach = strtoull(strchr(trig, '=') + 1, NULL, 10);
    } else if (!strncmp(trig, "prob=", 5)) {
        double p = strtod(trig + 5, NULL);

        reach = p > 0 ? (uint64_t)(100.0 / p + 0.999) : 0;
    }
    if ((a = strstr(trig, "after="))) {
        reach += strtoull(a + 6, NULL, 10);
    }
    return reach;
}

/* One rule, POINT FILTER ':' ACTION ':' TRIGGER SUFFIXES, from the
 * vocabulary.  sure: its firing is certain (docs/campaigns.md): the first
 * rule of the run, at a point every command passes, with no filter, a
 * trigger marked sure and no suffix.  Neither at a point ban holds starved
 * nor with an action that starves a point of ban's step: false when no
 * rule may be drawn; else ban takes in what this one starves and its
 * point. */
static bool draw_rule(const CvVocab *V, CsRng *r, CsRule *rule, bool first_of_run,
                      RuleBan *ban)
{
    int pi = pick_point(V, r, ban);
    const CvPoint *pt;
    const CvItem *filt = NULL, *act, *trig;
    const CvList *tl;
    char filter[CS_TEXT] = "", action[CS_TEXT], trigger[CS_TEXT], suffix[CS_TEXT] = "";
    bool suffixed = false, other;
    int i;

    if (pi < 0) {
        return false;
    }
    pt = &V->faults.points[pi];
    if (pt->filters.n) {
        filt = &pt->filters.v[cv_pick(&pt->filters, r, NULL, NULL)];
        cv_expand(&filt->t, NULL, NULL, 0, r, filter, sizeof(filter));
    }
    /* no filter when nothing is banned: the draws of a vocabulary without
     * starves stay what they were */
    act = &pt->actions.v[cv_pick(&pt->actions, r, ban->step_points ? action_ok : NULL, ban)];
    cv_expand(&act->t, NULL, NULL, 0, r, action, sizeof(action));
    tl = act->has_triggers ? &act->triggers : &V->faults.triggers;
    /* a point with a known minimum of events (events: N) gets a trigger
     * and suffixes whose first firing comes within them: drawn again until
     * it does (a few times), else `once` */
    for (int attempt = 0;; attempt++) {
        char full[2 * CS_TEXT];

        /* "always" and the like only for actions that are harmless every
         * time (the loader made sure every action has a trigger it may take) */
        i = cv_pick(tl, r, trigger_ok, (void *)&act->benign);
        trig = &tl->v[i < 0 ? 0 : i];
        other = trig->benign_only && !act->benign;     /* its `otherwise` text */
        cv_expand(other ? &trig->otherwise : &trig->t, NULL, NULL, 0, r, trigger,
                  sizeof(trigger));
        suffix[0] = 0;
        suffixed = false;
        for (int k = 0; k < V->faults.suffixes.n; k++) {
            const CvItem *sx = &V->faults.suffixes.v[k];

            if (chance(r, sx->chance)) {
                size_t l = strlen(suffix);

                cv_expand(&sx->t, NULL, NULL, 0, r, suffix + l, sizeof(suffix) - l);
                suffixed = true;
            }
        }
        snprintf(full, sizeof(full), "%s%s", trigger, suffix);
        if (!pt->has_events || trigger_reach(full) <= pt->events) {
            break;
        }
        if (attempt == 15) {
            snprintf(trigger, sizeof(trigger), "once");
            suffix[0] = 0;
            suffixed = false;
            other = false;
            break;
        }
    }
    rule->sure = first_of_run && pt->every_command && !filter[0] && trig->sure && !other &&
                 !suffixed;
    snprintf(rule->text, sizeof(rule->text), "%s%s:%s:%s%s", pt->name.text, filter, action,
             trigger, suffix);
    ban->starved |= act->starves;
    ban->step_points |= pi < 64 ? 1ull << pi : 0;
    return true;
}

/* ---- schedules ---------------------------------------------------------------- */

void cs_run_name(char *buf, size_t len, uint64_t seed, uint64_t run)
{
    snprintf(buf, len, "campaign-s%llu-r%05llu", (unsigned long long)seed,
             (unsigned long long)run);
}

static CsStep *add_step(CsSchedule *s, CsStepKind kind)
{
    CsStep *st;

    if (s->nsteps >= CS_MAX_STEPS) {
        abort();    /* the loader bounds the steps a vocabulary can draw */
    }
    st = &s->steps[s->nsteps++];
    memset(st, 0, sizeof(*st));
    st->kind = kind;
    return st;
}

static void add_wait(CsSchedule *s, CsRng *r, const CvSecs *g)
{
    add_step(s, CS_WAIT)->seconds = cv_secs(g, r);
}

/* Items of l, each with its chance, expanded into v (the workload's
 * variables in scope); droppable as the item says, or never. */
static void draw_opts(CsOpt *v, int *n, const CvList *l, CsRng *r, const CvVar *scope,
                      char *const *vals, int nscope, bool never_drop)
{
    for (int i = 0; i < l->n; i++) {
        const CvItem *it = &l->v[i];
        char text[CS_TEXT];

        if (it->chance < 100 && !chance(r, it->chance)) {
            continue;
        }
        cv_expand(&it->t, scope, vals, nscope, r, text, sizeof(text));
        opt_add(v, n, !never_drop && it->droppable, "%s", text);
    }
}

/* The waits of the first n steps, in tenths of a second. */
static long waits_ds(const CsSchedule *s, int n)
{
    long ds = 0;

    for (int i = 0; i < n; i++) {
        ds += s->steps[i].kind == CS_WAIT ? (long)(s->steps[i].seconds * 10 + 0.5) : 0;
    }
    return ds;
}

/* The wait before a power cut that keeps the first `keep` events, in
 * tenths of a second: the vocabulary's after, or fire_within when the
 * last event kept armed rules (they get their time to fire first). */
static long cut_wait_ds(double after, int keep, const bool *faults_event, long fire_ds)
{
    long a = (long)(after * 10 + 0.5);

    return keep > 0 && faults_event[keep - 1] && fire_ds > a ? fire_ds : a;
}

void cs_generate(CsSchedule *s, uint64_t seed, uint64_t run, const CsGenOptions *o)
{
    const CvVocab *V = o->vocab;
    CsRng r, r_s3;
    bool armed = false, any_rule = false, disturbing = false;
    bool s3_used = false, s3_rng_ready = false;
    bool unplugged = false;         /* the workload's device went away */
    bool after_faults = false;      /* the last event armed rules */
    bool faults_event[CS_MAX_STEPS + 1] = { false };   /* event i armed rules */
    RuleBan ban = { 0, 0 };         /* what starving rules armed so far allow */
    long ends_ds = -1;              /* the workload's own end, in 0.1 s */
    long fire_ds = V->faults.fire_within_ds;
    char vals_store[CS_MAX_OPTS][CS_TEXT], *vals[CS_MAX_OPTS], text[CS_TEXT];
    int nevents, ndone = 0, event_end[CS_MAX_STEPS + 1];

    memset(s, 0, sizeof(*s));
    cs_rng_init(&r, seed, run);
    s->seed = seed;
    s->run = run;
    s->debug = o->debug;
    snprintf(s->target, sizeof(s->target), "%s", o->target);

    /* Driver settings, made after the load so that every run loads the
     * same way (`load: {}`) and can start from the runner's snapshot. */
    draw_opts(s->params, &s->nparams, &V->settings, &r, NULL, NULL, 0, false);

    /* kernel faults, armed before the workload so they cover it */
    if (s->debug && V->has_kfaults && chance(&r, V->kfaults.chance)) {
        int n = (int)cv_range(&V->kfaults.count, &r);

        for (int i = 0; i < n; i++) {
            CsStep *st = add_step(s, CS_KFAULT);

            st->kf_type = V->kfaults.types[cs_rng_range(&r, 0, (uint64_t)V->kfaults.ntypes - 1)];
            st->kf_probability = (int)cv_range(&V->kfaults.probability, &r);
            st->kf_times = (int)cv_range(&V->kfaults.times, &r);
            st->kf_interval = (int)cv_range(&V->kfaults.interval, &r);
            disturbing = true;
        }
    }

    /* the workload: its variables once, then the command and its options */
    for (int i = 0; i < V->workload.nvars; i++) {
        cv_draw_var(&V->workload.vars[i], &r, vals_store[i], sizeof(vals_store[i]));
        vals[i] = vals_store[i];
    }
    cv_expand(&V->workload.cmd, V->workload.vars, vals, V->workload.nvars, &r,
              s->workload_cmd, sizeof(s->workload_cmd));
    draw_opts(s->wopts, &s->nwopts, &V->workload.options, &r, V->workload.vars, vals,
              V->workload.nvars, false);
    s->workload_wait = V->workload.wait;
    cv_expand(&V->workload.timeout, V->workload.vars, vals, V->workload.nvars, &r, text,
              sizeof(text));
    s->workload_timeout = (double)cv_sum(text);    /* the loader checked its shape */
    if (V->workload.has_ends) {
        cv_expand(&V->workload.ends, V->workload.vars, vals, V->workload.nvars, NULL, text,
                  sizeof(text));
        ends_ds = cv_sum(text) * 10;
    }
    add_step(s, CS_WORKLOAD_START);
    add_wait(s, &r, &V->events.first_wait);
    event_end[0] = s->nsteps;

    /* events at chosen moments */
    nevents = (int)cv_range(&V->events.count, &r);
    for (int e = 0; e < nevents; e++, faults_event[ndone] = after_faults,
         event_end[++ndone] = s->nsteps) {
        unsigned w[CV_NEV];
        uint64_t total = 0, x;
        int ev = 0;

        if (e) {
            add_wait(s, &r, &V->events.gap);
            /* the rules just armed get the time to fire (fire_within)
             * before anything else happens: a clear, a set that replaces
             * them, an unplug, a suspend, a rule that starves them */
            if (after_faults && s->steps[s->nsteps - 1].seconds * 10 < fire_ds) {
                s->steps[s->nsteps - 1].seconds = fire_ds / 10.0;
            }
        }
        for (int i = 0; i < CV_NEV; i++) {
            /* with `ends`, rules only while the workload runs (0.3 s, and
             * fire_within, before its end at the latest) and its device has
             * not been unplugged (which ends it): a rule armed later sees no
             * event.  And only while some point is not starved. */
            long now = waits_ds(s, s->nsteps);
            bool live = ends_ds < 0 ||
                        (!unplugged && now + 3 < ends_ds && now + fire_ds <= ends_ds);
            RuleBan any = { ban.starved, 0 };
            bool can = i == CV_EV_FAULTS ? V->has_faults && live &&
                                           (!ban.starved || point_possible(V, &any)) :
                       i == CV_EV_CLEAR ? V->has_faults && armed :
                       i == CV_EV_SUSPEND ? V->has_suspend : V->has_hotplug;

            w[i] = can ? V->events.weight[i] : 0;
            total += w[i];
        }
        if (!total) {
            break;      /* the loader saw an event that is always possible */
        }
        x = cs_rng_range(&r, 0, total - 1);
        for (ev = 0; ev < CV_NEV - 1 && x >= w[ev]; ev++) {
            x -= w[ev];
        }
        if (ev == CV_EV_FAULTS) {
            CsStep *st = add_step(s, armed && chance(&r, V->faults.add_chance) ?
                                  CS_FAULTS_ADD : CS_FAULTS_SET);
            int n = (int)cv_range(&V->faults.rules, &r), i;

            /* fewer rules when the starving ones leave no point (the first
             * always finds one: the event was possible) */
            ban.step_points = 0;
            for (i = 0; i < n && draw_rule(V, &r, &st->rules[i], !any_rule && i == 0 && e == 0,
                                           &ban); i++) {
            }
            st->nrules = i;
            armed = any_rule = disturbing = true;
        } else if (ev == CV_EV_CLEAR) {
            add_step(s, CS_FAULTS_CLEAR);
            armed = false;
        } else if (ev == CV_EV_SUSPEND) {
            CsStep *st = add_step(s, CS_SUSPEND);

            /* a real S3, one cycle, or a pm_test level, which runs every
             * driver callback, for its cycles.  Any number of S3 per boot
             * (qemu/patches/0005-*); those after the first are drawn from
             * a stream of their own, so that the schedules of runs with
             * at most one S3 stay what they were for every seed. */
            if (s3_used) {
                if (!s3_rng_ready) {
                    cs_rng_init(&r_s3, seed ^ 0x53335333u, run);
                    s3_rng_ready = true;
                }
                st->s3 = chance(&r_s3, V->suspend.s3_chance);
            } else {
                st->s3 = chance(&r, V->suspend.s3_chance);
            }
            s3_used |= st->s3;
            st->level = st->s3 ? 0 :
                V->suspend.levels[cs_rng_range(&r, 0, (uint64_t)V->suspend.nlevels - 1)];
            st->cycles = st->s3 ? 1 : (int)cv_range(&V->suspend.cycles, &r);
        } else {
            /* a hot-unplug (orderly through the attention button, orderly
             * fast, or surprise), then the card comes back.  One draw
             * whatever the weights: remove_fast takes the values after
             * remove's, so a vocabulary without it draws as before. */
            uint64_t rw = V->hotplug.remove_weight, fw = V->hotplug.remove_fast_weight;
            uint64_t x = cs_rng_range(&r, 0, rw + fw + V->hotplug.surprise_weight - 1);

            add_step(s, CS_HOTPLUG)->hotplug = x < rw ? 1 : x < rw + fw ? 3 : 2;
            add_wait(s, &r, &V->hotplug.replug_after);
            add_step(s, CS_HOTPLUG)->hotplug = 0;
            armed = false;
            ban.starved = 0;        /* a new device: nothing held */
            unplugged = disturbing = true;
            add_wait(s, &r, &V->hotplug.settle);
        }
        after_faults = ev == CV_EV_FAULTS;
    }
    if (V->has_power_cut && chance(&r, V->power_cut.chance)) {
        /* The run ends in a power cut while the workload runs, after the
         * events up to a drawn one (the later ones are not written) and a
         * wait.  The workload dies with the VM: no stop.  Drawn after
         * everything else, so that a run without a cut is the file it was
         * before cuts existed. */
        int keep = (int)cs_rng_range(&r, 0, (uint64_t)ndone);
        double after = cv_secs(&V->power_cut.after, &r);
        CsStep *st;

        /* within: the cut comes that long after the workload's start at
         * the latest (by the waits; the loader made sure a run without
         * events fits), so that a workload that ends by itself still runs */
        if (V->power_cut.has_within) {
            long within;

            cv_expand(&V->power_cut.within, V->workload.vars, vals, V->workload.nvars, NULL,
                      text, sizeof(text));
            within = cv_sum(text);
            while (keep > 0 && waits_ds(s, event_end[keep]) + cut_wait_ds(after, keep,
                   faults_event, fire_ds) >= within * 10) {
                keep--;
            }
        }
        s->nsteps = event_end[keep];
        add_step(s, CS_WAIT)->seconds = cut_wait_ds(after, keep, faults_event, fire_ds) / 10.0;
        st = add_step(s, CS_POWER_CUT);
        st->boot_again = chance(&r, V->power_cut.boot_again);
        s->write_cache = chance(&r, V->power_cut.write_cache);
        disturbing = false;
        for (int i = 0; i < s->nsteps; i++) {
            CsStepKind k = s->steps[i].kind;

            disturbing |= k == CS_KFAULT || k == CS_FAULTS_SET || k == CS_FAULTS_ADD ||
                          k == CS_HOTPLUG;
        }
    } else {
        /* a stop that ends the workload (wait: false) gives the rules just
         * armed their time first */
        if (after_faults && !s->workload_wait && fire_ds) {
            add_step(s, CS_WAIT)->seconds = fire_ds / 10.0;
        }
        add_step(s, CS_WORKLOAD_STOP);
    }

    /* with kernel faults the workload itself may fail early (ENOMEM), so no
     * rule is sure to see a command; a power cut may come before a rule's
     * first event, as it comes at a time, not after a count of commands */
    for (int i = 0; i < s->nsteps; i++) {
        if ((s->debug && s->steps[i].kind == CS_KFAULT) || s->steps[i].kind == CS_POWER_CUT) {
            for (int j = 0; j < s->nsteps; j++) {
                for (int k = 0; k < s->steps[j].nrules; k++) {
                    s->steps[j].rules[k].sure = false;
                }
            }
            break;
        }
    }
    /* the run disturbs the device (device or kernel faults, hotplug):
     * the options that let the workload take clean I/O errors */
    if (disturbing) {
        draw_opts(s->wopts, &s->nwopts, &V->workload.disturbed, &r, V->workload.vars, vals,
                  V->workload.nvars, true);
    }
}

/* ---- writing -------------------------------------------------------------------- */

static void join_opts(char *buf, size_t len, const char *head, const CsOpt *o, int n)
{
    size_t l = (size_t)snprintf(buf, len, "%s", head);

    for (int i = 0; i < n && l < len; i++) {
        l += (size_t)snprintf(buf + l, len - l, "%s%s", l ? " " : "", o[i].text);
    }
}

/* A one-key step, "- key: {...}": opens its flow mapping; step_end closes it. */
static void step_begin(GyWriter *w, const char *key)
{
    gy_map(w, GY_BLOCK);
    gy_key(w, key);
    gy_map(w, GY_FLOW);
}

static void step_end(GyWriter *w)
{
    gy_end(w);
    gy_end(w);
}

char *cs_to_yaml(const CsSchedule *s, const char *name)
{
    GyWriter *w = gy_new();
    char line[4096], err[300], *text = NULL;
    int rule_index = 0, nunsure = 0;

    gy_map(w, GY_BLOCK);
    gy_key(w, "name");
    gy_plain(w, name);
    gy_key(w, "description");
    if (s->origin[0]) {
        gy_str(w, s->origin);
    } else {
        snprintf(line, sizeof(line), "Fault-injection campaign, seed %llu, run %llu "
                 "(gauntlet campaign --seed %llu; docs/campaigns.md). A workload with "
                 "device faults, kernel faults, hotplug and suspend events drawn from "
                 "the seed; the driver must survive them with every verdict clean.",
                 (unsigned long long)s->seed, (unsigned long long)s->run,
                 (unsigned long long)s->seed);
        for (int i = 0; i < s->nsteps; i++) {
            if (s->steps[i].kind == CS_POWER_CUT) {
                size_t l = strlen(line);

                snprintf(line + l, sizeof(line) - l, " It ends in a power cut while the "
                         "workload runs%s%s.", s->write_cache ? ", with the volatile "
                         "write cache on" : "", s->steps[i].boot_again ? ", then boots "
                         "again on the same disks and loads the driver" : "");
            }
        }
        gy_str(w, line);
    }
    gy_key(w, "target");
    gy_plain(w, s->target);
    gy_key(w, "kernel");
    gy_plain(w, s->debug ? "debug" : "stock");
    gy_key(w, "timeout");
    gy_int(w, 600);
    gy_key(w, "tags");
    gy_seq(w, GY_FLOW);
    gy_plain(w, "campaign");
    gy_end(w);
    for (int i = 0; i < s->nsteps; i++) {
        const CsStep *st = &s->steps[i];

        if (st->kind == CS_FAULTS_SET || st->kind == CS_FAULTS_ADD) {
            for (int k = 0; k < st->nrules; k++, rule_index++) {
                if (!st->rules[k].sure) {
                    if (!nunsure++) {
                        gy_key(w, "allow_unfired");
                        gy_seq(w, GY_FLOW);
                    }
                    gy_int(w, rule_index);
                }
            }
        }
    }
    if (nunsure) {
        gy_end(w);
    }
    if (s->write_cache) {
        gy_key(w, "write_cache");
        gy_bool(w, true);
    }
    gy_key(w, "steps");
    gy_seq(w, GY_BLOCK);
    step_begin(w, "boot");
    if (s->boot_cmdline[0]) {
        gy_key(w, "cmdline");
        gy_str(w, s->boot_cmdline);
    }
    step_end(w);
    step_begin(w, "load");
    step_end(w);
    if (s->nparams) {
        line[0] = 0;
        for (int i = 0; i < s->nparams; i++) {
            size_t l = strlen(line);

            snprintf(line + l, sizeof(line) - l, "%s%s", i ? " && " : "", s->params[i].text);
        }
        step_begin(w, "run");
        gy_key(w, "cmd");
        gy_str(w, line);
        step_end(w);
    }
    for (int i = 0; i < s->nsteps; i++) {
        const CsStep *st = &s->steps[i];

        switch (st->kind) {
        case CS_WORKLOAD_START:
            join_opts(line, sizeof(line), s->workload_cmd, s->wopts, s->nwopts);
            step_begin(w, "workload");
            gy_key(w, "name");
            gy_plain(w, "io");
            gy_key(w, "cmd");
            gy_str(w, line);
            step_end(w);
            break;
        case CS_WORKLOAD_STOP:
            step_begin(w, "workload_stop");
            gy_key(w, "name");
            gy_plain(w, "io");
            gy_key(w, "wait");
            gy_bool(w, s->workload_wait);
            gy_key(w, "timeout");
            gy_num(w, s->workload_timeout);
            step_end(w);
            break;
        case CS_WAIT:
            snprintf(line, sizeof(line), "%.1f", st->seconds);
            step_begin(w, "wait");
            gy_key(w, "seconds");
            gy_plain(w, line);
            step_end(w);
            break;
        case CS_FAULTS_SET:
        case CS_FAULTS_ADD:
            line[0] = 0;
            for (int k = 0; k < st->nrules; k++) {
                size_t l = strlen(line);

                snprintf(line + l, sizeof(line) - l, "%s%s", k ? ";" : "", st->rules[k].text);
            }
            step_begin(w, "faults");
            gy_key(w, st->kind == CS_FAULTS_SET ? "set" : "add");
            gy_str(w, line);
            step_end(w);
            break;
        case CS_FAULTS_CLEAR:
            step_begin(w, "faults");
            gy_key(w, "clear");
            gy_bool(w, true);
            step_end(w);
            break;
        case CS_HOTPLUG:
            step_begin(w, "hotplug");
            gy_key(w, "action");
            gy_plain(w, st->hotplug == 0 ? "add" : st->hotplug == 2 ? "surprise" : "remove");
            if (st->hotplug == 3) {
                gy_key(w, "fast");
                gy_bool(w, true);
            }
            step_end(w);
            break;
        case CS_SUSPEND:
            step_begin(w, "suspend");
            gy_key(w, "mode");
            gy_plain(w, st->s3 ? "s3" : "pm_test");
            if (!st->s3) {
                gy_key(w, "level");
                gy_plain(w, cv_pm_levels[st->level]);
            }
            gy_key(w, "cycles");
            gy_int(w, st->cycles);
            step_end(w);
            break;
        case CS_KFAULT:
            step_begin(w, "kfault");
            gy_key(w, "type");
            if (st->kf_function[0]) {
                gy_plain(w, "fail_function");
                gy_key(w, "function");
                gy_plain(w, st->kf_function);
            } else {
                gy_plain(w, cv_kfault_names[st->kf_type]);
            }
            gy_key(w, "probability");
            gy_int(w, st->kf_probability);
            gy_key(w, "times");
            gy_int(w, st->kf_times);
            gy_key(w, "interval");
            gy_int(w, st->kf_interval);
            if (st->kf_space > 0) {
                gy_key(w, "space");
                gy_int(w, st->kf_space);
            }
            gy_key(w, "require");
            gy_bool(w, true);
            step_end(w);
            break;
        case CS_POWER_CUT:
            step_begin(w, "power_cut");
            gy_key(w, "at");
            gy_plain(w, "now");
            gy_key(w, "boot_again");
            gy_bool(w, st->boot_again);
            step_end(w);
            if (st->boot_again) {
                /* the new VM has no driver; loading it is judged too */
                step_begin(w, "load");
                step_end(w);
            }
            break;
        }
    }
    gy_end(w);      /* steps */
    gy_end(w);      /* the scenario */
    if (gy_finish(w, &text, NULL, err, sizeof(err)) < 0) {
        /* the writer refuses only malformed structure or non-UTF-8 text:
         * the vocabulary's text, said in the file the runner will refuse */
        free(text);
        if (asprintf(&text, "# cs_to_yaml: %s\n", err) < 0) {
            abort();
        }
    }
    return text;
}

static const GtTarget *rule_checker;
static const char *rule_checker_build;

void cs_set_rule_checker(const GtTarget *t, const char *build)
{
    rule_checker = t;
    rule_checker_build = build;
}

/* The first faults step whose rules the target's checker refuses: its
 * message in e.text (file:line:col), true. */
static bool rules_refused(const GsScenario *sc, GsError *e)
{
    for (size_t i = 0; rule_checker && i < sc->nsteps; i++) {
        const GsStep *st = &sc->steps[i];
        char msg[1024];
        int n;

        if (st->type != GS_STEP_FAULTS || st->u.faults.op == GS_FAULTS_CLEAR) {
            continue;
        }
        switch (gt_check_rules(rule_checker, rule_checker_build, st->u.faults.check_text,
                               &n, msg, sizeof(msg))) {
        case 0:
            break;
        case 1:
            gs_rule_error(sc, st, msg, e->text, sizeof(e->text));
            return true;
        default:    /* the checker itself did not work */
            snprintf(e->text, sizeof(e->text), "%s:%d:%d: %s", sc->file, st->line,
                     st->col, msg);
            return true;
        }
    }
    return false;
}

/* write_cache: true on a target that names no cache argument (the runner
 * refuses it): the vocabulary's power_cut.write_cache wants 0 there. */
static bool cache_refused(const GsScenario *sc, GsError *e)
{
    if (!sc->write_cache || !rule_checker ||
        (rule_checker->write_cache && rule_checker->write_cache[0])) {
        return false;
    }
    snprintf(e->text, sizeof(e->text), "%s: 'write_cache: true', but target '%s' names "
             "no write_cache in its target.yaml (set power_cut's write_cache to 0 in its "
             "campaign.yaml)", sc->file, rule_checker->name);
    return true;
}

int cs_write_scenario(const CsSchedule *s, const char *name, const char *path,
                      char *err, size_t errlen)
{
    char *text = cs_to_yaml(s, name);
    GsScenario *sc = NULL;
    GsError e;
    FILE *f;
    int rc = 0;

    if (gs_parse_string(path, text, strlen(text), &sc, &e) < 0 ||
        rules_refused(sc, &e) || cache_refused(sc, &e)) {
        snprintf(err, errlen, "generated scenario does not parse (a rule or text of the vocabulary the "
                 "target refuses, or a generator bug): %s\n"
                 "--- text ---\n%s", e.text, text);
        gs_free(sc);
        free(text);
        return -1;
    }
    f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "%s: cannot write: %m", path);
        rc = -1;
    } else {
        fputs(text, f);
        if (fclose(f)) {
            snprintf(err, errlen, "%s: write failed: %m", path);
            rc = -1;
        }
    }
    gs_free(sc);
    free(text);
    return rc;
}

/* ---- reductions ------------------------------------------------------------------ */

int cs_size(const CsSchedule *s)
{
    int n = s->nsteps + s->nparams;

    for (int i = 0; i < s->nsteps; i++) {
        n += s->steps[i].nrules;
        n += s->steps[i].kind == CS_WORKLOAD_START ? s->nwopts : 0;
        n += s->steps[i].kind == CS_POWER_CUT && s->steps[i].boot_again;   /* its load */
    }
    return n + s->write_cache;
}

int cs_reductions(const CsSchedule *s, CsReduction *out, int max)
{
    int n = 0;

#define PUSH(k, x, y) do { if (n < max) { out[n++] = (CsReduction){ (k), (x), (y) }; } } while (0)
    for (int i = 0; i < s->nsteps; i++) {
        if (s->steps[i].kind != CS_WORKLOAD_STOP) {
            PUSH(CS_RED_STEP, i, 0);
        }
    }
    for (int i = 0; i < s->nsteps; i++) {
        if (s->steps[i].nrules > 1) {
            for (int k = 0; k < s->steps[i].nrules; k++) {
                PUSH(CS_RED_RULE, i, k);
            }
        }
    }
    for (int i = 0; i < s->nsteps; i++) {
        /* options only while the workload is there: without it, dropping
         * one changes nothing the runner sees (a wasted candidate run) */
        for (int k = 0; s->steps[i].kind == CS_WORKLOAD_START && k < s->nwopts; k++) {
            if (s->wopts[k].droppable) {
                PUSH(CS_RED_WOPT, k, 0);
            }
        }
    }
    for (int i = 0; i < s->nparams; i++) {
        if (s->params[i].droppable) {
            PUSH(CS_RED_PARAM, i, 0);
        }
    }
    for (int i = 0; i < s->nsteps; i++) {
        if (s->steps[i].kind == CS_POWER_CUT && s->steps[i].boot_again) {
            PUSH(CS_RED_BOOT_AGAIN, i, 0);
        }
    }
    if (s->write_cache) {
        PUSH(CS_RED_WRITE_CACHE, 0, 0);
    }
#undef PUSH
    return n;
}

/* A schedule is runnable when faults steps and hot-plug actions match the
 * card's presence, a workload stop follows its start, and a power cut is
 * the last step, with the card plugged in (the new VM of boot_again has
 * the cards that were present, and its load wants one). */
static bool cs_valid(const CsSchedule *s)
{
    bool present = true, started = false;

    for (int i = 0; i < s->nsteps; i++) {
        const CsStep *st = &s->steps[i];

        switch (st->kind) {
        case CS_FAULTS_SET:
        case CS_FAULTS_ADD:
        case CS_FAULTS_CLEAR:
            if (!present) {
                return false;
            }
            break;
        case CS_HOTPLUG:
            if (st->hotplug == 0 ? present : !present) {
                return false;
            }
            present = st->hotplug == 0;
            break;
        case CS_WORKLOAD_START:
            started = true;
            break;
        case CS_WORKLOAD_STOP:
            if (!started) {
                return false;
            }
            break;
        case CS_POWER_CUT:
            if (i != s->nsteps - 1 || !present) {
                return false;
            }
            break;
        default:
            break;
        }
    }
    return true;
}

static void remove_step(CsSchedule *s, int i)
{
    memmove(&s->steps[i], &s->steps[i + 1], (size_t)(s->nsteps - i - 1) * sizeof(s->steps[0]));
    s->nsteps--;
}

int cs_reduce(const CsSchedule *in, const CsReduction *r, CsSchedule *out)
{
    *out = *in;
    switch (r->kind) {
    case CS_RED_STEP:
        if (r->a < 0 || r->a >= out->nsteps) {
            return -1;
        }
        /* an unplug goes with the plug that follows it */
        if (out->steps[r->a].kind == CS_HOTPLUG && out->steps[r->a].hotplug != 0) {
            for (int j = r->a + 1; j < out->nsteps; j++) {
                if (out->steps[j].kind == CS_HOTPLUG && out->steps[j].hotplug == 0) {
                    remove_step(out, j);
                    break;
                }
            }
        }
        if (out->steps[r->a].kind == CS_WORKLOAD_START) {
            for (int j = out->nsteps - 1; j > r->a; j--) {
                if (out->steps[j].kind == CS_WORKLOAD_STOP) {
                    remove_step(out, j);
                }
            }
        }
        if (out->steps[r->a].kind == CS_POWER_CUT) {
            bool workload = false;

            /* without the cut the run ends in order: the workload gets its
             * stop back (write_cache stays: it has its own reduction) */
            remove_step(out, r->a);
            for (int j = 0; j < out->nsteps; j++) {
                workload |= out->steps[j].kind == CS_WORKLOAD_START;
            }
            if (workload) {
                memset(&out->steps[out->nsteps], 0, sizeof(out->steps[0]));
                out->steps[out->nsteps++].kind = CS_WORKLOAD_STOP;
            }
            break;
        }
        remove_step(out, r->a);
        break;
    case CS_RED_RULE: {
        CsStep *st;

        if (r->a < 0 || r->a >= out->nsteps) {
            return -1;
        }
        st = &out->steps[r->a];
        if (st->nrules < 2 || r->b < 0 || r->b >= st->nrules) {
            return -1;
        }
        memmove(&st->rules[r->b], &st->rules[r->b + 1],
                (size_t)(st->nrules - r->b - 1) * sizeof(st->rules[0]));
        st->nrules--;
        break;
    }
    case CS_RED_WOPT:
        if (r->a < 0 || r->a >= out->nwopts || !out->wopts[r->a].droppable) {
            return -1;
        }
        memmove(&out->wopts[r->a], &out->wopts[r->a + 1],
                (size_t)(out->nwopts - r->a - 1) * sizeof(out->wopts[0]));
        out->nwopts--;
        break;
    case CS_RED_PARAM:
        if (r->a < 0 || r->a >= out->nparams || !out->params[r->a].droppable) {
            return -1;
        }
        memmove(&out->params[r->a], &out->params[r->a + 1],
                (size_t)(out->nparams - r->a - 1) * sizeof(out->params[0]));
        out->nparams--;
        break;
    case CS_RED_BOOT_AGAIN:
        if (r->a < 0 || r->a >= out->nsteps || out->steps[r->a].kind != CS_POWER_CUT ||
            !out->steps[r->a].boot_again) {
            return -1;
        }
        out->steps[r->a].boot_again = false;
        break;
    case CS_RED_WRITE_CACHE:
        if (!out->write_cache) {
            return -1;
        }
        out->write_cache = false;
        break;
    }
    return cs_valid(out) ? 0 : -1;
}

static const char *kind_name(CsStepKind k)
{
    static const char *const n[] = {
        "workload", "workload_stop", "wait", "faults set", "faults add",
        "faults clear", "hotplug", "suspend", "kfault", "power_cut",
    };
    return n[k];
}

void cs_reduction_describe(const CsSchedule *s, const CsReduction *r, char *buf,
                           size_t len)
{
    switch (r->kind) {
    case CS_RED_STEP:
        snprintf(buf, len, "drop step %d (%s)", r->a + 3 + (s->nparams > 0), kind_name(s->steps[r->a].kind));
        break;
    case CS_RED_RULE:
        snprintf(buf, len, "drop rule '%s'", s->steps[r->a].rules[r->b].text);
        break;
    case CS_RED_WOPT:
        snprintf(buf, len, "drop workload option '%s'", s->wopts[r->a].text);
        break;
    case CS_RED_PARAM:
        snprintf(buf, len, "drop driver setting '%s'", s->params[r->a].text);
        break;
    case CS_RED_BOOT_AGAIN:
        snprintf(buf, len, "no boot after the power cut (step %d): drop its load",
                 r->a + 3 + (s->nparams > 0));
        break;
    case CS_RED_WRITE_CACHE:
        snprintf(buf, len, "drop write_cache (the volatile write cache off)");
        break;
    }
}
