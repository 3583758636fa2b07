/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gfault: Gauntlet's device-neutral fault engine.
 *
 * A rule is point x action x trigger, written as
 *
 *     point[key=value,...]:action(args):trigger,trigger...
 *
 * The engine owns the grammar, the triggers (always, once, nth, every,
 * prob, after, max, seed), the counters, the canonical text, the
 * all-or-nothing parse, the validation of a loaded state and the fault
 * log.  What the points, actions, corrupt() fields and filter keys are is
 * declared by each user in a GFaultVocab (all tables): Kestrel's in
 * kestrel_fault.c, the Gauntlet fault port's in gport_fault.c.  What an
 * action does is the user's business.  The engine depends on nothing but
 * the C library, so the same code runs in QEMU, unit tests and fuzzers.
 */
#ifndef GFAULT_H
#define GFAULT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GFAULT_MAX_RULES        32
#define GFAULT_MAX_CORRUPT      4
#define GFAULT_TEXT_MAX         4096    /* whole rule set, canonical */
#define GFAULT_RULE_TEXT_MAX    160     /* one rule, canonical */
#define GFAULT_ERR_MAX          256
#define GFAULT_MAX_KEYS         4       /* filter keys per vocabulary */
#define GFAULT_LOG_LEN          256     /* fault log ring entries */
#define GFAULT_LOG_DETAIL       96
#define GFAULT_MAX_DELAY_NS     (60ull * 1000 * 1000 * 1000)
#define GFAULT_MAX_STORM        100000
#define GFAULT_MAX_POINTS       64      /* bits of watch_mask */
#define GFAULT_MAX_ACTIONS      32
#define GFAULT_MAX_FIELDS       32

/* ---- The vocabulary a user declares ------------------------------------ */

/* The arguments an action takes; the engine parses and formats them. */
typedef enum GFaultArgs {
    GFAULT_ARGS_NONE,           /* "drop" */
    GFAULT_ARGS_DELAY,          /* "delay(T)", T with ns, us, ms or s */
    GFAULT_ARGS_CORRUPT,        /* "corrupt(field[=value],...)" */
    GFAULT_ARGS_FLIP,           /* "flip" or "flip(bits=N)", N 1..64 */
    GFAULT_ARGS_STORM,          /* "storm" or "storm(count=N,interval=T)" */
} GFaultArgs;

typedef struct GFaultName {
    const char *name;           /* lower case; matched ignoring case */
    uint64_t value;
} GFaultName;

typedef struct GFaultPointInfo {
    const char *name;
    uint32_t actions;           /* bit a: action a is valid here */
    uint32_t keys;              /* bit k: filter key k is valid here */
    /* corrupt() here must name every field of this mask (0: no rule) */
    uint32_t corrupt_need_all;
    const char *corrupt_need_all_msg;   /* "expected ..." text */
    /* corrupt() naming only fields of this mask is refused (0: no rule) */
    uint32_t corrupt_not_alone;
    const char *corrupt_not_alone_msg;
} GFaultPointInfo;

typedef struct GFaultActionInfo {
    const char *name;
    GFaultArgs args;
    /* Valid only with the filter [key=need_value] (a single value). */
    bool need_filter;
    unsigned need_key;
    uint64_t need_value;
    const char *need_msg;       /* "expected ..." text when it is missing */
} GFaultActionInfo;

typedef struct GFaultFieldInfo {
    const char *name;           /* NULL: an unused slot */
    uint64_t points;            /* bit p: point p's corrupt() takes it */
    uint8_t bits;               /* width of a value, 1..64 */
    bool hex;                   /* canonical value in 0x-hex */
    bool need_value;            /* "field" alone (invert) not allowed */
} GFaultFieldInfo;

typedef struct GFaultKeyInfo {
    const char *name;
    bool range;                 /* "lo-hi" accepted, e.g. addr=0x1000-0x1fff */
    bool hex;                   /* canonical numbers in 0x-hex */
    uint64_t max;               /* values 0..max */
    uint64_t align;             /* values are multiples of it (0, 1: any) */
    const GFaultName *names;    /* symbolic values, ended by a NULL name */
    bool format_names;          /* canonical text uses the name if any */
    /* "expected ..." texts; NULL: the engine words them */
    const char *expect;         /* neither a name nor a number */
    const char *expect_bounds;  /* a number out of 0..max or misaligned */
} GFaultKeyInfo;

/* What "after=N" counts. */
typedef enum GFaultAfter {
    GFAULT_AFTER_UNITS,         /* the engine's units (gfault_count_unit) */
    GFAULT_AFTER_EVENTS,        /* matching events at the rule's point */
} GFaultAfter;

typedef struct GFaultVocab {
    const char *name;           /* "kestrel", "port" */
    unsigned npoints, nactions, nfields, nkeys;
    const GFaultPointInfo *points;
    const GFaultActionInfo *actions;
    const GFaultFieldInfo *fields;
    const GFaultKeyInfo *keys;
    GFaultAfter after;
} GFaultVocab;

/* ---- Rules and the engine ------------------------------------------------ */

typedef struct GFaultCorrupt {
    unsigned field;
    bool invert;                /* "field" alone: invert every bit of it */
    uint64_t value;             /* "field=value" */
} GFaultCorrupt;

typedef enum GFaultTriggerKind {
    GFAULT_TRIG_ALWAYS,         /* "always" (default) */
    GFAULT_TRIG_NTH,            /* "nth=N"; "once" is nth=1 */
    GFAULT_TRIG_EVERY,          /* "every=N" */
    GFAULT_TRIG_PROB,           /* "prob=P", 0 < P <= 1, from the seed */
} GFaultTriggerKind;

typedef struct GFaultRule {
    uint32_t id;                /* unique within the engine, from 1 */
    unsigned point;             /* vocabulary indices */
    unsigned action;
    uint32_t filter_mask;       /* bit k: key k filtered */
    uint64_t filter_lo[GFAULT_MAX_KEYS], filter_hi[GFAULT_MAX_KEYS];
    uint64_t delay_ns;          /* delay */
    uint32_t flip_bits;         /* flip, default 1 */
    uint32_t storm_count;       /* storm, default 1000 */
    uint64_t storm_interval_ns; /* storm, default 10 us */
    uint32_t ncorrupt;
    GFaultCorrupt corrupt[GFAULT_MAX_CORRUPT];

    GFaultTriggerKind trigger;
    uint64_t trigger_n;         /* nth / every */
    uint32_t prob;              /* prob, scaled to 2^32 - 1 == 1.0 */
    uint64_t after;             /* arm after this many units or events */
    uint64_t max;               /* fire at most this often, 0 = no cap */
    bool seed_set;
    uint64_t seed;

    /* Run-time state, saved with the VM. */
    uint64_t hits;              /* matching events seen while armed */
    uint64_t fired;
    uint64_t rng;               /* per-rule xorshift state */
    uint64_t units_at_install;  /* GFAULT_AFTER_UNITS: e->units then */
    uint64_t passed;            /* GFAULT_AFTER_EVENTS: events let through */

    char text[GFAULT_RULE_TEXT_MAX];    /* canonical form */
} GFaultRule;

/* An event: the values of the vocabulary's filter keys that are known. */
typedef struct GFaultEvent {
    uint32_t known;             /* bit k: key[k] is valid */
    uint64_t key[GFAULT_MAX_KEYS];
    /* for range keys: the event covers [key, key+len-1]; 0 means 1 */
    uint64_t len[GFAULT_MAX_KEYS];
} GFaultEvent;
/*
 * A rule with a filter on key k matches only if the event knows key k and
 * [key, key+len-1] overlaps [filter_lo, filter_hi].
 */

typedef struct GFaultLogEntry {
    uint64_t seq;               /* 0, 1, 2... over the engine's life */
    uint64_t time_ns;           /* virtual time given by the caller */
    uint32_t rule_id;
    unsigned point, action;
    char rule[GFAULT_RULE_TEXT_MAX];    /* canonical text at the time */
    char detail[GFAULT_LOG_DETAIL];     /* caller's words: address, tag... */
} GFaultLogEntry;

typedef struct GFaultEngine {
    const GFaultVocab *vocab;
    GFaultRule rules[GFAULT_MAX_RULES];
    uint32_t nrules, next_id;
    uint64_t seed;              /* default seed of rules without seed= */
    uint64_t units;             /* what after=N counts, if it counts units */
    uint64_t watch_mask;        /* bit p: some rule watches point p (derived) */
    GFaultLogEntry log[GFAULT_LOG_LEN];
    uint64_t log_seq;           /* entries ever logged (the next seq) */
    uint64_t log_first;         /* seq of the first entry not cleared */
} GFaultEngine;

/*
 * Check a vocabulary's tables: counts within the engine's limits (points
 * <= 64, actions and fields <= 32, keys <= GFAULT_MAX_KEYS), every name
 * set, lower case and unique where the parser looks it up, masks within
 * the counts, bounds of keys and fields sane.  Returns 0, or -1 with a
 * message in err.  For tests of each vocabulary (a bad table is a bug,
 * not an input).
 */
int gfault_vocab_check(const GFaultVocab *v, char *err, size_t errlen);

/* "?" for an index out of the vocabulary. */
const char *gfault_point_name(const GFaultVocab *v, unsigned point);
const char *gfault_action_name(const GFaultVocab *v, unsigned action);

void gfault_init(GFaultEngine *e, const GFaultVocab *v, uint64_t seed);

/*
 * Parse a rule set ("rule;rule;...", blanks allowed around tokens, an empty
 * string is an empty set).  On error return -1 and write to err a message
 * of the form "column C: found 'X', expected Y" where C is the 1-based
 * byte column in text; the engine is left untouched.  On success replace
 * (set) or extend (add) the rule set and return the number of rules parsed.
 * Neither touches the fault log.
 */
int gfault_set(GFaultEngine *e, const char *text, char *err, size_t errlen);
int gfault_add(GFaultEngine *e, const char *text, char *err, size_t errlen);
void gfault_clear(GFaultEngine *e);

/* Canonical text of the whole rule set, rules joined by ";". */
size_t gfault_format(const GFaultEngine *e, char *buf, size_t len);

/*
 * An event happened at point (ev: the filter keys it knows, NULL for
 * none).  Every matching, armed rule counts a hit and its trigger decides
 * whether it fires.  Returns a bitmask of the indices (into e->rules) of
 * the rules that fired.
 */
uint32_t gfault_eval(GFaultEngine *e, unsigned point, const GFaultEvent *ev);

/* Quick test so hot paths skip eval when no rule watches a point. */
bool gfault_watches(const GFaultEngine *e, unsigned point);

/* Count one unit (Kestrel: one command fetched) for "after=N". */
void gfault_count_unit(GFaultEngine *e);

/* Deterministic per-rule random numbers (for flip bit positions). */
uint64_t gfault_rand(GFaultRule *r);

/*
 * After loading an engine from an untrusted source (migration stream):
 * check that every rule is one the parser could have produced (its
 * canonical text parses back to the same configuration) and that the log
 * is one the engine could have written (sequence numbers in order, times
 * not decreasing, texts NUL-terminated, indices in the vocabulary);
 * rewrite the rule texts and rebuild derived state (watch_mask, a zero
 * rng).  e->vocab must already be the right vocabulary (it is not part
 * of a saved state).  Returns 0, or -1 if the state is invalid (then the
 * caller should reject it).
 */
int gfault_post_load(GFaultEngine *e);

/*
 * The fault log: an ordered ring of the last GFAULT_LOG_LEN firings.
 * Entry seq numbers run 0, 1, 2... over the engine's life (since
 * gfault_init): gfault_log_clear forgets the entries held but does not
 * restart the numbering, so a reader that remembers the last seq it saw
 * never mistakes an old entry for a new one.
 * gfault_log records one firing of rule e->rules[idx] at time_ns (the
 * caller's virtual clock; a time before the previous entry's is taken as
 * that entry's, so times never go backwards); detail is printf-formatted
 * and truncated to GFAULT_LOG_DETAIL - 1 bytes.
 */
void gfault_log(GFaultEngine *e, uint64_t time_ns, unsigned idx,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void gfault_logv(GFaultEngine *e, uint64_t time_ns, unsigned idx,
                 const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));
uint64_t gfault_log_count(const GFaultEngine *e);  /* entries held, <= LEN */
/* Entry i, 0 = the oldest held; NULL if i >= gfault_log_count(e). */
const GFaultLogEntry *gfault_log_entry(const GFaultEngine *e, uint64_t i);
void gfault_log_clear(GFaultEngine *e);

#endif /* GFAULT_H */
