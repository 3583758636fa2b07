/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Gauntlet target descriptions (target.h): a YAML mapping of known keys,
 * loaded with libyaml's document API.
 */
#include "target.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

enum { T_STR, T_LONG, T_FILES, T_KMODS, T_TOOLS };

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
    KEY(fault_log, T_STR, false),
    KEY(fault_object, T_STR, false),
    KEY(root_port, T_STR, false),
    KEY(iommu, T_STR, false),
    KEY(fault_check, T_STR, false),
    KEY(surprise_rule, T_STR, false),
    KEY(integrity_lba, T_LONG, false),
    KEY(integrity_blocks, T_LONG, false),
    KEY(integrity_write, T_STR, false),
    KEY(integrity_verify, T_STR, false),
    KEY(integrity_host_verify, T_STR, false),
    KEY(kfault_module, T_STR, false),
    KEY(write_cache, T_STR, false),
    KEY(flush, T_STR, false),
    KEY(files, T_FILES, false),
    KEY(kmods, T_KMODS, false),
    KEY(tools, T_TOOLS, false),
};
#define NKEYS (sizeof(gt_keys) / sizeof(gt_keys[0]))

/* The YAML spelling of the list-valued keys. */
static const char *key_name(size_t i)
{
    switch (gt_keys[i].type) {
    case T_FILES: return "guest_files";
    case T_KMODS: return "guest_kmods";
    case T_TOOLS: return "host_tools";
    default: return gt_keys[i].key;
    }
}

typedef struct Ld {
    const char *file;
    char *err;
    size_t errlen;
    yaml_document_t *doc;
    const yaml_node_t *fault_object;    /* its value, for later checks */
} Ld;

static bool set_err(Ld *l, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool set_err(Ld *l, const yaml_node_t *n, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n) {
        snprintf(l->err, l->errlen, "%s:%zu:%zu: %s", l->file,
                 n->start_mark.line + 1, n->start_mark.column + 1, msg);
    } else {
        snprintf(l->err, l->errlen, "%s: %s", l->file, msg);
    }
    return false;
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s);

    if (!d) {
        abort();
    }
    return d;
}

static const char *kind_name(const yaml_node_t *n)
{
    return n->type == YAML_MAPPING_NODE ? "a mapping" :
           n->type == YAML_SEQUENCE_NODE ? "a list" : "a scalar";
}

static const char *scalar(Ld *l, const yaml_node_t *n, const char *what)
{
    if (n->type != YAML_SCALAR_NODE) {
        set_err(l, n, "'%s': found %s, expected a scalar", what, kind_name(n));
        return NULL;
    }
    return (const char *)n->data.scalar.value;
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
    for (size_t i = 0; i < t->nfiles; i++) {
        free(t->files[i].src);
        free(t->files[i].dest);
    }
    free(t->files);
    for (size_t i = 0; i < t->nkmods; i++) {
        free(t->kmods[i]);
    }
    free(t->kmods);
    for (size_t i = 0; i < t->ntools; i++) {
        free(t->tools[i].name);
        free(t->tools[i].path);
    }
    free(t->tools);
    free(t->file);
    free(t->dir);
    free(t);
}

/* guest_files: a list of {src: PATH, dest: /ABS/PATH, kernel: stock|debug} */
static bool load_files(Ld *l, GtTarget *t, yaml_node_t *v)
{
    yaml_node_item_t *it;

    if (v->type != YAML_SEQUENCE_NODE) {
        return set_err(l, v, "'guest_files': found %s, expected a list of "
                       "{src, dest} mappings", kind_name(v));
    }
    for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
        yaml_node_t *e = yaml_document_get_node(l->doc, *it);
        yaml_node_pair_t *p;
        GtFile f = { .kernel = GT_KERNEL_ANY };

        if (e->type != YAML_MAPPING_NODE) {
            return set_err(l, e, "'guest_files': found %s, expected a mapping "
                           "{src: HOST_PATH, dest: /GUEST/PATH}", kind_name(e));
        }
        f.line = (int)e->start_mark.line + 1;
        f.col = (int)e->start_mark.column + 1;
        t->files = realloc(t->files, (t->nfiles + 1) * sizeof(*t->files));
        if (!t->files) {
            abort();
        }
        t->files[t->nfiles++] = f;
        for (p = e->data.mapping.pairs.start; p < e->data.mapping.pairs.top; p++) {
            yaml_node_t *k = yaml_document_get_node(l->doc, p->key);
            yaml_node_t *x = yaml_document_get_node(l->doc, p->value);
            const char *ks = scalar(l, k, "guest_files"), *xs;
            GtFile *g = &t->files[t->nfiles - 1];

            if (!ks || !(xs = scalar(l, x, ks))) {
                return false;
            }
            if (!strcmp(ks, "src") && !g->src) {
                g->src = xstrdup(xs);
            } else if (!strcmp(ks, "dest") && !g->dest) {
                if (xs[0] != '/' || strstr(xs, "..") || xs[strlen(xs) - 1] == '/') {
                    return set_err(l, x, "'dest': found '%s', expected an absolute "
                                   "guest file path without '..'", xs);
                }
                g->dest = xstrdup(xs);
            } else if (!strcmp(ks, "kernel") && g->kernel == GT_KERNEL_ANY) {
                if (!strcmp(xs, "stock")) {
                    g->kernel = GT_KERNEL_STOCK;
                } else if (!strcmp(xs, "debug")) {
                    g->kernel = GT_KERNEL_DEBUG;
                } else {
                    return set_err(l, x, "'kernel': found '%s', expected stock "
                                   "or debug", xs);
                }
            } else {
                return set_err(l, k, "'guest_files': %s key '%s' (expected src, "
                               "dest, kernel)", strcmp(ks, "src") && strcmp(ks, "dest") &&
                               strcmp(ks, "kernel") ? "unknown" : "duplicate", ks);
            }
        }
        if (!t->files[t->nfiles - 1].src || !t->files[t->nfiles - 1].dest) {
            return set_err(l, e, "'guest_files': an entry needs both src and dest");
        }
    }
    return true;
}

static bool is_name(const char *s)
{
    if (!*s) {
        return false;
    }
    for (; *s; s++) {
        if (!(*s == '_' || *s == '-' || (*s >= 'a' && *s <= 'z') ||
              (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9'))) {
            return false;
        }
    }
    return true;
}

/* guest_kmods: a list of module names (or one name) */
static bool load_kmods(Ld *l, GtTarget *t, yaml_node_t *v)
{
    yaml_node_item_t *it;
    yaml_node_t *one[1] = { v };
    size_t n = 1;

    if (v->type == YAML_MAPPING_NODE) {
        return set_err(l, v, "'guest_kmods': found a mapping, expected a list "
                       "of module names");
    }
    if (v->type == YAML_SEQUENCE_NODE) {
        n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    }
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *e = one[0];
        const char *s;

        if (v->type == YAML_SEQUENCE_NODE) {
            it = v->data.sequence.items.start + i;
            e = yaml_document_get_node(l->doc, *it);
        }
        if (!(s = scalar(l, e, "guest_kmods"))) {
            return false;
        }
        if (!is_name(s)) {
            return set_err(l, e, "'guest_kmods': found '%s', expected a module "
                           "name", s);
        }
        t->kmods = realloc(t->kmods, (t->nkmods + 1) * sizeof(*t->kmods));
        if (!t->kmods) {
            abort();
        }
        t->kmods[t->nkmods++] = xstrdup(s);
    }
    return true;
}

/* host_tools: a mapping of NAME: PATH */
static bool load_tools(Ld *l, GtTarget *t, yaml_node_t *v)
{
    yaml_node_pair_t *p;

    if (v->type != YAML_MAPPING_NODE) {
        return set_err(l, v, "'host_tools': found %s, expected a mapping of "
                       "NAME: HOST_PATH", kind_name(v));
    }
    for (p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(l->doc, p->key);
        yaml_node_t *x = yaml_document_get_node(l->doc, p->value);
        const char *ks = scalar(l, k, "host_tools"), *xs;

        if (!ks || !(xs = scalar(l, x, ks))) {
            return false;
        }
        if (!is_name(ks)) {
            return set_err(l, k, "'host_tools': bad tool name '%s' (letters, "
                           "digits, '_' and '-')", ks);
        }
        for (size_t i = 0; i < t->ntools; i++) {
            if (!strcmp(t->tools[i].name, ks)) {
                return set_err(l, k, "'host_tools': duplicate tool '%s'", ks);
            }
        }
        t->tools = realloc(t->tools, (t->ntools + 1) * sizeof(*t->tools));
        if (!t->tools) {
            abort();
        }
        t->tools[t->ntools++] = (GtTool){
            xstrdup(ks), xstrdup(xs), (int)k->start_mark.line + 1,
            (int)k->start_mark.column + 1
        };
    }
    return true;
}

/* A QEMU type name as QEMU spells its own ("pcie-root-port"): put on the
 * command line before ",id=...", so nothing that could add an option. */
static bool is_type_name(const char *s)
{
    if (!*s) {
        return false;
    }
    for (; *s; s++) {
        if (!(*s == '-' || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9'))) {
            return false;
        }
    }
    return true;
}

/* The string keys whose values are one of a few words or a name. */
static bool check_str(Ld *l, const char *key, const yaml_node_t *v,
                      const char *vs)
{
    if (!strcmp(key, "fault_object") && strcmp(vs, "device") &&
        strcmp(vs, "port")) {
        return set_err(l, v, "'fault_object': found '%s', expected device or "
                       "port", vs);
    }
    if (!strcmp(key, "iommu") && strcmp(vs, "none") && strcmp(vs, "intel")) {
        return set_err(l, v, "'iommu': found '%s', expected none (no IOMMU, "
                       "the default) or intel (QEMU's intel-iommu)", vs);
    }
    if (!strcmp(key, "root_port") && !is_type_name(vs)) {
        return set_err(l, v, "'root_port': found '%s', expected a QEMU device "
                       "type name (lower-case letters, digits and '-', such "
                       "as pcie-root-port)", vs);
    }
    return true;
}

static bool load_map(Ld *l, GtTarget *t, yaml_node_t *root, bool *seen)
{
    yaml_node_pair_t *p;

    if (!root) {
        return set_err(l, NULL, "empty file, expected a mapping of target keys");
    }
    if (root->type != YAML_MAPPING_NODE) {
        return set_err(l, root, "found %s, expected a mapping of target keys",
                       kind_name(root));
    }
    for (p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(l->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(l->doc, p->value);
        const char *ks = scalar(l, k, "key"), *vs;
        int key = -1;

        if (!ks) {
            return false;
        }
        for (size_t i = 0; i < NKEYS; i++) {
            if (!strcmp(key_name(i), ks)) {
                key = (int)i;
            }
        }
        if (key < 0) {
            return set_err(l, k, "unknown key '%s' (see docs/targets.md)", ks);
        }
        if (seen[key]) {
            return set_err(l, k, "duplicate key '%s'", ks);
        }
        seen[key] = true;
        switch (gt_keys[key].type) {
        case T_FILES:
            if (!load_files(l, t, v)) {
                return false;
            }
            continue;
        case T_KMODS:
            if (!load_kmods(l, t, v)) {
                return false;
            }
            continue;
        case T_TOOLS:
            if (!load_tools(l, t, v)) {
                return false;
            }
            continue;
        default:
            break;
        }
        if (!(vs = scalar(l, v, ks))) {
            return false;
        }
        if (gt_keys[key].type == T_STR) {
            char **field = (char **)((char *)t + gt_keys[key].off);

            if (!check_str(l, ks, v, vs)) {
                return false;
            }
            if (!strcmp(ks, "fault_object")) {
                l->fault_object = v;
            }
            free(*field);       /* a default (gt_load) */
            *field = xstrdup(vs);
        } else {
            char *end;
            long n;

            errno = 0;
            n = strtol(vs, &end, 0);
            if (!*vs || *end || errno || n < 0) {
                return set_err(l, v, "'%s': found '%s', expected a non-negative "
                               "integer", ks, vs);
            }
            *(long *)((char *)t + gt_keys[key].off) = n;
        }
    }
    return true;
}

GtTarget *gt_load(const char *path, char *err, size_t errlen)
{
    yaml_parser_t p;
    yaml_document_t doc;
    GtTarget *t;
    FILE *f;
    bool seen[NKEYS] = { false }, ok = false;
    char file[4096], *slash;
    struct stat sb;
    Ld l = { .err = err, .errlen = errlen, .doc = &doc };

    if (!stat(path, &sb) && S_ISDIR(sb.st_mode)) {
        snprintf(file, sizeof(file), "%s/target.yaml", path);
    } else {
        snprintf(file, sizeof(file), "%s", path);
    }
    l.file = file;
    f = fopen(file, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", file, strerror(errno));
        return NULL;
    }
    t = calloc(1, sizeof(*t));
    if (!t) {
        abort();
    }
    t->file = xstrdup(file);
    t->dir = realpath(file, NULL);
    if (!t->dir) {
        t->dir = xstrdup(file);
    }
    slash = strrchr(t->dir, '/');
    if (slash) {
        *slash = 0;
    } else {
        free(t->dir);
        t->dir = xstrdup(".");
    }
    t->ready_timeout = 30;
    t->fault_object = xstrdup("device");
    t->root_port = xstrdup("pcie-root-port");
    t->iommu = xstrdup("none");
    yaml_parser_initialize(&p);
    yaml_parser_set_input_file(&p, f);
    if (!yaml_parser_load(&p, &doc)) {
        snprintf(err, errlen, "%s:%zu:%zu: YAML error: %s", file,
                 p.problem_mark.line + 1, p.problem_mark.column + 1,
                 p.problem ? p.problem : "?");
        yaml_parser_delete(&p);
        fclose(f);
        gt_free(t);
        return NULL;
    }
    if (!load_map(&l, t, yaml_document_get_root_node(&doc), seen)) {
        goto out;
    }
    for (size_t i = 0; i < NKEYS; i++) {
        if (gt_keys[i].required && !seen[i]) {
            set_err(&l, NULL, "missing required key '%s'", key_name(i));
            goto out;
        }
        if (gt_keys[i].type == T_STR &&
            !*(char **)((char *)t + gt_keys[i].off)) {
            *(char **)((char *)t + gt_keys[i].off) = xstrdup("");
        }
    }
    if (t->block_size < 512 || t->drive_size_mb < 1) {
        set_err(&l, NULL, "block_size must be >= 512 and drive_size_mb >= 1");
        goto out;
    }
    if (!is_name(t->name)) {
        set_err(&l, NULL, "bad name '%s' (letters, digits, '_' and '-')", t->name);
        goto out;
    }
    /* the port holds the faults of the device plugged into it: the device
     * must be plugged into its port */
    if (gt_faults_on_port(t) && !strstr(t->device, "{bus}")) {
        set_err(&l, l.fault_object, "'fault_object: port' puts the faults on "
                "the device's root port, but 'device' does not plug it into "
                "one (no {bus})");
        goto out;
    }
    ok = true;
out:
    yaml_document_delete(&doc);
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
    bool by_name = !strchr(name, '/') && !strstr(name, ".yaml");

    if (by_name) {
        snprintf(path, sizeof(path), "%s/%s/target.yaml", dir, name);
        if (access(path, F_OK)) {
            snprintf(err, errlen, "no target '%s' in %s (expected %s)", name, dir,
                     path);
            return NULL;
        }
    } else {
        snprintf(path, sizeof(path), "%s", name);
    }
    t = gt_load(path, err, errlen);
    if (t && by_name && strcmp(t->name, name)) {
        snprintf(err, errlen, "%s: the target is named '%s', not '%s'", t->file,
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

bool gt_faults_on_port(const GtTarget *t)
{
    return !strcmp(t->fault_object, "port");
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

char **gt_tool_vars(const GtTarget *t, const char *build,
                    const char *const *base, char *err, size_t errlen)
{
    size_t nb = 0, n = 0;
    char **v;
    const char *pv[] = { "target_dir", t->dir, build ? "build" : NULL, build, NULL };

    while (base && base[nb]) {
        nb += 2;
    }
    v = calloc(nb + 2 * t->ntools + 1, sizeof(*v));
    if (!v) {
        abort();
    }
    for (size_t i = 0; i < nb; i++) {
        v[n++] = xstrdup(base[i]);
    }
    for (size_t i = 0; i < t->ntools; i++) {
        char e[512], *p = gt_expand(t->tools[i].path, pv, e, sizeof(e));

        if (!p) {
            snprintf(err, errlen, "%s:%d:%d: host tool '%s': %s%s", t->file,
                     t->tools[i].line, t->tools[i].col, t->tools[i].name, e,
                     build ? "" : " (give the runner --build DIR, Gauntlet's "
                     "build folder)");
            gt_vars_free(v);
            return NULL;
        }
        v[n++] = xstrdup(t->tools[i].name);
        v[n++] = p;
    }
    return v;
}

void gt_vars_free(char **vars)
{
    for (size_t i = 0; vars && vars[i]; i++) {
        free(vars[i]);
    }
    free(vars);
}
