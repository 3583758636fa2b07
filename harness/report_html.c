/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * report.html (report_html.h): libxml2's tree API and HTML serializer,
 * inputs read with json-c.
 */
#define _GNU_SOURCE
#include "report_html.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/HTMLtree.h>

#include "junit.h"

/* ---- small tree helpers: every string goes in through gj_xml_text() ---- */

static xmlNodePtr el(xmlNodePtr parent, const char *tag, const char *text)
{
    xmlNodePtr n = xmlNewNode(NULL, BAD_CAST tag);

    if (text) {
        char *t = gj_xml_text(text);

        xmlNodeAddContent(n, BAD_CAST t);
        free(t);
    }
    return xmlAddChild(parent, n);
}

static xmlNodePtr elf(xmlNodePtr parent, const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static xmlNodePtr elf(xmlNodePtr parent, const char *tag, const char *fmt, ...)
{
    char *s = NULL;
    va_list ap;
    xmlNodePtr n;

    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0) {
        s = NULL;
    }
    va_end(ap);
    n = el(parent, tag, s ? s : "");
    free(s);
    return n;
}

static void attr(xmlNodePtr n, const char *name, const char *value)
{
    char *v = gj_xml_text(value);

    xmlSetProp(n, BAD_CAST name, BAD_CAST v);
    free(v);
}

static void attrf(xmlNodePtr n, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void attrf(xmlNodePtr n, const char *name, const char *fmt, ...)
{
    char buf[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    attr(n, name, buf);
}

static const char *jstr(json_object *o, const char *key)
{
    json_object *v;

    if (!o || !json_object_object_get_ex(o, key, &v) || !v) {
        return "";
    }
    return json_object_get_string(v);
}

static bool jhas(json_object *o, const char *key)
{
    json_object *v;

    return o && json_object_object_get_ex(o, key, &v) && v;
}

/*
 * A link to path (a file or folder of the report).  Under dir: relative,
 * written "./REL" so that no name can read as a URL scheme; elsewhere the
 * absolute path as a file: URL.
 */
static xmlNodePtr link_to(xmlNodePtr parent, const char *dir, const char *path,
                          const char *text)
{
    char rdir[PATH_MAX], rpath[PATH_MAX], *href;
    xmlNodePtr a;
    size_t n;

    if (!realpath(dir, rdir)) {
        snprintf(rdir, sizeof(rdir), "%s", dir);
    }
    if (!realpath(path, rpath)) {
        snprintf(rpath, sizeof(rpath), "%s", path);
    }
    n = strlen(rdir);
    if (!strncmp(rpath, rdir, n) && rpath[n] == '/') {
        if (asprintf(&href, "./%s", rpath + n + 1) < 0) {
            href = NULL;
        }
    } else if (rpath[0] == '/') {
        if (asprintf(&href, "file://%s", rpath) < 0) {
            href = NULL;
        }
    } else if (asprintf(&href, "./%s", rpath) < 0) {
        href = NULL;
    }
    a = el(parent, "a", text);
    attr(a, "href", href ? href : "");
    free(href);
    return a;
}

/* ---- files ---- */

static char *slurp(const char *path, size_t cap, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t n;

    *len = 0;
    if (!f) {
        return NULL;
    }
    buf = malloc(cap + 1);
    if (!buf) {
        fclose(f);
        return NULL;
    }
    n = fread(buf, 1, cap, f);
    fclose(f);
    buf[n] = 0;
    *len = n;
    return buf;
}

/* "[   5.719] ..." or "[    2.749374] ...": the time and the text after. */
static bool bracket_time(const char *line, double *t, const char **rest)
{
    char *end;

    if (line[0] != '[') {
        return false;
    }
    *t = strtod(line + 1, &end);
    if (end == line + 1 || *end != ']') {
        return false;
    }
    *rest = end + 1;
    while (**rest == ' ') {
        (*rest)++;
    }
    return true;
}

/* The last module a load command names: insmod PATH, modprobe NAME,
 * gauntlet-modload NAME. */
static bool load_module(const char *cmd, char *mod, size_t modlen)
{
    char *copy = strdup(cmd), *save = NULL, *tok, *prev = NULL;
    bool found = false;

    if (!copy) {
        return false;
    }
    for (tok = strtok_r(copy, " \t;&|", &save); tok; tok = strtok_r(NULL, " \t;&|", &save)) {
        if (prev && (!strcmp(prev, "insmod") || !strcmp(prev, "modprobe") ||
                     !strcmp(prev, "gauntlet-modload")) && tok[0] != '-') {
            const char *base = strrchr(tok, '/');
            size_t n;

            base = base ? base + 1 : tok;
            n = strlen(base);
            if (n > 3 && !strcmp(base + n - 3, ".ko")) {
                n -= 3;
            }
            if (n && n < modlen) {
                memcpy(mod, base, n);
                mod[n] = 0;
                found = true;
            }
        }
        prev = tok;
    }
    free(copy);
    return found;
}

/* A kernel line's text names the driver: "kestrel: ...", "nvme nvme0: ...". */
static bool driver_line(const char *text, const char *driver)
{
    size_t n = strlen(driver);

    return n && !strncmp(text, driver, n) && (text[n] == ':' || text[n] == ' ');
}

int ghr_anchor(const char *steps_log, const char *console_log, double *offset_s,
              double *slack_s, char *driver, size_t driverlen)
{
    size_t len;
    char *steps = slurp(steps_log, 8u << 20, &len), *cons, *line, *save = NULL;
    double load_t = -1, slack = 0, t, kt = -1;
    bool in_load = false;
    const char *rest;

    if (!steps) {
        return -1;
    }
    driver[0] = 0;
    for (line = strtok_r(steps, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
        if (!bracket_time(line, &t, &rest)) {
            continue;
        }
        if (!strncmp(rest, "step ", 5)) {
            if (load_t >= 0) {
                break;              /* the load step ended */
            }
            in_load = !strncmp(rest, "step load ", 10);
        } else if (in_load && !strncmp(rest, "guest$ ", 7) && load_t < 0 &&
                   load_module(rest + 7, driver, driverlen)) {
            load_t = t;
        } else if (load_t >= 0 && !strncmp(rest, "-> exit", 7)) {
            const char *h = strstr(rest, " ms (host)");

            if (h) {
                const char *p = h;

                while (p > rest && p[-1] != ' ' && p[-1] != '/') {
                    p--;
                }
                slack = strtod(p, NULL) / 1000.0;
            }
            break;
        }
    }
    free(steps);
    if (load_t < 0) {
        return -1;
    }
    cons = slurp(console_log, 64u << 20, &len);
    if (!cons) {
        return -1;
    }
    save = NULL;
    for (line = strtok_r(cons, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
        if (bracket_time(line, &t, &rest) && driver_line(rest, driver)) {
            kt = t;
            break;
        }
    }
    free(cons);
    if (kt < 0) {
        return -1;
    }
    *offset_s = load_t - kt;
    *slack_s = slack + 0.05;
    return 0;
}

/* ---- the generic table ---- */

static void cell(xmlNodePtr tr, json_object *v)
{
    xmlNodePtr td = el(tr, "td", NULL);

    if (!v) {
        return;
    }
    if (json_object_is_type(v, json_type_string)) {
        el(td, "span", json_object_get_string(v));
    } else {
        el(td, "code", json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
    }
}

static bool array_of_objects(json_object *a)
{
    size_t n;

    if (!json_object_is_type(a, json_type_array)) {
        return false;
    }
    n = json_object_array_length(a);
    for (size_t i = 0; i < n; i++) {
        if (!json_object_is_type(json_object_array_get_idx(a, i), json_type_object)) {
            return false;
        }
    }
    return n > 0;
}

static int one_table(xmlNodePtr parent, json_object *arr, const char *title)
{
    const char *cols[64];
    size_t ncols = 0, n = json_object_array_length(arr);
    xmlNodePtr table, tr;

    for (size_t i = 0; i < n; i++) {
        json_object_object_foreach(json_object_array_get_idx(arr, i), key, val) {
            size_t k;

            (void)val;
            for (k = 0; k < ncols && strcmp(cols[k], key); k++) {
            }
            if (k == ncols && ncols < 64) {
                cols[ncols++] = key;
            }
        }
    }
    el(parent, "h3", title);
    table = el(parent, "table", NULL);
    attr(table, "class", "data");
    tr = el(table, "tr", NULL);
    for (size_t k = 0; k < ncols; k++) {
        el(tr, "th", cols[k]);
    }
    for (size_t i = 0; i < n; i++) {
        json_object *row = json_object_array_get_idx(arr, i), *v;

        tr = el(table, "tr", NULL);
        for (size_t k = 0; k < ncols; k++) {
            cell(tr, json_object_object_get_ex(row, cols[k], &v) ? v : NULL);
        }
    }
    return 1;
}

int ghr_add_json_tables(xmlNodePtr parent, json_object *obj, const char *title)
{
    int added = 0;

    if (array_of_objects(obj)) {
        return one_table(parent, obj, title);
    }
    if (!json_object_is_type(obj, json_type_object)) {
        return 0;
    }
    json_object_object_foreach(obj, key, val) {
        if (array_of_objects(val)) {
            char t[256];

            snprintf(t, sizeof(t), "%s: %s", title, key);
            added += one_table(parent, val, t);
        }
    }
    return added;
}

/* ---- one scenario: timeline, events, artifacts ---- */

typedef struct Event {
    double t;           /* seconds on the fault log's clock (or the kernel's) */
    bool fault;
    char *text;
} Event;

static int ev_cmp(const void *a, const void *b)
{
    const Event *x = a, *y = b;

    if (x->t != y->t) {
        return x->t < y->t ? -1 : 1;
    }
    return (int)y->fault - (int)x->fault;
}

static void timeline_svg(xmlNodePtr parent, const Event *ev, size_t n)
{
    const double w = 900, left = 70, right = 10, h = 70;
    double t0 = ev[0].t, t1 = ev[n - 1].t, span;
    xmlNodePtr svg, g;

    if (t1 - t0 < 1e-3) {
        t1 = t0 + 1e-3;
    }
    span = t1 - t0;
    svg = xmlNewNode(NULL, BAD_CAST "svg");
    xmlAddChild(parent, svg);
    attr(svg, "xmlns", "http://www.w3.org/2000/svg");
    attrf(svg, "width", "%.0f", w);
    attrf(svg, "height", "%.0f", h);
    attr(svg, "class", "timeline");
    for (int lane = 0; lane < 2; lane++) {
        g = el(svg, "text", lane ? "kernel" : "faults");
        attr(g, "x", "2");
        attrf(g, "y", "%d", lane ? 48 : 22);
        g = el(svg, "line", NULL);
        attrf(g, "x1", "%.0f", left);
        attrf(g, "x2", "%.0f", w - right);
        attrf(g, "y1", "%d", lane ? 44 : 18);
        attrf(g, "y2", "%d", lane ? 44 : 18);
        attr(g, "stroke", "#bbb");
    }
    for (size_t i = 0; i < n; i++) {
        double x = left + (ev[i].t - t0) / span * (w - left - right);
        xmlNodePtr r = el(svg, "rect", NULL);
        char tip[600];

        attrf(r, "x", "%.1f", x - 1);
        attrf(r, "y", "%d", ev[i].fault ? 8 : 34);
        attr(r, "width", "2");
        attr(r, "height", "20");
        attr(r, "fill", ev[i].fault ? "#c0392b" : "#2c6fbb");
        snprintf(tip, sizeof(tip), "%.6f s %s", ev[i].t, ev[i].text);
        el(r, "title", tip);
    }
    g = elf(svg, "text", "%.3f s", t0);
    attrf(g, "x", "%.0f", left);
    attr(g, "y", "66");
    g = elf(svg, "text", "%.3f s", t1);
    attrf(g, "x", "%.0f", w - right);
    attr(g, "y", "66");
    attr(g, "text-anchor", "end");
}

static void artifact_links(xmlNodePtr parent, const char *dir, const char *art)
{
    struct dirent **names = NULL;
    int n = scandir(art, &names, NULL, alphasort);
    xmlNodePtr p;

    if (n < 0) {
        elf(parent, "p", "artifacts: %s (not found)", art);
        return;
    }
    p = el(parent, "p", "artifacts: ");
    attr(p, "class", "artifacts");
    link_to(p, dir, art, "folder");
    for (int i = 0; i < n; i++) {
        if (names[i]->d_name[0] != '.') {
            char path[PATH_MAX];

            snprintf(path, sizeof(path), "%s/%s", art, names[i]->d_name);
            xmlNodeAddContent(p, BAD_CAST " ");
            link_to(p, dir, path, names[i]->d_name);
        }
        free(names[i]);
    }
    free(names);
}

/* The fault log and the driver's kernel lines of one artifact folder. */
static void scenario_events(xmlNodePtr parent, const char *art)
{
    char path[PATH_MAX], driver[64];
    double offset = 0, slack = 0;
    bool aligned;
    Event *ev = calloc(2 * GHR_MAX_EVENTS, sizeof(*ev));
    size_t n = 0, nfault = 0, nkern = 0, len;
    json_object *log;
    char *cons;

    if (!ev) {
        return;
    }
    snprintf(path, sizeof(path), "%s/steps.log", art);
    {
        char cpath[PATH_MAX];

        snprintf(cpath, sizeof(cpath), "%s/console.log", art);
        aligned = ghr_anchor(path, cpath, &offset, &slack, driver, sizeof(driver)) == 0;
    }
    snprintf(path, sizeof(path), "%s/fault-log.json", art);
    log = json_object_from_file(path);
    if (log && json_object_is_type(log, json_type_array)) {
        size_t m = json_object_array_length(log);

        for (size_t i = 0; i < m && nfault < GHR_MAX_EVENTS; i++) {
            json_object *e = json_object_array_get_idx(log, i), *tn;
            char *text = NULL;

            if (!json_object_object_get_ex(e, "time-ns", &tn)) {
                continue;
            }
            if (asprintf(&text, "%s %s (%s, seq %s%s%s)", jstr(e, "rule"),
                         jstr(e, "detail"), jstr(e, "device"), jstr(e, "seq"),
                         strcmp(jstr(e, "qemu"), "0") && jhas(e, "qemu") ? ", QEMU " : "",
                         strcmp(jstr(e, "qemu"), "0") && jhas(e, "qemu") ?
                         jstr(e, "qemu") : "") < 0) {
                continue;
            }
            ev[n].t = (double)json_object_get_int64(tn) / 1e9;
            ev[n].fault = true;
            ev[n].text = text;
            n++;
            nfault++;
        }
    }
    json_object_put(log);
    snprintf(path, sizeof(path), "%s/console.log", art);
    cons = aligned ? slurp(path, 64u << 20, &len) : NULL;
    if (cons) {
        char *save = NULL, *line;

        for (line = strtok_r(cons, "\r\n", &save); line && nkern < GHR_MAX_EVENTS;
             line = strtok_r(NULL, "\r\n", &save)) {
            const char *rest;
            double t;

            if (bracket_time(line, &t, &rest) && driver_line(rest, driver)) {
                ev[n].t = t + offset;
                ev[n].fault = false;
                ev[n].text = strdup(rest);
                if (ev[n].text) {
                    n++;
                    nkern++;
                }
            }
        }
        free(cons);
    }
    if (aligned) {
        elf(parent, "p", "Timeline: %zu fault-log entries (red) and %zu kernel lines of %s "
            "(blue) on QEMU's virtual clock (s from QEMU's start). Kernel times are moved "
            "by %+.3f s: the load step's command started at that host time after the "
            "first %s line's kernel time; good to about %.0f ms.", nfault, nkern, driver,
            offset, driver, slack * 1000);
    } else {
        elf(parent, "p", "Timeline: %zu fault-log entries on QEMU's virtual clock; the "
            "kernel log is not aligned (no load step with a driver line to anchor it), "
            "see console.log.", nfault);
    }
    if (n) {
        xmlNodePtr table, tr;

        qsort(ev, n, sizeof(*ev), ev_cmp);
        timeline_svg(parent, ev, n);
        table = el(parent, "table", NULL);
        attr(table, "class", "events");
        tr = el(table, "tr", NULL);
        el(tr, "th", "time (s)");
        el(tr, "th", "source");
        el(tr, "th", "event");
        for (size_t i = 0; i < n; i++) {
            tr = el(table, "tr", NULL);
            attr(tr, "class", ev[i].fault ? "fault" : "kernel");
            elf(tr, "td", "%.6f", ev[i].t);
            el(tr, "td", ev[i].fault ? "fault log" : "kernel");
            el(tr, "td", ev[i].text);
        }
    }
    for (size_t i = 0; i < n; i++) {
        free(ev[i].text);
    }
    free(ev);
}

/* ---- the page ---- */

static const char css[] =
    "body{font:14px/1.4 sans-serif;margin:1.5em;color:#222}"
    "table{border-collapse:collapse;margin:.5em 0}"
    "td,th{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top}"
    "th{background:#eee}"
    ".pass{color:#1e7b34;font-weight:bold}.fail{color:#c0392b;font-weight:bold}"
    ".error{color:#8e44ad;font-weight:bold}.skip{color:#7f8c8d;font-weight:bold}"
    "tr.fault td{background:#fdecea}tr.kernel td{background:#eaf2fb}"
    "table.events td:last-child{font-family:monospace;white-space:pre-wrap}"
    "details{margin:.4em 0;border-left:3px solid #ccc;padding-left:.6em}"
    "summary{cursor:pointer}p.artifacts a{margin-right:.4em}"
    "svg.timeline{border:1px solid #ddd;background:#fafafa;font-size:11px}";

static xmlNodePtr status_span(xmlNodePtr parent, const char *status)
{
    xmlNodePtr s = el(parent, "span", status);

    attr(s, "class", status);
    return s;
}

/* A results table (run: "scenarios", campaign: "results") and the details. */
static void results(xmlNodePtr body, const char *dir, json_object *arr, bool campaign)
{
    size_t n = json_object_array_length(arr);
    xmlNodePtr table = el(body, "table", NULL), tr;

    attr(table, "class", "results");
    attr(table, "id", "results");
    tr = el(table, "tr", NULL);
    el(tr, "th", campaign ? "run" : "scenario");
    el(tr, "th", "status");
    el(tr, "th", "reason");
    el(tr, "th", campaign ? "signature" : "start");
    el(tr, "th", "time (s)");
    el(tr, "th", "artifacts");
    for (size_t i = 0; i < n; i++) {
        json_object *r = json_object_array_get_idx(arr, i), *d;
        xmlNodePtr td;

        tr = el(table, "tr", NULL);
        el(tr, "td", jstr(r, "name"));
        status_span(el(tr, "td", NULL), jstr(r, "status"));
        el(tr, "td", jstr(r, "reason"));
        el(tr, "td", jstr(r, campaign ? "signature" : "start"));
        elf(tr, "td", "%.1f", json_object_object_get_ex(r, "duration_s", &d) ?
            json_object_get_double(d) : 0.0);
        td = el(tr, "td", NULL);
        if (*jstr(r, "artifacts")) {
            link_to(td, dir, jstr(r, "artifacts"), "folder");
        }
    }
    el(body, "h2", campaign ? "Runs" : "Scenarios");
    for (size_t i = 0; i < n; i++) {
        json_object *r = json_object_array_get_idx(arr, i);
        const char *status = jstr(r, "status");
        xmlNodePtr det = el(body, "details", NULL), sum;

        if (strcmp(status, "pass")) {
            attr(det, "open", "open");
        }
        sum = el(det, "summary", NULL);
        el(sum, "b", jstr(r, "name"));
        xmlNodeAddContent(sum, BAD_CAST " ");
        status_span(sum, status);
        if (*jstr(r, "reason")) {
            attr(el(det, "p", jstr(r, "reason")), "class", "reason");
        }
        if (*jstr(r, "repro")) {
            elf(det, "p", "reproduce: %s", jstr(r, "repro"));
        }
        if (*jstr(r, "artifacts")) {
            if (!campaign || strcmp(status, "pass")) {
                scenario_events(det, jstr(r, "artifacts"));
            }
            artifact_links(det, dir, jstr(r, "artifacts"));
        }
    }
}

static void signatures(xmlNodePtr body, const char *dir, json_object *sigs)
{
    size_t n = json_object_array_length(sigs);
    xmlNodePtr table, tr, td;

    el(body, "h2", "Failure signatures");
    if (!n) {
        el(body, "p", "No failures.");
        return;
    }
    table = el(body, "table", NULL);
    attr(table, "class", "signatures");
    tr = el(table, "tr", NULL);
    el(tr, "th", "signature");
    el(tr, "th", "runs");
    el(tr, "th", "first run");
    el(tr, "th", "shrunk");
    for (size_t i = 0; i < n; i++) {
        json_object *s = json_object_array_get_idx(sigs, i);

        tr = el(table, "tr", NULL);
        el(tr, "td", jstr(s, "signature"));
        el(tr, "td", jstr(s, "count"));
        td = el(tr, "td", NULL);
        if (*jstr(s, "first_artifacts")) {
            link_to(td, dir, jstr(s, "first_artifacts"), jstr(s, "first_run"));
        }
        td = el(tr, "td", NULL);
        if (*jstr(s, "shrunk")) {
            char path[PATH_MAX];

            if (jstr(s, "shrunk")[0] == '/') {
                snprintf(path, sizeof(path), "%s", jstr(s, "shrunk"));
            } else {
                snprintf(path, sizeof(path), "%s/%s", dir, jstr(s, "shrunk"));
            }
            link_to(td, dir, path, jstr(s, "shrunk"));
            elf(td, "span", " (%s -> %s items, %s)", jstr(s, "size_before"),
                jstr(s, "size_after"),
                json_object_get_boolean(json_object_object_get(s, "reproduced")) ?
                "reproduces" : "does NOT reproduce");
        } else if (*jstr(s, "shrink_note")) {
            el(td, "span", jstr(s, "shrink_note"));
        }
    }
}

static void summary_line(xmlNodePtr body, json_object *root)
{
    elf(body, "p", "pass %s, fail %s, error %s, skip %s", jstr(root, "pass"),
        jstr(root, "fail"), jstr(root, "error"), jstr(root, "skip"));
}

static json_object *read_json(const char *dir, const char *name, bool *present,
                              char *err, size_t errlen)
{
    char path[PATH_MAX];
    json_object *o;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    *present = access(path, F_OK) == 0;
    if (!*present) {
        return NULL;
    }
    o = json_object_from_file(path);
    if (!o) {
        snprintf(err, errlen, "%s: %s", path, json_util_get_last_err() ?
                 json_util_get_last_err() : "does not parse");
    }
    return o;
}

int ghr_write(const char *dir, char *err, size_t errlen)
{
    bool has_run, has_camp, has_enum;
    json_object *run, *camp, *en, *arr;
    htmlDocPtr doc;
    xmlNodePtr html, head, body, n;
    char path[PATH_MAX], tmp[PATH_MAX + 8];
    int rc = 0;

    err[0] = 0;
    run = read_json(dir, "report.json", &has_run, err, errlen);
    camp = read_json(dir, "campaign.json", &has_camp, err, errlen);
    en = read_json(dir, "enumerate.json", &has_enum, err, errlen);
    if (err[0]) {
        json_object_put(run);
        json_object_put(camp);
        json_object_put(en);
        return -1;
    }
    if (!has_run && !has_camp && !has_enum) {
        snprintf(err, errlen, "%s: no report.json, campaign.json or enumerate.json", dir);
        return -1;
    }
    /* <!DOCTYPE html>: HTML5 (details, inline SVG), nothing to fetch */
    doc = htmlNewDocNoDtD(NULL, NULL);
    xmlCreateIntSubset(doc, BAD_CAST "html", NULL, NULL);
    html = xmlNewNode(NULL, BAD_CAST "html");
    xmlDocSetRootElement(doc, html);
    attr(html, "lang", "en");
    head = el(html, "head", NULL);
    n = el(head, "meta", NULL);
    attr(n, "http-equiv", "Content-Type");
    attr(n, "content", "text/html; charset=UTF-8");
    elf(head, "title", "Gauntlet report: %s", dir);
    xmlAddChild(el(head, "style", NULL), xmlNewText(BAD_CAST css));
    body = el(html, "body", NULL);
    if (has_run) {
        el(body, "h1", "Gauntlet run");
        elf(body, "p", "%s, kernel %s, %.0f s", dir, jstr(run, "kernel_version"),
            json_object_get_double(json_object_object_get(run, "wall_s")));
        summary_line(body, run);
        if (json_object_object_get_ex(run, "scenarios", &arr) &&
            json_object_is_type(arr, json_type_array)) {
            results(body, dir, arr, false);
        }
    }
    if (has_camp) {
        el(body, "h1", "Gauntlet campaign");
        elf(body, "p", "%s: seed %s, shard %s, target %s, kernel %s, %s of %s runs ran, "
            "%.1f runs per minute", dir, jstr(camp, "seed"), jstr(camp, "shard"),
            jstr(camp, "target"), jstr(camp, "kernel"), jstr(camp, "ran"),
            jstr(camp, "selected"),
            json_object_get_double(json_object_object_get(camp, "runs_per_minute")));
        summary_line(body, camp);
        if (json_object_object_get_ex(camp, "signatures", &arr) &&
            json_object_is_type(arr, json_type_array)) {
            signatures(body, dir, arr);
        }
        if (json_object_object_get_ex(camp, "results", &arr) &&
            json_object_is_type(arr, json_type_array)) {
            el(body, "h2", "Results");
            results(body, dir, arr, true);
        }
    }
    if (has_enum) {
        json_object *tab;

        el(body, "h1", "Gauntlet enumeration");
        /* the table per point: the n values survived and failed */
        if (json_object_object_get_ex(en, "table", &tab) &&
            json_object_is_type(tab, json_type_string)) {
            attr(el(body, "pre", json_object_get_string(tab)), "class", "enum-table");
        }
        if (!ghr_add_json_tables(body, en, "enumerate.json")) {
            el(body, "p", "enumerate.json holds no table.");
        }
    }
    n = el(body, "p", "Reports: ");
    snprintf(path, sizeof(path), "%s/junit.xml", dir);
    link_to(n, dir, path, "junit.xml");
    {
        static const char *const other[] = { "report.json", "report.tap",
                                             "campaign.json", "enumerate.json" };

        for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
            snprintf(path, sizeof(path), "%s/%s", dir, other[i]);
            if (access(path, F_OK) == 0) {
                xmlNodeAddContent(n, BAD_CAST " ");
                link_to(n, dir, path, other[i]);
            }
        }
    }
    snprintf(path, sizeof(path), "%s/report.html", dir);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if (htmlSaveFileFormat(tmp, doc, "UTF-8", 1) < 0 || rename(tmp, path) < 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        rc = -1;
    }
    xmlFreeDoc(doc);
    json_object_put(run);
    json_object_put(camp);
    json_object_put(en);
    return rc;
}
