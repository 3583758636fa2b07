/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_fault_rules: the Kestrel fault-rule grammar (kestrel_fault.c).
 *
 * Input: rule-set text.  If it contains a NUL byte, the part before it is
 * given to kestrel_fault_set() and the part after it to kestrel_fault_add().
 * Properties checked:
 *   - a refused rule set leaves the engine byte-for-byte unchanged and
 *     reports "column C: ..." with C inside the text (+1 for end of text);
 *   - an accepted one formats to canonical text that parses back to the
 *     same number of rules and formats to the identical text
 *     (parse -> format -> parse -> format is a fixed point);
 *   - kestrel_fault_post_load() accepts every parsed engine unchanged;
 *   - evaluating events at every point never misbehaves.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kestrel_fault.h"
#include "fuzz_input.h"

#define BASE_RULES "cq.post:drop:once;irq:delay(10us):every=2,max=3"

static KestrelFaultEngine eng, snap, again;
static char text[KESTREL_FAULT_TEXT_MAX * 2];
static char fmt1[KESTREL_FAULT_TEXT_MAX], fmt2[KESTREL_FAULT_TEXT_MAX];

static void check_error(const char *err, size_t textlen)
{
    unsigned long col;

    FUZZ_ASSERT(strncmp(err, "column ", 7) == 0);
    col = strtoul(err + 7, NULL, 10);
    FUZZ_ASSERT(col >= 1 && col <= textlen + 1);
}

/* The canonical text of e must parse to itself. */
static void check_round_trip(const KestrelFaultEngine *e)
{
    char err[KESTREL_FAULT_ERR_MAX];
    int n;

    kestrel_fault_format(e, fmt1, sizeof(fmt1));
    kestrel_fault_init(&again, 0);
    n = kestrel_fault_set(&again, fmt1, err, sizeof(err));
    if (n < 0) {
        fprintf(stderr, "canonical text refused: '%s': %s\n", fmt1, err);
    }
    FUZZ_ASSERT(n >= 0);
    FUZZ_ASSERT((uint32_t)n == e->nrules);
    FUZZ_ASSERT(again.nrules == e->nrules);
    kestrel_fault_format(&again, fmt2, sizeof(fmt2));
    if (strcmp(fmt1, fmt2) != 0) {
        fprintf(stderr, "round trip differs:\n  '%s'\n  '%s'\n", fmt1, fmt2);
    }
    FUZZ_ASSERT(strcmp(fmt1, fmt2) == 0);

    /* The migration-stream check must accept what the parser produced. */
    memcpy(&again, e, sizeof(again));
    FUZZ_ASSERT(kestrel_fault_post_load(&again) == 0);
    kestrel_fault_format(&again, fmt2, sizeof(fmt2));
    FUZZ_ASSERT(strcmp(fmt1, fmt2) == 0);
}

static void apply(const char *t, size_t len, bool add)
{
    char err[KESTREL_FAULT_ERR_MAX];
    int n;

    memcpy(&snap, &eng, sizeof(snap));
    err[0] = '\0';
    n = add ? kestrel_fault_add(&eng, t, err, sizeof(err))
            : kestrel_fault_set(&eng, t, err, sizeof(err));
    if (n < 0) {
        FUZZ_ASSERT(memcmp(&snap, &eng, sizeof(eng)) == 0);
        check_error(err, len);
        return;
    }
    FUZZ_ASSERT(eng.nrules <= KESTREL_FAULT_MAX_RULES);
    if (!add) {
        FUZZ_ASSERT((uint32_t)n == eng.nrules);
    } else {
        FUZZ_ASSERT(eng.nrules == snap.nrules + (uint32_t)n);
    }
    check_round_trip(&eng);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[KESTREL_FAULT_ERR_MAX];
    const uint8_t *nul;
    size_t len1, p, i;

    if (size >= sizeof(text)) {
        return 0;
    }
    memcpy(text, data, size);
    text[size] = '\0';
    nul = memchr(data, 0, size);
    len1 = nul ? (size_t)(nul - data) : size;

    kestrel_fault_init(&eng, 42);
    if (kestrel_fault_set(&eng, BASE_RULES, err, sizeof(err)) != 2) {
        __builtin_trap();
    }
    apply(text, len1, false);
    if (nul) {
        apply(text + len1 + 1, strlen(text + len1 + 1), true);
    }

    /* Exercise the triggers of whatever was accepted. */
    for (i = 0; i < 4; i++) {
        kestrel_fault_count_command(&eng);
        for (p = 0; p < KFP__MAX; p++) {
            uint32_t mask = kestrel_fault_eval(&eng, (KestrelFaultPoint)p,
                                               (int)(i * 4), (int)i);

            FUZZ_ASSERT(eng.nrules == 32 || (mask >> eng.nrules) == 0);
            FUZZ_ASSERT(!!kestrel_fault_watches(&eng, (KestrelFaultPoint)p) ||
                        mask == 0);
        }
    }
    return 0;
}
