/*
 * Kestrel: Gauntlet's reference PCIe storage controller, QEMU glue.
 *
 * Copyright (c) 2026 The Gauntlet authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The register interface, rings and fault engine live in kestrel_core.c
 * and kestrel_fault.c, which also build outside QEMU; this file connects
 * them to QOM, PCI, the block layer, timers and migration.  The hardware
 * contract is docs/kestrel-datasheet.md in the Gauntlet tree.
 *
 * Usage
 * -----
 *   -drive file=disk.img,if=none,format=raw,id=d0
 *   -device kestrel,drive=d0[,id=k0][,property=value...]
 *
 * Properties:
 *   drive=<id>            Block backend holding the blocks (required).  Its
 *                         size, rounded down to whole blocks, is the
 *                         capacity (at least one block).
 *   block-size=<n>        Block size in bytes, 512 or 4096.  Default 512.
 *   queue-depth=<n>       CAP_QDEPTH, maximum entries per queue, 2..1024.
 *                         Default 256.
 *   max-segments=<n>      CAP_MAXSEG, data segments per command, 1..1024.
 *                         Default 256.
 *   ready-delay-us=<n>    Virtual time from CTRL.EN=1 to STATUS.RDY=1.
 *                         Default 1000.
 *   reset-delay-us=<n>    Virtual time a controller reset takes.  Default 0
 *                         (the reset completes within the register write).
 *   timeout-ms=<n>        CAP_TIMEOUT_MS, the worst-case ready time the
 *                         device promises.  Default 2000.
 *   serial=<str>          IDENTIFY serial number (20 characters at most).
 *                         Default "KESTREL0001".
 *   msix=on|off           Offer MSI-X (2 vectors).  Default on.
 *   msi=on|off            Offer MSI (2 vectors).  Default on.  With both
 *                         off the device interrupts through INTx only.
 *   write-cache=on|off    Volatile write cache (datasheet 6.9): a WRITE
 *                         completes into device memory and reaches the
 *                         drive only at write-back or FLUSH; power loss
 *                         (system reset, S3, unplug, a "powercut" fault,
 *                         QEMU killed) loses it.  IDENTIFY and
 *                         CAP_FEATURES advertise it.  Default off.
 *   write-cache-blocks=<n> Its capacity in blocks, 16..65536 and at most
 *                         64 MiB.  Default 4096.
 *   faults=<rules>        Fault rules, see the datasheet's grammar, e.g.
 *                         "cq.post:corrupt(tag=0xffff):nth=3".  Settable at
 *                         run time: qom-set replaces the whole rule set; a
 *                         bad rule is an error and changes nothing.
 *   fault-add=<rules>     Write-only: append rules to the set.
 *   fault-seed=<n>        Seed of rules that have no seed= trigger.
 *                         Default 0.
 *   fault-stats           Read-only: a list of {id, rule, hits, fired}.
 *   stats                 Read-only: device counters {commands,
 *                         completions, interrupts, errors, faults-fired,
 *                         status, write-cache, cache-blocks, cached-writes,
 *                         write-through, cache-writebacks, flushes,
 *                         flush-lies, cache-lost, power-cut}.
 *
 * Lifecycle (datasheet 12.1): the command engine runs only while the VM
 * runs and the backend is not drained (a vm change state handler and
 * BlockDevOps); unplug stops it before draining; pre_save refuses backend
 * I/O in flight; post_load refuses a state the device could not have
 * produced (kestrel_core_post_load) and resets the device instead.
 */

#include "qemu/osdep.h"
#include "qemu/cutils.h"
#include "qemu/error-report.h"
#include "qemu/log.h"
#include "qemu/module.h"
#include "qemu/main-loop.h"
#include "qemu/timer.h"
#include "qemu/range.h"
#include "qapi/error.h"
#include "qapi/visitor.h"
#include "hw/pci/pci.h"
#include "hw/pci/pcie.h"
#include "hw/pci/msi.h"
#include "hw/pci/msix.h"
#include "hw/qdev-properties.h"
#include "hw/qdev-properties-system.h"
#include "migration/qemu-file-types.h"
#include "migration/vmstate.h"
#include "sysemu/block-backend.h"
#include "sysemu/dma.h"
#include "gfault_qemu.h"
#include "sysemu/runstate.h"
#include "qom/object.h"

#include "kestrel_core.h"

#define TYPE_KESTREL "kestrel"
OBJECT_DECLARE_SIMPLE_TYPE(KestrelState, KESTREL)

#define KESTREL_PM_CAP_OFFSET   0x40
#define KESTREL_MSI_CAP_OFFSET  0x50
#define KESTREL_PCIE_CAP_OFFSET 0x80

typedef struct KestrelIo {
    KestrelState *s;
    KestrelCmd *cmd;
    QEMUIOVector qiov;
} KestrelIo;

struct KestrelState {
    PCIDevice parent_obj;

    MemoryRegion mmio;
    QEMUTimer *timer;
    QEMUBH *bh;
    VMChangeStateEntry *vmstate_change;
    bool realized;          /* the core exists: rules go straight to it */
    KestrelCore core;
    KestrelIo io[KESTREL_MAX_QDEPTH];
    KestrelIo wb_io;        /* the write cache's write-back */

    /* Properties */
    BlockBackend *blk;
    uint32_t block_size;
    uint32_t queue_depth;
    uint32_t max_segments;
    uint32_t ready_delay_us;
    uint32_t reset_delay_us;
    uint32_t timeout_ms;
    char *serial;
    bool msix;
    bool msi;
    bool write_cache;
    uint32_t write_cache_blocks;
    char *faults;           /* rules given before realize */
    uint64_t fault_seed;

    /* Migration of the fault engine: text plus per-rule state. */
    uint8_t vm_faults[KESTREL_FAULT_TEXT_MAX];  /* NUL-terminated text */
    uint32_t vm_nrules;
    uint32_t vm_rule_id[KESTREL_FAULT_MAX_RULES];
    uint64_t vm_rule_hits[KESTREL_FAULT_MAX_RULES];
    uint64_t vm_rule_fired[KESTREL_FAULT_MAX_RULES];
    uint64_t vm_rule_rng[KESTREL_FAULT_MAX_RULES];
    uint64_t vm_rule_cmds[KESTREL_FAULT_MAX_RULES];
    uint32_t vm_rule_prob[KESTREL_FAULT_MAX_RULES];     /* version 2 */
};

/* ---- environment callbacks of the core ------------------------------- */

static int kestrel_dma_read(void *opaque, uint64_t addr, void *buf,
                            size_t len)
{
    KestrelState *s = opaque;

    return pci_dma_read(&s->parent_obj, addr, buf, len) == MEMTX_OK ? 0 : -1;
}

static int kestrel_dma_write(void *opaque, uint64_t addr, const void *buf,
                             size_t len)
{
    KestrelState *s = opaque;

    return pci_dma_write(&s->parent_obj, addr, buf, len) == MEMTX_OK ? 0 : -1;
}

static void kestrel_irq_notify(void *opaque, unsigned vector)
{
    KestrelState *s = opaque;
    PCIDevice *pdev = &s->parent_obj;

    if (msix_enabled(pdev)) {
        msix_notify(pdev, vector);
    } else if (msi_enabled(pdev)) {
        msi_notify(pdev, MIN(vector, msi_nr_vectors_allocated(pdev) - 1));
    }
}

static void kestrel_irq_level(void *opaque, bool level)
{
    KestrelState *s = opaque;
    PCIDevice *pdev = &s->parent_obj;

    pci_set_irq(pdev, level && !msix_enabled(pdev) && !msi_enabled(pdev));
}

static int64_t kestrel_now_ns(void *opaque)
{
    return qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
}

static void kestrel_timer_mod(void *opaque, int64_t deadline)
{
    KestrelState *s = opaque;

    if (deadline == KESTREL_NO_DEADLINE) {
        timer_del(s->timer);
    } else {
        timer_mod(s->timer, deadline);
    }
}

static void kestrel_kick(void *opaque)
{
    KestrelState *s = opaque;

    qemu_bh_schedule(s->bh);
}

static void kestrel_io_cb(void *opaque, int ret)
{
    KestrelIo *io = opaque;

    qemu_iovec_destroy(&io->qiov);
    kestrel_core_io_done(&io->s->core, io->cmd, ret);
}

static void kestrel_blk_io(void *opaque, KestrelCmd *cmd, KestrelIoKind kind,
                           uint64_t offset, void *buf, size_t len)
{
    KestrelState *s = opaque;
    KestrelIo *io = cmd == &s->core.wb ? &s->wb_io
                                       : &s->io[cmd - s->core.cmds];

    io->s = s;
    io->cmd = cmd;
    qemu_iovec_init(&io->qiov, 1);
    switch (kind) {
    case KESTREL_IO_READ:
        qemu_iovec_add(&io->qiov, buf, len);
        blk_aio_preadv(s->blk, offset, &io->qiov, 0, kestrel_io_cb, io);
        break;
    case KESTREL_IO_WRITE:
        qemu_iovec_add(&io->qiov, buf, len);
        blk_aio_pwritev(s->blk, offset, &io->qiov, 0, kestrel_io_cb, io);
        break;
    case KESTREL_IO_FLUSH:
        blk_aio_flush(s->blk, kestrel_io_cb, io);
        break;
    }
}

/*
 * A "powercut" fault: the device is dead already; the machine stops as
 * soon as the main loop sees the request (a STOP event, run state
 * "shutdown": only a system reset brings it back, as with power).  This
 * may run in a vCPU thread (a register access), hence the request.
 */
static void kestrel_power_cut_cb(void *opaque)
{
    qemu_system_vmstop_request_prepare();
    qemu_system_vmstop_request(RUN_STATE_SHUTDOWN);
}

static const KestrelCoreOps kestrel_ops = {
    .dma_read = kestrel_dma_read,
    .dma_write = kestrel_dma_write,
    .irq_notify = kestrel_irq_notify,
    .irq_level = kestrel_irq_level,
    .now_ns = kestrel_now_ns,
    .timer_mod = kestrel_timer_mod,
    .kick = kestrel_kick,
    .blk_io = kestrel_blk_io,
    .power_cut = kestrel_power_cut_cb,
};

static void kestrel_timer_cb(void *opaque)
{
    KestrelState *s = opaque;

    kestrel_core_timer(&s->core);
}

static void kestrel_bh(void *opaque)
{
    KestrelState *s = opaque;

    kestrel_core_process(&s->core);
}

/*
 * The command engine runs only while the VM runs and the backend is not
 * drained: a stopped VM (stop, migration, snapshot) sees no new command
 * fetched and no completion posted, and a drain is not undone by the
 * engine starting new backend I/O inside it.  I/O already started still
 * completes; its completion waits in pending[] and is saved with the VM.
 */
static void kestrel_drained_begin(void *opaque)
{
    KestrelState *s = opaque;

    kestrel_core_pause(&s->core, KESTREL_PAUSE_DRAIN);
}

static void kestrel_drained_end(void *opaque)
{
    KestrelState *s = opaque;

    kestrel_core_resume(&s->core, KESTREL_PAUSE_DRAIN);
}

static const BlockDevOps kestrel_block_ops = {
    .drained_begin = kestrel_drained_begin,
    .drained_end = kestrel_drained_end,
};

static void kestrel_vm_state_change(void *opaque, bool running,
                                    RunState state)
{
    KestrelState *s = opaque;

    if (running) {
        kestrel_core_resume(&s->core, KESTREL_PAUSE_VM);
    } else {
        kestrel_core_pause(&s->core, KESTREL_PAUSE_VM);
    }
}

/* ---- BAR0 ------------------------------------------------------------ */

static uint64_t kestrel_mmio_read(void *opaque, hwaddr addr, unsigned size)
{
    KestrelState *s = opaque;

    return kestrel_core_mmio_read(&s->core, addr);
}

static void kestrel_mmio_write(void *opaque, hwaddr addr, uint64_t val,
                               unsigned size)
{
    KestrelState *s = opaque;

    kestrel_core_mmio_write(&s->core, addr, (uint32_t)val);
}

static const MemoryRegionOps kestrel_mmio_ops = {
    .read = kestrel_mmio_read,
    .write = kestrel_mmio_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    /* 64-bit accesses are split into two 32-bit ones, low half first. */
    .valid = {
        .min_access_size = 4,
        .max_access_size = 8,
        .unaligned = false,
    },
    .impl = {
        .min_access_size = 4,
        .max_access_size = 4,
    },
};

/* ---- PCI ------------------------------------------------------------- */

static void kestrel_write_config(PCIDevice *pdev, uint32_t addr, uint32_t val,
                                 int len)
{
    KestrelState *s = KESTREL(pdev);
    uint32_t pmcsr = KESTREL_PM_CAP_OFFSET + PCI_PM_CTRL;

    uint16_t old = pci_get_word(pdev->config + pmcsr);
    uint16_t state;

    pci_default_write_config(pdev, addr, val, len);
    if (!ranges_overlap(addr, len, pmcsr, 2)) {
        return;
    }
    state = pci_get_word(pdev->config + pmcsr) & PCI_PM_CTRL_STATE_MASK;
    if (state == 1 || state == 2) {
        /* D1 and D2 are not advertised: the write is ignored (PCI PM). */
        qemu_log_mask(LOG_GUEST_ERROR, "kestrel: PMCSR D%u unsupported\n",
                      state);
        pci_set_word(pdev->config + pmcsr, old);
        return;
    }
    kestrel_core_set_power(&s->core, state);
}

static void kestrel_add_pm_capability(PCIDevice *pdev, Error **errp)
{
    uint8_t off = KESTREL_PM_CAP_OFFSET;

    if (pci_add_capability(pdev, PCI_CAP_ID_PM, off, PCI_PM_SIZEOF,
                           errp) < 0) {
        return;
    }
    /* D0 and D3hot only; No_Soft_Reset clear: D3hot loses device state. */
    pci_set_word(pdev->config + off + PCI_PM_PMC, PCI_PM_CAP_VER_1_2);
    pci_set_word(pdev->config + off + PCI_PM_CTRL, 0);
    pci_set_word(pdev->wmask + off + PCI_PM_CTRL, PCI_PM_CTRL_STATE_MASK);
}

static void kestrel_free_env(KestrelState *s)
{
    if (s->vmstate_change) {
        qemu_del_vm_change_state_handler(s->vmstate_change);
        s->vmstate_change = NULL;
    }
    if (s->timer) {
        timer_free(s->timer);
        s->timer = NULL;
    }
    if (s->bh) {
        qemu_bh_delete(s->bh);
        s->bh = NULL;
    }
}

static bool kestrel_init_core(KestrelState *s, Error **errp)
{
    KestrelConfig cfg = { 0 };
    char err[KESTREL_FAULT_ERR_MAX];
    int64_t len;

    if (!s->blk) {
        error_setg(errp, "kestrel: drive property not set");
        return false;
    }
    if (blk_set_perm(s->blk, BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE,
                     BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE_UNCHANGED,
                     errp) < 0) {
        return false;
    }
    len = blk_getlength(s->blk);
    if (len < 0) {
        error_setg_errno(errp, -len, "kestrel: cannot get drive size");
        return false;
    }
    if (s->serial && strlen(s->serial) >= sizeof(cfg.serial)) {
        error_setg(errp, "kestrel: serial is longer than %zu characters",
                   sizeof(cfg.serial) - 1);
        return false;
    }
    cfg.queue_depth = s->queue_depth;
    cfg.block_size = s->block_size;
    cfg.max_segments = s->max_segments;
    cfg.ready_delay_us = s->ready_delay_us;
    cfg.reset_delay_us = s->reset_delay_us;
    cfg.timeout_ms = s->timeout_ms;
    cfg.write_cache = s->write_cache;
    cfg.cache_blocks = s->write_cache_blocks;
    cfg.capacity_blocks = s->block_size ? len / s->block_size : 0;
    pstrcpy(cfg.serial, sizeof(cfg.serial),
            s->serial ? s->serial : "KESTREL0001");
    if (kestrel_core_init(&s->core, &cfg, &kestrel_ops, s, err,
                          sizeof(err)) < 0) {
        error_setg(errp, "kestrel: %s", err);
        return false;
    }
    if (!cfg.capacity_blocks) {
        error_setg(errp, "kestrel: drive is smaller than one %u-byte block",
                   s->block_size);
        return false;
    }
    s->core.faults.seed = s->fault_seed;
    if (s->faults && kestrel_core_set_faults(&s->core, s->faults, err,
                                             sizeof(err)) < 0) {
        error_setg(errp, "kestrel: faults: %s", err);
        return false;
    }
    return true;
}

static void kestrel_realize(PCIDevice *pdev, Error **errp)
{
    KestrelState *s = KESTREL(pdev);
    unsigned i;

    pci_config_set_vendor_id(pdev->config, KESTREL_PCI_VENDOR_ID);
    pci_config_set_device_id(pdev->config, KESTREL_PCI_DEVICE_ID);
    pci_config_set_revision(pdev->config, KESTREL_PCI_REVISION);
    pci_config_set_class(pdev->config, KESTREL_PCI_CLASS >> 8);
    pci_config_set_interrupt_pin(pdev->config, 1);

    /* The core calls back into these from kestrel_core_init() on. */
    s->timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, kestrel_timer_cb, s);
    s->bh = qemu_bh_new_guarded(kestrel_bh, s,
                                &DEVICE(pdev)->mem_reentrancy_guard);
    if (!kestrel_init_core(s, errp)) {
        goto fail;
    }
    if (!runstate_is_running()) {
        kestrel_core_pause(&s->core, KESTREL_PAUSE_VM);
    }
    s->vmstate_change = qemu_add_vm_change_state_handler(
                            kestrel_vm_state_change, s);
    blk_set_dev_ops(s->blk, &kestrel_block_ops, s);

    memory_region_init_io(&s->mmio, OBJECT(s), &kestrel_mmio_ops, s,
                          "kestrel-regs", KESTREL_BAR_REGS_SIZE);
    pci_register_bar(pdev, KESTREL_BAR_REGS, PCI_BASE_ADDRESS_SPACE_MEMORY |
                     PCI_BASE_ADDRESS_MEM_TYPE_64, &s->mmio);

    kestrel_add_pm_capability(pdev, errp);
    if (*errp) {
        goto fail;
    }
    if (s->msi && msi_init(pdev, KESTREL_MSI_CAP_OFFSET, KESTREL_NVEC, true,
                           false, errp) < 0) {
        goto fail;
    }
    if (pcie_endpoint_cap_init(pdev, KESTREL_PCIE_CAP_OFFSET) < 0) {
        error_setg(errp, "kestrel: cannot add the PCIe capability");
        goto fail;
    }
    if (s->msix) {
        if (msix_init_exclusive_bar(pdev, KESTREL_NVEC, KESTREL_BAR_MSIX,
                                    errp) < 0) {
            goto fail;
        }
        for (i = 0; i < KESTREL_NVEC; i++) {
            msix_vector_use(pdev, i);
        }
    }
    s->realized = true;
    return;

fail:
    if (s->blk) {
        blk_set_dev_ops(s->blk, NULL, NULL);
    }
    msi_uninit(pdev);
    kestrel_core_cleanup(&s->core);
    kestrel_free_env(s);
}

/*
 * Unplug, also with backend I/O in flight: stop the engine first, so that
 * nothing the drain completes can start new I/O, then drain, and only then
 * free what the completions use.
 */
static void kestrel_exit(PCIDevice *pdev)
{
    KestrelState *s = KESTREL(pdev);

    kestrel_core_pause(&s->core, KESTREL_PAUSE_UNPLUG);
    if (s->blk) {
        blk_drain(s->blk);
        blk_set_dev_ops(s->blk, NULL, NULL);
    }
    assert(kestrel_core_inflight(&s->core) == 0);
    kestrel_core_power_off(&s->core);   /* the write cache is lost */
    s->realized = false;
    kestrel_free_env(s);
    kestrel_core_cleanup(&s->core);
    if (msix_present(pdev)) {
        msix_uninit_exclusive_bar(pdev);
    }
    msi_uninit(pdev);
}

static void kestrel_reset(DeviceState *dev)
{
    KestrelState *s = KESTREL(dev);

    if (s->realized) {
        /* Power-on state: D0, whatever PMCSR held. */
        pci_set_word(s->parent_obj.config + KESTREL_PM_CAP_OFFSET +
                     PCI_PM_CTRL, 0);
        kestrel_core_hard_reset(&s->core);
    }
}

/* ---- QOM properties for the fault engine ----------------------------- */

static char *kestrel_get_faults(Object *obj, Error **errp)
{
    KestrelState *s = KESTREL(obj);
    char *text = g_malloc(KESTREL_FAULT_TEXT_MAX);

    if (!s->realized) {
        g_free(text);
        return g_strdup(s->faults ? s->faults : "");
    }
    kestrel_fault_format(&s->core.faults, text, KESTREL_FAULT_TEXT_MAX);
    return text;
}

static void kestrel_set_faults(Object *obj, const char *value, Error **errp)
{
    KestrelState *s = KESTREL(obj);
    char err[KESTREL_FAULT_ERR_MAX];

    if (!s->realized) {
        /* Before realize: kept and parsed there. */
        g_free(s->faults);
        s->faults = g_strdup(value);
        return;
    }
    if (kestrel_core_set_faults(&s->core, value, err, sizeof(err)) < 0) {
        error_setg(errp, "kestrel: bad fault rule: %s", err);
    }
}

static void kestrel_add_faults(Object *obj, const char *value, Error **errp)
{
    KestrelState *s = KESTREL(obj);
    char err[KESTREL_FAULT_ERR_MAX];

    if (!s->realized) {
        char *all = s->faults && *s->faults ?
                    g_strdup_printf("%s;%s", s->faults, value) :
                    g_strdup(value);

        g_free(s->faults);
        s->faults = all;
        return;
    }
    if (kestrel_core_add_faults(&s->core, value, err, sizeof(err)) < 0) {
        error_setg(errp, "kestrel: bad fault rule: %s", err);
    }
}

static void kestrel_get_fault_stats(Object *obj, Visitor *v, const char *name,
                                    void *opaque, Error **errp)
{
    KestrelState *s = KESTREL(obj);

    gfault_qemu_visit_stats(s->realized ? &s->core.faults : NULL, v, name,
                            errp);
}

/* fault-log: the last faults fired, oldest first (datasheet 10.6). */
static void kestrel_get_fault_log(Object *obj, Visitor *v, const char *name,
                                  void *opaque, Error **errp)
{
    KestrelState *s = KESTREL(obj);

    gfault_qemu_visit_log(&s->core.faults, v, name, errp);
}

static void kestrel_get_stats(Object *obj, Visitor *v, const char *name,
                              void *opaque, Error **errp)
{
    KestrelState *s = KESTREL(obj);
    KestrelCore *c = &s->core;
    uint64_t cmds = c->stat_cmds, cqes = c->stat_cqes, irqs = c->stat_irqs;
    uint64_t errors = c->err_count, faults_fired = 0;
    uint32_t status = c->status;
    bool wc = c->cfg.write_cache, power_cut = c->power_cut;
    uint64_t cache_blocks = c->cache_count;
    uint64_t cached_writes = c->stat_cached_writes;
    uint64_t write_through = c->stat_write_through;
    uint64_t writebacks = c->stat_cache_writebacks;
    uint64_t flushes = c->stat_flushes, lies = c->stat_flush_lies;
    uint64_t lost = c->stat_cache_lost;
    unsigned i;

    for (i = 0; i < c->faults.nrules; i++) {
        faults_fired += c->faults.rules[i].fired;
    }
    if (!visit_start_struct(v, name, NULL, 0, errp)) {
        return;
    }
    if (visit_type_uint64(v, "commands", &cmds, errp) &&
        visit_type_uint64(v, "completions", &cqes, errp) &&
        visit_type_uint64(v, "interrupts", &irqs, errp) &&
        visit_type_uint64(v, "errors", &errors, errp) &&
        visit_type_uint64(v, "faults-fired", &faults_fired, errp) &&
        visit_type_uint32(v, "status", &status, errp) &&
        visit_type_bool(v, "write-cache", &wc, errp) &&
        visit_type_uint64(v, "cache-blocks", &cache_blocks, errp) &&
        visit_type_uint64(v, "cached-writes", &cached_writes, errp) &&
        visit_type_uint64(v, "write-through", &write_through, errp) &&
        visit_type_uint64(v, "cache-writebacks", &writebacks, errp) &&
        visit_type_uint64(v, "flushes", &flushes, errp) &&
        visit_type_uint64(v, "flush-lies", &lies, errp) &&
        visit_type_uint64(v, "cache-lost", &lost, errp) &&
        visit_type_bool(v, "power-cut", &power_cut, errp)) {
        visit_check_struct(v, errp);
    }
    visit_end_struct(v, NULL);
}

static void kestrel_get_seed(Object *obj, Visitor *v, const char *name,
                             void *opaque, Error **errp)
{
    KestrelState *s = KESTREL(obj);

    visit_type_uint64(v, name, &s->fault_seed, errp);
}

static void kestrel_set_seed(Object *obj, Visitor *v, const char *name,
                             void *opaque, Error **errp)
{
    KestrelState *s = KESTREL(obj);
    uint64_t seed;

    if (!visit_type_uint64(v, name, &seed, errp)) {
        return;
    }
    s->fault_seed = seed;
    s->core.faults.seed = seed;     /* rules installed from now on */
}

static void kestrel_instance_init(Object *obj)
{
    object_property_add_str(obj, "faults", kestrel_get_faults,
                            kestrel_set_faults);
    object_property_add_str(obj, "fault-add", NULL, kestrel_add_faults);
    object_property_add(obj, "fault-seed", "uint64", kestrel_get_seed,
                        kestrel_set_seed, NULL, NULL);
    object_property_add(obj, "fault-stats", "KestrelFaultStats",
                        kestrel_get_fault_stats, NULL, NULL, NULL);
    object_property_add(obj, "fault-log", "GauntletFaultLog",
                        kestrel_get_fault_log, NULL, NULL, NULL);
    object_property_add(obj, "stats", "KestrelStats", kestrel_get_stats,
                        NULL, NULL, NULL);
}

static void kestrel_instance_finalize(Object *obj)
{
    KestrelState *s = KESTREL(obj);

    g_free(s->faults);
}

/* ---- migration ------------------------------------------------------- */

static int kestrel_pre_save(void *opaque)
{
    KestrelState *s = opaque;
    KestrelFaultEngine *e = &s->core.faults;
    unsigned i, inflight = kestrel_core_inflight(&s->core);

    /*
     * A stopped VM has no backend I/O in flight: the engine stopped before
     * the drain.  Should one be there anyway, refuse: it could not be
     * restored, and the guest would wait for it for ever.
     */
    if (inflight) {
        error_report("kestrel: %u commands with backend I/O in flight; "
                     "refusing to save the device", inflight);
        return -EBUSY;
    }
    memset(s->vm_faults, 0, sizeof(s->vm_faults));
    kestrel_fault_format(e, (char *)s->vm_faults, sizeof(s->vm_faults));
    s->vm_nrules = e->nrules;
    for (i = 0; i < e->nrules; i++) {
        s->vm_rule_id[i] = e->rules[i].id;
        s->vm_rule_hits[i] = e->rules[i].hits;
        s->vm_rule_fired[i] = e->rules[i].fired;
        s->vm_rule_rng[i] = e->rules[i].rng;
        s->vm_rule_cmds[i] = e->rules[i].units_at_install;
        s->vm_rule_prob[i] = e->rules[i].prob;
    }
    return 0;
}

static int kestrel_post_load(void *opaque, int version_id)
{
    KestrelState *s = opaque;
    KestrelFaultEngine *e = &s->core.faults;
    uint64_t commands = e->units, seed = e->seed;
    uint32_t next_id = e->next_id;
    char err[KESTREL_FAULT_ERR_MAX] = "";
    unsigned i;

    s->vm_faults[sizeof(s->vm_faults) - 1] = '\0';
    if (kestrel_fault_set(e, (char *)s->vm_faults, err, sizeof(err)) < 0 ||
        e->nrules != s->vm_nrules) {
        error_report("kestrel: migrated device state refused: fault rules "
                     "do not parse (%u rules saved): %s", s->vm_nrules, err);
        kestrel_core_load_refused(&s->core);
        return -EINVAL;
    }
    e->units = commands;
    e->seed = seed;
    e->next_id = next_id;
    for (i = 0; i < e->nrules; i++) {
        e->rules[i].id = s->vm_rule_id[i];
        e->rules[i].hits = s->vm_rule_hits[i];
        e->rules[i].fired = s->vm_rule_fired[i];
        e->rules[i].rng = s->vm_rule_rng[i];
        e->rules[i].units_at_install = s->vm_rule_cmds[i];
        if (version_id >= 2 && e->rules[i].trigger == KFT_PROB) {
            /* the text has 6 digits; the rule fires on the exact value */
            if (!s->vm_rule_prob[i]) {
                error_report("kestrel: migrated device state refused: rule "
                             "%u has prob=0", i);
                kestrel_core_load_refused(&s->core);
                return -EINVAL;
            }
            e->rules[i].prob = s->vm_rule_prob[i];
        }
    }
    if (kestrel_core_post_load(&s->core, err, sizeof(err)) < 0) {
        error_report("kestrel: migrated device state refused: %s", err);
        return -EINVAL;
    }
    return 0;
}

/*
 * The write cache (subsection "kestrel/cache"): sent when the cache holds
 * blocks, a FLUSH waits for it, or a power cut killed the device.
 *
 *   be32 block size, be32 blocks (count), be64 cache seq, be8 power cut,
 *   then per block, oldest first: be64 lba, be64 seq, block-size bytes.
 *
 * Loaded by hand so that nothing is allocated from the stream's word:
 * the count is checked against this device's capacity before a block is
 * read, each block against the capacity and the blocks before it.
 */
static int kestrel_cache_vm_get(QEMUFile *f, void *pv, size_t size,
                                const VMStateField *field)
{
    KestrelCore *c = pv;
    uint32_t bs = qemu_get_be32(f), count = qemu_get_be32(f), i;
    uint64_t seq = qemu_get_be64(f);
    uint8_t power_cut = qemu_get_byte(f);
    char err[KESTREL_FAULT_ERR_MAX] = "";
    g_autofree uint8_t *block = NULL;

    if (!c->cfg.write_cache) {
        snprintf(err, sizeof(err), "a write cache, and write-cache is off "
                 "here");
    } else if (bs != c->cfg.block_size) {
        snprintf(err, sizeof(err), "cache of %u-byte blocks, the device "
                 "has %u", bs, c->cfg.block_size);
    } else if (count > c->cfg.cache_blocks) {
        snprintf(err, sizeof(err), "%u cached blocks, capacity %u", count,
                 c->cfg.cache_blocks);
    } else if (power_cut > 1) {
        snprintf(err, sizeof(err), "power-cut flag %u", power_cut);
    }
    if (!err[0]) {
        kestrel_core_cache_load_begin(c);
        c->cache_seq = seq;
        c->power_cut = power_cut;
        block = g_malloc(bs);
        for (i = 0; i < count && !err[0]; i++) {
            uint64_t lba = qemu_get_be64(f), bseq = qemu_get_be64(f);

            qemu_get_buffer(f, block, bs);
            if (qemu_file_get_error(f)) {
                snprintf(err, sizeof(err), "cache stream ends early");
                break;
            }
            kestrel_core_cache_load(c, lba, bseq, block, err, sizeof(err));
        }
    }
    if (err[0]) {
        error_report("kestrel: migrated device state refused: %s", err);
        kestrel_core_load_refused(c);
        return -EINVAL;
    }
    return qemu_file_get_error(f);
}

static int kestrel_cache_vm_put(QEMUFile *f, void *pv, size_t size,
                                const VMStateField *field, JSONWriter *vmdesc)
{
    KestrelCore *c = pv;
    uint32_t i;

    qemu_put_be32(f, c->cfg.block_size);
    qemu_put_be32(f, c->cache_count);
    qemu_put_be64(f, c->cache_seq);
    qemu_put_byte(f, c->power_cut);
    for (i = kestrel_core_cache_first(c); i != KESTREL_CACHE_NIL;
         i = kestrel_core_cache_next(c, i)) {
        qemu_put_be64(f, c->cache[i].lba);
        qemu_put_be64(f, c->cache[i].seq);
        qemu_put_buffer(f, kestrel_core_cache_block(c, i), c->cfg.block_size);
    }
    return 0;
}

static const VMStateInfo kestrel_cache_vm_info = {
    .name = "kestrel-cache",
    .get = kestrel_cache_vm_get,
    .put = kestrel_cache_vm_put,
};

static bool kestrel_cache_needed(void *opaque)
{
    KestrelState *s = opaque;
    KestrelCore *c = &s->core;
    unsigned i;

    if (c->cache_count || c->power_cut) {
        return true;
    }
    for (i = 0; i < KESTREL_MAX_QDEPTH; i++) {
        if (c->cmds[i].state == KESTREL_CMD_FLUSH_WAIT) {
            return true;
        }
    }
    return false;
}

static const VMStateDescription vmstate_kestrel_cache = {
    .name = "kestrel/cache",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = kestrel_cache_needed,
    .fields = (VMStateField[]) {
        {
            .name = "cache",
            .version_id = 0,
            .size = sizeof(KestrelCore),
            .info = &kestrel_cache_vm_info,
            .flags = VMS_SINGLE,
            .offset = offsetof(KestrelState, core),
        },
        VMSTATE_END_OF_LIST()
    },
};

/* A stream without the subsections has an empty cache and power, */
static int kestrel_pre_load(void *opaque)
{
    KestrelState *s = opaque;
    unsigned i;

    kestrel_core_cache_load_begin(&s->core);
    /* nor redirected completions without kestrel/cqe-redirect */
    for (i = 0; i < KESTREL_MAX_QDEPTH; i++) {
        s->core.cmds[i].cqe_redirect = 0;
    }
    return 0;
}

static const VMStateDescription vmstate_kestrel_cmd = {
    .name = "kestrel-cmd",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (VMStateField[]) {
        VMSTATE_UINT32(state, KestrelCmd),
        VMSTATE_UINT32(generation, KestrelCmd),
        VMSTATE_UINT8(opcode, KestrelCmd),
        VMSTATE_UINT8(cqe_faulted, KestrelCmd),
        VMSTATE_UINT8(duplicate, KestrelCmd),
        VMSTATE_UINT8(wrong_phase, KestrelCmd),
        VMSTATE_UINT16(tag, KestrelCmd),
        VMSTATE_UINT16(sq_head, KestrelCmd),
        VMSTATE_UINT16(status, KestrelCmd),
        VMSTATE_UINT16(cqe_rsvd0, KestrelCmd),
        VMSTATE_UINT32(result, KestrelCmd),
        VMSTATE_UINT32(cqe_rsvd1, KestrelCmd),
        VMSTATE_INT64(deadline, KestrelCmd),
        VMSTATE_UINT64(seq, KestrelCmd),
        VMSTATE_UINT64(delay_ns, KestrelCmd),
        VMSTATE_END_OF_LIST()
    },
};

/*
 * Completions a cq.post:corrupt(addr=V) rule redirected, still to post
 * (delayed, or waiting for CQ room): sent only when there is one, so a
 * stream without the subsection loads as "none".
 */
static bool kestrel_redirect_needed(void *opaque)
{
    KestrelState *s = opaque;
    unsigned i;

    for (i = 0; i < KESTREL_MAX_QDEPTH; i++) {
        if (s->core.cmds[i].state != KESTREL_CMD_FREE &&
            s->core.cmds[i].cqe_redirect) {
            return true;
        }
    }
    return false;
}

static const VMStateDescription vmstate_kestrel_cmd_redirect = {
    .name = "kestrel-cmd-redirect",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (VMStateField[]) {
        VMSTATE_UINT8(cqe_redirect, KestrelCmd),
        VMSTATE_UINT64(cqe_addr, KestrelCmd),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_kestrel_redirect = {
    .name = "kestrel/cqe-redirect",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = kestrel_redirect_needed,
    .fields = (VMStateField[]) {
        VMSTATE_STRUCT_ARRAY(core.cmds, KestrelState, KESTREL_MAX_QDEPTH, 1,
                             vmstate_kestrel_cmd_redirect, KestrelCmd),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_kestrel = {
    .name = "kestrel",
    .version_id = 2,
    .minimum_version_id = 1,
    .pre_save = kestrel_pre_save,
    .pre_load = kestrel_pre_load,
    .post_load = kestrel_post_load,
    .fields = (VMStateField[]) {
        VMSTATE_PCI_DEVICE(parent_obj, KestrelState),
        VMSTATE_MSIX(parent_obj, KestrelState),
        VMSTATE_UINT32(core.ctrl, KestrelState),
        VMSTATE_UINT32(core.status, KestrelState),
        VMSTATE_UINT32(core.intr_status, KestrelState),
        VMSTATE_UINT32(core.intr_mask, KestrelState),
        VMSTATE_UINT32(core.intr_delivered, KestrelState),
        VMSTATE_UINT64(core.sq_base, KestrelState),
        VMSTATE_UINT32(core.sq_size, KestrelState),
        VMSTATE_UINT64(core.cq_base, KestrelState),
        VMSTATE_UINT32(core.cq_size, KestrelState),
        VMSTATE_UINT32(core.sq_head, KestrelState),
        VMSTATE_UINT32(core.sq_tail, KestrelState),
        VMSTATE_UINT32(core.cq_head, KestrelState),
        VMSTATE_UINT32(core.cq_tail, KestrelState),
        VMSTATE_UINT32(core.cq_phase, KestrelState),
        VMSTATE_UINT32(core.err_count, KestrelState),
        VMSTATE_UINT32_2DARRAY(core.err_log, KestrelState,
                               KESTREL_ERR_LOG_LEN, 4),
        VMSTATE_UINT32(core.generation, KestrelState),
        VMSTATE_UINT32(core.power_state, KestrelState),
        VMSTATE_UINT8(core.link_down, KestrelState),
        VMSTATE_UINT8(core.stall_sq, KestrelState),
        VMSTATE_UINT8(core.stall_cq, KestrelState),
        VMSTATE_UINT8(core.stall_irq, KestrelState),
        VMSTATE_UINT8(core.stall_reset, KestrelState),
        VMSTATE_UINT8(core.stall_power, KestrelState),
        VMSTATE_UINT8(core.sq_delayed, KestrelState),
        VMSTATE_UINT32(core.sq_delay_mask, KestrelState),
        VMSTATE_INT64(core.ready_at, KestrelState),
        VMSTATE_INT64(core.reset_done_at, KestrelState),
        VMSTATE_INT64(core.sq_resume_at, KestrelState),
        VMSTATE_INT64(core.irq_delayed_at, KestrelState),
        VMSTATE_UINT32(core.irq_delayed_causes, KestrelState),
        VMSTATE_UINT32(core.storm_left, KestrelState),
        VMSTATE_UINT64(core.storm_interval_ns, KestrelState),
        VMSTATE_INT64(core.storm_next_at, KestrelState),
        VMSTATE_UINT64(core.power_delay_ns, KestrelState),
        VMSTATE_UINT64(core.seq, KestrelState),
        VMSTATE_UINT32(core.npending, KestrelState),
        VMSTATE_UINT16_ARRAY(core.pending, KestrelState, KESTREL_MAX_QDEPTH),
        VMSTATE_STRUCT_ARRAY(core.cmds, KestrelState, KESTREL_MAX_QDEPTH, 1,
                             vmstate_kestrel_cmd, KestrelCmd),
        VMSTATE_UINT32(core.faults.next_id, KestrelState),
        VMSTATE_UINT64(core.faults.seed, KestrelState),
        VMSTATE_UINT64(core.faults.units, KestrelState),
        VMSTATE_BUFFER(vm_faults, KestrelState),
        VMSTATE_UINT32(vm_nrules, KestrelState),
        VMSTATE_UINT32_ARRAY(vm_rule_id, KestrelState,
                             KESTREL_FAULT_MAX_RULES),
        VMSTATE_UINT64_ARRAY(vm_rule_hits, KestrelState,
                             KESTREL_FAULT_MAX_RULES),
        VMSTATE_UINT64_ARRAY(vm_rule_fired, KestrelState,
                             KESTREL_FAULT_MAX_RULES),
        VMSTATE_UINT64_ARRAY(vm_rule_rng, KestrelState,
                             KESTREL_FAULT_MAX_RULES),
        VMSTATE_UINT64_ARRAY(vm_rule_cmds, KestrelState,
                             KESTREL_FAULT_MAX_RULES),
        VMSTATE_UINT32_ARRAY_V(vm_rule_prob, KestrelState,
                               KESTREL_FAULT_MAX_RULES, 2),
        VMSTATE_END_OF_LIST()
    },
    .subsections = (const VMStateDescription * []) {
        &vmstate_kestrel_cache,
        &vmstate_kestrel_redirect,
        NULL
    },
};

static Property kestrel_properties[] = {
    DEFINE_PROP_DRIVE("drive", KestrelState, blk),
    DEFINE_PROP_UINT32("block-size", KestrelState, block_size, 512),
    DEFINE_PROP_UINT32("queue-depth", KestrelState, queue_depth,
                       KESTREL_DEFAULT_QDEPTH),
    DEFINE_PROP_UINT32("max-segments", KestrelState, max_segments,
                       KESTREL_DEFAULT_MAXSEG),
    DEFINE_PROP_UINT32("ready-delay-us", KestrelState, ready_delay_us, 1000),
    DEFINE_PROP_UINT32("reset-delay-us", KestrelState, reset_delay_us, 0),
    DEFINE_PROP_UINT32("timeout-ms", KestrelState, timeout_ms, 2000),
    DEFINE_PROP_STRING("serial", KestrelState, serial),
    DEFINE_PROP_BOOL("msix", KestrelState, msix, true),
    DEFINE_PROP_BOOL("msi", KestrelState, msi, true),
    DEFINE_PROP_BOOL("write-cache", KestrelState, write_cache, false),
    DEFINE_PROP_UINT32("write-cache-blocks", KestrelState, write_cache_blocks,
                       KESTREL_CACHE_DEFAULT_BLOCKS),
    DEFINE_PROP_END_OF_LIST(),
};

static void kestrel_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    PCIDeviceClass *pc = PCI_DEVICE_CLASS(klass);

    pc->realize = kestrel_realize;
    pc->exit = kestrel_exit;
    pc->config_write = kestrel_write_config;
    pc->vendor_id = KESTREL_PCI_VENDOR_ID;
    pc->device_id = KESTREL_PCI_DEVICE_ID;
    pc->revision = KESTREL_PCI_REVISION;
    pc->class_id = KESTREL_PCI_CLASS >> 8;

    dc->desc = "Kestrel fault-injecting storage controller (Gauntlet)";
    dc->reset = kestrel_reset;
    dc->vmsd = &vmstate_kestrel;
    device_class_set_props(dc, kestrel_properties);
    set_bit(DEVICE_CATEGORY_STORAGE, dc->categories);
}

static const TypeInfo kestrel_info = {
    .name = TYPE_KESTREL,
    .parent = TYPE_PCI_DEVICE,
    .instance_size = sizeof(KestrelState),
    .instance_init = kestrel_instance_init,
    .instance_finalize = kestrel_instance_finalize,
    .class_init = kestrel_class_init,
    .interfaces = (InterfaceInfo[]) {
        { INTERFACE_PCIE_DEVICE },
        { },
    },
};

static void kestrel_register_types(void)
{
    type_register_static(&kestrel_info);
}

type_init(kestrel_register_types)
