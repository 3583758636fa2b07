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
 *   - a refused rule set leaves the engine byte-for-byte unchanged and
 *     reports "column C: ..." with C inside the text (+1 for end of text);
 *   - an accepted one formats to canonical text that parses back to the
 *     same number of rules and formats to the identical text
 *     (parse -> format -> parse -> format is a fixed point);
 *   - gfault_post_load() accepts every parsed engine unchanged, with the
 *     fault log its firings wrote;
 *   - evaluating events at every point never misbehaves.
 */
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
    memcpy(&again, e, sizeof(again));
    FUZZ_ASSERT(gfault_post_load(&again) == 0);
    FUZZ_ASSERT(memcmp(&again, e, sizeof(again)) == 0);
}

static void apply(const char *t, size_t len, bool add)
{
    char err[GFAULT_ERR_MAX];
    int n;

    memcpy(&snap, &eng, sizeof(snap));
    err[0] = '\0';
    n = add ? gfault_add(&eng, t, err, sizeof(err))
            : gfault_set(&eng, t, err, sizeof(err));
    if (n < 0) {
        FUZZ_ASSERT(memcmp(&snap, &eng, sizeof(eng)) == 0);
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
    memcpy(&again, &eng, sizeof(again));
    FUZZ_ASSERT(gfault_post_load(&again) == 0);
    return 0;
}
