// SPDX-License-Identifier: GPL-2.0
/*
 * gauntlet_splat: a test-only module that makes the kernel print real
 * reports (WARN, oops, BUG, hung task, soft lockup, RCU stall, list
 * corruption) so that the harness's verdict rules (harness/verdict.c) are
 * tested on real logs.  Never loaded by a scenario; capture.sh uses it.
 *
 *   insmod gauntlet_splat.ko mode=warn|oops|bug|hung|lockup|rcustall|listdel
 *        [secs=N]   (hung: D-state sleep; lockup/rcustall: spin duration)
 *
 * Every mode runs in a kthread or a work item so that the guest survives.
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/kthread.h>
#include <linux/workqueue.h>
#include <linux/delay.h>
#include <linux/sched.h>
#include <linux/list.h>
#include <linux/slab.h>
#include <linux/jiffies.h>

static char *mode = "warn";
module_param(mode, charp, 0444);
MODULE_PARM_DESC(mode, "warn|oops|bug|hung|lockup|rcustall|listdel");
static int secs = 8;
module_param(secs, int, 0444);
MODULE_PARM_DESC(secs, "duration of hung/lockup/rcustall in seconds");

struct splat_item {
	struct list_head node;
	int value;
};

static noinline void gauntlet_splat_warn(void)
{
	WARN_ON(1);
}

static int *gauntlet_splat_nullp;

static noinline void gauntlet_splat_oops_work(struct work_struct *work)
{
	pr_info("gauntlet_splat: dereferencing NULL in a work item\n");
	*READ_ONCE(gauntlet_splat_nullp) = 42;
}
static DECLARE_WORK(gauntlet_splat_work, gauntlet_splat_oops_work);

static noinline int gauntlet_splat_bug_thread(void *arg)
{
	pr_info("gauntlet_splat: BUG() in a kthread\n");
	BUG();
	return 0;
}

static noinline int gauntlet_splat_hung_thread(void *arg)
{
	pr_info("gauntlet_splat: sleeping uninterruptibly for %d s\n", secs);
	schedule_timeout_uninterruptible(secs * HZ);
	pr_info("gauntlet_splat: woke up\n");
	return 0;
}

static noinline void gauntlet_splat_spin(int s)
{
	unsigned long end = jiffies + s * HZ;

	preempt_disable();
	while (time_before(jiffies, end))
		mdelay(1);
	preempt_enable();
}

static noinline int gauntlet_splat_lockup_thread(void *arg)
{
	pr_info("gauntlet_splat: spinning with preemption disabled for %d s\n", secs);
	gauntlet_splat_spin(secs);
	pr_info("gauntlet_splat: spin done\n");
	return 0;
}

static noinline int gauntlet_splat_listdel_thread(void *arg)
{
	struct splat_item *a = kzalloc(sizeof(*a), GFP_KERNEL);
	LIST_HEAD(head);

	if (!a)
		return -ENOMEM;
	list_add(&a->node, &head);
	/* corrupt the neighbour's back link, as a stray write would */
	head.next = (struct list_head *)0xdead000000000400UL;
	pr_info("gauntlet_splat: list_del on a corrupted list\n");
	list_del(&a->node);
	kfree(a);
	return 0;
}

static int __init gauntlet_splat_init(void)
{
	struct task_struct *t = NULL;

	pr_info("gauntlet_splat: mode=%s secs=%d\n", mode, secs);
	if (!strcmp(mode, "warn"))
		gauntlet_splat_warn();
	else if (!strcmp(mode, "oops"))
		schedule_work(&gauntlet_splat_work);
	else if (!strcmp(mode, "bug"))
		t = kthread_run(gauntlet_splat_bug_thread, NULL, "splat_bug");
	else if (!strcmp(mode, "hung"))
		t = kthread_run(gauntlet_splat_hung_thread, NULL, "splat_hung");
	else if (!strcmp(mode, "lockup") || !strcmp(mode, "rcustall"))
		t = kthread_run(gauntlet_splat_lockup_thread, NULL, "splat_spin");
	else if (!strcmp(mode, "listdel"))
		t = kthread_run(gauntlet_splat_listdel_thread, NULL, "splat_list");
	else
		return -EINVAL;
	if (IS_ERR(t))
		return PTR_ERR(t);
	return 0;
}

static void __exit gauntlet_splat_exit(void)
{
}

module_init(gauntlet_splat_init);
module_exit(gauntlet_splat_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Gauntlet test-only module producing real kernel reports");
