/* SPDX-License-Identifier: MIT */
/* aisio fil: GPU memory registered with homid (GPU_MEM_REG), for --path homi --mem gpu. */
#include "fil_gpu.h"
#include "gpu/gpu.h"

int fil_gpu_mem_reg(struct aisio_dev *dev, void *ptr, size_t len, uint32_t *mem_id, uint64_t *bus)
{
	return aisio_gpu_homi_mem_reg(dev, ptr, len, mem_id, bus);
}

int fil_gpu_mem_unreg(struct aisio_dev *dev, uint32_t mem_id)
{
	return aisio_gpu_homi_mem_unreg(dev, mem_id);
}
