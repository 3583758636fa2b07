/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Campaign schedules: drawing, writing and reducing them (campaign_gen.h).
 *
 * Only device faults a correct driver must survive are drawn: faults the
 * driver can see (a lost, late, duplicated or malformed completion, an
 * error status, a fatal error, a stalled engine, a dead link, interrupt
 * trouble, a slow or failing reset or power transition).  Faults that make
 * the device lie undetectably (a DMA that silently writes wrong data or
 * none, a command redirected to another LBA or address) are left out: the
 * data checks would fail for them whatever the driver does, and a campaign
 * failure must mean the driver misbehaved.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign_gen.h"
#include "scenario.h"

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

#define PICK(r, arr) ((arr)[cs_rng_range((r), 0, sizeof(arr) / sizeof((arr)[0]) - 1)])

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

static void duration(CsRng *r, char *buf, size_t len, unsigned max_ms)
{
    if (chance(r, 40)) {
        snprintf(buf, len, "%uus", (unsigned)cs_rng_range(r, 50, 900));
    } else {
        snprintf(buf, len, "%ums", (unsigned)cs_rng_range(r, 1, max_ms));
    }
}

/* The action for a point, from the detectable set of the datasheet's
 * table 10.3.  *benign: the action does no lasting harm when it fires on
 * every event (only then is the trigger "always" drawn). */
static void draw_action(CsRng *r, const char *point, char *buf, size_t len,
                        bool *benign, bool *storm)
{
    char d[32];

    *benign = false;
    *storm = false;
    if (!strcmp(point, "cq.post")) {
        static const char *const a[] = {
            "drop", "delay", "stall", "corrupt(phase)", "corrupt(sqhead=0xffff)",
            "corrupt(status)", "corrupt(tag=0xfff0)", "corrupt(tag=0xffff)",
            "duplicate", "dma_error", "fatal", "spurious", "storm",
        };
        const char *p = PICK(r, a);

        if (!strcmp(p, "corrupt(status)")) {
            snprintf(buf, len, "corrupt(status=0x%x)", (unsigned)cs_rng_range(r, 1, 0x7fff));
            return;
        }
        snprintf(buf, len, "%s", p);
    } else if (!strcmp(point, "sq.fetch")) {
        static const char *const a[] = {
            "drop", "delay", "stall", "dma_error", "fatal", "spurious",
            "corrupt(opcode=0xee)",
        };
        snprintf(buf, len, "%s", PICK(r, a));
    } else if (!strcmp(point, "sgl.fetch")) {
        static const char *const a[] = {
            "drop", "delay", "stall", "dma_error", "corrupt(index=0,len=0)",
        };
        snprintf(buf, len, "%s", PICK(r, a));
    } else if (!strcmp(point, "dma.read") || !strcmp(point, "dma.write")) {
        static const char *const a[] = { "delay", "stall", "dma_error", "fatal" };
        snprintf(buf, len, "%s", PICK(r, a));
    } else if (!strcmp(point, "irq")) {
        static const char *const a[] = {
            "drop", "delay", "stall", "spurious", "storm", "fatal",
        };
        snprintf(buf, len, "%s", PICK(r, a));
    } else if (!strcmp(point, "reg.read")) {
        static const char *const a[] = { "drop", "allones", "fatal" };
        snprintf(buf, len, "%s", PICK(r, a));
    } else if (!strcmp(point, "reset") || !strcmp(point, "ctrl.enable")) {
        static const char *const a[] = { "delay", "delay", "drop", "stall" };
        const char *p = PICK(r, a);

        if (!strcmp(p, "delay")) {
            snprintf(buf, len, "delay(%ums)", (unsigned)cs_rng_range(r, 50, 2500));
            return;
        }
        snprintf(buf, len, "%s", p);
    } else { /* power */
        static const char *const a[] = { "delay", "delay", "drop", "stall" };
        const char *p = PICK(r, a);

        if (!strcmp(p, "delay")) {
            snprintf(buf, len, "delay(%ums)", (unsigned)cs_rng_range(r, 50, 1500));
            return;
        }
        snprintf(buf, len, "%s", p);
    }
    if (!strcmp(buf, "delay")) {
        duration(r, d, sizeof(d), 400);
        snprintf(buf, len, "delay(%s)", d);
        *benign = true;
    } else if (!strcmp(buf, "spurious")) {
        *benign = true;
    } else if (!strcmp(buf, "storm")) {
        snprintf(buf, len, "storm(count=%u,interval=%uus)",
                 (unsigned)cs_rng_range(r, 50, 2000), (unsigned)cs_rng_range(r, 20, 200));
        *storm = true;
    }
}

/* One rule; *sure when its trigger fires on the first events of a point
 * every command passes (the caller decides whether that is enough). */
static void draw_rule(CsRng *r, CsRule *rule, bool first_of_run)
{
    static const char *const points[] = {
        "cq.post", "cq.post", "cq.post", "sq.fetch", "sq.fetch", "sgl.fetch",
        "dma.read", "dma.write", "irq", "irq", "reg.read", "reset",
        "ctrl.enable", "power",
    };
    static const char *const regs[] = { "status", "intr_status", "cq_tail", "sq_head" };
    static const char *const ops[] = { "read", "write" };
    const char *point = PICK(r, points);
    char filter[32] = "", action[96], trig[64];
    bool benign, storm, per_command;
    unsigned k = (unsigned)cs_rng_range(r, 0, 99);

    per_command = !strcmp(point, "cq.post") || !strcmp(point, "sq.fetch");
    if (!strcmp(point, "reg.read")) {
        snprintf(filter, sizeof(filter), "[reg=%s]", PICK(r, regs));
    } else if (!strcmp(point, "dma.read")) {
        snprintf(filter, sizeof(filter), "[op=write]");
    } else if (!strcmp(point, "dma.write")) {
        snprintf(filter, sizeof(filter), "[op=read]");
    } else if ((per_command || !strcmp(point, "sgl.fetch")) && chance(r, 20)) {
        snprintf(filter, sizeof(filter), "[op=%s]", PICK(r, ops));
    }
    draw_action(r, point, action, sizeof(action), &benign, &storm);

    rule->sure = false;
    if (storm || k < 35) {
        unsigned n = (unsigned)cs_rng_range(r, 1, storm ? 20 : 40);

        if (n == 1) {
            snprintf(trig, sizeof(trig), "once");
        } else {
            snprintf(trig, sizeof(trig), "nth=%u", n);
        }
        rule->sure = first_of_run && per_command && !filter[0] && n <= 3;
    } else if (k < 65) {
        snprintf(trig, sizeof(trig), "every=%u,max=%u",
                 (unsigned)cs_rng_range(r, 2, 30), (unsigned)cs_rng_range(r, 1, 5));
    } else if (k < 85) {
        snprintf(trig, sizeof(trig), "prob=%u%%,max=%u,seed=%u",
                 (unsigned)cs_rng_range(r, 1, 10), (unsigned)cs_rng_range(r, 1, 8),
                 (unsigned)cs_rng_range(r, 0, 9999));
    } else if (benign) {
        snprintf(trig, sizeof(trig), "always");
    } else {
        snprintf(trig, sizeof(trig), "once");
    }
    if (chance(r, 15)) {
        size_t l = strlen(trig);

        snprintf(trig + l, sizeof(trig) - l, ",after=%u", (unsigned)cs_rng_range(r, 1, 200));
        rule->sure = false;
    }
    snprintf(rule->text, sizeof(rule->text), "%s%s:%s:%s", point, filter, action, trig);
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
        abort();    /* the generator never draws that many */
    }
    st = &s->steps[s->nsteps++];
    memset(st, 0, sizeof(*st));
    st->kind = kind;
    return st;
}

static void add_wait(CsSchedule *s, CsRng *r, unsigned lo_ds, unsigned hi_ds)
{
    add_step(s, CS_WAIT)->seconds = (double)cs_rng_range(r, lo_ds, hi_ds) / 10.0;
}

void cs_generate(CsSchedule *s, uint64_t seed, uint64_t run, const CsGenOptions *o)
{
    CsRng r;
    bool present = true, armed = false, any_rule = false, disturbing = false;
    bool s3_used = false;
    int nevents, duration_s;
    const char *target = o && o->target ? o->target : "kestrel";

    memset(s, 0, sizeof(*s));
    cs_rng_init(&r, seed, run);
    s->seed = seed;
    s->run = run;
    s->debug = o && o->debug;
    snprintf(s->target, sizeof(s->target), "%s", target);
    s->kestrel = !strcmp(target, "kestrel");

    /* Driver settings, made after the load so that every run loads the
     * same way (`load: {}`) and can start from the runner's snapshot: the
     * command timeout of the bound device and of devices probed later
     * (hotplug), and the retry budget. */
    if (s->kestrel) {
        static const unsigned timeouts[] = { 1000, 1500, 2000, 3000 };
        unsigned ms = PICK(&r, timeouts);

        opt_add(s->params, &s->nparams, true,
                "echo %u > /sys/module/kestrel/parameters/timeout_ms && "
                "kestrelctl timeout set %u", ms, ms);
        if (chance(&r, 25)) {
            opt_add(s->params, &s->nparams, true,
                    "echo %u > /sys/module/kestrel/parameters/max_retries",
                    (unsigned)cs_rng_range(&r, 0, 3));
        }
    }

    /* kernel faults, armed before the workload so they cover it */
    if (s->debug && chance(&r, 40)) {
        int n = (int)cs_rng_range(&r, 1, 2);

        for (int i = 0; i < n; i++) {
            CsStep *st = add_step(s, CS_KFAULT);

            /* no limit on the count: a capped fault may be spent on the
             * task's own allocations before the driver allocates, and the
             * runner's kfault-fired verdict wants the driver on the stack
             * (as scenarios/alloc-failure-io.yaml, at most 10%) */
            st->kf_type = (int)cs_rng_range(&r, 0, 1);
            st->kf_probability = (int)cs_rng_range(&r, 1, 10);
            st->kf_times = -1;
            st->kf_interval = 1;
            disturbing = true;
        }
    }

    /* the workload */
    duration_s = (int)cs_rng_range(&r, 2, 5);
    if (s->kestrel) {
        static const unsigned qds[] = { 1, 4, 8, 16, 32 };
        static const unsigned blocks[] = { 1024, 2048, 4096, 8192 };
        static const unsigned bmax[] = { 8, 32, 128 };
        static const unsigned rpct[] = { 20, 50, 80 };

        /* the integrity region is LBA 0..2047 (harness/targets/kestrel.yaml):
         * the workload stays above it */
        snprintf(s->workload_cmd, sizeof(s->workload_cmd), "kestrelctl stress --lba 8192");
        opt_add(s->wopts, &s->nwopts, false, "--duration %d", duration_s);
        opt_add(s->wopts, &s->nwopts, true, "--threads %u", (unsigned)cs_rng_range(&r, 1, 4));
        opt_add(s->wopts, &s->nwopts, true, "--qd %u", PICK(&r, qds));
        opt_add(s->wopts, &s->nwopts, true, "--blocks %u", PICK(&r, blocks));
        opt_add(s->wopts, &s->nwopts, true, "--blocks-max %u", PICK(&r, bmax));
        opt_add(s->wopts, &s->nwopts, true, "--read-pct %u", PICK(&r, rpct));
        opt_add(s->wopts, &s->nwopts, true, "--seed %u", (unsigned)cs_rng_range(&r, 1, 999999));
        if (chance(&r, 85)) {
            opt_add(s->wopts, &s->nwopts, true, "--verify");
        }
        if (chance(&r, 15)) {
            opt_add(s->wopts, &s->nwopts, true, "--prefill");
        }
        s->workload_wait = true;
        s->workload_timeout = duration_s + 120;
    } else {
        snprintf(s->workload_cmd, sizeof(s->workload_cmd), "$GAUNTLET_STRESS");
        s->workload_wait = false;
        s->workload_timeout = 120;
    }
    add_step(s, CS_WORKLOAD_START);
    add_wait(s, &r, 5, 15);

    /* events at chosen moments */
    nevents = (int)cs_rng_range(&r, 1, 4);
    for (int e = 0; e < nevents; e++) {
        unsigned k = (unsigned)cs_rng_range(&r, 0, 99);

        if (e) {
            add_wait(s, &r, 3, 20);
        }
        if (s->kestrel && present && k < 45) {
            CsStep *st = add_step(s, armed && chance(&r, 35) ? CS_FAULTS_ADD :
                                  CS_FAULTS_SET);
            int n = (int)cs_rng_range(&r, 1, 3);

            for (int i = 0; i < n; i++) {
                draw_rule(&r, &st->rules[i], !any_rule && i == 0 && e == 0);
            }
            st->nrules = n;
            armed = any_rule = disturbing = true;
        } else if (s->kestrel && armed && k < 55) {
            add_step(s, CS_FAULTS_CLEAR);
            armed = false;
        } else if (k < 75) {
            CsStep *st = add_step(s, CS_SUSPEND);
            static const int levels[] = { 1, 2, 3, 4, 5 };

            /* one real S3 per boot: a second one does not reach QEMU 7.2's
             * suspend here (scenarios/suspend-resume-cycles.yaml); later
             * suspends are pm_test, which runs every driver callback */
            st->s3 = !s3_used && chance(&r, 70);
            s3_used |= st->s3;
            st->level = st->s3 ? 0 : PICK(&r, levels);
            st->cycles = st->s3 ? 1 : (int)cs_rng_range(&r, 1, 2);
        } else {
            /* a hot-unplug (orderly or surprise), then the card comes back */
            add_step(s, CS_HOTPLUG)->hotplug = chance(&r, 50) ? 1 : 2;
            present = false;
            add_wait(s, &r, 5, 15);
            add_step(s, CS_HOTPLUG)->hotplug = 0;
            present = true;
            armed = false;
            disturbing = true;
            add_wait(s, &r, 10, 20);
        }
    }
    add_step(s, CS_WORKLOAD_STOP);

    /* with kernel faults the workload itself may fail early (ENOMEM), so no
     * rule is sure to see a command */
    for (int i = 0; i < s->nsteps && s->debug; i++) {
        if (s->steps[i].kind == CS_KFAULT) {
            for (int j = 0; j < s->nsteps; j++) {
                for (int k = 0; k < s->steps[j].nrules; k++) {
                    s->steps[j].rules[k].sure = false;
                }
            }
            break;
        }
    }
    if (s->kestrel && disturbing) {
        opt_add(s->wopts, &s->nwopts, false, "--allow-errors");
        opt_add(s->wopts, &s->nwopts, false, "--keep-going");
    }
}

/* ---- writing -------------------------------------------------------------------- */

typedef struct Buf { char *p; size_t len, cap; } Buf;

static void bputf(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bputf(Buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            abort();
        }
        if (b->p && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        b->cap = (b->cap + (size_t)n + 256) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p) {
            abort();
        }
    }
}

/* A YAML double-quoted string. */
static void bquote(Buf *b, const char *s)
{
    bputf(b, "\"");
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') {
            bputf(b, "\\%c", *s);
        } else if (*s == '\n') {
            bputf(b, "\\n");
        } else {
            bputf(b, "%c", *s);
        }
    }
    bputf(b, "\"");
}

static const char *const pm_levels[] = {
    "", "freezer", "devices", "platform", "processors", "core",
};

static void join_opts(char *buf, size_t len, const char *head, const CsOpt *o, int n)
{
    size_t l = (size_t)snprintf(buf, len, "%s", head);

    for (int i = 0; i < n && l < len; i++) {
        l += (size_t)snprintf(buf + l, len - l, "%s%s", l ? " " : "", o[i].text);
    }
}

char *cs_to_yaml(const CsSchedule *s, const char *name)
{
    Buf b = { 0 };
    char line[4096];
    int rule_index = 0, nunsure = 0;

    bputf(&b, "name: %s\ndescription: ", name);
    if (s->origin[0]) {
        bquote(&b, s->origin);
    } else {
        snprintf(line, sizeof(line), "Fault-injection campaign, seed %llu, run %llu "
                 "(gauntlet campaign --seed %llu; docs/campaigns.md). A workload with "
                 "device faults, kernel faults, hotplug and suspend events drawn from "
                 "the seed; the driver must survive them with every verdict clean.",
                 (unsigned long long)s->seed, (unsigned long long)s->run,
                 (unsigned long long)s->seed);
        bquote(&b, line);
    }
    bputf(&b, "\ntarget: %s\nkernel: %s\ntimeout: 600\ntags: [campaign]\n",
          s->target, s->debug ? "debug" : "stock");
    for (int i = 0; i < s->nsteps; i++) {
        const CsStep *st = &s->steps[i];

        if (st->kind == CS_FAULTS_SET || st->kind == CS_FAULTS_ADD) {
            for (int k = 0; k < st->nrules; k++, rule_index++) {
                if (!st->rules[k].sure) {
                    bputf(&b, "%s%d", nunsure++ ? ", " : "allow_unfired: [", rule_index);
                }
            }
        }
    }
    if (nunsure) {
        bputf(&b, "]\n");
    }
    bputf(&b, "steps:\n  - boot: {}\n  - load: {}\n");
    if (s->nparams) {
        line[0] = 0;
        for (int i = 0; i < s->nparams; i++) {
            size_t l = strlen(line);

            snprintf(line + l, sizeof(line) - l, "%s%s", i ? " && " : "", s->params[i].text);
        }
        bputf(&b, "  - run: {cmd: ");
        bquote(&b, line);
        bputf(&b, "}\n");
    }
    for (int i = 0; i < s->nsteps; i++) {
        const CsStep *st = &s->steps[i];

        switch (st->kind) {
        case CS_WORKLOAD_START:
            join_opts(line, sizeof(line), s->workload_cmd, s->wopts, s->nwopts);
            bputf(&b, "  - workload: {name: io, cmd: ");
            bquote(&b, line);
            bputf(&b, "}\n");
            break;
        case CS_WORKLOAD_STOP:
            bputf(&b, "  - workload_stop: {name: io, wait: %s, timeout: %.0f}\n",
                  s->workload_wait ? "true" : "false", s->workload_timeout);
            break;
        case CS_WAIT:
            bputf(&b, "  - wait: {seconds: %.1f}\n", st->seconds);
            break;
        case CS_FAULTS_SET:
        case CS_FAULTS_ADD:
            line[0] = 0;
            for (int k = 0; k < st->nrules; k++) {
                size_t l = strlen(line);

                snprintf(line + l, sizeof(line) - l, "%s%s", k ? ";" : "", st->rules[k].text);
            }
            bputf(&b, "  - faults: {%s: ", st->kind == CS_FAULTS_SET ? "set" : "add");
            bquote(&b, line);
            bputf(&b, "}\n");
            break;
        case CS_FAULTS_CLEAR:
            bputf(&b, "  - faults: {clear: true}\n");
            break;
        case CS_HOTPLUG:
            bputf(&b, "  - hotplug: {action: %s}\n",
                  st->hotplug == 0 ? "add" : st->hotplug == 1 ? "remove" : "surprise");
            break;
        case CS_SUSPEND:
            if (st->s3) {
                bputf(&b, "  - suspend: {mode: s3, cycles: %d}\n", st->cycles);
            } else {
                bputf(&b, "  - suspend: {mode: pm_test, level: %s, cycles: %d}\n",
                      pm_levels[st->level], st->cycles);
            }
            break;
        case CS_KFAULT:
            bputf(&b, "  - kfault: {type: %s, probability: %d, times: %d, interval: %d, "
                  "require: true}\n", st->kf_type ? "fail_page_alloc" : "failslab",
                  st->kf_probability, st->kf_times, st->kf_interval);
            break;
        }
    }
    return b.p;
}

int cs_write_scenario(const CsSchedule *s, const char *name, const char *path,
                      char *err, size_t errlen)
{
    char *text = cs_to_yaml(s, name);
    GsScenario *sc = NULL;
    GsError e;
    FILE *f;
    int rc = 0;

    if (gs_parse_string(path, text, strlen(text), &sc, &e) < 0) {
        snprintf(err, errlen, "generated scenario does not parse (generator bug): %s\n"
                 "--- text ---\n%s", e.text, text);
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
    }
    return n;
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
    for (int i = 0; i < s->nwopts; i++) {
        if (s->wopts[i].droppable) {
            PUSH(CS_RED_WOPT, i, 0);
        }
    }
    for (int i = 0; i < s->nparams; i++) {
        if (s->params[i].droppable) {
            PUSH(CS_RED_PARAM, i, 0);
        }
    }
#undef PUSH
    return n;
}

/* A schedule is runnable when faults steps and hot-plug actions match the
 * card's presence, and a workload stop follows its start. */
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
    }
    return cs_valid(out) ? 0 : -1;
}

static const char *kind_name(CsStepKind k)
{
    static const char *const n[] = {
        "workload", "workload_stop", "wait", "faults set", "faults add",
        "faults clear", "hotplug", "suspend", "kfault",
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
    }
}
