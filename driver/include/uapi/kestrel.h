/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Kestrel driver user-space interface: ioctls on /dev/kestrelN.
 *
 * Every argument struct starts with its own size, which the caller sets
 * to sizeof() of the struct it was compiled with; the driver rejects a
 * size it does not know (-EINVAL).  Reserved fields and flags must be
 * zero on input (-EINVAL otherwise) and are zero on output.
 *
 * Errors: an unknown ioctl is -ENOTTY, a bad user pointer -EFAULT, a bad
 * value -EINVAL, a device that was removed -ENODEV, a dead device -EIO.
 */
#ifndef _UAPI_LINUX_KESTREL_H
#define _UAPI_LINUX_KESTREL_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define KESTREL_IOC_MAGIC	'K'

/* Largest batch one KESTREL_IOC_SUBMIT accepts. */
#define KESTREL_MAX_BATCH	64

/* kestrel_info.irq_mode */
#define KESTREL_IRQ_MSIX	1
#define KESTREL_IRQ_MSI		2
#define KESTREL_IRQ_INTX	3

/* kestrel_info.state */
#define KESTREL_STATE_LIVE	1	/* serving I/O */
#define KESTREL_STATE_RESETTING	2	/* recovering; I/O waits */
#define KESTREL_STATE_SUSPENDED	3	/* system sleep; I/O waits */
#define KESTREL_STATE_DEAD	4	/* gave up; I/O fails with -EIO */
#define KESTREL_STATE_REMOVED	5	/* unplugged; I/O fails with -ENODEV */

struct kestrel_info {
	__u32 size;		/* in: sizeof(struct kestrel_info) */
	__u32 flags;		/* in: 0 */
	__u64 capacity;		/* blocks */
	__u32 block_size;	/* bytes */
	__u32 queue_depth;	/* entries of the queue in use */
	__u32 max_segs;		/* per command */
	__u32 max_xfer_blocks;	/* per command */
	__u32 irq_mode;		/* KESTREL_IRQ_* */
	__u32 state;		/* KESTREL_STATE_* */
	__u32 timeout_ms;	/* current command timeout */
	__u32 instance;		/* N of /dev/kestrelN */
	char serial[21];	/* NUL-terminated */
	char model[41];
	char firmware[9];
	__u8 reserved0[1];
	__u32 features;		/* KESTREL_INFO_* */
	__u32 reserved[7];
};

/*
 * kestrel_info.features: the driver treats the device as having a volatile
 * write cache (IDENTIFY's KESTREL_ID_FEAT_VWC, or the write_cache sysfs
 * attribute set to "write back"): acknowledged WRITEs are durable only after
 * a FLUSH, and the driver flushes at suspend, shutdown and remove.
 */
#define KESTREL_INFO_WRITE_CACHE	(1u << 0)

/* kestrel_io.opcode */
#define KESTREL_IO_READ		1
#define KESTREL_IO_WRITE	2
#define KESTREL_IO_FLUSH	3

/*
 * One request of a batch.  buf must be aligned to 4 bytes and buf_len must
 * equal nblocks * block_size (both 0 for FLUSH).
 *
 * Durability: a WRITE that returns result 0 reached the device, not
 * necessarily stable media; a power loss can still lose it.  It is durable
 * once a FLUSH that returns result 0 was sent after it: a FLUSH covers
 * every earlier WRITE of its own batch (it waits for them) and every WRITE
 * of any batch that returned before the FLUSH's batch was submitted.
 */
struct kestrel_io {
	__u8 opcode;		/* KESTREL_IO_* */
	__u8 flags;		/* 0 */
	__u16 reserved0;
	__s32 result;		/* out: 0 or -errno */
	__u64 lba;
	__u32 nblocks;
	__u32 reserved1;
	__u64 buf;		/* user address */
	__u64 buf_len;
	__u64 reserved2[2];
};

struct kestrel_submit {
	__u32 size;		/* in: sizeof(struct kestrel_submit) */
	__u32 flags;		/* in: 0 */
	__u32 count;		/* in: 1..KESTREL_MAX_BATCH */
	__u32 io_size;		/* in: sizeof(struct kestrel_io) */
	__u64 ios;		/* in: user address of count kestrel_io */
	__u32 completed;	/* out: requests whose result is 0 */
	__u32 reserved[5];
};

struct kestrel_stats {
	__u32 size;		/* in: sizeof(struct kestrel_stats) */
	__u32 flags;		/* in: 0 */
	__u64 submitted;	/* commands sent to the device */
	__u64 completed;	/* commands completed with success */
	__u64 failed;		/* commands completed with an error */
	__u64 bytes_read;
	__u64 bytes_written;
	__u64 timeouts;		/* commands that hit their timeout */
	__u64 missed_irqs;	/* completions found by polling */
	__u64 resets;		/* controller resets done */
	__u64 bad_completions;	/* corrupt, duplicate or impossible CQEs */
	__u64 spurious_irqs;	/* interrupts with no work */
	__u64 retries;		/* commands resubmitted after a reset */
	__u64 fatal_errors;	/* STATUS.FATAL seen */
	__u64 cache_flushes;	/* FLUSHes of the write cache the driver
				 * issued itself (suspend, shutdown, remove)
				 */
	__u64 flush_errors;	/* of those, failed or not sendable */
	__u64 reserved[6];
};

struct kestrel_timeout {
	__u32 size;		/* in: sizeof(struct kestrel_timeout) */
	__u32 timeout_ms;	/* 10..600000 */
	__u32 reserved[2];
};

#define KESTREL_IOC_GET_INFO	_IOWR(KESTREL_IOC_MAGIC, 0x00, struct kestrel_info)
#define KESTREL_IOC_SUBMIT	_IOWR(KESTREL_IOC_MAGIC, 0x01, struct kestrel_submit)
#define KESTREL_IOC_RESET	_IO(KESTREL_IOC_MAGIC, 0x02)
#define KESTREL_IOC_GET_STATS	_IOWR(KESTREL_IOC_MAGIC, 0x03, struct kestrel_stats)
#define KESTREL_IOC_GET_TIMEOUT	_IOWR(KESTREL_IOC_MAGIC, 0x04, struct kestrel_timeout)
#define KESTREL_IOC_SET_TIMEOUT	_IOW(KESTREL_IOC_MAGIC, 0x05, struct kestrel_timeout)

#define KESTREL_TIMEOUT_MIN_MS	10
#define KESTREL_TIMEOUT_MAX_MS	600000

#endif /* _UAPI_LINUX_KESTREL_H */
