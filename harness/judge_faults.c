/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Verdicts on what a scenario armed: faults-fired (device fault rules)
 * and kfault-fired (kernel fault injection).
 */
#define _GNU_SOURCE
#include "judge.h"

#include <stdlib.h>
#include <string.h>

#include "agent_proto.h"
#include "vm.h"
#include <json-c/json.h>

/* faults-fired: every declared device fault rule fired (unless the
 * scenario allows it not to); writes faults.json, every rule, its fire
 * count and its hits (the events it matched while armed). */
void gr_judge_faults_fired(Judge *j)
{
    Run *r = j->r;
    json_object *arr = json_object_new_array();
    char unfired[512] = "";
    size_t ul = 0;
    char path[4200];

    for (int i = 0; i < r->ndev; i++) {
        /* a reboot harvested them; a panicked or hung guest's QEMU is
         * still there to read (gvm_ended) */
        if (!r->vm_ended && r->vm && gvm_running(r->vm)) {
            gr_harvest(r, &r->dev[i], true);
        }
    }
    for (int k = 0; k < r->s->nrules; k++) {
        bool allowed = r->s->allow_unfired_all;
        json_object *o = json_object_new_object();

        for (size_t j = 0; j < r->s->nallow_unfired; j++) {
            allowed |= r->s->allow_unfired[j] == k;
        }
        json_object_object_add(o, "index", json_object_new_int(k));
        json_object_object_add(o, "rule", json_object_new_string(r->rule_text[k] ?
                                                                 r->rule_text[k] : ""));
        json_object_object_add(o, "fired", json_object_new_int64((int64_t)r->fired[k]));
        json_object_object_add(o, "hits", json_object_new_int64((int64_t)r->hits[k]));
        json_object_object_add(o, "allow_unfired", json_object_new_boolean(allowed));
        json_object_array_add(arr, o);
        if (!r->fired[k] && !allowed && ul < sizeof(unfired) - 80) {
            ul += (size_t)snprintf(unfired + ul, sizeof(unfired) - ul, "%s#%d '%s'",
                                   ul ? ", " : "", k, r->rule_text[k] ? r->rule_text[k] : "");
        }
    }
    snprintf(path, sizeof(path), "%s/faults.json", r->dir);
    json_object_to_file_ext(path, arr, JSON_C_TO_STRING_PRETTY);
    json_object_put(arr);
    if (!r->s->nrules) {
        gr_verdict(r, "faults-fired", GR_SKIP, "no fault rules declared");
    } else if (gr_vm_dead(r)) {
        gr_verdict(r, "faults-fired", GR_SKIP, "not judged: the VM died");
    } else if (ul) {
        gr_verdict(r, "faults-fired", GR_FAIL, "rule(s) never fired: %s", unfired);
    } else {
        gr_verdict(r, "faults-fired", GR_PASS, "every declared rule fired");
    }
}

/* Every kernel fault a scenario arms must have been injected, and at least
 * once with the target's module on the stack: a failure that only ever hit
 * the shell's fork or the module loader proves nothing about the driver.
 * The kernel reports each injection ("FAULT_INJECTION: forcing a failure.",
 * "name <dir>, ...", then the stack: verbose=2, rate-limited to 5/s). */
void gr_judge_kfault_fired(Judge *j)
{
    Run *r = j->r;
    const char *log = j->log;
    size_t len = j->len;

    if (!len) {
        return;     /* no console log: nothing to count (kernel-log says so) */
    }

    for (int i = 0; i < r->nkfault; i++) {
        const char *dir = r->kfault_dirs[i];
        const char *p = log + (r->kfault_from[i] < (long)len ? r->kfault_from[i] : (long)len);
        char name[96], mod[96];
        long hits = 0, in_mod = 0;

        snprintf(name, sizeof(name), "name %s,", dir);
        snprintf(mod, sizeof(mod), " [%s]", r->t->kfault_module ? r->t->kfault_module : "");
        static const char hdr[] = "FAULT_INJECTION: forcing a failure.";

        while ((p = strstr(p, hdr))) {
            const char *nl = strchr(p, '\n');
            const char *next, *end, *m;

            p += sizeof(hdr) - 1;
            if (!nl || !strstr(nl, name) || strstr(nl, name) > nl + 200) {
                continue;   /* another capability's report */
            }
            hits++;
            next = strstr(p, hdr);
            end = next ? next : log + len;
            /* this report's stack: up to the next report, at most 8 KiB
             * (far beyond any trace) */
            if (end - p > 8192) {
                end = p + 8192;
            }
            m = r->t->kfault_module ? strstr(p, mod) : NULL;
            in_mod += m && m < end;
        }
        if (!hits) {
            gr_verdict(r, "kfault-fired", GR_FAIL, "%s was armed but the kernel "
                        "reported no injected failure", dir);
        } else if (r->t->kfault_module && !in_mod) {
            gr_verdict(r, "kfault-fired", GR_FAIL, "%s: %ld failure(s) injected, "
                        "none with %s on the stack (they hit other code)", dir,
                        hits, r->t->kfault_module);
        } else {
            gr_verdict(r, "kfault-fired", GR_PASS, "%s: %ld failure(s) reported, "
                        "%ld in %s's code", dir, hits, in_mod,
                        r->t->kfault_module ? r->t->kfault_module : "the driver");
        }
    }
}

