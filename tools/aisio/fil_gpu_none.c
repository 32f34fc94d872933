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

int fil_gpu_ceiling(uint64_t bytes, int rounds, int json)
{
	(void)bytes;
	(void)rounds;
	(void)json;
	fprintf(stderr, "aisio fil ceiling: this aisio was built without CUDA\n");
	return -ENOTSUP;
}
