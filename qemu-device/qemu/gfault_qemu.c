/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fault engine's QOM properties and migration state, for any device
 * (see gfault_qemu.h).
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/visitor.h"
#include "qemu/error-report.h"
#include "gfault_qemu.h"

static void gfault_qemu_changed(GFaultQemu *q, bool replaced)
{
    if (q->changed) {
        q->changed(q->opaque, replaced);
    }
}

int gfault_qemu_set(GFaultQemu *q, const char *text, Error **errp)
{
    char err[GFAULT_ERR_MAX];
    int n = gfault_set(q->engine, text, err, sizeof(err));

    if (n < 0) {
        error_setg(errp, "%s: bad fault rule: %s", q->what, err);
        return -1;
    }
    gfault_qemu_changed(q, true);
    return n;
}

static GFaultQemu *gfault_qemu_of(Object *obj, void *opaque)
{
    return opaque;
}

static char *gfault_qemu_text(GFaultQemu *q)
{
    char *text;

    if (!q->realized) {
        return g_strdup(q->pending ? q->pending : "");
    }
    text = g_malloc(GFAULT_TEXT_MAX);
    gfault_format(q->engine, text, GFAULT_TEXT_MAX);
    return text;
}

static void gfault_qemu_set_faults(Object *obj, Visitor *v, const char *name,
                                   void *opaque, Error **errp)
{
    GFaultQemu *q = gfault_qemu_of(obj, opaque);
    char *value;

    if (!visit_type_str(v, name, &value, errp)) {
        return;
    }
    if (!q->realized) {
        g_free(q->pending);
        q->pending = value;     /* parsed at realize */
        return;
    }
    gfault_qemu_set(q, value, errp);
    g_free(value);
}

static void gfault_qemu_get_faults_v(Object *obj, Visitor *v,
                                     const char *name, void *opaque,
                                     Error **errp)
{
    char *text = gfault_qemu_text(gfault_qemu_of(obj, opaque));

    visit_type_str(v, name, &text, errp);
    g_free(text);
}

static void gfault_qemu_add(Object *obj, Visitor *v, const char *name,
                            void *opaque, Error **errp)
{
    GFaultQemu *q = gfault_qemu_of(obj, opaque);
    char err[GFAULT_ERR_MAX];
    char *value;

    if (!visit_type_str(v, name, &value, errp)) {
        return;
    }
    if (!q->realized) {
        char *all = q->pending && *q->pending ?
                    g_strdup_printf("%s;%s", q->pending, value) :
                    g_strdup(value);

        g_free(q->pending);
        q->pending = all;
    } else if (gfault_add(q->engine, value, err, sizeof(err)) < 0) {
        error_setg(errp, "%s: bad fault rule: %s", q->what, err);
    } else {
        gfault_qemu_changed(q, false);
    }
    g_free(value);
}

static void gfault_qemu_get_seed(Object *obj, Visitor *v, const char *name,
                                 void *opaque, Error **errp)
{
    GFaultQemu *q = gfault_qemu_of(obj, opaque);

    visit_type_uint64(v, name, &q->seed, errp);
}

static void gfault_qemu_set_seed(Object *obj, Visitor *v, const char *name,
                                 void *opaque, Error **errp)
{
    GFaultQemu *q = gfault_qemu_of(obj, opaque);
    uint64_t seed;

    if (!visit_type_uint64(v, name, &seed, errp)) {
        return;
    }
    q->seed = seed;
    q->engine->seed = seed;     /* rules installed from now on */
}

void gfault_qemu_visit_stats(GFaultEngine *e, Visitor *v, const char *name,
                             Error **errp)
{
    unsigned i;

    if (!visit_start_list(v, name, NULL, 0, errp)) {
        return;
    }
    for (i = 0; e && i < e->nrules; i++) {
        GFaultRule *r = &e->rules[i];
        char *text = r->text;
        uint32_t id = r->id;
        uint64_t hits = r->hits, fired = r->fired;

        if (!visit_start_struct(v, NULL, NULL, 0, errp)) {
            return;
        }
        if (visit_type_uint32(v, "id", &id, errp) &&
            visit_type_str(v, "rule", &text, errp) &&
            visit_type_uint64(v, "hits", &hits, errp) &&
            visit_type_uint64(v, "fired", &fired, errp)) {
            visit_check_struct(v, errp);
        }
        visit_end_struct(v, NULL);
    }
    visit_end_list(v, NULL);
}

static void gfault_qemu_get_stats(Object *obj, Visitor *v, const char *name,
                                  void *opaque, Error **errp)
{
    GFaultQemu *q = gfault_qemu_of(obj, opaque);

    gfault_qemu_visit_stats(q->realized ? q->engine : NULL, v, name, errp);
}

void gfault_qemu_visit_log(GFaultEngine *e, Visitor *v, const char *name,
                           Error **errp)
{
    uint64_t i, n = gfault_log_count(e);

    if (!visit_start_list(v, name, NULL, 0, errp)) {
        return;
    }
    for (i = 0; i < n; i++) {
        const GFaultLogEntry *l = gfault_log_entry(e, i);
        uint64_t seq = l->seq, t = l->time_ns;
        uint32_t id = l->rule_id;
        char *rule = (char *)l->rule, *detail = (char *)l->detail;
        char *point = (char *)gfault_point_name(e->vocab, l->point);
        char *action = (char *)gfault_action_name(e->vocab, l->action);

        if (!visit_start_struct(v, NULL, NULL, 0, errp)) {
            return;
        }
        if (visit_type_uint64(v, "seq", &seq, errp) &&
            visit_type_uint64(v, "time-ns", &t, errp) &&
            visit_type_uint32(v, "id", &id, errp) &&
            visit_type_str(v, "rule", &rule, errp) &&
            visit_type_str(v, "point", &point, errp) &&
            visit_type_str(v, "action", &action, errp) &&
            visit_type_str(v, "detail", &detail, errp)) {
            visit_check_struct(v, errp);
        }
        visit_end_struct(v, NULL);
    }
    visit_end_list(v, NULL);
}

static void gfault_qemu_get_log(Object *obj, Visitor *v, const char *name,
                                void *opaque, Error **errp)
{
    GFaultQemu *q = gfault_qemu_of(obj, opaque);

    gfault_qemu_visit_log(q->engine, v, name, errp);
}

void gfault_qemu_init(GFaultQemu *q, Object *obj, GFaultEngine *engine,
                      const GFaultVocab *vocab, const char *what,
                      void (*changed)(void *opaque, bool replaced),
                      void *opaque)
{
    q->engine = engine;
    q->what = what;
    q->changed = changed;
    q->opaque = opaque;
    gfault_init(engine, vocab, 0);
    object_property_add(obj, "faults", "str", gfault_qemu_get_faults_v,
                        gfault_qemu_set_faults, NULL, q);
    object_property_add(obj, "fault-add", "str", NULL, gfault_qemu_add,
                        NULL, q);
    object_property_add(obj, "fault-seed", "uint64", gfault_qemu_get_seed,
                        gfault_qemu_set_seed, NULL, q);
    object_property_add(obj, "fault-stats", "GauntletFaultStats",
                        gfault_qemu_get_stats, NULL, NULL, q);
    object_property_add(obj, "fault-log", "GauntletFaultLog",
                        gfault_qemu_get_log, NULL, NULL, q);
}

bool gfault_qemu_realize(GFaultQemu *q, Error **errp)
{
    char err[GFAULT_ERR_MAX];

    q->engine->seed = q->seed;
    if (q->pending && gfault_set(q->engine, q->pending, err,
                                 sizeof(err)) < 0) {
        error_setg(errp, "%s: faults: %s", q->what, err);
        return false;
    }
    q->realized = true;
    gfault_qemu_changed(q, true);
    return true;
}

void gfault_qemu_finalize(GFaultQemu *q)
{
    g_free(q->pending);
    q->pending = NULL;
}

/* ---- migration ------------------------------------------------------- */

static int gfault_qemu_pre_save(void *opaque)
{
    GFaultQemu *q = opaque;
    GFaultEngine *e = q->engine;
    unsigned i;

    memset(q->vm_text, 0, sizeof(q->vm_text));
    gfault_format(e, (char *)q->vm_text, sizeof(q->vm_text));
    q->vm_nrules = e->nrules;
    q->vm_next_id = e->next_id;
    q->vm_seed = e->seed;
    q->vm_units = e->units;
    for (i = 0; i < e->nrules; i++) {
        q->vm_rule_id[i] = e->rules[i].id;
        q->vm_rule_hits[i] = e->rules[i].hits;
        q->vm_rule_fired[i] = e->rules[i].fired;
        q->vm_rule_rng[i] = e->rules[i].rng;
        q->vm_rule_units[i] = e->rules[i].units_at_install;
        q->vm_rule_passed[i] = e->rules[i].passed;
        q->vm_rule_prob[i] = e->rules[i].prob;
    }
    return 0;
}

static int gfault_qemu_post_load(void *opaque, int version_id)
{
    GFaultQemu *q = opaque;
    GFaultEngine *e = q->engine;
    char err[GFAULT_ERR_MAX] = "";
    unsigned i;

    q->vm_text[sizeof(q->vm_text) - 1] = '\0';
    if (q->vm_nrules > GFAULT_MAX_RULES ||
        gfault_set(e, (char *)q->vm_text, err, sizeof(err)) < 0 ||
        e->nrules != q->vm_nrules) {
        error_report("%s: migrated fault rules refused (%u rules saved)%s%s",
                     q->what, q->vm_nrules, *err ? ": " : "", err);
        gfault_clear(e);
        gfault_qemu_changed(q, true);
        return -EINVAL;
    }
    e->next_id = q->vm_next_id;
    e->seed = q->vm_seed;
    e->units = q->vm_units;
    for (i = 0; i < e->nrules; i++) {
        GFaultRule *r = &e->rules[i];

        r->id = q->vm_rule_id[i];
        r->hits = q->vm_rule_hits[i];
        r->fired = q->vm_rule_fired[i];
        r->rng = q->vm_rule_rng[i];
        r->units_at_install = q->vm_rule_units[i];
        r->passed = q->vm_rule_passed[i];
        if (r->prob && q->vm_rule_prob[i]) {
            /* the text has 6 digits; the rule fires on the exact value */
            r->prob = q->vm_rule_prob[i];
        }
    }
    if (gfault_post_load(e) < 0) {
        error_report("%s: migrated fault rule state refused", q->what);
        gfault_clear(e);
        gfault_qemu_changed(q, true);
        return -EINVAL;
    }
    gfault_qemu_changed(q, false);
    return 0;
}

const VMStateDescription vmstate_gfault_qemu = {
    .name = "gauntlet-faults",
    .version_id = 1,
    .minimum_version_id = 1,
    .pre_save = gfault_qemu_pre_save,
    .post_load = gfault_qemu_post_load,
    .fields = (VMStateField[]) {
        VMSTATE_UINT8_ARRAY(vm_text, GFaultQemu, GFAULT_TEXT_MAX),
        VMSTATE_UINT32(vm_nrules, GFaultQemu),
        VMSTATE_UINT32(vm_next_id, GFaultQemu),
        VMSTATE_UINT64(vm_seed, GFaultQemu),
        VMSTATE_UINT64(vm_units, GFaultQemu),
        VMSTATE_UINT32_ARRAY(vm_rule_id, GFaultQemu, GFAULT_MAX_RULES),
        VMSTATE_UINT64_ARRAY(vm_rule_hits, GFaultQemu, GFAULT_MAX_RULES),
        VMSTATE_UINT64_ARRAY(vm_rule_fired, GFaultQemu, GFAULT_MAX_RULES),
        VMSTATE_UINT64_ARRAY(vm_rule_rng, GFaultQemu, GFAULT_MAX_RULES),
        VMSTATE_UINT64_ARRAY(vm_rule_units, GFaultQemu, GFAULT_MAX_RULES),
        VMSTATE_UINT64_ARRAY(vm_rule_passed, GFaultQemu, GFAULT_MAX_RULES),
        VMSTATE_UINT32_ARRAY(vm_rule_prob, GFaultQemu, GFAULT_MAX_RULES),
        VMSTATE_END_OF_LIST()
    }
};
