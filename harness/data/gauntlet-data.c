// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * gauntlet-data: target-neutral data tools over any file or block device.
 * The host build checks VM backing files; the static build is the guest
 * image's /bin/gauntlet-data.  Patterns and block formats: pattern.h.
 *
 *   gauntlet-data write  PATH --blocks N [--lba L] [--pattern P] [--seed S]
 *                        [--block-size B]
 *   gauntlet-data verify PATH --blocks N [--lba L] [--pattern P] [--seed S]
 *                        [--block-size B]
 *       Write or check a fixed pattern (seq|random|zero|0xNN, default seq,
 *       seed 0, block size 512) over blocks [L, L+N).  A block device is
 *       opened with O_DIRECT; where the kernel refuses it (or the block size
 *       is not a multiple of the device's), the tool uses the page cache,
 *       which `verify` first drops, and says so.  A regular file is read and
 *       written through the page cache (`write` ends with fsync).
 *
 *   gauntlet-data stress PATH --lba L --blocks N [--threads T] [--duration S]
 *                        [--seed S] [--block-size B] [--blocks-max M]
 *                        [--read-pct P] [--flush-pct F] [--allow-errors]
 *       Verified random reads and writes of self-describing stress blocks
 *       (pattern.h) over [L, L+N): T threads (default 4) each own an equal
 *       slice and remember the generation they last wrote to every block;
 *       every read is checked against the last completed write.  It runs
 *       for S seconds (0, the default: until SIGTERM or SIGINT), then reads
 *       back every block it wrote.  Requests are 1..M blocks (default 32),
 *       P% reads (default 50), F% fdatasync (default 2).  A block device is
 *       opened with O_DIRECT (block size: the device's logical block size
 *       unless given); a regular file, through the page cache.
 *       - bad data ends the run at once with the MISMATCH report: status 1;
 *       - EIO, ENODEV, ENXIO or ENOSPC (the kernel drops a removed disk's
 *         capacity to 0 first, and writes past the end fail so) from a
 *         device whose node then disappears within 10 s (a removed device)
 *         end it with status 0 and a message; any other I/O error, or a
 *         node that stays: status 1;
 *       - with --allow-errors, an I/O error while the node is there is
 *         counted and the run goes on (a fault made a request fail): a
 *         block a failed write touched must then read back as its old
 *         content or that write's, never anything else.
 *       With GAUNTLET_MAKE_IT_FAIL=1 in its environment (the harness sets it
 *       once a kernel fault is armed), every worker opts in to the kernel's
 *       fault injection (/proc/thread-self/make-it-fail).
 *       The last line is the summary with ops/s and PASS or FAIL.
 *
 * Exit status: 0 success, 1 failure (data mismatch, I/O error), 2 usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pattern.h"

#define PROG            "gauntlet-data"
#define MAX_REPORTS     10              /* mismatching blocks printed in full */
#define IO_ALIGN        4096            /* O_DIRECT buffer alignment */
#define CHUNK_BYTES     (1u << 20)      /* write/verify request size */
#define GONE_WAIT_S     10.0            /* a removed device's node goes by then */

static void __attribute__((format(printf, 1, 2), noreturn)) die(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, PROG ": ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static void __attribute__((format(printf, 1, 2), noreturn)) usage_die(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, PROG ": ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see '" PROG " help')\n");
    exit(2);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t parse_u64(const char *opt, const char *s)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 0);
    if (errno || end == s || *end || s[0] == '-') {
        usage_die("--%s: bad number '%s'", opt, s);
    }
    return v;
}

static double parse_seconds(const char *opt, const char *s)
{
    char *end;
    double v = strtod(s, &end);

    if (end == s || *end || !(v >= 0) || v > 1e7) {
        usage_die("--%s: bad number of seconds '%s'", opt, s);
    }
    return v;
}

static void *aligned_alloc_or_die(size_t len)
{
    void *p = NULL;

    if (posix_memalign(&p, IO_ALIGN, len ? len : IO_ALIGN)) {
        die("out of memory (%zu bytes)", len);
    }
    return p;
}

/* ---- the file or device -------------------------------------------------- */

struct target {
    const char *path;
    int fd;
    bool blockdev;
    bool direct;                /* opened with O_DIRECT */
    uint32_t lbs;               /* logical block size (block devices) */
    uint64_t size;              /* bytes */
};

/* Read all of len at off; returns bytes read (short only at end of file) or -1. */
static ssize_t pread_full(int fd, void *buf, size_t len, off_t off)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = pread(fd, (char *)buf + done, len - done, off + (off_t)done);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return -1;
        }
        if (n == 0) {
            break;
        }
        done += (size_t)n;
    }
    return (ssize_t)done;
}

static ssize_t pwrite_full(int fd, const void *buf, size_t len, off_t off)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = pwrite(fd, (const char *)buf + done, len - done, off + (off_t)done);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            if (n == 0) {
                errno = EIO;
            }
            return -1;
        }
        done += (size_t)n;
    }
    return (ssize_t)done;
}

/* Best effort: make the next buffered reads come from the device. */
static void drop_caches(struct target *t)
{
    int fd;

    if (fdatasync(t->fd) && errno != EINVAL) {
        die("%s: fdatasync: %s", t->path, strerror(errno));
    }
    posix_fadvise(t->fd, 0, 0, POSIX_FADV_DONTNEED);
    if (t->blockdev) {
        ioctl(t->fd, BLKFLSBUF, 0);
    }
    fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (write(fd, "1", 1) != 1) {
            /* not root: the fadvise above is what we have */
        }
        close(fd);
    }
}

/*
 * Open path.  want_direct: use O_DIRECT on a block device when bs is a
 * multiple of its logical block size and the kernel accepts it.  writable:
 * O_RDWR (O_CREAT too for a regular file when create).
 */
static void target_open(struct target *t, const char *path, bool writable,
                        bool create, bool want_direct, uint32_t bs)
{
    int flags = (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC;
    struct stat st;

    memset(t, 0, sizeof(*t));
    t->path = path;
    t->fd = -1;
    if (stat(path, &st) == 0 && S_ISBLK(st.st_mode)) {
        t->blockdev = true;
    } else if (create && writable) {
        flags |= O_CREAT;
    }
    if (t->blockdev && want_direct) {
        t->fd = open(path, flags | O_DIRECT);
        if (t->fd >= 0) {
            int lbs = 0;

            if (ioctl(t->fd, BLKSSZGET, &lbs) == 0 && lbs > 0) {
                t->lbs = (uint32_t)lbs;
            }
            if (bs && t->lbs && bs % t->lbs == 0) {
                t->direct = true;
            } else {
                close(t->fd);
                t->fd = -1;
            }
        } else if (errno != EINVAL) {
            die("cannot open %s: %s", path, strerror(errno));
        }
    }
    if (t->fd < 0) {
        t->fd = open(path, flags, 0644);
    }
    if (t->fd < 0) {
        die("cannot open %s: %s", path, strerror(errno));
    }
    if (fstat(t->fd, &st)) {
        die("%s: fstat: %s", path, strerror(errno));
    }
    if (t->blockdev) {
        if (ioctl(t->fd, BLKGETSIZE64, &t->size)) {
            die("%s: BLKGETSIZE64: %s", path, strerror(errno));
        }
        if (!t->lbs) {
            int lbs = 0;

            if (ioctl(t->fd, BLKSSZGET, &lbs) == 0 && lbs > 0) {
                t->lbs = (uint32_t)lbs;
            }
        }
    } else if (S_ISREG(st.st_mode)) {
        t->size = (uint64_t)st.st_size;
    } else {
        die("%s is neither a regular file nor a block device", path);
    }
}

/* An O_DIRECT request the kernel refused: reopen through the page cache. */
static void target_undirect(struct target *t, bool writable)
{
    printf("%s: O_DIRECT refused (%s): using the page cache\n", t->path,
           strerror(EINVAL));
    close(t->fd);
    t->fd = open(t->path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (t->fd < 0) {
        die("cannot reopen %s: %s", t->path, strerror(errno));
    }
    t->direct = false;
}

/* ---- write / verify ------------------------------------------------------ */

static const struct option rw_options[] = {
    { "lba", required_argument, NULL, 'l' },
    { "blocks", required_argument, NULL, 'n' },
    { "pattern", required_argument, NULL, 'p' },
    { "seed", required_argument, NULL, 's' },
    { "block-size", required_argument, NULL, 'b' },
    { NULL, 0, NULL, 0 },
};

static int cmd_rw(const char *cmd, int argc, char **argv, bool verify)
{
    struct gd_pattern pat = { .kind = GD_PAT_SEQ };
    uint64_t lba = 0, blocks = 0, bs = 512, bad = 0, reported = 0;
    bool have_blocks = false;
    char err[128], name[GD_PATTERN_NAME_LEN];
    struct target t;
    uint8_t *buf, *scratch;
    uint32_t chunk;
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "", rw_options, NULL)) != -1) {
        switch (c) {
        case 'l':
            lba = parse_u64("lba", optarg);
            break;
        case 'n':
            blocks = parse_u64("blocks", optarg);
            have_blocks = true;
            break;
        case 'p':
            if (gd_pattern_parse(optarg, &pat, err, sizeof(err))) {
                usage_die("%s: %s", cmd, err);
            }
            break;
        case 's':
            pat.seed = parse_u64("seed", optarg);
            break;
        case 'b':
            bs = parse_u64("block-size", optarg);
            break;
        default:
            usage_die("%s: bad option", cmd);
        }
    }
    if (optind != argc - 1) {
        usage_die("%s: exactly one FILE or DEVICE is needed", cmd);
    }
    if (!have_blocks || blocks == 0) {
        usage_die("%s: --blocks N (> 0) is required", cmd);
    }
    if (!gd_block_size_ok(bs)) {
        usage_die("%s: bad --block-size %" PRIu64 " (a multiple of 8, 8..%u)",
                  cmd, bs, GD_BLOCK_SIZE_MAX);
    }
    if (lba > UINT64_MAX / bs - blocks) {
        usage_die("%s: --lba %" PRIu64 " + --blocks %" PRIu64 " is too far",
                  cmd, lba, blocks);
    }

    target_open(&t, argv[optind], !verify, !verify, true, (uint32_t)bs);
    if (t.blockdev && (lba + blocks) * bs > t.size) {
        die("%s: lba %" PRIu64 " + %" PRIu64 " blocks of %" PRIu64 " bytes is "
            "beyond the end of the device (%" PRIu64 " bytes)", t.path, lba,
            blocks, bs, t.size);
    }
    if (verify && !t.direct) {
        drop_caches(&t);
    }
    chunk = (uint32_t)(CHUNK_BYTES / bs ? CHUNK_BYTES / bs : 1);
    buf = aligned_alloc_or_die((size_t)chunk * bs);
    scratch = aligned_alloc_or_die(bs);
    for (uint64_t i = 0; i < blocks;) {
        uint32_t nb = blocks - i < chunk ? (uint32_t)(blocks - i) : chunk;
        off_t off = (off_t)((lba + i) * bs);
        size_t len = (size_t)nb * bs;
        ssize_t n;

        if (verify) {
            n = pread_full(t.fd, buf, len, off);
            if (n < 0 && errno == EINVAL && t.direct) {
                target_undirect(&t, false);
                drop_caches(&t);
                continue;
            }
            if (n < 0) {
                die("%s: read at byte %lld: %s", t.path, (long long)off,
                    strerror(errno));
            }
            if ((size_t)n < len) {
                die("%s: lba %" PRIu64 " (byte %lld) is beyond the end of the file",
                    t.path, lba + i + (uint64_t)n / bs,
                    (long long)(off + n / (ssize_t)bs * (ssize_t)bs));
            }
            bad += gd_pattern_verify(stderr, PROG, t.path, &pat, lba + i, nb,
                                     (uint32_t)bs, buf, scratch, &reported,
                                     MAX_REPORTS);
        } else {
            for (uint32_t j = 0; j < nb; j++) {
                gd_pattern_fill(&pat, lba + i + j, (uint32_t)bs, buf + (size_t)j * bs);
            }
            n = pwrite_full(t.fd, buf, len, off);
            if (n < 0 && errno == EINVAL && t.direct) {
                target_undirect(&t, true);
                continue;
            }
            if (n < 0) {
                die("%s: write at byte %lld: %s", t.path, (long long)off,
                    strerror(errno));
            }
        }
        i += nb;
    }
    if (!verify && fsync(t.fd)) {
        die("%s: fsync: %s", t.path, strerror(errno));
    }
    close(t.fd);
    free(buf);
    free(scratch);
    if (reported > MAX_REPORTS) {
        fprintf(stderr, PROG ": ... %" PRIu64 " more mismatching blocks not shown\n",
                reported - MAX_REPORTS);
    }
    printf("%s: %s lba %" PRIu64 " blocks %" PRIu64 " pattern %s seed %" PRIu64
           " block-size %" PRIu64 "%s: %s\n", t.path, cmd, lba, blocks,
           gd_pattern_name(&pat, name), pat.seed, bs, t.direct ? " direct" : "",
           verify ? (bad ? "MISMATCH" : "ok") : "written");
    if (bad) {
        fprintf(stderr, PROG ": %s: %" PRIu64 " of %" PRIu64 " blocks MISMATCH\n",
                t.path, bad, blocks);
    }
    return bad ? 1 : 0;
}

/* ---- stress -------------------------------------------------------------- */

struct stress_cfg {
    struct target *t;
    uint32_t threads, bs, blocks_max, read_pct, flush_pct;
    bool allow_errors;          /* I/O errors are counted, bad data never */
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

/*
 * A write of blocks [lba, lba + nb) with generation gen completed: from now
 * on they must read back as that write.  (The place where a ledger of
 * acknowledged writes records them.)
 */
static void worker_acknowledged(struct worker *w, uint64_t lba, uint32_t nb,
                                uint64_t gen)
{
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
    n = pread_full(c->t->fd, w->buf, len, (off_t)(lba * c->bs));
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
    if (pwrite_full(c->t->fd, w->buf, len, (off_t)(lba * c->bs)) < 0) {
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

static bool worker_flush(struct worker *w)
{
    w->flushes++;
    if (fdatasync(w->cfg->t->fd)) {
        worker_io_error(w, "flush", 0, errno);
        return false;
    }
    return true;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    const struct stress_cfg *c = w->cfg;
    uint32_t maxnb = c->blocks_max < w->nblk ? c->blocks_max : (uint32_t)w->nblk;
    double end = now_s() + c->duration;
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
           !(c->duration > 0 && now_s() >= end)) {
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
    double end = now_s() + seconds;
    struct stat st;

    for (;;) {
        if (stat(path, &st) && errno == ENOENT) {
            return true;
        }
        if (now_s() >= end) {
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
    { NULL, 0, NULL, 0 },
};

static int cmd_stress(int argc, char **argv)
{
    struct stress_cfg c = {
        .threads = 4, .blocks_max = 32, .read_pct = 50, .flush_pct = 2,
        .seed = 1,
    };
    struct worker *ws, sum;
    struct target t;
    struct sigaction sa;
    bool have_lba = false, have_blocks = false, fail;
    uint64_t bs = 0, per, ops, rep;
    double t0, dt;
    int ch, io_err = 0;

    optind = 1;
    while ((ch = getopt_long(argc, argv, "", stress_options, NULL)) != -1) {
        switch (ch) {
        case 'l':
            c.lba = parse_u64("lba", optarg);
            have_lba = true;
            break;
        case 'n':
            c.blocks = parse_u64("blocks", optarg);
            have_blocks = true;
            break;
        case 't':
            c.threads = (uint32_t)parse_u64("threads", optarg);
            if (c.threads < 1 || c.threads > 64) {
                usage_die("stress: --threads must be 1..64");
            }
            break;
        case 'd':
            c.duration = parse_seconds("duration", optarg);
            break;
        case 's':
            c.seed = parse_u64("seed", optarg);
            break;
        case 'b':
            bs = parse_u64("block-size", optarg);
            if (!gd_block_size_ok(bs) || bs < GD_BLOCK_HDR) {
                usage_die("stress: bad --block-size %" PRIu64
                          " (a multiple of 8, %u..%u)", bs, GD_BLOCK_HDR,
                          GD_BLOCK_SIZE_MAX);
            }
            break;
        case 'm':
            c.blocks_max = (uint32_t)parse_u64("blocks-max", optarg);
            if (c.blocks_max < 1 || c.blocks_max > 4096) {
                usage_die("stress: --blocks-max must be 1..4096");
            }
            break;
        case 'r':
            c.read_pct = (uint32_t)parse_u64("read-pct", optarg);
            break;
        case 'f':
            c.flush_pct = (uint32_t)parse_u64("flush-pct", optarg);
            break;
        case 'a':
            c.allow_errors = true;
            break;
        default:
            usage_die("stress: bad option");
        }
    }
    if (optind != argc - 1) {
        usage_die("stress: exactly one DEVICE or FILE is needed");
    }
    if (!have_lba || !have_blocks || c.blocks == 0) {
        usage_die("stress: --lba L and --blocks N (> 0) are required");
    }
    if (c.read_pct > 100 || c.flush_pct > 100) {
        usage_die("stress: --read-pct and --flush-pct are percentages (0..100)");
    }
    if (c.blocks < c.threads) {
        usage_die("stress: %" PRIu64 " blocks cannot be split among %u threads",
                  c.blocks, c.threads);
    }

    target_open(&t, argv[optind], true, false, true, (uint32_t)bs);
    if (t.blockdev) {
        if (!bs) {
            bs = t.lbs ? t.lbs : 512;   /* the device's logical block size */
            close(t.fd);
            target_open(&t, argv[optind], true, false, true, (uint32_t)bs);
        }
        if (!t.direct) {
            die("stress: %s: no O_DIRECT with --block-size %" PRIu64 " (the "
                "device's logical block size is %u)", t.path, bs, t.lbs);
        }
    } else if (!bs) {
        bs = 512;
    }
    c.t = &t;
    c.bs = (uint32_t)bs;
    if (c.lba > UINT64_MAX / bs - c.blocks || (c.lba + c.blocks) * bs > t.size) {
        die("stress: lba %" PRIu64 " + %" PRIu64 " blocks of %" PRIu64 " bytes is "
            "beyond the end of %s (%" PRIu64 " bytes)", c.lba, c.blocks, bs,
            t.path, t.size);
    }

    printf("stress: %s %u threads blocks-max %u read %u%% flush %u%% lba %"
           PRIu64 "+%" PRIu64 " (bs %u%s) seed %" PRIu64 " duration %s\n",
           t.path, c.threads, c.blocks_max, c.read_pct, c.flush_pct, c.lba,
           c.blocks, c.bs, t.direct ? ", direct" : ", page cache", c.seed,
           c.duration > 0 ? "limited" : "until stopped");
    fflush(stdout);

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = stress_on_term;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    ws = calloc(c.threads, sizeof(*ws));
    if (!ws) {
        die("out of memory");
    }
    per = c.blocks / c.threads;
    t0 = now_s();
    for (uint32_t i = 0; i < c.threads; i++) {
        struct worker *w = &ws[i];

        w->id = i;
        w->cfg = &c;
        w->lba0 = c.lba + i * per;
        w->nblk = i == c.threads - 1 ? c.blocks - i * per : per;
        w->gen = calloc(w->nblk, sizeof(*w->gen));
        w->alt = calloc(w->nblk, sizeof(*w->alt));
        w->buf = aligned_alloc_or_die((size_t)c.blocks_max * c.bs);
        w->exp = aligned_alloc_or_die(c.bs);
        if (!w->gen || !w->alt) {
            die("out of memory for %" PRIu64 " blocks", w->nblk);
        }
        w->next_gen = 1;
        w->rng = gd_mix64(c.seed ^ (0x1000193ull * (i + 1)));
        if (pthread_create(&w->tid, NULL, worker_main, w)) {
            die("pthread_create failed");
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
    dt = now_s() - t0;
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

/* ---- main ---------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
"usage: " PROG " COMMAND PATH [OPTIONS]\n"
"  write  PATH --blocks N [--lba L] [--pattern P] [--seed S] [--block-size B]\n"
"  verify PATH --blocks N [--lba L] [--pattern P] [--seed S] [--block-size B]\n"
"        a fixed pattern (seq|random|zero|0xNN; default seq, seed 0, block\n"
"        size 512) on a file or block device (O_DIRECT where it works)\n"
"  stress PATH --lba L --blocks N [--threads T] [--duration S] [--seed S]\n"
"         [--block-size B] [--blocks-max M] [--read-pct P] [--flush-pct F]\n"
"         [--allow-errors]\n"
"        verified random I/O until S seconds pass (0: until SIGTERM/SIGINT),\n"
"        then a read-back of every block written; a removed device ends it\n"
"        with status 0, bad data always fails (MISMATCH)\n"
"Exit status: 0 ok, 1 failure (data mismatch, I/O error), 2 usage.\n");
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "help";

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return argc > 1 ? 0 : 2;
    }
    if (!strcmp(cmd, "write")) {
        return cmd_rw("write", argc - 1, argv + 1, false);
    }
    if (!strcmp(cmd, "verify")) {
        return cmd_rw("verify", argc - 1, argv + 1, true);
    }
    if (!strcmp(cmd, "stress")) {
        return cmd_stress(argc - 1, argv + 1);
    }
    usage(stderr);
    fprintf(stderr, PROG ": unknown command '%s'\n", cmd);
    return 2;
}
