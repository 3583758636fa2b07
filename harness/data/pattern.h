/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Data patterns: the one definition of what every Gauntlet tool writes and
 * checks (gauntlet-data, kestrelctl, and the host checks of backing files).
 *
 * Two families, both pure functions of their parameters, so a later check
 * needs no saved state beyond them:
 *
 * Fixed patterns, keyed by (pattern, seed, lba, byte offset in the block):
 *   seq     every 8-byte little-endian word at byte offset o of block lba
 *           holds ((seed & 0xffffff) << 40) | ((lba * block_size + o) &
 *           (2^40 - 1)): its own absolute byte address tagged with the
 *           seed, so a misdirected or shifted block is obvious in a dump.
 *   random  word i of block lba = mix64(k + i * 0x9e3779b97f4a7c15) with
 *           k = mix64(seed ^ mix64(lba ^ 0xa0761d6478bd642f)).
 *   zero    all bytes 0.
 *   0xNN    all bytes NN.
 *
 * Stress blocks, self-describing, keyed by (lba, generation, seed, thread):
 * a 64-byte little-endian header
 *     magic "KSTRESS1" [0..8)   lba [8..16)   gen [16..24)   seed [24..32)
 *     block size [32..36)   thread [36..40)   csum [40..48)   zero [48..64)
 * then a payload word at byte offset o = mix64(k + o), with
 * k = mix64(seed ^ mix64(lba ^ 0x5bd1e9955bd1e995) ^ (gen << 32)).
 * csum (gd_block_csum) covers the whole block with its own field read as 0;
 * it is the content checksum a record of a write can carry, and lets a
 * reader tell an intact block of some generation from a torn one.  (The
 * magic's name is historical: Kestrel's stress used the format first.)
 *
 * mix64 is the splitmix64 finaliser.  All block sizes are multiples of 8.
 * Mismatch reports have one format, which tests grep:
 *   PROG: MISMATCH WHAT lba L byte offset O (absolute byte A): expected 0xEE
 *   got 0xGG; N of BS bytes differ; expected DESC
 * followed by two hex lines (expected, got) around the first difference.
 */
#ifndef GAUNTLET_DATA_PATTERN_H
#define GAUNTLET_DATA_PATTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define GD_BLOCK_SIZE_MIN   8u
#define GD_BLOCK_SIZE_MAX   (1u << 20)
#define GD_PATTERN_NAME_LEN 8           /* "random" and "0xNN" fit */

#define GD_BLOCK_MAGIC      "KSTRESS1"
#define GD_BLOCK_HDR        64u         /* smallest stress block */

/* The splitmix64 finaliser: the patterns and every seeded stream. */
static inline uint64_t gd_mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void gd_put_le64(uint8_t *p, uint64_t v);
uint64_t gd_get_le64(const uint8_t *p);

/* True when bs is a block size the patterns support (8..1 MiB, 8-aligned). */
bool gd_block_size_ok(uint64_t bs);

/* ---- fixed patterns ------------------------------------------------------ */

enum gd_pattern_kind {
    GD_PAT_SEQ,
    GD_PAT_RANDOM,
    GD_PAT_ZERO,
    GD_PAT_BYTE,
};

struct gd_pattern {
    enum gd_pattern_kind kind;
    uint8_t byte;                       /* GD_PAT_BYTE */
    uint64_t seed;
};

/*
 * Parse "seq", "random", "zero" or "0xNN" into p->kind and p->byte; p->seed
 * is left as it is.  Returns 0, or -1 with a message in err (p unchanged).
 */
int gd_pattern_parse(const char *s, struct gd_pattern *p, char *err,
                     size_t errlen);

/* The pattern's name as gd_pattern_parse() takes it, written into buf. */
const char *gd_pattern_name(const struct gd_pattern *p,
                            char buf[GD_PATTERN_NAME_LEN]);

/* Fill one block of bs bytes (gd_block_size_ok) for lba. */
void gd_pattern_fill(const struct gd_pattern *p, uint64_t lba, uint32_t bs,
                     uint8_t *buf);

/*
 * Compare nblocks blocks at buf, the first at lba, with the pattern.  The
 * first mismatching blocks are reported to out (while *reported is below
 * max_reports; *reported counts every mismatching block).  scratch holds
 * bs bytes.  Returns the number of mismatching blocks.
 */
uint64_t gd_pattern_verify(FILE *out, const char *prog, const char *what,
                           const struct gd_pattern *p, uint64_t lba,
                           uint32_t nblocks, uint32_t bs, const uint8_t *buf,
                           uint8_t *scratch, uint64_t *reported,
                           uint64_t max_reports);

/*
 * Report one mismatching block (the format above) with a single write to
 * out, so that reports from several threads do not interleave.  what: the
 * device or file; desc: what the block should have held.
 */
void gd_report_mismatch(FILE *out, const char *prog, const char *what,
                        uint64_t lba, uint32_t bs, const uint8_t *exp,
                        const uint8_t *got, const char *desc);

/*
 * Any block's bytes as one number (the write ledger's WP checksum):
 * h = mix64(h ^ word) over its bs / 8 little-endian words in order, from
 * h = 0.
 */
uint64_t gd_bytes_csum(const uint8_t *b, uint32_t bs);

/* ---- stress blocks ------------------------------------------------------- */

/* What a stress block's header claims. */
struct gd_block_hdr {
    uint64_t lba, gen, seed;
    uint32_t bs, thread;
    bool csum_ok;                       /* the checksum matches the block */
};

/* The content checksum of a stress block (its csum field read as 0). */
uint64_t gd_block_csum(const uint8_t *b, uint32_t bs);

/* The csum field a stress block carries: gd_block_csum() of an intact one. */
uint64_t gd_block_csum_stored(const uint8_t *b);

/* Fill a stress block; bs is gd_block_size_ok and >= GD_BLOCK_HDR. */
void gd_block_fill(uint8_t *b, uint32_t bs, uint64_t lba, uint64_t gen,
                   uint64_t seed, uint32_t thread);

/*
 * Read a block's header into h.  Returns false when the block carries no
 * stress magic (foreign, zeroed or corrupt data).
 */
bool gd_block_parse(const uint8_t *b, uint32_t bs, struct gd_block_hdr *h);

/* One line on what a block read back claims to be, for mismatch reports. */
void gd_block_describe(const uint8_t *b, uint32_t bs, char *out, size_t len);

#endif /* GAUNTLET_DATA_PATTERN_H */
