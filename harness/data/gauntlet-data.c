// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * gauntlet-data: target-neutral data tools over any file or block device.
 * The host build checks VM backing files; the static build is the guest
 * image's /bin/gauntlet-data.  Patterns and block formats: pattern.h.
 *
 *   gauntlet-data write  PATH --blocks N [--lba L] [--pattern P] [--seed S]
 *                        [--block-size B] [--ledger PATH | --no-ledger]
 *   gauntlet-data verify PATH --blocks N [--lba L] [--pattern P] [--seed S]
 *                        [--block-size B] [--cached]
 *       Write or check a fixed pattern (seq|random|zero|0xNN, default seq,
 *       seed 0, block size 512) over blocks [L, L+N).  A block device is
 *       opened with O_DIRECT; where the kernel refuses it (or the block size
 *       is not a multiple of the device's), the tool uses the page cache,
 *       which `verify` first drops, and says so.  A regular file is read and
 *       written through the page cache (`write` ends with fsync).
 *       `verify --cached` drops nothing (neither the file's pages nor the
 *       system's caches): for a regular file whose writer is gone (a
 *       stopped VM's backing file), whose page cache is the file; the
 *       harness's host check uses it.  A block device is still read with
 *       O_DIRECT where it can be.
 *       `write` records in the write ledger (--ledger PATH, default
 *       $GAUNTLET_LEDGER; --no-ledger: none; docs/ledger.md) every chunk
 *       once pwrite returned (WP, or XP when it failed) and its fsync (B
 *       before, F or FX after); `verify` records nothing.
 *
 *   gauntlet-data flush PATH
 *       fsync(2) the file or block device: for a block device, a cache
 *       FLUSH through its driver (REQ_PREFLUSH), which makes a volatile
 *       write cache durable (a target's `flush` command).
 *
 *   gauntlet-data virtio-queue BDF [--queue N] [--used-range] [--caps]
 *       The ring addresses of a modern virtio-pci device's queue N (default
 *       0), read through its VIRTIO_PCI_CAP_PCI_CFG window in config space;
 *       --used-range prints the used ring's entries as 0xLO-0xHI, for a
 *       fault rule's addr= filter (data_virtio.c).
 *
 *   gauntlet-data stress PATH --lba L --blocks N [--threads T] [--duration S]
 *                        [--seed S] [--block-size B] [--blocks-max M]
 *                        [--read-pct P] [--flush-pct F] [--allow-errors]
 *                        [--ledger PATH | --no-ledger]
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
 *       --ledger PATH (default: $GAUNTLET_LEDGER when set and not empty;
 *       --no-ledger: none) records the run in the write ledger (ledger.h,
 *       docs/ledger.md): every write once it completed (W) or failed (X),
 *       before the thread issues anything else, and every fdatasync (B
 *       before it, F or FX after); gauntlet-ledger checks a backing file
 *       against it on the host.  A tty is set raw and drained after each
 *       record.  A ledger that cannot be opened or written ends the run
 *       with status 1.
 *       The last line is the summary with ops/s and PASS or FAIL.
 *
 * Exit status: 0 success, 1 failure (data mismatch, I/O error), 2 usage.
 *
 * Files: this one (write, verify, main), data_stress.c (stress),
 * data_virtio.c (virtio-queue), data_tool.[ch] (what they share).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data_tool.h"
#include "ledger.h"
#include "pattern.h"

#define CHUNK_BYTES     (1u << 20)      /* write/verify request size */

/* ---- write / verify ------------------------------------------------------ */

static const struct option rw_options[] = {
    { "lba", required_argument, NULL, 'l' },
    { "blocks", required_argument, NULL, 'n' },
    { "pattern", required_argument, NULL, 'p' },
    { "seed", required_argument, NULL, 's' },
    { "block-size", required_argument, NULL, 'b' },
    { "ledger", required_argument, NULL, 'L' },
    { "no-ledger", no_argument, NULL, 'N' },
    { "cached", no_argument, NULL, 'C' },
    { NULL, 0, NULL, 0 },
};

/* A ledger record could not be written: the run cannot be judged. */
static void rw_ledger_ret(struct gl_ledger *l, int ret)
{
    if (ret) {
        gd_die("write: %s", gl_error(l));
    }
}

static int cmd_rw(const char *cmd, int argc, char **argv, bool verify)
{
    struct gd_pattern pat = { .kind = GD_PAT_SEQ };
    uint64_t lba = 0, blocks = 0, bs = 512, bad = 0, reported = 0;
    bool have_blocks = false, no_ledger = false, cached = false;
    const char *ledger_path = NULL;
    struct gl_ledger *l = NULL;
    uint64_t flush_n = 0;
    char err[400], namebuf[GD_PATTERN_NAME_LEN];
    const char *name;
    struct gd_target t;
    uint8_t *buf, *scratch;
    uint32_t chunk;
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "", rw_options, NULL)) != -1) {
        switch (c) {
        case 'l':
            lba = gd_parse_u64("lba", optarg);
            break;
        case 'n':
            blocks = gd_parse_u64("blocks", optarg);
            have_blocks = true;
            break;
        case 'p':
            if (gd_pattern_parse(optarg, &pat, err, sizeof(err))) {
                gd_usage_die("%s: %s", cmd, err);
            }
            break;
        case 's':
            pat.seed = gd_parse_u64("seed", optarg);
            break;
        case 'b':
            bs = gd_parse_u64("block-size", optarg);
            break;
        case 'L':
        case 'N':
            if (verify) {
                gd_usage_die("%s: --ledger and --no-ledger are write's (a read "
                             "records nothing)", cmd);
            }
            if (c == 'L') {
                ledger_path = optarg;
            } else {
                no_ledger = true;
            }
            break;
        case 'C':
            if (!verify) {
                gd_usage_die("%s: --cached is verify's (a write goes through "
                             "the page cache and ends with fsync)", cmd);
            }
            cached = true;
            break;
        default:
            gd_usage_die("%s: bad option", cmd);
        }
    }
    if (optind != argc - 1) {
        gd_usage_die("%s: exactly one FILE or DEVICE is needed", cmd);
    }
    if (!have_blocks || blocks == 0) {
        gd_usage_die("%s: --blocks N (> 0) is required", cmd);
    }
    if (!gd_block_size_ok(bs)) {
        gd_usage_die("%s: bad --block-size %" PRIu64 " (a multiple of 8, 8..%u)",
                  cmd, bs, GD_BLOCK_SIZE_MAX);
    }
    if (lba > UINT64_MAX / bs - blocks) {
        gd_usage_die("%s: --lba %" PRIu64 " + --blocks %" PRIu64 " is too far",
                  cmd, lba, blocks);
    }

    gd_target_open(&t, argv[optind], !verify, !verify, true, (uint32_t)bs);
    if (t.blockdev && (lba + blocks) * bs > t.size) {
        gd_die("%s: lba %" PRIu64 " + %" PRIu64 " blocks of %" PRIu64 " bytes is "
            "beyond the end of the device (%" PRIu64 " bytes)", t.path, lba,
            blocks, bs, t.size);
    }
    if (verify && !t.direct && !cached) {
        gd_drop_caches(&t);
    }
    name = gd_pattern_name(&pat, namebuf);
    ledger_path = verify ? NULL : gl_path_choose(ledger_path, no_ledger);
    if (ledger_path) {
        struct gl_session_info li = {
            .tool = "gauntlet-data-write", .dev = t.path, .seed = pat.seed,
            .bs = (uint32_t)bs, .lba = lba, .blocks = blocks, .threads = 1,
            .pattern = name,
        };

        l = gl_open(ledger_path, &li, err, sizeof(err));
        if (!l) {
            gd_die("write: %s", err);
        }
    }
    chunk = (uint32_t)(CHUNK_BYTES / bs ? CHUNK_BYTES / bs : 1);
    buf = gd_alloc_aligned((size_t)chunk * bs);
    scratch = gd_alloc_aligned(bs);
    for (uint64_t i = 0; i < blocks;) {
        uint32_t nb = blocks - i < chunk ? (uint32_t)(blocks - i) : chunk;
        off_t off = (off_t)((lba + i) * bs);
        size_t len = (size_t)nb * bs;
        ssize_t n;

        if (verify) {
            n = gd_pread_full(t.fd, buf, len, off);
            if (n < 0 && errno == EINVAL && t.direct) {
                gd_target_undirect(&t, false);
                if (!cached) {
                    gd_drop_caches(&t);
                }
                continue;
            }
            if (n < 0) {
                gd_die("%s: read at byte %lld: %s", t.path, (long long)off,
                    strerror(errno));
            }
            if ((size_t)n < len) {
                gd_die("%s: lba %" PRIu64 " (byte %lld) is beyond the end of the file",
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
            n = gd_pwrite_full(t.fd, buf, len, off);
            if (n < 0 && errno == EINVAL && t.direct) {
                gd_target_undirect(&t, true);
                continue;
            }
            int werr = errno;

            if (l) {
                /* once pwrite returned, before the next: WP, or XP if it failed */
                rw_ledger_ret(l, n == (ssize_t)len ?
                              gl_pattern_acked(l, lba + i, nb, name, pat.seed, buf) :
                              gl_pattern_failed(l, lba + i, nb, name, pat.seed));
            }
            if (n < 0) {
                gd_die("%s: write at byte %lld: %s", t.path, (long long)off,
                    strerror(werr));
            }
        }
        i += nb;
    }
    if (!verify) {
        /* fsync: for a block device, a cache FLUSH (B before, F or FX after) */
        int ret, e;

        if (l) {
            rw_ledger_ret(l, gl_flush_begin(l, &flush_n));
        }
        ret = fsync(t.fd);
        e = errno;
        if (l) {
            rw_ledger_ret(l, gl_flush_end(l, flush_n, ret == 0));
            rw_ledger_ret(l, gl_end(l));
            gl_close(l);
        }
        if (ret) {
            gd_die("%s: fsync: %s", t.path, strerror(e));
        }
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
           name, pat.seed, bs, t.direct ? " direct" : "",
           verify ? (bad ? "MISMATCH" : "ok") : "written");
    if (bad) {
        fprintf(stderr, PROG ": %s: %" PRIu64 " of %" PRIu64 " blocks MISMATCH\n",
                t.path, bad, blocks);
    }
    return bad ? 1 : 0;
}

/* flush PATH: fsync, which for a block device sends a cache FLUSH */
static int cmd_flush(int argc, char **argv)
{
    int fd;

    if (argc != 2) {
        gd_usage_die("flush: exactly one FILE or DEVICE is needed");
    }
    fd = open(argv[1], O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        gd_die("flush: %s: %s", argv[1], strerror(errno));
    }
    if (fsync(fd)) {
        int err = errno;

        close(fd);
        gd_die("flush: %s: fsync: %s", argv[1], strerror(err));
    }
    close(fd);
    printf("flush: %s: flushed\n", argv[1]);
    return 0;
}

/* ---- main ---------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
"usage: " PROG " COMMAND PATH [OPTIONS]\n"
"  write  PATH --blocks N [--lba L] [--pattern P] [--seed S] [--block-size B]\n"
"         [--ledger PATH | --no-ledger]\n"
"  verify PATH --blocks N [--lba L] [--pattern P] [--seed S] [--block-size B]\n"
"        a fixed pattern (seq|random|zero|0xNN; default seq, seed 0, block\n"
"        size 512) on a file or block device (O_DIRECT where it works);\n"
"        write ends with fsync, and records every chunk and the fsync in\n"
"        the write ledger (default $GAUNTLET_LEDGER); verify records nothing\n"
"  stress PATH --lba L --blocks N [--threads T] [--duration S] [--seed S]\n"
"         [--block-size B] [--blocks-max M] [--read-pct P] [--flush-pct F]\n"
"         [--allow-errors] [--ledger PATH | --no-ledger]\n"
"        verified random I/O until S seconds pass (0: until SIGTERM/SIGINT),\n"
"        then a read-back of every block written; a removed device ends it\n"
"        with status 0, bad data always fails (MISMATCH); --ledger PATH\n"
"        (default $GAUNTLET_LEDGER) records every completed write and\n"
"        fdatasync for gauntlet-ledger (docs/ledger.md)\n"
"  flush  PATH\n"
"        fsync the file or device (a block device's cache FLUSH)\n"
"  virtio-queue BDF [--queue N] [--used-range] [--caps] [--config FILE]\n"
"        a modern virtio-pci device's ring addresses for queue N (default 0),\n"
"        through its PCI_CFG window; --used-range: the used ring's entries as\n"
"        0xLO-0xHI (a fault rule's addr= range); --caps: the cap walk only\n"
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
        return gd_cmd_stress(argc - 1, argv + 1);
    }
    if (!strcmp(cmd, "flush")) {
        return cmd_flush(argc - 1, argv + 1);
    }
    if (!strcmp(cmd, "virtio-queue")) {
        return gd_cmd_virtio_queue(argc - 1, argv + 1);
    }
    usage(stderr);
    fprintf(stderr, PROG ": unknown command '%s'\n", cmd);
    return 2;
}
