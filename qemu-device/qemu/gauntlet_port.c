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
#include "trace.h"

#define TYPE_GAUNTLET_PORT "gauntlet-port"
#define TYPE_GAUNTLET_PORT_IOMMU "gauntlet-port-iommu"
OBJECT_DECLARE_SIMPLE_TYPE(GauntletPort, GAUNTLET_PORT)

#define GPORT_AER_OFFSET        0x100
#define GPORT_ACS_OFFSET        (GPORT_AER_OFFSET + PCI_ERR_SIZEOF)
#define GPORT_DEFAULT_IO_RANGE  4096
#define GPORT_MSI_BASE          0xfee00000ull
#define GPORT_MSI_SIZE          0x100000ull
#define GPORT_PAGE              4096ull
#define GPORT_MAX_MSGS          64      /* delayed or stormed messages */
#define GPORT_MAX_DEVS          32      /* devices behind one port */
#define GPORT_PEND_TRIES        16      /* accesses a corrupt() may wait */

/* A message the port sends later: delayed, or the rest of a storm. */
typedef struct GPortMsg {
    bool used;
    uint8_t devfn;
    uint16_t requester_id;
    uint32_t data;
    uint64_t addr;
    int64_t due_ns;
    uint32_t left;              /* storm: messages still to send after this */
    uint64_t interval_ns;
} GPortMsg;

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

    /*
     * An access routed to xpose or fail reaches it in pieces of at most 8
     * bytes, and the memory core translates again before each piece: the
     * pieces that continue it (the next byte, in the same page, the same
     * way) are the same access, not new events.
     */
    bool cont;
    bool cont_write;
    uint64_t cont_start, cont_next, cont_end;
    IOMMUTLBEntry cont_entry;
    /*
     * The last translation was of a message (gport_xpose_write delivers
     * it as one), not of data: a data fault waiting for its byte
     * (pend) must neither hide a message from the msi rules nor change it.
     */
    bool xlat_msg;
    PCIDevice *dev;             /* while plugged */
    PCIConfigReadFunc *cfg_read;
    PCIConfigWriteFunc *cfg_write;

    /* The data fault of the last translation, applied as the bytes pass. */
    bool pend;
    uint64_t pend_lo, pend_hi;  /* the translation's bytes [lo, hi) */
    uint64_t pend_addr;         /* corrupt: the byte */
    uint64_t pend_off;          /* corrupt: its offset in the access */
    bool pend_write;            /* the access's direction */
    unsigned pend_tries;        /* accesses it may still wait for */
    uint8_t pend_value;
    bool pend_invert;
    uint8_t pend_flip[8];       /* flip: bit masks of bytes pend_addr.. */
    bool pend_is_flip;
} GPortDev;

struct GauntletPort {
    PCIESlot parent_obj;

    PCIResReserve res_reserve;
    bool migrate_msix;

    GFaultEngine engine;
    GFaultQemu fq;
    bool ready;                 /* realized: the regions below exist */
    bool link_down;
    bool dma_watch;             /* a rule watches DMA, MSI or the link */

    GPortDev *devs[GPORT_MAX_DEVS];
    unsigned ndevs;

    /* One page each: all-ones reads come from ones, dropped writes go to
     * trash; both RAM, so an access to them is one translation. */
    MemoryRegion ones, trash;
    AddressSpace ones_as, trash_as;
    MemoryRegion ovl_mem, ovl_io;
    bool ovl_on;

    QEMUTimer *msg_timer;
    GPortMsg msgs[GPORT_MAX_MSGS];

    /* port-stats */
    uint64_t st_translations, st_msis, st_msis_sent;
    uint64_t st_mmio_reads, st_mmio_writes;
    uint64_t st_cfg_reads, st_data_applied, st_data_missed;
    uint64_t st_msg_overflow, st_refused;
};

static HotplugHandlerClass gport_parent_hc;
static DeviceRealize gport_parent_realize;
static DeviceReset gport_parent_reset;

static uint64_t gport_now(void)
{
    return qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
}

static uint64_t gport_ones(unsigned size)
{
    return size >= 8 ? UINT64_MAX : (1ull << (size * 8)) - 1;
}

/* ---- the link ------------------------------------------------------- */

/*
 * A transaction crosses the port: the "link" rules see it.  True when the
 * link is down (now or already): the transaction fails.
 */
static bool gport_link_event(GauntletPort *s, const char *what,
                             uint64_t addr)
{
    GFaultEngine *e = &s->engine;
    uint32_t mask;
    unsigned i;

    if (s->link_down) {
        return true;
    }
    if (!gfault_watches(e, GPF_LINK)) {
        return false;
    }
    mask = gfault_eval(e, GPF_LINK, NULL);
    for (i = 0; mask; i++, mask >>= 1) {
        if ((mask & 1) && e->rules[i].action == GPA_ALLONES) {
            s->link_down = true;
            gfault_log(e, gport_now(), i, "link down at %s 0x%" PRIx64,
                       what, addr);
            trace_gport_link_down(what, addr);
        }
    }
    return s->link_down;
}

/* ---- DMA: the IOMMU ------------------------------------------------- */

/* The value corrupt() gives field; *invert when it names the field alone. */
static bool gport_corrupt_arg(const GFaultRule *r, unsigned field,
                              uint64_t *value, bool *invert)
{
    unsigned j;

    for (j = 0; j < r->ncorrupt; j++) {
        if (r->corrupt[j].field == field) {
            *value = r->corrupt[j].value;
            *invert = r->corrupt[j].invert;
            return true;
        }
    }
    return false;
}

/*
 * corrupt(value=V) makes a read return V, corrupt(value) (or corrupt with
 * no value) inverts it.
 */
static uint64_t gport_corrupt_value(const GFaultRule *r, unsigned field,
                                    uint64_t in)
{
    uint64_t value;
    bool invert;

    if (!gport_corrupt_arg(r, field, &value, &invert) || invert) {
        return ~in;
    }
    return value;
}

/* Arm the data fault of rule idx for the translation [addr, page end). */
static void gport_arm_data(GPortDev *pd, GFaultRule *r, uint64_t addr,
                           bool write)
{
    uint64_t end = (addr | (GPORT_PAGE - 1)) + 1;
    uint32_t bits, n;

    pd->pend = true;
    pd->pend_write = write;
    pd->pend_lo = addr;
    pd->pend_hi = end;
    pd->pend_is_flip = r->action == GPA_FLIP;
    if (!pd->pend_is_flip) {
        uint64_t off = 0, value = 0;
        bool invert = false;

        gport_corrupt_arg(r, GPFF_DMA_OFFSET, &off, &invert);
        pd->pend_off = off;
        pd->pend_tries = GPORT_PEND_TRIES;
        pd->pend_addr = off < end - addr ? addr + off : end - 1;
        invert = false;
        pd->pend_invert = !gport_corrupt_arg(r, GPFF_DMA_VALUE, &value,
                                              &invert) || invert;
        pd->pend_value = value;
        return;
    }
    /* flip(bits=N): N distinct bits of the (at most) 8 bytes from addr */
    memset(pd->pend_flip, 0, sizeof(pd->pend_flip));
    pd->pend_addr = addr;
    n = MIN(end - addr, 8) * 8;
    bits = MIN(r->flip_bits ? r->flip_bits : 1, n);
    while (bits) {
        uint32_t b = gfault_rand(r) % n;

        if (!(pd->pend_flip[b / 8] & (1u << (b % 8)))) {
            pd->pend_flip[b / 8] |= 1u << (b % 8);
            bits--;
        }
    }
}

/* The bytes [addr, addr + size) pass: apply the armed data fault. */
static void gport_apply_data(GPortDev *pd, uint64_t addr, uint8_t *buf,
                             unsigned size)
{
    unsigned i;
    bool hit = false;

    if (!pd->pend) {
        return;
    }
    for (i = 0; i < size; i++) {
        uint64_t a = addr + i;

        if (pd->pend_is_flip) {
            if (a >= pd->pend_addr && a - pd->pend_addr < 8 &&
                pd->pend_flip[a - pd->pend_addr]) {
                buf[i] ^= pd->pend_flip[a - pd->pend_addr];
                pd->pend_flip[a - pd->pend_addr] = 0;
                hit = true;
            }
        } else if (a == pd->pend_addr) {
            buf[i] = pd->pend_invert ? ~buf[i] : pd->pend_value;
            pd->pend = false;
            pd->port->st_data_applied++;
            return;
        }
    }
    if (hit && pd->pend_is_flip) {
        for (i = 0; i < 8 && !pd->pend_flip[i]; i++) {
        }
        if (i == 8) {
            pd->pend = false;
            pd->port->st_data_applied++;
        }
    }
}

/*
 * A new access in direction write at addr: a corrupt() the last access
 * ended before waits for the next access of the same direction that
 * reaches its offset (at most GPORT_PEND_TRIES of them), and true says
 * this is the one; anything else the last access never reached is missed.
 */
static bool gport_retire_data(GPortDev *pd, bool write, uint64_t addr)
{
    uint64_t end = (addr | (GPORT_PAGE - 1)) + 1;

    if (!pd->pend) {
        return false;
    }
    if (!pd->pend_is_flip && pd->pend_tries) {
        if (write != pd->pend_write) {
            return false;
        }
        pd->pend_tries--;
        if (pd->pend_off < end - addr) {
            pd->pend_lo = addr;
            pd->pend_hi = end;
            pd->pend_addr = addr + pd->pend_off;
            return true;
        }
        if (pd->pend_tries) {
            return false;
        }
    }
    pd->pend = false;
    pd->port->st_data_missed++;
    return false;
}

/* The data fault waiting for its byte will never land (its rule set, its
 * device or the machine's state is gone). */
static void gport_drop_data(GPortDev *pd)
{
    if (pd->pend) {
        pd->pend = false;
        pd->port->st_data_missed++;
    }
    pd->cont = false;
}

static PCIDevice *gport_pdev(GPortDev *pd);

static bool gport_in_window(uint64_t addr)
{
    return addr >= GPORT_MSI_BASE && addr - GPORT_MSI_BASE < GPORT_MSI_SIZE;
}

/*
 * Whether a write to addr may be a message: into the x86 interrupt window,
 * or to the address of one of the device's enabled MSI or MSI-X vectors
 * (wherever it points).  The data decides (gport_is_msi).
 */
static int gport_msi_vector(PCIDevice *d, uint64_t addr, const uint32_t *data);

static bool gport_msi_addr(GPortDev *pd, uint64_t addr)
{
    return gport_in_window(addr) ||
           gport_msi_vector(gport_pdev(pd), addr, NULL) >= 0;
}

static IOMMUTLBEntry gport_translate(IOMMUMemoryRegion *iommu, hwaddr addr,
                                     IOMMUAccessFlags flag, int iommu_idx)
{
    GPortDev *pd = container_of(iommu, GPortDev, iommu);
    GauntletPort *s = pd->port;
    GFaultEngine *e = &s->engine;
    bool write = flag & IOMMU_WO;
    unsigned point = write ? GPF_DMA_WRITE : GPF_DMA_READ;
    IOMMUTLBEntry t = {
        .target_as = pd->upstream,
        .iova = addr & ~(GPORT_PAGE - 1),
        .translated_addr = addr & ~(GPORT_PAGE - 1),
        .addr_mask = GPORT_PAGE - 1,
        .perm = IOMMU_RW,
    };
    GFaultEvent ev = { 0 };
    uint32_t mask;
    unsigned i;

    if (!s->dma_watch && !s->link_down) {
        /* nothing to see: one translation for everything */
        t.iova = 0;
        t.translated_addr = 0;
        t.addr_mask = UINT64_MAX;
        return t;
    }
    pd->xlat_msg = false;
    if (pd->cont) {
        /* the same access again (a map asking why it failed), or its next
         * piece */
        if (write == pd->cont_write && addr >= pd->cont_start &&
            addr <= pd->cont_next && addr < pd->cont_end) {
            return pd->cont_entry;
        }
        pd->cont = false;
    }
    s->st_translations++;
    if (write && (gport_in_window(addr) ||
                  ((gfault_watches(e, GPF_MSI) || gfault_watches(e, GPF_LINK))
                   && gport_msi_addr(pd, addr)))) {
        /*
         * A message, maybe: never a dma.write event; seen with its data by
         * gport_xpose_write when a rule looks at messages.
         */
        if (s->link_down) {
            t.perm = IOMMU_NONE;
        } else if (gfault_watches(e, GPF_MSI) ||
                   gfault_watches(e, GPF_LINK)) {
            t.target_as = &pd->xpose_as;
            t.iova = t.translated_addr = addr & ~3ull;
            t.addr_mask = 3;
            pd->xlat_msg = true;
        }
        return t;
    }
    if (gport_retire_data(pd, write, addr)) {
        t.target_as = &pd->xpose_as;    /* a waiting corrupt() lands here */
    }
    if (gport_link_event(s, write ? "dma.write" : "dma.read", addr)) {
        t.perm = IOMMU_NONE;
        s->st_refused++;
        return t;
    }
    ev.known = 1u << GPK_ADDR;
    ev.key[GPK_ADDR] = addr;
    mask = gfault_watches(e, point) ? gfault_eval(e, point, &ev) : 0;
    for (i = 0; mask; i++, mask >>= 1) {
        GFaultRule *r = &e->rules[i];

        if (!(mask & 1)) {
            continue;
        }
        gfault_log(e, gport_now(), i, "%s addr 0x%" PRIx64 " devfn %02x.%x",
                   write ? "write" : "read", (uint64_t)addr,
                   PCI_SLOT(pd->devfn), PCI_FUNC(pd->devfn));
        trace_gport_fault_fired(r->id, write ? "dma.write" : "dma.read",
                                (uint64_t)addr);
        /* precedence: dma_error, then drop/allones, then corrupt/flip */
        switch (r->action) {
        case GPA_DMA_ERROR:
            t.target_as = &pd->fail_as;
            break;
        case GPA_DROP:
        case GPA_ALLONES:
            if (t.target_as != &pd->fail_as) {
                t.target_as = write ? &s->trash_as : &s->ones_as;
                t.translated_addr = 0;
                t.perm = write ? IOMMU_WO : IOMMU_RO;
            }
            break;
        case GPA_CORRUPT:
        case GPA_FLIP:
            if (t.target_as == pd->upstream ||
                t.target_as == &pd->xpose_as) {
                gport_arm_data(pd, r, addr, write);
                t.target_as = &pd->xpose_as;
            }
            break;
        default:
            break;
        }
    }
    if (t.target_as == &pd->fail_as ||
        t.target_as == &s->trash_as || t.target_as == &s->ones_as) {
        if (t.target_as == &pd->fail_as) {
            s->st_refused++;
        }
        if (pd->pend && pd->pend_lo == addr) {
            /* a corrupt() that landed here waits for the next access */
            pd->pend_tries = MAX(pd->pend_tries, 1);
        }
    }
    if (t.target_as == &pd->fail_as || t.target_as == &pd->xpose_as) {
        pd->cont = true;
        pd->cont_write = write;
        pd->cont_start = pd->cont_next = addr;
        pd->cont_end = (addr | (GPORT_PAGE - 1)) + 1;
        pd->cont_entry = t;
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

    pd->port->st_msis_sent++;
    address_space_stl_le(pd->upstream, addr, data, attrs, NULL);
}

static void gport_msg_arm(GauntletPort *s)
{
    int64_t next = INT64_MAX;
    unsigned i;

    for (i = 0; i < GPORT_MAX_MSGS; i++) {
        if (s->msgs[i].used && s->msgs[i].due_ns < next) {
            next = s->msgs[i].due_ns;
        }
    }
    if (next == INT64_MAX) {
        timer_del(s->msg_timer);
    } else {
        timer_mod(s->msg_timer, next);
    }
}

static bool gport_msg_queue(GauntletPort *s, GPortDev *pd, uint64_t addr,
                            uint32_t data, uint16_t rid, uint64_t delay_ns,
                            uint32_t left, uint64_t interval_ns)
{
    unsigned i;

    for (i = 0; i < GPORT_MAX_MSGS; i++) {
        GPortMsg *m = &s->msgs[i];

        if (!m->used) {
            *m = (GPortMsg) {
                .used = true, .devfn = pd->devfn, .requester_id = rid,
                .data = data, .addr = addr,
                .due_ns = gport_now() + delay_ns,
                .left = left, .interval_ns = interval_ns,
            };
            gport_msg_arm(s);
            return true;
        }
    }
    s->st_msg_overflow++;
    return false;
}

static void gport_msg_tick(void *opaque)
{
    GauntletPort *s = opaque;
    int64_t now = gport_now();
    unsigned i;

    for (i = 0; i < GPORT_MAX_MSGS; i++) {
        GPortMsg *m = &s->msgs[i];
        GPortDev *pd;

        if (!m->used || m->due_ns > now) {
            continue;
        }
        pd = gport_find_dev(s, m->devfn);
        if (!pd || !gport_pdev(pd) || s->link_down) {
            m->used = false;            /* its device or link is gone */
            continue;
        }
        gport_send(pd, m->addr, m->data, m->requester_id);
        if (m->left) {
            m->left--;
            m->due_ns = now + m->interval_ns;
        } else {
            m->used = false;
        }
    }
    gport_msg_arm(s);
}

/* An MSI or MSI-X message from the device behind the port. */
static void gport_msi(GPortDev *pd, uint64_t addr, uint32_t data,
                      MemTxAttrs attrs)
{
    GauntletPort *s = pd->port;
    GFaultEngine *e = &s->engine;
    GFaultEvent ev = { 0 };
    bool drop = false;
    uint64_t delay = 0;
    unsigned copies = 1, i;
    uint32_t mask;
    int vector;

    s->st_msis++;
    if (gport_link_event(s, "msi", addr)) {
        return;
    }
    if (!gfault_watches(e, GPF_MSI)) {
        gport_send(pd, addr, data, attrs.requester_id);
        return;
    }
    vector = gport_msi_vector(gport_pdev(pd), addr, &data);
    ev.known = 1u << GPK_ADDR;
    ev.key[GPK_ADDR] = addr;
    if (vector >= 0) {
        ev.known |= 1u << GPK_VECTOR;
        ev.key[GPK_VECTOR] = vector;
    }
    mask = gfault_eval(e, GPF_MSI, &ev);
    for (i = 0; mask; i++, mask >>= 1) {
        GFaultRule *r = &e->rules[i];

        if (!(mask & 1)) {
            continue;
        }
        gfault_log(e, gport_now(), i, "vector %d addr 0x%" PRIx64
                   " data 0x%" PRIx32 " devfn %02x.%x", vector, addr, data,
                   PCI_SLOT(pd->devfn), PCI_FUNC(pd->devfn));
        trace_gport_fault_fired(r->id, "msi", addr);
        switch (r->action) {
        case GPA_DROP:
            drop = true;
            break;
        case GPA_DELAY:
            delay += r->delay_ns;
            break;
        case GPA_DUPLICATE:
            copies++;
            break;
        case GPA_STORM:
            if (r->storm_count > 1) {
                /* at least 1 us apart: a storm must let time pass */
                uint64_t gap = MAX(r->storm_interval_ns, 1000);

                gport_msg_queue(s, pd, addr, data, attrs.requester_id,
                                gap, r->storm_count - 2, gap);
            }
            break;
        default:
            break;
        }
    }
    if (drop) {
        return;
    }
    for (i = 0; i < copies; i++) {
        if (delay) {
            gport_msg_queue(s, pd, addr, data, attrs.requester_id, delay,
                            0, 0);
        } else {
            gport_send(pd, addr, data, attrs.requester_id);
        }
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

    pd->cont_next = addr + size;
    r = address_space_read(pd->upstream, addr, attrs, buf, size);
    gport_apply_data(pd, addr, buf, size);
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
    if (pd->xlat_msg) {
        if (size == 4 &&
            (gport_in_window(addr) ||
             gport_msi_vector(gport_pdev(pd), addr, &msg) >= 0)) {
            gport_msi(pd, addr, data, attrs);
            return MEMTX_OK;
        }
        /* a write near a vector's address that is no message: as is */
        return address_space_write(pd->upstream, addr, attrs, buf, size);
    }
    pd->cont_next = addr + size;
    gport_apply_data(pd, addr, buf, size);
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

    pd->cont_next = MAX(pd->cont_next, addr + size);
    return false;
}


static MemTxResult gport_fail_read(void *opaque, hwaddr addr, uint64_t *data,
                                   unsigned size, MemTxAttrs attrs)
{
    GPortDev *pd = opaque;

    pd->cont_next = addr + size;
    *data = gport_ones(size);
    return MEMTX_DECODE_ERROR;
}

static MemTxResult gport_fail_write(void *opaque, hwaddr addr, uint64_t data,
                                    unsigned size, MemTxAttrs attrs)
{
    GPortDev *pd = opaque;

    pd->cont_next = addr + size;
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
    GFaultEngine *e = &s->engine;
    MemoryRegion *leaf;
    MemTxResult res;
    hwaddr off = addr;
    GFaultEvent ev = { 0 };
    uint64_t in, baroff = 0;
    uint32_t mask;
    unsigned i;
    int bar = -1;

    if (write) {
        s->st_mmio_writes++;
    } else {
        s->st_mmio_reads++;
    }
    if (gport_link_event(s, write ? "mmio.write" : "mmio.read", addr)) {
        if (!write) {
            *data = gport_ones(size);
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
    if (!gfault_watches(e, GPF_MMIO_READ)) {
        return res;
    }
    if (gport_find_bar(s, io, addr, &bar, &baroff)) {
        ev.known = (1u << GPK_BAR) | (1u << GPK_OFF);
        ev.key[GPK_BAR] = bar;
        ev.key[GPK_OFF] = baroff;
        ev.len[GPK_OFF] = size;
    }
    in = *data;
    mask = gfault_eval(e, GPF_MMIO_READ, &ev);
    for (i = 0; mask; i++, mask >>= 1) {
        GFaultRule *r = &e->rules[i];

        if (!(mask & 1)) {
            continue;
        }
        switch (r->action) {
        case GPA_ALLONES:
            *data = gport_ones(size);
            break;
        case GPA_CORRUPT:
            *data = gport_corrupt_value(r, GPFF_MMIO_VALUE, in);
            break;
        case GPA_FLIP: {
            uint32_t n = MIN(r->flip_bits ? r->flip_bits : 1, size * 8);

            while (n--) {
                *data ^= 1ull << (gfault_rand(r) % (size * 8));
            }
            break;
        }
        default:
            break;
        }
        *data &= gport_ones(size);
        gfault_log(e, gport_now(), i, "%s 0x%" PRIx64 " bar %d off 0x%"
                   PRIx64 " size %u: 0x%" PRIx64 " -> 0x%" PRIx64,
                   io ? "io" : "mem", (uint64_t)addr,
                   ev.known ? bar : -1, ev.known ? baroff : 0, size, in,
                   *data);
        trace_gport_fault_fired(r->id, "mmio.read", addr);
    }
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
    GFaultEngine *e;
    GFaultEvent ev = { 0 };
    uint32_t val, in, mask;
    unsigned i;

    if (!pd) {
        return pci_default_read_config(d, addr, len);
    }
    s = pd->port;
    e = &s->engine;
    s->st_cfg_reads++;
    if (gport_link_event(s, "cfg.read", addr)) {
        return gport_ones(len);
    }
    val = pd->cfg_read(d, addr, len);
    if (!gfault_watches(e, GPF_CFG_READ)) {
        return val;
    }
    ev.known = 1u << GPK_OFF;
    ev.key[GPK_OFF] = addr;
    ev.len[GPK_OFF] = len;
    in = val;
    mask = gfault_eval(e, GPF_CFG_READ, &ev);
    for (i = 0; mask; i++, mask >>= 1) {
        GFaultRule *r = &e->rules[i];

        if (!(mask & 1)) {
            continue;
        }
        switch (r->action) {
        case GPA_ALLONES:
            val = gport_ones(len);
            break;
        case GPA_CORRUPT:
            val = gport_corrupt_value(r, GPFF_CFG_VALUE, in);
            break;
        case GPA_FLIP: {
            uint32_t n = MIN(r->flip_bits ? r->flip_bits : 1, len * 8);

            while (n--) {
                val ^= 1u << (gfault_rand(r) % (len * 8));
            }
            break;
        }
        default:
            break;
        }
        val &= gport_ones(len);
        gfault_log(e, gport_now(), i, "devfn %02x.%x off 0x%x len %d: 0x%"
                   PRIx32 " -> 0x%" PRIx32, PCI_SLOT(d->devfn),
                   PCI_FUNC(d->devfn), addr, len, in, val);
        trace_gport_fault_fired(r->id, "cfg.read", addr);
    }
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
        unsigned m;

        if (pd->dev != d) {
            continue;
        }
        d->config_read = pd->cfg_read;
        d->config_write = pd->cfg_write;
        pd->dev = NULL;
        gport_drop_data(pd);
        for (m = 0; m < GPORT_MAX_MSGS; m++) {
            if (s->msgs[m].used && s->msgs[m].devfn == pd->devfn) {
                s->msgs[m].used = false;
            }
        }
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
    GFaultEngine *e = &s->engine;
    bool ovl;

    s->dma_watch = gfault_watches(e, GPF_DMA_READ) ||
                   gfault_watches(e, GPF_DMA_WRITE) ||
                   gfault_watches(e, GPF_MSI) ||
                   gfault_watches(e, GPF_LINK);
    if (!s->ready) {
        return;
    }
    ovl = s->link_down || gfault_watches(e, GPF_MMIO_READ) ||
          gfault_watches(e, GPF_LINK);
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
        s->devs[i]->cont = false;
        if (replaced) {
            /* the rule that armed a waiting corrupt() is gone with its set */
            gport_drop_data(s->devs[i]);
        }
    }
    if (replaced) {
        s->link_down = false;   /* a new rule set brings the link back */
    }
    gport_update(s);
}

static void gport_get_stats(Object *obj, Visitor *v, const char *name,
                            void *opaque, Error **errp)
{
    GauntletPort *s = GAUNTLET_PORT(obj);
    uint64_t fired = 0, queued = 0;
    bool link_down = s->link_down;
    unsigned i;

    for (i = 0; i < s->engine.nrules; i++) {
        fired += s->engine.rules[i].fired;
    }
    for (i = 0; i < GPORT_MAX_MSGS; i++) {
        queued += s->msgs[i].used;
    }
    if (!visit_start_struct(v, name, NULL, 0, errp)) {
        return;
    }
    if (visit_type_uint64(v, "translations", &s->st_translations, errp) &&
        visit_type_uint64(v, "msis", &s->st_msis, errp) &&
        visit_type_uint64(v, "msis-sent", &s->st_msis_sent, errp) &&
        visit_type_uint64(v, "mmio-reads", &s->st_mmio_reads, errp) &&
        visit_type_uint64(v, "mmio-writes", &s->st_mmio_writes, errp) &&
        visit_type_uint64(v, "cfg-reads", &s->st_cfg_reads, errp) &&
        visit_type_uint64(v, "refused", &s->st_refused, errp) &&
        visit_type_uint64(v, "data-faults-applied", &s->st_data_applied,
                          errp) &&
        visit_type_uint64(v, "data-faults-missed", &s->st_data_missed,
                          errp) &&
        visit_type_uint64(v, "messages-dropped", &s->st_msg_overflow,
                          errp) &&
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
    for (i = 0; i < GPORT_MAX_MSGS; i++) {
        s->msgs[i].used = false;
    }
    if (s->msg_timer) {
        timer_del(s->msg_timer);
    }
    for (i = 0; i < s->ndevs; i++) {
        gport_drop_data(s->devs[i]);
    }
}

static int gport_post_load(void *opaque, int version_id)
{
    GauntletPort *s = opaque;
    unsigned i;

    for (i = 0; i < GPORT_MAX_MSGS; i++) {
        GPortMsg *m = &s->msgs[i];

        if (!m->used) {
            continue;
        }
        if ((m->left && m->interval_ns < 1000) ||
            m->interval_ns > GFAULT_MAX_DELAY_NS ||
            m->left > GFAULT_MAX_STORM) {
            error_report("gauntlet-port: migrated message %u refused "
                         "(addr 0x%" PRIx64 ")", i, m->addr);
            return -EINVAL;
        }
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
        VMSTATE_BOOL(used, GPortMsg),
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
    .post_load = gport_post_load,
    .fields = (VMStateField[]) {
        VMSTATE_PCI_DEVICE(parent_obj.parent_obj.parent_obj.parent_obj,
                           GauntletPort),
        VMSTATE_STRUCT(parent_obj.parent_obj.parent_obj.parent_obj.exp.aer_log,
                       GauntletPort, 0, vmstate_pcie_aer_log, PCIEAERLog),
        VMSTATE_MSIX_TEST(parent_obj.parent_obj.parent_obj.parent_obj,
                          GauntletPort, gport_test_migrate_msix),
        VMSTATE_BOOL(link_down, GauntletPort),
        VMSTATE_STRUCT(fq, GauntletPort, 0, vmstate_gfault_qemu, GFaultQemu),
        VMSTATE_STRUCT_ARRAY(msgs, GauntletPort, GPORT_MAX_MSGS, 0,
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
