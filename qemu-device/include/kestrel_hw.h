/* SPDX-License-Identifier: GPL-2.0-or-later OR MIT */
/*
 * Kestrel hardware contract: PCI identity, BAR0 register map, queue entry
 * formats, IDENTIFY data, command set and status codes.
 *
 * This header is the machine-readable half of docs/kestrel-datasheet.md.
 * It is shared, unchanged, by the QEMU device model, the unit tests, the
 * fuzzers and the Linux driver, so it uses only fixed-width integer types
 * (which the kernel's <linux/types.h> also provides) and plain macros.
 * Every multi-byte field in memory and in registers is little-endian.
 */
#ifndef KESTREL_HW_H
#define KESTREL_HW_H

/* ---- PCI identity ------------------------------------------------------ */
#define KESTREL_PCI_VENDOR_ID           0x1af4
#define KESTREL_PCI_DEVICE_ID           0x10f0  /* 1af4:10f0..10ff experimental */
#define KESTREL_PCI_REVISION            0x01
#define KESTREL_PCI_CLASS               0x018000 /* mass storage, other */

#define KESTREL_BAR_REGS                0       /* 64-bit memory BAR, 16 KiB */
#define KESTREL_BAR_MSIX                4       /* MSI-X table and PBA */
#define KESTREL_BAR_REGS_SIZE           0x4000

/* ---- BAR0 register map (all registers are 32 bits wide) -------------- */
#define KESTREL_REG_VERSION             0x000   /* RO 0x00010000 (1.0) */
#define KESTREL_REG_CAP_QDEPTH          0x008   /* RO max entries per queue */
#define KESTREL_REG_CAP_BLKSZ           0x00c   /* RO block size in bytes */
#define KESTREL_REG_CAP_CAPACITY_LO     0x010   /* RO capacity in blocks */
#define KESTREL_REG_CAP_CAPACITY_HI     0x014
#define KESTREL_REG_CAP_NVEC            0x018   /* RO interrupt vectors */
#define KESTREL_REG_CAP_MAXSEG          0x01c   /* RO max data segments/cmd */
#define KESTREL_REG_CAP_TIMEOUT_MS      0x020   /* RO worst-case ready time */
#define KESTREL_REG_CAP_MAXXFER         0x024   /* RO max blocks per command */
#define KESTREL_REG_CAP_FEATURES        0x028   /* RO optional features */
#define   KESTREL_CAP_FEAT_VWC          (1u << 0)       /* = KESTREL_ID_FEAT_VWC */

#define KESTREL_REG_CTRL                0x040   /* RW */
#define   KESTREL_CTRL_EN               (1u << 0)
#define KESTREL_REG_STATUS              0x044   /* RO */
#define   KESTREL_STATUS_RDY            (1u << 0)
#define   KESTREL_STATUS_FATAL          (1u << 1)
#define   KESTREL_STATUS_RESETTING      (1u << 2)
#define KESTREL_REG_RESET               0x048   /* WO, write KESTREL_RESET_MAGIC */
#define   KESTREL_RESET_MAGIC           0x4b525354u     /* "KRST" */
#define KESTREL_REG_INTR_STATUS         0x04c   /* W1C */
#define KESTREL_REG_INTR_MASK           0x050   /* RW, 1 = masked */
#define   KESTREL_INTR_CQ               (1u << 0)       /* completion posted */
#define   KESTREL_INTR_ERROR            (1u << 1)       /* fatal error raised */
#define   KESTREL_INTR_ALL              (KESTREL_INTR_CQ | KESTREL_INTR_ERROR)

#define KESTREL_REG_SQ_BASE_LO          0x080   /* RW while CTRL.EN = 0 */
#define KESTREL_REG_SQ_BASE_HI          0x084
#define KESTREL_REG_SQ_SIZE             0x088   /* RW entries, 2..CAP_QDEPTH */
#define KESTREL_REG_CQ_BASE_LO          0x090
#define KESTREL_REG_CQ_BASE_HI          0x094
#define KESTREL_REG_CQ_SIZE             0x098
#define KESTREL_REG_SQ_TAIL_DB          0x0a0   /* WO doorbell */
#define KESTREL_REG_CQ_HEAD_DB          0x0a4   /* WO doorbell */
#define KESTREL_REG_SQ_HEAD             0x0a8   /* RO device's SQ head */
#define KESTREL_REG_CQ_TAIL             0x0ac   /* RO device's CQ tail */

#define KESTREL_REG_ERR_COUNT           0x0c0   /* RO errors logged since power-on */
#define KESTREL_REG_ERR_LOG             0x100   /* RO, KESTREL_ERR_LOG_LEN entries */
#define KESTREL_ERR_LOG_LEN             8
#define KESTREL_ERR_LOG_ENTRY_SIZE      16
/* Entry i lives at ERR_LOG + 16 * i; the newest is (ERR_COUNT - 1) % 8. */
#define KESTREL_ERR_ENTRY_CODE          0x0     /* bits 15:0 code, 31:16 tag */
#define KESTREL_ERR_ENTRY_INFO          0x4
#define KESTREL_ERR_ENTRY_ADDR_LO       0x8
#define KESTREL_ERR_ENTRY_ADDR_HI       0xc

#define KESTREL_VERSION_1_0             0x00010000u

/* Reset values of the capability registers (device properties change them) */
#define KESTREL_DEFAULT_QDEPTH          256
#define KESTREL_MAX_QDEPTH              1024
#define KESTREL_MIN_QDEPTH              2
#define KESTREL_DEFAULT_MAXSEG          256
#define KESTREL_MAX_MAXSEG              1024
#define KESTREL_NVEC                    2       /* vector 0: CQ, 1: error */
#define KESTREL_VEC_CQ                  0
#define KESTREL_VEC_ERROR               1
#define KESTREL_QUEUE_ALIGN             4096    /* SQ/CQ base alignment */

/* ---- Error log codes --------------------------------------------------- */
enum kestrel_err_code {
        KESTREL_ERR_NONE                = 0x00,
        KESTREL_ERR_BAD_QUEUE_CONFIG    = 0x01, /* enable with bad SQ/CQ */
        KESTREL_ERR_SQ_DOORBELL         = 0x02, /* tail >= SQ_SIZE */
        KESTREL_ERR_CQ_DOORBELL         = 0x03, /* head past posted entries */
        KESTREL_ERR_SQ_FETCH            = 0x04, /* SQ entry DMA failed (fatal) */
        KESTREL_ERR_CQ_POST             = 0x05, /* CQ entry DMA failed (fatal) */
        KESTREL_ERR_SGL         = 0x06, /* malformed segment list */
        KESTREL_ERR_DMA         = 0x07, /* data or segment-list DMA failed */
        KESTREL_ERR_BAD_CMD             = 0x08, /* invalid opcode or field */
        KESTREL_ERR_BACKEND             = 0x09, /* media (backend) I/O error */
        KESTREL_ERR_BAD_REG_WRITE       = 0x0a, /* bad register write, see datasheet 9 */
        KESTREL_ERR_INJECTED_FATAL      = 0x0b, /* fault engine raised fatal */
        KESTREL_ERR_NOT_READY           = 0x0d, /* doorbell while not ready */
};

/* ---- Submission queue entry (64 bytes) --------------------------------- */
struct kestrel_sqe {
        uint8_t  opcode;
        uint8_t  flags;         /* must be 0 */
        uint16_t tag;           /* echoed in the completion */
        uint32_t nsegs;         /* data segments described by the list */
        uint64_t lba;
        uint32_t nblocks;       /* READ/WRITE: blocks to move, must be > 0 */
        uint32_t rsvd0;         /* must be 0 */
        uint64_t sgl_addr;      /* first segment list, 16-byte aligned */
        uint32_t sgl_len;       /* its length in bytes, multiple of 16 */
        uint32_t rsvd1[7];      /* must be 0 */
};

enum kestrel_opcode {
        KESTREL_OP_IDENTIFY     = 0x01,
        KESTREL_OP_READ         = 0x02,
        KESTREL_OP_WRITE        = 0x03,
        KESTREL_OP_FLUSH        = 0x04,
};

/* ---- Scatter-gather segment descriptor (16 bytes) ---------------------- */
struct kestrel_sg_desc {
        uint64_t addr;
        uint32_t len;           /* bytes; DATA: > 0; CHAIN: list length */
        uint16_t flags;
        uint16_t rsvd;          /* must be 0 */
};

#define KESTREL_SG_DATA                 0x0000
#define KESTREL_SG_CHAIN                0x0001  /* addr/len: the next list */
#define KESTREL_SG_FLAGS_MASK           0x0001
#define KESTREL_SG_LIST_MAX_BYTES       4096    /* one list: 16..4096 bytes */

/* ---- Completion queue entry (16 bytes) --------------------------------- */
struct kestrel_cqe {
        uint16_t tag;
        uint16_t sq_head;       /* device's SQ head after fetching this cmd */
        uint16_t status;        /* bit 0: phase, bits 15:1: status code */
        uint16_t rsvd0;
        uint32_t result;        /* bytes transferred */
        uint32_t rsvd1;
};

#define KESTREL_CQE_PHASE               0x0001
#define KESTREL_CQE_STATUS_SHIFT        1
#define KESTREL_CQE_STATUS(s)           ((uint16_t)((s) >> KESTREL_CQE_STATUS_SHIFT))

enum kestrel_status {
        KESTREL_SC_SUCCESS              = 0x00,
        KESTREL_SC_INVALID_OPCODE       = 0x01,
        KESTREL_SC_INVALID_FIELD        = 0x02, /* reserved/flags/zero length */
        KESTREL_SC_LBA_RANGE            = 0x03,
        KESTREL_SC_SGL_INVALID          = 0x04,
        KESTREL_SC_DATA_XFER_ERROR      = 0x05, /* DMA failed or aborted */
        KESTREL_SC_MEDIA_ERROR          = 0x06, /* backend I/O error */
        KESTREL_SC_MAX                  = 0x06,
};

/* ---- IDENTIFY data (512 bytes, DMA'd to the segment list) -------------- */
#define KESTREL_IDENTIFY_SIZE           512
#define KESTREL_IDENTIFY_MAGIC          0x4c525453u     /* "STRL" */

struct kestrel_identify {
        uint32_t magic;
        uint32_t version;               /* = REG_VERSION */
        uint64_t capacity;              /* blocks, = CAP_CAPACITY */
        uint32_t block_size;            /* = CAP_BLKSZ */
        uint32_t max_qdepth;            /* = CAP_QDEPTH */
        uint32_t max_segs;              /* = CAP_MAXSEG */
        uint32_t max_xfer_blocks;       /* = CAP_MAXXFER */
        uint32_t nvec;                  /* = CAP_NVEC */
        char     serial[20];            /* ASCII, space padded */
        char     model[40];
        char     firmware[8];
        uint32_t features;              /* KESTREL_ID_FEAT_* */
        uint32_t rsvd[101];
};

#define KESTREL_ID_FEAT_VWC     (1u << 0) /* volatile write cache: WRITEs are durable only after FLUSH */

#ifdef __cplusplus
#define KESTREL_STATIC_ASSERT static_assert
#else
#define KESTREL_STATIC_ASSERT _Static_assert
#endif
KESTREL_STATIC_ASSERT(sizeof(struct kestrel_sqe) == 64, "sqe size");
KESTREL_STATIC_ASSERT(sizeof(struct kestrel_cqe) == 16, "cqe size");
KESTREL_STATIC_ASSERT(sizeof(struct kestrel_sg_desc) == 16, "sg size");
KESTREL_STATIC_ASSERT(sizeof(struct kestrel_identify) == KESTREL_IDENTIFY_SIZE,
                      "identify size");

#endif /* KESTREL_HW_H */
