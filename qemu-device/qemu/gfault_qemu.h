/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fault engine (gfault.c) in a QEMU device: its QOM properties and its
 * migration state, the same for every device that has one.
 *
 * Properties (datasheet 10.6 for Kestrel, docs/fault-port.md for the port):
 *   faults        read/write: the rule set, in canonical text; setting it
 *                 replaces the set (all or nothing, positioned errors)
 *   fault-add     write-only: append rules
 *   fault-seed    the seed of rules installed from now on without seed=
 *   fault-stats   read-only: [{id, rule, hits, fired}]
 *   fault-log     read-only: [{seq, time-ns, id, rule, point, action,
 *                 detail}], the last GFAULT_LOG_LEN firings, oldest first
 * Before realize, faults and fault-add only keep the text; realize parses
 * it (gfault_qemu_realize) and a bad text fails realize.
 */
#ifndef GFAULT_QEMU_H
#define GFAULT_QEMU_H

#include "qom/object.h"
#include "migration/vmstate.h"
#include "gfault.h"

typedef struct GFaultQemu {
    GFaultEngine *engine;       /* the device's, wherever it lives */
    const char *what;           /* error prefix: "kestrel", "gauntlet-port" */
    bool realized;
    char *pending;              /* rules given before realize */
    uint64_t seed;
    /*
     * Called after every change of the rule set: replaced is true when a
     * new set replaced the old (faults, realize, a refused load), false
     * when rules were added or a migrated state loaded.
     */
    void (*changed)(void *opaque, bool replaced);
    void *opaque;

    /* Migration: the canonical text plus the run-time state of each rule. */
    uint8_t vm_text[GFAULT_TEXT_MAX];
    uint32_t vm_nrules;
    uint32_t vm_next_id;
    uint64_t vm_seed;
    uint64_t vm_units;
    uint32_t vm_rule_id[GFAULT_MAX_RULES];
    uint64_t vm_rule_hits[GFAULT_MAX_RULES];
    uint64_t vm_rule_fired[GFAULT_MAX_RULES];
    uint64_t vm_rule_rng[GFAULT_MAX_RULES];
    uint64_t vm_rule_units[GFAULT_MAX_RULES];
    uint64_t vm_rule_passed[GFAULT_MAX_RULES];
    uint32_t vm_rule_prob[GFAULT_MAX_RULES];
} GFaultQemu;

/*
 * Add the properties to obj (from instance_init).  engine must stay valid
 * for the object's life; it is initialised with vocab at realize.
 */
void gfault_qemu_init(GFaultQemu *q, Object *obj, GFaultEngine *engine,
                      const GFaultVocab *vocab, const char *what,
                      void (*changed)(void *opaque, bool replaced),
                      void *opaque);
/* Parse the rules given before realize; false (errp set) if they are bad. */
bool gfault_qemu_realize(GFaultQemu *q, Error **errp);
void gfault_qemu_finalize(GFaultQemu *q);
/* Replace the rule set from C code (tests, the device itself). */
int gfault_qemu_set(GFaultQemu *q, const char *text, Error **errp);

/*
 * The fault-stats and fault-log properties' values, for a device with its
 * own properties (Kestrel); e NULL: an empty list.
 */
void gfault_qemu_visit_stats(GFaultEngine *e, Visitor *v, const char *name,
                             Error **errp);
void gfault_qemu_visit_log(GFaultEngine *e, Visitor *v, const char *name,
                           Error **errp);

/* VMSTATE_STRUCT(field, State, 0, vmstate_gfault_qemu, GFaultQemu) */
extern const VMStateDescription vmstate_gfault_qemu;

#endif /* GFAULT_QEMU_H */
