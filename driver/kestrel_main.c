// SPDX-License-Identifier: GPL-2.0
/*
 * Kestrel PCIe storage controller driver: module, PCI probe and remove,
 * interrupts, power management.
 *
 * The hardware contract is qemu-device/include/kestrel_hw.h and
 * docs/kestrel-datasheet.md; the user interface include/uapi/kestrel.h.
 *
 * Module parameters:
 *   irq_mode=auto|msix|msi|intx  interrupt type (default auto: MSI-X, then
 *                                MSI, then INTx); a forced type that is not
 *                                available fails the probe
 *   timeout_ms=N                 command timeout of new devices, in ms,
 *                                10..600000 (default 5000)
 *   queue_depth=N                SQ/CQ entries, 0 = the device maximum
 *                                (default), otherwise 2..1024, capped at
 *                                CAP_QDEPTH
 *   max_retries=N                resubmissions of a command after resets,
 *                                0..10 (default 2)
 *
 * Lifetime: struct kestrel_dev is reference counted.  Probe holds one
 * reference and every open file one more; remove() fails all I/O, waits
 * until no ioctl uses the hardware, releases it and drops the probe's
 * reference.  The last close frees the structure.  remove() never waits on
 * user space: an ioctl touches user memory (copies, pinning, results) only
 * outside its hardware section (kestrel_dev_enter()..kestrel_dev_exit()),
 * and what it waits for inside ends when remove() fails every command.
 */
#include <linux/dma-mapping.h>
#include <linux/dmapool.h>
#include <linux/error-injection.h>
#include <linux/idr.h>
#include <linux/interrupt.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/pm.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "kestrel.h"

/* ---- module parameters ------------------------------------------------- */

static int kestrel_param_irq_mode = KESTREL_IRQ_AUTO;
unsigned int kestrel_param_timeout_ms = 5000;
unsigned int kestrel_param_queue_depth;
unsigned int kestrel_param_max_retries = 2;

static const char *const kestrel_irq_mode_names[] = {
	[KESTREL_IRQ_AUTO] = "auto",
	[KESTREL_IRQ_MSIX] = "msix",
	[KESTREL_IRQ_MSI] = "msi",
	[KESTREL_IRQ_INTX] = "intx",
};

static int kestrel_irq_mode_set(const char *val, const struct kernel_param *kp)
{
	int mode = sysfs_match_string(kestrel_irq_mode_names, val);

	if (mode < 0)
		return -EINVAL;
	*(int *)kp->arg = mode;
	return 0;
}

static int kestrel_irq_mode_get(char *buf, const struct kernel_param *kp)
{
	return scnprintf(buf, PAGE_SIZE, "%s\n",
			 kestrel_irq_mode_names[*(int *)kp->arg]);
}

static const struct kernel_param_ops kestrel_irq_mode_ops = {
	.set = kestrel_irq_mode_set,
	.get = kestrel_irq_mode_get,
};
module_param_cb(irq_mode, &kestrel_irq_mode_ops, &kestrel_param_irq_mode,
		0444);
MODULE_PARM_DESC(irq_mode, "Interrupt type: auto (default), msix, msi or intx");

static int kestrel_timeout_set(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, KESTREL_TIMEOUT_MIN_MS,
				     KESTREL_TIMEOUT_MAX_MS);
}

static const struct kernel_param_ops kestrel_timeout_ops = {
	.set = kestrel_timeout_set,
	.get = param_get_uint,
};
module_param_cb(timeout_ms, &kestrel_timeout_ops, &kestrel_param_timeout_ms,
		0644);
MODULE_PARM_DESC(timeout_ms, "Command timeout of new devices in ms, 10..600000 (default 5000)");

static int kestrel_qdepth_set(const char *val, const struct kernel_param *kp)
{
	unsigned int v;
	int ret;

	ret = kstrtouint(val, 0, &v);
	if (ret)
		return ret;
	if (v && (v < KESTREL_MIN_QDEPTH || v > KESTREL_MAX_QDEPTH))
		return -EINVAL;
	*(unsigned int *)kp->arg = v;
	return 0;
}

static const struct kernel_param_ops kestrel_qdepth_ops = {
	.set = kestrel_qdepth_set,
	.get = param_get_uint,
};
module_param_cb(queue_depth, &kestrel_qdepth_ops, &kestrel_param_queue_depth,
		0444);
MODULE_PARM_DESC(queue_depth, "Queue entries: 0 = device maximum (default), or 2..1024");

static int kestrel_retries_set(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 0, KESTREL_MAX_RETRIES);
}

static const struct kernel_param_ops kestrel_retries_ops = {
	.set = kestrel_retries_set,
	.get = param_get_uint,
};
module_param_cb(max_retries, &kestrel_retries_ops, &kestrel_param_max_retries,
		0644);
MODULE_PARM_DESC(max_retries, "Resubmissions of a command after controller resets, 0..10 (default 2)");

/* ---- names ------------------------------------------------------------- */

const char *kestrel_state_name(int state)
{
	switch (state) {
	case KESTREL_STATE_LIVE:
		return "live";
	case KESTREL_STATE_RESETTING:
		return "resetting";
	case KESTREL_STATE_SUSPENDED:
		return "suspended";
	case KESTREL_STATE_DEAD:
		return "dead";
	case KESTREL_STATE_REMOVED:
		return "removed";
	}
	return "probing";
}

const char *kestrel_irq_mode_name(int mode)
{
	if (mode >= 0 && mode < ARRAY_SIZE(kestrel_irq_mode_names))
		return kestrel_irq_mode_names[mode];
	return "none";
}

/* ---- device lifetime --------------------------------------------------- */

static DEFINE_IDA(kestrel_ida);

static void kestrel_dev_release(struct kref *kref)
{
	struct kestrel_dev *kd = container_of(kref, struct kestrel_dev, kref);

	if (!kd->instance_freed)
		ida_free(&kestrel_ida, kd->instance);
	xa_destroy(&kd->dma_read_pages);
	pci_dev_put(kd->pdev);
	kfree(kd);
}

void kestrel_dev_put(struct kestrel_dev *kd)
{
	kref_put(&kd->kref, kestrel_dev_release);
}

/*
 * An ioctl starts using the hardware (registers, DMA, the tag table);
 * false once the device is removed or gone.  remove() waits for
 * kestrel_dev_exit(), so nothing in between may wait on user space.
 */
bool kestrel_dev_enter(struct kestrel_dev *kd)
{
	bool ok;

	spin_lock_irq(&kd->lock);
	ok = kd->state != KESTREL_STATE_REMOVED;
	if (ok)
		WRITE_ONCE(kd->users, kd->users + 1);
	spin_unlock_irq(&kd->lock);
	return ok;
}

void kestrel_dev_exit(struct kestrel_dev *kd)
{
	spin_lock_irq(&kd->lock);
	WRITE_ONCE(kd->users, kd->users - 1);
	if (!kd->users)
		wake_up(&kd->users_wq);
	spin_unlock_irq(&kd->lock);
}

/* ---- interrupts -------------------------------------------------------- */

static int kestrel_alloc_vectors(struct kestrel_dev *kd, int mode)
{
	struct pci_dev *pdev = kd->pdev;
	int n;

	switch (mode) {
	case KESTREL_IRQ_MSIX:
		n = pci_alloc_irq_vectors(pdev, KESTREL_NVEC, KESTREL_NVEC,
					  PCI_IRQ_MSIX);
		break;
	case KESTREL_IRQ_MSI:
		n = pci_alloc_irq_vectors(pdev, 1, KESTREL_NVEC, PCI_IRQ_MSI);
		break;
	default:
		n = pci_alloc_irq_vectors(pdev, 1, 1, PCI_IRQ_LEGACY);
		break;
	}
	if (n < 0)
		return n;
	kd->irq_mode = mode;
	kd->split_vectors = n == KESTREL_NVEC;
	kd->nr_irqs = n;
	return 0;
}

static void kestrel_free_irqs(struct kestrel_dev *kd, unsigned int n)
{
	while (n--)
		free_irq(pci_irq_vector(kd->pdev, n), kd);
}

/*
 * MSI-X, then MSI, then INTx unless irq_mode forces one.  With two
 * vectors, vector 0 is the CQ and vector 1 the error; with one, the
 * handler reads INTR_STATUS.  The vectors themselves are device-managed.
 */
static noinline int kestrel_setup_irqs(struct kestrel_dev *kd)
{
	static const int order[] = {
		KESTREL_IRQ_MSIX, KESTREL_IRQ_MSI, KESTREL_IRQ_INTX,
	};
	struct device *dev = &kd->pdev->dev;
	int mode = kestrel_param_irq_mode;
	unsigned int i;
	int ret = -ENODEV;

	for (i = 0; i < ARRAY_SIZE(order); i++) {
		if (mode != KESTREL_IRQ_AUTO && mode != order[i])
			continue;
		ret = kestrel_alloc_vectors(kd, order[i]);
		if (!ret)
			break;
		dev_info(dev, "no %s interrupts (%d)\n",
			 kestrel_irq_mode_name(order[i]), ret);
	}
	if (ret) {
		dev_err(dev, "no usable interrupt (irq_mode=%s)\n",
			kestrel_irq_mode_name(mode));
		return ret;
	}

	for (i = 0; i < kd->nr_irqs; i++) {
		irq_handler_t handler = kestrel_irq_shared;
		unsigned long flags = 0;

		if (kd->split_vectors)
			handler = i == KESTREL_VEC_CQ ? kestrel_irq_cq :
							kestrel_irq_error;
		if (kd->irq_mode == KESTREL_IRQ_INTX)
			flags = IRQF_SHARED;
		snprintf(kd->irq_names[i], sizeof(kd->irq_names[i]), "%s-%s",
			 kd->name, kd->split_vectors && i ? "err" : "q");
		ret = request_irq(pci_irq_vector(kd->pdev, i), handler, flags,
				  kd->irq_names[i], kd);
		if (ret) {
			dev_err(dev, "cannot request interrupt %u: %d\n", i,
				ret);
			kestrel_free_irqs(kd, i);
			return ret;
		}
	}
	return 0;
}

/*
 * Probe's setup stages can be made to fail from debugfs (fail_function), so
 * that the alloc-failure scenarios reach every unwinding path of probe.
 */
ALLOW_ERROR_INJECTION(kestrel_setup_irqs, ERRNO);

/* ---- probe and remove -------------------------------------------------- */

static noinline int kestrel_alloc_queues(struct kestrel_dev *kd)
{
	struct device *dev = &kd->pdev->dev;
	u32 i;

	kd->cmds = devm_kcalloc(dev, kd->ntags, sizeof(*kd->cmds), GFP_KERNEL);
	kd->shadow = devm_kcalloc(dev, kd->ntags, sizeof(*kd->shadow),
				  GFP_KERNEL);
	kd->tag_map = devm_bitmap_zalloc(dev, kd->ntags, GFP_KERNEL);
	kd->sq = dmam_alloc_coherent(dev, kd->qdepth * sizeof(*kd->sq),
				     &kd->sq_dma, GFP_KERNEL);
	kd->cq = dmam_alloc_coherent(dev, kd->qdepth * sizeof(*kd->cq),
				     &kd->cq_dma, GFP_KERNEL);
	kd->admin = dmam_alloc_coherent(dev, PAGE_SIZE, &kd->admin_dma,
					GFP_KERNEL);
	kd->sgl_pool = dmam_pool_create("kestrel-sgl", dev,
					KESTREL_SG_LIST_MAX_BYTES,
					KESTREL_SG_LIST_MAX_BYTES, 0);
	if (!kd->cmds || !kd->shadow || !kd->tag_map || !kd->sq || !kd->cq ||
	    !kd->admin || !kd->sgl_pool)
		return -ENOMEM;
	/* The device requires 4 KiB-aligned queues (datasheet 5.4). */
	if (!IS_ALIGNED(kd->sq_dma, KESTREL_QUEUE_ALIGN) ||
	    !IS_ALIGNED(kd->cq_dma, KESTREL_QUEUE_ALIGN)) {
		dev_err(dev, "queue memory not %u-byte aligned\n",
			KESTREL_QUEUE_ALIGN);
		return -ENOMEM;
	}
	for (i = 0; i < kd->ntags; i++) {
		kd->cmds[i].index = i;
		INIT_LIST_HEAD(&kd->cmds[i].node);
		init_completion(&kd->cmds[i].done);
	}
	return 0;
}

ALLOW_ERROR_INJECTION(kestrel_alloc_queues, ERRNO);

static int kestrel_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct device *dev = &pdev->dev;
	struct kestrel_dev *kd;
	int ret;

	kd = kzalloc(sizeof(*kd), GFP_KERNEL);
	if (!kd)
		return -ENOMEM;
	kref_init(&kd->kref);
	kd->pdev = pci_dev_get(pdev);
	spin_lock_init(&kd->lock);
	mutex_init(&kd->ctrl_lock);
	INIT_WORK(&kd->reset_work, kestrel_reset_work);
	INIT_LIST_HEAD(&kd->queued);
	xa_init(&kd->dma_read_pages);
	atomic_set(&kd->abort_recovery, 0);
	init_waitqueue_head(&kd->tag_wq);
	init_waitqueue_head(&kd->drain_wq);
	init_waitqueue_head(&kd->users_wq);
	kd->timeout_ms = kestrel_param_timeout_ms;
	kd->instance = ida_alloc(&kestrel_ida, GFP_KERNEL);
	if (kd->instance < 0) {
		ret = kd->instance;
		pci_dev_put(pdev);
		kfree(kd);
		return ret;
	}
	snprintf(kd->name, sizeof(kd->name), KESTREL_DRV_NAME "%d",
		 kd->instance);

	ret = pcim_enable_device(pdev);
	if (ret)
		goto err_put;
	if (pci_resource_len(pdev, KESTREL_BAR_REGS) < KESTREL_BAR_REGS_SIZE ||
	    !(pci_resource_flags(pdev, KESTREL_BAR_REGS) & IORESOURCE_MEM)) {
		dev_err(dev, "BAR%d is not a %u-byte memory BAR\n",
			KESTREL_BAR_REGS, KESTREL_BAR_REGS_SIZE);
		ret = -ENODEV;
		goto err_put;
	}
	ret = pcim_iomap_regions(pdev, BIT(KESTREL_BAR_REGS), KESTREL_DRV_NAME);
	if (ret)
		goto err_put;
	kd->regs = pcim_iomap_table(pdev)[KESTREL_BAR_REGS];
	/*
	 * No DMA before a reset was seen to complete (kestrel_ctrl_restart()
	 * turns bus mastering on): a previous remove() may not have been
	 * able to reset the device.
	 */
	pci_clear_master(pdev);

	ret = dma_set_mask_and_coherent(dev, DMA_BIT_MASK(64));
	if (ret)
		ret = dma_set_mask_and_coherent(dev, DMA_BIT_MASK(32));
	if (ret) {
		dev_err(dev, "no usable DMA mask\n");
		goto err_put;
	}

	ret = kestrel_ctrl_init(kd);
	if (ret)
		goto err_put;
	ret = kestrel_alloc_queues(kd);
	if (ret)
		goto err_put;
	ret = kestrel_setup_irqs(kd);
	if (ret)
		goto err_put;
	ret = kestrel_ctrl_start(kd);
	if (ret)
		goto err_free_irqs;

	pci_set_drvdata(pdev, kd);
	kestrel_debugfs_add(kd);
	ret = kestrel_chr_register(kd);
	if (ret)
		goto err_stop;

	dev_info(dev, "%s: %llu blocks of %u bytes, queue depth %u, %s, serial \"%s\", firmware \"%s\"\n",
		 kd->name, kd->lim.capacity, kd->lim.block_size, kd->qdepth,
		 kestrel_irq_mode_name(kd->irq_mode), kd->ident.serial,
		 kd->ident.firmware);
	return 0;

err_stop:
	kestrel_debugfs_remove(kd);
	kestrel_ctrl_stop(kd, -ENODEV, NULL);
	cancel_work_sync(&kd->reset_work);
err_free_irqs:
	kestrel_free_irqs(kd, kd->nr_irqs);
	cancel_work_sync(&kd->reset_work);
err_put:
	/* Everything pcim/devm/dmam set up goes when probe fails. */
	kestrel_dev_put(kd);
	return ret;
}

static void kestrel_remove(struct pci_dev *pdev)
{
	struct kestrel_dev *kd = pci_get_drvdata(pdev);
	bool flush;

	/* No new open, no more sysfs or debugfs callbacks. */
	kestrel_chr_unregister(kd);
	kestrel_debugfs_remove(kd);

	/*
	 * New I/O fails; a handshake in progress gives up.  A live
	 * controller with a write cache keeps reaping, so that the commands
	 * on the device can finish before the cache is flushed.
	 */
	spin_lock_irq(&kd->lock);
	flush = READ_ONCE(kd->write_back);
	if (!flush || kd->state != KESTREL_STATE_LIVE)
		kd->cq_live = false;
	kestrel_set_state_locked(kd, KESTREL_STATE_REMOVED);
	WRITE_ONCE(kd->abort_handshake, true);
	spin_unlock_irq(&kd->lock);
	wake_up_all(&kd->tag_wq);
	cancel_work_sync(&kd->reset_work);

	/*
	 * Flush the write cache of a live controller, quiesce the device,
	 * then fail what it held with -ENODEV.
	 */
	kestrel_ctrl_stop(kd, -ENODEV, flush ? "remove" : NULL);

	/*
	 * Ioctls still inside the hardware section were woken above (their
	 * commands failed) and are on their way out; none waits on user
	 * space there.
	 */
	while (!wait_event_timeout(kd->users_wq, !READ_ONCE(kd->users),
				   10 * HZ))
		dev_warn(&pdev->dev, "remove: waiting for %u ioctls to finish\n",
			 READ_ONCE(kd->users));

	kestrel_free_irqs(kd, kd->nr_irqs);
	pci_set_drvdata(pdev, NULL);
	dev_info(&pdev->dev, "%s removed\n", kd->name);
	/*
	 * The name goes with the device, not with the last open file: the
	 * node, sysfs and debugfs are gone already, so a card plugged in
	 * while a process still holds the removed one's file is kestrel0
	 * again, not kestrel1 (INFO on the old file still reports the old
	 * number).
	 */
	ida_free(&kestrel_ida, kd->instance);
	kd->instance_freed = true;
	kestrel_dev_put(kd);
}

/* Reboot or kexec: stop all DMA. */
static void kestrel_shutdown(struct pci_dev *pdev)
{
	struct kestrel_dev *kd = pci_get_drvdata(pdev);

	if (kd)
		kestrel_ctrl_shutdown(kd);
}

/* ---- power management -------------------------------------------------- */

static int kestrel_suspend(struct device *dev)
{
	struct kestrel_dev *kd = dev_get_drvdata(dev);
	unsigned int i;
	int ret;

	ret = kestrel_ctrl_suspend(kd);
	for (i = 0; i < kd->nr_irqs; i++)
		synchronize_irq(pci_irq_vector(kd->pdev, i));
	return ret;
}

static int kestrel_resume(struct device *dev)
{
	return kestrel_ctrl_resume(dev_get_drvdata(dev));
}

static DEFINE_SIMPLE_DEV_PM_OPS(kestrel_pm_ops, kestrel_suspend,
				kestrel_resume);

/* ---- module ------------------------------------------------------------ */

static const struct pci_device_id kestrel_ids[] = {
	{ PCI_DEVICE(KESTREL_PCI_VENDOR_ID, KESTREL_PCI_DEVICE_ID) },
	{ }
};
MODULE_DEVICE_TABLE(pci, kestrel_ids);

static struct pci_driver kestrel_driver = {
	.name = KESTREL_DRV_NAME,
	.id_table = kestrel_ids,
	.probe = kestrel_probe,
	.remove = kestrel_remove,
	.shutdown = kestrel_shutdown,
	.driver.pm = pm_sleep_ptr(&kestrel_pm_ops),
};

static int __init kestrel_init(void)
{
	int ret;

#ifdef KESTREL_TEST_FLUSH_NOOP
	pr_warn("kestrel: TEST BUILD: FLUSH is not sent to the device\n");
#endif
	kestrel_debugfs_init();
	ret = pci_register_driver(&kestrel_driver);
	if (ret)
		kestrel_debugfs_exit();
	return ret;
}
module_init(kestrel_init);

static void __exit kestrel_exit(void)
{
	pci_unregister_driver(&kestrel_driver);
	kestrel_debugfs_exit();
	ida_destroy(&kestrel_ida);
}
module_exit(kestrel_exit);

MODULE_DESCRIPTION("Kestrel PCIe storage controller (Gauntlet reference device)");
MODULE_AUTHOR("The Gauntlet authors");
MODULE_LICENSE("GPL");
#ifdef KESTREL_TEST_FLUSH_NOOP
MODULE_INFO(test_build, "flush-noop: FLUSH is completed without being sent");
#endif
