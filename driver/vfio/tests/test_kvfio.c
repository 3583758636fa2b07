// SPDX-License-Identifier: GPL-2.0
/*
 * libkvfio against Kestrel's device core (kvfio_double.c): I/O, the
 * timeout escalation (poll, reset, resubmit, dead), corrupt completions,
 * fatal errors, the device request and surprise removal.  Every failure
 * path is driven by the device's own fault engine and judged by the
 * driver's counters, the request's result and the data on the double's
 * disk.  After every test the double's IOMMU saw no DMA outside what the
 * driver had mapped (iommu_catches_stray_dma shows that it would).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvfio.h"
#include "kvfio_double.h"
#include "tests.h"

#define BS 512

static struct kvfio_double *x;
static struct kvfio_dev *d;
static struct kvfio_counters c;
static unsigned long allowed_iommu_faults;

static void open_with(const struct kvfio_opts *o)
{
	struct kvfio_double_config cfg = { .max_segments = 256 };
	char err[256] = "";
	int ret;

	x = kvfio_double_new(&cfg, err, sizeof(err));
	ck_assert_msg(x, "double: %s", err);
	ret = kvfio_open(&d, &kvfio_double_ops, x, o, err, sizeof(err));
	ck_assert_msg(ret == 0, "kvfio_open: %d %s", ret, err);
	allowed_iommu_faults = 0;
}

static void setup(void)
{
	struct kvfio_opts o;

	kvfio_default_opts(&o);
	o.timeout_ms = 100;
	open_with(&o);
}

static void teardown(void)
{
	if (x)
		ck_assert_uint_eq(kvfio_double_iommu_faults(x),
				  allowed_iommu_faults);
	kvfio_close(d);
	d = NULL;
	kvfio_double_free(x);
	x = NULL;
}

static void faults(const char *rules)
{
	char err[256];

	ck_assert_msg(kvfio_double_faults(x, rules, err, sizeof(err)) >= 0,
		      "%s: %s", rules, err);
}

static void fill(uint8_t *b, uint64_t lba, uint32_t nblocks, uint8_t salt)
{
	size_t i;

	for (i = 0; i < (size_t)nblocks * BS; i++)
		b[i] = (uint8_t)((lba * BS + i) * 7 + salt + i / BS);
}

static void io_set(struct kestrel_io *io, uint8_t op, uint64_t lba,
		   uint32_t nblocks, void *buf)
{
	memset(io, 0, sizeof(*io));
	io->opcode = op;
	io->lba = lba;
	io->nblocks = nblocks;
	io->buf = (uintptr_t)buf;
	io->buf_len = (uint64_t)nblocks * (op == KESTREL_IO_FLUSH ? 0 : BS);
}

/* One-request batch: returns the request's result; the call must work. */
static int one(uint8_t op, uint64_t lba, uint32_t nblocks, void *buf)
{
	struct kestrel_submit s = { .size = sizeof(s), .count = 1,
				    .io_size = sizeof(struct kestrel_io) };
	struct kestrel_io io;
	int ret;

	io_set(&io, op, lba, nblocks, buf);
	s.ios = (uintptr_t)&io;
	ret = kvfio_submit(d, &s);
	ck_assert_msg(ret == 0, "kvfio_submit: %d", ret);
	ck_assert_uint_eq(s.completed, io.result == 0);
	return io.result;
}

static int submit_ret(uint8_t op, uint64_t lba, uint32_t nblocks, void *buf)
{
	struct kestrel_submit s = { .size = sizeof(s), .count = 1,
				    .io_size = sizeof(struct kestrel_io) };
	struct kestrel_io io;

	io_set(&io, op, lba, nblocks, buf);
	s.ios = (uintptr_t)&io;
	return kvfio_submit(d, &s);
}

/* Write a pattern at lba, then read it back through the driver. */
static void write_pattern(uint64_t lba, uint32_t nblocks, uint8_t salt)
{
	uint8_t *b = malloc((size_t)nblocks * BS);

	fill(b, lba, nblocks, salt);
	ck_assert_int_eq(one(KESTREL_IO_WRITE, lba, nblocks, b), 0);
	free(b);
}

static void read_expect(uint64_t lba, uint32_t nblocks, uint8_t salt,
			int want)
{
	uint8_t *b = calloc(nblocks, BS), *e = malloc((size_t)nblocks * BS);

	fill(e, lba, nblocks, salt);
	ck_assert_int_eq(one(KESTREL_IO_READ, lba, nblocks, b), want);
	if (!want)
		ck_assert_msg(!memcmp(b, e, (size_t)nblocks * BS),
			      "read of lba %llu returned other data",
			      (unsigned long long)lba);
	free(b);
	free(e);
}

static void counters(void)
{
	kvfio_get_counters(d, &c);
	if (getenv("KVFIO_DEBUG"))
		kvfio_counters_print(stderr, &c, true);
}

/* ---- io ---------------------------------------------------------------- */

START_TEST(io_batch_write_flush_read)
{
	struct kestrel_submit s = { .size = sizeof(s), .count = 5,
				    .io_size = sizeof(struct kestrel_io) };
	struct kestrel_io ios[5];
	uint8_t *w = malloc(64 * BS), *r = calloc(64, BS);
	size_t disk_len;
	uint8_t *disk = kvfio_double_disk(x, &disk_len);
	unsigned i, maps_idle = kvfio_double_mappings(x);

	fill(w, 10, 64, 3);
	for (i = 0; i < 4; i++)
		io_set(&ios[i], KESTREL_IO_WRITE, 10 + 16 * i, 16, w + i * 16 * BS);
	io_set(&ios[4], KESTREL_IO_FLUSH, 0, 0, NULL);
	s.ios = (uintptr_t)ios;
	ck_assert_int_eq(kvfio_submit(d, &s), 0);
	ck_assert_uint_eq(s.completed, 5);
	/* On the device's media, byte for byte. */
	ck_assert(!memcmp(disk + 10 * BS, w, 64 * BS));
	for (i = 0; i < 4; i++)
		io_set(&ios[i], KESTREL_IO_READ, 10 + 16 * i, 16, r + i * 16 * BS);
	s.count = 4;
	ck_assert_int_eq(kvfio_submit(d, &s), 0);
	ck_assert_uint_eq(s.completed, 4);
	ck_assert(!memcmp(r, w, 64 * BS));
	counters();
	ck_assert_uint_eq(c.submitted, 9);
	ck_assert_uint_eq(c.completed, 9);
	ck_assert_uint_eq(c.bytes_written, 64 * BS);
	ck_assert_uint_eq(c.bytes_read, 64 * BS);
	ck_assert_uint_eq(c.timeouts + c.resets + c.retries + c.failed, 0);
	/* Every bounce buffer and segment list was unmapped again. */
	ck_assert_uint_eq(kvfio_double_mappings(x), maps_idle);
	ck_assert_uint_eq(c.dma_maps - c.dma_unmaps, maps_idle);
	free(w);
	free(r);
}
END_TEST

START_TEST(io_big_transfer_and_queue_full)
{
	/* A batch of 30 on an 8-entry queue, then 1 MiB (256 segments). */
	enum { N = 30, NB = 64 };
	struct kestrel_submit s = { .size = sizeof(s), .count = N,
				    .io_size = sizeof(struct kestrel_io) };
	struct kestrel_io ios[N];
	uint8_t *w = malloc((size_t)N * NB * BS), *r = calloc(N * NB, BS);
	struct kestrel_info info = { .size = sizeof(info) };
	struct kvfio_opts o;
	unsigned i;

	teardown();
	kvfio_default_opts(&o);
	o.timeout_ms = 100;
	o.qdepth = 8;
	open_with(&o);
	ck_assert_int_eq(kvfio_get_info(d, &info), 0);
	ck_assert_uint_eq(info.queue_depth, 8);

	/* One bad request refuses the batch, as KESTREL_IOC_SUBMIT does. */
	ck_assert_int_eq(submit_ret(KESTREL_IO_WRITE, 0, 0, NULL), -EINVAL);
	fill(w, 0, N * NB, 9);
	for (i = 0; i < N; i++)
		io_set(&ios[i], KESTREL_IO_WRITE, (uint64_t)i * NB, NB,
		       w + (size_t)i * NB * BS);
	s.ios = (uintptr_t)ios;
	ck_assert_int_eq(kvfio_submit(d, &s), 0);
	ck_assert_uint_eq(s.completed, N);
	for (i = 0; i < N; i++)
		io_set(&ios[i], KESTREL_IO_READ, (uint64_t)i * NB, NB,
		       r + (size_t)i * NB * BS);
	ck_assert_int_eq(kvfio_submit(d, &s), 0);
	ck_assert_uint_eq(s.completed, N);
	ck_assert(!memcmp(r, w, (size_t)N * NB * BS));
	read_expect(0, N * NB, 9, 0);	/* 960 KiB in one command */
	counters();
	ck_assert_uint_eq(c.failed, 0);
	free(w);
	free(r);
}
END_TEST

START_TEST(io_missed_interrupt_polled)
{
	write_pattern(100, 8, 1);
	faults("irq:drop:once");
	read_expect(100, 8, 1, 0);
	counters();
	ck_assert_uint_eq(kvfio_double_fired(x, 0), 1);
	ck_assert_uint_eq(c.missed_irqs, 1);
	ck_assert_uint_eq(c.timeouts, 0);
	ck_assert_uint_eq(c.resets, 0);
}
END_TEST

START_TEST(io_info_and_timeout)
{
	struct kestrel_info info = { .size = sizeof(info) };
	struct kestrel_timeout t = { .size = sizeof(t), .timeout_ms = 5 };

	ck_assert_int_eq(kvfio_get_info(d, &info), 0);
	ck_assert_uint_eq(info.block_size, BS);
	ck_assert_uint_eq(info.capacity, 2048);
	ck_assert_uint_eq(info.state, KESTREL_STATE_LIVE);
	ck_assert_str_eq(info.serial, "KH-TEST");
	ck_assert_int_eq(kvfio_set_timeout(d, &t), -EINVAL);
	t.timeout_ms = 250;
	ck_assert_int_eq(kvfio_set_timeout(d, &t), 0);
	t.timeout_ms = 0;
	ck_assert_int_eq(kvfio_get_timeout(d, &t), 0);
	ck_assert_uint_eq(t.timeout_ms, 250);
	info.flags = 1;
	ck_assert_int_eq(kvfio_get_info(d, &info), -EINVAL);
}
END_TEST

/* The double's IOMMU is real: a segment redirected off the map faults. */
START_TEST(iommu_catches_stray_dma)
{
	uint8_t b[BS];

	faults("sgl.fetch:corrupt(index=0,addr=0x5000):once");
	ck_assert_int_eq(one(KESTREL_IO_READ, 0, 1, b), -EIO);
	ck_assert_uint_eq(kvfio_double_iommu_faults(x), 1);
	allowed_iommu_faults = 1;
}
END_TEST

/* A volatile write cache is flushed before the driver lets go. */
START_TEST(io_write_cache_flushed_at_close)
{
	struct kvfio_double_config cfg = { .max_segments = 256,
					   .write_cache = true };
	struct kestrel_info info = { .size = sizeof(info) };
	struct kvfio_counters k;
	uint8_t *w = malloc(16 * BS);
	size_t disk_len;
	uint8_t *disk;
	char err[256] = "";

	teardown();
	x = kvfio_double_new(&cfg, err, sizeof(err));
	ck_assert_msg(x, "double: %s", err);
	ck_assert_int_eq(kvfio_open(&d, &kvfio_double_ops, x, NULL, err,
				    sizeof(err)), 0);
	ck_assert_int_eq(kvfio_get_info(d, &info), 0);
	ck_assert_uint_eq(info.features, KESTREL_INFO_WRITE_CACHE);
	write_pattern(40, 16, 7);
	fill(w, 40, 16, 7);
	disk = kvfio_double_disk(x, &disk_len);
	/* Acknowledged, in the device's cache, not on its media yet. */
	ck_assert(memcmp(disk + 40 * BS, w, 16 * BS) != 0);
	kvfio_get_counters(d, &k);
	ck_assert_uint_eq(k.cache_flushes, 0);
	kvfio_close(d);
	d = NULL;
	ck_assert(!memcmp(disk + 40 * BS, w, 16 * BS));
	free(w);
}
END_TEST

Suite *io_suite(void)
{
	Suite *s = suite_create("io");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, io_batch_write_flush_read);
	tcase_add_test(tc, io_big_transfer_and_queue_full);
	tcase_add_test(tc, io_missed_interrupt_polled);
	tcase_add_test(tc, io_info_and_timeout);
	tcase_add_test(tc, iommu_catches_stray_dma);
	tcase_add_test(tc, io_write_cache_flushed_at_close);
	suite_add_tcase(s, tc);
	return s;
}

/* ---- recovery ---------------------------------------------------------- */

START_TEST(recovery_dropped_completion)
{
	write_pattern(5, 16, 2);
	faults("cq.post[op=read]:drop:once");
	read_expect(5, 16, 2, 0);
	counters();
	ck_assert_uint_eq(kvfio_double_fired(x, 0), 1);
	ck_assert_uint_eq(c.timeouts, 1);
	ck_assert_uint_eq(c.missed_irqs, 0);
	ck_assert_uint_eq(c.resets, 1);
	ck_assert_uint_eq(c.retries, 1);
	ck_assert_uint_eq(c.dead, 0);
}
END_TEST

START_TEST(recovery_retries_exhausted)
{
	write_pattern(5, 4, 2);
	faults("cq.post[op=read]:drop");
	read_expect(5, 4, 2, -EIO);
	counters();
	/* Sent once and resubmitted max_retries (2) times: three timeouts. */
	ck_assert_uint_eq(c.timeouts, 3);
	ck_assert_uint_eq(c.resets, 3);
	ck_assert_uint_eq(c.retries, 2);
	ck_assert_uint_eq(kvfio_state(d), KESTREL_STATE_LIVE);
	/* The controller still serves what the fault leaves alone. */
	write_pattern(50, 4, 5);
}
END_TEST

START_TEST(recovery_corrupt_completion)
{
	write_pattern(7, 8, 4);
	faults("cq.post:corrupt(tag=0x3ff):once");
	read_expect(7, 8, 4, 0);
	counters();
	ck_assert_uint_eq(c.bad_completions, 1);
	ck_assert_uint_eq(c.resets, 1);
	ck_assert_uint_eq(c.retries, 1);
	ck_assert_uint_eq(c.timeouts, 0);
}
END_TEST

START_TEST(recovery_duplicate_completion)
{
	write_pattern(7, 8, 4);
	faults("cq.post:duplicate:once");
	read_expect(7, 8, 4, 0);
	read_expect(7, 8, 4, 0);
	counters();
	ck_assert_uint_eq(c.bad_completions, 1);
	ck_assert_uint_eq(c.resets, 1);
	ck_assert_uint_eq(c.failed, 0);
}
END_TEST

START_TEST(recovery_fatal_error)
{
	write_pattern(9, 8, 6);
	faults("cq.post[op=read]:fatal:once");
	read_expect(9, 8, 6, 0);
	counters();
	ck_assert_uint_ge(c.fatal_errors, 1);
	ck_assert_uint_eq(c.resets, 1);
	ck_assert_uint_eq(c.retries, 1);
	ck_assert_uint_eq(c.timeouts, 0);	/* the error interrupt said so */
}
END_TEST

START_TEST(recovery_dead_then_revived)
{
	uint8_t b[BS];

	kvfio_double_set_reset(x, true);
	faults("cq.post:drop;ctrl.enable:drop");
	ck_assert_int_eq(one(KESTREL_IO_READ, 0, 1, b), -EIO);
	counters();
	ck_assert_uint_eq(c.timeouts, 1);
	ck_assert_uint_eq(c.dead, 1);
	ck_assert_uint_eq(kvfio_state(d), KESTREL_STATE_DEAD);
	/* One function reset, before the last round. */
	ck_assert_uint_eq(c.function_resets, 1);
	ck_assert_uint_eq(kvfio_double_function_resets(x), 1);
	ck_assert_uint_eq(kvfio_double_fired(x, 1), 3);
	/* Dead: the driver does not touch it again. */
	ck_assert_int_eq(submit_ret(KESTREL_IO_READ, 0, 1, b), -EIO);
	/* The reset "ioctl" revives it once the device behaves. */
	faults("");
	ck_assert_int_eq(kvfio_reset(d), 0);
	ck_assert_uint_eq(kvfio_state(d), KESTREL_STATE_LIVE);
	write_pattern(3, 1, 8);
	read_expect(3, 1, 8, 0);
}
END_TEST

START_TEST(recovery_allones_link_back)
{
	/*
	 * The link drops when the completion is posted: registers all-ones,
	 * configuration space still answering.  Two reset rounds see
	 * all-ones; the function reset before the third brings it back.
	 */
	write_pattern(11, 4, 1);
	faults("cq.post[op=read]:allones:once");
	read_expect(11, 4, 1, 0);
	counters();
	ck_assert_uint_eq(c.timeouts, 1);
	ck_assert_uint_eq(c.resets, 1);
	ck_assert_uint_eq(c.function_resets, 1);
	ck_assert_uint_eq(c.gone + c.dead, 0);
}
END_TEST

Suite *recovery_suite(void)
{
	Suite *s = suite_create("recovery");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, recovery_dropped_completion);
	tcase_add_test(tc, recovery_retries_exhausted);
	tcase_add_test(tc, recovery_corrupt_completion);
	tcase_add_test(tc, recovery_duplicate_completion);
	tcase_add_test(tc, recovery_fatal_error);
	tcase_add_test(tc, recovery_dead_then_revived);
	tcase_add_test(tc, recovery_allones_link_back);
	suite_add_tcase(s, tc);
	return s;
}

/* ---- unplug ------------------------------------------------------------ */

static void setup_ignore(void)
{
	struct kvfio_opts o;

	kvfio_default_opts(&o);
	o.timeout_ms = 100;
	o.ignore_unplug_request = true;
	open_with(&o);
}

START_TEST(unplug_request_honoured)
{
	struct kestrel_info info = { .size = sizeof(info) };
	uint8_t b[4 * BS];
	uint64_t t0;

	faults("cq.post:drop");
	kvfio_double_request(x, 20);
	t0 = kvfio_double_now_ms(x);
	ck_assert_int_eq(one(KESTREL_IO_READ, 0, 4, b), -ENODEV);
	counters();
	/* Released at the request, before the command's deadline. */
	ck_assert_uint_lt(kvfio_double_now_ms(x) - t0, 100);
	ck_assert_uint_eq(c.unplug_requests, 1);
	ck_assert_uint_eq(c.released, 1);
	ck_assert_uint_eq(c.timeouts, 0);
	ck_assert(kvfio_double_released(x));
	ck_assert_uint_eq(kvfio_double_mappings(x), 0);
	ck_assert_int_eq(submit_ret(KESTREL_IO_READ, 0, 1, b), -ENODEV);
	ck_assert_int_eq(kvfio_get_info(d, &info), -ENODEV);
	ck_assert_uint_eq(kvfio_state(d), KESTREL_STATE_REMOVED);
}
END_TEST

/*
 * The request comes while the device still executes a READ (its data
 * DMA held 50 ms): the driver must stop the device before the READ's
 * buffer goes, or the device writes it after the unmap (a DMA fault
 * under the IOMMU; found by vfio-hot-unplug-process-alive in a VM).
 */
START_TEST(unplug_request_device_busy)
{
	uint8_t b[4 * BS];

	faults("dma.write:delay(50ms):once");
	kvfio_double_request(x, 20);
	ck_assert_int_eq(one(KESTREL_IO_READ, 0, 4, b), -ENODEV);
	ck_assert(kvfio_double_released(x));
	/* past the held DMA: nothing of the abandoned READ may come */
	kvfio_double_advance(x, 100);
	ck_assert_uint_eq(kvfio_double_fired(x, 0), 1);
	ck_assert_uint_eq(kvfio_double_iommu_faults(x), 0);
}
END_TEST

START_TEST(unplug_request_idle_holder)
{
	kvfio_double_request(x, 50);
	ck_assert_int_eq(kvfio_idle(d, 20), 0);
	ck_assert(!kvfio_double_released(x));
	ck_assert_int_eq(kvfio_idle(d, 100), -ENODEV);
	ck_assert(kvfio_double_released(x));
}
END_TEST

/* The negative control: a driver that ignores the request keeps it. */
START_TEST(unplug_request_ignored)
{
	uint8_t b[4 * BS];

	faults("cq.post[op=read]:drop");
	kvfio_double_request(x, 20);
	ck_assert_int_eq(one(KESTREL_IO_READ, 0, 4, b), -EIO);
	counters();
	ck_assert_uint_ge(c.unplug_requests, 1);
	ck_assert_uint_eq(c.unplug_ignored, c.unplug_requests);
	ck_assert_uint_eq(c.released, 0);
	ck_assert(!kvfio_double_released(x));
	ck_assert_uint_eq(c.timeouts, 3);
	ck_assert_uint_ne(kvfio_double_mappings(x), 0);
}
END_TEST

START_TEST(unplug_surprise_removal)
{
	uint8_t b[4 * BS];

	faults("cq.post:drop");
	kvfio_double_unplug_at(x, 20);
	ck_assert_int_eq(one(KESTREL_IO_READ, 0, 4, b), -ENODEV);
	counters();
	ck_assert_uint_eq(c.gone, 1);
	ck_assert_uint_eq(c.timeouts, 1);
	ck_assert_uint_eq(c.dead, 0);
	ck_assert_uint_eq(kvfio_state(d), KESTREL_STATE_REMOVED);
	ck_assert_int_eq(submit_ret(KESTREL_IO_WRITE, 0, 1, b), -ENODEV);
}
END_TEST

Suite *unplug_suite(void)
{
	Suite *s = suite_create("unplug");
	TCase *tc = tcase_create("honour");
	TCase *neg = tcase_create("ignore");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, unplug_request_honoured);
	tcase_add_test(tc, unplug_request_device_busy);
	tcase_add_test(tc, unplug_request_idle_holder);
	tcase_add_test(tc, unplug_surprise_removal);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(neg, setup_ignore, teardown);
	tcase_add_test(neg, unplug_request_ignored);
	suite_add_tcase(s, neg);
	return s;
}

/* ---- counters ---------------------------------------------------------- */

START_TEST(counters_persist_across_opens)
{
	char dir[] = "/tmp/kvfio-test-XXXXXX", path[300];
	struct kvfio_counters f;
	struct kvfio_opts o;
	int round;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/0000:01:00.0", dir);
	for (round = 0; round < 2; round++) {
		kvfio_default_opts(&o);
		o.timeout_ms = 100;
		o.counters_path = path;
		open_with(&o);
		faults("cq.post:drop:once");
		write_pattern(1, 1, 1);
		teardown();
	}
	ck_assert_int_eq(kvfio_counters_load(path, &f), 0);
	ck_assert_uint_eq(f.opens, 2);
	ck_assert_uint_eq(f.timeouts, 2);
	ck_assert_uint_eq(f.resets, 2);
	ck_assert_uint_eq(f.completed, 2);
	/* What a harness counter step reads: {stats}/timeouts. */
	{
		char p2[400], line[32] = "";
		FILE *fp;

		snprintf(p2, sizeof(p2), "%s/timeouts", path);
		fp = fopen(p2, "r");
		ck_assert_ptr_nonnull(fp);
		ck_assert_ptr_nonnull(fgets(line, sizeof(line), fp));
		fclose(fp);
		ck_assert_str_eq(line, "2\n");
	}
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(path), 0);
}
END_TEST

START_TEST(counters_stats_agree)
{
	struct kestrel_stats st = { .size = sizeof(st) };

	setup();
	faults("irq:drop:once");
	write_pattern(1, 2, 1);
	counters();
	ck_assert_int_eq(kvfio_get_stats(d, &st), 0);
	ck_assert_uint_eq(st.missed_irqs, c.missed_irqs);
	ck_assert_uint_eq(st.missed_irqs, 1);
	ck_assert_uint_eq(st.completed, c.completed);
	ck_assert_uint_eq(st.bytes_written, 2 * BS);
	st.flags = 1;
	ck_assert_int_eq(kvfio_get_stats(d, &st), -EINVAL);
	teardown();
}
END_TEST

Suite *counters_suite(void)
{
	Suite *s = suite_create("counters");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, counters_persist_across_opens);
	tcase_add_test(tc, counters_stats_agree);
	suite_add_tcase(s, tc);
	return s;
}
