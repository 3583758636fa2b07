// SPDX-License-Identifier: GPL-2.0
/*
 * Kestrel shared code: validation of user requests, device-reported data
 * (capabilities, IDENTIFY, completions) and construction of submission
 * entries and chained segment lists.  See kestrel_lib.h.
 *
 * Pure functions only: no locks, no allocation, no I/O, no global state.
 * The module, the unit tests (driver/tests/test_lib.c) and the fuzzers
 * compile this very file.
 */
#include "kestrel_lib.h"

/* ---- capabilities and IDENTIFY ----------------------------------------- */

static bool kestrel_is_pow2(u32 v)
{
	return v && !(v & (v - 1));
}

/**
 * kestrel_caps_check() - validate the capability registers
 * @caps: raw register values
 * @page_size: the CPU page size (how user buffers split into segments)
 * @lim: filled with the derived limits when the registers are valid
 * @why: set to a description of the first bad value
 *
 * Return: 0, -ENODEV when the reads came back all-ones (no device), or
 * -EINVAL for an unsupported or impossible value.
 */
int kestrel_caps_check(const struct kestrel_caps *caps, u32 page_size,
		       struct kestrel_limits *lim, const char **why)
{
	u64 bytes, per_cmd;

	*why = NULL;
	if (caps->version == 0xffffffffu) {
		*why = "registers read all-ones (device gone or in D3hot)";
		return -ENODEV;
	}
	if ((caps->version >> 16) != (KESTREL_VERSION_1_0 >> 16))
		*why = "VERSION major is not 1";
	else if (caps->qdepth < KESTREL_MIN_QDEPTH ||
		 caps->qdepth > KESTREL_MAX_QDEPTH)
		*why = "CAP_QDEPTH outside 2..1024";
	else if (!kestrel_is_pow2(caps->block_size) ||
		 caps->block_size < KESTREL_MIN_BLOCK_SIZE ||
		 caps->block_size > KESTREL_MAX_BLOCK_SIZE)
		*why = "CAP_BLKSZ not a power of two in 512..4096";
	else if (!caps->capacity)
		*why = "CAP_CAPACITY is zero";
	else if (check_mul_overflow(caps->capacity, (u64)caps->block_size,
				    &bytes) ||
		 bytes > KESTREL_MAX_CAPACITY_BYTES)
		*why = "CAP_CAPACITY absurdly large";
	else if (caps->nvec != KESTREL_NVEC)
		*why = "CAP_NVEC is not 2";
	else if (!caps->max_segs || caps->max_segs > KESTREL_MAX_MAXSEG)
		*why = "CAP_MAXSEG outside 1..1024";
	else if (!caps->timeout_ms)
		*why = "CAP_TIMEOUT_MS is zero";
	else if (!caps->max_xfer ||
		 caps->max_xfer > KESTREL_MAX_XFER_BYTES_LIMIT / caps->block_size)
		*why = "CAP_MAXXFER outside 1..(1 MiB / CAP_BLKSZ)";
	else if (!kestrel_is_pow2(page_size) ||
		 page_size < KESTREL_SG_LIST_MAX_BYTES)
		*why = "page size not a power of two of at least 4 KiB";
	if (*why)
		return -EINVAL;

	lim->capacity = caps->capacity;
	lim->block_size = caps->block_size;
	lim->hw_qdepth = caps->qdepth;
	lim->max_segs = caps->max_segs;
	lim->hw_max_xfer = caps->max_xfer;
	/*
	 * A buffer aligned to KESTREL_BUF_ALIGN but not to a page spans one
	 * page more than its length suggests: with max_segs segments, a
	 * buffer of (max_segs - 1) pages always fits.  With a single segment
	 * only buffers within one page do; allow one page and let mapping
	 * reject a buffer that crosses a page boundary.
	 */
	if (caps->max_segs > 1)
		per_cmd = (u64)(caps->max_segs - 1) * page_size;
	else
		per_cmd = page_size;
	per_cmd /= caps->block_size;
	lim->max_xfer_blocks = (u32)min_t(u64, caps->max_xfer,
					  per_cmd ? per_cmd : 1);
	lim->ready_timeout_ms = clamp_t(u32, caps->timeout_ms,
					KESTREL_READY_TIMEOUT_MIN_MS,
					KESTREL_READY_TIMEOUT_MAX_MS);
	return 0;
}

/*
 * Copy a space-padded ASCII field into a NUL-terminated string without the
 * padding.  Returns false if the field holds a non-printable byte.
 */
static bool kestrel_copy_ascii(char *dst, const char *src, u32 len)
{
	u32 i, end = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)src[i];

		if (c < 0x20 || c > 0x7e)
			return false;
		if (c != ' ')
			end = i + 1;
	}
	memcpy(dst, src, end);
	dst[end] = '\0';
	return true;
}

/**
 * kestrel_identify_check() - validate IDENTIFY data against the registers
 * @id: the 512 bytes the device wrote (a private copy)
 * @caps: the capability registers, already checked
 * @ident: filled with the trimmed strings and the features on success
 * @why: set to a description of the first bad field
 *
 * features must repeat CAP_FEATURES, and a feature bit this driver does
 * not know is refused like a reserved field: it may change what the
 * driver must do (as KESTREL_ID_FEAT_VWC does, whose WRITEs need a FLUSH
 * to be durable).
 *
 * Return: 0 or -EINVAL.
 */
int kestrel_identify_check(const struct kestrel_identify *id,
			   const struct kestrel_caps *caps,
			   struct kestrel_ident *ident, const char **why)
{
	u32 i;

	*why = NULL;
	if (KESTREL_CPU32(id->magic) != KESTREL_IDENTIFY_MAGIC)
		*why = "bad magic";
	else if (KESTREL_CPU32(id->version) != caps->version)
		*why = "version differs from VERSION";
	else if (KESTREL_CPU64(id->capacity) != caps->capacity)
		*why = "capacity differs from CAP_CAPACITY";
	else if (KESTREL_CPU32(id->block_size) != caps->block_size)
		*why = "block_size differs from CAP_BLKSZ";
	else if (KESTREL_CPU32(id->max_qdepth) != caps->qdepth)
		*why = "max_qdepth differs from CAP_QDEPTH";
	else if (KESTREL_CPU32(id->max_segs) != caps->max_segs)
		*why = "max_segs differs from CAP_MAXSEG";
	else if (KESTREL_CPU32(id->max_xfer_blocks) != caps->max_xfer)
		*why = "max_xfer_blocks differs from CAP_MAXXFER";
	else if (KESTREL_CPU32(id->nvec) != caps->nvec)
		*why = "nvec differs from CAP_NVEC";
	else if (!kestrel_copy_ascii(ident->serial, id->serial,
				     sizeof(id->serial)))
		*why = "serial is not printable ASCII";
	else if (!kestrel_copy_ascii(ident->model, id->model,
				     sizeof(id->model)))
		*why = "model is not printable ASCII";
	else if (!kestrel_copy_ascii(ident->firmware, id->firmware,
				     sizeof(id->firmware)))
		*why = "firmware is not printable ASCII";
	else if (KESTREL_CPU32(id->features) & ~KESTREL_ID_FEAT_VWC)
		*why = "unknown feature bits";
	else if (KESTREL_CPU32(id->features) != caps->features)
		*why = "features differs from CAP_FEATURES";
	if (*why)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(id->rsvd); i++) {
		if (id->rsvd[i]) {
			*why = "reserved bytes not zero";
			return -EINVAL;
		}
	}
	ident->vwc = !!(KESTREL_CPU32(id->features) & KESTREL_ID_FEAT_VWC);
	return 0;
}

/**
 * kestrel_pick_qdepth() - queue size to use
 * @hw_qdepth: CAP_QDEPTH (already validated)
 * @requested: the queue_depth parameter, 0 for the device maximum
 *
 * Return: a size in KESTREL_MIN_QDEPTH..@hw_qdepth.
 */
u32 kestrel_pick_qdepth(u32 hw_qdepth, u32 requested)
{
	u32 q = requested ? min_t(u32, requested, hw_qdepth) : hw_qdepth;

	return clamp_t(u32, q, KESTREL_MIN_QDEPTH, KESTREL_MAX_QDEPTH);
}

/* ---- user requests ----------------------------------------------------- */

static bool kestrel_all_zero(const void *p, size_t len)
{
	const u8 *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i])
			return false;
	return true;
}

int kestrel_validate_info(const struct kestrel_info *info)
{
	if (info->size != sizeof(*info) || info->flags ||
	    !kestrel_all_zero(info->reserved0, sizeof(info->reserved0)) ||
	    !kestrel_all_zero(info->reserved, sizeof(info->reserved)))
		return -EINVAL;
	return 0;
}

int kestrel_validate_stats(const struct kestrel_stats *stats)
{
	if (stats->size != sizeof(*stats) || stats->flags ||
	    !kestrel_all_zero(stats->reserved, sizeof(stats->reserved)))
		return -EINVAL;
	return 0;
}

/* @set: the request sets the timeout (timeout_ms is input then). */
int kestrel_validate_timeout(const struct kestrel_timeout *t, bool set)
{
	if (t->size != sizeof(*t) ||
	    !kestrel_all_zero(t->reserved, sizeof(t->reserved)))
		return -EINVAL;
	if (set && (t->timeout_ms < KESTREL_TIMEOUT_MIN_MS ||
		    t->timeout_ms > KESTREL_TIMEOUT_MAX_MS))
		return -EINVAL;
	return 0;
}

int kestrel_validate_submit(const struct kestrel_submit *s)
{
	u64 bytes, end;

	if (s->size != sizeof(*s) || s->flags ||
	    !kestrel_all_zero(s->reserved, sizeof(s->reserved)))
		return -EINVAL;
	if (!s->count || s->count > KESTREL_MAX_BATCH)
		return -EINVAL;
	if (s->io_size != sizeof(struct kestrel_io))
		return -EINVAL;
	bytes = (u64)s->count * s->io_size;
	if (check_add_overflow(s->ios, bytes, &end))
		return -EINVAL;
	return 0;
}

/**
 * kestrel_validate_io() - validate one request of a batch
 * @io: the request, copied from user space
 * @lim: the device's limits
 *
 * Only values are checked here; whether buf is mapped is for the caller.
 *
 * Return: 0 or -EINVAL.
 */
int kestrel_validate_io(const struct kestrel_io *io,
			const struct kestrel_limits *lim)
{
	u64 end, len;

	if (io->flags || io->reserved0 || io->reserved1 ||
	    !kestrel_all_zero(io->reserved2, sizeof(io->reserved2)))
		return -EINVAL;

	switch (io->opcode) {
	case KESTREL_IO_FLUSH:
		if (io->lba || io->nblocks || io->buf || io->buf_len)
			return -EINVAL;
		return 0;
	case KESTREL_IO_READ:
	case KESTREL_IO_WRITE:
		break;
	default:
		return -EINVAL;
	}

	if (!io->nblocks || io->nblocks > lim->max_xfer_blocks)
		return -EINVAL;
	if (check_add_overflow(io->lba, (u64)io->nblocks, &end) ||
	    end > lim->capacity)
		return -EINVAL;
	if (check_mul_overflow((u64)io->nblocks, (u64)lim->block_size, &len) ||
	    len != io->buf_len)
		return -EINVAL;
	if (!IS_ALIGNED(io->buf, KESTREL_BUF_ALIGN))
		return -EINVAL;
	if (check_add_overflow(io->buf, io->buf_len, &end))
		return -EINVAL;
	return 0;
}

/* Pages of size @page_size that [buf, buf + len) touches (len > 0). */
u64 kestrel_io_nr_pages(u64 buf, u64 len, u32 page_size)
{
	u64 first = buf / page_size;
	u64 last = (buf + len - 1) / page_size;

	return last - first + 1;
}

/* ---- commands ---------------------------------------------------------- */

/**
 * kestrel_status_to_errno() - errno for a completion status code
 * @status: status code (bits 15:1 of the CQE status, shifted down)
 *
 * The driver validated every field it sent, so an error status other than
 * a transfer or media error means the device disagreed with a valid
 * command; each still maps to the closest errno.
 *
 * Return: 0 for success, a negative errno otherwise.
 */
int kestrel_status_to_errno(unsigned int status)
{
	switch (status) {
	case KESTREL_SC_SUCCESS:
		return 0;
	case KESTREL_SC_INVALID_OPCODE:
		return -EOPNOTSUPP;
	case KESTREL_SC_INVALID_FIELD:
	case KESTREL_SC_SGL_INVALID:
		return -EINVAL;
	case KESTREL_SC_LBA_RANGE:
		return -ERANGE;
	case KESTREL_SC_DATA_XFER_ERROR:
	case KESTREL_SC_MEDIA_ERROR:
	default:
		return -EIO;
	}
}

/* Device opcode for a UAPI opcode (already validated), 0 if none. */
u8 kestrel_io_to_opcode(u8 io_opcode)
{
	switch (io_opcode) {
	case KESTREL_IO_READ:
		return KESTREL_OP_READ;
	case KESTREL_IO_WRITE:
		return KESTREL_OP_WRITE;
	case KESTREL_IO_FLUSH:
		return KESTREL_OP_FLUSH;
	default:
		return 0;
	}
}

/* Fill a whole submission entry; every reserved byte becomes zero. */
void kestrel_sqe_fill(struct kestrel_sqe *sqe, u8 opcode, u16 tag, u64 lba,
		      u32 nblocks, u32 nsegs, u64 sgl_addr, u32 sgl_len)
{
	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = opcode;
	sqe->tag = KESTREL_LE16(tag);
	sqe->nsegs = KESTREL_LE32(nsegs);
	sqe->lba = KESTREL_LE64(lba);
	sqe->nblocks = KESTREL_LE32(nblocks);
	sqe->sgl_addr = KESTREL_LE64(sgl_addr);
	sqe->sgl_len = KESTREL_LE32(sgl_len);
}

/* ---- scatter-gather lists ---------------------------------------------- */

/**
 * kestrel_sgl_lists_needed() - segment lists for @nsegs data segments
 * @nsegs: number of data segments, at least 1
 *
 * A list holds KESTREL_SG_PER_LIST descriptors; every list but the last
 * gives its final descriptor to the CHAIN that points at the next one.
 *
 * Return: the number of lists, 0 for @nsegs = 0.
 */
u32 kestrel_sgl_lists_needed(u32 nsegs)
{
	const u32 per = KESTREL_SG_PER_LIST;

	if (!nsegs)
		return 0;
	if (nsegs <= per)
		return 1;
	return DIV_ROUND_UP(nsegs - 1, per - 1);
}

static void kestrel_sg_set(struct kestrel_sg_desc *d, u64 addr, u32 len,
			   u16 flags)
{
	d->addr = KESTREL_LE64(addr);
	d->len = KESTREL_LE32(len);
	d->flags = KESTREL_LE16(flags);
	d->rsvd = 0;
}

/**
 * kestrel_build_sgl() - write data segments as a chain of segment lists
 * @segs: the data segments, in transfer order
 * @nsegs: their number, 1..@max_segs
 * @max_segs: CAP_MAXSEG
 * @total_len: the transfer size the segments must add up to exactly
 * @lists: buffers of KESTREL_SG_LIST_MAX_BYTES each, 16-byte aligned
 * @nlists: number of buffers, at least kestrel_sgl_lists_needed(@nsegs)
 * @first_len: set to the byte length of the first list (the SQE's sgl_len)
 *
 * Return: the number of lists used, or -EINVAL when the segments cannot
 * be described (nothing is written then).
 */
int kestrel_build_sgl(const struct kestrel_seg *segs, u32 nsegs,
		      u32 max_segs, u64 total_len,
		      const struct kestrel_sgl_list *lists, u32 nlists,
		      u32 *first_len)
{
	const u32 per = KESTREL_SG_PER_LIST;
	u32 needed = kestrel_sgl_lists_needed(nsegs);
	u32 i, l, seg = 0;
	u64 sum = 0;

	if (!nsegs || nsegs > max_segs || max_segs > KESTREL_MAX_MAXSEG)
		return -EINVAL;
	if (nlists < needed || needed > max_segs)
		return -EINVAL;
	for (i = 0; i < nsegs; i++) {
		if (!segs[i].len)
			return -EINVAL;
		sum += segs[i].len;	/* nsegs * U32_MAX fits in 64 bits */
	}
	if (sum != total_len)
		return -EINVAL;
	for (l = 0; l < needed; l++) {
		if (!lists[l].descs || !lists[l].dma ||
		    !IS_ALIGNED(lists[l].dma, sizeof(struct kestrel_sg_desc)))
			return -EINVAL;
	}

	for (l = 0; l < needed; l++) {
		struct kestrel_sg_desc *d = lists[l].descs;
		u32 left = nsegs - seg;
		bool last = l == needed - 1;
		u32 ndata = last ? left : per - 1;
		u32 next_len;

		for (i = 0; i < ndata; i++, seg++)
			kestrel_sg_set(&d[i], segs[seg].addr, segs[seg].len,
				       KESTREL_SG_DATA);
		if (last)
			break;
		left = nsegs - seg;
		next_len = (l + 1 == needed - 1 ? left : per) *
			   (u32)sizeof(struct kestrel_sg_desc);
		kestrel_sg_set(&d[ndata], lists[l + 1].dma, next_len,
			       KESTREL_SG_CHAIN);
	}
	if (needed == 1)
		*first_len = nsegs * (u32)sizeof(struct kestrel_sg_desc);
	else
		*first_len = KESTREL_SG_LIST_MAX_BYTES;
	return (int)needed;
}

/* ---- completions ------------------------------------------------------- */

/**
 * kestrel_cqe_check() - decide what to make of one completion entry
 * @cqe: a private copy of the entry (read after its phase and dma_rmb())
 * @phase: the phase the driver expects at its head
 * @tags: the driver's shadow of every tag index
 * @ntags: entries in @tags
 * @sq_size: entries in the SQ
 * @info: filled for KESTREL_CQE_OK
 *
 * Nothing in @cqe is used before it is bounded: an index is compared with
 * @ntags before @tags is read.
 *
 * Return: KESTREL_CQE_EMPTY if the entry is not new, KESTREL_CQE_OK if it
 * completes an outstanding command consistently, otherwise what is wrong.
 */
enum kestrel_cqe_verdict
kestrel_cqe_check(const struct kestrel_cqe *cqe, u32 phase,
		  const struct kestrel_tag_shadow *tags, u32 ntags,
		  u32 sq_size, struct kestrel_cqe_info *info)
{
	u16 tag = KESTREL_CPU16(cqe->tag);
	u16 sq_head = KESTREL_CPU16(cqe->sq_head);
	u16 raw = KESTREL_CPU16(cqe->status);
	u16 status = KESTREL_CQE_STATUS(raw);
	u32 result = KESTREL_CPU32(cqe->result);
	u32 index = kestrel_tag_index(tag);
	const struct kestrel_tag_shadow *t;

	if ((raw & KESTREL_CQE_PHASE) != (phase & 1))
		return KESTREL_CQE_EMPTY;
	if (index >= ntags)
		return KESTREL_CQE_BAD_TAG;
	t = &tags[index];
	if (t->wire_tag != tag || t->state == KESTREL_TAG_IDLE)
		return KESTREL_CQE_NOT_INFLIGHT;
	if (t->state == KESTREL_TAG_DONE)
		return KESTREL_CQE_DUPLICATE;
	if (t->state != KESTREL_TAG_INFLIGHT)
		return KESTREL_CQE_NOT_INFLIGHT;
	if (status > KESTREL_SC_MAX)
		return KESTREL_CQE_BAD_STATUS;
	if (sq_head >= sq_size || sq_head != t->sq_head)
		return KESTREL_CQE_BAD_SQ_HEAD;
	if (result != (status == KESTREL_SC_SUCCESS ? t->result : 0))
		return KESTREL_CQE_BAD_RESULT;
	if (cqe->rsvd0 || cqe->rsvd1)
		return KESTREL_CQE_BAD_RESERVED;

	info->index = index;
	info->sq_head = sq_head;
	info->status = status;
	info->result = result;
	return KESTREL_CQE_OK;
}

const char *kestrel_cqe_verdict_name(enum kestrel_cqe_verdict v)
{
	switch (v) {
	case KESTREL_CQE_EMPTY:
		return "empty";
	case KESTREL_CQE_OK:
		return "ok";
	case KESTREL_CQE_BAD_TAG:
		return "tag out of range";
	case KESTREL_CQE_NOT_INFLIGHT:
		return "tag not in flight";
	case KESTREL_CQE_DUPLICATE:
		return "duplicate completion";
	case KESTREL_CQE_BAD_STATUS:
		return "undefined status code";
	case KESTREL_CQE_BAD_SQ_HEAD:
		return "impossible sq_head";
	case KESTREL_CQE_BAD_RESULT:
		return "result disagrees with status";
	case KESTREL_CQE_BAD_RESERVED:
		return "reserved field set";
	}
	return "unknown verdict";
}

void kestrel_caps_read(struct kestrel_caps *c, kestrel_reg_read_fn rd,
		       void *ctx)
{
	c->version = rd(ctx, KESTREL_REG_VERSION);
	c->qdepth = rd(ctx, KESTREL_REG_CAP_QDEPTH);
	c->block_size = rd(ctx, KESTREL_REG_CAP_BLKSZ);
	c->capacity = rd(ctx, KESTREL_REG_CAP_CAPACITY_LO) |
		      (u64)rd(ctx, KESTREL_REG_CAP_CAPACITY_HI) << 32;
	c->nvec = rd(ctx, KESTREL_REG_CAP_NVEC);
	c->max_segs = rd(ctx, KESTREL_REG_CAP_MAXSEG);
	c->timeout_ms = rd(ctx, KESTREL_REG_CAP_TIMEOUT_MS);
	c->max_xfer = rd(ctx, KESTREL_REG_CAP_MAXXFER);
	c->features = rd(ctx, KESTREL_REG_CAP_FEATURES);
}
