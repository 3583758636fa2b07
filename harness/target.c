/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Gauntlet target files (target.h): a flat YAML mapping of known keys.
 */
#include "target.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

enum { T_STR, T_LONG };

#define KEY(k, type, req) { #k, type, req, offsetof(GtTarget, k) }
static const struct {
    const char *key;
    int type;
    bool required;
    size_t off;
} gt_keys[] = {
    KEY(name, T_STR, true),
    KEY(description, T_STR, true),
    KEY(device, T_STR, true),
    KEY(drive_size_mb, T_LONG, true),
    KEY(block_size, T_LONG, true),
    KEY(module, T_STR, true),
    KEY(guest_kmods, T_STR, false),
    KEY(load, T_STR, true),
    KEY(unload, T_STR, true),
    KEY(ready, T_STR, true),
    KEY(ready_timeout, T_LONG, false),
    KEY(stats, T_STR, false),
    KEY(env_dev, T_STR, false),
    KEY(env_stress, T_STR, false),
    KEY(env_io_read, T_STR, false),
    KEY(fault_set, T_STR, false),
    KEY(fault_add, T_STR, false),
    KEY(fault_stats, T_STR, false),
    KEY(device_stats, T_STR, false),
    KEY(surprise_rule, T_STR, false),
    KEY(integrity_lba, T_LONG, false),
    KEY(integrity_blocks, T_LONG, false),
    KEY(integrity_write, T_STR, false),
    KEY(integrity_verify, T_STR, false),
    KEY(integrity_host_verify, T_STR, false),
    KEY(kfault_module, T_STR, false),
};
#define NKEYS (sizeof(gt_keys) / sizeof(gt_keys[0]))

static void set_err(char *err, size_t len, const char *file,
                    const yaml_mark_t *m, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void set_err(char *err, size_t len, const char *file,
                    const yaml_mark_t *m, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (m) {
        snprintf(err, len, "%s:%zu:%zu: %s", file, m->line + 1, m->column + 1,
                 msg);
    } else {
        snprintf(err, len, "%s: %s", file, msg);
    }
}

void gt_free(GtTarget *t)
{
    if (!t) {
        return;
    }
    for (size_t i = 0; i < NKEYS; i++) {
        if (gt_keys[i].type == T_STR) {
            free(*(char **)((char *)t + gt_keys[i].off));
        }
    }
    free(t->file);
    free(t);
}

GtTarget *gt_load(const char *path, char *err, size_t errlen)
{
    yaml_parser_t p;
    yaml_event_t ev;
    GtTarget *t = calloc(1, sizeof(*t));
    FILE *f = fopen(path, "rb");
    bool seen[NKEYS] = { false };
    int state = 0;      /* 0 before mapping, 1 key, 2 value, 3 done */
    int key = -1;
    yaml_mark_t key_mark = { 0 };
    bool ok = false;

    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        free(t);
        return NULL;
    }
    t->file = strdup(path);
    t->ready_timeout = 30;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_file(&p, f);
    for (;;) {
        if (!yaml_parser_parse(&p, &ev)) {
            set_err(err, errlen, path, &p.problem_mark, "YAML error: %s",
                    p.problem ? p.problem : "?");
            goto out;
        }
        if (ev.type == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        switch (ev.type) {
        case YAML_MAPPING_START_EVENT:
            if (state != 0) {
                set_err(err, errlen, path, &ev.start_mark,
                        "found a mapping, expected a scalar value");
                goto bad;
            }
            state = 1;
            break;
        case YAML_MAPPING_END_EVENT:
            state = 3;
            break;
        case YAML_SEQUENCE_START_EVENT:
            set_err(err, errlen, path, &ev.start_mark,
                    "found a list, expected %s",
                    state == 0 ? "a mapping of target keys" : "a scalar");
            goto bad;
        case YAML_ALIAS_EVENT:
            set_err(err, errlen, path, &ev.start_mark,
                    "aliases are not allowed");
            goto bad;
        case YAML_SCALAR_EVENT: {
            const char *v = (const char *)ev.data.scalar.value;

            if (state == 0 || state == 3) {
                set_err(err, errlen, path, &ev.start_mark,
                        "found a scalar, expected a mapping of target keys");
                goto bad;
            }
            if (state == 1) {
                key = -1;
                for (size_t i = 0; i < NKEYS; i++) {
                    if (!strcmp(gt_keys[i].key, v)) {
                        key = (int)i;
                    }
                }
                if (key < 0) {
                    set_err(err, errlen, path, &ev.start_mark,
                            "unknown key '%s' (see docs/targets.md)", v);
                    goto bad;
                }
                if (seen[key]) {
                    set_err(err, errlen, path, &ev.start_mark,
                            "duplicate key '%s'", v);
                    goto bad;
                }
                seen[key] = true;
                key_mark = ev.start_mark;
                state = 2;
                break;
            }
            if (gt_keys[key].type == T_STR) {
                *(char **)((char *)t + gt_keys[key].off) = strdup(v);
            } else {
                char *end;
                long n;

                errno = 0;
                n = strtol(v, &end, 0);
                if (!*v || *end || errno || n < 0) {
                    set_err(err, errlen, path, &ev.start_mark,
                            "'%s': found '%s', expected a non-negative integer",
                            gt_keys[key].key, v);
                    goto bad;
                }
                *(long *)((char *)t + gt_keys[key].off) = n;
            }
            state = 1;
            break;
        }
        default:
            break;
        }
        yaml_event_delete(&ev);
        continue;
bad:
        yaml_event_delete(&ev);
        goto out;
    }
    (void)key_mark;
    for (size_t i = 0; i < NKEYS; i++) {
        if (gt_keys[i].required && !seen[i]) {
            set_err(err, errlen, path, NULL, "missing required key '%s'",
                    gt_keys[i].key);
            goto out;
        }
        if (gt_keys[i].type == T_STR &&
            !*(char **)((char *)t + gt_keys[i].off)) {
            *(char **)((char *)t + gt_keys[i].off) = strdup("");
        }
    }
    if (t->block_size < 512 || t->drive_size_mb < 1) {
        set_err(err, errlen, path, NULL,
                "block_size must be >= 512 and drive_size_mb >= 1");
        goto out;
    }
    ok = true;
out:
    yaml_parser_delete(&p);
    fclose(f);
    if (!ok) {
        gt_free(t);
        return NULL;
    }
    return t;
}

GtTarget *gt_find(const char *dir, const char *name, char *err, size_t errlen)
{
    char path[4096];
    GtTarget *t;

    if (strchr(name, '/') || strstr(name, ".yaml")) {
        snprintf(path, sizeof(path), "%s", name);
    } else {
        snprintf(path, sizeof(path), "%s/%s.yaml", dir, name);
    }
    t = gt_load(path, err, errlen);
    if (t && !strchr(name, '/') && !strstr(name, ".yaml") &&
        strcmp(t->name, name)) {
        snprintf(err, errlen, "%s: the target is named '%s', not '%s'", path,
                 t->name, name);
        gt_free(t);
        return NULL;
    }
    return t;
}

bool gt_has_faults(const GtTarget *t)
{
    return t->fault_set[0] && t->fault_stats[0];
}

char *gt_expand(const char *tmpl, const char *const *vars, char *err,
                size_t errlen)
{
    size_t cap = strlen(tmpl) + 64, n = 0;
    char *out = malloc(cap);

    for (const char *s = tmpl; *s; ) {
        const char *val = NULL;
        char tmp[2] = { *s, 0 };

        if (s[0] == '{' && s[1] == '{') {
            val = "{";
            s += 2;
        } else if (s[0] == '{') {
            const char *e = strchr(s, '}');
            size_t klen;

            if (!e) {
                snprintf(err, errlen, "'%s': unterminated '{'", tmpl);
                free(out);
                return NULL;
            }
            klen = (size_t)(e - s - 1);
            for (const char *const *v = vars; v && v[0]; v += 2) {
                if (strlen(v[0]) == klen && !strncmp(v[0], s + 1, klen)) {
                    val = v[1];
                }
            }
            if (!val) {
                snprintf(err, errlen, "'%s': unknown placeholder {%.*s}", tmpl,
                         (int)klen, s + 1);
                free(out);
                return NULL;
            }
            s = e + 1;
        } else {
            val = tmp;
            s++;
        }
        size_t l = strlen(val);
        if (n + l + 1 > cap) {
            cap = (n + l + 1) * 2;
            out = realloc(out, cap);
        }
        memcpy(out + n, val, l);
        n += l;
    }
    out[n] = 0;
    return out;
}
