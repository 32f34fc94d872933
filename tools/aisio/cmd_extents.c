/* SPDX-License-Identifier: MIT */
/* aisio extents [-r] PATH: a file's extents through FIEMAP (any mounted file system). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <aisio/aisio.h>

#include "cmds.h"
#include "extent/fiemap.h"
#include "extprint.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: aisio extents [-r] PATH\n"
		   "\n"
		   "Prints the extents of PATH as the kernel reports them (FIEMAP, synced first):\n"
		   "file offset, length, device byte offset and LBA (512-byte units), flags.\n"
		   "  -r, --raw   one machine-readable line per file; walks PATH if it is a directory\n");
}

int aisio_cmd_extents(int argc, char **argv)
{
	static const struct option lo[] = { { "raw", no_argument, NULL, 'r' },
					    { "help", no_argument, NULL, 'h' },
					    { NULL, 0, NULL, 0 } };
	struct extprint_geo geo = { 0, 0 };
	struct aisio_extmap map;
	struct stat st;
	int c, raw = 0, err;

	optind = 1;
	while ((c = getopt_long(argc, argv, "rh", lo, NULL)) != -1) {
		switch (c) {
		case 'r': raw = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return 2;
	}
	if (!raw && stat(argv[optind], &st) == 0 && S_ISDIR(st.st_mode)) {
		fprintf(stderr, "aisio extents: %s is a directory (use -r to walk it)\n", argv[optind]);
		return 1;
	}
	err = aisio_fiemap_walk(argv[optind], &map);
	if (err) {
		fprintf(stderr, "aisio extents: %s\n", aisio_errmsg());
		return 1;
	}
	if (raw) {
		extprint_raw(stdout, &map, 0);
	} else {
		geo.blksize = map.blksize;
		extprint_bmap(stdout, &map, 0, &geo, argv[optind]);
	}
	aisio_extmap_free(&map);
	return 0;
}
