/* SPDX-License-Identifier: MIT */
/* aisio: one command for the devices, paths and studies of the project. */
#include <stdio.h>
#include <string.h>

#include "cmds.h"

/* Subcommands live in their own files; a build may leave one out. */
int aisio_cmd_dev(int argc, char **argv) __attribute__((weak));
int aisio_cmd_perf(int argc, char **argv) __attribute__((weak));
int aisio_cmd_xfs(int argc, char **argv) __attribute__((weak));
int aisio_cmd_extents(int argc, char **argv) __attribute__((weak));
int aisio_cmd_homi(int argc, char **argv) __attribute__((weak));
int aisio_cmd_fil(int argc, char **argv) __attribute__((weak));

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *help;
} cmds[] = {
	{ "dev", aisio_cmd_dev, "list devices, identify a controller (dev list | dev identify URI)" },
	{ "perf", aisio_cmd_perf, "run and verify I/O workloads (perf run | verify | cuda-run | cuda-verify)" },
	{ "xfs", aisio_cmd_xfs, "read XFS metadata without the kernel (xfs ls | stat | bmap | find)" },
	{ "extents", aisio_cmd_extents, "print a file's extents through FIEMAP" },
	{ "fil", aisio_cmd_fil, "verifiable datasets, read through every path (fil gen | run | ceiling)" },
	{ "homi", aisio_cmd_homi, "what homid holds: controllers, queues, clients (homi status)" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: aisio COMMAND [ARGS...]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (cmds[i].fn)
			fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].help);
	fprintf(f, "\n'aisio COMMAND --help' describes a command.\n"
		   "Device URIs: emu:SIZE[,lbads=9|12][,file=PATH]...  pci:BDF[,nsid=N]  file:PATH\n"
		   "             /dev/nvmeXnY (block)  /dev/ngXnY (NVMe passthrough)\n"
		   "             nvme+tcp://HOST[:PORT]/SUBNQN[,hostnqn=NQN][,nr_io_queues=N] (NVMe/TCP)\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[1], cmds[i].name))
			continue;
		if (!cmds[i].fn) {
			fprintf(stderr, "aisio: '%s' is not built into this aisio\n", argv[1]);
			return 2;
		}
		return cmds[i].fn(argc - 1, argv + 1);
	}
	fprintf(stderr, "aisio: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return 2;
}
