/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QMP commands (qmp.h, qmp_priv.h): one command and its reply (events
 * received meanwhile are queued), waiting for events, and the QOM
 * property helpers.
 */
#define _GNU_SOURCE
#include "qmp_priv.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

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
        r->rc = gq_setf(q, GQ_ERR_INVAL, NULL,
                        "QMP command must be a JSON object");
        return r;
    }
    const char *name = gq_obj_str(cmd, "execute");
    if (!name) {
        name = gq_obj_str(cmd, "exec-oob");
    }
    char cname[128];
    snprintf(cname, sizeof(cname), "%s", name ? name : "?");

    /* shallow copy with our own id */
    json_object *msg = json_object_new_object();
    if (!msg) {
        r->rc = gq_setf(q, GQ_ERR_SYS, NULL, "QMP '%s': out of memory", cname);
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
        r->rc = gq_setf(q, GQ_ERR_SYS, NULL, "QMP '%s': out of memory", cname);
        return r;
    }
    memcpy(sent, text, tl + 1);
    json_object_put(msg);

    if (q->closed) {
        r->rc = gq_setf(q, GQ_ERR_CLOSED, NULL, "QMP '%s' not sent: the "
                        "connection was closed earlier (command %s)", cname,
                        gq_shorten(sent, GQ_SHOW, tmp, sizeof(tmp)));
        free(sent);
        return r;
    }
    if (timeout_ms <= 0) {
        timeout_ms = q->timeout_ms;
    }
    int64_t deadline = gq_now_ms() + timeout_ms;
    gq_tr_line(q, '>', sent, tl);
    sent[tl] = '\n';
    int rc = gq_send_all(q, sent, tl + 1, deadline);
    sent[tl] = 0;
    r->sent = sent;
    if (rc) {
        r->rc = gq_setf(q, rc, r->sent, "QMP '%s': %s", cname, q->detail);
        return r;
    }
    for (;;) {
        json_object *o = NULL;
        char *raw = NULL;
        rc = gq_read_msg(q, deadline, &o, &raw);
        if (rc == GQ_ERR_TIMEOUT) {
            r->rc = gq_setf(q, rc, r->sent, "QMP '%s': no reply within %d ms",
                            cname, timeout_ms);
            return r;
        }
        if (rc == GQ_ERR_CLOSED) {
            r->rc = gq_setf(q, rc, r->sent, "QMP '%s': %s while waiting for "
                            "the reply", cname, q->detail);
            return r;
        }
        if (rc) {
            r->rc = gq_setf(q, rc, r->sent, "QMP '%s': %s", cname, q->detail);
            return r;
        }
        if (gq_is_event(o)) {
            gq_queue_event(q, o);
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
            gq_tr_note(q, "skipped a message that is not the reply to id %lld",
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
            r->err_class = gq_obj_str(e, "class");
            r->err_desc = gq_obj_str(e, "desc");
            r->rc = gq_setf(q, GQ_ERR_QMP, r->sent, "QMP '%s' failed: %s: %s%s",
                            cname, r->err_class ? r->err_class : "?",
                            r->err_desc ? r->err_desc : "?",
                            has_id ? "" : " (error reply without id)");
        } else {
            r->rc = gq_setf(q, GQ_ERR_PROTO, r->sent, "QMP '%s': reply has "
                            "neither \"return\" nor \"error\": %s", cname,
                            gq_shorten(raw, GQ_SHOW, tmp, sizeof(tmp)));
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
            r->rc = q ? gq_setf(q, GQ_ERR_INVAL, NULL, "gq_execute: no command")
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
    json_object *cmd = gq_parse_object(text, strlen(text), why, sizeof(why));
    GqReply *r;
    if (!cmd) {
        r = calloc(1, sizeof(*r));
        if (r) {
            char tmp[GQ_SHOW + 8];
            r->rc = q ? gq_setf(q, GQ_ERR_INVAL, NULL, "QMP command text is "
                                "not a JSON object (%s): %s", why,
                                gq_shorten(text, GQ_SHOW, tmp, sizeof(tmp)))
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
        return q ? gq_setf(q, GQ_ERR_SYS, NULL, "out of memory") : GQ_ERR_SYS;
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
    const char *n = gq_obj_str(ev, "event");
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
    int64_t deadline = gq_now_ms() + timeout_ms;
    for (;;) {
        json_object *o = NULL;
        int rc = gq_read_msg(q, deadline, &o, NULL);
        if (rc == GQ_ERR_TIMEOUT) {
            return gq_setf(q, rc, NULL, "QMP event %s did not arrive within "
                           "%d ms", what, timeout_ms);
        }
        if (rc) {
            return gq_setf(q, rc, NULL, "QMP event %s: %s", what, q->detail);
        }
        if (!gq_is_event(o)) {
            gq_tr_note(q, "skipped a non-event message (late reply?)");
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
        gq_queue_event(q, o);
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
        return gq_setf(q, GQ_ERR_SYS, NULL, "out of memory");
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
        return gq_setf(q, GQ_ERR_INVAL, NULL, "qom-get: NULL path/property");
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
        rc = gq_setf(q, GQ_ERR_PROTO, NULL, "qom-get %s.%s: not a string: %s",
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
        rc = gq_setf(q, GQ_ERR_PROTO, NULL, "qom-get %s.%s: not an integer: %s",
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
        return gq_setf(q, GQ_ERR_INVAL, NULL, "qom-set: NULL path/property");
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
