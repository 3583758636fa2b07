/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the Kestrel fault engine: rule grammar, canonical text,
 * triggers and counters.
 */
#include <check.h>

#include "kestrel_env.h"
#include "kestrel_fault.h"
#include "kestrel_hw.h"

Suite *fault_suite(void);

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Engines are big: keep them out of the stack. */
static KestrelFaultEngine eng;
static KestrelFaultEngine eng2;
static char err[KESTREL_FAULT_ERR_MAX];
static char buf[KESTREL_FAULT_TEXT_MAX];

static void setup(void)
{
    kestrel_fault_init(&eng, 0x1234);
    kestrel_fault_init(&eng2, 0x1234);
    memset(err, 0, sizeof(err));
}

/* Parse one rule into eng and return it. */
static const KestrelFaultRule *parse1(const char *text)
{
    int n = kestrel_fault_set(&eng, text, err, sizeof(err));

    ck_assert_msg(n == 1, "'%s' gave %d: %s", text, n, err);
    ck_assert_uint_eq(eng.nrules, 1);
    return &eng.rules[0];
}

static const char *canon(const char *text)
{
    parse1(text);
    kestrel_fault_format(&eng, buf, sizeof(buf));
    return buf;
}

/* ---- Names and init ----------------------------------------------------- */

START_TEST(test_names)
{
    static const char *const points[KFP__MAX] = {
        "ctrl.enable", "reg.read", "sq.fetch", "sgl.fetch", "dma.read",
        "dma.write", "cq.post", "irq", "reset", "power",
    };
    static const char *const actions[KFA__MAX] = {
        "drop", "delay", "stall", "corrupt", "flip", "duplicate",
        "spurious", "storm", "fatal", "allones", "dma_error", "lie",
        "powercut",
    };
    int i;

    for (i = 0; i < KFP__MAX; i++) {
        ck_assert_str_eq(kestrel_fault_point_name((KestrelFaultPoint)i),
                         points[i]);
    }
    for (i = 0; i < KFA__MAX; i++) {
        ck_assert_str_eq(kestrel_fault_action_name((KestrelFaultAction)i),
                         actions[i]);
    }
    ck_assert_str_eq(kestrel_fault_point_name(KFP__MAX), "?");
    ck_assert_str_eq(kestrel_fault_point_name((KestrelFaultPoint)-1), "?");
    ck_assert_str_eq(kestrel_fault_action_name(KFA__MAX), "?");
}
END_TEST

START_TEST(test_init)
{
    int i;

    memset(&eng, 0xa5, sizeof(eng));
    kestrel_fault_init(&eng, 99);
    ck_assert_uint_eq(eng.nrules, 0);
    ck_assert_uint_eq(eng.next_id, 1);
    ck_assert_uint_eq(eng.seed, 99);
    ck_assert_uint_eq(eng.units, 0);
    for (i = 0; i < KFP__MAX; i++) {
        ck_assert(!kestrel_fault_watches(&eng, (KestrelFaultPoint)i));
        ck_assert_uint_eq(kestrel_fault_eval(&eng, (KestrelFaultPoint)i,
                                             -1, -1), 0);
    }
    ck_assert_uint_eq(kestrel_fault_format(&eng, buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "");
}
END_TEST

/* ---- Good rules ---------------------------------------------------------- */

START_TEST(test_every_point)
{
    static const struct {
        const char *text;
        KestrelFaultPoint point;
        const char *canon;
    } t[] = {
        { "ctrl.enable:drop", KFP_CTRL_ENABLE, "ctrl.enable:drop" },
        { "reg.read:drop", KFP_REG_READ, "reg.read:drop" },
        { "sq.fetch:drop", KFP_SQ_FETCH, "sq.fetch:drop" },
        { "sgl.fetch:drop", KFP_SGL_FETCH, "sgl.fetch:drop" },
        { "dma.read:drop", KFP_DMA_READ, "dma.read:drop" },
        { "dma.write:drop", KFP_DMA_WRITE, "dma.write:drop" },
        { "cq.post:drop", KFP_CQ_POST, "cq.post:drop" },
        { "irq:drop", KFP_IRQ, "irq:drop" },
        { "reset:drop", KFP_RESET, "reset:drop" },
        { "power:drop", KFP_POWER, "power:drop" },
        { "CQ.Post:DROP:ONCE", KFP_CQ_POST, "cq.post:drop:once" },
    };
    size_t i;

    for (i = 0; i < ARRAY_LEN(t); i++) {
        const KestrelFaultRule *r = parse1(t[i].text);

        ck_assert_int_eq(r->point, t[i].point);
        ck_assert_int_eq(r->action, KFA_DROP);
        ck_assert_int_eq(kestrel_fault_rule_reg(r), -1);
        ck_assert_int_eq(kestrel_fault_rule_op(r), -1);
        ck_assert_str_eq(r->text, t[i].canon);
        ck_assert(kestrel_fault_watches(&eng, t[i].point));
    }
}
END_TEST

/* Every action on every point where it is allowed, and nowhere else. */
START_TEST(test_action_point_matrix)
{
    static const char *const args[KFA__MAX] = {
        [KFA_DELAY] = "(1us)",
        [KFA_CORRUPT] = "",     /* filled per point */
    };
    static const char *const corrupt_arg[KFP__MAX] = {
        [KFP_REG_READ] = "(value)",
        [KFP_SQ_FETCH] = "(tag)",
        [KFP_SGL_FETCH] = "(addr)",
        [KFP_DMA_READ] = "(offset=0,value=0)",
        [KFP_DMA_WRITE] = "(offset=0,value=0)",
        [KFP_CQ_POST] = "(tag)",
    };
    /* allowed[p], written out from the datasheet */
#define A(x) (1u << KFA_##x)
    static const uint32_t allowed[KFP__MAX] = {
        [KFP_CTRL_ENABLE] = A(DROP) | A(DELAY) | A(STALL) | A(SPURIOUS) |
                            A(STORM) | A(FATAL) | A(ALLONES),
        [KFP_REG_READ] = A(DROP) | A(CORRUPT) | A(FLIP) | A(SPURIOUS) |
                         A(STORM) | A(FATAL) | A(ALLONES),
        [KFP_SQ_FETCH] = A(DROP) | A(DELAY) | A(STALL) | A(CORRUPT) |
                         A(FLIP) | A(SPURIOUS) | A(STORM) | A(FATAL) |
                         A(ALLONES) | A(DMA_ERROR),
        [KFP_SGL_FETCH] = A(DROP) | A(DELAY) | A(STALL) | A(CORRUPT) |
                          A(FLIP) | A(SPURIOUS) | A(STORM) | A(FATAL) |
                          A(ALLONES) | A(DMA_ERROR),
        [KFP_DMA_READ] = A(DROP) | A(DELAY) | A(STALL) | A(CORRUPT) |
                         A(FLIP) | A(SPURIOUS) | A(STORM) | A(FATAL) |
                         A(ALLONES) | A(DMA_ERROR),
        [KFP_DMA_WRITE] = A(DROP) | A(DELAY) | A(STALL) | A(CORRUPT) |
                          A(FLIP) | A(SPURIOUS) | A(STORM) | A(FATAL) |
                          A(ALLONES) | A(DMA_ERROR),
        [KFP_CQ_POST] = (1u << KFA__MAX) - 1,
        [KFP_IRQ] = A(DROP) | A(DELAY) | A(STALL) | A(SPURIOUS) |
                    A(STORM) | A(FATAL) | A(ALLONES),
        [KFP_RESET] = A(DROP) | A(DELAY) | A(STALL) | A(SPURIOUS) |
                      A(STORM) | A(FATAL) | A(ALLONES),
        [KFP_POWER] = A(DROP) | A(DELAY) | A(STALL) | A(SPURIOUS) |
                      A(STORM) | A(FATAL) | A(ALLONES),
    };
#undef A
    uint32_t every_point = 1u << KFA_POWERCUT;
    char text[128];
    int p, a, n;

    for (p = 0; p < KFP__MAX; p++) {
        for (a = 0; a < KFA__MAX; a++) {
            const char *arg = args[a] ? args[a] : "";
            /* lie: only with [op=flush], not in this unfiltered text */
            bool ok = ((allowed[p] | every_point) >> a) & 1 && a != KFA_LIE;

            if (a == KFA_CORRUPT) {
                arg = corrupt_arg[p] ? corrupt_arg[p] : "(tag)";
            }
            snprintf(text, sizeof(text), "%s:%s%s",
                     kestrel_fault_point_name((KestrelFaultPoint)p),
                     kestrel_fault_action_name((KestrelFaultAction)a), arg);
            n = kestrel_fault_set(&eng, text, err, sizeof(err));
            if (ok) {
                ck_assert_msg(n == 1, "%s: %s", text, err);
                ck_assert_int_eq(eng.rules[0].action, a);
                ck_assert_int_eq(eng.rules[0].point, p);
            } else {
                ck_assert_msg(n == -1, "%s accepted", text);
                ck_assert_ptr_nonnull(strstr(err, "an action valid for"));
                ck_assert_ptr_nonnull(strstr(err,
                    kestrel_fault_point_name((KestrelFaultPoint)p)));
            }
        }
    }
    /* duplicate is cq.post's alone */
    ck_assert_uint_eq(kestrel_fault_set(&eng, "cq.post:duplicate", err,
                                        sizeof(err)), 1);
}
END_TEST

START_TEST(test_action_args)
{
    const KestrelFaultRule *r;

    r = parse1("cq.post:delay(1500us)");
    ck_assert_int_eq(r->action, KFA_DELAY);
    ck_assert_uint_eq(r->delay_ns, 1500000);
    ck_assert_str_eq(r->text, "cq.post:delay(1500us)");

    r = parse1("irq:delay(1ns)");
    ck_assert_uint_eq(r->delay_ns, 1);
    r = parse1("irq:delay(60s)");
    ck_assert_uint_eq(r->delay_ns, KESTREL_FAULT_MAX_DELAY_NS);
    ck_assert_str_eq(r->text, "irq:delay(60s)");
    r = parse1("irq:delay(60000ms)");
    ck_assert_str_eq(r->text, "irq:delay(60s)");
    r = parse1("irq:delay(0x10ms)");
    ck_assert_uint_eq(r->delay_ns, 16000000);
    r = parse1("irq:delay( 7 us )");
    ck_assert_uint_eq(r->delay_ns, 7000);
    r = parse1("irq:delay(3000000000ns)");
    ck_assert_str_eq(r->text, "irq:delay(3s)");
    r = parse1("irq:delay(1001us)");
    ck_assert_str_eq(r->text, "irq:delay(1001us)");
    r = parse1("irq:delay(2000US)");
    ck_assert_str_eq(r->text, "irq:delay(2ms)");

    r = parse1("sq.fetch:stall");
    ck_assert_int_eq(r->action, KFA_STALL);

    r = parse1("cq.post:flip");
    ck_assert_int_eq(r->action, KFA_FLIP);
    ck_assert_uint_eq(r->flip_bits, 1);
    r = parse1("cq.post:flip(bits=64)");
    ck_assert_uint_eq(r->flip_bits, 64);
    ck_assert_str_eq(r->text, "cq.post:flip(bits=64)");
    r = parse1("cq.post:flip(bits=1)");
    ck_assert_str_eq(r->text, "cq.post:flip");

    r = parse1("irq:storm");
    ck_assert_int_eq(r->action, KFA_STORM);
    ck_assert_uint_eq(r->storm_count, 1000);
    ck_assert_uint_eq(r->storm_interval_ns, 10000);
    ck_assert_str_eq(r->text, "irq:storm");
    r = parse1("irq:storm(count=5)");
    ck_assert_uint_eq(r->storm_count, 5);
    ck_assert_uint_eq(r->storm_interval_ns, 10000);
    r = parse1("irq:storm(interval=2ms,count=100000)");
    ck_assert_uint_eq(r->storm_count, KESTREL_FAULT_MAX_STORM);
    ck_assert_uint_eq(r->storm_interval_ns, 2000000);
    ck_assert_str_eq(r->text, "irq:storm(count=100000,interval=2ms)");
    r = parse1("irq:storm(interval=1ms)");
    ck_assert_uint_eq(r->storm_count, 1000);
    ck_assert_str_eq(r->text, "irq:storm(interval=1ms)");

    r = parse1("cq.post:duplicate");
    ck_assert_int_eq(r->action, KFA_DUPLICATE);
    r = parse1("power:spurious");
    ck_assert_int_eq(r->action, KFA_SPURIOUS);
    r = parse1("reset:fatal");
    ck_assert_int_eq(r->action, KFA_FATAL);
    r = parse1("reg.read:allones");
    ck_assert_int_eq(r->action, KFA_ALLONES);
    r = parse1("dma.write:dma_error");
    ck_assert_int_eq(r->action, KFA_DMA_ERROR);
    ck_assert_uint_eq(r->ncorrupt, 0);
}
END_TEST

typedef struct CorruptCase {
    const char *text;
    const char *canon;
    uint32_t n;
    KestrelFaultCorrupt c[KESTREL_FAULT_MAX_CORRUPT];
} CorruptCase;

static const CorruptCase corrupt_cases[] = {
    { "cq.post:corrupt(tag=0xffff)", "cq.post:corrupt(tag=0xffff)", 1,
      { { KFF_CQ_TAG, false, 0xffff } } },
    { "cq.post:corrupt(phase)", "cq.post:corrupt(phase)", 1,
      { { KFF_CQ_PHASE, true, 0 } } },
    { "cq.post:corrupt(result=7,status=0x7fff,sqhead=65535,phase=1)",
      "cq.post:corrupt(phase=1,status=0x7fff,sqhead=0xffff,result=7)", 4,
      { { KFF_CQ_PHASE, false, 1 }, { KFF_CQ_STATUS, false, 0x7fff },
        { KFF_CQ_SQHEAD, false, 0xffff }, { KFF_CQ_RESULT, false, 7 } } },
    { "cq.post:corrupt(result=0xffffffff)",
      "cq.post:corrupt(result=4294967295)",
      1, { { KFF_CQ_RESULT, false, 0xffffffffu } } },
    { "cq.post:corrupt(addr=4096,tag=1)",
      "cq.post:corrupt(tag=0x1,addr=0x1000)", 2,
      { { KFF_CQ_TAG, false, 1 }, { KFF_CQ_ADDR, false, 0x1000 } } },
    { "sq.fetch:corrupt(opcode=0xff,flags,tag=1,nsegs=0)",
      "sq.fetch:corrupt(opcode=0xff,flags,tag=0x1,nsegs=0)", 4,
      { { KFF_SQ_OPCODE, false, 0xff }, { KFF_SQ_FLAGS, true, 0 },
        { KFF_SQ_TAG, false, 1 }, { KFF_SQ_NSEGS, false, 0 } } },
    { "sq.fetch:corrupt(sgl_len=16,sgl_addr=0xffffffffffffffff,"
      "nblocks=0x10,lba=18446744073709551615)",
      "sq.fetch:corrupt(lba=0xffffffffffffffff,nblocks=16,"
      "sgl_addr=0xffffffffffffffff,sgl_len=16)", 4,
      { { KFF_SQ_LBA, false, UINT64_MAX }, { KFF_SQ_NBLOCKS, false, 16 },
        { KFF_SQ_SGL_ADDR, false, UINT64_MAX },
        { KFF_SQ_SGL_LEN, false, 16 } } },
    { "sq.fetch:corrupt(flags=0xff)", "sq.fetch:corrupt(flags=0xff)", 1,
      { { KFF_SQ_FLAGS, false, 0xff } } },
    { "sgl.fetch:corrupt(index=3,len=0)", "sgl.fetch:corrupt(len=0,index=3)", 2,
      { { KFF_SG_LEN, false, 0 }, { KFF_SG_INDEX, false, 3 } } },
    { "sgl.fetch:corrupt(addr,flags=0xffff)",
      "sgl.fetch:corrupt(addr,flags=0xffff)", 2,
      { { KFF_SG_ADDR, true, 0 }, { KFF_SG_FLAGS, false, 0xffff } } },
    { "reg.read:corrupt(value=0xdeadbeef)",
      "reg.read:corrupt(value=0xdeadbeef)",
      1, { { KFF_REG_VALUE, false, 0xdeadbeef } } },
    { "reg.read:corrupt(VALUE)", "reg.read:corrupt(value)", 1,
      { { KFF_REG_VALUE, true, 0 } } },
    { "dma.read:corrupt(value=0xff,offset=4096)",
      "dma.read:corrupt(offset=4096,value=0xff)", 2,
      { { KFF_DMA_OFFSET, false, 4096 }, { KFF_DMA_VALUE, false, 0xff } } },
    { "dma.write:corrupt( offset = 0 , value = 0 )",
      "dma.write:corrupt(offset=0,value=0x0)", 2,
      { { KFF_DMA_OFFSET, false, 0 }, { KFF_DMA_VALUE, false, 0 } } },
};

START_TEST(test_corrupt_fields)
{
    const CorruptCase *t = &corrupt_cases[_i];
    const KestrelFaultRule *r = parse1(t->text);
    uint32_t j;

    ck_assert_int_eq(r->action, KFA_CORRUPT);
    ck_assert_uint_eq(r->ncorrupt, t->n);
    for (j = 0; j < t->n; j++) {
        ck_assert_int_eq(r->corrupt[j].field, t->c[j].field);
        ck_assert_int_eq(r->corrupt[j].invert, t->c[j].invert);
        ck_assert_uint_eq(r->corrupt[j].value, t->c[j].value);
    }
    ck_assert_str_eq(r->text, t->canon);
}
END_TEST

typedef struct TriggerCase {
    const char *text;
    KestrelFaultTriggerKind kind;
    uint64_t n;
    uint32_t prob;
    uint64_t after, max;
    bool seed_set;
    uint64_t seed;
    const char *canon;
} TriggerCase;

static const TriggerCase trigger_cases[] = {
    { "irq:drop", KFT_ALWAYS, 0, 0, 0, 0, false, 0, "irq:drop" },
    { "irq:drop:always", KFT_ALWAYS, 0, 0, 0, 0, false, 0, "irq:drop" },
    { "irq:drop:once", KFT_NTH, 1, 0, 0, 0, false, 0, "irq:drop:once" },
    { "irq:drop:nth=1", KFT_NTH, 1, 0, 0, 0, false, 0, "irq:drop:once" },
    { "irq:drop:nth=0x10", KFT_NTH, 16, 0, 0, 0, false, 0, "irq:drop:nth=16" },
    { "irq:drop:nth=18446744073709551615", KFT_NTH, UINT64_MAX, 0, 0, 0,
      false, 0, "irq:drop:nth=18446744073709551615" },
    { "irq:drop:every=3", KFT_EVERY, 3, 0, 0, 0, false, 0, "irq:drop:every=3" },
    { "irq:drop:every=1", KFT_EVERY, 1, 0, 0, 0, false, 0, "irq:drop:every=1" },
    { "irq:drop:prob=1", KFT_PROB, 0, 0xffffffffu, 0, 0, false, 0,
      "irq:drop:prob=1" },
    { "irq:drop:prob=1.0", KFT_PROB, 0, 0xffffffffu, 0, 0, false, 0,
      "irq:drop:prob=1" },
    { "irq:drop:prob=1.000", KFT_PROB, 0, 0xffffffffu, 0, 0, false, 0,
      "irq:drop:prob=1" },
    { "irq:drop:prob=100%", KFT_PROB, 0, 0xffffffffu, 0, 0, false, 0,
      "irq:drop:prob=1" },
    { "irq:drop:prob=0.5", KFT_PROB, 0, 0x80000000u, 0, 0, false, 0,
      "irq:drop:prob=0.5" },
    { "irq:drop:prob=.5", KFT_PROB, 0, 0x80000000u, 0, 0, false, 0,
      "irq:drop:prob=0.5" },
    { "irq:drop:prob=50%", KFT_PROB, 0, 0x80000000u, 0, 0, false, 0,
      "irq:drop:prob=0.5" },
    { "irq:drop:prob=00.50", KFT_PROB, 0, 0x80000000u, 0, 0, false, 0,
      "irq:drop:prob=0.5" },
    { "irq:drop:prob=0.25", KFT_PROB, 0, 0x40000000u, 0, 0, false, 0,
      "irq:drop:prob=0.25" },
    { "irq:drop:prob=25%", KFT_PROB, 0, 0x40000000u, 0, 0, false, 0,
      "irq:drop:prob=0.25" },
    { "irq:drop:prob=12.5%", KFT_PROB, 0, 0x20000000u, 0, 0, false, 0,
      "irq:drop:prob=0.125" },
    { "irq:drop:prob=.5%", KFT_PROB, 0, 21474836u, 0, 0, false, 0,
      "irq:drop:prob=0.005" },
    /* 0.1 * (2^32 - 1) = 429496729.5 -> 429496730 */
    { "irq:drop:prob=0.1", KFT_PROB, 0, 429496730u, 0, 0, false, 0,
      "irq:drop:prob=0.1" },
    /* below one step of 2^-32: the smallest non-zero probability */
    { "irq:drop:prob=0.00000000000000000001", KFT_PROB, 0, 1, 0, 0, false,
      0, "irq:drop:prob=0.000000000232831" },
    { "irq:drop:prob=0.999999999999", KFT_PROB, 0, 0xffffffffu, 0, 0,
      false, 0, "irq:drop:prob=1" },
    { "irq:drop:after=0", KFT_ALWAYS, 0, 0, 0, 0, false, 0, "irq:drop" },
    { "irq:drop:after=10", KFT_ALWAYS, 0, 0, 10, 0, false, 0,
      "irq:drop:after=10" },
    { "irq:drop:max=2", KFT_ALWAYS, 0, 0, 0, 2, false, 0, "irq:drop:max=2" },
    { "irq:drop:seed=0", KFT_ALWAYS, 0, 0, 0, 0, true, 0, "irq:drop:seed=0x0" },
    { "irq:drop:seed=0xFFFFFFFFFFFFFFFF,prob=0.5", KFT_PROB, 0, 0x80000000u,
      0, 0, true, UINT64_MAX,
      "irq:drop:prob=0.5,seed=0xffffffffffffffff" },
    { "irq:drop:seed=42,max=3,after=7,every=2", KFT_EVERY, 2, 0, 7, 3, true,
      42, "irq:drop:every=2,after=7,max=3,seed=0x2a" },
    { " irq : drop : MAX = 3 , Once ", KFT_NTH, 1, 0, 0, 3, false, 0,
      "irq:drop:once,max=3" },
};

START_TEST(test_triggers)
{
    const TriggerCase *t = &trigger_cases[_i];
    const KestrelFaultRule *r = parse1(t->text);

    ck_assert_int_eq(r->trigger, t->kind);
    ck_assert_uint_eq(r->trigger_n, t->n);
    ck_assert_uint_eq(r->prob, t->prob);
    ck_assert_uint_eq(r->after, t->after);
    ck_assert_uint_eq(r->max, t->max);
    ck_assert_int_eq(r->seed_set, t->seed_set);
    ck_assert_uint_eq(r->seed, t->seed);
    ck_assert_str_eq(r->text, t->canon);
}
END_TEST

START_TEST(test_filters)
{
    static const struct {
        const char *text;
        int32_t reg, op;
        const char *canon;
    } t[] = {
        { "reg.read[reg=STATUS]:drop", KESTREL_REG_STATUS, -1,
          "reg.read[reg=0x44]:drop" },
        { "reg.read[reg=status]:drop", 0x44, -1, "reg.read[reg=0x44]:drop" },
        { "reg.read[reg=Cap_QDepth]:drop", KESTREL_REG_CAP_QDEPTH, -1,
          "reg.read[reg=0x8]:drop" },
        { "reg.read[reg=INTR_STATUS]:drop", KESTREL_REG_INTR_STATUS, -1,
          "reg.read[reg=0x4c]:drop" },
        { "reg.read[reg=VERSION]:drop", 0, -1, "reg.read[reg=0x0]:drop" },
        { "reg.read[reg=ERR_LOG]:drop", KESTREL_REG_ERR_LOG, -1,
          "reg.read[reg=0x100]:drop" },
        { "reg.read[reg=CQ_TAIL]:drop", KESTREL_REG_CQ_TAIL, -1,
          "reg.read[reg=0xac]:drop" },
        { "reg.read[reg=0x44]:drop", 0x44, -1, "reg.read[reg=0x44]:drop" },
        { "reg.read[reg=68]:drop", 0x44, -1, "reg.read[reg=0x44]:drop" },
        { "reg.read[reg=0x3ffc]:drop", 0x3ffc, -1,
          "reg.read[reg=0x3ffc]:drop" },
        { "reg.read [ reg = 0x104 ] : drop", 0x104, -1,
          "reg.read[reg=0x104]:drop" },
        { "sq.fetch[op=identify]:drop", -1, KESTREL_OP_IDENTIFY,
          "sq.fetch[op=identify]:drop" },
        { "sgl.fetch[op=READ]:drop", -1, KESTREL_OP_READ,
          "sgl.fetch[op=read]:drop" },
        { "dma.read[op=write]:drop", -1, KESTREL_OP_WRITE,
          "dma.read[op=write]:drop" },
        { "dma.write[op=flush]:drop", -1, KESTREL_OP_FLUSH,
          "dma.write[op=flush]:drop" },
        { "cq.post[op=3]:drop", -1, 3, "cq.post[op=write]:drop" },
        { "cq.post[op=0]:drop", -1, 0, "cq.post[op=0x0]:drop" },
        { "cq.post[op=255]:drop", -1, 255, "cq.post[op=0xff]:drop" },
        { "cq.post[op=0x10]:drop", -1, 16, "cq.post[op=0x10]:drop" },
    };
    size_t i;

    for (i = 0; i < ARRAY_LEN(t); i++) {
        const KestrelFaultRule *r = parse1(t[i].text);

        ck_assert_int_eq(kestrel_fault_rule_reg(r), t[i].reg);
        ck_assert_int_eq(kestrel_fault_rule_op(r), t[i].op);
        ck_assert_str_eq(r->text, t[i].canon);
    }
}
END_TEST

START_TEST(test_blanks_and_sets)
{
    int n;

    /* blanks (space, tab, CR, LF) around every token */
    ck_assert_str_eq(canon("\t cq.post \n [ op = write ] \r : corrupt ( "
                           "tag = 0x10 , phase ) : nth = 3 , max = 1 \n"),
                     "cq.post[op=write]:corrupt(tag=0x10,phase):nth=3,max=1");

    n = kestrel_fault_set(&eng, "", err, sizeof(err));
    ck_assert_int_eq(n, 0);
    ck_assert_uint_eq(eng.nrules, 0);
    n = kestrel_fault_set(&eng, " \t\n ", err, sizeof(err));
    ck_assert_int_eq(n, 0);
    n = kestrel_fault_set(&eng, NULL, err, sizeof(err));
    ck_assert_int_eq(n, 0);

    n = kestrel_fault_set(&eng, "irq:drop;", err, sizeof(err));
    ck_assert_int_eq(n, 1);
    n = kestrel_fault_set(&eng, "irq:drop ; cq.post:duplicate:once ; ",
                          err, sizeof(err));
    ck_assert_int_eq(n, 2);
    ck_assert_uint_eq(eng.nrules, 2);
    ck_assert_int_eq(eng.rules[0].point, KFP_IRQ);
    ck_assert_int_eq(eng.rules[1].point, KFP_CQ_POST);
    ck_assert_int_eq(eng.rules[1].action, KFA_DUPLICATE);
    ck_assert_int_eq(eng.rules[1].trigger, KFT_NTH);
    kestrel_fault_format(&eng, buf, sizeof(buf));
    ck_assert_str_eq(buf, "irq:drop;cq.post:duplicate:once");

    /* err is cleared on success; NULL err and tiny errlen are fine */
    strcpy(err, "junk");
    ck_assert_int_eq(kestrel_fault_set(&eng, "irq:drop", err, sizeof(err)),
                     1);
    ck_assert_str_eq(err, "");
    ck_assert_int_eq(kestrel_fault_set(&eng, "irq:drop", NULL, 0), 1);
    ck_assert_int_eq(kestrel_fault_set(&eng, "irq:dorp", NULL, 0), -1);
    ck_assert_int_eq(kestrel_fault_set(&eng, "irq:dorp", NULL, 100), -1);
}
END_TEST

/* ---- Bad rules ----------------------------------------------------------- */

typedef struct BadCase {
    const char *text;
    int column;
    const char *token;      /* as shown in the message */
    const char *fragment;   /* of what was expected */
} BadCase;

/* Columns computed independently (position of the token in the text). */
static const BadCase bad_cases[] = {
    { "cq.pots:drop", 1, "cq.pots",
      "a point (ctrl.enable, reg.read, sq.fetch" },
    { "CQ.POTS:drop", 1, "CQ.POTS", "a point (" },
    { "cq.post:dorp", 9, "dorp",
      "an action (drop, delay, stall, corrupt, flip, duplicate, spurious, "
      "storm, fatal, allones, dma_error, lie, powercut)" },
    { "cq.post:drop:sometimes", 14, "sometimes",
      "a trigger (always, once, nth=N" },
    { "cq.post", 8, "end of input", "'[' or ':'" },
    { "irq drop", 5, "drop", "':'" },
    { "cq.post:", 9, "end of input", "an action (" },
    { "cq.post::drop", 9, ":", "an action (" },
    { "cq.post:drop:", 14, "end of input", "a trigger (" },
    { "cq.post:delay", 14, "end of input", "'(' (delay needs a duration)" },
    { "cq.post:delay(10us", 19, "end of input", "')'" },
    { "cq.post:delay(10)", 15, "10",
      "a duration (a number and ns, us, ms or s)" },
    { "cq.post:delay(10xs)", 15, "10xs", "a duration (a number and" },
    { "cq.post:delay(1.5ms)", 15, "1.5ms", "a duration (a number and" },
    { "cq.post:delay(1 parsec)", 15, "1", "a duration (a number and" },
    { "cq.post:delay(us)", 15, "us", "a duration (a number and" },
    { "cq.post:delay(0us)", 15, "0us", "a duration > 0 and <= 60s" },
    { "cq.post:delay(60001ms)", 15, "60001ms", "a duration > 0 and <= 60s" },
    { "cq.post:delay(60000000001ns)", 15, "60000000001ns", "<= 60s" },
    { "cq.post:delay(99999999999999999999ns)", 15, "99999999999999999999ns",
      "<= 60s" },
    { "reg.read:delay(1ms)", 10, "delay",
      "an action valid for reg.read (drop, corrupt, flip, spurious, storm, "
      "fatal, allones, powercut)" },
    { "reg.read:stall", 10, "stall", "an action valid for reg.read" },
    { "reg.read:duplicate", 10, "duplicate", "an action valid for reg.read" },
    { "reg.read:dma_error", 10, "dma_error", "an action valid for reg.read" },
    { "sq.fetch:duplicate", 10, "duplicate",
      "an action valid for sq.fetch (drop, delay, stall, corrupt, flip, "
      "spurious, storm, fatal, allones, dma_error, lie, powercut)" },
    /* only a FLUSH can lie */
    { "cq.post[op=flush]:lie", 19, "lie", "an action valid for cq.post (" },
    { "sq.fetch:lie", 10, "lie",
      "an action valid for sq.fetch without [op=flush] (lie needs "
      "sq.fetch[op=flush])" },
    { "sq.fetch[op=write]:lie:once", 20, "lie",
      "an action valid for sq.fetch without [op=flush]" },
    { "sq.fetch[op=flush]:lie(1)", 23, "(", "" },
    { "irq:powercut(now)", 13, "(", "" },
    { "dma.write:duplicate", 11, "duplicate", "an action valid for dma.write" },
    { "irq:corrupt(tag)", 5, "corrupt",
      "an action valid for irq (drop, delay, stall, spurious, storm, fatal, "
      "allones, powercut)" },
    { "irq:flip", 5, "flip", "an action valid for irq" },
    { "irq:dma_error", 5, "dma_error", "an action valid for irq" },
    { "reset:duplicate", 7, "duplicate", "an action valid for reset" },
    { "power:corrupt(value)", 7, "corrupt", "an action valid for power" },
    { "ctrl.enable:dma_error", 13, "dma_error",
      "an action valid for ctrl.enable" },
    { "cq.post:corrupt(opcode)", 17, "opcode",
      "a field of cq.post (tag, phase, status, sqhead, result, addr)" },
    { "sq.fetch:corrupt(phase)", 18, "phase",
      "a field of sq.fetch (opcode, flags, tag, nsegs, lba, nblocks, "
      "sgl_addr, sgl_len)" },
    { "sgl.fetch:corrupt(tag)", 19, "tag",
      "a field of sgl.fetch (addr, len, flags, index)" },
    { "reg.read:corrupt(tag)", 18, "tag", "a field of reg.read (value)" },
    { "dma.read:corrupt(value=1,offset=2,tag)", 35, "tag",
      "a field of dma.read (offset, value)" },
    { "cq.post:corrupt(bogus=1)", 17, "bogus", "a field of cq.post" },
    { "cq.post:corrupt", 16, "end of input", "'(' (corrupt needs fields)" },
    { "cq.post:corrupt()", 17, ")", "a field of cq.post" },
    { "cq.post:corrupt(tag", 20, "end of input", "',' or ')'" },
    { "cq.post:corrupt(tag;phase)", 20, ";", "',' or ')'" },
    { "cq.post:corrupt(tag=)", 21, ")", "a number (decimal or 0x-hex)" },
    { "cq.post:corrupt(tag=0x10000)", 17, "tag=0x10000",
      "a value that fits 16 bits" },
    { "cq.post:corrupt(sqhead=65536)", 17, "sqhead=65536",
      "a value that fits 16 bits" },
    { "cq.post:corrupt(status=0x8000)", 17, "status=0x8000",
      "a value that fits 15 bits" },
    { "cq.post:corrupt(phase=2)", 17, "phase=2", "a value that fits 1 bit" },
    { "cq.post:corrupt(result=0x100000000)", 17, "result=0x100000000",
      "a value that fits 32 bits" },
    { "sq.fetch:corrupt(opcode=256)", 18, "opcode=256",
      "a value that fits 8 bits" },
    { "sq.fetch:corrupt(flags=0x100)", 18, "flags=0x100",
      "a value that fits 8 bits" },
    { "sq.fetch:corrupt(nblocks=0x100000000)", 18, "nblocks=0x100000000",
      "a value that fits 32 bits" },
    { "sq.fetch:corrupt(lba=0x1ffffffffffffffff)", 22, "0x1ffffffffffffffff",
      "a number that fits 64 bits" },
    { "sgl.fetch:corrupt(flags=0x10000)", 19, "flags=0x10000",
      "a value that fits 16 bits" },
    { "reg.read:corrupt(value=0x100000000)", 18, "value=0x100000000",
      "a value that fits 32 bits" },
    { "dma.write:corrupt(offset=1,value=256)", 28, "value=256",
      "a value that fits 8 bits" },
    { "dma.read:corrupt(offset=4)", 26, ")", "both offset=N and value=N" },
    { "dma.read:corrupt(value)", 23, ")", "'=' and a value (value needs one)" },
    { "dma.read:corrupt(offset,value=1)", 24, ",",
      "'=' and a value (offset needs one)" },
    { "sgl.fetch:corrupt(index=1)", 26, ")",
      "a field to corrupt besides index" },
    { "sgl.fetch:corrupt(index)", 24, ")", "(index needs one)" },
    { "cq.post:corrupt(addr)", 21, ")", "(addr needs one)" },
    { "cq.post:corrupt(tag,tag=1)", 21, "tag", "a field not given before" },
    { "dma.read:corrupt(offset=1,value=1,offset=2)", 35, "offset",
      "a field not given before" },
    { "cq.post:corrupt(tag,phase,status,sqhead,result)", 41, "result",
      "')' (at most 4 fields)" },
    { "cq.post:flip(bits=0)", 19, "0", "a bit count 1..64" },
    { "cq.post:flip(bits=65)", 19, "65", "a bit count 1..64" },
    { "cq.post:flip(count=1)", 14, "count", "bits=N" },
    { "cq.post:flip()", 14, ")", "bits=N" },
    { "cq.post:flip(bits=3", 20, "end of input", "')'" },
    { "irq:storm(count=0)", 17, "0", "a count 1..100000" },
    { "irq:storm(count=100001)", 17, "100001", "a count 1..100000" },
    { "irq:storm(interval=0us)", 20, "0us", "a duration > 0" },
    { "irq:storm(interval=5)", 20, "5", "a duration (a number and" },
    { "irq:storm(count=5,count=6)", 19, "count", "interval=T" },
    { "irq:storm(interval=1ms,interval=2ms)", 24, "interval", "count=N" },
    { "irq:storm(rate=5)", 11, "rate", "count=N or interval=T" },
    { "irq:storm()", 11, ")", "count=N or interval=T" },
    { "irq:storm(count=5,interval=1us,x)", 31, ",", "')'" },
    { "irq:storm(count=5 interval=1us)", 19, "interval", "')' or ','" },
    { "cq.post:drop(1)", 13, "(", "':', ';' or end of input" },
    { "cq.post:drop x", 14, "x", "':', ';' or end of input" },
    { "cq.post:drop@", 13, "@", "':', ';' or end of input" },
    { "cq.post:drop:once x", 19, "x", "',', ';' or end of input" },
    { "cq.post:drop:once=3", 18, "=", "',', ';' or end of input" },
    { "cq.post:drop:nth=0", 18, "0", "a count >= 1" },
    { "cq.post:drop:every=0", 20, "0", "a count >= 1" },
    { "cq.post:drop:max=0", 18, "0", "a count >= 1" },
    { "cq.post:drop:nth", 17, "end of input", "'='" },
    { "cq.post:drop:nth=", 18, "end of input", "a number (decimal or 0x-hex)" },
    { "cq.post:drop:nth=abc", 18, "abc", "a number (decimal or 0x-hex)" },
    { "cq.post:drop:nth=-1", 18, "-1", "a number (decimal or 0x-hex)" },
    { "cq.post:drop:nth=12abc", 18, "12abc", "a number (decimal or 0x-hex)" },
    { "cq.post:drop:every=0x", 20, "0x", "a number (decimal or 0x-hex)" },
    { "cq.post:drop:nth=18446744073709551616", 18, "18446744073709551616",
      "a number that fits 64 bits" },
    { "cq.post:drop:seed=0x10000000000000000", 19, "0x10000000000000000",
      "a number that fits 64 bits" },
    { "cq.post:drop:prob=0", 19, "0", "a probability in (0, 1]" },
    { "cq.post:drop:prob=0.0", 19, "0.0", "a probability in (0, 1]" },
    { "cq.post:drop:prob=1.5", 19, "1.5", "a probability in (0, 1]" },
    { "cq.post:drop:prob=1.0001", 19, "1.0001", "a probability in (0, 1]" },
    { "cq.post:drop:prob=2", 19, "2", "a probability in (0, 1]" },
    { "cq.post:drop:prob=101%", 19, "101%", "a probability in (0, 1]" },
    { "cq.post:drop:prob=100.5%", 19, "100.5%", "a probability in (0, 1]" },
    { "cq.post:drop:prob=0%", 19, "0%", "a probability in (0, 1]" },
    { "cq.post:drop:prob=.", 19, ".", "a probability in (0, 1]" },
    { "cq.post:drop:prob=%", 19, "%", "a probability in (0, 1]" },
    { "cq.post:drop:prob=0.5.5", 19, "0.5.5", "a probability in (0, 1]" },
    { "cq.post:drop:prob=0.5%x", 19, "0.5%x", "a probability in (0, 1]" },
    { "cq.post:drop:prob=1e-3", 19, "1e-3", "a probability in (0, 1]" },
    { "cq.post:drop:prob=-0.5", 19, "-0.5", "a probability in (0, 1]" },
    { "cq.post:drop:prob=", 19, "end of input", "a probability in (0, 1]" },
    { "cq.post:drop:nth=2,every=3", 20, "every",
      "at most one of always, once, nth, every, prob" },
    { "cq.post:drop:always,once", 21, "once",
      "at most one of always, once, nth, every, prob" },
    { "cq.post:drop:prob=0.5,max=1,prob=0.5", 29, "prob",
      "at most one of always, once, nth, every, prob" },
    { "cq.post:drop:after=1,after=2", 22, "after", "at most one after=" },
    { "cq.post:drop:max=1,max=2", 20, "max", "at most one max=" },
    { "cq.post:drop:seed=1,seed=2", 21, "seed", "at most one seed=" },
    { "cq.post:drop:once,", 19, "end of input", "a trigger (" },
    { "cq.post:drop:once,,max=1", 19, ",", "a trigger (" },
    { "cq.post:drop;;irq:drop", 14, ";", "a point (" },
    { ";", 1, ";", "a point (" },
    { "  ;cq.post:drop", 3, ";", "a point (" },
    { "cq.post:drop;irq:drop;bogus:drop", 23, "bogus", "a point (" },
    { "cq.post:drop;\nirq:dorp", 19, "dorp", "an action (" },
    { "reg.read[reg=STATU]:drop", 14, "STATU",
      "a register name (e.g. STATUS, CAP_QDEPTH) or a 4-aligned offset "
      "below 0x4000" },
    { "reg.read[reg=0x45]:drop", 14, "0x45",
      "a 4-aligned register offset below 0x4000" },
    { "reg.read[reg=0x4000]:drop", 14, "0x4000",
      "a 4-aligned register offset below 0x4000" },
    { "reg.read[reg=]:drop", 14, "]", "a register name" },
    { "reg.read[reg=0x44:drop", 18, ":", "']'" },
    { "reg.read[op=read]:drop", 10, "op", "reg= (the filter of reg.read)" },
    { "cq.post[reg=STATUS]:drop", 9, "reg", "op= (the filter of cq.post)" },
    { "irq[op=read]:drop", 4, "[", "':' (irq takes no filter)" },
    { "ctrl.enable[op=1]:drop", 12, "[", "':' (ctrl.enable takes no filter)" },
    { "sq.fetch[op=erase]:drop", 13, "erase",
      "an opcode (identify, read, write, flush) or a number 0..255" },
    { "sq.fetch[op=256]:drop", 13, "256", "an opcode 0..255" },
    { "sq.fetch[op=read:drop", 17, ":", "']'" },
    { "sq.fetch[op read]:drop", 13, "read", "'='" },
    { "sq.fetch[op=read]drop", 18, "drop", "'[' or ':'" },
    { "cq.post\x01"":drop", 8, "\\x01", "'[' or ':'" },
    { "cq.p\xc3""\xb6""st:drop", 1, "cq.p\\xc3\\xb6st", "a point (" },
};

/* An engine with rules, counters and state that failures must not touch. */
static void busy_engine(KestrelFaultEngine *e)
{
    int i;

    kestrel_fault_init(e, 7);
    ck_assert_int_eq(kestrel_fault_set(e, "cq.post:drop:every=2;"
                                       "reg.read[reg=STATUS]:flip:prob=0.5",
                                       err, sizeof(err)), 2);
    ck_assert_int_eq(kestrel_fault_add(e, "irq:spurious:nth=3,after=1",
                                       err, sizeof(err)), 1);
    for (i = 0; i < 5; i++) {
        kestrel_fault_count_command(e);
        kestrel_fault_eval(e, KFP_CQ_POST, -1, 2);
        kestrel_fault_eval(e, KFP_REG_READ, KESTREL_REG_STATUS, -1);
        kestrel_fault_eval(e, KFP_IRQ, -1, -1);
    }
    ck_assert_uint_ne(e->rules[0].hits, 0);
    ck_assert_uint_ne(e->rules[2].fired, 0);
}

static void check_error(const BadCase *t, const char *msg)
{
    char prefix[256];

    snprintf(prefix, sizeof(prefix), "column %d: found '%s', expected ",
             t->column, t->token);
    ck_assert_msg(strncmp(msg, prefix, strlen(prefix)) == 0,
                  "'%s': got \"%s\", want prefix \"%s\"", t->text, msg,
                  prefix);
    ck_assert_msg(strstr(msg + strlen(prefix), t->fragment) != NULL,
                  "'%s': got \"%s\", want \"%s\"", t->text, msg,
                  t->fragment);
}

START_TEST(test_bad_rule)
{
    const BadCase *t = &bad_cases[_i];
    static KestrelFaultEngine snap;
    char small[8];
    size_t len, full;

    busy_engine(&eng);
    memcpy(&snap, &eng, sizeof(snap));

    memset(err, 'X', sizeof(err));
    ck_assert_int_eq(kestrel_fault_set(&eng, t->text, err, sizeof(err)), -1);
    ck_assert(memchr(err, '\0', sizeof(err)) != NULL);
    check_error(t, err);
    ck_assert_msg(memcmp(&eng, &snap, sizeof(eng)) == 0,
                  "'%s': set changed the engine", t->text);

    memset(err, 'X', sizeof(err));
    ck_assert_int_eq(kestrel_fault_add(&eng, t->text, err, sizeof(err)), -1);
    check_error(t, err);
    ck_assert_msg(memcmp(&eng, &snap, sizeof(eng)) == 0,
                  "'%s': add changed the engine", t->text);

    /* small buffers: a terminated prefix, nothing written past errlen */
    full = strlen(err);
    for (len = 1; len < sizeof(small); len++) {
        memset(small, 'X', sizeof(small));
        ck_assert_int_eq(kestrel_fault_set(&eng, t->text, small, len), -1);
        ck_assert_int_eq(small[len - 1], '\0');
        ck_assert(strncmp(small, err, len - 1) == 0);
        if (len < sizeof(small)) {
            ck_assert_int_eq(small[len], 'X');
        }
    }
    ck_assert_uint_gt(full, sizeof(small));
    ck_assert_int_eq(kestrel_fault_set(&eng, t->text, NULL, 0), -1);
    ck_assert_int_eq(kestrel_fault_set(&eng, t->text, small, 0), -1);
    ck_assert_int_eq(kestrel_fault_add(&eng, t->text, NULL, 64), -1);
    ck_assert(memcmp(&eng, &snap, sizeof(eng)) == 0);

    /* a bad rule after good ones fails the whole text, same message */
    {
        char text[512];
        BadCase shifted = *t;

        snprintf(text, sizeof(text), "irq:drop;cq.post:fatal:once;%s",
                 t->text);
        shifted.column += (int)strlen("irq:drop;cq.post:fatal:once;");
        if (t->text[0] == ';' || t->text[0] == ' ') {
            return;     /* a leading ';' means something else there */
        }
        ck_assert_int_eq(kestrel_fault_set(&eng, text, err, sizeof(err)),
                         -1);
        check_error(&shifted, err);
        ck_assert(memcmp(&eng, &snap, sizeof(eng)) == 0);
    }
}
END_TEST

START_TEST(test_too_many_rules)
{
    static KestrelFaultEngine snap;
    char text[KESTREL_FAULT_MAX_RULES * 16];
    size_t pos = 0;
    int i, n;

    for (i = 0; i < KESTREL_FAULT_MAX_RULES; i++) {
        pos += (size_t)snprintf(text + pos, sizeof(text) - pos, "%sirq:drop",
                                i ? ";" : "");
    }
    n = kestrel_fault_set(&eng, text, err, sizeof(err));
    ck_assert_int_eq(n, KESTREL_FAULT_MAX_RULES);
    ck_assert_uint_eq(eng.nrules, KESTREL_FAULT_MAX_RULES);

    /* a 33rd rule: the column is where it starts */
    snprintf(text + pos, sizeof(text) - pos, ";cq.post:drop");
    kestrel_fault_clear(&eng);
    ck_assert_int_eq(kestrel_fault_add(&eng, "power:drop", err, sizeof(err)),
                     1);
    memcpy(&snap, &eng, sizeof(snap));
    ck_assert_int_eq(kestrel_fault_set(&eng, text, err, sizeof(err)), -1);
    snprintf(buf, sizeof(buf), "column %zu: found 'cq.post', expected at "
             "most 32 rules in all", pos + 2);
    ck_assert_str_eq(err, buf);
    ck_assert(memcmp(&eng, &snap, sizeof(eng)) == 0);

    /* add counts the rules already there */
    ck_assert_int_eq(kestrel_fault_set(&eng, "irq:drop;irq:drop", err,
                                       sizeof(err)), 2);
    for (i = 0; i < KESTREL_FAULT_MAX_RULES - 3; i++) {
        ck_assert_int_eq(kestrel_fault_add(&eng, "reset:drop", err,
                                           sizeof(err)), 1);
    }
    ck_assert_uint_eq(eng.nrules, KESTREL_FAULT_MAX_RULES - 1);
    memcpy(&snap, &eng, sizeof(snap));
    ck_assert_int_eq(kestrel_fault_add(&eng, "power:drop;  power:fatal",
                                       err, sizeof(err)), -1);
    ck_assert_str_eq(err, "column 14: found 'power', expected at most 32 "
                     "rules in all");
    ck_assert(memcmp(&eng, &snap, sizeof(eng)) == 0);
    ck_assert_int_eq(kestrel_fault_add(&eng, "power:fatal", err,
                                       sizeof(err)), 1);
    ck_assert_uint_eq(eng.nrules, KESTREL_FAULT_MAX_RULES);
    ck_assert_int_eq(kestrel_fault_add(&eng, "irq:drop", err, sizeof(err)),
                     -1);
    ck_assert_str_eq(err, "column 1: found 'irq', expected at most 32 rules "
                     "in all");
    /* adding nothing to a full engine is fine */
    ck_assert_int_eq(kestrel_fault_add(&eng, " ", err, sizeof(err)), 0);
    ck_assert_uint_eq(eng.nrules, KESTREL_FAULT_MAX_RULES);
}
END_TEST

START_TEST(test_too_long)
{
    static KestrelFaultEngine snap;
    /* 163 characters in canonical form: too long for one rule */
    static const char *const huge =
        "sq.fetch:corrupt(lba=0xffffffffffffffff,"
        "sgl_addr=0xffffffffffffffff,nblocks=4294967295,sgl_len=4294967295)"
        ":nth=18446744073709551615,after=18446744073709551615,max=99999";
    /* 131 characters: 32 of them do not fit KESTREL_FAULT_TEXT_MAX */
    static const char *const big =
        "sq.fetch:corrupt(lba=0xffffffffffffffff,"
        "sgl_addr=0xffffffffffffffff):nth=18446744073709551615,"
        "after=18446744073709551615,max=999999";
    char *text;
    size_t blen = strlen(big), pos = 0;
    int i, fit;

    ck_assert_uint_ge(strlen(huge), KESTREL_FAULT_RULE_TEXT_MAX);
    ck_assert_int_eq(kestrel_fault_set(&eng, huge, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "column 1: found 'sq.fetch:corrupt("
                                 "lba=0xfffffffff...', expected a rule whose "
                                 "canonical form fits 159 characters"));

    ck_assert_uint_eq(blen, 131);
    ck_assert_int_eq(kestrel_fault_set(&eng, big, err, sizeof(err)), 1);
    ck_assert_str_eq(eng.rules[0].text, big);
    /* how many rules of blen + ';' fit 4095 characters */
    fit = (int)((KESTREL_FAULT_TEXT_MAX - 1 + 1) / (blen + 1));
    ck_assert_int_lt(fit, KESTREL_FAULT_MAX_RULES);
    text = malloc((blen + 1) * KESTREL_FAULT_MAX_RULES + 1);
    ck_assert_ptr_nonnull(text);
    for (i = 0; i < fit + 1; i++) {
        pos += (size_t)sprintf(text + pos, "%s%s", i ? ";" : "", big);
    }
    kestrel_fault_set(&eng, "irq:drop", err, sizeof(err));
    memcpy(&snap, &eng, sizeof(snap));
    ck_assert_int_eq(kestrel_fault_set(&eng, text, err, sizeof(err)), -1);
    snprintf(buf, sizeof(buf), "column %zu: found", (size_t)fit *
             (blen + 1) + 1);
    ck_assert_msg(strncmp(err, buf, strlen(buf)) == 0, "%s", err);
    ck_assert_ptr_nonnull(strstr(err, "a rule set whose canonical form "
                                 "fits 4095 characters"));
    ck_assert(memcmp(&eng, &snap, sizeof(eng)) == 0);

    /* exactly fit rules are fine, and the formatted set fits */
    text[fit * (blen + 1) - 1] = '\0';
    ck_assert_int_eq(kestrel_fault_set(&eng, text, err, sizeof(err)), fit);
    ck_assert_uint_lt(kestrel_fault_format(&eng, NULL, 0),
                      KESTREL_FAULT_TEXT_MAX);
    ck_assert_uint_eq(kestrel_fault_format(&eng, buf, sizeof(buf)),
                      strlen(text));
    ck_assert_str_eq(buf, text);
    /* and add keeps counting what is there */
    ck_assert_int_eq(kestrel_fault_add(&eng, big, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "fits 4095 characters"));
    ck_assert_uint_eq(eng.nrules, (uint32_t)fit);
    free(text);
}
END_TEST

/* ---- Canonical text and round trip --------------------------------------- */

static const char *const roundtrip_rules[] = {
    "ctrl.enable:delay(250ms):once",
    "ctrl.enable:stall:nth=2",
    "ctrl.enable:fatal:after=3",
    "reg.read:corrupt(value=0xffffffff):every=10",
    "reg.read[reg=STATUS]:corrupt(value):prob=0.001",
    "reg.read[reg=0x3ffc]:flip(bits=32):prob=33.3333333%",
    "reg.read[reg=cap_maxxfer]:allones:max=1",
    "reg.read:spurious:prob=0.999999",
    "reg.read:storm(count=3,interval=1s)",
    "sq.fetch:corrupt(opcode=0x7f,flags=1,tag=0xbeef,nsegs=1):once",
    "sq.fetch:corrupt(lba=1,nblocks=0x20,sgl_addr,sgl_len=16)",
    "sq.fetch[op=read]:dma_error:every=3,after=100,max=4,seed=0xabc",
    "sq.fetch[op=0x55]:delay(1001ns)",
    "sq.fetch:stall:prob=0.0000001",
    "sgl.fetch:corrupt(addr=0x1000,len=0,flags=1,index=7)",
    "sgl.fetch[op=write]:flip(bits=3):seed=5",
    "sgl.fetch:dma_error:prob=0.123456789",
    "dma.read:corrupt(offset=4095,value=0x5a):nth=4",
    "dma.read[op=identify]:flip",
    "dma.write:corrupt(value=0,offset=0):prob=100%",
    "dma.write[op=flush]:drop:prob=0.3",
    "dma.write:delay(0x3b9aca00ns)",
    "cq.post:corrupt(tag=0xffff):nth=3",
    "cq.post:corrupt(status=0x7fff,phase,sqhead=0,result=512)",
    "cq.post:duplicate:every=2,max=5",
    "sq.fetch[op=flush]:lie:once",
    "sq.fetch[op=flush]:lie:every=2,after=3",
    "cq.post[op=write]:powercut:nth=3",
    "reg.read[reg=STATUS]:powercut:after=5",
    "irq:powercut:prob=0.5,seed=7",
    "cq.post[op=2]:dma_error:prob=2.5%",
    "cq.post:storm(interval=100us)",
    "cq.post:flip(bits=64):prob=.75,seed=18446744073709551615",
    "irq:spurious:every=1000",
    "irq:storm(count=100000,interval=60s):once",
    "irq:delay(59999999999ns):after=18446744073709551615",
    "reset:drop:prob=0.0009765625",
    "reset:allones:max=18446744073709551615",
    "power:stall:once,after=2,max=1,seed=0",
    "power:fatal:prob=0.00001",
    "power:delay(60000000us)",
};

static bool config_equal(const KestrelFaultRule *a, const KestrelFaultRule *b)
{
    uint32_t i;

    if (a->point != b->point ||
        kestrel_fault_rule_reg(a) != kestrel_fault_rule_reg(b) ||
        kestrel_fault_rule_op(a) != kestrel_fault_rule_op(b) ||
        a->action != b->action ||
        a->delay_ns != b->delay_ns || a->flip_bits != b->flip_bits ||
        a->storm_count != b->storm_count ||
        a->storm_interval_ns != b->storm_interval_ns ||
        a->ncorrupt != b->ncorrupt || a->trigger != b->trigger ||
        a->trigger_n != b->trigger_n || a->after != b->after ||
        a->max != b->max || a->seed_set != b->seed_set ||
        a->seed != b->seed) {
        return false;
    }
    /* the text shows 6 digits of prob: within 1e-6 relative */
    if (a->prob / 500000 < (a->prob > b->prob ? a->prob - b->prob
                                              : b->prob - a->prob)) {
        return false;
    }
    for (i = 0; i < a->ncorrupt; i++) {
        if (a->corrupt[i].field != b->corrupt[i].field ||
            a->corrupt[i].invert != b->corrupt[i].invert ||
            a->corrupt[i].value != b->corrupt[i].value) {
            return false;
        }
    }
    return true;
}

START_TEST(test_roundtrip)
{
    char t1[KESTREL_FAULT_TEXT_MAX], t2[KESTREL_FAULT_TEXT_MAX];
    size_t i;

    for (i = 0; i < ARRAY_LEN(roundtrip_rules); i++) {
        const char *src = roundtrip_rules[i];

        ck_assert_msg(kestrel_fault_set(&eng, src, err, sizeof(err)) == 1,
                      "%s: %s", src, err);
        kestrel_fault_format(&eng, t1, sizeof(t1));
        ck_assert_str_eq(t1, eng.rules[0].text);
        ck_assert_msg(kestrel_fault_set(&eng2, t1, err, sizeof(err)) == 1,
                      "%s -> %s: %s", src, t1, err);
        kestrel_fault_format(&eng2, t2, sizeof(t2));
        ck_assert_str_eq(t1, t2);
        ck_assert_msg(config_equal(&eng.rules[0], &eng2.rules[0]),
                      "%s -> %s changed", src, t1);
    }
}
END_TEST

START_TEST(test_roundtrip_set)
{
    char src[KESTREL_FAULT_TEXT_MAX], t1[KESTREL_FAULT_TEXT_MAX];
    char t2[KESTREL_FAULT_TEXT_MAX];
    size_t i, pos = 0;
    int n = 0;

    for (i = 0; i < ARRAY_LEN(roundtrip_rules) && n < 32; i++, n++) {
        pos += (size_t)snprintf(src + pos, sizeof(src) - pos, "%s ; ",
                                roundtrip_rules[i]);
    }
    ck_assert_int_eq(kestrel_fault_set(&eng, src, err, sizeof(err)), n);
    kestrel_fault_format(&eng, t1, sizeof(t1));
    ck_assert_int_eq(kestrel_fault_set(&eng2, t1, err, sizeof(err)), n);
    kestrel_fault_format(&eng2, t2, sizeof(t2));
    ck_assert_str_eq(t1, t2);
    for (i = 0; i < (size_t)n; i++) {
        ck_assert(config_equal(&eng.rules[i], &eng2.rules[i]));
        ck_assert_uint_eq(eng.rules[i].rng, eng2.rules[i].rng);
    }
}
END_TEST

/* Every probability's canonical text is a fixed point of parse+format. */
START_TEST(test_prob_roundtrip_sweep)
{
    char text[64], t1[128], t2[128];
    uint64_t x = 0x853c49e6748fea9bull;
    int i;

    for (i = 0; i < 20000; i++) {
        uint32_t frac;

        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        frac = (uint32_t)(x % 1000000000u);
        switch (i % 4) {
        case 0:
            snprintf(text, sizeof(text), "irq:drop:prob=0.%09u", frac);
            break;
        case 1:
            snprintf(text, sizeof(text), "irq:drop:prob=0.0000%09u", frac);
            break;
        case 2:
            snprintf(text, sizeof(text), "irq:drop:prob=%u.%u%%",
                     frac % 100, frac);
            break;
        default:
            snprintf(text, sizeof(text), "irq:drop:prob=0.%06u",
                     frac % 1000000);
            break;
        }
        if (kestrel_fault_set(&eng, text, err, sizeof(err)) != 1) {
            ck_assert_msg(strstr(err, "a probability") != NULL, "%s", err);
            continue;   /* 0.000000000 */
        }
        kestrel_fault_format(&eng, t1, sizeof(t1));
        ck_assert_int_eq(kestrel_fault_set(&eng2, t1, err, sizeof(err)), 1);
        kestrel_fault_format(&eng2, t2, sizeof(t2));
        ck_assert_msg(strcmp(t1, t2) == 0, "%s: %s vs %s", text, t1, t2);
        /* at most 6 significant digits, no trailing zero */
        ck_assert(t1[strlen(t1) - 1] != '0');
    }
}
END_TEST

START_TEST(test_format_truncation)
{
    char small[64];
    size_t full, len, n;

    ck_assert_int_eq(kestrel_fault_set(&eng, "irq:drop;cq.post:corrupt(tag=1)"
                                       ":once;power:fatal", err,
                                       sizeof(err)), 3);
    full = kestrel_fault_format(&eng, buf, sizeof(buf));
    ck_assert_str_eq(buf, "irq:drop;cq.post:corrupt(tag=0x1):once;"
                     "power:fatal");
    ck_assert_uint_eq(full, strlen(buf));
    ck_assert_uint_eq(kestrel_fault_format(&eng, NULL, 0), full);
    ck_assert_uint_lt(full + 1, sizeof(small));
    for (len = 1; len <= full + 1; len++) {
        memset(small, 'X', sizeof(small));
        n = kestrel_fault_format(&eng, small, len);
        ck_assert_uint_eq(n, full);
        ck_assert_int_eq(small[len - 1], '\0');
        ck_assert_uint_eq(strlen(small), len - 1);
        ck_assert(strncmp(small, buf, len - 1) == 0);
        ck_assert_int_eq(small[len], 'X');
    }
    memset(small, 'X', sizeof(small));
    ck_assert_uint_eq(kestrel_fault_format(&eng, small, 0), full);
    ck_assert_int_eq(small[0], 'X');
}
END_TEST

/* ---- Trigger semantics --------------------------------------------------- */

/* Fire pattern of rule 0 over n events at point p, as a '0'/'1' string. */
static void pattern(KestrelFaultEngine *e, KestrelFaultPoint p, int n,
                    char *out)
{
    int i;

    for (i = 0; i < n; i++) {
        out[i] = (kestrel_fault_eval(e, p, -1, -1) & 1) ? '1' : '0';
    }
    out[n] = '\0';
}

START_TEST(test_trigger_always_once_nth_every)
{
    static const struct {
        const char *rule;
        const char *pattern;
    } t[] = {
        { "irq:drop", "111111111111" },
        { "irq:drop:always", "111111111111" },
        { "irq:drop:once", "100000000000" },
        { "irq:drop:nth=1", "100000000000" },
        { "irq:drop:nth=3", "001000000000" },
        { "irq:drop:every=1", "111111111111" },
        { "irq:drop:every=3", "001001001001" },
        { "irq:drop:max=2", "110000000000" },
        { "irq:drop:every=2,max=3", "010101000000" },
        { "irq:drop:nth=4,max=1", "000100000000" },
        { "irq:drop:prob=1", "111111111111" },
        { "irq:drop:prob=1,max=5", "111110000000" },
    };
    char got[16];
    size_t i;

    for (i = 0; i < ARRAY_LEN(t); i++) {
        uint64_t fired = 0;
        int j;

        parse1(t[i].rule);
        pattern(&eng, KFP_IRQ, 12, got);
        ck_assert_msg(strcmp(got, t[i].pattern) == 0, "%s: %s, want %s",
                      t[i].rule, got, t[i].pattern);
        for (j = 0; j < 12; j++) {
            fired += t[i].pattern[j] == '1';
        }
        ck_assert_uint_eq(eng.rules[0].hits, 12);
        ck_assert_uint_eq(eng.rules[0].fired, fired);
    }
}
END_TEST

START_TEST(test_trigger_points_and_mask)
{
    uint32_t m;

    ck_assert_int_eq(kestrel_fault_set(&eng, "cq.post:drop;irq:drop;"
                                       "cq.post:duplicate:every=2;"
                                       "cq.post[op=write]:fatal",
                                       err, sizeof(err)), 4);
    m = kestrel_fault_eval(&eng, KFP_CQ_POST, -1, KESTREL_OP_READ);
    ck_assert_uint_eq(m, 0x1);
    m = kestrel_fault_eval(&eng, KFP_CQ_POST, -1, KESTREL_OP_WRITE);
    ck_assert_uint_eq(m, 0x1 | 0x4 | 0x8);
    m = kestrel_fault_eval(&eng, KFP_IRQ, -1, -1);
    ck_assert_uint_eq(m, 0x2);
    m = kestrel_fault_eval(&eng, KFP_RESET, -1, -1);
    ck_assert_uint_eq(m, 0);
    ck_assert_uint_eq(eng.rules[0].hits, 2);
    ck_assert_uint_eq(eng.rules[1].hits, 1);
    ck_assert_uint_eq(eng.rules[2].hits, 2);
    ck_assert_uint_eq(eng.rules[3].hits, 1);
    /* bad points are ignored */
    ck_assert_uint_eq(kestrel_fault_eval(&eng, KFP__MAX, -1, -1), 0);
    ck_assert_uint_eq(kestrel_fault_eval(&eng, (KestrelFaultPoint)-1, -1, -1),
                      0);
    ck_assert(!kestrel_fault_watches(&eng, KFP__MAX));
    ck_assert(!kestrel_fault_watches(&eng, (KestrelFaultPoint)1000));

    /* all 32 rules can fire at once: bit 31 */
    kestrel_fault_clear(&eng);
    {
        int i;

        for (i = 0; i < KESTREL_FAULT_MAX_RULES; i++) {
            kestrel_fault_add(&eng, "power:drop", err, sizeof(err));
        }
    }
    ck_assert_uint_eq(kestrel_fault_eval(&eng, KFP_POWER, -1, -1),
                      0xffffffffu);
}
END_TEST

START_TEST(test_trigger_filters)
{
    ck_assert_int_eq(kestrel_fault_set(&eng, "reg.read[reg=STATUS]:flip;"
                                       "reg.read:allones:nth=2",
                                       err, sizeof(err)), 2);
    ck_assert_uint_eq(kestrel_fault_eval(&eng, KFP_REG_READ,
                                         KESTREL_REG_CTRL, -1), 0);
    ck_assert_uint_eq(eng.rules[0].hits, 0);
    ck_assert_uint_eq(eng.rules[1].hits, 1);
    ck_assert_uint_eq(kestrel_fault_eval(&eng, KFP_REG_READ,
                                         KESTREL_REG_STATUS, -1), 0x3);
    ck_assert_uint_eq(eng.rules[0].hits, 1);
    ck_assert_uint_eq(kestrel_fault_eval(&eng, KFP_REG_READ, -1, -1), 0);
    ck_assert_uint_eq(eng.rules[0].hits, 1);

    ck_assert_int_eq(kestrel_fault_set(&eng, "sq.fetch[op=write]:drop;"
                                       "dma.read[op=0]:drop",
                                       err, sizeof(err)), 2);
    ck_assert_uint_eq(kestrel_fault_eval(&eng, KFP_SQ_FETCH, -1,
                                         KESTREL_OP_READ), 0);
    ck_assert_uint_eq(kestrel_fault_eval(&eng, KFP_SQ_FETCH, -1, -1), 0);
    ck_assert_uint_eq(kestrel_fault_eval(&eng, KFP_SQ_FETCH, -1,
                                         KESTREL_OP_WRITE), 0x1);
    ck_assert_uint_eq(eng.rules[0].hits, 1);
    /* op=0 is a real filter, not "any" */
    ck_assert_uint_eq(kestrel_fault_eval(&eng, KFP_DMA_READ, -1, 1), 0);
    ck_assert_uint_eq(kestrel_fault_eval(&eng, KFP_DMA_READ, -1, -1), 0);
    ck_assert_uint_eq(kestrel_fault_eval(&eng, KFP_DMA_READ, -1, 0), 0x2);
}
END_TEST

START_TEST(test_trigger_after)
{
    int i;

    kestrel_fault_count_command(&eng);
    kestrel_fault_count_command(&eng);
    ck_assert_uint_eq(eng.units, 2);
    /* after counts from install, not from power-on */
    parse1("cq.post:drop:once,after=3");
    ck_assert_uint_eq(eng.rules[0].units_at_install, 2);
    for (i = 0; i < 3; i++) {
        ck_assert_uint_eq(kestrel_fault_eval(&eng, KFP_CQ_POST, -1, -1), 0);
        ck_assert_uint_eq(eng.rules[0].hits, 0);    /* not armed: no count */
        kestrel_fault_count_command(&eng);
    }
    /* armed now; "once" means the first armed event */
    ck_assert_uint_eq(kestrel_fault_eval(&eng, KFP_CQ_POST, -1, -1), 1);
    ck_assert_uint_eq(eng.rules[0].hits, 1);
    ck_assert_uint_eq(kestrel_fault_eval(&eng, KFP_CQ_POST, -1, -1), 0);
    ck_assert_uint_eq(eng.rules[0].hits, 2);
    ck_assert_uint_eq(eng.rules[0].fired, 1);

    /* add installs with the current command count too */
    ck_assert_int_eq(kestrel_fault_add(&eng, "cq.post:fatal:after=1", err,
                                       sizeof(err)), 1);
    ck_assert_uint_eq(eng.rules[1].units_at_install, 5);
    ck_assert_uint_eq(kestrel_fault_eval(&eng, KFP_CQ_POST, -1, -1), 0);
    kestrel_fault_count_command(&eng);
    ck_assert_uint_eq(kestrel_fault_eval(&eng, KFP_CQ_POST, -1, -1), 2);
    ck_assert_uint_eq(eng.rules[0].hits, 4);
    ck_assert_uint_eq(eng.rules[1].hits, 1);
}
END_TEST

START_TEST(test_trigger_prob_determinism)
{
    static char a[2001], b[2001], c[2001];
    static KestrelFaultEngine e3;
    const char *rules = "irq:drop:prob=0.5;irq:fatal:prob=0.5";

    kestrel_fault_init(&eng, 1);
    kestrel_fault_init(&eng2, 1);
    kestrel_fault_init(&e3, 2);
    ck_assert_int_eq(kestrel_fault_set(&eng, rules, err, sizeof(err)), 2);
    ck_assert_int_eq(kestrel_fault_set(&eng2, rules, err, sizeof(err)), 2);
    ck_assert_int_eq(kestrel_fault_set(&e3, rules, err, sizeof(err)), 2);
    ck_assert_uint_ne(eng.rules[0].rng, 0);
    ck_assert_uint_eq(eng.rules[0].rng, eng2.rules[0].rng);
    ck_assert_uint_ne(eng.rules[0].rng, eng.rules[1].rng);
    pattern(&eng, KFP_IRQ, 2000, a);
    pattern(&eng2, KFP_IRQ, 2000, b);
    pattern(&e3, KFP_IRQ, 2000, c);
    ck_assert_str_eq(a, b);
    ck_assert_str_ne(a, c);
    /* two rules at different positions do not fire in lockstep */
    ck_assert_uint_ne(eng.rules[0].fired, 0);
    ck_assert(eng.rules[0].fired != eng.rules[1].fired ||
              eng.rules[0].rng != eng.rules[1].rng);

    /* an explicit seed wins over the engine's */
    ck_assert_int_eq(kestrel_fault_set(&eng, "irq:drop:prob=0.5,seed=9",
                                       err, sizeof(err)), 1);
    ck_assert_int_eq(kestrel_fault_set(&e3, "irq:drop:prob=0.5,seed=9",
                                       err, sizeof(err)), 1);
    pattern(&eng, KFP_IRQ, 2000, a);
    pattern(&e3, KFP_IRQ, 2000, c);
    ck_assert_str_eq(a, c);
    ck_assert_int_eq(kestrel_fault_set(&e3, "irq:drop:prob=0.5,seed=10",
                                       err, sizeof(err)), 1);
    pattern(&e3, KFP_IRQ, 2000, c);
    ck_assert_str_ne(a, c);

    /* re-setting the same rules restarts the same sequence */
    ck_assert_int_eq(kestrel_fault_set(&eng, "irq:drop:prob=0.5,seed=9",
                                       err, sizeof(err)), 1);
    pattern(&eng, KFP_IRQ, 2000, b);
    ck_assert_str_eq(a, b);

    /* seed 0 everywhere still gives a working generator */
    kestrel_fault_init(&eng, 0);
    parse1("irq:drop:prob=0.5,seed=0");
    ck_assert_uint_ne(eng.rules[0].rng, 0);
    pattern(&eng, KFP_IRQ, 2000, a);
    ck_assert_ptr_nonnull(strchr(a, '0'));
    ck_assert_ptr_nonnull(strchr(a, '1'));
}
END_TEST

static uint64_t count_fires(const char *rule, int n)
{
    int i;

    parse1(rule);
    for (i = 0; i < n; i++) {
        kestrel_fault_eval(&eng, KFP_CQ_POST, -1, -1);
    }
    ck_assert_uint_eq(eng.rules[0].hits, (uint64_t)n);
    return eng.rules[0].fired;
}

START_TEST(test_trigger_prob_rates)
{
    uint64_t f;

    f = count_fires("cq.post:drop:prob=0.5", 10000);
    ck_assert_msg(f >= 4000 && f <= 6000, "0.5 fired %" PRIu64, f);
    f = count_fires("cq.post:drop:prob=10%", 10000);
    ck_assert_msg(f >= 700 && f <= 1300, "0.1 fired %" PRIu64, f);
    f = count_fires("cq.post:drop:prob=0.9", 10000);
    ck_assert_msg(f >= 8700 && f <= 9300, "0.9 fired %" PRIu64, f);
    f = count_fires("cq.post:drop:prob=1.0", 10000);
    ck_assert_uint_eq(f, 10000);
    f = count_fires("cq.post:drop:prob=0.000000001", 10000);
    ck_assert_uint_eq(f, 0);
    f = count_fires("cq.post:drop:prob=0.5,max=7", 10000);
    ck_assert_uint_eq(f, 7);
    /* other seeds, same rough rate */
    kestrel_fault_init(&eng, 0xfeedface);
    f = count_fires("cq.post:drop:prob=0.5", 10000);
    ck_assert_msg(f >= 4000 && f <= 6000, "0.5 fired %" PRIu64, f);
}
END_TEST

/*
 * Force the next kestrel_fault_rand() of r to return out, by inverting one
 * step of the engine's xorshift64* (12, 25, 27).  If the generator changes,
 * the check below says so instead of failing obscurely.
 */
static uint64_t unshift_right(uint64_t y, int k)
{
    uint64_t x = y;
    int i;

    for (i = 0; i < 64 / k + 1; i++) {
        x = y ^ (x >> k);
    }
    return x;
}

static uint64_t unshift_left(uint64_t y, int k)
{
    uint64_t x = y;
    int i;

    for (i = 0; i < 64 / k + 1; i++) {
        x = y ^ (x << k);
    }
    return x;
}

static void force_rand(KestrelFaultRule *r, uint64_t out)
{
    const uint64_t mul = 0x2545f4914f6cdd1dull;
    uint64_t inv = mul, x;
    KestrelFaultRule copy;
    int i;

    for (i = 0; i < 6; i++) {
        inv *= 2 - mul * inv;       /* Newton: inverse mod 2^64 */
    }
    x = out * inv;
    x = unshift_right(x, 27);
    x = unshift_left(x, 25);
    x = unshift_right(x, 12);
    r->rng = x;
    copy = *r;
    ck_assert_msg(kestrel_fault_rand(&copy) == out,
                  "kestrel_fault_rand is no longer xorshift64*: update "
                  "force_rand()");
}

/* prob fires iff the top 32 random bits < prob; prob=1 always fires. */
START_TEST(test_trigger_prob_boundary)
{
    KestrelFaultRule *r;

    r = (KestrelFaultRule *)parse1("irq:drop:prob=1");
    force_rand(r, UINT64_MAX);
    ck_assert_uint_eq(kestrel_fault_eval(&eng, KFP_IRQ, -1, -1), 1);
    force_rand(r, 0xffffffff00000000ull);
    ck_assert_uint_eq(kestrel_fault_eval(&eng, KFP_IRQ, -1, -1), 1);

    r = (KestrelFaultRule *)parse1("irq:drop:prob=0.5");
    ck_assert_uint_eq(r->prob, 0x80000000u);
    force_rand(r, 0x7fffffffffffffffull);
    ck_assert_uint_eq(kestrel_fault_eval(&eng, KFP_IRQ, -1, -1), 1);
    force_rand(r, 0x8000000000000000ull);
    ck_assert_uint_eq(kestrel_fault_eval(&eng, KFP_IRQ, -1, -1), 0);
    force_rand(r, 1);   /* (0 is no xorshift state) */
    ck_assert_uint_eq(kestrel_fault_eval(&eng, KFP_IRQ, -1, -1), 1);
    ck_assert_uint_eq(r->hits, 3);
    ck_assert_uint_eq(r->fired, 2);

    /* the smallest probability fires only on an all-zero top half */
    r = (KestrelFaultRule *)parse1("irq:drop:prob=0.0000000001");
    ck_assert_uint_eq(r->prob, 1);
    force_rand(r, 0x00000000ffffffffull);
    ck_assert_uint_eq(kestrel_fault_eval(&eng, KFP_IRQ, -1, -1), 1);
    force_rand(r, 0x0000000100000000ull);
    ck_assert_uint_eq(kestrel_fault_eval(&eng, KFP_IRQ, -1, -1), 0);
}
END_TEST

/* prob in canonical text: 6 significant digits, rounded half up. */
START_TEST(test_canonical_prob)
{
    static const struct {
        const char *in, *out;
    } t[] = {
        { "0.12345651", "0.123457" },
        { "0.12345649", "0.123456" },
        { "0.1234565001", "0.123457" },
        { "0.66666666", "0.666667" },
        { "33.3333333%", "0.333333" },
        { "0.09999996", "0.1" },
        { "0.9999996", "1" },
        { "0.99999949", "0.999999" },
        { "0.000123456789", "0.000123457" },
        /* 2^-32 steps show at 6 digits of small values */
        { "0.0000012", "0.00000120001" },
        { "0.5%", "0.005" },
        { "0.10", "0.1" },
        { "0.3", "0.3" },
        { "0.7", "0.7" },
        { "1%", "0.01" },
        { "99.9%", "0.999" },
    };
    char text[64], want[64];
    size_t i;

    for (i = 0; i < ARRAY_LEN(t); i++) {
        snprintf(text, sizeof(text), "irq:drop:prob=%s", t[i].in);
        snprintf(want, sizeof(want), "irq:drop:prob=%s", t[i].out);
        ck_assert_str_eq(canon(text), want);
        /* and the text is a fixed point */
        ck_assert_str_eq(canon(want), want);
    }
}
END_TEST

START_TEST(test_rand)
{
    KestrelFaultRule r1, r2;
    uint64_t v[64];
    int i, j;

    memset(&r1, 0, sizeof(r1));
    memset(&r2, 0, sizeof(r2));
    r1.rng = r2.rng = 12345;
    for (i = 0; i < 64; i++) {
        v[i] = kestrel_fault_rand(&r1);
        ck_assert_uint_eq(v[i], kestrel_fault_rand(&r2));
        ck_assert_uint_ne(r1.rng, 0);
    }
    for (i = 0; i < 64; i++) {
        for (j = i + 1; j < 64; j++) {
            ck_assert_uint_ne(v[i], v[j]);
        }
    }
    r1.rng = 0;     /* never stuck at zero */
    ck_assert_uint_ne(kestrel_fault_rand(&r1), kestrel_fault_rand(&r1));
}
END_TEST

/* ---- Engine operations --------------------------------------------------- */

START_TEST(test_set_add_clear_ids)
{
    uint32_t seen[64];
    int nseen = 0, i, j;

    ck_assert_int_eq(kestrel_fault_set(&eng, "irq:drop;cq.post:drop", err,
                                       sizeof(err)), 2);
    ck_assert_uint_eq(eng.rules[0].id, 1);
    ck_assert_uint_eq(eng.rules[1].id, 2);
    kestrel_fault_eval(&eng, KFP_IRQ, -1, -1);
    ck_assert_uint_eq(eng.rules[0].hits, 1);

    /* add appends, keeps counters of the rules already there */
    ck_assert_int_eq(kestrel_fault_add(&eng, "power:drop;reset:drop", err,
                                       sizeof(err)), 2);
    ck_assert_uint_eq(eng.nrules, 4);
    ck_assert_uint_eq(eng.rules[0].hits, 1);
    ck_assert_uint_eq(eng.rules[2].id, 3);
    ck_assert_uint_eq(eng.rules[3].id, 4);
    ck_assert_int_eq(eng.rules[3].point, KFP_RESET);
    kestrel_fault_format(&eng, buf, sizeof(buf));
    ck_assert_str_eq(buf, "irq:drop;cq.post:drop;power:drop;reset:drop");

    /* a failed add or set does not consume ids */
    ck_assert_int_eq(kestrel_fault_add(&eng, "irq:drop;x", err, sizeof(err)),
                     -1);
    ck_assert_uint_eq(eng.next_id, 5);

    /* set replaces and resets counters; ids go on */
    ck_assert_int_eq(kestrel_fault_set(&eng, "irq:fatal", err, sizeof(err)),
                     1);
    ck_assert_uint_eq(eng.nrules, 1);
    ck_assert_uint_eq(eng.rules[0].id, 5);
    ck_assert_uint_eq(eng.rules[0].hits, 0);
    ck_assert_int_eq(eng.rules[0].action, KFA_FATAL);
    ck_assert_uint_eq(eng.rules[1].id, 0);      /* old slots wiped */
    ck_assert(!kestrel_fault_watches(&eng, KFP_CQ_POST));

    /* clear empties but ids still go on */
    kestrel_fault_clear(&eng);
    ck_assert_uint_eq(eng.nrules, 0);
    ck_assert(!kestrel_fault_watches(&eng, KFP_IRQ));
    kestrel_fault_format(&eng, buf, sizeof(buf));
    ck_assert_str_eq(buf, "");
    ck_assert_uint_eq(kestrel_fault_eval(&eng, KFP_IRQ, -1, -1), 0);
    ck_assert_int_eq(kestrel_fault_add(&eng, "irq:drop", err, sizeof(err)),
                     1);
    ck_assert_uint_eq(eng.rules[0].id, 6);

    /* ids unique over many sets */
    for (i = 0; i < 20; i++) {
        ck_assert_int_eq(kestrel_fault_set(&eng, "irq:drop;irq:drop;irq:drop",
                                           err, sizeof(err)), 3);
        for (j = 0; j < 3; j++) {
            int k;

            for (k = 0; k < nseen; k++) {
                ck_assert_uint_ne(seen[k], eng.rules[j].id);
            }
            if (nseen < 64) {
                seen[nseen++] = eng.rules[j].id;
            }
            ck_assert_uint_ne(eng.rules[j].id, 0);
        }
    }

    /* an empty set is a valid set: it clears */
    ck_assert_int_eq(kestrel_fault_set(&eng, "", err, sizeof(err)), 0);
    ck_assert_uint_eq(eng.nrules, 0);
}
END_TEST

START_TEST(test_watches)
{
    int p;

    ck_assert_int_eq(kestrel_fault_set(&eng, "reg.read:drop;irq:drop:nth=5",
                                       err, sizeof(err)), 2);
    for (p = 0; p < KFP__MAX; p++) {
        ck_assert_int_eq(kestrel_fault_watches(&eng, (KestrelFaultPoint)p),
                         p == KFP_REG_READ || p == KFP_IRQ);
    }
    ck_assert_int_eq(kestrel_fault_add(&eng, "dma.write:drop", err,
                                       sizeof(err)), 1);
    ck_assert(kestrel_fault_watches(&eng, KFP_DMA_WRITE));
    ck_assert(kestrel_fault_watches(&eng, KFP_IRQ));
    /* a failed add changes nothing */
    ck_assert_int_eq(kestrel_fault_add(&eng, "power:drop;oops", err,
                                       sizeof(err)), -1);
    ck_assert(!kestrel_fault_watches(&eng, KFP_POWER));
    ck_assert_int_eq(kestrel_fault_set(&eng, "power:drop", err, sizeof(err)),
                     1);
    for (p = 0; p < KFP__MAX; p++) {
        ck_assert_int_eq(kestrel_fault_watches(&eng, (KestrelFaultPoint)p),
                         p == KFP_POWER);
    }
    kestrel_fault_clear(&eng);
    for (p = 0; p < KFP__MAX; p++) {
        ck_assert(!kestrel_fault_watches(&eng, (KestrelFaultPoint)p));
    }
}
END_TEST

/* Give rule r the filter [key=v], as a loaded state may. */
static void set_filter(KestrelFaultRule *r, KestrelFaultKey key, uint64_t v)
{
    r->filter_mask |= 1u << key;
    r->filter_lo[key] = v;
    r->filter_hi[key] = v;
}

START_TEST(test_post_load)
{
    static KestrelFaultEngine saved;

    ck_assert_int_eq(kestrel_fault_set(&eng, "cq.post:corrupt(tag=1):prob="
                                       "0.123456789;irq:storm(count=5)",
                                       err, sizeof(err)), 2);
    kestrel_fault_eval(&eng, KFP_CQ_POST, -1, -1);
    memcpy(&saved, &eng, sizeof(saved));

    /* a valid state is kept as it is, derived state rebuilt */
    eng.watch_mask = 0;
    ck_assert_int_eq(kestrel_fault_post_load(&eng), 0);
    ck_assert(memcmp(&eng, &saved, sizeof(eng)) == 0);
    eng.rules[1].text[0] = 'X';
    memset(eng.rules[0].text, 'Y', sizeof(eng.rules[0].text));
    eng.rules[1].rng = 0;
    ck_assert_int_eq(kestrel_fault_post_load(&eng), 0);
    ck_assert_str_eq(eng.rules[0].text, saved.rules[0].text);
    ck_assert_str_eq(eng.rules[1].text, "irq:storm(count=5)");
    ck_assert_uint_ne(eng.rules[1].rng, 0);
    ck_assert(kestrel_fault_watches(&eng, KFP_IRQ));

    /* invalid states are refused */
#define BAD(stmt) do {                                          \
        memcpy(&eng, &saved, sizeof(eng));                      \
        stmt;                                                   \
        ck_assert_msg(kestrel_fault_post_load(&eng) == -1, #stmt); \
    } while (0)
    BAD(eng.nrules = KESTREL_FAULT_MAX_RULES + 1);
    BAD(eng.rules[0].point = KFP__MAX);
    BAD(eng.rules[0].action = (KestrelFaultAction)99);
    BAD(eng.rules[1].action = KFA_DUPLICATE);
    BAD(eng.rules[0].ncorrupt = KESTREL_FAULT_MAX_CORRUPT + 1);
    BAD(eng.rules[0].ncorrupt = 0);
    BAD(eng.rules[0].corrupt[0].field = KFF_SQ_LBA);
    BAD(eng.rules[0].corrupt[0].field = (KestrelFaultField)1000);
    BAD(eng.rules[0].corrupt[0].value = 0x10000);
    BAD(eng.rules[0].trigger = (KestrelFaultTriggerKind)7);
    BAD(eng.rules[0].prob = 0);
    BAD(eng.rules[1].storm_count = 0);
    BAD(set_filter(&eng.rules[1], KFK_REG, 0x44));
    BAD(set_filter(&eng.rules[1], KFK_OP, 1));
    BAD(set_filter(&eng.rules[0], KFK_OP, 256));
    BAD(eng.rules[1].delay_ns = 5);
    BAD(eng.rules[1].trigger = KFT_EVERY);      /* every=0 */
#undef BAD
}
END_TEST

/* Random and mutated input: no crash, failures leave the engine alone. */
START_TEST(test_fuzz_smoke)
{
    static KestrelFaultEngine snap;
    static const char alphabet[] = "cq.post:drop;[]()=,0x1fmsu% \t"
                                   "corrupt(tag=prob=0.5nthevery\x01\xff";
    char text[96], t1[KESTREL_FAULT_TEXT_MAX], t2[KESTREL_FAULT_TEXT_MAX];
    uint64_t x = 42;
    int i, ok = 0;

    busy_engine(&eng);
    for (i = 0; i < 30000; i++) {
        size_t len, k;
        int n;

        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if (i % 2) {
            const char *base = roundtrip_rules[x % ARRAY_LEN(roundtrip_rules)];

            snprintf(text, sizeof(text), "%s", base);
            len = strlen(text);
            for (k = 0; k < 1 + (x >> 60) % 3; k++) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                text[(x >> 8) % len] = alphabet[(x >> 20) %
                                                (sizeof(alphabet) - 1)];
            }
        } else {
            len = (x >> 8) % (sizeof(text) - 1);
            for (k = 0; k < len; k++) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                text[k] = alphabet[(x >> 20) % (sizeof(alphabet) - 1)];
            }
            text[len] = '\0';
        }
        memcpy(&snap, &eng, sizeof(snap));
        n = kestrel_fault_add(&eng, text, err, sizeof(err));
        if (n < 0) {
            ck_assert(memcmp(&eng, &snap, sizeof(eng)) == 0);
            ck_assert(strncmp(err, "column ", 7) == 0);
            ck_assert_ptr_nonnull(strstr(err, ", expected "));
            continue;
        }
        ok++;
        kestrel_fault_format(&eng, t1, sizeof(t1));
        ck_assert_int_ge(kestrel_fault_set(&eng2, t1, err, sizeof(err)), 0);
        kestrel_fault_format(&eng2, t2, sizeof(t2));
        ck_assert_str_eq(t1, t2);
        if (eng.nrules > KESTREL_FAULT_MAX_RULES - 4) {
            busy_engine(&eng);
        }
    }
    ck_assert_int_gt(ok, 100);
}
END_TEST

Suite *fault_suite(void)
{
    Suite *s = suite_create("fault");
    TCase *tc;

    tc = tcase_create("grammar");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_names);
    tcase_add_test(tc, test_init);
    tcase_add_test(tc, test_every_point);
    tcase_add_test(tc, test_action_point_matrix);
    tcase_add_test(tc, test_action_args);
    tcase_add_loop_test(tc, test_corrupt_fields, 0,
                        (int)ARRAY_LEN(corrupt_cases));
    tcase_add_loop_test(tc, test_triggers, 0, (int)ARRAY_LEN(trigger_cases));
    tcase_add_test(tc, test_filters);
    tcase_add_test(tc, test_blanks_and_sets);
    suite_add_tcase(s, tc);

    tc = tcase_create("errors");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_loop_test(tc, test_bad_rule, 0, (int)ARRAY_LEN(bad_cases));
    tcase_add_test(tc, test_too_many_rules);
    tcase_add_test(tc, test_too_long);
    tcase_add_test(tc, test_fuzz_smoke);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);

    tc = tcase_create("canonical");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_roundtrip);
    tcase_add_test(tc, test_roundtrip_set);
    tcase_add_test(tc, test_prob_roundtrip_sweep);
    tcase_add_test(tc, test_format_truncation);
    tcase_add_test(tc, test_canonical_prob);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);

    tc = tcase_create("triggers");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_trigger_always_once_nth_every);
    tcase_add_test(tc, test_trigger_points_and_mask);
    tcase_add_test(tc, test_trigger_filters);
    tcase_add_test(tc, test_trigger_after);
    tcase_add_test(tc, test_trigger_prob_determinism);
    tcase_add_test(tc, test_trigger_prob_rates);
    tcase_add_test(tc, test_trigger_prob_boundary);
    tcase_add_test(tc, test_rand);
    suite_add_tcase(s, tc);

    tc = tcase_create("engine");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_set_add_clear_ids);
    tcase_add_test(tc, test_watches);
    tcase_add_test(tc, test_post_load);
    suite_add_tcase(s, tc);

    return s;
}
