/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the commands of gauntlet-data share (gauntlet-data.c: write, verify
 * and main; data_stress.c: stress): messages and exits, numbers from the
 * command line, aligned buffers, and the file or block device under test.
 * Every function here that fails prints "gauntlet-data: ..." and exits:
 * status 1 (gd_die), or 2 for bad usage (gd_usage_die).
 */
#ifndef GAUNTLET_DATA_TOOL_H
#define GAUNTLET_DATA_TOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROG            "gauntlet-data"
#define MAX_REPORTS     10              /* mismatching blocks printed in full */
#define IO_ALIGN        4096            /* O_DIRECT buffer alignment */

/* The program's name in messages: PROG unless its main says otherwise
 * (gauntlet-ledger links the messages and numbers too). */
extern const char *gd_prog;
void __attribute__((format(printf, 1, 2), noreturn)) gd_die(const char *fmt, ...);
void __attribute__((format(printf, 1, 2), noreturn)) gd_usage_die(const char *fmt, ...);
double gd_now_s(void);                  /* CLOCK_MONOTONIC, seconds */
uint64_t gd_parse_u64(const char *opt, const char *s);
double gd_parse_seconds(const char *opt, const char *s);
void *gd_alloc_aligned(size_t len);     /* IO_ALIGN-aligned, never NULL */

/* The file or device (gd_target_open). */
struct gd_target {
    const char *path;
    int fd;
    bool blockdev;
    bool direct;                /* opened with O_DIRECT */
    uint32_t lbs;               /* logical block size (block devices) */
    uint64_t size;              /* bytes */
};

/* Read or write all of len at off; -1 with errno on error (a read is short
 * only at the end of the file). */
ssize_t gd_pread_full(int fd, void *buf, size_t len, off_t off);
ssize_t gd_pwrite_full(int fd, const void *buf, size_t len, off_t off);
/* Best effort: make the next buffered reads come from the device. */
void gd_drop_caches(struct gd_target *t);
/*
 * Open path.  want_direct: use O_DIRECT on a block device when bs is a
 * multiple of its logical block size and the kernel accepts it.  writable:
 * O_RDWR (O_CREAT too for a regular file when create).
 */
void gd_target_open(struct gd_target *t, const char *path, bool writable,
                    bool create, bool want_direct, uint32_t bs);
/* An O_DIRECT request the kernel refused: reopen through the page cache. */
void gd_target_undirect(struct gd_target *t, bool writable);

/* The commands (argv[0] is the command's name). */
int gd_cmd_stress(int argc, char **argv);       /* data_stress.c */
int gd_cmd_virtio_queue(int argc, char **argv); /* data_virtio.c */

#endif /* GAUNTLET_DATA_TOOL_H */
