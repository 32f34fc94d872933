/* SPDX-License-Identifier: MIT */
/*
 * libaisio: one I/O API over many paths.
 *
 * A device is opened by URI; queues, commands and completions look the same
 * whatever path is behind it (device model, user-space driver, kernel
 * psync / io_uring / NVMe passthrough, GPU), so the path is chosen at
 * deployment time, not in application code.
 *
 *   struct aisio_dev *dev;
 *   struct aisio_queue *q;
 *   aisio_dev_open("emu:64M", NULL, &dev);
 *   aisio_queue_init(dev, 64, &q);
 *   void *buf = aisio_buf_alloc(dev, 4096);
 *   struct aisio_io *io = aisio_queue_get_io(q);
 *   aisio_prep_read(io, aisio_dev_geo(dev)->nsid, 0, 8, buf, 4096);
 *   aisio_io_set_cb(io, on_done, NULL);
 *   aisio_queue_submit(q);              // one doorbell write per batch
 *   while (aisio_queue_outstanding(q))
 *       aisio_queue_reap(q, 0);         // callbacks run here
 *
 * Error convention: functions return 0 (or a count) on success and -errno
 * on failure; the reason, worded for a user, is in aisio_errmsg(). A
 * command's status is tri-state: 0 success, negative errno (timeout,
 * reset, transport), positive NVMe status SCT << 8 | SC.
 */
#ifndef AISIO_AISIO_H
#define AISIO_AISIO_H

#include <stddef.h>
#include <stdint.h>

#include "nvme_spec.h"

#ifdef __cplusplus
extern "C" {
#endif

struct aisio_dev;
struct aisio_queue;

/* What a device looks like to the caller. */
struct aisio_geo {
	uint32_t nsid;          /* namespace the device URI selected */
	uint32_t lba_size;      /* bytes per LBA */
	uint64_t nlbas;         /* namespace size in LBAs */
	uint32_t max_xfer;      /* largest transfer in bytes (MDTS), 0 = no limit */
	uint32_t max_queues;    /* I/O queues this device can give */
	uint32_t max_qdepth;    /* entries per queue (CAP.MQES + 1) */
	uint32_t buf_align;     /* required buffer alignment in bytes */
	uint32_t sgl;           /* controller supports SGLs for I/O */
	const char *backend;    /* "emu", "upci", "psync", "io_uring", "uring_cmd", ... */
};

/* Open options; NULL means defaults. Anything here can also come from the URI. */
struct aisio_open_opts {
	const char *be;         /* force a backend ("psync", "io_uring", ...) */
	uint32_t nsid;          /* namespace (0: from URI or the first active one) */
	uint32_t nqueues;       /* I/O queues the caller intends to create (hint) */
	uint32_t qdepth;        /* their depth (hint) */
	int direct;             /* kernel paths: O_DIRECT (default 1 for block devices) */
	int poll;               /* kernel paths: 1 = IOPOLL, 2 = SQPOLL, 3 = both */
	uint32_t timeout_ms;    /* per-command timeout, 0 = backend default */
	int fixed;              /* io_uring: registered buffers and files; 0 = on where the
	                           kernel allows, -1 = off */
	uint32_t flags;         /* AISIO_OPEN_* */
};

/*
 * AISIO_OPEN_CREATE: the caller means to write and asks that file:PATH,size=SIZE
 * create PATH when it is missing and grow it to SIZE when it is smaller. Without
 * it an open never creates a file or changes its size: a missing file is -ENOENT
 * and a file smaller than size= is -EINVAL (the message says which). Opening
 * never shrinks a file.
 */
#define AISIO_OPEN_CREATE (1u << 0)

/**
 * aisio_dev_open - open a device by URI.
 * URIs: emu:SIZE[,lbads=9|12][,file=PATH][,nsid=N][,latency_us=N][,iops=N]...
 *       pci:BDF[,nsid=N], /dev/nvmeXnY, /dev/ngXnY, file:PATH[,size=SIZE]
 *       nvme+tcp://HOST[:PORT]/SUBNQN[,hostnqn=NQN][,nr_io_queues=N][,nsid=N]...
 *       (docs/nvme-tcp.md; -ECONNREFUSED, -EHOSTUNREACH, -ETIMEDOUT, -EPROTO
 *       when the target cannot be reached or speaks wrongly)
 * (size= creates or grows the file only with AISIO_OPEN_CREATE in opts->flags).
 * Returns 0, -EINVAL (malformed URI, unknown scheme), -ENOENT (no such file or
 * device; also a path without a scheme that names nothing), -EACCES,
 * -ENODEV, -ENOTSUP, -ENOMEM, -ETIMEDOUT (controller did not become ready).
 */
int aisio_dev_open(const char *uri, const struct aisio_open_opts *opts, struct aisio_dev **out);

/** aisio_dev_close - close a device; its queues must be terminated first. */
void aisio_dev_close(struct aisio_dev *dev);

/** aisio_dev_geo - the device's geometry; valid until aisio_dev_close(). */
const struct aisio_geo *aisio_dev_geo(const struct aisio_dev *dev);

/** aisio_dev_uri - the URI the device was opened with. */
const char *aisio_dev_uri(const struct aisio_dev *dev);

/**
 * aisio_dev_admin - run one admin command synchronously.
 * @buf/@len: data buffer (host memory; copied to/from DMA memory as needed).
 * @result: completion dword 0 (may be NULL).
 * Returns 0, a positive NVMe status, -ENOTSUP (path carries no admin
 * commands), -ETIMEDOUT, -EIO.
 */
int aisio_dev_admin(struct aisio_dev *dev, struct aisio_nvme_sqe *cmd, void *buf, size_t len,
		    uint32_t *result);

/** aisio_dev_identify_ctrl - Identify Controller into @id. Same returns as aisio_dev_admin. */
int aisio_dev_identify_ctrl(struct aisio_dev *dev, struct aisio_nvme_id_ctrl *id);

/** aisio_dev_identify_ns - Identify Namespace @nsid into @id. */
int aisio_dev_identify_ns(struct aisio_dev *dev, uint32_t nsid, struct aisio_nvme_id_ns *id);

/**
 * aisio_dev_reset - reset the controller and bring it up again. Commands in
 * flight complete with -ECANCELED; queues are re-created. Returns 0,
 * -ENOTSUP, -ETIMEDOUT.
 */
int aisio_dev_reset(struct aisio_dev *dev);

/* ---- Buffers ------------------------------------------------------------ */

/**
 * aisio_buf_alloc - DMA-able memory the device can read and write, aligned
 * to at least geo->buf_align (4096). Returns NULL when out of memory.
 */
void *aisio_buf_alloc(struct aisio_dev *dev, size_t len);
void aisio_buf_free(struct aisio_dev *dev, void *buf);

/* ---- Queues and commands ------------------------------------------------ */

struct aisio_io;
typedef void (*aisio_io_cb)(struct aisio_io *io, void *arg);

/*
 * One command in flight. Owned by its queue; valid from get_io until its
 * callback returns. 128 bytes, two cache lines: the command, then the rest.
 */
struct aisio_io {
	struct aisio_nvme_sqe cmd; /* filled by aisio_prep_*(); the backend sets CID and data pointer
				      where it sends the command, not necessarily here */
	void *buf;                 /* data buffer (from aisio_buf_alloc) or NULL */
	uint32_t len;              /* data length in bytes (one NVMe command moves less than 4 GiB) */
	int status;                /* 0, -errno, or NVMe status SCT << 8 | SC */
	aisio_io_cb cb;
	void *cb_arg;
	uint64_t submit_ts;        /* free for the caller (aisio perf stores a timestamp) */
	struct aisio_queue *q;
	uint64_t be_data;          /* backend private (deadline, PRP list...) */
	uint32_t result;           /* completion dword 0 */
	uint16_t cid;              /* backend's slot index */
	uint16_t be_flags;         /* backend private */
};
AISIO_STATIC_ASSERT(sizeof(void *) != 8 || sizeof(struct aisio_io) == 128,
		    "a command slot is two cache lines on 64-bit machines");

/**
 * aisio_queue_init - create an I/O queue (pair) of @depth entries.
 * At most @depth - 1 commands are in flight at once on NVMe queues
 * (a ring of N holds N - 1); aisio_queue_depth() says how many.
 * Returns 0, -EINVAL (depth 0 or above max_qdepth), -EBUSY (no queue left),
 * -ENOMEM, or a positive NVMe status from queue creation.
 */
int aisio_queue_init(struct aisio_dev *dev, uint32_t depth, struct aisio_queue **out);

/** aisio_queue_term - delete the queue; commands still in flight are cancelled. */
void aisio_queue_term(struct aisio_queue *q);

/** aisio_queue_depth - how many commands can be in flight at once. */
uint32_t aisio_queue_depth(const struct aisio_queue *q);

/** aisio_queue_get_io - a free command slot (no callback set), or NULL when the queue is full. */
struct aisio_io *aisio_queue_get_io(struct aisio_queue *q);

/** aisio_queue_put_io - give back a slot taken with get_io and not submitted. */
void aisio_queue_put_io(struct aisio_queue *q, struct aisio_io *io);

/**
 * aisio_queue_submit - submit every command prepared since the last submit,
 * with one doorbell write. Returns the number submitted or -errno; a command
 * that cannot be submitted (bad buffer, transfer too large) completes at the
 * next reap with a negative status instead of failing the batch.
 */
int aisio_queue_submit(struct aisio_queue *q);

/**
 * aisio_queue_reap - reap up to @max completions (0 = all available), run
 * their callbacks and write the CQ head doorbell once. Also expires commands
 * past their timeout (status -ETIMEDOUT). Returns the number reaped or -errno
 * (-EIO: controller fatal status).
 */
int aisio_queue_reap(struct aisio_queue *q, uint32_t max);

/** aisio_queue_outstanding - commands submitted and not yet reaped. */
uint32_t aisio_queue_outstanding(const struct aisio_queue *q);

/** aisio_queue_wait - reap until nothing is outstanding. Returns 0 or -errno. */
int aisio_queue_wait(struct aisio_queue *q);

/**
 * aisio_io_sync - submit @io (already prepared) alone and wait for it.
 * Returns its status (0, -errno, or positive NVMe status).
 */
int aisio_io_sync(struct aisio_io *io);

static inline void aisio_io_set_cb(struct aisio_io *io, aisio_io_cb cb, void *arg)
{
	io->cb = cb;
	io->cb_arg = arg;
}

/* ---- Command preparation (backend independent) -------------------------- */

/* Any command: copied as given; CID and data pointer are set at submit. */
void aisio_prep_cmd(struct aisio_io *io, const struct aisio_nvme_sqe *cmd, void *buf, size_t len);
void aisio_prep_read(struct aisio_io *io, uint32_t nsid, uint64_t slba, uint32_t nlb, void *buf,
		     size_t len);
void aisio_prep_write(struct aisio_io *io, uint32_t nsid, uint64_t slba, uint32_t nlb, void *buf,
		      size_t len);
void aisio_prep_compare(struct aisio_io *io, uint32_t nsid, uint64_t slba, uint32_t nlb,
			void *buf, size_t len);
void aisio_prep_flush(struct aisio_io *io, uint32_t nsid);
void aisio_prep_write_zeroes(struct aisio_io *io, uint32_t nsid, uint64_t slba, uint32_t nlb,
			     int deallocate);
/* @ranges: array of @nr ranges in DMA memory (aisio_buf_alloc). */
void aisio_prep_dsm(struct aisio_io *io, uint32_t nsid, struct aisio_nvme_dsm_range *ranges,
		    uint32_t nr, uint32_t attrs);

/* ---- Errors ------------------------------------------------------------- */

/** aisio_errmsg - the last error message of this thread ("" if none). */
const char *aisio_errmsg(void);

/** aisio_status_str - text for a command status (0, -errno or NVMe status). */
const char *aisio_status_str(int status);

/** aisio_nvme_status_str - text for an NVMe status SCT << 8 | SC. */
const char *aisio_nvme_status_str(uint32_t sct_sc);

/** aisio_nvme_opc_str - name of an opcode; @admin selects the admin set. */
const char *aisio_nvme_opc_str(uint8_t opc, int admin);

#ifdef __cplusplus
}
#endif

#endif /* AISIO_AISIO_H */
