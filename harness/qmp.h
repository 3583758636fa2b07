/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qmp.h - a small QMP client (library gauntlet_qmp), shared by the qtest
 * client (qemu-device/tests/qtest/qtest_client.c) and the harness.
 *
 * Written from the QMP specification (docs/interop/qmp-spec); no QEMU code.
 *
 *  - Connect with gq_connect_unix() to a QEMU started with
 *    "-qmp unix:PATH,server=on,wait=off", or hand an already connected
 *    socket to gq_attach_fd().  Both read the greeting and negotiate
 *    capabilities (qmp_capabilities) before returning.
 *  - Every command gets an integer "id"; replies are matched by it, so a
 *    late reply to a timed-out command is skipped.  An "error" reply that
 *    has no id (QEMU's answer to input it could not parse) is taken as the
 *    reply to the pending command.
 *  - Asynchronous events read while waiting for a reply are queued (at most
 *    GQ_MAX_EVENTS; the oldest is dropped, with a note in the transcript).
 *  - Nothing blocks forever: every wait is bounded (gq_set_timeout(), or the
 *    call's own timeout).  A timed-out command leaves the connection usable.
 *    Once the peer has closed the connection, every call fails at once with
 *    GQ_ERR_CLOSED (events already queued can still be taken).
 *  - Framing: one JSON object per line, as QEMU sends it (not "pretty=on").
 *    Lines longer than GQ_MAX_LINE fail with GQ_ERR_PROTO.
 *  - Errors: functions returning int return GQ_OK or a negative GQ_ERR_*;
 *    gq_error() then says what was sent and what came back (or the timeout
 *    or close), plus the diag hook's text, e.g.
 *      QMP 'device_del' failed: DeviceNotFound: Device 'k9' not found
 *      (sent {"execute":"device_del","arguments":{"id":"k9"},"id":7})
 *  - Not thread-safe: one GqQmp per thread (or lock around it).
 *  - Writes use send(MSG_NOSIGNAL): the fd must be a stream socket, and a
 *    closed peer never raises SIGPIPE.
 */
#ifndef GAUNTLET_QMP_H
#define GAUNTLET_QMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <json-c/json.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GQ_DEFAULT_TIMEOUT_MS 10000
#define GQ_MAX_EVENTS 1024
#define GQ_MAX_LINE (16u << 20)     /* 16 MiB */

typedef struct GqQmp GqQmp;

/* Same values as the qtest client's QT_ERR_* (GQ_ERR_CLOSED = QT_ERR_DIED). */
enum {
    GQ_OK = 0,
    GQ_ERR_INVAL = -1,    /* bad argument / command text not a JSON object */
    GQ_ERR_SYS = -2,      /* a system call failed (errno text in message)  */
    GQ_ERR_TIMEOUT = -3,  /* deadline expired                              */
    GQ_ERR_CLOSED = -4,   /* peer closed / QEMU gone                       */
    GQ_ERR_PROTO = -5,    /* unparsable or unexpected message              */
    GQ_ERR_QMP = -7,      /* QMP replied {"error": ...}                    */
};

/* Static name of an error code, e.g. "timeout". */
const char *gq_strerr(int code);

/* Connect to a unix socket (retrying until it exists and accepts, for at
 * most timeout_ms; <= 0: GQ_DEFAULT_TIMEOUT_MS), then read the greeting and
 * send qmp_capabilities (again bounded by timeout_ms).  The connection's
 * default timeout is GQ_DEFAULT_TIMEOUT_MS (gq_set_timeout()).  NULL with a
 * message in err (may be NULL) on failure. */
GqQmp *gq_connect_unix(const char *path, int timeout_ms, char *err,
                       size_t errlen);
/* Same on an already connected stream socket (e.g. accepted from QEMU's
 * "-qmp unix:PATH" client connection).  Takes ownership of fd: it is closed
 * on failure and by gq_close().  The fd is made non-blocking, close-on-exec. */
GqQmp *gq_attach_fd(int fd, int timeout_ms, char *err, size_t errlen);
void gq_close(GqQmp *q);                        /* NULL ok */
int gq_fd(const GqQmp *q);
/* Default bound of every wait (<= 0: GQ_DEFAULT_TIMEOUT_MS). */
void gq_set_timeout(GqQmp *q, int timeout_ms);
int gq_get_timeout(const GqQmp *q);
/* true once the peer closed the connection (also inside the diag hook). */
bool gq_is_closed(const GqQmp *q);

/* Called when a wait fails with GQ_ERR_CLOSED or GQ_ERR_TIMEOUT, to add
 * context to gq_error() (e.g. QEMU's exit status and log tail): write a
 * NUL-terminated text into buf (len bytes).  gq_is_closed() tells which. */
typedef void (*GqDiagFn)(void *opaque, char *buf, size_t len);
void gq_set_diag(GqQmp *q, GqDiagFn fn, void *opaque);

/* Transcript: every line sent (">"), received ("<"; events "!"), and notes
 * ("#"), each prefixed with a UTC timestamp and the seconds since connect:
 *   2024-05-01T12:00:00.123Z +1.234 > {"execute":"stop","id":3}
 * NULL stops it.  Not closed by gq_close(); flushed after every line. */
void gq_set_transcript(GqQmp *q, FILE *f);

typedef struct GqReply {
    int rc;                 /* GQ_OK, GQ_ERR_QMP, or a transport error      */
    json_object *reply;     /* whole reply object (owned) or NULL           */
    json_object *ret;       /* borrowed: reply["return"] or NULL            */
    const char *err_class;  /* borrowed: reply["error"]["class"] or NULL    */
    const char *err_desc;   /* borrowed: reply["error"]["desc"] or NULL     */
    char *sent;             /* exact text sent (no newline), or NULL        */
    char *received;         /* exact reply line, or NULL                    */
} GqReply;

/* Send a command and wait for its reply (bounded by the default timeout).
 * fmt is printf-style and must yield one JSON object; single-quoted strings
 * are accepted, e.g. "{'execute':'query-status'}".  An "id" is added (a
 * caller's "id" is replaced).  Never returns NULL except out of memory;
 * free with gq_reply_free().  On failure gq_error() describes it. */
GqReply *gq_cmd(GqQmp *q, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Same with a command object built by the caller (not consumed). */
GqReply *gq_cmd_obj(GqQmp *q, json_object *cmd);
/* {"execute": command, "arguments": args}; args may be NULL and is not
 * consumed; timeout_ms <= 0: the default timeout. */
GqReply *gq_execute(GqQmp *q, const char *command, json_object *args,
                    int timeout_ms);
void gq_reply_free(GqReply *r);                 /* NULL ok */
/* Convenience: gq_cmd(), discard the reply, return its rc. */
int gq_ok(GqQmp *q, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Wait for (and dequeue) the first event named `name` (NULL = any), from
 * the queue or the socket, for at most timeout_ms (<= 0: default timeout).
 * *ev (may be NULL) receives the event object; json_object_put() it. */
int gq_wait_event(GqQmp *q, const char *name, int timeout_ms,
                  json_object **ev);
void gq_drop_events(GqQmp *q);

/* qom-get / qom-set.  *out of gq_qom_get must be json_object_put() by the
 * caller; gq_qom_set does not consume val (NULL sends JSON null).
 * gq_qom_get_str/int fail with GQ_ERR_PROTO if the value has another type. */
int gq_qom_get(GqQmp *q, const char *path, const char *prop,
               json_object **out);
int gq_qom_get_str(GqQmp *q, const char *path, const char *prop,
                   char *buf, size_t buflen);
int gq_qom_get_int(GqQmp *q, const char *path, const char *prop,
                   int64_t *out);
int gq_qom_set(GqQmp *q, const char *path, const char *prop,
               json_object *val);
int gq_qom_set_str(GqQmp *q, const char *path, const char *prop,
                   const char *val);
int gq_qom_set_int(GqQmp *q, const char *path, const char *prop,
                   int64_t val);
int gq_qom_set_bool(GqQmp *q, const char *path, const char *prop, bool val);

/* Last failure: what was sent, what came back (or the timeout / close),
 * plus the diag hook's text.  "" if nothing failed yet. */
const char *gq_error(const GqQmp *q);

#ifdef __cplusplus
}
#endif
#endif /* GAUNTLET_QMP_H */
