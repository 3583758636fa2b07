// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * gauntlet-data stress: verified random reads and writes of stress blocks
 * (pattern.h) by T threads on disjoint slices of a file or block device.
 * The command's interface is described in gauntlet-data.c's header.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data_tool.h"
#include "ledger.h"
#include "pattern.h"

#define GONE_WAIT_S     10.0            /* a removed device's node goes by then */

/* ---- stress -------------------------------------------------------------- */

struct stress_cfg {
    struct gd_target *t;
    uint32_t threads, bs, blocks_max, read_pct, flush_pct;
    bool allow_errors;          /* I/O errors are counted, bad data never */
    struct gl_ledger *ledger;   /* NULL: no ledger (ledger.h) */
    uint64_t lba, blocks, seed;
    double duration;            /* 0: until SIGTERM/SIGINT */
};

/*
 * One worker.  It owns blocks [lba0, lba0 + nblk) and does one request at a
 * time, so gen[i] (0: not written by this run) is exactly what block i
 * holds once a write completed: every read is checked against it.
 */
struct worker {
    pthread_t tid;
    uint32_t id;
    const struct stress_cfg *cfg;
    uint64_t lba0, nblk;
    uint64_t *gen;
    uint64_t *alt;              /* a failed write's generation: the block
                                   holds gen or alt (0: none) */
    uint64_t next_gen;
    uint64_t rng;
    uint8_t *buf, *exp;
    /* results */
    uint64_t reads, writes, flushes, bytes_read, bytes_written;
    uint64_t verified, unwritten, final_verified, mismatches, errors;
    int io_err;                 /* errno of the I/O error that stopped it */
    const char *io_op;
    uint64_t io_lba;
};

static atomic_int stress_stop;              /* a worker failed: all stop */
static volatile sig_atomic_t stress_term;   /* SIGTERM/SIGINT: final pass */
static atomic_ulong stress_reported;

static void stress_on_term(int sig)
{
    (void)sig;
    stress_term = 1;
}

static uint64_t worker_rnd(struct worker *w)
{
    w->rng += 0x9e3779b97f4a7c15ull;
    return gd_mix64(w->rng);
}

/*
 * An I/O error.  With --allow-errors, while the device node is there, it
 * is counted and the run goes on (a kernel fault or a device fault made
 * one request fail); otherwise it ends the run (a removal, judged at the
 * end).  True when the run goes on.
 */
static bool worker_io_error(struct worker *w, const char *op, uint64_t lba, int err)
{
    err = err ? err : EIO;
    if (w->cfg->allow_errors && !access(w->cfg->t->path, F_OK)) {
        if (w->errors++ < 3) {
            fprintf(stderr, PROG ": I/O error tolerated (--allow-errors) %s thread "
                    "%u %s lba %" PRIu64 ": %s\n", w->cfg->t->path, w->id, op, lba,
                    strerror(err));
        }
        usleep(1000);           /* a failing device is not a busy loop */
        return true;
    }
    w->io_err = err;
    w->io_op = op;
    w->io_lba = lba;
    fprintf(stderr, PROG ": I/O ERROR %s thread %u %s lba %" PRIu64 ": %s\n",
            w->cfg->t->path, w->id, op, lba, strerror(w->io_err));
    atomic_store(&stress_stop, 1);
    return false;
}

/* A ledger record could not be written: the run cannot be judged. */
static void ledger_check_ret(const struct stress_cfg *c, int ret)
{
    if (ret) {
        gd_die("%s", gl_error(c->ledger));
    }
}

/*
 * A write of blocks [lba, lba + nb) with generation gen completed: from now
 * on they must read back as that write, and the ledger's W record says so
 * before this thread issues anything else.
 */
static void worker_acknowledged(struct worker *w, uint64_t lba, uint32_t nb,
                                uint64_t gen)
{
    if (w->cfg->ledger) {
        ledger_check_ret(w->cfg, gl_write_acked(w->cfg->ledger, w->id, lba, nb, gen,
                                                w->buf));
    }
    for (uint32_t j = 0; j < nb; j++) {
        w->gen[lba - w->lba0 + j] = gen;
        w->alt[lba - w->lba0 + j] = 0;
    }
}

/* A write of generation gen failed (--allow-errors): each block holds its
 * old generation or gen, never anything else; after a second failure in a
 * row it is no longer known and is not checked until it is written again. */
static void worker_write_failed(struct worker *w, uint64_t lba, uint32_t nb,
                                uint64_t gen)
{
    if (w->cfg->ledger) {
        ledger_check_ret(w->cfg, gl_write_failed(w->cfg->ledger, w->id, lba, nb, gen));
    }
    for (uint32_t j = 0; j < nb; j++) {
        uint64_t i = lba - w->lba0 + j;

        if (w->alt[i]) {
            w->gen[i] = 0;
            w->alt[i] = 0;
        } else {
            w->alt[i] = gen;
        }
    }
}

/* Check nb blocks read at lba; false on a mismatch (reported). */
static bool worker_check(struct worker *w, uint64_t lba, uint32_t nb, bool final)
{
    const struct stress_cfg *c = w->cfg;
    char desc[320], claims[200];
    bool ok = true;

    for (uint32_t j = 0; j < nb; j++) {
        const uint8_t *got = w->buf + (size_t)j * c->bs;
        uint64_t i = lba - w->lba0 + j, g = w->gen[i], a = w->alt[i];

        if (a) {
            /* after a failed write: the old generation or that write's */
            gd_block_fill(w->exp, c->bs, lba + j, a, c->seed, w->id);
            if (!memcmp(w->exp, got, c->bs)) {
                w->gen[i] = a;
                w->alt[i] = 0;
                final ? w->final_verified++ : w->verified++;
                continue;
            }
        }
        if (!g) {
            w->unwritten++;
            continue;
        }
        gd_block_fill(w->exp, c->bs, lba + j, g, c->seed, w->id);
        if (final) {
            w->final_verified++;
        } else {
            w->verified++;
        }
        if (!memcmp(w->exp, got, c->bs)) {
            w->alt[i] = 0;
            continue;
        }
        w->mismatches++;
        ok = false;
        if (atomic_fetch_add(&stress_reported, 1) < MAX_REPORTS) {
            gd_block_describe(got, c->bs, claims, sizeof(claims));
            snprintf(desc, sizeof(desc), "stress block thread %u gen %" PRIu64
                     " seed %" PRIu64 "%s; %s", w->id, g, c->seed,
                     final ? " (final read-back)" : "", claims);
            gd_report_mismatch(stderr, PROG, c->t->path, lba + j, c->bs,
                               w->exp, got, desc);
        }
    }
    return ok;
}

static bool worker_read(struct worker *w, uint64_t lba, uint32_t nb, bool final)
{
    const struct stress_cfg *c = w->cfg;
    size_t len = (size_t)nb * c->bs;
    ssize_t n;

    memset(w->buf, 0x5a, len);
    n = gd_pread_full(c->t->fd, w->buf, len, (off_t)(lba * c->bs));
    w->reads++;
    if (n != (ssize_t)len) {
        worker_io_error(w, final ? "final read" : "read", lba, n < 0 ? errno : EIO);
        return false;
    }
    w->bytes_read += len;
    if (!worker_check(w, lba, nb, final)) {
        atomic_store(&stress_stop, 1);
        return false;
    }
    return true;
}

static bool worker_write(struct worker *w, uint64_t lba, uint32_t nb)
{
    const struct stress_cfg *c = w->cfg;
    size_t len = (size_t)nb * c->bs;
    uint64_t g = w->next_gen++;

    for (uint32_t j = 0; j < nb; j++) {
        gd_block_fill(w->buf + (size_t)j * c->bs, c->bs, lba + j, g, c->seed, w->id);
    }
    w->writes++;
    if (gd_pwrite_full(c->t->fd, w->buf, len, (off_t)(lba * c->bs)) < 0) {
        int err = errno;

        /* each block holds its old content or this write's */
        worker_write_failed(w, lba, nb, g);
        worker_io_error(w, "write", lba, err);
        return false;
    }
    w->bytes_written += len;
    worker_acknowledged(w, lba, nb, g);
    return true;
}

/* An fdatasync; its B record goes before it, F or FX after. */
static bool worker_flush(struct worker *w)
{
    const struct stress_cfg *c = w->cfg;
    uint64_t n = 0;
    int err = 0;

    if (c->ledger) {
        ledger_check_ret(c, gl_flush_begin(c->ledger, &n));
    }
    w->flushes++;
    if (fdatasync(c->t->fd)) {
        err = errno;
    }
    if (c->ledger) {
        ledger_check_ret(c, gl_flush_end(c->ledger, n, !err));
    }
    if (err) {
        worker_io_error(w, "flush", 0, err);
        return false;
    }
    return true;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    const struct stress_cfg *c = w->cfg;
    uint32_t maxnb = c->blocks_max < w->nblk ? c->blocks_max : (uint32_t)w->nblk;
    double end = gd_now_s() + c->duration;
    const char *mif = getenv("GAUNTLET_MAKE_IT_FAIL");

    /* A kernel fault armed by the harness (task-filter) fails only tasks
     * that opt in: every worker does, once ready, as kestrelctl's do. */
    if (mif && !strcmp(mif, "1")) {
        int fd = open("/proc/thread-self/make-it-fail", O_WRONLY | O_CLOEXEC);

        if (fd >= 0) {
            if (write(fd, "1", 1) != 1) {
                /* the kernel has no fault injection: nothing to opt in to */
            }
            close(fd);
        }
    }

    while (!atomic_load(&stress_stop) && !stress_term &&
           !(c->duration > 0 && gd_now_s() >= end)) {
        uint64_t r = worker_rnd(w), lba;
        uint32_t nb;

        if (c->flush_pct && r % 100 < c->flush_pct) {
            worker_flush(w);
            continue;
        }
        /* mostly small requests, sometimes big ones */
        nb = 1 + (uint32_t)(worker_rnd(w) %
                            ((worker_rnd(w) & 3) ? (maxnb + 3) / 4 : maxnb));
        lba = w->lba0 + worker_rnd(w) % (w->nblk - nb + 1);
        if (worker_rnd(w) % 100 < c->read_pct) {
            worker_read(w, lba, nb, false);
        } else {
            worker_write(w, lba, nb);
        }
    }
    /* The final read-back of every block (unwritten ones are skipped). */
    for (uint64_t i = 0; i < w->nblk && !atomic_load(&stress_stop); i += maxnb) {
        uint32_t nb = w->nblk - i < maxnb ? (uint32_t)(w->nblk - i) : maxnb;
        bool any = false;

        for (uint32_t j = 0; j < nb && !any; j++) {
            any = w->gen[i + j] != 0;
        }
        if (any) {
            worker_read(w, w->lba0 + i, nb, true);
        }
    }
    return NULL;
}

static bool node_gone_within(const char *path, double seconds)
{
    double end = gd_now_s() + seconds;
    struct stat st;

    for (;;) {
        if (stat(path, &st) && errno == ENOENT) {
            return true;
        }
        if (gd_now_s() >= end) {
            return false;
        }
        usleep(100 * 1000);
    }
}

static const struct option stress_options[] = {
    { "lba", required_argument, NULL, 'l' },
    { "blocks", required_argument, NULL, 'n' },
    { "threads", required_argument, NULL, 't' },
    { "duration", required_argument, NULL, 'd' },
    { "seed", required_argument, NULL, 's' },
    { "block-size", required_argument, NULL, 'b' },
    { "blocks-max", required_argument, NULL, 'm' },
    { "read-pct", required_argument, NULL, 'r' },
    { "flush-pct", required_argument, NULL, 'f' },
    { "allow-errors", no_argument, NULL, 'a' },
    { "ledger", required_argument, NULL, 'L' },
    { "no-ledger", no_argument, NULL, 'N' },
    { NULL, 0, NULL, 0 },
};

int gd_cmd_stress(int argc, char **argv)
{
    struct stress_cfg c = {
        .threads = 4, .blocks_max = 32, .read_pct = 50, .flush_pct = 2,
        .seed = 1,
    };
    struct worker *ws, sum;
    struct gd_target t;
    struct sigaction sa;
    bool have_lba = false, have_blocks = false, fail, no_ledger = false;
    const char *ledger_path = NULL;
    uint64_t bs = 0, per, ops, rep;
    double t0, dt;
    int ch, io_err = 0;

    optind = 1;
    while ((ch = getopt_long(argc, argv, "", stress_options, NULL)) != -1) {
        switch (ch) {
        case 'l':
            c.lba = gd_parse_u64("lba", optarg);
            have_lba = true;
            break;
        case 'n':
            c.blocks = gd_parse_u64("blocks", optarg);
            have_blocks = true;
            break;
        case 't':
            c.threads = (uint32_t)gd_parse_u64("threads", optarg);
            if (c.threads < 1 || c.threads > 64) {
                gd_usage_die("stress: --threads must be 1..64");
            }
            break;
        case 'd':
            c.duration = gd_parse_seconds("duration", optarg);
            break;
        case 's':
            c.seed = gd_parse_u64("seed", optarg);
            break;
        case 'b':
            bs = gd_parse_u64("block-size", optarg);
            if (!gd_block_size_ok(bs) || bs < GD_BLOCK_HDR) {
                gd_usage_die("stress: bad --block-size %" PRIu64
                          " (a multiple of 8, %u..%u)", bs, GD_BLOCK_HDR,
                          GD_BLOCK_SIZE_MAX);
            }
            break;
        case 'm':
            c.blocks_max = (uint32_t)gd_parse_u64("blocks-max", optarg);
            if (c.blocks_max < 1 || c.blocks_max > 4096) {
                gd_usage_die("stress: --blocks-max must be 1..4096");
            }
            break;
        case 'r':
            c.read_pct = (uint32_t)gd_parse_u64("read-pct", optarg);
            break;
        case 'f':
            c.flush_pct = (uint32_t)gd_parse_u64("flush-pct", optarg);
            break;
        case 'a':
            c.allow_errors = true;
            break;
        case 'L':
            ledger_path = optarg;
            break;
        case 'N':
            no_ledger = true;
            break;
        default:
            gd_usage_die("stress: bad option");
        }
    }
    if (optind != argc - 1) {
        gd_usage_die("stress: exactly one DEVICE or FILE is needed");
    }
    if (!have_lba || !have_blocks || c.blocks == 0) {
        gd_usage_die("stress: --lba L and --blocks N (> 0) are required");
    }
    if (c.read_pct > 100 || c.flush_pct > 100) {
        gd_usage_die("stress: --read-pct and --flush-pct are percentages (0..100)");
    }
    if (c.blocks < c.threads) {
        gd_usage_die("stress: %" PRIu64 " blocks cannot be split among %u threads",
                  c.blocks, c.threads);
    }

    gd_target_open(&t, argv[optind], true, false, true, (uint32_t)bs);
    if (t.blockdev) {
        if (!bs) {
            bs = t.lbs ? t.lbs : 512;   /* the device's logical block size */
            close(t.fd);
            gd_target_open(&t, argv[optind], true, false, true, (uint32_t)bs);
        }
        if (!t.direct) {
            gd_die("stress: %s: no O_DIRECT with --block-size %" PRIu64 " (the "
                "device's logical block size is %u)", t.path, bs, t.lbs);
        }
    } else if (!bs) {
        bs = 512;
    }
    c.t = &t;
    c.bs = (uint32_t)bs;
    if (c.lba > UINT64_MAX / bs - c.blocks || (c.lba + c.blocks) * bs > t.size) {
        gd_die("stress: lba %" PRIu64 " + %" PRIu64 " blocks of %" PRIu64 " bytes is "
            "beyond the end of %s (%" PRIu64 " bytes)", c.lba, c.blocks, bs,
            t.path, t.size);
    }

    printf("stress: %s %u threads blocks-max %u read %u%% flush %u%% lba %"
           PRIu64 "+%" PRIu64 " (bs %u%s) seed %" PRIu64 " duration %s\n",
           t.path, c.threads, c.blocks_max, c.read_pct, c.flush_pct, c.lba,
           c.blocks, c.bs, t.direct ? ", direct" : ", page cache", c.seed,
           c.duration > 0 ? "limited" : "until stopped");
    ledger_path = gl_path_choose(ledger_path, no_ledger);
    if (ledger_path) {
        struct gl_session_info li = {
            .tool = PROG, .dev = t.path, .seed = c.seed, .bs = c.bs, .lba = c.lba,
            .blocks = c.blocks, .threads = c.threads,
        };
        char err[400];

        c.ledger = gl_open(ledger_path, &li, err, sizeof(err));
        if (!c.ledger) {
            gd_die("stress: %s", err);
        }
        printf("stress: ledger %s session %s\n", ledger_path, gl_sid(c.ledger));
    }
    fflush(stdout);

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = stress_on_term;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    ws = calloc(c.threads, sizeof(*ws));
    if (!ws) {
        gd_die("out of memory");
    }
    per = c.blocks / c.threads;
    t0 = gd_now_s();
    for (uint32_t i = 0; i < c.threads; i++) {
        struct worker *w = &ws[i];

        w->id = i;
        w->cfg = &c;
        w->lba0 = c.lba + i * per;
        w->nblk = i == c.threads - 1 ? c.blocks - i * per : per;
        w->gen = calloc(w->nblk, sizeof(*w->gen));
        w->alt = calloc(w->nblk, sizeof(*w->alt));
        w->buf = gd_alloc_aligned((size_t)c.blocks_max * c.bs);
        w->exp = gd_alloc_aligned(c.bs);
        if (!w->gen || !w->alt) {
            gd_die("out of memory for %" PRIu64 " blocks", w->nblk);
        }
        w->next_gen = 1;
        w->rng = gd_mix64(c.seed ^ (0x1000193ull * (i + 1)));
        if (pthread_create(&w->tid, NULL, worker_main, w)) {
            gd_die("pthread_create failed");
        }
    }
    memset(&sum, 0, sizeof(sum));
    for (uint32_t i = 0; i < c.threads; i++) {
        struct worker *w = &ws[i];

        pthread_join(w->tid, NULL);
        sum.reads += w->reads;
        sum.writes += w->writes;
        sum.flushes += w->flushes;
        sum.bytes_read += w->bytes_read;
        sum.bytes_written += w->bytes_written;
        sum.verified += w->verified;
        sum.final_verified += w->final_verified;
        sum.unwritten += w->unwritten;
        sum.mismatches += w->mismatches;
        sum.errors += w->errors;
        if (w->io_err && !io_err) {
            io_err = w->io_err;
        }
        free(w->gen);
        free(w->alt);
        free(w->buf);
        free(w->exp);
    }
    free(ws);
    if (c.ledger) {
        /* every thread is done: nothing of this session is in flight */
        ledger_check_ret(&c, gl_end(c.ledger));
        gl_close(c.ledger);
    }
    dt = gd_now_s() - t0;
    close(t.fd);

    rep = atomic_load(&stress_reported);
    if (rep > MAX_REPORTS) {
        fprintf(stderr, PROG ": ... %" PRIu64 " more mismatching blocks not shown\n",
                rep - MAX_REPORTS);
    }
    ops = sum.reads + sum.writes + sum.flushes;
    printf("stress: %.1f s, %" PRIu64 " ops (%" PRIu64 " reads, %" PRIu64
           " writes, %" PRIu64 " flushes): %.0f ops/s, %.2f MB/s; verified %"
           PRIu64 " blocks during the run and %" PRIu64 " in the final "
           "read-back, %" PRIu64 " mismatches\n",
           dt, ops, sum.reads, sum.writes, sum.flushes, dt > 0 ? ops / dt : 0.0,
           dt > 0 ? (sum.bytes_read + sum.bytes_written) / dt / 1e6 : 0.0,
           sum.verified, sum.final_verified, sum.mismatches);
    if (sum.errors) {
        printf("stress: %" PRIu64 " I/O error(s) tolerated (--allow-errors)\n",
               sum.errors);
    }

    if (sum.mismatches) {
        fail = true;
    } else if (io_err) {
        bool clean = io_err == EIO || io_err == ENODEV || io_err == ENXIO ||
                     io_err == ENOSPC;

        if (clean && t.blockdev && node_gone_within(t.path, GONE_WAIT_S)) {
            printf("stress: %s is gone after %s: the device was removed; "
                   "no bad data in %" PRIu64 " verified blocks\n", t.path,
                   strerror(io_err), sum.verified + sum.final_verified);
            printf("stress: PASS (device removed)\n");
            return 0;
        }
        fprintf(stderr, PROG ": stress: I/O error (%s) on %s, which %s\n",
                strerror(io_err), t.path, !clean ? "is not a removal error" :
                t.blockdev ? "is still there after 10 s" : "is not a block device");
        fail = true;
    } else {
        fail = false;
    }
    printf("stress: %s\n", fail ? "FAIL" : "PASS");
    return fail ? 1 : 0;
}
