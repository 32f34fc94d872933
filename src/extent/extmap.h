/* SPDX-License-Identifier: MIT */
/*
 * The extent map: path -> inode -> extents, produced alike by the XFS
 * on-disk decoder and by FIEMAP. It is three flat arrays addressed by
 * index (nodes, extents, a name pool), no pointers between entries, so a
 * daemon can hand it to other processes as one shared-memory image.
 *
 * Nodes are in breadth-first order; the children of a directory are
 * contiguous ([child_first, child_first + child_count)) and sorted by name
 * (bytewise), so a path is looked up by binary search at every level.
 * Node 0 is the root. Hard links are several nodes sharing one extent range.
 */
#ifndef AISIO_EXTENT_EXTMAP_H
#define AISIO_EXTENT_EXTMAP_H

#include <stddef.h>
#include <stdint.h>

/* Extent flags: the FIEMAP_EXTENT_* values, so FIEMAP flags are kept as they are. */
#define AISIO_EXT_LAST 0x0001
#define AISIO_EXT_UNKNOWN 0x0002
#define AISIO_EXT_DELALLOC 0x0004
#define AISIO_EXT_ENCODED 0x0008
#define AISIO_EXT_ENCRYPTED 0x0080
#define AISIO_EXT_NOT_ALIGNED 0x0100
#define AISIO_EXT_INLINE 0x0200 /* data lives in the inode (no device address) */
#define AISIO_EXT_TAIL 0x0400
#define AISIO_EXT_UNWRITTEN 0x0800 /* allocated, reads as zeros */
#define AISIO_EXT_MERGED 0x1000
#define AISIO_EXT_SHARED 0x2000 /* reflink: shared with another file */
#define AISIO_EXT_REALTIME 0x10000 /* dev_off is on the realtime device */

struct aisio_extent {
	uint64_t off;     /* file offset, bytes */
	uint64_t len;     /* bytes */
	uint64_t dev_off; /* device byte offset; LBA = dev_off / lba_size */
	uint32_t flags;   /* AISIO_EXT_* */
	uint32_t rsvd;
};
_Static_assert(sizeof(struct aisio_extent) == 32, "aisio_extent size");

/* Node flags. */
#define AISIO_NODE_REALTIME 0x1 /* file data on the realtime device */
#define AISIO_NODE_REFLINK 0x2  /* file may share extents */
#define AISIO_NODE_INLINE 0x4   /* data (or directory, symlink target) stored in the inode */
#define AISIO_NODE_OTHER_FS 0x8 /* FIEMAP walk: mount point of another file system, not entered */

struct aisio_extmap_node {
	uint64_t ino;
	uint64_t size;
	uint64_t ext_first;   /* index into exts */
	uint32_t ext_count;
	uint32_t parent;      /* node index; the root is its own parent */
	uint32_t child_first; /* node index of the first child (directories) */
	uint32_t child_count;
	uint32_t name_off;    /* into names; not NUL-terminated */
	uint16_t name_len;
	uint16_t mode;        /* S_IFMT bits and permissions */
	uint32_t nlink;
	uint32_t flags;       /* AISIO_NODE_* */
};
_Static_assert(sizeof(struct aisio_extmap_node) == 56, "aisio_extmap_node size");

struct aisio_extmap {
	uint32_t lba_size;  /* device LBA size the LBAs refer to */
	uint32_t blksize;   /* file system block size */
	struct aisio_extmap_node *nodes;
	uint32_t nnodes, nodes_cap;
	struct aisio_extent *exts;
	uint64_t nexts, exts_cap;
	char *names;
	uint64_t names_len, names_cap;
};

/** aisio_extmap_init - an empty map. */
void aisio_extmap_init(struct aisio_extmap *map, uint32_t lba_size, uint32_t blksize);
void aisio_extmap_free(struct aisio_extmap *map);

/** aisio_extmap_add_extent - append one extent. Returns 0, -ENOMEM. */
int aisio_extmap_add_extent(struct aisio_extmap *map, const struct aisio_extent *e);

/** aisio_extmap_add_name - copy @len bytes into the name pool; *@off gets its offset. Returns 0, -ENOMEM, -ENAMETOOLONG. */
int aisio_extmap_add_name(struct aisio_extmap *map, const char *name, size_t len, uint32_t *off);

/** aisio_extmap_add_node - append a zeroed node; *@idx gets its index. Returns 0, -ENOMEM, -EOVERFLOW. */
int aisio_extmap_add_node(struct aisio_extmap *map, uint32_t *idx);

/**
 * aisio_extmap_lookup - node index of @path ("/", "/a/b", "a/b"; "." and
 * empty components are skipped). Returns the index (>= 0), -ENOENT,
 * -ENOTDIR (a component is not a directory).
 */
long aisio_extmap_lookup(const struct aisio_extmap *map, const char *path);

/** aisio_extmap_path - write the absolute path of node @idx into @buf. Returns its length or -ENAMETOOLONG. */
int aisio_extmap_path(const struct aisio_extmap *map, uint32_t idx, char *buf, size_t len);

/** aisio_extmap_sort_children - sort nodes [first, first + n) by name (before their own children are added). */
void aisio_extmap_sort_children(struct aisio_extmap *map, uint32_t first, uint32_t n);

/** aisio_extmap_bytes - memory the map's arrays use. */
size_t aisio_extmap_bytes(const struct aisio_extmap *map);

/** aisio_extmap_type_char - 'd', '-', 'l', 'c', 'b', 'p', 's' or '?' for a mode. */
char aisio_extmap_type_char(uint16_t mode);

#endif
