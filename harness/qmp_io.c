/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The QMP client's wire (qmp.h, qmp_priv.h): error text, the transcript,
 * bounded socket I/O, line framing, parsing each line as one JSON object,
 * and the queue of events received while waiting for replies.
 *
 * Written from the QMP specification; no QEMU code is included.
 */
#define _GNU_SOURCE
#include "qmp_priv.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* small utilities                                                      */
/* ------------------------------------------------------------------ */

const char *gq_strerr(int code)
{
    switch (code) {
    case GQ_OK: return "ok";
    case GQ_ERR_INVAL: return "invalid argument";
    case GQ_ERR_SYS: return "system error";
    case GQ_ERR_TIMEOUT: return "timeout";
    case GQ_ERR_CLOSED: return "connection closed";
    case GQ_ERR_PROTO: return "protocol error";
    case GQ_ERR_QMP: return "QMP error";
    default: return "unknown error";
    }
}

int64_t gq_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void gq_sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

/* s, or its first max chars + "..." in tmp. */
const char *gq_shorten(const char *s, size_t max, char *tmp, size_t tmplen)
{
    if (!s) {
        return "(null)";
    }
    size_t n = strlen(s);
    if (n <= max || tmplen < 8) {
        return s;
    }
    if (max > tmplen - 4) {
        max = tmplen - 4;
    }
    memcpy(tmp, s, max);
    strcpy(tmp + max, "...");
    return tmp;
}

static void detail(GqQmp *q, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void detail(GqQmp *q, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(q->detail, sizeof(q->detail), fmt, ap);
    va_end(ap);
}

/* Set q->err from fmt, then " (sent SENT)" if sent, then "; DIAG" for
 * CLOSED/TIMEOUT if a diag hook is set.  Returns rc. */
int gq_setf(GqQmp *q, int rc, const char *sent, const char *fmt, ...)
{
    va_list ap;
    char tmp[GQ_SHOW + 8];
    va_start(ap, fmt);
    vsnprintf(q->err, sizeof(q->err), fmt, ap);
    va_end(ap);
    size_t n = strlen(q->err);
    if (sent && n < sizeof(q->err)) {
        snprintf(q->err + n, sizeof(q->err) - n, " (sent %s)",
                 gq_shorten(sent, GQ_SHOW, tmp, sizeof(tmp)));
        n = strlen(q->err);
    }
    if ((rc == GQ_ERR_CLOSED || rc == GQ_ERR_TIMEOUT) && q->diag &&
        n + 3 < sizeof(q->err)) {
        char *d = calloc(1, GQ_DIAGLEN);
        if (d) {
            q->diag(q->diag_opaque, d, GQ_DIAGLEN);
            d[GQ_DIAGLEN - 1] = 0;
            if (d[0]) {
                snprintf(q->err + n, sizeof(q->err) - n, "; %s", d);
            }
            free(d);
        }
    }
    return rc;
}

/* ------------------------------------------------------------------ */
/* transcript                                                           */
/* ------------------------------------------------------------------ */

void gq_tr_line(GqQmp *q, char dir, const char *text, size_t len)
{
    if (!q->tr) {
        return;
    }
    struct timespec rt;
    struct tm tm;
    char stamp[40];
    clock_gettime(CLOCK_REALTIME, &rt);
    gmtime_r(&rt.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    int64_t rel = gq_now_ms() - q->t0_ms;
    fprintf(q->tr, "%s.%03ldZ +%lld.%03lld %c ", stamp, rt.tv_nsec / 1000000,
            (long long)(rel / 1000), (long long)(rel % 1000), dir);
    if (len > GQ_TRANSCRIPT_MAX) {
        fwrite(text, 1, GQ_TRANSCRIPT_MAX, q->tr);
        fprintf(q->tr, "... (%zu bytes)", len);
    } else {
        fwrite(text, 1, len, q->tr);
    }
    fputc('\n', q->tr);
    fflush(q->tr);
}

void gq_tr_note(GqQmp *q, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    if (!q->tr) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    gq_tr_line(q, '#', buf, strlen(buf));
}

/* ------------------------------------------------------------------ */
/* bounded socket I/O                                                   */
/* ------------------------------------------------------------------ */

/* GQ_OK, GQ_ERR_TIMEOUT, GQ_ERR_CLOSED or GQ_ERR_SYS; q->detail set. */
int gq_send_all(GqQmp *q, const char *p, size_t n, int64_t deadline)
{
    while (n) {
        ssize_t w = send(q->fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int64_t rem = deadline - gq_now_ms();
            if (rem <= 0) {
                detail(q, "could not send (peer not reading)");
                return GQ_ERR_TIMEOUT;
            }
            struct pollfd pfd = { q->fd, POLLOUT, 0 };
            if (poll(&pfd, 1, (int)rem) < 0 && errno != EINTR) {
                detail(q, "poll: %s", strerror(errno));
                return GQ_ERR_SYS;
            }
            continue;
        }
        if (w < 0 && (errno == EPIPE || errno == ECONNRESET ||
                      errno == ENOTCONN)) {
            q->closed = true;
            gq_tr_note(q, "peer closed the connection (send: %s)",
                       strerror(errno));
            detail(q, "connection closed by the peer while sending (%s)",
                   strerror(errno));
            return GQ_ERR_CLOSED;
        }
        detail(q, "send: %s", strerror(errno));
        return GQ_ERR_SYS;
    }
    return GQ_OK;
}

/* Make room for GQ_READ_CHUNK more bytes. */
static int rbuf_reserve(GqQmp *q)
{
    if (q->rstart > 0 && (q->rstart == q->rlen || q->rstart >= q->rcap / 2 ||
                          q->rlen + GQ_READ_CHUNK > q->rcap)) {
        memmove(q->rbuf, q->rbuf + q->rstart, q->rlen - q->rstart);
        q->rlen -= q->rstart;
        q->rscan -= q->rstart;
        q->rstart = 0;
    }
    if (q->rlen + GQ_READ_CHUNK + 1 > q->rcap) {
        size_t nc = q->rcap ? q->rcap : 2 * GQ_READ_CHUNK;
        while (nc < q->rlen + GQ_READ_CHUNK + 1) {
            nc *= 2;
        }
        char *nb = realloc(q->rbuf, nc);
        if (!nb) {
            return -1;
        }
        q->rbuf = nb;
        q->rcap = nc;
    }
    return 0;
}

/* One line (without "\r\n"), malloc'ed, into *line.  The deadline may be
 * past: then only data already there is used.  GQ_OK, GQ_ERR_TIMEOUT,
 * GQ_ERR_CLOSED, GQ_ERR_PROTO (over-long line) or GQ_ERR_SYS; q->detail set
 * on failure. */
static int read_line(GqQmp *q, int64_t deadline, char **line, size_t *len)
{
    for (;;) {
        char *nl = q->rscan < q->rlen
                       ? memchr(q->rbuf + q->rscan, '\n', q->rlen - q->rscan)
                       : NULL;
        if (nl && q->skip_line) {
            /* end of an oversized line: drop it, resynchronize */
            q->rstart = q->rscan = (size_t)(nl - q->rbuf) + 1;
            q->skip_line = false;
            continue;
        }
        if (nl && (size_t)(nl - (q->rbuf + q->rstart)) > GQ_MAX_LINE) {
            size_t have = (size_t)(nl - (q->rbuf + q->rstart));
            gq_tr_note(q, "discarded a line longer than %u bytes", GQ_MAX_LINE);
            q->rstart = q->rscan = (size_t)(nl - q->rbuf) + 1;
            detail(q, "message longer than %u bytes (%zu bytes); discarded",
                   GQ_MAX_LINE, have);
            return GQ_ERR_PROTO;
        }
        if (nl) {
            size_t n = (size_t)(nl - (q->rbuf + q->rstart));
            size_t m = n;
            if (m && q->rbuf[q->rstart + m - 1] == '\r') {
                m--;
            }
            char *l = malloc(m + 1);
            if (!l) {
                detail(q, "out of memory");
                return GQ_ERR_SYS;
            }
            memcpy(l, q->rbuf + q->rstart, m);
            l[m] = 0;
            q->rstart += n + 1;
            q->rscan = q->rstart;
            *line = l;
            *len = m;
            return GQ_OK;
        }
        q->rscan = q->rlen;
        if (q->skip_line) {
            q->rstart = q->rscan = q->rlen;
        } else if (q->rlen - q->rstart > GQ_MAX_LINE) {
            size_t have = q->rlen - q->rstart;
            gq_tr_note(q, "discarding a line longer than %u bytes", GQ_MAX_LINE);
            q->rstart = q->rscan = q->rlen;
            q->skip_line = true;
            detail(q, "message longer than %u bytes (%zu bytes without a "
                   "newline); discarded", GQ_MAX_LINE, have);
            return GQ_ERR_PROTO;
        }
        if (q->closed) {
            size_t have = q->rlen - q->rstart;
            if (have && !q->skip_line) {
                char tmp[GQ_SHOW + 8];
                char *part = strndup(q->rbuf + q->rstart,
                                     have > GQ_SHOW ? GQ_SHOW : have);
                detail(q, "connection closed by the peer (after %zu bytes "
                       "of an unterminated message: %s)", have,
                       part ? gq_shorten(part, 200, tmp, sizeof(tmp)) : "?");
                free(part);
            } else {
                detail(q, "connection closed by the peer");
            }
            return GQ_ERR_CLOSED;
        }
        int64_t rem = deadline - gq_now_ms();
        if (rem < 0) {
            rem = 0;
        }
        struct pollfd pfd = { q->fd, POLLIN, 0 };
        int r = poll(&pfd, 1, rem > 0x7fffffff ? 0x7fffffff : (int)rem);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            detail(q, "poll: %s", strerror(errno));
            return GQ_ERR_SYS;
        }
        if (r == 0) {
            detail(q, "timed out");
            return GQ_ERR_TIMEOUT;
        }
        if (rbuf_reserve(q) < 0) {
            detail(q, "out of memory");
            return GQ_ERR_SYS;
        }
        ssize_t got = recv(q->fd, q->rbuf + q->rlen, GQ_READ_CHUNK, 0);
        if (got > 0) {
            q->rlen += (size_t)got;
            continue;
        }
        if (got < 0 && (errno == EINTR || errno == EAGAIN ||
                        errno == EWOULDBLOCK)) {
            continue;
        }
        if (got == 0 || errno == ECONNRESET) {
            q->closed = true;
            gq_tr_note(q, "peer closed the connection%s",
                       got == 0 ? "" : " (reset)");
            continue;   /* report, with any partial data, above */
        }
        detail(q, "recv: %s", strerror(errno));
        return GQ_ERR_SYS;
    }
}

/* Parse text (len bytes) as exactly one JSON object.  NULL with a reason in
 * why on failure. */
json_object *gq_parse_object(const char *text, size_t len, char *why,
                             size_t whylen)
{
    json_tokener *tok = json_tokener_new_ex(GQ_JSON_DEPTH);
    if (!tok) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    if (len > 0x7fffffff) {
        json_tokener_free(tok);
        snprintf(why, whylen, "too long");
        return NULL;
    }
    json_object *o = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error e = json_tokener_get_error(tok);
    if (!o) {
        snprintf(why, whylen, "%s", e == json_tokener_continue
                                        ? "unexpected end of text"
                                        : json_tokener_error_desc(e));
    } else {
        size_t end = json_tokener_get_parse_end(tok);
        while (end < len && strchr(" \t\r\n", text[end])) {
            end++;
        }
        if (end < len) {
            snprintf(why, whylen, "trailing data after the JSON value");
            json_object_put(o);
            o = NULL;
        } else if (!json_object_is_type(o, json_type_object)) {
            snprintf(why, whylen, "not a JSON object");
            json_object_put(o);
            o = NULL;
        }
    }
    json_tokener_free(tok);
    return o;
}

const char *gq_obj_str(json_object *o, const char *key)
{
    json_object *v;
    if (o && json_object_object_get_ex(o, key, &v) &&
        json_object_is_type(v, json_type_string)) {
        return json_object_get_string(v);
    }
    return NULL;
}

bool gq_is_event(json_object *o)
{
    return json_object_object_get_ex(o, "event", NULL);
}

/* Read one JSON object (raw text into *raw if non-NULL).  Codes as
 * read_line; GQ_ERR_PROTO for an unparsable message (q->detail says). */
int gq_read_msg(GqQmp *q, int64_t deadline, json_object **obj,
                char **raw)
{
    for (;;) {
        char *line = NULL;
        size_t len = 0;
        int rc = read_line(q, deadline, &line, &len);
        if (rc) {
            return rc;
        }
        if (!line[strspn(line, " \t")]) {
            free(line);
            continue;
        }
        char why[128], tmp[GQ_SHOW + 8];
        json_object *o = gq_parse_object(line, len, why, sizeof(why));
        gq_tr_line(q, o && gq_is_event(o) ? '!' : '<', line, len);
        if (!o) {
            detail(q, "unparsable message from the peer (%s): %s", why,
                   gq_shorten(line, 500, tmp, sizeof(tmp)));
            free(line);
            return GQ_ERR_PROTO;
        }
        *obj = o;
        if (raw) {
            *raw = line;
        } else {
            free(line);
        }
        return GQ_OK;
    }
}

void gq_queue_event(GqQmp *q, json_object *ev)
{
    if (q->nev == GQ_MAX_EVENTS) {
        json_object *old = q->events[0];
        gq_tr_note(q, "event queue full (%d): dropped the oldest event, %s",
                   GQ_MAX_EVENTS, gq_obj_str(old, "event") ? gq_obj_str(old, "event")
                                                     : "?");
        json_object_put(old);
        memmove(&q->events[0], &q->events[1],
                (q->nev - 1) * sizeof(*q->events));
        q->nev--;
    }
    if (q->nev == q->capev) {
        size_t nc = q->capev ? q->capev * 2 : 16;
        if (nc > GQ_MAX_EVENTS) {
            nc = GQ_MAX_EVENTS;
        }
        json_object **ne = realloc(q->events, nc * sizeof(*ne));
        if (!ne) {
            gq_tr_note(q, "out of memory: dropped event %s",
                       gq_obj_str(ev, "event") ? gq_obj_str(ev, "event") : "?");
            json_object_put(ev);
            return;
        }
        q->events = ne;
        q->capev = nc;
    }
    q->events[q->nev++] = ev;
}
