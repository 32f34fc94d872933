/* SPDX-License-Identifier: MIT */
/*
 * What a backend (an I/O path) provides behind the one API. src/io/dev.c
 * parses URIs, picks a backend and dispatches; backends never see URIs of
 * other schemes.
 */
#ifndef AISIO_IO_BACKEND_H
#define AISIO_IO_BACKEND_H

#include <aisio/aisio.h>

struct aisio_backend_ops {
	const char *name;
	/* Open @uri (its scheme already matched). Fill dev->geo, dev->priv. */
	int (*open)(struct aisio_dev *dev, const char *uri, const struct aisio_open_opts *opts);
	void (*close)(struct aisio_dev *dev);
	int (*admin)(struct aisio_dev *dev, struct aisio_nvme_sqe *cmd, void *buf, size_t len,
		     uint32_t *result);
	int (*reset)(struct aisio_dev *dev);
	void *(*buf_alloc)(struct aisio_dev *dev, size_t len);
	void (*buf_free)(struct aisio_dev *dev, void *buf);
	/* Queue: allocate the backend queue and set q->ios / q->depth. */
	int (*queue_init)(struct aisio_dev *dev, uint32_t depth, struct aisio_queue **out);
	void (*queue_term)(struct aisio_queue *q);
	struct aisio_io *(*get_io)(struct aisio_queue *q);
	void (*put_io)(struct aisio_queue *q, struct aisio_io *io);
	int (*submit)(struct aisio_queue *q);
	int (*reap)(struct aisio_queue *q, uint32_t max);
	uint32_t (*outstanding)(const struct aisio_queue *q);
};

struct aisio_file_vol;

struct aisio_dev {
	const struct aisio_backend_ops *ops;
	struct aisio_geo geo;
	char *uri;
	void *priv;
	struct aisio_file_vol *fvol; /* src/file/local.c: the decoded file system, or NULL */
};

/* Every backend queue starts with this header. */
struct aisio_queue {
	struct aisio_dev *dev;
	uint32_t depth; /* commands in flight at most */
	/*
	 * The user-space driver's queue pair when every hot-path operation of
	 * this queue is the pair's own (be_upci): aisio_queue_get_io() then
	 * takes a slot inline, without two calls through the backend (once
	 * per command; submit and reap, once per batch, keep the table). NULL
	 * elsewhere.
	 */
	struct aisio_nvme_qpair *nvme;
};

/*
 * Backends, registered in the table of src/io/dev.c (one line each, with the
 * URI prefixes they open by default). io_uring and uring_cmd exist only in a
 * build with liburing (AISIO_HAVE_LIBURING).
 */
extern const struct aisio_backend_ops aisio_be_upci; /* user-space NVMe driver (emu:, pci:) */
extern const struct aisio_backend_ops aisio_be_psync;
extern const struct aisio_backend_ops aisio_be_io_uring;
extern const struct aisio_backend_ops aisio_be_uring_cmd;
extern const struct aisio_backend_ops aisio_be_homi; /* queues provisioned by homid (homi:) */
extern const struct aisio_backend_ops aisio_be_tcp;  /* NVMe/TCP initiator (nvme+tcp://) */

#endif
