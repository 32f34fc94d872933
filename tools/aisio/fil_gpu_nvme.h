/* SPDX-License-Identifier: MIT */
/* aisio fil run --path gpu-nvme: what the host passes to the GPU threads that read the files. */
#ifndef AISIO_TOOLS_FIL_GPU_NVME_H
#define AISIO_TOOLS_FIL_GPU_NVME_H

#include <stdint.h>

#include <aisio/cuda.h>

/* One extent of a file, in GPU memory: [off, off + len) of the file at namespace LBA lba. */
struct fgn_ext {
	uint64_t off;
	uint64_t len;
	uint64_t lba;
	uint32_t unwritten; /* reads as zeros: no command */
	uint32_t rsvd;
};

/* One file: where it lands and its extents, exts[ext_first .. ext_first + next). */
struct fgn_file {
	uint64_t dst_off;
	uint64_t size;
	uint32_t ext_first;
	uint32_t next;
};

/* One unit of work (struct fil_unit's layout): [off, off + len) of file @file. */
struct fgn_unit {
	uint32_t file;
	uint32_t len;
	uint64_t off;
};

/* What the GPU threads report (GPU memory, zeroed before the launch). */
struct fgn_res {
	unsigned long long next_unit; /* the shared cursor over units */
	unsigned long long units_done;
	unsigned long long bytes_done;
	unsigned long long cmds;
	unsigned long long errors;
	unsigned int stop;            /* set on the first error: nobody claims more */
	unsigned int first_status;    /* that error: NVMe status (SCT << 8 | SC) or 0x10000 | -errno */
	unsigned long long first_unit;
	unsigned long long first_lba;
};

struct fgn_params {
	struct aisio_cuda_qp **qps; /* one queue a block */
	uint32_t nq;
	uint32_t tpq;               /* threads a block (one command each, CID = thread index) */
	uint32_t nsid;
	uint32_t lba_shift;
	uint32_t page_shift;
	uint32_t max_cmd;           /* bytes a command at most (a multiple of the page size) */
	const struct fgn_unit *units;
	uint64_t nunits;
	const struct fgn_file *files;
	const struct fgn_ext *exts;
	uint64_t dst_bus;           /* device address of the dataset buffer's first byte */
	uint64_t *lists;            /* PRP list pages, one a thread (GPU address of host memory) */
	uint64_t lists_bus;         /* their device address */
	uint64_t timeout_ns;
	struct fgn_res *res;
};

#ifdef __cplusplus
extern "C" {
#endif
/* Launch the readers (nq blocks of tpq threads) and wait. Returns a cudaError_t; *@gpu_s the kernel's time. */
int fil_gpu_nvme_launch(const struct fgn_params *p, double *gpu_s);
#ifdef __cplusplus
}
#endif

#endif
