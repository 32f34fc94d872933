/* SPDX-License-Identifier: MIT */
/*
 * XFS on-disk format (version 5, CRC-enabled file systems) as far as the
 * decoder reads it: superblock, AG headers, short- and long-form B+tree
 * blocks, inodes, extent records, directories and the log record header.
 *
 * No decoder state lives here. XFS is big-endian: fields are stored as raw
 * byte arrays or beNN words and read through the aisio_be*() helpers; CRC
 * fields are little-endian. Every structure is followed by a size assert.
 */
#ifndef AISIO_XFS_FORMAT_H
#define AISIO_XFS_FORMAT_H

#include <stdint.h>
#include <string.h>

typedef uint16_t aisio_be16;
typedef uint32_t aisio_be32;
typedef uint64_t aisio_be64;

/* Big-endian loads from any (possibly unaligned) address. */
static inline uint16_t aisio_be16p(const void *p)
{
	uint16_t v;
	memcpy(&v, p, sizeof(v));
	return __builtin_bswap16(v);
}
static inline uint32_t aisio_be32p(const void *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return __builtin_bswap32(v);
}
static inline uint64_t aisio_be64p(const void *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return __builtin_bswap64(v);
}
static inline uint32_t aisio_le32p(const void *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}
static inline uint16_t aisio_be16_to_cpu(aisio_be16 v) { return __builtin_bswap16(v); }
static inline uint32_t aisio_be32_to_cpu(aisio_be32 v) { return __builtin_bswap32(v); }
static inline uint64_t aisio_be64_to_cpu(aisio_be64 v) { return __builtin_bswap64(v); }

#define XFS_SB_MAGIC 0x58465342u       /* "XFSB" */
#define XFS_AGF_MAGIC 0x58414746u      /* "XAGF" */
#define XFS_AGI_MAGIC 0x58414749u      /* "XAGI" */
#define XFS_IBT_CRC_MAGIC 0x49414233u  /* "IAB3" inode B+tree */
#define XFS_FIBT_CRC_MAGIC 0x46494233u /* "FIB3" free inode B+tree */
#define XFS_BMAP_CRC_MAGIC 0x424d4133u /* "BMA3" block map B+tree */
#define XFS_REFC_CRC_MAGIC 0x52334643u /* "R3FC" refcount B+tree */
#define XFS_DINODE_MAGIC 0x494eu       /* "IN" */
#define XFS_DIR3_BLOCK_MAGIC 0x58444233u /* "XDB3" single-block directory */
#define XFS_DIR3_DATA_MAGIC 0x58444433u  /* "XDD3" data block of leaf/node directory */
#define XFS_SYMLINK_MAGIC 0x58534c4du    /* "XSLM" remote symlink block */
#define XLOG_HEADER_MAGIC 0xfeedbabeu

#define XFS_SB_VERSION_NUMBITS 0x000f
#define XFS_SB_VERSION_5 5

/* Incompatible features: a reader that does not know one must refuse. */
#define XFS_SB_FEAT_INCOMPAT_FTYPE (1u << 0)
#define XFS_SB_FEAT_INCOMPAT_SPINODES (1u << 1)
#define XFS_SB_FEAT_INCOMPAT_META_UUID (1u << 2)
#define XFS_SB_FEAT_INCOMPAT_BIGTIME (1u << 3)
#define XFS_SB_FEAT_INCOMPAT_NEEDSREPAIR (1u << 4)
#define XFS_SB_FEAT_INCOMPAT_NREXT64 (1u << 5)
#define XFS_SB_FEAT_INCOMPAT_EXCHRANGE (1u << 6)
#define XFS_SB_FEAT_INCOMPAT_PARENT (1u << 7)
#define XFS_SB_FEAT_INCOMPAT_METADIR (1u << 8)

/* Read-only-compatible features: reading is safe whatever they are. */
#define XFS_SB_FEAT_RO_COMPAT_FINOBT (1u << 0)
#define XFS_SB_FEAT_RO_COMPAT_RMAPBT (1u << 1)
#define XFS_SB_FEAT_RO_COMPAT_REFLINK (1u << 2)
#define XFS_SB_FEAT_RO_COMPAT_INOBTCNT (1u << 3)

#define XFS_SB_FEAT_INCOMPAT_LOG_ALL 0xffffffffu

/* Superblock, sector 0 of AG 0. */
struct xfs_dsb {
	aisio_be32 sb_magicnum;
	aisio_be32 sb_blocksize;
	aisio_be64 sb_dblocks;
	aisio_be64 sb_rblocks;
	aisio_be64 sb_rextents;
	uint8_t sb_uuid[16];
	aisio_be64 sb_logstart;
	aisio_be64 sb_rootino;
	aisio_be64 sb_rbmino;
	aisio_be64 sb_rsumino;
	aisio_be32 sb_rextsize;
	aisio_be32 sb_agblocks;
	aisio_be32 sb_agcount;
	aisio_be32 sb_rbmblocks;
	aisio_be32 sb_logblocks;
	aisio_be16 sb_versionnum;
	aisio_be16 sb_sectsize;
	aisio_be16 sb_inodesize;
	aisio_be16 sb_inopblock;
	char sb_fname[12];
	uint8_t sb_blocklog;
	uint8_t sb_sectlog;
	uint8_t sb_inodelog;
	uint8_t sb_inopblog;
	uint8_t sb_agblklog;
	uint8_t sb_rextslog;
	uint8_t sb_inprogress;
	uint8_t sb_imax_pct;
	aisio_be64 sb_icount;
	aisio_be64 sb_ifree;
	aisio_be64 sb_fdblocks;
	aisio_be64 sb_frextents;
	aisio_be64 sb_uquotino;
	aisio_be64 sb_gquotino;
	aisio_be16 sb_qflags;
	uint8_t sb_flags;
	uint8_t sb_shared_vn;
	aisio_be32 sb_inoalignmt;
	aisio_be32 sb_unit;
	aisio_be32 sb_width;
	uint8_t sb_dirblklog;
	uint8_t sb_logsectlog;
	aisio_be16 sb_logsectsize;
	aisio_be32 sb_logsunit;
	aisio_be32 sb_features2;
	aisio_be32 sb_bad_features2;
	aisio_be32 sb_features_compat;
	aisio_be32 sb_features_ro_compat;
	aisio_be32 sb_features_incompat;
	aisio_be32 sb_features_log_incompat;
	uint32_t sb_crc; /* little-endian */
	aisio_be32 sb_spino_align;
	aisio_be64 sb_pquotino;
	aisio_be64 sb_lsn;
	uint8_t sb_meta_uuid[16];
};
_Static_assert(sizeof(struct xfs_dsb) == 264, "xfs_dsb size");
#define XFS_SB_CRC_OFF 224
_Static_assert(__builtin_offsetof(struct xfs_dsb, sb_crc) == XFS_SB_CRC_OFF, "sb_crc");
_Static_assert(__builtin_offsetof(struct xfs_dsb, sb_dirblklog) == 192, "sb_dirblklog");

/* AG free space header, sector 1 of each AG. */
struct xfs_agf {
	aisio_be32 agf_magicnum;
	aisio_be32 agf_versionnum;
	aisio_be32 agf_seqno;
	aisio_be32 agf_length;
	aisio_be32 agf_roots[3];
	aisio_be32 agf_levels[3];
	aisio_be32 agf_flfirst;
	aisio_be32 agf_fllast;
	aisio_be32 agf_flcount;
	aisio_be32 agf_freeblks;
	aisio_be32 agf_longest;
	aisio_be32 agf_btreeblks;
	uint8_t agf_uuid[16];
	aisio_be32 agf_rmap_blocks;
	aisio_be32 agf_refcount_blocks;
	aisio_be32 agf_refcount_root;
	aisio_be32 agf_refcount_level;
	aisio_be64 agf_spare64[14];
	aisio_be64 agf_lsn;
	uint32_t agf_crc;
	aisio_be32 agf_spare2;
};
_Static_assert(sizeof(struct xfs_agf) == 224, "xfs_agf size");
#define XFS_AGF_CRC_OFF 216
_Static_assert(__builtin_offsetof(struct xfs_agf, agf_crc) == XFS_AGF_CRC_OFF, "agf_crc");

#define XFS_AGI_UNLINKED_BUCKETS 64

/* AG inode header, sector 2 of each AG. */
struct xfs_agi {
	aisio_be32 agi_magicnum;
	aisio_be32 agi_versionnum;
	aisio_be32 agi_seqno;
	aisio_be32 agi_length;
	aisio_be32 agi_count;
	aisio_be32 agi_root;
	aisio_be32 agi_level;
	aisio_be32 agi_freecount;
	aisio_be32 agi_newino;
	aisio_be32 agi_dirino;
	aisio_be32 agi_unlinked[XFS_AGI_UNLINKED_BUCKETS];
	uint8_t agi_uuid[16];
	uint32_t agi_crc;
	aisio_be32 agi_pad32;
	aisio_be64 agi_lsn;
	aisio_be32 agi_free_root;
	aisio_be32 agi_free_level;
	aisio_be32 agi_iblocks;
	aisio_be32 agi_fblocks;
};
_Static_assert(sizeof(struct xfs_agi) == 344, "xfs_agi size");
#define XFS_AGI_CRC_OFF 312
_Static_assert(__builtin_offsetof(struct xfs_agi, agi_crc) == XFS_AGI_CRC_OFF, "agi_crc");

/* Short-form (AG-relative pointers) B+tree block header, v5. */
struct xfs_btree_sblock {
	aisio_be32 bb_magic;
	aisio_be16 bb_level;
	aisio_be16 bb_numrecs;
	aisio_be32 bb_leftsib;
	aisio_be32 bb_rightsib;
	aisio_be64 bb_blkno; /* daddr (512-byte units) of this block */
	aisio_be64 bb_lsn;
	uint8_t bb_uuid[16];
	aisio_be32 bb_owner; /* AG number */
	uint32_t bb_crc;
};
_Static_assert(sizeof(struct xfs_btree_sblock) == 56, "xfs_btree_sblock size");
#define XFS_BTREE_SBLOCK_CRC_OFF 52

/* Long-form (file system block pointers) B+tree block header, v5. */
struct xfs_btree_lblock {
	aisio_be32 bb_magic;
	aisio_be16 bb_level;
	aisio_be16 bb_numrecs;
	aisio_be64 bb_leftsib;
	aisio_be64 bb_rightsib;
	aisio_be64 bb_blkno;
	aisio_be64 bb_lsn;
	uint8_t bb_uuid[16];
	aisio_be64 bb_owner; /* inode number */
	uint32_t bb_crc;
	aisio_be32 bb_pad;
};
_Static_assert(sizeof(struct xfs_btree_lblock) == 72, "xfs_btree_lblock size");
#define XFS_BTREE_LBLOCK_CRC_OFF 64
_Static_assert(__builtin_offsetof(struct xfs_btree_lblock, bb_crc) == 64, "lblock crc");

/* Inode B+tree leaf record (sparse-chunk layout, used when SPINODES is set). */
struct xfs_inobt_rec {
	aisio_be32 ir_startino;
	aisio_be16 ir_holemask; /* bit i: inodes [4i, 4i+3] are a hole */
	uint8_t ir_count;
	uint8_t ir_freecount;
	aisio_be64 ir_free; /* bit i: inode i is free */
};
_Static_assert(sizeof(struct xfs_inobt_rec) == 16, "xfs_inobt_rec size");
#define XFS_INODES_PER_CHUNK 64
#define XFS_INODES_PER_HOLEMASK_BIT 4

/* Refcount B+tree leaf record. */
struct xfs_refcount_rec {
	aisio_be32 rc_startblock; /* bit 31: CoW staging extent */
	aisio_be32 rc_blockcount;
	aisio_be32 rc_refcount;
};
_Static_assert(sizeof(struct xfs_refcount_rec) == 12, "xfs_refcount_rec size");
#define XFS_REFC_COWFLAG (1u << 31)

/* Extent record: 128 bits packed big-endian (see aisio_xfs_bmbt_unpack). */
struct xfs_bmbt_rec {
	aisio_be64 l0, l1;
};
_Static_assert(sizeof(struct xfs_bmbt_rec) == 16, "xfs_bmbt_rec size");

/* Root of a block map B+tree inside an inode fork. */
struct xfs_bmdr_block {
	aisio_be16 bb_level;
	aisio_be16 bb_numrecs;
};
_Static_assert(sizeof(struct xfs_bmdr_block) == 4, "xfs_bmdr_block size");

struct xfs_timestamp {
	aisio_be64 t;
};

/* Inode core, version 3. The data fork follows at XFS_DINODE_V3_SIZE. */
struct xfs_dinode {
	aisio_be16 di_magic;
	aisio_be16 di_mode;
	uint8_t di_version;
	uint8_t di_format;
	aisio_be16 di_onlink;
	aisio_be32 di_uid;
	aisio_be32 di_gid;
	aisio_be32 di_nlink;
	aisio_be16 di_projid_lo;
	aisio_be16 di_projid_hi;
	aisio_be64 di_big_nextents; /* NREXT64; else pad[6] + di_flushiter */
	struct xfs_timestamp di_atime;
	struct xfs_timestamp di_mtime;
	struct xfs_timestamp di_ctime;
	aisio_be64 di_size;
	aisio_be64 di_nblocks;
	aisio_be32 di_extsize;
	uint8_t di_nextents_u[6]; /* NREXT64: be32 big_anextents + pad; else be32 nextents + be16 anextents */
	uint8_t di_forkoff;       /* attr fork offset in 8-byte units, 0 = none */
	int8_t di_aformat;
	aisio_be32 di_dmevmask;
	aisio_be16 di_dmstate;
	aisio_be16 di_flags;
	aisio_be32 di_gen;
	aisio_be32 di_next_unlinked;
	uint32_t di_crc;
	aisio_be64 di_changecount;
	aisio_be64 di_lsn;
	aisio_be64 di_flags2;
	aisio_be32 di_cowextsize;
	uint8_t di_pad2[12];
	struct xfs_timestamp di_crtime;
	aisio_be64 di_ino;
	uint8_t di_uuid[16];
} __attribute__((packed));
_Static_assert(sizeof(struct xfs_dinode) == 176, "xfs_dinode size");
_Static_assert(__builtin_offsetof(struct xfs_dinode, di_size) == 56, "di_size");
_Static_assert(__builtin_offsetof(struct xfs_dinode, di_nextents_u) == 76, "di_nextents");
_Static_assert(__builtin_offsetof(struct xfs_dinode, di_forkoff) == 82, "di_forkoff");
_Static_assert(__builtin_offsetof(struct xfs_dinode, di_crc) == 100, "di_crc");
_Static_assert(__builtin_offsetof(struct xfs_dinode, di_flags2) == 120, "di_flags2");
_Static_assert(__builtin_offsetof(struct xfs_dinode, di_ino) == 152, "di_ino");
#define XFS_DINODE_V3_SIZE 176
#define XFS_DINODE_CRC_OFF 100

enum xfs_dinode_fmt {
	XFS_DINODE_FMT_DEV = 0,
	XFS_DINODE_FMT_LOCAL = 1,
	XFS_DINODE_FMT_EXTENTS = 2,
	XFS_DINODE_FMT_BTREE = 3,
	XFS_DINODE_FMT_UUID = 4,
};

#define XFS_DIFLAG_REALTIME (1u << 0)
#define XFS_DIFLAG2_REFLINK (1ull << 1)
#define XFS_DIFLAG2_NREXT64 (1ull << 4)

/* Directory geometry: data blocks live below 32 GiB of the directory's offset space. */
#define XFS_DIR2_DATA_SPACE_BYTES (1ull << 35)

/* v5 directory block header, then the data header's best-free table. */
struct xfs_dir3_blk_hdr {
	aisio_be32 magic;
	uint32_t crc;
	aisio_be64 blkno; /* daddr of the first block */
	aisio_be64 lsn;
	uint8_t uuid[16];
	aisio_be64 owner; /* directory inode */
};
_Static_assert(sizeof(struct xfs_dir3_blk_hdr) == 48, "xfs_dir3_blk_hdr size");
#define XFS_DIR3_CRC_OFF 4

struct xfs_dir2_data_free {
	aisio_be16 offset;
	aisio_be16 length;
};

struct xfs_dir3_data_hdr {
	struct xfs_dir3_blk_hdr hdr;
	struct xfs_dir2_data_free best_free[3];
	aisio_be32 pad;
};
_Static_assert(sizeof(struct xfs_dir3_data_hdr) == 64, "xfs_dir3_data_hdr size");

/* Tail of a single-block directory: leaf entries (8 bytes each) precede it. */
struct xfs_dir2_block_tail {
	aisio_be32 count;
	aisio_be32 stale;
};
_Static_assert(sizeof(struct xfs_dir2_block_tail) == 8, "xfs_dir2_block_tail size");
#define XFS_DIR2_LEAF_ENTRY_SIZE 8
#define XFS_DIR2_DATA_FREE_TAG 0xffffu

/*
 * Data entry: be64 inumber, u8 namelen, name, [u8 ftype], be16 tag, padded
 * to 8 bytes. Unused space: be16 0xffff, be16 length, ..., be16 tag.
 */
#define XFS_DIR2_DATA_ENTRY_HDR 9

/* Short-form directory header in the inode fork: count, i8count, parent (4 or 8 bytes). */
#define XFS_DIR2_SF_HDR_SIZE(i8) (2 + ((i8) ? 8 : 4))

/* v5 remote symlink block header. */
struct xfs_dsymlink_hdr {
	aisio_be32 sl_magic;
	aisio_be32 sl_offset;
	aisio_be32 sl_bytes;
	uint32_t sl_crc;
	uint8_t sl_uuid[16];
	aisio_be64 sl_owner;
	aisio_be64 sl_blkno;
	aisio_be64 sl_lsn;
};
_Static_assert(sizeof(struct xfs_dsymlink_hdr) == 56, "xfs_dsymlink_hdr size");

/* Log record header (first sector of every log record). */
struct xlog_rec_header {
	aisio_be32 h_magicno;
	aisio_be32 h_cycle;
	aisio_be32 h_version;
	aisio_be32 h_len;
	aisio_be64 h_lsn;
	aisio_be64 h_tail_lsn;
	uint32_t h_crc;
	aisio_be32 h_prev_block;
	aisio_be32 h_num_logops;
	aisio_be32 h_cycle_data[64];
	aisio_be32 h_fmt;
	uint8_t h_fs_uuid[16];
	aisio_be32 h_size;
} __attribute__((packed));
_Static_assert(sizeof(struct xlog_rec_header) == 324, "xlog_rec_header size");
#define XLOG_HEADER_CYCLE_SIZE (32 * 1024)
#define XLOG_UNMOUNT_TRANS 0x20
/* Log operation header: be32 tid, be32 len, u8 clientid, u8 flags, be16 pad. */
#define XLOG_OP_HDR_SIZE 12
#define XLOG_OP_FLAGS_OFF 9

#define XFS_BB_SHIFT 9 /* "basic blocks" (daddr units) are 512 bytes */

#endif /* AISIO_XFS_FORMAT_H */
