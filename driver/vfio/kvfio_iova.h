/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libkvfio's IOVA allocator: page-granular first fit over one window,
 * freed ranges merged with their neighbours.  No allocation after init.
 */
#ifndef KVFIO_IOVA_H
#define KVFIO_IOVA_H

#include <stdint.h>

#define KVFIO_IOVA_MAX_RANGES	4096

struct kvfio_iova_range {
	uint64_t start, len;
};

struct kvfio_iova {
	uint64_t base, size, page;
	uint32_t nfree;
	struct kvfio_iova_range free[KVFIO_IOVA_MAX_RANGES];
};

void kvfio_iova_init(struct kvfio_iova *a, uint64_t base, uint64_t size,
		     uint64_t page);
/* 0 and *iova, or -ENOMEM. len is rounded up to the page. */
int kvfio_iova_alloc(struct kvfio_iova *a, uint64_t len, uint64_t *iova);
/* 0, or -EINVAL for a range that is not allocated (double free). */
int kvfio_iova_free(struct kvfio_iova *a, uint64_t iova, uint64_t len);
uint64_t kvfio_iova_free_bytes(const struct kvfio_iova *a);

#endif /* KVFIO_IOVA_H */
