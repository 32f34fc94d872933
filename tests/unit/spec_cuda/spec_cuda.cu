/* SPDX-License-Identifier: MIT */
/*
 * The shared NVMe headers compiled as CUDA device code: a kernel builds a
 * read command into a submission ring, rings the doorbell and reaps one
 * completion with the same functions the host driver uses; another stores a
 * hash of the bytes they put on the wire, which check.sh compares with the
 * host's; static asserts check the layout in the device pass.
 */
#include <stddef.h>

#include <aisio/nvme_ring.h>
#include <aisio/nvme_spec.h>

#include "nvme/cmd.h"
#include "sqe_hash.h"

__global__ void aisio_spec_cuda_kernel(struct aisio_nvme_sq *sq, struct aisio_nvme_cq *cq,
				       uint64_t buf_bus, uint32_t *status)
{
	if (aisio_nvme_sq_space(sq) == 0)
		return;
	struct aisio_nvme_sqe *c = aisio_nvme_sq_slot(sq);
	aisio_nvme_cmd_read(c, 1, blockIdx.x, 8);
	c->cid = (uint16_t)threadIdx.x;
	c->dptr.prp.prp1 = aisio_cpu_to_le64(buf_bus);
	aisio_nvme_sq_advance(sq);
	__threadfence_system();
	aisio_nvme_sq_ring_db(sq);

	volatile struct aisio_nvme_cqe *e;
	while (!(e = aisio_nvme_cq_peek(cq)))
		;
	*status = aisio_nvme_cqe_code(e->status);
	sq->head = e->sqhd;
	aisio_nvme_cq_advance(cq);
	aisio_nvme_cq_ring_db(cq);
	(void)aisio_nvme_db_offset(cq->qid, 1, aisio_nvme_cap_dstrd(0));
}

/* The wire bytes built on the device; check.sh compares them with the host's. */
__global__ void aisio_spec_cuda_sqe_hash(unsigned long long *out)
{
	*out = spec_cuda_sqe_hash();
}

#ifdef __CUDA_ARCH__
/* Layout as the device compiler sees it (the headers assert the same in both passes). */
static_assert(sizeof(struct aisio_nvme_sqe) == 64, "SQE is 64 bytes on the device");
static_assert(sizeof(struct aisio_nvme_cqe) == 16, "CQE is 16 bytes on the device");
static_assert(offsetof(struct aisio_nvme_sqe, dptr) == 24, "DPTR at byte 24 on the device");
static_assert(offsetof(struct aisio_nvme_sqe, cdw10) == 40, "CDW10 at byte 40 on the device");
static_assert(offsetof(struct aisio_nvme_cqe, status) == 14, "CQE status at byte 14 on the device");
#ifdef AISIO_SPEC_CUDA_WRONG_LAYOUT
/* check.sh builds this once to prove that a wrong layout stops the device build. */
static_assert(offsetof(struct aisio_nvme_sqe, cdw10) == 44, "wrong layout on purpose");
#endif
#endif
