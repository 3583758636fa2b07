/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The harness's one JUnit/XML writer (prefix gj_), on libxml2's
 * xmlTextWriter: the runner's junit.xml, the campaign's, and the merge of
 * many into one (gauntlet merge).
 *
 *   GjWriter *w = gj_open("out/junit.xml", err, sizeof(err));
 *   gj_begin(w, "testsuites", "gauntlet", &counts);
 *     gj_begin(w, "testsuite", "gauntlet", &counts);
 *       gj_case(w, "gauntlet.kestrel", "baseline-io", "scenarios/b.yaml", 12.5);
 *         gj_outcome(w, "failure", reason, kind, body);    (not for a pass)
 *         gj_system_out(w, body);
 *       gj_end(w);                                         </testcase>
 *     gj_end(w);                                           </testsuite>
 *   gj_end(w);                                             </testsuites>
 *   if (gj_close(w, err, sizeof(err)) < 0) ...
 *
 * Every string may hold any bytes: what XML 1.0 cannot carry (invalid
 * UTF-8, control characters other than newline and tab) becomes '?';
 * <, >, & and quotes are escaped by libxml2.  Errors are sticky and
 * reported once by gj_close().
 */
#ifndef GAUNTLET_JUNIT_H
#define GAUNTLET_JUNIT_H

#include <stddef.h>

typedef struct GjWriter GjWriter;

/* The totals a <testsuites> or <testsuite> element carries. */
typedef struct GjCounts {
    double tests, failures, errors, skipped, time;
} GjCounts;

/* Create (truncate) path; NULL with err filled in. */
GjWriter *gj_open(const char *path, char *err, size_t errlen);

/* <tag name="name" tests=.. failures=.. errors=.. skipped=.. time=..>;
 * tag is "testsuites" or "testsuite". */
void gj_begin(GjWriter *w, const char *tag, const char *name, const GjCounts *c);

/* <testcase classname name file time> (file may be NULL: left out). */
void gj_case(GjWriter *w, const char *classname, const char *name,
             const char *file, double time);

/* <tag message="message" type="type">body...</tag>, tag "failure",
 * "error" or "skipped"; body is a NULL-terminated list of strings written
 * one after the other. */
void gj_outcome(GjWriter *w, const char *tag, const char *message,
                const char *type, const char *const *body);

/* <system-out>body...</system-out> */
void gj_system_out(GjWriter *w, const char *const *body);

/* Close the innermost open element. */
void gj_end(GjWriter *w);

/* Close everything, flush and free.  0, or -1 with the first error. */
int gj_close(GjWriter *w, char *err, size_t errlen);

/* Read a JUnit file and add the totals of its <testsuite> elements to
 * *tot.  0, or -1 with err ("PATH: ...") when it does not parse or holds
 * no <testsuite>. */
int gj_collect(const char *path, GjCounts *tot, char *err, size_t errlen);

/* One JUnit file at out holding every <testsuite> of the n inputs under a
 * <testsuites name="name"> with the summed totals (*tot, when not NULL).
 * Every input is read and checked before out is created. */
int gj_merge(const char *const *paths, size_t n, const char *name,
             const char *out, GjCounts *tot, char *err, size_t errlen);

/* A malloc'd copy of s with what XML 1.0 cannot carry made '?' (as every
 * string the writer takes): for other libxml2 documents (report_html.c). */
char *gj_xml_text(const char *s);

#endif /* GAUNTLET_JUNIT_H */
