/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The Gauntlet fault port's fault vocabulary, on the shared engine
 * (gfault.h).  The port is a PCIe root port that injects faults into
 * whatever device sits behind it; its grammar is in docs/fault-port.md.
 *
 *   point[filter]:action(args):trigger,...
 *
 *   dma.read   [addr=A|A-B]    dma_error, allones, corrupt(offset=N,value=V),
 *                              flip(bits=N)
 *   dma.write  [addr=A|A-B]    dma_error, drop, corrupt(offset=N,value=V),
 *                              flip(bits=N)
 *   msi        [addr=..,vector=N]  drop, delay(T), duplicate,
 *                              storm(count=N,interval=T)
 *   mmio.read  [bar=0..5,off=A|A-B]  allones, corrupt(value[=V]), flip(bits=N)
 *   cfg.read   [off=A|A-B]     allones, corrupt(value=V), flip(bits=N)
 *   link                       allones
 *
 * The triggers are the engine's; "after=N" lets the first N matching
 * events at the rule's own point through (GFAULT_AFTER_EVENTS).
 */
#ifndef GPORT_FAULT_H
#define GPORT_FAULT_H

#include "gfault.h"

typedef enum GPortFaultPoint {
    GPF_DMA_READ,       /* "dma.read": one DMA read, at most a 4 KiB page */
    GPF_DMA_WRITE,      /* "dma.write": one DMA write, same */
    GPF_MSI,            /* "msi": one MSI/MSI-X message */
    GPF_MMIO_READ,      /* "mmio.read": a read of a BAR, memory or I/O */
    GPF_CFG_READ,       /* "cfg.read": a config-space read */
    GPF_LINK,           /* "link": every transaction crossing the port */
    GPF__MAX
} GPortFaultPoint;

typedef enum GPortFaultAction {
    GPA_DROP,           /* "drop" */
    GPA_DELAY,          /* "delay(T)" */
    GPA_CORRUPT,        /* "corrupt(...)" */
    GPA_FLIP,           /* "flip" / "flip(bits=N)" */
    GPA_DUPLICATE,      /* "duplicate" */
    GPA_STORM,          /* "storm(count=N,interval=T)" */
    GPA_ALLONES,        /* "allones" (link: the link goes down) */
    GPA_DMA_ERROR,      /* "dma_error" */
    GPA__MAX
} GPortFaultAction;

/* Filter keys (GFaultEvent.key[] indices). */
typedef enum GPortFaultKey {
    GPK_ADDR,           /* "addr": guest address, range (dma.*, msi) */
    GPK_BAR,            /* "bar": BAR number 0..5 (mmio.read) */
    GPK_OFF,            /* "off": offset in the BAR or config space, range */
    GPK_VECTOR,         /* "vector": MSI/MSI-X vector number (msi) */
    GPK__MAX
} GPortFaultKey;

/* Fields that corrupt() names. */
typedef enum GPortFaultField {
    GPFF_DMA_OFFSET,    /* dma.*: byte offset in the access, 0..4095 */
    GPFF_DMA_VALUE,     /* dma.*: the byte's new value (8 bits) */
    GPFF_MMIO_VALUE,    /* mmio.read: the value read (alone: inverted) */
    GPFF_CFG_VALUE,     /* cfg.read: the value read (needs =V) */
    GPFF__MAX
} GPortFaultField;

#define GPORT_MAX_BAR           5
#define GPORT_MAX_VECTOR        2047    /* MSI-X has at most 2048 vectors */
#define GPORT_DMA_PAGE          4096

extern const GFaultVocab gport_fault_vocab;

#endif /* GPORT_FAULT_H */
