/* SPDX-License-Identifier: MIT */
/* aisio fil, built without CUDA: the GPU path says so. */
#include <errno.h>
#include <stdio.h>

#include "fil.h"

int fil_run_gpu(struct fil_run *r)
{
	return fil_fail(r, -ENOTSUP, "this aisio was built without CUDA: no gpu path "
			"(rebuild where nvcc is found, see meson_options.txt 'cuda')");
}

int fil_run_homi_gpu(struct fil_run *r)
{
	return fil_fail(r, -ENOTSUP, "this aisio was built without CUDA: no reads into GPU memory "
			"(rebuild where nvcc is found, see meson_options.txt 'cuda')");
}

int fil_run_gpu_nvme(struct fil_run *r)
{
	return fil_fail(r, -ENOTSUP, "this aisio was built without CUDA: no GPU-initiated reads "
			"(rebuild where nvcc is found, see meson_options.txt 'cuda')");
}

int fil_gpu_usable(void)
{
	fprintf(stderr, "aisio fil run: this aisio was built without CUDA: nothing goes to GPU memory "
		"(rebuild where nvcc is found, see meson_options.txt 'cuda')\n");
	return -ENOTSUP;
}

int fil_gpu_ceiling(uint64_t bytes, int rounds, int json)
{
	(void)bytes;
	(void)rounds;
	(void)json;
	fprintf(stderr, "aisio fil ceiling: this aisio was built without CUDA\n");
	return -ENOTSUP;
}

int fil_gpu_regprobe(const char *path, const uint64_t *pieces, int npieces, const uint32_t *threads,
		     int nthreads, uint64_t bytes, double budget_s, int json)
{
	(void)path;
	(void)pieces;
	(void)npieces;
	(void)threads;
	(void)nthreads;
	(void)bytes;
	(void)budget_s;
	(void)json;
	fprintf(stderr, "aisio fil regprobe: this aisio was built without CUDA\n");
	return -ENOTSUP;
}
