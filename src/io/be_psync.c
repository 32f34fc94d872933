/* SPDX-License-Identifier: MIT */
/*
 * psync backend: pread/pwrite on a file or block device. Submit runs each
 * prepared command to completion with one system call; reap runs the
 * callbacks. Queue depth is bookkeeping only: one command is in the kernel
 * at a time per queue, as with fio's psync engine.
 */
#include <errno.h>
#include <stdlib.h>

#include "io/kpath.h"
#include "util/err.h"

struct psync_dev {
	struct aisio_kfile kf;
};

static int psync_open(struct aisio_dev *dev, const char *uri, const struct aisio_open_opts *opts)
{
	struct psync_dev *pd = calloc(1, sizeof(*pd));
	int err;

	if (!pd)
		return aisio_err(-ENOMEM, "out of memory");
	err = aisio_kfile_open(dev, &pd->kf, uri, opts, "psync", 0);
	if (err) {
		free(pd);
		return err;
	}
	dev->priv = pd;
	return 0;
}

static void psync_close(struct aisio_dev *dev)
{
	struct psync_dev *pd = dev->priv;

	aisio_kfile_close(&pd->kf);
	free(pd);
}

static int psync_admin(struct aisio_dev *dev, struct aisio_nvme_sqe *cmd, void *buf, size_t len,
		       uint32_t *result)
{
	struct psync_dev *pd = dev->priv;

	return aisio_kfile_admin(dev, &pd->kf, cmd, buf, len, result);
}

static int psync_queue_init(struct aisio_dev *dev, uint32_t depth, struct aisio_queue **out)
{
	struct aisio_kq *kq = calloc(1, sizeof(*kq));
	int err;

	if (!kq)
		return aisio_err(-ENOMEM, "out of memory");
	err = aisio_kq_init(kq, dev, depth);
	if (err) {
		free(kq);
		return err;
	}
	*out = &kq->q;
	return 0;
}

static void psync_queue_term(struct aisio_queue *q)
{
	struct aisio_kq *kq = (struct aisio_kq *)q;

	/* Nothing is in the kernel: commands on the done list just lose their callbacks. */
	aisio_kq_term(kq);
	free(kq);
}

static struct aisio_io *psync_get_io(struct aisio_queue *q)
{
	return aisio_kq_get_io((struct aisio_kq *)q);
}

static void psync_put_io(struct aisio_queue *q, struct aisio_io *io)
{
	aisio_kq_put_io((struct aisio_kq *)q, io);
}

static int psync_submit(struct aisio_queue *q)
{
	struct aisio_kq *kq = (struct aisio_kq *)q;
	struct psync_dev *pd = q->dev->priv;
	uint32_t n = kq->npend;

	for (uint32_t i = 0; i < n; i++) {
		struct aisio_io *io = &kq->ios[kq->pend[i]];

		aisio_kq_done(kq, io, aisio_kfile_exec(q->dev, &pd->kf, io));
	}
	kq->npend = 0;
	kq->inflight += n;
	return (int)n;
}

static int psync_reap(struct aisio_queue *q, uint32_t max)
{
	return (int)aisio_kq_reap_done((struct aisio_kq *)q, max);
}

static uint32_t psync_outstanding(const struct aisio_queue *q)
{
	return ((const struct aisio_kq *)q)->inflight;
}

const struct aisio_backend_ops aisio_be_psync = {
	.name = "psync",
	.open = psync_open,
	.close = psync_close,
	.admin = psync_admin,
	.buf_alloc = aisio_kfile_buf_alloc,
	.buf_free = aisio_kfile_buf_free,
	.queue_init = psync_queue_init,
	.queue_term = psync_queue_term,
	.get_io = psync_get_io,
	.put_io = psync_put_io,
	.submit = psync_submit,
	.reap = psync_reap,
	.outstanding = psync_outstanding,
};
