// SPDX-License-Identifier: GPL-2.0
/*
 * libkvfio: the user-space Kestrel driver's logic, on any backend
 * (kvfio_backend.h).  See kvfio.h and docs/vfio.md.
 *
 * What it shares with kestrel.ko: driver/kestrel_lib.c, compiled
 * unchanged (capability and IDENTIFY checks, request validation, SQE and
 * chained SGL building, completion checks), and the recovery contract of
 * docs/kestrel-datasheet.md section 14:
 *  1. a command whose deadline (timeout_ms) passed makes the driver poll
 *     the CQ first: a completion found there was a missed interrupt
 *     (missed_irqs) and completes normally;
 *  2. otherwise the command timed out (timeouts) and the controller is
 *     reset (resets); a corrupt, duplicate or impossible completion
 *     (bad_completions) and a fatal error (fatal_errors) lead there too.
 *     The queues are rebuilt, IDENTIFY is checked again and every command
 *     that was outstanding is resubmitted (retries), at most max_retries
 *     times each, then it fails with -EIO;
 *  3. a controller that does not come back within KVFIO_RESET_ATTEMPTS
 *     rounds of reset, enable and IDENTIFY, each bounded by CAP_TIMEOUT_MS
 *     (clamped to 0.5..30 s), is dead: bus mastering off, every command
 *     fails with -EIO until kvfio_reset().  Before the last round the
 *     function itself is reset (VFIO_DEVICE_RESET: function_resets).
 * Registers that read all-ones: the backend is asked whether the function
 * still answers in configuration space; if not, the device is gone:
 * everything fails with -ENODEV.
 *
 * Unplug: the device-request interrupt (VFIO_PCI_REQ_IRQ_INDEX) means the
 * kernel wants the device back.  The driver fails every outstanding
 * command with -ENODEV, releases the device (closing it gives its DMA
 * mappings back) and answers -ENODEV from then on.
 *
 * DMA: the driver maps only memory of its own: the rings, IDENTIFY's
 * buffer, each command's segment lists and a bounce buffer per command,
 * at IOVAs from its allocator (kvfio_iova.c).  A command's buffers are
 * unmapped only after its completion, or after a controller reset was seen
 * to finish, or when the device is released.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kestrel_lib.h"
#include "kvfio.h"
#include "kvfio_iova.h"

#define KVFIO_PAGE		4096u
#define KVFIO_RESET_ATTEMPTS	3
#define KVFIO_DEFAULT_QDEPTH	64
#define KVFIO_DEFAULT_TIMEOUT	5000
#define KVFIO_DEFAULT_RETRIES	2
/* Polls inside a handshake sleep this long between register reads. */
#define KVFIO_POLL_MS		1
/*
 * IOVA window: above 4 GiB (clear of the x86 MSI window at 0xfee00000)
 * and below 2^39, the address width of QEMU's intel-iommu.
 */
#define KVFIO_IOVA_BASE		0x100000000ull
#define KVFIO_IOVA_SIZE		0x400000000ull

struct kvfio_dma {
	void *cpu;
	uint64_t iova;
	size_t len;
};

struct kvfio_cmd {
	struct kestrel_io *io;		/* the caller's request */
	uint8_t opcode;			/* KESTREL_OP_* */
	struct kvfio_dma data;		/* bounce buffer */
	struct kvfio_dma sgl;		/* segment lists */
	uint32_t nsegs, sgl_len;
	uint64_t deadline;		/* now_ms */
	uint32_t tries;			/* resubmissions so far */
};

struct kvfio_dev {
	const struct kvfio_backend_ops *ops;
	void *be;
	pthread_mutex_t lock;
	struct kvfio_opts opts;
	char counters_path[256];
	struct kvfio_counters base;	/* from counters_path at open */

	struct kestrel_caps caps;
	struct kestrel_limits lim;
	struct kestrel_ident ident;
	uint32_t qdepth;
	uint32_t state;			/* KESTREL_STATE_* */
	uint32_t timeout_ms;
	bool released;

	struct kvfio_dma sq, cq, id_buf, id_sgl;
	uint32_t sq_tail, cq_head, cq_phase;
	bool cq_live;
	uint32_t admin_gen;
	uint32_t pending_events;	/* seen while polling a handshake */

	struct kestrel_tag_shadow *tags;	/* qdepth */
	struct kvfio_cmd *cmds;			/* qdepth */
	uint8_t *gen;				/* qdepth */
	uint32_t inflight;

	struct kvfio_iova iova;
	struct kvfio_counters c;
	bool debug;			/* $KVFIO_DEBUG: trace to stderr */
	uint64_t persisted_ms;		/* counters last written then */
};

#define kvfio_dbg(d, fmt, ...) do {					\
		if ((d)->debug)						\
			fprintf(stderr, "kvfio: " fmt "\n", ##__VA_ARGS__); \
	} while (0)

static int kvfio_recover(struct kvfio_dev *d, bool revive);
static int kvfio_wait_status(struct kvfio_dev *d, uint32_t mask,
			     uint32_t want);

/* ---- registers, time, DMA --------------------------------------------- */

static uint32_t rd(struct kvfio_dev *d, uint32_t reg)
{
	return d->ops->read32(d->be, reg);
}

static void wr(struct kvfio_dev *d, uint32_t reg, uint32_t val)
{
	d->ops->write32(d->be, reg, val);
}

static uint32_t kvfio_rd_cb(void *ctx, u32 reg)
{
	return rd(ctx, reg);
}

static uint64_t now(struct kvfio_dev *d)
{
	return d->ops->now_ms(d->be);
}

/* Sleep up to ms; events seen meanwhile are kept for the I/O loop. */
static void kvfio_sleep(struct kvfio_dev *d, uint32_t ms)
{
	uint32_t ev = 0;

	/*
	 * The device request is kept for the I/O loop; interrupts are not:
	 * they belong to the handshake's own command, whose caller polls.
	 */
	if (d->ops->wait(d->be, ms, &ev) == 0)
		d->pending_events |= ev & KVFIO_EV_REQUEST;
}

static int kvfio_dma_alloc(struct kvfio_dev *d, size_t len,
			   struct kvfio_dma *m)
{
	size_t sz = (len + KVFIO_PAGE - 1) & ~(size_t)(KVFIO_PAGE - 1);
	void *p;
	int ret;

	memset(m, 0, sizeof(*m));
	p = mmap(NULL, sz, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -ENOMEM;
	ret = kvfio_iova_alloc(&d->iova, sz, &m->iova);
	if (ret) {
		munmap(p, sz);
		return ret;
	}
	ret = d->ops->dma_map(d->be, p, m->iova, sz);
	if (ret) {
		d->c.dma_map_errors++;
		kvfio_iova_free(&d->iova, m->iova, sz);
		munmap(p, sz);
		return ret;
	}
	d->c.dma_maps++;
	m->cpu = p;
	m->len = sz;
	return 0;
}

static void kvfio_dma_free(struct kvfio_dev *d, struct kvfio_dma *m)
{
	if (!m->cpu)
		return;
	if (!d->released) {
		d->ops->dma_unmap(d->be, m->iova, m->len);
		d->c.dma_unmaps++;
	}
	kvfio_iova_free(&d->iova, m->iova, m->len);
	munmap(m->cpu, m->len);
	memset(m, 0, sizeof(*m));
}

/* ---- counters --------------------------------------------------------- */

static const char *const kvfio_counter_names[] = {
#define KVFIO_NAME(n) #n,
	KVFIO_COUNTERS(KVFIO_NAME)
#undef KVFIO_NAME
};
#define KVFIO_NCOUNTERS \
	(sizeof(kvfio_counter_names) / sizeof(kvfio_counter_names[0]))

static uint64_t *counter_slot(struct kvfio_counters *c, size_t i)
{
	return (uint64_t *)c + i;
}

void kvfio_counters_print(FILE *f, const struct kvfio_counters *c, bool json)
{
	size_t i;

	if (json)
		fputc('{', f);
	for (i = 0; i < KVFIO_NCOUNTERS; i++) {
		uint64_t v = *counter_slot((struct kvfio_counters *)c, i);

		if (json)
			fprintf(f, "%s\"%s\": %" PRIu64, i ? ", " : "",
				kvfio_counter_names[i], v);
		else
			fprintf(f, "%s: %" PRIu64 "\n", kvfio_counter_names[i],
				v);
	}
	if (json)
		fputs("}\n", f);
}

int kvfio_counters_load(const char *dir, struct kvfio_counters *c)
{
	char path[512];
	uint64_t v;
	size_t i;
	FILE *f;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < KVFIO_NCOUNTERS; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, kvfio_counter_names[i]);
		f = fopen(path, "re");
		if (!f) {
			if (errno == ENOENT)
				continue;
			return -errno;
		}
		if (fscanf(f, "%" SCNu64, &v) == 1)
			*counter_slot(c, i) = v;
		fclose(f);
	}
	return 0;
}

/* One file a counter, each replaced whole (rename): never half written. */
int kvfio_counters_store(const char *dir, const struct kvfio_counters *c)
{
	char path[512], tmp[540];
	size_t i;
	FILE *f;
	int ret = 0;

	/* mkdir -p: ${KVFIO_STATE_DIR:-/run/kvfio} may not exist yet. */
	snprintf(path, sizeof(path), "%s", dir);
	for (char *p = path + 1; ; p++) {
		bool end = !*p;

		if (*p != '/' && !end)
			continue;
		*p = 0;
		if (mkdir(path, 0755) && errno != EEXIST)
			return -errno;
		if (end)
			break;
		*p = '/';
	}
	for (i = 0; i < KVFIO_NCOUNTERS && !ret; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, kvfio_counter_names[i]);
		snprintf(tmp, sizeof(tmp), "%s.tmp%d", path, (int)getpid());
		f = fopen(tmp, "we");
		if (!f)
			return -errno;
		fprintf(f, "%" PRIu64 "\n",
			*counter_slot((struct kvfio_counters *)c, i));
		if (fclose(f) || rename(tmp, path))
			ret = -errno;
		if (ret)
			unlink(tmp);
	}
	return ret;
}

void kvfio_counters_path(const char *bdf, char *buf, size_t len)
{
	const char *dir = getenv("KVFIO_STATE_DIR");

	snprintf(buf, len, "%s/%s", dir && *dir ? dir : "/run/kvfio", bdf);
}

static void kvfio_total(const struct kvfio_dev *d, struct kvfio_counters *t)
{
	size_t i;

	for (i = 0; i < KVFIO_NCOUNTERS; i++)
		*counter_slot(t, i) =
			*counter_slot((struct kvfio_counters *)&d->base, i) +
			*counter_slot((struct kvfio_counters *)&d->c, i);
}

/* The file holds base + this process's counters: idempotent. */
static void kvfio_persist(struct kvfio_dev *d)
{
	struct kvfio_counters t;

	if (!d->counters_path[0])
		return;
	kvfio_total(d, &t);
	if (kvfio_counters_store(d->counters_path, &t) == 0)
		d->persisted_ms = now(d);
}

/* ---- commands on the device ------------------------------------------- */

static void kvfio_cmd_release(struct kvfio_dev *d, uint32_t idx)
{
	struct kvfio_cmd *cmd = &d->cmds[idx];

	kvfio_dma_free(d, &cmd->data);
	kvfio_dma_free(d, &cmd->sgl);
	cmd->io = NULL;
	d->tags[idx].state = KESTREL_TAG_IDLE;
	d->inflight--;
}

/* Finish one command with result (0 or -errno); copies a READ out. */
static void kvfio_cmd_finish(struct kvfio_dev *d, uint32_t idx, int result)
{
	struct kvfio_cmd *cmd = &d->cmds[idx];
	struct kestrel_io *io = cmd->io;

	if (io) {
		if (!result && io->opcode == KESTREL_IO_READ) {
			memcpy((void *)(uintptr_t)io->buf, cmd->data.cpu,
			       io->buf_len);
			d->c.bytes_read += io->buf_len;
		} else if (!result && io->opcode == KESTREL_IO_WRITE) {
			d->c.bytes_written += io->buf_len;
		}
		io->result = result;
	}
	if (result)
		d->c.failed++;
	else
		d->c.completed++;
	kvfio_cmd_release(d, idx);
}

/* Write the command's SQE under a fresh generation; no doorbell. */
static void kvfio_cmd_queue(struct kvfio_dev *d, uint32_t idx)
{
	struct kvfio_cmd *cmd = &d->cmds[idx];
	struct kestrel_tag_shadow *sh = &d->tags[idx];
	struct kestrel_sqe *sqe = d->sq.cpu;
	uint64_t lba = cmd->io ? cmd->io->lba : 0;
	uint32_t nb = cmd->io ? cmd->io->nblocks : 0;
	uint16_t tag;

	d->gen[idx] = (d->gen[idx] + 1) & KESTREL_TAG_GEN_MASK;
	tag = kestrel_wire_tag(idx, d->gen[idx]);
	kestrel_sqe_fill(&sqe[d->sq_tail], cmd->opcode, tag, lba, nb,
			 cmd->nsegs, cmd->nsegs ? cmd->sgl.iova : 0,
			 cmd->sgl_len);
	d->sq_tail = (d->sq_tail + 1) % d->qdepth;
	sh->wire_tag = tag;
	sh->sq_head = (uint16_t)d->sq_tail;
	sh->result = cmd->data.cpu ? (uint32_t)(nb * d->lim.block_size) : 0;
	sh->state = KESTREL_TAG_INFLIGHT;
	cmd->deadline = now(d) + d->timeout_ms;
	d->c.submitted++;
}

static void kvfio_doorbell(struct kvfio_dev *d)
{
	atomic_thread_fence(memory_order_release);
	wr(d, KESTREL_REG_SQ_TAIL_DB, d->sq_tail);
}

/* Fail every outstanding command with err. */
static void kvfio_fail_all(struct kvfio_dev *d, int err)
{
	uint32_t i;

	for (i = 0; i < d->qdepth; i++)
		if (d->tags[i].state != KESTREL_TAG_IDLE)
			kvfio_cmd_finish(d, i, err);
}

static void kvfio_mark_dead(struct kvfio_dev *d)
{
	d->state = KESTREL_STATE_DEAD;
	d->cq_live = false;
	d->c.dead++;
	d->ops->bus_master(d->be, false);
	kvfio_fail_all(d, -EIO);
	kvfio_persist(d);
}

/*
 * Stop every DMA of the device before a mapping of a command in flight
 * goes: a device asked back (the device request of an orderly unplug) is
 * still alive and still executing what it fetched, and an unmapped buffer
 * it then writes is a DMA fault under the IOMMU, or guest memory without
 * one.  A controller reset abandons what it holds (datasheet 5.2); bus
 * mastering off stops the rest.  A device reading all-ones cannot be
 * reset: only bus mastering goes.
 */
static void kvfio_quiesce(struct kvfio_dev *d)
{
	if (rd(d, KESTREL_REG_STATUS) != 0xffffffffu) {
		wr(d, KESTREL_REG_INTR_MASK, KESTREL_INTR_ALL);
		wr(d, KESTREL_REG_RESET, KESTREL_RESET_MAGIC);
		kvfio_wait_status(d, KESTREL_STATUS_RESETTING, 0);
	}
	d->ops->bus_master(d->be, false);
}

static void kvfio_mark_gone(struct kvfio_dev *d)
{
	if (d->state == KESTREL_STATE_REMOVED)
		return;
	d->state = KESTREL_STATE_REMOVED;
	d->cq_live = false;
	d->c.gone++;
	kvfio_quiesce(d);
	kvfio_fail_all(d, -ENODEV);
	kvfio_persist(d);
}

/* The device request: fail everything, give the device back. */
static void kvfio_honour_request(struct kvfio_dev *d)
{
	d->c.unplug_requests++;
	if (d->opts.ignore_unplug_request) {
		d->c.unplug_ignored++;
		kvfio_persist(d);
		return;
	}
	kvfio_mark_gone(d);
	if (!d->released) {
		uint32_t i;

		/* The mappings go with the device: nothing to unmap after. */
		for (i = 0; i < d->qdepth; i++)
			if (d->tags[i].state != KESTREL_TAG_IDLE)
				kvfio_cmd_release(d, i);
		kvfio_dma_free(d, &d->sq);
		kvfio_dma_free(d, &d->cq);
		kvfio_dma_free(d, &d->id_buf);
		kvfio_dma_free(d, &d->id_sgl);
		d->released = true;
		d->c.released++;
		d->ops->release(d->be);
	}
	kvfio_persist(d);
}

/*
 * Reap the CQ (datasheet 13.3).  Returns the number of commands
 * completed; a bad entry stops the CQ and sets *bad.
 */
static uint32_t kvfio_reap(struct kvfio_dev *d, bool *bad)
{
	struct kestrel_cqe *ring = d->cq.cpu;
	uint32_t n = 0;

	*bad = false;
	while (d->cq_live) {
		volatile struct kestrel_cqe *slot = &ring[d->cq_head];
		struct kestrel_cqe_info info;
		enum kestrel_cqe_verdict v;
		struct kestrel_cqe cqe;

		if (!kestrel_cqe_phase_matches(slot->status, d->cq_phase))
			break;
		atomic_thread_fence(memory_order_acquire);
		memcpy(&cqe, (const void *)slot, sizeof(cqe));
		v = kestrel_cqe_check(&cqe, d->cq_phase, d->tags, d->qdepth,
				      d->qdepth, &info);
		if (v != KESTREL_CQE_OK) {
			d->c.bad_completions++;
			d->cq_live = false;
			*bad = true;
			break;
		}
		d->cq_head = (d->cq_head + 1) % d->qdepth;
		if (!d->cq_head)
			d->cq_phase ^= 1;
		kvfio_cmd_finish(d, info.index,
				 kestrel_status_to_errno(info.status));
		n++;
	}
	if (n)
		wr(d, KESTREL_REG_CQ_HEAD_DB, d->cq_head);
	return n;
}

/* ---- controller: handshakes, IDENTIFY, recovery ------------------------ */

/* Wait for STATUS & mask == want; -ETIMEDOUT, -ENODEV (gone) or -EIO. */
static int kvfio_wait_status(struct kvfio_dev *d, uint32_t mask,
			     uint32_t want)
{
	uint64_t deadline = now(d) + d->lim.ready_timeout_ms;
	uint32_t st;

	for (;;) {
		st = rd(d, KESTREL_REG_STATUS);
		if (st == 0xffffffffu) {
			if (!d->ops->present(d->be))
				return -ENODEV;
		} else if ((st & mask) == want) {
			return 0;
		} else if (st & KESTREL_STATUS_FATAL &&
			   !(mask & KESTREL_STATUS_RESETTING)) {
			d->c.fatal_errors++;
			return -EIO;
		}
		if (now(d) >= deadline)
			return -ETIMEDOUT;
		kvfio_sleep(d, KVFIO_POLL_MS);
	}
}

static int kvfio_identify(struct kvfio_dev *d)
{
	struct kestrel_sqe *sqe = d->sq.cpu;
	struct kestrel_cqe *ring = d->cq.cpu;
	struct kestrel_tag_shadow sh;
	struct kestrel_cqe_info info;
	struct kestrel_cqe cqe;
	struct kestrel_ident ident;
	struct kestrel_seg seg = { d->id_buf.iova, KESTREL_IDENTIFY_SIZE };
	struct kestrel_sgl_list list = { d->id_sgl.cpu, d->id_sgl.iova };
	const char *why;
	uint64_t deadline;
	uint32_t first_len, st;
	uint16_t tag;
	int ret;

	memset(d->id_buf.cpu, 0, KESTREL_IDENTIFY_SIZE);
	ret = kestrel_build_sgl(&seg, 1, d->caps.max_segs ? d->caps.max_segs : 1,
				KESTREL_IDENTIFY_SIZE, &list, 1, &first_len);
	if (ret < 0)
		return ret;
	tag = kestrel_wire_tag(0, ++d->admin_gen);
	kestrel_sqe_fill(&sqe[d->sq_tail], KESTREL_OP_IDENTIFY, tag, 0, 0, 1,
			 d->id_sgl.iova, first_len);
	d->sq_tail = (d->sq_tail + 1) % d->qdepth;
	sh.wire_tag = tag;
	sh.sq_head = (uint16_t)d->sq_tail;
	sh.result = KESTREL_IDENTIFY_SIZE;
	sh.state = KESTREL_TAG_INFLIGHT;
	kvfio_doorbell(d);

	deadline = now(d) + d->lim.ready_timeout_ms;
	while (!kestrel_cqe_phase_matches(
			((volatile struct kestrel_cqe *)ring)[d->cq_head].status,
			d->cq_phase)) {
		st = rd(d, KESTREL_REG_STATUS);
		if (st == 0xffffffffu && !d->ops->present(d->be))
			return -ENODEV;
		if (st != 0xffffffffu && (st & KESTREL_STATUS_FATAL)) {
			d->c.fatal_errors++;
			return -EIO;
		}
		if (now(d) >= deadline)
			return -ETIMEDOUT;
		kvfio_sleep(d, KVFIO_POLL_MS);
	}
	atomic_thread_fence(memory_order_acquire);
	memcpy(&cqe, &ring[d->cq_head], sizeof(cqe));
	if (kestrel_cqe_check(&cqe, d->cq_phase, &sh, 1, d->qdepth, &info) !=
	    KESTREL_CQE_OK) {
		d->c.bad_completions++;
		return -EIO;
	}
	if (info.status)
		return -EIO;
	d->cq_head = (d->cq_head + 1) % d->qdepth;
	if (!d->cq_head)
		d->cq_phase ^= 1;
	wr(d, KESTREL_REG_CQ_HEAD_DB, d->cq_head);
	ret = kestrel_identify_check(d->id_buf.cpu, &d->caps, &ident, &why);
	if (ret)
		return ret;
	d->ident = ident;
	return 0;
}

/* One round: controller reset, queues, enable, IDENTIFY, unmask. */
static int kvfio_restart(struct kvfio_dev *d)
{
	int ret;

	d->cq_live = false;
	wr(d, KESTREL_REG_INTR_MASK, KESTREL_INTR_ALL);
	wr(d, KESTREL_REG_RESET, KESTREL_RESET_MAGIC);
	ret = kvfio_wait_status(d, KESTREL_STATUS_RESETTING |
				KESTREL_STATUS_RDY, 0);
	if (ret)
		return ret;
	/* The reset finished: the device holds no command of ours. */
	d->ops->bus_master(d->be, true);
	/* A reset unmasks everything: IDENTIFY is polled, not signalled. */
	wr(d, KESTREL_REG_INTR_MASK, KESTREL_INTR_ALL);
	memset(d->cq.cpu, 0, (size_t)d->qdepth * sizeof(struct kestrel_cqe));
	d->sq_tail = 0;
	d->cq_head = 0;
	d->cq_phase = 1;
	wr(d, KESTREL_REG_SQ_BASE_LO, (uint32_t)d->sq.iova);
	wr(d, KESTREL_REG_SQ_BASE_HI, (uint32_t)(d->sq.iova >> 32));
	wr(d, KESTREL_REG_SQ_SIZE, d->qdepth);
	wr(d, KESTREL_REG_CQ_BASE_LO, (uint32_t)d->cq.iova);
	wr(d, KESTREL_REG_CQ_BASE_HI, (uint32_t)(d->cq.iova >> 32));
	wr(d, KESTREL_REG_CQ_SIZE, d->qdepth);
	wr(d, KESTREL_REG_INTR_STATUS, KESTREL_INTR_ALL);
	wr(d, KESTREL_REG_CTRL, KESTREL_CTRL_EN);
	ret = kvfio_wait_status(d, KESTREL_STATUS_RDY, KESTREL_STATUS_RDY);
	if (ret)
		return ret;
	ret = kvfio_identify(d);
	if (ret)
		return ret;
	d->cq_live = true;
	/* IDENTIFY's cause was polled: unmasking must not deliver it. */
	wr(d, KESTREL_REG_INTR_STATUS, KESTREL_INTR_CQ);
	wr(d, KESTREL_REG_INTR_MASK, 0);
	return 0;
}

/*
 * Reset and rebuild; commands that were outstanding are resubmitted
 * within their retry budget.  Returns 0 (live), -EIO (dead) or -ENODEV.
 */
static int kvfio_recover(struct kvfio_dev *d, bool revive)
{
	uint32_t attempt, i, st;
	bool queued = false;
	int ret = -EIO;

	if (d->state == KESTREL_STATE_REMOVED)
		return -ENODEV;
	if (d->state == KESTREL_STATE_DEAD && !revive)
		return -EIO;
	d->state = KESTREL_STATE_RESETTING;
	d->cq_live = false;
	d->c.resets++;
	if (!d->ops->present(d->be)) {
		kvfio_mark_gone(d);
		return -ENODEV;
	}
	st = rd(d, KESTREL_REG_STATUS);
	if (st != 0xffffffffu && (st & KESTREL_STATUS_FATAL))
		d->c.fatal_errors++;
	for (attempt = 0; attempt < KVFIO_RESET_ATTEMPTS; attempt++) {
		if (attempt == KVFIO_RESET_ATTEMPTS - 1 &&
		    d->ops->reset(d->be) == 0)
			d->c.function_resets++;
		ret = kvfio_restart(d);
		kvfio_dbg(d, "reset round %u: %d", attempt, ret);
		if (!ret || ret == -ENODEV)
			break;
	}
	if (ret == -ENODEV) {
		kvfio_mark_gone(d);
		return ret;
	}
	if (ret) {
		kvfio_mark_dead(d);
		return -EIO;
	}
	d->state = KESTREL_STATE_LIVE;
	for (i = 0; i < d->qdepth; i++) {
		if (d->tags[i].state == KESTREL_TAG_IDLE)
			continue;
		if (d->cmds[i].tries >= d->opts.max_retries) {
			kvfio_cmd_finish(d, i, -EIO);
			continue;
		}
		d->cmds[i].tries++;
		d->c.retries++;
		kvfio_cmd_queue(d, i);
		queued = true;
	}
	if (queued)
		kvfio_doorbell(d);
	kvfio_persist(d);
	return 0;
}

/* ---- the I/O loop ----------------------------------------------------- */

/*
 * One round of waiting: interrupts, the device request, deadlines.  Every
 * wait is bounded by the earliest deadline of a command in flight.
 */
static void kvfio_process(struct kvfio_dev *d)
{
	uint64_t t = now(d), next = UINT64_MAX;
	uint32_t i, ev = 0, n;
	bool bad;

	for (i = 0; i < d->qdepth; i++)
		if (d->tags[i].state == KESTREL_TAG_INFLIGHT &&
		    d->cmds[i].deadline < next)
			next = d->cmds[i].deadline;
	ev = d->pending_events;
	d->pending_events = 0;
	if (!ev) {
		uint32_t ms = next == UINT64_MAX ? d->timeout_ms :
			      next > t ? (uint32_t)(next - t) : 0;

		if (d->ops->wait(d->be, ms, &ev) < 0)
			kvfio_sleep(d, KVFIO_POLL_MS);
	}
	kvfio_dbg(d, "wake at %llu ms, next deadline %llu, events %#x",
		  (unsigned long long)now(d), (unsigned long long)next, ev);
	if (ev & KVFIO_EV_REQUEST) {
		kvfio_honour_request(d);
		if (d->state == KESTREL_STATE_REMOVED)
			return;
	}
	if (ev & KVFIO_EV_ERROR) {
		uint32_t st = rd(d, KESTREL_REG_STATUS);

		wr(d, KESTREL_REG_INTR_STATUS, KESTREL_INTR_ERROR);
		if (st == 0xffffffffu || (st & KESTREL_STATUS_FATAL)) {
			kvfio_recover(d, false);
			return;
		}
	}
	/* Without an interrupt, only an expired deadline reaps (below). */
	if (ev & (KVFIO_EV_CQ | KVFIO_EV_ERROR)) {
		n = kvfio_reap(d, &bad);
		if (bad) {
			kvfio_recover(d, false);
			return;
		}
		if ((ev & KVFIO_EV_CQ) && !n)
			d->c.spurious_irqs++;
	}
	if (!d->inflight)
		return;

	/* Deadlines: poll first, then reset. */
	t = now(d);
	for (i = 0; i < d->qdepth; i++) {
		if (d->tags[i].state != KESTREL_TAG_INFLIGHT ||
		    d->cmds[i].deadline > t)
			continue;
		n = kvfio_reap(d, &bad);
		if (bad) {
			kvfio_recover(d, false);
			return;
		}
		if (d->tags[i].state == KESTREL_TAG_IDLE) {
			d->c.missed_irqs += n;
			continue;
		}
		d->c.missed_irqs += n;
		d->c.timeouts++;
		kvfio_recover(d, false);
		return;
	}
}

static int kvfio_usable(struct kvfio_dev *d)
{
	if (d->state == KESTREL_STATE_REMOVED)
		return -ENODEV;
	if (d->state == KESTREL_STATE_DEAD)
		return -EIO;
	return 0;
}

/* Prepare and queue one READ/WRITE/FLUSH in a free slot. */
static int kvfio_start(struct kvfio_dev *d, uint32_t idx, struct kestrel_io *io)
{
	struct kvfio_cmd *cmd = &d->cmds[idx];
	struct kestrel_seg *segs = NULL;
	struct kestrel_sgl_list *lists = NULL;
	uint32_t nsegs = 0, nlists, i, first_len;
	int ret;

	memset(cmd, 0, sizeof(*cmd));
	cmd->io = io;
	cmd->opcode = kestrel_io_to_opcode(io->opcode);
	if (io->opcode != KESTREL_IO_FLUSH) {
		ret = kvfio_dma_alloc(d, io->buf_len, &cmd->data);
		if (ret)
			return ret;
		if (io->opcode == KESTREL_IO_WRITE)
			memcpy(cmd->data.cpu, (void *)(uintptr_t)io->buf,
			       io->buf_len);
		nsegs = (uint32_t)((io->buf_len + KVFIO_PAGE - 1) / KVFIO_PAGE);
		nlists = kestrel_sgl_lists_needed(nsegs);
		ret = kvfio_dma_alloc(d, (size_t)nlists * KVFIO_PAGE,
				      &cmd->sgl);
		if (ret)
			goto err_data;
		segs = calloc(nsegs, sizeof(*segs));
		lists = calloc(nlists, sizeof(*lists));
		if (!segs || !lists) {
			ret = -ENOMEM;
			goto err_sgl;
		}
		for (i = 0; i < nsegs; i++) {
			uint64_t off = (uint64_t)i * KVFIO_PAGE;

			segs[i].addr = cmd->data.iova + off;
			segs[i].len = (uint32_t)(io->buf_len - off < KVFIO_PAGE ?
						 io->buf_len - off : KVFIO_PAGE);
		}
		for (i = 0; i < nlists; i++) {
			lists[i].descs = (void *)((uint8_t *)cmd->sgl.cpu +
						  (size_t)i * KVFIO_PAGE);
			lists[i].dma = cmd->sgl.iova + (uint64_t)i * KVFIO_PAGE;
		}
		ret = kestrel_build_sgl(segs, nsegs, d->lim.max_segs,
					io->buf_len, lists, nlists, &first_len);
		free(segs);
		free(lists);
		segs = NULL;
		lists = NULL;
		if (ret < 0)
			goto err_sgl;
		cmd->nsegs = nsegs;
		cmd->sgl_len = first_len;
	}
	d->inflight++;
	kvfio_cmd_queue(d, idx);
	return 0;

err_sgl:
	free(segs);
	free(lists);
	kvfio_dma_free(d, &cmd->sgl);
err_data:
	kvfio_dma_free(d, &cmd->data);
	cmd->io = NULL;
	return ret;
}

static int kvfio_free_slot(struct kvfio_dev *d)
{
	uint32_t i;

	/* One slot stays empty: a full SQ would read as empty. */
	if (d->inflight >= d->qdepth - 1)
		return -1;
	for (i = 0; i < d->qdepth; i++)
		if (d->tags[i].state == KESTREL_TAG_IDLE)
			return (int)i;
	return -1;
}

/* Wait until nothing is outstanding (each wait bounded, see above). */
static void kvfio_drain(struct kvfio_dev *d)
{
	while (d->inflight && d->state != KESTREL_STATE_REMOVED &&
	       d->state != KESTREL_STATE_DEAD)
		kvfio_process(d);
}

int kvfio_submit(struct kvfio_dev *d, struct kestrel_submit *s)
{
	struct kestrel_io *ios = (struct kestrel_io *)(uintptr_t)s->ios;
	uint32_t i, done = 0;
	bool rung = false;
	int ret;

	ret = kestrel_validate_submit(s);
	if (ret)
		return ret;
	pthread_mutex_lock(&d->lock);
	/* As KESTREL_IOC_SUBMIT: one bad request refuses the whole batch. */
	for (i = 0; i < s->count; i++) {
		ret = kestrel_validate_io(&ios[i], &d->lim);
		if (ret)
			goto out;
	}
	ret = kvfio_usable(d);
	if (ret)
		goto out;
	for (i = 0; i < s->count; i++) {
		struct kestrel_io *io = &ios[i];
		int slot, err;

		io->result = 0;
		/* A FLUSH covers what its batch sent before it. */
		if (io->opcode == KESTREL_IO_FLUSH && rung) {
			kvfio_doorbell(d);
			rung = false;
			kvfio_drain(d);
		}
		while ((slot = kvfio_free_slot(d)) < 0 && !kvfio_usable(d)) {
			if (rung)
				kvfio_doorbell(d);
			rung = false;
			kvfio_process(d);
		}
		err = kvfio_usable(d);
		if (!err)
			err = kvfio_start(d, (uint32_t)slot, io);
		if (err) {
			io->result = err;
			continue;
		}
		rung = true;
		if (io->opcode == KESTREL_IO_FLUSH) {
			kvfio_doorbell(d);
			rung = false;
			kvfio_drain(d);
		}
	}
	if (rung)
		kvfio_doorbell(d);
	kvfio_drain(d);
	for (i = 0; i < s->count; i++)
		done += ios[i].result == 0;
	s->completed = done;
	ret = 0;
	/* Readers of the counters directory lag by at most a second. */
	if (now(d) - d->persisted_ms >= 1000)
		kvfio_persist(d);
out:
	pthread_mutex_unlock(&d->lock);
	return ret;
}

/* ---- open, close, the other "ioctls" ---------------------------------- */

void kvfio_default_opts(struct kvfio_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->timeout_ms = KVFIO_DEFAULT_TIMEOUT;
	o->max_retries = KVFIO_DEFAULT_RETRIES;
	o->qdepth = KVFIO_DEFAULT_QDEPTH;
}

static void kvfio_free_dev(struct kvfio_dev *d)
{
	uint32_t i;

	if (d->tags)
		for (i = 0; i < d->qdepth; i++)
			if (d->tags[i].state != KESTREL_TAG_IDLE)
				kvfio_cmd_release(d, i);
	kvfio_dma_free(d, &d->sq);
	kvfio_dma_free(d, &d->cq);
	kvfio_dma_free(d, &d->id_buf);
	kvfio_dma_free(d, &d->id_sgl);
	free(d->tags);
	free(d->cmds);
	free(d->gen);
	if (d->ops->destroy)
		d->ops->destroy(d->be);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

int kvfio_open(struct kvfio_dev **out, const struct kvfio_backend_ops *ops,
	       void *be, const struct kvfio_opts *opts,
	       char *err, size_t errlen)
{
	struct kvfio_dev *d;
	struct kvfio_opts def;
	const char *why;
	int ret;

	*out = NULL;
	if (!opts) {
		kvfio_default_opts(&def);
		opts = &def;
	}
	if (opts->timeout_ms < KESTREL_TIMEOUT_MIN_MS ||
	    opts->timeout_ms > KESTREL_TIMEOUT_MAX_MS || opts->max_retries > 10) {
		snprintf(err, errlen, "timeout_ms %u (want %u..%u) or "
			 "max_retries %u (want 0..10) out of range",
			 opts->timeout_ms, KESTREL_TIMEOUT_MIN_MS,
			 KESTREL_TIMEOUT_MAX_MS, opts->max_retries);
		if (ops->destroy)
			ops->destroy(be);
		return -EINVAL;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		if (ops->destroy)
			ops->destroy(be);
		return -ENOMEM;
	}
	d->ops = ops;
	d->be = be;
	d->opts = *opts;
	d->timeout_ms = opts->timeout_ms;
	d->state = KESTREL_STATE_RESETTING;
	d->debug = getenv("KVFIO_DEBUG") != NULL;
	pthread_mutex_init(&d->lock, NULL);
	kvfio_iova_init(&d->iova, KVFIO_IOVA_BASE, KVFIO_IOVA_SIZE, KVFIO_PAGE);
	if (opts->counters_path) {
		snprintf(d->counters_path, sizeof(d->counters_path), "%s",
			 opts->counters_path);
		kvfio_counters_load(d->counters_path, &d->base);
	}
	d->c.opens = 1;

	ret = ops->map_bar(be, err, errlen);
	if (ret)
		goto fail;
	/*
	 * No function reset here: the recovery round below starts with a
	 * controller reset, which stops whatever a killed process left
	 * running and keeps a volatile write cache (datasheet 4.1), and
	 * vfio-pci resets the function itself when the last user closes it.
	 */
	kestrel_caps_read(&d->caps, kvfio_rd_cb, d);
	ret = kestrel_caps_check(&d->caps, KVFIO_PAGE, &d->lim, &why);
	if (ret) {
		snprintf(err, errlen, "capability registers refused: %s", why);
		goto fail;
	}
	d->qdepth = kestrel_pick_qdepth(d->lim.hw_qdepth,
					opts->qdepth ? opts->qdepth :
					KVFIO_DEFAULT_QDEPTH);
	d->tags = calloc(d->qdepth, sizeof(*d->tags));
	d->cmds = calloc(d->qdepth, sizeof(*d->cmds));
	d->gen = calloc(d->qdepth, sizeof(*d->gen));
	if (!d->tags || !d->cmds || !d->gen) {
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	ret = kvfio_dma_alloc(d, (size_t)d->qdepth * sizeof(struct kestrel_sqe),
			      &d->sq);
	if (!ret)
		ret = kvfio_dma_alloc(d, (size_t)d->qdepth *
				      sizeof(struct kestrel_cqe), &d->cq);
	if (!ret)
		ret = kvfio_dma_alloc(d, KESTREL_IDENTIFY_SIZE, &d->id_buf);
	if (!ret)
		ret = kvfio_dma_alloc(d, KVFIO_PAGE, &d->id_sgl);
	if (ret) {
		snprintf(err, errlen, "cannot map the rings for DMA: %s",
			 strerror(-ret));
		goto fail;
	}
	d->state = KESTREL_STATE_LIVE;
	ret = kvfio_recover(d, true);
	/* Opening is not a recovery: only the rounds it needed count. */
	d->c.resets--;
	if (ret) {
		snprintf(err, errlen, "controller did not become ready: %s",
			 ret == -ENODEV ? "device gone (registers all-ones)" :
			 "reset, enable or IDENTIFY failed " "3 times");
		goto fail;
	}
	kvfio_persist(d);
	*out = d;
	return 0;
fail:
	if (!err[0])
		snprintf(err, errlen, "%s", strerror(-ret));
	kvfio_persist(d);
	kvfio_free_dev(d);
	return ret;
}

/*
 * A volatile write cache is made durable before the driver lets go of the
 * device, as kestrel.ko's remove() does: one FLUSH, after everything
 * outstanding finished, bounded like any command.
 */
static void kvfio_flush_cache(struct kvfio_dev *d)
{
	struct kestrel_io io = { .opcode = KESTREL_IO_FLUSH };
	int slot;

	if (!d->ident.vwc || d->state != KESTREL_STATE_LIVE)
		return;
	d->c.cache_flushes++;
	slot = kvfio_free_slot(d);
	if (slot < 0 || kvfio_start(d, (uint32_t)slot, &io)) {
		d->c.flush_errors++;
		return;
	}
	kvfio_doorbell(d);
	kvfio_drain(d);
	if (io.result || d->inflight) {
		d->c.flush_errors++;
		kvfio_dbg(d, "FLUSH at close failed: %d", io.result);
	}
}

void kvfio_close(struct kvfio_dev *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	if (!d->released && d->state != KESTREL_STATE_REMOVED) {
		kvfio_drain(d);
		kvfio_flush_cache(d);
		/* Leave the controller stopped and no DMA possible. */
		if (d->state != KESTREL_STATE_DEAD) {
			wr(d, KESTREL_REG_INTR_MASK, KESTREL_INTR_ALL);
			wr(d, KESTREL_REG_RESET, KESTREL_RESET_MAGIC);
			kvfio_wait_status(d, KESTREL_STATUS_RESETTING, 0);
		}
		d->ops->bus_master(d->be, false);
	}
	kvfio_dma_free(d, &d->sq);
	kvfio_dma_free(d, &d->cq);
	kvfio_dma_free(d, &d->id_buf);
	kvfio_dma_free(d, &d->id_sgl);
	kvfio_persist(d);
	pthread_mutex_unlock(&d->lock);
	kvfio_free_dev(d);
}

int kvfio_get_info(struct kvfio_dev *d, struct kestrel_info *info)
{
	int ret = kestrel_validate_info(info);

	if (ret)
		return ret;
	pthread_mutex_lock(&d->lock);
	if (d->state == KESTREL_STATE_REMOVED) {
		pthread_mutex_unlock(&d->lock);
		return -ENODEV;
	}
	info->capacity = d->lim.capacity;
	info->block_size = d->lim.block_size;
	info->queue_depth = d->qdepth;
	info->max_segs = d->lim.max_segs;
	info->max_xfer_blocks = d->lim.max_xfer_blocks;
	info->irq_mode = KESTREL_IRQ_MSIX;
	info->state = d->state;
	info->timeout_ms = d->timeout_ms;
	info->instance = 0;
	memcpy(info->serial, d->ident.serial, sizeof(info->serial));
	memcpy(info->model, d->ident.model, sizeof(info->model));
	memcpy(info->firmware, d->ident.firmware, sizeof(info->firmware));
	info->features = d->ident.vwc ? KESTREL_INFO_WRITE_CACHE : 0;
	pthread_mutex_unlock(&d->lock);
	return 0;
}

int kvfio_get_stats(struct kvfio_dev *d, struct kestrel_stats *st)
{
	struct kvfio_counters t;
	int ret = kestrel_validate_stats(st);

	if (ret)
		return ret;
	pthread_mutex_lock(&d->lock);
	kvfio_total(d, &t);
	st->submitted = t.submitted;
	st->completed = t.completed;
	st->failed = t.failed;
	st->bytes_read = t.bytes_read;
	st->bytes_written = t.bytes_written;
	st->timeouts = t.timeouts;
	st->missed_irqs = t.missed_irqs;
	st->resets = t.resets;
	st->bad_completions = t.bad_completions;
	st->spurious_irqs = t.spurious_irqs;
	st->retries = t.retries;
	st->fatal_errors = t.fatal_errors;
	pthread_mutex_unlock(&d->lock);
	return 0;
}

int kvfio_reset(struct kvfio_dev *d)
{
	int ret;

	pthread_mutex_lock(&d->lock);
	if (d->state == KESTREL_STATE_REMOVED)
		ret = -ENODEV;
	else {
		kvfio_drain(d);
		ret = kvfio_recover(d, true);
	}
	pthread_mutex_unlock(&d->lock);
	return ret;
}

int kvfio_get_timeout(struct kvfio_dev *d, struct kestrel_timeout *t)
{
	int ret = kestrel_validate_timeout(t, false);

	if (ret)
		return ret;
	pthread_mutex_lock(&d->lock);
	t->timeout_ms = d->timeout_ms;
	pthread_mutex_unlock(&d->lock);
	return 0;
}

int kvfio_set_timeout(struct kvfio_dev *d, const struct kestrel_timeout *t)
{
	int ret = kestrel_validate_timeout(t, true);

	if (ret)
		return ret;
	pthread_mutex_lock(&d->lock);
	d->timeout_ms = t->timeout_ms;
	pthread_mutex_unlock(&d->lock);
	return 0;
}

void kvfio_get_counters(struct kvfio_dev *d, struct kvfio_counters *c)
{
	pthread_mutex_lock(&d->lock);
	*c = d->c;
	pthread_mutex_unlock(&d->lock);
}

uint32_t kvfio_state(struct kvfio_dev *d)
{
	uint32_t s;

	pthread_mutex_lock(&d->lock);
	s = d->state;
	pthread_mutex_unlock(&d->lock);
	return s;
}

int kvfio_idle(struct kvfio_dev *d, uint32_t timeout_ms)
{
	uint32_t ev = 0;
	int ret = 0;

	pthread_mutex_lock(&d->lock);
	if (d->released) {
		ret = -ENODEV;
		goto out;
	}
	ev = d->pending_events;
	d->pending_events = 0;
	if (!ev && d->ops->wait(d->be, timeout_ms, &ev) < 0)
		ev = 0;
	if (ev & KVFIO_EV_REQUEST)
		kvfio_honour_request(d);
	if (d->released)
		ret = -ENODEV;
out:
	pthread_mutex_unlock(&d->lock);
	return ret;
}
