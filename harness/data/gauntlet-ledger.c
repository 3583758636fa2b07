// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * gauntlet-ledger: hold backing files to a write ledger (host only).
 *
 *   gauntlet-ledger check LEDGER [--backing FILE] [--map DEV=FILE ...]
 *                   [--end strict|relaxed] [--atomic-unit BLOCKS]
 *                   [--json OUT] [--max-violations N]
 *
 * LEDGER is what gauntlet-data stress and kestrelctl stress recorded
 * (ledger.h), plus the harness's P (power cut) and C (comment) lines.
 * Every block a W or X record names is read from its session's backing
 * file (--map DEV=FILE for the session's dev=, else --backing) at
 * lba * bs, a raw image, and held to the rules of docs/ledger.md
 * (ledger_check.h):
 *   --end strict (default): the run ended in order, every write
 *       acknowledged after the last power cut must be there;
 *       relaxed: the end is a power cut too, only flushed writes must be.
 *   --atomic-unit BLOCKS (default 1): the device writes units of that many
 *       aligned blocks whole; a multi-block write may otherwise land partly.
 *   --max-violations N (default 20): how many are listed (all are counted).
 *   --json OUT: the figures and the violations as one JSON object.
 * The summary is the last line on stdout; each listed violation is a line
 * "gauntlet-ledger: VIOLATION KIND BACKING lba L (device D): expected E;
 * found F" on stderr.
 *
 * Exit status: 0 no violation, 1 violations, 2 usage, a malformed or
 * inconsistent ledger (with its line number), an unreadable backing file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "data_tool.h"
#include "ledger_check.h"

#define LPROG "gauntlet-ledger"

static void usage(FILE *f)
{
    fprintf(f,
"usage: " LPROG " check LEDGER [--backing FILE] [--map DEV=FILE ...]\n"
"                       [--end strict|relaxed] [--atomic-unit BLOCKS]\n"
"                       [--json OUT] [--max-violations N]\n"
"  Check every block the ledger's writes name in the backing files (raw\n"
"  images): flushed writes, and with --end strict (default) every\n"
"  acknowledged write after the last power cut, must be there or newer;\n"
"  never older content, never a torn block (docs/ledger.md).\n"
"Exit status: 0 no violation, 1 violations, 2 usage, bad ledger or\n"
"unreadable backing file.\n");
}

static uint64_t parse_count(const char *opt, const char *s, uint64_t max)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v > max) {
        gd_usage_die("--%s: bad number '%s' (0..%" PRIu64 ")", opt, s, max);
    }
    return v;
}

static int write_json(const char *path, const struct gl_result *r)
{
    json_object *o = json_object_new_object(), *list = json_object_new_array();
    int ret;

    json_object_object_add(o, "sessions", json_object_new_int64((int64_t)r->sessions));
    json_object_object_add(o, "power_cuts", json_object_new_int64((int64_t)r->power_cuts));
    json_object_object_add(o, "writes_acknowledged",
                           json_object_new_int64((int64_t)r->writes_acknowledged));
    json_object_object_add(o, "writes_flushed",
                           json_object_new_int64((int64_t)r->writes_flushed));
    json_object_object_add(o, "writes_failed",
                           json_object_new_int64((int64_t)r->writes_failed));
    json_object_object_add(o, "pattern_writes",
                           json_object_new_int64((int64_t)r->pattern_writes));
    json_object_object_add(o, "writes_checked",
                           json_object_new_int64((int64_t)r->writes_checked));
    json_object_object_add(o, "blocks_checked",
                           json_object_new_int64((int64_t)r->blocks_checked));
    json_object_object_add(o, "violations", json_object_new_int64((int64_t)r->violations));
    json_object_object_add(o, "partial_lines",
                           json_object_new_int64((int64_t)r->partial_lines));
    json_object_object_add(o, "end", json_object_new_string(gl_end_name(r->end)));
    for (size_t i = 0; i < r->nlist; i++) {
        const struct gl_violation *v = &r->list[i];
        json_object *j = json_object_new_object();

        json_object_object_add(j, "lba", json_object_new_int64((int64_t)v->lba));
        json_object_object_add(j, "device", json_object_new_string(v->device));
        json_object_object_add(j, "backing", json_object_new_string(v->backing));
        json_object_object_add(j, "kind", json_object_new_string(v->kind));
        json_object_object_add(j, "expected", json_object_new_string(v->expected));
        json_object_object_add(j, "found", json_object_new_string(v->found));
        json_object_array_add(list, j);
    }
    json_object_object_add(o, "violation_list", list);
    ret = json_object_to_file_ext(path, o, JSON_C_TO_STRING_PRETTY |
                                  JSON_C_TO_STRING_NOSLASHESCAPE);
    json_object_put(o);
    return ret;
}

static const struct option check_options[] = {
    { "backing", required_argument, NULL, 'b' },
    { "map", required_argument, NULL, 'm' },
    { "end", required_argument, NULL, 'e' },
    { "atomic-unit", required_argument, NULL, 'u' },
    { "json", required_argument, NULL, 'j' },
    { "max-violations", required_argument, NULL, 'n' },
    { NULL, 0, NULL, 0 },
};

static int cmd_check(int argc, char **argv)
{
    struct gl_check_opts o = { .end = GL_END_STRICT, .atomic_unit = 1,
                               .max_violations = 20 };
    struct gl_map *maps = NULL;
    const char *json = NULL;
    struct gl_result r;
    struct gl_log *log;
    char err[512];
    int ch, end;

    optind = 1;
    while ((ch = getopt_long(argc, argv, "", check_options, NULL)) != -1) {
        switch (ch) {
        case 'b':
            o.backing = optarg;
            break;
        case 'm': {
            char *eq = strchr(optarg, '=');

            if (!eq || eq == optarg || !eq[1]) {
                gd_usage_die("check: --map wants DEV=FILE, got '%s'", optarg);
            }
            *eq = 0;
            maps = realloc(maps, (o.nmaps + 1) * sizeof(*maps));
            if (!maps) {
                gd_usage_die("out of memory");
            }
            maps[o.nmaps++] = (struct gl_map){ .dev = optarg, .file = eq + 1 };
            break;
        }
        case 'e':
            end = gl_end_parse(optarg);
            if (end < 0) {
                gd_usage_die("check: --end wants strict or relaxed, got '%s'", optarg);
            }
            o.end = (enum gl_end_mode)end;
            break;
        case 'u':
            o.atomic_unit = (uint32_t)parse_count("atomic-unit", optarg, 1u << 20);
            if (!o.atomic_unit) {
                gd_usage_die("check: --atomic-unit must be at least 1");
            }
            break;
        case 'j':
            json = optarg;
            break;
        case 'n':
            o.max_violations = (uint32_t)parse_count("max-violations", optarg, 1u << 20);
            break;
        default:
            gd_usage_die("check: bad option");
        }
    }
    o.maps = maps;
    if (optind != argc - 1) {
        gd_usage_die("check: exactly one LEDGER is needed");
    }
    if (!o.backing && !o.nmaps) {
        gd_usage_die("check: --backing FILE or --map DEV=FILE is needed");
    }
    log = gl_log_read(argv[optind], err, sizeof(err));
    if (!log) {
        fprintf(stderr, LPROG ": %s\n", err);
        free(maps);
        return 2;
    }
    if (gl_check(log, &o, &r, err, sizeof(err))) {
        fprintf(stderr, LPROG ": %s\n", err);
        gl_log_free(log);
        free(maps);
        return 2;
    }
    for (size_t i = 0; i < r.nlist; i++) {
        const struct gl_violation *v = &r.list[i];

        fprintf(stderr, LPROG ": VIOLATION %s %s lba %" PRIu64 " (device %s): expected "
                "%s; found %s\n", v->kind, v->backing, v->lba, v->device, v->expected,
                v->found);
    }
    if (r.violations > r.nlist) {
        fprintf(stderr, LPROG ": ... %" PRIu64 " more violations not listed\n",
                r.violations - r.nlist);
    }
    if (json && write_json(json, &r)) {
        fprintf(stderr, LPROG ": cannot write %s: %s\n", json, json_util_get_last_err());
        gl_result_free(&r);
        gl_log_free(log);
        free(maps);
        return 2;
    }
    printf("ledger %s: %" PRIu64 " sessions, %" PRIu64 " power cuts, %" PRIu64
           " writes acknowledged (%" PRIu64 " flushed, %" PRIu64 " checked), %" PRIu64
           " failed (%" PRIu64 " of them fixed-pattern), %" PRIu64 " blocks checked, %"
           PRIu64 " partial lines, end %s: %" PRIu64 " violations: %s\n", argv[optind],
           r.sessions, r.power_cuts, r.writes_acknowledged, r.writes_flushed,
           r.writes_checked, r.writes_failed, r.pattern_writes,
           r.blocks_checked, r.partial_lines, gl_end_name(r.end), r.violations,
           r.violations ? "FAIL" : "PASS");
    end = r.violations ? 1 : 0;
    gl_result_free(&r);
    gl_log_free(log);
    free(maps);
    return end;
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "help";

    gd_prog = LPROG;
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(argc > 1 ? stdout : stderr);
        return argc > 1 ? 0 : 2;
    }
    if (!strcmp(cmd, "check")) {
        return cmd_check(argc - 1, argv + 1);
    }
    usage(stderr);
    fprintf(stderr, LPROG ": unknown command '%s'\n", cmd);
    return 2;
}
