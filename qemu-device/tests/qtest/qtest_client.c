/*
 * qtest_client.c - see qtest_client.h.
 *
 * Copyright (c) Gauntlet project.  GPL-2.0-or-later.
 *
 * Written from QEMU's protocol documentation (softmmu/qtest.c, QMP spec);
 * no QEMU code is included.
 */
#define _GNU_SOURCE
#include "qtest_client.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define QT_MAX_IRQ 256
#define QT_ERRLEN 8192
#define QT_LOGTAIL 2048
#define QT_CHUNK (48 * 1024)           /* bytes per b64read/b64write     */
#define QT_MEMSET_CHUNK (1024 * 1024)
#define QT_DEATH_REAP_MS 3000          /* wait for exit status after EOF */

#define PCI_CMD_IO 0x1
#define PCI_CMD_MEM 0x2
#define PCI_CMD_MASTER 0x4
#define PCI_CMD_INTX_DISABLE 0x400

typedef struct Buf {
    char *data;
    size_t len, cap;
} Buf;

struct QtClient {
    pid_t pid;
    bool reaped;
    int wstatus;
    bool dead;                 /* connection lost / process gone         */
    char death[1024];          /* description of how QEMU went away      */

    int qfd, mfd;              /* qtest and QMP connections (mfd only
                                * until handed to gq_attach_fd)         */
    char dir[108];             /* private temp dir (sockets, temp log)   */
    char *log_path;
    bool log_is_temp;

    int timeout_ms;
    int64_t wait_step_ns;
    bool has_clock;            /* -accel qtest                            */
    bool qtest_broken;
    Buf qbuf;
    GqQmp *qmp;                /* QMP connection (gauntlet_qmp)          */

    bool irq_level[QT_MAX_IRQ];
    unsigned irq_raises[QT_MAX_IRQ];
    char *irq_path;


    unsigned mem_mb;
    uint64_t alloc_ptr, alloc_end;
    uint64_t mmio_ptr, mmio_end;
    uint64_t mmio64_ptr, mmio64_end;
    uint32_t pio_ptr, pio_end;

    QtPciDev **devs;
    size_t ndevs;

    char err[QT_ERRLEN];
};

/* ------------------------------------------------------------------ */
/* small utilities                                                      */
/* ------------------------------------------------------------------ */

const char *qt_strerr(int code)
{
    switch (code) {
    case QT_OK: return "ok";
    case QT_ERR_INVAL: return "invalid argument";
    case QT_ERR_SYS: return "system error";
    case QT_ERR_TIMEOUT: return "timeout";
    case QT_ERR_DIED: return "QEMU died";
    case QT_ERR_PROTO: return "protocol error";
    case QT_ERR_FAIL: return "qtest command failed";
    case QT_ERR_QMP: return "QMP error";
    case QT_ERR_NOTFOUND: return "not found";
    case QT_ERR_NOSPACE: return "no space";
    case QT_ERR_BROKEN: return "qtest channel broken";
    default: return "unknown error";
    }
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_us(long us)
{
    struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

static int fail(QtClient *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(QtClient *c, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof(c->err), fmt, ap);
    va_end(ap);
    return code;
}

/* Copy at most max chars of s for messages, marking truncation. */
static const char *trunc_str(const char *s, size_t max, char *tmp, size_t tmplen)
{
    size_t n = strlen(s);
    if (n <= max || tmplen < 8) {
        return s;
    }
    if (max > tmplen - 5) {
        max = tmplen - 5;
    }
    memcpy(tmp, s, max);
    strcpy(tmp + max, "...");
    return tmp;
}

/*
 * The failure already described in c->err happened while running cmd
 * (what: "qtest command" or "QMP command"): say so in front of it.
 */
static int fail_during(QtClient *c, int rc, const char *what,
                       const char *quote, const char *cmd, size_t max)
{
    char save[QT_ERRLEN], tmp[1100];

    snprintf(save, sizeof(save), "%s", c->err);
    return fail(c, rc, "%s %s%s%s: %s", what, quote,
                trunc_str(cmd, max, tmp, sizeof(tmp)), quote, save);
}

static int buf_append(Buf *b, const void *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 4096;
        while (nc < b->len + n + 1) {
            nc *= 2;
        }
        char *nd = realloc(b->data, nc);
        if (!nd) {
            return -1;
        }
        b->data = nd;
        b->cap = nc;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
    return 0;
}

/* ------------------------------------------------------------------ */
/* base64 (RFC 4648, with padding)                                      */
/* ------------------------------------------------------------------ */

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void b64_encode(const uint8_t *in, size_t n, char *out)
{
    size_t i, o = 0;
    for (i = 0; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64chars[v >> 18 & 63];
        out[o++] = b64chars[v >> 12 & 63];
        out[o++] = b64chars[v >> 6 & 63];
        out[o++] = b64chars[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = b64chars[v >> 18 & 63];
        out[o++] = b64chars[v >> 12 & 63];
        out[o++] = '=';
        out[o++] = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = b64chars[v >> 18 & 63];
        out[o++] = b64chars[v >> 12 & 63];
        out[o++] = b64chars[v >> 6 & 63];
        out[o++] = '=';
    }
    out[o] = 0;
}

static int b64_val(char ch)
{
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9') return ch - '0' + 52;
    if (ch == '+') return 62;
    if (ch == '/') return 63;
    return -1;
}

/* Decode; returns number of bytes written (at most max), or -1 on a bad
 * character.  Padding and whitespace are skipped. */
static long b64_decode(const char *in, uint8_t *out, size_t max)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (; *in; in++) {
        if (*in == '=' || *in == '\r' || *in == '\n' || *in == ' ') {
            continue;
        }
        int v = b64_val(*in);
        if (v < 0) {
            return -1;
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= max) {
                return -1;
            }
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    return (long)o;
}

/* ------------------------------------------------------------------ */
/* process status / death reporting                                     */
/* ------------------------------------------------------------------ */

static bool reap(QtClient *c, int wait_ms)
{
    int64_t end = now_ms() + wait_ms;
    if (c->reaped || c->pid <= 0) {
        return true;
    }
    for (;;) {
        int st;
        pid_t r = waitpid(c->pid, &st, WNOHANG);
        if (r == c->pid || (r < 0 && errno == ECHILD)) {
            c->reaped = true;
            c->wstatus = r == c->pid ? st : 0;
            return true;
        }
        if (now_ms() >= end) {
            return false;
        }
        sleep_us(2000);
    }
}

static void describe_status(const QtClient *c, char *buf, size_t n)
{
    if (!c->reaped) {
        snprintf(buf, n, "QEMU (pid %d) is still running", (int)c->pid);
    } else if (WIFEXITED(c->wstatus)) {
        snprintf(buf, n, "QEMU (pid %d) exited with status %d", (int)c->pid,
                 WEXITSTATUS(c->wstatus));
    } else if (WIFSIGNALED(c->wstatus)) {
        snprintf(buf, n, "QEMU (pid %d) was killed by signal %d (%s)%s",
                 (int)c->pid, WTERMSIG(c->wstatus),
                 strsignal(WTERMSIG(c->wstatus)),
                 WCOREDUMP(c->wstatus) ? ", core dumped" : "");
    } else {
        snprintf(buf, n, "QEMU (pid %d) ended with wait status 0x%x",
                 (int)c->pid, c->wstatus);
    }
}

static void log_tail_raw(const char *path, char *buf, size_t n)
{
    if (!n) {
        return;
    }
    buf[0] = 0;
    if (!path) {
        return;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(buf, n, "(cannot open log %s: %s)", path, strerror(errno));
        return;
    }
    off_t size = lseek(fd, 0, SEEK_END);
    off_t start = size > (off_t)(n - 1) ? size - (off_t)(n - 1) : 0;
    ssize_t got = size > 0 ? pread(fd, buf, (size_t)(size - start), start) : 0;
    close(fd);
    if (got < 0) {
        got = 0;
    }
    buf[got] = 0;
    if (start > 0) {   /* start at a line boundary */
        char *nl = strchr(buf, '\n');
        if (nl && nl[1]) {
            memmove(buf, nl + 1, strlen(nl + 1) + 1);
        }
    }
}

void qt_log_tail(const QtClient *c, char *buf, size_t n)
{
    log_tail_raw(c ? c->log_path : NULL, buf, n);
}

/* Mark QEMU as gone (connection lost on channel `what`) and report. */
static int died(QtClient *c, const char *what, const char *context)
{
    char st[256], tail[QT_LOGTAIL];
    if (!c->dead) {
        c->dead = true;
        reap(c, QT_DEATH_REAP_MS);
        describe_status(c, st, sizeof(st));
        snprintf(c->death, sizeof(c->death), "lost the %s connection: %s",
                 what, st);
    }
    log_tail_raw(c->log_path, tail, sizeof(tail));
    return fail(c, QT_ERR_DIED, "%s%s%s\n--- tail of QEMU log %s ---\n%s",
                context ? context : "", context ? ": " : "", c->death,
                c->log_path ? c->log_path : "", tail);
}

/* ------------------------------------------------------------------ */
/* bounded socket I/O                                                   */
/* ------------------------------------------------------------------ */

/* Returns QT_OK, QT_ERR_TIMEOUT, QT_ERR_DIED (message set), QT_ERR_SYS. */
static int send_all(QtClient *c, int fd, const char *what, const char *p,
                    size_t n, int64_t deadline)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int64_t rem = deadline - now_ms();
            if (rem <= 0) {
                return QT_ERR_TIMEOUT;
            }
            struct pollfd pfd = { fd, POLLOUT, 0 };
            poll(&pfd, 1, (int)rem);
            continue;
        }
        if (w < 0 && (errno == EPIPE || errno == ECONNRESET)) {
            return died(c, what, "sending");
        }
        return fail(c, QT_ERR_SYS, "send on %s socket: %s", what,
                    strerror(errno));
    }
    return QT_OK;
}

/* Read one line (without '\n'/'\r') into *line (malloc'ed).  deadline may be
 * in the past: then only already-available data is used.  Returns QT_OK,
 * QT_ERR_TIMEOUT (no message set), QT_ERR_DIED, QT_ERR_SYS. */
static int read_line(QtClient *c, int fd, Buf *b, const char *what,
                     int64_t deadline, char **line)
{
    for (;;) {
        char *nl = b->len ? memchr(b->data, '\n', b->len) : NULL;
        if (nl) {
            size_t n = (size_t)(nl - b->data);
            size_t m = n;
            if (m && b->data[m - 1] == '\r') {
                m--;
            }
            char *l = malloc(m + 1);
            if (!l) {
                return fail(c, QT_ERR_SYS, "out of memory");
            }
            memcpy(l, b->data, m);
            l[m] = 0;
            memmove(b->data, nl + 1, b->len - n - 1);
            b->len -= n + 1;
            b->data[b->len] = 0;
            *line = l;
            return QT_OK;
        }
        int64_t rem = deadline - now_ms();
        if (rem < 0) {
            rem = 0;
        }
        struct pollfd pfd = { fd, POLLIN, 0 };
        int r = poll(&pfd, 1, (int)rem);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            return fail(c, QT_ERR_SYS, "poll: %s", strerror(errno));
        }
        if (r == 0) {
            return QT_ERR_TIMEOUT;
        }
        char tmp[65536];
        ssize_t got = recv(fd, tmp, sizeof(tmp), 0);
        if (got > 0) {
            if (buf_append(b, tmp, (size_t)got) < 0) {
                return fail(c, QT_ERR_SYS, "out of memory");
            }
            continue;
        }
        if (got < 0 && (errno == EINTR || errno == EAGAIN ||
                        errno == EWOULDBLOCK)) {
            continue;
        }
        if (got == 0 || errno == ECONNRESET) {
            return died(c, what, "reading");
        }
        return fail(c, QT_ERR_SYS, "recv on %s socket: %s", what,
                    strerror(errno));
    }
}

/* ------------------------------------------------------------------ */
/* qtest channel                                                        */
/* ------------------------------------------------------------------ */

/* Handle an "IRQ raise N" / "IRQ lower N" line.  Returns true if it was
 * one. */
static bool handle_irq_line(QtClient *c, const char *line)
{
    if (strncmp(line, "IRQ ", 4) != 0) {
        return false;
    }
    const char *p = line + 4;
    bool raise;
    if (strncmp(p, "raise ", 6) == 0) {
        raise = true;
    } else if (strncmp(p, "lower ", 6) == 0) {
        raise = false;
    } else {
        return true;     /* unknown IRQ message: ignore */
    }
    long n = strtol(p + 6, NULL, 0);
    if (n >= 0 && n < QT_MAX_IRQ) {
        if (raise && !c->irq_level[n]) {
            c->irq_raises[n]++;
        }
        c->irq_level[n] = raise;
    }
    return true;
}

static int check_usable(QtClient *c, bool need_qtest)
{
    if (c->dead) {
        char tail[QT_LOGTAIL];
        log_tail_raw(c->log_path, tail, sizeof(tail));
        return fail(c, QT_ERR_DIED, "QEMU is gone (%s)\n"
                    "--- tail of QEMU log %s ---\n%s", c->death,
                    c->log_path ? c->log_path : "", tail);
    }
    if (need_qtest && c->qtest_broken) {
        return fail(c, QT_ERR_BROKEN, "qtest channel is out of sync after an "
                    "earlier timeout or protocol error; restart QEMU");
    }
    return QT_OK;
}

/* Send one command line (no newline) and wait for its OK reply.  *rest (may
 * be NULL) receives a malloc'ed copy of the text after "OK" (without the
 * leading space). */
static int qtest_cmd(QtClient *c, const char *cmd, char **rest)
{
    char tmp[256];
    int rc = check_usable(c, true);
    if (rc) {
        return rc;
    }
    if (rest) {
        *rest = NULL;
    }
    int64_t deadline = now_ms() + c->timeout_ms;
    size_t n = strlen(cmd);
    char *out = malloc(n + 2);
    if (!out) {
        return fail(c, QT_ERR_SYS, "out of memory");
    }
    memcpy(out, cmd, n);
    out[n] = '\n';
    out[n + 1] = 0;
    rc = send_all(c, c->qfd, "qtest", out, n + 1, deadline);
    free(out);
    if (rc == QT_ERR_TIMEOUT) {
        c->qtest_broken = true;
        return fail(c, QT_ERR_TIMEOUT, "qtest command '%s': could not send "
                    "within %d ms", trunc_str(cmd, 200, tmp, sizeof(tmp)),
                    c->timeout_ms);
    }
    if (rc) {
        return fail_during(c, rc, "qtest command", "'", cmd, 200);
    }
    for (;;) {
        char *line = NULL;
        rc = read_line(c, c->qfd, &c->qbuf, "qtest", deadline, &line);
        if (rc == QT_ERR_TIMEOUT) {
            c->qtest_broken = true;
            return fail(c, QT_ERR_TIMEOUT, "qtest command '%s': no reply "
                        "within %d ms", trunc_str(cmd, 200, tmp, sizeof(tmp)),
                        c->timeout_ms);
        }
        if (rc) {
            if (rc == QT_ERR_DIED) {
                fail_during(c, rc, "qtest command", "'", cmd, 200);
            }
            return rc;
        }
        if (handle_irq_line(c, line)) {
            free(line);
            continue;
        }
        if (strcmp(line, "OK") == 0 || strncmp(line, "OK ", 3) == 0) {
            if (rest) {
                *rest = strdup(line[2] ? line + 3 : "");
            }
            free(line);
            if (rest && !*rest) {
                return fail(c, QT_ERR_SYS, "out of memory");
            }
            return QT_OK;
        }
        if (strncmp(line, "FAIL", 4) == 0 || strncmp(line, "ERR", 3) == 0) {
            rc = fail(c, QT_ERR_FAIL, "qtest command '%s' failed: '%s'",
                      trunc_str(cmd, 200, tmp, sizeof(tmp)), line);
            free(line);
            return rc;
        }
        c->qtest_broken = true;
        rc = fail(c, QT_ERR_PROTO, "qtest command '%s': unexpected reply "
                  "'%.300s'", trunc_str(cmd, 200, tmp, sizeof(tmp)), line);
        free(line);
        return rc;
    }
}

static int qtest_cmd_u64(QtClient *c, const char *cmd, uint64_t *v)
{
    char *rest = NULL;
    int rc = qtest_cmd(c, cmd, &rest);
    if (rc) {
        return rc;
    }
    char *end;
    errno = 0;
    unsigned long long x = strtoull(rest, &end, 0);
    if (!*rest || *end || errno) {
        rc = fail(c, QT_ERR_PROTO, "qtest command '%s': cannot parse value "
                  "'%.100s'", cmd, rest);
        free(rest);
        return rc;
    }
    free(rest);
    if (v) {
        *v = x;
    }
    return QT_OK;
}

int qt_qtest_cmd(QtClient *c, char *reply, size_t replylen,
                 const char *fmt, ...)
{
    va_list ap;
    char *cmd = NULL, *rest = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&cmd, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return fail(c, QT_ERR_SYS, "out of memory");
    }
    if (!*cmd || strchr(cmd, '\n')) {
        free(cmd);
        return fail(c, QT_ERR_INVAL, "qtest command must be one non-empty "
                    "line");
    }
    int rc = qtest_cmd(c, cmd, reply ? &rest : NULL);
    free(cmd);
    if (!rc && reply && replylen) {
        snprintf(reply, replylen, "%s", rest);
    }
    free(rest);
    return rc;
}

#define DEF_READ(name, type)                                             \
    int qt_##name(QtClient *c, uint64_t addr, type *v)                   \
    {                                                                    \
        char cmd[64];                                                    \
        uint64_t x = 0;                                                  \
        snprintf(cmd, sizeof(cmd), #name " 0x%" PRIx64, addr);           \
        int rc = qtest_cmd_u64(c, cmd, &x);                              \
        if (!rc && v) {                                                  \
            *v = (type)x;                                                \
        }                                                                \
        return rc;                                                       \
    }
#define DEF_WRITE(name, type)                                            \
    int qt_##name(QtClient *c, uint64_t addr, type v)                    \
    {                                                                    \
        char cmd[80];                                                    \
        snprintf(cmd, sizeof(cmd), #name " 0x%" PRIx64 " 0x%" PRIx64,    \
                 addr, (uint64_t)v);                                     \
        return qtest_cmd(c, cmd, NULL);                                  \
    }
#define DEF_IN(name, type)                                               \
    int qt_##name(QtClient *c, uint16_t port, type *v)                   \
    {                                                                    \
        char cmd[32];                                                    \
        uint64_t x = 0;                                                  \
        snprintf(cmd, sizeof(cmd), #name " 0x%x", (unsigned)port);       \
        int rc = qtest_cmd_u64(c, cmd, &x);                              \
        if (!rc && v) {                                                  \
            *v = (type)x;                                                \
        }                                                                \
        return rc;                                                       \
    }
#define DEF_OUT(name, type)                                              \
    int qt_##name(QtClient *c, uint16_t port, type v)                    \
    {                                                                    \
        char cmd[48];                                                    \
        snprintf(cmd, sizeof(cmd), #name " 0x%x 0x%x", (unsigned)port,   \
                 (unsigned)v);                                           \
        return qtest_cmd(c, cmd, NULL);                                  \
    }

DEF_READ(readb, uint8_t)
DEF_READ(readw, uint16_t)
DEF_READ(readl, uint32_t)
DEF_READ(readq, uint64_t)
DEF_WRITE(writeb, uint8_t)
DEF_WRITE(writew, uint16_t)
DEF_WRITE(writel, uint32_t)
DEF_WRITE(writeq, uint64_t)
DEF_IN(inb, uint8_t)
DEF_IN(inw, uint16_t)
DEF_IN(inl, uint32_t)
DEF_OUT(outb, uint8_t)
DEF_OUT(outw, uint16_t)
DEF_OUT(outl, uint32_t)

int qt_memread(QtClient *c, uint64_t addr, void *buf, size_t len)
{
    uint8_t *p = buf;
    if (len && !buf) {
        return fail(c, QT_ERR_INVAL, "qt_memread: NULL buffer");
    }
    while (len) {
        size_t n = len > QT_CHUNK ? QT_CHUNK : len;
        char cmd[80], *rest = NULL;
        snprintf(cmd, sizeof(cmd), "b64read 0x%" PRIx64 " 0x%zx", addr, n);
        int rc = qtest_cmd(c, cmd, &rest);
        if (rc) {
            return rc;
        }
        long got = b64_decode(rest, p, n);
        if (got != (long)n) {
            rc = fail(c, QT_ERR_PROTO, "qtest command '%s': reply decodes to "
                      "%ld bytes, expected %zu", cmd, got, n);
            free(rest);
            return rc;
        }
        free(rest);
        p += n;
        addr += n;
        len -= n;
    }
    return QT_OK;
}

int qt_memwrite(QtClient *c, uint64_t addr, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    if (len && !buf) {
        return fail(c, QT_ERR_INVAL, "qt_memwrite: NULL buffer");
    }
    char *cmd = malloc(80 + (QT_CHUNK + 2) / 3 * 4 + 1);
    if (!cmd) {
        return fail(c, QT_ERR_SYS, "out of memory");
    }
    while (len) {
        size_t n = len > QT_CHUNK ? QT_CHUNK : len;
        int k = sprintf(cmd, "b64write 0x%" PRIx64 " 0x%zx ", addr, n);
        b64_encode(p, n, cmd + k);
        int rc = qtest_cmd(c, cmd, NULL);
        if (rc) {
            free(cmd);
            return rc;
        }
        p += n;
        addr += n;
        len -= n;
    }
    free(cmd);
    return QT_OK;
}

int qt_memset(QtClient *c, uint64_t addr, uint8_t val, size_t len)
{
    while (len) {
        size_t n = len > QT_MEMSET_CHUNK ? QT_MEMSET_CHUNK : len;
        char cmd[96];
        snprintf(cmd, sizeof(cmd), "memset 0x%" PRIx64 " 0x%zx 0x%02x", addr,
                 n, val);
        int rc = qtest_cmd(c, cmd, NULL);
        if (rc) {
            return rc;
        }
        addr += n;
        len -= n;
    }
    return QT_OK;
}

static int clock_cmd(QtClient *c, const char *cmd, int64_t *now)
{
    char *rest = NULL;
    if (!c->has_clock) {
        return fail(c, QT_ERR_INVAL, "'%s': no virtual clock control "
                    "without -accel qtest", cmd);
    }
    int rc = qtest_cmd(c, cmd, &rest);
    if (rc) {
        return rc;
    }
    char *end;
    errno = 0;
    long long v = strtoll(rest, &end, 10);
    if (!*rest || *end || errno) {
        rc = fail(c, QT_ERR_PROTO, "qtest command '%s': cannot parse clock "
                  "'%.100s'", cmd, rest);
    } else if (now) {
        *now = v;
    }
    free(rest);
    return rc;
}

int qt_clock_step(QtClient *c, int64_t ns, int64_t *now)
{
    char cmd[48];
    if (ns < 0) {
        snprintf(cmd, sizeof(cmd), "clock_step");
    } else {
        snprintf(cmd, sizeof(cmd), "clock_step %" PRId64, ns);
    }
    return clock_cmd(c, cmd, now);
}

int qt_clock_set(QtClient *c, int64_t ns, int64_t *now)
{
    char cmd[48];
    if (ns < 0) {
        return fail(c, QT_ERR_INVAL, "qt_clock_set: negative time");
    }
    snprintf(cmd, sizeof(cmd), "clock_set %" PRId64, ns);
    return clock_cmd(c, cmd, now);
}

int qt_irq_intercept_in(QtClient *c, const char *qom_path)
{
    char cmd[512];
    if (!qom_path || !*qom_path || strpbrk(qom_path, " \n") ||
        strlen(qom_path) > 400) {
        return fail(c, QT_ERR_INVAL, "qt_irq_intercept_in: bad QOM path");
    }
    snprintf(cmd, sizeof(cmd), "irq_intercept_in %s", qom_path);
    int rc = qtest_cmd(c, cmd, NULL);
    if (!rc && !c->irq_path) {
        c->irq_path = strdup(qom_path);
    }
    return rc;
}

int qt_irq_poll(QtClient *c)
{
    int rc = check_usable(c, true);
    if (rc) {
        return rc;
    }
    for (;;) {
        char *line = NULL;
        rc = read_line(c, c->qfd, &c->qbuf, "qtest", 0, &line);
        if (rc == QT_ERR_TIMEOUT) {
            return QT_OK;
        }
        if (rc) {
            return rc;
        }
        if (!handle_irq_line(c, line)) {
            c->qtest_broken = true;
            rc = fail(c, QT_ERR_PROTO, "unsolicited qtest line '%.300s'",
                      line);
            free(line);
            return rc;
        }
        free(line);
    }
}

bool qt_irq_level(const QtClient *c, int n)
{
    return n >= 0 && n < QT_MAX_IRQ && c->irq_level[n];
}

unsigned qt_irq_raise_count(const QtClient *c, int n)
{
    return n >= 0 && n < QT_MAX_IRQ ? c->irq_raises[n] : 0;
}

int qt_wait_cond(QtClient *c, int (*cond)(void *ctx), void *ctx,
                 int64_t step_ns, int timeout_ms)
{
    if (timeout_ms <= 0) {
        timeout_ms = c->timeout_ms;
    }
    int64_t deadline = now_ms() + timeout_ms;
    int64_t vclock = -1;
    for (;;) {
        int r = cond(ctx);
        if (r > 0) {
            return QT_OK;
        }
        if (r < 0) {
            return r;
        }
        if (now_ms() >= deadline) {
            return fail(c, QT_ERR_TIMEOUT, "condition not met within %d ms "
                        "(virtual clock %" PRId64 " ns)", timeout_ms, vclock);
        }
        if (step_ns != 0 && c->has_clock) {
            int rc = qt_clock_step(c, step_ns, &vclock);
            if (rc) {
                return rc;
            }
        }
        sleep_us(50);   /* let QEMU's worker threads / main loop progress */
    }
}

/* ------------------------------------------------------------------ */
/* QMP channel: thin wrappers around gauntlet_qmp (harness/qmp.h)       */
/* ------------------------------------------------------------------ */

/* gauntlet_qmp's diag hook: QEMU's status and log tail, added to QMP
 * errors on close/timeout.  On close, give QEMU a moment to be reaped so
 * the status says how it ended. */
static void qmp_diag(void *opaque, char *buf, size_t len)
{
    QtClient *c = opaque;
    char st[256], tail[QT_LOGTAIL];
    reap(c, gq_is_closed(c->qmp) ? QT_DEATH_REAP_MS : 0);
    describe_status(c, st, sizeof(st));
    log_tail_raw(c->log_path, tail, sizeof(tail));
    snprintf(buf, len, "%s\n--- tail of QEMU log %s ---\n%s", st,
             c->log_path ? c->log_path : "", tail);
}

/* Take over a gauntlet_qmp result: error text into c->err; a closed QMP
 * connection means QEMU is gone (later calls fail at once). */
static int qmp_rc(QtClient *c, int rc)
{
    if (rc) {
        snprintf(c->err, sizeof(c->err), "%s", gq_error(c->qmp));
        if (rc == GQ_ERR_CLOSED && !c->dead) {
            char st[256];
            c->dead = true;
            reap(c, QT_DEATH_REAP_MS);
            describe_status(c, st, sizeof(st));
            snprintf(c->death, sizeof(c->death),
                     "lost the QMP connection: %s", st);
        }
    }
    return rc;
}

static QtQmpReply *qmp_reply_rc(QtClient *c, QtQmpReply *r)
{
    if (!r) {
        fail(c, QT_ERR_SYS, "out of memory");
        return NULL;
    }
    qmp_rc(c, r->rc);
    return r;
}

/* NULL if QMP is usable, else a reply carrying the error. */
static QtQmpReply *qmp_unusable(QtClient *c)
{
    int rc = check_usable(c, false);
    if (!rc) {
        return NULL;
    }
    QtQmpReply *r = calloc(1, sizeof(*r));
    if (r) {
        r->rc = rc;
    }
    return r;
}

void qt_qmp_free(QtQmpReply *r)
{
    gq_reply_free(r);
}

QtQmpReply *qt_qmp_obj(QtClient *c, json_object *cmd)
{
    QtQmpReply *r = qmp_unusable(c);
    return r ? r : qmp_reply_rc(c, gq_cmd_obj(c->qmp, cmd));
}

static QtQmpReply *qmp_v(QtClient *c, const char *fmt, va_list ap)
{
    QtQmpReply *r = qmp_unusable(c);
    if (r) {
        return r;
    }
    char *text = NULL;
    if (vasprintf(&text, fmt, ap) < 0) {
        return NULL;
    }
    r = gq_cmd(c->qmp, "%s", text);
    free(text);
    return qmp_reply_rc(c, r);
}

QtQmpReply *qt_qmp(QtClient *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    QtQmpReply *r = qmp_v(c, fmt, ap);
    va_end(ap);
    return r;
}

int qt_qmp_ok(QtClient *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    QtQmpReply *r = qmp_v(c, fmt, ap);
    va_end(ap);
    if (!r) {
        return fail(c, QT_ERR_SYS, "out of memory");
    }
    int rc = r->rc;
    qt_qmp_free(r);
    return rc;
}

int qt_qmp_wait_event(QtClient *c, const char *name, int timeout_ms,
                      json_object **ev)
{
    if (!c->dead) {
        return qmp_rc(c, gq_wait_event(c->qmp, name, timeout_ms, ev));
    }
    /* QEMU is gone: only events already received */
    if (gq_wait_event(c->qmp, name, 1, ev) == GQ_OK) {
        return QT_OK;
    }
    return check_usable(c, false);
}

void qt_qmp_drop_events(QtClient *c)
{
    gq_drop_events(c->qmp);
}

#define QOM_WRAP(call)                   \
    do {                                 \
        int rc_ = check_usable(c, false); \
        if (rc_) {                       \
            return rc_;                  \
        }                                \
        return qmp_rc(c, (call));        \
    } while (0)

int qt_qom_get(QtClient *c, const char *path, const char *prop,
               json_object **out)
{
    if (out) {
        *out = NULL;
    }
    QOM_WRAP(gq_qom_get(c->qmp, path, prop, out));
}

int qt_qom_get_str(QtClient *c, const char *path, const char *prop,
                   char *buf, size_t buflen)
{
    QOM_WRAP(gq_qom_get_str(c->qmp, path, prop, buf, buflen));
}

int qt_qom_get_int(QtClient *c, const char *path, const char *prop,
                   int64_t *out)
{
    QOM_WRAP(gq_qom_get_int(c->qmp, path, prop, out));
}

int qt_qom_set(QtClient *c, const char *path, const char *prop,
               json_object *val)
{
    QOM_WRAP(gq_qom_set(c->qmp, path, prop, val));
}

int qt_qom_set_str(QtClient *c, const char *path, const char *prop,
                   const char *val)
{
    QOM_WRAP(gq_qom_set_str(c->qmp, path, prop, val));
}

int qt_qom_set_int(QtClient *c, const char *path, const char *prop,
                   int64_t val)
{
    QOM_WRAP(gq_qom_set_int(c->qmp, path, prop, val));
}

int qt_qom_set_bool(QtClient *c, const char *path, const char *prop, bool val)
{
    QOM_WRAP(gq_qom_set_bool(c->qmp, path, prop, val));
}

/* ------------------------------------------------------------------ */
/* lifecycle                                                            */
/* ------------------------------------------------------------------ */

static int listen_unix(const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa.sun_path)) {
        snprintf(err, errlen, "socket path too long: %s", path);
        return -1;
    }
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket(): %s", strerror(errno));
        return -1;
    }
    unlink(path);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(fd, 1) < 0) {
        snprintf(err, errlen, "bind/listen %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* argv builder */
typedef struct Argv {
    char **v;
    size_t n, cap;
} Argv;

static int argv_add(Argv *a, const char *s)
{
    if (a->n + 2 > a->cap) {
        size_t nc = a->cap ? a->cap * 2 : 32;
        char **nv = realloc(a->v, nc * sizeof(*nv));
        if (!nv) {
            return -1;
        }
        a->v = nv;
        a->cap = nc;
    }
    if (!(a->v[a->n] = strdup(s))) {
        return -1;
    }
    a->n++;
    a->v[a->n] = NULL;
    return 0;
}

static void argv_free(Argv *a)
{
    for (size_t i = 0; i < a->n; i++) {
        free(a->v[i]);
    }
    free(a->v);
}

static int build_argv(QtClient *c, const QtOptions *o, const char *qsock,
                      const char *msock, Argv *a)
{
    char tmp[256];
    int bad = 0;
    bad |= argv_add(a, o->qemu_binary);
    bad |= argv_add(a, "-machine");
    bad |= argv_add(a, o->machine ? o->machine : "q35");
    bad |= argv_add(a, "-nodefaults");
    bad |= argv_add(a, "-display");
    bad |= argv_add(a, "none");
    bad |= argv_add(a, "-accel");
    bad |= argv_add(a, c->has_clock ? "qtest" : o->accel);
    if (!c->has_clock) {
        bad |= argv_add(a, "-S");     /* never run guest code */
    }
    snprintf(tmp, sizeof(tmp), "unix:%s", qsock);
    bad |= argv_add(a, "-qtest");
    bad |= argv_add(a, tmp);
    if (!o->qtest_trace) {
        bad |= argv_add(a, "-qtest-log");
        bad |= argv_add(a, "none");
    }
    snprintf(tmp, sizeof(tmp), "unix:%s", msock);
    bad |= argv_add(a, "-qmp");
    bad |= argv_add(a, tmp);
    if (o->fw_dirs) {
        for (const char *const *d = o->fw_dirs; *d; d++) {
            bad |= argv_add(a, "-L");
            bad |= argv_add(a, *d);
        }
    } else {
        static const char *const defdirs[] = { "/usr/share/seabios",
                                               "/usr/share/qemu" };
        for (size_t i = 0; i < 2; i++) {
            struct stat st;
            if (stat(defdirs[i], &st) == 0 && S_ISDIR(st.st_mode)) {
                bad |= argv_add(a, "-L");
                bad |= argv_add(a, defdirs[i]);
            }
        }
    }
    snprintf(tmp, sizeof(tmp), "%uM", c->mem_mb);
    bad |= argv_add(a, "-m");
    bad |= argv_add(a, tmp);
    if (o->extra_args) {
        char *copy = strdup(o->extra_args), *save = NULL;
        if (!copy) {
            return -1;
        }
        for (char *t = strtok_r(copy, " \t\n", &save); t;
             t = strtok_r(NULL, " \t\n", &save)) {
            bad |= argv_add(a, t);
        }
        free(copy);
    }
    if (o->extra_argv) {
        for (const char *const *p = o->extra_argv; *p; p++) {
            bad |= argv_add(a, *p);
        }
    }
    return bad ? -1 : 0;
}

static void client_free(QtClient *c)
{
    if (!c) {
        return;
    }
    if (c->qfd >= 0) {
        close(c->qfd);
    }
    if (c->mfd >= 0) {
        close(c->mfd);
    }
    if (c->log_is_temp && c->log_path) {
        unlink(c->log_path);
    }
    if (c->dir[0]) {
        char p[160];
        snprintf(p, sizeof(p), "%s/qtest.sock", c->dir);
        unlink(p);
        snprintf(p, sizeof(p), "%s/qmp.sock", c->dir);
        unlink(p);
        rmdir(c->dir);
    }
    gq_close(c->qmp);
    for (size_t i = 0; i < c->ndevs; i++) {
        free(c->devs[i]->msix_ram);
        free(c->devs[i]);
    }
    free(c->devs);
    free(c->qbuf.data);
    free(c->irq_path);
    free(c->log_path);
    free(c);
}

/* Kill (if needed) and reap; used on start failure and in qt_stop. */
static void kill_and_reap(QtClient *c)
{
    if (c->pid > 0 && !c->reaped) {
        kill(c->pid, SIGKILL);
        if (!reap(c, 5000)) {
            /* SIGKILL'ed process not reaped in 5 s: give up (zombie). */
            c->reaped = true;
        }
    }
}

static QtClient *start_fail(QtClient *c, char *err, size_t errlen,
                            const char *what)
{
    char st[256], tail[QT_LOGTAIL];
    if (c->pid > 0) {
        /* give a dying QEMU a moment so its status and message are there */
        reap(c, 200);
        describe_status(c, st, sizeof(st));
        kill_and_reap(c);
        log_tail_raw(c->log_path, tail, sizeof(tail));
        snprintf(err, errlen, "qt_start: %s; %s%s\n--- tail of QEMU log %s "
                 "---\n%s", what, st,
                 strstr(tail, "invalid accelerator qtest")
                     ? " (this QEMU lacks the qtest accelerator, e.g. "
                       "Debian's package; use a build that has it, or "
                       "QtOptions.accel = \"tcg\" without clock control)"
                     : "",
                 c->log_path ? c->log_path : "", tail);
    } else {
        snprintf(err, errlen, "qt_start: %s", what);
    }
    client_free(c);
    return NULL;
}

QtClient *qt_start(const QtOptions *o, char *err, size_t errlen)
{
    char dummy[8];
    char msg[1024];
    if (!err || !errlen) {
        err = dummy;
        errlen = sizeof(dummy);
    }
    err[0] = 0;
    if (!o || !o->qemu_binary || !*o->qemu_binary) {
        snprintf(err, errlen, "qt_start: no QEMU binary given");
        return NULL;
    }
    QtClient *c = calloc(1, sizeof(*c));
    if (!c) {
        snprintf(err, errlen, "qt_start: out of memory");
        return NULL;
    }
    c->qfd = c->mfd = -1;
    c->pid = -1;
    c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 10000;
    c->wait_step_ns = o->wait_step_ns > 0 ? o->wait_step_ns : 100000;
    c->mem_mb = o->mem_mb ? o->mem_mb : 256;
    c->has_clock = !o->accel || strcmp(o->accel, "qtest") == 0;
    qt_galloc_reset(c, 0, 0);
    c->mmio_ptr = 0xe0000000ULL;
    c->mmio_end = 0xfe000000ULL;
    c->mmio64_ptr = 1ULL << 39;   /* large 64-bit BARs (>= 256 MiB) */
    c->mmio64_end = 1ULL << 40;
    c->pio_ptr = 0xc000;
    c->pio_end = 0x10000;

    /* private directory for sockets (short path: sun_path is 108 bytes) */
    const char *tmpdir = getenv("TMPDIR");
    if (!tmpdir || !*tmpdir || strlen(tmpdir) > 60) {
        tmpdir = "/tmp";
    }
    snprintf(c->dir, sizeof(c->dir), "%s/gqt-XXXXXX", tmpdir);
    if (!mkdtemp(c->dir)) {
        snprintf(msg, sizeof(msg), "mkdtemp(%s): %s", c->dir,
                 strerror(errno));
        c->dir[0] = 0;
        return start_fail(c, err, errlen, msg);
    }
    char qsock[160], msock[160];
    snprintf(qsock, sizeof(qsock), "%s/qtest.sock", c->dir);
    snprintf(msock, sizeof(msock), "%s/qmp.sock", c->dir);

    if (o->log_path) {
        c->log_path = strdup(o->log_path);
    } else {
        if (asprintf(&c->log_path, "%s/qemu.log", c->dir) < 0) {
            c->log_path = NULL;
        }
        c->log_is_temp = true;
    }
    if (!c->log_path) {
        return start_fail(c, err, errlen, "out of memory");
    }
    int logfd = open(c->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                     0644);
    if (logfd < 0) {
        snprintf(msg, sizeof(msg), "cannot create log %s: %s", c->log_path,
                 strerror(errno));
        c->log_is_temp = false;
        return start_fail(c, err, errlen, msg);
    }

    int lq = listen_unix(qsock, msg, sizeof(msg));
    int lm = lq >= 0 ? listen_unix(msock, msg, sizeof(msg)) : -1;
    if (lq < 0 || lm < 0) {
        if (lq >= 0) {
            close(lq);
        }
        close(logfd);
        return start_fail(c, err, errlen, msg);
    }

    Argv a = { 0 };
    if (build_argv(c, o, qsock, msock, &a) < 0) {
        argv_free(&a);
        close(lq);
        close(lm);
        close(logfd);
        return start_fail(c, err, errlen, "out of memory");
    }
    /* log the command line first, for whoever reads the log */
    {
        FILE *f = fdopen(dup(logfd), "w");
        if (f) {
            fprintf(f, "# qtest_client: starting:");
            for (size_t i = 0; i < a.n; i++) {
                fprintf(f, " %s", a.v[i]);
            }
            fprintf(f, "\n");
            fclose(f);
        }
    }

    int ep[2];
    if (pipe2(ep, O_CLOEXEC) < 0) {
        snprintf(msg, sizeof(msg), "pipe: %s", strerror(errno));
        argv_free(&a);
        close(lq);
        close(lm);
        close(logfd);
        return start_fail(c, err, errlen, msg);
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        /* child: only async-signal-safe calls from here */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) {
            _exit(127);
        }
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0) {
            dup2(nul, 0);
        }
        dup2(logfd, 1);
        dup2(logfd, 2);
        signal(SIGPIPE, SIG_DFL);
        execv(a.v[0], a.v);
        int e = errno;
        ssize_t wr = write(ep[1], &e, sizeof(e));
        (void)wr;
        _exit(127);
    }
    int fork_errno = errno;
    argv_free(&a);
    close(ep[1]);
    close(logfd);
    if (pid < 0) {
        close(ep[0]);
        close(lq);
        close(lm);
        snprintf(msg, sizeof(msg), "fork: %s", strerror(fork_errno));
        return start_fail(c, err, errlen, msg);
    }
    c->pid = pid;

    int64_t deadline = now_ms() + c->timeout_ms;
    /* exec result: EOF = exec succeeded; an int = errno of failed exec */
    {
        int e = 0;
        struct pollfd pfd = { ep[0], POLLIN, 0 };
        int64_t rem = deadline - now_ms();
        ssize_t got = 0;
        if (poll(&pfd, 1, rem > 0 ? (int)rem : 0) > 0) {
            got = read(ep[0], &e, sizeof(e));
        }
        close(ep[0]);
        if (got == (ssize_t)sizeof(e)) {
            close(lq);
            close(lm);
            reap(c, 2000);
            c->pid = -1;      /* nothing useful in status/log */
            snprintf(msg, sizeof(msg), "cannot execute QEMU binary '%s': %s",
                     o->qemu_binary, strerror(e));
            return start_fail(c, err, errlen, msg);
        }
    }

    /* accept both connections; watch for early exit */
    while (c->qfd < 0 || c->mfd < 0) {
        struct pollfd pfd[2] = { { c->qfd < 0 ? lq : -1, POLLIN, 0 },
                                 { c->mfd < 0 ? lm : -1, POLLIN, 0 } };
        int64_t rem = deadline - now_ms();
        if (rem <= 0) {
            close(lq);
            close(lm);
            snprintf(msg, sizeof(msg), "QEMU did not connect to the %s "
                     "socket within %d ms",
                     c->qfd < 0 ? "qtest" : "QMP", c->timeout_ms);
            return start_fail(c, err, errlen, msg);
        }
        int r = poll(pfd, 2, rem > 50 ? 50 : (int)rem);
        if (r > 0) {
            if (pfd[0].revents & POLLIN) {
                c->qfd = accept4(lq, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
            }
            if (pfd[1].revents & POLLIN) {
                c->mfd = accept4(lm, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
            }
        } else if (reap(c, 0)) {
            close(lq);
            close(lm);
            return start_fail(c, err, errlen, "QEMU exited before connecting");
        }
    }
    close(lq);
    close(lm);
    unlink(qsock);
    unlink(msock);

    /* QMP greeting and capabilities negotiation (gauntlet_qmp) */
    int64_t rem = deadline - now_ms();
    int mfd = c->mfd;
    c->mfd = -1;                 /* owned by gauntlet_qmp from here on */
    c->qmp = gq_attach_fd(mfd, rem > 0 ? (int)rem : 1, msg, sizeof(msg));
    if (!c->qmp) {
        return start_fail(c, err, errlen, msg);
    }
    gq_set_timeout(c->qmp, c->timeout_ms);
    gq_set_diag(c->qmp, qmp_diag, c);
    return c;
}

int qt_stop(QtClient *c)
{
    if (!c) {
        return QT_OK;
    }
    int rc = QT_OK;
    bool was_dead = c->dead || reap(c, 0);
    if (!was_dead) {
        /* wait for the reply: closing the socket right after sending can
         * make QEMU drop the unread command */
        gq_reply_free(gq_execute(c->qmp, "quit", NULL,
                                 c->timeout_ms < 3000 ? c->timeout_ms : 3000));
    }
    if (c->qfd >= 0) {
        close(c->qfd);
        c->qfd = -1;
    }
    gq_close(c->qmp);            /* closes the QMP connection */
    c->qmp = NULL;
    int wait_ms = c->timeout_ms < 5000 ? c->timeout_ms : 5000;
    if (!reap(c, wait_ms)) {
        kill_and_reap(c);
        rc = QT_ERR_TIMEOUT;
    } else if (was_dead || !WIFEXITED(c->wstatus) ||
               WEXITSTATUS(c->wstatus) != 0) {
        rc = QT_ERR_DIED;
    }
    client_free(c);
    return rc;
}

int qt_alive(QtClient *c)
{
    if (!c || c->dead) {
        return 0;
    }
    if (reap(c, 0)) {
        died(c, "process", NULL);
        return 0;
    }
    if (!c->qtest_broken &&
        (c->has_clock ? qt_clock_step(c, 0, NULL)
                      : qt_qtest_cmd(c, NULL, 0, "endianness")) != QT_OK) {
        return 0;
    }
    QtQmpReply *r = qt_qmp(c, "{\"execute\":\"query-status\"}");
    int ok = r && r->rc == QT_OK;
    qt_qmp_free(r);
    return ok;
}

const char *qt_error(const QtClient *c)
{
    return c ? c->err : "no client";
}

const char *qt_log_path(const QtClient *c)
{
    return c ? c->log_path : NULL;
}

pid_t qt_pid(const QtClient *c)
{
    return c ? c->pid : -1;
}

bool qt_has_clock(const QtClient *c)
{
    return c && c->has_clock;
}

void qt_set_timeout(QtClient *c, int timeout_ms)
{
    c->timeout_ms = timeout_ms > 0 ? timeout_ms : 10000;
    gq_set_timeout(c->qmp, c->timeout_ms);
}

int qt_get_timeout(const QtClient *c)
{
    return c->timeout_ms;
}

/* ------------------------------------------------------------------ */
/* guest RAM allocator                                                  */
/* ------------------------------------------------------------------ */

void qt_galloc_reset(QtClient *c, uint64_t start, uint64_t end)
{
    if (!start && !end) {
        start = 16ULL << 20;
        end = (uint64_t)c->mem_mb << 20;
        /* q35 puts RAM above 2.75 GiB (or 2 GiB) high; stay in low RAM */
        if (end > 0x80000000ULL) {
            end = 0x80000000ULL;
        }
    }
    c->alloc_ptr = start;
    c->alloc_end = end;
}

uint64_t qt_galloc(QtClient *c, size_t size, size_t align)
{
    if (!align) {
        align = 4096;
    }
    if (align & (align - 1)) {
        fail(c, QT_ERR_INVAL, "qt_galloc: alignment %zu not a power of 2",
             align);
        return 0;
    }
    if (!size) {
        size = 1;
    }
    uint64_t p = (c->alloc_ptr + align - 1) & ~(uint64_t)(align - 1);
    if (p < c->alloc_ptr || p + size < p || p + size > c->alloc_end) {
        fail(c, QT_ERR_NOSPACE, "qt_galloc: cannot allocate %zu bytes "
             "(next free 0x%" PRIx64 ", end 0x%" PRIx64 ")", size,
             c->alloc_ptr, c->alloc_end);
        return 0;
    }
    if (qt_memset(c, p, 0, size) != QT_OK) {
        return 0;
    }
    c->alloc_ptr = p + size;
    return p;
}

/* ------------------------------------------------------------------ */
/* PCI                                                                  */
/* ------------------------------------------------------------------ */

static int cfg_rw(QtClient *c, uint8_t bus, uint8_t devfn, uint8_t off,
                  int size, uint32_t *rv, uint32_t wv, bool write)
{
    if ((size != 1 && size != 2 && size != 4) || (off & (size - 1))) {
        return fail(c, QT_ERR_INVAL, "PCI config access: bad size %d / "
                    "offset 0x%x", size, off);
    }
    uint32_t addr = 0x80000000u | (uint32_t)bus << 16 | (uint32_t)devfn << 8 |
                    (off & 0xfc);
    int rc = qt_outl(c, 0xcf8, addr);
    if (rc) {
        return rc;
    }
    uint16_t port = (uint16_t)(0xcfc + (off & 3));
    if (write) {
        switch (size) {
        case 1: return qt_outb(c, port, (uint8_t)wv);
        case 2: return qt_outw(c, port, (uint16_t)wv);
        default: return qt_outl(c, port, wv);
        }
    }
    uint8_t b = 0;
    uint16_t w = 0;
    switch (size) {
    case 1:
        rc = qt_inb(c, port, &b);
        *rv = b;
        break;
    case 2:
        rc = qt_inw(c, port, &w);
        *rv = w;
        break;
    default:
        rc = qt_inl(c, port, rv);
    }
    return rc;
}

int qt_pci_cfg_read(QtPciDev *d, uint8_t off, int size, uint32_t *v)
{
    uint32_t x = 0;
    int rc = cfg_rw(d->c, d->bus, d->devfn, off, size, &x, 0, false);
    if (!rc && v) {
        *v = x;
    }
    return rc;
}

int qt_pci_cfg_write(QtPciDev *d, uint8_t off, int size, uint32_t v)
{
    return cfg_rw(d->c, d->bus, d->devfn, off, size, NULL, v, true);
}

int qt_pci_find_bus(QtClient *c, uint8_t bus, uint16_t vendor,
                    uint16_t device, unsigned index, QtPciDev **out)
{
    unsigned seen = 0;
    *out = NULL;
    for (int slot = 0; slot < 32; slot++) {
        for (int fn = 0; fn < 8; fn++) {
            uint8_t devfn = (uint8_t)(slot << 3 | fn);
            uint32_t id, ht;
            int rc = cfg_rw(c, bus, devfn, 0, 4, &id, 0, false);
            if (rc) {
                return rc;
            }
            if ((id & 0xffff) == 0xffff || (id & 0xffff) == 0) {
                if (fn == 0) {
                    break;
                }
                continue;
            }
            if ((id & 0xffff) == vendor && (id >> 16) == device &&
                seen++ == index) {
                for (size_t i = 0; i < c->ndevs; i++) {
                    if (c->devs[i]->bus == bus && c->devs[i]->devfn == devfn) {
                        *out = c->devs[i];
                        return QT_OK;
                    }
                }
                QtPciDev *d = calloc(1, sizeof(*d));
                QtPciDev **nd = realloc(c->devs,
                                        (c->ndevs + 1) * sizeof(*nd));
                if (!d || !nd) {
                    free(d);
                    if (nd) {
                        c->devs = nd;
                    }
                    return fail(c, QT_ERR_SYS, "out of memory");
                }
                c->devs = nd;
                c->devs[c->ndevs++] = d;
                d->c = c;
                d->bus = bus;
                d->devfn = devfn;
                d->vendor = vendor;
                d->device = device;
                d->msix_table_bar = d->msix_pba_bar = -1;
                d->intx_gsi = -1;
                *out = d;
                return QT_OK;
            }
            if (fn == 0) {
                rc = cfg_rw(c, bus, devfn, 0x0e, 1, &ht, 0, false);
                if (rc) {
                    return rc;
                }
                if (!(ht & 0x80)) {
                    break;     /* single-function device */
                }
            }
        }
    }
    return fail(c, QT_ERR_NOTFOUND, "PCI device %04x:%04x #%u not found on "
                "bus %u (%u such devices present)", vendor, device, index,
                bus, seen);
}

int qt_pci_find(QtClient *c, uint16_t vendor, uint16_t device, unsigned index,
                QtPciDev **out)
{
    return qt_pci_find_bus(c, 0, vendor, device, index, out);
}

static int alloc_window(QtClient *c, uint64_t *ptr, uint64_t end,
                        uint64_t size, uint64_t *addr)
{
    uint64_t a = (*ptr + size - 1) & ~(size - 1);
    if (a < *ptr || a + size < a || a + size > end) {
        return QT_ERR_NOSPACE;
    }
    *addr = a;
    *ptr = a + size;
    (void)c;
    return QT_OK;
}

int qt_pci_map_bars(QtPciDev *d)
{
    QtClient *c = d->c;
    uint32_t cmd;
    int rc = qt_pci_cfg_read(d, 0x04, 2, &cmd);
    if (rc) {
        return rc;
    }
    /* header type 0 only */
    uint32_t ht;
    if ((rc = qt_pci_cfg_read(d, 0x0e, 1, &ht))) {
        return rc;
    }
    int nbars = (ht & 0x7f) == 0 ? 6 : (ht & 0x7f) == 1 ? 2 : 0;
    if ((rc = qt_pci_cfg_write(d, 0x04, 2,
                               cmd & ~(uint32_t)(PCI_CMD_IO | PCI_CMD_MEM)))) {
        return rc;
    }
    for (int i = 0; i < nbars; i++) {
        uint8_t off = (uint8_t)(0x10 + 4 * i);
        uint32_t orig, mask;
        QtPciBar *b = &d->bar[i];
        memset(b, 0, sizeof(*b));
        if ((rc = qt_pci_cfg_read(d, off, 4, &orig)) ||
            (rc = qt_pci_cfg_write(d, off, 4, 0xffffffffu)) ||
            (rc = qt_pci_cfg_read(d, off, 4, &mask))) {
            return rc;
        }
        if (mask == 0) {
            continue;
        }
        if (orig & 1) {                       /* I/O BAR */
            uint32_t m = mask & ~3u;
            if (!(m & 0xffff0000u)) {
                m |= 0xffff0000u;
            }
            b->is_io = true;
            b->size = (uint32_t)(~m + 1);
            uint64_t p = c->pio_ptr, addr;
            if (!b->size || alloc_window(c, &p, c->pio_end, b->size, &addr)) {
                return fail(c, QT_ERR_NOSPACE, "PCI %02x.%x BAR%d: cannot "
                            "place %" PRIu64 "-byte I/O BAR", d->devfn >> 3,
                            d->devfn & 7, i, b->size);
            }
            c->pio_ptr = (uint32_t)p;
            b->addr = addr;
            if ((rc = qt_pci_cfg_write(d, off, 4, (uint32_t)addr))) {
                return rc;
            }
            continue;
        }
        b->is_64 = ((orig >> 1) & 3) == 2;
        b->prefetch = orig & 8;
        uint64_t m = mask & ~0xfu;
        if (b->is_64) {
            uint32_t hi;
            if (i == nbars - 1) {
                return fail(c, QT_ERR_PROTO, "BAR%d claims 64-bit but is the "
                            "last BAR", i);
            }
            if ((rc = qt_pci_cfg_write(d, off + 4, 4, 0xffffffffu)) ||
                (rc = qt_pci_cfg_read(d, off + 4, 4, &hi))) {
                return rc;
            }
            m |= (uint64_t)hi << 32;
        } else {
            m |= 0xffffffff00000000ULL;
        }
        b->size = ~m + 1;
        uint64_t addr;
        int ok;
        if (b->is_64 && b->size >= (256ULL << 20)) {
            ok = alloc_window(c, &c->mmio64_ptr, c->mmio64_end, b->size, &addr);
        } else {
            ok = alloc_window(c, &c->mmio_ptr, c->mmio_end, b->size, &addr);
        }
        if (!b->size || ok) {
            return fail(c, QT_ERR_NOSPACE, "PCI %02x.%x BAR%d: cannot place "
                        "0x%" PRIx64 "-byte memory BAR", d->devfn >> 3,
                        d->devfn & 7, i, b->size);
        }
        b->addr = addr;
        if ((rc = qt_pci_cfg_write(d, off, 4, (uint32_t)addr))) {
            return rc;
        }
        if (b->is_64) {
            if ((rc = qt_pci_cfg_write(d, off + 4, 4,
                                       (uint32_t)(addr >> 32)))) {
                return rc;
            }
            i++;
            memset(&d->bar[i], 0, sizeof(d->bar[i]));
        }
    }
    return qt_pci_cfg_write(d, 0x04, 2, cmd);
}

int qt_pci_enable(QtPciDev *d)
{
    uint32_t cmd;
    int rc = qt_pci_cfg_read(d, 0x04, 2, &cmd);
    if (rc) {
        return rc;
    }
    return qt_pci_cfg_write(d, 0x04, 2,
                            cmd | PCI_CMD_IO | PCI_CMD_MEM | PCI_CMD_MASTER);
}

int qt_pci_find_cap(QtPciDev *d, uint8_t cap_id, uint8_t after, uint8_t *off)
{
    uint32_t st, ptr, v;
    int rc = qt_pci_cfg_read(d, 0x06, 2, &st);
    if (rc) {
        return rc;
    }
    if (!(st & 0x10)) {
        return fail(d->c, QT_ERR_NOTFOUND, "PCI %02x.%x: no capability list",
                    d->devfn >> 3, d->devfn & 7);
    }
    if (after) {
        rc = qt_pci_cfg_read(d, (uint8_t)(after + 1), 1, &ptr);
    } else {
        rc = qt_pci_cfg_read(d, 0x34, 1, &ptr);
    }
    if (rc) {
        return rc;
    }
    for (int guard = 0; guard < 48 && (ptr & 0xfc); guard++) {
        ptr &= 0xfc;
        if ((rc = qt_pci_cfg_read(d, (uint8_t)ptr, 2, &v))) {
            return rc;
        }
        if ((v & 0xff) == cap_id) {
            if (off) {
                *off = (uint8_t)ptr;
            }
            return QT_OK;
        }
        ptr = v >> 8;
    }
    return fail(d->c, QT_ERR_NOTFOUND, "PCI %02x.%x: capability 0x%02x not "
                "found", d->devfn >> 3, d->devfn & 7, cap_id);
}

static int bar_check(QtPciDev *d, int bar, uint64_t off, int size)
{
    if (bar < 0 || bar >= QT_PCI_MAX_BARS || !d->bar[bar].size ||
        !d->bar[bar].addr) {
        return fail(d->c, QT_ERR_INVAL, "BAR%d is not mapped (call "
                    "qt_pci_map_bars)", bar);
    }
    if ((size != 1 && size != 2 && size != 4 && size != 8) ||
        off + (uint64_t)size > d->bar[bar].size) {
        return fail(d->c, QT_ERR_INVAL, "BAR%d access size %d at 0x%" PRIx64
                    " outside the %" PRIu64 "-byte BAR", bar, size, off,
                    d->bar[bar].size);
    }
    return QT_OK;
}

int qt_bar_read(QtPciDev *d, int bar, uint64_t off, int size, uint64_t *v)
{
    int rc = bar_check(d, bar, off, size);
    if (rc) {
        return rc;
    }
    QtClient *c = d->c;
    uint64_t a = d->bar[bar].addr + off;
    uint64_t x = 0;
    if (d->bar[bar].is_io) {
        uint8_t b = 0;
        uint16_t w = 0;
        uint32_t l = 0, h = 0;
        switch (size) {
        case 1: rc = qt_inb(c, (uint16_t)a, &b); x = b; break;
        case 2: rc = qt_inw(c, (uint16_t)a, &w); x = w; break;
        case 4: rc = qt_inl(c, (uint16_t)a, &l); x = l; break;
        default:
            rc = qt_inl(c, (uint16_t)a, &l);
            if (!rc) {
                rc = qt_inl(c, (uint16_t)(a + 4), &h);
            }
            x = (uint64_t)h << 32 | l;
        }
    } else {
        uint8_t b = 0;
        uint16_t w = 0;
        uint32_t l = 0;
        switch (size) {
        case 1: rc = qt_readb(c, a, &b); x = b; break;
        case 2: rc = qt_readw(c, a, &w); x = w; break;
        case 4: rc = qt_readl(c, a, &l); x = l; break;
        default: rc = qt_readq(c, a, &x);
        }
    }
    if (!rc && v) {
        *v = x;
    }
    return rc;
}

int qt_bar_write(QtPciDev *d, int bar, uint64_t off, int size, uint64_t v)
{
    int rc = bar_check(d, bar, off, size);
    if (rc) {
        return rc;
    }
    QtClient *c = d->c;
    uint64_t a = d->bar[bar].addr + off;
    if (d->bar[bar].is_io) {
        switch (size) {
        case 1: return qt_outb(c, (uint16_t)a, (uint8_t)v);
        case 2: return qt_outw(c, (uint16_t)a, (uint16_t)v);
        case 4: return qt_outl(c, (uint16_t)a, (uint32_t)v);
        default:
            rc = qt_outl(c, (uint16_t)a, (uint32_t)v);
            return rc ? rc : qt_outl(c, (uint16_t)(a + 4), (uint32_t)(v >> 32));
        }
    }
    switch (size) {
    case 1: return qt_writeb(c, a, (uint8_t)v);
    case 2: return qt_writew(c, a, (uint16_t)v);
    case 4: return qt_writel(c, a, (uint32_t)v);
    default: return qt_writeq(c, a, v);
    }
}

/* --- MSI-X --- */

#define MSIX_CTRL_ENABLE 0x8000
#define MSIX_CTRL_MASKALL 0x4000

int qt_msix_enable(QtPciDev *d)
{
    uint8_t cap;
    uint32_t ctrl, table, pba;
    int rc = qt_pci_find_cap(d, 0x11, 0, &cap);
    if (rc) {
        return rc;
    }
    if ((rc = qt_pci_cfg_read(d, cap + 2, 2, &ctrl)) ||
        (rc = qt_pci_cfg_read(d, cap + 4, 4, &table)) ||
        (rc = qt_pci_cfg_read(d, cap + 8, 4, &pba))) {
        return rc;
    }
    int tbir = table & 7, pbir = pba & 7;
    if (tbir >= QT_PCI_MAX_BARS || !d->bar[tbir].addr ||
        pbir >= QT_PCI_MAX_BARS || !d->bar[pbir].addr) {
        return fail(d->c, QT_ERR_INVAL, "MSI-X table BAR%d / PBA BAR%d not "
                    "mapped (call qt_pci_map_bars first)", tbir, pbir);
    }
    uint16_t nvec = (uint16_t)((ctrl & 0x7ff) + 1);
    if (d->msix_ram && d->msix_nvec != nvec) {
        free(d->msix_ram);
        d->msix_ram = NULL;
    }
    if (!d->msix_ram && !(d->msix_ram = calloc(nvec, sizeof(uint64_t)))) {
        return fail(d->c, QT_ERR_SYS, "out of memory");
    }
    d->msix_cap = cap;
    d->msix_nvec = nvec;
    d->msix_table_bar = tbir;
    d->msix_table_off = table & ~7u;
    d->msix_pba_bar = pbir;
    d->msix_pba_off = pba & ~7u;
    if ((rc = qt_pci_enable(d))) {
        return rc;
    }
    ctrl = (ctrl | MSIX_CTRL_ENABLE) & ~(uint32_t)MSIX_CTRL_MASKALL;
    return qt_pci_cfg_write(d, cap + 2, 2, ctrl);
}

int qt_msix_disable(QtPciDev *d)
{
    uint32_t ctrl;
    if (!d->msix_cap) {
        return fail(d->c, QT_ERR_INVAL, "MSI-X not enabled");
    }
    int rc = qt_pci_cfg_read(d, d->msix_cap + 2, 2, &ctrl);
    if (rc) {
        return rc;
    }
    return qt_pci_cfg_write(d, d->msix_cap + 2, 2,
                            ctrl & ~(uint32_t)MSIX_CTRL_ENABLE);
}

static int msix_check(QtPciDev *d, unsigned vec)
{
    if (!d->msix_cap || !d->msix_ram) {
        return fail(d->c, QT_ERR_INVAL, "MSI-X not enabled (call "
                    "qt_msix_enable)");
    }
    if (vec >= d->msix_nvec) {
        return fail(d->c, QT_ERR_INVAL, "MSI-X vector %u out of range (%u "
                    "vectors)", vec, d->msix_nvec);
    }
    return QT_OK;
}

int qt_msix_mask(QtPciDev *d, unsigned vec, bool masked)
{
    int rc = msix_check(d, vec);
    if (rc) {
        return rc;
    }
    uint64_t off = d->msix_table_off + 16ull * vec + 12, v;
    if ((rc = qt_bar_read(d, d->msix_table_bar, off, 4, &v))) {
        return rc;
    }
    v = masked ? (v | 1) : (v & ~1ull);
    return qt_bar_write(d, d->msix_table_bar, off, 4, v);
}

int qt_msix_vector_setup(QtPciDev *d, unsigned vec, uint64_t ram_addr)
{
    int rc = msix_check(d, vec);
    if (rc) {
        return rc;
    }
    if (!ram_addr && !(ram_addr = qt_galloc(d->c, 4, 4))) {
        return QT_ERR_NOSPACE;
    }
    if (ram_addr & 3) {
        return fail(d->c, QT_ERR_INVAL, "MSI-X address 0x%" PRIx64 " not "
                    "dword aligned", ram_addr);
    }
    uint64_t e = d->msix_table_off + 16ull * vec;
    int t = d->msix_table_bar;
    if ((rc = qt_writel(d->c, ram_addr, 0)) ||
        (rc = qt_bar_write(d, t, e + 0, 4, (uint32_t)ram_addr)) ||
        (rc = qt_bar_write(d, t, e + 4, 4, (uint32_t)(ram_addr >> 32))) ||
        (rc = qt_bar_write(d, t, e + 8, 4, QT_MSIX_DATA(vec)))) {
        return rc;
    }
    d->msix_ram[vec] = ram_addr;
    return qt_msix_mask(d, vec, false);
}

int qt_msix_fired(QtPciDev *d, unsigned vec)
{
    int rc = msix_check(d, vec);
    if (rc) {
        return rc;
    }
    if (!d->msix_ram[vec]) {
        return fail(d->c, QT_ERR_INVAL, "MSI-X vector %u not set up", vec);
    }
    uint32_t v;
    if ((rc = qt_readl(d->c, d->msix_ram[vec], &v))) {
        return rc;
    }
    if (v == 0) {
        return 0;
    }
    if ((rc = qt_writel(d->c, d->msix_ram[vec], 0))) {
        return rc;
    }
    if (v != QT_MSIX_DATA(vec)) {
        return fail(d->c, QT_ERR_PROTO, "MSI-X vector %u: RAM word at 0x%"
                    PRIx64 " holds 0x%08x, expected 0x%08x", vec,
                    d->msix_ram[vec], v, QT_MSIX_DATA(vec));
    }
    return 1;
}

int qt_msix_pending(QtPciDev *d, unsigned vec)
{
    int rc = msix_check(d, vec);
    if (rc) {
        return rc;
    }
    uint64_t v;
    rc = qt_bar_read(d, d->msix_pba_bar, d->msix_pba_off + (vec / 32) * 4, 4,
                     &v);
    if (rc) {
        return rc;
    }
    return (v >> (vec % 32)) & 1;
}

typedef struct WaitCtx {
    QtPciDev *d;
    unsigned vec;
    int kind;          /* 0 msix, 1 msi, 2 intx */
    bool level;
} WaitCtx;

static int wait_cb(void *opaque)
{
    WaitCtx *w = opaque;
    int r;
    switch (w->kind) {
    case 0:
        return qt_msix_fired(w->d, w->vec);
    case 1:
        return qt_msi_fired(w->d);
    default:
        r = qt_intx_level(w->d);
        return r < 0 ? r : (r == (int)w->level);
    }
}

int qt_msix_wait(QtPciDev *d, unsigned vec, int timeout_ms)
{
    WaitCtx w = { d, vec, 0, true };
    int rc = msix_check(d, vec);
    if (rc) {
        return rc;
    }
    rc = qt_wait_cond(d->c, wait_cb, &w, d->c->wait_step_ns, timeout_ms);
    if (rc == QT_ERR_TIMEOUT) {
        char save[512];
        snprintf(save, sizeof(save), "%.500s", d->c->err);
        fail(d->c, rc, "MSI-X vector %u did not fire: %s", vec, save);
    }
    return rc;
}

/* --- MSI --- */

int qt_msi_setup(QtPciDev *d, uint64_t ram_addr)
{
    uint8_t cap;
    uint32_t ctrl;
    int rc = qt_pci_find_cap(d, 0x05, 0, &cap);
    if (rc) {
        return rc;
    }
    if ((rc = qt_pci_cfg_read(d, cap + 2, 2, &ctrl))) {
        return rc;
    }
    bool is64 = ctrl & 0x80, pvm = ctrl & 0x100;
    if (!ram_addr && !(ram_addr = qt_galloc(d->c, 4, 4))) {
        return QT_ERR_NOSPACE;
    }
    if ((ram_addr & 3) || (!is64 && ram_addr >> 32)) {
        return fail(d->c, QT_ERR_INVAL, "MSI address 0x%" PRIx64 " unusable",
                    ram_addr);
    }
    uint8_t data_off = (uint8_t)(cap + (is64 ? 0x0c : 0x08));
    if ((rc = qt_writel(d->c, ram_addr, 0)) ||
        (rc = qt_pci_cfg_write(d, cap + 4, 4, (uint32_t)ram_addr)) ||
        (is64 && (rc = qt_pci_cfg_write(d, cap + 8, 4,
                                        (uint32_t)(ram_addr >> 32)))) ||
        (rc = qt_pci_cfg_write(d, data_off, 2, QT_MSI_DATA))) {
        return rc;
    }
    if (pvm) {
        uint8_t mask_off = (uint8_t)(cap + (is64 ? 0x10 : 0x0c));
        uint32_t m;
        if ((rc = qt_pci_cfg_read(d, mask_off, 4, &m)) ||
            (rc = qt_pci_cfg_write(d, mask_off, 4, m & ~1u))) {
            return rc;
        }
    }
    if ((rc = qt_pci_enable(d))) {
        return rc;
    }
    ctrl = (ctrl & ~0x70u) | 1u;     /* MME = 0 (1 vector), enable */
    if ((rc = qt_pci_cfg_write(d, cap + 2, 2, ctrl))) {
        return rc;
    }
    d->msi_cap = cap;
    d->msi_ram = ram_addr;
    d->msi_data = QT_MSI_DATA;
    return QT_OK;
}

int qt_msi_fired(QtPciDev *d)
{
    if (!d->msi_cap) {
        return fail(d->c, QT_ERR_INVAL, "MSI not set up (call qt_msi_setup)");
    }
    uint32_t v;
    int rc = qt_readl(d->c, d->msi_ram, &v);
    if (rc) {
        return rc;
    }
    if (v == 0) {
        return 0;
    }
    if ((rc = qt_writel(d->c, d->msi_ram, 0))) {
        return rc;
    }
    if (v != d->msi_data) {
        return fail(d->c, QT_ERR_PROTO, "MSI: RAM word at 0x%" PRIx64
                    " holds 0x%08x, expected 0x%08x", d->msi_ram, v,
                    d->msi_data);
    }
    return 1;
}

int qt_msi_wait(QtPciDev *d, int timeout_ms)
{
    WaitCtx w = { d, 0, 1, true };
    if (!d->msi_cap) {
        return fail(d->c, QT_ERR_INVAL, "MSI not set up (call qt_msi_setup)");
    }
    int rc = qt_wait_cond(d->c, wait_cb, &w, d->c->wait_step_ns, timeout_ms);
    if (rc == QT_ERR_TIMEOUT) {
        char save[512];
        snprintf(save, sizeof(save), "%.500s", d->c->err);
        fail(d->c, rc, "MSI did not fire: %s", save);
    }
    return rc;
}

/* --- INTx --- */

int qt_intx_setup(QtPciDev *d, int *gsi)
{
    uint32_t pin, cmd;
    int rc = qt_pci_cfg_read(d, 0x3d, 1, &pin);
    if (rc) {
        return rc;
    }
    if (pin < 1 || pin > 4) {
        return fail(d->c, QT_ERR_NOTFOUND, "PCI %02x.%x has no INTx pin "
                    "(Interrupt Pin = %u)", d->devfn >> 3, d->devfn & 7, pin);
    }
    if (d->bus != 0) {
        return fail(d->c, QT_ERR_INVAL, "INTx routing only known for bus 0");
    }
    int slot = d->devfn >> 3, p = (int)pin - 1, g;
    if (slot == 30) {
        g = 20 + p;
    } else if (slot >= 25) {
        g = 16 + p;
    } else {
        g = 20 + (slot + p) % 4;
    }
    if (!d->c->irq_path || strcmp(d->c->irq_path, "ioapic") != 0) {
        if ((rc = qt_irq_intercept_in(d->c, "ioapic"))) {
            return rc;
        }
    }
    if ((rc = qt_pci_cfg_read(d, 0x04, 2, &cmd)) ||
        (rc = qt_pci_cfg_write(d, 0x04, 2,
                               cmd & ~(uint32_t)PCI_CMD_INTX_DISABLE))) {
        return rc;
    }
    d->intx_gsi = g;
    if (gsi) {
        *gsi = g;
    }
    return QT_OK;
}

int qt_intx_level(QtPciDev *d)
{
    if (d->intx_gsi < 0) {
        return fail(d->c, QT_ERR_INVAL, "INTx not set up (call "
                    "qt_intx_setup)");
    }
    int rc = qt_irq_poll(d->c);
    if (rc) {
        return rc;
    }
    return qt_irq_level(d->c, d->intx_gsi) ? 1 : 0;
}

int qt_intx_wait(QtPciDev *d, bool level, int timeout_ms)
{
    WaitCtx w = { d, 0, 2, level };
    if (d->intx_gsi < 0) {
        return fail(d->c, QT_ERR_INVAL, "INTx not set up (call "
                    "qt_intx_setup)");
    }
    int rc = qt_wait_cond(d->c, wait_cb, &w, d->c->wait_step_ns, timeout_ms);
    if (rc == QT_ERR_TIMEOUT) {
        char save[512];
        snprintf(save, sizeof(save), "%.500s", d->c->err);
        fail(d->c, rc, "INTx (GSI %d) did not go %s: %s", d->intx_gsi,
             level ? "high" : "low", save);
    }
    return rc;
}
