/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the Gauntlet fault port's vocabulary (gport_fault.c) on
 * the shared engine (gfault.c): every point x action accepted or refused
 * as docs/fault-port.md says, filters and their matching, canonical text,
 * positioned errors, "after=N" counting events, post_load.
 */
#include <check.h>

#include "kestrel_env.h"
#include "gport_fault.h"
#include "kestrel_fault.h"

Suite *gport_suite(void);

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static GFaultEngine eng;
static GFaultEngine eng2;
static char err[GFAULT_ERR_MAX];
static char buf[GFAULT_TEXT_MAX];

static void setup(void)
{
    gfault_init(&eng, &gport_fault_vocab, 0x1234);
    gfault_init(&eng2, &gport_fault_vocab, 0x1234);
    memset(err, 0, sizeof(err));
}

static const GFaultRule *parse1(const char *text)
{
    int n = gfault_set(&eng, text, err, sizeof(err));

    ck_assert_msg(n == 1, "'%s' gave %d: %s", text, n, err);
    ck_assert_uint_eq(eng.nrules, 1);
    return &eng.rules[0];
}

/* text is refused with exactly message want; the engine is unchanged. */
static void refused(const char *text, const char *want)
{
    int n;

    memcpy(&eng2, &eng, sizeof(eng2));
    n = gfault_set(&eng, text, err, sizeof(err));
    ck_assert_msg(n == -1, "'%s' accepted (%d)", text, n);
    ck_assert_msg(strcmp(err, want) == 0, "'%s':\n  got  %s\n  want %s",
                  text, err, want);
    ck_assert(memcmp(&eng, &eng2, sizeof(eng)) == 0);
}

/* ---- Names --------------------------------------------------------------- */

START_TEST(test_names)
{
    static const char *const points[GPF__MAX] = {
        "dma.read", "dma.write", "msi", "mmio.read", "cfg.read", "link",
    };
    static const char *const actions[GPA__MAX] = {
        "drop", "delay", "corrupt", "flip", "duplicate", "storm",
        "allones", "dma_error",
    };
    const GFaultVocab *v = &gport_fault_vocab;
    unsigned i;

    ck_assert_str_eq(v->name, "port");
    ck_assert_int_eq(v->after, GFAULT_AFTER_EVENTS);
    for (i = 0; i < GPF__MAX; i++) {
        ck_assert_str_eq(gfault_point_name(v, i), points[i]);
    }
    for (i = 0; i < GPA__MAX; i++) {
        ck_assert_str_eq(gfault_action_name(v, i), actions[i]);
    }
    ck_assert_str_eq(gfault_point_name(v, GPF__MAX), "?");
    ck_assert_str_eq(gfault_action_name(v, GPA__MAX), "?");
    ck_assert_str_eq(gfault_point_name(NULL, 0), "?");
}
END_TEST

/* ---- The tables themselves ----------------------------------------------- */

START_TEST(test_vocab_tables)
{
    static GFaultPointInfo points[GPF__MAX];
    static GFaultActionInfo actions[GPA__MAX];
    static GFaultFieldInfo fields[GPFF__MAX];
    static GFaultKeyInfo keys[GPK__MAX];
    GFaultVocab v;

    ck_assert_msg(gfault_vocab_check(&gport_fault_vocab, err,
                                     sizeof(err)) == 0, "port: %s", err);
    ck_assert_msg(gfault_vocab_check(&kestrel_fault_vocab, err,
                                     sizeof(err)) == 0, "kestrel: %s", err);
    ck_assert_int_eq(gfault_vocab_check(NULL, err, sizeof(err)), -1);

    /* broken copies of the port's tables are refused */
#define RESET() do {                                                    \
        v = gport_fault_vocab;                                          \
        memcpy(points, v.points, sizeof(points));                       \
        memcpy(actions, v.actions, sizeof(actions));                    \
        memcpy(fields, v.fields, sizeof(fields));                       \
        memcpy(keys, v.keys, sizeof(keys));                             \
        v.points = points;                                              \
        v.actions = actions;                                            \
        v.fields = fields;                                              \
        v.keys = keys;                                                  \
    } while (0)
#define BAD(stmt, want) do {                                            \
        RESET();                                                        \
        stmt;                                                           \
        ck_assert_msg(gfault_vocab_check(&v, err, sizeof(err)) == -1,   \
                      #stmt);                                           \
        ck_assert_str_eq(err, want);                                    \
    } while (0)
    RESET();
    ck_assert_int_eq(gfault_vocab_check(&v, err, sizeof(err)), 0);
    BAD(points[GPF_LINK].name = "msi", "point 5: 'msi' twice");
    BAD(points[GPF_LINK].name = "Link", "point 5: no lower-case name");
    BAD(points[GPF_LINK].actions = 1u << GPA__MAX,
        "point link: no actions, or one out of the table");
    BAD(points[GPF_LINK].keys = 1u << GPK__MAX,
        "point link: a filter key out of the table");
    BAD(points[GPF_LINK].actions |= 1u << GPA_CORRUPT,
        "point link: corrupt without fields");
    BAD(points[GPF_CFG_READ].corrupt_need_all = 1u << GPFF_DMA_VALUE,
        "point cfg.read: corrupt() rules name fields it lacks");
    BAD(fields[GPFF_CFG_VALUE].name = "value2";
        fields[GPFF_CFG_VALUE].points |= 1ull << GPF_MMIO_READ;
        fields[GPFF_CFG_VALUE].name = "value",
        "point mmio.read: field 'value' twice");
    BAD(actions[GPA_DROP].name = "storm", "action 5: 'storm' twice");
    BAD(actions[GPA_DROP].need_filter = true;
        actions[GPA_DROP].need_key = GPK__MAX,
        "action drop: needs a filter that cannot be written");
    BAD(actions[GPA_DROP].need_filter = true;
        actions[GPA_DROP].need_key = GPK_BAR;
        actions[GPA_DROP].need_value = 6,
        "action drop: needs a filter that cannot be written");
    BAD(fields[GPFF_DMA_VALUE].bits = 0, "field 1: bad name, width or points");
    BAD(fields[GPFF_MMIO_VALUE].points |= 1ull << GPF__MAX,
        "field 2: bad name, width or points");
    BAD(keys[GPK_OFF].name = "bar", "key 2: 'bar' twice");
    BAD(v.nkeys = GFAULT_MAX_KEYS + 1,
        "a count over the engine's limits, or a missing table");
    BAD(v.npoints = 0, "no points or no actions");
    BAD(v.after = (GFaultAfter)7, "after= counts neither units nor events");
#undef BAD
#undef RESET
}
END_TEST

/* ---- Every point x action ------------------------------------------------ */

/*
 * The table of docs/fault-port.md, written out again here (not taken from
 * the vocabulary): which actions each point takes, with the arguments a
 * valid rule gives them there.
 */
static const struct {
    const char *point;
    const char *valid;          /* the point's actions, as in messages */
    const char *args[GPA__MAX]; /* NULL: refused at this point */
} matrix[] = {
    { "dma.read", "corrupt, flip, allones, dma_error", {
        [GPA_DMA_ERROR] = "dma_error", [GPA_ALLONES] = "allones",
        [GPA_CORRUPT] = "corrupt(offset=8,value=0x5a)",
        [GPA_FLIP] = "flip(bits=3)" } },
    { "dma.write", "drop, corrupt, flip, dma_error", {
        [GPA_DMA_ERROR] = "dma_error", [GPA_DROP] = "drop",
        [GPA_CORRUPT] = "corrupt(offset=4095,value=0xff)",
        [GPA_FLIP] = "flip(bits=3)" } },
    { "msi", "drop, delay, duplicate, storm", {
        [GPA_DROP] = "drop", [GPA_DELAY] = "delay(5us)",
        [GPA_DUPLICATE] = "duplicate",
        [GPA_STORM] = "storm(count=5,interval=2us)" } },
    { "mmio.read", "corrupt, flip, allones", {
        [GPA_ALLONES] = "allones", [GPA_CORRUPT] = "corrupt(value=0x1234)",
        [GPA_FLIP] = "flip(bits=3)" } },
    { "cfg.read", "corrupt, flip, allones", {
        [GPA_ALLONES] = "allones", [GPA_CORRUPT] = "corrupt(value=0x1)",
        [GPA_FLIP] = "flip(bits=3)" } },
    { "link", "allones", { [GPA_ALLONES] = "allones" } },
};

/* Some text for an action at a point that refuses it. */
static const char *const any_args[GPA__MAX] = {
    [GPA_DROP] = "drop", [GPA_DELAY] = "delay(1us)",
    [GPA_CORRUPT] = "corrupt(value=1)", [GPA_FLIP] = "flip",
    [GPA_DUPLICATE] = "duplicate", [GPA_STORM] = "storm",
    [GPA_ALLONES] = "allones", [GPA_DMA_ERROR] = "dma_error",
};

START_TEST(test_point_action_matrix)
{
    unsigned p, a, accepted = 0, refusals = 0;

    ck_assert_uint_eq(ARRAY_LEN(matrix), GPF__MAX);
    for (p = 0; p < GPF__MAX; p++) {
        ck_assert_str_eq(gfault_point_name(&gport_fault_vocab, p),
                         matrix[p].point);
        for (a = 0; a < GPA__MAX; a++) {
            char text[128], want[GFAULT_ERR_MAX];

            if (matrix[p].args[a]) {
                const GFaultRule *r;

                snprintf(text, sizeof(text), "%s:%s", matrix[p].point,
                         matrix[p].args[a]);
                r = parse1(text);
                ck_assert_uint_eq(r->point, p);
                ck_assert_uint_eq(r->action, a);
                ck_assert_str_eq(r->text, text);    /* already canonical */
                ck_assert(gfault_watches(&eng, p));
                accepted++;
                continue;
            }
            snprintf(text, sizeof(text), "%s:%s", matrix[p].point,
                     any_args[a]);
            snprintf(want, sizeof(want), "column %zu: found '%s', expected "
                     "an action valid for %s (%s)",
                     strlen(matrix[p].point) + 2,
                     gfault_action_name(&gport_fault_vocab, a),
                     matrix[p].point, matrix[p].valid);
            refused(text, want);
            refusals++;
        }
    }
    /* 4 + 4 + 4 + 3 + 3 + 1 valid pairs of 6 x 8 */
    ck_assert_uint_eq(accepted, 19);
    ck_assert_uint_eq(refusals, 48 - 19);
}
END_TEST

START_TEST(test_args)
{
    static const struct {
        const char *text, *canon;
    } t[] = {
        { "dma.read:flip", "dma.read:flip" },
        { "dma.read:flip(bits=1)", "dma.read:flip" },
        { "msi:storm", "msi:storm" },
        { "msi:storm(count=1000,interval=10us)", "msi:storm" },
        { "msi:storm(interval=1ms, count=7)",
          "msi:storm(count=7,interval=1ms)" },
        { "msi:delay(1500 us)", "msi:delay(1500us)" },
        { "msi:delay(2000000ns)", "msi:delay(2ms)" },
        { "dma.write:corrupt(value=0x5A, offset=0x10)",
          "dma.write:corrupt(offset=16,value=0x5a)" },
        { "mmio.read:corrupt(value)", "mmio.read:corrupt(value)" },
        { "mmio.read:corrupt(value=0xffffffffffffffff)",
          "mmio.read:corrupt(value=0xffffffffffffffff)" },
        { "cfg.read:corrupt(value=0xffffffff)",
          "cfg.read:corrupt(value=0xffffffff)" },
        { "Link:AllOnes", "link:allones" },
    };
    size_t i;

    for (i = 0; i < ARRAY_LEN(t); i++) {
        ck_assert_str_eq(parse1(t[i].text)->text, t[i].canon);
    }
    /* the values themselves */
    {
        const GFaultRule *r = parse1("dma.write:corrupt(value=0x5a,"
                                     "offset=0x10)");

        ck_assert_uint_eq(r->ncorrupt, 2);
        ck_assert_uint_eq(r->corrupt[0].field, GPFF_DMA_OFFSET);
        ck_assert_uint_eq(r->corrupt[0].value, 16);
        ck_assert_uint_eq(r->corrupt[1].field, GPFF_DMA_VALUE);
        ck_assert_uint_eq(r->corrupt[1].value, 0x5a);
        r = parse1("mmio.read:corrupt(value)");
        ck_assert_uint_eq(r->corrupt[0].field, GPFF_MMIO_VALUE);
        ck_assert(r->corrupt[0].invert);
        r = parse1("msi:storm(count=7,interval=1ms)");
        ck_assert_uint_eq(r->storm_count, 7);
        ck_assert_uint_eq(r->storm_interval_ns, 1000000);
        r = parse1("msi:delay(3ms)");
        ck_assert_uint_eq(r->delay_ns, 3000000);
    }
}
END_TEST

/* ---- Filters ------------------------------------------------------------- */

START_TEST(test_filters)
{
    static const struct {
        const char *text, *canon;
        uint32_t mask;
        unsigned key;
        uint64_t lo, hi;
    } t[] = {
        { "dma.read[addr=0x1000]:dma_error", "dma.read[addr=0x1000]:dma_error",
          1u << GPK_ADDR, GPK_ADDR, 0x1000, 0x1000 },
        { "dma.write[addr=4096-8191]:drop",
          "dma.write[addr=0x1000-0x1fff]:drop",
          1u << GPK_ADDR, GPK_ADDR, 0x1000, 0x1fff },
        { "dma.read[ addr = 0x2000-0x2000 ]:flip", "dma.read[addr=0x2000]:flip",
          1u << GPK_ADDR, GPK_ADDR, 0x2000, 0x2000 },
        { "msi[vector=3]:drop:nth=3", "msi[vector=3]:drop:nth=3",
          1u << GPK_VECTOR, GPK_VECTOR, 3, 3 },
        { "msi[vector=2,addr=0xfee00000-0xfeefffff]:delay(1ms)",
          "msi[addr=0xfee00000-0xfeefffff,vector=2]:delay(1ms)",
          (1u << GPK_ADDR) | (1u << GPK_VECTOR), GPK_VECTOR, 2, 2 },
        { "mmio.read[off=0x10-0x1f,bar=2]:corrupt(value)",
          "mmio.read[bar=2,off=0x10-0x1f]:corrupt(value)",
          (1u << GPK_BAR) | (1u << GPK_OFF), GPK_OFF, 0x10, 0x1f },
        { "mmio.read[bar=5]:allones", "mmio.read[bar=5]:allones",
          1u << GPK_BAR, GPK_BAR, 5, 5 },
        { "cfg.read[off=0]:allones", "cfg.read[off=0x0]:allones",
          1u << GPK_OFF, GPK_OFF, 0, 0 },
        { "dma.read[addr=0-0xffffffffffffffff]:dma_error",
          "dma.read[addr=0x0-0xffffffffffffffff]:dma_error",
          1u << GPK_ADDR, GPK_ADDR, 0, UINT64_MAX },
        { "msi[vector=2047]:drop", "msi[vector=2047]:drop",
          1u << GPK_VECTOR, GPK_VECTOR, 2047, 2047 },
    };
    size_t i;

    for (i = 0; i < ARRAY_LEN(t); i++) {
        const GFaultRule *r = parse1(t[i].text);

        ck_assert_str_eq(r->text, t[i].canon);
        ck_assert_uint_eq(r->filter_mask, t[i].mask);
        ck_assert_uint_eq(r->filter_lo[t[i].key], t[i].lo);
        ck_assert_uint_eq(r->filter_hi[t[i].key], t[i].hi);
        /* the canonical text is a fixed point */
        ck_assert_int_eq(gfault_set(&eng2, r->text, err, sizeof(err)), 1);
        ck_assert_str_eq(eng2.rules[0].text, t[i].canon);
    }
}
END_TEST

/* ---- Positioned errors --------------------------------------------------- */

START_TEST(test_errors)
{
    static const struct {
        const char *text, *err;
    } t[] = {
        { "pcie:drop", "column 1: found 'pcie', expected a point (dma.read, "
          "dma.write, msi, mmio.read, cfg.read, link)" },
        { "msi:lie", "column 5: found 'lie', expected an action (drop, "
          "delay, corrupt, flip, duplicate, storm, allones, dma_error)" },
        { "link[addr=1]:allones", "column 5: found '[', expected ':' "
          "(link takes no filter)" },
        { "link", "column 5: found 'end of input', expected ':'" },
        { "msi", "column 4: found 'end of input', expected '[' or ':'" },
        { "cfg.read[bar=1]:allones", "column 10: found 'bar', expected "
          "off= (the filter of cfg.read)" },
        { "mmio.read[addr=1]:allones", "column 11: found 'addr', expected "
          "a filter key of mmio.read (bar=, off=)" },
        { "mmio.read[bar=6]:allones", "column 15: found '6', expected a BAR "
          "number 0..5" },
        { "mmio.read[bar=x]:allones", "column 15: found 'x', expected a BAR "
          "number 0..5" },
        { "mmio.read[bar=1,bar=2]:allones", "column 17: found 'bar', "
          "expected a filter key not given before" },
        { "mmio.read[bar=1;", "column 16: found ';', expected ',' or ']'" },
        { "mmio.read[bar=1,off=2,", "column 22: found ',', expected ']'" },
        { "dma.read[addr=0x1000;", "column 21: found ';', expected ']'" },
        { "dma.read[addr=0x2000-0x1000]:dma_error", "column 15: found "
          "'0x2000-0x1000', expected a range N-M with N <= M" },
        { "dma.read[addr=0x10-]:dma_error", "column 15: found '0x10-', "
          "expected a number or a range N-M (decimal or 0x-hex)" },
        { "dma.read[addr=0x10-0x2-3]:dma_error", "column 15: found "
          "'0x10-0x2-3', expected a number or a range N-M (decimal or "
          "0x-hex)" },
        { "dma.read[addr=low]:dma_error", "column 15: found 'low', expected "
          "a number or a range N-M (decimal or 0x-hex)" },
        { "dma.read[addr=0x10000000000000000]:dma_error", "column 15: found "
          "'0x10000000000000000', expected a number that fits 64 bits" },
        { "msi[vector=2048]:drop", "column 12: found '2048', expected a "
          "vector number 0..2047" },
        { "msi[vector=0x1-0x2]:drop", "column 12: found '0x1-0x2', expected "
          "a number (decimal or 0x-hex)" },
        { "dma.write:corrupt(offset=1)", "column 27: found ')', expected "
          "both offset=N and value=N" },
        { "dma.write:corrupt(offset=4096,value=1)", "column 19: found "
          "'offset=4096', expected a value that fits 12 bits" },
        { "dma.write:corrupt(offset=1,value=0x100)", "column 28: found "
          "'value=0x100', expected a value that fits 8 bits" },
        { "dma.read:corrupt(offset,value=1)", "column 24: found ',', "
          "expected '=' and a value (offset needs one)" },
        { "dma.read:corrupt(tag=1)", "column 18: found 'tag', expected a "
          "field of dma.read (offset, value)" },
        { "cfg.read:corrupt(value)", "column 23: found ')', expected '=' "
          "and a value (value needs one)" },
        { "cfg.read:corrupt(value=0x100000000)", "column 18: found "
          "'value=0x100000000', expected a value that fits 32 bits" },
        { "mmio.read:corrupt(value=1,value=2)", "column 27: found 'value', "
          "expected a field not given before" },
        { "mmio.read:corrupt", "column 18: found 'end of input', expected "
          "'(' (corrupt needs fields)" },
        { "msi:delay", "column 10: found 'end of input', expected '(' "
          "(delay needs a duration)" },
        { "msi:delay(0us)", "column 11: found '0us', expected a duration > 0 "
          "and <= 60s" },
        { "msi:storm(count=0)", "column 17: found '0', expected a count "
          "1..100000" },
        { "msi:storm(rate=1)", "column 11: found 'rate', expected count=N "
          "or interval=T" },
        { "dma.read:flip(bits=65)", "column 20: found '65', expected a bit "
          "count 1..64" },
        { "msi:drop:sometimes", "column 10: found 'sometimes', expected a "
          "trigger (always, once, nth=N, every=N, prob=P, after=N, max=N, "
          "seed=N)" },
        { "msi:drop:once,nth=2", "column 15: found 'nth', expected at most "
          "one of always, once, nth, every, prob" },
        { "msi:drop;link:allones;oops", "column 23: found 'oops', expected "
          "a point (dma.read, dma.write, msi, mmio.read, cfg.read, link)" },
    };
    size_t i;

    /* refusals leave a non-empty engine as it was */
    ck_assert_int_eq(gfault_set(&eng, "msi:drop:once;link:allones", err,
                                sizeof(err)), 2);
    for (i = 0; i < ARRAY_LEN(t); i++) {
        refused(t[i].text, t[i].err);
    }
    ck_assert_uint_eq(eng.nrules, 2);
    ck_assert_int_eq(gfault_add(&eng, "msi:drop;bogus", err, sizeof(err)),
                     -1);
    ck_assert_uint_eq(eng.nrules, 2);
    gfault_format(&eng, buf, sizeof(buf));
    ck_assert_str_eq(buf, "msi:drop:once;link:allones");
}
END_TEST

/* ---- Matching events ----------------------------------------------------- */

static GFaultEvent ev1(unsigned key, uint64_t v, uint64_t len)
{
    GFaultEvent ev = { 0 };

    ev.known = 1u << key;
    ev.key[key] = v;
    ev.len[key] = len;
    return ev;
}

START_TEST(test_match_ranges)
{
    GFaultEvent ev;

    ck_assert_int_eq(gfault_set(&eng, "dma.read[addr=0x1000-0x1fff]:"
                                "dma_error;dma.read:flip", err,
                                sizeof(err)), 2);
    /* [0x800, 0xfff] ends just below the filter */
    ev = ev1(GPK_ADDR, 0x800, 0x800);
    ck_assert_uint_eq(gfault_eval(&eng, GPF_DMA_READ, &ev), 0x2);
    /* one more byte reaches it */
    ev = ev1(GPK_ADDR, 0x800, 0x801);
    ck_assert_uint_eq(gfault_eval(&eng, GPF_DMA_READ, &ev), 0x3);
    /* inside, len 0 counts as 1 */
    ev = ev1(GPK_ADDR, 0x1fff, 0);
    ck_assert_uint_eq(gfault_eval(&eng, GPF_DMA_READ, &ev), 0x3);
    ev = ev1(GPK_ADDR, 0x2000, 0x1000);
    ck_assert_uint_eq(gfault_eval(&eng, GPF_DMA_READ, &ev), 0x2);
    /* an event that does not know the address: only the unfiltered rule */
    ck_assert_uint_eq(gfault_eval(&eng, GPF_DMA_READ, NULL), 0x2);
    ev = ev1(GPK_VECTOR, 0x1000, 1);
    ck_assert_uint_eq(gfault_eval(&eng, GPF_DMA_READ, &ev), 0x2);
    /* another point: nothing */
    ev = ev1(GPK_ADDR, 0x1000, 1);
    ck_assert_uint_eq(gfault_eval(&eng, GPF_DMA_WRITE, &ev), 0);
    ck_assert_uint_eq(eng.rules[0].hits, 2);
    ck_assert_uint_eq(eng.rules[1].hits, 6);

    /* an event running past the top of the address space */
    ck_assert_int_eq(gfault_set(&eng, "dma.write[addr=0xffffffffffffff00-"
                                "0xffffffffffffffff]:drop", err,
                                sizeof(err)), 1);
    ev = ev1(GPK_ADDR, UINT64_MAX - 1, 16);
    ck_assert_uint_eq(gfault_eval(&eng, GPF_DMA_WRITE, &ev), 1);
    ev = ev1(GPK_ADDR, 0xfffffffffffffe00ull, 0x100);
    ck_assert_uint_eq(gfault_eval(&eng, GPF_DMA_WRITE, &ev), 0);
}
END_TEST

START_TEST(test_match_keys)
{
    GFaultEvent ev = { 0 };

    ck_assert_int_eq(gfault_set(&eng, "mmio.read[bar=2,off=0x10-0x13]:"
                                "allones;msi[vector=3]:drop", err,
                                sizeof(err)), 2);
    ev.known = (1u << GPK_BAR) | (1u << GPK_OFF);
    ev.key[GPK_BAR] = 2;
    ev.key[GPK_OFF] = 0x14;
    ev.len[GPK_OFF] = 4;
    ck_assert_uint_eq(gfault_eval(&eng, GPF_MMIO_READ, &ev), 0);
    ev.key[GPK_OFF] = 0x12;         /* [0x12, 0x15] overlaps */
    ck_assert_uint_eq(gfault_eval(&eng, GPF_MMIO_READ, &ev), 1);
    ev.key[GPK_BAR] = 0;            /* both keys must match */
    ck_assert_uint_eq(gfault_eval(&eng, GPF_MMIO_READ, &ev), 0);
    ev.known = 1u << GPK_OFF;       /* bar not known: no match */
    ck_assert_uint_eq(gfault_eval(&eng, GPF_MMIO_READ, &ev), 0);

    ev = ev1(GPK_VECTOR, 3, 0);
    ck_assert_uint_eq(gfault_eval(&eng, GPF_MSI, &ev), 2);
    ev = ev1(GPK_VECTOR, 4, 0);
    ck_assert_uint_eq(gfault_eval(&eng, GPF_MSI, &ev), 0);
    ev = ev1(GPK_VECTOR, 2, 0);
    ck_assert_uint_eq(gfault_eval(&eng, GPF_MSI, &ev), 0);
    ck_assert_uint_eq(eng.rules[0].hits, 1);
    ck_assert_uint_eq(eng.rules[1].hits, 1);
}
END_TEST

/* ---- Triggers: after=N counts the rule's own events ---------------------- */

START_TEST(test_after_counts_events)
{
    GFaultEvent hit = ev1(GPK_VECTOR, 1, 0), miss = ev1(GPK_VECTOR, 2, 0);
    int i;

    ck_assert_int_eq(gfault_set(&eng, "msi[vector=1]:drop:after=3,once",
                                err, sizeof(err)), 1);
    /* units (Kestrel's commands) mean nothing to the port */
    for (i = 0; i < 10; i++) {
        gfault_count_unit(&eng);
    }
    /* non-matching events and other points are not counted */
    for (i = 0; i < 5; i++) {
        ck_assert_uint_eq(gfault_eval(&eng, GPF_MSI, &miss), 0);
        ck_assert_uint_eq(gfault_eval(&eng, GPF_DMA_READ, NULL), 0);
    }
    ck_assert_uint_eq(eng.rules[0].passed, 0);
    /* the first 3 matching events pass, the 4th fires (once), then none */
    for (i = 0; i < 3; i++) {
        ck_assert_uint_eq(gfault_eval(&eng, GPF_MSI, &hit), 0);
    }
    ck_assert_uint_eq(eng.rules[0].passed, 3);
    ck_assert_uint_eq(eng.rules[0].hits, 0);
    ck_assert_uint_eq(gfault_eval(&eng, GPF_MSI, &hit), 1);
    ck_assert_uint_eq(gfault_eval(&eng, GPF_MSI, &hit), 0);
    ck_assert_uint_eq(eng.rules[0].hits, 2);
    ck_assert_uint_eq(eng.rules[0].fired, 1);
    ck_assert_uint_eq(eng.rules[0].passed, 3);

    /* replacing the rule set starts the count again */
    ck_assert_int_eq(gfault_set(&eng, "msi:drop:after=1", err, sizeof(err)),
                     1);
    ck_assert_uint_eq(gfault_eval(&eng, GPF_MSI, NULL), 0);
    ck_assert_uint_eq(gfault_eval(&eng, GPF_MSI, NULL), 1);
}
END_TEST

START_TEST(test_triggers)
{
    char out[16];
    int i;

    ck_assert_int_eq(gfault_set(&eng, "msi:drop:every=3,max=2;"
                                "link:allones:nth=2;"
                                "cfg.read:allones:prob=0.5,seed=7", err,
                                sizeof(err)), 3);
    for (i = 0; i < 12; i++) {
        out[i] = (gfault_eval(&eng, GPF_MSI, NULL) & 1) ? '1' : '0';
    }
    out[i] = '\0';
    ck_assert_str_eq(out, "001001000000");
    ck_assert_uint_eq(gfault_eval(&eng, GPF_LINK, NULL), 0);
    ck_assert_uint_eq(gfault_eval(&eng, GPF_LINK, NULL), 2);
    ck_assert_uint_eq(gfault_eval(&eng, GPF_LINK, NULL), 0);
    for (i = 0; i < 1000; i++) {
        gfault_eval(&eng, GPF_CFG_READ, NULL);
    }
    ck_assert_uint_gt(eng.rules[2].fired, 400);
    ck_assert_uint_lt(eng.rules[2].fired, 600);
    /* the same seed (and place in the set) gives the same run */
    ck_assert_int_eq(gfault_set(&eng2, "msi:drop;msi:drop;"
                                "cfg.read:allones:prob=0.5,seed=7",
                                err, sizeof(err)), 3);
    for (i = 0; i < 1000; i++) {
        gfault_eval(&eng2, GPF_CFG_READ, NULL);
    }
    ck_assert_uint_eq(eng2.rules[2].fired, eng.rules[2].fired);
}
END_TEST

/* ---- Loaded state -------------------------------------------------------- */

static void set_filter(GFaultRule *r, GPortFaultKey key, uint64_t lo,
                       uint64_t hi)
{
    r->filter_mask |= 1u << key;
    r->filter_lo[key] = lo;
    r->filter_hi[key] = hi;
}

START_TEST(test_post_load)
{
    static GFaultEngine saved;

    ck_assert_int_eq(gfault_set(&eng, "msi[vector=1]:drop:after=5;"
                                "mmio.read[bar=1,off=0-0xff]:corrupt(value);"
                                "dma.write[addr=0x1000-0x1fff]:corrupt("
                                "offset=3,value=0x7)", err, sizeof(err)), 3);
    gfault_eval(&eng, GPF_MSI, NULL);
    {
        GFaultEvent ev = ev1(GPK_VECTOR, 1, 0);

        gfault_eval(&eng, GPF_MSI, &ev);
        gfault_eval(&eng, GPF_MSI, &ev);
    }
    ck_assert_uint_eq(eng.rules[0].passed, 2);
    memcpy(&saved, &eng, sizeof(saved));
    eng.watch_mask = 0;
    ck_assert_int_eq(gfault_post_load(&eng), 0);
    ck_assert(memcmp(&eng, &saved, sizeof(eng)) == 0);

#define BAD(stmt) do {                                          \
        memcpy(&eng, &saved, sizeof(eng));                      \
        stmt;                                                   \
        ck_assert_msg(gfault_post_load(&eng) == -1, #stmt);     \
    } while (0)
    BAD(eng.vocab = NULL);
    BAD(eng.rules[0].point = GPF__MAX);
    BAD(eng.rules[0].action = GPA_STORM + 10);
    BAD(eng.rules[0].action = GPA_ALLONES);             /* not at msi */
    BAD(eng.rules[0].passed = 6);                       /* > after */
    BAD(set_filter(&eng.rules[0], GPK_BAR, 1, 1));      /* not at msi */
    BAD(set_filter(&eng.rules[0], GPK_VECTOR, 2048, 2048));
    BAD(set_filter(&eng.rules[1], GPK_BAR, 6, 6));
    BAD(set_filter(&eng.rules[1], GPK_BAR, 1, 2));      /* bar: no range */
    BAD(set_filter(&eng.rules[1], GPK_OFF, 0x10, 0x1)); /* lo > hi */
    BAD(eng.rules[1].filter_mask = 0);                  /* stale lo/hi */
    BAD(eng.rules[2].corrupt[0].value = 4096);          /* offset 12 bits */
    BAD(eng.rules[2].ncorrupt = 1);                     /* value missing */
    BAD(eng.rules[2].corrupt[1].field = GPFF_MMIO_VALUE);
    BAD(eng.rules[1].corrupt[0].field = GPFF_CFG_VALUE);
#undef BAD
}
END_TEST

Suite *gport_suite(void)
{
    Suite *s = suite_create("gport");
    TCase *tc = tcase_create("grammar");

    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_names);
    tcase_add_test(tc, test_vocab_tables);
    tcase_add_test(tc, test_point_action_matrix);
    tcase_add_test(tc, test_args);
    tcase_add_test(tc, test_filters);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_match_ranges);
    tcase_add_test(tc, test_match_keys);
    tcase_add_test(tc, test_after_counts_events);
    tcase_add_test(tc, test_triggers);
    tcase_add_test(tc, test_post_load);
    suite_add_tcase(s, tc);
    return s;
}
