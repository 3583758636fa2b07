// SPDX-License-Identifier: GPL-2.0
/*
 * Kestrel debugfs, /sys/kernel/debug/kestrel/kestrelN/:
 *
 *   queues     driver and device view of the SQ and CQ (head, tail, phase),
 *              and the write cache setting against IDENTIFY's
 *   inflight   every tag in use: state, opcode, LBA, age, retries
 *   errors     the error counters (flush_errors included)
 *   error_log  the device's error log, read from ERR_COUNT/ERR_LOG
 *
 * remove() takes the directory away before it tears anything down;
 * debugfs_remove() waits for readers that are inside a callback.
 *
 * The device's registers are read only while the controller is live and
 * in D0: not while it is dead (a read would disturb a device the driver
 * gave up on, and count in reg.read fault rules), resetting (its recovery
 * owns the registers), suspended or in D3hot (they read all-ones), or
 * removed.  The driver's own view is always shown.
 */
#include <linux/debugfs.h>
#include <linux/jiffies.h>
#include <linux/seq_file.h>

#include "kestrel.h"

static struct dentry *kestrel_debugfs_root;

static const char *const kestrel_cmd_state_names[] = {
	[KESTREL_CMD_FREE] = "free",
	[KESTREL_CMD_PREP] = "prep",
	[KESTREL_CMD_QUEUED] = "queued",
	[KESTREL_CMD_INFLIGHT] = "inflight",
	[KESTREL_CMD_DONE] = "done",
};

/* Registers are read only while the controller is live and in D0. */
static bool kestrel_regs_readable(struct kestrel_dev *kd)
{
	return kestrel_state(kd) == KESTREL_STATE_LIVE &&
	       READ_ONCE(kd->pdev->current_state) == PCI_D0;
}

static int queues_show(struct seq_file *s, void *unused)
{
	struct kestrel_dev *kd = s->private;
	u32 sq_tail, sq_head, cq_head, cq_phase, inflight, used;
	bool cq_live;

	spin_lock_irq(&kd->lock);
	sq_tail = kd->sq_tail;
	sq_head = kd->sq_head;
	cq_head = kd->cq_head;
	cq_phase = kd->cq_phase;
	cq_live = kd->cq_live;
	inflight = kd->nr_inflight;
	used = kd->tags_used;
	spin_unlock_irq(&kd->lock);

	seq_printf(s, "state: %s\n", kestrel_state_name(kestrel_state(kd)));
	seq_printf(s, "entries: %u (tags %u, in use %u, in flight %u)\n",
		   kd->qdepth, kd->ntags, used, inflight);
	seq_printf(s, "sq: tail %u head %u (from completions)\n",
		   sq_tail, sq_head);
	seq_printf(s, "cq: head %u phase %u %s\n", cq_head, cq_phase,
		   cq_live ? "live" : "stopped");
	seq_printf(s, "write cache: %s (IDENTIFY: %s)\n",
		   READ_ONCE(kd->write_back) ? "write back" : "write through",
		   kd->ident.vwc ? "volatile write cache" : "none");
	if (kestrel_regs_readable(kd))
		seq_printf(s, "device: STATUS %#x SQ_HEAD %u CQ_TAIL %u INTR_STATUS %#x INTR_MASK %#x\n",
			   kestrel_rd(kd, KESTREL_REG_STATUS),
			   kestrel_rd(kd, KESTREL_REG_SQ_HEAD),
			   kestrel_rd(kd, KESTREL_REG_CQ_TAIL),
			   kestrel_rd(kd, KESTREL_REG_INTR_STATUS),
			   kestrel_rd(kd, KESTREL_REG_INTR_MASK));
	else
		seq_printf(s, "device: not read (controller %s)\n",
			   kestrel_state_name(kestrel_state(kd)));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(queues);

static int inflight_show(struct seq_file *s, void *unused)
{
	struct kestrel_dev *kd = s->private;
	unsigned long now = jiffies;
	u32 i;

	seq_puts(s, "index tag    state    opcode lba nblocks age_ms retries\n");
	spin_lock_irq(&kd->lock);
	for (i = 0; i < kd->ntags; i++) {
		const struct kestrel_cmd *cmd = &kd->cmds[i];

		if (cmd->state == KESTREL_CMD_FREE)
			continue;
		seq_printf(s, "%5u %#06x %-8s %#04x %llu %u %u %u\n", i,
			   cmd->wire_tag,
			   cmd->state < ARRAY_SIZE(kestrel_cmd_state_names) ?
			   kestrel_cmd_state_names[cmd->state] : "?",
			   cmd->opcode, cmd->lba, cmd->nblocks,
			   jiffies_to_msecs(now - cmd->start), cmd->retries);
	}
	spin_unlock_irq(&kd->lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(inflight);

static int errors_show(struct seq_file *s, void *unused)
{
	struct kestrel_dev *kd = s->private;
	struct kestrel_stats st;

	spin_lock_irq(&kd->lock);
	st = kd->stats;
	spin_unlock_irq(&kd->lock);
	seq_printf(s, "failed: %llu\n", st.failed);
	seq_printf(s, "timeouts: %llu\n", st.timeouts);
	seq_printf(s, "missed_irqs: %llu\n", st.missed_irqs);
	seq_printf(s, "resets: %llu\n", st.resets);
	seq_printf(s, "bad_completions: %llu\n", st.bad_completions);
	seq_printf(s, "spurious_irqs: %llu\n", st.spurious_irqs);
	seq_printf(s, "retries: %llu\n", st.retries);
	seq_printf(s, "fatal_errors: %llu\n", st.fatal_errors);
	seq_printf(s, "flush_errors: %llu\n", st.flush_errors);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(errors);

static int error_log_show(struct seq_file *s, void *unused)
{
	struct kestrel_dev *kd = s->private;
	u32 log[KESTREL_ERR_LOG_LEN][4];
	u32 count, n, i;
	int ret;

	if (!kestrel_regs_readable(kd)) {
		seq_printf(s, "device not read (controller %s)\n",
			   kestrel_state_name(kestrel_state(kd)));
		return 0;
	}
	ret = kestrel_err_log_read(kd, log, &count);
	if (ret) {
		seq_printf(s, "error log unreadable (%d)\n", ret);
		return 0;
	}
	seq_printf(s, "count: %u\n", count);
	n = min_t(u32, count, KESTREL_ERR_LOG_LEN);
	/* Oldest first. */
	for (i = count - n; i != count; i++) {
		const u32 *e = log[i % KESTREL_ERR_LOG_LEN];

		seq_printf(s, "#%u code %#x tag %#x info %#x addr %#llx\n", i,
			   e[0] & 0xffff, e[0] >> 16, e[1],
			   (u64)e[3] << 32 | e[2]);
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(error_log);

void kestrel_debugfs_add(struct kestrel_dev *kd)
{
	kd->debugfs = debugfs_create_dir(kd->name, kestrel_debugfs_root);
	debugfs_create_file("queues", 0400, kd->debugfs, kd, &queues_fops);
	debugfs_create_file("inflight", 0400, kd->debugfs, kd,
			    &inflight_fops);
	debugfs_create_file("errors", 0400, kd->debugfs, kd, &errors_fops);
	debugfs_create_file("error_log", 0400, kd->debugfs, kd,
			    &error_log_fops);
}

void kestrel_debugfs_remove(struct kestrel_dev *kd)
{
	debugfs_remove(kd->debugfs);
	kd->debugfs = NULL;
}

void kestrel_debugfs_init(void)
{
	kestrel_debugfs_root = debugfs_create_dir(KESTREL_DRV_NAME, NULL);
}

void kestrel_debugfs_exit(void)
{
	debugfs_remove(kestrel_debugfs_root);
}
