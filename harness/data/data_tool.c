// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The helpers gauntlet-data's commands share (data_tool.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "data_tool.h"

const char *gd_prog = PROG;

void gd_die(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", gd_prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

void gd_usage_die(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", gd_prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see '%s help')\n", gd_prog);
    exit(2);
}

double gd_now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

uint64_t gd_parse_u64(const char *opt, const char *s)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 0);
    if (errno || end == s || *end || s[0] == '-') {
        gd_usage_die("--%s: bad number '%s'", opt, s);
    }
    return v;
}

double gd_parse_seconds(const char *opt, const char *s)
{
    char *end;
    double v = strtod(s, &end);

    if (end == s || *end || !(v >= 0) || v > 1e7) {
        gd_usage_die("--%s: bad number of seconds '%s'", opt, s);
    }
    return v;
}

void *gd_alloc_aligned(size_t len)
{
    void *p = NULL;

    if (posix_memalign(&p, IO_ALIGN, len ? len : IO_ALIGN)) {
        gd_die("out of memory (%zu bytes)", len);
    }
    return p;
}

/* ---- the file or device -------------------------------------------------- */

/* Read all of len at off; returns bytes read (short only at end of file) or -1. */
ssize_t gd_pread_full(int fd, void *buf, size_t len, off_t off)
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

ssize_t gd_pwrite_full(int fd, const void *buf, size_t len, off_t off)
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
void gd_drop_caches(struct gd_target *t)
{
    int fd;

    if (fdatasync(t->fd) && errno != EINVAL) {
        gd_die("%s: fdatasync: %s", t->path, strerror(errno));
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
void gd_target_open(struct gd_target *t, const char *path, bool writable,
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
            gd_die("cannot open %s: %s", path, strerror(errno));
        }
    }
    if (t->fd < 0) {
        t->fd = open(path, flags, 0644);
    }
    if (t->fd < 0) {
        gd_die("cannot open %s: %s", path, strerror(errno));
    }
    if (fstat(t->fd, &st)) {
        gd_die("%s: fstat: %s", path, strerror(errno));
    }
    if (t->blockdev) {
        if (ioctl(t->fd, BLKGETSIZE64, &t->size)) {
            gd_die("%s: BLKGETSIZE64: %s", path, strerror(errno));
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
        gd_die("%s is neither a regular file nor a block device", path);
    }
}

/* An O_DIRECT request the kernel refused: reopen through the page cache. */
void gd_target_undirect(struct gd_target *t, bool writable)
{
    printf("%s: O_DIRECT refused (%s): using the page cache\n", t->path,
           strerror(EINVAL));
    close(t->fd);
    t->fd = open(t->path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (t->fd < 0) {
        gd_die("cannot reopen %s: %s", t->path, strerror(errno));
    }
    t->direct = false;
}
