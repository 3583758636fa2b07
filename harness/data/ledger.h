/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The write ledger: what a verified workload records, as it happens, about
 * every write the driver acknowledged or failed and every flush, so that a
 * host checker (gauntlet-ledger, ledger_check.h) can hold the backing file
 * to it after the VM is gone.  One copy, linked by gauntlet-data (stress, write)
 * and kestrelctl (stress, write, flush).  The format and the rules: docs/ledger.md.
 *
 * Records are ASCII lines, each written with one write(2) under the
 * ledger's mutex, so records of several threads (and, on a tty or an
 * O_APPEND file, of several processes) never interleave:
 *
 *   GLEDGER1 S <sid> tool=<name> dev=<path> seed=<u64> bs=<u32> lba=<u64>
 *            blocks=<u64> threads=<u32> [pattern=<name>]
 *                                              (one line) session start
 *   W <sid> <seq> <thread> <lba> <nblocks> <gen> <csum>   acknowledged write
 *   X <sid> <seq> <thread> <lba> <nblocks> <gen>          failed write
 *   WP <sid> <seq> <lba> <nblocks> <pattern> <seed> <csum>  acknowledged
 *                    write of a fixed pattern (pattern.h: seq, random, ...)
 *   XP <sid> <seq> <lba> <nblocks> <pattern> <seed>         failed one
 *   B <sid> <n>      before flush n is submitted
 *   F <sid> <n>      flush n completed with success   (FX <sid> <n>: failed)
 *   E <sid> writes=<W and X records> flushes=<B records>   clean end
 *
 * sid: 16 hex digits from getrandom(); seq: per session, from 1, assigned
 * under the mutex (W, X, WP and XP share it); n: per session, from 1; csum:
 * 16 hex digits, c = gd_mix64(c ^ gd_block_csum(block)) over the write's
 * blocks in order from c = 0 (gl_write_csum); for WP, the same fold of
 * gd_bytes_csum(block) (gl_pattern_csum).  Numbers are decimal.
 *
 * On a tty the ledger is set raw (cfmakeraw, the baud rate kept) and every
 * record is followed by tcdrain(), so it has left the machine before the
 * tool goes on; any other path is opened O_WRONLY|O_APPEND|O_CREAT.
 *
 * Every function returns 0 or -errno; gl_error() then says what failed,
 * with the path.  A ledger that fails is a failed run: the tools exit 1.
 */
#ifndef GAUNTLET_DATA_LEDGER_H
#define GAUNTLET_DATA_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GL_MAGIC        "GLEDGER1"
#define GL_ENV          "GAUNTLET_LEDGER"       /* the path when no option */
#define GL_SID_LEN      16                      /* hex digits */

struct gl_ledger;

/* What a session's start record says. */
struct gl_session_info {
    const char *tool;           /* "gauntlet-data", "kestrelctl": no blanks */
    const char *dev;            /* the device or file written: no blanks */
    uint64_t seed, lba, blocks;
    uint32_t bs, threads;
    const char *pattern;        /* a fixed-pattern writer's pattern, or NULL */
};

/*
 * The ledger's path from a tool's options: opt_path (--ledger) if given,
 * else NULL with no_ledger (--no-ledger), else $GAUNTLET_LEDGER if set and
 * not empty, else NULL (no ledger).
 */
const char *gl_path_choose(const char *opt_path, bool no_ledger);

/*
 * Open the ledger at path and start a session (its S record).  Returns the
 * ledger, or NULL with a message ("ledger PATH: ...: strerror") in err.
 */
struct gl_ledger *gl_open(const char *path, const struct gl_session_info *info,
                          char *err, size_t errlen);

/* The session's id, as its records carry it (GL_SID_LEN hex digits). */
const char *gl_sid(const struct gl_ledger *l);

/* The csum field of a W record: the fold over nblocks stress blocks. */
uint64_t gl_write_csum(const uint8_t *buf, uint64_t nblocks, uint32_t bs);

/* The csum field of a WP record: the fold of gd_bytes_csum over nblocks. */
uint64_t gl_pattern_csum(const uint8_t *buf, uint64_t nblocks, uint32_t bs);

/* A WP record: a fixed-pattern write completed with success (buf: its
 * nblocks blocks, as written); pattern: gd_pattern_name's. */
int gl_pattern_acked(struct gl_ledger *l, uint64_t lba, uint64_t nblocks,
                     const char *pattern, uint64_t seed, const uint8_t *buf);
/* An XP record: that write failed (each block old or new). */
int gl_pattern_failed(struct gl_ledger *l, uint64_t lba, uint64_t nblocks,
                      const char *pattern, uint64_t seed);

/* A W record: the write completed with success (buf: its nblocks blocks). */
int gl_write_acked(struct gl_ledger *l, uint32_t thread, uint64_t lba,
                   uint64_t nblocks, uint64_t gen, const uint8_t *buf);
/* An X record: the write failed; each block holds its old content or this
 * write's. */
int gl_write_failed(struct gl_ledger *l, uint32_t thread, uint64_t lba,
                    uint64_t nblocks, uint64_t gen);

/* A B record, before the flush is submitted; *n is its number. */
int gl_flush_begin(struct gl_ledger *l, uint64_t *n);
/* F (ok) or FX, once flush n completed. */
int gl_flush_end(struct gl_ledger *l, uint64_t n, bool ok);

/* The E record (a clean end); the ledger stays open. */
int gl_end(struct gl_ledger *l);

/* Close and free (NULL is fine); no record. */
void gl_close(struct gl_ledger *l);

/* What the last failing call did wrong, with the path. */
const char *gl_error(const struct gl_ledger *l);

#endif /* GAUNTLET_DATA_LEDGER_H */
