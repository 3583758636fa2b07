/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kestrel PCIe storage controller driver: private header.
 *
 * Files of the driver, one feature each:
 *   kestrel_main.c     module, PCI probe/remove/shutdown, interrupts, PM
 *   kestrel_ctrl.c     enable/reset handshakes, IDENTIFY, recovery, dead
 *   kestrel_io.c       tags, submission, DMA mapping, completions, timeouts
 *   kestrel_chr.c      /dev/kestrelN and its ioctls
 *   kestrel_sysfs.c    attributes under /sys/class/misc/kestrelN/
 *   kestrel_debugfs.c  /sys/kernel/debug/kestrel/kestrelN/
 *   kestrel_lib.c      pure code shared with user-space tests and fuzzers
 */
#ifndef KESTREL_H
#define KESTREL_H

#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/device.h>
#include <linux/io.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/miscdevice.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include "kestrel_lib.h"

#define KESTREL_DRV_NAME	"kestrel"

/* irq_mode parameter: 0 = auto, otherwise a KESTREL_IRQ_* of the UAPI. */
#define KESTREL_IRQ_AUTO	0

/* Enable attempts (each a reset plus a handshake) before giving up. */
#define KESTREL_RESET_ATTEMPTS	3
#define KESTREL_MAX_RETRIES	10

/* Longest drain of in-flight commands at suspend, whatever timeout_ms. */
#define KESTREL_PM_DRAIN_MAX_MS	5000

/* Module parameters (kestrel_main.c). */
extern unsigned int kestrel_param_timeout_ms;
extern unsigned int kestrel_param_queue_depth;
extern unsigned int kestrel_param_max_retries;

enum kestrel_cmd_state {
	KESTREL_CMD_FREE,
	KESTREL_CMD_PREP,	/* tag held, not yet handed to the queue */
	KESTREL_CMD_QUEUED,	/* waits on kd->queued for a live controller */
	KESTREL_CMD_INFLIGHT,	/* in the SQ: the device owns its buffers */
	KESTREL_CMD_DONE,	/* result final; the owner releases the tag */
};

/*
 * One slot of the tag table.  Everything the SQE is built from is kept
 * here, so a command can be resubmitted after a reset without its owner.
 */
struct kestrel_cmd {
	struct list_head node;		/* on kd->queued while QUEUED */
	struct completion done;
	unsigned long start;		/* jiffies at the last submission */
	unsigned long deadline;		/* jiffies; escalate after it */
	u64 lba;
	u64 sgl_dma;
	u32 nblocks;
	u32 nsegs;
	u32 sgl_len;
	u32 bytes;			/* transfer size, 0 for FLUSH */
	u16 index;
	u16 wire_tag;
	u8 gen;
	u8 state;			/* enum kestrel_cmd_state */
	u8 opcode;			/* KESTREL_OP_* */
	u8 retries;
	bool timed_out;			/* counted in stats.timeouts */
	int result;			/* 0 or -errno, valid when DONE */
};

struct kestrel_dev {
	struct pci_dev *pdev;
	void __iomem *regs;
	struct kref kref;		/* probe's, plus one per open file */
	int instance;
	bool instance_freed;		/* remove() gave the number back */
	char name[16];			/* "kestrelN" */
	struct miscdevice misc;
	bool misc_registered;
	struct dentry *debugfs;

	/* Interrupts, fixed at probe. */
	int irq_mode;			/* KESTREL_IRQ_MSIX/MSI/INTX */
	unsigned int nr_irqs;		/* vectors with a handler */
	bool split_vectors;		/* vector 0 CQ, vector 1 error */
	char irq_names[KESTREL_NVEC][24];

	/* The device as found at probe; a later enable must match it. */
	struct kestrel_caps caps;
	struct kestrel_limits lim;
	struct kestrel_ident ident;
	struct kestrel_identify identify;	/* private copy of the data */
	/*
	 * The driver treats the device as having a volatile write cache:
	 * IDENTIFY's KESTREL_ID_FEAT_VWC (ident.vwc), or the write_cache
	 * attribute.  Then it flushes at suspend, shutdown and remove.
	 * READ_ONCE/WRITE_ONCE.
	 */
	bool write_back;
	u32 qdepth;			/* entries of the SQ and of the CQ */
	u32 ntags;			/* qdepth - 1: the SQ never overruns */

	/* Memory the device reads or writes, all device-managed. */
	struct kestrel_sqe *sq;
	dma_addr_t sq_dma;
	struct kestrel_cqe *cq;
	dma_addr_t cq_dma;
	void *admin;			/* IDENTIFY data, then its SG list */
	dma_addr_t admin_dma;
	struct dma_pool *sgl_pool;	/* 4 KiB segment lists */
	struct kestrel_cmd *cmds;	/* ntags */
	struct kestrel_tag_shadow *shadow;	/* ntags */
	unsigned long *tag_map;		/* ntags bits */

	/*
	 * Pages that are the target of a READ mapped for DMA in place: one
	 * such READ per page at a time, device-wide (kestrel_io.c).
	 */
	struct xarray dma_read_pages;

	/* ---- protected by lock ---- */
	spinlock_t lock;
	/* KESTREL_STATE_*: WRITE_ONCE under lock, READ_ONCE outside it */
	int state;
	bool cq_live;			/* completions may be reaped */
	bool reset_pending;		/* reset_work has something to do */
	bool fatal_seen;		/* STATUS.FATAL counted since go-live */
	bool abort_handshake;		/* remove(): handshakes give up */
	u32 intr_mask;			/* INTR_MASK as last written */
	u32 sq_tail;			/* next SQ slot the driver writes */
	u32 sq_head;			/* device's SQ head, from completions */
	u32 cq_head;			/* next CQ slot the driver reads */
	u32 cq_phase;			/* phase expected at cq_head */
	/*
	 * These three, abort_handshake and intr_mask are also read without
	 * the lock (READ_ONCE), so they are written with WRITE_ONCE.
	 */
	u32 nr_inflight;		/* commands in state INFLIGHT */
	u32 tags_used;
	unsigned int users;		/* ioctls using the hardware now */
	struct list_head queued;	/* commands waiting for LIVE */
	struct kestrel_stats stats;
	u32 err_count_seen;		/* ERR_COUNT already logged */
	u8 admin_gen;

	unsigned int timeout_ms;	/* command timeout; READ_ONCE */

	struct mutex ctrl_lock;		/* enable, reset, PM, remove */
	/*
	 * Suspend, shutdown and the RESET ioctl waiting for ctrl_lock: a
	 * recovery holding it gives up at its next poll (kestrel_ctrl.c).
	 */
	atomic_t abort_recovery;
	const char *abort_why;		/* who asked last; READ/WRITE_ONCE */
	struct work_struct reset_work;
	wait_queue_head_t tag_wq;	/* a tag was freed, or state changed */
	wait_queue_head_t drain_wq;	/* nr_inflight dropped to 0 */
	wait_queue_head_t users_wq;	/* users dropped to 0 */
};

static inline u32 kestrel_rd(struct kestrel_dev *kd, u32 reg)
{
	return readl(kd->regs + reg);
}

static inline void kestrel_wr(struct kestrel_dev *kd, u32 reg, u32 val)
{
	writel(val, kd->regs + reg);
}

static inline int kestrel_state(struct kestrel_dev *kd)
{
	return READ_ONCE(kd->state);
}

/* kd->lock held: the state is read lock-free elsewhere. */
static inline void kestrel_set_state_locked(struct kestrel_dev *kd, int state)
{
	lockdep_assert_held(&kd->lock);
	WRITE_ONCE(kd->state, state);
}

static inline void kestrel_set_write_cache(struct kestrel_dev *kd, bool on)
{
	WRITE_ONCE(kd->write_back, on);
}

/* INTR_MASK and its shadow, which the interrupt handlers read. */
static inline void kestrel_set_intr_mask(struct kestrel_dev *kd, u32 mask)
{
	WRITE_ONCE(kd->intr_mask, mask);
	kestrel_wr(kd, KESTREL_REG_INTR_MASK, mask);
}

const char *kestrel_state_name(int state);
const char *kestrel_irq_mode_name(int mode);

/* kestrel_main.c */
void kestrel_dev_put(struct kestrel_dev *kd);
bool kestrel_dev_enter(struct kestrel_dev *kd);
void kestrel_dev_exit(struct kestrel_dev *kd);

/* kestrel_ctrl.c */
int kestrel_ctrl_init(struct kestrel_dev *kd);
int kestrel_ctrl_start(struct kestrel_dev *kd);
void kestrel_ctrl_stop(struct kestrel_dev *kd, int err, const char *flush);
void kestrel_ctrl_schedule_reset(struct kestrel_dev *kd, const char *why);
void kestrel_ctrl_schedule_reset_locked(struct kestrel_dev *kd,
					const char *why);
void kestrel_reset_work(struct work_struct *work);
int kestrel_ctrl_user_reset(struct kestrel_dev *kd);
int kestrel_ctrl_suspend(struct kestrel_dev *kd);
int kestrel_ctrl_resume(struct kestrel_dev *kd);
bool kestrel_ctrl_gone(struct kestrel_dev *kd);
void kestrel_ctrl_handle_error(struct kestrel_dev *kd);
void kestrel_ctrl_shutdown(struct kestrel_dev *kd);
int kestrel_err_log_read(struct kestrel_dev *kd, u32 log[][4], u32 *count);

/* kestrel_io.c */
irqreturn_t kestrel_irq_cq(int irq, void *data);
irqreturn_t kestrel_irq_error(int irq, void *data);
irqreturn_t kestrel_irq_shared(int irq, void *data);
unsigned int kestrel_cq_reap_locked(struct kestrel_dev *kd);
void kestrel_go_live_locked(struct kestrel_dev *kd);
void kestrel_requeue_inflight_locked(struct kestrel_dev *kd);
void kestrel_fail_all_locked(struct kestrel_dev *kd, int err);
int kestrel_submit_batch(struct kestrel_dev *kd,
			 struct kestrel_submit __user *uarg);

/* kestrel_chr.c */
int kestrel_chr_register(struct kestrel_dev *kd);
void kestrel_chr_unregister(struct kestrel_dev *kd);

/* kestrel_sysfs.c */
extern const struct attribute_group *kestrel_attr_groups[];

/* kestrel_debugfs.c */
void kestrel_debugfs_init(void);
void kestrel_debugfs_exit(void);
void kestrel_debugfs_add(struct kestrel_dev *kd);
void kestrel_debugfs_remove(struct kestrel_dev *kd);

#endif /* KESTREL_H */
