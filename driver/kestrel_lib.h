/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kestrel shared code: the pure half of the driver.
 *
 * Everything here compiles unchanged into kestrel.ko and into user space
 * (unit tests, fuzzers): it validates what user space asks for, checks
 * what the device reports (capability registers, IDENTIFY, completions),
 * and builds what the device reads (submission entries, chained
 * scatter-gather lists).  It takes no lock, allocates nothing and touches
 * no hardware; callers own the memory they pass in.
 */
#ifndef KESTREL_LIB_H
#define KESTREL_LIB_H

#include "kestrel_compat.h"
#include "kestrel_hw.h"
#include "uapi/kestrel.h"

/* ---- limits ------------------------------------------------------------ */

/* Bounds on CAP_TIMEOUT_MS as a wait limit: a faulted read cannot make a
 * handshake wait forever, nor give up before the device had a chance.
 */
#define KESTREL_READY_TIMEOUT_MIN_MS	500
#define KESTREL_READY_TIMEOUT_MAX_MS	30000

#define KESTREL_MIN_BLOCK_SIZE		512
#define KESTREL_MAX_BLOCK_SIZE		4096
/* Largest transfer one command may describe (datasheet 3: 1 MiB). */
#define KESTREL_MAX_XFER_BYTES_LIMIT	0x100000u
/* Capacities beyond 2^60 bytes are a corrupt register, not a disk. */
#define KESTREL_MAX_CAPACITY_BYTES	BIT_ULL(60)

/* Buffers of KESTREL_IOC_SUBMIT must be aligned to this (UAPI). */
#define KESTREL_BUF_ALIGN		4

/* ---- tags -------------------------------------------------------------- */

/*
 * The 16-bit tag the device echoes is the index of the command in the
 * driver's tag table (below KESTREL_MAX_QDEPTH, 10 bits) plus a 6-bit
 * generation that changes on every submission of that slot, so a late or
 * duplicated completion for an earlier use of the slot is told apart.
 */
#define KESTREL_TAG_INDEX_BITS		10
#define KESTREL_TAG_INDEX_MASK		(BIT(KESTREL_TAG_INDEX_BITS) - 1)
#define KESTREL_TAG_GEN_MASK		0x3fu

static inline u16 kestrel_wire_tag(u32 index, u32 gen)
{
	return (u16)((index & KESTREL_TAG_INDEX_MASK) |
		     ((gen & KESTREL_TAG_GEN_MASK) << KESTREL_TAG_INDEX_BITS));
}

static inline u32 kestrel_tag_index(u16 wire_tag)
{
	return wire_tag & KESTREL_TAG_INDEX_MASK;
}

/* ---- capabilities and IDENTIFY ----------------------------------------- */

/* Raw capability registers, as read from BAR0. */
struct kestrel_caps {
	u32 version;
	u32 qdepth;
	u32 block_size;
	u64 capacity;
	u32 nvec;
	u32 max_segs;
	u32 timeout_ms;
	u32 max_xfer;
	u32 features;		/* CAP_FEATURES: KESTREL_CAP_FEAT_* */
};

/* Reads one 32-bit BAR0 register; the module and the fuzzers supply it. */
typedef u32 (*kestrel_reg_read_fn)(void *ctx, u32 reg);

/* Read every capability register into *c (datasheet 3). */
void kestrel_caps_read(struct kestrel_caps *c, kestrel_reg_read_fn rd,
		       void *ctx);

/* What the driver derives from valid capabilities. */
struct kestrel_limits {
	u64 capacity;		/* blocks */
	u32 block_size;		/* bytes, power of two */
	u32 hw_qdepth;		/* CAP_QDEPTH */
	u32 max_segs;		/* CAP_MAXSEG */
	u32 hw_max_xfer;	/* CAP_MAXXFER */
	/*
	 * Blocks one user request may move: CAP_MAXXFER, lowered so that any
	 * KESTREL_BUF_ALIGN-aligned buffer of that size spans at most
	 * CAP_MAXSEG pages (one segment a page in the worst case).
	 */
	u32 max_xfer_blocks;
	u32 ready_timeout_ms;	/* CAP_TIMEOUT_MS clamped to sane bounds */
};

/* IDENTIFY strings, trimmed and NUL-terminated. */
struct kestrel_ident {
	char serial[21];
	char model[41];
	char firmware[9];
	bool vwc;		/* KESTREL_ID_FEAT_VWC: a volatile write cache */
};

int kestrel_caps_check(const struct kestrel_caps *caps, u32 page_size,
		       struct kestrel_limits *lim, const char **why);
int kestrel_identify_check(const struct kestrel_identify *id,
			   const struct kestrel_caps *caps,
			   struct kestrel_ident *ident, const char **why);
u32 kestrel_pick_qdepth(u32 hw_qdepth, u32 requested);

/* ---- user requests ----------------------------------------------------- */

int kestrel_validate_info(const struct kestrel_info *info);
int kestrel_validate_stats(const struct kestrel_stats *stats);
int kestrel_validate_timeout(const struct kestrel_timeout *t, bool set);
int kestrel_validate_submit(const struct kestrel_submit *s);
int kestrel_validate_io(const struct kestrel_io *io,
			const struct kestrel_limits *lim);
u64 kestrel_io_nr_pages(u64 buf, u64 len, u32 page_size);

/* ---- commands ---------------------------------------------------------- */

int kestrel_status_to_errno(unsigned int status);
u8 kestrel_io_to_opcode(u8 io_opcode);
void kestrel_sqe_fill(struct kestrel_sqe *sqe, u8 opcode, u16 tag, u64 lba,
		      u32 nblocks, u32 nsegs, u64 sgl_addr, u32 sgl_len);

/* ---- scatter-gather lists ---------------------------------------------- */

#define KESTREL_SG_PER_LIST \
	(KESTREL_SG_LIST_MAX_BYTES / sizeof(struct kestrel_sg_desc))

/* One data segment: bus address and length. */
struct kestrel_seg {
	u64 addr;
	u32 len;
};

/* One 4 KiB segment-list buffer: CPU and bus address. */
struct kestrel_sgl_list {
	struct kestrel_sg_desc *descs;
	u64 dma;
};

u32 kestrel_sgl_lists_needed(u32 nsegs);
int kestrel_build_sgl(const struct kestrel_seg *segs, u32 nsegs,
		      u32 max_segs, u64 total_len,
		      const struct kestrel_sgl_list *lists, u32 nlists,
		      u32 *first_len);

/* ---- completions ------------------------------------------------------- */

enum kestrel_tag_state {
	KESTREL_TAG_IDLE = 0,	/* not on the device */
	KESTREL_TAG_INFLIGHT,	/* submitted, completion expected */
	KESTREL_TAG_DONE,	/* completed, not yet released */
};

/* The driver's private record of what it submitted under one tag index. */
struct kestrel_tag_shadow {
	u16 wire_tag;		/* tag of the current submission */
	u16 sq_head;		/* SQ head the device reports after fetch */
	u32 result;		/* bytes a successful completion reports */
	u8 state;		/* enum kestrel_tag_state */
};

enum kestrel_cqe_verdict {
	KESTREL_CQE_EMPTY,		/* phase: not a new entry, stop */
	KESTREL_CQE_OK,
	KESTREL_CQE_BAD_TAG,		/* tag index beyond the table */
	KESTREL_CQE_NOT_INFLIGHT,	/* no such command outstanding */
	KESTREL_CQE_DUPLICATE,		/* command already completed */
	KESTREL_CQE_BAD_STATUS,		/* undefined status code */
	KESTREL_CQE_BAD_SQ_HEAD,	/* sq_head out of range or wrong */
	KESTREL_CQE_BAD_RESULT,		/* result disagrees with the status */
	KESTREL_CQE_BAD_RESERVED,	/* reserved field not zero */
};

/* A completion that passed the checks, in CPU byte order. */
struct kestrel_cqe_info {
	u32 index;		/* tag table index */
	u16 sq_head;
	u16 status;		/* status code, phase removed */
	u32 result;
};

static inline bool kestrel_cqe_phase_matches(u16 raw_status, u32 phase)
{
	return (KESTREL_CPU16(raw_status) & KESTREL_CQE_PHASE) == (phase & 1);
}

enum kestrel_cqe_verdict
kestrel_cqe_check(const struct kestrel_cqe *cqe, u32 phase,
		  const struct kestrel_tag_shadow *tags, u32 ntags,
		  u32 sq_size, struct kestrel_cqe_info *info);
const char *kestrel_cqe_verdict_name(enum kestrel_cqe_verdict v);

#endif /* KESTREL_LIB_H */
