/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * junit.h: any bytes in a reason still give well-formed XML with the text
 * intact where XML can carry it; totals and structure; a merge keeps every
 * suite and sums the totals, and refuses a broken input without writing.
 */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "junit.h"
#include "proc.h"

static char dir[] = "/tmp/gj-test-XXXXXX";

static void setup(void)
{
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    GpSpec sp = { .argv = (char *[]){ "rm", "-rf", "--", dir, NULL }, .timeout_s = 30 };
    GpResult r;

    ck_assert_int_eq(gp_run(&sp, &r), 0);
    ck_assert(!gp_failed(&r));
    strcpy(dir, "/tmp/gj-test-XXXXXX");
}

static char *path_of(const char *name)
{
    static char p[16][256];
    static int k;

    k = (k + 1) % 16;
    snprintf(p[k], sizeof(p[k]), "%s/%s", dir, name);
    return p[k];
}

/* Strictly parsed: no recovery, a malformed file is NULL. */
static xmlDocPtr parse(const char *path)
{
    return xmlReadFile(path, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR |
                       XML_PARSE_NOWARNING);
}

static char *prop(xmlNodePtr n, const char *name)
{
    xmlChar *v = xmlGetProp(n, BAD_CAST name);
    char *s = strdup(v ? (char *)v : "(none)");

    xmlFree(v);
    return s;
}

static xmlNodePtr child(xmlNodePtr n, const char *name)
{
    for (n = n->children; n; n = n->next) {
        if (n->type == XML_ELEMENT_NODE && !xmlStrcmp(n->name, BAD_CAST name)) {
            return n;
        }
    }
    return NULL;
}

static void write_file(const char *path, const char *suite, int tests, int failures,
                       const char *reason)
{
    char err[600];
    GjCounts c = { tests, failures, 0, 0, 1.5 };
    GjWriter *w = gj_open(path, err, sizeof(err));

    ck_assert_msg(w, "%s", err);
    gj_begin(w, "testsuites", "gauntlet", &c);
    gj_begin(w, "testsuite", suite, &c);
    for (int i = 0; i < tests; i++) {
        char name[32];

        snprintf(name, sizeof(name), "case-%d", i);
        gj_case(w, "gauntlet.kestrel", name, "scenarios/x.yaml", 0.25);
        if (i < failures) {
            gj_outcome(w, "failure", reason, "verdict:kernel-log",
                       (const char *const[]){ reason, "\nartifacts: ", "/a/b", NULL });
        }
        gj_system_out(w, (const char *const[]){ "artifacts: ", "/a/b", NULL });
        gj_end(w);
    }
    gj_end(w);
    gj_end(w);
    ck_assert_int_eq(gj_close(w, err, sizeof(err)), 0);
}

START_TEST(any_bytes_give_valid_xml)
{
    const char *reason = "bad \xff\xfe utf-8 \x01\x1b[0m <tag> & \"q\" 'a' caf\xc3\xa9"
                         " \xed\xa0\x80 surrogate\nline2\tend";
    const char *want = "bad ?? utf-8 ??[0m <tag> & \"q\" 'a' caf\xc3\xa9"
                       " ??? surrogate\nline2\tend";
    xmlDocPtr doc;
    xmlNodePtr root, suite, tc, failure;
    char *s;
    xmlChar *body;

    write_file(path_of("junit.xml"), "gauntlet", 2, 1, reason);
    doc = parse(path_of("junit.xml"));
    ck_assert_msg(doc, "not well-formed XML");
    root = xmlDocGetRootElement(doc);
    ck_assert_str_eq((char *)root->name, "testsuites");
    s = prop(root, "tests");
    ck_assert_str_eq(s, "2");
    free(s);
    s = prop(root, "failures");
    ck_assert_str_eq(s, "1");
    free(s);
    s = prop(root, "time");
    ck_assert_str_eq(s, "1.500");
    free(s);
    suite = child(root, "testsuite");
    ck_assert_ptr_nonnull(suite);
    tc = child(suite, "testcase");
    ck_assert_ptr_nonnull(tc);
    s = prop(tc, "classname");
    ck_assert_str_eq(s, "gauntlet.kestrel");
    free(s);
    failure = child(tc, "failure");
    ck_assert_ptr_nonnull(failure);
    s = prop(failure, "message");
    ck_assert_str_eq(s, want);           /* newline and tab survive in attributes */
    free(s);
    body = xmlNodeGetContent(failure);
    ck_assert_ptr_nonnull(strstr((char *)body, want));
    ck_assert_ptr_nonnull(strstr((char *)body, "\nartifacts: /a/b"));
    xmlFree(body);
    ck_assert_ptr_null(child(tc->next->next ? tc->next : tc->next, "failure"));
    xmlFreeDoc(doc);
}
END_TEST

START_TEST(merge_sums_and_keeps_suites)
{
    const char *in[] = { path_of("a.xml"), path_of("b.xml") };
    char err[1200];
    GjCounts tot = { 0 }, again = { 0 };
    xmlDocPtr doc;
    xmlNodePtr root, n;
    int suites = 0, cases = 0, failures = 0;

    write_file(in[0], "shard-1", 3, 1, "x < y");
    write_file(in[1], "shard-2", 2, 2, "boom");
    ck_assert_int_eq(gj_merge(in, 2, "gauntlet", path_of("m.xml"), &tot, err,
                              sizeof(err)), 0);
    ck_assert(tot.tests == 5 && tot.failures == 3 && tot.time == 3.0);
    doc = parse(path_of("m.xml"));
    ck_assert_msg(doc, "merged file is not well-formed");
    root = xmlDocGetRootElement(doc);
    for (n = root->children; n; n = n->next) {
        if (n->type == XML_ELEMENT_NODE) {
            suites++;
            for (xmlNodePtr c = n->children; c; c = c->next) {
                cases += c->type == XML_ELEMENT_NODE;
                failures += c->type == XML_ELEMENT_NODE && child(c, "failure") != NULL;
            }
        }
    }
    ck_assert_int_eq(suites, 2);
    ck_assert_int_eq(cases, 5);
    ck_assert_int_eq(failures, 3);
    xmlFreeDoc(doc);
    /* the merged file merges again to the same totals */
    ck_assert_int_eq(gj_collect(path_of("m.xml"), &again, err, sizeof(err)), 0);
    ck_assert(again.tests == 5 && again.failures == 3);
}
END_TEST

START_TEST(merge_refuses_broken_input)
{
    const char *in[] = { path_of("a.xml"), path_of("broken.xml") };
    char err[1200];
    FILE *f;

    write_file(in[0], "shard-1", 1, 0, "");
    f = fopen(in[1], "w");
    fputs("<testsuites><testsuite name=\"x\" tests=\"1\">", f);
    fclose(f);
    ck_assert_int_eq(gj_merge(in, 2, "gauntlet", path_of("m.xml"), NULL, err,
                              sizeof(err)), -1);
    ck_assert_msg(strstr(err, "broken.xml: not a complete JUnit file"), "err: %s", err);
    ck_assert_int_ne(access(path_of("m.xml"), F_OK), 0);

    f = fopen(in[1], "w");
    fputs("<testsuites name=\"empty\"></testsuites>\n", f);
    fclose(f);
    ck_assert_int_eq(gj_merge(in, 2, "gauntlet", path_of("m.xml"), NULL, err,
                              sizeof(err)), -1);
    ck_assert_msg(strstr(err, "broken.xml: no <testsuite> element"), "err: %s", err);
    ck_assert_int_ne(access(path_of("m.xml"), F_OK), 0);
}
END_TEST

START_TEST(misuse_and_bad_path)
{
    char err[600];
    GjWriter *w = gj_open(path_of("x.xml"), err, sizeof(err));

    gj_end(w);
    ck_assert_int_eq(gj_close(w, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "nothing open"));
    ck_assert_ptr_null(gj_open("/nonexistent/dir/junit.xml", err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "cannot write /nonexistent/dir/junit.xml"));
}
END_TEST

Suite *junit_suite(void)
{
    Suite *s = suite_create("junit");
    TCase *tc = tcase_create("junit");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, any_bytes_give_valid_xml);
    tcase_add_test(tc, merge_sums_and_keeps_suites);
    tcase_add_test(tc, merge_refuses_broken_input);
    tcase_add_test(tc, misuse_and_bad_path);
    suite_add_tcase(s, tc);
    return s;
}
