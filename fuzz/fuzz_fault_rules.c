/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_fault_rules: the fault-rule grammar of the shared engine
 * (gfault.c) in both vocabularies: Kestrel's (kestrel_fault.c) and the
 * Gauntlet fault port's (gport_fault.c).
 *
 * Input: rule-set text.  A first byte 0x01 picks the port's vocabulary
 * and is not part of the text; any other input is Kestrel text as a whole
 * (so the seeds and regressions written before the port stay valid).  If
 * the text contains a NUL byte, the part before it is given to
 * gfault_set() and the part after it to gfault_add().
 * Properties checked:
 *   - a refused rule set leaves the engine byte-for-byte unchanged (the
 *     log's entries it does not hold aside: nothing reads them) and
 *     reports "column C: ..." with C inside the text (+1 for end of text);
 *   - an accepted one formats to canonical text that parses back to the
 *     same number of rules and formats to the identical text
 *     (parse -> format -> parse -> format is a fixed point);
 *   - gfault_post_load() accepts every parsed engine unchanged, with the
 *     fault log its firings wrote;
 *   - evaluating events at every point never misbehaves.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gport_fault.h"
#include "kestrel_fault.h"
#include "fuzz_input.h"

#define VOCAB_PORT_BYTE 0x01

static const struct {
    const GFaultVocab *vocab;
    const char *base;           /* rules in place before the input's */
} vocabs[] = {
    { &kestrel_fault_vocab, "cq.post:drop:once;irq:delay(10us):every=2,max=3" },
    { &gport_fault_vocab, "msi[vector=1]:drop:once;"
                          "dma.read[addr=0x1000-0x1fff]:dma_error:after=1" },
};

static GFaultEngine eng, snap, again;
static char text[GFAULT_TEXT_MAX * 2];
static char fmt1[GFAULT_TEXT_MAX], fmt2[GFAULT_TEXT_MAX];

/*
 * Copy and compare an engine without the log entries it does not hold:
 * the ring is 3/4 of the engine (72 KiB), mostly unheld, and copying and
 * comparing it whole for every input took a fifth of this target's time.
 * Everything else is copied and compared byte for byte, as before.
 */
static void engine_copy(GFaultEngine *dst, const GFaultEngine *src)
{
    uint64_t i, n = gfault_log_count(src);

    memcpy(dst, src, offsetof(GFaultEngine, log));
    dst->log_seq = src->log_seq;
    dst->log_first = src->log_first;
    for (i = src->log_seq - n; i < src->log_seq; i++) {
        dst->log[i % GFAULT_LOG_LEN] = src->log[i % GFAULT_LOG_LEN];
    }
}

static bool engine_equal(const GFaultEngine *a, const GFaultEngine *b)
{
    uint64_t i, n = gfault_log_count(a);

    if (memcmp(a, b, offsetof(GFaultEngine, log)) != 0 ||
        a->log_seq != b->log_seq || a->log_first != b->log_first) {
        return false;
    }
    for (i = a->log_seq - n; i < a->log_seq; i++) {
        if (memcmp(&a->log[i % GFAULT_LOG_LEN], &b->log[i % GFAULT_LOG_LEN],
                   sizeof(a->log[0])) != 0) {
            return false;
        }
    }
    return true;
}

/*
 * engine_equal's negative controls, once per process: it sees a change
 * in a rule, in the log's counters and in an entry held (the first and
 * the last), and only an entry not held may differ.
 */
static void engine_equal_self_test(void)
{
    static GFaultEngine a, b;
    char err[GFAULT_ERR_MAX];
    unsigned i;

    gfault_init(&a, &kestrel_fault_vocab, 1);
    FUZZ_ASSERT(gfault_set(&a, "irq:drop", err, sizeof(err)) == 1);
    for (i = 0; i < GFAULT_LOG_LEN + 3; i++) {
        gfault_log(&a, i, 0, "n=%u", i);
    }
    gfault_log_clear(&a);
    for (i = 0; i < 5; i++) {
        gfault_log(&a, 1000 + i, 0, "m=%u", i);
    }
    FUZZ_ASSERT(gfault_log_count(&a) == 5);
    engine_copy(&b, &a);
    FUZZ_ASSERT(engine_equal(&a, &b));
    b.log[(a.log_seq + 7) % GFAULT_LOG_LEN].detail[0] ^= 1;    /* unheld */
    FUZZ_ASSERT(engine_equal(&a, &b));
    b.log[(a.log_seq - 5) % GFAULT_LOG_LEN].detail[0] ^= 1;    /* oldest */
    FUZZ_ASSERT(!engine_equal(&a, &b));
    engine_copy(&b, &a);
    b.log[(a.log_seq - 1) % GFAULT_LOG_LEN].time_ns++;         /* newest */
    FUZZ_ASSERT(!engine_equal(&a, &b));
    engine_copy(&b, &a);
    b.rules[0].fired++;
    FUZZ_ASSERT(!engine_equal(&a, &b));
    engine_copy(&b, &a);
    b.log_first--;
    FUZZ_ASSERT(!engine_equal(&a, &b));
    engine_copy(&b, &a);
    b.log_seq++;
    FUZZ_ASSERT(!engine_equal(&a, &b));
}

static void check_error(const char *err, size_t textlen)
{
    unsigned long col;

    FUZZ_ASSERT(strncmp(err, "column ", 7) == 0);
    col = strtoul(err + 7, NULL, 10);
    FUZZ_ASSERT(col >= 1 && col <= textlen + 1);
}

/* The canonical text of e must parse to itself. */
static void check_round_trip(const GFaultEngine *e)
{
    char err[GFAULT_ERR_MAX];
    int n;

    gfault_format(e, fmt1, sizeof(fmt1));
    gfault_init(&again, e->vocab, 0);
    n = gfault_set(&again, fmt1, err, sizeof(err));
    if (n < 0) {
        fprintf(stderr, "canonical text refused: '%s': %s\n", fmt1, err);
    }
    FUZZ_ASSERT(n >= 0);
    FUZZ_ASSERT((uint32_t)n == e->nrules);
    FUZZ_ASSERT(again.nrules == e->nrules);
    gfault_format(&again, fmt2, sizeof(fmt2));
    if (strcmp(fmt1, fmt2) != 0) {
        fprintf(stderr, "round trip differs:\n  '%s'\n  '%s'\n", fmt1, fmt2);
    }
    FUZZ_ASSERT(strcmp(fmt1, fmt2) == 0);

    /* The migration-stream check must accept what the parser produced. */
    engine_copy(&again, e);
    FUZZ_ASSERT(gfault_post_load(&again) == 0);
    FUZZ_ASSERT(engine_equal(&again, e));
}

static void apply(const char *t, size_t len, bool add)
{
    char err[GFAULT_ERR_MAX];
    int n;

    engine_copy(&snap, &eng);
    err[0] = '\0';
    n = add ? gfault_add(&eng, t, err, sizeof(err))
            : gfault_set(&eng, t, err, sizeof(err));
    if (n < 0) {
        FUZZ_ASSERT(engine_equal(&snap, &eng));
        check_error(err, len);
        return;
    }
    FUZZ_ASSERT(eng.nrules <= GFAULT_MAX_RULES);
    if (!add) {
        FUZZ_ASSERT((uint32_t)n == eng.nrules);
    } else {
        FUZZ_ASSERT(eng.nrules == snap.nrules + (uint32_t)n);
    }
    check_round_trip(&eng);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[GFAULT_ERR_MAX];
    const uint8_t *nul;
    const GFaultVocab *v;
    size_t len1, i, k, which = 0;
    unsigned p;
    uint64_t logged;

    static bool tested;

    if (!tested) {
        engine_equal_self_test();
        tested = true;
    }
    if (size && data[0] == VOCAB_PORT_BYTE) {
        which = 1;
        data++;
        size--;
    }
    if (size >= sizeof(text)) {
        return 0;
    }
    v = vocabs[which].vocab;
    memcpy(text, data, size);
    text[size] = '\0';
    nul = memchr(data, 0, size);
    len1 = nul ? (size_t)(nul - data) : size;

    gfault_init(&eng, v, 42);
    if (gfault_set(&eng, vocabs[which].base, err, sizeof(err)) != 2) {
        __builtin_trap();
    }
    apply(text, len1, false);
    if (nul) {
        apply(text + len1 + 1, strlen(text + len1 + 1), true);
    }

    /* Exercise the triggers of whatever was accepted, and log firings. */
    for (i = 0; i < 4; i++) {
        gfault_count_unit(&eng);
        for (p = 0; p < v->npoints; p++) {
            GFaultEvent ev = { .known = (uint32_t)(i * 5) };
            uint32_t mask;

            for (k = 0; k < GFAULT_MAX_KEYS; k++) {
                ev.key[k] = i * 4 + (k == 0 ? 0x1000 * i : 0);
                ev.len[k] = i * 0x800;
            }
            mask = gfault_eval(&eng, p, i == 3 ? NULL : &ev);
            FUZZ_ASSERT(eng.nrules == 32 || (mask >> eng.nrules) == 0);
            FUZZ_ASSERT(!!gfault_watches(&eng, p) || mask == 0);
            for (k = 0; k < eng.nrules; k++) {
                if (mask & (1u << k)) {
                    gfault_log(&eng, 100 * i, (unsigned)k, "p=%u i=%zu", p,
                               i);
                }
            }
        }
    }
    logged = gfault_log_count(&eng);
    FUZZ_ASSERT(logged <= GFAULT_LOG_LEN && logged <= eng.log_seq);
    for (i = 0; i < logged; i++) {
        const GFaultLogEntry *le = gfault_log_entry(&eng, i);

        FUZZ_ASSERT(le && le->seq == eng.log_seq - logged + i);
        FUZZ_ASSERT(le->point < v->npoints && le->action < v->nactions);
    }
    FUZZ_ASSERT(gfault_log_entry(&eng, logged) == NULL);
    if (size % 3 == 0) {
        uint64_t seq = eng.log_seq;

        gfault_log_clear(&eng);
        FUZZ_ASSERT(gfault_log_count(&eng) == 0 && eng.log_seq == seq);
        if (eng.nrules) {
            gfault_log(&eng, 0, 0, "after clear");
            FUZZ_ASSERT(gfault_log_count(&eng) == 1 &&
                        gfault_log_entry(&eng, 0)->seq == seq);
        }
    }
    engine_copy(&again, &eng);
    FUZZ_ASSERT(gfault_post_load(&again) == 0);
    return 0;
}
