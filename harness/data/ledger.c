// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The write ledger's writer (ledger.h).  Records are formatted into a
 * buffer and written with one write(2) under the mutex, so that the order
 * of the lines is the order in which the events were recorded; tcdrain()
 * on a tty happens outside the mutex (it waits for every byte queued,
 * ours included).
 */
#define _GNU_SOURCE
#include "ledger.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <termios.h>
#include <unistd.h>

#include "pattern.h"

#define GL_LINE_MAX 512

struct gl_ledger {
    pthread_mutex_t lock;
    int fd;
    bool tty;
    char *path;
    char sid[GL_SID_LEN + 1];
    uint32_t bs;                /* the session's block size */
    uint64_t seq;               /* last W/X sequence number */
    uint64_t flushes;           /* last B number */
    char err[320];
};

const char *gl_path_choose(const char *opt_path, bool no_ledger)
{
    const char *env;

    if (opt_path) {
        return opt_path;
    }
    if (no_ledger) {
        return NULL;
    }
    env = getenv(GL_ENV);
    return env && *env ? env : NULL;
}

static int gl_fail(struct gl_ledger *l, int err, const char *what)
{
    snprintf(l->err, sizeof(l->err), "ledger %s: %s: %s", l->path, what,
             strerror(err));
    return -err;
}

/* Write the whole line; the caller holds the lock. */
static int gl_put_locked(struct gl_ledger *l, const char *line, size_t len)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = write(l->fd, line + done, len - done);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return gl_fail(l, n < 0 ? errno : EIO, "write");
        }
        done += (size_t)n;
    }
    return 0;
}

static int gl_drain(struct gl_ledger *l)
{
    while (l->tty && tcdrain(l->fd)) {
        if (errno != EINTR) {
            int err = errno;

            pthread_mutex_lock(&l->lock);
            gl_fail(l, err, "tcdrain");
            pthread_mutex_unlock(&l->lock);
            return -err;
        }
    }
    return 0;
}

static bool gl_word_ok(const char *s)
{
    if (!s || !*s) {
        return false;
    }
    for (; *s; s++) {
        if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f) {
            return false;
        }
    }
    return true;
}

static int gl_set_raw(struct gl_ledger *l)
{
    struct termios t;
    speed_t ispeed, ospeed;

    if (tcgetattr(l->fd, &t)) {
        return gl_fail(l, errno, "tcgetattr");
    }
    ispeed = cfgetispeed(&t);
    ospeed = cfgetospeed(&t);
    cfmakeraw(&t);
    cfsetispeed(&t, ispeed);
    cfsetospeed(&t, ospeed);
    if (tcsetattr(l->fd, TCSANOW, &t)) {
        return gl_fail(l, errno, "tcsetattr");
    }
    return 0;
}

struct gl_ledger *gl_open(const char *path, const struct gl_session_info *info,
                          char *err, size_t errlen)
{
    struct gl_ledger *l = calloc(1, sizeof(*l));
    uint8_t rnd[GL_SID_LEN / 2];
    char line[GL_LINE_MAX];
    size_t got = 0;
    int n;

    if (!l || !(l->path = strdup(path))) {
        snprintf(err, errlen, "ledger %s: out of memory", path);
        free(l);
        return NULL;
    }
    pthread_mutex_init(&l->lock, NULL);
    l->fd = -1;
    l->bs = info->bs;
    if (!gl_word_ok(info->tool) || !gl_word_ok(info->dev) ||
        (info->pattern && !gl_word_ok(info->pattern))) {
        snprintf(l->err, sizeof(l->err), "ledger %s: the tool name and the "
                 "device path must be printable and without blanks ('%s')",
                 path, info->dev ? info->dev : "");
        goto fail;
    }
    while (got < sizeof(rnd)) {
        ssize_t r = getrandom(rnd + got, sizeof(rnd) - got, 0);

        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            gl_fail(l, errno, "getrandom");
            goto fail;
        }
        got += (size_t)r;
    }
    for (size_t i = 0; i < sizeof(rnd); i++) {
        snprintf(l->sid + 2 * i, 3, "%02x", rnd[i]);
    }
    l->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOCTTY | O_CLOEXEC, 0644);
    if (l->fd < 0) {
        gl_fail(l, errno, "open");
        goto fail;
    }
    l->tty = isatty(l->fd);
    if (l->tty && gl_set_raw(l)) {
        goto fail;
    }
    n = snprintf(line, sizeof(line), GL_MAGIC " S %s tool=%s dev=%s seed=%"
                 PRIu64 " bs=%" PRIu32 " lba=%" PRIu64 " blocks=%" PRIu64
                 " threads=%" PRIu32 "%s%s\n", l->sid, info->tool, info->dev,
                 info->seed, info->bs, info->lba, info->blocks, info->threads,
                 info->pattern ? " pattern=" : "",
                 info->pattern ? info->pattern : "");
    if (n <= 0 || (size_t)n >= sizeof(line)) {
        snprintf(l->err, sizeof(l->err), "ledger %s: the device path is too "
                 "long for a record", path);
        goto fail;
    }
    if (gl_put_locked(l, line, (size_t)n) || gl_drain(l)) {
        goto fail;
    }
    return l;

fail:
    snprintf(err, errlen, "%s", l->err);
    gl_close(l);
    return NULL;
}

const char *gl_sid(const struct gl_ledger *l)
{
    return l->sid;
}

const char *gl_error(const struct gl_ledger *l)
{
    return l->err;
}

uint64_t gl_write_csum(const uint8_t *buf, uint64_t nblocks, uint32_t bs)
{
    uint64_t c = 0;

    /* gd_block_fill stores gd_block_csum() in the block: no second pass */
    for (uint64_t i = 0; i < nblocks; i++) {
        c = gd_mix64(c ^ gd_block_csum_stored(buf + i * bs));
    }
    return c;
}

uint64_t gl_pattern_csum(const uint8_t *buf, uint64_t nblocks, uint32_t bs)
{
    uint64_t c = 0;

    for (uint64_t i = 0; i < nblocks; i++) {
        c = gd_mix64(c ^ gd_bytes_csum(buf + i * bs, bs));
    }
    return c;
}

/* Format (with the lock held, so that counters follow the line order) and
 * write one record. */
static int __attribute__((format(printf, 3, 4)))
gl_record_locked(struct gl_ledger *l, char *line, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, GL_LINE_MAX, fmt, ap);
    va_end(ap);
    if (n <= 0 || n >= GL_LINE_MAX) {
        return gl_fail(l, EOVERFLOW, "format");
    }
    return gl_put_locked(l, line, (size_t)n);
}

static int gl_write_record(struct gl_ledger *l, bool acked, uint32_t thread,
                           uint64_t lba, uint64_t nblocks, uint64_t gen,
                           uint64_t csum)
{
    char line[GL_LINE_MAX];
    int ret;

    pthread_mutex_lock(&l->lock);
    l->seq++;
    if (acked) {
        ret = gl_record_locked(l, line, "W %s %" PRIu64 " %" PRIu32 " %" PRIu64
                               " %" PRIu64 " %" PRIu64 " %016" PRIx64 "\n",
                               l->sid, l->seq, thread, lba, nblocks, gen, csum);
    } else {
        ret = gl_record_locked(l, line, "X %s %" PRIu64 " %" PRIu32 " %" PRIu64
                               " %" PRIu64 " %" PRIu64 "\n",
                               l->sid, l->seq, thread, lba, nblocks, gen);
    }
    pthread_mutex_unlock(&l->lock);
    return ret ? ret : gl_drain(l);
}

int gl_write_acked(struct gl_ledger *l, uint32_t thread, uint64_t lba,
                   uint64_t nblocks, uint64_t gen, const uint8_t *buf)
{
    return gl_write_record(l, true, thread, lba, nblocks, gen,
                           gl_write_csum(buf, nblocks, l->bs));
}

int gl_write_failed(struct gl_ledger *l, uint32_t thread, uint64_t lba,
                    uint64_t nblocks, uint64_t gen)
{
    return gl_write_record(l, false, thread, lba, nblocks, gen, 0);
}

static int gl_pattern_record(struct gl_ledger *l, bool acked, uint64_t lba,
                             uint64_t nblocks, const char *pattern, uint64_t seed,
                             uint64_t csum)
{
    char line[GL_LINE_MAX];
    int ret;

    if (!gl_word_ok(pattern)) {
        pthread_mutex_lock(&l->lock);
        ret = gl_fail(l, EINVAL, "pattern name");
        pthread_mutex_unlock(&l->lock);
        return ret;
    }
    pthread_mutex_lock(&l->lock);
    l->seq++;
    if (acked) {
        ret = gl_record_locked(l, line, "WP %s %" PRIu64 " %" PRIu64 " %" PRIu64
                               " %s %" PRIu64 " %016" PRIx64 "\n", l->sid, l->seq,
                               lba, nblocks, pattern, seed, csum);
    } else {
        ret = gl_record_locked(l, line, "XP %s %" PRIu64 " %" PRIu64 " %" PRIu64
                               " %s %" PRIu64 "\n", l->sid, l->seq, lba, nblocks,
                               pattern, seed);
    }
    pthread_mutex_unlock(&l->lock);
    return ret ? ret : gl_drain(l);
}

int gl_pattern_acked(struct gl_ledger *l, uint64_t lba, uint64_t nblocks,
                     const char *pattern, uint64_t seed, const uint8_t *buf)
{
    return gl_pattern_record(l, true, lba, nblocks, pattern, seed,
                             gl_pattern_csum(buf, nblocks, l->bs));
}

int gl_pattern_failed(struct gl_ledger *l, uint64_t lba, uint64_t nblocks,
                      const char *pattern, uint64_t seed)
{
    return gl_pattern_record(l, false, lba, nblocks, pattern, seed, 0);
}

int gl_flush_begin(struct gl_ledger *l, uint64_t *n)
{
    char line[GL_LINE_MAX];
    int ret;

    pthread_mutex_lock(&l->lock);
    *n = ++l->flushes;
    ret = gl_record_locked(l, line, "B %s %" PRIu64 "\n", l->sid, *n);
    pthread_mutex_unlock(&l->lock);
    return ret ? ret : gl_drain(l);
}

int gl_flush_end(struct gl_ledger *l, uint64_t n, bool ok)
{
    char line[GL_LINE_MAX];
    int ret;

    pthread_mutex_lock(&l->lock);
    ret = gl_record_locked(l, line, "%s %s %" PRIu64 "\n", ok ? "F" : "FX",
                           l->sid, n);
    pthread_mutex_unlock(&l->lock);
    return ret ? ret : gl_drain(l);
}

int gl_end(struct gl_ledger *l)
{
    char line[GL_LINE_MAX];
    int ret;

    pthread_mutex_lock(&l->lock);
    ret = gl_record_locked(l, line, "E %s writes=%" PRIu64 " flushes=%" PRIu64
                           "\n", l->sid, l->seq, l->flushes);
    pthread_mutex_unlock(&l->lock);
    return ret ? ret : gl_drain(l);
}

void gl_close(struct gl_ledger *l)
{
    if (!l) {
        return;
    }
    if (l->fd >= 0) {
        close(l->fd);
    }
    pthread_mutex_destroy(&l->lock);
    free(l->path);
    free(l);
}
