/* SPDX-License-Identifier: MIT */
/*
 * The shared NVMe headers compiled as CUDA device code: a kernel builds a
 * read command into a submission ring, rings the doorbell and reaps one
 * completion with the same functions the host driver uses.
 */
#include <aisio/nvme_ring.h>
#include <aisio/nvme_spec.h>

#include "nvme/cmd.h"

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
