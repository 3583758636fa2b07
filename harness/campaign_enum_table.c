/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gauntlet enumerate's table and the merge of its shards' enumerate.json
 * (docs/enumerate.md).  Both work on enumerate.json alone, so a shard's
 * table and the merged one are rendered the same way:
 *
 *   cq.post:drop (40 events): 1-37 ok, 38 FAIL sig#1, 39-40 ok
 *
 * Consecutive enumerated values of n with the same outcome form one range
 * (with --sample, the values sampled, not every n between them); a value
 * no run of this report covers (another shard's, or not run before
 * --time) is left out, so a range never claims an n that did not run.
 * Signatures are numbered by their first appearance over the points in
 * order, then n.
 */
#define _GNU_SOURCE
#include "campaign.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct Cell {
    int64_t n;
    const char *status;         /* pass fail skip error */
    const char *sig;
    const char *paths;          /* error_paths_text, NULL: none read */
    const char *paths_note;     /* why they were not read, or NULL */
} Cell;

static const char *get_s(json_object *o, const char *k)
{
    json_object *v;

    return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string) ?
           json_object_get_string(v) : "";
}

static const char *get_opt_s(json_object *o, const char *k)
{
    json_object *v;

    return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string) ?
           json_object_get_string(v) : NULL;
}

static int64_t get_i(json_object *o, const char *k, int64_t dflt)
{
    json_object *v;

    return json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v) : dflt;
}

static int cell_cmp(const void *a, const void *b)
{
    const Cell *x = a, *y = b;

    return x->n < y->n ? -1 : x->n > y->n;
}

/* The outcome of a cell as the table says it: "ok", "FAIL sig#K", ... */
static void outcome(const Cell *c, const char **sigs, size_t nsigs, char *buf, size_t len)
{
    if (!strcmp(c->status, "pass")) {
        snprintf(buf, len, "ok");
    } else if (!strcmp(c->status, "fail")) {
        size_t k = 0;

        while (k < nsigs && strcmp(sigs[k], c->sig)) {
            k++;
        }
        snprintf(buf, len, "FAIL sig#%zu", k + 1);
    } else if (!strcmp(c->status, "skip")) {
        snprintf(buf, len, "SKIP");
    } else {
        snprintf(buf, len, "ERROR");
    }
}

static void append(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void append(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
    va_list ap;
    int n;

    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < *cap - *len) {
            *len += (size_t)n;
            return;
        }
        *cap = *cap * 2 + (size_t)(n > 0 ? n : 0) + 256;
        *buf = realloc(*buf, *cap);
        if (!*buf) {
            abort();
        }
    }
}

char *ce_render_table(json_object *root)
{
    json_object *pairs, *results;
    size_t len = 0, cap = 1024, nres, nsigs = 0;
    char *buf = malloc(cap);
    const char **sigs;
    Cell **cells;
    size_t *ncells, npairs;

    if (!buf) {
        abort();
    }
    buf[0] = 0;
    if (!json_object_object_get_ex(root, "pairs", &pairs) ||
        !json_object_is_type(pairs, json_type_array) ||
        !json_object_object_get_ex(root, "results", &results) ||
        !json_object_is_type(results, json_type_array)) {
        append(&buf, &len, &cap, "(no pairs or results in this enumerate.json)\n");
        return buf;
    }
    npairs = json_object_array_length(pairs);
    nres = json_object_array_length(results);
    cells = calloc(npairs + 1, sizeof(*cells));
    ncells = calloc(npairs + 1, sizeof(*ncells));
    sigs = calloc(nres + 1, sizeof(*sigs));
    for (size_t p = 0; p < npairs; p++) {
        cells[p] = calloc(nres + 1, sizeof(**cells));
    }
    for (size_t i = 0; i < nres; i++) {
        json_object *o = json_object_array_get_idx(results, i);
        int64_t p = get_i(o, "pair", -1);

        if (p < 0 || (size_t)p >= npairs) {
            continue;
        }
        cells[p][ncells[p]++] = (Cell){ get_i(o, "n", 0), get_s(o, "status"),
                                        get_s(o, "signature"), get_opt_s(o, "error_paths_text"),
                                        get_opt_s(o, "error_paths_note") };
    }
    for (size_t p = 0; p < npairs; p++) {
        qsort(cells[p], ncells[p], sizeof(Cell), cell_cmp);
        for (size_t i = 0; i < ncells[p]; i++) {
            const Cell *c = &cells[p][i];
            size_t k = 0;

            if (strcmp(c->status, "fail")) {
                continue;
            }
            while (k < nsigs && strcmp(sigs[k], c->sig)) {
                k++;
            }
            if (k == nsigs) {
                sigs[nsigs++] = c->sig;
            }
        }
    }
    for (size_t p = 0; p < npairs; p++) {
        json_object *po = json_object_array_get_idx(pairs, p);
        int64_t count = get_i(po, "events", -1), hi = get_i(po, "n_max", 0);
        int64_t sample = get_i(po, "sample", 0);
        size_t npass = 0, nfail = 0, nother = 0;

        if (count < 0) {
            append(&buf, &len, &cap, "%s:%s: not counted (no clean run passed), no run\n",
                   get_s(po, "point"), get_s(po, "action"));
            continue;
        }
        append(&buf, &len, &cap, "%s:%s (%" PRId64 " event%s in the clean run", get_s(po, "point"),
               get_s(po, "action"), count, count == 1 ? "" : "s");
        if (sample) {
            append(&buf, &len, &cap, "; a sample of %" PRId64 " of n = 1..%" PRId64, sample, hi);
        } else if (hi < count) {
            append(&buf, &len, &cap, "; n = 1..%" PRId64 " (--max-n)", hi);
        }
        append(&buf, &len, &cap, "): ");
        if (count == 0) {
            append(&buf, &len, &cap, "NOTHING TO ENUMERATE: the workload never reaches "
                   "this point\n");
            continue;
        }
        if (!ncells[p]) {
            append(&buf, &len, &cap, "no run here\n");
            continue;
        }
        for (size_t i = 0; i < ncells[p];) {
            char what[64], w2[64];
            size_t j = i;

            outcome(&cells[p][i], sigs, nsigs, what, sizeof(what));
            while (j + 1 < ncells[p]) {
                outcome(&cells[p][j + 1], sigs, nsigs, w2, sizeof(w2));
                if (strcmp(w2, what)) {
                    break;
                }
                j++;
            }
            if (j > i) {
                append(&buf, &len, &cap, "%s%" PRId64 "-%" PRId64 " %s", i ? ", " : "",
                       cells[p][i].n, cells[p][j].n, what);
            } else {
                append(&buf, &len, &cap, "%s%" PRId64 " %s", i ? ", " : "", cells[p][i].n,
                       what);
            }
            for (size_t k = i; k <= j; k++) {
                npass += !strcmp(cells[p][k].status, "pass");
                nfail += !strcmp(cells[p][k].status, "fail");
                nother += strcmp(cells[p][k].status, "pass") && strcmp(cells[p][k].status, "fail");
            }
            i = j + 1;
        }
        append(&buf, &len, &cap, "\n    %zu run%s: %zu survived, %zu failed", ncells[p],
               ncells[p] == 1 ? "" : "s", npass, nfail);
        if (nother) {
            append(&buf, &len, &cap, ", %zu error or skip", nother);
        }
        append(&buf, &len, &cap, "\n");
        /* the debug kernel's gcov: what each run reached that the clean
         * run did not */
        for (size_t i = 0, head = 0; i < ncells[p]; i++) {
            const Cell *c = &cells[p][i];

            if (!c->paths && !c->paths_note) {
                continue;
            }
            if (!head++) {
                append(&buf, &len, &cap, "    error paths reached (gcov: the driver's lines "
                       "the clean run did not reach):\n");
            }
            if (c->paths) {
                append(&buf, &len, &cap, "      n=%" PRId64 ": %s\n", c->n,
                       *c->paths ? c->paths : "none beyond the clean run's lines");
            } else {
                append(&buf, &len, &cap, "      n=%" PRId64 ": not read (%s)\n", c->n,
                       c->paths_note);
            }
        }
    }
    for (size_t k = 0; k < nsigs; k++) {
        append(&buf, &len, &cap, "sig#%zu: %s\n", k + 1, sigs[k]);
    }
    for (size_t p = 0; p < npairs; p++) {
        free(cells[p]);
    }
    free(cells);
    free(ncells);
    free(sigs);
    return buf;
}

/* ---- merging shards' enumerate.json ----------------------------------------------- */

json_object *ce_merge(json_object **in, size_t n, char *err, size_t errlen)
{
    json_object *root = json_object_new_object(), *results = json_object_new_array();
    json_object *pairs0 = NULL, *shards = json_object_new_array();
    static const char *const sums[] = { "selected", "ran", "pass", "fail", "skip", "error" };
    int64_t tot[6] = { 0 };

    for (size_t i = 0; i < n; i++) {
        json_object *pairs, *res;

        if (!json_object_object_get_ex(in[i], "pairs", &pairs) ||
            !json_object_object_get_ex(in[i], "results", &res)) {
            snprintf(err, errlen, "input %zu has no 'pairs' or 'results'", i + 1);
            json_object_put(root);
            json_object_put(results);
            json_object_put(shards);
            return NULL;
        }
        if (!pairs0) {
            pairs0 = pairs;
        } else if (json_object_array_length(pairs) != json_object_array_length(pairs0)) {
            snprintf(err, errlen, "the shards enumerate different (point, action) lists "
                     "(%zu and %zu pairs): not one enumeration",
                     json_object_array_length(pairs0), json_object_array_length(pairs));
            json_object_put(root);
            json_object_put(results);
            json_object_put(shards);
            return NULL;
        } else {
            /* same pairs; their event counts come from each shard's own
             * clean run: say so when they differ */
            for (size_t p = 0; p < json_object_array_length(pairs); p++) {
                json_object *a = json_object_array_get_idx(pairs0, p);
                json_object *b = json_object_array_get_idx(pairs, p);

                if (strcmp(get_s(a, "point"), get_s(b, "point")) ||
                    strcmp(get_s(a, "action"), get_s(b, "action"))) {
                    snprintf(err, errlen, "pair %zu differs between shards (%s:%s, %s:%s)",
                             p, get_s(a, "point"), get_s(a, "action"), get_s(b, "point"),
                             get_s(b, "action"));
                    json_object_put(root);
                    json_object_put(results);
                    json_object_put(shards);
                    return NULL;
                }
                if (get_i(a, "events", -1) != get_i(b, "events", -1)) {
                    json_object_object_add(root, "counts_differ", json_object_new_boolean(true));
                }
            }
        }
        for (size_t k = 0; k < json_object_array_length(res); k++) {
            json_object_array_add(results, json_object_get(json_object_array_get_idx(res, k)));
        }
        for (int k = 0; k < 6; k++) {
            tot[k] += get_i(in[i], sums[k], 0);
        }
        json_object_array_add(shards, json_object_new_string(get_s(in[i], "shard")));
    }
    json_object_object_add(root, "tool", json_object_new_string("gauntlet-enumerate"));
    json_object_object_add(root, "target", json_object_new_string(get_s(in[0], "target")));
    json_object_object_add(root, "workload", json_object_new_string(get_s(in[0], "workload")));
    json_object_object_add(root, "shards", shards);
    for (int k = 0; k < 6; k++) {
        json_object_object_add(root, sums[k], json_object_new_int64(tot[k]));
    }
    json_object_object_add(root, "pairs", json_object_get(pairs0));
    json_object_object_add(root, "results", results);
    {
        char *t = ce_render_table(root);

        json_object_object_add(root, "table", json_object_new_string(t));
        free(t);
    }
    return root;
}
