/* SPDX-License-Identifier: MIT */
/*
 * Host side of the GPU paths: GPU memory as DMA regions, the device model's
 * DMA into GPU memory, and GPU-resident NVMe queue pairs.
 *
 * Every function exists in every build; when aisio was built without CUDA
 * they return -ENOTSUP with a message that says so.
 */
#ifndef AISIO_GPU_GPU_H
#define AISIO_GPU_GPU_H

#include <stddef.h>
#include <stdint.h>

#include <aisio/cuda.h>

#include "mem/region.h"

struct aisio_dev;
struct aisio_emu_ctrl;
struct aisio_emu_dma;
struct aisio_homi_conn;
struct aisio_nvme_ctrl;
struct aisio_pcif;

/** aisio_gpu_built - 1 when this aisio was built with CUDA, else 0. */
int aisio_gpu_built(void);

/**
 * aisio_gpu_count - number of usable GPUs in @n. Returns 0, -ENOTSUP (built
 * without CUDA), -ENODEV (no driver or no GPU; the message says which).
 */
int aisio_gpu_count(int *n);

/** aisio_gpu_name - the model name of GPU @gpu (e.g. "NVIDIA H100 80GB HBM3"); "" on error. */
const char *aisio_gpu_name(int gpu);

/**
 * aisio_gpu_select - make @gpu current for this thread. Returns 0, -ENODEV
 * (no such GPU), -ENOTSUP.
 */
int aisio_gpu_select(int gpu);

/* ---- GPU memory regions (the GPU heap) ---------------------------------- */

/**
 * aisio_gpu_region_alloc - @len bytes of memory of GPU @gpu (cuMemAlloc),
 * exported as a dma-buf (cuMemGetHandleForAddressRange). When the dma-buf
 * importer is loaded the bus addresses are its DMA segments; otherwise they
 * are the GPU virtual addresses, which is what the device model takes
 * (its DMA provider, aisio_gpu_emu_dma_*, recognises them). The region's
 * kind is AISIO_MEM_GPU; its memory is not CPU-accessible.
 * Returns 0, -EINVAL (len 0), -ENODEV, -ENOMEM (GPU memory), -ENOTSUP, or
 * the importer's error.
 */
int aisio_gpu_region_alloc(int gpu, size_t len, struct aisio_mem_region **out);

/* The dma-buf fd the region was exported as (-1 when the export failed). */
int aisio_gpu_region_dmabuf_fd(const struct aisio_mem_region *r);

/**
 * aisio_gpu_host_alloc - @len bytes of pinned host memory mapped into every
 * GPU, zeroed. *@host is the CPU pointer, *@dev the GPU's. Identity bus
 * addresses (the device model reaches it directly).
 * Returns 0, -ENOMEM, -ENOTSUP, -ENODEV.
 */
int aisio_gpu_host_alloc(size_t len, void **host, void **dev);
void aisio_gpu_host_free(void *host);

/**
 * aisio_gpu_map_host - make existing host memory (a model's BAR0) visible to
 * the GPU: pin and map [@p, @p + @len) rounded out to pages; *@dev is the
 * GPU address of @p. Returns 0, -EINVAL, -EBUSY (already registered), -ENOTSUP.
 */
int aisio_gpu_map_host(volatile void *p, size_t len, void **dev);
void aisio_gpu_unmap_host(volatile void *p);
/* Like aisio_gpu_map_host for device memory mapped here (a PCI BAR: cudaHostRegisterIoMemory). */
int aisio_gpu_map_io(volatile void *p, size_t len, void **dev);

/* ---- The device model's DMA into GPU memory ----------------------------- */

struct aisio_gpu_dma;

/**
 * aisio_gpu_dma_create - a DMA provider for device-model controllers on
 * this host: host addresses map directly; addresses inside GPU ranges added
 * with aisio_gpu_dma_add_gpu() are moved by the GPU's copy engines, queued
 * per command and issued as one batch per doorbell (flush). Its ops take
 * the controller's namespace store (store_add): registered with CUDA by
 * chunks, so that copies between it and GPU memory skip the staging
 * buffers (src/gpu/emu_dma.c says when they still do not).
 * Returns 0, -ENOMEM, -ENOTSUP, -ENODEV, -EINVAL (AISIO_GPU_DIRECT_CHUNK).
 */
int aisio_gpu_dma_create(int gpu, struct aisio_gpu_dma **out);
/* With AISIO_GPU_DMA_REPORT set, writes its counters (aisio_gpu_dma_stats) on one stderr line. */
void aisio_gpu_dma_destroy(struct aisio_gpu_dma *d);
/* Add GPU memory [va, va + len) (a region's bus range). Returns 0, -ENOSPC. */
int aisio_gpu_dma_add_gpu(struct aisio_gpu_dma *d, uint64_t va, size_t len);
/*
 * aisio_gpu_dma_remove_gpu - withdraw the GPU range that starts at @va and
 * wait for every copy queued or running (into any range): when it returns,
 * the memory may be freed. Later copies there fail (-EFAULT: Data Transfer
 * Error). Returns 0 or -ENOENT.
 */
int aisio_gpu_dma_remove_gpu(struct aisio_gpu_dma *d, uint64_t va);
/*
 * aisio_gpu_dma_set_host_map - resolve host (non-GPU) bus addresses with
 * @map instead of identity: for a model whose host memory is a table of
 * live ranges (homid: aisio_emu_dma_ranges_map with the controller as
 * @ctx, and the ops' .ranges = 1). Set it before the controller is enabled.
 */
void aisio_gpu_dma_set_host_map(struct aisio_gpu_dma *d, void *(*map)(void *ctx, uint64_t bus, size_t len),
				void *ctx);
/* The ops to put in struct aisio_emu_opts.dma (valid until destroy). */
const struct aisio_emu_dma *aisio_gpu_dma_ops(struct aisio_gpu_dma *d);

struct aisio_gpu_dma_stats {
	uint64_t copies;  /* data copies queued */
	uint64_t batches; /* flushes that issued copies */
	uint64_t bytes;
	uint64_t failed;  /* batches whose copies failed */
	uint64_t faults;  /* copies straddling the end of a GPU range */
	int last_err;     /* CUDA error of the last failed batch */
	int batch_api;    /* cudaMemcpyBatchAsync in use */
	/* copies straight between a registered namespace store and GPU memory (no staging) */
	uint64_t direct_copies;
	uint64_t direct_bytes;
	uint64_t reg_chunks;  /* store chunks registered with CUDA */
	uint64_t reg_bytes;
	uint64_t reg_refused; /* chunks CUDA refused to register (their copies staged) */
	uint64_t reg_ns;      /* time spent registering */
};
void aisio_gpu_dma_stats(struct aisio_gpu_dma *d, struct aisio_gpu_dma_stats *st);

/**
 * aisio_gpu_emu_pcif_open - a PCI function over a device-model controller
 * created with its own DMA ops (aisio_emu_pcif_open() accepts only identity
 * DMA): BAR0 is the register file, DMA memory is identity-mapped host
 * memory. Close does not destroy the controller. Returns 0, -ENOMEM.
 */
int aisio_gpu_emu_pcif_open(struct aisio_emu_ctrl *c, struct aisio_pcif **out);

/* ---- GPU memory shared between processes (CUDA IPC) -------------------- */

/* Bytes of a CUDA IPC handle (cudaIpcMemHandle_t), as AISIO_HOMI_GPU_HANDLE_LEN. */
#define AISIO_GPU_IPC_HANDLE_LEN 64

/**
 * aisio_gpu_ipc_export - the CUDA IPC handle of the allocation that starts
 * at GPU address @ptr (cudaMalloc), and in *@alloc_len its size. Returns 0,
 * -EINVAL (@ptr is not the start of a GPU allocation), -ENOTSUP, -ENODEV.
 */
int aisio_gpu_ipc_export(void *ptr, uint8_t handle[AISIO_GPU_IPC_HANDLE_LEN], size_t *alloc_len);
/**
 * aisio_gpu_ipc_open - open another process's allocation by @handle in this
 * process's context of GPU @gpu; *@ptr is its start here. The allocation
 * must hold at least @len bytes. Returns 0, -EINVAL (the handle cannot be
 * opened: not a live allocation of a process on this host; or it is
 * shorter than @len), -ENODEV, -ENOTSUP. Opening one handle again is
 * counted by CUDA and gives the same address; close each open once.
 */
int aisio_gpu_ipc_open(int gpu, const uint8_t handle[AISIO_GPU_IPC_HANDLE_LEN], size_t len, void **ptr);
/* Close what aisio_gpu_ipc_open opened (after no copy can reach it any more). */
void aisio_gpu_ipc_close(void *ptr);
/**
 * aisio_gpu_homi_mem_reg - register the GPU allocation that starts at @ptr
 * (@len bytes of it) with homid for the session of homi: device @dev
 * (GPU_MEM_REG with its CUDA IPC handle): homid's model then moves data
 * straight into it. *@mem_id is for MEM_UNREG (aisio_gpu_homi_mem_unreg),
 * *@bus the device address of @ptr for PRPs. Returns 0, -EINVAL, -ENOTSUP,
 * or homid's error (its message in aisio_errmsg()).
 */
int aisio_gpu_homi_mem_reg(struct aisio_dev *dev, void *ptr, size_t len, uint32_t *mem_id, uint64_t *bus);
/* MEM_UNREG: after the session's queues are gone. Returns 0 or homid's error. */
int aisio_gpu_homi_mem_unreg(struct aisio_dev *dev, uint32_t mem_id);

/* ---- GPU-resident queue pairs ------------------------------------------- */

struct aisio_gpu_qp;

/**
 * aisio_gpu_qp_create - an I/O queue pair on controller @c driven by GPU
 * @gpu: rings of @depth entries (2..CAP.MQES + 1), @ncid CIDs (< depth;
 * 0 = depth - 1), the controller's BAR0 mapped into the GPU, and the
 * struct aisio_cuda_qp in GPU memory. Returns 0, -EINVAL, -ENOMEM,
 * -ENOTSUP, or the driver's error (-EBUSY: no QID left).
 */
int aisio_gpu_qp_create(struct aisio_nvme_ctrl *c, int gpu, uint32_t depth, uint32_t ncid,
			struct aisio_gpu_qp **out);
/**
 * aisio_gpu_qp_create_homi - the same for a GPU client of homid: @dev was
 * opened with a homi: URI (direct mode). The rings go in shared memory
 * registered with homid (MEM_REG) and mapped into the GPU, homid creates
 * the hardware queues on them (QP_CREATE), and the session's doorbell page
 * is mapped into the GPU (as I/O memory when homid's controller is a PCI
 * function). Deleting it sends QP_DELETE before the memory is released.
 * Returns 0, -EINVAL, -ENOTSUP (mediated session), -ENOMEM, homid's error.
 */
int aisio_gpu_qp_create_homi(struct aisio_dev *dev, int gpu, uint32_t depth, uint32_t ncid,
			     struct aisio_gpu_qp **out);
void aisio_gpu_qp_delete(struct aisio_gpu_qp *q);
/*
 * aisio_gpu_qp_stop - for a homid queue, have homid delete the hardware
 * queues now (QP_DELETE); aisio_gpu_qp_delete then releases the rest. homid
 * takes back registered memory only from a session with no queue left, so
 * a set stops all its queues before deleting any. No-op for other queues.
 */
void aisio_gpu_qp_stop(struct aisio_gpu_qp *q);
/* The GPU address of the queue's struct aisio_cuda_qp. */
struct aisio_cuda_qp *aisio_gpu_qp_dev(struct aisio_gpu_qp *q);
uint16_t aisio_gpu_qp_qid(const struct aisio_gpu_qp *q);
/* Copy the queue's GPU-side state (statistics) to @out. Returns 0 or -EIO. */
int aisio_gpu_qp_snapshot(struct aisio_gpu_qp *q, struct aisio_cuda_qp *out);

/* ---- The queues a kernel gets ------------------------------------------- */

struct aisio_gpu_qset;

/**
 * aisio_gpu_qset_create - every GPU queue a kernel needs, in one call:
 * @nq queue pairs (aisio_gpu_qp_create: rings both the GPU and the
 * controller reach, BAR0 mapped into the GPU, queues created by the
 * driver) for GPU @gpu, queue i on controller @ctrls[i % @nctrls], each of
 * @depth ring entries and @ncid CIDs, and the array of their struct
 * aisio_cuda_qp pointers in GPU memory that the kernel takes
 * (aisio_gpu_qset_dev). On error nothing is left behind.
 * Returns 0, -EINVAL, or the first queue's error (the message names it).
 */
int aisio_gpu_qset_create(struct aisio_nvme_ctrl *const *ctrls, int nctrls, int gpu, uint32_t nq, uint32_t depth,
			  uint32_t ncid, struct aisio_gpu_qset **out);
/* The same with queues from homid: queue i on the homi: device @devs[i % @ndevs]. */
int aisio_gpu_qset_create_homi(struct aisio_dev *const *devs, int ndevs, int gpu, uint32_t nq, uint32_t depth,
			       uint32_t ncid, struct aisio_gpu_qset **out);
void aisio_gpu_qset_delete(struct aisio_gpu_qset *s);
/* GPU memory: aisio_gpu_qset_count() pointers to the queues' struct aisio_cuda_qp. */
struct aisio_cuda_qp **aisio_gpu_qset_dev(struct aisio_gpu_qset *s);
uint32_t aisio_gpu_qset_count(const struct aisio_gpu_qset *s);
struct aisio_gpu_qp *aisio_gpu_qset_qp(struct aisio_gpu_qset *s, uint32_t i);

/* What the GPU did on the queues of a set, summed (struct aisio_cuda_qp's counters). */
struct aisio_gpu_qset_stats {
	uint64_t sq_db;   /* SQ doorbell writes */
	uint64_t cq_db;   /* CQ doorbell writes */
	uint64_t reaps;   /* reap passes that found the lock free */
	uint64_t empty;   /* of which found no new CQE */
	uint64_t bad_cid; /* CQEs whose CID was out of range */
};
/* Read the counters after a kernel. Returns 0 or -EIO. */
int aisio_gpu_qset_stats(struct aisio_gpu_qset *s, struct aisio_gpu_qset_stats *st);

#endif
