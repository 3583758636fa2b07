/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The seam between libkvfio's driver logic (kvfio.c) and a device.
 *
 * Two backends implement it: kvfio_vfio.c, a real Kestrel function bound
 * to vfio-pci (container/group API, BAR0 mmap, type1 IOMMU, MSI-X and the
 * device-request interrupt on eventfds, a timerfd for every wait), and
 * kvfio_double.c, Kestrel's device core running in-process through the
 * host double (qemu-device/standalone), with a virtual clock and an IOMMU
 * of its own, for the unit tests and the fuzzer.  The driver reaches the
 * device through nothing else.
 */
#ifndef KVFIO_BACKEND_H
#define KVFIO_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Events kvfio_backend_ops.wait reports (a bit mask). */
#define KVFIO_EV_CQ		(1u << 0)	/* MSI-X vector 0 fired */
#define KVFIO_EV_ERROR		(1u << 1)	/* MSI-X vector 1 fired */
#define KVFIO_EV_REQUEST	(1u << 2)	/* device-request: give it back */

struct kvfio_backend_ops {
	const char *name;
	/* Map BAR0 (or prepare access to it): 0 or -errno. */
	int (*map_bar)(void *be, char *err, size_t errlen);
	uint32_t (*read32)(void *be, uint32_t off);
	void (*write32)(void *be, uint32_t off, uint32_t val);
	/* Make [vaddr, vaddr + len) visible to the device at iova. */
	int (*dma_map)(void *be, void *vaddr, uint64_t iova, size_t len);
	int (*dma_unmap)(void *be, uint64_t iova, size_t len);
	/*
	 * Block until an interrupt, the device request or timeout_ms passed
	 * (0: only look); *events gets KVFIO_EV_*.  0, or -errno when the
	 * wait itself failed.
	 */
	int (*wait)(void *be, uint32_t timeout_ms, uint32_t *events);
	/* Monotonic milliseconds, the clock every deadline is kept in. */
	uint64_t (*now_ms)(void *be);
	/* Function-level reset (VFIO_DEVICE_RESET): 0 or -errno. */
	int (*reset)(void *be);
	/* Does the function still answer in configuration space? */
	bool (*present)(void *be);
	/* Bus mastering on or off (PCI_COMMAND). */
	void (*bus_master)(void *be, bool on);
	/* Give the device back (the request was honoured): no access after. */
	void (*release)(void *be);
	/* Free the backend itself (kvfio_close); may be NULL. */
	void (*destroy)(void *be);
};

#endif /* KVFIO_BACKEND_H */
