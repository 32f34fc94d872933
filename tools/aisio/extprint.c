/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "extprint.h"

void extprint_walk(const struct aisio_extmap *map, uint32_t idx,
		   void (*fn)(const struct aisio_extmap *map, uint32_t idx, void *arg), void *arg)
{
	/* Explicit stack: directory depth is only bounded by the file system. */
	uint32_t *stack = malloc(sizeof(*stack) * (map->nnodes + 1));
	size_t sp = 0;

	if (!stack)
		return;
	stack[sp++] = idx;
	while (sp) {
		const struct aisio_extmap_node *n = &map->nodes[stack[--sp]];
		fn(map, (uint32_t)(n - map->nodes), arg);
		if (S_ISDIR(n->mode))
			for (uint32_t c = n->child_count; c-- > 0;)
				stack[sp++] = n->child_first + c;
	}
	free(stack);
}

static const char *flagstr(uint32_t fl)
{
	/* xfs_bmap -vp: 010000 preallocated (unwritten), 100000 shared */
	if ((fl & AISIO_EXT_UNWRITTEN) && (fl & AISIO_EXT_SHARED))
		return "110000";
	if (fl & AISIO_EXT_UNWRITTEN)
		return "010000";
	if (fl & AISIO_EXT_SHARED)
		return "100000";
	return "000000";
}

void extprint_bmap(FILE *f, const struct aisio_extmap *map, uint32_t idx,
		   const struct extprint_geo *geo, const char *label)
{
	const struct aisio_extmap_node *n = &map->nodes[idx];
	const struct aisio_extent *e = map->exts + n->ext_first;
	char path[4096], a[64], b[64], c[64];
	uint64_t pos = 0;
	unsigned k = 0;

	aisio_extmap_path(map, idx, path, sizeof(path));
	fprintf(f, "%s:\n", label ? label : path);
	if (n->flags & AISIO_NODE_INLINE) {
		fprintf(f, " data is stored in the inode (%" PRIu64 " bytes)\n", n->size);
		return;
	}
	if (!n->ext_count) {
		fprintf(f, " no extents\n");
		return;
	}
	fprintf(f, " EXT: %-18s %-20s %s %-20s %8s %-6s %16s %12s\n", "FILE-OFFSET", "BLOCK-RANGE",
		geo->agblocks ? "AG" : "  ", geo->agblocks ? "AG-OFFSET" : "", "TOTAL", "FLAGS",
		"DEV-BYTE", "LBA");
	for (uint32_t i = 0; i < n->ext_count; i++) {
		uint64_t o = e[i].off >> 9, l = e[i].len >> 9, d = e[i].dev_off >> 9;
		if (e[i].off > pos) {
			snprintf(a, sizeof(a), "[%" PRIu64 "..%" PRIu64 "]:", pos >> 9, (e[i].off >> 9) - 1);
			fprintf(f, " %3u: %-18s %-20s %2s %-20s %8" PRIu64 "\n", k++, a, "hole", "", "",
				(e[i].off - pos) >> 9);
		}
		snprintf(a, sizeof(a), "[%" PRIu64 "..%" PRIu64 "]:", o, o + l - 1);
		snprintf(b, sizeof(b), "%" PRIu64 "..%" PRIu64, d, d + l - 1);
		if (geo->agblocks && !(e[i].flags & AISIO_EXT_REALTIME)) {
			uint64_t agsz = (uint64_t)geo->agblocks * geo->blksize >> 9;
			uint64_t ag = d / agsz, ao = d % agsz;
			snprintf(c, sizeof(c), "(%" PRIu64 "..%" PRIu64 ")", ao, ao + l - 1);
			fprintf(f, " %3u: %-18s %-20s %2" PRIu64 " %-20s %8" PRIu64 " %-6s %16" PRIu64
				   " %12" PRIu64 "%s\n",
				k++, a, b, ag, c, l, flagstr(e[i].flags), e[i].dev_off,
				e[i].dev_off / map->lba_size, "");
		} else {
			fprintf(f, " %3u: %-18s %-20s %2s %-20s %8" PRIu64 " %-6s %16" PRIu64 " %12" PRIu64
				   "%s\n",
				k++, a, b, "", "", l, flagstr(e[i].flags), e[i].dev_off,
				e[i].dev_off / map->lba_size,
				(e[i].flags & AISIO_EXT_REALTIME) ? " realtime" : "");
		}
		pos = e[i].off + e[i].len;
	}
	if (S_ISREG(n->mode) && pos < n->size) {
		uint64_t end = (n->size + 511) >> 9;
		if (end > (pos >> 9)) {
			snprintf(a, sizeof(a), "[%" PRIu64 "..%" PRIu64 "]:", pos >> 9, end - 1);
			fprintf(f, " %3u: %-18s %-20s %2s %-20s %8" PRIu64 "\n", k, a, "hole", "", "",
				end - (pos >> 9));
		}
	}
}

static void raw_one(const struct aisio_extmap *map, uint32_t idx, void *arg)
{
	const struct aisio_extmap_node *n = &map->nodes[idx];
	FILE *f = arg;
	char path[4096];

	aisio_extmap_path(map, idx, path, sizeof(path));
	fprintf(f, "%s\t%c\t%" PRIu64 "\t", path, aisio_extmap_type_char(n->mode), n->size);
	for (uint32_t i = 0; i < n->ext_count; i++) {
		const struct aisio_extent *e = &map->exts[n->ext_first + i];
		fprintf(f, "%s%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%x", i ? ";" : "", e->off, e->len,
			e->dev_off, e->flags);
	}
	fputc('\n', f);
}

void extprint_raw(FILE *f, const struct aisio_extmap *map, uint32_t idx)
{
	extprint_walk(map, idx, raw_one, f);
}
