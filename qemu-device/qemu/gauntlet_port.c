/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Gauntlet fault port: a PCI Express root port that injects faults into the
 * traffic of the devices plugged behind it (docs/fault-port.md).
 *
 * It is QEMU's generic root port ("pcie-root-port": the same IDs,
 * capabilities, hotplug and migration) plus a fault engine (gfault.c, the
 * vocabulary of gport_fault.c) that sees:
 *   - the devices' DMA: the port gives its secondary bus an IOMMU
 *     (pci_setup_iommu) whose translations pass every access through, to
 *     the address space the device would have had without the port (the
 *     system memory, or an upstream IOMMU's); a rule turns one translation
 *     (at most one 4 KiB page) into a failed access, a discarded write, an
 *     all-ones read or an access with corrupted data;
 *   - their MSI and MSI-X messages, which are DMA writes to 0xfee00000;
 *   - reads of their BARs, through an overlay on the secondary bus's memory
 *     and I/O spaces that is mapped only while a rule needs it;
 *   - their config reads, through the device's config_read hook, wrapped
 *     when the device is plugged (the port is its hotplug handler);
 *   - the link: once a "link" rule fires, MMIO and config reads return
 *     all-ones, writes are dropped and DMA fails, until the rule set is
 *     replaced.
 * With no rule armed a translation covers the whole address space and maps
 * to where the device's DMA would have gone anyway, the overlay is not
 * mapped and the config hooks call straight through: the device behaves as
 * behind a plain root port.
 *
 * What happens to each access (message or DMA, the link, which rule fires,
 * the data fault a corrupt() or flip() leaves waiting, the message queue)
 * is decided in gport_interpose.c, apart from QEMU and fuzzed by
 * fuzz/fuzz_port.c; this file maps its answers onto IOMMU translations,
 * memory regions and timers.
 *
 * Properties: those of pcie-root-port, plus faults, fault-add, fault-seed,
 * fault-stats and fault-log (gfault_qemu.c), and port-stats (read-only).
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/visitor.h"
#include "qemu/module.h"
#include "qemu/timer.h"
#include "qemu/bswap.h"
#include "qemu/error-report.h"
#include "exec/memory.h"
#include "exec/address-spaces.h"
#include "hw/pci/pci.h"
#include "hw/pci/pci_bus.h"
#include "hw/pci/pci_bridge.h"
#include "hw/pci/pcie_port.h"
#include "hw/pci/msi.h"
#include "hw/pci/msix.h"
#include "hw/hotplug.h"
#include "hw/qdev-properties.h"
#include "hw/qdev-properties-system.h"
#include "migration/vmstate.h"
#include "gfault_qemu.h"
#include "gport_fault.h"
#include "gport_interpose.h"
#include "trace.h"

#define TYPE_GAUNTLET_PORT "gauntlet-port"
#define TYPE_GAUNTLET_PORT_IOMMU "gauntlet-port-iommu"
OBJECT_DECLARE_SIMPLE_TYPE(GauntletPort, GAUNTLET_PORT)

#define GPORT_AER_OFFSET        0x100
#define GPORT_ACS_OFFSET        (GPORT_AER_OFFSET + PCI_ERR_SIZEOF)
#define GPORT_DEFAULT_IO_RANGE  4096
#define GPORT_MAX_DEVS          32      /* devices behind one port */

typedef struct GauntletPort GauntletPort;

/* One function behind the port (a bus and devfn the IOMMU was asked for). */
typedef struct GPortDev {
    GauntletPort *port;
    PCIBus *bus;
    uint8_t devfn;
    IOMMUMemoryRegion iommu;
    AddressSpace as;            /* the device's DMA address space */
    AddressSpace *upstream;     /* where its DMA goes when let through */
    MemoryRegion xpose;         /* accesses whose data a rule changes */
    AddressSpace xpose_as;
    MemoryRegion fail;          /* accesses that fail (dma_error) */
    AddressSpace fail_as;
    GPortAccess acc;            /* the interposer's state (gport_interpose.h) */
    PCIDevice *dev;             /* while plugged */
    PCIConfigReadFunc *cfg_read;
    PCIConfigWriteFunc *cfg_write;
} GPortDev;

struct GauntletPort {
    PCIESlot parent_obj;

    PCIResReserve res_reserve;
    bool migrate_msix;

    GFaultEngine engine;
    GFaultQemu fq;
    GPortInterpose pi;          /* link, queue, counters (gport_interpose.c) */
    uint8_t vm_link_down;       /* pi.link_down in the stream (0 or 1) */
    bool ready;                 /* realized: the regions below exist */

    GPortDev *devs[GPORT_MAX_DEVS];
    unsigned ndevs;

    /* One page each: all-ones reads come from ones, dropped writes go to
     * trash; both RAM, so an access to them is one translation. */
    MemoryRegion ones, trash;
    AddressSpace ones_as, trash_as;
    MemoryRegion ovl_mem, ovl_io;
    bool ovl_on;

    QEMUTimer *msg_timer;
};

static HotplugHandlerClass gport_parent_hc;
static DeviceRealize gport_parent_realize;
static DeviceReset gport_parent_reset;

static uint64_t gport_now(void)
{
    return qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
}

/* Trace the rules of mask that fired at point, on addr. */
static void gport_trace_fired(GauntletPort *s, uint32_t mask,
                              const char *point, uint64_t addr)
{
    unsigned i;

    for (i = 0; mask; i++, mask >>= 1) {
        if (mask & 1) {
            trace_gport_fault_fired(s->engine.rules[i].id, point, addr);
        }
    }
}

/* A transaction crosses the port: true when the link is down (it fails). */
static bool gport_link_event(GauntletPort *s, const char *what,
                             uint64_t addr)
{
    int r = gpi_link_event(&s->pi, gport_now(), what, addr);

    if (r == 2) {
        trace_gport_link_down(what, addr);
    }
    return r != 0;
}

/* ---- DMA: the IOMMU ------------------------------------------------- */

static PCIDevice *gport_pdev(GPortDev *pd);
static int gport_msi_vector(PCIDevice *d, uint64_t addr, const uint32_t *data);

/* Whether addr is the address of one of the device's enabled vectors. */
static bool gport_vector_addr(void *opaque, uint64_t addr)
{
    GPortDev *pd = opaque;

    return gport_msi_vector(gport_pdev(pd), addr, NULL) >= 0;
}

static IOMMUTLBEntry gport_translate(IOMMUMemoryRegion *iommu, hwaddr addr,
                                     IOMMUAccessFlags flag, int iommu_idx)
{
    GPortDev *pd = container_of(iommu, GPortDev, iommu);
    GauntletPort *s = pd->port;
    bool write = flag & IOMMU_WO;
    uint64_t page;
    IOMMUTLBEntry t = {
        .target_as = pd->upstream,
        .perm = IOMMU_RW,
        .addr_mask = GPORT_PAGE - 1,
    };
    uint32_t fired;
    GPortRoute route;

    route = gpi_dma(&s->pi, &pd->acc, gport_now(), write, addr, pd->devfn,
                    gport_vector_addr, pd, &fired);
    gport_trace_fired(s, fired, write ? "dma.write" : "dma.read", addr);
    if (route == GPR_FAIL || route == GPR_DATA) {
        /* a continued access keeps the translation of its first piece */
        page = pd->acc.cont_start;
    } else {
        page = addr;
    }
    t.iova = t.translated_addr = page & ~(GPORT_PAGE - 1);
    switch (route) {
    case GPR_ALL:
        t.iova = t.translated_addr = 0;
        t.addr_mask = UINT64_MAX;
        break;
    case GPR_UPSTREAM:
        break;
    case GPR_MSG:
        t.target_as = &pd->xpose_as;
        t.iova = t.translated_addr = addr & ~3ull;
        t.addr_mask = 3;
        break;
    case GPR_DATA:
        t.target_as = &pd->xpose_as;
        break;
    case GPR_FAIL:
        t.target_as = &pd->fail_as;
        break;
    case GPR_ONES:
    case GPR_TRASH:
        t.target_as = write ? &s->trash_as : &s->ones_as;
        t.translated_addr = 0;
        t.perm = write ? IOMMU_WO : IOMMU_RO;
        break;
    case GPR_REFUSED:
        t.perm = IOMMU_NONE;
        break;
    }
    return t;
}


static int gport_notify_flag_changed(IOMMUMemoryRegion *iommu,
                                     IOMMUNotifierFlag old,
                                     IOMMUNotifierFlag new, Error **errp)
{
    if (new != IOMMU_NOTIFIER_NONE) {
        error_setg(errp, "gauntlet-port: a device behind the fault port "
                   "needs IOMMU notifications (vfio, vhost), which the port "
                   "does not give");
        return -ENOTSUP;
    }
    return 0;
}

/* ---- MSI messages --------------------------------------------------- */

static PCIDevice *gport_pdev(GPortDev *pd)
{
    /* only while the function is still the one that was plugged */
    if (pd->dev && pd->bus->devices[pd->devfn] == pd->dev) {
        return pd->dev;
    }
    return NULL;
}

/*
 * The enabled MSI-X (or MSI) vector of d whose message is addr and *data
 * (any data when data is NULL), or -1.
 */
static int gport_msi_vector(PCIDevice *d, uint64_t addr, const uint32_t *data)
{
    bool msix;
    unsigned v, n;

    if (!d) {
        return -1;
    }
    msix = msix_enabled(d);
    n = msix ? d->msix_entries_nr :
        msi_enabled(d) ? msi_nr_vectors_allocated(d) : 0;
    for (v = 0; v < n; v++) {
        MSIMessage m = msix ? msix_get_message(d, v) : msi_get_message(d, v);

        if (m.address == addr && (!data || m.data == *data)) {
            return v;
        }
    }
    return -1;
}

static GPortDev *gport_find_dev(GauntletPort *s, uint8_t devfn)
{
    unsigned i;

    for (i = 0; i < s->ndevs; i++) {
        if (s->devs[i]->devfn == devfn &&
            s->devs[i]->bus == pci_bridge_get_sec_bus(PCI_BRIDGE(s))) {
            return s->devs[i];
        }
    }
    return NULL;
}

static void gport_send(GPortDev *pd, uint64_t addr, uint32_t data,
                       uint16_t requester_id)
{
    MemTxAttrs attrs = { .requester_id = requester_id };

    address_space_stl_le(pd->upstream, addr, data, attrs, NULL);
}

static void gport_msg_arm(GauntletPort *s)
{
    int64_t next = gpi_queue_next(&s->pi);

    if (next == INT64_MAX) {
        timer_del(s->msg_timer);
    } else {
        timer_mod(s->msg_timer, next);
    }
}

/* A queued message is due: false when its device is gone. */
static bool gport_msg_send(void *opaque, const GPortMsg *m)
{
    GauntletPort *s = opaque;
    GPortDev *pd = gport_find_dev(s, m->devfn);

    if (!pd || !gport_pdev(pd)) {
        return false;
    }
    gport_send(pd, m->addr, m->data, m->requester_id);
    return true;
}

static void gport_msg_tick(void *opaque)
{
    GauntletPort *s = opaque;

    gpi_queue_tick(&s->pi, gport_now(), gport_msg_send, s);
    gport_msg_arm(s);
}

/* An MSI or MSI-X message from the device behind the port. */
static void gport_msi(GPortDev *pd, uint64_t addr, uint32_t data,
                      MemTxAttrs attrs)
{
    GauntletPort *s = pd->port;
    int vector = -1;
    unsigned n, queued = gpi_queue_count(&s->pi);
    uint32_t fired;

    if (gfault_watches(&s->engine, GPF_MSI)) {
        vector = gport_msi_vector(gport_pdev(pd), addr, &data);
    }
    n = gpi_msi(&s->pi, gport_now(), pd->devfn, attrs.requester_id, addr,
                data, vector, &fired);
    gport_trace_fired(s, fired, "msi", addr);
    while (n--) {
        gport_send(pd, addr, data, attrs.requester_id);
    }
    if (gpi_queue_count(&s->pi) != queued) {
        gport_msg_arm(s);
    }
}

/* ---- the interposer: accesses whose data a rule changes, and MSIs --- */

static MemTxResult gport_xpose_read(void *opaque, hwaddr addr,
                                    uint64_t *data, unsigned size,
                                    MemTxAttrs attrs)
{
    GPortDev *pd = opaque;
    uint8_t buf[8];
    MemTxResult r;

    r = address_space_read(pd->upstream, addr, attrs, buf, size);
    gpi_data_pass(&pd->acc, addr, buf, size);
    *data = ldn_le_p(buf, size);
    return r;
}

static MemTxResult gport_xpose_write(void *opaque, hwaddr addr,
                                     uint64_t data, unsigned size,
                                     MemTxAttrs attrs)
{
    GPortDev *pd = opaque;
    uint32_t msg = data;
    uint8_t buf[8];

    stn_le_p(buf, size, data);
    if (pd->acc.xlat_msg) {
        if (size == 4 &&
            (gpi_in_window(addr) ||
             gport_msi_vector(gport_pdev(pd), addr, &msg) >= 0)) {
            gport_msi(pd, addr, data, attrs);
            return MEMTX_OK;
        }
        /* a write near a vector's address that is no message: as is */
        return address_space_write(pd->upstream, addr, attrs, buf, size);
    }
    gpi_data_pass(&pd->acc, addr, buf, size);
    return address_space_write(pd->upstream, addr, attrs, buf, size);
}

static const MemoryRegionOps gport_xpose_ops = {
    .read_with_attrs = gport_xpose_read,
    .write_with_attrs = gport_xpose_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = { .min_access_size = 1, .max_access_size = 8,
               .unaligned = true },
    .impl = { .min_access_size = 1, .max_access_size = 8,
              .unaligned = true },
};

/*
 * dma_error: the access fails, as a DMA the root complex refused (UR).  The
 * region refuses every access (valid.accepts), so that a mapped DMA fails
 * too (qemu/patches/0001): the callbacks below run only for accesses that
 * do not ask first.
 */
static bool gport_fail_accepts(void *opaque, hwaddr addr, unsigned size,
                               bool is_write, MemTxAttrs attrs)
{
    GPortDev *pd = opaque;

    gpi_fail_pass(&pd->acc, addr, size);
    return false;
}

static MemTxResult gport_fail_read(void *opaque, hwaddr addr, uint64_t *data,
                                   unsigned size, MemTxAttrs attrs)
{
    GPortDev *pd = opaque;

    gpi_fail_pass(&pd->acc, addr, size);
    *data = gpi_ones(size);
    return MEMTX_DECODE_ERROR;
}

static MemTxResult gport_fail_write(void *opaque, hwaddr addr, uint64_t data,
                                    unsigned size, MemTxAttrs attrs)
{
    GPortDev *pd = opaque;

    gpi_fail_pass(&pd->acc, addr, size);
    return MEMTX_DECODE_ERROR;
}


static const MemoryRegionOps gport_fail_ops = {
    .read_with_attrs = gport_fail_read,
    .write_with_attrs = gport_fail_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = { .min_access_size = 1, .max_access_size = 8,
               .unaligned = true, .accepts = gport_fail_accepts },
    .impl = { .min_access_size = 1, .max_access_size = 8,
              .unaligned = true },
};

static GPortDev *gport_dev_get(GauntletPort *s, PCIBus *bus, int devfn)
{
    PCIDevice *pdev = PCI_DEVICE(s);
    PCIBus *ib = pci_get_bus(pdev);
    GPortDev *pd;
    char name[64];
    unsigned i;

    for (i = 0; i < s->ndevs; i++) {
        if (s->devs[i]->bus == bus && s->devs[i]->devfn == devfn) {
            return s->devs[i];
        }
    }
    if (s->ndevs == GPORT_MAX_DEVS) {
        return NULL;
    }
    pd = g_new0(GPortDev, 1);
    pd->port = s;
    pd->bus = bus;
    pd->devfn = devfn;
    /* what the device would have had without the port */
    while (ib && !ib->iommu_fn && ib->parent_dev) {
        ib = pci_get_bus(ib->parent_dev);
    }
    if (ib && ib->iommu_fn && !pci_bus_bypass_iommu(bus)) {
        pd->upstream = ib->iommu_fn(bus, ib->iommu_opaque, devfn);
    } else {
        pd->upstream = &address_space_memory;
    }
    snprintf(name, sizeof(name), "gauntlet-port-dma-%u", s->ndevs);
    memory_region_init_iommu(&pd->iommu, sizeof(pd->iommu),
                             TYPE_GAUNTLET_PORT_IOMMU, OBJECT(s), name,
                             UINT64_MAX);
    address_space_init(&pd->as, MEMORY_REGION(&pd->iommu), name);
    snprintf(name, sizeof(name), "gauntlet-port-xpose-%u", s->ndevs);
    memory_region_init_io(&pd->xpose, OBJECT(s), &gport_xpose_ops, pd, name,
                          UINT64_MAX);
    address_space_init(&pd->xpose_as, &pd->xpose, name);
    snprintf(name, sizeof(name), "gauntlet-port-fail-%u", s->ndevs);
    memory_region_init_io(&pd->fail, OBJECT(s), &gport_fail_ops, pd, name,
                          UINT64_MAX);
    address_space_init(&pd->fail_as, &pd->fail, name);
    s->devs[s->ndevs++] = pd;
    return pd;
}

static AddressSpace *gport_dma_as(PCIBus *bus, void *opaque, int devfn)
{
    GauntletPort *s = opaque;
    GPortDev *pd = gport_dev_get(s, bus, devfn);

    if (!pd) {
        warn_report("gauntlet-port: more than %d functions behind the "
                    "port; the others bypass it", GPORT_MAX_DEVS);
        return &address_space_memory;
    }
    return &pd->as;
}

/* ---- MMIO: the overlay on the secondary bus ------------------------- */

/*
 * The region under the overlay that serves container offset *off (the
 * overlay itself skipped), and the offset in it.
 */
static MemoryRegion *gport_leaf(GauntletPort *s, MemoryRegion *mr,
                                hwaddr *off)
{
    int depth;

    for (depth = 0; mr && depth < 16; depth++) {
        MemoryRegion *sub, *hit = NULL;

        if (mr->alias) {
            *off += mr->alias_offset;
            mr = mr->alias;
            continue;
        }
        QTAILQ_FOREACH(sub, &mr->subregions, subregions_link) {
            if (sub == &s->ovl_mem || sub == &s->ovl_io || !sub->enabled) {
                continue;
            }
            if (*off >= sub->addr &&
                int128_lt(int128_make64(*off - sub->addr), sub->size)) {
                hit = sub;
                break;
            }
        }
        if (!hit) {
            return mr->terminates ? mr : NULL;
        }
        *off -= hit->addr;
        mr = hit;
    }
    return NULL;
}

/* Which BAR of a function directly behind the port holds addr. */
static bool gport_find_bar(GauntletPort *s, bool io, hwaddr addr,
                           int *bar, uint64_t *off)
{
    PCIBus *sec = pci_bridge_get_sec_bus(PCI_BRIDGE(s));
    int devfn, i;

    for (devfn = 0; devfn < PCI_DEVFN_MAX; devfn++) {
        PCIDevice *d = sec->devices[devfn];

        if (!d) {
            continue;
        }
        for (i = 0; i < PCI_NUM_REGIONS; i++) {
            PCIIORegion *r = &d->io_regions[i];

            if (!r->size || r->addr == PCI_BAR_UNMAPPED ||
                !!(r->type & PCI_BASE_ADDRESS_SPACE_IO) != io) {
                continue;
            }
            if (addr >= r->addr && addr - r->addr < r->size) {
                *bar = i;
                *off = addr - r->addr;
                return true;
            }
        }
    }
    return false;
}

static MemTxResult gport_ovl_access(GauntletPort *s, bool io, hwaddr addr,
                                    uint64_t *data, unsigned size,
                                    MemTxAttrs attrs, bool write)
{
    PCIBridge *br = PCI_BRIDGE(s);
    MemoryRegion *space = io ? &br->address_space_io : &br->address_space_mem;
    MemoryRegion *leaf;
    MemTxResult res;
    hwaddr off = addr;
    GFaultEvent ev = { 0 };
    uint64_t baroff = 0;
    uint32_t fired;
    char detail[64];
    int bar = -1;

    if (write) {
        s->pi.mmio_writes++;
    } else {
        s->pi.mmio_reads++;
    }
    if (gport_link_event(s, write ? "mmio.write" : "mmio.read", addr)) {
        if (!write) {
            *data = gpi_ones(size);
        }
        return MEMTX_OK;
    }
    leaf = gport_leaf(s, space, &off);
    if (!leaf) {
        if (!write) {
            *data = 0;
        }
        return MEMTX_DECODE_ERROR;
    }
    if (memory_region_is_ram(leaf)) {
        uint8_t *p = (uint8_t *)memory_region_get_ram_ptr(leaf) + off;

        if (off + size > memory_region_size(leaf)) {
            return MEMTX_DECODE_ERROR;
        }
        if (write) {
            if (leaf->readonly) {
                return MEMTX_OK;
            }
            stn_le_p(p, size, *data);
            memory_region_set_dirty(leaf, off, size);
            return MEMTX_OK;
        }
        *data = ldn_le_p(p, size);
        res = MEMTX_OK;
    } else if (write) {
        return memory_region_dispatch_write(leaf, off, *data,
                                            size_memop(size) | MO_LE, attrs);
    } else {
        res = memory_region_dispatch_read(leaf, off, data,
                                          size_memop(size) | MO_LE, attrs);
    }
    if (!gfault_watches(&s->engine, GPF_MMIO_READ)) {
        return res;
    }
    if (gport_find_bar(s, io, addr, &bar, &baroff)) {
        ev.known = (1u << GPK_BAR) | (1u << GPK_OFF);
        ev.key[GPK_BAR] = bar;
        ev.key[GPK_OFF] = baroff;
        ev.len[GPK_OFF] = size;
    }
    snprintf(detail, sizeof(detail), "%s 0x%" PRIx64 " bar %d off 0x%"
             PRIx64 " size %u", io ? "io" : "mem", (uint64_t)addr,
             ev.known ? bar : -1, ev.known ? baroff : 0, size);
    *data = gpi_read_value(&s->pi, GPF_MMIO_READ, &ev, *data, size,
                           gport_now(), detail, &fired);
    gport_trace_fired(s, fired, "mmio.read", addr);
    return res;
}

static MemTxResult gport_ovl_mem_read(void *opaque, hwaddr addr,
                                      uint64_t *data, unsigned size,
                                      MemTxAttrs attrs)
{
    return gport_ovl_access(opaque, false, addr, data, size, attrs, false);
}

static MemTxResult gport_ovl_mem_write(void *opaque, hwaddr addr,
                                       uint64_t data, unsigned size,
                                       MemTxAttrs attrs)
{
    return gport_ovl_access(opaque, false, addr, &data, size, attrs, true);
}

static MemTxResult gport_ovl_io_read(void *opaque, hwaddr addr,
                                     uint64_t *data, unsigned size,
                                     MemTxAttrs attrs)
{
    return gport_ovl_access(opaque, true, addr, data, size, attrs, false);
}

static MemTxResult gport_ovl_io_write(void *opaque, hwaddr addr,
                                      uint64_t data, unsigned size,
                                      MemTxAttrs attrs)
{
    return gport_ovl_access(opaque, true, addr, &data, size, attrs, true);
}

static const MemoryRegionOps gport_ovl_mem_ops = {
    .read_with_attrs = gport_ovl_mem_read,
    .write_with_attrs = gport_ovl_mem_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = { .min_access_size = 1, .max_access_size = 8 },
    .impl = { .min_access_size = 1, .max_access_size = 8 },
};

static const MemoryRegionOps gport_ovl_io_ops = {
    .read_with_attrs = gport_ovl_io_read,
    .write_with_attrs = gport_ovl_io_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = { .min_access_size = 1, .max_access_size = 4 },
    .impl = { .min_access_size = 1, .max_access_size = 4 },
};

/* ---- config space ---------------------------------------------------- */

static GPortDev *gport_dev_of(PCIDevice *d)
{
    PCIBus *bus = pci_get_bus(d);
    GauntletPort *s;
    unsigned i;

    if (!bus->parent_dev ||
        !object_dynamic_cast(OBJECT(bus->parent_dev), TYPE_GAUNTLET_PORT)) {
        return NULL;
    }
    s = GAUNTLET_PORT(bus->parent_dev);
    for (i = 0; i < s->ndevs; i++) {
        if (s->devs[i]->dev == d) {
            return s->devs[i];
        }
    }
    return NULL;
}

static uint32_t gport_cfg_read(PCIDevice *d, uint32_t addr, int len)
{
    GPortDev *pd = gport_dev_of(d);
    GauntletPort *s;
    GFaultEvent ev = { 0 };
    uint32_t val, fired;
    char detail[64];

    if (!pd) {
        return pci_default_read_config(d, addr, len);
    }
    s = pd->port;
    s->pi.cfg_reads++;
    if (gport_link_event(s, "cfg.read", addr)) {
        return gpi_ones(len);
    }
    val = pd->cfg_read(d, addr, len);
    if (!gfault_watches(&s->engine, GPF_CFG_READ)) {
        return val;
    }
    ev.known = 1u << GPK_OFF;
    ev.key[GPK_OFF] = addr;
    ev.len[GPK_OFF] = len;
    snprintf(detail, sizeof(detail), "devfn %02x.%x off 0x%x len %d",
             PCI_SLOT(d->devfn), PCI_FUNC(d->devfn), addr, len);
    val = gpi_read_value(&s->pi, GPF_CFG_READ, &ev, val, len, gport_now(),
                         detail, &fired);
    gport_trace_fired(s, fired, "cfg.read", addr);
    return val;
}

static void gport_cfg_write(PCIDevice *d, uint32_t addr, uint32_t val,
                            int len)
{
    GPortDev *pd = gport_dev_of(d);

    if (!pd) {
        pci_default_write_config(d, addr, val, len);
        return;
    }
    if (gport_link_event(pd->port, "cfg.write", addr)) {
        return;
    }
    pd->cfg_write(d, addr, val, len);
}

/* ---- hotplug: wrap the config hooks of what is plugged --------------- */

static void gport_plug(HotplugHandler *hh, DeviceState *dev, Error **errp)
{
    GauntletPort *s = GAUNTLET_PORT(hh);
    Error *local = NULL;
    PCIDevice *d;
    GPortDev *pd;

    gport_parent_hc.plug(hh, dev, &local);
    if (local) {
        error_propagate(errp, local);
        return;
    }
    if (!object_dynamic_cast(OBJECT(dev), TYPE_PCI_DEVICE)) {
        return;
    }
    d = PCI_DEVICE(dev);
    pd = gport_dev_get(s, pci_get_bus(d), d->devfn);
    if (!pd || pd->dev == d) {
        return;
    }
    pd->dev = d;
    pd->cfg_read = d->config_read;
    pd->cfg_write = d->config_write;
    d->config_read = gport_cfg_read;
    d->config_write = gport_cfg_write;
}

static void gport_forget(GauntletPort *s, PCIDevice *d)
{
    unsigned i;

    for (i = 0; i < s->ndevs; i++) {
        GPortDev *pd = s->devs[i];

        if (pd->dev != d) {
            continue;
        }
        d->config_read = pd->cfg_read;
        d->config_write = pd->cfg_write;
        pd->dev = NULL;
        gpi_access_drop(&pd->acc);
        gpi_queue_drop_dev(&s->pi, pd->devfn);
    }
}

static void gport_unplug(HotplugHandler *hh, DeviceState *dev, Error **errp)
{
    if (object_dynamic_cast(OBJECT(dev), TYPE_PCI_DEVICE)) {
        gport_forget(GAUNTLET_PORT(hh), PCI_DEVICE(dev));
    }
    gport_parent_hc.unplug(hh, dev, errp);
}

/* ---- the rule set ---------------------------------------------------- */

/* After any change of the rules: map the overlay only when it is needed. */
static void gport_update(GauntletPort *s)
{
    bool ovl;

    gpi_rules_changed(&s->pi, false);
    if (!s->ready) {
        return;
    }
    ovl = gpi_mmio_watched(&s->pi);
    if (ovl != s->ovl_on) {
        memory_region_transaction_begin();
        memory_region_set_enabled(&s->ovl_mem, ovl);
        memory_region_set_enabled(&s->ovl_io, ovl);
        memory_region_transaction_commit();
        s->ovl_on = ovl;
    }
}

static void gport_rules_changed(void *opaque, bool replaced)
{
    GauntletPort *s = opaque;
    unsigned i;

    for (i = 0; i < s->ndevs; i++) {
        gpi_access_rules_changed(&s->devs[i]->acc, replaced);
    }
    gpi_rules_changed(&s->pi, replaced);
    gport_update(s);
}

static void gport_get_stats(Object *obj, Visitor *v, const char *name,
                            void *opaque, Error **errp)
{
    GauntletPort *s = GAUNTLET_PORT(obj);
    GPortInterpose *pi = &s->pi;
    uint64_t fired = 0, queued = gpi_queue_count(pi);
    uint64_t applied = 0, missed = 0;
    bool link_down = pi->link_down;
    unsigned i;

    for (i = 0; i < s->engine.nrules; i++) {
        fired += s->engine.rules[i].fired;
    }
    for (i = 0; i < s->ndevs; i++) {
        applied += s->devs[i]->acc.applied;
        missed += s->devs[i]->acc.missed;
    }
    if (!visit_start_struct(v, name, NULL, 0, errp)) {
        return;
    }
    if (visit_type_uint64(v, "translations", &pi->translations, errp) &&
        visit_type_uint64(v, "msis", &pi->msis, errp) &&
        visit_type_uint64(v, "msis-sent", &pi->msis_sent, errp) &&
        visit_type_uint64(v, "mmio-reads", &pi->mmio_reads, errp) &&
        visit_type_uint64(v, "mmio-writes", &pi->mmio_writes, errp) &&
        visit_type_uint64(v, "cfg-reads", &pi->cfg_reads, errp) &&
        visit_type_uint64(v, "refused", &pi->refused, errp) &&
        visit_type_uint64(v, "data-faults-applied", &applied, errp) &&
        visit_type_uint64(v, "data-faults-missed", &missed, errp) &&
        visit_type_uint64(v, "messages-dropped", &pi->msg_overflow, errp) &&
        visit_type_uint64(v, "messages-queued", &queued, errp) &&
        visit_type_uint64(v, "faults-fired", &fired, errp) &&
        visit_type_bool(v, "link-down", &link_down, errp)) {
        visit_check_struct(v, errp);
    }
    visit_end_struct(v, NULL);
}

static void gport_instance_init(Object *obj)
{
    GauntletPort *s = GAUNTLET_PORT(obj);

    gpi_init(&s->pi, &s->engine);
    gfault_qemu_init(&s->fq, obj, &s->engine, &gport_fault_vocab,
                     "gauntlet-port", gport_rules_changed, s);
    object_property_add(obj, "port-stats", "GauntletPortStats",
                        gport_get_stats, NULL, NULL, NULL);
}

static void gport_instance_finalize(Object *obj)
{
    GauntletPort *s = GAUNTLET_PORT(obj);

    gfault_qemu_finalize(&s->fq);
}

/* ---- the root port --------------------------------------------------- */

static uint8_t gport_aer_vector(const PCIDevice *d)
{
    return 0;
}

static int gport_interrupts_init(PCIDevice *d, Error **errp)
{
    int rc = msix_init_exclusive_bar(d, 1, 0, errp);

    if (rc < 0) {
        assert(rc == -ENOTSUP);
    } else {
        msix_vector_use(d, 0);
    }
    return rc;
}

static void gport_interrupts_uninit(PCIDevice *d)
{
    msix_uninit_exclusive_bar(d);
}

static void gport_realize(DeviceState *dev, Error **errp)
{
    GauntletPort *s = GAUNTLET_PORT(dev);
    PCIDevice *d = PCI_DEVICE(dev);
    PCIBridge *br = PCI_BRIDGE(dev);
    PCIESlot *slot = PCIE_SLOT(d);
    PCIERootPortClass *rpc = PCIE_ROOT_PORT_GET_CLASS(d);
    Error *local = NULL;

    /* the rules first: a bad rule fails before anything is built */
    if (!gfault_qemu_realize(&s->fq, errp)) {
        return;
    }
    gport_parent_realize(dev, &local);
    if (local) {
        error_propagate(errp, local);
        return;
    }
    if (s->res_reserve.io == -1 && slot->hotplug && !slot->native_hotplug) {
        s->res_reserve.io = GPORT_DEFAULT_IO_RANGE;
    }
    if (pci_bridge_qemu_reserve_cap_init(d, 0, s->res_reserve, errp) < 0) {
        rpc->parent_class.exit(d);
        return;
    }
    if (!s->res_reserve.io) {
        pci_word_test_and_clear_mask(d->wmask + PCI_COMMAND, PCI_COMMAND_IO);
        d->wmask[PCI_IO_BASE] = 0;
        d->wmask[PCI_IO_LIMIT] = 0;
    }

    pci_setup_iommu(pci_bridge_get_sec_bus(br), gport_dma_as, s);

    memory_region_init_ram_nomigrate(&s->ones, OBJECT(s), "gauntlet-port-ones",
                                     GPORT_PAGE, &local);
    if (!local) {
        memory_region_init_ram_nomigrate(&s->trash, OBJECT(s),
                                         "gauntlet-port-trash", GPORT_PAGE,
                                         &local);
    }
    if (local) {
        error_propagate(errp, local);
        rpc->parent_class.exit(d);
        return;
    }
    memset(memory_region_get_ram_ptr(&s->ones), 0xff, GPORT_PAGE);
    address_space_init(&s->ones_as, &s->ones, "gauntlet-port-ones");
    address_space_init(&s->trash_as, &s->trash, "gauntlet-port-trash");
    memory_region_init_io(&s->ovl_mem, OBJECT(s), &gport_ovl_mem_ops, s,
                          "gauntlet-port-mmio",
                          memory_region_size(&br->address_space_mem));
    memory_region_init_io(&s->ovl_io, OBJECT(s), &gport_ovl_io_ops, s,
                          "gauntlet-port-io",
                          memory_region_size(&br->address_space_io));
    memory_region_set_enabled(&s->ovl_mem, false);
    memory_region_set_enabled(&s->ovl_io, false);
    memory_region_add_subregion_overlap(&br->address_space_mem, 0,
                                        &s->ovl_mem, INT_MAX);
    memory_region_add_subregion_overlap(&br->address_space_io, 0,
                                        &s->ovl_io, INT_MAX);
    s->msg_timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, gport_msg_tick, s);
    s->ready = true;
    gport_update(s);
}

static void gport_reset(DeviceState *dev)
{
    GauntletPort *s = GAUNTLET_PORT(dev);
    unsigned i;

    gport_parent_reset(dev);
    /* messages in flight die with the reset; rules and the link stay */
    gpi_queue_clear(&s->pi);
    if (s->msg_timer) {
        timer_del(s->msg_timer);
    }
    for (i = 0; i < s->ndevs; i++) {
        gpi_access_drop(&s->devs[i]->acc);
    }
}

static int gport_pre_save(void *opaque)
{
    GauntletPort *s = opaque;

    s->vm_link_down = s->pi.link_down;
    return 0;
}

static int gport_post_load(void *opaque, int version_id)
{
    GauntletPort *s = opaque;
    int bad = gpi_queue_check(&s->pi);

    if (s->vm_link_down > 1) {
        error_report("gauntlet-port: migrated link_down %u refused "
                     "(neither 0 nor 1)", s->vm_link_down);
        return -EINVAL;
    }
    s->pi.link_down = s->vm_link_down;
    if (bad >= 0) {
        error_report("gauntlet-port: migrated message %d refused "
                     "(addr 0x%" PRIx64 ")", bad, s->pi.msgs[bad].addr);
        return -EINVAL;
    }
    gport_update(s);
    gport_msg_arm(s);
    return pcie_cap_slot_post_load(opaque, version_id);
}

static const VMStateDescription vmstate_gport_msg = {
    .name = "gauntlet-port/message",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (VMStateField[]) {
        VMSTATE_UINT8(used, GPortMsg),
        VMSTATE_UINT8(devfn, GPortMsg),
        VMSTATE_UINT16(requester_id, GPortMsg),
        VMSTATE_UINT32(data, GPortMsg),
        VMSTATE_UINT64(addr, GPortMsg),
        VMSTATE_INT64(due_ns, GPortMsg),
        VMSTATE_UINT32(left, GPortMsg),
        VMSTATE_UINT64(interval_ns, GPortMsg),
        VMSTATE_END_OF_LIST()
    }
};

static bool gport_test_migrate_msix(void *opaque, int version_id)
{
    GauntletPort *s = opaque;

    return s->migrate_msix;
}

static const VMStateDescription vmstate_gport = {
    .name = "gauntlet-port",
    .priority = MIG_PRI_PCI_BUS,
    .version_id = 1,
    .minimum_version_id = 1,
    .pre_save = gport_pre_save,
    .post_load = gport_post_load,
    .fields = (VMStateField[]) {
        VMSTATE_PCI_DEVICE(parent_obj.parent_obj.parent_obj.parent_obj,
                           GauntletPort),
        VMSTATE_STRUCT(parent_obj.parent_obj.parent_obj.parent_obj.exp.aer_log,
                       GauntletPort, 0, vmstate_pcie_aer_log, PCIEAERLog),
        VMSTATE_MSIX_TEST(parent_obj.parent_obj.parent_obj.parent_obj,
                          GauntletPort, gport_test_migrate_msix),
        VMSTATE_UINT8(vm_link_down, GauntletPort),
        VMSTATE_STRUCT(fq, GauntletPort, 0, vmstate_gfault_qemu, GFaultQemu),
        VMSTATE_STRUCT_ARRAY(pi.msgs, GauntletPort, GPORT_MAX_MSGS, 0,
                             vmstate_gport_msg, GPortMsg),
        VMSTATE_END_OF_LIST()
    }
};

static Property gport_props[] = {
    DEFINE_PROP_BOOL("x-migrate-msix", GauntletPort, migrate_msix, true),
    DEFINE_PROP_UINT32("bus-reserve", GauntletPort, res_reserve.bus, -1),
    DEFINE_PROP_SIZE("io-reserve", GauntletPort, res_reserve.io, -1),
    DEFINE_PROP_SIZE("mem-reserve", GauntletPort, res_reserve.mem_non_pref,
                     -1),
    DEFINE_PROP_SIZE("pref32-reserve", GauntletPort, res_reserve.mem_pref_32,
                     -1),
    DEFINE_PROP_SIZE("pref64-reserve", GauntletPort, res_reserve.mem_pref_64,
                     -1),
    DEFINE_PROP_PCIE_LINK_SPEED("x-speed", PCIESlot, speed,
                                PCIE_LINK_SPEED_16),
    DEFINE_PROP_PCIE_LINK_WIDTH("x-width", PCIESlot, width,
                                PCIE_LINK_WIDTH_32),
    DEFINE_PROP_END_OF_LIST()
};

static void gport_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    PCIDeviceClass *k = PCI_DEVICE_CLASS(klass);
    PCIERootPortClass *rpc = PCIE_ROOT_PORT_CLASS(klass);
    HotplugHandlerClass *hc = HOTPLUG_HANDLER_CLASS(klass);

    k->vendor_id = PCI_VENDOR_ID_REDHAT;
    k->device_id = PCI_DEVICE_ID_REDHAT_PCIE_RP;
    dc->desc = "PCI Express Root Port that injects faults (Gauntlet)";
    dc->vmsd = &vmstate_gport;
    /* its IOMMU regions live as long as the machine */
    dc->hotpluggable = false;
    device_class_set_props(dc, gport_props);
    device_class_set_parent_realize(dc, gport_realize, &gport_parent_realize);
    device_class_set_parent_reset(dc, gport_reset, &gport_parent_reset);

    rpc->aer_vector = gport_aer_vector;
    rpc->interrupts_init = gport_interrupts_init;
    rpc->interrupts_uninit = gport_interrupts_uninit;
    rpc->aer_offset = GPORT_AER_OFFSET;
    rpc->acs_offset = GPORT_ACS_OFFSET;

    gport_parent_hc = *hc;
    hc->plug = gport_plug;
    hc->unplug = gport_unplug;
}

static void gport_iommu_class_init(ObjectClass *klass, void *data)
{
    IOMMUMemoryRegionClass *imrc = IOMMU_MEMORY_REGION_CLASS(klass);

    imrc->translate = gport_translate;
    imrc->notify_flag_changed = gport_notify_flag_changed;
}

static const TypeInfo gport_info = {
    .name = TYPE_GAUNTLET_PORT,
    .parent = TYPE_PCIE_ROOT_PORT,
    .instance_size = sizeof(GauntletPort),
    .instance_init = gport_instance_init,
    .instance_finalize = gport_instance_finalize,
    .class_init = gport_class_init,
};

static const TypeInfo gport_iommu_info = {
    .name = TYPE_GAUNTLET_PORT_IOMMU,
    .parent = TYPE_IOMMU_MEMORY_REGION,
    .class_init = gport_iommu_class_init,
};

static void gport_register_types(void)
{
    type_register_static(&gport_info);
    type_register_static(&gport_iommu_info);
}

type_init(gport_register_types)
