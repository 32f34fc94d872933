/* SPDX-License-Identifier: MIT */
/* aisio fil gen | run | ceiling: verifiable datasets and reading them through every path. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cmds.h"
#include "fil.h"
#include "util/size.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: aisio fil gen|run|ceiling [OPTIONS] ...\n"
		   "\n"
		   "  gen      write a dataset whose every byte can be checked (aisio fil gen --help)\n"
		   "  run      read a dataset through posix, io_uring, homi or gpu (aisio fil run --help)\n"
		   "  ceiling  pinned host -> GPU copy bandwidth: what the gpu path is measured against\n"
		   "           (aisio fil ceiling [--size SIZE] [--rounds N] [--json])\n"
		   "  regprobe what registering a page-cached file's pages with the GPU costs, by\n"
		   "           piece size and threads, and the copy speed from them (aisio fil\n"
		   "           regprobe --help)\n"
		   "Docs: docs/fil.md (datasets, XFS images without mounting, the paths).\n");
}

static int cmd_ceiling(int argc, char **argv)
{
	uint64_t size = 1ull << 30, rounds = 3;
	int json = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else if (!strcmp(argv[i], "--size") && i + 1 < argc) {
			if (aisio_parse_size(argv[++i], &size) || size < (1u << 20)) {
				fprintf(stderr, "aisio fil ceiling: --size must be " AISIO_SIZE_HELP
					", at least 1M (got '%s')\n", argv[i]);
				return 2;
			}
		} else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) {
			if (aisio_parse_count(argv[i + 1], strlen(argv[i + 1]), 1, 100, &rounds)) {
				fprintf(stderr, "aisio fil ceiling: --rounds must be 1 to 100 (got '%s')\n",
					argv[i + 1]);
				return 2;
			}
			i++;
		} else {
			fprintf(stderr, "usage: aisio fil ceiling [--size SIZE] [--rounds N] [--json]\n");
			return !strcmp(argv[i], "--help") || !strcmp(argv[i], "-h") ? 0 : 2;
		}
	}
	return fil_gpu_ceiling(size, (int)rounds, json) ? 1 : 0;
}

#define REGPROBE_USAGE                                                                             \
	"usage: aisio fil regprobe [--pieces SIZE,...] [--threads N,...] [--bytes SIZE]\n"        \
	"                          [--budget SECONDS] [--json] FILE\n"                            \
	"Maps FILE (page-cached) in pieces, registers them with cudaHostRegister (read-only)\n"   \
	"on N threads, unregisters them; GB/s and us a call each way. Then the copy speed\n"     \
	"from registered file pages, registered anonymous memory and cudaHostAlloc memory.\n"   \
	"Defaults: --pieces 2M,8M,32M,128M,512M,1G --threads 1,2,4 --bytes (the file)\n"         \
	"--budget 120 (cases past it are skipped and said so).\n"

/* "a,b,c" into @out (at most @max); sizes or counts. Returns how many, or -1. */
static int parse_list(const char *v, int sizes, uint64_t *out, int max)
{
	int n = 0;

	for (const char *p = v; *p; n++) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);

		if (n == max || !len)
			return -1;
		if (sizes ? aisio_parse_size_n(p, len, &out[n]) : aisio_parse_count(p, len, 1, 64, &out[n]))
			return -1;
		p += len + (e ? 1 : 0);
		if (e && !*p)
			return -1;
	}
	return n;
}

static int cmd_regprobe(int argc, char **argv)
{
	uint64_t pieces[16] = { 2u << 20, 8u << 20, 32u << 20, 128u << 20, 512u << 20, 1u << 30 };
	uint64_t th64[16] = { 1, 2, 4 }, bytes = 0, budget = 120;
	uint32_t threads[16];
	int np = 6, nt = 3, json = 0;
	const char *file = NULL;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--json")) {
			json = 1;
		} else if (!strcmp(a, "--pieces") && v) {
			np = parse_list(v, 1, pieces, 16);
			for (int k = 0; k < np; k++)
				if (pieces[k] < 4096 || pieces[k] % 4096)
					np = -1;
			if (np < 1) {
				fprintf(stderr, "aisio fil regprobe: --pieces must be sizes, multiples of 4 KiB, "
					"separated by commas (at most 16; got '%s')\n", v);
				return 2;
			}
			i++;
		} else if (!strcmp(a, "--threads") && v) {
			nt = parse_list(v, 0, th64, 16);
			if (nt < 1) {
				fprintf(stderr, "aisio fil regprobe: --threads must be counts of 1 to 64, "
					"separated by commas (at most 16; got '%s')\n", v);
				return 2;
			}
			i++;
		} else if (!strcmp(a, "--bytes") && v) {
			if (aisio_parse_size(v, &bytes) || bytes < 4096) {
				fprintf(stderr, "aisio fil regprobe: --bytes must be " AISIO_SIZE_HELP
					", at least 4K (got '%s')\n", v);
				return 2;
			}
			i++;
		} else if (!strcmp(a, "--budget") && v) {
			if (aisio_parse_count(v, strlen(v), 1, 3600, &budget)) {
				fprintf(stderr, "aisio fil regprobe: --budget must be 1 to 3600 seconds (got '%s')\n", v);
				return 2;
			}
			i++;
		} else if (a[0] != '-' && !file) {
			file = a;
		} else {
			int help = !strcmp(a, "--help") || !strcmp(a, "-h");

			fputs(REGPROBE_USAGE, help ? stdout : stderr);
			return help ? 0 : 2;
		}
	}
	if (!file) {
		fputs(REGPROBE_USAGE, stderr);
		return 2;
	}
	for (int k = 0; k < nt; k++)
		threads[k] = (uint32_t)th64[k];
	return fil_gpu_regprobe(file, pieces, np, threads, nt, bytes, (double)budget, json) ? 1 : 0;
}

int aisio_cmd_fil(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "gen"))
		return fil_cmd_gen(argc - 1, argv + 1);
	if (!strcmp(argv[1], "run"))
		return fil_cmd_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "ceiling"))
		return cmd_ceiling(argc - 1, argv + 1);
	if (!strcmp(argv[1], "regprobe"))
		return cmd_regprobe(argc - 1, argv + 1);
	fprintf(stderr, "aisio fil: unknown subcommand '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
