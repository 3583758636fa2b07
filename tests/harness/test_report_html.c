/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Suite "report_html": report.html from a made-up run folder whose names,
 * reasons, fault-log details and kernel lines are hostile markup; the page
 * is read back with libxml2's HTML parser.  The checks' negative control:
 * the same strings pasted into a page as raw text are found as markup.
 */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/HTMLparser.h>
#include <libxml/tree.h>

#include "report_html.h"

#define EVIL_NAME   "evil<script>alert(1)</script>"
#define EVIL_REASON "step failed: \"><img src=x onerror=alert(2)>"
#define EVIL_LINE   "kestrel 0000:01:00.0: <script>alert(3)</script> & <b>bold</b>"
#define EVIL_DETAIL "tag=1 <iframe src=javascript:alert(4)>"
/* an artifact folder (no '/' in it) */
#define EVIL_DIR    "javascript:evil<img src=x onerror=alert(5)>"

static char dir[64];

static void put(const char *rel, const char *text)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static void make_run(void)
{
    char path[512], *json;

    strcpy(dir, "/tmp/gr-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/" EVIL_DIR, dir);
    ck_assert_int_eq(mkdir(path, 0755), 0);
    snprintf(path, sizeof(path), "%s/good-one", dir);
    ck_assert_int_eq(mkdir(path, 0755), 0);
    ck_assert_int_ge(asprintf(&json,
        "{\"tool\":\"gauntlet\",\"kernel_version\":\"6.1\",\"wall_s\":20,"
        "\"pass\":1,\"fail\":1,\"skip\":0,\"error\":0,\"scenarios\":["
        "{\"name\":\"good-one\",\"status\":\"pass\",\"reason\":\"\","
        "\"duration_s\":9.5,\"start\":\"cold\",\"artifacts\":\"%s/good-one\"},"
        "{\"name\":\"evil<script>alert(1)</script>\",\"status\":\"fail\","
        "\"reason\":\"step failed: \\\"><img src=x onerror=alert(2)>\","
        "\"duration_s\":10,\"start\":\"cold\","
        "\"artifacts\":\"%s/" EVIL_DIR "\"}]}", dir, dir), 0);
    put("report.json", json);
    free(json);
    put("junit.xml", "<testsuites/>");
    put(EVIL_DIR "/steps.log",
        "[   0.000] scenario x\n"
        "[   0.000] step boot at x.yaml:1:1\n"
        "[   5.719] step load at x.yaml:2:5\n"
        "[   5.719] guest$ insmod /lib/gauntlet/target/kestrel.ko timeout_ms=1000\n"
        "[   5.777]   -> exit 0 in 38.9 ms (guest) / 58.4 ms (host), stdout 0 B\n"
        "[   5.777] step faults at x.yaml:3:5\n");
    put(EVIL_DIR "/console.log",
        "[    0.000000] Linux version 6.1\n"
        "[    2.760972] kestrel: loading out-of-tree module taints kernel.\n"
        "[    2.800000] other: not the driver\n"
        "[    3.976705] " EVIL_LINE "\n");
    put(EVIL_DIR "/fault-log.json",
        "[{\"seq\":0,\"time-ns\":6900000000,\"id\":1,\"rule\":\"cq.post:drop:nth=3\","
        "\"point\":\"cq.post\",\"action\":\"drop\","
        "\"detail\":\"tag=1 <iframe src=javascript:alert(4)>\","
        "\"device\":\"k1\",\"object\":\"/machine/peripheral/k1\",\"qemu\":0,\"plug\":0}]");
}

static void rm_run(void)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* Elements named tag anywhere under n, and attributes named on*. */
static int count_markup(xmlNodePtr n, const char *tag, int *on_attrs)
{
    int c = 0;

    for (; n; n = n->next) {
        if (n->type == XML_ELEMENT_NODE) {
            if (!strcasecmp((const char *)n->name, tag)) {
                c++;
            }
            for (xmlAttrPtr a = n->properties; a; a = a->next) {
                if (!strncasecmp((const char *)a->name, "on", 2)) {
                    (*on_attrs)++;
                }
            }
            c += count_markup(n->children, tag, on_attrs);
        }
    }
    return c;
}

/* Every link is relative ("./...") or a file: URL, never a scheme a name
 * brought in (EVIL_DIR starts with "javascript:"). */
static int bad_links(xmlNodePtr n)
{
    int c = 0;

    for (; n; n = n->next) {
        if (n->type == XML_ELEMENT_NODE) {
            xmlChar *href = xmlGetProp(n, BAD_CAST "href");

            if (href && strncmp((const char *)href, "./", 2) &&
                strncmp((const char *)href, "file:///", 8)) {
                c++;
            }
            xmlFree(href);
            c += bad_links(n->children);
        }
    }
    return c;
}

typedef struct Page {
    htmlDocPtr doc;
    char *text;         /* the whole text content */
    int scripts, imgs, iframes, on_attrs;
} Page;

static void read_page(Page *p, const char *path, const char *mem)
{
    xmlNodePtr root;

    p->doc = path ? htmlReadFile(path, "UTF-8", HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING)
                  : htmlReadMemory(mem, (int)strlen(mem), NULL, "UTF-8",
                                   HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING);
    ck_assert_ptr_nonnull(p->doc);
    root = xmlDocGetRootElement(p->doc);
    p->on_attrs = 0;
    p->scripts = count_markup(root, "script", &p->on_attrs);
    p->imgs = count_markup(root, "img", &p->on_attrs);
    p->iframes = count_markup(root, "iframe", &p->on_attrs);
    p->on_attrs /= 3;      /* counted once per walk */
    p->text = (char *)xmlNodeGetContent(root);
}

static void free_page(Page *p)
{
    xmlFree(p->text);
    xmlFreeDoc(p->doc);
}

START_TEST(hostile_strings_are_text)
{
    char err[512], path[512];
    Page p;

    make_run();
    ck_assert_msg(ghr_write(dir, err, sizeof(err)) == 0, "%s", err);
    snprintf(path, sizeof(path), "%s/report.html", dir);
    read_page(&p, path, NULL);
    ck_assert_int_eq(p.scripts, 0);
    ck_assert_int_eq(p.imgs, 0);
    ck_assert_int_eq(p.iframes, 0);
    ck_assert_int_eq(p.on_attrs, 0);
    ck_assert_int_eq(bad_links(xmlDocGetRootElement(p.doc)), 0);
    /* ... and they are shown, as text */
    ck_assert_ptr_nonnull(strstr(p.text, EVIL_NAME));
    ck_assert_ptr_nonnull(strstr(p.text, EVIL_REASON));
    ck_assert_ptr_nonnull(strstr(p.text, "<script>alert(3)</script> & <b>bold</b>"));
    ck_assert_ptr_nonnull(strstr(p.text, EVIL_DETAIL));
    ck_assert_ptr_nonnull(strstr(p.text, "good-one"));
    /* the kernel line moved by 5.719 - 2.760972 s: 3.976705 + 2.958028 */
    ck_assert_ptr_nonnull(strstr(p.text, "6.934733"));
    ck_assert_ptr_nonnull(strstr(p.text, "6.900000"));
    ck_assert_ptr_null(strstr(p.text, "not the driver"));
    free_page(&p);
    rm_run();
}
END_TEST

/* The negative control of the checks above: hostile strings pasted raw. */
START_TEST(raw_paste_is_caught)
{
    Page p;

    read_page(&p, NULL, "<html><body><p>" EVIL_NAME "</p><p>" EVIL_REASON "</p><p>"
              EVIL_DETAIL "</p></body></html>");
    ck_assert_int_ge(p.scripts, 1);
    ck_assert_int_ge(p.imgs, 1);
    ck_assert_int_ge(p.on_attrs, 1);
    ck_assert_ptr_null(strstr(p.text, EVIL_NAME));
    free_page(&p);
    read_page(&p, NULL, "<html><body><a href=\"" EVIL_DIR "/x\">x</a></body></html>");
    ck_assert_int_eq(bad_links(xmlDocGetRootElement(p.doc)), 1);
    free_page(&p);
}
END_TEST

START_TEST(anchor)
{
    char path[512], cpath[512], drv[64];
    double off = 0, slack = 0;

    make_run();
    snprintf(path, sizeof(path), "%s/" EVIL_DIR "/steps.log", dir);
    snprintf(cpath, sizeof(cpath), "%s/" EVIL_DIR "/console.log", dir);
    ck_assert_int_eq(ghr_anchor(path, cpath, &off, &slack, drv, sizeof(drv)), 0);
    ck_assert_str_eq(drv, "kestrel");
    ck_assert_double_eq_tol(off, 5.719 - 2.760972, 1e-9);
    ck_assert_double_eq_tol(slack, 0.0584 + 0.05, 1e-9);
    /* no driver line in the console: no anchor */
    put(EVIL_DIR "/console.log", "[    1.000000] other: x\n");
    ck_assert_int_eq(ghr_anchor(path, cpath, &off, &slack, drv, sizeof(drv)), -1);
    /* gauntlet-modload chains: the last module */
    put(EVIL_DIR "/steps.log", "[   5.625] step load at y:1:1\n"
        "[   5.625] guest$ gauntlet-modload virtio_pci && gauntlet-modload virtio_blk \n");
    put(EVIL_DIR "/console.log", "[    2.5] virtio_blk virtio1: [vda] 8 blocks\n");
    ck_assert_int_eq(ghr_anchor(path, cpath, &off, &slack, drv, sizeof(drv)), 0);
    ck_assert_str_eq(drv, "virtio_blk");
    ck_assert_double_eq_tol(off, 3.125, 1e-9);
    rm_run();
}
END_TEST

START_TEST(bad_inputs)
{
    char err[512];

    strcpy(dir, "/tmp/gr-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_int_eq(ghr_write(dir, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "no report.json"));
    put("report.json", "{\"scenarios\": [");
    ck_assert_int_eq(ghr_write(dir, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "report.json"));
    /* a report.json of the wrong shape is still a page, not a crash */
    put("report.json", "{\"scenarios\": [1, \"x\", {\"name\": 5}], \"wall_s\": \"y\"}");
    ck_assert_msg(ghr_write(dir, err, sizeof(err)) == 0, "%s", err);
    rm_run();
}
END_TEST

START_TEST(generic_tables)
{
    char err[512], path[512];
    Page p;

    strcpy(dir, "/tmp/gr-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    put("enumerate.json", "{\"target\":\"kestrel\",\"points\":["
        "{\"point\":\"cq.post\",\"survived\":[1,2,3],\"failed\":[]},"
        "{\"point\":\"irq\",\"survived\":[1],\"failed\":[2],\"note\":\"<b>x</b>\"}],"
        "\"empty\":[]}");
    ck_assert_msg(ghr_write(dir, err, sizeof(err)) == 0, "%s", err);
    snprintf(path, sizeof(path), "%s/report.html", dir);
    read_page(&p, path, NULL);
    ck_assert_ptr_nonnull(strstr(p.text, "enumerate.json: points"));
    ck_assert_ptr_nonnull(strstr(p.text, "cq.post"));
    ck_assert_ptr_nonnull(strstr(p.text, "[1,2,3]"));
    ck_assert_ptr_nonnull(strstr(p.text, "<b>x</b>"));
    ck_assert_ptr_null(strstr(p.text, "enumerate.json: empty"));
    free_page(&p);
    rm_run();
}
END_TEST

Suite *report_html_suite(void)
{
    Suite *s = suite_create("report_html");
    TCase *tc = tcase_create("report_html");

    tcase_add_test(tc, hostile_strings_are_text);
    tcase_add_test(tc, raw_paste_is_caught);
    tcase_add_test(tc, anchor);
    tcase_add_test(tc, bad_inputs);
    tcase_add_test(tc, generic_tables);
    suite_add_tcase(s, tc);
    return s;
}
