/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The write ledger's checker (host side of ledger.h): parse a ledger, then
 * hold backing files to it.  gauntlet-ledger (gauntlet-ledger.c) is its
 * command line; the rules are docs/ledger.md's, in short:
 *
 *   - a W record (or WP, a fixed-pattern write) is "held" when a successful flush covers it (a B record
 *     after it, with no P line between, whose F record says success) or,
 *     with GL_END_STRICT, when no P line follows it at all;
 *   - a block's floor is the last held W record that wrote it;
 *   - the block must hold exactly the bytes of a W, X, WP or XP record to it
 *     at or after its floor (WP, XP: regenerated with gd_pattern_fill), or
 *     a block of a fixed-pattern session's pattern that was in flight (the
 *     session did not end cleanly, was running after the floor and
 *     recorded no write of this block), or an intact stress block of a write that was in
 *     flight (never recorded: a generation above every one its session's
 *     thread recorded, by the thread whose slice of the session's range
 *     holds the block, from a session that did not end cleanly and was
 *     still running after the floor); with no floor, its original content
 *     (anything that is not a stress block claiming this lba with a seed of
 *     a session in the ledger) is fine too;
 *   - a stress block claiming this lba and a ledger seed whose checksum is
 *     wrong is torn; with an atomic unit of U > 1 blocks (aligned, lba / U),
 *     a write must have landed on all of the unit's blocks it covers or on
 *     none of them.
 */
#ifndef GAUNTLET_DATA_LEDGER_CHECK_H
#define GAUNTLET_DATA_LEDGER_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pattern.h"

enum gl_end_mode {
    GL_END_STRICT,      /* the run ended in order: every W after the last P holds */
    GL_END_RELAXED,     /* the end is a power cut too (a device cache may be lost) */
};

enum gl_rec_kind {
    GL_REC_S, GL_REC_W, GL_REC_X, GL_REC_B, GL_REC_F, GL_REC_FX, GL_REC_E,
    GL_REC_P, GL_REC_C, GL_REC_WP, GL_REC_XP,
};

/* One record, in ledger order. */
struct gl_rec {
    uint8_t kind;               /* enum gl_rec_kind */
    uint32_t line;              /* 1-based line in the ledger */
    uint32_t session;           /* index into gl_log.sessions (not P, C) */
    uint32_t thread;            /* W, X */
    uint64_t num;               /* W, X: seq; B, F, FX: flush number */
    uint64_t lba, nblocks, gen; /* W, X */
    uint64_t csum;              /* W, WP */
    struct gd_pattern pat;      /* WP, XP: the pattern and its seed */
};

struct gl_session {
    char sid[17];
    char *tool, *dev;
    uint64_t seed, lba, blocks;
    uint32_t bs, threads;
    size_t start;               /* index of its S record */
    size_t cut;                 /* index of the first P after it, or SIZE_MAX */
    bool ended;                 /* an E record */
    uint64_t writes, flushes;   /* W+X and B records so far */
    size_t *flush_rec;          /* B record index of flush n (at n - 1) */
    uint8_t *flush_state;       /* of flush n: 0 pending, 1 F, 2 FX */
    uint64_t *max_gen;          /* per thread: the highest W/X generation */
    bool has_pattern;           /* S said pattern=: a fixed-pattern writer */
    struct gd_pattern pat;      /* its pattern, with the session's seed */
};

struct gl_log {
    char *name;                 /* for messages */
    struct gl_rec *recs;
    size_t nrecs;
    struct gl_session *sessions;
    size_t nsessions;
    uint64_t power_cuts, partial_lines;
};

/* A device's backing file (gauntlet-ledger --map DEV=FILE). */
struct gl_map {
    const char *dev, *file;
};

struct gl_check_opts {
    const char *backing;        /* for a device without a map; may be NULL */
    const struct gl_map *maps;
    size_t nmaps;
    enum gl_end_mode end;
    uint32_t atomic_unit;       /* blocks; 0 or 1: one block */
    uint32_t max_violations;    /* kept in the list */
};

struct gl_violation {
    uint64_t lba;
    char *device;               /* the device of the block's last write */
    char *backing;
    const char *kind;           /* "lost", "torn", "unexpected", "mixed" */
    char *expected, *found;
};

struct gl_result {
    uint64_t sessions, power_cuts, writes_acknowledged, writes_flushed;
    uint64_t writes_failed, writes_checked, blocks_checked, violations;
    uint64_t partial_lines;
    uint64_t pattern_writes;    /* WP and XP records (in the counts above too) */
    enum gl_end_mode end;
    struct gl_violation *list;  /* the first max_violations violations */
    size_t nlist;
};

/*
 * Parse a ledger held in text (len bytes; name for messages).  Returns the
 * log, or NULL with "NAME:LINE: what is wrong" in err (a malformed or
 * inconsistent line).  A last line without its newline, and a line that
 * does not parse directly before a P line, are partial: ignored, counted.
 */
struct gl_log *gl_log_parse(const char *text, size_t len, const char *name,
                            char *err, size_t errlen);
/* The same for a file; NULL with a message when it cannot be read either. */
struct gl_log *gl_log_read(const char *path, char *err, size_t errlen);
void gl_log_free(struct gl_log *log);

/* The end mode's name and back; -1 for an unknown name. */
const char *gl_end_name(enum gl_end_mode end);
int gl_end_parse(const char *s);

/*
 * Check every block the log's W and X records name against the backing
 * files.  Returns 0 with the figures in r (violations or not), or -1 with
 * a message in err: a backing file that cannot be read, a W record whose
 * csum does not match the data its fields describe (a broken ledger), no
 * backing file for a device.  Free r with gl_result_free.
 */
int gl_check(const struct gl_log *log, const struct gl_check_opts *o,
             struct gl_result *r, char *err, size_t errlen);
void gl_result_free(struct gl_result *r);

#endif /* GAUNTLET_DATA_LEDGER_CHECK_H */
