/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qmp.c - QMP client, see qmp.h.
 *
 * Written from the QMP specification; no QEMU code is included.
 */
#define _GNU_SOURCE
#include "qmp.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define GQ_ERRLEN 16384
#define GQ_DIAGLEN 8192
#define GQ_SHOW 1000                   /* chars of sent/received in messages */
#define GQ_READ_CHUNK 65536
#define GQ_TRANSCRIPT_MAX (1u << 20)   /* longest line copied to transcript  */
#define GQ_JSON_DEPTH 128

struct GqQmp {
    int fd;
    bool closed;               /* peer closed (EOF / reset)                  */
    bool skip_line;            /* discarding the rest of an oversized line   */
    int timeout_ms;
    long long next_id;

    char *rbuf;                /* received bytes; pending = [rstart, rlen)   */
    size_t rstart, rlen, rcap;
    size_t rscan;              /* no '\n' in [rstart, rscan)                 */

    json_object **events;      /* FIFO of queued events                      */
    size_t nev, capev;

    GqDiagFn diag;
    void *diag_opaque;
    FILE *tr;
    int64_t t0_ms;             /* monotonic time of connect                  */

    char detail[1024];         /* low-level failure detail                   */
    char err[GQ_ERRLEN];
};

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

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

/* s, or its first max chars + "..." in tmp. */
static const char *shorten(const char *s, size_t max, char *tmp, size_t tmplen)
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
static int setf(GqQmp *q, int rc, const char *sent, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int setf(GqQmp *q, int rc, const char *sent, const char *fmt, ...)
{
    va_list ap;
    char tmp[GQ_SHOW + 8];
    va_start(ap, fmt);
    vsnprintf(q->err, sizeof(q->err), fmt, ap);
    va_end(ap);
    size_t n = strlen(q->err);
    if (sent && n < sizeof(q->err)) {
        snprintf(q->err + n, sizeof(q->err) - n, " (sent %s)",
                 shorten(sent, GQ_SHOW, tmp, sizeof(tmp)));
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

static void tr_line(GqQmp *q, char dir, const char *text, size_t len)
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
    int64_t rel = now_ms() - q->t0_ms;
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

static void tr_note(GqQmp *q, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void tr_note(GqQmp *q, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    if (!q->tr) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    tr_line(q, '#', buf, strlen(buf));
}

/* ------------------------------------------------------------------ */
/* bounded socket I/O                                                   */
/* ------------------------------------------------------------------ */

/* GQ_OK, GQ_ERR_TIMEOUT, GQ_ERR_CLOSED or GQ_ERR_SYS; q->detail set. */
static int send_all(GqQmp *q, const char *p, size_t n, int64_t deadline)
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
            int64_t rem = deadline - now_ms();
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
            tr_note(q, "peer closed the connection (send: %s)",
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
            tr_note(q, "discarded a line longer than %u bytes", GQ_MAX_LINE);
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
            tr_note(q, "discarding a line longer than %u bytes", GQ_MAX_LINE);
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
                       part ? shorten(part, 200, tmp, sizeof(tmp)) : "?");
                free(part);
            } else {
                detail(q, "connection closed by the peer");
            }
            return GQ_ERR_CLOSED;
        }
        int64_t rem = deadline - now_ms();
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
            tr_note(q, "peer closed the connection%s",
                    got == 0 ? "" : " (reset)");
            continue;   /* report, with any partial data, above */
        }
        detail(q, "recv: %s", strerror(errno));
        return GQ_ERR_SYS;
    }
}

/* Parse text (len bytes) as exactly one JSON object.  NULL with a reason in
 * why on failure. */
static json_object *parse_object(const char *text, size_t len, char *why,
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

static const char *obj_str(json_object *o, const char *key)
{
    json_object *v;
    if (o && json_object_object_get_ex(o, key, &v) &&
        json_object_is_type(v, json_type_string)) {
        return json_object_get_string(v);
    }
    return NULL;
}

static bool is_event(json_object *o)
{
    return json_object_object_get_ex(o, "event", NULL);
}

/* Read one JSON object (raw text into *raw if non-NULL).  Codes as
 * read_line; GQ_ERR_PROTO for an unparsable message (q->detail says). */
static int read_msg(GqQmp *q, int64_t deadline, json_object **obj,
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
        json_object *o = parse_object(line, len, why, sizeof(why));
        tr_line(q, o && is_event(o) ? '!' : '<', line, len);
        if (!o) {
            detail(q, "unparsable message from the peer (%s): %s", why,
                   shorten(line, 500, tmp, sizeof(tmp)));
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

static void queue_event(GqQmp *q, json_object *ev)
{
    if (q->nev == GQ_MAX_EVENTS) {
        json_object *old = q->events[0];
        tr_note(q, "event queue full (%d): dropped the oldest event, %s",
                GQ_MAX_EVENTS, obj_str(old, "event") ? obj_str(old, "event")
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
            tr_note(q, "out of memory: dropped event %s",
                    obj_str(ev, "event") ? obj_str(ev, "event") : "?");
            json_object_put(ev);
            return;
        }
        q->events = ne;
        q->capev = nc;
    }
    q->events[q->nev++] = ev;
}

/* ------------------------------------------------------------------ */
/* commands                                                             */
/* ------------------------------------------------------------------ */

void gq_reply_free(GqReply *r)
{
    if (!r) {
        return;
    }
    json_object_put(r->reply);
    free(r->sent);
    free(r->received);
    free(r);
}

static GqReply *run_cmd(GqQmp *q, json_object *cmd, int timeout_ms)
{
    GqReply *r = calloc(1, sizeof(*r));
    char tmp[GQ_SHOW + 8];
    if (!r) {
        return NULL;
    }
    if (!q) {
        r->rc = GQ_ERR_INVAL;
        return r;
    }
    if (!cmd || !json_object_is_type(cmd, json_type_object)) {
        r->rc = setf(q, GQ_ERR_INVAL, NULL,
                     "QMP command must be a JSON object");
        return r;
    }
    const char *name = obj_str(cmd, "execute");
    if (!name) {
        name = obj_str(cmd, "exec-oob");
    }
    char cname[128];
    snprintf(cname, sizeof(cname), "%s", name ? name : "?");

    /* shallow copy with our own id */
    json_object *msg = json_object_new_object();
    if (!msg) {
        r->rc = setf(q, GQ_ERR_SYS, NULL, "QMP '%s': out of memory", cname);
        return r;
    }
    json_object_object_foreach(cmd, key, val) {
        if (strcmp(key, "id") != 0) {
            json_object_object_add(msg, key, json_object_get(val));
        }
    }
    long long id = ++q->next_id;
    json_object_object_add(msg, "id", json_object_new_int64(id));
    const char *text = json_object_to_json_string_ext(
        msg, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    size_t tl = strlen(text);
    char *sent = malloc(tl + 2);
    if (!sent) {
        json_object_put(msg);
        r->rc = setf(q, GQ_ERR_SYS, NULL, "QMP '%s': out of memory", cname);
        return r;
    }
    memcpy(sent, text, tl + 1);
    json_object_put(msg);

    if (q->closed) {
        r->rc = setf(q, GQ_ERR_CLOSED, NULL, "QMP '%s' not sent: the "
                     "connection was closed earlier (command %s)", cname,
                     shorten(sent, GQ_SHOW, tmp, sizeof(tmp)));
        free(sent);
        return r;
    }
    if (timeout_ms <= 0) {
        timeout_ms = q->timeout_ms;
    }
    int64_t deadline = now_ms() + timeout_ms;
    tr_line(q, '>', sent, tl);
    sent[tl] = '\n';
    int rc = send_all(q, sent, tl + 1, deadline);
    sent[tl] = 0;
    r->sent = sent;
    if (rc) {
        r->rc = setf(q, rc, r->sent, "QMP '%s': %s", cname, q->detail);
        return r;
    }
    for (;;) {
        json_object *o = NULL;
        char *raw = NULL;
        rc = read_msg(q, deadline, &o, &raw);
        if (rc == GQ_ERR_TIMEOUT) {
            r->rc = setf(q, rc, r->sent, "QMP '%s': no reply within %d ms",
                         cname, timeout_ms);
            return r;
        }
        if (rc == GQ_ERR_CLOSED) {
            r->rc = setf(q, rc, r->sent, "QMP '%s': %s while waiting for "
                         "the reply", cname, q->detail);
            return r;
        }
        if (rc) {
            r->rc = setf(q, rc, r->sent, "QMP '%s': %s", cname, q->detail);
            return r;
        }
        if (is_event(o)) {
            queue_event(q, o);
            free(raw);
            continue;
        }
        json_object *jid = NULL, *e = NULL;
        bool has_id = json_object_object_get_ex(o, "id", &jid);
        bool has_err = json_object_object_get_ex(o, "error", &e);
        bool ours = has_id ? json_object_is_type(jid, json_type_int) &&
                                 json_object_get_int64(jid) == id
                           : has_err;   /* QEMU's reply to unparsable input */
        if (!ours) {
            /* greeting, or a late reply to an earlier, timed-out command */
            tr_note(q, "skipped a message that is not the reply to id %lld",
                    id);
            json_object_put(o);
            free(raw);
            continue;
        }
        r->reply = o;
        r->received = raw;
        if (json_object_object_get_ex(o, "return", &r->ret)) {
            r->rc = GQ_OK;
        } else if (has_err) {
            r->err_class = obj_str(e, "class");
            r->err_desc = obj_str(e, "desc");
            r->rc = setf(q, GQ_ERR_QMP, r->sent, "QMP '%s' failed: %s: %s%s",
                         cname, r->err_class ? r->err_class : "?",
                         r->err_desc ? r->err_desc : "?",
                         has_id ? "" : " (error reply without id)");
        } else {
            r->rc = setf(q, GQ_ERR_PROTO, r->sent, "QMP '%s': reply has "
                         "neither \"return\" nor \"error\": %s", cname,
                         shorten(raw, GQ_SHOW, tmp, sizeof(tmp)));
        }
        return r;
    }
}

GqReply *gq_cmd_obj(GqQmp *q, json_object *cmd)
{
    return run_cmd(q, cmd, 0);
}

GqReply *gq_execute(GqQmp *q, const char *command, json_object *args,
                    int timeout_ms)
{
    if (!q || !command) {
        GqReply *r = calloc(1, sizeof(*r));
        if (r) {
            r->rc = q ? setf(q, GQ_ERR_INVAL, NULL, "gq_execute: no command")
                      : GQ_ERR_INVAL;
        }
        return r;
    }
    json_object *cmd = json_object_new_object();
    if (!cmd) {
        return NULL;
    }
    json_object_object_add(cmd, "execute", json_object_new_string(command));
    if (args) {
        json_object_object_add(cmd, "arguments", json_object_get(args));
    }
    GqReply *r = run_cmd(q, cmd, timeout_ms);
    json_object_put(cmd);
    return r;
}

static GqReply *cmd_v(GqQmp *q, const char *fmt, va_list ap)
{
    char *text = NULL;
    if (vasprintf(&text, fmt, ap) < 0) {
        return NULL;
    }
    char why[128];
    json_object *cmd = parse_object(text, strlen(text), why, sizeof(why));
    GqReply *r;
    if (!cmd) {
        r = calloc(1, sizeof(*r));
        if (r) {
            char tmp[GQ_SHOW + 8];
            r->rc = q ? setf(q, GQ_ERR_INVAL, NULL, "QMP command text is "
                             "not a JSON object (%s): %s", why,
                             shorten(text, GQ_SHOW, tmp, sizeof(tmp)))
                      : GQ_ERR_INVAL;
            r->sent = text;    /* as before: the text, although not sent */
            text = NULL;
        }
    } else {
        r = run_cmd(q, cmd, 0);
    }
    json_object_put(cmd);
    free(text);
    return r;
}

GqReply *gq_cmd(GqQmp *q, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    GqReply *r = cmd_v(q, fmt, ap);
    va_end(ap);
    return r;
}

int gq_ok(GqQmp *q, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    GqReply *r = cmd_v(q, fmt, ap);
    va_end(ap);
    if (!r) {
        return q ? setf(q, GQ_ERR_SYS, NULL, "out of memory") : GQ_ERR_SYS;
    }
    int rc = r->rc;
    gq_reply_free(r);
    return rc;
}

/* ------------------------------------------------------------------ */
/* events                                                               */
/* ------------------------------------------------------------------ */

static bool event_matches(json_object *ev, const char *name)
{
    const char *n = obj_str(ev, "event");
    return !name || (n && strcmp(n, name) == 0);
}

int gq_wait_event(GqQmp *q, const char *name, int timeout_ms,
                  json_object **ev)
{
    if (ev) {
        *ev = NULL;
    }
    if (!q) {
        return GQ_ERR_INVAL;
    }
    for (size_t i = 0; i < q->nev; i++) {
        if (event_matches(q->events[i], name)) {
            json_object *e = q->events[i];
            memmove(&q->events[i], &q->events[i + 1],
                    (q->nev - i - 1) * sizeof(*q->events));
            q->nev--;
            if (ev) {
                *ev = e;
            } else {
                json_object_put(e);
            }
            return GQ_OK;
        }
    }
    if (timeout_ms <= 0) {
        timeout_ms = q->timeout_ms;
    }
    const char *what = name ? name : "(any)";
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        json_object *o = NULL;
        int rc = read_msg(q, deadline, &o, NULL);
        if (rc == GQ_ERR_TIMEOUT) {
            return setf(q, rc, NULL, "QMP event %s did not arrive within "
                        "%d ms", what, timeout_ms);
        }
        if (rc) {
            return setf(q, rc, NULL, "QMP event %s: %s", what, q->detail);
        }
        if (!is_event(o)) {
            tr_note(q, "skipped a non-event message (late reply?)");
            json_object_put(o);
            continue;
        }
        if (event_matches(o, name)) {
            if (ev) {
                *ev = o;
            } else {
                json_object_put(o);
            }
            return GQ_OK;
        }
        queue_event(q, o);
    }
}

void gq_drop_events(GqQmp *q)
{
    if (!q) {
        return;
    }
    for (size_t i = 0; i < q->nev; i++) {
        json_object_put(q->events[i]);
    }
    q->nev = 0;
}

/* ------------------------------------------------------------------ */
/* QOM                                                                  */
/* ------------------------------------------------------------------ */

static json_object *qom_args(const char *path, const char *prop,
                             json_object *val, bool with_val)
{
    json_object *args = json_object_new_object();
    json_object_object_add(args, "path", json_object_new_string(path));
    json_object_object_add(args, "property", json_object_new_string(prop));
    if (with_val) {
        json_object_object_add(args, "value", val ? json_object_get(val)
                                                  : NULL);
    }
    return args;
}

static int reply_rc(GqQmp *q, GqReply *r)
{
    if (!r) {
        return setf(q, GQ_ERR_SYS, NULL, "out of memory");
    }
    int rc = r->rc;
    gq_reply_free(r);
    return rc;
}

int gq_qom_get(GqQmp *q, const char *path, const char *prop,
               json_object **out)
{
    if (out) {
        *out = NULL;
    }
    if (!q) {
        return GQ_ERR_INVAL;
    }
    if (!path || !prop) {
        return setf(q, GQ_ERR_INVAL, NULL, "qom-get: NULL path/property");
    }
    json_object *args = qom_args(path, prop, NULL, false);
    GqReply *r = gq_execute(q, "qom-get", args, 0);
    json_object_put(args);
    if (r && !r->rc && out) {
        *out = json_object_get(r->ret);
    }
    return reply_rc(q, r);
}

int gq_qom_get_str(GqQmp *q, const char *path, const char *prop,
                   char *buf, size_t buflen)
{
    json_object *v = NULL;
    int rc = gq_qom_get(q, path, prop, &v);
    if (rc) {
        return rc;
    }
    if (!json_object_is_type(v, json_type_string)) {
        rc = setf(q, GQ_ERR_PROTO, NULL, "qom-get %s.%s: not a string: %s",
                  path, prop, json_object_to_json_string(v));
    } else if (buf && buflen) {
        snprintf(buf, buflen, "%s", json_object_get_string(v));
    }
    json_object_put(v);
    return rc;
}

int gq_qom_get_int(GqQmp *q, const char *path, const char *prop,
                   int64_t *out)
{
    json_object *v = NULL;
    int rc = gq_qom_get(q, path, prop, &v);
    if (rc) {
        return rc;
    }
    if (!json_object_is_type(v, json_type_int)) {
        rc = setf(q, GQ_ERR_PROTO, NULL, "qom-get %s.%s: not an integer: %s",
                  path, prop, json_object_to_json_string(v));
    } else if (out) {
        *out = json_object_get_int64(v);
    }
    json_object_put(v);
    return rc;
}

int gq_qom_set(GqQmp *q, const char *path, const char *prop,
               json_object *val)
{
    if (!q) {
        return GQ_ERR_INVAL;
    }
    if (!path || !prop) {
        return setf(q, GQ_ERR_INVAL, NULL, "qom-set: NULL path/property");
    }
    json_object *args = qom_args(path, prop, val, true);
    GqReply *r = gq_execute(q, "qom-set", args, 0);
    json_object_put(args);
    return reply_rc(q, r);
}

int gq_qom_set_str(GqQmp *q, const char *path, const char *prop,
                   const char *val)
{
    json_object *v = json_object_new_string(val ? val : "");
    int rc = gq_qom_set(q, path, prop, v);
    json_object_put(v);
    return rc;
}

int gq_qom_set_int(GqQmp *q, const char *path, const char *prop,
                   int64_t val)
{
    json_object *v = json_object_new_int64(val);
    int rc = gq_qom_set(q, path, prop, v);
    json_object_put(v);
    return rc;
}

int gq_qom_set_bool(GqQmp *q, const char *path, const char *prop, bool val)
{
    json_object *v = json_object_new_boolean(val);
    int rc = gq_qom_set(q, path, prop, v);
    json_object_put(v);
    return rc;
}

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
    q->t0_ms = now_ms();
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
        fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
        seterr(err, errlen, "gq_attach_fd: fcntl: %s", strerror(errno));
        gq_close(q);
        return NULL;
    }

    /* greeting: {"QMP": {"version": ..., "capabilities": [...]}} */
    int64_t deadline = now_ms() + timeout_ms;
    json_object *g = NULL;
    char *raw = NULL;
    int rc = read_msg(q, deadline, &g, &raw);
    if (rc == GQ_ERR_TIMEOUT) {
        seterr(err, errlen, "no QMP greeting within %d ms", timeout_ms);
    } else if (rc) {
        seterr(err, errlen, "waiting for the QMP greeting: %s", q->detail);
    } else if (!json_object_object_get_ex(g, "QMP", NULL)) {
        char tmp[GQ_SHOW + 8];
        rc = GQ_ERR_PROTO;
        seterr(err, errlen, "unexpected QMP greeting: %s",
               shorten(raw, 500, tmp, sizeof(tmp)));
    }
    json_object_put(g);
    free(raw);
    if (rc) {
        gq_close(q);
        return NULL;
    }
    int64_t rem = deadline - now_ms();
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
    int64_t deadline = now_ms() + timeout_ms;
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
        if (now_ms() >= deadline) {
            seterr(err, errlen, "could not connect to QMP socket %s within "
                   "%d ms: %s", path, timeout_ms, strerror(e));
            return NULL;
        }
        sleep_ms(20);
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
