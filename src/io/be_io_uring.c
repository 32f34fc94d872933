/* SPDX-License-Identifier: MIT */
/*
 * io_uring backend (liburing): one ring per queue, buffered or O_DIRECT,
 * registered files and buffers where the kernel allows, optional IOPOLL
 * and SQPOLL. Read, Write and Flush go through the ring; the other NVM
 * commands (Write Zeroes, DSM, Compare) run synchronously at submit.
 *
 * Buffers from aisio_buf_alloc() are registered in every ring of the
 * device (a sparse table updated on alloc and free), so reads and writes
 * into them use the fixed-buffer opcodes and skip per-I/O page pinning.
 */
#ifdef AISIO_HAVE_LIBURING
#include <errno.h>
#include <liburing.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "io/kpath.h"
#include "util/err.h"

#define UR_MAX_BUFS 1024u
#define UR_BATCH 64u

struct ur_buf {
	char *addr;
	size_t len;
};

struct ur_queue;

struct ur_dev {
	struct aisio_kfile kf;
	unsigned setup_flags;
	int fixed;
	pthread_mutex_t lock; /* bufs and the queue list */
	struct ur_buf bufs[UR_MAX_BUFS];
	uint32_t nbufs;       /* slots ever used */
	struct ur_queue *queues;
};

struct ur_queue {
	struct aisio_kq kq;   /* first: a struct aisio_queue */
	struct io_uring ring;
	int fixed_file;
	int fixed_bufs;
	uint32_t in_ring;     /* submitted to the ring, not yet reaped */
	uint32_t last_buf;
	struct ur_queue *next;
};

static int ur_open(struct aisio_dev *dev, const char *uri, const struct aisio_open_opts *opts)
{
	struct ur_dev *ud = calloc(1, sizeof(*ud));
	int err;

	if (!ud)
		return aisio_err(-ENOMEM, "out of memory");
	err = aisio_kfile_open(dev, &ud->kf, uri, opts, "io_uring", 0);
	if (err) {
		free(ud);
		return err;
	}
	if (opts->poll & 1) {
		if (!ud->kf.direct) {
			aisio_kfile_close(&ud->kf);
			free(ud);
			return aisio_err(-EINVAL, "%s: IOPOLL needs O_DIRECT (open with direct I/O)", uri);
		}
		ud->setup_flags |= IORING_SETUP_IOPOLL;
	}
	if (opts->poll & 2)
		ud->setup_flags |= IORING_SETUP_SQPOLL;
	ud->fixed = opts->fixed >= 0;
	pthread_mutex_init(&ud->lock, NULL);
	dev->priv = ud;
	return 0;
}

static void ur_close(struct aisio_dev *dev)
{
	struct ur_dev *ud = dev->priv;

	for (uint32_t i = 0; i < ud->nbufs; i++)
		free(ud->bufs[i].addr);
	pthread_mutex_destroy(&ud->lock);
	aisio_kfile_close(&ud->kf);
	free(ud);
}

static int ur_admin(struct aisio_dev *dev, struct aisio_nvme_sqe *cmd, void *buf, size_t len,
		    uint32_t *result)
{
	struct ur_dev *ud = dev->priv;

	return aisio_kfile_admin(dev, &ud->kf, cmd, buf, len, result);
}

/* Register (or, with addr NULL, clear) buffer slot @slot in one ring. */
static void ring_set_buf(struct ur_queue *uq, uint32_t slot, void *addr, size_t len)
{
	struct iovec iov = { .iov_base = addr, .iov_len = addr ? len : 0 };
	__u64 tag = 0;

	if (uq->fixed_bufs && io_uring_register_buffers_update_tag(&uq->ring, slot, &iov, &tag, 1) < 0)
		uq->fixed_bufs = 0; /* e.g. over RLIMIT_MEMLOCK: fall back to plain buffers */
}

static void *ur_buf_alloc(struct aisio_dev *dev, size_t len)
{
	struct ur_dev *ud = dev->priv;
	void *p = aisio_kfile_buf_alloc(dev, len);
	uint32_t slot;

	if (!p || !ud->fixed)
		return p;
	len = (len + 4095) & ~(size_t)4095;
	pthread_mutex_lock(&ud->lock);
	for (slot = 0; slot < ud->nbufs && ud->bufs[slot].addr; slot++)
		;
	if (slot < UR_MAX_BUFS && len <= (1ul << 30)) {
		ud->bufs[slot].addr = p;
		ud->bufs[slot].len = len;
		if (slot == ud->nbufs)
			ud->nbufs++;
		for (struct ur_queue *uq = ud->queues; uq; uq = uq->next)
			ring_set_buf(uq, slot, p, len);
	}
	pthread_mutex_unlock(&ud->lock);
	return p;
}

static void ur_buf_free(struct aisio_dev *dev, void *buf)
{
	struct ur_dev *ud = dev->priv;

	pthread_mutex_lock(&ud->lock);
	for (uint32_t slot = 0; slot < ud->nbufs; slot++) {
		if (ud->bufs[slot].addr != buf)
			continue;
		for (struct ur_queue *uq = ud->queues; uq; uq = uq->next)
			ring_set_buf(uq, slot, NULL, 0);
		ud->bufs[slot].addr = NULL;
		ud->bufs[slot].len = 0;
		break;
	}
	pthread_mutex_unlock(&ud->lock);
	free(buf);
}

static void ring_register(struct ur_dev *ud, struct ur_queue *uq)
{
	if (!ud->fixed)
		return;
	uq->fixed_file = io_uring_register_files(&uq->ring, &ud->kf.fd, 1) == 0;
	uq->fixed_bufs = io_uring_register_buffers_sparse(&uq->ring, UR_MAX_BUFS) == 0;
	for (uint32_t slot = 0; slot < ud->nbufs; slot++)
		if (ud->bufs[slot].addr)
			ring_set_buf(uq, slot, ud->bufs[slot].addr, ud->bufs[slot].len);
}

static int ur_queue_init(struct aisio_dev *dev, uint32_t depth, struct aisio_queue **out)
{
	struct ur_dev *ud = dev->priv;
	struct io_uring_params p;
	struct ur_queue *uq;
	int err;

	uq = calloc(1, sizeof(*uq));
	if (!uq)
		return aisio_err(-ENOMEM, "out of memory");
	err = aisio_kq_init(&uq->kq, dev, depth);
	if (err)
		goto err_free;
	memset(&p, 0, sizeof(p));
	p.flags = ud->setup_flags;
	p.sq_thread_idle = 100; /* ms before an idle SQPOLL thread sleeps */
	err = io_uring_queue_init_params(depth, &uq->ring, &p);
	if (err < 0) {
		if (err == -EPERM && (ud->setup_flags & IORING_SETUP_SQPOLL))
			err = aisio_err(err, "%s: SQPOLL is not permitted here (needs CAP_SYS_NICE on "
					"older kernels)", dev->uri);
		else if (err == -ENOMEM)
			err = aisio_err(err, "%s: io_uring ring of %u entries: out of locked memory "
					"(raise RLIMIT_MEMLOCK, ulimit -l)", dev->uri, depth);
		else if (err == -EPERM || err == -ENOSYS)
			err = aisio_err(err, "%s: io_uring is disabled on this system "
					"(kernel.io_uring_disabled?)", dev->uri);
		else
			err = aisio_err(err, "%s: io_uring_queue_init(%u): %s", dev->uri, depth,
					strerror(-err));
		goto err_kq;
	}
	pthread_mutex_lock(&ud->lock);
	ring_register(ud, uq);
	uq->next = ud->queues;
	ud->queues = uq;
	pthread_mutex_unlock(&ud->lock);
	*out = &uq->kq.q;
	return 0;

err_kq:
	aisio_kq_term(&uq->kq);
err_free:
	free(uq);
	return err;
}

static int ur_reap(struct aisio_queue *q, uint32_t max);

static void ur_queue_term(struct aisio_queue *q)
{
	struct ur_queue *uq = (struct ur_queue *)q;
	struct ur_dev *ud = q->dev->priv;

	/* Commands in the kernel still write into our buffers: wait for them. */
	while (uq->kq.inflight)
		if (ur_reap(q, 0) < 0)
			break;
	pthread_mutex_lock(&ud->lock);
	for (struct ur_queue **pp = &ud->queues; *pp; pp = &(*pp)->next) {
		if (*pp == uq) {
			*pp = uq->next;
			break;
		}
	}
	pthread_mutex_unlock(&ud->lock);
	io_uring_queue_exit(&uq->ring);
	aisio_kq_term(&uq->kq);
	free(uq);
}

static struct aisio_io *ur_get_io(struct aisio_queue *q)
{
	return aisio_kq_get_io((struct aisio_kq *)q);
}

static void ur_put_io(struct aisio_queue *q, struct aisio_io *io)
{
	aisio_kq_put_io((struct aisio_kq *)q, io);
}

/* Index of the registered buffer holding [buf, buf + len), or -1. */
static int find_buf(struct ur_dev *ud, struct ur_queue *uq, const void *buf, size_t len)
{
	const char *b = buf;
	uint32_t n = ud->nbufs;

	if (!uq->fixed_bufs)
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t s = (uq->last_buf + i) % n;
		const struct ur_buf *rb = &ud->bufs[s];

		if (rb->addr && b >= rb->addr && b + len <= rb->addr + rb->len) {
			uq->last_buf = s;
			return (int)s;
		}
	}
	return -1;
}

static struct io_uring_sqe *next_sqe(struct ur_queue *uq)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&uq->ring);

	if (!sqe) {
		io_uring_submit(&uq->ring);
		sqe = io_uring_get_sqe(&uq->ring);
	}
	return sqe;
}

/* Put @io into the ring; returns 1 if queued there, 0 if it finished here. */
static int prep_one(struct ur_dev *ud, struct ur_queue *uq, struct aisio_io *io)
{
	struct aisio_dev *dev = uq->kq.q.dev;
	struct io_uring_sqe *sqe;
	int fd = uq->fixed_file ? 0 : ud->kf.fd;
	int opc = io->cmd.opc;
	int write = opc == AISIO_NVME_NVM_WRITE;
	off_t off;
	size_t len;
	int err, idx;

	if (opc == AISIO_NVME_NVM_FLUSH && !(ud->setup_flags & IORING_SETUP_IOPOLL)) {
		sqe = next_sqe(uq);
		io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
		io->be_data = 0;
		goto queued;
	}
	if (opc != AISIO_NVME_NVM_READ && opc != AISIO_NVME_NVM_WRITE) {
		aisio_kq_done(&uq->kq, io, aisio_kfile_exec(dev, &ud->kf, io));
		return 0;
	}
	err = aisio_kfile_check_rw(dev, io, &off, &len);
	if (!err && write && ud->kf.rdonly)
		err = aisio_kfile_ioerr(dev, &ud->kf, -EBADF, "write", off, len, io->buf);
	if (err) {
		aisio_kq_done(&uq->kq, io, err);
		return 0;
	}
	sqe = next_sqe(uq);
	idx = find_buf(ud, uq, io->buf, len);
	if (idx >= 0) {
		if (write)
			io_uring_prep_write_fixed(sqe, fd, io->buf, (unsigned)len, (__u64)off, idx);
		else
			io_uring_prep_read_fixed(sqe, fd, io->buf, (unsigned)len, (__u64)off, idx);
	} else {
		if (write)
			io_uring_prep_write(sqe, fd, io->buf, (unsigned)len, (__u64)off);
		else
			io_uring_prep_read(sqe, fd, io->buf, (unsigned)len, (__u64)off);
	}
	io->be_data = (uint64_t)off;
queued:
	if (uq->fixed_file)
		io_uring_sqe_set_flags(sqe, IOSQE_FIXED_FILE);
	io_uring_sqe_set_data(sqe, io);
	return 1;
}

static int ur_submit(struct aisio_queue *q)
{
	struct ur_queue *uq = (struct ur_queue *)q;
	struct ur_dev *ud = q->dev->priv;
	uint32_t n = uq->kq.npend, queued = 0;
	int ret;

	for (uint32_t i = 0; i < n; i++)
		queued += (uint32_t)prep_one(ud, uq, &uq->kq.ios[uq->kq.pend[i]]);
	uq->kq.npend = 0;
	uq->kq.inflight += n;
	if (!queued)
		return (int)n;
	do
		ret = io_uring_submit(&uq->ring);
	while (ret == -EINTR || ret == -EAGAIN);
	if (ret < 0)
		return aisio_kfile_ioerr(q->dev, &ud->kf, ret, "io_uring_submit", 0, 0, NULL);
	uq->in_ring += queued;
	return (int)n;
}

static int cqe_status(struct ur_dev *ud, struct aisio_dev *dev, struct aisio_io *io, int res)
{
	off_t off = (off_t)io->be_data;

	if (io->cmd.opc == AISIO_NVME_NVM_FLUSH)
		return res < 0 ? aisio_kfile_ioerr(dev, &ud->kf, res, "flush (fsync)", 0, 0, NULL) : 0;
	return aisio_kfile_rw_status(dev, &ud->kf, io, off,
				     (size_t)((aisio_le32_to_cpu(io->cmd.cdw12) & 0xffff) + 1)
					     << ud->kf.lba_shift,
				     res);
}

static int ur_reap(struct aisio_queue *q, uint32_t max)
{
	struct ur_queue *uq = (struct ur_queue *)q;
	struct ur_dev *ud = q->dev->priv;
	struct io_uring_cqe *cqes[UR_BATCH];
	uint32_t n = aisio_kq_reap_done(&uq->kq, max);

	/* Kernel paths complete by interrupt: wait for one rather than spin. */
	if (!n && uq->in_ring && !io_uring_cq_ready(&uq->ring)) {
		struct io_uring_cqe *cqe;
		int err;

		do
			err = io_uring_wait_cqe(&uq->ring, &cqe);
		while (err == -EINTR);
		if (err < 0)
			return aisio_kfile_ioerr(q->dev, &ud->kf, err, "io_uring_wait_cqe", 0, 0, NULL);
	}
	while (uq->in_ring && (!max || n < max)) {
		uint32_t want = max && max - n < UR_BATCH ? max - n : UR_BATCH;
		uint32_t got = io_uring_peek_batch_cqe(&uq->ring, cqes, want);

		if (!got)
			break;
		for (uint32_t i = 0; i < got; i++) {
			struct aisio_io *io = io_uring_cqe_get_data(cqes[i]);

			io->status = cqe_status(ud, q->dev, io, cqes[i]->res);
			uq->in_ring--;
			aisio_kq_complete(&uq->kq, io);
		}
		io_uring_cq_advance(&uq->ring, got);
		n += got;
	}
	return (int)n;
}

static uint32_t ur_outstanding(const struct aisio_queue *q)
{
	return ((const struct aisio_kq *)q)->inflight;
}

const struct aisio_backend_ops aisio_be_io_uring = {
	.name = "io_uring",
	.open = ur_open,
	.close = ur_close,
	.admin = ur_admin,
	.buf_alloc = ur_buf_alloc,
	.buf_free = ur_buf_free,
	.queue_init = ur_queue_init,
	.queue_term = ur_queue_term,
	.get_io = ur_get_io,
	.put_io = ur_put_io,
	.submit = ur_submit,
	.reap = ur_reap,
	.outstanding = ur_outstanding,
};
#endif /* AISIO_HAVE_LIBURING */
