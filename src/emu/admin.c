/* SPDX-License-Identifier: MIT */
/*
 * Admin commands. They run on controller thread 0, which also owns the
 * queue tables; changes to I/O queues served by other threads are published
 * through c->qgen and confirmed by emu_quiesce().
 */
#include <stdio.h>

#include "emu/priv.h"

#define ST(sc) emu_status((sc), 1)

static const uint32_t feat_default_tbl[0x10] = {
	[AISIO_NVME_FEAT_ARBITRATION] = 0,   [AISIO_NVME_FEAT_POWER_MGMT] = 0,
	[AISIO_NVME_FEAT_TEMP_THRESH] = 343, /* Kelvin */
	[AISIO_NVME_FEAT_ERR_RECOVERY] = 0,  [AISIO_NVME_FEAT_VOLATILE_WC] = 1,
	[AISIO_NVME_FEAT_IRQ_COALESCE] = 0,  [AISIO_NVME_FEAT_WRITE_ATOMIC] = 0,
	[AISIO_NVME_FEAT_ASYNC_EVENT] = 0,
};

/* Features kept as stored values (changeable, not saveable). */
static int feat_stored(uint32_t fid)
{
	switch (fid) {
	case AISIO_NVME_FEAT_ARBITRATION:
	case AISIO_NVME_FEAT_POWER_MGMT:
	case AISIO_NVME_FEAT_TEMP_THRESH:
	case AISIO_NVME_FEAT_ERR_RECOVERY:
	case AISIO_NVME_FEAT_VOLATILE_WC:
	case AISIO_NVME_FEAT_IRQ_COALESCE:
	case AISIO_NVME_FEAT_WRITE_ATOMIC:
	case AISIO_NVME_FEAT_ASYNC_EVENT:
		return 1;
	}
	return 0;
}

static uint32_t feat_default(struct aisio_emu_ctrl *c, uint32_t fid)
{
	if (fid == AISIO_NVME_FEAT_NUM_QUEUES)
		return AISIO_NVME_FEAT_NUM_QUEUES_VAL(c->nq, c->nq);
	return feat_default_tbl[fid];
}

void emu_admin_reset(struct aisio_emu_ctrl *c)
{
	for (uint32_t f = 0; f < 0x10; f++)
		c->feat[f] = feat_default(c, f);
	c->naer = 0; /* pending Asynchronous Event Requests vanish with the admin queue */
	c->aer_masked = 0;
	EMU_STORE(&c->aer_event, 0);
}

void emu_error_record(struct aisio_emu_ctrl *c, uint16_t sqid, const struct aisio_nvme_sqe *cmd,
		      uint32_t status)
{
	struct aisio_nvme_error_log *e;

	pthread_mutex_lock(&c->lock);
	c->err_count++;
	e = &c->errlog[c->err_count % EMU_ERRLOG_ENTRIES];
	memset(e, 0, sizeof(*e));
	e->error_count = c->err_count;
	e->sqid = sqid;
	e->cid = cmd->cid;
	e->status_field = (uint16_t)status;
	e->parm_error_location = 0xffff;
	if (sqid)
		e->lba = cmd->cdw10 | (uint64_t)cmd->cdw11 << 32;
	e->nsid = cmd->nsid;
	pthread_mutex_unlock(&c->lock);
}

/*
 * Thread 0: complete one pending AER with the error event (Invalid Doorbell
 * Write Value, Error log). Further error events stay masked until the host
 * reads the Error log. Returns 1 if a completion was posted.
 */
int emu_aer_post(struct aisio_emu_ctrl *c)
{
	struct emu_sq *sq = &c->sqs[0];
	struct emu_cq *cq = &c->cqs[0];
	struct aisio_nvme_cqe e;
	uint32_t h;

	if (!EMU_LOADR(&c->aer_event) || c->aer_masked || !c->naer || !EMU_LOADR(&cq->active))
		return 0;
	h = __atomic_load_n(cq->db, __ATOMIC_RELAXED);
	if (h < cq->depth)
		cq->host_head = h;
	if (aisio_ring_space(cq->host_head, cq->tail, cq->depth) <= cq->owed)
		return 0;
	memset(&e, 0, sizeof(e));
	e.dw0 = AISIO_NVME_AER_TYPE_ERROR | 1u << 8 | (uint32_t)AISIO_NVME_LOG_ERROR << 16;
	e.cid = c->aer_cid[--c->naer];
	e.sqid = 0;
	cq->owed++;
	emu_cq_post(cq, &e, sq->head);
	c->aer_masked = 1;
	EMU_STORE(&c->aer_event, 0);
	return 1;
}

/* ---- Identify ----------------------------------------------------------- */

static void str_pad(char *dst, size_t n, const char *src)
{
	size_t l = strlen(src);

	memset(dst, ' ', n);
	memcpy(dst, src, l < n ? l : n);
}

static void id_ctrl(struct aisio_emu_ctrl *c, struct aisio_nvme_id_ctrl *id)
{
	char sn[24];

	snprintf(sn, sizeof(sn), "AISIOEMU%08u", c->index);
	id->vid = AISIO_EMU_PCI_VID;
	id->ssvid = AISIO_EMU_PCI_VID;
	str_pad(id->sn, sizeof(id->sn), sn);
	str_pad(id->mn, sizeof(id->mn), "aisio NVMe device model");
	str_pad(id->fr, sizeof(id->fr), "0.1");
	id->rab = 6;
	id->mdts = (uint8_t)c->o.mdts;
	id->cntlid = (uint16_t)c->index;
	id->ver = c->vs;
	id->cntrltype = 1; /* I/O controller */
	id->acl = 3;
	id->aerl = EMU_MAX_AER - 1;
	id->frmw = 0x3; /* one slot, slot 1 read-only */
	id->elpe = EMU_ERRLOG_ENTRIES - 1;
	id->wctemp = 343;
	id->cctemp = 373;
	aisio_nvme_u128_set(id->tnvmcap, c->store_len);
	id->sqes = 0x66;
	id->cqes = 0x44;
	id->nn = c->nns;
	id->oncs = AISIO_NVME_ONCS_COMPARE | AISIO_NVME_ONCS_DSM | AISIO_NVME_ONCS_WRITE_ZEROES;
	id->vwc = 0x07; /* present; Flush with NSID FFFFFFFFh supported */
	id->sgls = 1;	/* SGLs for I/O commands, no alignment requirement */
	snprintf(id->subnqn, sizeof(id->subnqn), "nqn.2026-11.io.aisio:emu:%u", c->index);
	id->psd[0].mp = 2500; /* 25 W in centiwatts */
}

static void ns_uuid(struct aisio_emu_ctrl *c, uint32_t nsid, uint8_t out[16])
{
	static const uint8_t base[16] = { 0xa1, 0x51, 0x0e, 0x30, 0x4e, 0x4d, 0x45, 0x40,
					  0x80, 0x00, 0,    0,	  0,	0,    0,    0 };

	memcpy(out, base, 16);
	for (int i = 0; i < 4; i++)
		out[10 + i] = (uint8_t)(c->index >> (8 * (3 - i)));
	out[14] = (uint8_t)(nsid >> 8);
	out[15] = (uint8_t)nsid;
}

static void id_ns(struct aisio_emu_ctrl *c, const struct emu_ns *ns, struct aisio_nvme_id_ns *id)
{
	id->nsze = ns->nlbas;
	id->ncap = ns->nlbas;
	id->nuse = ns->nlbas;
	id->nlbaf = 0;
	id->flbas = 0;
	id->dlfeat = 0x09; /* deallocated blocks read as zeroes; Write Zeroes may deallocate */
	aisio_nvme_u128_set(id->nvmcap, ns->nlbas << ns->lba_shift);
	ns_uuid(c, ns->nsid, id->nguid);
	id->lbaf[0].lbads = (uint8_t)ns->lba_shift;
}

static uint32_t cmd_identify(struct aisio_emu_ctrl *c, const struct aisio_nvme_sqe *cmd)
{
	union {
		struct aisio_nvme_id_ctrl ctrl;
		struct aisio_nvme_id_ns ns;
		struct aisio_nvme_ns_list list;
		uint8_t raw[4096];
	} u;
	uint32_t cns = cmd->cdw10 & 0xff, nsid = cmd->nsid;

	memset(&u, 0, sizeof(u));
	switch (cns) {
	case AISIO_NVME_CNS_NS:
		if (!nsid || nsid > c->nns)
			return ST(AISIO_NVME_SC_INVALID_NS);
		id_ns(c, &c->ns[nsid - 1], &u.ns);
		break;
	case AISIO_NVME_CNS_CTRL:
		id_ctrl(c, &u.ctrl);
		break;
	case AISIO_NVME_CNS_NS_ACTIVE_LIST: {
		uint32_t k = 0;

		if (nsid >= 0xfffffffeu)
			return ST(AISIO_NVME_SC_INVALID_NS);
		for (uint32_t i = nsid + 1; i <= c->nns && k < 1024; i++)
			u.list.nsid[k++] = i;
		break;
	}
	case AISIO_NVME_CNS_NS_DESC_LIST:
		if (!nsid || nsid > c->nns)
			return ST(AISIO_NVME_SC_INVALID_NS);
		/* UUID (type 3, 16 bytes), then Command Set Identifier (type 4, 1 byte: NVM) */
		u.raw[0] = 3;
		u.raw[1] = 16;
		ns_uuid(c, nsid, &u.raw[4]);
		u.raw[20] = 4;
		u.raw[21] = 1;
		u.raw[24] = 0;
		break;
	default:
		return ST(AISIO_NVME_SC_INVALID_FIELD);
	}
	return emu_xfer_sync(c, cmd, u.raw, sizeof(u.raw), 1, 0);
}

/* ---- Queues ------------------------------------------------------------- */

static uint32_t cmd_create_cq(struct aisio_emu_ctrl *c, const struct aisio_nvme_sqe *cmd)
{
	uint32_t qid = cmd->cdw10 & 0xffff, qsize = cmd->cdw10 >> 16;
	uint32_t flags = cmd->cdw11 & 0xffff, iv = cmd->cdw11 >> 16;
	uint64_t prp1 = cmd->dptr.prp.prp1;
	struct emu_cq *cq;
	void *ring;

	if (!qid || qid > c->nq || EMU_LOADR(&c->cqs[qid].active))
		return ST(AISIO_NVME_SC_QID_INVALID);
	if (!qsize || qsize > aisio_nvme_cap_mqes(c->cap))
		return ST(AISIO_NVME_SC_QUEUE_SIZE);
	if (prp1 & ((1ull << c->page_shift) - 1))
		return ST(AISIO_NVME_SC_PRP_INVALID_OFFSET);
	if ((!(flags & AISIO_NVME_CQ_IRQ_ENABLED) && iv) || iv > c->nq)
		return ST(AISIO_NVME_SC_INVALID_VECTOR);
	if (!(flags & AISIO_NVME_QUEUE_PHYS_CONTIG))
		return ST(AISIO_NVME_SC_INVALID_FIELD);
	ring = emu_map(c, prp1, (size_t)(qsize + 1) * sizeof(struct aisio_nvme_cqe));
	if (!ring)
		return ST(AISIO_NVME_SC_INVALID_FIELD);
	cq = &c->cqs[qid];
	cq->qid = (uint16_t)qid;
	cq->depth = qsize + 1;
	cq->ring = ring;
	cq->bus = prp1;
	cq->tail = 0;
	cq->phase = 1;
	cq->host_head = 0;
	cq->owed = 0;
	cq->nsq = 0;
	cq->db = (volatile uint32_t *)((uint8_t *)c->bar + aisio_nvme_db_offset(qid, 1, 0));
	*cq->db = 0;
	cq->worker = (qid - 1) % c->nworkers;
	EMU_STORE(&cq->active, 1);
	c->qs_created = 1;
	return 0;
}

static uint32_t cmd_create_sq(struct aisio_emu_ctrl *c, const struct aisio_nvme_sqe *cmd)
{
	uint32_t qid = cmd->cdw10 & 0xffff, qsize = cmd->cdw10 >> 16;
	uint32_t flags = cmd->cdw11 & 0xffff, cqid = cmd->cdw11 >> 16;
	uint64_t prp1 = cmd->dptr.prp.prp1;
	struct emu_sq *sq;
	void *ring;

	if (!cqid || cqid > c->nq || !EMU_LOADR(&c->cqs[cqid].active))
		return ST(AISIO_NVME_SC_CQ_INVALID);
	if (!qid || qid > c->nq || EMU_LOADR(&c->sqs[qid].active))
		return ST(AISIO_NVME_SC_QID_INVALID);
	if (!qsize || qsize > aisio_nvme_cap_mqes(c->cap))
		return ST(AISIO_NVME_SC_QUEUE_SIZE);
	if (prp1 & ((1ull << c->page_shift) - 1))
		return ST(AISIO_NVME_SC_PRP_INVALID_OFFSET);
	if (!(flags & AISIO_NVME_QUEUE_PHYS_CONTIG))
		return ST(AISIO_NVME_SC_INVALID_FIELD);
	ring = emu_map(c, prp1, (size_t)(qsize + 1) * sizeof(struct aisio_nvme_sqe));
	if (!ring)
		return ST(AISIO_NVME_SC_INVALID_FIELD);
	sq = &c->sqs[qid];
	sq->qid = (uint16_t)qid;
	sq->cqid = (uint16_t)cqid;
	sq->depth = qsize + 1;
	sq->head = 0;
	sq->bad_db = ~0u;
	sq->ring = ring;
	sq->bus = prp1;
	sq->db = (volatile uint32_t *)((uint8_t *)c->bar + aisio_nvme_db_offset(qid, 0, 0));
	*sq->db = 0;
	sq->cq = &c->cqs[cqid];
	sq->cq->nsq++;
	EMU_STORE(&sq->active, 1);
	__atomic_add_fetch(&c->qgen, 1, __ATOMIC_RELEASE);
	c->qs_created = 1;
	return 0;
}

static uint32_t cmd_delete_sq(struct aisio_emu_ctrl *c, const struct aisio_nvme_sqe *cmd)
{
	uint32_t qid = cmd->cdw10 & 0xffff;
	struct emu_sq *sq;

	if (!qid || qid > c->nq || !EMU_LOADR(&c->sqs[qid].active))
		return ST(AISIO_NVME_SC_QID_INVALID);
	sq = &c->sqs[qid];
	/* commands not fetched yet are dropped, delayed completions too */
	__atomic_add_fetch(&sq->gen, 1, __ATOMIC_RELEASE);
	EMU_STORE(&sq->active, 0);
	__atomic_add_fetch(&c->qgen, 1, __ATOMIC_RELEASE);
	emu_quiesce(c);
	/* no copy for a fetched command of this queue is still running afterwards */
	emu_dma_flush(c);
	sq->cq->nsq--;
	return 0;
}

static uint32_t cmd_delete_cq(struct aisio_emu_ctrl *c, const struct aisio_nvme_sqe *cmd)
{
	uint32_t qid = cmd->cdw10 & 0xffff;
	struct emu_cq *cq;

	if (!qid || qid > c->nq || !EMU_LOADR(&c->cqs[qid].active))
		return ST(AISIO_NVME_SC_QID_INVALID);
	cq = &c->cqs[qid];
	if (cq->nsq)
		return ST(AISIO_NVME_SC_QUEUE_DELETION);
	__atomic_add_fetch(&cq->gen, 1, __ATOMIC_RELEASE);
	EMU_STORE(&cq->active, 0);
	emu_quiesce(c);
	return 0;
}

/* ---- Features ----------------------------------------------------------- */

static uint32_t cmd_set_features(struct aisio_emu_ctrl *c, const struct aisio_nvme_sqe *cmd,
				 uint32_t *dw0)
{
	uint32_t fid = cmd->cdw10 & 0xff, save = cmd->cdw10 >> 31, v = cmd->cdw11;

	if (save)
		return ST(AISIO_NVME_SC_FEATURE_NOT_SAVEABLE);
	if (fid == AISIO_NVME_FEAT_NUM_QUEUES) {
		if (c->qs_created)
			return ST(AISIO_NVME_SC_CMD_SEQ_ERROR);
		if ((v & 0xffff) == 0xffff || (v >> 16) == 0xffff)
			return ST(AISIO_NVME_SC_INVALID_FIELD);
		/* like QEMU: every supported queue is allocated, whatever was asked */
		*dw0 = c->feat[fid];
		return 0;
	}
	if (fid == AISIO_NVME_FEAT_IRQ_CONFIG) {
		if ((v & 0xffff) > c->nq)
			return ST(AISIO_NVME_SC_INVALID_FIELD);
		return 0;
	}
	if (!feat_stored(fid))
		return ST(AISIO_NVME_SC_INVALID_FIELD);
	if (fid == AISIO_NVME_FEAT_VOLATILE_WC)
		v &= 1;
	if (fid == AISIO_NVME_FEAT_ARBITRATION)
		v &= 0xffffff07;
	c->feat[fid] = v;
	return 0;
}

static uint32_t cmd_get_features(struct aisio_emu_ctrl *c, const struct aisio_nvme_sqe *cmd,
				 uint32_t *dw0)
{
	uint32_t fid = cmd->cdw10 & 0xff, sel = (cmd->cdw10 >> 8) & 7;

	if (fid != AISIO_NVME_FEAT_NUM_QUEUES && fid != AISIO_NVME_FEAT_IRQ_CONFIG &&
	    !feat_stored(fid))
		return ST(AISIO_NVME_SC_INVALID_FIELD);
	switch (sel) {
	case AISIO_NVME_FEAT_SEL_CURRENT:
		if (fid == AISIO_NVME_FEAT_IRQ_CONFIG) {
			if ((cmd->cdw11 & 0xffff) > c->nq)
				return ST(AISIO_NVME_SC_INVALID_FIELD);
			*dw0 = cmd->cdw11 & 0xffff;
		} else {
			*dw0 = c->feat[fid];
		}
		return 0;
	case AISIO_NVME_FEAT_SEL_DEFAULT:
	case AISIO_NVME_FEAT_SEL_SAVED: /* nothing is saveable: saved == default */
		*dw0 = fid == AISIO_NVME_FEAT_IRQ_CONFIG ? (cmd->cdw11 & 0xffff) :
							   feat_default(c, fid);
		return 0;
	case AISIO_NVME_FEAT_SEL_SUPPORTED:
		*dw0 = fid == AISIO_NVME_FEAT_NUM_QUEUES ? 0 : 1u << 2; /* changeable */
		return 0;
	}
	return ST(AISIO_NVME_SC_INVALID_FIELD);
}

/* ---- Log pages ---------------------------------------------------------- */

static void smart_log(struct aisio_emu_ctrl *c, struct aisio_nvme_smart_log *s)
{
	struct aisio_emu_stats st;

	aisio_emu_ctrl_stats(c, &st);
	s->temperature[0] = 313 & 0xff; /* 40 C */
	s->temperature[1] = 313 >> 8;
	s->avail_spare = 100;
	s->spare_thresh = 10;
	/* data units: thousands of 512-byte units, rounded up */
	aisio_nvme_u128_set(s->data_units_read, (st.bytes_read / 512 + 999) / 1000);
	aisio_nvme_u128_set(s->data_units_written, (st.bytes_written / 512 + 999) / 1000);
	aisio_nvme_u128_set(s->host_reads, st.reads);
	aisio_nvme_u128_set(s->host_writes, st.writes);
	aisio_nvme_u128_set(s->power_cycles, 1);
	pthread_mutex_lock(&c->lock);
	aisio_nvme_u128_set(s->num_err_log_entries, c->err_count);
	pthread_mutex_unlock(&c->lock);
}

static void error_log(struct aisio_emu_ctrl *c, struct aisio_nvme_error_log *e)
{
	pthread_mutex_lock(&c->lock);
	/* newest first */
	for (uint64_t i = 0; i < EMU_ERRLOG_ENTRIES && i < c->err_count; i++)
		e[i] = c->errlog[(c->err_count - i) % EMU_ERRLOG_ENTRIES];
	pthread_mutex_unlock(&c->lock);
}

static uint32_t cmd_get_log_page(struct aisio_emu_ctrl *c, const struct aisio_nvme_sqe *cmd)
{
	union {
		struct aisio_nvme_error_log err[EMU_ERRLOG_ENTRIES];
		struct aisio_nvme_smart_log smart;
		uint8_t raw[EMU_ERRLOG_ENTRIES * 64];
	} u;
	uint32_t lid = cmd->cdw10 & 0xff;
	uint64_t numd = ((cmd->cdw10 >> 16) | (uint64_t)(cmd->cdw11 & 0xffff) << 16) + 1;
	uint64_t len = numd * 4, off = cmd->cdw12 | (uint64_t)cmd->cdw13 << 32;
	size_t size;

	if (c->mdts_bytes && len > c->mdts_bytes)
		return ST(AISIO_NVME_SC_INVALID_FIELD);
	if (off & 3)
		return ST(AISIO_NVME_SC_INVALID_FIELD);
	memset(&u, 0, sizeof(u));
	switch (lid) {
	case AISIO_NVME_LOG_ERROR:
		error_log(c, u.err);
		c->aer_masked = 0; /* reading the log unmasks error events */
		size = sizeof(u.err);
		break;
	case AISIO_NVME_LOG_SMART:
		smart_log(c, &u.smart);
		size = sizeof(u.smart);
		break;
	default:
		return ST(AISIO_NVME_SC_INVALID_LOG_PAGE);
	}
	if (off > size)
		return ST(AISIO_NVME_SC_INVALID_FIELD);
	if (len > size - off)
		len = size - off;
	return emu_xfer_sync(c, cmd, u.raw + off, (size_t)len, 1, 0);
}

/* ---- Dispatch ----------------------------------------------------------- */

uint32_t emu_admin_exec(struct emu_worker *w, struct emu_sq *sq, const struct aisio_nvme_sqe *cmd,
			uint32_t *dw0)
{
	struct aisio_emu_ctrl *c = w->c;

	/* admin commands carry PRPs only (SGLs are for I/O commands) */
	if (cmd->flags & AISIO_NVME_PSDT_MASK)
		return ST(AISIO_NVME_SC_INVALID_FIELD);
	switch (cmd->opc) {
	case AISIO_NVME_ADM_DELETE_SQ:
		return cmd_delete_sq(c, cmd);
	case AISIO_NVME_ADM_CREATE_SQ:
		return cmd_create_sq(c, cmd);
	case AISIO_NVME_ADM_GET_LOG_PAGE:
		return cmd_get_log_page(c, cmd);
	case AISIO_NVME_ADM_DELETE_CQ:
		return cmd_delete_cq(c, cmd);
	case AISIO_NVME_ADM_CREATE_CQ:
		return cmd_create_cq(c, cmd);
	case AISIO_NVME_ADM_IDENTIFY:
		return cmd_identify(c, cmd);
	case AISIO_NVME_ADM_ABORT:
		*dw0 = 1; /* command not aborted: it completes on its own */
		return 0;
	case AISIO_NVME_ADM_SET_FEATURES:
		return cmd_set_features(c, cmd, dw0);
	case AISIO_NVME_ADM_GET_FEATURES:
		return cmd_get_features(c, cmd, dw0);
	case AISIO_NVME_ADM_ASYNC_EVENT:
		if (c->naer >= EMU_MAX_AER)
			return ST(AISIO_NVME_SC_ASYNC_LIMIT);
		c->aer_cid[c->naer++] = cmd->cid;
		return EMU_NO_CQE; /* completes when an event occurs; the model raises none */
	}
	return ST(AISIO_NVME_SC_INVALID_OPCODE);
}
