// SPDX-License-Identifier: GPL-2.0
/*
 * IOVA allocator of libkvfio (kvfio_iova.h).
 */
#include <errno.h>
#include <string.h>

#include "kvfio_iova.h"

static uint64_t round_up_page(const struct kvfio_iova *a, uint64_t len)
{
	return (len + a->page - 1) & ~(a->page - 1);
}

void kvfio_iova_init(struct kvfio_iova *a, uint64_t base, uint64_t size,
		     uint64_t page)
{
	memset(a, 0, sizeof(*a));
	a->page = page;
	a->base = base;
	a->size = size & ~(page - 1);
	a->free[0].start = base;
	a->free[0].len = a->size;
	a->nfree = a->size ? 1 : 0;
}

int kvfio_iova_alloc(struct kvfio_iova *a, uint64_t len, uint64_t *iova)
{
	uint32_t i;

	if (!len)
		return -EINVAL;
	len = round_up_page(a, len);
	if (!len)
		return -ENOMEM;
	for (i = 0; i < a->nfree; i++) {
		struct kvfio_iova_range *r = &a->free[i];

		if (r->len < len)
			continue;
		*iova = r->start;
		r->start += len;
		r->len -= len;
		if (!r->len) {
			memmove(r, r + 1, (a->nfree - i - 1) * sizeof(*r));
			a->nfree--;
		}
		return 0;
	}
	return -ENOMEM;
}

int kvfio_iova_free(struct kvfio_iova *a, uint64_t iova, uint64_t len)
{
	uint64_t end;
	uint32_t i;

	len = round_up_page(a, len);
	if (!len || iova < a->base || iova & (a->page - 1) ||
	    iova - a->base > a->size || len > a->size - (iova - a->base))
		return -EINVAL;
	end = iova + len;
	/* i: the first free range after iova. */
	for (i = 0; i < a->nfree && a->free[i].start < iova; i++)
		;
	/* Overlap with a free neighbour: freeing what is not allocated. */
	if (i > 0 && a->free[i - 1].start + a->free[i - 1].len > iova)
		return -EINVAL;
	if (i < a->nfree && a->free[i].start < end)
		return -EINVAL;
	if (i > 0 && a->free[i - 1].start + a->free[i - 1].len == iova) {
		a->free[i - 1].len += len;
		if (i < a->nfree && a->free[i].start == end) {
			a->free[i - 1].len += a->free[i].len;
			memmove(&a->free[i], &a->free[i + 1],
				(a->nfree - i - 1) * sizeof(a->free[0]));
			a->nfree--;
		}
		return 0;
	}
	if (i < a->nfree && a->free[i].start == end) {
		a->free[i].start = iova;
		a->free[i].len += len;
		return 0;
	}
	if (a->nfree == KVFIO_IOVA_MAX_RANGES)
		return -ENOSPC;	/* the range is leaked, never reused */
	memmove(&a->free[i + 1], &a->free[i],
		(a->nfree - i) * sizeof(a->free[0]));
	a->free[i].start = iova;
	a->free[i].len = len;
	a->nfree++;
	return 0;
}

uint64_t kvfio_iova_free_bytes(const struct kvfio_iova *a)
{
	uint64_t n = 0;
	uint32_t i;

	for (i = 0; i < a->nfree; i++)
		n += a->free[i].len;
	return n;
}
