/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * yaml_writer.h: the exact text of a small scenario-shaped document,
 * strings YAML would misread if written plain read back unchanged
 * (libyaml's parser), and misuse is an error, not bad YAML.
 */
#define _GNU_SOURCE
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "yaml_writer.h"

START_TEST(exact_text)
{
    GyWriter *w = gy_new();
    char *text, err[300];
    size_t len;

    gy_map(w, GY_BLOCK);
    gy_key(w, "name");
    gy_str(w, "campaign-s1-r0");
    gy_key(w, "timeout");
    gy_int(w, 600);
    gy_key(w, "tags");
    gy_seq(w, GY_FLOW);
    gy_plain(w, "campaign");
    gy_end(w);
    gy_key(w, "steps");
    gy_seq(w, GY_BLOCK);
    gy_map(w, GY_BLOCK);
    gy_key(w, "boot");
    gy_map(w, GY_FLOW);
    gy_end(w);
    gy_end(w);
    gy_map(w, GY_BLOCK);
    gy_key(w, "wait");
    gy_map(w, GY_FLOW);
    gy_key(w, "seconds");
    gy_num(w, 0.1);
    gy_key(w, "ok");
    gy_bool(w, true);
    gy_end(w);
    gy_end(w);
    gy_end(w);
    gy_end(w);
    ck_assert_int_eq(gy_finish(w, &text, &len, err, sizeof(err)), 0);
    ck_assert_str_eq(text,
                     "name: \"campaign-s1-r0\"\n"
                     "timeout: 600\n"
                     "tags: [campaign]\n"
                     "steps:\n"
                     "- boot: {}\n"
                     "- wait: {seconds: 0.1, ok: true}\n");
    ck_assert_uint_eq(len, strlen(text));
    free(text);
}
END_TEST

/* Parse text and return the value scalar of its one-key mapping. */
static char *read_back(const char *text)
{
    yaml_parser_t p;
    yaml_event_t ev;
    char *val = NULL;
    int nscalars = 0;

    ck_assert(yaml_parser_initialize(&p));
    yaml_parser_set_input_string(&p, (const unsigned char *)text, strlen(text));
    for (;;) {
        ck_assert_msg(yaml_parser_parse(&p, &ev), "does not parse: %s\n%s",
                      p.problem, text);
        if (ev.type == YAML_SCALAR_EVENT && ++nscalars == 2) {
            val = strndup((char *)ev.data.scalar.value, ev.data.scalar.length);
        }
        if (ev.type == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    ck_assert_int_eq(nscalars, 2);
    return val;
}

START_TEST(strings_read_back)
{
    static const char *const tricky[] = {
        "", "true", "null", "~", "0x10", "- item", "a: b", "# no comment", "x #y",
        "'single'", "\"double\"", "back\\slash", "line\nbreak\n", "tab\there",
        "\x01\x7f bell", "cq.post:corrupt(tag=0xffff):nth=3;irq:drop:every=2,max=5",
        "{flow}", "[seq]", "&anchor", "*alias", "!tag", "%directive", "@at", "`tick`",
        "  leading and trailing  ", "caf\xc3\xa9 \xe2\x80\xa8 sep",
        "a very long line that a folding emitter would break somewhere after the "
        "eightieth column, which must not happen: the dump is compared byte by byte",
    };

    for (size_t i = 0; i < sizeof(tricky) / sizeof(tricky[0]); i++) {
        GyWriter *w = gy_new();
        char *text, *back, err[300];

        gy_map(w, GY_BLOCK);
        gy_key(w, "k");
        gy_str(w, tricky[i]);
        gy_end(w);
        ck_assert_int_eq(gy_finish(w, &text, NULL, err, sizeof(err)), 0);
        ck_assert_msg(!strchr(text, '\n') || strchr(text, '\n')[1] == 0,
                      "folded or multi-line: %s", text);
        back = read_back(text);
        ck_assert_msg(!strcmp(back, tricky[i]), "'%s' read back as '%s' from %s",
                      tricky[i], back, text);
        free(back);
        free(text);
    }
}
END_TEST

static void expect_error(GyWriter *w, const char *what)
{
    char *text = (char *)"untouched", err[300];

    ck_assert_int_eq(gy_finish(w, &text, NULL, err, sizeof(err)), -1);
    ck_assert_str_eq(text, "untouched");
    ck_assert_msg(strstr(err, what), "error '%s' lacks '%s'", err, what);
}

START_TEST(misuse_is_an_error)
{
    GyWriter *w;

    w = gy_new();
    gy_map(w, GY_BLOCK);
    expect_error(w, "left open");

    w = gy_new();
    gy_map(w, GY_BLOCK);
    gy_key(w, "k");
    gy_end(w);
    expect_error(w, "key without its value");

    w = gy_new();
    gy_end(w);
    expect_error(w, "nothing open");

    w = gy_new();
    gy_plain(w, "root");
    expect_error(w, "outside");

    w = gy_new();
    gy_seq(w, GY_FLOW);
    gy_str(w, "bad \xff utf-8");
    gy_end(w);
    expect_error(w, "not UTF-8");

    /* sticky: later calls change nothing */
    w = gy_new();
    gy_end(w);
    gy_map(w, GY_BLOCK);
    gy_end(w);
    expect_error(w, "nothing open");
}
END_TEST

Suite *yaml_writer_suite(void)
{
    Suite *s = suite_create("yaml_writer");
    TCase *tc = tcase_create("yaml_writer");

    tcase_add_test(tc, exact_text);
    tcase_add_test(tc, strings_read_back);
    tcase_add_test(tc, misuse_is_an_error);
    suite_add_tcase(s, tc);
    return s;
}
