/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * JUnit XML (junit.h): libxml2's xmlTextWriter for writing, its parser for
 * reading the files a merge joins.
 */
#define _GNU_SOURCE
#include "junit.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlwriter.h>

struct GjWriter {
    xmlTextWriterPtr xw;
    int depth;
    bool failed;
    char err[512];
};

static void fail(GjWriter *w, const char *what)
{
    if (!w->failed) {
        w->failed = true;
        snprintf(w->err, sizeof(w->err), "JUnit writer: %s failed", what);
    }
}

static void check(GjWriter *w, int rc, const char *what)
{
    if (rc < 0) {
        fail(w, what);
    }
}

/* Length of the valid UTF-8 sequence at s that is an XML 1.0 Char (tab,
 * newline and U+0020 on, without surrogates, U+FFFE, U+FFFF), or 0. */
static size_t xml_char_len(const unsigned char *s)
{
    unsigned cp;
    size_t n, i;

    if (s[0] < 0x80) {
        return s[0] >= 0x20 || s[0] == '\n' || s[0] == '\t' ? 1 : 0;
    }
    if ((s[0] & 0xe0) == 0xc0) {
        n = 2;
        cp = s[0] & 0x1f;
    } else if ((s[0] & 0xf0) == 0xe0) {
        n = 3;
        cp = s[0] & 0x0f;
    } else if ((s[0] & 0xf8) == 0xf0) {
        n = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe || cp == 0xffff ||
        cp > 0x10ffff) {
        return 0;
    }
    return n;
}

/* The concatenated strings, with what XML cannot carry made '?'. */
static xmlChar *clean(const char *const *parts)
{
    size_t len = 0, o = 0;
    xmlChar *out;

    for (const char *const *p = parts; *p; p++) {
        len += strlen(*p);
    }
    out = malloc(len + 1);
    if (!out) {
        abort();
    }
    for (const char *const *p = parts; *p; p++) {
        const unsigned char *s = (const unsigned char *)*p;

        while (*s) {
            size_t n = xml_char_len(s);

            if (n) {
                memcpy(out + o, s, n);
                o += n;
                s += n;
            } else {
                out[o++] = '?';
                s++;
            }
        }
    }
    out[o] = 0;
    return out;
}

char *gj_xml_text(const char *s)
{
    const char *parts[] = { s ? s : "", NULL };

    return (char *)clean(parts);
}

static void attr(GjWriter *w, const char *name, const char *value)
{
    const char *parts[] = { value ? value : "", NULL };
    xmlChar *v = clean(parts);

    if (!w->failed) {
        check(w, xmlTextWriterWriteAttribute(w->xw, BAD_CAST name, v), "attribute");
    }
    free(v);
}

static void attr_num(GjWriter *w, const char *name, const char *fmt, double v)
{
    char buf[64];

    snprintf(buf, sizeof(buf), fmt, v);
    attr(w, name, buf);
}

static void start(GjWriter *w, const char *tag)
{
    if (!w->failed) {
        check(w, xmlTextWriterStartElement(w->xw, BAD_CAST tag), tag);
        w->depth++;
    }
}

static void text(GjWriter *w, const char *const *body)
{
    xmlChar *t;

    if (!body || w->failed) {
        return;
    }
    t = clean(body);
    check(w, xmlTextWriterWriteString(w->xw, t), "text");
    free(t);
}

/* libxml2 prints its errors on stderr by default: they come back as ours */
static void quiet(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

GjWriter *gj_open(const char *path, char *err, size_t errlen)
{
    GjWriter *w = calloc(1, sizeof(*w));

    if (!w) {
        abort();
    }
    xmlSetGenericErrorFunc(NULL, quiet);
    errno = 0;
    w->xw = xmlNewTextWriterFilename(path, 0);
    if (!w->xw) {
        snprintf(err, errlen, "cannot write %s: %s", path,
                 errno ? strerror(errno) : "libxml2 refused it");
        free(w);
        return NULL;
    }
    xmlTextWriterSetIndent(w->xw, 1);
    xmlTextWriterSetIndentString(w->xw, BAD_CAST "  ");
    check(w, xmlTextWriterStartDocument(w->xw, NULL, "UTF-8", NULL), "document");
    return w;
}

void gj_begin(GjWriter *w, const char *tag, const char *name, const GjCounts *c)
{
    start(w, tag);
    attr(w, "name", name);
    attr_num(w, "tests", "%.0f", c->tests);
    attr_num(w, "failures", "%.0f", c->failures);
    attr_num(w, "errors", "%.0f", c->errors);
    attr_num(w, "skipped", "%.0f", c->skipped);
    attr_num(w, "time", "%.3f", c->time);
}

void gj_case(GjWriter *w, const char *classname, const char *name,
             const char *file, double time)
{
    start(w, "testcase");
    attr(w, "classname", classname);
    attr(w, "name", name);
    if (file) {
        attr(w, "file", file);
    }
    attr_num(w, "time", "%.3f", time);
}

void gj_outcome(GjWriter *w, const char *tag, const char *message,
                const char *type, const char *const *body)
{
    start(w, tag);
    attr(w, "message", message);
    attr(w, "type", type);
    text(w, body);
    gj_end(w);
}

void gj_system_out(GjWriter *w, const char *const *body)
{
    start(w, "system-out");
    text(w, body);
    gj_end(w);
}

void gj_end(GjWriter *w)
{
    if (w->failed) {
        return;
    }
    if (!w->depth) {
        fail(w, "gj_end() with nothing open:");
        return;
    }
    w->depth--;
    check(w, xmlTextWriterEndElement(w->xw), "end of an element");
}

int gj_close(GjWriter *w, char *err, size_t errlen)
{
    int rc = 0;

    if (!w->failed) {
        check(w, xmlTextWriterEndDocument(w->xw), "end of the document");
    }
    if (!w->failed) {
        check(w, xmlTextWriterFlush(w->xw), "writing the file");
    }
    xmlFreeTextWriter(w->xw);
    if (w->failed) {
        snprintf(err, errlen, "%s", w->err);
        rc = -1;
    }
    free(w);
    return rc;
}

/* ---- reading and merging ------------------------------------------------------ */

static xmlDocPtr read_junit(const char *path, char *err, size_t errlen)
{
    xmlDocPtr doc = xmlReadFile(path, NULL, XML_PARSE_NONET | XML_PARSE_NOBLANKS |
                                XML_PARSE_NOERROR | XML_PARSE_NOWARNING);

    if (!doc) {
        const xmlError *e = xmlGetLastError();
        char msg[256];

        snprintf(msg, sizeof(msg), "%s", e && e->message ? e->message : "unreadable");
        msg[strcspn(msg, "\n")] = 0;          /* libxml2's end with a newline */
        snprintf(err, errlen, "%s: not a complete JUnit file (line %d: %s)", path,
                 e ? e->line : 0, msg);
    }
    return doc;
}

static double num_prop(xmlNodePtr n, const char *name)
{
    xmlChar *v = xmlGetProp(n, BAD_CAST name);
    double d = v ? strtod((const char *)v, NULL) : 0;

    xmlFree(v);
    return d;
}

typedef void (*SuiteFn)(xmlNodePtr suite, void *ctx);

/* Every <testsuite> element (not inside another), in document order. */
static int each_suite(xmlNodePtr n, SuiteFn fn, void *ctx)
{
    int found = 0;

    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE) {
            continue;
        }
        if (!xmlStrcmp(n->name, BAD_CAST "testsuite")) {
            fn(n, ctx);
            found++;
        } else {
            found += each_suite(n->children, fn, ctx);
        }
    }
    return found;
}

static void add_counts(xmlNodePtr s, void *ctx)
{
    GjCounts *t = ctx;

    t->tests += num_prop(s, "tests");
    t->failures += num_prop(s, "failures");
    t->errors += num_prop(s, "errors");
    t->skipped += num_prop(s, "skipped");
    t->time += num_prop(s, "time");
}

int gj_collect(const char *path, GjCounts *tot, char *err, size_t errlen)
{
    xmlDocPtr doc = read_junit(path, err, errlen);
    int n;

    if (!doc) {
        return -1;
    }
    n = each_suite(xmlDocGetRootElement(doc), add_counts, tot);
    xmlFreeDoc(doc);
    if (!n) {
        snprintf(err, errlen, "%s: no <testsuite> element (not a JUnit file)", path);
        return -1;
    }
    return 0;
}

/* Write a parsed element again, through the writer. */
static void copy_node(GjWriter *w, xmlNodePtr n)
{
    for (; n && !w->failed; n = n->next) {
        switch (n->type) {
        case XML_ELEMENT_NODE:
            start(w, (const char *)n->name);
            for (xmlAttrPtr a = n->properties; a; a = a->next) {
                xmlChar *v = xmlNodeListGetString(n->doc, a->children, 1);

                attr(w, (const char *)a->name, (const char *)v);
                xmlFree(v);
            }
            copy_node(w, n->children);
            gj_end(w);
            break;
        case XML_TEXT_NODE:
            text(w, (const char *const[]){ (const char *)n->content, NULL });
            break;
        case XML_CDATA_SECTION_NODE:
            check(w, xmlTextWriterWriteCDATA(w->xw, n->content), "CDATA");
            break;
        default:
            break;      /* comments, processing instructions */
        }
    }
}

static void copy_suite(xmlNodePtr s, void *ctx)
{
    xmlNodePtr next = s->next;

    /* this element alone, not its following siblings */
    s->next = NULL;
    copy_node(ctx, s);
    s->next = next;
}

int gj_merge(const char *const *paths, size_t n, const char *name,
             const char *out, GjCounts *tot, char *err, size_t errlen)
{
    xmlDocPtr *docs = calloc(n + 1, sizeof(*docs));
    GjCounts sum = { 0 };
    GjWriter *w;
    int rc = -1;

    if (!docs) {
        abort();
    }
    for (size_t i = 0; i < n; i++) {
        if (!(docs[i] = read_junit(paths[i], err, errlen))) {
            goto done;
        }
        if (!each_suite(xmlDocGetRootElement(docs[i]), add_counts, &sum)) {
            snprintf(err, errlen, "%s: no <testsuite> element (not a JUnit file)",
                     paths[i]);
            goto done;
        }
    }
    w = gj_open(out, err, errlen);
    if (!w) {
        goto done;
    }
    gj_begin(w, "testsuites", name, &sum);
    for (size_t i = 0; i < n; i++) {
        each_suite(xmlDocGetRootElement(docs[i]), copy_suite, w);
    }
    gj_end(w);
    rc = gj_close(w, err, errlen);
    if (tot) {
        *tot = sum;
    }
done:
    for (size_t i = 0; i < n; i++) {
        xmlFreeDoc(docs[i]);
    }
    free(docs);
    return rc;
}
