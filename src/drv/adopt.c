/* SPDX-License-Identifier: MIT */
/*
 * Handing a running controller from one process to the next (homid's
 * restart): the controller stays enabled, its admin queue where it is,
 * its I/O queues untouched. The old owner saves the admin rings' host-side
 * state; the new one maps the same ring memory, checks the registers
 * against what it was told and carries on (drv.h: aisio_nvme_ctrl_adopt).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drv/clock.h"
#include "drv/ctrl_int.h"
#include "util/err.h"

static void save_locked(struct aisio_nvme_ctrl *c, struct aisio_nvme_ctrl_handover *h)
{
	h->admin_depth = c->admin_depth;
	h->asq_tail = (uint16_t)c->asq.tail;
	h->asq_head = (uint16_t)c->asq.head;
	h->acq_head = (uint16_t)c->acq.head;
	h->acq_phase = (uint16_t)c->acq.phase;
	h->admin_cid = c->admin_cid;
	h->nqueues = c->info.nqueues;
	h->asq_bus = aisio_pcif_read64(c->f, AISIO_NVME_REG_ASQ);
	h->acq_bus = aisio_pcif_read64(c->f, AISIO_NVME_REG_ACQ);
}

int aisio_nvme_ctrl_crash_state(struct aisio_nvme_ctrl *c, struct aisio_nvme_ctrl_handover *h)
{
	memset(h, 0, sizeof(*h));
	pthread_mutex_lock(&c->admin_lock);
	save_locked(c, h);
	h->flags = AISIO_NVME_HO_CRASH;
	pthread_mutex_unlock(&c->admin_lock);
	return 0;
}

int aisio_nvme_ctrl_handover_save(struct aisio_nvme_ctrl *c, struct aisio_nvme_ctrl_handover *h)
{
	int err = 0;

	memset(h, 0, sizeof(*h));
	pthread_mutex_lock(&c->admin_lock);
	if (c->qpairs)
		err = aisio_err(-EBUSY, "%s: the driver's own I/O queue pairs cannot be handed over; "
				"delete them first", c->f->name);
	else if (c->aer_pending)
		err = aisio_err(-EBUSY, "%s: %u Asynchronous Event Request(s) posted; they cannot be "
				"handed over", c->f->name, c->aer_pending);
	else if (__atomic_load_n(&c->failed, __ATOMIC_RELAXED))
		err = aisio_err(-EIO, "%s: controller is in fatal status", c->f->name);
	if (!err)
		save_locked(c, h);
	pthread_mutex_unlock(&c->admin_lock);
	return err;
}

static int adopt_check(struct aisio_nvme_ctrl *c, const struct aisio_nvme_ctrl_handover *h)
{
	uint32_t cc = aisio_pcif_read32(c->f, AISIO_NVME_REG_CC);
	uint32_t csts = drv_csts(c), aqa = aisio_pcif_read32(c->f, AISIO_NVME_REG_AQA);

	if (!aisio_nvme_cc_en(cc) || !(csts & AISIO_NVME_CSTS_RDY) || (csts & AISIO_NVME_CSTS_CFS))
		return aisio_err(-EIO, "%s: controller is not running (CC 0x%x, CSTS 0x%x); it was "
				 "reset or failed since it was handed over", c->f->name, cc, csts);
	if (aisio_pcif_read64(c->f, AISIO_NVME_REG_ASQ) != h->asq_bus ||
	    aisio_pcif_read64(c->f, AISIO_NVME_REG_ACQ) != h->acq_bus ||
	    (aqa & 0xfff) + 1 != h->admin_depth || ((aqa >> 16) & 0xfff) + 1 != h->admin_depth)
		return aisio_err(-ESTALE, "%s: the admin queue registers do not match the handed-over "
				 "state (another owner set the controller up since)", c->f->name);
	if (h->admin_depth < 2 || h->asq_tail >= h->admin_depth || h->asq_head >= h->admin_depth ||
	    h->acq_head >= h->admin_depth || h->acq_phase > 1 || h->admin_cid >= DRV_AER_CID_BASE ||
	    !h->nqueues || h->nqueues > 0xffff || (h->flags & ~AISIO_NVME_HO_CRASH))
		return aisio_err(-EINVAL, "%s: handed-over admin state out of range", c->f->name);
	return 0;
}

/*
 * The owner died without saving (AISIO_NVME_HO_CRASH): the state it left
 * may be older than the rings. The admin CQ says where the controller is:
 * it writes entries in order, so the last entry written is where the phase
 * tag changes (or the last slot, when every slot has one phase), and that
 * entry's SQ head is the controller's. Admin commands run one at a time,
 * so once the last command written to the SQ has completed, the SQ tail is
 * that head too. A command written after the last completion (its CID
 * follows the last completed one) may have been submitted: wait for it, up
 * to the command timeout; without a completion by then it never was.
 */
static int adopt_recover(struct aisio_nvme_ctrl *c, const struct aisio_nvme_ctrl_handover *h)
{
	volatile struct aisio_nvme_cqe *cq = c->acq.entries;
	uint64_t deadline = aisio_drv_now_ms() + c->info.timeout_ms;
	uint32_t d = c->admin_depth, k, phase;
	struct aisio_nvme_cqe last;

	for (;;) {
		uint32_t p0 = cq[0].status & 1u, next_cid;

		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		for (k = 1; k < d && (cq[k].status & 1u) == p0; k++)
			;
		/* k: first slot of the other phase (the next to be written), d: all one phase */
		aisio_nvme_cqe_read(&last, &cq[d - 1]);
		if (k == d && !p0 && !last.status && !last.cid && !last.sqhd && !last.dw0) {
			/* never written (zeroed, phase 0): the state the owner left is all there is */
			c->acq.head = h->acq_head;
			c->acq.phase = h->acq_phase;
			return 0;
		}
		aisio_nvme_cqe_read(&last, &cq[k - 1]);
		if (k == d) {
			k = 0;
			phase = !p0;
		} else {
			phase = p0;
		}
		if (last.sqhd >= d)
			return aisio_err(-EIO, "%s: the admin completion queue holds an SQ head of %u "
					 "(depth %u): it cannot be taken over", c->f->name, last.sqhd, d);
		next_cid = (last.cid + 1u) % DRV_AER_CID_BASE;
		if (c->asq.entries[last.sqhd].cid != next_cid || aisio_drv_now_ms() > deadline)
			break;
		usleep(1000); /* a command may be on its way: its completion moves k */
	}
	c->acq.head = k;
	c->acq.phase = phase;
	c->asq.head = c->asq.tail = c->asq.db_tail = last.sqhd;
	c->admin_cid = (uint16_t)((last.cid + 1u) % DRV_AER_CID_BASE);
	/* everything up to here is consumed (completions of a process that is gone) */
	aisio_nvme_cq_ring_db(&c->acq);
	return 0;
}

int aisio_nvme_ctrl_adopt(struct aisio_pcif *f, const struct aisio_nvme_ctrl_opts *opts,
			  const struct aisio_nvme_ctrl_handover *h, void *asq_va, void *acq_va,
			  struct aisio_nvme_ctrl **out)
{
	struct aisio_nvme_ctrl *c;
	int err;

	*out = NULL;
	err = drv_ctrl_alloc(f, opts, &c);
	if (err)
		return err;
	c->qid_used = calloc(h->nqueues + 1u, 1);
	if (!c->qid_used) {
		err = aisio_err(-ENOMEM, "out of memory");
		goto err_free;
	}
	err = drv_read_cap(c);
	if (!err)
		err = adopt_check(c, h);
	if (err)
		goto err_free;
	err = aisio_heap_init(&c->heap);
	if (err)
		goto err_free;
	c->admin_depth = h->admin_depth;
	c->asq_mem = asq_va;
	c->acq_mem = acq_va;
	c->asq_bus = h->asq_bus; /* for a later reset: the rings are not in this heap */
	c->acq_bus = h->acq_bus;
	aisio_nvme_sq_init(&c->asq, asq_va, c->bar0, 0, c->admin_depth, c->info.dstrd);
	aisio_nvme_cq_init(&c->acq, acq_va, c->bar0, 0, c->admin_depth, c->info.dstrd);
	c->asq.tail = c->asq.db_tail = h->asq_tail;
	c->asq.head = h->asq_head;
	c->acq.head = h->acq_head;
	c->acq.phase = h->acq_phase;
	c->admin_cid = h->admin_cid;
	c->info.nqueues = h->nqueues;
	c->qid_used[0] = 1;
	if (h->flags & AISIO_NVME_HO_CRASH) {
		err = adopt_recover(c, h);
		if (err)
			goto err_heap;
	}
	c->scratch = aisio_nvme_ctrl_dma_alloc(c, 4096, 4096);
	if (!c->scratch) {
		err = aisio_err(-ENOMEM, "%s: no DMA memory for Identify data", f->name);
		goto err_heap;
	}
	/* the admin queue works: Identify again (data the old owner had in its memory) */
	pthread_mutex_lock(&c->admin_lock);
	err = drv_identify(c);
	pthread_mutex_unlock(&c->admin_lock);
	if (!err)
		err = drv_admin_lists_alloc(c);
	if (err)
		goto err_heap;
	*out = c;
	return 0;

err_heap:
	aisio_heap_term(c->heap);
err_free:
	free(c->active);
	free(c->qid_used);
	free(c->id);
	pthread_mutex_destroy(&c->admin_lock);
	pthread_mutex_destroy(&c->dma_lock);
	free(c);
	return err;
}

int aisio_nvme_ctrl_qpair_adopt_ext(struct aisio_nvme_ctrl *c, const struct aisio_nvme_qpair_ext *e,
				    uint16_t qid)
{
	struct drv_ext *x;
	int err = 0;

	if (!qid || qid > c->info.nqueues || !e || e->depth < 2 || e->depth > c->info.max_qdepth)
		return aisio_err(-EINVAL, "%s: handed-over queue %u (depth %u) out of range", c->f->name,
				 qid, e ? e->depth : 0);
	x = calloc(1, sizeof(*x));
	if (!x)
		return aisio_err(-ENOMEM, "out of memory");
	x->e = *e;
	x->qid = qid;
	pthread_mutex_lock(&c->admin_lock);
	if (c->qid_used[qid]) {
		err = aisio_err(-EEXIST, "%s: queue %u handed over twice", c->f->name, qid);
	} else {
		c->qid_used[qid] = 1;
		x->next = c->exts;
		c->exts = x;
	}
	pthread_mutex_unlock(&c->admin_lock);
	if (err)
		free(x);
	return err;
}

int aisio_nvme_ctrl_sweep_qids(struct aisio_nvme_ctrl *c)
{
	int n = 0;

	pthread_mutex_lock(&c->admin_lock);
	for (uint32_t q = 1; q <= c->info.nqueues; q++) {
		int err;

		if (c->qid_used[q])
			continue;
		/* Delete I/O SQ, then CQ; Invalid Queue Identifier: there was none */
		err = drv_qpair_hw_delete(c, (uint16_t)q);
		if (err < 0) {
			n = err;
			break;
		}
		if (!err)
			n++;
	}
	pthread_mutex_unlock(&c->admin_lock);
	if (n >= 0)
		aisio_err_clear();
	return n;
}
