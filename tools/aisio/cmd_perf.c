/* SPDX-License-Identifier: MIT */
/* aisio perf: run | verify (CPU-initiated) and cuda-run | cuda-verify (GPU-initiated). */
#include <stdio.h>
#include <string.h>

#include "cmds.h"
#include "perf.h"

/* Provided by the CUDA part of the tool when it is built. */
int aisio_perf_cuda_run(int argc, char **argv) __attribute__((weak));
int aisio_perf_cuda_verify(int argc, char **argv) __attribute__((weak));
/* perf run --mem gpu|host: CPU-initiated I/O into GPU (P2P) or host buffers, CUDA part. */
int aisio_perf_cuda_p2p(int argc, char **argv) __attribute__((weak));

static void usage(FILE *f)
{
	fprintf(f, "usage: aisio perf run [OPTIONS] URI...      I/O workload: IOPS, MiB/s, latency\n"
		   "       aisio perf verify [OPTIONS] URI...   write per-LBA stamps, read back, count mismatches\n"
		   "       aisio perf cuda-run [OPTIONS] URI... workload submitted by GPU threads\n"
		   "       aisio perf cuda-verify [OPTIONS] URI...\n"
		   "'aisio perf run --help' lists the options.\n");
}

static int no_cuda(void)
{
	fprintf(stderr, "aisio was built without CUDA support\n");
	return 2;
}

int aisio_cmd_perf(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "run")) {
		for (int i = 2; i < argc; i++)
			if (!strcmp(argv[i], "--mem") || !strncmp(argv[i], "--mem=", 6))
				return aisio_perf_cuda_p2p ? aisio_perf_cuda_p2p(argc - 1, argv + 1) : no_cuda();
		return perf_run(argc - 1, argv + 1);
	}
	if (!strcmp(argv[1], "verify"))
		return perf_verify(argc - 1, argv + 1);
	if (!strcmp(argv[1], "cuda-run"))
		return aisio_perf_cuda_run ? aisio_perf_cuda_run(argc - 1, argv + 1) : no_cuda();
	if (!strcmp(argv[1], "cuda-verify"))
		return aisio_perf_cuda_verify ? aisio_perf_cuda_verify(argc - 1, argv + 1) : no_cuda();
	fprintf(stderr, "aisio perf: unknown subcommand '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
