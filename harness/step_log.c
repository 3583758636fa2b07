/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Steps that read the guest: expect_log and forbid_log (the console),
 * counter (driver, fault and device counters) and wait.
 */
#define _GNU_SOURCE
#include "run_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent_proto.h"
#include "guestfiles.h"
#include "qmp.h"
#include "verdict.h"

/* New console lines since *from; returns a malloc'd chunk (complete lines). */
static char *console_since(Run *r, long *from)
{
    size_t n;
    char *buf = gvm_file_read(r->vm->console, *from, &n);
    char *last = memrchr(buf, '\n', n);

    if (!last) {
        buf[0] = 0;
        return buf;
    }
    last[1] = 0;
    *from += (long)(last + 1 - buf);
    return buf;
}

/* Search text line by line; on a match, returns the offset just past the
 * matching line, else -1. */
long gr_match_lines(const regex_t *re, const char *text)
{
    const char *p = text;

    while (*p) {
        const char *e = strchr(p, '\n');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        char *line = strndup(p, l);
        bool m = regexec(re, line, 0, NULL, 0) == 0;

        free(line);
        if (m) {
            return (long)(p - text + l + (e ? 1 : 0));
        }
        p += l + (e ? 1 : 0);
    }
    return -1;
}

int gr_step_expect_log(Run *r, const GsStep *st)
{
    regex_t re;
    double end = gvm_now() + st->u.expect_log.timeout;
    long pos = r->log_consumed;
    int rc = -1;

    if (regcomp(&re, st->u.expect_log.pattern, REG_EXTENDED | REG_NOSUB)) {
        return gr_fail(r, GR_ERROR, GR_FAIL_ERROR, "bad regex");
    }
    for (;;) {
        long start = pos;
        char *chunk = console_since(r, &pos);
        long off = gr_match_lines(&re, chunk);

        if (off >= 0) {
            r->log_consumed = start + off;
            free(chunk);
            rc = 0;
            break;
        }
        free(chunk);
        if (gvm_now() >= end || gvm_ended(r->vm)) {
            rc = gr_fail(r, GR_FAIL, GR_FAIL_STEP, "no kernel log line matched /%s/ "
                       "within %.1f s", st->u.expect_log.pattern,
                       st->u.expect_log.timeout);
            break;
        }
        usleep(100000);
    }
    regfree(&re);
    return rc;
}

static int read_counter(Run *r, const GsStep *st, int64_t *v)
{
    if (st->u.counter.source == GS_SRC_FAULT) {
        *v = gr_rule_fired(r, st->u.counter.rule);
        return 0;
    }
    if (st->u.counter.source == GS_SRC_DRIVER) {
        char cmd[1024];
        ga_result res;
        char *end;

        if (!r->t->stats[0]) {
            return gr_fail(r, GR_ERROR, GR_FAIL_ERROR, "target %s has no driver counters",
                         r->t->name);
        }
        snprintf(cmd, sizeof(cmd), "cat '%s/%s'", r->t->stats, st->u.counter.name);
        if (gr_guest(r, cmd, 10, &res) < 0) {
            ga_result_free(&res);
            return -1;
        }
        if (!ga_result_ok(&res)) {
            ga_result_free(&res);
            return gr_fail(r, GR_FAIL, GR_FAIL_STEP, "driver counter '%s' unreadable "
                         "(%s/%s)", st->u.counter.name, r->t->stats,
                         st->u.counter.name);
        }
        errno = 0;
        *v = strtoll(res.out, &end, 0);
        ga_result_free(&res);
        return errno ? gr_fail(r, GR_FAIL, GR_FAIL_STEP, "driver counter '%s': not a "
                             "number", st->u.counter.name) : 0;
    }
    {
        json_object *o = NULL, *f;
        Device *d = &r->dev[0];

        if (!r->t->device_stats[0] || !d->present ||
            gq_qom_get(r->vm->qmp, gr_qom_path(d), r->t->device_stats, &o)) {
            return gr_fail(r, GR_FAIL, GR_FAIL_STEP, "device counter '%s' unavailable",
                         st->u.counter.name);
        }
        if (!json_object_object_get_ex(o, st->u.counter.name, &f)) {
            json_object_put(o);
            return gr_fail(r, GR_FAIL, GR_FAIL_STEP, "device has no counter '%s'",
                         st->u.counter.name);
        }
        *v = json_object_get_int64(f);
        json_object_put(o);
        return 0;
    }
}

int gr_step_counter(Run *r, const GsStep *st)
{
    static const char *const ops[] = { "==", "!=", "<", "<=", ">", ">=" };
    int64_t v = 0, want = st->u.counter.value;
    bool ok = false;

    if (read_counter(r, st, &v) < 0) {
        return -1;
    }
    switch (st->u.counter.op) {
    case GS_OP_EQ: ok = v == want; break;
    case GS_OP_NE: ok = v != want; break;
    case GS_OP_LT: ok = v < want; break;
    case GS_OP_LE: ok = v <= want; break;
    case GS_OP_GT: ok = v > want; break;
    case GS_OP_GE: ok = v >= want; break;
    }
    gr_log(r, "counter %s %s = %" PRId64 " (want %s %" PRId64 ")",
          st->u.counter.source == GS_SRC_DRIVER ? "driver" :
          st->u.counter.source == GS_SRC_FAULT ? "fault" : "device",
          st->u.counter.name, v, ops[st->u.counter.op], want);
    if (!ok) {
        return gr_fail(r, GR_FAIL, GR_FAIL_STEP, "counter %s %s is %" PRId64 ", expected "
                     "%s %" PRId64, st->u.counter.source == GS_SRC_DRIVER ?
                     "driver" : st->u.counter.source == GS_SRC_FAULT ? "fault rule" :
                     "device", st->u.counter.name, v, ops[st->u.counter.op], want);
    }
    return 0;
}

int gr_step_wait(Run *r, const GsStep *st)
{
    double seconds = st->u.wait.seconds;

    double end = gvm_now() + seconds;

    while (gvm_now() < end) {
        double left = end - gvm_now();

        if (r->vm && gvm_ended(r->vm)) {
            return gr_vm_trouble(r, GR_FAIL_STEP, "during wait");
        }
        /* keep background output flowing meanwhile */
        if (r->vm) {
            ga_poll(r->vm->agent, (int)(fmin(left, 0.5) * 1000) + 1);
        } else {
            usleep((useconds_t)(fmin(left, 0.5) * 1e6));
        }
    }
    return 0;
}

/* forbid_log: from here on, the pattern must not appear on the console
 * (judged at the end, judge.c). */
int gr_step_forbid_log(Run *r, const GsStep *st)
{
    long pos = 0;
    struct stat sb;

    if (r->nforbid >= MAX_FORBID ||
        regcomp(&r->forbid[r->nforbid].re, st->u.forbid_log.pattern,
                REG_EXTENDED | REG_NOSUB)) {
        return 0;   /* the parser bounds and checks both */
    }
    if (r->vm && !stat(r->vm->console, &sb)) {
        pos = sb.st_size;
    }
    r->forbid[r->nforbid].pattern = st->u.forbid_log.pattern;
    r->forbid[r->nforbid].from = pos;
    r->forbid[r->nforbid].line = st->line;
    r->nforbid++;
    return 0;
}
