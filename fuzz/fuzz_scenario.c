/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_scenario: the scenario parser (harness/scenario.c, unchanged, with
 * libyaml and the device's own fault-rule parser) fed any bytes.
 *
 * scenario.h promises that gs_parse_string() may be given any bytes: no
 * crash, leak or out-of-bounds read (ASan, UBSan and LeakSanitizer watch
 * that), and only a filled-in error on refusal.  It also promises that
 * gs_dump() prints a scenario that "parses back to the same scenario".
 * The contract checked on every input:
 *   - the verdict is 0 with a scenario, or -1 with no scenario and an
 *     error whose text is NUL-terminated, non-empty and starts with the
 *     file name given to the parser;
 *   - an accepted scenario is dumped (open_memstream), the dump is parsed
 *     again and must be accepted, and its dump must be byte-identical to
 *     the first (the canonical form is a fixed point);
 *   - the counts the parser reports agree with the tree it built
 *     (total_steps counts every step once, repeat bodies once).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"
#include "fuzz_input.h"

#define NAME "fuzz.yaml"

static size_t count_steps(const GsStep *st, size_t n)
{
    size_t total = n, i;

    for (i = 0; i < n; i++) {
        if (st[i].type == GS_STEP_REPEAT) {
            total += count_steps(st[i].u.repeat.steps,
                                 st[i].u.repeat.nsteps);
        }
    }
    return total;
}

static char *dump(const GsScenario *s, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);

    FUZZ_ASSERT(f);
    gs_dump(s, f);
    FUZZ_ASSERT(fclose(f) == 0);
    return buf;
}

static void check_refusal(const GsScenario *s, const GsError *err)
{
    FUZZ_ASSERT(s == NULL);
    FUZZ_ASSERT(memchr(err->text, 0, sizeof(err->text)));
    FUZZ_ASSERT(memchr(err->msg, 0, sizeof(err->msg)));
    FUZZ_ASSERT(err->msg[0]);
    FUZZ_ASSERT(strncmp(err->text, NAME, strlen(NAME)) == 0);
    FUZZ_ASSERT(err->line >= 0 && err->col >= 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    GsScenario *s = NULL, *s2 = NULL;
    GsError err, err2;
    char *d1, *d2;
    size_t n1, n2;

    if (gs_parse_string(NAME, (const char *)data, size, &s, &err)) {
        check_refusal(s, &err);
        return 0;
    }
    FUZZ_ASSERT(s);
    FUZZ_ASSERT(s->total_steps == count_steps(s->steps, s->nsteps));
    FUZZ_ASSERT(s->total_steps <= GS_MAX_STEPS);

    d1 = dump(s, &n1);
    if (gs_parse_string(NAME, d1, n1, &s2, &err2)) {
        fprintf(stderr, "the dump of an accepted scenario is refused: %s\n"
                "---- dump ----\n%s\n", err2.text, d1);
        __builtin_trap();
    }
    FUZZ_ASSERT(s2->total_steps == s->total_steps);
    FUZZ_ASSERT(s2->nrules == s->nrules);
    d2 = dump(s2, &n2);
    if (n1 != n2 || memcmp(d1, d2, n1)) {
        fprintf(stderr, "the dump does not parse back to itself\n"
                "---- first dump ----\n%s\n---- second dump ----\n%s\n",
                d1, d2);
        __builtin_trap();
    }
    free(d1);
    free(d2);
    gs_free(s);
    gs_free(s2);
    return 0;
}
