/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "xfs/reader.h"

#define RD_DEFAULT_QD 32
#define RD_PIECE_MAX (256u * 1024) /* largest single command */

struct rd_slot {
	struct aisio_xfs_rd *rd;
	struct aisio_xfs_req *req;
	void *bounce;
	uint32_t skip;    /* bytes of the aligned read before the wanted range */
	uint32_t copy;    /* bytes wanted */
	uint32_t dst_off; /* where they go in req->buf */
	int busy;
};

struct aisio_xfs_rd {
	const uint8_t *mem; /* NULL: device */
	uint64_t size;
	struct aisio_dev *dev;
	struct aisio_queue *q;
	uint32_t nsid;
	uint32_t lba;
	uint32_t piece_max;
	uint32_t nslots;
	uint32_t inflight;
	struct rd_slot *slots;
	struct aisio_xfs_req *head, *tail;
	struct aisio_xfs_rd_stats st;
	void (*trace)(void *arg, uint64_t off, uint32_t len);
	void *trace_arg;
	int (*refill)(void *arg);
	void *refill_arg;
	int (*fn)(void *arg, uint64_t off, uint32_t len, void *buf); /* synchronous reads */
	void *fn_arg;
};

void aisio_xfs_rd_set_refill(struct aisio_xfs_rd *rd, int (*fn)(void *arg), void *arg)
{
	rd->refill = fn;
	rd->refill_arg = arg;
}

/* Ask the producer for more when the queue ran dry; drops it once exhausted. */
static void rd_refill(struct aisio_xfs_rd *rd)
{
	while (!rd->head && rd->refill)
		if (!rd->refill(rd->refill_arg))
			rd->refill = NULL;
}

int aisio_xfs_rd_open_mem(const void *img, uint64_t len, struct aisio_xfs_rd **out)
{
	struct aisio_xfs_rd *rd = calloc(1, sizeof(*rd));

	if (!rd)
		return aisio_err(-ENOMEM, "xfs reader: out of memory");
	rd->mem = img;
	rd->size = len;
	*out = rd;
	return 0;
}

int aisio_xfs_rd_open_fn(uint64_t size, uint32_t lba,
			 int (*fn)(void *arg, uint64_t off, uint32_t len, void *buf), void *arg,
			 struct aisio_xfs_rd **out)
{
	struct aisio_xfs_rd *rd = calloc(1, sizeof(*rd));

	if (!rd)
		return aisio_err(-ENOMEM, "xfs reader: out of memory");
	rd->size = size;
	rd->lba = lba;
	rd->fn = fn;
	rd->fn_arg = arg;
	*out = rd;
	return 0;
}

int aisio_xfs_rd_open_dev(struct aisio_dev *dev, uint32_t qdepth, struct aisio_xfs_rd **out)
{
	const struct aisio_geo *geo = aisio_dev_geo(dev);
	struct aisio_xfs_rd *rd;
	int err;

	if (!qdepth)
		qdepth = RD_DEFAULT_QD;
	if (geo->max_qdepth && qdepth > geo->max_qdepth)
		qdepth = geo->max_qdepth;
	if (!geo->lba_size || (geo->lba_size & (geo->lba_size - 1)))
		return aisio_err(-EINVAL, "xfs reader: device reports LBA size %u", geo->lba_size);
	rd = calloc(1, sizeof(*rd));
	if (!rd)
		return aisio_err(-ENOMEM, "xfs reader: out of memory");
	rd->dev = dev;
	rd->nsid = geo->nsid;
	rd->lba = geo->lba_size;
	rd->size = geo->nlbas * geo->lba_size;
	rd->piece_max = RD_PIECE_MAX;
	if (geo->max_xfer && geo->max_xfer < rd->piece_max)
		rd->piece_max = geo->max_xfer & ~(rd->lba - 1);
	if (rd->piece_max < rd->lba)
		rd->piece_max = rd->lba;
	/* NVMe rings hold one entry less than their size: ask for one more. */
	err = aisio_queue_init(dev, geo->max_qdepth && qdepth + 1 > geo->max_qdepth ? qdepth : qdepth + 1,
			       &rd->q);
	if (err)
		goto err_free_rd;
	rd->nslots = aisio_queue_depth(rd->q);
	if (rd->nslots > qdepth)
		rd->nslots = qdepth;
	if (!rd->nslots) {
		err = aisio_err(-EINVAL, "xfs reader: queue of depth 0");
		goto err_term_q;
	}
	rd->slots = calloc(rd->nslots, sizeof(*rd->slots));
	if (!rd->slots) {
		err = aisio_err(-ENOMEM, "xfs reader: out of memory");
		goto err_term_q;
	}
	for (uint32_t i = 0; i < rd->nslots; i++) {
		rd->slots[i].rd = rd;
		rd->slots[i].bounce = aisio_buf_alloc(dev, rd->piece_max);
		if (!rd->slots[i].bounce) {
			err = aisio_err(-ENOMEM, "xfs reader: cannot allocate %u-byte I/O buffers",
					rd->piece_max);
			goto err_free_slots;
		}
	}
	*out = rd;
	return 0;

err_free_slots:
	for (uint32_t i = 0; i < rd->nslots; i++)
		if (rd->slots[i].bounce)
			aisio_buf_free(dev, rd->slots[i].bounce);
	free(rd->slots);
err_term_q:
	aisio_queue_term(rd->q);
err_free_rd:
	free(rd);
	return err;
}

void aisio_xfs_rd_close(struct aisio_xfs_rd *rd)
{
	if (!rd)
		return;
	if (rd->q) {
		aisio_queue_term(rd->q);
		for (uint32_t i = 0; i < rd->nslots; i++)
			aisio_buf_free(rd->dev, rd->slots[i].bounce);
		free(rd->slots);
	}
	free(rd);
}

uint64_t aisio_xfs_rd_size(const struct aisio_xfs_rd *rd)
{
	return rd->size;
}

uint32_t aisio_xfs_rd_lba_size(const struct aisio_xfs_rd *rd)
{
	return rd->mem ? 512 : rd->lba;
}

const struct aisio_xfs_rd_stats *aisio_xfs_rd_stats(const struct aisio_xfs_rd *rd)
{
	return &rd->st;
}

void aisio_xfs_rd_set_trace(struct aisio_xfs_rd *rd,
			    void (*fn)(void *arg, uint64_t off, uint32_t len), void *arg)
{
	rd->trace = fn;
	rd->trace_arg = arg;
}

void aisio_xfs_rd_queue(struct aisio_xfs_rd *rd, struct aisio_xfs_req *req)
{
	req->next = NULL;
	req->issued = 0;
	req->pending = 0;
	req->status = 0;
	if (rd->tail)
		rd->tail->next = req;
	else
		rd->head = req;
	rd->tail = req;
}

static struct aisio_xfs_req *rd_pop(struct aisio_xfs_rd *rd)
{
	struct aisio_xfs_req *req = rd->head;

	rd->head = req->next;
	if (!rd->head)
		rd->tail = NULL;
	return req;
}

static int rd_check_range(struct aisio_xfs_rd *rd, const struct aisio_xfs_req *req)
{
	if (req->off > rd->size || req->len > rd->size - req->off)
		return aisio_err(-EIO,
				 "read of %u bytes at byte %llu is past the end of the device "
				 "(%llu bytes): truncated image or corrupt block number",
				 req->len, (unsigned long long)req->off, (unsigned long long)rd->size);
	return 0;
}

static int rd_run_mem(struct aisio_xfs_rd *rd)
{
	for (rd_refill(rd); rd->head; rd_refill(rd)) {
		struct aisio_xfs_req *req = rd_pop(rd);
		int st = rd_check_range(rd, req);

		if (!st && rd->fn)
			st = rd->fn(rd->fn_arg, req->off, req->len, req->buf);
		else if (!st)
			memcpy(req->buf, rd->mem + req->off, req->len);
		if (!st) {
			rd->st.reads++;
			rd->st.bytes += req->len;
			if (rd->trace)
				rd->trace(rd->trace_arg, req->off, req->len);
		}
		req->done(req, st);
	}
	return 0;
}

static void rd_io_done(struct aisio_io *io, void *arg)
{
	struct rd_slot *s = arg;
	struct aisio_xfs_rd *rd = s->rd;
	struct aisio_xfs_req *req = s->req;

	if (io->status) {
		if (!req->status)
			req->status = aisio_err(io->status < 0 ? io->status : -EIO,
						"read at byte %llu failed: %s",
						(unsigned long long)(req->off + s->dst_off),
						aisio_status_str(io->status));
	} else {
		memcpy((uint8_t *)req->buf + s->dst_off, (uint8_t *)s->bounce + s->skip, s->copy);
	}
	s->busy = 0;
	s->req = NULL;
	rd->inflight--;
	if (--req->pending == 0 && req->issued == req->len)
		req->done(req, req->status);
}

/* Issue the next piece of the head request into a free slot; 0 when nothing can go. */
static int rd_issue_one(struct aisio_xfs_rd *rd)
{
	struct aisio_xfs_req *req = rd->head;
	struct rd_slot *s = NULL;
	struct aisio_io *io;
	uint64_t cur, a0, end, aend;

	for (uint32_t i = 0; i < rd->nslots; i++)
		if (!rd->slots[i].busy) {
			s = &rd->slots[i];
			break;
		}
	if (!s)
		return 0;
	if (req->issued == 0 && req->pending == 0) {
		int st = rd_check_range(rd, req);
		if (st || req->len == 0) {
			rd_pop(rd);
			req->done(req, st);
			return 1;
		}
	}
	io = aisio_queue_get_io(rd->q);
	if (!io)
		return 0;
	cur = req->off + req->issued;
	a0 = cur & ~(uint64_t)(rd->lba - 1);
	end = req->off + req->len;
	if (end > a0 + rd->piece_max)
		end = a0 + rd->piece_max;
	aend = (end + rd->lba - 1) & ~(uint64_t)(rd->lba - 1);
	s->busy = 1;
	s->req = req;
	s->skip = (uint32_t)(cur - a0);
	s->copy = (uint32_t)(end - cur);
	s->dst_off = req->issued;
	aisio_prep_read(io, rd->nsid, a0 / rd->lba, (uint32_t)((aend - a0) / rd->lba), s->bounce,
			aend - a0);
	aisio_io_set_cb(io, rd_io_done, s);
	req->issued += s->copy;
	req->pending++;
	rd->inflight++;
	if (rd->inflight > rd->st.max_inflight)
		rd->st.max_inflight = rd->inflight;
	rd->st.reads++;
	rd->st.bytes += aend - a0;
	if (rd->trace)
		rd->trace(rd->trace_arg, cur, s->copy);
	if (req->issued == req->len)
		rd_pop(rd);
	return 1;
}

int aisio_xfs_rd_run(struct aisio_xfs_rd *rd)
{
	if (rd->mem || rd->fn)
		return rd_run_mem(rd);
	for (rd_refill(rd); rd->head || rd->inflight; rd_refill(rd)) {
		int n = 0, ret;

		while (rd->head && rd_issue_one(rd))
			n++;
		if (n) {
			ret = aisio_queue_submit(rd->q);
			if (ret < 0)
				return aisio_err(ret, "xfs reader: submit failed: %s", aisio_errmsg());
		}
		if (rd->inflight) {
			ret = aisio_queue_reap(rd->q, 0);
			if (ret < 0)
				return aisio_err(ret, "xfs reader: reap failed: %s", aisio_errmsg());
		}
	}
	return 0;
}

struct rd_sync {
	int done;
	int status;
};

static void rd_sync_done(struct aisio_xfs_req *req, int status)
{
	struct rd_sync *s = req->arg;

	s->done = 1;
	s->status = status;
}

int aisio_xfs_rd_read(struct aisio_xfs_rd *rd, uint64_t off, uint32_t len, void *buf)
{
	struct rd_sync sync = { 0, 0 };
	struct aisio_xfs_req req = { .off = off, .len = len, .buf = buf, .done = rd_sync_done,
				     .arg = &sync };
	int err;

	aisio_xfs_rd_queue(rd, &req);
	err = aisio_xfs_rd_run(rd);
	if (err)
		return err;
	return sync.done ? sync.status : aisio_err(-EIO, "xfs reader: read did not complete");
}
