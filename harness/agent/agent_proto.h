/* SPDX-License-Identifier: MIT */
/*
 * Gauntlet guest agent wire protocol (shared by harness/agent/gauntlet-agent.c
 * and harness/agent_client.c; this header is the only definition).
 *
 * Transport: any byte stream (the guest's second UART /dev/ttyS1 <-> a QEMU
 * chardev unix socket on the host; a socketpair or a pty in the unit test).
 *
 * Frame (all integers little endian):
 *
 *   off size field
 *     0    4 magic     "GAG1" (0x47 0x41 0x47 0x31)
 *     4    1 type      GA_MSG_*
 *     5    1 version   GA_PROTO_VERSION
 *     6    2 reserved  0
 *     8    4 id        command id (0: not about a command)
 *    12    4 len       payload length, <= GA_MAX_PAYLOAD
 *    16    4 crc       CRC-32 (IEEE) of bytes 0..15 followed by the payload
 *    20  len payload
 *
 * A receiver scans for the magic; a header whose len is too large or whose
 * CRC does not match is discarded by skipping ONE byte and scanning again
 * (so garbage, kernel noise or a torn frame costs at most that frame).
 *
 * Payloads are lists of TLV fields: u16 tag, u32 len, len bytes.  Unknown
 * tags are ignored (forward compatibility).  Strings are not NUL-terminated
 * on the wire.  Integers inside fields are little endian (u32 or u64 by tag).
 *
 * Conversation:
 *   agent -> host  READY (at start; fields VERSION, AGENT_PID, UNAME,
 *                         FEATURES)
 *   host  -> agent HELLO (VERSION)          agent -> host HELLO_ACK (as READY)
 *   host  -> agent PING (any payload)       agent -> host PONG (same payload)
 *   host  -> agent RUN id (ARGV... | SHELL, ENV..., CWD, TIMEOUT_MS,
 *                          KILL_GRACE_MS, OUTPUT_LIMIT, STDIN, AFTER)
 *        agent -> host STARTED id (PID), then STDOUT/STDERR id chunks (raw
 *        bytes), then exactly one EXIT id (EXIT_KIND, EXIT_CODE | SIGNAL,
 *        TIMED_OUT, DURATION_US, STDOUT_BYTES, STDOUT_DROPPED,
 *        STDERR_BYTES, STDERR_DROPPED).  A RUN refused before fork (bad
 *        fields, id in use, too many commands) gets ERROR id INSTEAD of
 *        STARTED and nothing else; an exec failure gets STARTED, ERROR id,
 *        then EXIT (EXIT_KIND GA_EXIT_EXEC, code 127).
 *        With AFTER (GA_FEAT_AFTER), the RUN waits in the agent's queue
 *        while the command AFTER is running or queued, and starts once
 *        that one has ended (its EXIT sent, or its refusal): the host sends
 *        a list of commands in one go and they run one after the other,
 *        each with its own deadline (counted from its own start), output
 *        and EXIT.  An AFTER that names no running or queued command
 *        starts at once.  A queued RUN sends nothing until it starts.
 *        With IF_OK too, it starts only if that command succeeded (exit
 *        0, not timed out); otherwise it and every command queued after
 *        it, whatever their fields, are cancelled: each gets ERROR id
 *        with a message starting GA_CANCELLED, never STARTED (the host
 *        then goes on by itself, e.g. polling until a device is ready).
 *        The agent remembers the last GA_ENDED_KEPT ended commands'
 *        outcomes for RUNs that arrive after their AFTER has ended.
 *        ENV_KEEP (GA_FEAT_ENV_KEEP): the RUN's ENV fields are also kept
 *        by the agent, replacing what it kept before, when the RUN
 *        arrives; ENV_KEPT: the command gets the kept ENV before its own.
 *        A host that runs every command with the same variables sends
 *        them once, not in every RUN (they are most of a RUN's bytes on a
 *        UART the guest reads at about 100 KiB/s).
 *   host  -> agent KILL id (SIGNAL): signal the command's process group;
 *        a queued command is dropped instead (ERROR id, never STARTED:
 *        the host sees a refusal) and its successors go on; unknown id ->
 *        ERROR id.
 *   agent -> host  ERROR id (MESSAGE): id 0 = protocol level (bad frame,
 *        unknown type), the agent carries on.
 */
#ifndef GAUNTLET_AGENT_PROTO_H
#define GAUNTLET_AGENT_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define GA_MAGIC0 0x47 /* 'G' */
#define GA_MAGIC1 0x41 /* 'A' */
#define GA_MAGIC2 0x47 /* 'G' */
#define GA_MAGIC3 0x31 /* '1' */
#define GA_PROTO_VERSION 1
#define GA_HDR_SIZE 20
#define GA_MAX_PAYLOAD (1u << 20)       /* 1 MiB, checked on both sides */
#define GA_CHUNK_MAX (16u * 1024)       /* agent's STDOUT/STDERR chunk size */

/* Message types: host -> agent below 0x80, agent -> host from 0x80. */
enum ga_msg_type {
	GA_MSG_HELLO = 0x01,
	GA_MSG_PING = 0x02,
	GA_MSG_RUN = 0x03,
	GA_MSG_KILL = 0x04,

	GA_MSG_READY = 0x80,
	GA_MSG_HELLO_ACK = 0x81,
	GA_MSG_PONG = 0x82,
	GA_MSG_STARTED = 0x83,
	GA_MSG_STDOUT = 0x84,
	GA_MSG_STDERR = 0x85,
	GA_MSG_EXIT = 0x86,
	GA_MSG_ERROR = 0x87,
};

/* TLV tags. */
enum ga_tag {
	GA_T_VERSION = 1,       /* u32 */
	GA_T_AGENT_PID = 2,     /* u32 */
	GA_T_UNAME = 3,         /* string: release of the guest kernel */
	GA_T_FEATURES = 4,      /* u32: GA_FEAT_* the agent has (absent: none) */
	GA_T_ARGV = 10,         /* string, repeated in order */
	GA_T_SHELL = 11,        /* string: run with /bin/sh -c */
	GA_T_ENV = 12,          /* string "K=V", repeated: added to the agent's env */
	GA_T_CWD = 13,          /* string */
	GA_T_TIMEOUT_MS = 14,   /* u32, 0 = none */
	GA_T_KILL_GRACE_MS = 15,/* u32: SIGTERM -> SIGKILL delay (default 2000) */
	GA_T_OUTPUT_LIMIT = 16, /* u32: bytes kept per stream (default 1 MiB) */
	GA_T_STDIN = 17,        /* bytes written to the command's stdin */
	GA_T_AFTER = 18,        /* u32: start after this command id has ended */
	GA_T_IF_OK = 19,        /* u32 0/1: ... only if it succeeded (AFTER) */
	GA_T_ENV_KEEP = 31,     /* u32 1: this RUN's ENV become the kept env */
	GA_T_ENV_KEPT = 32,     /* u32 1: the kept env first, then its ENV */
	GA_T_SIGNAL = 20,       /* u32 */
	GA_T_PID = 21,          /* u32 */
	GA_T_EXIT_KIND = 22,    /* u32 GA_EXIT_* */
	GA_T_EXIT_CODE = 23,    /* u32 */
	GA_T_TIMED_OUT = 24,    /* u32 0/1 */
	GA_T_DURATION_US = 25,  /* u64 */
	GA_T_STDOUT_BYTES = 26, /* u64: bytes produced (sent + dropped) */
	GA_T_STDOUT_DROPPED = 27, /* u64: bytes beyond OUTPUT_LIMIT, not sent */
	GA_T_STDERR_BYTES = 28,
	GA_T_STDERR_DROPPED = 29,
	GA_T_MESSAGE = 30,      /* string */
};

enum ga_exit_kind {
	GA_EXIT_CODE = 0,     /* exited, EXIT_CODE holds the status */
	GA_EXIT_SIGNAL = 1,   /* killed, SIGNAL holds the signal */
	GA_EXIT_UNREAPED = 2, /* did not die within 5 s of SIGKILL (D state?) */
	GA_EXIT_EXEC = 3,     /* could not be started; EXIT_CODE 127 */
};

/* Features an agent announces in READY and HELLO_ACK (GA_T_FEATURES). */
#define GA_FEAT_AFTER (1u << 0)  /* RUN's AFTER and IF_OK: commands queued */
#define GA_FEAT_ENV_KEEP (1u << 1) /* RUN's ENV_KEEP and ENV_KEPT */
#define GA_CANCELLED "cancelled: "  /* ERROR of a RUN an IF_OK gate dropped */
#define GA_ENDED_KEPT 64

#define GA_DEFAULT_KILL_GRACE_MS 2000u
#define GA_DEFAULT_OUTPUT_LIMIT (1u << 20) /* ~10 s of UART at ~100 KiB/s */

/* ---- little-endian helpers ---------------------------------------------- */
static inline void ga_put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}
static inline void ga_put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline void ga_put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t ga_get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t ga_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}
static inline uint64_t ga_get_u64(const uint8_t *p)
{
	return (uint64_t)ga_get_u32(p) | ((uint64_t)ga_get_u32(p + 4) << 32);
}

/* ---- CRC-32 (IEEE 802.3, reflected, as zlib) ------------------------------- */
static inline uint32_t ga_crc32_update(uint32_t crc, const void *buf, size_t n)
{
	const uint8_t *p = (const uint8_t *)buf;

	crc = ~crc;
	while (n--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
	}
	return ~crc;
}

/* ---- frames ------------------------------------------------------------------ */
/* Fill the 20-byte header for a payload (computes the CRC). */
static inline void ga_frame_header(uint8_t hdr[GA_HDR_SIZE], uint8_t type, uint32_t id,
				   const void *payload, uint32_t len)
{
	hdr[0] = GA_MAGIC0;
	hdr[1] = GA_MAGIC1;
	hdr[2] = GA_MAGIC2;
	hdr[3] = GA_MAGIC3;
	hdr[4] = type;
	hdr[5] = GA_PROTO_VERSION;
	hdr[6] = hdr[7] = 0;
	ga_put_u32(hdr + 8, id);
	ga_put_u32(hdr + 12, len);
	uint32_t crc = ga_crc32_update(0, hdr, 16);
	crc = ga_crc32_update(crc, payload, len);
	ga_put_u32(hdr + 16, crc);
}

/* A received frame; payload points into the parser's buffer (valid until the
 * next ga_parse_next call). */
struct ga_frame {
	uint8_t type;
	uint8_t version;
	uint32_t id;
	uint32_t len;
	const uint8_t *payload;
};

/*
 * Incremental parser over a caller-owned buffer.  Feed bytes with
 * ga_parser_space/ga_parser_commit, then call ga_parse_next until it returns
 * 0.  Returns 1 and fills *f for a frame, 0 when more bytes are needed.
 * Bytes skipped while resynchronising are counted in p->skipped (and the
 * first few kept in p->garbage for error messages).
 */
struct ga_parser {
	uint8_t *buf;
	size_t cap;         /* >= GA_HDR_SIZE + GA_MAX_PAYLOAD */
	size_t start, end;  /* unconsumed bytes are buf[start..end) */
	uint64_t skipped;   /* garbage bytes skipped so far */
	uint64_t bad_frames;/* headers rejected (length, CRC) */
	uint8_t garbage[32];/* the first bytes of the latest garbage run */
	size_t garbage_len;
	int in_garbage;
};

static inline void ga_parser_init(struct ga_parser *p, uint8_t *buf, size_t cap)
{
	memset(p, 0, sizeof(*p));
	p->buf = buf;
	p->cap = cap;
}

/* Where to read new bytes into; *room is how many fit. */
static inline uint8_t *ga_parser_space(struct ga_parser *p, size_t *room)
{
	if (p->start > 0 && (p->end == p->cap || p->start == p->end || p->start > p->cap / 2)) {
		memmove(p->buf, p->buf + p->start, p->end - p->start);
		p->end -= p->start;
		p->start = 0;
	}
	*room = p->cap - p->end;
	return p->buf + p->end;
}

static inline void ga_parser_commit(struct ga_parser *p, size_t n)
{
	p->end += n;
}

static inline void ga_parser_skip(struct ga_parser *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!p->in_garbage) {
			p->in_garbage = 1;
			p->garbage_len = 0;
		}
		if (p->garbage_len < sizeof(p->garbage))
			p->garbage[p->garbage_len++] = p->buf[p->start + i];
	}
	p->start += n;
	p->skipped += n;
}

static inline int ga_parse_next(struct ga_parser *p, struct ga_frame *f)
{
	for (;;) {
		size_t avail = p->end - p->start;
		const uint8_t *b = p->buf + p->start;
		size_t i = 0;

		/* scan for the magic (a partial magic at the end is kept) */
		while (i < avail) {
			if (b[i] == GA_MAGIC0 &&
			    (i + 1 >= avail || b[i + 1] == GA_MAGIC1) &&
			    (i + 2 >= avail || b[i + 2] == GA_MAGIC2) &&
			    (i + 3 >= avail || b[i + 3] == GA_MAGIC3))
				break;
			i++;
		}
		if (i > 0) {
			ga_parser_skip(p, i);
			continue;
		}
		if (avail < GA_HDR_SIZE)
			return 0;
		uint32_t len = ga_get_u32(b + 12);
		if (len > GA_MAX_PAYLOAD) {
			p->bad_frames++;
			ga_parser_skip(p, 1);
			continue;
		}
		if (avail < GA_HDR_SIZE + (size_t)len)
			return 0;
		uint32_t crc = ga_crc32_update(0, b, 16);
		crc = ga_crc32_update(crc, b + GA_HDR_SIZE, len);
		if (crc != ga_get_u32(b + 16)) {
			p->bad_frames++;
			ga_parser_skip(p, 1);
			continue;
		}
		p->in_garbage = 0;
		f->type = b[4];
		f->version = b[5];
		f->id = ga_get_u32(b + 8);
		f->len = len;
		f->payload = b + GA_HDR_SIZE;
		p->start += GA_HDR_SIZE + len;
		return 1;
	}
}

/* ---- TLV payloads ---------------------------------------------------------------- */
struct ga_tlv {
	uint16_t tag;
	uint32_t len;
	const uint8_t *val;
};

/* Iterate: *off starts at 0.  Returns 1 with *t filled, 0 at the end, -1 when
 * a field overruns the payload (malformed). */
static inline int ga_tlv_next(const uint8_t *pl, uint32_t plen, uint32_t *off, struct ga_tlv *t)
{
	if (*off == plen)
		return 0;
	if (plen - *off < 6)
		return -1;
	t->tag = ga_get_u16(pl + *off);
	t->len = ga_get_u32(pl + *off + 2);
	if (t->len > plen - *off - 6)
		return -1;
	t->val = pl + *off + 6;
	*off += 6 + t->len;
	return 1;
}

/* Growable payload builder (malloc-based; both sides link libc). */
struct ga_buf {
	uint8_t *data;
	size_t len, cap;
	int oom;
};

#include <stdlib.h>
static inline int ga_buf_reserve(struct ga_buf *b, size_t more)
{
	if (b->oom)
		return -1;
	if (b->len + more <= b->cap)
		return 0;
	size_t nc = b->cap ? b->cap : 256;
	while (nc < b->len + more)
		nc *= 2;
	uint8_t *nd = (uint8_t *)realloc(b->data, nc);
	if (!nd) {
		b->oom = 1;
		return -1;
	}
	b->data = nd;
	b->cap = nc;
	return 0;
}
static inline void ga_buf_put(struct ga_buf *b, const void *p, size_t n)
{
	if (n == 0 || ga_buf_reserve(b, n))
		return;
	memcpy(b->data + b->len, p, n);
	b->len += n;
}
static inline void ga_tlv_put(struct ga_buf *b, uint16_t tag, const void *val, uint32_t len)
{
	uint8_t h[6];

	ga_put_u16(h, tag);
	ga_put_u32(h + 2, len);
	ga_buf_put(b, h, 6);
	ga_buf_put(b, val, len);
}
static inline void ga_tlv_put_str(struct ga_buf *b, uint16_t tag, const char *s)
{
	ga_tlv_put(b, tag, s, (uint32_t)strlen(s));
}
static inline void ga_tlv_put_u32(struct ga_buf *b, uint16_t tag, uint32_t v)
{
	uint8_t x[4];

	ga_put_u32(x, v);
	ga_tlv_put(b, tag, x, 4);
}
static inline void ga_tlv_put_u64(struct ga_buf *b, uint16_t tag, uint64_t v)
{
	uint8_t x[8];

	ga_put_u64(x, v);
	ga_tlv_put(b, tag, x, 8);
}
/* Integer field value, accepting 4 or 8 bytes; -1 on a bad size. */
static inline int ga_tlv_uint(const struct ga_tlv *t, uint64_t *v)
{
	if (t->len == 4)
		*v = ga_get_u32(t->val);
	else if (t->len == 8)
		*v = ga_get_u64(t->val);
	else
		return -1;
	return 0;
}

static inline const char *ga_msg_name(uint8_t type)
{
	switch (type) {
	case GA_MSG_HELLO: return "HELLO";
	case GA_MSG_PING: return "PING";
	case GA_MSG_RUN: return "RUN";
	case GA_MSG_KILL: return "KILL";
	case GA_MSG_READY: return "READY";
	case GA_MSG_HELLO_ACK: return "HELLO_ACK";
	case GA_MSG_PONG: return "PONG";
	case GA_MSG_STARTED: return "STARTED";
	case GA_MSG_STDOUT: return "STDOUT";
	case GA_MSG_STDERR: return "STDERR";
	case GA_MSG_EXIT: return "EXIT";
	case GA_MSG_ERROR: return "ERROR";
	default: return "UNKNOWN";
	}
}

#endif /* GAUNTLET_AGENT_PROTO_H */
