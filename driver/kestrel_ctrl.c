// SPDX-License-Identifier: GPL-2.0
/*
 * Kestrel controller management: capability checks, the enable and reset
 * handshakes, IDENTIFY, recovery and the dead and gone states.
 *
 * Every handshake is a sleeping poll bounded by CAP_TIMEOUT_MS, clamped to
 * KESTREL_READY_TIMEOUT_MIN_MS..KESTREL_READY_TIMEOUT_MAX_MS (the "ready
 * timeout" R): the reset, the enable and IDENTIFY each wait at most R, and
 * a device that never becomes ready costs at most KESTREL_RESET_ATTEMPTS
 * such rounds, then it is declared dead.
 *
 * All-ones.  A register that reads all-ones is not proof that the card is
 * gone: a read can fail once, and a link can drop and come back.  The card
 * is gone only when the PCI core confirms it (pci_device_is_present(): its
 * configuration space no longer answers); then nothing waits for it again.
 * A present card whose registers read all-ones is unreachable for now: the
 * handshakes keep polling it within their bounds, and if it does not come
 * back it is dead (-EIO), which KESTREL_IOC_RESET can undo.
 *
 * ctrl_lock serialises everything here: probe, the reset work, the RESET
 * ioctl, suspend, resume, shutdown and remove.  kd->lock (a spinlock) is
 * taken inside it for the queue state.
 *
 * Recovery never holds up the others.  Suspend, shutdown and the RESET
 * ioctl take ctrl_lock with kestrel_ctrl_lock_abort(): a recovery holding
 * it gives up at its next poll (every poll sleeps at most 20 ms), leaves
 * the controller RESETTING with its commands queued, and the caller takes
 * over.  remove() aborts it for good (abort_handshake).  So each of them
 * waits for a running recovery at most about 20 ms plus the register
 * accesses in flight, and then only for its own bounded work:
 *   suspend   drain min(timeout_ms, KESTREL_PM_DRAIN_MAX_MS), one reset (R)
 *   resume    KESTREL_RESET_ATTEMPTS x (reset + enable + IDENTIFY): 9 R
 *   shutdown  one reset (R)
 *   RESET     one recovery: 9 R, and a fatal signal ends it sooner
 * With a volatile write cache, suspend also flushes it, and shutdown and
 * remove drain and flush: each FLUSH and each drain at most
 * min(timeout_ms, KESTREL_PM_DRAIN_MAX_MS) ("volatile write cache" below).
 * Bus mastering is on only after a reset was seen to complete.
 */
#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/slab.h>

#include "kestrel.h"

static const char *const kestrel_err_names[] = {
	[KESTREL_ERR_NONE] = "none",
	[KESTREL_ERR_BAD_QUEUE_CONFIG] = "bad queue config",
	[KESTREL_ERR_SQ_DOORBELL] = "SQ doorbell",
	[KESTREL_ERR_CQ_DOORBELL] = "CQ doorbell",
	[KESTREL_ERR_SQ_FETCH] = "SQ fetch",
	[KESTREL_ERR_CQ_POST] = "CQ post",
	[KESTREL_ERR_SGL] = "SGL",
	[KESTREL_ERR_DMA] = "DMA",
	[KESTREL_ERR_BAD_CMD] = "bad command",
	[KESTREL_ERR_BACKEND] = "backend",
	[KESTREL_ERR_BAD_REG_WRITE] = "bad register write",
	[KESTREL_ERR_INJECTED_FATAL] = "injected fatal",
	[KESTREL_ERR_NOT_READY] = "not ready",
};

static const char *kestrel_err_name(u32 code)
{
	if (code < ARRAY_SIZE(kestrel_err_names) && kestrel_err_names[code])
		return kestrel_err_names[code];
	return "unknown";
}

/* ---- register helpers -------------------------------------------------- */

/* The card is gone: the PCI core no longer finds it (see above). */
bool kestrel_ctrl_gone(struct kestrel_dev *kd)
{
	return !pci_device_is_present(kd->pdev);
}

/* A register read all-ones: -ENODEV when the card is gone, else -EIO. */
static int kestrel_allones_err(struct kestrel_dev *kd)
{
	return kestrel_ctrl_gone(kd) ? -ENODEV : -EIO;
}

/*
 * Must a running handshake give up?  -ENODEV once remove() asked,
 * -ECANCELED when suspend, shutdown or a RESET ioctl waits for ctrl_lock
 * or the task doing it (a RESET ioctl) was killed; otherwise 0.
 */
static int kestrel_ctrl_aborted(struct kestrel_dev *kd)
{
	if (READ_ONCE(kd->abort_handshake))
		return -ENODEV;
	if (atomic_read(&kd->abort_recovery) || fatal_signal_pending(current))
		return -ECANCELED;
	return 0;
}

/*
 * Take ctrl_lock for @who, making a recovery that holds it give up
 * (kestrel_ctrl_aborted()) instead of waiting for it.
 */
static void kestrel_ctrl_lock_abort(struct kestrel_dev *kd, const char *who)
{
	WRITE_ONCE(kd->abort_why, who);
	atomic_inc(&kd->abort_recovery);
	mutex_lock(&kd->ctrl_lock);
	atomic_dec(&kd->abort_recovery);
}

/* One sleep of a handshake poll: at most 20 ms, so aborts act fast. */
static void kestrel_poll_sleep(unsigned int *delay_us)
{
	usleep_range(*delay_us, *delay_us * 2);
	*delay_us = min(*delay_us * 2, 10000u);
}

/*
 * Poll STATUS until (STATUS & mask) == want, sleeping between reads.
 * Returns 0, -ENODEV (the card is gone, or remove() asked us to stop),
 * -ECANCELED (kestrel_ctrl_aborted()), -EIO when @fatal_fails and
 * STATUS.FATAL is set, or -ETIMEDOUT.  All-ones from a card that is still
 * present is polled on like any other not-yet value.
 */
static int kestrel_wait_status(struct kestrel_dev *kd, u32 mask, u32 want,
			       bool fatal_fails, u32 *last)
{
	unsigned long deadline = jiffies +
		msecs_to_jiffies(kd->lim.ready_timeout_ms);
	unsigned int delay_us = 50;
	int ret;
	u32 st;

	for (;;) {
		st = kestrel_rd(kd, KESTREL_REG_STATUS);
		*last = st;
		if (st == 0xffffffffu) {
			if (kestrel_ctrl_gone(kd))
				return -ENODEV;
		} else {
			if (fatal_fails && (st & KESTREL_STATUS_FATAL))
				return -EIO;
			if ((st & mask) == want)
				return 0;
		}
		ret = kestrel_ctrl_aborted(kd);
		if (ret)
			return ret;
		if (time_after(jiffies, deadline))
			return -ETIMEDOUT;
		kestrel_poll_sleep(&delay_us);
	}
}

static u32 kestrel_caps_rd(void *ctx, u32 reg)
{
	return kestrel_rd(ctx, reg);
}

static void kestrel_read_caps(struct kestrel_dev *kd, struct kestrel_caps *c)
{
	kestrel_caps_read(c, kestrel_caps_rd, kd);
}

/* ---- error log --------------------------------------------------------- */

/*
 * Snapshot of the device error log (datasheet 8.1): ERR_COUNT, the
 * entries, ERR_COUNT again, retried while the device logs concurrently.
 */
int kestrel_err_log_read(struct kestrel_dev *kd, u32 log[][4], u32 *count)
{
	unsigned int try, i, j;
	u32 c1, c2;

	for (try = 0; try < 3; try++) {
		c1 = kestrel_rd(kd, KESTREL_REG_ERR_COUNT);
		for (i = 0; i < KESTREL_ERR_LOG_LEN; i++)
			for (j = 0; j < 4; j++)
				log[i][j] = kestrel_rd(kd, KESTREL_REG_ERR_LOG +
						       i * KESTREL_ERR_LOG_ENTRY_SIZE +
						       j * 4);
		c2 = kestrel_rd(kd, KESTREL_REG_ERR_COUNT);
		if (c1 == 0xffffffffu && c2 == 0xffffffffu &&
		    kestrel_rd(kd, KESTREL_REG_STATUS) == 0xffffffffu)
			return kestrel_allones_err(kd);
		if (c1 == c2) {
			*count = c1;
			return 0;
		}
	}
	return -EAGAIN;
}

/* Print the entries logged since the last call (process context). */
static void kestrel_log_new_errors(struct kestrel_dev *kd)
{
	u32 log[KESTREL_ERR_LOG_LEN][4];
	u32 count, n, i;

	if (kestrel_err_log_read(kd, log, &count))
		return;
	if (count < kd->err_count_seen)		/* a power-on reset cleared it */
		kd->err_count_seen = 0;
	n = min_t(u32, count - kd->err_count_seen, KESTREL_ERR_LOG_LEN);
	for (i = count - n; i != count; i++) {
		const u32 *e = log[i % KESTREL_ERR_LOG_LEN];

		dev_warn(&kd->pdev->dev,
			 "device error log #%u: %s (code %#x) tag %#x info %#x addr %#llx\n",
			 i, kestrel_err_name(e[0] & 0xffff), e[0] & 0xffff,
			 e[0] >> 16, e[1], (u64)e[3] << 32 | e[2]);
	}
	kd->err_count_seen = count;
}

/*
 * Count a fatal error once per controller life (kd->lock held); true the
 * first time.  The error interrupt normally reports it, but an interrupt
 * can be lost: the recovery then finds STATUS.FATAL itself.
 */
static bool kestrel_ctrl_note_fatal_locked(struct kestrel_dev *kd)
{
	lockdep_assert_held(&kd->lock);
	if (kd->fatal_seen)
		return false;
	kd->fatal_seen = true;
	kd->stats.fatal_errors++;
	return true;
}

/* ---- handshakes -------------------------------------------------------- */

/*
 * Controller reset (datasheet 5.2/5.4): RESET_MAGIC, wait for RESETTING to
 * clear, then check that the reset really happened (a dropped reset leaves
 * EN and RDY set).  On success the device holds no command and does no DMA
 * for anything submitted before, and its interrupts are masked again (the
 * reset unmasked them).  An unreachable card is not waited for here.
 */
static int kestrel_ctrl_disable(struct kestrel_dev *kd)
{
	u32 st, ctrl;
	int ret;

	st = kestrel_rd(kd, KESTREL_REG_STATUS);
	if (st == 0xffffffffu)
		return kestrel_allones_err(kd);
	if (st & KESTREL_STATUS_RESETTING) {
		ret = kestrel_wait_status(kd, KESTREL_STATUS_RESETTING, 0,
					  false, &st);
		if (ret)
			goto fail;
	}
	kestrel_wr(kd, KESTREL_REG_RESET, KESTREL_RESET_MAGIC);
	ret = kestrel_wait_status(kd, KESTREL_STATUS_RESETTING, 0, false, &st);
	if (ret)
		goto fail;
	ctrl = kestrel_rd(kd, KESTREL_REG_CTRL);
	if (ctrl == 0xffffffffu)
		return kestrel_allones_err(kd);
	if (st || ctrl) {
		dev_err(&kd->pdev->dev,
			"controller reset had no effect (STATUS %#x CTRL %#x)\n",
			st, ctrl);
		return -EIO;
	}
	kestrel_set_intr_mask(kd, KESTREL_INTR_ALL);
	return 0;

fail:
	if (ret == -ETIMEDOUT)
		dev_err(&kd->pdev->dev,
			"controller reset did not finish within %u ms (STATUS %#x)\n",
			kd->lim.ready_timeout_ms, st);
	return ret;
}

/*
 * One command the driver sends itself, outside the tag table, polled on
 * the CQ: IDENTIFY after an enable, and the FLUSH of the write cache
 * (kestrel_ctrl_flush_cache()).  The caller makes sure no other command is
 * outstanding and that the interrupt handlers do not reap (interrupts
 * masked, cq_live false), so the next CQ entry can only be this one's.
 * Bounded by @timeout_ms; @abortable: a recovery's command, which also
 * gives up when kestrel_ctrl_aborted() says so.  Returns 0 or -errno.
 */
static int kestrel_admin_cmd(struct kestrel_dev *kd, u8 opcode, u32 nsegs,
			     u64 sgl_dma, u32 sgl_len, u32 result,
			     unsigned int timeout_ms, bool abortable)
{
	struct device *dev = &kd->pdev->dev;
	const char *name = opcode == KESTREL_OP_FLUSH ? "FLUSH" : "IDENTIFY";
	unsigned long deadline;
	unsigned int delay_us = 50;
	struct kestrel_tag_shadow shadow;
	struct kestrel_cqe_info info;
	enum kestrel_cqe_verdict v;
	struct kestrel_cqe cqe;
	u32 slot, head, phase, st;
	int ret;
	u16 tag;

	tag = kestrel_wire_tag(0, ++kd->admin_gen);
	spin_lock_irq(&kd->lock);
	slot = kd->sq_tail;
	kestrel_sqe_fill(&kd->sq[slot], opcode, tag, 0, 0, nsegs, sgl_dma,
			 sgl_len);
	kd->sq_tail = (slot + 1) % kd->qdepth;
	head = kd->cq_head;
	phase = kd->cq_phase;
	shadow.wire_tag = tag;
	shadow.sq_head = kd->sq_tail;
	shadow.result = result;
	shadow.state = KESTREL_TAG_INFLIGHT;
	spin_unlock_irq(&kd->lock);
	kestrel_wr(kd, KESTREL_REG_SQ_TAIL_DB, shadow.sq_head);

	deadline = jiffies + msecs_to_jiffies(timeout_ms);
	while (!kestrel_cqe_phase_matches(READ_ONCE(kd->cq[head].status),
					  phase)) {
		st = kestrel_rd(kd, KESTREL_REG_STATUS);
		if (st == 0xffffffffu && kestrel_ctrl_gone(kd))
			return -ENODEV;
		if (st != 0xffffffffu && (st & KESTREL_STATUS_FATAL)) {
			spin_lock_irq(&kd->lock);
			kestrel_ctrl_note_fatal_locked(kd);
			spin_unlock_irq(&kd->lock);
			dev_err(dev, "fatal error during %s\n", name);
			return -EIO;
		}
		ret = abortable ? kestrel_ctrl_aborted(kd) : 0;
		if (ret)
			return ret;
		if (time_after(jiffies, deadline)) {
			dev_err(dev, "%s did not complete within %u ms\n", name,
				timeout_ms);
			return -ETIMEDOUT;
		}
		kestrel_poll_sleep(&delay_us);
	}
	dma_rmb();
	memcpy(&cqe, &kd->cq[head], sizeof(cqe));
	v = kestrel_cqe_check(&cqe, phase, &shadow, 1, kd->qdepth, &info);
	if (v != KESTREL_CQE_OK) {
		spin_lock_irq(&kd->lock);
		kd->stats.bad_completions++;
		spin_unlock_irq(&kd->lock);
		dev_err(dev, "bad %s completion: %s\n", name,
			kestrel_cqe_verdict_name(v));
		return -EIO;
	}
	if (info.status) {
		dev_err(dev, "%s failed with status %#x\n", name, info.status);
		return -EIO;
	}
	spin_lock_irq(&kd->lock);
	kd->sq_head = info.sq_head;
	kd->cq_head = (head + 1) % kd->qdepth;
	if (!kd->cq_head)
		kd->cq_phase ^= 1;
	head = kd->cq_head;
	spin_unlock_irq(&kd->lock);
	kestrel_wr(kd, KESTREL_REG_CQ_HEAD_DB, head);
	return 0;
}

/*
 * IDENTIFY through the first SQ slot after an enable, polled: interrupts
 * are masked and the CQ is not live yet.  The data is copied out of
 * DMA memory once and only the copy is checked and kept.  After probe
 * the data must not change, except the volatile write cache bit, which
 * is read again at every IDENTIFY (resume, recovery): a cache that
 * appears turns the driver's flushes on.
 */
static int kestrel_identify(struct kestrel_dev *kd, bool first)
{
	struct device *dev = &kd->pdev->dev;
	struct kestrel_sgl_list list = {
		.descs = kd->admin + KESTREL_IDENTIFY_SIZE,
		.dma = kd->admin_dma + KESTREL_IDENTIFY_SIZE,
	};
	struct kestrel_seg seg = {
		.addr = kd->admin_dma,
		.len = KESTREL_IDENTIFY_SIZE,
	};
	struct kestrel_identify *id;
	struct kestrel_ident ident;
	const char *why;
	u32 sgl_len;
	u32 features;
	int ret;

	memset(kd->admin, 0, KESTREL_IDENTIFY_SIZE);
	ret = kestrel_build_sgl(&seg, 1, kd->lim.max_segs,
				KESTREL_IDENTIFY_SIZE, &list, 1, &sgl_len);
	if (ret < 0)
		return ret;

	/*
	 * An admin command at bring-up is a handshake: bounded by the ready
	 * timeout, never by the (up to ten-minute) command timeout, so that
	 * resume and recovery stay bounded whatever timeout_ms says.
	 */
	ret = kestrel_admin_cmd(kd, KESTREL_OP_IDENTIFY, 1, list.dma, sgl_len,
				KESTREL_IDENTIFY_SIZE, kd->lim.ready_timeout_ms,
				true);
	if (ret)
		return ret;

	id = kmemdup(kd->admin, sizeof(*id), GFP_KERNEL);
	if (!id)
		return -ENOMEM;
	ret = kestrel_identify_check(id, &kd->caps, &ident, &why);
	if (ret) {
		dev_err(dev, "IDENTIFY data rejected: %s\n", why);
	} else if (first) {
		kd->identify = *id;
		kd->ident = ident;
		kestrel_set_write_cache(kd, ident.vwc);
	} else {
		/* Only the write cache may change: it is read again here. */
		features = id->features;
		id->features = kd->identify.features;
		if (memcmp(id, &kd->identify, sizeof(*id))) {
			dev_err(dev, "IDENTIFY data changed since probe (serial %s)\n",
				ident.serial);
			ret = -EIO;
		} else if (ident.vwc != kd->ident.vwc) {
			dev_info(dev, "write cache now %s\n",
				 ident.vwc ? "write back" : "write through");
			kd->identify.features = features;
			kd->ident.vwc = ident.vwc;
			/* A cache that goes away keeps its flushes: harmless. */
			if (ident.vwc)
				kestrel_set_write_cache(kd, true);
		}
	}
	kfree(id);
	return ret;
}

/*
 * Program the queues and enable the controller (datasheet 5.4 steps 5-10).
 * The caller has reset it.  Interrupts stay masked: the caller unmasks them
 * after going live (kestrel_ctrl_go_live()), so that an error raised in
 * between is delivered then, not acknowledged here and lost.
 */
static int kestrel_ctrl_enable(struct kestrel_dev *kd, bool first)
{
	struct device *dev = &kd->pdev->dev;
	struct kestrel_caps caps;
	u32 st, features;
	int ret;

	if (!first) {
		/*
		 * Resume and recovery: it must still be the same device.  Only
		 * its write cache may come or go (kestrel_identify()).
		 */
		kestrel_read_caps(kd, &caps);
		if (caps.version == 0xffffffffu)
			return kestrel_allones_err(kd);
		features = caps.features;
		caps.features = kd->caps.features;
		if (memcmp(&caps, &kd->caps, sizeof(caps))) {
			dev_err(dev, "capability registers changed (capacity %llu, was %llu)\n",
				caps.capacity, kd->caps.capacity);
			return -EIO;
		}
		kd->caps.features = features;
	}

	spin_lock_irq(&kd->lock);
	kd->sq_tail = 0;
	kd->sq_head = 0;
	kd->cq_head = 0;
	kd->cq_phase = 1;
	spin_unlock_irq(&kd->lock);
	memset(kd->sq, 0, kd->qdepth * sizeof(*kd->sq));
	memset(kd->cq, 0, kd->qdepth * sizeof(*kd->cq));

	kestrel_set_intr_mask(kd, KESTREL_INTR_ALL);
	kestrel_wr(kd, KESTREL_REG_INTR_STATUS, KESTREL_INTR_ALL);
	kestrel_wr(kd, KESTREL_REG_SQ_BASE_LO, lower_32_bits(kd->sq_dma));
	kestrel_wr(kd, KESTREL_REG_SQ_BASE_HI, upper_32_bits(kd->sq_dma));
	kestrel_wr(kd, KESTREL_REG_SQ_SIZE, kd->qdepth);
	kestrel_wr(kd, KESTREL_REG_CQ_BASE_LO, lower_32_bits(kd->cq_dma));
	kestrel_wr(kd, KESTREL_REG_CQ_BASE_HI, upper_32_bits(kd->cq_dma));
	kestrel_wr(kd, KESTREL_REG_CQ_SIZE, kd->qdepth);
	kestrel_wr(kd, KESTREL_REG_CTRL, KESTREL_CTRL_EN);

	ret = kestrel_wait_status(kd, KESTREL_STATUS_RDY, KESTREL_STATUS_RDY,
				  true, &st);
	if (ret == -ETIMEDOUT)
		dev_err(dev, "controller not ready within %u ms (STATUS %#x)\n",
			kd->lim.ready_timeout_ms, st);
	else if (ret == -EIO)
		dev_err(dev, "fatal error while enabling (STATUS %#x)\n", st);
	if (ret) {
		kestrel_log_new_errors(kd);
		return ret;
	}

	ret = kestrel_identify(kd, first);
	if (ret) {
		kestrel_log_new_errors(kd);
		return ret;
	}

	/*
	 * The polled IDENTIFY's completion cause only: an ERROR cause stays
	 * pending and is delivered when the caller unmasks.
	 */
	kestrel_wr(kd, KESTREL_REG_INTR_STATUS, KESTREL_INTR_CQ);
	return 0;
}

/*
 * Reset and re-enable, up to KESTREL_RESET_ATTEMPTS times.  Commands the
 * device held are requeued (or failed, past their retry limit) only after
 * a reset was seen to complete: until then it may still DMA to them.  Bus
 * mastering goes on only then too, whatever state the device was left in
 * (a dead device, or one a previous remove() could not reset).
 */
static int kestrel_ctrl_restart(struct kestrel_dev *kd, bool first)
{
	unsigned int attempt;
	int ret = -EIO;

	for (attempt = 1; attempt <= KESTREL_RESET_ATTEMPTS; attempt++) {
		ret = kestrel_ctrl_disable(kd);
		if (!ret) {
			pci_set_master(kd->pdev);
			spin_lock_irq(&kd->lock);
			kestrel_requeue_inflight_locked(kd);
			spin_unlock_irq(&kd->lock);
			ret = kestrel_ctrl_enable(kd, first);
		}
		if (!ret || ret == -ENODEV || ret == -ENOMEM ||
		    ret == -ECANCELED)
			return ret;
		dev_warn(&kd->pdev->dev,
			 "controller start attempt %u of %u failed: %d\n",
			 attempt, KESTREL_RESET_ATTEMPTS, ret);
	}
	return ret;
}

/* ---- dead and gone ----------------------------------------------------- */

/*
 * A device given up on: ask for a reset without waiting for it, then mask
 * its interrupts (the reset unmasks them, so the mask comes after).
 */
static void kestrel_quiesce(struct kestrel_dev *kd)
{
	if (kestrel_ctrl_gone(kd))
		return;
	kestrel_wr(kd, KESTREL_REG_RESET, KESTREL_RESET_MAGIC);
	kestrel_set_intr_mask(kd, KESTREL_INTR_ALL);
}

/*
 * Give up on a device that does not come back.  Bus mastering goes off
 * first: the device may still hold commands whose buffers are released
 * when they fail.
 */
static void kestrel_mark_dead(struct kestrel_dev *kd, int err)
{
	pci_clear_master(kd->pdev);
	kestrel_quiesce(kd);
	spin_lock_irq(&kd->lock);
	if (kd->state == KESTREL_STATE_REMOVED) {
		/* remove() came first; its state stands. */
		kestrel_fail_all_locked(kd, -ENODEV);
		spin_unlock_irq(&kd->lock);
		return;
	}
	kestrel_set_state_locked(kd, KESTREL_STATE_DEAD);
	kd->cq_live = false;
	kestrel_fail_all_locked(kd, -EIO);
	spin_unlock_irq(&kd->lock);
	dev_err(&kd->pdev->dev,
		"controller did not recover (%d): device is dead, I/O fails with -EIO until a successful KESTREL_IOC_RESET\n",
		err);
}

/* Surprise removal: the PCI core no longer finds the card. */
static void kestrel_mark_gone(struct kestrel_dev *kd)
{
	bool removing;

	pci_clear_master(kd->pdev);
	spin_lock_irq(&kd->lock);
	removing = kd->state == KESTREL_STATE_REMOVED;	/* remove() aborted us */
	kestrel_set_state_locked(kd, KESTREL_STATE_REMOVED);
	kd->cq_live = false;
	kestrel_fail_all_locked(kd, -ENODEV);
	spin_unlock_irq(&kd->lock);
	if (!removing)
		dev_err(&kd->pdev->dev,
			"device is gone (the card is not present any more): I/O fails with -ENODEV\n");
}

/*
 * The controller is ready: go live with the queued I/O, then unmask its
 * interrupts.  An error raised since the handshake is pending and arrives
 * now, with the controller LIVE and fatal_seen clear, so it is handled.
 */
static void kestrel_ctrl_go_live(struct kestrel_dev *kd)
{
	bool live;

	spin_lock_irq(&kd->lock);
	kd->reset_pending = false;
	kestrel_go_live_locked(kd);
	live = kd->state == KESTREL_STATE_LIVE;	/* not if remove() won */
	spin_unlock_irq(&kd->lock);
	if (live)
		kestrel_set_intr_mask(kd, 0);
}

/* ---- recovery ---------------------------------------------------------- */

/*
 * Reset the controller and rebuild its queues; commands it held are
 * retried (see kestrel_io.c).  @revive: also try a dead device (RESET
 * ioctl).  Called with ctrl_lock held.
 */
static void kestrel_ctrl_recover(struct kestrel_dev *kd, bool revive)
{
	u32 status;
	bool lost;
	int st, ret;

	lockdep_assert_held(&kd->ctrl_lock);
	spin_lock_irq(&kd->lock);
	kd->reset_pending = false;
	st = kd->state;
	if (st == KESTREL_STATE_REMOVED || st == KESTREL_STATE_SUSPENDED ||
	    (st == KESTREL_STATE_DEAD && !revive)) {
		spin_unlock_irq(&kd->lock);
		return;
	}
	kestrel_set_state_locked(kd, KESTREL_STATE_RESETTING);
	kd->cq_live = false;
	kd->stats.resets++;
	spin_unlock_irq(&kd->lock);

	if (kestrel_ctrl_gone(kd)) {
		kestrel_mark_gone(kd);
		return;
	}
	status = kestrel_rd(kd, KESTREL_REG_STATUS);
	if (status != 0xffffffffu && (status & KESTREL_STATUS_FATAL)) {
		spin_lock_irq(&kd->lock);
		lost = kestrel_ctrl_note_fatal_locked(kd);
		spin_unlock_irq(&kd->lock);
		if (lost)
			dev_err(&kd->pdev->dev,
				"fatal controller error (STATUS %#x) found by the recovery: its interrupt was not seen\n",
				status);
	}
	kestrel_log_new_errors(kd);

	ret = kestrel_ctrl_restart(kd, false);
	if (ret == -ECANCELED && atomic_read(&kd->abort_recovery)) {
		/*
		 * Suspend, shutdown or a RESET ioctl waits for ctrl_lock and
		 * takes over: the controller stays RESETTING, its commands
		 * queued (or in flight if the reset did not finish).
		 */
		dev_warn(&kd->pdev->dev, "recovery abandoned: %s\n",
			 READ_ONCE(kd->abort_why));
		return;
	}
	if (ret == -ENODEV || (ret && kestrel_ctrl_gone(kd))) {
		kestrel_mark_gone(kd);
		return;
	}
	if (ret) {
		kestrel_mark_dead(kd, ret);
		return;
	}
	kestrel_ctrl_go_live(kd);
	dev_info(&kd->pdev->dev, "controller reset complete\n");
}

void kestrel_reset_work(struct work_struct *work)
{
	struct kestrel_dev *kd = container_of(work, struct kestrel_dev,
					      reset_work);
	bool pending;

	mutex_lock(&kd->ctrl_lock);
	spin_lock_irq(&kd->lock);
	pending = kd->reset_pending;
	spin_unlock_irq(&kd->lock);
	if (pending)
		kestrel_ctrl_recover(kd, false);
	mutex_unlock(&kd->ctrl_lock);
}

/*
 * Ask for a controller reset from any context, interrupt handlers
 * included; kd->lock held.  One work item does the reset and requests
 * merge.  Only a live controller needs one: a reset in progress already
 * takes every outstanding command, and a suspended one is rebuilt by
 * resume anyway.
 */
void kestrel_ctrl_schedule_reset_locked(struct kestrel_dev *kd,
					const char *why)
{
	lockdep_assert_held(&kd->lock);
	if (kd->state != KESTREL_STATE_LIVE || kd->reset_pending)
		return;
	kd->reset_pending = true;
	dev_warn_ratelimited(&kd->pdev->dev, "resetting the controller: %s\n",
			     why);
	queue_work(system_long_wq, &kd->reset_work);
}

void kestrel_ctrl_schedule_reset(struct kestrel_dev *kd, const char *why)
{
	unsigned long flags;

	spin_lock_irqsave(&kd->lock, flags);
	kestrel_ctrl_schedule_reset_locked(kd, why);
	spin_unlock_irqrestore(&kd->lock, flags);
}

/* The error interrupt, or INTR_STATUS.ERROR (hard interrupt context). */
void kestrel_ctrl_handle_error(struct kestrel_dev *kd)
{
	u32 st = kestrel_rd(kd, KESTREL_REG_STATUS);
	bool first;

	if (st == 0xffffffffu) {
		kestrel_ctrl_schedule_reset(kd, "registers read all-ones");
		return;
	}
	if (!(st & KESTREL_STATUS_FATAL))
		return;
	spin_lock(&kd->lock);
	first = kestrel_ctrl_note_fatal_locked(kd);
	spin_unlock(&kd->lock);
	if (first) {
		dev_err_ratelimited(&kd->pdev->dev,
				    "fatal controller error (STATUS %#x)\n",
				    st);
		kestrel_ctrl_schedule_reset(kd, "fatal error");
	}
}

/*
 * KESTREL_IOC_RESET: a reset now, which may also revive a dead device (or
 * one whose link came back).  A recovery in progress gives up for it.
 */
int kestrel_ctrl_user_reset(struct kestrel_dev *kd)
{
	int st, ret;

	kestrel_ctrl_lock_abort(kd, "KESTREL_IOC_RESET");
	st = kestrel_state(kd);
	if (st == KESTREL_STATE_REMOVED) {
		ret = -ENODEV;
	} else if (st == KESTREL_STATE_SUSPENDED) {
		ret = -EBUSY;
	} else {
		kestrel_ctrl_recover(kd, true);
		st = kestrel_state(kd);
		ret = st == KESTREL_STATE_LIVE ? 0 :
		      st == KESTREL_STATE_REMOVED ? -ENODEV : -EIO;
	}
	mutex_unlock(&kd->ctrl_lock);
	return ret;
}

/* ---- volatile write cache --------------------------------------------- */

/*
 * How long the driver's own FLUSH may take: the command timeout, at most
 * KESTREL_PM_DRAIN_MAX_MS, so suspend, shutdown and remove stay bounded
 * whatever timeout_ms says.
 */
static unsigned int kestrel_flush_timeout_ms(struct kestrel_dev *kd)
{
	return min_t(unsigned int, READ_ONCE(kd->timeout_ms),
		     KESTREL_PM_DRAIN_MAX_MS);
}

/*
 * Write the device's volatile write cache back before it may lose power
 * (suspend, shutdown) or go away (remove), as sd and nvme do: a FLUSH the
 * driver sends itself, which covers every WRITE acknowledged so far.
 *
 * The caller holds ctrl_lock, has stopped new submissions (the state is
 * SUSPENDED or REMOVED) and let in-flight commands drain.  The FLUSH is
 * sent only to a controller that is live and holds no command: it is
 * polled (kestrel_admin_cmd()) with the interrupts masked and cq_live
 * false; the caller resets the controller next, which rebuilds the queues.
 * A device without a write cache needs none.  A FLUSH that cannot be sent
 * or fails is logged once and counted (stats.flush_errors), never retried:
 * the caller goes on.  Returns 0 or -errno.
 */
static int kestrel_ctrl_flush_cache(struct kestrel_dev *kd, const char *who)
{
	struct device *dev = &kd->pdev->dev;
	u32 inflight = 0;
	bool live, gone;
	int ret;

	lockdep_assert_held(&kd->ctrl_lock);
	if (!READ_ONCE(kd->write_back))
		return 0;

	gone = kestrel_ctrl_gone(kd);
	spin_lock_irq(&kd->lock);
	/* Completions already posted, before the CQ stops being reaped. */
	live = kd->cq_live && !kd->reset_pending;
	if (live) {
		kestrel_cq_reap_locked(kd);
		inflight = kd->nr_inflight;
		live = kd->cq_live;
	}
	kd->cq_live = false;
	kd->stats.cache_flushes++;
	spin_unlock_irq(&kd->lock);

	if (gone) {
		ret = -ENODEV;
		dev_warn(dev, "%s: write cache not flushed: device is gone\n",
			 who);
	} else if (!live) {
		ret = -EIO;
		dev_warn(dev, "%s: write cache not flushed: controller not live\n",
			 who);
	} else if (inflight) {
		ret = -EBUSY;
		dev_warn(dev, "%s: write cache not flushed: %u commands still outstanding\n",
			 who, inflight);
	} else {
#ifdef KESTREL_TEST_FLUSH_NOOP
		/* Test build: the device never sees the FLUSH (kestrel_main.c). */
		ret = 0;
#else
		kestrel_set_intr_mask(kd, KESTREL_INTR_ALL);
		ret = kestrel_admin_cmd(kd, KESTREL_OP_FLUSH, 0, 0, 0, 0,
					kestrel_flush_timeout_ms(kd), false);
#endif
		if (ret)
			dev_warn(dev, "%s: write cache flush failed (%d): acknowledged writes may be lost\n",
				 who, ret);
		else
			dev_info(dev, "%s: write cache flushed\n", who);
	}
	if (ret) {
		spin_lock_irq(&kd->lock);
		kd->stats.flush_errors++;
		spin_unlock_irq(&kd->lock);
	}
	return ret;
}

/*
 * Let the commands on the device finish, for at most one command timeout
 * (at most KESTREL_PM_DRAIN_MAX_MS).  New commands are already held back
 * (suspend) or failed (remove).  False when some are still outstanding.
 */
static bool kestrel_ctrl_drain(struct kestrel_dev *kd)
{
	return wait_event_timeout(kd->drain_wq, !READ_ONCE(kd->nr_inflight),
				  msecs_to_jiffies(kestrel_flush_timeout_ms(kd)));
}

/* ---- probe, remove, power management ---------------------------------- */

/*
 * Probe, before any allocation: wait out a reset in progress, read and
 * validate the capabilities, and size the queues.
 */
int kestrel_ctrl_init(struct kestrel_dev *kd)
{
	struct device *dev = &kd->pdev->dev;
	u32 log[KESTREL_ERR_LOG_LEN][4];
	const char *why;
	int ret;

	kestrel_read_caps(kd, &kd->caps);
	ret = kestrel_caps_check(&kd->caps, PAGE_SIZE, &kd->lim, &why);
	if (ret) {
		dev_err(dev, "unusable capability registers: %s (VERSION %#x QDEPTH %u BLKSZ %u CAPACITY %llu NVEC %u MAXSEG %u TIMEOUT %u MAXXFER %u)\n",
			why, kd->caps.version, kd->caps.qdepth,
			kd->caps.block_size, kd->caps.capacity, kd->caps.nvec,
			kd->caps.max_segs, kd->caps.timeout_ms,
			kd->caps.max_xfer);
		return ret;
	}
	kd->qdepth = kestrel_pick_qdepth(kd->caps.qdepth,
					 kestrel_param_queue_depth);
	kd->ntags = kd->qdepth - 1;
	if (!kestrel_err_log_read(kd, log, &kd->err_count_seen) &&
	    kd->err_count_seen)
		dev_info(dev, "device error log holds %u entries from before probe\n",
			 kd->err_count_seen);
	return 0;
}

/* Probe: first enable, IDENTIFY, and the controller goes live. */
int kestrel_ctrl_start(struct kestrel_dev *kd)
{
	int ret;

	mutex_lock(&kd->ctrl_lock);
	ret = kestrel_ctrl_restart(kd, true);
	if (ret) {
		/* No DMA from a device probe gives up on. */
		pci_clear_master(kd->pdev);
		kestrel_quiesce(kd);
	} else {
		kestrel_ctrl_go_live(kd);
	}
	mutex_unlock(&kd->ctrl_lock);
	return ret;
}

/*
 * remove() and shutdown(): quiesce the controller and fail every command
 * with @err.  With @flush (the caller's name; new I/O no longer reaches
 * the controller), a write cache is flushed first: on a live controller
 * the commands on the device get one command timeout to finish, and one
 * that is not live or gone is warned about and counted.  The reset is waited for
 * (bounded) before the buffers of outstanding commands are released; bus
 * mastering goes off in any case, and the interrupts are masked after the
 * reset (which unmasks them).  The caller holds ctrl_lock.
 */
static void kestrel_ctrl_stop_locked(struct kestrel_dev *kd, int err,
				     const char *flush)
{
	lockdep_assert_held(&kd->ctrl_lock);
	/* A handshake that remove() aborted is over: this one must wait. */
	WRITE_ONCE(kd->abort_handshake, false);
	if (flush && READ_ONCE(kd->write_back)) {
		bool live;

		spin_lock_irq(&kd->lock);
		live = kd->cq_live;
		spin_unlock_irq(&kd->lock);
		if (live && !kestrel_ctrl_gone(kd) && !kestrel_ctrl_drain(kd))
			dev_warn(&kd->pdev->dev,
				 "%s: %u commands still outstanding\n", flush,
				 READ_ONCE(kd->nr_inflight));
		kestrel_ctrl_flush_cache(kd, flush);
	}
	if (!kestrel_ctrl_gone(kd) && kestrel_ctrl_disable(kd))
		kestrel_set_intr_mask(kd, KESTREL_INTR_ALL);
	pci_clear_master(kd->pdev);
	spin_lock_irq(&kd->lock);
	if (err == -ENODEV || kd->state == KESTREL_STATE_REMOVED)
		kestrel_set_state_locked(kd, KESTREL_STATE_REMOVED);
	else
		kestrel_set_state_locked(kd, KESTREL_STATE_DEAD);
	kd->cq_live = false;
	kestrel_fail_all_locked(kd, err);
	spin_unlock_irq(&kd->lock);
}

/*
 * remove() (and probe's unwinding); remove() already aborted recovery.
 * @flush: remove()'s name, to flush a write cache first (NULL: none).
 */
void kestrel_ctrl_stop(struct kestrel_dev *kd, int err, const char *flush)
{
	mutex_lock(&kd->ctrl_lock);
	kestrel_ctrl_stop_locked(kd, err, flush);
	mutex_unlock(&kd->ctrl_lock);
}

/*
 * Reboot or kexec: a recovery in progress gives up; new I/O is held back,
 * the write cache of a live controller is flushed (the machine may lose
 * power next), then all DMA stops.
 */
void kestrel_ctrl_shutdown(struct kestrel_dev *kd)
{
	kestrel_ctrl_lock_abort(kd, "shutdown");
	spin_lock_irq(&kd->lock);
	if (kd->state == KESTREL_STATE_LIVE)
		kestrel_set_state_locked(kd, KESTREL_STATE_SUSPENDED);
	spin_unlock_irq(&kd->lock);
	kestrel_ctrl_stop_locked(kd, -EIO, "shutdown");
	mutex_unlock(&kd->ctrl_lock);
}

/*
 * System sleep: new I/O queues up (callers wait), in-flight commands get
 * one command timeout (at most KESTREL_PM_DRAIN_MAX_MS) to drain, then
 * the controller is reset and whatever it still held is requeued for after
 * resume.  Nothing is freed: resume reprograms the same queues.  A
 * recovery in progress gives up (it left the controller RESETTING), and
 * the controller is suspended like a live one.
 */
int kestrel_ctrl_suspend(struct kestrel_dev *kd)
{
	unsigned long left;
	int ret, st;

	kestrel_ctrl_lock_abort(kd, "suspend");
	spin_lock_irq(&kd->lock);
	st = kd->state;
	if (st != KESTREL_STATE_LIVE && st != KESTREL_STATE_RESETTING) {
		spin_unlock_irq(&kd->lock);
		mutex_unlock(&kd->ctrl_lock);
		return 0;
	}
	kestrel_set_state_locked(kd, KESTREL_STATE_SUSPENDED);
	spin_unlock_irq(&kd->lock);

	left = wait_event_timeout(kd->drain_wq, !READ_ONCE(kd->nr_inflight),
				  st != KESTREL_STATE_LIVE ? 0 :
				  msecs_to_jiffies(min_t(unsigned int,
							 READ_ONCE(kd->timeout_ms),
							 KESTREL_PM_DRAIN_MAX_MS)));
	if (!left)
		dev_warn(&kd->pdev->dev,
			 "suspend: %u commands still outstanding, requeued for resume\n",
			 READ_ONCE(kd->nr_inflight));
	/*
	 * The device loses power in S3, and its write cache with it.  A
	 * controller a recovery left RESETTING cannot take the FLUSH: that
	 * is counted as a flush error.
	 */
	kestrel_ctrl_flush_cache(kd, "suspend");

	ret = kestrel_ctrl_disable(kd);
	if (ret == -ENODEV) {
		kestrel_mark_gone(kd);
	} else {
		if (ret)
			dev_warn(&kd->pdev->dev,
				 "suspend: controller reset failed (%d); D3hot will reset it\n",
				 ret);
		kestrel_set_intr_mask(kd, KESTREL_INTR_ALL);
		spin_lock_irq(&kd->lock);
		kd->cq_live = false;
		kestrel_requeue_inflight_locked(kd);
		spin_unlock_irq(&kd->lock);
	}
	mutex_unlock(&kd->ctrl_lock);
	return 0;
}

/*
 * The device lost its state (D3hot, or a whole-machine reset on S3
 * wakeup): re-initialise it from scratch, check it is the same device,
 * then let the queued I/O go.  A device that does not come back is dead.
 */
int kestrel_ctrl_resume(struct kestrel_dev *kd)
{
	int ret;

	mutex_lock(&kd->ctrl_lock);
	if (kestrel_state(kd) != KESTREL_STATE_SUSPENDED) {
		mutex_unlock(&kd->ctrl_lock);
		return 0;
	}
	ret = kestrel_ctrl_restart(kd, false);
	if (ret == -ENODEV || (ret && kestrel_ctrl_gone(kd)))
		kestrel_mark_gone(kd);
	else if (ret)
		kestrel_mark_dead(kd, ret);
	else
		kestrel_ctrl_go_live(kd);
	mutex_unlock(&kd->ctrl_lock);
	return 0;
}
