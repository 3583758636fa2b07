// SPDX-License-Identifier: GPL-2.0
/*
 * Kestrel sysfs attributes, on the misc device (/sys/class/misc/kestrelN/):
 *
 *   state            live, resetting, suspended, dead or removed
 *   irq_mode         msix, msi or intx
 *   timeout_ms       command timeout, writable (10..600000)
 *   serial, model, firmware      from IDENTIFY
 *   capacity, block_size, queue_depth, max_segs, max_xfer_blocks
 *   write_cache      "write back" (a volatile write cache: IDENTIFY's
 *                    KESTREL_ID_FEAT_VWC) or "write through".  Writing
 *                    "write back" makes the driver treat a write-through
 *                    device as cached (it then flushes at suspend,
 *                    shutdown and remove, as with sd's "temporary write
 *                    back"); "write through" is refused for a device that
 *                    has a write cache, whose data it would lose.
 *   statistics/      one file per counter of struct kestrel_stats
 *
 * The files go away in misc_deregister(), which remove() calls before it
 * tears anything down, so kd is valid in every callback.
 */
#include <linux/device.h>
#include <linux/kernel.h>
#include <linux/sysfs.h>

#include "kestrel.h"

static struct kestrel_dev *to_kd(struct device *dev)
{
	struct miscdevice *misc = dev_get_drvdata(dev);

	return container_of(misc, struct kestrel_dev, misc);
}

static ssize_t state_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	return sysfs_emit(buf, "%s\n",
			  kestrel_state_name(kestrel_state(to_kd(dev))));
}
static DEVICE_ATTR_RO(state);

static ssize_t irq_mode_show(struct device *dev,
			     struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%s\n",
			  kestrel_irq_mode_name(to_kd(dev)->irq_mode));
}
static DEVICE_ATTR_RO(irq_mode);

static ssize_t timeout_ms_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(to_kd(dev)->timeout_ms));
}

static ssize_t timeout_ms_store(struct device *dev,
				struct device_attribute *attr,
				const char *buf, size_t count)
{
	unsigned int v;
	int ret;

	ret = kstrtouint(buf, 0, &v);
	if (ret)
		return ret;
	if (v < KESTREL_TIMEOUT_MIN_MS || v > KESTREL_TIMEOUT_MAX_MS)
		return -EINVAL;
	WRITE_ONCE(to_kd(dev)->timeout_ms, v);
	return count;
}
static DEVICE_ATTR_RW(timeout_ms);

static ssize_t write_cache_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%s\n", READ_ONCE(to_kd(dev)->write_back) ?
			  "write back" : "write through");
}

static ssize_t write_cache_store(struct device *dev,
				 struct device_attribute *attr,
				 const char *buf, size_t count)
{
	struct kestrel_dev *kd = to_kd(dev);

	if (sysfs_streq(buf, "write back"))
		kestrel_set_write_cache(kd, true);
	else if (sysfs_streq(buf, "write through") && !kd->ident.vwc)
		kestrel_set_write_cache(kd, false);
	else
		return -EINVAL;
	return count;
}
static DEVICE_ATTR_RW(write_cache);

/* checkpatch: MACRO_ARG_REUSE field is a member name, not an expression */
#define KESTREL_IDENT_ATTR(field)					\
static ssize_t field##_show(struct device *dev,				\
			    struct device_attribute *attr, char *buf)	\
{									\
	return sysfs_emit(buf, "%s\n", to_kd(dev)->ident.field);	\
}									\
static DEVICE_ATTR_RO(field)

KESTREL_IDENT_ATTR(serial);
KESTREL_IDENT_ATTR(model);
KESTREL_IDENT_ATTR(firmware);

#define KESTREL_LIMIT_ATTR(name, expr)					\
static ssize_t name##_show(struct device *dev,				\
			   struct device_attribute *attr, char *buf)	\
{									\
	struct kestrel_dev *kd = to_kd(dev);				\
									\
	return sysfs_emit(buf, "%llu\n", (unsigned long long)(expr));	\
}									\
static DEVICE_ATTR_RO(name)

KESTREL_LIMIT_ATTR(capacity, kd->lim.capacity);
KESTREL_LIMIT_ATTR(block_size, kd->lim.block_size);
KESTREL_LIMIT_ATTR(queue_depth, kd->qdepth);
KESTREL_LIMIT_ATTR(max_segs, kd->lim.max_segs);
KESTREL_LIMIT_ATTR(max_xfer_blocks, kd->lim.max_xfer_blocks);

static struct attribute *kestrel_attrs[] = {
	&dev_attr_state.attr,
	&dev_attr_irq_mode.attr,
	&dev_attr_timeout_ms.attr,
	&dev_attr_serial.attr,
	&dev_attr_model.attr,
	&dev_attr_firmware.attr,
	&dev_attr_capacity.attr,
	&dev_attr_block_size.attr,
	&dev_attr_queue_depth.attr,
	&dev_attr_max_segs.attr,
	&dev_attr_max_xfer_blocks.attr,
	&dev_attr_write_cache.attr,
	NULL,
};

static const struct attribute_group kestrel_attr_group = {
	.attrs = kestrel_attrs,
};

/* checkpatch: MACRO_ARG_REUSE field is a member name, not an expression */
#define KESTREL_STAT_ATTR(field)					\
static ssize_t field##_show(struct device *dev,				\
			    struct device_attribute *attr, char *buf)	\
{									\
	struct kestrel_dev *kd = to_kd(dev);				\
	u64 v;								\
									\
	spin_lock_irq(&kd->lock);					\
	v = kd->stats.field;						\
	spin_unlock_irq(&kd->lock);					\
	return sysfs_emit(buf, "%llu\n", v);				\
}									\
static DEVICE_ATTR_RO(field)

KESTREL_STAT_ATTR(submitted);
KESTREL_STAT_ATTR(completed);
KESTREL_STAT_ATTR(failed);
KESTREL_STAT_ATTR(bytes_read);
KESTREL_STAT_ATTR(bytes_written);
KESTREL_STAT_ATTR(timeouts);
KESTREL_STAT_ATTR(missed_irqs);
KESTREL_STAT_ATTR(resets);
KESTREL_STAT_ATTR(bad_completions);
KESTREL_STAT_ATTR(spurious_irqs);
KESTREL_STAT_ATTR(retries);
KESTREL_STAT_ATTR(fatal_errors);
KESTREL_STAT_ATTR(cache_flushes);
KESTREL_STAT_ATTR(flush_errors);

static struct attribute *kestrel_stat_attrs[] = {
	&dev_attr_submitted.attr,
	&dev_attr_completed.attr,
	&dev_attr_failed.attr,
	&dev_attr_bytes_read.attr,
	&dev_attr_bytes_written.attr,
	&dev_attr_timeouts.attr,
	&dev_attr_missed_irqs.attr,
	&dev_attr_resets.attr,
	&dev_attr_bad_completions.attr,
	&dev_attr_spurious_irqs.attr,
	&dev_attr_retries.attr,
	&dev_attr_fatal_errors.attr,
	&dev_attr_cache_flushes.attr,
	&dev_attr_flush_errors.attr,
	NULL,
};

static const struct attribute_group kestrel_stat_group = {
	.name = "statistics",
	.attrs = kestrel_stat_attrs,
};

const struct attribute_group *kestrel_attr_groups[] = {
	&kestrel_attr_group,
	&kestrel_stat_group,
	NULL,
};
