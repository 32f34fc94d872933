/* SPDX-License-Identifier: MIT */
/* aisio xfs ls|stat|bmap|find DEVICE [PATH]: XFS metadata read without the kernel. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include <aisio/aisio.h>

#include "cmds.h"
#include "extprint.h"
#include "util/size.h"
#include "xfs/xfs.h"

/* Each read in flight holds a bounce buffer; device queues are smaller anyway. */
#define XFS_QDEPTH_MAX 1024u

static void usage(FILE *f)
{
	fprintf(f,
		"usage: aisio xfs ls|stat|bmap|find [OPTIONS] DEVICE [PATH]\n"
		"\n"
		"Decodes an XFS (v5) file system from DEVICE without the kernel and prints:\n"
		"  ls     the entries of directory PATH (default /)\n"
		"  stat   inode, type, size and extent count of PATH\n"
		"  bmap   the extents of PATH, like xfs_bmap -v, with device byte offsets and LBAs\n"
		"  find   every path below PATH, like find(1)\n"
		"\n"
		"DEVICE: an image file, a block device, or an aisio URI (file:PATH, pci:BDF, ...).\n"
		"Options:\n"
		"  -f, --force        read a mounted file system or one with a dirty log (warns)\n"
		"  -q, --qdepth N     metadata reads in flight, 1 to 1024 (default 32)\n"
		"  -b, --backend BE   force an I/O backend (psync, io_uring, ...)\n"
		"  -r, --raw          bmap: one machine-readable line per file below PATH\n"
		"  -s, --stats        print index time, reads, queue depth and memory to stderr\n");
}

struct xfs_cli {
	int force, raw, stats;
	uint32_t qdepth;
	const char *be;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Open @arg (path or URI), check it is not mounted, decode the index. */
static int xfs_load(const char *arg, const struct xfs_cli *o, struct aisio_extmap *map,
		    struct extprint_geo *geo)
{
	char uri[4200], where[2048];
	const char *path = arg;
	struct aisio_open_opts oo = { .be = o->be };
	struct aisio_xfs_opts xo = { .flags = o->force ? AISIO_XFS_FORCE : 0 };
	struct aisio_dev *dev;
	struct aisio_xfs_rd *rd;
	struct aisio_xfs *fs;
	struct stat st;
	double t0 = now_s();
	int err;

	if (!strncmp(arg, "file:", 5))
		path = arg + 5;
	if (!strchr(arg, ':') && stat(arg, &st) == 0 && S_ISREG(st.st_mode))
		snprintf(uri, sizeof(uri), "file:%s", arg);
	else
		snprintf(uri, sizeof(uri), "%s", arg);
	if ((path != arg || uri[0] == '/' || !strncmp(uri, "file:", 5)) &&
	    aisio_xfs_mounted(path, where, sizeof(where)) == 1) {
		if (!o->force) {
			fprintf(stderr,
				"aisio xfs: %s is mounted on %s; metadata on disk may be stale. "
				"Unmount it, or use -f to read it anyway\n",
				path, where);
			return -EBUSY;
		}
		fprintf(stderr, "aisio xfs: warning: %s is mounted on %s; reading it anyway (forced)\n",
			path, where);
	}
	err = aisio_dev_open(uri, &oo, &dev);
	if (err) {
		fprintf(stderr, "aisio xfs: cannot open %s: %s\n", uri, aisio_errmsg());
		return err;
	}
	err = aisio_xfs_rd_open_dev(dev, o->qdepth, &rd);
	if (err) {
		fprintf(stderr, "aisio xfs: %s: %s\n", uri, aisio_errmsg());
		goto out_close;
	}
	err = aisio_xfs_open(rd, &xo, &fs);
	if (err) {
		fprintf(stderr, "aisio xfs: %s: %s\n", uri, aisio_errmsg());
		goto out_close;
	}
	geo->blksize = aisio_xfs_geom(fs)->blocksize;
	geo->agblocks = aisio_xfs_geom(fs)->agblocks;
	err = aisio_xfs_index(fs, map);
	if (err)
		fprintf(stderr, "aisio xfs: %s: %s\n", uri, aisio_errmsg());
	if (!err && o->stats) {
		const struct aisio_xfs_rd_stats *s = aisio_xfs_rd_stats(aisio_xfs_reader(fs));
		struct rusage ru;
		getrusage(RUSAGE_SELF, &ru);
		fprintf(stderr,
			"index: %.3f s, %u files, %" PRIu64 " extents, %zu bytes of map; %" PRIu64
			" reads, %" PRIu64 " bytes, max %u in flight (%s); max RSS %ld KiB\n",
			now_s() - t0, map->nnodes, map->nexts, aisio_extmap_bytes(map), s->reads,
			s->bytes, s->max_inflight, aisio_dev_geo(dev)->backend, ru.ru_maxrss);
	}
	aisio_xfs_close(fs);
out_close:
	aisio_dev_close(dev);
	return err;
}

static void find_one(const struct aisio_extmap *map, uint32_t idx, void *arg)
{
	char path[4096];

	(void)arg;
	aisio_extmap_path(map, idx, path, sizeof(path));
	puts(path);
}

static void ls_one(const struct aisio_extmap *map, uint32_t idx)
{
	const struct aisio_extmap_node *n = &map->nodes[idx];

	printf("%c%04o %3u %12" PRIu64 " %14" PRIu64 " %.*s%s\n", aisio_extmap_type_char(n->mode),
	       n->mode & 07777, n->nlink, n->ino, n->size, idx ? n->name_len : 1,
	       idx ? map->names + n->name_off : "/", S_ISDIR(n->mode) && idx ? "/" : "");
}

static const char *type_name(uint16_t mode)
{
	switch (aisio_extmap_type_char(mode)) {
	case 'd': return "directory";
	case '-': return "regular file";
	case 'l': return "symbolic link (not followed)";
	case 'c': return "character device";
	case 'b': return "block device";
	case 'p': return "fifo";
	case 's': return "socket";
	}
	return "unknown";
}

static void stat_one(const struct aisio_extmap *map, uint32_t idx)
{
	const struct aisio_extmap_node *n = &map->nodes[idx];
	uint64_t unwritten = 0, shared = 0, bytes = 0;
	char path[4096];

	for (uint32_t i = 0; i < n->ext_count; i++) {
		bytes += map->exts[n->ext_first + i].len;
		if (map->exts[n->ext_first + i].flags & AISIO_EXT_UNWRITTEN)
			unwritten++;
		if (map->exts[n->ext_first + i].flags & AISIO_EXT_SHARED)
			shared++;
	}
	aisio_extmap_path(map, idx, path, sizeof(path));
	printf("  File: %s\n  Type: %s\n Inode: %" PRIu64 "\n  Mode: %04o\n Links: %u\n  Size: %" PRIu64
	       "\nMapped: %" PRIu64 " bytes in %u extents (%" PRIu64 " unwritten)\n",
	       path, type_name(n->mode), n->ino, n->mode & 07777, n->nlink, n->size, bytes,
	       n->ext_count, unwritten);
	if (n->flags & AISIO_NODE_INLINE)
		printf("  Data: stored in the inode\n");
	if (n->flags & AISIO_NODE_REALTIME)
		printf("  Data: on the realtime device\n");
	if (n->flags & AISIO_NODE_REFLINK)
		printf("Shared: %" PRIu64 " extents shared with other files (reflink)\n", shared);
	if (S_ISDIR(n->mode))
		printf("Entries: %u\n", n->child_count);
}

int aisio_cmd_xfs(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "force", no_argument, NULL, 'f' },	{ "qdepth", required_argument, NULL, 'q' },
		{ "backend", required_argument, NULL, 'b' }, { "raw", no_argument, NULL, 'r' },
		{ "stats", no_argument, NULL, 's' },	{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct xfs_cli o = { .qdepth = 32 };
	struct aisio_extmap map;
	struct extprint_geo geo;
	const char *sub, *path;
	long idx;
	int c, err;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	sub = argv[1];
	if (strcmp(sub, "ls") && strcmp(sub, "stat") && strcmp(sub, "bmap") && strcmp(sub, "find")) {
		fprintf(stderr, "aisio xfs: unknown subcommand '%s'\n", sub);
		usage(stderr);
		return 2;
	}
	argc--;
	argv++;
	optind = 1;
	while ((c = getopt_long(argc, argv, "fq:b:rsh", lo, NULL)) != -1) {
		switch (c) {
		case 'f': o.force = 1; break;
		case 'q': {
			uint64_t v;

			if (aisio_parse_count(optarg, strlen(optarg), 1, XFS_QDEPTH_MAX, &v)) {
				fprintf(stderr, "aisio xfs: -q/--qdepth must be a number from 1 to %u "
					"(got '%s')\n", XFS_QDEPTH_MAX, optarg);
				return 2;
			}
			o.qdepth = (uint32_t)v;
			break;
		}
		case 'b': o.be = optarg; break;
		case 'r': o.raw = 1; break;
		case 's': o.stats = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc || argc - optind > 2) {
		usage(stderr);
		return 2;
	}
	path = optind + 1 < argc ? argv[optind + 1] : "/";
	if (!strcmp(sub, "stat") && optind + 1 >= argc) {
		fprintf(stderr, "aisio xfs stat: which PATH?\n");
		return 2;
	}
	err = xfs_load(argv[optind], &o, &map, &geo);
	if (err)
		return 1;
	idx = aisio_extmap_lookup(&map, path);
	if (idx < 0) {
		fprintf(stderr, "aisio xfs %s: %s: %s\n", sub, path,
			idx == -ENOTDIR ? "a component is not a directory" : "no such file or directory");
		aisio_extmap_free(&map);
		return 1;
	}
	if (!strcmp(sub, "find")) {
		extprint_walk(&map, (uint32_t)idx, find_one, NULL);
	} else if (!strcmp(sub, "ls")) {
		const struct aisio_extmap_node *n = &map.nodes[idx];
		if (!S_ISDIR(n->mode))
			ls_one(&map, (uint32_t)idx);
		for (uint32_t i = 0; S_ISDIR(n->mode) && i < n->child_count; i++)
			ls_one(&map, n->child_first + i);
	} else if (!strcmp(sub, "stat")) {
		stat_one(&map, (uint32_t)idx);
	} else if (o.raw) {
		extprint_raw(stdout, &map, (uint32_t)idx);
	} else {
		extprint_bmap(stdout, &map, (uint32_t)idx, &geo, NULL);
	}
	aisio_extmap_free(&map);
	return 0;
}
