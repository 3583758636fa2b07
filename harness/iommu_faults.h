/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * DMA faults an IOMMU caught, counted from the logs a run leaves
 * (the iommu verdict, judge_iommu.c): QEMU's log on the host and the
 * guest's kernel log.
 *
 * Host, QEMU 7.2's intel-iommu (vm.c turns only these trace events on, the
 * "log" trace backend writes them to QEMU's stderr, qemu.log):
 *   vtd_dmar_fault sid 0x100 fault 6 addr 0x1000 write 0
 *                       a DMA-remapping fault (reported to the guest)
 *   vtd_fault_disabled  a fault its context entry keeps quiet (FPD)
 * QEMU translates a DMA in pieces and reports each piece that faults: a
 * 32 KiB transfer to an unmapped address is 8192 events at 0x1000, 0x1004,
 * ...  So one fault is a run of events from one requester (sid) in one
 * direction, each address a little above the last (at most
 * GIO_RUN_STEP bytes); the events are counted too.
 * QEMU 7.2 has no trace event for an interrupt-remapping fault: it says
 * each kind once per process (error_report_once), as
 *   qemu-system-x86_64: vtd_irte_get: detected non-present IRTE ...
 *   qemu-system-x86_64: vtd_interrupt_remap_msi: invalid IR MSI ...
 * so those count kinds, not events (a lower bound).
 *
 * Guest (Linux 6.1 drivers/iommu/intel/dmar.c, rate-limited):
 *   DMAR: [DMA Read NO_PASID] Request device [01:00.0] fault addr 0x...
 *   DMAR: [DMA Write NO_PASID] ...   DMAR: [INTR-REMAP] Request device ...
 */
#ifndef GAUNTLET_IOMMU_FAULTS_H
#define GAUNTLET_IOMMU_FAULTS_H

#include <stddef.h>
#include <stdint.h>

/* Fault lines kept for the report (the first ones of each log). */
#define GIO_MAX_LINES 16
/* The largest step between two pieces of one faulting DMA. */
#define GIO_RUN_STEP 64

typedef struct GioCounts {
    int64_t host_dmar;          /* faulting DMAs: runs of the events */
    int64_t host_events;        /* vtd_dmar_fault + vtd_fault_disabled */
    int64_t host_ir;            /* interrupt-remapping error kinds */
    int64_t guest_dmar;         /* DMAR: [DMA Read|Write ...] lines */
    int64_t guest_ir;           /* DMAR: [INTR-REMAP] lines */
    char *lines[GIO_MAX_LINES]; /* malloc'd, host ones first */
    size_t nlines;
    /* the last vtd_dmar_fault, to join a run (valid: one was seen) */
    struct { unsigned sid, write; uint64_t addr; int valid; } last;
} GioCounts;

/* Add what one QEMU log (host) holds to c. */
void gio_count_host(GioCounts *c, const char *log, size_t len);
/* Add what a guest kernel log (the console) holds to c. */
void gio_count_guest(GioCounts *c, const char *log, size_t len);
/* The faults the IOMMU caught: each kind by the side that saw more (the
 * guest's lines are rate-limited, the host's IR reports are once a kind;
 * a run whose QEMU log was lost still counts the guest's). */
int64_t gio_total(const GioCounts *c);
void gio_free(GioCounts *c);

#endif /* GAUNTLET_IOMMU_FAULTS_H */
