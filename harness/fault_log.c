/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A scenario's fault log (fault_log.h): readings of the fault engines'
 * rings merged into one ordered list without duplicates.
 */
#include "fault_log.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int64_t field_int(json_object *e, const char *key, int64_t dflt)
{
    json_object *v;

    if (!json_object_object_get_ex(e, key, &v) ||
        !json_object_is_type(v, json_type_int)) {
        return dflt;
    }
    return json_object_get_int64(v);
}

static const char *field_str(json_object *e, const char *key)
{
    json_object *v;

    if (!json_object_object_get_ex(e, key, &v) ||
        !json_object_is_type(v, json_type_string)) {
        return "";
    }
    return json_object_get_string(v);
}

static bool same_engine(json_object *e, int qemu, int plug, const char *object)
{
    return field_int(e, "qemu", -1) == qemu && field_int(e, "plug", -1) == plug &&
           !strcmp(field_str(e, "object"), object);
}

/* (qemu, time-ns, seq, object) */
static int entry_order(const void *a, const void *b)
{
    json_object *x = *(json_object *const *)a, *y = *(json_object *const *)b;
    static const char *const keys[] = { "qemu", "time-ns", "seq" };

    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        int64_t p = field_int(x, keys[i], 0), q = field_int(y, keys[i], 0);

        if (p != q) {
            return p < q ? -1 : 1;
        }
    }
    return strcmp(field_str(x, "object"), field_str(y, "object"));
}

int gfl_merge(json_object *acc, json_object *read, const char *device,
              const char *object, int qemu, int plug, uint64_t *lost,
              char *err, size_t errlen)
{
    size_t n, have = json_object_array_length(acc);
    int64_t newest = -1, oldest = INT64_MAX;
    int added = 0;

    if (!json_object_is_type(read, json_type_array)) {
        snprintf(err, errlen, "the fault log of %s is not a list", object);
        return -1;
    }
    n = json_object_array_length(read);
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(read, i);
        int64_t seq = json_object_is_type(e, json_type_object) ?
                      field_int(e, "seq", -1) : -1;

        if (seq < 0) {
            snprintf(err, errlen, "the fault log of %s: entry %zu is not an "
                     "object with a non-negative integer seq", object, i);
            return -1;
        }
        oldest = seq < oldest ? seq : oldest;
    }
    for (size_t j = 0; j < have; j++) {
        json_object *e = json_object_array_get_idx(acc, j);

        if (same_engine(e, qemu, plug, object) && field_int(e, "seq", -1) > newest) {
            newest = field_int(e, "seq", -1);
        }
    }
    /* the ring holds the newest firings: a gap before its oldest is what
     * it dropped since the last reading (or since the engine started) */
    if (n && oldest > newest + 1) {
        *lost += (uint64_t)(oldest - newest - 1);
    }
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(read, i), *c = NULL;
        int64_t seq = field_int(e, "seq", -1);
        bool dup = false;

        /* older than the newest held: held already, unless this reading
         * repeats an entry (a broken engine) */
        for (size_t j = 0; seq <= newest && j < have + (size_t)added && !dup; j++) {
            json_object *h = json_object_array_get_idx(acc, j);

            dup = same_engine(h, qemu, plug, object) && field_int(h, "seq", -1) == seq;
        }
        for (size_t j = have; seq > newest && j < have + (size_t)added && !dup; j++) {
            dup = field_int(json_object_array_get_idx(acc, j), "seq", -1) == seq;
        }
        if (dup) {
            continue;
        }
        if (json_object_deep_copy(e, &c, NULL) < 0) {
            snprintf(err, errlen, "the fault log of %s: out of memory", object);
            return -1;
        }
        json_object_object_add(c, "device", json_object_new_string(device));
        json_object_object_add(c, "object", json_object_new_string(object));
        json_object_object_add(c, "qemu", json_object_new_int(qemu));
        json_object_object_add(c, "plug", json_object_new_int(plug));
        json_object_array_add(acc, c);
        added++;
    }
    if (added) {
        json_object_array_sort(acc, entry_order);
    }
    return added;
}

json_object *gfl_summary(json_object *acc, const char *path, uint64_t lost)
{
    json_object *o = json_object_new_object(), *last = json_object_new_array();
    size_t n = json_object_array_length(acc);

    for (size_t i = n > GFL_LAST ? n - GFL_LAST : 0; i < n; i++) {
        json_object_array_add(last, json_object_get(json_object_array_get_idx(acc, i)));
    }
    json_object_object_add(o, "entries", json_object_new_int64((int64_t)n));
    json_object_object_add(o, "path", json_object_new_string(path));
    json_object_object_add(o, "lost", json_object_new_int64((int64_t)lost));
    json_object_object_add(o, "last", last);
    return o;
}

void gfl_describe(json_object *acc, uint64_t lost, char *buf, size_t len)
{
    size_t n = json_object_array_length(acc);
    json_object *e = n ? json_object_array_get_idx(acc, n - 1) : NULL;
    char gone[64] = "";

    if (lost) {
        snprintf(gone, sizeof(gone), " (%" PRIu64 " more lost: the ring "
                 "overflowed)", lost);
    }
    if (!e) {
        snprintf(buf, len, "0 entries%s", gone);
        return;
    }
    snprintf(buf, len, "%zu entries%s, last: %s %s (%s, seq %" PRId64 ", at %.6f s)",
             n, gone, field_str(e, "rule"), field_str(e, "detail"),
             field_str(e, "device"), field_int(e, "seq", 0),
             (double)field_int(e, "time-ns", 0) / 1e9);
}
