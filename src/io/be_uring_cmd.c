/* SPDX-License-Identifier: MIT */
/*
 * NVMe passthrough backend: io_uring URING_CMD (NVME_URING_CMD_IO) on an
 * NVMe namespace character device /dev/ngXnY, one ring with 128-byte SQEs
 * and 32-byte CQEs per queue. Any NVMe I/O command passes through as built
 * (Read, Write, Flush, Write Zeroes, DSM, Compare, vendor commands); admin
 * commands use the passthrough ioctl (NVME_IOCTL_ADMIN_CMD).
 *
 * The kernel reports a command's NVMe status as a positive result (the CQE
 * status field shifted right by one) and transport errors as -errno, which
 * is the API's tri-state already.
 */
#ifdef AISIO_HAVE_LIBURING
#include <errno.h>
#include <liburing.h>
#include <linux/nvme_ioctl.h>
#include <stdlib.h>
#include <string.h>

#include "io/kpath.h"
#include "util/err.h"

#define UC_BATCH 64u

struct uc_dev {
	struct aisio_kfile kf;
	unsigned setup_flags;
	uint32_t timeout_ms;
};

struct uc_queue {
	struct aisio_kq kq; /* first: a struct aisio_queue */
	struct io_uring ring;
	uint32_t in_ring;
};

_Static_assert(sizeof(struct nvme_uring_cmd) <= 80, "nvme_uring_cmd fits a 128-byte SQE");

static int uc_open(struct aisio_dev *dev, const char *uri, const struct aisio_open_opts *opts)
{
	struct uc_dev *cd = calloc(1, sizeof(*cd));
	int err;

	if (!cd)
		return aisio_err(-ENOMEM, "out of memory");
	err = aisio_kfile_open(dev, &cd->kf, uri, opts, "uring_cmd", 1);
	if (err) {
		free(cd);
		return err;
	}
	cd->setup_flags = IORING_SETUP_SQE128 | IORING_SETUP_CQE32;
	if (opts->poll & 1)
		cd->setup_flags |= IORING_SETUP_IOPOLL;
	if (opts->poll & 2)
		cd->setup_flags |= IORING_SETUP_SQPOLL;
	cd->timeout_ms = opts->timeout_ms;
	dev->priv = cd;
	return 0;
}

static void uc_close(struct aisio_dev *dev)
{
	struct uc_dev *cd = dev->priv;

	aisio_kfile_close(&cd->kf);
	free(cd);
}

static int uc_admin(struct aisio_dev *dev, struct aisio_nvme_sqe *cmd, void *buf, size_t len,
		    uint32_t *result)
{
	struct uc_dev *cd = dev->priv;

	return aisio_kfile_admin(dev, &cd->kf, cmd, buf, len, result);
}

static int uc_queue_init(struct aisio_dev *dev, uint32_t depth, struct aisio_queue **out)
{
	struct uc_dev *cd = dev->priv;
	struct io_uring_params p;
	struct uc_queue *cq;
	int err;

	cq = calloc(1, sizeof(*cq));
	if (!cq)
		return aisio_err(-ENOMEM, "out of memory");
	err = aisio_kq_init(&cq->kq, dev, depth);
	if (err)
		goto err_free;
	memset(&p, 0, sizeof(p));
	p.flags = cd->setup_flags;
	p.sq_thread_idle = 100;
	err = io_uring_queue_init_params(depth, &cq->ring, &p);
	if (err < 0) {
		if (err == -EINVAL)
			err = aisio_err(err, "%s: this kernel cannot set up io_uring with 128-byte SQEs "
					"(NVMe passthrough needs Linux 5.19 or later)", dev->uri);
		else if (err == -EPERM && (cd->setup_flags & IORING_SETUP_SQPOLL))
			err = aisio_err(err, "%s: SQPOLL is not permitted here", dev->uri);
		else
			err = aisio_err(err, "%s: io_uring_queue_init(%u): %s", dev->uri, depth,
					strerror(-err));
		goto err_kq;
	}
	*out = &cq->kq.q;
	return 0;

err_kq:
	aisio_kq_term(&cq->kq);
err_free:
	free(cq);
	return err;
}

static int uc_reap(struct aisio_queue *q, uint32_t max);

static void uc_queue_term(struct aisio_queue *q)
{
	struct uc_queue *cq = (struct uc_queue *)q;

	while (cq->kq.inflight)
		if (uc_reap(q, 0) < 0)
			break;
	io_uring_queue_exit(&cq->ring);
	aisio_kq_term(&cq->kq);
	free(cq);
}

static struct aisio_io *uc_get_io(struct aisio_queue *q)
{
	return aisio_kq_get_io((struct aisio_kq *)q);
}

static void uc_put_io(struct aisio_queue *q, struct aisio_io *io)
{
	aisio_kq_put_io((struct aisio_kq *)q, io);
}

/*
 * sqe->cmd is declared as a zero-length array; with IORING_SETUP_SQE128 it
 * has 80 bytes behind it, which GCC cannot know.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Warray-bounds"
#pragma GCC diagnostic ignored "-Wstringop-overflow"
static void prep_one(struct uc_dev *cd, struct uc_queue *cq, struct io_uring_sqe *sqe,
		     struct aisio_io *io)
{
	struct nvme_uring_cmd *c = (struct nvme_uring_cmd *)sqe->cmd;
	const struct aisio_nvme_sqe *s = &io->cmd;

	memset(sqe, 0, 128);
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = cd->kf.fd;
	sqe->cmd_op = NVME_URING_CMD_IO;
	c->opcode = s->opc;
	c->flags = s->flags;
	c->nsid = aisio_le32_to_cpu(s->nsid);
	c->cdw2 = aisio_le32_to_cpu(s->cdw2);
	c->cdw3 = aisio_le32_to_cpu(s->cdw3);
	c->addr = (uint64_t)(uintptr_t)io->buf;
	c->data_len = io->buf ? (uint32_t)io->len : 0;
	c->cdw10 = aisio_le32_to_cpu(s->cdw10);
	c->cdw11 = aisio_le32_to_cpu(s->cdw11);
	c->cdw12 = aisio_le32_to_cpu(s->cdw12);
	c->cdw13 = aisio_le32_to_cpu(s->cdw13);
	c->cdw14 = aisio_le32_to_cpu(s->cdw14);
	c->cdw15 = aisio_le32_to_cpu(s->cdw15);
	c->timeout_ms = cd->timeout_ms;
	io_uring_sqe_set_data(sqe, io);
}
#pragma GCC diagnostic pop

static int uc_submit(struct aisio_queue *q)
{
	struct uc_queue *cq = (struct uc_queue *)q;
	struct uc_dev *cd = q->dev->priv;
	uint32_t n = cq->kq.npend, queued = 0;
	int ret;

	for (uint32_t i = 0; i < n; i++) {
		struct aisio_io *io = &cq->kq.ios[cq->kq.pend[i]];
		struct io_uring_sqe *sqe;

		if (q->dev->geo.max_xfer && io->len > q->dev->geo.max_xfer) {
			aisio_kq_done(&cq->kq, io,
				      aisio_err(-EINVAL, "%s: transfer of %u bytes exceeds the "
						"device's limit of %u bytes", q->dev->uri, io->len,
						q->dev->geo.max_xfer));
			continue;
		}
		sqe = io_uring_get_sqe(&cq->ring);
		if (!sqe) {
			io_uring_submit(&cq->ring);
			sqe = io_uring_get_sqe(&cq->ring);
		}
		prep_one(cd, cq, sqe, io);
		queued++;
	}
	cq->kq.npend = 0;
	cq->kq.inflight += n;
	if (!queued)
		return (int)n;
	do
		ret = io_uring_submit(&cq->ring);
	while (ret == -EINTR || ret == -EAGAIN);
	if (ret < 0)
		return aisio_kfile_ioerr(q->dev, &cd->kf, ret, "io_uring_submit", 0, 0, NULL);
	cq->in_ring += queued;
	return (int)n;
}

static int cqe_status(struct uc_dev *cd, struct aisio_dev *dev, struct aisio_io *io,
		      const struct io_uring_cqe *cqe)
{
	int res = cqe->res;

	io->result = (uint32_t)cqe->big_cqe[0];
	if (res > 0) {
		int status = res & 0x7ff; /* SCT << 8 | SC; drop CRD, More, DNR */

		return aisio_err(status, "%s: %s failed: %s", dev->uri,
				 aisio_nvme_opc_str(io->cmd.opc, 0),
				 aisio_nvme_status_str((uint32_t)status));
	}
	if (res < 0)
		return aisio_kfile_ioerr(dev, &cd->kf, res, aisio_nvme_opc_str(io->cmd.opc, 0), 0,
					 io->len, io->buf);
	return 0;
}

static int uc_reap(struct aisio_queue *q, uint32_t max)
{
	struct uc_queue *cq = (struct uc_queue *)q;
	struct uc_dev *cd = q->dev->priv;
	struct io_uring_cqe *cqes[UC_BATCH];
	uint32_t n = aisio_kq_reap_done(&cq->kq, max);

	if (!n && cq->in_ring && !io_uring_cq_ready(&cq->ring)) {
		struct io_uring_cqe *cqe;
		int err;

		do
			err = io_uring_wait_cqe(&cq->ring, &cqe);
		while (err == -EINTR);
		if (err < 0)
			return aisio_kfile_ioerr(q->dev, &cd->kf, err, "io_uring_wait_cqe", 0, 0, NULL);
	}
	while (cq->in_ring && (!max || n < max)) {
		uint32_t want = max && max - n < UC_BATCH ? max - n : UC_BATCH;
		uint32_t got = io_uring_peek_batch_cqe(&cq->ring, cqes, want);

		if (!got)
			break;
		for (uint32_t i = 0; i < got; i++) {
			struct aisio_io *io = io_uring_cqe_get_data(cqes[i]);

			io->status = cqe_status(cd, q->dev, io, cqes[i]);
			cq->in_ring--;
			aisio_kq_complete(&cq->kq, io);
		}
		io_uring_cq_advance(&cq->ring, got);
		n += got;
	}
	return (int)n;
}

static uint32_t uc_outstanding(const struct aisio_queue *q)
{
	return ((const struct aisio_kq *)q)->inflight;
}

const struct aisio_backend_ops aisio_be_uring_cmd = {
	.name = "uring_cmd",
	.open = uc_open,
	.close = uc_close,
	.admin = uc_admin,
	.buf_alloc = aisio_kfile_buf_alloc,
	.buf_free = aisio_kfile_buf_free,
	.queue_init = uc_queue_init,
	.queue_term = uc_queue_term,
	.get_io = uc_get_io,
	.put_io = uc_put_io,
	.submit = uc_submit,
	.reap = uc_reap,
	.outstanding = uc_outstanding,
};
#endif /* AISIO_HAVE_LIBURING */
