// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_vfio_completion: the user-space driver libkvfio (driver/vfio/kvfio.c,
 * with driver/kestrel_lib.c's completion checks) against a hostile device
 * behind its backend seam.
 *
 * The backend here is a scripted fake BAR: it answers the capability
 * registers and the reset/enable/IDENTIFY handshakes as Kestrel does,
 * fetches each submitted SQE at the doorbell (walking its segment lists
 * through the driver's own DMA mappings, and writing READ data then), and
 * lets the input decide everything after that: each time the driver
 * waits, an input byte posts the oldest command's completion correctly,
 * with a mutated field (tag, sq_head, status, result, phase, reserved), or
 * posts 16 raw bytes, drops a command, duplicates the last entry, raises
 * a fatal error, drops the link (registers all-ones), removes the card,
 * sends a spurious interrupt or the device request, or lets time pass.
 * The input also picks the options, a corrupt capability register and
 * two batches of requests.  Time is virtual: every deadline is reached
 * without sleeping.
 *
 * Invariants, beyond ASan and UBSan:
 *  - every DMA address the driver hands the device (rings, SQEs, segment
 *    lists, data) is mapped at the time, and bus mastering is on; the
 *    driver never rings a doorbell of a dead or released device;
 *  - kvfio_submit() returns 0, -EIO or -ENODEV, or -EINVAL exactly when
 *    a request lies past the capacity; every result is 0 or a negative
 *    errno; completed counts the zeros;
 *  - a READ that returns 0 holds exactly the data the device wrote for it;
 *  - every mapping is unmapped exactly once: none is left after close,
 *    no unmap names a range that is not mapped.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "kestrel_hw.h"
#include "kvfio.h"

#define MAX_MAPS	256
#define MAX_PEND	64
#define BS		512u
#define CAPACITY	4096u
#define MAX_REQ		8
#define MAX_BLOCKS	24

struct pend {
	uint16_t tag, sq_head;
	uint32_t bytes;
};

struct fake {
	FuzzIn *in;
	struct { uint64_t iova; uint8_t *va; size_t len; } maps[MAX_MAPS];
	unsigned nmaps;
	uint64_t clock_ms;
	uint32_t qdepth, bad_cap_reg, bad_cap_val;
	uint32_t ctrl, status, intr_mask;
	uint64_t sq_base, cq_base;
	uint32_t sq_size, cq_size, sq_head, cq_tail, cq_phase;
	bool allones, unplugged, bus_master, released;
	struct pend pend[MAX_PEND];
	unsigned npend;
	struct kestrel_cqe last;
	bool have_last;
	uint32_t events;
	bool request;
};

static uint8_t data_byte(uint64_t lba, uint32_t off)
{
	return (uint8_t)(lba * 131 + off * 7 + (off >> 9));
}

/* The driver's mapping of [iova, iova + len), or NULL. */
static uint8_t *xlate(struct fake *f, uint64_t iova, size_t len)
{
	unsigned i;

	for (i = 0; i < f->nmaps; i++)
		if (iova >= f->maps[i].iova &&
		    iova - f->maps[i].iova <= f->maps[i].len &&
		    len <= f->maps[i].len - (iova - f->maps[i].iova))
			return f->maps[i].va + (iova - f->maps[i].iova);
	return NULL;
}

static uint8_t *must_xlate(struct fake *f, uint64_t iova, size_t len)
{
	uint8_t *p = xlate(f, iova, len);

	FUZZ_ASSERT(f->bus_master);
	FUZZ_ASSERT(p != NULL);
	return p;
}

static void fake_reset(struct fake *f)
{
	f->ctrl = 0;
	f->status = 0;
	f->intr_mask = 0;
	f->sq_head = f->cq_tail = 0;
	f->npend = 0;
	f->have_last = false;
}

/* Walk a command's chained segment lists; visit each data segment. */
static void walk_sgl(struct fake *f, const struct kestrel_sqe *sqe,
		     bool is_read, uint64_t lba)
{
	uint64_t list = sqe->sgl_addr;
	uint32_t len = sqe->sgl_len, off = 0, n = 0;

	while (len && n < 2048) {
		struct kestrel_sg_desc *d;
		uint32_t i, cnt = len / sizeof(*d);

		FUZZ_ASSERT(len % sizeof(*d) == 0 && len <= 4096);
		d = (void *)must_xlate(f, list, len);
		len = 0;
		for (i = 0; i < cnt; i++, n++) {
			if (d[i].flags & KESTREL_SG_CHAIN) {
				FUZZ_ASSERT(i == cnt - 1);
				list = d[i].addr;
				len = d[i].len;
				break;
			}
			uint8_t *p = must_xlate(f, d[i].addr, d[i].len);

			if (is_read)
				for (uint32_t k = 0; k < d[i].len; k++)
					p[k] = data_byte(lba, off + k);
			off += d[i].len;
		}
	}
}

static void post(struct fake *f, struct kestrel_cqe *e, bool set_phase)
{
	uint8_t *slot;

	/*
	 * A hostile post may come at any time, so this is no invariant: the
	 * IOMMU or bus mastering stops it where the CQ is not the driver's.
	 */
	if (!f->cq_size || f->allones || !f->bus_master)
		return;
	slot = xlate(f, f->cq_base + (uint64_t)f->cq_tail * 16, 16);
	if (!slot)
		return;
	if (set_phase)
		e->status = (uint16_t)((e->status & ~1u) | f->cq_phase);
	memcpy(slot, e, 16);
	f->last = *e;
	f->have_last = true;
	if (++f->cq_tail == f->cq_size) {
		f->cq_tail = 0;
		f->cq_phase ^= 1;
	}
	if (!(f->intr_mask & KESTREL_INTR_CQ))
		f->events |= KVFIO_EV_CQ;
}

static void post_pend(struct fake *f, const struct pend *p)
{
	struct kestrel_cqe e = { .tag = p->tag, .sq_head = p->sq_head,
				 .result = p->bytes };

	post(f, &e, true);
}

static void identify(struct fake *f, const struct kestrel_sqe *sqe)
{
	struct kestrel_identify id;
	struct kestrel_sg_desc *d = (void *)must_xlate(f, sqe->sgl_addr, 16);
	uint8_t *p = must_xlate(f, d->addr, sizeof(id));

	memset(&id, 0, sizeof(id));
	id.magic = KESTREL_IDENTIFY_MAGIC;
	id.version = KESTREL_VERSION_1_0;
	id.capacity = CAPACITY;
	id.block_size = BS;
	id.max_qdepth = f->qdepth;
	id.max_segs = 64;
	id.max_xfer_blocks = 0x100000 / BS;
	id.nvec = KESTREL_NVEC;
	memset(id.serial, ' ', sizeof(id.serial));
	memcpy(id.serial, "FUZZ", 4);
	memset(id.model, ' ', sizeof(id.model));
	memset(id.firmware, ' ', sizeof(id.firmware));
	memcpy(p, &id, sizeof(id));
}

static void doorbell(struct fake *f, uint32_t tail)
{
	FUZZ_ASSERT(!f->released);
	if (!(f->status & KESTREL_STATUS_RDY) || f->status & KESTREL_STATUS_FATAL ||
	    tail >= f->sq_size)
		return;
	while (f->sq_head != tail) {
		struct kestrel_sqe sqe;

		memcpy(&sqe, must_xlate(f, f->sq_base + (uint64_t)f->sq_head * 64,
					64), 64);
		f->sq_head = (f->sq_head + 1) % f->sq_size;
		if (sqe.opcode == KESTREL_OP_IDENTIFY) {
			struct pend p = { sqe.tag, (uint16_t)f->sq_head,
					  KESTREL_IDENTIFY_SIZE };

			identify(f, &sqe);
			post_pend(f, &p);
			continue;
		}
		if (sqe.nsegs)
			walk_sgl(f, &sqe, sqe.opcode == KESTREL_OP_READ, sqe.lba);
		if (f->npend < MAX_PEND) {
			struct pend *p = &f->pend[f->npend++];

			p->tag = sqe.tag;
			p->sq_head = (uint16_t)f->sq_head;
			p->bytes = sqe.opcode == KESTREL_OP_FLUSH ? 0 :
				   sqe.nblocks * BS;
		}
	}
}

/* ---- the backend ops ---------------------------------------------------- */

static int f_map_bar(void *be, char *err, size_t errlen)
{
	return 0;
}

static uint32_t cap(struct fake *f, uint32_t reg, uint32_t val)
{
	return reg == f->bad_cap_reg ? f->bad_cap_val : val;
}

static uint32_t f_read32(void *be, uint32_t reg)
{
	struct fake *f = be;

	FUZZ_ASSERT(!f->released);
	if (f->allones || f->unplugged)
		return 0xffffffffu;
	switch (reg) {
	case KESTREL_REG_VERSION: return cap(f, reg, KESTREL_VERSION_1_0);
	case KESTREL_REG_CAP_QDEPTH: return cap(f, reg, f->qdepth);
	case KESTREL_REG_CAP_BLKSZ: return cap(f, reg, BS);
	case KESTREL_REG_CAP_CAPACITY_LO: return cap(f, reg, CAPACITY);
	case KESTREL_REG_CAP_CAPACITY_HI: return cap(f, reg, 0);
	case KESTREL_REG_CAP_NVEC: return cap(f, reg, KESTREL_NVEC);
	case KESTREL_REG_CAP_MAXSEG: return cap(f, reg, 64);
	case KESTREL_REG_CAP_TIMEOUT_MS: return cap(f, reg, 500);
	case KESTREL_REG_CAP_MAXXFER: return cap(f, reg, 0x100000 / BS);
	case KESTREL_REG_CAP_FEATURES: return cap(f, reg, 0);
	case KESTREL_REG_CTRL: return f->ctrl;
	case KESTREL_REG_STATUS: return f->status;
	default: return 0;
	}
}

static void f_write32(void *be, uint32_t reg, uint32_t val)
{
	struct fake *f = be;

	FUZZ_ASSERT(!f->released);
	if (f->allones || f->unplugged)
		return;
	switch (reg) {
	case KESTREL_REG_RESET:
		if (val == KESTREL_RESET_MAGIC)
			fake_reset(f);
		break;
	case KESTREL_REG_CTRL:
		if ((val & KESTREL_CTRL_EN) && !(f->ctrl & KESTREL_CTRL_EN)) {
			f->ctrl = KESTREL_CTRL_EN;
			FUZZ_ASSERT(f->sq_size >= 2 && f->cq_size >= 2);
			must_xlate(f, f->sq_base, (size_t)f->sq_size * 64);
			must_xlate(f, f->cq_base, (size_t)f->cq_size * 16);
			f->sq_head = f->cq_tail = 0;
			f->cq_phase = 1;
			f->status |= KESTREL_STATUS_RDY;
		} else if (!(val & KESTREL_CTRL_EN)) {
			fake_reset(f);
		}
		break;
	case KESTREL_REG_INTR_MASK: f->intr_mask = val; break;
	case KESTREL_REG_SQ_BASE_LO: f->sq_base = (f->sq_base & ~0xffffffffull) | val; break;
	case KESTREL_REG_SQ_BASE_HI: f->sq_base = (f->sq_base & 0xffffffffull) | (uint64_t)val << 32; break;
	case KESTREL_REG_SQ_SIZE: f->sq_size = val; break;
	case KESTREL_REG_CQ_BASE_LO: f->cq_base = (f->cq_base & ~0xffffffffull) | val; break;
	case KESTREL_REG_CQ_BASE_HI: f->cq_base = (f->cq_base & 0xffffffffull) | (uint64_t)val << 32; break;
	case KESTREL_REG_CQ_SIZE: f->cq_size = val; break;
	case KESTREL_REG_SQ_TAIL_DB: doorbell(f, val); break;
	default: break;
	}
}

static int f_dma_map(void *be, void *vaddr, uint64_t iova, size_t len)
{
	struct fake *f = be;
	unsigned i;

	FUZZ_ASSERT(!f->released);
	for (i = 0; i < f->nmaps; i++)
		FUZZ_ASSERT(iova + len <= f->maps[i].iova ||
			    f->maps[i].iova + f->maps[i].len <= iova);
	if (f->nmaps == MAX_MAPS)
		return -ENOSPC;
	f->maps[f->nmaps].iova = iova;
	f->maps[f->nmaps].va = vaddr;
	f->maps[f->nmaps].len = len;
	f->nmaps++;
	return 0;
}

static int f_dma_unmap(void *be, uint64_t iova, size_t len)
{
	struct fake *f = be;
	unsigned i;

	for (i = 0; i < f->nmaps; i++) {
		if (f->maps[i].iova == iova) {
			FUZZ_ASSERT(f->maps[i].len == len);
			f->maps[i] = f->maps[--f->nmaps];
			return 0;
		}
	}
	FUZZ_ASSERT(!"unmap of a range that is not mapped");
	return -ENOENT;
}

/* Each wait, one input byte plays the device; an empty input behaves. */
static int f_wait(void *be, uint32_t timeout_ms, uint32_t *events)
{
	struct fake *f = be;
	FuzzIn *in = f->in;
	struct kestrel_cqe e;
	unsigned i;

	FUZZ_ASSERT(!f->released);
	if (fin_empty(in)) {
		for (i = 0; i < f->npend; i++)
			post_pend(f, &f->pend[i]);
		f->npend = 0;
		f->clock_ms += f->events ? 1 : timeout_ms;
	} else {
		uint8_t op = fin_u8(in);

		switch (op % 13) {
		case 0:
		case 1:
			if (f->npend) {
				post_pend(f, &f->pend[0]);
				memmove(f->pend, f->pend + 1,
					--f->npend * sizeof(f->pend[0]));
			}
			break;
		case 2:
			if (f->npend) {
				struct pend p = f->pend[0];
				uint16_t v = fin_u16(in);

				memset(&e, 0, sizeof(e));
				e.tag = p.tag;
				e.sq_head = p.sq_head;
				e.result = p.bytes;
				switch (op >> 4 & 7) {
				case 0: e.tag = v; break;
				case 1: e.sq_head = v; break;
				case 2: e.status = (uint16_t)(v << 1); break;
				case 3: e.result = fin_u32(in); break;
				case 4: e.rsvd0 = v | 1; break;
				case 5: e.rsvd1 = v | 1; break;
				default: e.status = (uint16_t)((v % 8) << 1); break;
				}
				post(f, &e, true);
				f->npend--;
				memmove(f->pend, f->pend + 1,
					f->npend * sizeof(f->pend[0]));
			}
			break;
		case 3:
			fin_bytes(in, &e, sizeof(e));
			post(f, &e, op & 0x80);
			break;
		case 4:
			if (f->npend)
				memmove(f->pend, f->pend + 1,
					--f->npend * sizeof(f->pend[0]));
			break;
		case 5:
			if (f->have_last) {
				e = f->last;
				post(f, &e, false);
			}
			break;
		case 6:
			f->status |= KESTREL_STATUS_FATAL;
			f->events |= KVFIO_EV_ERROR;
			break;
		case 7:
			f->allones = !f->allones;
			break;
		case 8:
			f->events |= KVFIO_EV_CQ;
			break;
		case 9:
			f->events |= KVFIO_EV_REQUEST;
			break;
		case 10:
			if (op & 0x80)
				f->unplugged = true;
			break;
		case 11:
			f->clock_ms += fin_u8(in);
			break;
		default:
			f->clock_ms += timeout_ms;
			break;
		}
		f->clock_ms++;
	}
	*events = f->events;
	f->events = 0;
	return 0;
}

static uint64_t f_now(void *be)
{
	return ((struct fake *)be)->clock_ms;
}

static int f_reset(void *be)
{
	struct fake *f = be;

	FUZZ_ASSERT(!f->released);
	if (f->unplugged)
		return -ENOTTY;
	fake_reset(f);
	f->allones = false;
	return 0;
}

static bool f_present(void *be)
{
	return !((struct fake *)be)->unplugged;
}

static void f_bus_master(void *be, bool on)
{
	((struct fake *)be)->bus_master = on;
}

static void f_release(void *be)
{
	struct fake *f = be;

	f->released = true;
	f->nmaps = 0;
}

static const struct kvfio_backend_ops fake_ops = {
	.name = "fuzz",
	.map_bar = f_map_bar,
	.read32 = f_read32,
	.write32 = f_write32,
	.dma_map = f_dma_map,
	.dma_unmap = f_dma_unmap,
	.wait = f_wait,
	.now_ms = f_now,
	.reset = f_reset,
	.present = f_present,
	.bus_master = f_bus_master,
	.release = f_release,
};

/* ---- one input ------------------------------------------------------------ */

static void run_batch(struct kvfio_dev *d, FuzzIn *in)
{
	struct kestrel_submit s = { .size = sizeof(s),
				    .io_size = sizeof(struct kestrel_io) };
	struct kestrel_io ios[MAX_REQ];
	uint8_t *bufs[MAX_REQ];
	uint32_t i, n = fin_u8(in) % MAX_REQ + 1, ok = 0;
	bool bad = false;
	int ret;

	memset(ios, 0, sizeof(ios));
	for (i = 0; i < n; i++) {
		uint8_t b = fin_u8(in);
		uint32_t nb = fin_u8(in) % MAX_BLOCKS + 1;

		uint16_t lba = fin_u16(in);

		ios[i].opcode = b % 3 + 1;	/* READ, WRITE, FLUSH */
		bufs[i] = calloc(1, (size_t)MAX_BLOCKS * BS);
		memset(bufs[i], 0xee, (size_t)MAX_BLOCKS * BS);
		if (ios[i].opcode == KESTREL_IO_FLUSH)
			continue;
		/* With bit 7, a request may reach past the device's end. */
		ios[i].lba = b & 0x80 ? lba % (CAPACITY + 8) : lba % (CAPACITY - nb + 1);
		ios[i].nblocks = nb;
		ios[i].buf_len = (uint64_t)nb * BS;
		ios[i].buf = (uintptr_t)bufs[i];
		bad |= ios[i].lba + ios[i].nblocks > CAPACITY;
	}
	s.count = n;
	s.ios = (uintptr_t)ios;
	ret = kvfio_submit(d, &s);
	/* A request past the capacity refuses the batch, before anything. */
	FUZZ_ASSERT((ret == -EINVAL) == bad);
	FUZZ_ASSERT(ret == 0 || ret == -EIO || ret == -ENODEV || ret == -EINVAL);
	for (i = 0; i < n; i++) {
		if (ret)
			break;
		FUZZ_ASSERT(ios[i].result <= 0 && ios[i].result > -4096);
		ok += ios[i].result == 0;
		if (ios[i].result == 0 && ios[i].opcode == KESTREL_IO_READ)
			for (uint32_t k = 0; k < ios[i].buf_len; k++)
				FUZZ_ASSERT(bufs[i][k] == data_byte(ios[i].lba, k));
	}
	if (!ret)
		FUZZ_ASSERT(s.completed == ok);
	for (i = 0; i < n; i++)
		free(bufs[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t cap_regs[] = {
		KESTREL_REG_VERSION, KESTREL_REG_CAP_QDEPTH, KESTREL_REG_CAP_BLKSZ,
		KESTREL_REG_CAP_CAPACITY_LO, KESTREL_REG_CAP_NVEC,
		KESTREL_REG_CAP_MAXSEG, KESTREL_REG_CAP_TIMEOUT_MS,
		KESTREL_REG_CAP_MAXXFER,
	};
	struct fake *f = calloc(1, sizeof(*f));
	struct kvfio_dev *d = NULL;
	struct kvfio_opts o;
	char err[256] = "";
	FuzzIn in;
	uint8_t cfg;

	fin_init(&in, data, size);
	f->in = &in;
	f->bad_cap_reg = UINT32_MAX;
	cfg = fin_u8(&in);
	f->qdepth = cfg % 15 + 2;
	if (cfg & 0x80) {
		f->bad_cap_reg = cap_regs[fin_u8(&in) % 8];
		f->bad_cap_val = fin_u32(&in);
	}
	kvfio_default_opts(&o);
	o.timeout_ms = 10 + fin_u8(&in);
	o.max_retries = fin_u8(&in) % 4;
	o.qdepth = fin_u8(&in) % 20;
	o.ignore_unplug_request = cfg & 0x40;
	if (kvfio_open(&d, &fake_ops, f, &o, err, sizeof(err)) == 0) {
		run_batch(d, &in);
		run_batch(d, &in);
		if (fin_u8(&in) & 1) {
			int r = kvfio_reset(d);

			FUZZ_ASSERT(r == 0 || r == -EIO || r == -ENODEV);
			run_batch(d, &in);
		}
		kvfio_close(d);
	} else {
		FUZZ_ASSERT(err[0]);
	}
	FUZZ_ASSERT(f->nmaps == 0);
	free(f);
	return 0;
}
