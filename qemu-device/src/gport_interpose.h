/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The Gauntlet fault port's interposition logic (docs/fault-port.md), apart
 * from QEMU: what happens to one access of a device behind the port.
 *
 *   - gpi_dma():  one DMA translation (at most a 4 KiB page): whether it
 *     is a message (the x86 interrupt window, or one of the device's
 *     enabled vectors), whether the link lets it through, and which dma.*
 *     rules turn it into a failed access, all-ones, a discarded write or an
 *     access whose data a corrupt()/flip() changes (GPortRoute);
 *   - the data fault's bookkeeping (GPortAccess): the pieces of one access
 *     (at most 8 bytes each) are one event, a corrupt() whose byte the
 *     access never reached waits for the next access of the same
 *     direction (at most GPORT_PEND_TRIES), and the byte changes as the
 *     data passes (gpi_data_pass());
 *   - gpi_msi(): one message against the msi rules: dropped, delayed,
 *     duplicated, stormed; the queue of messages sent later (at most
 *     GPORT_MAX_MSGS) and its ticks;
 *   - gpi_read_value(): the value of an MMIO or config read;
 *   - the link: once a link rule fires, every transaction fails until the
 *     rule set is replaced.
 *
 * It uses only the C library and gfault.c: gauntlet_port.c calls it inside
 * QEMU (and maps its answers onto IOMMU translations and memory regions),
 * fuzz/fuzz_port.c drives it standalone.
 */
#ifndef GPORT_INTERPOSE_H
#define GPORT_INTERPOSE_H

#include "gfault.h"
#include "gport_fault.h"

#define GPORT_PAGE              4096ull
#define GPORT_MSI_BASE          0xfee00000ull   /* the x86 interrupt window */
#define GPORT_MSI_SIZE          0x100000ull
#define GPORT_MAX_MSGS          64      /* delayed or stormed messages */
#define GPORT_PEND_TRIES        16      /* accesses a corrupt() may wait */
#define GPORT_STORM_MIN_NS      1000    /* a storm lets time pass */

/* A message the port sends later: delayed, or the rest of a storm. */
typedef struct GPortMsg {
    uint8_t used;               /* 0 or 1 (a byte: a stream may lie) */
    uint8_t devfn;
    uint16_t requester_id;
    uint32_t data;
    uint64_t addr;
    int64_t due_ns;
    uint32_t left;              /* storm: messages still to send after this */
    uint64_t interval_ns;
} GPortMsg;

/* Where one DMA translation sends the access. */
typedef enum GPortRoute {
    GPR_ALL,            /* no rule looks: the whole space, unchanged */
    GPR_UPSTREAM,       /* this page, unchanged */
    GPR_MSG,            /* a message: its 4 bytes go to gpi_msi() */
    GPR_DATA,           /* the page, with the data fault applied in passing */
    GPR_FAIL,           /* dma_error: the access fails */
    GPR_ONES,           /* a read of all-ones, for the rest of the page */
    GPR_TRASH,          /* a write discarded, for the rest of the page */
    GPR_REFUSED,        /* the link is down: no access */
} GPortRoute;

/* What the port keeps between the translations of one function. */
typedef struct GPortAccess {
    /*
     * An access routed to GPR_DATA or GPR_FAIL arrives in pieces of at
     * most 8 bytes, translated again before each: the pieces that continue
     * it (the next byte, in the same page, the same direction) are the same
     * access, not new events.
     */
    bool cont;
    bool cont_write;
    uint64_t cont_start, cont_next, cont_end;
    GPortRoute cont_route;
    /* The last translation was of a message, not of data. */
    bool xlat_msg;

    /* The data fault of the last translation, applied as the bytes pass. */
    bool pend;
    bool pend_write;            /* the access's direction */
    bool pend_is_flip;
    bool pend_invert;
    uint8_t pend_value;
    uint8_t pend_flip[8];       /* flip: bit masks of bytes pend_addr.. */
    unsigned pend_tries;        /* accesses it may still wait for */
    uint64_t pend_lo, pend_hi;  /* the translation's bytes [lo, hi) */
    uint64_t pend_addr;         /* corrupt: the byte; flip: the first */
    uint64_t pend_off;          /* corrupt: its offset in the access */

    /* data faults fired = applied + missed + (pend ? 1 : 0) */
    uint64_t armed, applied, missed;
} GPortAccess;

typedef struct GPortInterpose {
    GFaultEngine *engine;
    bool link_down;
    bool dma_watch;             /* a rule watches DMA, messages or the link */
    GPortMsg msgs[GPORT_MAX_MSGS];

    /* port-stats */
    uint64_t translations, msis, msis_sent, mmio_reads, mmio_writes;
    uint64_t cfg_reads, refused, msg_overflow;
} GPortInterpose;

/* Whether an address is a device's own vector's (any data). */
typedef bool GPortVectorAddr(void *opaque, uint64_t addr);
/* Send a queued message now; false: its device is gone (dropped). */
typedef bool GPortSend(void *opaque, const GPortMsg *m);

void gpi_init(GPortInterpose *pi, GFaultEngine *e);
/* After any change of the rule set (replaced: a new set, not an add). */
void gpi_rules_changed(GPortInterpose *pi, bool replaced);
void gpi_access_rules_changed(GPortAccess *a, bool replaced);
/* The data fault waiting for its byte will never land (counted missed). */
void gpi_access_drop(GPortAccess *a);
/* Whether MMIO must pass through the port (mmio.read or link rules). */
bool gpi_mmio_watched(const GPortInterpose *pi);
bool gpi_in_window(uint64_t addr);

/*
 * A transaction crosses the port (what: "mmio.read", "cfg.write"...): the
 * link rules see it.  0: the link is up; 1: it was down; 2: it went down
 * now.  Nonzero: the transaction fails.
 */
int gpi_link_event(GPortInterpose *pi, uint64_t now, const char *what,
                   uint64_t addr);

/*
 * One DMA translation of function devfn at addr.  vector_addr (may be
 * NULL) says whether addr is one of its enabled vectors' addresses.
 * *fired: the rules that fired (bit i: rule i).  The access's page is
 * [addr & ~(GPORT_PAGE - 1), +GPORT_PAGE); GPR_MSG is the 4 bytes at
 * addr & ~3; GPR_ALL is everything.
 */
GPortRoute gpi_dma(GPortInterpose *pi, GPortAccess *a, uint64_t now,
                   bool write, uint64_t addr, uint8_t devfn,
                   GPortVectorAddr *vector_addr, void *opaque,
                   uint32_t *fired);
/* Bytes [addr, addr + size) of a GPR_DATA access pass: change them. */
void gpi_data_pass(GPortAccess *a, uint64_t addr, uint8_t *buf,
                   unsigned size);
/* Bytes of a GPR_FAIL access were refused (it goes on to addr + size). */
void gpi_fail_pass(GPortAccess *a, uint64_t addr, unsigned size);

/*
 * One message (vector: its number, or -1 when not one of the device's):
 * how many copies to deliver now (the rest are queued).  *fired as above.
 */
unsigned gpi_msi(GPortInterpose *pi, uint64_t now, uint8_t devfn,
                 uint16_t requester_id, uint64_t addr, uint32_t data,
                 int vector, uint32_t *fired);
/* The queue: when the next message is due (INT64_MAX: none), sending what
 * is due at now (returns how many were sent), and dropping. */
int64_t gpi_queue_next(const GPortInterpose *pi);
unsigned gpi_queue_tick(GPortInterpose *pi, int64_t now, GPortSend *send,
                        void *opaque);
unsigned gpi_queue_count(const GPortInterpose *pi);
void gpi_queue_drop_dev(GPortInterpose *pi, uint8_t devfn);
void gpi_queue_clear(GPortInterpose *pi);
/* A migrated queue: the index of a message that cannot be, or -1. */
int gpi_queue_check(const GPortInterpose *pi);

/*
 * The value of an MMIO (point GPF_MMIO_READ) or config (GPF_CFG_READ) read
 * of size bytes that returned in, after the rules that fire; detail names
 * the read in the fault log.
 */
uint64_t gpi_read_value(GPortInterpose *pi, unsigned point,
                        const GFaultEvent *ev, uint64_t in, unsigned size,
                        uint64_t now, const char *detail, uint32_t *fired);

static inline uint64_t gpi_ones(unsigned size)
{
    return size >= 8 ? UINT64_MAX : (1ull << (size * 8)) - 1;
}

#endif /* GPORT_INTERPOSE_H */
