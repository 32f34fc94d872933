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
	fprintf(stderr, "aisio fil: unknown subcommand '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
