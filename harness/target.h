/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Gauntlet targets: what the harness knows about a device and its driver.
 *
 * A target is a folder of data (docs/targets.md): <dir>/target.yaml, the
 * description, beside whatever else the target needs (guest files, host
 * tools, its campaign vocabulary campaign.yaml).  The description is a
 * YAML mapping of documented keys; most are scalars, a few are lists or
 * mappings (guest_files, guest_kmods, host_tools).  The harness never
 * names a device itself.
 *
 * Values may hold {placeholders}, expanded by gt_expand() from a list of
 * name/value pairs; "{{" is a literal "{".
 */
#ifndef GAUNTLET_TARGET_H
#define GAUNTLET_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Which guest kernel a guest file is for. */
typedef enum GtKernel { GT_KERNEL_ANY = -1, GT_KERNEL_STOCK, GT_KERNEL_DEBUG } GtKernel;

/* A file the runner puts into the guest image: src (a host path template:
 * {target_dir} {build} {kernel} {kver}) at dest (absolute guest path). */
typedef struct GtFile {
    char *src, *dest;
    GtKernel kernel;
    int line, col;              /* of the entry in target.yaml */
} GtFile;

/* A host tool: name (a placeholder in host commands) and its path
 * (template: {target_dir} {build}). */
typedef struct GtTool {
    char *name, *path;
    int line, col;
} GtTool;

typedef struct GtTarget {
    char *file;                 /* .../target.yaml */
    char *dir;                  /* the target's folder */
    char *name, *description;
    char *device;               /* -device template: {id} {drive} {bus} */
    long drive_size_mb, block_size;
    char *module;
    char *load, *unload;        /* guest shell templates: {params} */
    char *ready;                /* guest command: device usable */
    long ready_timeout;         /* seconds */
    char *stats;                /* dir of driver counters ("" = none) */
    char *env_dev, *env_stress, *env_io_read;
    char *fault_set, *fault_add, *fault_stats, *device_stats;
    char *fault_log;            /* QOM property: the fault log ("" = none) */
    char *fault_object;         /* where the fault properties live: "device"
                                 * (default) or "port" (its root port) */
    char *root_port;            /* QEMU device type of rp1..rp4 */
    char *iommu;                /* the guest's IOMMU: "none" (default) or
                                 * "intel" (QEMU's intel-iommu) */
    char *fault_check;          /* host command: rule text on stdin */
    char *surprise_rule;
    long integrity_lba, integrity_blocks;
    char *integrity_write, *integrity_verify, *integrity_host_verify;
    char *kfault_module;
    char *write_cache;          /* device argument: volatile write cache on */
    char *flush;                /* guest command: the device's cache durable */
    GtFile *files;              /* guest_files */
    size_t nfiles;
    char **kmods;               /* guest_kmods: guest-kernel modules */
    size_t nkmods;
    GtTool *tools;              /* host_tools */
    size_t ntools;
} GtTarget;

/* Load a target description (a target.yaml, or a folder holding one).
 * NULL with "file:line:col: message" in err. */
GtTarget *gt_load(const char *path, char *err, size_t errlen);
/* Find target NAME in dir (dir/NAME/target.yaml) and load it; NAME may
 * also be a path to a target folder or a target.yaml. */
GtTarget *gt_find(const char *dir, const char *name, char *err, size_t errlen);
void gt_free(GtTarget *t);

bool gt_has_faults(const GtTarget *t);
/* The fault properties (fault_set, fault_add, fault_stats, fault_log) live
 * on the device's root port, not on the device (fault_object: port). */
bool gt_faults_on_port(const GtTarget *t);

/* Expand {name} placeholders: vars is NULL-terminated name, value, name,
 * value, ...  An unknown placeholder is an error (NULL, message in err).
 * Returns a malloc'd string. */
char *gt_expand(const char *tmpl, const char *const *vars, char *err,
                size_t errlen);

/* The host tools as placeholder pairs for gt_expand(), after the pairs in
 * base (NULL-terminated), each path expanded with {target_dir} and
 * {build}.  Returns a malloc'd NULL-terminated array whose strings are
 * owned by it (free with gt_vars_free), or NULL with a message in err. */
char **gt_tool_vars(const GtTarget *t, const char *build,
                    const char *const *base, char *err, size_t errlen);
void gt_vars_free(char **vars);

/* ---- host work for a target, before any VM (target_host.c) ------------ */

/* Run the target's fault_check command on one rule text.  0: accepted,
 * *nrules set; 1: refused, msg holds the checker's "column C: what";
 * -1: the checker itself failed (missing, crashed, timed out, said
 * nothing usable), msg says how.  A target without fault_check accepts
 * everything (0, *nrules = -1). */
int gt_check_rules(const GtTarget *t, const char *build, const char *text,
                   int *nrules, char *msg, size_t msglen);

/* FNV-1a 64 of n bytes, continuing from h (0xcbf29ce484222325 to start):
 * the content keys of composed images and of snapshots. */
uint64_t gt_fnv1a(const void *p, size_t n, uint64_t h);

/* Where guest images come from and go. */
typedef struct GtImageConfig {
    const char *base[2];        /* base image per kernel (GtKernel) */
    const char *kmod_dir[2];    /* the kernel's lib/modules/<release> */
    const char *kver[2];        /* its release ({kver}) */
    const char *mkinitramfs;    /* harness/guest/mkinitramfs.sh */
    const char *cache_dir;      /* composed images, by content key */
    const char *build;          /* {build} */
} GtImageConfig;

/* The guest image for target t on kernel k: the base image with an
 * overlay of the target's guest files and guest-kernel modules, made once
 * and cached under a key of everything that goes into it (the base, every
 * file's content, the modules).  Returns the image path (malloc'd), the
 * base itself when the target adds nothing, or NULL with a message. */
char *gt_image(const GtTarget *t, const GtImageConfig *c, GtKernel k,
               char *err, size_t errlen);

#endif /* GAUNTLET_TARGET_H */
