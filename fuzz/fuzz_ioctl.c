// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_ioctl: the driver's request validation and command building
 * (driver/kestrel_lib.c) against Kestrel's own device core.
 *
 * Each input is a device configuration byte (bit 7: a queue-depth request
 * byte follows, else the device maximum), then a sequence of ioctls.  The harness follows driver/kestrel_chr.c and
 * kestrel_io.c: an unknown command is -ENOTTY, every argument struct is
 * copied in whole and validated with kestrel_validate_*(); structs are
 * built from a valid template with input-chosen byte pokes, or raw.
 * Requests of a KESTREL_IOC_SUBMIT batch that validation accepts are
 * "pinned" in guest RAM of an in-process Kestrel (the core and the host
 * double of qemu-device/, unchanged), split into DMA segments (page by
 * page, one contiguous segment, or input-chosen pieces, as an IOMMU or a
 * small max segment size would), described with kestrel_build_sgl() into
 * segment lists in guest RAM, filled into an SQE with kestrel_sqe_fill(),
 * and executed by the device.  The contract checked:
 *   - the device's capability registers and IDENTIFY data pass the
 *     driver's checks (kestrel_caps_check, kestrel_identify_check);
 *   - every validate_* verdict equals an independent reading of the UAPI
 *     rules (size, flags, reserved fields, ranges);
 *   - kestrel_build_sgl() describes every mapping the driver accepts;
 *   - the device completes every accepted command with SUCCESS (or
 *     MEDIA_ERROR when the backend is told to fail), and the completion
 *     passes kestrel_cqe_check() (tag, sq_head, result = bytes);
 *   - a READ leaves exactly the medium's bytes in the buffer, a WRITE
 *     puts the buffer's bytes on the medium.
 */
#include <stdio.h>
#include <stdlib.h>

#include "kestrel_lib.h"
#include "fuzz_ioctl_dev.h"
#include "fuzz_input.h"

#define PAGE		4096u
#define SQ_BASE		0x1000u
#define CQ_BASE		0x2000u
#define LIST_BASE	0x3000u		/* 5 lists of 4 KiB: up to 1024 segs */
#define DATA_BASE	0x10000u
#define GUEST_RAM	(DATA_BASE + KESTREL_MAX_XFER_BYTES_LIMIT + PAGE)
#define CAPACITY	2048u
#define MAX_STEPS	256
#define MAX_RESETS	4	/* per input, see LLVMFuzzerTestOneInput() */
#define MAX_SEGS_BUF	2048

struct variant {
	u32 qdepth, block_size, max_segs;
	struct fdev *h;
	struct kestrel_limits lim;
};

static struct variant variants[] = {
	{ 64, 512, 32, NULL, { 0 } },
	{ 8, 4096, 1, NULL, { 0 } },
	{ 4, 512, 300, NULL, { 0 } },
	{ 64, 4096, 1024, NULL, { 0 } },
	{ 2, 512, 2, NULL, { 0 } },
	{ 16, 4096, 256, NULL, { 0 } },
	{ 3, 512, 257, NULL, { 0 } },
	{ 32, 512, 1024, NULL, { 0 } },
};
#define NVARIANTS (sizeof(variants) / sizeof(variants[0]))

static struct variant *v;
static struct fdev *h;
static u8 *ram;
static struct kestrel_tag_shadow shadow[KESTREL_MAX_QDEPTH];
static u8 gens[KESTREL_MAX_QDEPTH];
static u32 qdepth, sq_tail, cq_head, cq_phase;
static struct kestrel_seg segs[MAX_SEGS_BUF];

static void start_rings(void)
{
	sq_tail = cq_head = 0;
	cq_phase = 1;
	memset(shadow, 0, qdepth * sizeof(shadow[0]));
	memset(gens, 0, qdepth);
}

static void enable(void)
{
	fdev_write(h, KESTREL_REG_CTRL, 0);
	fdev_write(h, KESTREL_REG_SQ_BASE_LO, SQ_BASE);
	fdev_write(h, KESTREL_REG_SQ_BASE_HI, 0);
	fdev_write(h, KESTREL_REG_SQ_SIZE, qdepth);
	fdev_write(h, KESTREL_REG_CQ_BASE_LO, CQ_BASE);
	fdev_write(h, KESTREL_REG_CQ_BASE_HI, 0);
	fdev_write(h, KESTREL_REG_CQ_SIZE, qdepth);
	fdev_write(h, KESTREL_REG_CTRL, KESTREL_CTRL_EN);
	FUZZ_ASSERT(fdev_read(h, KESTREL_REG_STATUS) & KESTREL_STATUS_RDY);
	start_rings();
}

static u32 caps_rd(void *ctx, u32 reg)
{
	return fdev_read(ctx, reg);
}

/* Submit one SQE, let the device run, reap and check its completion. */
static struct kestrel_cqe_info run_cmd(u8 opcode, u64 lba, u32 nblocks,
				       u32 nsegs, u32 sgl_len, u32 bytes)
{
	struct kestrel_sqe *sq = (struct kestrel_sqe *)(ram + SQ_BASE);
	struct kestrel_cqe *cq = (struct kestrel_cqe *)(ram + CQ_BASE);
	struct kestrel_cqe_info info;
	struct kestrel_cqe cqe;
	enum kestrel_cqe_verdict verdict;
	u32 index = sq_tail;	/* one command at a time: any free index */
	u16 tag;

	gens[index] = (gens[index] + 1) & KESTREL_TAG_GEN_MASK;
	tag = kestrel_wire_tag(index, gens[index]);
	kestrel_sqe_fill(&sq[sq_tail], opcode, tag, lba, nblocks, nsegs,
			 nsegs ? LIST_BASE : 0, sgl_len);
	sq_tail = (sq_tail + 1) % qdepth;
	shadow[index].wire_tag = tag;
	shadow[index].sq_head = (u16)sq_tail;
	shadow[index].result = bytes;
	shadow[index].state = KESTREL_TAG_INFLIGHT;
	fdev_write(h, KESTREL_REG_SQ_TAIL_DB, sq_tail);
	fdev_run(h);

	memcpy(&cqe, &cq[cq_head], sizeof(cqe));
	verdict = kestrel_cqe_check(&cqe, cq_phase, shadow, qdepth, qdepth,
				    &info);
	if (verdict != KESTREL_CQE_OK)
		fprintf(stderr, "op %u lba %llu nblocks %u nsegs %u: %s "
			"(status 0x%x)\n", opcode, (unsigned long long)lba,
			nblocks, nsegs, kestrel_cqe_verdict_name(verdict),
			KESTREL_CQE_STATUS(cqe.status));
	FUZZ_ASSERT(verdict == KESTREL_CQE_OK);
	FUZZ_ASSERT(info.index == index);
	shadow[index].state = KESTREL_TAG_IDLE;
	cq_head = (cq_head + 1) % qdepth;
	if (!cq_head)
		cq_phase ^= 1;
	fdev_write(h, KESTREL_REG_CQ_HEAD_DB, cq_head);
	fdev_write(h, KESTREL_REG_INTR_STATUS, KESTREL_INTR_ALL);
	return info;
}

/* Once per variant: the device's registers and IDENTIFY pass the driver. */
static void probe(void)
{
	struct kestrel_sgl_list list = {
		(struct kestrel_sg_desc *)(ram + LIST_BASE), LIST_BASE };
	struct kestrel_seg seg = { DATA_BASE, KESTREL_IDENTIFY_SIZE };
	struct kestrel_identify id;
	struct kestrel_ident ident;
	struct kestrel_caps caps;
	struct kestrel_cqe_info info;
	const char *why;
	u32 first_len;

	kestrel_caps_read(&caps, caps_rd, h);
	if (kestrel_caps_check(&caps, PAGE, &v->lim, &why)) {
		fprintf(stderr, "caps refused: %s\n", why);
		__builtin_trap();
	}
	qdepth = kestrel_pick_qdepth(v->lim.hw_qdepth, 0);
	enable();
	FUZZ_ASSERT(kestrel_build_sgl(&seg, 1, v->lim.max_segs, seg.len,
				      &list, 1, &first_len) == 1);
	info = run_cmd(KESTREL_OP_IDENTIFY, 0, 0, 1, first_len,
		       KESTREL_IDENTIFY_SIZE);
	FUZZ_ASSERT(info.status == KESTREL_SC_SUCCESS);
	memcpy(&id, ram + DATA_BASE, sizeof(id));
	if (kestrel_identify_check(&id, &caps, &ident, &why)) {
		fprintf(stderr, "IDENTIFY refused: %s\n", why);
		__builtin_trap();
	}
}

static void select_variant(FuzzIn *in)
{
	u8 b = fin_u8(in);
	u32 q;

	v = &variants[b % NVARIANTS];
	if (!v->h) {
		v->h = fdev_new(v->qdepth, v->block_size, v->max_segs,
				CAPACITY, GUEST_RAM);
		h = v->h;
		ram = fdev_ram(h);
		probe();
	}
	h = v->h;
	ram = fdev_ram(h);
	fdev_set_io(h, (b >> 4) & 1, 0);
	/*
	 * Same queue size as the device holds and an idle device: rewind
	 * its rings instead of a full reset and enable (speed); the state an
	 * input starts from is the same either way.
	 */
	q = kestrel_pick_qdepth(v->lim.hw_qdepth, (b & 0x80) ? fin_u8(in) : 0);
	if (q == fdev_read(h, KESTREL_REG_SQ_SIZE) && fdev_rewind(h) == 0) {
		qdepth = q;
		start_rings();
		return;
	}
	qdepth = q;
	enable();
}

/* A struct from a valid template: raw bytes, or up to 7 byte pokes. */
static void shape(FuzzIn *in, void *obj, size_t len)
{
	u8 mode = fin_u8(in);
	u8 *b = obj;
	unsigned n;

	if (mode == 0xff) {
		fin_bytes(in, obj, len);
		return;
	}
	for (n = mode & 7; n; n--) {
		u16 off = fin_u16(in) % len;

		b[off] = fin_u8(in);
	}
}

static bool zero(const void *p, size_t len)
{
	const u8 *b = p;

	while (len--)
		if (*b++)
			return false;
	return true;
}

static void ioc_info(FuzzIn *in)
{
	struct kestrel_info info;
	bool ok;

	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	shape(in, &info, sizeof(info));
	ok = info.size == sizeof(info) && !info.flags &&
	     zero(info.reserved0, sizeof(info.reserved0)) &&
	     zero(info.reserved, sizeof(info.reserved));
	FUZZ_ASSERT((kestrel_validate_info(&info) == 0) == ok);
}

static void ioc_stats(FuzzIn *in)
{
	struct kestrel_stats st;
	bool ok;

	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	shape(in, &st, sizeof(st));
	ok = st.size == sizeof(st) && !st.flags &&
	     zero(st.reserved, sizeof(st.reserved));
	FUZZ_ASSERT((kestrel_validate_stats(&st) == 0) == ok);
}

static void ioc_timeout(FuzzIn *in, bool set)
{
	struct kestrel_timeout t;
	bool ok;

	memset(&t, 0, sizeof(t));
	t.size = sizeof(t);
	t.timeout_ms = 10 + fin_u16(in) * 10;
	shape(in, &t, sizeof(t));
	ok = t.size == sizeof(t) && zero(t.reserved, sizeof(t.reserved)) &&
	     (!set || (t.timeout_ms >= KESTREL_TIMEOUT_MIN_MS &&
		       t.timeout_ms <= KESTREL_TIMEOUT_MAX_MS));
	FUZZ_ASSERT((kestrel_validate_timeout(&t, set) == 0) == ok);
}

/* Independent reading of the kestrel_io rules (UAPI + limits). */
static bool io_ok(const struct kestrel_io *io)
{
	const struct kestrel_limits *lim = &v->lim;

	if (io->flags || io->reserved0 || io->reserved1 ||
	    io->reserved2[0] || io->reserved2[1])
		return false;
	if (io->opcode == KESTREL_IO_FLUSH)
		return !io->lba && !io->nblocks && !io->buf && !io->buf_len;
	if (io->opcode != KESTREL_IO_READ && io->opcode != KESTREL_IO_WRITE)
		return false;
	return io->nblocks >= 1 && io->nblocks <= lim->max_xfer_blocks &&
	       io->lba < lim->capacity &&
	       io->nblocks <= lim->capacity - io->lba &&
	       io->buf_len == (u64)io->nblocks * lim->block_size &&
	       io->buf % 4 == 0 && io->buf + io->buf_len >= io->buf;
}

/*
 * "Pin and map" [buf, buf + len): the buffer sits in guest RAM at
 * DATA_BASE + (buf % PAGE), as the pages of a user buffer keep its offset
 * within the first page.  Returns the number of DMA segments, 0 if the
 * mapping is refused as the driver would (more segments than CAP_MAXSEG).
 */
static u32 map(FuzzIn *in, u64 buf, u32 len, u64 *gpa)
{
	u8 how = fin_u8(in);
	u64 start = DATA_BASE + buf % PAGE, pos = start, end = start + len;
	u32 n = 0;

	*gpa = start;
	while (pos < end && n < MAX_SEGS_BUF) {
		u64 piece;

		switch (how & 3) {
		case 0:		/* a segment per page */
		case 3:
			piece = PAGE - pos % PAGE;
			break;
		case 1:		/* physically contiguous: one segment */
			piece = end - pos;
			break;
		default:	/* split by an IOMMU or a small max seg size */
			piece = 1 + fin_u16(in) % ((how & 0x80) ? 64 : 8192);
			break;
		}
		if (piece > end - pos)
			piece = end - pos;
		segs[n].addr = pos;
		segs[n].len = (u32)piece;
		pos += piece;
		n++;
	}
	if (pos < end || n > v->lim.max_segs)
		return 0;
	return n;
}

static void do_request(FuzzIn *in, const struct kestrel_io *io)
{
	struct kestrel_sgl_list lists[5];
	struct kestrel_cqe_info info;
	u32 nsegs = 0, nlists, first_len = 0, i;
	u64 gpa = 0;
	u8 opcode = kestrel_io_to_opcode(io->opcode);
	u32 bytes = (u32)io->buf_len;
	u32 bs = v->lim.block_size;

	FUZZ_ASSERT(opcode);
	if (io->opcode != KESTREL_IO_FLUSH) {
		int ret;

		nsegs = map(in, io->buf, bytes, &gpa);
		if (!nsegs)
			return;		/* -EINVAL from kestrel_req_map() */
		nlists = kestrel_sgl_lists_needed(nsegs);
		FUZZ_ASSERT(nlists >= 1 && nlists <= 5);
		for (i = 0; i < nlists; i++) {
			lists[i].dma = LIST_BASE + i * KESTREL_SG_LIST_MAX_BYTES;
			lists[i].descs = (struct kestrel_sg_desc *)
					 (ram + lists[i].dma);
		}
		ret = kestrel_build_sgl(segs, nsegs, v->lim.max_segs, bytes,
					lists, nlists, &first_len);
		FUZZ_ASSERT(ret == (int)nlists);
		if (io->opcode == KESTREL_IO_WRITE)
			for (i = 0; i < bytes; i += 64)
				ram[gpa + i] = (u8)(i / 64 + io->lba);
		else
			memset(ram + gpa, 0xee, bytes);
	}
	info = run_cmd(opcode, io->lba, io->nblocks, nsegs, first_len, bytes);
	if (fdev_io_error(h)) {
		FUZZ_ASSERT(info.status == KESTREL_SC_SUCCESS ||
			    info.status == KESTREL_SC_MEDIA_ERROR);
		return;
	}
	if (info.status != KESTREL_SC_SUCCESS)
		fprintf(stderr, "device refused a valid command: status %u\n",
			info.status);
	FUZZ_ASSERT(info.status == KESTREL_SC_SUCCESS);
	FUZZ_ASSERT(kestrel_status_to_errno(info.status) == 0);
	if (io->opcode != KESTREL_IO_FLUSH)
		FUZZ_ASSERT(memcmp(ram + gpa, fdev_disk(h) + io->lba * bs,
				   bytes) == 0);
}

static void ioc_submit(FuzzIn *in)
{
	struct kestrel_io ios[KESTREL_MAX_BATCH];
	struct kestrel_submit s;
	bool ok;
	u32 i;

	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	s.count = 1 + fin_u8(in) % 4;
	s.io_size = sizeof(struct kestrel_io);
	s.ios = (fin_u8(in) & 1) ? fin_u64(in) : 0x7f0000001000ull;
	shape(in, &s, sizeof(s));
	ok = s.size == sizeof(s) && !s.flags &&
	     zero(s.reserved, sizeof(s.reserved)) && s.count >= 1 &&
	     s.count <= KESTREL_MAX_BATCH &&
	     s.io_size == sizeof(struct kestrel_io) &&
	     s.ios + (u64)s.count * s.io_size >= s.ios;
	FUZZ_ASSERT((kestrel_validate_submit(&s) == 0) == ok);
	if (!ok)
		return;
	for (i = 0; i < s.count; i++) {
		struct kestrel_io *io = &ios[i];
		u8 kind = fin_u8(in);

		if (fin_empty(in))
			return;		/* copy_from_user: -EFAULT */
		memset(io, 0, sizeof(*io));
		io->opcode = kind % 4;
		if (io->opcode != KESTREL_IO_FLUSH && io->opcode) {
			u32 maxb = v->lim.max_xfer_blocks;

			/*
			 * Large transfers 1 in 64 (kind 0xfc..0xff): the
			 * device's bounce buffer of more than 128 KiB is a
			 * fresh mmap under ASan, page faults included, and
			 * one costs more than many small inputs (fuzz speed).
			 * The seed large-write-read has one.
			 */
			io->nblocks = 1 + ((kind & 0xfc) == 0xfc ? fin_u16(in) % maxb :
						fin_u8(in) % 16 % maxb);
			io->lba = fin_u16(in) % (CAPACITY + 2);
			io->buf = ((u64)fin_u32(in) << 12 | fin_u16(in) % PAGE) &
				  ~3ull;
			io->buf_len = (u64)io->nblocks * v->lim.block_size;
		}
		shape(in, io, sizeof(*io));
		FUZZ_ASSERT((kestrel_validate_io(io, &v->lim) == 0) ==
			    io_ok(io));
		if (!io_ok(io))
			return;		/* the whole batch fails */
	}
	for (i = 0; i < s.count; i++)
		do_request(in, &ios[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned int known[] = {
		KESTREL_IOC_GET_INFO, KESTREL_IOC_SUBMIT, KESTREL_IOC_RESET,
		KESTREL_IOC_GET_STATS, KESTREL_IOC_GET_TIMEOUT,
		KESTREL_IOC_SET_TIMEOUT,
	};
	unsigned int steps = 0, resets = 0;
	FuzzIn in;

	fin_init(&in, data, size);
	select_variant(&in);
	while (!fin_empty(&in) && steps++ < MAX_STEPS) {
		u8 sel = fin_u8(&in);
		unsigned int cmd;

		/* submit-heavy: a reset (a sweep of every slot) is rarer */
		if (sel % 16 < 12) {
			cmd = known[(sel % 16) % 6 == 2 && sel % 16 != 2 ?
				    1 : (sel % 16) % 6];
		} else if (sel % 16 == 12) {
			fdev_set_io(h, 0, fdev_io_error(h) ? 0 : -5);
			continue;
		} else {
			cmd = fin_u32(&in);
		}
		switch (cmd) {
		case KESTREL_IOC_GET_INFO:
			ioc_info(&in);
			break;
		case KESTREL_IOC_SUBMIT:
			ioc_submit(&in);
			break;
		case KESTREL_IOC_RESET:
			/*
			 * Every reset leaves the same state; past MAX_RESETS in
			 * one input they are skipped, or inputs that are runs
			 * of RESET (new hit-count features) take the time.
			 */
			if (resets++ < MAX_RESETS)
				enable();
			break;
		case KESTREL_IOC_GET_STATS:
			ioc_stats(&in);
			break;
		case KESTREL_IOC_GET_TIMEOUT:
			ioc_timeout(&in, false);
			break;
		case KESTREL_IOC_SET_TIMEOUT:
			ioc_timeout(&in, true);
			break;
		default:
			break;			/* -ENOTTY */
		}
	}
	return 0;
}
