/* SPDX-License-Identifier: MIT */
/*
 * What the kernel-managed paths (psync, io_uring, uring_cmd) share: opening
 * a file, block device or NVMe character device, its geometry, turning
 * errno values into messages that name the cause, running a command
 * synchronously with file system calls, admin commands (NVMe ioctl, or
 * answered from the file's geometry), and the slot bookkeeping of a queue.
 */
#ifndef AISIO_IO_KPATH_H
#define AISIO_IO_KPATH_H

#include <stdint.h>
#include <sys/types.h>

#include "io/backend.h"

struct aisio_kfile {
	int fd;
	int rdonly;      /* opened O_RDONLY: no write permission */
	int direct;      /* O_DIRECT */
	int is_blk;
	int is_chr;
	int nvme;        /* NVMe ioctls work on fd (NVMe block or char device) */
	uint32_t lba_shift;
	char *path;
	const char *be;  /* backend name, for messages */
};

/*
 * Open the target of @uri (file:PATH[,size=SIZE] or /dev/...) for backend
 * @be and fill dev->geo. @want_chr: 1 = must be a character device
 * (uring_cmd), 0 = must not be one. Returns 0 or -errno with a message.
 */
int aisio_kfile_open(struct aisio_dev *dev, struct aisio_kfile *kf, const char *uri,
		     const struct aisio_open_opts *opts, const char *be, int want_chr);
void aisio_kfile_close(struct aisio_kfile *kf);

/* Admin command: NVMe passthrough ioctl when the fd is an NVMe device, else
 * Identify answered from the geometry and Invalid Opcode for the rest. */
int aisio_kfile_admin(struct aisio_dev *dev, struct aisio_kfile *kf, struct aisio_nvme_sqe *cmd,
		      void *buf, size_t len, uint32_t *result);

/*
 * Check an I/O command against the namespace. For Read/Write/Compare sets
 * *off and *len (bytes). Returns 0, a positive NVMe status or -errno; the
 * message is set on failure.
 */
int aisio_kfile_check_rw(struct aisio_dev *dev, const struct aisio_io *io, off_t *off,
			 size_t *len);

/* Status of a finished read/write: @res is the byte count or -errno. */
int aisio_kfile_rw_status(struct aisio_dev *dev, struct aisio_kfile *kf, const struct aisio_io *io,
			  off_t off, size_t len, long long res);

/* Map -errno from a call named @what on the file to a status with a message. */
int aisio_kfile_ioerr(struct aisio_dev *dev, struct aisio_kfile *kf, int err, const char *what,
		      off_t off, size_t len, const void *buf);

/* Run any I/O command synchronously (pread/pwrite/fsync/fallocate...). */
int aisio_kfile_exec(struct aisio_dev *dev, struct aisio_kfile *kf, struct aisio_io *io);

void *aisio_kfile_buf_alloc(struct aisio_dev *dev, size_t len);
void aisio_kfile_buf_free(struct aisio_dev *dev, void *buf);

/* ---- Queue slots -------------------------------------------------------- */

/*
 * Slots taken with get_io are pending until the next submit; commands that
 * finish inside submit (psync, or ones the ring cannot carry) wait on the
 * done list for the next reap. A slot is free again after its callback.
 */
struct aisio_kq {
	struct aisio_queue q;
	struct aisio_io *ios;
	uint32_t *free;
	uint32_t nfree;
	uint32_t *pend;
	uint32_t npend;
	uint32_t *done;  /* ring of depth entries */
	uint32_t done_head;
	uint32_t ndone;
	uint32_t inflight; /* submitted and not yet reaped */
};

int aisio_kq_init(struct aisio_kq *kq, struct aisio_dev *dev, uint32_t depth);
void aisio_kq_term(struct aisio_kq *kq);
struct aisio_io *aisio_kq_get_io(struct aisio_kq *kq);
void aisio_kq_put_io(struct aisio_kq *kq, struct aisio_io *io);
/* Queue @io on the done list with @status. */
void aisio_kq_done(struct aisio_kq *kq, struct aisio_io *io, int status);
/* Run up to @max callbacks from the done list; returns how many. */
uint32_t aisio_kq_reap_done(struct aisio_kq *kq, uint32_t max);
/* Run @io's callback and free its slot. */
void aisio_kq_complete(struct aisio_kq *kq, struct aisio_io *io);

#endif
