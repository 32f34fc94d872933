/* SPDX-License-Identifier: MIT */
/*
 * homid exports a namespace, or an LBA range of it, to the kernel as
 * /dev/ublkbN through Linux ublk_drv (docs/homi.md, "Block devices").
 *
 * One ublk queue per homid I/O thread; each thread owns an io_uring for
 * the ublk commands and a hardware queue pair of its own from the
 * controller's shared qid pool, so clients keep their queues beside it.
 * Data moves through plain buffers: the kernel copies each request's data
 * to or from a per-tag buffer in homid's DMA memory, and the NVMe command
 * points at that buffer.
 *
 * Crash: with UBLK_F_USER_RECOVERY the kernel keeps the device (and holds
 * or, with REISSUE, requeues its requests) when homid dies; the next homid
 * finds it through the state file it left beside its socket and resumes it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "homid.h"
#include "util/err.h"

#ifdef AISIO_HAVE_LIBURING
#include <liburing.h>

#include "ublk_abi.h"

#define UBLK_CONTROL "/dev/ublk-control"
#define UBLK_MAX_EXPORTS 8
#define UBLK_MAX_QUEUES 8
#define UBLK_DEFAULT_DEPTH 64
#define UBLK_MAX_IO (512u << 10)

struct ublk_tag {
	uint8_t *buf; /* max_io bytes of homid's DMA memory */
	struct aisio_nvme_dsm_range *range;
	int state; /* 0 fetching (the kernel holds it), 1 busy on the device, 2 done (aborted) */
};

struct ublk_queue {
	struct homid_export *e;
	int q_id;
	pthread_t th;
	int started;
	struct io_uring ring;
	struct ublksrv_io_desc *descs;
	size_t descs_len;
	struct aisio_nvme_qpair *qp;
	struct ublk_tag *tags;
	struct aisio_nvme_dsm_range *ranges;
	uint8_t *bufs; /* depth * max_io bytes, one slice per tag */
	uint32_t ndone;
	uint64_t ios, errors;
};

struct homid_export {
	struct homid_ctrl *hc;
	const struct homid_ns *ns;
	uint64_t lba_first, nlbas;
	uint32_t nqueues, depth, max_io;
	uint32_t dev_id;
	uint64_t flags; /* UBLK_F_* used */
	int cdev;
	int recovered;
	int vwc, dsm, wz;
	struct ublk_queue q[UBLK_MAX_QUEUES];
};

static struct {
	int ctrl_fd;
	struct io_uring ring; /* control commands: SQE128 */
	uint64_t features;    /* what the running kernel offers */
	char state_dir[128];
	struct homid_export *ex[UBLK_MAX_EXPORTS];
	int nex;
} U = { .ctrl_fd = -1 };

/* ---- control commands ---------------------------------------------------------- */

static int ctrl_cmd(uint32_t op, uint32_t dev_id, void *addr, uint16_t len, uint64_t data0)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&U.ring);
	struct io_uring_cqe *cqe;
	struct ublksrv_ctrl_cmd *c;
	int err;

	if (!sqe)
		return -EBUSY;
	memset(sqe, 0, 2 * sizeof(*sqe));
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = U.ctrl_fd;
	sqe->cmd_op = op;
	c = (struct ublksrv_ctrl_cmd *)sqe->cmd;
	c->dev_id = dev_id;
	c->queue_id = (uint16_t)-1;
	c->addr = (uint64_t)(uintptr_t)addr;
	c->len = len;
	c->data[0] = data0;
	err = io_uring_submit_and_wait(&U.ring, 1);
	if (err < 0)
		return err;
	err = io_uring_wait_cqe(&U.ring, &cqe);
	if (err)
		return err;
	err = cqe->res;
	io_uring_cqe_seen(&U.ring, cqe);
	return err;
}

static int ctrl_open(void)
{
	struct io_uring_params p = { .flags = IORING_SETUP_SQE128 };
	uint64_t feat = 0;
	int err;

	if (U.ctrl_fd >= 0)
		return 0;
	U.ctrl_fd = open(UBLK_CONTROL, O_RDWR | O_CLOEXEC);
	if (U.ctrl_fd < 0)
		return aisio_err(-errno, "%s: %s (load ublk_drv: modprobe ublk_drv)", UBLK_CONTROL,
				 strerror(errno));
	err = io_uring_queue_init_params(4, &U.ring, &p);
	if (err) {
		close(U.ctrl_fd);
		U.ctrl_fd = -1;
		return aisio_err(err, "io_uring for ublk control commands: %s", strerror(-err));
	}
	err = ctrl_cmd(HOMID_UBLK_CMD_GET_FEATURES, 0, &feat, sizeof(feat), 0);
	U.features = err ? 0 : feat; /* kernels before 6.5: no GET_FEATURES, none of the later flags */
	LOG_INFO("ublk: kernel features 0x%llx%s", (unsigned long long)U.features,
		 err ? " (GET_FEATURES not supported)" : "");
	return 0;
}

/* ---- state files: which device serves which export --------------------------------- */

static void state_path(uint32_t dev_id, char *out, size_t cap)
{
	snprintf(out, cap, "%s/ublkb%u", U.state_dir, dev_id);
}

static void state_write(const struct homid_export *e)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	FILE *f;

	mkdir(U.state_dir, 0755);
	state_path(e->dev_id, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f) {
		LOG_WARN("ublk: cannot write %s: %s; a crash would leave /dev/ublkb%u to be removed by "
			 "hand", tmp, strerror(errno), e->dev_id);
		return;
	}
	fprintf(f, "%s %u %llu %llu\n", e->hc->name, e->ns->nsid, (unsigned long long)e->lba_first,
		(unsigned long long)e->nlbas);
	if (fclose(f) || rename(tmp, path))
		LOG_WARN("ublk: cannot write %s: %s", path, strerror(errno));
}

static int state_read(uint32_t dev_id, char *ctrl, uint32_t *nsid, uint64_t *first, uint64_t *n)
{
	char path[PATH_MAX];
	unsigned long long a, b;
	FILE *f;
	int ok;

	state_path(dev_id, path, sizeof(path));
	f = fopen(path, "r");
	if (!f)
		return -ENOENT;
	ok = fscanf(f, "%31s %u %llu %llu", ctrl, nsid, &a, &b) == 4;
	fclose(f);
	*first = a;
	*n = b;
	return ok ? 0 : -EINVAL;
}

static void state_remove(uint32_t dev_id)
{
	char path[PATH_MAX];

	state_path(dev_id, path, sizeof(path));
	unlink(path);
}

/* ---- the I/O threads ----------------------------------------------------------------- */

static void queue_cmd(struct ublk_queue *q, uint16_t tag, uint32_t op, int32_t result)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&q->ring);
	struct ublksrv_io_cmd *c;

	if (!sqe) { /* the ring holds one entry per tag: only after a lost submit */
		io_uring_submit(&q->ring);
		sqe = io_uring_get_sqe(&q->ring);
		if (!sqe) {
			LOG_ERR("ublk%u queue %d: no SQE for tag %u", q->e->dev_id, q->q_id, tag);
			return;
		}
	}
	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = q->e->cdev;
	sqe->cmd_op = op;
	c = (struct ublksrv_io_cmd *)sqe->cmd;
	c->q_id = (uint16_t)q->q_id;
	c->tag = tag;
	c->result = result;
	c->addr = (uint64_t)(uintptr_t)q->tags[tag].buf;
	io_uring_sqe_set_data64(sqe, tag);
	q->tags[tag].state = 0;
}

static void io_done(struct aisio_io *io, void *arg)
{
	struct ublk_queue *q = arg;
	uint16_t tag = (uint16_t)io->submit_ts; /* the tag rides in the caller's field */
	const struct ublksrv_io_desc *d = &q->descs[tag];
	uint32_t op = d->op_flags & 0xff;
	int32_t res;

	if (io->status) {
		res = io->status < 0 ? io->status : homid_nvme_errno(io->status);
		__atomic_add_fetch(&q->errors, 1, __ATOMIC_RELAXED);
		LOG_DEBUG("ublk%u queue %d tag %u op %u: %s", q->e->dev_id, q->q_id, tag, op,
			  aisio_status_str(io->status));
	} else {
		res = op == HOMID_UBLK_OP_READ || op == HOMID_UBLK_OP_WRITE ? (int32_t)(d->nr_sectors << 9)
									    : 0;
	}
	queue_cmd(q, tag, HOMID_UBLK_IO_COMMIT_AND_FETCH_REQ, res);
}

/* Start request @tag on the device, or answer it at once. */
static void handle_req(struct ublk_queue *q, uint16_t tag)
{
	struct homid_export *e = q->e;
	const struct ublksrv_io_desc *d = &q->descs[tag];
	uint32_t op = d->op_flags & 0xff;
	uint32_t shift = e->ns->lba_shift, nsid = e->ns->nsid;
	uint64_t bytes = (uint64_t)d->nr_sectors << 9, off = d->start_sector << 9;
	uint64_t bmask = ((uint64_t)1 << shift) - 1, slba = e->lba_first + (off >> shift);
	uint32_t nlb = (uint32_t)(bytes >> shift);
	struct aisio_io *io;
	int32_t early = 0;

	__atomic_add_fetch(&q->ios, 1, __ATOMIC_RELAXED); /* read by STATUS */
	if ((op == HOMID_UBLK_OP_READ || op == HOMID_UBLK_OP_WRITE) && bytes > e->max_io) {
		early = -EINVAL;
		goto answer;
	}
	if (op == HOMID_UBLK_OP_FLUSH && !e->vwc)
		goto answer; /* no volatile cache: nothing to flush */
	/* the kernel keeps requests inside the device and aligned to its block size: check anyway */
	if (op != HOMID_UBLK_OP_FLUSH && ((off | bytes) & bmask || (off >> shift) + nlb > e->nlbas)) {
		early = -EINVAL;
		goto answer;
	}
	io = aisio_nvme_qpair_get_io(q->qp);
	if (!io) {
		early = -EBUSY;
		goto answer;
	}
	switch (op) {
	case HOMID_UBLK_OP_READ:
		aisio_prep_read(io, nsid, slba, nlb, q->tags[tag].buf, bytes);
		break;
	case HOMID_UBLK_OP_WRITE:
		aisio_prep_write(io, nsid, slba, nlb, q->tags[tag].buf, bytes);
		break;
	case HOMID_UBLK_OP_FLUSH:
		aisio_prep_flush(io, nsid);
		break;
	case HOMID_UBLK_OP_DISCARD:
		q->tags[tag].range->cattr = 0;
		q->tags[tag].range->nlb = nlb;
		q->tags[tag].range->slba = slba;
		aisio_prep_dsm(io, nsid, q->tags[tag].range, 1, AISIO_NVME_DSM_AD);
		break;
	case HOMID_UBLK_OP_WRITE_ZEROES:
		aisio_prep_write_zeroes(io, nsid, slba, nlb, 0);
		break;
	default:
		aisio_nvme_qpair_put_io(q->qp, io);
		early = -EOPNOTSUPP;
		goto answer;
	}
	if (d->op_flags & HOMID_UBLK_IO_F_FUA && (op == HOMID_UBLK_OP_READ || op == HOMID_UBLK_OP_WRITE))
		io->cmd.cdw12 |= 1u << 30; /* FUA */
	io->cb = io_done;
	io->cb_arg = q;
	io->submit_ts = tag;
	q->tags[tag].state = 1;
	return;
answer:
	if (early)
		__atomic_add_fetch(&q->errors, 1, __ATOMIC_RELAXED);
	queue_cmd(q, tag, HOMID_UBLK_IO_COMMIT_AND_FETCH_REQ,
		  early ? early : op == HOMID_UBLK_OP_READ || op == HOMID_UBLK_OP_WRITE ? (int32_t)bytes : 0);
}

static void *queue_thread(void *arg)
{
	struct ublk_queue *q = arg;
	struct homid_export *e = q->e;
	unsigned idle = 0;

	for (uint32_t t = 0; t < e->depth; t++)
		queue_cmd(q, (uint16_t)t, HOMID_UBLK_IO_FETCH_REQ, -1);
	for (;;) {
		struct io_uring_cqe *cqe;
		unsigned head, n = 0;
		int busy;

		if (q->ndone == e->depth && !aisio_nvme_qpair_outstanding(q->qp))
			break;
		aisio_nvme_qpair_submit(q->qp);
		io_uring_submit(&q->ring);
		busy = aisio_nvme_qpair_outstanding(q->qp) > 0;
		if (busy) {
			int r = aisio_nvme_qpair_reap(q->qp, 0);

			if (r < 0)
				LOG_ERR("ublk%u queue %d: the controller failed: %s", e->dev_id, q->q_id,
					aisio_errmsg());
			if (r > 0)
				idle = 0;
		} else if (!io_uring_cq_ready(&q->ring)) {
			if (io_uring_wait_cqe(&q->ring, &cqe) && errno != EINTR)
				continue;
		}
		io_uring_for_each_cqe(&q->ring, head, cqe) {
			uint16_t tag = (uint16_t)cqe->user_data;

			n++;
			if (tag >= e->depth)
				continue;
			if (cqe->res == UBLK_IO_RES_OK) {
				handle_req(q, tag);
			} else {
				if (cqe->res != UBLK_IO_RES_ABORT)
					LOG_WARN("ublk%u queue %d tag %u: command ended with %d (%s)",
						 e->dev_id, q->q_id, tag, cqe->res, strerror(-cqe->res));
				if (q->tags[tag].state != 2) {
					q->tags[tag].state = 2;
					q->ndone++;
				}
			}
		}
		io_uring_cq_advance(&q->ring, n);
		if (n)
			idle = 0;
		if (busy && !n && ++idle > 256) {
			struct timespec ts = { 0, 20000 };

			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

/* ---- exports ------------------------------------------------------------------------- */

static void queue_free(struct homid_export *e, struct ublk_queue *q)
{
	if (q->descs)
		munmap(q->descs, q->descs_len);
	q->descs = NULL;
	aisio_nvme_ctrl_dma_free(e->hc->nc, q->bufs);
	q->bufs = NULL;
	free(q->tags);
	q->tags = NULL;
	aisio_nvme_ctrl_dma_free(e->hc->nc, q->ranges);
	q->ranges = NULL;
	if (q->qp)
		aisio_nvme_qpair_delete(q->qp);
	q->qp = NULL;
	if (q->ring.ring_fd > 0)
		io_uring_queue_exit(&q->ring);
	q->ring.ring_fd = 0;
}

static int queue_setup(struct homid_export *e, struct ublk_queue *q)
{
	const struct aisio_nvme_ctrl_info *ci = aisio_nvme_ctrl_info(e->hc->nc);
	size_t page = (size_t)1 << ci->page_shift;
	int err;

	q->e = e;
	q->tags = calloc(e->depth, sizeof(*q->tags));
	q->ranges = aisio_nvme_ctrl_dma_alloc(e->hc->nc, (size_t)e->depth * 16, page);
	if (!q->tags || !q->ranges)
		return aisio_err(-ENOMEM, "ublk: out of memory for queue %d", q->q_id);
	q->bufs = aisio_nvme_ctrl_dma_alloc(e->hc->nc, (size_t)e->depth * e->max_io, page);
	if (!q->bufs)
		return aisio_err(-ENOMEM, "ublk: no DMA memory for %u buffers of %u bytes (queue %d); "
				 "reserve more hugepages or lower depth=", e->depth, e->max_io, q->q_id);
	for (uint32_t t = 0; t < e->depth; t++) {
		q->tags[t].buf = q->bufs + (size_t)t * e->max_io;
		q->tags[t].range = &q->ranges[t];
	}
	/* the hardware queue: one more entry than tags (a ring of N holds N - 1) */
	err = aisio_nvme_qpair_create(e->hc->nc, NULL, e->depth + 1, 0, &q->qp);
	if (err)
		return aisio_err(err < 0 ? err : -EIO, "ublk: %s: no hardware queue pair for queue %d: %s",
				 e->hc->name, q->q_id, aisio_errmsg());
	return 0;
}

static int queue_map(struct homid_export *e, struct ublk_queue *q)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	size_t stride = ((size_t)UBLK_MAX_QUEUE_DEPTH * sizeof(struct ublksrv_io_desc) + pg - 1) & ~(pg - 1);
	int err;

	q->descs_len = ((size_t)e->depth * sizeof(struct ublksrv_io_desc) + pg - 1) & ~(pg - 1);
	q->descs = mmap(NULL, q->descs_len, PROT_READ, MAP_SHARED | MAP_POPULATE, e->cdev,
			(off_t)(UBLKSRV_CMD_BUF_OFFSET + (size_t)q->q_id * stride));
	if (q->descs == MAP_FAILED) {
		q->descs = NULL;
		return aisio_err(-errno, "ublk%u: mapping the descriptors of queue %d: %s", e->dev_id,
				 q->q_id, strerror(errno));
	}
	err = io_uring_queue_init(e->depth, &q->ring, 0);
	if (err) {
		q->ring.ring_fd = 0;
		return aisio_err(err, "ublk%u: io_uring for queue %d: %s", e->dev_id, q->q_id,
				 strerror(-err));
	}
	return 0;
}

static int cdev_open(struct homid_export *e)
{
	char path[64];

	snprintf(path, sizeof(path), "/dev/ublkc%u", e->dev_id);
	for (int i = 0; i < 500; i++) { /* devtmpfs creates the node right after ADD_DEV */
		e->cdev = open(path, O_RDWR | O_CLOEXEC);
		if (e->cdev >= 0)
			return 0;
		if (errno != ENOENT)
			break;
		usleep(10000);
	}
	return aisio_err(-errno, "%s: %s", path, strerror(errno));
}

static int export_params(struct homid_export *e)
{
	struct ublk_params p;
	uint32_t shift = e->ns->lba_shift;

	memset(&p, 0, sizeof(p));
	p.len = sizeof(p);
	p.types = HOMID_UBLK_PARAM_TYPE_BASIC;
	p.basic.attrs = e->vwc ? HOMID_UBLK_ATTR_VOLATILE_CACHE | HOMID_UBLK_ATTR_FUA : 0;
	p.basic.logical_bs_shift = (uint8_t)shift;
	p.basic.physical_bs_shift = (uint8_t)shift;
	p.basic.io_min_shift = (uint8_t)shift;
	p.basic.io_opt_shift = (uint8_t)shift;
	p.basic.max_sectors = e->max_io >> 9;
	p.basic.dev_sectors = e->nlbas << (shift - 9);
	if (e->dsm || e->wz) {
		p.types |= HOMID_UBLK_PARAM_TYPE_DISCARD;
		p.discard.discard_granularity = 1u << shift;
		p.discard.max_discard_sectors = e->dsm ? UINT32_MAX >> 9 : 0;
		p.discard.max_discard_segments = 1;
		/* Write Zeroes: NLB is 16 bits */
		p.discard.max_write_zeroes_sectors = e->wz ? 65536u << (shift - 9) : 0;
	}
	return ctrl_cmd(HOMID_UBLK_CMD_SET_PARAMS, e->dev_id, &p, sizeof(p), 0);
}

static void export_teardown(struct homid_export *e, int del)
{
	for (uint32_t i = 0; i < e->nqueues; i++)
		if (e->q[i].started)
			pthread_join(e->q[i].th, NULL);
	for (uint32_t i = 0; i < e->nqueues; i++)
		queue_free(e, &e->q[i]);
	if (e->cdev >= 0)
		close(e->cdev);
	e->cdev = -1;
	if (del && e->dev_id != UINT32_MAX) {
		int err = ctrl_cmd(HOMID_UBLK_CMD_DEL_DEV, e->dev_id, NULL, 0, 0);

		if (err)
			LOG_WARN("ublk%u: DEL_DEV: %s", e->dev_id, strerror(-err));
		state_remove(e->dev_id);
	}
}

/* Bring an export up; @recover_id is a device of a previous homid to resume, or UINT32_MAX. */
static int export_run(struct homid_export *e, uint32_t recover_id)
{
	const struct aisio_nvme_ctrl_info *ci = aisio_nvme_ctrl_info(e->hc->nc);
	int err;

	e->cdev = -1;
	e->dev_id = recover_id;
	e->vwc = ci->id->vwc & 1;
	e->dsm = !!(ci->id->oncs & AISIO_NVME_ONCS_DSM);
	e->wz = !!(ci->id->oncs & AISIO_NVME_ONCS_WRITE_ZEROES);
	e->max_io = ci->max_xfer < UBLK_MAX_IO ? ci->max_xfer : UBLK_MAX_IO;
	e->max_io &= ~((1u << e->ns->lba_shift) - 1);
	e->flags = U.features & (UBLK_F_CMD_IOCTL_ENCODE | UBLK_F_USER_RECOVERY |
				 UBLK_F_USER_RECOVERY_REISSUE);
	if (!(U.features & UBLK_F_CMD_IOCTL_ENCODE) && U.features)
		return aisio_err(-ENOTSUP, "ublk: this kernel lacks ioctl-encoded commands");
	if (e->depth + 1 > ci->max_qdepth)
		e->depth = ci->max_qdepth - 1;
	for (uint32_t i = 0; i < e->nqueues; i++) {
		e->q[i].q_id = (int)i;
		err = queue_setup(e, &e->q[i]);
		if (err)
			goto fail;
	}
	if (recover_id == UINT32_MAX) {
		struct ublksrv_ctrl_dev_info info;

		memset(&info, 0, sizeof(info));
		info.nr_hw_queues = (uint16_t)e->nqueues;
		info.queue_depth = (uint16_t)e->depth;
		info.max_io_buf_bytes = e->max_io;
		info.dev_id = UINT32_MAX;
		info.ublksrv_pid = getpid();
		info.flags = e->flags;
		err = ctrl_cmd(HOMID_UBLK_CMD_ADD_DEV, UINT32_MAX, &info, sizeof(info), 0);
		if (err) {
			err = aisio_err(err, "ublk: ADD_DEV: %s", strerror(-err));
			goto fail;
		}
		e->dev_id = info.dev_id;
		err = export_params(e);
		if (err) {
			err = aisio_err(err, "ublk%u: SET_PARAMS: %s", e->dev_id, strerror(-err));
			goto fail_del;
		}
	} else {
		/* the old homid's files must be released first: the kernel says -EBUSY until then */
		for (int i = 0; i < 300; i++) {
			err = ctrl_cmd(HOMID_UBLK_CMD_START_USER_RECOVERY, e->dev_id, NULL, 0, 0);
			if (err != -EBUSY)
				break;
			usleep(100000);
		}
		if (err) {
			err = aisio_err(err, "ublk%u: START_USER_RECOVERY: %s", e->dev_id, strerror(-err));
			goto fail;
		}
		e->recovered = 1;
	}
	err = cdev_open(e);
	if (err)
		goto fail_del;
	for (uint32_t i = 0; i < e->nqueues; i++) {
		err = queue_map(e, &e->q[i]);
		if (err)
			goto fail_del;
	}
	state_write(e);
	for (uint32_t i = 0; i < e->nqueues; i++) {
		err = pthread_create(&e->q[i].th, NULL, queue_thread, &e->q[i]);
		if (err) {
			err = aisio_err(-err, "ublk: cannot start an I/O thread: %s", strerror(err));
			goto fail_stop;
		}
		e->q[i].started = 1;
	}
	/* both wait until every queue has fetched its tags */
	err = ctrl_cmd(recover_id == UINT32_MAX ? HOMID_UBLK_CMD_START_DEV
						: HOMID_UBLK_CMD_END_USER_RECOVERY,
		       e->dev_id, NULL, 0, (uint64_t)getpid());
	if (err) {
		err = aisio_err(err, "ublk%u: %s: %s", e->dev_id,
				recover_id == UINT32_MAX ? "START_DEV" : "END_USER_RECOVERY",
				strerror(-err));
		goto fail_stop;
	}
	LOG_INFO("ublk: /dev/ublkb%u %s: %s nsid %u LBAs %llu+%llu, %u queue(s) x %u, max %u bytes, "
		 "flags 0x%llx, plain buffers", e->dev_id, e->recovered ? "recovered" : "exported",
		 e->hc->name, e->ns->nsid, (unsigned long long)e->lba_first,
		 (unsigned long long)e->nlbas, e->nqueues, e->depth, e->max_io,
		 (unsigned long long)e->flags);
	return 0;

fail_stop:
	ctrl_cmd(HOMID_UBLK_CMD_STOP_DEV, e->dev_id, NULL, 0, 0);
fail_del:
	export_teardown(e, 1);
	return err;
fail:
	export_teardown(e, 0);
	return err;
}

/* CTRL-less spec: ctrl=NAME,nsid=N,lba_first=N,lba_count=N,queues=N,depth=N */
static int export_parse(struct homid *h, const char *spec, struct homid_export *e)
{
	char buf[256], *save = NULL, *tok;
	char ctrl[AISIO_HOMI_NAME_LEN] = "";
	unsigned long long first = 0, count = 0;
	unsigned nsid = 0, nq = 1, depth = UBLK_DEFAULT_DEPTH;

	if (strlen(spec) >= sizeof(buf))
		return aisio_err(-EINVAL, "export '%s': too long", spec);
	memcpy(buf, spec, strlen(spec) + 1);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *v = strchr(tok, '='), *end;
		unsigned long long x;

		if (!v)
			return aisio_err(-EINVAL, "export '%s': '%s' is not KEY=VALUE", spec, tok);
		*v++ = 0;
		if (!strcmp(tok, "ctrl")) {
			snprintf(ctrl, sizeof(ctrl), "%s", v);
			continue;
		}
		errno = 0;
		x = strtoull(v, &end, 0);
		if (errno || *end || !*v)
			return aisio_err(-EINVAL, "export '%s': %s=%s is not a number", spec, tok, v);
		if (!strcmp(tok, "nsid"))
			nsid = (unsigned)x;
		else if (!strcmp(tok, "lba_first"))
			first = x;
		else if (!strcmp(tok, "lba_count"))
			count = x;
		else if (!strcmp(tok, "queues") && x >= 1 && x <= UBLK_MAX_QUEUES)
			nq = (unsigned)x;
		else if (!strcmp(tok, "depth") && x >= 1 && x <= 1024)
			depth = (unsigned)x;
		else
			return aisio_err(-EINVAL, "export '%s': unknown key or value out of range: %s "
					 "(keys: ctrl, nsid, lba_first, lba_count, queues 1..%d, depth 1..1024)",
					 spec, tok, UBLK_MAX_QUEUES);
	}
	for (int i = 0; i < h->nctrls; i++)
		if (!ctrl[0] || !strcmp(ctrl, h->ctrls[i].name)) {
			e->hc = &h->ctrls[i];
			break;
		}
	if (!e->hc)
		return aisio_err(-ENODEV, "export '%s': no controller named '%s'", spec, ctrl);
	if (e->hc->kind == AISIO_HOMI_CTRL_TCP)
		return aisio_err(-ENOTSUP, "export '%s': %s is a remote controller over NVMe/TCP; "
				 "ublk exports of it are not supported (the kernel's own initiator, "
				 "nvme connect, gives a block device)", spec, e->hc->name);
	e->ns = homid_ctrl_ns(e->hc, nsid ? nsid : e->hc->nns ? e->hc->ns[0].nsid : 0);
	if (!e->ns)
		return aisio_err(-ENODEV, "export '%s': %s has no active namespace %u", spec,
				 e->hc->name, nsid);
	if (first >= e->ns->nlbas || (count && count > e->ns->nlbas - first))
		return aisio_err(-ERANGE, "export '%s': LBAs %llu+%llu are outside namespace %u (%llu LBAs)",
				 spec, first, count, e->ns->nsid, (unsigned long long)e->ns->nlbas);
	if (e->ns->lba_shift > 12)
		return aisio_err(-ENOTSUP, "export '%s': %u-byte blocks are larger than a page", spec,
				 1u << e->ns->lba_shift);
	e->lba_first = first;
	e->nlbas = count ? count : e->ns->nlbas - first;
	e->nqueues = nq;
	e->depth = depth;
	return 0;
}

static int pid_alive(pid_t pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

/*
 * Devices a previous homid left (it was killed): resume the one that serves
 * @e (same controller, namespace, range) and return its id, remove the
 * others that have a state file of ours. match[i] is the device for
 * want[i], or UINT32_MAX when none fits.
 */
static void stale_scan(struct homid_export **want, int nwant, uint32_t *match)
{
	DIR *d = opendir("/sys/class/ublk-char");
	struct dirent *de;

	for (int i = 0; i < nwant; i++)
		match[i] = UINT32_MAX;
	if (!d)
		return;
	while ((de = readdir(d))) {
		struct ublksrv_ctrl_dev_info info;
		char ctrl[32];
		uint32_t id, nsid;
		uint64_t first, n;
		int err, used = 0;

		if (sscanf(de->d_name, "ublkc%u", &id) != 1)
			continue;
		if (state_read(id, ctrl, &nsid, &first, &n))
			continue; /* not one of homid's */
		memset(&info, 0, sizeof(info));
		err = ctrl_cmd(HOMID_UBLK_CMD_GET_DEV_INFO, id, &info, sizeof(info), 0);
		if (err) {
			LOG_WARN("ublk%u: GET_DEV_INFO: %s", id, strerror(-err));
			continue;
		}
		if (info.ublksrv_pid != getpid() && pid_alive(info.ublksrv_pid) &&
		    info.state == HOMID_UBLK_S_DEV_LIVE) {
			LOG_WARN("ublk%u: served by live pid %d; left alone", id, info.ublksrv_pid);
			continue;
		}
		for (int i = 0; i < nwant && !used; i++) {
			struct homid_export *e = want[i];

			if (match[i] == UINT32_MAX && !strcmp(ctrl, e->hc->name) && nsid == e->ns->nsid &&
			    first == e->lba_first && n == e->nlbas &&
			    (info.flags & UBLK_F_USER_RECOVERY) && info.nr_hw_queues == e->nqueues &&
			    info.queue_depth <= e->depth) {
				match[i] = id;
				e->depth = info.queue_depth;
				used = 1;
			}
		}
		if (used)
			continue;
		LOG_INFO("ublk%u: left by pid %d (state %u), not exported now: removing /dev/ublkb%u",
			 id, info.ublksrv_pid, info.state, id);
		ctrl_cmd(HOMID_UBLK_CMD_STOP_DEV, id, NULL, 0, 0);
		/*
		 * Without waiting where the kernel can: the dead homid's files may
		 * still be closing, and homid must not hang on them at start.
		 */
		err = ctrl_cmd(HOMID_UBLK_CMD_DEL_DEV_ASYNC, id, NULL, 0, 0);
		if (err == -EINVAL || err == -EOPNOTSUPP)
			err = ctrl_cmd(HOMID_UBLK_CMD_DEL_DEV, id, NULL, 0, 0);
		if (err)
			LOG_WARN("ublk%u: DEL_DEV: %s", id, strerror(-err));
		else
			state_remove(id);
	}
	closedir(d);
}

static void state_dir_init(struct homid *h)
{
	char *slash;

	snprintf(U.state_dir, sizeof(U.state_dir) - 8, "%s", h->cfg.socket);
	slash = strrchr(U.state_dir, '/');
	if (slash)
		*slash = 0;
	else
		snprintf(U.state_dir, sizeof(U.state_dir), ".");
	strcat(U.state_dir, "/ublk");
}

/* An export whose LBAs overlap @e's on the same namespace, or NULL. */
static struct homid_export *export_overlap(const struct homid_export *e)
{
	for (int i = 0; i < U.nex; i++) {
		struct homid_export *o = U.ex[i];

		if (o->hc == e->hc && o->ns == e->ns && e->lba_first < o->lba_first + o->nlbas &&
		    o->lba_first < e->lba_first + e->nlbas)
			return o;
	}
	return NULL;
}

int homid_ublk_start(struct homid *h, char *const *specs, int n)
{
	struct homid_export *want[UBLK_MAX_EXPORTS] = { 0 };
	uint32_t match[UBLK_MAX_EXPORTS];
	int err = 0;

	state_dir_init(h);
	if (n > UBLK_MAX_EXPORTS)
		return aisio_err(-E2BIG, "at most %d exports", UBLK_MAX_EXPORTS);
	if (access(UBLK_CONTROL, F_OK) && !n)
		return 0; /* no ublk_drv and nothing to export */
	err = ctrl_open();
	if (err)
		return n ? err : 0;
	for (int i = 0; i < n; i++) {
		want[i] = calloc(1, sizeof(*want[i]));
		if (!want[i]) {
			err = aisio_err(-ENOMEM, "out of memory");
			goto out;
		}
		err = export_parse(h, specs[i], want[i]);
		if (err)
			goto out;
	}
	stale_scan(want, n, match);
	for (int i = 0; i < n; i++) {
		if (export_overlap(want[i])) {
			err = aisio_err(-EBUSY, "export '%s' overlaps /dev/ublkb%u", specs[i],
					export_overlap(want[i])->dev_id);
			goto out;
		}
		err = export_run(want[i], match[i]);
		if (err)
			goto out;
		U.ex[U.nex++] = want[i];
		want[i] = NULL;
	}
out:
	for (int i = 0; i < n; i++)
		free(want[i]);
	return err;
}

static void export_stop(struct homid_export *e)
{
	int err = ctrl_cmd(HOMID_UBLK_CMD_STOP_DEV, e->dev_id, NULL, 0, 0);

	if (err)
		LOG_WARN("ublk%u: STOP_DEV: %s", e->dev_id, strerror(-err));
	export_teardown(e, 1);
	LOG_INFO("ublk: /dev/ublkb%u removed", e->dev_id);
	free(e);
}

int homid_ublk_request(struct homid *h, struct homid_client *cl, uint16_t type, const void *body,
		       void *reply, size_t *rlen)
{
	if (type == AISIO_HOMI_EXPORTS) {
		int n = homid_ublk_describe(reply, AISIO_HOMI_EXPORTS_MAX);

		*rlen = (size_t)n + 1;
		return 0;
	}
	if (cl->uid != 0)
		return aisio_err(-EPERM, "exporting block devices is for root (uid %u asked)", cl->uid);
	if (type == AISIO_HOMI_EXPORT) {
		const struct aisio_homi_export *r = body;
		struct aisio_homi_export_reply *er = reply;
		struct homid_export *e, *o;
		int err;

		if (!memchr(r->spec, 0, sizeof(r->spec)))
			return aisio_err(-EINVAL, "export spec is not NUL-terminated");
		if (U.nex == UBLK_MAX_EXPORTS)
			return aisio_err(-EDQUOT, "homid serves %d exports already", UBLK_MAX_EXPORTS);
		if (!U.state_dir[0])
			state_dir_init(h);
		err = ctrl_open();
		if (err)
			return err;
		e = calloc(1, sizeof(*e));
		if (!e)
			return aisio_err(-ENOMEM, "out of memory");
		err = export_parse(h, r->spec, e);
		if (!err && (o = export_overlap(e)))
			err = aisio_err(-EBUSY, "LBAs %llu+%llu overlap /dev/ublkb%u",
					(unsigned long long)e->lba_first, (unsigned long long)e->nlbas,
					o->dev_id);
		if (!err)
			err = export_run(e, UINT32_MAX);
		if (err) {
			free(e);
			return err;
		}
		U.ex[U.nex++] = e;
		memset(er, 0, sizeof(*er));
		er->dev_id = e->dev_id;
		*rlen = sizeof(*er);
		return 0;
	}
	{
		const struct aisio_homi_unexport *r = body;

		for (int i = 0; i < U.nex; i++) {
			struct homid_export *e = U.ex[i];

			if (e->dev_id != r->dev_id)
				continue;
			U.ex[i] = U.ex[--U.nex];
			export_stop(e);
			*rlen = 0;
			return 0;
		}
		return aisio_err(-ENOENT, "homid serves no /dev/ublkb%u", r->dev_id);
	}
}

void homid_ublk_stop(struct homid *h)
{
	(void)h;
	while (U.nex > 0)
		export_stop(U.ex[--U.nex]);
	if (U.ctrl_fd >= 0) {
		io_uring_queue_exit(&U.ring);
		close(U.ctrl_fd);
		U.ctrl_fd = -1;
	}
}

int homid_ublk_describe(char *out, size_t cap)
{
	size_t off = 0;

	if (U.ctrl_fd < 0)
		return snprintf(out, cap, "ublk: not in use\n");
	off += (size_t)snprintf(out + off, cap - off,
				"ublk: kernel features 0x%llx (user_copy %s, zero_copy %s, auto_buf_reg %s, "
				"recovery %s, reissue %s); data path: plain buffers (copy)\n",
				(unsigned long long)U.features,
				U.features & UBLK_F_USER_COPY ? "yes" : "no",
				U.features & HOMID_UBLK_F_ZERO_COPY_REAL ? "yes" : "no",
				U.features & HOMID_UBLK_F_AUTO_BUF_REG ? "yes" : "no",
				U.features & UBLK_F_USER_RECOVERY ? "yes" : "no",
				U.features & UBLK_F_USER_RECOVERY_REISSUE ? "yes" : "no");
	for (int i = 0; i < U.nex && off < cap; i++) {
		struct homid_export *e = U.ex[i];
		uint64_t ios = 0, errs = 0;

		for (uint32_t k = 0; k < e->nqueues; k++) {
			ios += __atomic_load_n(&e->q[k].ios, __ATOMIC_RELAXED);
			errs += __atomic_load_n(&e->q[k].errors, __ATOMIC_RELAXED);
		}
		off += (size_t)snprintf(out + off, cap - off,
					"/dev/ublkb%u: %s nsid %u LBAs %llu+%llu, %u queue(s) x %u, "
					"max_io %u, flags 0x%llx%s%s, %llu requests, %llu errors\n",
					e->dev_id, e->hc->name, e->ns->nsid,
					(unsigned long long)e->lba_first, (unsigned long long)e->nlbas,
					e->nqueues, e->depth, e->max_io, (unsigned long long)e->flags,
					e->flags & UBLK_F_USER_RECOVERY ? " user_recovery" : "",
					e->flags & UBLK_F_USER_RECOVERY_REISSUE ? " reissue" : "",
					(unsigned long long)ios, (unsigned long long)errs);
	}
	return (int)(off < cap ? off : cap - 1);
}

int homid_ublk_find_dev(dev_t dev, struct homid_ctrl **hc, const struct homid_ns **ns,
			uint64_t *lba_first, uint64_t *nlbas, uint32_t *dev_id)
{
	for (int i = 0; i < U.nex; i++) {
		struct homid_export *e = U.ex[i];
		char path[64];
		struct stat st;

		snprintf(path, sizeof(path), "/dev/ublkb%u", e->dev_id);
		if (stat(path, &st) || !S_ISBLK(st.st_mode) || st.st_rdev != dev)
			continue;
		*hc = e->hc;
		*ns = e->ns;
		*lba_first = e->lba_first;
		*nlbas = e->nlbas;
		*dev_id = e->dev_id;
		return 0;
	}
	return -ENOENT;
}

int homid_ublk_ns_exported(const struct homid_ctrl *hc, const struct homid_ns *ns)
{
	for (int i = 0; i < U.nex; i++)
		if (U.ex[i]->hc == hc && U.ex[i]->ns == ns)
			return (int)U.ex[i]->dev_id + 1;
	return 0;
}

#else /* no liburing */

int homid_ublk_find_dev(dev_t dev, struct homid_ctrl **hc, const struct homid_ns **ns,
			uint64_t *lba_first, uint64_t *nlbas, uint32_t *dev_id)
{
	(void)dev, (void)hc, (void)ns, (void)lba_first, (void)nlbas, (void)dev_id;
	return -ENOENT;
}

int homid_ublk_ns_exported(const struct homid_ctrl *hc, const struct homid_ns *ns)
{
	(void)hc, (void)ns;
	return 0;
}

int homid_ublk_start(struct homid *h, char *const *specs, int n)
{
	(void)h;
	(void)specs;
	return n ? aisio_err(-ENOTSUP, "homid was built without liburing: no ublk exports") : 0;
}

void homid_ublk_stop(struct homid *h)
{
	(void)h;
}

int homid_ublk_describe(char *out, size_t cap)
{
	return snprintf(out, cap, "ublk: not built (no liburing)\n");
}

int homid_ublk_request(struct homid *h, struct homid_client *cl, uint16_t type, const void *body,
		       void *reply, size_t *rlen)
{
	if (type == AISIO_HOMI_EXPORTS) {
		*rlen = (size_t)homid_ublk_describe(reply, AISIO_HOMI_EXPORTS_MAX) + 1;
		return 0;
	}
	return aisio_err(-ENOTSUP, "homid was built without liburing: no ublk exports");
}

#endif
