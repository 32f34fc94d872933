/* SPDX-License-Identifier: MIT */
/*
 * One value that depends on every byte the shared headers put on the wire: a
 * read command built with aisio_nvme_cmd_read(), its CID and PRP, a doorbell
 * offset and a decoded status, hashed (FNV-1a over 32-bit words). Compiled by
 * nvcc for the device and by cc for the host; the two results must be equal.
 */
#ifndef AISIO_TESTS_SPEC_CUDA_SQE_HASH_H
#define AISIO_TESTS_SPEC_CUDA_SQE_HASH_H

#include <string.h>

#include <aisio/nvme_ring.h>
#include <aisio/nvme_spec.h>

#include "nvme/cmd.h"

static inline AISIO_HD uint64_t spec_cuda_mix(uint64_t h, uint64_t v)
{
	return (h ^ v) * 0x100000001b3ull;
}

static inline AISIO_HD uint64_t spec_cuda_sqe_hash(void)
{
	struct aisio_nvme_sqe c;
	uint32_t w[sizeof(c) / 4];
	uint64_t h = 0xcbf29ce484222325ull;

	memset(&c, 0, sizeof(c));
	aisio_nvme_cmd_read(&c, 0x11223344u, 0x0123456789abcdefull, 8);
	c.cid = aisio_cpu_to_le16(0x5a5a);
	c.dptr.prp.prp1 = aisio_cpu_to_le64(0xfedcba9876543000ull);
	memcpy(w, &c, sizeof(w));
	for (unsigned i = 0; i < sizeof(w) / 4; i++)
		h = spec_cuda_mix(h, w[i]);
	h = spec_cuda_mix(h, sizeof(c));
	h = spec_cuda_mix(h, sizeof(struct aisio_nvme_cqe));
	h = spec_cuda_mix(h, aisio_nvme_db_offset(5, 1, 2));
	h = spec_cuda_mix(h, aisio_nvme_cqe_code(aisio_cpu_to_le16(0x0283)));
	return h;
}

#endif
