// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_completion: the driver's completion checks (kestrel_cqe_check() in
 * driver/kestrel_lib.c) against a malicious device.
 *
 * The harness plays both sides.  The driver side keeps the tag shadow
 * table exactly as kestrel_io.c does (submit: new generation, INFLIGHT;
 * reap: DONE; release: IDLE; reset: everything resubmitted) and reaps the
 * CQ ring like kestrel_cq_reap_locked() (copy, check, stop at the first
 * bad entry).  The device side writes whatever the input says into the
 * ring: raw entries anywhere, or well-formed completions of in-flight
 * commands with one field optionally mutated.  An independent model of
 * what was submitted judges every verdict:
 *   - OK only for a tag index below ntags whose slot is in flight with
 *     that exact wire tag, a defined status, the expected sq_head and
 *     result, and zero reserved fields; the info returned matches;
 *   - conversely, such an entry is always OK (the driver never rejects a
 *     valid completion); EMPTY exactly when the phase differs; BAD_TAG
 *     exactly when the index is out of range;
 *   - never OK twice for one submission.
 * The shadow table and the ring are allocated exactly sized, so ASan
 * catches any read past them.
 */
#include <stdio.h>
#include <stdlib.h>

#include "kestrel_lib.h"
#include "fuzz_input.h"

#define MAX_TAGS	64
#define MAX_Q		64

enum { M_IDLE, M_INFLIGHT, M_DONE };

struct model {
	u8 state;
	u8 gen;
	u16 wire;
	u16 sq_head;
	u32 result;
};

struct sim {
	u32 ntags, qdepth;
	struct kestrel_tag_shadow *shadow;	/* driver's, exactly ntags */
	struct kestrel_cqe *cq;			/* ring, exactly qdepth */
	struct model m[MAX_TAGS];
	u32 sq_tail;
	u32 head, phase;		/* driver */
	u32 dtail, dphase;		/* device */
	bool cq_live;
};

static void submit(struct sim *s, u32 idx, u32 result)
{
	struct model *m = &s->m[idx];
	struct kestrel_tag_shadow *sh = &s->shadow[idx];

	m->gen = (m->gen + 1) & KESTREL_TAG_GEN_MASK;
	m->wire = kestrel_wire_tag(idx, m->gen);
	s->sq_tail = (s->sq_tail + 1) % s->qdepth;
	m->sq_head = (u16)s->sq_tail;
	m->result = result;
	m->state = M_INFLIGHT;
	sh->wire_tag = m->wire;
	sh->sq_head = m->sq_head;
	sh->result = result;
	sh->state = KESTREL_TAG_INFLIGHT;
}

static bool entry_valid(const struct sim *s, const struct kestrel_cqe *e)
{
	u16 tag = KESTREL_CPU16(e->tag);
	u16 st = KESTREL_CQE_STATUS(KESTREL_CPU16(e->status));
	u32 idx = kestrel_tag_index(tag);
	const struct model *m;

	if (idx >= s->ntags)
		return false;
	m = &s->m[idx];
	return m->state == M_INFLIGHT && m->wire == tag &&
	       st <= KESTREL_SC_MAX &&
	       KESTREL_CPU16(e->sq_head) == m->sq_head &&
	       m->sq_head < s->qdepth &&
	       KESTREL_CPU32(e->result) == (st == KESTREL_SC_SUCCESS ?
					    m->result : 0) &&
	       !e->rsvd0 && !e->rsvd1;
}

/* One step of kestrel_cq_reap_locked(); false when it stops. */
static bool reap_one(struct sim *s)
{
	struct kestrel_cqe_info info;
	enum kestrel_cqe_verdict v;
	struct kestrel_cqe cqe;
	bool phase_ok, valid;
	u32 idx;

	if (!s->cq_live)
		return false;
	memcpy(&cqe, &s->cq[s->head], sizeof(cqe));
	phase_ok = (KESTREL_CPU16(cqe.status) & 1) == s->phase;
	FUZZ_ASSERT(kestrel_cqe_phase_matches(cqe.status, s->phase) == phase_ok);
	if (!phase_ok)
		return false;
	memset(&info, 0xa5, sizeof(info));
	v = kestrel_cqe_check(&cqe, s->phase, s->shadow, s->ntags, s->qdepth,
			      &info);
	FUZZ_ASSERT(kestrel_cqe_verdict_name(v) != NULL);
	idx = kestrel_tag_index(KESTREL_CPU16(cqe.tag));
	valid = entry_valid(s, &cqe);
	FUZZ_ASSERT(v != KESTREL_CQE_EMPTY);
	FUZZ_ASSERT((v == KESTREL_CQE_BAD_TAG) == (idx >= s->ntags));
	FUZZ_ASSERT((v == KESTREL_CQE_OK) == valid);
	if (v == KESTREL_CQE_DUPLICATE)
		FUZZ_ASSERT(s->m[idx].state == M_DONE &&
			    s->m[idx].wire == KESTREL_CPU16(cqe.tag));
	if (v != KESTREL_CQE_OK) {
		s->cq_live = false;	/* the driver resets the controller */
		return false;
	}
	FUZZ_ASSERT(info.index == idx);
	FUZZ_ASSERT(info.sq_head == KESTREL_CPU16(cqe.sq_head));
	FUZZ_ASSERT(info.status == KESTREL_CQE_STATUS(KESTREL_CPU16(cqe.status)));
	FUZZ_ASSERT(info.result == KESTREL_CPU32(cqe.result));
	FUZZ_ASSERT((kestrel_status_to_errno(info.status) == 0) ==
		    (info.status == KESTREL_SC_SUCCESS));
	s->m[idx].state = M_DONE;
	s->shadow[idx].state = KESTREL_TAG_DONE;
	s->head = (s->head + 1) % s->qdepth;
	if (!s->head)
		s->phase ^= 1;
	return true;
}

static void device_post(struct sim *s, const struct kestrel_cqe *e)
{
	s->cq[s->dtail] = *e;
	s->dtail = (s->dtail + 1) % s->qdepth;
	if (!s->dtail)
		s->dphase ^= 1;
}

static void reset(struct sim *s)
{
	u32 i;

	memset(s->cq, 0, s->qdepth * sizeof(*s->cq));
	s->head = s->dtail = s->sq_tail = 0;
	s->phase = s->dphase = 1;
	s->cq_live = true;
	for (i = 0; i < s->ntags; i++) {
		if (s->m[i].state == M_INFLIGHT)
			submit(s, i, s->m[i].result);	/* retried */
		else if (s->m[i].state == M_DONE) {
			s->m[i].state = M_IDLE;
			s->shadow[i].state = KESTREL_TAG_IDLE;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sim s;
	FuzzIn in;
	u32 i, steps = 0;

	fin_init(&in, data, size);
	memset(&s, 0, sizeof(s));
	s.ntags = 1 + fin_u8(&in) % MAX_TAGS;
	s.qdepth = KESTREL_MIN_QDEPTH + fin_u8(&in) % (MAX_Q - 1);
	s.shadow = calloc(s.ntags, sizeof(*s.shadow));
	s.cq = calloc(s.qdepth, sizeof(*s.cq));
	if (!s.shadow || !s.cq)
		abort();
	reset(&s);

	while (!fin_empty(&in) && steps++ < 4096) {
		u8 op = fin_u8(&in);

		switch (op % 8) {
		case 0: {	/* driver submits on a free tag */
			u32 want = fin_u8(&in) % s.ntags;
			u32 res = fin_u16(&in);

			for (i = 0; i < s.ntags; i++) {
				u32 idx = (want + i) % s.ntags;

				if (s.m[idx].state == M_IDLE) {
					submit(&s, idx, res);
					break;
				}
			}
			break;
		}
		case 1: {	/* device writes raw bytes into any CQ slot */
			u32 slot = fin_u8(&in) % s.qdepth;

			fin_bytes(&in, &s.cq[slot], sizeof(s.cq[slot]));
			break;
		}
		case 2:
		case 3: {	/* device completes an in-flight command */
			u32 want = fin_u8(&in) % s.ntags;
			u8 how = fin_u8(&in);
			u16 st = (how & 0x80) ? (fin_u8(&in) & 0x7f) : 0;
			struct kestrel_cqe e;
			struct model *m = NULL;

			for (i = 0; i < s.ntags; i++) {
				u32 idx = (want + i) % s.ntags;

				if (s.m[idx].state != M_IDLE) {
					m = &s.m[idx];
					break;
				}
			}
			memset(&e, 0, sizeof(e));
			if (m) {
				e.tag = KESTREL_LE16(m->wire);
				e.sq_head = KESTREL_LE16(m->sq_head);
				e.result = KESTREL_LE32(st ? 0 : m->result);
			}
			e.status = KESTREL_LE16((u16)(st << 1) | (s.dphase & 1));
			switch (how & 7) {	/* one field mutated */
			case 1:
				e.tag = KESTREL_LE16(fin_u16(&in));
				break;
			case 2:
				e.sq_head = KESTREL_LE16(fin_u16(&in));
				break;
			case 3:
				e.result = KESTREL_LE32(fin_u32(&in));
				break;
			case 4:
				e.rsvd0 = KESTREL_LE16(fin_u16(&in));
				e.rsvd1 = KESTREL_LE32(fin_u32(&in));
				break;
			case 5:
				e.status ^= KESTREL_LE16(1);	/* wrong phase */
				break;
			}
			device_post(&s, &e);
			if (how & 0x40)
				device_post(&s, &e);		/* duplicate */
			break;
		}
		case 4:		/* interrupt: reap */
			while (reap_one(&s))
				;
			break;
		case 5: {	/* driver releases completed tags */
			u32 want = fin_u8(&in) % s.ntags;

			if (s.m[want].state == M_DONE) {
				s.m[want].state = M_IDLE;
				s.shadow[want].state = KESTREL_TAG_IDLE;
			}
			break;
		}
		case 6:		/* controller reset and retry */
			reset(&s);
			break;
		case 7: {	/* device moves its tail (lost or skipped entries) */
			u32 n = fin_u8(&in) % s.qdepth;

			while (n--) {
				s.dtail = (s.dtail + 1) % s.qdepth;
				if (!s.dtail)
					s.dphase ^= 1;
			}
			break;
		}
		}
	}
	free(s.shadow);
	free(s.cq);
	return 0;
}
