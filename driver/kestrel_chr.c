// SPDX-License-Identifier: GPL-2.0
/*
 * Kestrel character device: one misc device /dev/kestrelN per controller
 * and the ioctls of include/uapi/kestrel.h.
 *
 * An open file holds a reference to the device structure, so it outlives
 * remove(); every ioctl fails with -ENODEV once the device is gone.  Only
 * the parts that touch the hardware run between kestrel_dev_enter() and
 * kestrel_dev_exit(), which remove() waits for; copies from and to user
 * space stay outside, so remove() never waits on user space (a buffer in
 * a userfaultfd region that nobody resolves, say).
 * Nothing copied to user space comes from uninitialised memory: every
 * struct is zeroed before it is filled.
 */
#include <linux/error-injection.h>
#include <linux/fs.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "kestrel.h"

static int kestrel_open(struct inode *inode, struct file *file)
{
	/* misc_open() set private_data and holds misc_mtx: kd is alive. */
	struct miscdevice *misc = file->private_data;
	struct kestrel_dev *kd = container_of(misc, struct kestrel_dev, misc);

	kref_get(&kd->kref);
	file->private_data = kd;
	return stream_open(inode, file);
}

static int kestrel_release(struct inode *inode, struct file *file)
{
	kestrel_dev_put(file->private_data);
	return 0;
}

static int kestrel_ioctl_get_info(struct kestrel_dev *kd,
				  struct kestrel_info __user *uarg)
{
	struct kestrel_info info;
	int ret;

	if (copy_from_user(&info, uarg, sizeof(info)))
		return -EFAULT;
	ret = kestrel_validate_info(&info);
	if (ret)
		return ret;
	if (kestrel_state(kd) == KESTREL_STATE_REMOVED)
		return -ENODEV;

	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	info.capacity = kd->lim.capacity;
	info.block_size = kd->lim.block_size;
	info.queue_depth = kd->qdepth;
	info.max_segs = kd->lim.max_segs;
	info.max_xfer_blocks = kd->lim.max_xfer_blocks;
	info.irq_mode = kd->irq_mode;
	info.state = kestrel_state(kd);
	info.timeout_ms = READ_ONCE(kd->timeout_ms);
	info.instance = kd->instance;
	strscpy(info.serial, kd->ident.serial, sizeof(info.serial));
	strscpy(info.model, kd->ident.model, sizeof(info.model));
	strscpy(info.firmware, kd->ident.firmware, sizeof(info.firmware));
	if (READ_ONCE(kd->write_back))
		info.features |= KESTREL_INFO_WRITE_CACHE;
	if (copy_to_user(uarg, &info, sizeof(info)))
		return -EFAULT;
	return 0;
}

static int kestrel_ioctl_get_stats(struct kestrel_dev *kd,
				   struct kestrel_stats __user *uarg)
{
	struct kestrel_stats st;
	int ret;

	if (copy_from_user(&st, uarg, sizeof(st)))
		return -EFAULT;
	ret = kestrel_validate_stats(&st);
	if (ret)
		return ret;
	if (kestrel_state(kd) == KESTREL_STATE_REMOVED)
		return -ENODEV;

	spin_lock_irq(&kd->lock);
	st = kd->stats;
	spin_unlock_irq(&kd->lock);
	st.size = sizeof(st);
	st.flags = 0;
	memset(st.reserved, 0, sizeof(st.reserved));
	if (copy_to_user(uarg, &st, sizeof(st)))
		return -EFAULT;
	return 0;
}

static int kestrel_ioctl_timeout(struct kestrel_dev *kd, bool set,
				 struct kestrel_timeout __user *uarg)
{
	struct kestrel_timeout t;
	int ret;

	if (copy_from_user(&t, uarg, sizeof(t)))
		return -EFAULT;
	ret = kestrel_validate_timeout(&t, set);
	if (ret)
		return ret;
	if (kestrel_state(kd) == KESTREL_STATE_REMOVED)
		return -ENODEV;
	if (set) {
		WRITE_ONCE(kd->timeout_ms, t.timeout_ms);
		return 0;
	}
	memset(&t, 0, sizeof(t));
	t.size = sizeof(t);
	t.timeout_ms = READ_ONCE(kd->timeout_ms);
	if (copy_to_user(uarg, &t, sizeof(t)))
		return -EFAULT;
	return 0;
}

static long kestrel_ioctl(struct file *file, unsigned int cmd,
			  unsigned long arg)
{
	struct kestrel_dev *kd = file->private_data;
	void __user *argp = (void __user *)arg;
	long ret;

	switch (cmd) {
	case KESTREL_IOC_GET_INFO:
	case KESTREL_IOC_SUBMIT:
	case KESTREL_IOC_RESET:
	case KESTREL_IOC_GET_STATS:
	case KESTREL_IOC_GET_TIMEOUT:
	case KESTREL_IOC_SET_TIMEOUT:
		break;
	default:
		return -ENOTTY;
	}
	if (kestrel_state(kd) == KESTREL_STATE_REMOVED)
		return -ENODEV;

	switch (cmd) {
	case KESTREL_IOC_GET_INFO:
		ret = kestrel_ioctl_get_info(kd, argp);
		break;
	case KESTREL_IOC_SUBMIT:
		ret = kestrel_submit_batch(kd, argp);
		break;
	case KESTREL_IOC_RESET:
		if (!kestrel_dev_enter(kd))
			return -ENODEV;
		ret = kestrel_ctrl_user_reset(kd);
		kestrel_dev_exit(kd);
		break;
	case KESTREL_IOC_GET_STATS:
		ret = kestrel_ioctl_get_stats(kd, argp);
		break;
	case KESTREL_IOC_GET_TIMEOUT:
		ret = kestrel_ioctl_timeout(kd, false, argp);
		break;
	default:
		ret = kestrel_ioctl_timeout(kd, true, argp);
		break;
	}
	return ret;
}

static const struct file_operations kestrel_fops = {
	.owner = THIS_MODULE,
	.open = kestrel_open,
	.release = kestrel_release,
	.unlocked_ioctl = kestrel_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = no_llseek,
};

int kestrel_chr_register(struct kestrel_dev *kd)
{
	int ret;

	kd->misc.minor = MISC_DYNAMIC_MINOR;
	kd->misc.name = kd->name;
	kd->misc.fops = &kestrel_fops;
	kd->misc.parent = &kd->pdev->dev;
	kd->misc.groups = kestrel_attr_groups;
	ret = misc_register(&kd->misc);
	if (ret)
		return ret;
	kd->misc_registered = true;
	return 0;
}

ALLOW_ERROR_INJECTION(kestrel_chr_register, ERRNO);

/* No new open after this; open files keep their reference. */
void kestrel_chr_unregister(struct kestrel_dev *kd)
{
	if (kd->misc_registered) {
		misc_deregister(&kd->misc);
		kd->misc_registered = false;
	}
}
