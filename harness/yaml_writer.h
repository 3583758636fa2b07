/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The harness's one YAML writer, on libyaml's emitter (yaml_emitter_*):
 * scenario dumps (gs_dump) and generated campaign scenarios.
 *
 * Prefix gy_.  A writer collects one YAML document into memory; every call
 * emits one event.  Errors are sticky: after the first failure (an
 * unbalanced end, a string that is not UTF-8, no memory) every later call
 * does nothing, and gy_finish() returns -1 with the reason, so callers
 * check once at the end.
 *
 *   GyWriter *w = gy_new();
 *   gy_map(w, GY_BLOCK);
 *     gy_key(w, "name");  gy_str(w, "baseline-io");       name: "baseline-io"
 *     gy_key(w, "tags");  gy_seq(w, GY_FLOW);             tags: [campaign]
 *                           gy_plain(w, "campaign");
 *                         gy_end(w);
 *     gy_key(w, "steps"); gy_seq(w, GY_BLOCK);            steps:
 *                           gy_map(w, GY_BLOCK);          - boot: {}
 *                             gy_key(w, "boot"); gy_map(w, GY_FLOW); gy_end(w);
 *                           gy_end(w);
 *                         gy_end(w);
 *   gy_end(w);
 *   if (gy_finish(w, &text, &len, err, sizeof(err)) < 0) ...
 *
 * Scalars: gy_str() writes a double-quoted string (every character safe:
 * quotes, backslashes, control characters are escaped), gy_plain() a
 * word written plain (keys, enum names, numbers; libyaml quotes it when a
 * plain scalar could not hold it, but "true" stays a boolean), gy_int(),
 * gy_num() (the shortest text that reads back to the same double),
 * gy_bool().  Lines are never folded, non-ASCII text is written as is.
 */
#ifndef GAUNTLET_YAML_WRITER_H
#define GAUNTLET_YAML_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct GyWriter GyWriter;

typedef enum GyStyle {
    GY_BLOCK,       /* one entry a line, indented */
    GY_FLOW,        /* {a: 1, b: 2} / [x, y] on one line */
} GyStyle;

/* A new writer (aborts when out of memory, as the harness's xmalloc). */
GyWriter *gy_new(void);

/* Open a mapping or a sequence; gy_end() closes the innermost one. */
void gy_map(GyWriter *w, GyStyle style);
void gy_seq(GyWriter *w, GyStyle style);
void gy_end(GyWriter *w);

/* A mapping key: a plain scalar (keys are the caller's own words). */
void gy_key(GyWriter *w, const char *key);

void gy_str(GyWriter *w, const char *s);         /* "double-quoted"; NULL: "" */
void gy_plain(GyWriter *w, const char *word);    /* plain, as given */
void gy_int(GyWriter *w, int64_t v);
void gy_num(GyWriter *w, double v);
void gy_bool(GyWriter *w, bool v);

/* End the document and free the writer.  On success, 0 and, when text is
 * not NULL, the document (NUL-terminated, malloc'd; *len its length
 * without the NUL when len is not NULL).  On error, -1 and the reason in
 * err; nothing is returned in text. */
int gy_finish(GyWriter *w, char **text, size_t *len, char *err, size_t errlen);

/* gy_finish() and write the document to f.  0, or -1 with the reason. */
int gy_finish_to(GyWriter *w, FILE *f, char *err, size_t errlen);

#endif /* GAUNTLET_YAML_WRITER_H */
