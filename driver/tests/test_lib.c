// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the shared driver code (driver/kestrel_lib.c), compiled
 * exactly as the module compiles it, but in user space.
 *
 * Validation tests are table-driven: every table row is one request and
 * whether the driver must accept it.  The accepted rows are the valid
 * requests at the edges (first and last block, largest transfer), the
 * rejected rows each break exactly one rule.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kestrel_lib.h"
#include "tests.h"

/* ---- helpers ----------------------------------------------------------- */

static const struct kestrel_limits test_lim = {
	.capacity = 1000,
	.block_size = 512,
	.hw_qdepth = 256,
	.max_segs = 256,
	.hw_max_xfer = 2048,
	.max_xfer_blocks = 256,
	.ready_timeout_ms = 2000,
};

static struct kestrel_caps good_caps(void)
{
	struct kestrel_caps c = {
		.version = KESTREL_VERSION_1_0,
		.qdepth = 256,
		.block_size = 512,
		.capacity = 2048,
		.nvec = 2,
		.max_segs = 256,
		.timeout_ms = 2000,
		.max_xfer = 2048,
	};
	return c;
}

static void pad(char *dst, size_t len, const char *s)
{
	memset(dst, ' ', len);
	memcpy(dst, s, strlen(s));
}

static struct kestrel_identify good_identify(const struct kestrel_caps *c)
{
	struct kestrel_identify id;

	memset(&id, 0, sizeof(id));
	id.magic = KESTREL_LE32(KESTREL_IDENTIFY_MAGIC);
	id.version = KESTREL_LE32(c->version);
	id.capacity = KESTREL_LE64(c->capacity);
	id.block_size = KESTREL_LE32(c->block_size);
	id.max_qdepth = KESTREL_LE32(c->qdepth);
	id.max_segs = KESTREL_LE32(c->max_segs);
	id.max_xfer_blocks = KESTREL_LE32(c->max_xfer);
	id.nvec = KESTREL_LE32(c->nvec);
	pad(id.serial, sizeof(id.serial), "KESTREL0001");
	pad(id.model, sizeof(id.model),
	    "Gauntlet Kestrel reference controller");
	pad(id.firmware, sizeof(id.firmware), "1.0");
	return id;
}

/* ---- capability registers ---------------------------------------------- */

START_TEST(caps_default_device)
{
	struct kestrel_caps c = good_caps();
	struct kestrel_limits lim;
	const char *why = "unset";

	ck_assert_int_eq(kestrel_caps_check(&c, 4096, &lim, &why), 0);
	ck_assert_ptr_null(why);
	ck_assert_uint_eq(lim.capacity, 2048);
	ck_assert_uint_eq(lim.block_size, 512);
	ck_assert_uint_eq(lim.hw_qdepth, 256);
	ck_assert_uint_eq(lim.max_segs, 256);
	ck_assert_uint_eq(lim.hw_max_xfer, 2048);
	/* 255 pages of 4 KiB in 512-byte blocks: below CAP_MAXXFER. */
	ck_assert_uint_eq(lim.max_xfer_blocks, 255 * 4096 / 512);
	ck_assert_uint_eq(lim.ready_timeout_ms, 2000);
}
END_TEST

START_TEST(caps_derived_limits)
{
	static const struct {
		u32 block_size, max_segs, max_xfer, timeout_ms;
		u32 want_xfer, want_timeout;
	} rows[] = {
		/* 4 KiB blocks: 255 pages = 255 blocks < 256 */
		{ 4096, 256, 256, 2000, 255, 2000 },
		/* plenty of segments: CAP_MAXXFER is the limit */
		{ 512, 1024, 2048, 2000, 2048, 2000 },
		/* one segment: one page */
		{ 512, 1, 2048, 2000, 8, 2000 },
		{ 4096, 1, 256, 2000, 1, 2000 },
		/* two segments: one full page always fits */
		{ 4096, 2, 256, 2000, 1, 2000 },
		/* CAP_TIMEOUT_MS clamped to the floor and the cap */
		{ 512, 256, 2048, 1, 2040, KESTREL_READY_TIMEOUT_MIN_MS },
		{ 512, 256, 2048, 0xffffffffu, 2040,
		  KESTREL_READY_TIMEOUT_MAX_MS },
		{ 512, 256, 16, 30000, 16, 30000 },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		struct kestrel_caps c = good_caps();
		struct kestrel_limits lim;
		const char *why;

		c.block_size = rows[i].block_size;
		c.max_segs = rows[i].max_segs;
		c.max_xfer = rows[i].max_xfer;
		c.timeout_ms = rows[i].timeout_ms;
		ck_assert_msg(kestrel_caps_check(&c, 4096, &lim, &why) == 0,
			      "row %u rejected: %s", i, why);
		ck_assert_msg(lim.max_xfer_blocks == rows[i].want_xfer,
			      "row %u: max_xfer_blocks %u, want %u", i,
			      lim.max_xfer_blocks, rows[i].want_xfer);
		ck_assert_uint_eq(lim.ready_timeout_ms, rows[i].want_timeout);
	}
}
END_TEST

START_TEST(caps_all_ones_is_no_device)
{
	struct kestrel_caps c;
	struct kestrel_limits lim;
	const char *why = NULL;

	memset(&c, 0xff, sizeof(c));
	ck_assert_int_eq(kestrel_caps_check(&c, 4096, &lim, &why), -ENODEV);
	ck_assert_ptr_nonnull(why);
}
END_TEST

enum caps_field {
	F_VERSION, F_QDEPTH, F_BLKSZ, F_CAPACITY, F_NVEC, F_MAXSEG,
	F_TIMEOUT, F_MAXXFER,
};

START_TEST(caps_bad_values)
{
	static const struct {
		enum caps_field field;
		u64 value;
	} rows[] = {
		{ F_VERSION, 0 },
		{ F_VERSION, 0x00020000 },
		{ F_VERSION, 0x00000100 },
		{ F_QDEPTH, 0 },
		{ F_QDEPTH, 1 },
		{ F_QDEPTH, 1025 },
		{ F_QDEPTH, 0xffffffff },
		{ F_BLKSZ, 0 },
		{ F_BLKSZ, 1 },
		{ F_BLKSZ, 511 },
		{ F_BLKSZ, 513 },
		{ F_BLKSZ, 1000 },
		{ F_BLKSZ, 256 },
		{ F_BLKSZ, 8192 },
		{ F_CAPACITY, 0 },
		{ F_CAPACITY, 1ull << 52 },	/* 2^61 bytes */
		{ F_CAPACITY, UINT64_MAX },	/* overflows bytes */
		{ F_NVEC, 0 },
		{ F_NVEC, 1 },
		{ F_NVEC, 3 },
		{ F_MAXSEG, 0 },
		{ F_MAXSEG, 1025 },
		{ F_TIMEOUT, 0 },
		{ F_MAXXFER, 0 },
		{ F_MAXXFER, 2049 },		/* > 1 MiB of 512-byte blocks */
		{ F_MAXXFER, 0xffffffff },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		struct kestrel_caps c = good_caps();
		struct kestrel_limits lim;
		const char *why = NULL;
		u32 v = (u32)rows[i].value;

		switch (rows[i].field) {
		case F_VERSION:
			c.version = v;
			break;
		case F_QDEPTH:
			c.qdepth = v;
			break;
		case F_BLKSZ:
			c.block_size = v;
			break;
		case F_CAPACITY:
			c.capacity = rows[i].value;
			break;
		case F_NVEC:
			c.nvec = v;
			break;
		case F_MAXSEG:
			c.max_segs = v;
			break;
		case F_TIMEOUT:
			c.timeout_ms = v;
			break;
		case F_MAXXFER:
			c.max_xfer = v;
			break;
		}
		ck_assert_msg(kestrel_caps_check(&c, 4096, &lim, &why) ==
			      -EINVAL, "row %u accepted", i);
		ck_assert_msg(why != NULL, "row %u: no reason", i);
	}
}
END_TEST

START_TEST(caps_edges_accepted)
{
	static const struct kestrel_caps rows[] = {
		{ KESTREL_VERSION_1_0, 2, 512, 1, 2, 1, 1, 1, 0 },
		{ KESTREL_VERSION_1_0, 1024, 4096, 1ull << 48, 2, 1024,
		  0xffffffff, 256, KESTREL_CAP_FEAT_VWC },
		{ KESTREL_VERSION_1_0 | 0x1234, 256, 1024, 100, 2, 256, 10,
		  1024, 0 },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		struct kestrel_limits lim;
		const char *why;

		ck_assert_msg(kestrel_caps_check(&rows[i], 4096, &lim,
						 &why) == 0,
			      "row %u rejected: %s", i, why);
	}
}
END_TEST

START_TEST(pick_qdepth)
{
	ck_assert_uint_eq(kestrel_pick_qdepth(256, 0), 256);
	ck_assert_uint_eq(kestrel_pick_qdepth(256, 64), 64);
	ck_assert_uint_eq(kestrel_pick_qdepth(256, 4096), 256);
	ck_assert_uint_eq(kestrel_pick_qdepth(256, 1), 2);
	ck_assert_uint_eq(kestrel_pick_qdepth(2, 0), 2);
	ck_assert_uint_eq(kestrel_pick_qdepth(1024, 0), 1024);
}
END_TEST

/* ---- IDENTIFY ---------------------------------------------------------- */

START_TEST(identify_good)
{
	struct kestrel_caps c = good_caps();
	struct kestrel_identify id = good_identify(&c);
	struct kestrel_ident ident;
	const char *why = "unset";

	memset(&ident, 'x', sizeof(ident));
	ck_assert_int_eq(kestrel_identify_check(&id, &c, &ident, &why), 0);
	ck_assert_ptr_null(why);
	ck_assert_str_eq(ident.serial, "KESTREL0001");
	ck_assert_str_eq(ident.model, "Gauntlet Kestrel reference controller");
	ck_assert_str_eq(ident.firmware, "1.0");
	ck_assert(!ident.vwc);
}
END_TEST

/* The volatile write cache bit is read into ident.vwc. */
START_TEST(identify_write_cache)
{
	struct kestrel_caps c = good_caps();
	struct kestrel_identify id = good_identify(&c);
	struct kestrel_ident ident;
	const char *why = "unset";

	memset(&ident, 'x', sizeof(ident));
	c.features = KESTREL_CAP_FEAT_VWC;
	id.features = KESTREL_LE32(KESTREL_ID_FEAT_VWC);
	ck_assert_int_eq(kestrel_identify_check(&id, &c, &ident, &why), 0);
	ck_assert_ptr_null(why);
	ck_assert(ident.vwc);
	/* IDENTIFY repeats CAP_FEATURES (datasheet 3): either way round */
	id.features = 0;
	ck_assert_int_eq(kestrel_identify_check(&id, &c, &ident, &why),
			 -EINVAL);
	ck_assert_str_eq(why, "features differs from CAP_FEATURES");
	c.features = 0;
	ck_assert_int_eq(kestrel_identify_check(&id, &c, &ident, &why), 0);
	ck_assert(!ident.vwc);
	id.features = KESTREL_LE32(KESTREL_ID_FEAT_VWC);
	ck_assert_int_eq(kestrel_identify_check(&id, &c, &ident, &why),
			 -EINVAL);
}
END_TEST

START_TEST(identify_full_width_strings)
{
	struct kestrel_caps c = good_caps();
	struct kestrel_identify id = good_identify(&c);
	struct kestrel_ident ident;
	const char *why;

	memcpy(id.serial, "ABCDEFGHIJKLMNOPQRST", 20);
	memset(id.model, ' ', sizeof(id.model));	/* empty model */
	memcpy(id.firmware, "12345678", 8);
	ck_assert_int_eq(kestrel_identify_check(&id, &c, &ident, &why), 0);
	ck_assert_str_eq(ident.serial, "ABCDEFGHIJKLMNOPQRST");
	ck_assert_str_eq(ident.model, "");
	ck_assert_str_eq(ident.firmware, "12345678");
}
END_TEST

START_TEST(identify_mismatch)
{
	struct kestrel_caps c = good_caps();
	unsigned int i;

	for (i = 0; i < 16; i++) {
		struct kestrel_identify id = good_identify(&c);
		struct kestrel_ident ident;
		const char *why = NULL;

		switch (i) {
		case 0:
			id.magic = KESTREL_LE32(0x5354524c);
			break;
		case 1:
			id.version = KESTREL_LE32(0x00010001);
			break;
		case 2:
			id.capacity = KESTREL_LE64(2049);
			break;
		case 3:
			id.block_size = KESTREL_LE32(4096);
			break;
		case 4:
			id.max_qdepth = KESTREL_LE32(255);
			break;
		case 5:
			id.max_segs = KESTREL_LE32(128);
			break;
		case 6:
			id.max_xfer_blocks = KESTREL_LE32(256);
			break;
		case 7:
			id.nvec = KESTREL_LE32(1);
			break;
		case 8:
			id.serial[3] = '\n';
			break;
		case 9:
			id.model[0] = '\0';	/* NUL is not padding */
			break;
		case 10:
			id.firmware[7] = (char)0x80;
			break;
		case 11:
			id.rsvd[0] = 1;
			break;
		case 12:
			id.rsvd[100] = KESTREL_LE32(0x80000000u);
			break;
		case 13:
			memset(&id, 0xff, sizeof(id));
			break;
		case 14:	/* a feature this driver does not know */
			id.features = KESTREL_LE32(KESTREL_ID_FEAT_VWC | 2u);
			break;
		case 15:
			id.features = KESTREL_LE32(0x80000000u);
			break;
		}
		ck_assert_msg(kestrel_identify_check(&id, &c, &ident, &why) ==
			      -EINVAL, "case %u accepted", i);
		ck_assert_msg(why != NULL, "case %u: no reason", i);
	}
}
END_TEST

/* ---- ioctl argument structs -------------------------------------------- */

START_TEST(validate_info_stats_timeout)
{
	struct kestrel_info info;
	struct kestrel_stats st;
	struct kestrel_timeout t;

	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	ck_assert_int_eq(kestrel_validate_info(&info), 0);
	info.capacity = 5;	/* output fields are ignored on input */
	ck_assert_int_eq(kestrel_validate_info(&info), 0);
	info.size = sizeof(info) - 4;
	ck_assert_int_eq(kestrel_validate_info(&info), -EINVAL);
	info.size = sizeof(info);
	info.flags = 1;
	ck_assert_int_eq(kestrel_validate_info(&info), -EINVAL);
	info.flags = 0;
	info.reserved0[0] = 1;
	ck_assert_int_eq(kestrel_validate_info(&info), -EINVAL);
	info.reserved0[0] = 0;
	info.reserved[6] = 1;
	ck_assert_int_eq(kestrel_validate_info(&info), -EINVAL);
	info.reserved[6] = 0;
	info.features = KESTREL_INFO_WRITE_CACHE;	/* output only */
	ck_assert_int_eq(kestrel_validate_info(&info), 0);

	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	ck_assert_int_eq(kestrel_validate_stats(&st), 0);
	st.size = 0;
	ck_assert_int_eq(kestrel_validate_stats(&st), -EINVAL);
	st.size = sizeof(st);
	st.flags = 0x80000000u;
	ck_assert_int_eq(kestrel_validate_stats(&st), -EINVAL);
	st.flags = 0;
	st.reserved[3] = 1;
	ck_assert_int_eq(kestrel_validate_stats(&st), -EINVAL);

	memset(&t, 0, sizeof(t));
	t.size = sizeof(t);
	ck_assert_int_eq(kestrel_validate_timeout(&t, false), 0);
	ck_assert_int_eq(kestrel_validate_timeout(&t, true), -EINVAL);
	t.timeout_ms = KESTREL_TIMEOUT_MIN_MS;
	ck_assert_int_eq(kestrel_validate_timeout(&t, true), 0);
	t.timeout_ms = KESTREL_TIMEOUT_MAX_MS;
	ck_assert_int_eq(kestrel_validate_timeout(&t, true), 0);
	t.timeout_ms = KESTREL_TIMEOUT_MIN_MS - 1;
	ck_assert_int_eq(kestrel_validate_timeout(&t, true), -EINVAL);
	t.timeout_ms = KESTREL_TIMEOUT_MAX_MS + 1;
	ck_assert_int_eq(kestrel_validate_timeout(&t, true), -EINVAL);
	t.timeout_ms = 5000;
	t.reserved[1] = 1;
	ck_assert_int_eq(kestrel_validate_timeout(&t, true), -EINVAL);
	ck_assert_int_eq(kestrel_validate_timeout(&t, false), -EINVAL);
	t.reserved[1] = 0;
	t.size = sizeof(t) + 1;
	ck_assert_int_eq(kestrel_validate_timeout(&t, true), -EINVAL);
}
END_TEST

static struct kestrel_submit good_submit(void)
{
	struct kestrel_submit s;

	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	s.count = 1;
	s.io_size = sizeof(struct kestrel_io);
	s.ios = 0x10000;
	return s;
}

START_TEST(validate_submit_table)
{
	static const struct {
		const char *what;
		int want;
	} rows[] = {
		{ "good", 0 },
		{ "count 64", 0 },
		{ "completed set on input (an output)", 0 },
		{ "size too small", -EINVAL },
		{ "size too large", -EINVAL },
		{ "flags", -EINVAL },
		{ "reserved[0]", -EINVAL },
		{ "reserved[4]", -EINVAL },
		{ "count 0", -EINVAL },
		{ "count 65", -EINVAL },
		{ "count huge", -EINVAL },
		{ "io_size small", -EINVAL },
		{ "io_size large", -EINVAL },
		{ "ios + count * io_size wraps", -EINVAL },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		struct kestrel_submit s = good_submit();

		switch (i) {
		case 1:
			s.count = KESTREL_MAX_BATCH;
			break;
		case 2:
			s.completed = 7;
			break;
		case 3:
			s.size--;
			break;
		case 4:
			s.size++;
			break;
		case 5:
			s.flags = 1;
			break;
		case 6:
			s.reserved[0] = 1;
			break;
		case 7:
			s.reserved[4] = 0xffffffff;
			break;
		case 8:
			s.count = 0;
			break;
		case 9:
			s.count = KESTREL_MAX_BATCH + 1;
			break;
		case 10:
			s.count = 0xffffffff;
			break;
		case 11:
			s.io_size = sizeof(struct kestrel_io) - 8;
			break;
		case 12:
			s.io_size = sizeof(struct kestrel_io) + 8;
			break;
		case 13:
			s.ios = UINT64_MAX - 16;
			break;
		}
		ck_assert_msg(kestrel_validate_submit(&s) == rows[i].want,
			      "%s: got %d, want %d", rows[i].what,
			      kestrel_validate_submit(&s), rows[i].want);
	}
}
END_TEST

struct io_row {
	const char *what;
	u8 opcode;
	u64 lba;
	u32 nblocks;
	u64 buf;
	u64 buf_len;
	int want;
};

static const struct io_row io_rows[] = {
	/* accepted */
	{ "read one block", KESTREL_IO_READ, 0, 1, 0x1000, 512, 0 },
	{ "write one block", KESTREL_IO_WRITE, 0, 1, 0x1000, 512, 0 },
	{ "last block", KESTREL_IO_READ, 999, 1, 0x1000, 512, 0 },
	{ "ends at capacity", KESTREL_IO_WRITE, 744, 256, 0x1000,
	  256 * 512, 0 },
	{ "largest transfer", KESTREL_IO_READ, 0, 256, 0x1000, 256 * 512, 0 },
	{ "buffer aligned to 4 only", KESTREL_IO_READ, 5, 2, 0x1004, 1024, 0 },
	{ "buffer ends at 2^64 (wraps)", KESTREL_IO_READ, 0, 1,
	  UINT64_MAX - 511, 512, -EINVAL },
	{ "buffer ends just below 2^64", KESTREL_IO_READ, 0, 1,
	  UINT64_MAX - 515, 512, 0 },
	{ "flush", KESTREL_IO_FLUSH, 0, 0, 0, 0, 0 },
	/* rejected: opcode */
	{ "opcode 0", 0, 0, 1, 0x1000, 512, -EINVAL },
	{ "opcode 4", 4, 0, 1, 0x1000, 512, -EINVAL },
	{ "opcode 255", 255, 0, 1, 0x1000, 512, -EINVAL },
	/* rejected: block range */
	{ "zero blocks", KESTREL_IO_READ, 0, 0, 0x1000, 0, -EINVAL },
	{ "one past max_xfer", KESTREL_IO_READ, 0, 257, 0x1000, 257 * 512,
	  -EINVAL },
	{ "nblocks huge", KESTREL_IO_WRITE, 0, 0xffffffff, 0x1000,
	  0xffffffffull * 512, -EINVAL },
	{ "lba at capacity", KESTREL_IO_READ, 1000, 1, 0x1000, 512, -EINVAL },
	{ "crosses capacity", KESTREL_IO_READ, 999, 2, 0x1000, 1024,
	  -EINVAL },
	{ "lba + nblocks wraps", KESTREL_IO_WRITE, UINT64_MAX, 1, 0x1000, 512,
	  -EINVAL },
	{ "lba + nblocks wraps to 0", KESTREL_IO_WRITE, UINT64_MAX - 1, 2,
	  0x1000, 1024, -EINVAL },
	/* rejected: buffer */
	{ "buf_len short", KESTREL_IO_READ, 0, 1, 0x1000, 511, -EINVAL },
	{ "buf_len long", KESTREL_IO_READ, 0, 1, 0x1000, 513, -EINVAL },
	{ "buf_len zero", KESTREL_IO_READ, 0, 1, 0x1000, 0, -EINVAL },
	{ "buf_len 2^64 - 1", KESTREL_IO_READ, 0, 1, 0x1000, UINT64_MAX,
	  -EINVAL },
	{ "buf_len wraps to the right value", KESTREL_IO_READ, 0, 1, 0x1000,
	  (1ull << 63) + 512, -EINVAL },
	{ "buf odd", KESTREL_IO_READ, 0, 1, 0x1001, 512, -EINVAL },
	{ "buf 2-aligned", KESTREL_IO_WRITE, 0, 1, 0x1002, 512, -EINVAL },
	{ "buf + buf_len wraps", KESTREL_IO_READ, 0, 1, UINT64_MAX - 255, 512,
	  -EINVAL },
	/* rejected: FLUSH with a field set */
	{ "flush lba", KESTREL_IO_FLUSH, 1, 0, 0, 0, -EINVAL },
	{ "flush nblocks", KESTREL_IO_FLUSH, 0, 1, 0, 0, -EINVAL },
	{ "flush buf", KESTREL_IO_FLUSH, 0, 0, 0x1000, 0, -EINVAL },
	{ "flush buf_len", KESTREL_IO_FLUSH, 0, 0, 0, 512, -EINVAL },
};

START_TEST(validate_io_table)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(io_rows); i++) {
		const struct io_row *r = &io_rows[i];
		struct kestrel_io io;
		int got;

		memset(&io, 0, sizeof(io));
		io.opcode = r->opcode;
		io.lba = r->lba;
		io.nblocks = r->nblocks;
		io.buf = r->buf;
		io.buf_len = r->buf_len;
		io.result = -5;		/* an output: ignored on input */
		got = kestrel_validate_io(&io, &test_lim);
		ck_assert_msg(got == r->want, "%s: got %d, want %d", r->what,
			      got, r->want);
	}
}
END_TEST

/* Every reserved byte and flag bit, one at a time, for every opcode. */
START_TEST(validate_io_reserved)
{
	static const u8 ops[] = {
		KESTREL_IO_READ, KESTREL_IO_WRITE, KESTREL_IO_FLUSH,
	};
	unsigned int o, b;

	for (o = 0; o < ARRAY_SIZE(ops); o++) {
		for (b = 0; b < 8 + 16 + 32 + 128; b++) {
			struct kestrel_io io;

			memset(&io, 0, sizeof(io));
			io.opcode = ops[o];
			if (ops[o] != KESTREL_IO_FLUSH) {
				io.nblocks = 1;
				io.buf = 0x2000;
				io.buf_len = 512;
			}
			ck_assert_int_eq(kestrel_validate_io(&io, &test_lim),
					 0);
			if (b < 8)
				io.flags = (u8)(1u << b);
			else if (b < 8 + 16)
				io.reserved0 = (u16)(1u << (b - 8));
			else if (b < 8 + 16 + 32)
				io.reserved1 = 1u << (b - 24);
			else
				io.reserved2[(b - 56) / 64] =
					1ull << ((b - 56) % 64);
			ck_assert_msg(kestrel_validate_io(&io, &test_lim) ==
				      -EINVAL, "op %u bit %u accepted",
				      ops[o], b);
		}
	}
}
END_TEST

START_TEST(io_nr_pages)
{
	ck_assert_uint_eq(kestrel_io_nr_pages(0x1000, 4096, 4096), 1);
	ck_assert_uint_eq(kestrel_io_nr_pages(0x1004, 4096, 4096), 2);
	ck_assert_uint_eq(kestrel_io_nr_pages(0x1ffc, 8, 4096), 2);
	ck_assert_uint_eq(kestrel_io_nr_pages(0x1ffc, 4, 4096), 1);
	ck_assert_uint_eq(kestrel_io_nr_pages(0x1004, 1u << 20, 4096), 257);
}
END_TEST

/* ---- commands ---------------------------------------------------------- */

START_TEST(status_to_errno)
{
	ck_assert_int_eq(kestrel_status_to_errno(KESTREL_SC_SUCCESS), 0);
	ck_assert_int_eq(kestrel_status_to_errno(KESTREL_SC_INVALID_OPCODE),
			 -EOPNOTSUPP);
	ck_assert_int_eq(kestrel_status_to_errno(KESTREL_SC_INVALID_FIELD),
			 -EINVAL);
	ck_assert_int_eq(kestrel_status_to_errno(KESTREL_SC_LBA_RANGE),
			 -ERANGE);
	ck_assert_int_eq(kestrel_status_to_errno(KESTREL_SC_SGL_INVALID),
			 -EINVAL);
	ck_assert_int_eq(kestrel_status_to_errno(KESTREL_SC_DATA_XFER_ERROR),
			 -EIO);
	ck_assert_int_eq(kestrel_status_to_errno(KESTREL_SC_MEDIA_ERROR),
			 -EIO);
	ck_assert_int_eq(kestrel_status_to_errno(KESTREL_SC_MAX + 1), -EIO);
	ck_assert_int_eq(kestrel_status_to_errno(0x7fff), -EIO);
}
END_TEST

START_TEST(io_to_opcode)
{
	ck_assert_uint_eq(kestrel_io_to_opcode(KESTREL_IO_READ),
			  KESTREL_OP_READ);
	ck_assert_uint_eq(kestrel_io_to_opcode(KESTREL_IO_WRITE),
			  KESTREL_OP_WRITE);
	ck_assert_uint_eq(kestrel_io_to_opcode(KESTREL_IO_FLUSH),
			  KESTREL_OP_FLUSH);
	ck_assert_uint_eq(kestrel_io_to_opcode(0), 0);
	ck_assert_uint_eq(kestrel_io_to_opcode(4), 0);
}
END_TEST

START_TEST(sqe_fill)
{
	struct kestrel_sqe sqe;
	unsigned int i;

	memset(&sqe, 0xa5, sizeof(sqe));
	kestrel_sqe_fill(&sqe, KESTREL_OP_WRITE, 0x1234, 0x0102030405060708ull,
			 77, 3, 0xdead0000ull, 48);
	ck_assert_uint_eq(sqe.opcode, KESTREL_OP_WRITE);
	ck_assert_uint_eq(sqe.flags, 0);
	ck_assert_uint_eq(KESTREL_CPU16(sqe.tag), 0x1234);
	ck_assert_uint_eq(KESTREL_CPU32(sqe.nsegs), 3);
	ck_assert_uint_eq(KESTREL_CPU64(sqe.lba), 0x0102030405060708ull);
	ck_assert_uint_eq(KESTREL_CPU32(sqe.nblocks), 77);
	ck_assert_uint_eq(sqe.rsvd0, 0);
	ck_assert_uint_eq(KESTREL_CPU64(sqe.sgl_addr), 0xdead0000ull);
	ck_assert_uint_eq(KESTREL_CPU32(sqe.sgl_len), 48);
	for (i = 0; i < ARRAY_SIZE(sqe.rsvd1); i++)
		ck_assert_uint_eq(sqe.rsvd1[i], 0);
	/* Little-endian in memory whatever the host. */
	ck_assert_uint_eq(((const u8 *)&sqe)[2], 0x34);
	ck_assert_uint_eq(((const u8 *)&sqe)[3], 0x12);
}
END_TEST

START_TEST(wire_tags)
{
	unsigned int index, gen;

	for (index = 0; index < KESTREL_MAX_QDEPTH; index += 37) {
		for (gen = 0; gen < 70; gen++) {
			u16 t = kestrel_wire_tag(index, gen);

			ck_assert_uint_eq(kestrel_tag_index(t), index);
			ck_assert_uint_eq(t >> KESTREL_TAG_INDEX_BITS,
					  gen & KESTREL_TAG_GEN_MASK);
		}
	}
	ck_assert_uint_ne(kestrel_wire_tag(5, 1), kestrel_wire_tag(5, 2));
}
END_TEST

/* ---- scatter-gather lists ---------------------------------------------- */

#define TEST_MAX_LISTS	8

struct sgl_fixture {
	struct kestrel_sg_desc *mem;	/* TEST_MAX_LISTS lists of 256 */
	struct kestrel_sgl_list lists[TEST_MAX_LISTS];
	struct kestrel_seg segs[KESTREL_MAX_MAXSEG + 1];
};

static struct sgl_fixture *sgl_fixture_new(u32 nsegs)
{
	struct sgl_fixture *f = calloc(1, sizeof(*f));
	unsigned int i;

	ck_assert_ptr_nonnull(f);
	f->mem = calloc(TEST_MAX_LISTS, KESTREL_SG_LIST_MAX_BYTES);
	ck_assert_ptr_nonnull(f->mem);
	memset(f->mem, 0xee, TEST_MAX_LISTS * KESTREL_SG_LIST_MAX_BYTES);
	for (i = 0; i < TEST_MAX_LISTS; i++) {
		f->lists[i].descs = f->mem + i * KESTREL_SG_PER_LIST;
		/* Fake bus addresses: list i at 0x100000 * (i + 1). */
		f->lists[i].dma = 0x100000ull * (i + 1);
	}
	for (i = 0; i < nsegs && i < ARRAY_SIZE(f->segs); i++) {
		f->segs[i].addr = 0x40000000ull + 0x1000ull * i + (i % 4) * 4;
		f->segs[i].len = 4096 - (i % 4) * 4;
	}
	return f;
}

static void sgl_fixture_free(struct sgl_fixture *f)
{
	free(f->mem);
	free(f);
}

static u64 seg_total(const struct sgl_fixture *f, u32 nsegs)
{
	u64 sum = 0;
	u32 i;

	for (i = 0; i < nsegs; i++)
		sum += f->segs[i].len;
	return sum;
}

/*
 * Walk a chain the way the device does (datasheet 6.4) and check that it
 * yields exactly the segments given, in order.  Returns the lists walked.
 */
static u32 sgl_walk_check(const struct sgl_fixture *f, u32 nsegs,
			  u32 max_segs, u32 first_len)
{
	u64 addr = f->lists[0].dma;
	u32 len = first_len, n = 0, lists = 0;

	for (;;) {
		const struct kestrel_sg_desc *d = NULL;
		u32 ndesc, i, l;

		ck_assert_uint_ne(len, 0);
		ck_assert_uint_eq(len % 16, 0);
		ck_assert_uint_le(len, KESTREL_SG_LIST_MAX_BYTES);
		ck_assert_uint_eq(addr % 16, 0);
		ck_assert_uint_le(++lists, max_segs);
		for (l = 0; l < TEST_MAX_LISTS; l++)
			if (f->lists[l].dma == addr)
				d = f->lists[l].descs;
		ck_assert_ptr_nonnull(d);
		ndesc = len / 16;
		for (i = 0; i < ndesc; i++) {
			u16 flags = KESTREL_CPU16(d[i].flags);

			ck_assert_uint_eq(d[i].rsvd, 0);
			ck_assert_uint_eq(flags & ~KESTREL_SG_FLAGS_MASK, 0);
			if (flags & KESTREL_SG_CHAIN) {
				ck_assert_uint_eq(i, ndesc - 1);
				addr = KESTREL_CPU64(d[i].addr);
				len = KESTREL_CPU32(d[i].len);
				break;
			}
			ck_assert_uint_lt(n, nsegs);
			ck_assert_uint_eq(KESTREL_CPU64(d[i].addr),
					  f->segs[n].addr);
			ck_assert_uint_eq(KESTREL_CPU32(d[i].len),
					  f->segs[n].len);
			n++;
		}
		if (i == ndesc)
			break;
	}
	ck_assert_uint_eq(n, nsegs);
	return lists;
}

START_TEST(sgl_lists_needed)
{
	ck_assert_uint_eq(kestrel_sgl_lists_needed(0), 0);
	ck_assert_uint_eq(kestrel_sgl_lists_needed(1), 1);
	ck_assert_uint_eq(kestrel_sgl_lists_needed(255), 1);
	ck_assert_uint_eq(kestrel_sgl_lists_needed(256), 1);
	ck_assert_uint_eq(kestrel_sgl_lists_needed(257), 2);
	ck_assert_uint_eq(kestrel_sgl_lists_needed(511), 2);
	ck_assert_uint_eq(kestrel_sgl_lists_needed(512), 3);
	ck_assert_uint_eq(kestrel_sgl_lists_needed(766), 3);
	ck_assert_uint_eq(kestrel_sgl_lists_needed(767), 4);
	ck_assert_uint_eq(kestrel_sgl_lists_needed(1024), 5);
}
END_TEST

START_TEST(sgl_one_segment)
{
	struct sgl_fixture *f = sgl_fixture_new(1);
	u32 first_len = 0;

	ck_assert_int_eq(kestrel_build_sgl(f->segs, 1, 256, seg_total(f, 1),
					   f->lists, TEST_MAX_LISTS,
					   &first_len), 1);
	ck_assert_uint_eq(first_len, 16);
	ck_assert_uint_eq(KESTREL_CPU16(f->lists[0].descs[0].flags),
			  KESTREL_SG_DATA);
	ck_assert_uint_eq(sgl_walk_check(f, 1, 256, first_len), 1);
	/* Nothing written past the one descriptor. */
	ck_assert_uint_eq(((u8 *)f->lists[0].descs)[16], 0xee);
	sgl_fixture_free(f);
}
END_TEST

START_TEST(sgl_one_full_list)
{
	struct sgl_fixture *f = sgl_fixture_new(256);
	u32 first_len = 0;

	ck_assert_int_eq(kestrel_build_sgl(f->segs, 256, 256,
					   seg_total(f, 256), f->lists,
					   TEST_MAX_LISTS, &first_len), 1);
	ck_assert_uint_eq(first_len, KESTREL_SG_LIST_MAX_BYTES);
	/* The last descriptor is data, not a chain. */
	ck_assert_uint_eq(KESTREL_CPU16(f->lists[0].descs[255].flags),
			  KESTREL_SG_DATA);
	ck_assert_uint_eq(sgl_walk_check(f, 256, 256, first_len), 1);
	ck_assert_uint_eq(((u8 *)f->lists[1].descs)[0], 0xee);
	sgl_fixture_free(f);
}
END_TEST

START_TEST(sgl_needs_chain)
{
	struct sgl_fixture *f = sgl_fixture_new(257);
	struct kestrel_sg_desc *chain;
	u32 first_len = 0;

	ck_assert_int_eq(kestrel_build_sgl(f->segs, 257, 1024,
					   seg_total(f, 257), f->lists,
					   TEST_MAX_LISTS, &first_len), 2);
	ck_assert_uint_eq(first_len, KESTREL_SG_LIST_MAX_BYTES);
	chain = &f->lists[0].descs[255];
	ck_assert_uint_eq(KESTREL_CPU16(chain->flags), KESTREL_SG_CHAIN);
	ck_assert_uint_eq(KESTREL_CPU64(chain->addr), f->lists[1].dma);
	ck_assert_uint_eq(KESTREL_CPU32(chain->len), 2 * 16);
	ck_assert_uint_eq(sgl_walk_check(f, 257, 1024, first_len), 2);
	sgl_fixture_free(f);
}
END_TEST

START_TEST(sgl_chain_sizes)
{
	static const u32 counts[] = { 2, 255, 510, 511, 512, 700, 766, 767 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(counts); i++) {
		struct sgl_fixture *f = sgl_fixture_new(counts[i]);
		u32 first_len = 0;
		int lists;

		lists = kestrel_build_sgl(f->segs, counts[i], 1024,
					  seg_total(f, counts[i]), f->lists,
					  TEST_MAX_LISTS, &first_len);
		ck_assert_int_eq(lists,
				 (int)kestrel_sgl_lists_needed(counts[i]));
		ck_assert_uint_eq(sgl_walk_check(f, counts[i], 1024,
						 first_len), (u32)lists);
		sgl_fixture_free(f);
	}
}
END_TEST

START_TEST(sgl_max_segments)
{
	struct sgl_fixture *f = sgl_fixture_new(KESTREL_MAX_MAXSEG);
	u32 first_len = 0;

	ck_assert_int_eq(kestrel_build_sgl(f->segs, KESTREL_MAX_MAXSEG,
					   KESTREL_MAX_MAXSEG,
					   seg_total(f, KESTREL_MAX_MAXSEG),
					   f->lists, TEST_MAX_LISTS,
					   &first_len), 5);
	ck_assert_uint_eq(sgl_walk_check(f, KESTREL_MAX_MAXSEG,
					 KESTREL_MAX_MAXSEG, first_len), 5);
	sgl_fixture_free(f);
}
END_TEST

START_TEST(sgl_rejects)
{
	struct sgl_fixture *f = sgl_fixture_new(KESTREL_MAX_MAXSEG + 1);
	struct kestrel_sgl_list bad[TEST_MAX_LISTS];
	u32 first_len = 0xabcd;

	/* More segments than CAP_MAXSEG allows. */
	ck_assert_int_eq(kestrel_build_sgl(f->segs, 257, 256,
					   seg_total(f, 257), f->lists,
					   TEST_MAX_LISTS, &first_len),
			 -EINVAL);
	ck_assert_int_eq(kestrel_build_sgl(f->segs, KESTREL_MAX_MAXSEG + 1,
					   KESTREL_MAX_MAXSEG + 1,
					   seg_total(f, KESTREL_MAX_MAXSEG + 1),
					   f->lists, TEST_MAX_LISTS,
					   &first_len), -EINVAL);
	/* No segments. */
	ck_assert_int_eq(kestrel_build_sgl(f->segs, 0, 256, 0, f->lists,
					   TEST_MAX_LISTS, &first_len),
			 -EINVAL);
	/* Total differs from the transfer size. */
	ck_assert_int_eq(kestrel_build_sgl(f->segs, 4, 256,
					   seg_total(f, 4) + 1, f->lists,
					   TEST_MAX_LISTS, &first_len),
			 -EINVAL);
	/* Too few list buffers for a chain. */
	ck_assert_int_eq(kestrel_build_sgl(f->segs, 257, 1024,
					   seg_total(f, 257), f->lists, 1,
					   &first_len), -EINVAL);
	/* A list buffer not 16-byte aligned on the bus. */
	memcpy(bad, f->lists, sizeof(bad));
	bad[1].dma += 8;
	ck_assert_int_eq(kestrel_build_sgl(f->segs, 257, 1024,
					   seg_total(f, 257), bad,
					   TEST_MAX_LISTS, &first_len),
			 -EINVAL);
	/* A zero-length segment. */
	f->segs[3].len = 0;
	ck_assert_int_eq(kestrel_build_sgl(f->segs, 4, 256, seg_total(f, 4),
					   f->lists, TEST_MAX_LISTS,
					   &first_len), -EINVAL);
	/* Nothing was written by any rejected call. */
	ck_assert_uint_eq(first_len, 0xabcd);
	ck_assert_uint_eq(((u8 *)f->lists[0].descs)[0], 0xee);
	sgl_fixture_free(f);
}
END_TEST

/* ---- completions ------------------------------------------------------- */

#define NTAGS	8
#define SQSIZE	16

struct cqe_fixture {
	struct kestrel_tag_shadow tags[NTAGS];
	struct kestrel_cqe cqe;
};

/* Tag index 3, generation 5, fetched at SQ slot 3, a 4 KiB read. */
static void cqe_fixture_init(struct cqe_fixture *f)
{
	memset(f, 0, sizeof(*f));
	f->tags[3].wire_tag = kestrel_wire_tag(3, 5);
	f->tags[3].sq_head = 4;
	f->tags[3].result = 4096;
	f->tags[3].state = KESTREL_TAG_INFLIGHT;
	f->tags[6].wire_tag = kestrel_wire_tag(6, 0);
	f->tags[6].sq_head = 7;
	f->tags[6].result = 0;
	f->tags[6].state = KESTREL_TAG_INFLIGHT;

	f->cqe.tag = KESTREL_LE16(kestrel_wire_tag(3, 5));
	f->cqe.sq_head = KESTREL_LE16(4);
	f->cqe.status = KESTREL_LE16(KESTREL_CQE_PHASE);
	f->cqe.result = KESTREL_LE32(4096);
}

static void cqe_set_status(struct cqe_fixture *f, u16 code, u16 phase)
{
	f->cqe.status = KESTREL_LE16((u16)(code << KESTREL_CQE_STATUS_SHIFT) |
				     phase);
}

static enum kestrel_cqe_verdict cqe_run(struct cqe_fixture *f, u32 phase,
					struct kestrel_cqe_info *info)
{
	return kestrel_cqe_check(&f->cqe, phase, f->tags, NTAGS, SQSIZE, info);
}

START_TEST(cqe_good)
{
	struct cqe_fixture f;
	struct kestrel_cqe_info info;

	cqe_fixture_init(&f);
	ck_assert_int_eq(cqe_run(&f, 1, &info), KESTREL_CQE_OK);
	ck_assert_uint_eq(info.index, 3);
	ck_assert_uint_eq(info.sq_head, 4);
	ck_assert_uint_eq(info.status, KESTREL_SC_SUCCESS);
	ck_assert_uint_eq(info.result, 4096);
	ck_assert(kestrel_cqe_phase_matches(f.cqe.status, 1));
	ck_assert(!kestrel_cqe_phase_matches(f.cqe.status, 0));
}
END_TEST

START_TEST(cqe_second_pass_phase_zero)
{
	struct cqe_fixture f;
	struct kestrel_cqe_info info;

	cqe_fixture_init(&f);
	cqe_set_status(&f, KESTREL_SC_SUCCESS, 0);
	ck_assert_int_eq(cqe_run(&f, 1, &info), KESTREL_CQE_EMPTY);
	ck_assert_int_eq(cqe_run(&f, 0, &info), KESTREL_CQE_OK);
}
END_TEST

START_TEST(cqe_wrong_phase)
{
	struct cqe_fixture f;
	struct kestrel_cqe_info info;

	cqe_fixture_init(&f);
	ck_assert_int_eq(cqe_run(&f, 0, &info), KESTREL_CQE_EMPTY);
	/* An entry that is not ours is not looked at at all. */
	f.cqe.tag = KESTREL_LE16(0xffff);
	f.cqe.status = KESTREL_LE16(0xfffe);
	ck_assert_int_eq(cqe_run(&f, 1, &info), KESTREL_CQE_EMPTY);
	/* A zeroed CQ slot is empty in the first pass. */
	memset(&f.cqe, 0, sizeof(f.cqe));
	ck_assert_int_eq(cqe_run(&f, 1, &info), KESTREL_CQE_EMPTY);
}
END_TEST

START_TEST(cqe_tag_out_of_range)
{
	const u16 tags[] = { NTAGS, NTAGS + 1, KESTREL_TAG_INDEX_MASK,
			     0xffff, kestrel_wire_tag(NTAGS, 5) };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(tags); i++) {
		struct cqe_fixture f;
		struct kestrel_cqe_info info;

		cqe_fixture_init(&f);
		f.cqe.tag = KESTREL_LE16(tags[i]);
		ck_assert_int_eq(cqe_run(&f, 1, &info), KESTREL_CQE_BAD_TAG);
	}
}
END_TEST

START_TEST(cqe_tag_not_in_flight)
{
	struct cqe_fixture f;
	struct kestrel_cqe_info info;

	/* A slot that was never used. */
	cqe_fixture_init(&f);
	f.cqe.tag = KESTREL_LE16(kestrel_wire_tag(2, 0));
	ck_assert_int_eq(cqe_run(&f, 1, &info), KESTREL_CQE_NOT_INFLIGHT);
	/* The right slot with an older generation: a stale completion. */
	cqe_fixture_init(&f);
	f.cqe.tag = KESTREL_LE16(kestrel_wire_tag(3, 4));
	ck_assert_int_eq(cqe_run(&f, 1, &info), KESTREL_CQE_NOT_INFLIGHT);
	/* A slot released after its completion. */
	cqe_fixture_init(&f);
	f.tags[3].state = KESTREL_TAG_IDLE;
	ck_assert_int_eq(cqe_run(&f, 1, &info), KESTREL_CQE_NOT_INFLIGHT);
	/* A state the driver never writes. */
	cqe_fixture_init(&f);
	f.tags[3].state = 0x77;
	ck_assert_int_eq(cqe_run(&f, 1, &info), KESTREL_CQE_NOT_INFLIGHT);
}
END_TEST

START_TEST(cqe_duplicate)
{
	struct cqe_fixture f;
	struct kestrel_cqe_info info;

	cqe_fixture_init(&f);
	ck_assert_int_eq(cqe_run(&f, 1, &info), KESTREL_CQE_OK);
	/* What the driver does after consuming it. */
	f.tags[info.index].state = KESTREL_TAG_DONE;
	ck_assert_int_eq(cqe_run(&f, 1, &info), KESTREL_CQE_DUPLICATE);
}
END_TEST

START_TEST(cqe_bad_status)
{
	static const u16 codes[] = { KESTREL_SC_MAX + 1, 0x10, 0x7fff };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(codes); i++) {
		struct cqe_fixture f;
		struct kestrel_cqe_info info;

		cqe_fixture_init(&f);
		cqe_set_status(&f, codes[i], 1);
		f.cqe.result = 0;
		ck_assert_int_eq(cqe_run(&f, 1, &info),
				 KESTREL_CQE_BAD_STATUS);
	}
}
END_TEST

START_TEST(cqe_error_status)
{
	u16 code;

	for (code = 1; code <= KESTREL_SC_MAX; code++) {
		struct cqe_fixture f;
		struct kestrel_cqe_info info;

		cqe_fixture_init(&f);
		cqe_set_status(&f, code, 1);
		/* An error reports no bytes... */
		ck_assert_int_eq(cqe_run(&f, 1, &info),
				 KESTREL_CQE_BAD_RESULT);
		f.cqe.result = 0;
		ck_assert_int_eq(cqe_run(&f, 1, &info), KESTREL_CQE_OK);
		ck_assert_uint_eq(info.status, code);
	}
}
END_TEST

START_TEST(cqe_bad_sq_head)
{
	static const u16 heads[] = { 3, 5, 0, SQSIZE - 1, SQSIZE, 0xffff };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(heads); i++) {
		struct cqe_fixture f;
		struct kestrel_cqe_info info;

		cqe_fixture_init(&f);
		f.cqe.sq_head = KESTREL_LE16(heads[i]);
		ck_assert_int_eq(cqe_run(&f, 1, &info),
				 KESTREL_CQE_BAD_SQ_HEAD);
	}
}
END_TEST

START_TEST(cqe_bad_result_and_reserved)
{
	struct cqe_fixture f;
	struct kestrel_cqe_info info;

	cqe_fixture_init(&f);
	f.cqe.result = KESTREL_LE32(4095);
	ck_assert_int_eq(cqe_run(&f, 1, &info), KESTREL_CQE_BAD_RESULT);
	cqe_fixture_init(&f);
	f.cqe.result = KESTREL_LE32(0);
	ck_assert_int_eq(cqe_run(&f, 1, &info), KESTREL_CQE_BAD_RESULT);
	/* A FLUSH (tag 6) succeeds with 0 bytes. */
	cqe_fixture_init(&f);
	f.cqe.tag = KESTREL_LE16(kestrel_wire_tag(6, 0));
	f.cqe.sq_head = KESTREL_LE16(7);
	f.cqe.result = 0;
	ck_assert_int_eq(cqe_run(&f, 1, &info), KESTREL_CQE_OK);
	ck_assert_uint_eq(info.index, 6);

	cqe_fixture_init(&f);
	f.cqe.rsvd0 = KESTREL_LE16(1);
	ck_assert_int_eq(cqe_run(&f, 1, &info), KESTREL_CQE_BAD_RESERVED);
	cqe_fixture_init(&f);
	f.cqe.rsvd1 = KESTREL_LE32(0x80000000u);
	ck_assert_int_eq(cqe_run(&f, 1, &info), KESTREL_CQE_BAD_RESERVED);
}
END_TEST

START_TEST(cqe_no_tag_table)
{
	struct kestrel_cqe cqe;
	struct kestrel_cqe_info info;

	memset(&cqe, 0, sizeof(cqe));
	cqe.status = KESTREL_LE16(KESTREL_CQE_PHASE);
	ck_assert_int_eq(kestrel_cqe_check(&cqe, 1, NULL, 0, SQSIZE, &info),
			 KESTREL_CQE_BAD_TAG);
}
END_TEST

START_TEST(cqe_verdict_names)
{
	int v;

	for (v = KESTREL_CQE_EMPTY; v <= KESTREL_CQE_BAD_RESERVED; v++) {
		const char *name = kestrel_cqe_verdict_name(v);

		ck_assert_ptr_nonnull(name);
		ck_assert_str_ne(name, "unknown verdict");
	}
	ck_assert_str_eq(kestrel_cqe_verdict_name(
				 (enum kestrel_cqe_verdict)99),
			 "unknown verdict");
}
END_TEST

Suite *lib_suite(void)
{
	Suite *s = suite_create("lib");
	TCase *tc;

	tc = tcase_create("caps");
	tcase_add_test(tc, caps_default_device);
	tcase_add_test(tc, caps_derived_limits);
	tcase_add_test(tc, caps_all_ones_is_no_device);
	tcase_add_test(tc, caps_bad_values);
	tcase_add_test(tc, caps_edges_accepted);
	tcase_add_test(tc, pick_qdepth);
	suite_add_tcase(s, tc);

	tc = tcase_create("identify");
	tcase_add_test(tc, identify_good);
	tcase_add_test(tc, identify_write_cache);
	tcase_add_test(tc, identify_full_width_strings);
	tcase_add_test(tc, identify_mismatch);
	suite_add_tcase(s, tc);

	tc = tcase_create("validate");
	tcase_add_test(tc, validate_info_stats_timeout);
	tcase_add_test(tc, validate_submit_table);
	tcase_add_test(tc, validate_io_table);
	tcase_add_test(tc, validate_io_reserved);
	tcase_add_test(tc, io_nr_pages);
	suite_add_tcase(s, tc);

	tc = tcase_create("commands");
	tcase_add_test(tc, status_to_errno);
	tcase_add_test(tc, io_to_opcode);
	tcase_add_test(tc, sqe_fill);
	tcase_add_test(tc, wire_tags);
	suite_add_tcase(s, tc);

	tc = tcase_create("sgl");
	tcase_add_test(tc, sgl_lists_needed);
	tcase_add_test(tc, sgl_one_segment);
	tcase_add_test(tc, sgl_one_full_list);
	tcase_add_test(tc, sgl_needs_chain);
	tcase_add_test(tc, sgl_chain_sizes);
	tcase_add_test(tc, sgl_max_segments);
	tcase_add_test(tc, sgl_rejects);
	suite_add_tcase(s, tc);

	tc = tcase_create("cqe");
	tcase_add_test(tc, cqe_good);
	tcase_add_test(tc, cqe_second_pass_phase_zero);
	tcase_add_test(tc, cqe_wrong_phase);
	tcase_add_test(tc, cqe_tag_out_of_range);
	tcase_add_test(tc, cqe_tag_not_in_flight);
	tcase_add_test(tc, cqe_duplicate);
	tcase_add_test(tc, cqe_bad_status);
	tcase_add_test(tc, cqe_error_status);
	tcase_add_test(tc, cqe_bad_sq_head);
	tcase_add_test(tc, cqe_bad_result_and_reserved);
	tcase_add_test(tc, cqe_no_tag_table);
	tcase_add_test(tc, cqe_verdict_names);
	suite_add_tcase(s, tc);

	return s;
}
