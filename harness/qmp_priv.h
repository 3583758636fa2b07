/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The QMP client's private header (qmp.h is the public one): the
 * connection's state and the helpers its files share.  The files:
 * qmp_io.c (error text, transcript, bounded socket I/O, JSON messages, the
 * event queue), qmp_cmd.c (commands, events, QOM) and qmp_conn.c
 * (connecting, the greeting, closing, settings).
 */
#ifndef GAUNTLET_QMP_PRIV_H
#define GAUNTLET_QMP_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "qmp.h"

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

/* qmp_io.c */
int64_t gq_now_ms(void);
void gq_sleep_ms(long ms);
const char *gq_shorten(const char *s, size_t max, char *tmp, size_t tmplen);
int gq_setf(GqQmp *q, int rc, const char *sent, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void gq_tr_line(GqQmp *q, char dir, const char *text, size_t len);
void gq_tr_note(GqQmp *q, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int gq_send_all(GqQmp *q, const char *p, size_t n, int64_t deadline);
json_object *gq_parse_object(const char *text, size_t len, char *why,
                             size_t whylen);
const char *gq_obj_str(json_object *o, const char *key);
bool gq_is_event(json_object *o);
int gq_read_msg(GqQmp *q, int64_t deadline, json_object **obj,
                char **raw);
void gq_queue_event(GqQmp *q, json_object *ev);

#endif
