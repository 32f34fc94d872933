/* SPDX-License-Identifier: MIT */
/*
 * The admin queue: one synchronous command at a time under a lock, plus
 * Asynchronous Event Requests that stay posted and are collected whenever
 * the admin CQ is polled. A command that times out keeps nothing reserved:
 * admin CIDs come from a rolling counter, so a late completion carries a
 * CID nobody waits for and is dropped.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "drv/clock.h"
#include "drv/ctrl_int.h"
#include "util/err.h"

void drv_admin_ring_reset(struct aisio_nvme_ctrl *c)
{
	memset(c->acq_mem, 0, (size_t)c->admin_depth * sizeof(struct aisio_nvme_cqe));
	aisio_nvme_sq_init(&c->asq, c->asq_mem, c->bar0, 0, c->admin_depth, c->info.dstrd);
	aisio_nvme_cq_init(&c->acq, c->acq_mem, c->bar0, 0, c->admin_depth, c->info.dstrd);
	c->aer_pending = 0;
}

/* Consume every new admin CQE; returns 1 when one carried @want_cid (stored in @out). */
static int admin_collect(struct aisio_nvme_ctrl *c, int want_cid, struct aisio_nvme_cqe *out)
{
	volatile struct aisio_nvme_cqe *e;
	int found = 0, any = 0;

	while ((e = aisio_nvme_cq_peek(&c->acq))) {
		struct aisio_nvme_cqe cqe;

		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		aisio_nvme_cqe_read(&cqe, e);
		aisio_nvme_cq_advance(&c->acq);
		if (cqe.sqhd < c->asq.depth)
			c->asq.head = cqe.sqhd;
		any = 1;
		if (cqe.cid >= DRV_AER_CID_BASE) {
			if (c->aer_pending)
				c->aer_pending--;
			if (!aisio_nvme_cqe_code(cqe.status)) {
				c->aer_events++;
				c->aer_last = cqe.dw0;
			}
		} else if (want_cid >= 0 && cqe.cid == want_cid) {
			*out = cqe;
			found = 1;
		}
	}
	if (any)
		aisio_nvme_cq_ring_db(&c->acq);
	return found;
}

/* Put @cmd on the admin SQ and ring the doorbell. */
static int admin_post(struct aisio_nvme_ctrl *c, struct aisio_nvme_sqe *cmd)
{
	if (!aisio_nvme_sq_space(&c->asq)) {
		admin_collect(c, -1, NULL);
		if (!aisio_nvme_sq_space(&c->asq))
			return aisio_err(-EBUSY, "%s: admin queue is full", c->f->name);
	}
	*aisio_nvme_sq_slot(&c->asq) = *cmd;
	aisio_nvme_sq_advance(&c->asq);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	aisio_nvme_sq_ring_db(&c->asq);
	return 0;
}

int drv_admin_locked(struct aisio_nvme_ctrl *c, struct aisio_nvme_sqe *cmd, void *buf, size_t len,
		     uint32_t *result)
{
	const char *opc = aisio_nvme_opc_str(cmd->opc, 1);
	struct aisio_nvme_cqe cqe;
	uint64_t deadline;
	unsigned spins = 0;
	uint16_t cid;
	int err;

	if (__atomic_load_n(&c->failed, __ATOMIC_RELAXED))
		return aisio_err(-EIO, "%s: controller is in fatal status; reset it", c->f->name);
	cid = c->admin_cid;
	c->admin_cid = (uint16_t)((c->admin_cid + 1) % DRV_AER_CID_BASE);
	cmd->cid = cid;
	cmd->flags &= (uint8_t)~AISIO_NVME_PSDT_MASK; /* admin commands use PRPs */
	if (len) {
		const struct aisio_mem_region *r = aisio_heap_region(c->heap, buf);

		if (!r)
			return aisio_err(-EINVAL, "%s: admin %s: buffer is not DMA memory of this controller",
					 c->f->name, opc);
		if (len > c->info.max_xfer)
			return aisio_err(-E2BIG, "%s: admin %s: %zu bytes exceed the controller's maximum "
					 "transfer of %u bytes (MDTS)", c->f->name, opc, len, c->info.max_xfer);
		err = aisio_nvme_prp_build(cmd, r, buf, len, c->info.page_shift, 0, &c->admin_lists);
		if (err) {
			char why[256];

			snprintf(why, sizeof(why), "%s", aisio_errmsg());
			return aisio_err(err, "%s: admin %s: cannot describe a %zu-byte buffer: %s",
					 c->f->name, opc, len, why);
		}
	}
	/* Without data the caller's PRP1 stays: Create I/O SQ/CQ carry the queue address there. */
	err = admin_post(c, cmd);
	if (err)
		return err;

	deadline = aisio_drv_now_ms() + c->info.timeout_ms;
	while (!admin_collect(c, cid, &cqe)) {
		/* Spin briefly (the model answers in microseconds), then give the CPU away. */
		if (++spins < 256)
			continue;
		if (drv_csts(c) & AISIO_NVME_CSTS_CFS) {
			__atomic_store_n(&c->failed, 1, __ATOMIC_RELAXED);
			return aisio_err(-EIO, "%s: controller fatal status (CSTS.CFS) during admin %s; reset it",
					 c->f->name, opc);
		}
		if (aisio_drv_now_ms() > deadline)
			return aisio_err(-ETIMEDOUT, "%s: admin %s (cid %u) timed out after %u ms",
					 c->f->name, opc, cid, c->info.timeout_ms);
		if (spins < 4096)
			sched_yield();
		else
			usleep(50);
	}
	if (result)
		*result = cqe.dw0;
	if (aisio_nvme_cqe_code(cqe.status)) {
		uint32_t code = aisio_nvme_cqe_code(cqe.status);

		aisio_err((int)code, "%s: admin %s failed: %s", c->f->name, opc, aisio_nvme_status_str(code));
		return (int)code;
	}
	return 0;
}

int aisio_nvme_ctrl_admin(struct aisio_nvme_ctrl *c, struct aisio_nvme_sqe *cmd, void *buf,
			  size_t len, uint32_t *result)
{
	int err;

	if (!cmd || (len && !buf))
		return aisio_err(-EINVAL, "admin command: NULL command or buffer");
	if (cmd->opc == AISIO_NVME_ADM_ASYNC_EVENT)
		return aisio_err(-EINVAL, "admin: use aisio_nvme_ctrl_aer_submit for Asynchronous Event Requests");
	pthread_mutex_lock(&c->admin_lock);
	err = drv_admin_locked(c, cmd, buf, len, result);
	pthread_mutex_unlock(&c->admin_lock);
	return err;
}

int aisio_nvme_ctrl_admin_copy(struct aisio_nvme_ctrl *c, struct aisio_nvme_sqe *cmd, void *buf,
			       size_t len, uint32_t *result)
{
	void *bounce = NULL;
	int err;

	if (len) {
		if (!buf)
			return aisio_err(-EINVAL, "admin command with length %zu but no buffer", len);
		bounce = aisio_nvme_ctrl_dma_alloc(c, len, 0);
		if (!bounce)
			return aisio_err(-ENOMEM, "no DMA memory for a %zu-byte admin buffer", len);
		if (cmd->opc & 1)
			memcpy(bounce, buf, len);
		else
			memset(bounce, 0, len);
	}
	err = aisio_nvme_ctrl_admin(c, cmd, bounce, len, result);
	if (bounce) {
		if (!err && (cmd->opc & 2))
			memcpy(buf, bounce, len);
		aisio_nvme_ctrl_dma_free(c, bounce);
	}
	return err;
}

int aisio_nvme_ctrl_aer_submit(struct aisio_nvme_ctrl *c)
{
	struct aisio_nvme_sqe cmd;
	int err;

	memset(&cmd, 0, sizeof(cmd));
	cmd.opc = AISIO_NVME_ADM_ASYNC_EVENT;
	pthread_mutex_lock(&c->admin_lock);
	if (__atomic_load_n(&c->failed, __ATOMIC_RELAXED)) {
		err = aisio_err(-EIO, "%s: controller is in fatal status; reset it", c->f->name);
	} else if (c->aer_pending >= DRV_AER_MAX || c->aer_pending > c->info.id->aerl) {
		err = aisio_err(-EBUSY, "%s: %u asynchronous event requests already posted (AERL %u)",
				c->f->name, c->aer_pending, c->info.id->aerl + 1u);
	} else {
		cmd.cid = (uint16_t)(DRV_AER_CID_BASE + c->aer_next);
		c->aer_next = (uint16_t)((c->aer_next + 1) % 0xff);
		err = admin_post(c, &cmd);
		if (!err)
			c->aer_pending++;
	}
	pthread_mutex_unlock(&c->admin_lock);
	return err;
}

void aisio_nvme_ctrl_admin_poll(struct aisio_nvme_ctrl *c)
{
	pthread_mutex_lock(&c->admin_lock);
	admin_collect(c, -1, NULL);
	pthread_mutex_unlock(&c->admin_lock);
}

uint32_t aisio_nvme_ctrl_aer_pending(struct aisio_nvme_ctrl *c, uint32_t *events, uint32_t *last_dw0)
{
	uint32_t n;

	pthread_mutex_lock(&c->admin_lock);
	n = c->aer_pending;
	if (events)
		*events = c->aer_events;
	if (last_dw0)
		*last_dw0 = c->aer_last;
	pthread_mutex_unlock(&c->admin_lock);
	return n;
}
