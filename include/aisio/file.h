/* SPDX-License-Identifier: MIT */
/*
 * Files read through their extents: the file's data blocks read with NVMe
 * commands on an aisio queue, the file system consulted only for the map.
 *
 *   struct aisio_file *f;
 *   struct aisio_file_report rep;
 *   aisio_file_open(dev, "/mnt/data/a.bin", 0, &f);     // dev: a homi: device
 *   ssize_t n = aisio_file_read(f, q, buf, 0, len, &rep);  // rep.served says which path
 *   aisio_file_close(f);
 *
 * On a homi: device homid maps the file (docs/homi.md, "Extent service"):
 * a path on a file system the kernel mounted from one of homid's ublk
 * exports (FIEMAP; homid watches it with fanotify), or with
 * AISIO_FILE_IMAGE a path inside the XFS of the attached namespace when
 * nothing has it mounted (homid's XFS decoder). On another device (emu:,
 * pci:, file:, a block device) only AISIO_FILE_IMAGE is taken: the XFS
 * decoder indexes the device's file system in this process, once per
 * device (kept until aisio_dev_close()); a mounted file or block device
 * is refused (-EBUSY). The handle keeps the runs;
 * before and after each read of a mounted file it asks homid whether they
 * are still current (one round trip each) and maps again when not, so a
 * read that starts after a change returns the new bytes or an error, never
 * blocks the file no longer owns.
 *
 * Extents that cannot be read from the device as they are (unwritten,
 * delayed allocation, shared by reflink, inline, encoded, not aligned to
 * LBAs, realtime) are refused with the reason: a mounted file is then read
 * with pread through the kernel, an image file fails with -EOPNOTSUPP, and
 * the report says which, never silently.
 *
 * Threads: a handle is used by one thread at a time; handles of one device
 * may be used from several threads (each with its own queue): their
 * requests to homid share the device's connection, one at a time.
 */
#ifndef AISIO_FILE_H
#define AISIO_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct aisio_dev;
struct aisio_queue;
struct aisio_file;

/* aisio_file_open flags */
#define AISIO_FILE_IMAGE 0x1 /* @path is inside the device's own unmounted XFS ("/dir/file") */

/* Which path served a read. */
enum aisio_file_served {
	AISIO_FILE_SERVED_NONE = 0,   /* nothing was read (an error, or at/after end of file) */
	AISIO_FILE_SERVED_EXTENT = 1, /* NVMe reads of the file's extents on the caller's queue */
	AISIO_FILE_SERVED_KERNEL = 2, /* pread through the kernel, because of .reason */
};

struct aisio_file_report {
	int served;	  /* enum aisio_file_served */
	int reason;	  /* why not the extent path (or why nothing): 0 or a negative errno */
	char why[192];	  /* that reason in words; "" when the extent path served it */
	uint32_t cmds;	  /* NVMe commands issued */
	uint32_t maps;	  /* mappings asked of homid during this read (0: the cached runs served) */
	uint32_t checks;  /* currency checks asked of homid */
	uint32_t retries; /* reads done again because the file changed under them */
	uint64_t bytes;	  /* bytes returned */
};

/* One run of the file: [off, off + len) of the file at namespace LBA lba. */
struct aisio_file_run {
	uint64_t off;
	uint64_t len;
	uint64_t lba;	/* meaningful only when flags has none of AISIO_FILE_RUN_REFUSED */
	uint32_t flags; /* the FIEMAP_EXTENT_* bits (AISIO_EXT_* in src/extent/extmap.h) */
	uint32_t rsvd;
};

/* Run flags the extent path refuses: unknown, delalloc, encoded, encrypted, not aligned, inline, tail, unwritten, shared, realtime. */
#define AISIO_FILE_RUN_REFUSED 0x12f8eu

/**
 * aisio_file_open - a handle for reading @path through its extents on
 * @dev (a homi: device, or any device with AISIO_FILE_IMAGE; else
 * -EOPNOTSUPP). The file is mapped at
 * once, so a missing file, a directory, a path outside homid's mounted
 * exports or one leaving them through '..', and a file the caller's uid may
 * not read are refused here (-ENOENT, -EISDIR, -EXDEV, -EXDEV, -EACCES;
 * the message says which). Returns 0 or -errno.
 */
int aisio_file_open(struct aisio_dev *dev, const char *path, uint32_t flags,
		    struct aisio_file **out);

void aisio_file_close(struct aisio_file *f);

/** aisio_file_size - the file's size as of its current mapping. */
uint64_t aisio_file_size(const struct aisio_file *f);

/**
 * aisio_file_runs - the current runs (mapped again first when the file
 * changed since); valid until the next call on @f. *@lba_size gets the
 * namespace's LBA size. Returns 0 or -errno (-ENOENT once the file is gone).
 */
int aisio_file_runs(struct aisio_file *f, const struct aisio_file_run **runs, uint32_t *nruns,
		    uint32_t *lba_size);

/**
 * aisio_file_read - read @len bytes at file offset @off into @buf (any
 * memory; the data lands in DMA memory of the handle first) with commands on
 * @q, a queue of the handle's device. @rep (may be NULL) says which path
 * served it and why. Holes read as zeros. Returns the bytes read (fewer at
 * the end of the file, 0 at or past it) or -errno: -ENOENT when the file
 * is gone, -EACCES when the caller may no longer read it, -EOPNOTSUPP for
 * a refused extent of an image file, -EIO for a failed command.
 */
ssize_t aisio_file_read(struct aisio_file *f, struct aisio_queue *q, void *buf, uint64_t off,
			size_t len, struct aisio_file_report *rep);

/**
 * aisio_file_read_dma - aisio_file_read() into @buf from aisio_buf_alloc()
 * of the handle's device (registered with homid on homi:; GPU memory where
 * the device maps it): every whole LBA of the file's data is written there
 * by the device itself, no copy; only pieces that start or end inside an
 * LBA (an unaligned @off, the file's last partial LBA) go through the
 * handle's buffer. @buf must hold @len bytes; nothing past the bytes
 * returned is written. Same returns and report.
 */
ssize_t aisio_file_read_dma(struct aisio_file *f, struct aisio_queue *q, void *buf, uint64_t off,
			    size_t len, struct aisio_file_report *rep);

/** aisio_file_served_str - "extent", "kernel" or "none". */
const char *aisio_file_served_str(int served);

#ifdef __cplusplus
}
#endif

#endif
