/* SPDX-License-Identifier: MIT */
/*
 * Metadata reader for the XFS decoder: byte-range reads, queued and kept in
 * flight at queue depth > 1 through the aisio I/O API (any device URI), or
 * served from an in-memory image (unit tests, fuzzing). A completion
 * callback may queue further reads; aisio_xfs_rd_run() returns when none is
 * left, so a B+tree walk proceeds level by level with whole levels in flight.
 */
#ifndef AISIO_XFS_READER_H
#define AISIO_XFS_READER_H

#include <stdint.h>

#include <aisio/aisio.h>

struct aisio_xfs_rd;
struct aisio_xfs_req;

typedef void (*aisio_xfs_req_cb)(struct aisio_xfs_req *req, int status);

/* One read: @off/@len in bytes on the device, into @buf (caller's memory). */
struct aisio_xfs_req {
	uint64_t off;
	uint32_t len;
	void *buf;
	aisio_xfs_req_cb done; /* status: 0 or -errno (message set with aisio_err) */
	void *arg;
	uint64_t u64;          /* free for the caller */
	/* reader private */
	struct aisio_xfs_req *next;
	uint32_t issued;
	uint32_t pending;
	int status;
};

struct aisio_xfs_rd_stats {
	uint64_t reads;        /* device commands */
	uint64_t bytes;
	uint32_t max_inflight; /* highest number of commands in flight at once */
};

/**
 * aisio_xfs_rd_open_dev - reader over an open device, @qdepth commands in
 * flight at most (0: 32). The device stays owned by the caller.
 * Returns 0, -ENOMEM, or aisio_queue_init()'s errors.
 */
int aisio_xfs_rd_open_dev(struct aisio_dev *dev, uint32_t qdepth, struct aisio_xfs_rd **out);

/** aisio_xfs_rd_open_mem - reader over @len bytes at @img (not copied). Returns 0, -ENOMEM. */
int aisio_xfs_rd_open_mem(const void *img, uint64_t len, struct aisio_xfs_rd **out);

/*
 * aisio_xfs_rd_open_fn - reader over a synchronous read function (homid
 * reads through its own controller with it): @size bytes readable, LBA size
 * @lba; @fn reads @len bytes at byte @off into @buf and returns 0 or -errno
 * with a message set. Returns 0, -ENOMEM.
 */
int aisio_xfs_rd_open_fn(uint64_t size, uint32_t lba,
			 int (*fn)(void *arg, uint64_t off, uint32_t len, void *buf), void *arg,
			 struct aisio_xfs_rd **out);

void aisio_xfs_rd_close(struct aisio_xfs_rd *rd);

/** aisio_xfs_rd_size - bytes readable (device or image size). */
uint64_t aisio_xfs_rd_size(const struct aisio_xfs_rd *rd);

/** aisio_xfs_rd_lba_size - LBA size of the device (512 for an in-memory image). */
uint32_t aisio_xfs_rd_lba_size(const struct aisio_xfs_rd *rd);

/** aisio_xfs_rd_queue - queue @req; it is issued by the next aisio_xfs_rd_run(). */
void aisio_xfs_rd_queue(struct aisio_xfs_rd *rd, struct aisio_xfs_req *req);

/**
 * aisio_xfs_rd_run - issue queued reads, keeping up to qdepth in flight, and
 * run callbacks until nothing is queued or in flight. Returns 0 or -errno
 * when the queue itself failed (a read's own failure goes to its callback).
 */
int aisio_xfs_rd_run(struct aisio_xfs_rd *rd);

/** aisio_xfs_rd_read - read synchronously. Returns 0, -EIO (past the end, device error). */
int aisio_xfs_rd_read(struct aisio_xfs_rd *rd, uint64_t off, uint32_t len, void *buf);

const struct aisio_xfs_rd_stats *aisio_xfs_rd_stats(const struct aisio_xfs_rd *rd);

/*
 * Optional producer: called by aisio_xfs_rd_run() whenever nothing is queued,
 * to queue more reads (so a scan of millions of blocks does not allocate
 * all its buffers up front). Returns 0 when it has nothing left, else 1.
 */
void aisio_xfs_rd_set_refill(struct aisio_xfs_rd *rd, int (*fn)(void *arg), void *arg);

/* Optional: called for every range read (the fuzz target maps metadata with it). */
void aisio_xfs_rd_set_trace(struct aisio_xfs_rd *rd,
			    void (*fn)(void *arg, uint64_t off, uint32_t len), void *arg);

#endif
