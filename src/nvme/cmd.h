/* SPDX-License-Identifier: MIT */
/*
 * NVMe command builders: fill an SQE from typed arguments. CID and the data
 * pointer (PRP/SGL) are left to the submitter. Usable from host C and CUDA.
 */
#ifndef AISIO_NVME_CMD_H
#define AISIO_NVME_CMD_H

#include <aisio/nvme_spec.h>

#if defined(__CUDACC__)
#define AISIO_CMD_FN static __host__ __device__ __forceinline__
#else
#define AISIO_CMD_FN static inline
#endif

AISIO_CMD_FN void aisio_nvme_cmd_clear(struct aisio_nvme_sqe *c)
{
	uint64_t *w = (uint64_t *)c;
	for (int i = 0; i < 8; i++)
		w[i] = 0;
}

AISIO_CMD_FN void aisio_nvme_cmd_rw(struct aisio_nvme_sqe *c, uint8_t opc, uint32_t nsid,
				    uint64_t slba, uint32_t nlb, uint32_t cdw12_flags)
{
	aisio_nvme_cmd_clear(c);
	c->opc = opc;
	c->nsid = nsid;
	c->cdw10 = (uint32_t)slba;
	c->cdw11 = (uint32_t)(slba >> 32);
	c->cdw12 = ((nlb - 1) & 0xffff) | cdw12_flags; /* NLB is 0's based */
}

AISIO_CMD_FN void aisio_nvme_cmd_read(struct aisio_nvme_sqe *c, uint32_t nsid, uint64_t slba, uint32_t nlb)
{
	aisio_nvme_cmd_rw(c, AISIO_NVME_NVM_READ, nsid, slba, nlb, 0);
}

AISIO_CMD_FN void aisio_nvme_cmd_write(struct aisio_nvme_sqe *c, uint32_t nsid, uint64_t slba, uint32_t nlb)
{
	aisio_nvme_cmd_rw(c, AISIO_NVME_NVM_WRITE, nsid, slba, nlb, 0);
}

AISIO_CMD_FN void aisio_nvme_cmd_compare(struct aisio_nvme_sqe *c, uint32_t nsid, uint64_t slba, uint32_t nlb)
{
	aisio_nvme_cmd_rw(c, AISIO_NVME_NVM_COMPARE, nsid, slba, nlb, 0);
}

AISIO_CMD_FN void aisio_nvme_cmd_write_zeroes(struct aisio_nvme_sqe *c, uint32_t nsid, uint64_t slba,
					      uint32_t nlb, int deallocate)
{
	aisio_nvme_cmd_rw(c, AISIO_NVME_NVM_WRITE_ZEROES, nsid, slba, nlb, deallocate ? (uint32_t)AISIO_NVME_WZ_DEAC : 0u);
}

AISIO_CMD_FN void aisio_nvme_cmd_flush(struct aisio_nvme_sqe *c, uint32_t nsid)
{
	aisio_nvme_cmd_clear(c);
	c->opc = AISIO_NVME_NVM_FLUSH;
	c->nsid = nsid;
}

/* @nr ranges (1..256); the range array is the data buffer. */
AISIO_CMD_FN void aisio_nvme_cmd_dsm(struct aisio_nvme_sqe *c, uint32_t nsid, uint32_t nr, uint32_t attrs)
{
	aisio_nvme_cmd_clear(c);
	c->opc = AISIO_NVME_NVM_DSM;
	c->nsid = nsid;
	c->cdw10 = (nr - 1) & 0xff;
	c->cdw11 = attrs;
}

AISIO_CMD_FN void aisio_nvme_cmd_identify(struct aisio_nvme_sqe *c, uint8_t cns, uint32_t nsid, uint16_t cntid)
{
	aisio_nvme_cmd_clear(c);
	c->opc = AISIO_NVME_ADM_IDENTIFY;
	c->nsid = nsid;
	c->cdw10 = cns | ((uint32_t)cntid << 16);
}

/* Virtualization Management: action @act (AISIO_NVME_VIRT_ACT_*) of @nr
 * resources of type @rt (AISIO_NVME_VIRT_RT_*) on controller @cntlid.
 * Completion dword 0 carries the number of resources allocated or assigned. */
AISIO_CMD_FN void aisio_nvme_cmd_virt_mgmt(struct aisio_nvme_sqe *c, uint8_t act, uint8_t rt,
					   uint16_t cntlid, uint16_t nr)
{
	aisio_nvme_cmd_clear(c);
	c->opc = AISIO_NVME_ADM_VIRT_MGMT;
	c->cdw10 = (act & 0xfu) | ((uint32_t)(rt & 0x7) << 8) | ((uint32_t)cntlid << 16);
	c->cdw11 = nr;
}

/* Namespace Attachment: @sel (AISIO_NVME_NS_ATTACH_SEL_*) namespace @nsid
 * to or from the controllers of the Controller List that is the data buffer. */
AISIO_CMD_FN void aisio_nvme_cmd_ns_attach(struct aisio_nvme_sqe *c, uint32_t nsid, uint8_t sel)
{
	aisio_nvme_cmd_clear(c);
	c->opc = AISIO_NVME_ADM_NS_ATTACH;
	c->nsid = nsid;
	c->cdw10 = sel & 0xfu;
}

AISIO_CMD_FN void aisio_nvme_cmd_create_cq(struct aisio_nvme_sqe *c, uint16_t qid, uint32_t depth,
					   uint64_t cq_bus, int irq, uint16_t iv)
{
	aisio_nvme_cmd_clear(c);
	c->opc = AISIO_NVME_ADM_CREATE_CQ;
	c->dptr.prp.prp1 = cq_bus;
	c->cdw10 = qid | ((depth - 1) << 16);
	c->cdw11 = AISIO_NVME_QUEUE_PHYS_CONTIG | (irq ? AISIO_NVME_CQ_IRQ_ENABLED | ((uint32_t)iv << 16) : 0);
}

AISIO_CMD_FN void aisio_nvme_cmd_create_sq(struct aisio_nvme_sqe *c, uint16_t qid, uint32_t depth,
					   uint64_t sq_bus, uint16_t cqid)
{
	aisio_nvme_cmd_clear(c);
	c->opc = AISIO_NVME_ADM_CREATE_SQ;
	c->dptr.prp.prp1 = sq_bus;
	c->cdw10 = qid | ((depth - 1) << 16);
	c->cdw11 = AISIO_NVME_QUEUE_PHYS_CONTIG | ((uint32_t)cqid << 16);
}

AISIO_CMD_FN void aisio_nvme_cmd_delete_queue(struct aisio_nvme_sqe *c, uint8_t opc, uint16_t qid)
{
	aisio_nvme_cmd_clear(c);
	c->opc = opc; /* AISIO_NVME_ADM_DELETE_SQ or _CQ */
	c->cdw10 = qid;
}

/* @len in bytes (a multiple of 4); @offset in bytes. */
AISIO_CMD_FN void aisio_nvme_cmd_get_log_page(struct aisio_nvme_sqe *c, uint8_t lid, uint32_t nsid,
					      uint32_t len, uint64_t offset)
{
	uint32_t numd = len / 4 - 1;
	aisio_nvme_cmd_clear(c);
	c->opc = AISIO_NVME_ADM_GET_LOG_PAGE;
	c->nsid = nsid;
	c->cdw10 = lid | ((numd & 0xffff) << 16);
	c->cdw11 = numd >> 16;
	c->cdw12 = (uint32_t)offset;
	c->cdw13 = (uint32_t)(offset >> 32);
}

AISIO_CMD_FN void aisio_nvme_cmd_set_features(struct aisio_nvme_sqe *c, uint8_t fid, uint32_t nsid,
					      uint32_t dw11, int save)
{
	aisio_nvme_cmd_clear(c);
	c->opc = AISIO_NVME_ADM_SET_FEATURES;
	c->nsid = nsid;
	c->cdw10 = fid | (save ? 1u << 31 : 0);
	c->cdw11 = dw11;
}

AISIO_CMD_FN void aisio_nvme_cmd_get_features(struct aisio_nvme_sqe *c, uint8_t fid, uint32_t nsid, uint8_t sel)
{
	aisio_nvme_cmd_clear(c);
	c->opc = AISIO_NVME_ADM_GET_FEATURES;
	c->nsid = nsid;
	c->cdw10 = fid | ((uint32_t)(sel & 7) << 8);
}

AISIO_CMD_FN void aisio_nvme_cmd_abort(struct aisio_nvme_sqe *c, uint16_t sqid, uint16_t cid)
{
	aisio_nvme_cmd_clear(c);
	c->opc = AISIO_NVME_ADM_ABORT;
	c->cdw10 = sqid | ((uint32_t)cid << 16);
}

AISIO_CMD_FN void aisio_nvme_cmd_async_event(struct aisio_nvme_sqe *c)
{
	aisio_nvme_cmd_clear(c);
	c->opc = AISIO_NVME_ADM_ASYNC_EVENT;
}

#endif
