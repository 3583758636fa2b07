/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Gauntlet targets: what the harness knows about a device and its driver.
 * A target is a flat YAML mapping of documented keys (docs/targets.md,
 * harness/targets/NAME.yaml); the harness never names a device itself.
 *
 * Values may hold {placeholders}, expanded by gt_expand() from a list of
 * name/value pairs; "{{" is a literal "{".
 */
#ifndef GAUNTLET_TARGET_H
#define GAUNTLET_TARGET_H

#include <stdbool.h>
#include <stddef.h>

typedef struct GtTarget {
    char *file;
    char *name, *description;
    char *device;               /* -device template: {id} {drive} {bus} */
    long drive_size_mb, block_size;
    char *module, *guest_kmods;
    char *load, *unload;        /* guest shell templates: {params} */
    char *ready;                /* guest command: device usable */
    long ready_timeout;         /* seconds */
    char *stats;                /* dir of driver counters ("" = none) */
    char *env_dev, *env_stress, *env_io_read;
    char *fault_set, *fault_add, *fault_stats, *device_stats;
    char *surprise_rule;
    long integrity_lba, integrity_blocks;
    char *integrity_write, *integrity_verify, *integrity_host_verify;
    char *kfault_module;
} GtTarget;

/* Load a target file.  NULL with "file:line:col: message" in err. */
GtTarget *gt_load(const char *path, char *err, size_t errlen);
/* Find NAME.yaml in dir and load it. */
GtTarget *gt_find(const char *dir, const char *name, char *err, size_t errlen);
void gt_free(GtTarget *t);

bool gt_has_faults(const GtTarget *t);

/* Expand {name} placeholders: vars is NULL-terminated name, value, name,
 * value, ...  An unknown placeholder is an error (NULL, message in err).
 * Returns a malloc'd string. */
char *gt_expand(const char *tmpl, const char *const *vars, char *err,
                size_t errlen);

#endif /* GAUNTLET_TARGET_H */
