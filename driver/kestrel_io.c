// SPDX-License-Identifier: GPL-2.0
/*
 * Kestrel I/O path: tags, submission, user-buffer pinning and DMA mapping,
 * completion reaping and command timeouts.
 *
 * I/O semantics
 * =============
 *
 * Batches.  KESTREL_IOC_SUBMIT takes 1..KESTREL_MAX_BATCH requests.  The
 * whole batch is checked before anything runs: a bad value in any request
 * fails the ioctl with -EINVAL, a buffer that cannot be pinned with
 * -EFAULT, and then no request has been sent.  Otherwise the ioctl returns
 * 0 once every request has finished, with each request's result (0 or
 * -errno) and the number that succeeded in `completed`.  READs and WRITEs
 * of one batch run concurrently and finish in any order.  A FLUSH waits
 * for every earlier request of its batch to finish before it is sent, so
 * it covers every WRITE of the batch before it that succeeded.
 *
 * Durability.  A WRITE is acknowledged (result 0) only when the device
 * posted a successful, consistent completion for it: its data reached the
 * device's backend or its volatile write cache, not necessarily stable
 * media.  Only a FLUSH that succeeds makes the WRITEs acknowledged before
 * it durable (datasheet 6.3); a power loss before that may lose them.  A
 * FLUSH covers every earlier WRITE of its batch (it waits for them) and
 * every WRITE of any caller acknowledged before it was sent.  A device
 * that advertises a volatile write cache (IDENTIFY's KESTREL_ID_FEAT_VWC,
 * read at every IDENTIFY; the write_cache attribute shows it and can also
 * turn it on) loses unflushed WRITEs at a power loss, so the driver, as sd
 * and nvme do, sends a FLUSH of its own where the device may lose power or
 * go away: before system suspend, at shutdown and at an orderly remove
 * (kestrel_ctrl.c, "volatile write cache").  Each is bounded by the
 * command timeout (at most KESTREL_PM_DRAIN_MAX_MS); one that cannot be
 * sent (device gone, controller not live) or fails is logged once and
 * counted (stats.flush_errors), and suspend or remove goes on.  The
 * FLUSHes the driver sends itself are counted in stats.cache_flushes; a
 * caller's FLUSH is always sent, cache or not.  A WRITE that was not
 * acknowledged may or may not have reached the medium (datasheet 5.2): its
 * caller still holds the data, and resending it writes the same blocks
 * with the same data, so retrying it is safe.  Nothing is acknowledged on
 * a guess.  One limit is the device's: a WRITE abandoned by a reset while
 * its media I/O runs on the backend still lands later (datasheet 5.2),
 * which the driver cannot fence.
 *
 * DMA safety.  A READ is mapped for DMA in place only when its buffer
 * starts and ends on a cache line and no other READ in flight on this
 * device (of any batch or caller) targets one of its pages; otherwise the
 * device reads into kernel pages and the data is copied into the pinned
 * user pages after the command (a bounce).  So no two buffers the device
 * writes ever share a cache line, which non-coherent machines need and
 * DMA-API debugging checks; the caller sees no difference.
 *
 * Errors the device reports in a consistent completion are final and not
 * retried: MEDIA_ERROR and DATA_XFER_ERROR give -EIO, and the statuses
 * that reject a command (which the driver validated) give -EINVAL,
 * -ERANGE or -EOPNOTSUPP (kestrel_status_to_errno()).
 *
 * Timeouts and recovery, escalating as nvme_timeout() does.  Every
 * command has a deadline of timeout_ms (module parameter, per-device
 * KESTREL_IOC_SET_TIMEOUT) from each submission to the device.  When it
 * passes:
 *  1. the CQ is polled: a completion found there was a missed interrupt
 *     (stats.missed_irqs) and completes normally;
 *  2. otherwise the command has timed out (stats.timeouts) and one reset
 *     work item resets the controller.  Corrupt, duplicate or impossible
 *     completions (stats.bad_completions) and fatal errors
 *     (stats.fatal_errors) lead here directly.  Once the reset is seen to
 *     complete the device holds no command and does no more DMA for any;
 *     the queues are rebuilt, IDENTIFY is checked again, and every command
 *     that was outstanding -- READ, WRITE and FLUSH alike -- is resubmitted
 *     (stats.retries), up to max_retries times each; past that it fails
 *     with -EIO;
 *  3. a controller that does not become ready again within
 *     KESTREL_RESET_ATTEMPTS reset-and-enable handshakes, each bounded by
 *     CAP_TIMEOUT_MS, is dead: bus mastering is turned off, every command
 *     fails with -EIO, and so does new I/O until a KESTREL_IOC_RESET
 *     brings the controller back.
 * A device whose registers read all-ones and that the PCI core no longer
 * finds is gone (surprise removal): everything fails with -ENODEV, as
 * after remove().  One that is still present is only unreachable: the
 * recovery retries it within its bounds, then it is dead (kestrel_ctrl.c).
 *
 * Waits are bounded.  A submitter waits for its commands in slices that
 * end at the command's deadline, and each expiry escalates as above; the
 * reset, dead and remove paths complete every command they touch.
 * Commands queued while the controller resets or sleeps (state RESETTING
 * or SUSPENDED) wait for it, woken by resume, recovery, death or removal.
 * When every tag is in use, a batch first waits for its own oldest
 * request (never for a tag it holds itself); a batch holding no tag waits
 * killably for one.  Commands on the device are waited for
 * uninterruptibly: the device may DMA to their buffers until it completes
 * them or a reset is seen to finish.  Such a wait also holds off the
 * freezer, so system suspend waits for it (a command resolves within
 * timeout_ms plus one recovery); a command queued for a recovery or a
 * resume is not on the device, and its waiter lets itself be frozen
 * within a second.
 *
 * Power management.  Suspend lets in-flight commands drain for one
 * command timeout (at most KESTREL_PM_DRAIN_MAX_MS), flushes a write cache
 * (above), resets the controller and requeues what it still held; new I/O
 * queues up.  A recovery in progress gives up for it.  Resume rebuilds the
 * controller and sends the queue.  Shutdown holds new I/O back, drains and
 * flushes a write cache the same way, then stops all DMA and fails what is
 * left with -EIO.
 *
 * Removal.  New I/O fails with -ENODEV at once.  With a write cache, the
 * commands on a live device get one command timeout to finish and the
 * cache is flushed; then remove() fails every command left with -ENODEV,
 * wakes every waiter and makes every later ioctl on an open file fail with
 * -ENODEV; the device structure lives until the last file is closed.  A batch
 * copies its requests and pins its buffers before it enters the hardware
 * section, and writes its results after leaving it, so remove() never
 * waits for a page fault that only user space can resolve.
 *
 * Locking: kd->lock (a spinlock, taken in the interrupt handlers) covers
 * the SQ tail and doorbell, the CQ head and phase, the tag table, the
 * state and the statistics.
 */
#include <linux/dma-mapping.h>
#include <linux/dmapool.h>
#include <linux/error-injection.h>
#include <linux/freezer.h>
#include <linux/highmem.h>
#include <linux/interrupt.h>
#include <linux/jiffies.h>
#include <linux/mm.h>
#include <linux/scatterlist.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "kestrel.h"

/* Longest single sleep of a waiter; it re-checks the deadline after. */
#define KESTREL_WAIT_SLICE	(10 * HZ)

/* One request of a SUBMIT batch, owned by the submitting task. */
struct kestrel_req {
	struct kestrel_io io;		/* validated copy */
	struct kestrel_cmd *cmd;	/* while it holds a tag */
	struct page **pages;
	u32 nr_pages;			/* pinned */
	struct page **bounce;		/* a READ the device does into these */
	u32 nr_bounce;
	bool claimed;			/* its pages are in kd->dma_read_pages */
	bool done;			/* the command finished; result final */
	struct sg_table sgt;
	bool mapped;
	enum dma_data_direction dir;
	struct kestrel_sgl_list *lists;
	u32 nlists;
	u32 nsegs;
	u32 sgl_len;
	int result;
};

static const char *kestrel_op_name(u8 opcode)
{
	switch (opcode) {
	case KESTREL_OP_IDENTIFY:
		return "IDENTIFY";
	case KESTREL_OP_READ:
		return "READ";
	case KESTREL_OP_WRITE:
		return "WRITE";
	case KESTREL_OP_FLUSH:
		return "FLUSH";
	}
	return "?";
}

/*
 * Upper bound of one recovery: every attempt waits at most for the reset,
 * the enable and IDENTIFY (kestrel_ctrl.c).
 */
static unsigned long kestrel_recovery_jiffies(struct kestrel_dev *kd)
{
	return msecs_to_jiffies(KESTREL_RESET_ATTEMPTS *
				(3 * kd->lim.ready_timeout_ms +
				 READ_ONCE(kd->timeout_ms))) + HZ;
}

/* ---- user buffers ------------------------------------------------------ */

/*
 * Pin the request's buffer.  User memory only, outside the hardware
 * section: this may wait on a page fault as long as user space wants.
 * On error the caller still calls kestrel_req_release().
 */
static int kestrel_req_pin(struct kestrel_req *rq)
{
	const struct kestrel_io *io = &rq->io;
	u64 nr;
	int ret;

	if (io->opcode == KESTREL_IO_FLUSH)
		return 0;
	rq->dir = io->opcode == KESTREL_IO_READ ? DMA_FROM_DEVICE :
						   DMA_TO_DEVICE;
	/* Bounded by max_xfer_blocks: at most CAP_MAXSEG + 1 pages. */
	nr = kestrel_io_nr_pages(io->buf, io->buf_len, PAGE_SIZE);
	rq->pages = kvmalloc_array(nr, sizeof(*rq->pages), GFP_KERNEL);
	if (!rq->pages)
		return -ENOMEM;
	ret = pin_user_pages_fast(io->buf & PAGE_MASK, nr,
				  rq->dir == DMA_FROM_DEVICE ? FOLL_WRITE : 0,
				  rq->pages);
	if (ret < 0)
		return -EFAULT;
	rq->nr_pages = ret;
	if (rq->nr_pages != nr)
		return -EFAULT;
	return 0;
}

/* Give back the pages of a READ mapped in place (kd->dma_read_pages). */
static void kestrel_req_unclaim(struct kestrel_dev *kd,
				struct kestrel_req *rq, u32 n)
{
	while (n--)
		xa_erase(&kd->dma_read_pages, page_to_pfn(rq->pages[n]));
}

/*
 * May the device write this READ's pages in place?  Only when the buffer
 * covers whole cache lines and no READ in flight has any of its pages;
 * then they are claimed until kestrel_req_unmap().
 */
static bool kestrel_req_claim(struct kestrel_dev *kd, struct kestrel_req *rq)
{
	unsigned int align = max_t(unsigned int, dma_get_cache_alignment(),
				   L1_CACHE_BYTES);
	u32 i;

	if (!IS_ALIGNED(rq->io.buf | rq->io.buf_len, align))
		return false;
	for (i = 0; i < rq->nr_pages; i++) {
		if (xa_insert(&kd->dma_read_pages, page_to_pfn(rq->pages[i]),
			      xa_mk_value(0), GFP_KERNEL)) {
			kestrel_req_unclaim(kd, rq, i);
			return false;
		}
	}
	rq->claimed = true;
	return true;
}

/* Kernel pages for a bounced READ. */
static int kestrel_req_alloc_bounce(struct kestrel_req *rq)
{
	u32 nr = DIV_ROUND_UP(rq->io.buf_len, PAGE_SIZE);

	rq->bounce = kvcalloc(nr, sizeof(*rq->bounce), GFP_KERNEL);
	if (!rq->bounce)
		return -ENOMEM;
	for (; rq->nr_bounce < nr; rq->nr_bounce++) {
		/* zeroed: a device that "succeeds" without DMA leaks nothing */
		rq->bounce[rq->nr_bounce] = alloc_page(GFP_KERNEL | __GFP_ZERO);
		if (!rq->bounce[rq->nr_bounce])
			return -ENOMEM;
	}
	return 0;
}

/* A bounced READ succeeded: its data goes to the pinned user pages. */
static void kestrel_req_copy_bounce(struct kestrel_req *rq)
{
	size_t first = offset_in_page(rq->io.buf), len = rq->io.buf_len;
	size_t done = 0;

	while (done < len) {
		size_t d = first + done;
		size_t n = min3(len - done, PAGE_SIZE - offset_in_page(d),
				PAGE_SIZE - offset_in_page(done));

		memcpy_page(rq->pages[d >> PAGE_SHIFT], offset_in_page(d),
			    rq->bounce[done >> PAGE_SHIFT], offset_in_page(done),
			    n);
		done += n;
	}
}

/*
 * Map the pinned buffer (or, for a READ that may not be written in place,
 * bounce pages) for DMA and describe it as a chain of segment lists.  In
 * the hardware section.  On error the caller still calls
 * kestrel_req_unmap().
 */
static noinline int kestrel_req_map(struct kestrel_dev *kd,
				    struct kestrel_req *rq)
{
	struct device *dev = &kd->pdev->dev;
	const struct kestrel_io *io = &rq->io;
	struct kestrel_seg *segs;
	struct scatterlist *sg;
	unsigned int i;
	int ret;

	if (io->opcode == KESTREL_IO_FLUSH)
		return 0;
	if (rq->dir == DMA_FROM_DEVICE && !kestrel_req_claim(kd, rq)) {
		ret = kestrel_req_alloc_bounce(rq);
		if (ret)
			return ret;
		ret = sg_alloc_table_from_pages_segment(&rq->sgt, rq->bounce,
							rq->nr_bounce, 0,
							io->buf_len,
							dma_get_max_seg_size(dev),
							GFP_KERNEL);
	} else {
		ret = sg_alloc_table_from_pages_segment(&rq->sgt, rq->pages,
							rq->nr_pages,
							offset_in_page(io->buf),
							io->buf_len,
							dma_get_max_seg_size(dev),
							GFP_KERNEL);
	}
	if (ret)
		return ret;
	ret = dma_map_sgtable(dev, &rq->sgt, rq->dir, 0);
	if (ret)
		return -ENOMEM;
	rq->mapped = true;

	/* Only a one-segment device rejects a buffer crossing a page. */
	rq->nsegs = rq->sgt.nents;
	if (rq->nsegs > kd->lim.max_segs)
		return -EINVAL;
	segs = kmalloc_array(rq->nsegs, sizeof(*segs), GFP_KERNEL);
	if (!segs)
		return -ENOMEM;
	for_each_sgtable_dma_sg(&rq->sgt, sg, i) {
		segs[i].addr = sg_dma_address(sg);
		segs[i].len = sg_dma_len(sg);
	}

	rq->nlists = kestrel_sgl_lists_needed(rq->nsegs);
	rq->lists = kcalloc(rq->nlists, sizeof(*rq->lists), GFP_KERNEL);
	if (!rq->lists) {
		ret = -ENOMEM;
		goto out_free_segs;
	}
	for (i = 0; i < rq->nlists; i++) {
		dma_addr_t dma;

		rq->lists[i].descs = dma_pool_alloc(kd->sgl_pool, GFP_KERNEL,
						    &dma);
		if (!rq->lists[i].descs) {
			ret = -ENOMEM;
			goto out_free_segs;
		}
		rq->lists[i].dma = dma;
	}
	ret = kestrel_build_sgl(segs, rq->nsegs, kd->lim.max_segs,
				io->buf_len, rq->lists, rq->nlists,
				&rq->sgl_len);
	if (ret > 1)
		dev_dbg(dev, "lba %llu: %u segments in %d chained lists\n",
			io->lba, rq->nsegs, ret);
	ret = ret < 0 ? ret : 0;
out_free_segs:
	kfree(segs);
	return ret;
}

/* fail_function: a request whose mapping fails (alloc-failure scenarios) */
ALLOW_ERROR_INJECTION(kestrel_req_map, ERRNO);

/* Undo kestrel_req_map(), whatever it got to (hardware section). */
static void kestrel_req_unmap(struct kestrel_dev *kd, struct kestrel_req *rq)
{
	u32 i;

	for (i = 0; rq->lists && i < rq->nlists; i++)
		if (rq->lists[i].descs)
			dma_pool_free(kd->sgl_pool, rq->lists[i].descs,
				      rq->lists[i].dma);
	kfree(rq->lists);
	rq->lists = NULL;
	if (rq->mapped)
		dma_unmap_sgtable(&kd->pdev->dev, &rq->sgt, rq->dir, 0);
	rq->mapped = false;
	if (rq->sgt.sgl)
		sg_free_table(&rq->sgt);
	rq->sgt.sgl = NULL;
	if (rq->claimed)
		kestrel_req_unclaim(kd, rq, rq->nr_pages);
	rq->claimed = false;
}

/*
 * Undo kestrel_req_pin() and the bounce, after the hardware section: a
 * bounced READ that succeeded delivers its data; data read is dirty.
 */
static void kestrel_req_release(struct kestrel_req *rq)
{
	u32 i;

	if (rq->bounce && rq->done && !rq->result && rq->nr_pages)
		kestrel_req_copy_bounce(rq);
	for (i = 0; i < rq->nr_bounce; i++)
		__free_page(rq->bounce[i]);
	kvfree(rq->bounce);
	if (rq->nr_pages)
		unpin_user_pages_dirty_lock(rq->pages, rq->nr_pages,
					    rq->dir == DMA_FROM_DEVICE);
	kvfree(rq->pages);
}

/* ---- tags -------------------------------------------------------------- */

static bool kestrel_tag_wait_over(struct kestrel_dev *kd)
{
	int st = kestrel_state(kd);

	return READ_ONCE(kd->tags_used) < kd->ntags ||
	       st == KESTREL_STATE_DEAD || st == KESTREL_STATE_REMOVED;
}

/* Take a free tag: -EAGAIN when all are in use. */
static int kestrel_cmd_try_get(struct kestrel_dev *kd,
			       struct kestrel_cmd **out)
{
	struct kestrel_cmd *cmd;
	unsigned long idx;
	int ret = -EAGAIN;

	spin_lock_irq(&kd->lock);
	if (kd->state == KESTREL_STATE_DEAD) {
		ret = -EIO;
	} else if (kd->state == KESTREL_STATE_REMOVED) {
		ret = -ENODEV;
	} else {
		idx = find_first_zero_bit(kd->tag_map, kd->ntags);
		if (idx < kd->ntags) {
			__set_bit(idx, kd->tag_map);
			WRITE_ONCE(kd->tags_used, kd->tags_used + 1);
			cmd = &kd->cmds[idx];
			cmd->state = KESTREL_CMD_PREP;
			cmd->retries = 0;
			cmd->timed_out = false;
			cmd->result = 0;
			reinit_completion(&cmd->done);
			*out = cmd;
			ret = 0;
		}
	}
	spin_unlock_irq(&kd->lock);
	return ret;
}

static void kestrel_cmd_put(struct kestrel_dev *kd, struct kestrel_cmd *cmd)
{
	spin_lock_irq(&kd->lock);
	kd->shadow[cmd->index].state = KESTREL_TAG_IDLE;
	cmd->state = KESTREL_CMD_FREE;
	__clear_bit(cmd->index, kd->tag_map);
	WRITE_ONCE(kd->tags_used, kd->tags_used - 1);
	spin_unlock_irq(&kd->lock);
	wake_up(&kd->tag_wq);
}

/* ---- submission -------------------------------------------------------- */

/* A command left the device; suspend's drain waits for the last one. */
static void kestrel_inflight_dec_locked(struct kestrel_dev *kd)
{
	WRITE_ONCE(kd->nr_inflight, kd->nr_inflight - 1);
	if (!kd->nr_inflight)
		wake_up(&kd->drain_wq);
}

/* Write the command into the SQ and ring the doorbell. */
static void kestrel_cmd_submit_locked(struct kestrel_dev *kd,
				      struct kestrel_cmd *cmd)
{
	struct kestrel_tag_shadow *sh = &kd->shadow[cmd->index];
	u32 slot = kd->sq_tail;

	lockdep_assert_held(&kd->lock);
	cmd->gen = (cmd->gen + 1) & KESTREL_TAG_GEN_MASK;
	cmd->wire_tag = kestrel_wire_tag(cmd->index, cmd->gen);
	kestrel_sqe_fill(&kd->sq[slot], cmd->opcode, cmd->wire_tag, cmd->lba,
			 cmd->nblocks, cmd->nsegs, cmd->sgl_dma, cmd->sgl_len);
	kd->sq_tail = (slot + 1) % kd->qdepth;

	sh->wire_tag = cmd->wire_tag;
	sh->sq_head = kd->sq_tail;
	sh->result = cmd->bytes;
	sh->state = KESTREL_TAG_INFLIGHT;

	cmd->state = KESTREL_CMD_INFLIGHT;
	cmd->start = jiffies;
	cmd->deadline = cmd->start +
			msecs_to_jiffies(READ_ONCE(kd->timeout_ms));
	cmd->timed_out = false;
	WRITE_ONCE(kd->nr_inflight, kd->nr_inflight + 1);
	kd->stats.submitted++;
	/* writel() orders the SQE stores before the doorbell. */
	kestrel_wr(kd, KESTREL_REG_SQ_TAIL_DB, kd->sq_tail);
}

/* The command is over without a completion from the device. */
static void kestrel_cmd_finish_locked(struct kestrel_dev *kd,
				      struct kestrel_cmd *cmd, int err)
{
	lockdep_assert_held(&kd->lock);
	if (cmd->state == KESTREL_CMD_INFLIGHT)
		kestrel_inflight_dec_locked(kd);
	else if (cmd->state == KESTREL_CMD_QUEUED)
		list_del(&cmd->node);
	kd->shadow[cmd->index].state = KESTREL_TAG_IDLE;
	cmd->state = KESTREL_CMD_DONE;
	cmd->result = err;
	if (err)
		kd->stats.failed++;
	complete(&cmd->done);
}

static void kestrel_cmd_start(struct kestrel_dev *kd, struct kestrel_cmd *cmd)
{
	spin_lock_irq(&kd->lock);
#ifdef KESTREL_TEST_FLUSH_NOOP
	/*
	 * Test build only (build-module.sh --test-flush-noop): a FLUSH
	 * "succeeds" without reaching the device, the lying cache that the
	 * ledger's negative control must catch.
	 */
	if (cmd->opcode == KESTREL_OP_FLUSH &&
	    kd->state != KESTREL_STATE_DEAD &&
	    kd->state != KESTREL_STATE_REMOVED) {
		kd->stats.completed++;
		kestrel_cmd_finish_locked(kd, cmd, 0);
		spin_unlock_irq(&kd->lock);
		return;
	}
#endif
	switch (kd->state) {
	case KESTREL_STATE_LIVE:
		kestrel_cmd_submit_locked(kd, cmd);
		break;
	case KESTREL_STATE_RESETTING:
	case KESTREL_STATE_SUSPENDED:
		cmd->state = KESTREL_CMD_QUEUED;
		list_add_tail(&cmd->node, &kd->queued);
		break;
	case KESTREL_STATE_DEAD:
		kestrel_cmd_finish_locked(kd, cmd, -EIO);
		break;
	default:
		kestrel_cmd_finish_locked(kd, cmd, -ENODEV);
		break;
	}
	spin_unlock_irq(&kd->lock);
}

/* The controller is ready: send what waited for it. */
void kestrel_go_live_locked(struct kestrel_dev *kd)
{
	struct kestrel_cmd *cmd, *next;

	lockdep_assert_held(&kd->lock);
	if (kd->state == KESTREL_STATE_REMOVED) {
		/* remove() won the race with a reset: nothing goes live. */
		kestrel_fail_all_locked(kd, -ENODEV);
		return;
	}
	kestrel_set_state_locked(kd, KESTREL_STATE_LIVE);
	kd->cq_live = true;
	kd->fatal_seen = false;
	list_for_each_entry_safe(cmd, next, &kd->queued, node) {
		list_del(&cmd->node);
		kestrel_cmd_submit_locked(kd, cmd);
	}
	wake_up_all(&kd->tag_wq);
}

/*
 * A reset was seen to complete: the device forgot every command it held.
 * Queue them again for the rebuilt controller, or fail those that used up
 * their retries.
 */
void kestrel_requeue_inflight_locked(struct kestrel_dev *kd)
{
	unsigned int max = READ_ONCE(kestrel_param_max_retries);
	u32 i;

	lockdep_assert_held(&kd->lock);
	for (i = 0; i < kd->ntags; i++) {
		struct kestrel_cmd *cmd = &kd->cmds[i];

		if (cmd->state != KESTREL_CMD_INFLIGHT)
			continue;
		if (cmd->retries >= max) {
			dev_err_ratelimited(&kd->pdev->dev,
					    "%s lba %llu: gave up after %u retries\n",
					    kestrel_op_name(cmd->opcode),
					    cmd->lba, cmd->retries);
			kestrel_cmd_finish_locked(kd, cmd, -EIO);
			continue;
		}
		WRITE_ONCE(kd->nr_inflight, kd->nr_inflight - 1);
		kd->shadow[i].state = KESTREL_TAG_IDLE;
		cmd->retries++;
		kd->stats.retries++;
		cmd->state = KESTREL_CMD_QUEUED;
		list_add_tail(&cmd->node, &kd->queued);
	}
	if (!kd->nr_inflight)
		wake_up(&kd->drain_wq);
}

/* Dead or removed: complete every outstanding command with @err. */
void kestrel_fail_all_locked(struct kestrel_dev *kd, int err)
{
	u32 i;

	lockdep_assert_held(&kd->lock);
	for (i = 0; i < kd->ntags; i++) {
		struct kestrel_cmd *cmd = &kd->cmds[i];

		if (cmd->state == KESTREL_CMD_INFLIGHT ||
		    cmd->state == KESTREL_CMD_QUEUED)
			kestrel_cmd_finish_locked(kd, cmd, err);
	}
	wake_up_all(&kd->tag_wq);
	wake_up(&kd->drain_wq);
}

/* ---- completions ------------------------------------------------------- */

static void kestrel_cmd_complete_locked(struct kestrel_dev *kd,
					const struct kestrel_cqe_info *info)
{
	struct kestrel_cmd *cmd = &kd->cmds[info->index];
	int err = kestrel_status_to_errno(info->status);

	kd->shadow[info->index].state = KESTREL_TAG_DONE;
	kd->sq_head = info->sq_head;
	kestrel_inflight_dec_locked(kd);
	if (!err) {
		kd->stats.completed++;
		if (cmd->opcode == KESTREL_OP_READ)
			kd->stats.bytes_read += info->result;
		else if (cmd->opcode == KESTREL_OP_WRITE)
			kd->stats.bytes_written += info->result;
	} else {
		kd->stats.failed++;
		dev_err_ratelimited(&kd->pdev->dev,
				    "%s lba %llu blocks %u failed: status %#x\n",
				    kestrel_op_name(cmd->opcode), cmd->lba,
				    cmd->nblocks, info->status);
	}
	cmd->state = KESTREL_CMD_DONE;
	cmd->result = err;
	complete(&cmd->done);
}

static void kestrel_bad_completion_locked(struct kestrel_dev *kd, u32 slot,
					  const struct kestrel_cqe *cqe,
					  enum kestrel_cqe_verdict v)
{
	kd->stats.bad_completions++;
	kd->cq_live = false;
	dev_err_ratelimited(&kd->pdev->dev,
			    "bad completion in CQ slot %u: %s (tag %#06x sq_head %u status %#06x result %u)\n",
			    slot, kestrel_cqe_verdict_name(v),
			    KESTREL_CPU16(cqe->tag), KESTREL_CPU16(cqe->sq_head),
			    KESTREL_CPU16(cqe->status),
			    KESTREL_CPU32(cqe->result));
	kestrel_ctrl_schedule_reset_locked(kd, "bad completion");
}

/*
 * Consume every new completion.  The phase bit is read first, then a read
 * barrier, then the entry is copied once; only the copy is checked and
 * used.  An entry that fails the checks stops the CQ until the reset.
 * Returns the number of commands completed.
 */
unsigned int kestrel_cq_reap_locked(struct kestrel_dev *kd)
{
	unsigned int found = 0;

	lockdep_assert_held(&kd->lock);
	while (kd->cq_live) {
		u32 head = kd->cq_head;
		struct kestrel_cqe_info info;
		enum kestrel_cqe_verdict v;
		struct kestrel_cqe cqe;

		if (!kestrel_cqe_phase_matches(READ_ONCE(kd->cq[head].status),
					       kd->cq_phase))
			break;
		dma_rmb();
		memcpy(&cqe, &kd->cq[head], sizeof(cqe));
		v = kestrel_cqe_check(&cqe, kd->cq_phase, kd->shadow,
				      kd->ntags, kd->qdepth, &info);
		if (v == KESTREL_CQE_EMPTY)
			break;
		if (v != KESTREL_CQE_OK) {
			kestrel_bad_completion_locked(kd, head, &cqe, v);
			break;
		}
		kd->cq_head = (head + 1) % kd->qdepth;
		if (!kd->cq_head)
			kd->cq_phase ^= 1;
		kestrel_cmd_complete_locked(kd, &info);
		found++;
	}
	if (found)
		kestrel_wr(kd, KESTREL_REG_CQ_HEAD_DB, kd->cq_head);
	return found;
}

static void kestrel_reap_count_spurious(struct kestrel_dev *kd)
{
	spin_lock(&kd->lock);
	if (!kestrel_cq_reap_locked(kd) && kd->cq_live)
		kd->stats.spurious_irqs++;
	spin_unlock(&kd->lock);
}

/* MSI-X or MSI vector 0: completions. */
irqreturn_t kestrel_irq_cq(int irq, void *data)
{
	kestrel_reap_count_spurious(data);
	return IRQ_HANDLED;
}

/* MSI-X or MSI vector 1: fatal error; it may carry completions too. */
irqreturn_t kestrel_irq_error(int irq, void *data)
{
	struct kestrel_dev *kd = data;

	kestrel_ctrl_handle_error(kd);
	spin_lock(&kd->lock);
	kestrel_cq_reap_locked(kd);
	spin_unlock(&kd->lock);
	return IRQ_HANDLED;
}

/*
 * INTx, or MSI with a single vector: INTR_STATUS tells the cause.  A cause
 * that is masked did not raise this interrupt (datasheet 7.2: the bits are
 * set whether or not they are masked): it is neither claimed nor
 * acknowledged, and stays pending until it is unmasked.
 */
irqreturn_t kestrel_irq_shared(int irq, void *data)
{
	struct kestrel_dev *kd = data;
	bool intx = kd->irq_mode == KESTREL_IRQ_INTX;
	u32 st = kestrel_rd(kd, KESTREL_REG_INTR_STATUS);

	if (st == 0xffffffffu) {
		kestrel_ctrl_schedule_reset(kd, "registers read all-ones");
		return intx ? IRQ_NONE : IRQ_HANDLED;
	}
	st &= KESTREL_INTR_ALL & ~READ_ONCE(kd->intr_mask);
	if (!st && intx)
		return IRQ_NONE;	/* another device's, or a masked cause */
	if (st)
		kestrel_wr(kd, KESTREL_REG_INTR_STATUS, st);
	if (st & KESTREL_INTR_ERROR)
		kestrel_ctrl_handle_error(kd);
	kestrel_reap_count_spurious(kd);
	return IRQ_HANDLED;
}

/* ---- waiting ----------------------------------------------------------- */

/*
 * The deadline of an in-flight command passed: poll for a missed
 * interrupt, then escalate to a controller reset.
 */
static void kestrel_cmd_expired(struct kestrel_dev *kd,
				struct kestrel_cmd *cmd)
{
	unsigned int found;

	spin_lock_irq(&kd->lock);
	if (cmd->state != KESTREL_CMD_INFLIGHT ||
	    time_before(jiffies, cmd->deadline))
		goto out;
	found = kestrel_cq_reap_locked(kd);
	if (found) {
		kd->stats.missed_irqs += found;
		dev_warn_ratelimited(&kd->pdev->dev,
				     "missed interrupt: %u completions found by polling\n",
				     found);
	}
	if (cmd->state != KESTREL_CMD_INFLIGHT)
		goto out;
	if (!cmd->timed_out) {
		cmd->timed_out = true;
		kd->stats.timeouts++;
		dev_warn_ratelimited(&kd->pdev->dev,
				     "%s lba %llu blocks %u (tag %#06x) timed out after %u ms\n",
				     kestrel_op_name(cmd->opcode), cmd->lba,
				     cmd->nblocks, cmd->wire_tag,
				     jiffies_to_msecs(jiffies - cmd->start));
	}
	/* Check again once a reset had all the time it may take. */
	cmd->deadline = jiffies + kestrel_recovery_jiffies(kd);
	kestrel_ctrl_schedule_reset_locked(kd, "command timeout");
out:
	spin_unlock_irq(&kd->lock);
}

/* Wait until the command is DONE; see "Waits are bounded" above. */
static void kestrel_cmd_wait(struct kestrel_dev *kd, struct kestrel_cmd *cmd)
{
	for (;;) {
		unsigned long timeout = HZ;
		bool queued;

		spin_lock_irq(&kd->lock);
		if (cmd->state == KESTREL_CMD_DONE) {
			spin_unlock_irq(&kd->lock);
			return;
		}
		/*
		 * Slices of at most KESTREL_WAIT_SLICE keep the hung-task
		 * detector quiet under long timeouts.
		 */
		if (cmd->state == KESTREL_CMD_INFLIGHT)
			timeout = time_after(cmd->deadline, jiffies) ?
				  min_t(unsigned long, cmd->deadline - jiffies,
					KESTREL_WAIT_SLICE) : 0;
		queued = cmd->state == KESTREL_CMD_QUEUED;
		spin_unlock_irq(&kd->lock);
		if (wait_for_completion_timeout(&cmd->done, timeout))
			return;
		/*
		 * Queued for a recovery or a resume, the command is not on the
		 * device: system suspend may freeze this task (it holds no
		 * lock), so a recovery never keeps the freezer waiting.
		 */
		if (queued)
			try_to_freeze();
		kestrel_cmd_expired(kd, cmd);
	}
}

/*
 * Collect the requests of a batch from *@waited up to @upto: wait for each
 * one that was started and release its tag.
 */
static void kestrel_batch_wait(struct kestrel_dev *kd,
			       struct kestrel_req *reqs, u32 *waited, u32 upto)
{
	for (; *waited < upto; (*waited)++) {
		struct kestrel_req *rq = &reqs[*waited];

		if (!rq->cmd)
			continue;
		kestrel_cmd_wait(kd, rq->cmd);
		rq->result = rq->cmd->result;
		rq->done = true;
		kestrel_cmd_put(kd, rq->cmd);
		rq->cmd = NULL;
	}
}

/*
 * A tag for request @i of a batch.  When all are in use, the batch first
 * collects its own oldest request, so it never waits for a tag it holds
 * itself; only a batch that holds none waits (killable) for other users.
 */
static int kestrel_batch_get_tag(struct kestrel_dev *kd,
				 struct kestrel_req *reqs, u32 i, u32 *waited,
				 struct kestrel_cmd **cmd)
{
	for (;;) {
		int ret = kestrel_cmd_try_get(kd, cmd);

		if (ret != -EAGAIN)
			return ret;
		if (*waited < i) {
			kestrel_batch_wait(kd, reqs, waited, *waited + 1);
			continue;
		}
		if (wait_event_killable_timeout(kd->tag_wq,
						kestrel_tag_wait_over(kd),
						HZ) < 0)
			return -EINTR;
	}
}

/* ---- KESTREL_IOC_SUBMIT ------------------------------------------------ */

int kestrel_submit_batch(struct kestrel_dev *kd,
			 struct kestrel_submit __user *uarg)
{
	struct kestrel_io __user *uios;
	struct kestrel_submit hdr;
	struct kestrel_req *reqs;
	u32 i, npinned = 0, nmapped = 0, waited = 0, completed = 0;
	int ret;

	if (copy_from_user(&hdr, uarg, sizeof(hdr)))
		return -EFAULT;
	ret = kestrel_validate_submit(&hdr);
	if (ret)
		return ret;
	uios = u64_to_user_ptr(hdr.ios);

	reqs = kvcalloc(hdr.count, sizeof(*reqs), GFP_KERNEL);
	if (!reqs)
		return -ENOMEM;
	for (i = 0; i < hdr.count; i++) {
		if (copy_from_user(&reqs[i].io, &uios[i], sizeof(reqs[i].io))) {
			ret = -EFAULT;
			goto out_free;
		}
		ret = kestrel_validate_io(&reqs[i].io, &kd->lim);
		if (ret)
			goto out_free;
	}
	switch (kestrel_state(kd)) {
	case KESTREL_STATE_DEAD:
		ret = -EIO;
		goto out_free;
	case KESTREL_STATE_REMOVED:
		ret = -ENODEV;
		goto out_free;
	}

	/* User memory: may wait on page faults, so before the hardware. */
	for (npinned = 0; npinned < hdr.count; npinned++) {
		ret = kestrel_req_pin(&reqs[npinned]);
		if (ret) {
			npinned++;	/* partly pinned: release it too */
			goto out_release;
		}
	}

	if (!kestrel_dev_enter(kd)) {
		ret = -ENODEV;
		goto out_release;
	}
	for (nmapped = 0; nmapped < hdr.count; nmapped++) {
		ret = kestrel_req_map(kd, &reqs[nmapped]);
		if (ret) {
			nmapped++;	/* partly mapped: unmap it too */
			goto out_unmap;
		}
	}

	for (i = 0; i < hdr.count; i++) {
		struct kestrel_req *rq = &reqs[i];
		struct kestrel_cmd *cmd;
		int err;

		if (rq->io.opcode == KESTREL_IO_FLUSH)
			kestrel_batch_wait(kd, reqs, &waited, i);
		err = kestrel_batch_get_tag(kd, reqs, i, &waited, &cmd);
		if (err) {
			for (; i < hdr.count; i++)
				reqs[i].result = err;
			break;
		}
		cmd->opcode = kestrel_io_to_opcode(rq->io.opcode);
		cmd->lba = rq->io.lba;
		cmd->nblocks = rq->io.nblocks;
		cmd->nsegs = rq->nsegs;
		cmd->sgl_dma = rq->lists ? rq->lists[0].dma : 0;
		cmd->sgl_len = rq->sgl_len;
		cmd->bytes = (u32)rq->io.buf_len;
		rq->cmd = cmd;
		kestrel_cmd_start(kd, cmd);
	}
	kestrel_batch_wait(kd, reqs, &waited, hdr.count);
	ret = 0;

out_unmap:
	for (i = 0; i < nmapped; i++)
		kestrel_req_unmap(kd, &reqs[i]);
	kestrel_dev_exit(kd);
out_release:
	for (i = 0; i < npinned; i++)
		kestrel_req_release(&reqs[i]);
	if (ret)
		goto out_free;
	for (i = 0; i < hdr.count; i++) {
		if (put_user(reqs[i].result, &uios[i].result))
			ret = -EFAULT;
		if (!reqs[i].result)
			completed++;
	}
	if (put_user(completed, &uarg->completed))
		ret = -EFAULT;
out_free:
	kvfree(reqs);
	return ret;
}
