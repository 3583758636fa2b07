/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The YAML writer (yaml_writer.h): libyaml's emitter into a memory buffer.
 */
#define _GNU_SOURCE
#include "yaml_writer.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#define GY_MAX_DEPTH 64

struct GyWriter {
    yaml_emitter_t em;
    char *buf;
    size_t len, cap;
    int depth;
    struct { bool map; size_t items; } open[GY_MAX_DEPTH];
    bool failed;
    char err[256];
};

static int on_write(void *data, unsigned char *bytes, size_t size)
{
    GyWriter *w = data;

    if (w->len + size + 1 > w->cap) {
        size_t cap = (w->cap + size + 1) * 2;
        char *p = realloc(w->buf, cap);

        if (!p) {
            return 0;
        }
        w->buf = p;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, bytes, size);
    w->len += size;
    w->buf[w->len] = 0;
    return 1;
}

static void fail(GyWriter *w, const char *what)
{
    if (w->failed) {
        return;
    }
    w->failed = true;
    snprintf(w->err, sizeof(w->err), "YAML writer: %s%s%s", what,
             w->em.problem ? ": " : "", w->em.problem ? w->em.problem : "");
}

/* Emit an initialized event (the emitter takes it over, also on error). */
static void emit(GyWriter *w, yaml_event_t *ev, int init_ok, const char *what)
{
    if (!init_ok) {
        fail(w, what);
        return;
    }
    if (!yaml_emitter_emit(&w->em, ev)) {
        fail(w, what);
    }
}

/* A node goes into the innermost collection. */
static void count_node(GyWriter *w)
{
    if (w->depth) {
        w->open[w->depth - 1].items++;
    }
}

static void open_collection(GyWriter *w, bool map)
{
    count_node(w);
    w->open[w->depth].map = map;
    w->open[w->depth].items = 0;
    w->depth++;
}

GyWriter *gy_new(void)
{
    GyWriter *w = calloc(1, sizeof(*w));
    yaml_event_t ev;

    if (!w || !yaml_emitter_initialize(&w->em)) {
        abort();
    }
    yaml_emitter_set_output(&w->em, on_write, w);
    yaml_emitter_set_unicode(&w->em, 1);
    yaml_emitter_set_width(&w->em, -1);        /* never fold a line */
    yaml_emitter_set_indent(&w->em, 2);
    emit(w, &ev, yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING),
         "stream start");
    emit(w, &ev, yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1),
         "document start");
    return w;
}

void gy_map(GyWriter *w, GyStyle style)
{
    yaml_event_t ev;

    if (w->failed) {
        return;
    }
    if (w->depth >= GY_MAX_DEPTH) {
        fail(w, "nested too deep");
        return;
    }
    open_collection(w, true);
    emit(w, &ev, yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
            style == GY_FLOW ? YAML_FLOW_MAPPING_STYLE : YAML_BLOCK_MAPPING_STYLE),
         "mapping");
}

void gy_seq(GyWriter *w, GyStyle style)
{
    yaml_event_t ev;

    if (w->failed) {
        return;
    }
    if (w->depth >= GY_MAX_DEPTH) {
        fail(w, "nested too deep");
        return;
    }
    open_collection(w, false);
    emit(w, &ev, yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
            style == GY_FLOW ? YAML_FLOW_SEQUENCE_STYLE : YAML_BLOCK_SEQUENCE_STYLE),
         "sequence");
}

void gy_end(GyWriter *w)
{
    yaml_event_t ev;

    if (w->failed) {
        return;
    }
    if (w->depth == 0) {
        fail(w, "gy_end() with nothing open");
        return;
    }
    if (w->open[w->depth - 1].map) {
        if (w->open[w->depth - 1].items % 2) {
            fail(w, "a mapping key without its value");
            return;
        }
        w->depth--;
        emit(w, &ev, yaml_mapping_end_event_initialize(&ev), "end of a mapping");
    } else {
        w->depth--;
        emit(w, &ev, yaml_sequence_end_event_initialize(&ev), "end of a sequence");
    }
}

static void scalar(GyWriter *w, const char *s, yaml_scalar_style_t style,
                   const char *what)
{
    yaml_event_t ev;

    if (w->failed) {
        return;
    }
    if (w->depth == 0) {
        fail(w, "a scalar outside any mapping or sequence");
        return;
    }
    count_node(w);
    /* yaml_scalar_event_initialize refuses text that is not UTF-8 */
    emit(w, &ev, yaml_scalar_event_initialize(&ev, NULL, NULL,
            (yaml_char_t *)s, (int)strlen(s), style == YAML_PLAIN_SCALAR_STYLE,
            style != YAML_PLAIN_SCALAR_STYLE, style), what);
}

void gy_key(GyWriter *w, const char *key)
{
    scalar(w, key, YAML_PLAIN_SCALAR_STYLE, "key (not UTF-8?)");
}

void gy_str(GyWriter *w, const char *s)
{
    scalar(w, s ? s : "", YAML_DOUBLE_QUOTED_SCALAR_STYLE, "string (not UTF-8?)");
}

void gy_plain(GyWriter *w, const char *word)
{
    scalar(w, word, YAML_PLAIN_SCALAR_STYLE, "word (not UTF-8?)");
}

void gy_int(GyWriter *w, int64_t v)
{
    char buf[32];

    snprintf(buf, sizeof(buf), "%" PRId64, v);
    gy_plain(w, buf);
}

void gy_num(GyWriter *w, double v)
{
    char buf[64];

    if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(buf, sizeof(buf), "%.0f", v);
    } else {
        snprintf(buf, sizeof(buf), "%.17g", v);
        /* the shortest form that reads back to the same double */
        for (int p = 1; p <= 17; p++) {
            char t[64];

            snprintf(t, sizeof(t), "%.*g", p, v);
            if (strtod(t, NULL) == v) {
                memcpy(buf, t, sizeof(t));
                break;
            }
        }
    }
    gy_plain(w, buf);
}

void gy_bool(GyWriter *w, bool v)
{
    gy_plain(w, v ? "true" : "false");
}

int gy_finish(GyWriter *w, char **text, size_t *len, char *err, size_t errlen)
{
    yaml_event_t ev;
    int rc = 0;

    if (!w->failed && w->depth) {
        fail(w, "a mapping or sequence left open");
    }
    if (!w->failed) {
        emit(w, &ev, yaml_document_end_event_initialize(&ev, 1), "document end");
        emit(w, &ev, yaml_stream_end_event_initialize(&ev), "stream end");
        if (!w->failed && !yaml_emitter_flush(&w->em)) {
            fail(w, "flush");
        }
    }
    if (w->failed) {
        snprintf(err, errlen, "%s", w->err);
        free(w->buf);
        rc = -1;
    } else {
        if (!w->buf) {
            w->buf = strdup("");
            if (!w->buf) {
                abort();
            }
        }
        if (len) {
            *len = w->len;
        }
        if (text) {
            *text = w->buf;
        } else {
            free(w->buf);
        }
    }
    yaml_emitter_delete(&w->em);
    free(w);
    return rc;
}

int gy_finish_to(GyWriter *w, FILE *f, char *err, size_t errlen)
{
    char *text;
    size_t len;

    if (gy_finish(w, &text, &len, err, errlen) < 0) {
        return -1;
    }
    if (fwrite(text, 1, len, f) != len) {
        snprintf(err, errlen, "YAML writer: write failed");
        free(text);
        return -1;
    }
    free(text);
    return 0;
}
