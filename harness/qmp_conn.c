/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A QMP connection (qmp.h, qmp_priv.h): attaching to a socket, the
 * greeting and capabilities negotiation, connecting to a UNIX socket with
 * retries until a deadline, closing, and the connection's settings.
 */
#define _GNU_SOURCE
#include "qmp_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* connection                                                           */
/* ------------------------------------------------------------------ */

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (!err || !errlen) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

GqQmp *gq_attach_fd(int fd, int timeout_ms, char *err, size_t errlen)
{
    seterr(err, errlen, "%s", "");
    if (fd < 0) {
        seterr(err, errlen, "gq_attach_fd: invalid fd %d", fd);
        return NULL;
    }
    if (timeout_ms <= 0) {
        timeout_ms = GQ_DEFAULT_TIMEOUT_MS;
    }
    GqQmp *q = calloc(1, sizeof(*q));
    if (!q) {
        close(fd);
        seterr(err, errlen, "gq_attach_fd: out of memory");
        return NULL;
    }
    q->fd = fd;
    q->timeout_ms = GQ_DEFAULT_TIMEOUT_MS;
    q->t0_ms = gq_now_ms();
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
        fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
        seterr(err, errlen, "gq_attach_fd: fcntl: %s", strerror(errno));
        gq_close(q);
        return NULL;
    }

    /* greeting: {"QMP": {"version": ..., "capabilities": [...]}} */
    int64_t deadline = gq_now_ms() + timeout_ms;
    json_object *g = NULL;
    char *raw = NULL;
    int rc = gq_read_msg(q, deadline, &g, &raw);
    if (rc == GQ_ERR_TIMEOUT) {
        seterr(err, errlen, "no QMP greeting within %d ms", timeout_ms);
    } else if (rc) {
        seterr(err, errlen, "waiting for the QMP greeting: %s", q->detail);
    } else if (!json_object_object_get_ex(g, "QMP", NULL)) {
        char tmp[GQ_SHOW + 8];
        rc = GQ_ERR_PROTO;
        seterr(err, errlen, "unexpected QMP greeting: %s",
               gq_shorten(raw, 500, tmp, sizeof(tmp)));
    }
    json_object_put(g);
    free(raw);
    if (rc) {
        gq_close(q);
        return NULL;
    }
    int64_t rem = deadline - gq_now_ms();
    GqReply *r = gq_execute(q, "qmp_capabilities", NULL,
                            rem > 0 ? (int)rem : 1);
    rc = r ? r->rc : GQ_ERR_SYS;
    bool oom = !r;
    gq_reply_free(r);
    if (rc) {
        seterr(err, errlen, "QMP handshake: %s",
               oom ? "out of memory" : q->err);
        gq_close(q);
        return NULL;
    }
    return q;
}

GqQmp *gq_connect_unix(const char *path, int timeout_ms, char *err,
                       size_t errlen)
{
    struct sockaddr_un sa;
    seterr(err, errlen, "%s", "");
    if (!path) {
        seterr(err, errlen, "gq_connect_unix: no path");
        return NULL;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa.sun_path)) {
        seterr(err, errlen, "QMP socket path too long (max %zu): %s",
               sizeof(sa.sun_path) - 1, path);
        return NULL;
    }
    strcpy(sa.sun_path, path);
    if (timeout_ms <= 0) {
        timeout_ms = GQ_DEFAULT_TIMEOUT_MS;
    }
    int64_t deadline = gq_now_ms() + timeout_ms;
    for (;;) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
                        0);
        if (fd < 0) {
            seterr(err, errlen, "socket(AF_UNIX): %s", strerror(errno));
            return NULL;
        }
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            return gq_attach_fd(fd, timeout_ms, err, errlen);
        }
        int e = errno;
        close(fd);
        if (e != ENOENT && e != ECONNREFUSED && e != EAGAIN && e != EINTR) {
            seterr(err, errlen, "connect to QMP socket %s: %s", path,
                   strerror(e));
            return NULL;
        }
        if (gq_now_ms() >= deadline) {
            seterr(err, errlen, "could not connect to QMP socket %s within "
                   "%d ms: %s", path, timeout_ms, strerror(e));
            return NULL;
        }
        gq_sleep_ms(20);
    }
}

void gq_close(GqQmp *q)
{
    if (!q) {
        return;
    }
    if (q->fd >= 0) {
        close(q->fd);
    }
    gq_drop_events(q);
    free(q->events);
    free(q->rbuf);
    free(q);
}

int gq_fd(const GqQmp *q)
{
    return q ? q->fd : -1;
}

void gq_set_timeout(GqQmp *q, int timeout_ms)
{
    if (q) {
        q->timeout_ms = timeout_ms > 0 ? timeout_ms : GQ_DEFAULT_TIMEOUT_MS;
    }
}

int gq_get_timeout(const GqQmp *q)
{
    return q ? q->timeout_ms : GQ_DEFAULT_TIMEOUT_MS;
}

bool gq_is_closed(const GqQmp *q)
{
    return !q || q->closed;
}

void gq_set_diag(GqQmp *q, GqDiagFn fn, void *opaque)
{
    if (q) {
        q->diag = fn;
        q->diag_opaque = opaque;
    }
}

void gq_set_transcript(GqQmp *q, FILE *f)
{
    if (q) {
        q->tr = f;
    }
}

const char *gq_error(const GqQmp *q)
{
    return q ? q->err : "no QMP connection";
}
