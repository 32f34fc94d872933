/* SPDX-License-Identifier: MIT */
/*
 * Is the log clean? Metadata on disk is only complete when the last log
 * record is an unmount record; otherwise changes still sit in the log (a
 * mounted or crashed file system) and the decoder would see stale metadata.
 *
 * The head is where the cycle number stamped on every 512-byte log block
 * drops; the record before it must carry XLOG_UNMOUNT_TRANS.
 */
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "xfs/xfs_priv.h"

#define LOG_WIN_BB 128 /* blocks read at once while searching backwards */

struct logctx {
	struct aisio_xfs *fs;
	uint64_t start; /* byte offset of the log */
	uint64_t nbb;   /* log size in 512-byte blocks */
	uint8_t *win;
	uint64_t win_first; /* first block in win, or UINT64_MAX */
};

static int log_block(struct logctx *l, uint64_t bb, const uint8_t **p)
{
	if (l->win_first == UINT64_MAX || bb < l->win_first || bb >= l->win_first + LOG_WIN_BB) {
		uint64_t first = bb >= LOG_WIN_BB - 1 ? bb - (LOG_WIN_BB - 1) : 0;
		uint64_t n = LOG_WIN_BB;
		int err;

		if (first + n > l->nbb)
			n = l->nbb - first;
		err = aisio_xfs_rd_read(l->fs->rd, l->start + (first << XFS_BB_SHIFT),
					(uint32_t)(n << XFS_BB_SHIFT), l->win);
		if (err)
			return err;
		l->win_first = first;
	}
	*p = l->win + ((bb - l->win_first) << XFS_BB_SHIFT);
	return 0;
}

static int log_cycle(struct logctx *l, uint64_t bb, uint32_t *cycle)
{
	const uint8_t *p;
	int err = log_block(l, bb, &p);

	if (err)
		return err;
	*cycle = aisio_be32p(p) == XLOG_HEADER_MAGIC ? aisio_be32p(p + 4) : aisio_be32p(p);
	return 0;
}

static int log_dirty(struct aisio_xfs *fs, const char *why)
{
	if (fs->opts.flags & AISIO_XFS_FORCE) {
		xfs_warn(fs, "%s; decoding anyway (forced): metadata may be stale or inconsistent", why);
		return 0;
	}
	return aisio_err(-EBUSY,
			 "%s: the file system is mounted or was not unmounted cleanly; unmount it "
			 "(or mount and unmount it to replay the log), or force with -f",
			 why);
}

int xfs_log_check(struct aisio_xfs *fs)
{
	struct aisio_xfs_rd *rd = fs->rd;
	struct logctx l = { .fs = fs, .win_first = UINT64_MAX };
	uint8_t sb[512];
	uint64_t logstart, lo, hi, head, bb;
	uint32_t c0, clast, c, logblocks;
	const uint8_t *p;
	int err;

	err = aisio_xfs_rd_read(rd, 0, sizeof(sb), sb);
	if (err)
		return err;
	logstart = aisio_be64p(sb + offsetof(struct xfs_dsb, sb_logstart));
	logblocks = aisio_be32p(sb + offsetof(struct xfs_dsb, sb_logblocks));
	if (!logstart) {
		xfs_warn(fs, "external log: cannot check that the file system was unmounted cleanly");
		return 0;
	}
	err = xfs_fsb_to_off(fs, logstart, logblocks, &l.start);
	if (err)
		return err;
	l.nbb = ((uint64_t)logblocks << fs->blocklog) >> XFS_BB_SHIFT;
	if (l.nbb < 8)
		return xfs_corrupt(fs, "log of %u blocks", logblocks);
	l.win = malloc(LOG_WIN_BB << XFS_BB_SHIFT);
	if (!l.win)
		return aisio_err(-ENOMEM, "xfs: out of memory");

	/* Head: the first block whose cycle differs from block 0's (binary search). */
	if ((err = log_cycle(&l, 0, &c0)) || (err = log_cycle(&l, l.nbb - 1, &clast)))
		goto out;
	if (c0 == 0) {
		err = log_dirty(fs, "the log is empty (never written)");
		goto out;
	}
	if (c0 == clast) {
		head = l.nbb; /* written to the end in this cycle: head at the wrap */
	} else {
		lo = 0;
		hi = l.nbb - 1; /* cycle(lo) == c0, cycle(hi) != c0 */
		while (hi - lo > 1) {
			uint64_t mid = lo + (hi - lo) / 2;
			if ((err = log_cycle(&l, mid, &c)))
				goto out;
			if (c == c0)
				lo = mid;
			else
				hi = mid;
		}
		head = hi;
	}

	/* The last record header before the head. */
	for (bb = head; bb-- > 0;) {
		if ((err = log_block(&l, bb, &p)))
			goto out;
		if (aisio_be32p(p) == XLOG_HEADER_MAGIC)
			break;
		if (head - bb > 4096) {
			bb = UINT64_MAX;
			break;
		}
	}
	if (bb == UINT64_MAX) {
		err = log_dirty(fs, "no log record header found before the log head");
		goto out;
	} else {
		const struct xlog_rec_header *h = (const void *)p;
		uint32_t hsize = aisio_be32_to_cpu(h->h_size);
		uint32_t hdr_bb = 1, len = aisio_be32_to_cpu(h->h_len);
		const uint8_t *op;

		if (aisio_be32_to_cpu(h->h_version) & 2 && hsize > XLOG_HEADER_CYCLE_SIZE)
			hdr_bb = (hsize + XLOG_HEADER_CYCLE_SIZE - 1) / XLOG_HEADER_CYCLE_SIZE;
		if (bb + hdr_bb >= l.nbb || len < XLOG_OP_HDR_SIZE) {
			err = log_dirty(fs, "the last log record is not an unmount record");
			goto out;
		}
		if (aisio_be32_to_cpu(h->h_num_logops) != 1 ||
		    (bb + hdr_bb + (len + 511) / 512) % l.nbb != head % l.nbb) {
			err = log_dirty(fs, "the log is dirty (last record is not an unmount record)");
			goto out;
		}
		if ((err = log_block(&l, bb + hdr_bb, &op)))
			goto out;
		if (!(op[XLOG_OP_FLAGS_OFF] & XLOG_UNMOUNT_TRANS)) {
			err = log_dirty(fs, "the log is dirty (last record is not an unmount record)");
			goto out;
		}
	}
	err = 0;
out:
	free(l.win);
	return err;
}
