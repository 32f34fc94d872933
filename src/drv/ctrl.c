/* SPDX-License-Identifier: MIT */
/*
 * Controller bring-up, reset and teardown (NVMe Base Specification 2.0,
 * section 3.5.1 "Memory-based Controller Initialization").
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drv/clock.h"
#include "drv/ctrl_int.h"
#include "nvme/cmd.h"
#include "util/err.h"

#define DRV_TIMEOUT_MS_DEFAULT 30000u
#define DRV_ADMIN_DEPTH_DEFAULT 32u
#define DRV_IOSQES 6 /* 64-byte SQ entries */
#define DRV_IOCQES 4 /* 16-byte CQ entries */

/* Wait until CSTS.RDY == @want within CAP.TO. */
static int wait_ready(struct aisio_nvme_ctrl *c, uint32_t want, const char *what)
{
	uint64_t deadline = aisio_drv_now_ms() + c->ready_timeout_ms;
	unsigned spins = 0;

	for (;;) {
		uint32_t csts = drv_csts(c);

		if (csts == UINT32_MAX)
			return aisio_err(-ENODEV, "%s: registers read all ones (device gone?) while %s",
					 c->f->name, what);
		if ((csts & AISIO_NVME_CSTS_RDY) == want)
			return 0;
		if (want && (csts & AISIO_NVME_CSTS_CFS)) {
			__atomic_store_n(&c->failed, 1, __ATOMIC_RELAXED);
			return aisio_err(-EIO, "%s: controller fatal status (CSTS.CFS) while %s", c->f->name, what);
		}
		if (aisio_drv_now_ms() > deadline)
			return aisio_err(-ETIMEDOUT, "%s: CSTS.RDY did not become %u within CAP.TO (%u ms) while %s",
					 c->f->name, want, c->ready_timeout_ms, what);
		if (++spins > 64)
			usleep(spins < 1024 ? 10 : 1000);
	}
}

int drv_ctrl_disable(struct aisio_nvme_ctrl *c)
{
	uint32_t cc = aisio_pcif_read32(c->f, AISIO_NVME_REG_CC);
	uint32_t csts = drv_csts(c);

	if (csts == UINT32_MAX)
		return aisio_err(-ENODEV, "%s: registers read all ones (device gone?)", c->f->name);
	if (aisio_nvme_cc_en(cc)) {
		/* Changing EN while RDY does not yet match it is undefined; let it settle. */
		if (!(csts & (AISIO_NVME_CSTS_RDY | AISIO_NVME_CSTS_CFS)))
			wait_ready(c, 1, "settling before disable");
		aisio_pcif_write32(c->f, AISIO_NVME_REG_CC, cc & ~(uint32_t)AISIO_NVME_CC_EN);
	}
	return wait_ready(c, 0, "disabling (CC.EN=0)");
}

int drv_ctrl_enable(struct aisio_nvme_ctrl *c)
{
	uint64_t asq = c->asq_bus ? c->asq_bus
				  : aisio_mem_bus(aisio_heap_region(c->heap, c->asq_mem), c->asq_mem);
	uint64_t acq = c->acq_bus ? c->acq_bus
				  : aisio_mem_bus(aisio_heap_region(c->heap, c->acq_mem), c->acq_mem);
	uint32_t cc;

	aisio_pcif_write32(c->f, AISIO_NVME_REG_AQA, AISIO_NVME_AQA(c->admin_depth, c->admin_depth));
	aisio_pcif_write64(c->f, AISIO_NVME_REG_ASQ, asq);
	aisio_pcif_write64(c->f, AISIO_NVME_REG_ACQ, acq);
	cc = AISIO_NVME_CC_CSS_NVM | AISIO_NVME_CC_MPS(c->info.page_shift) |
	     AISIO_NVME_CC_IOSQES(DRV_IOSQES) | AISIO_NVME_CC_IOCQES(DRV_IOCQES);
	aisio_pcif_write32(c->f, AISIO_NVME_REG_CC, cc);
	aisio_pcif_write32(c->f, AISIO_NVME_REG_CC, cc | AISIO_NVME_CC_EN);
	return wait_ready(c, 1, "enabling (CC.EN=1)");
}

/* Ask for I/O queues; the controller answers with what it allocated. */
static int negotiate_queues(struct aisio_nvme_ctrl *c)
{
	struct aisio_nvme_sqe cmd;
	uint32_t want = c->opts.nqueues ? c->opts.nqueues : 0xfffe, dw0 = 0, nsq, ncq;
	int err;

	if (want > 0xfffe)
		want = 0xfffe;
	aisio_nvme_cmd_set_features(&cmd, AISIO_NVME_FEAT_NUM_QUEUES, 0,
				    AISIO_NVME_FEAT_NUM_QUEUES_VAL(want, want), 0);
	err = drv_admin_locked(c, &cmd, NULL, 0, &dw0);
	if (err == AISIO_NVME_SC_CMD_SEQ_ERROR) {
		/* Already set since the last reset: read what was allocated. */
		aisio_nvme_cmd_get_features(&cmd, AISIO_NVME_FEAT_NUM_QUEUES, 0, AISIO_NVME_FEAT_SEL_CURRENT);
		err = drv_admin_locked(c, &cmd, NULL, 0, &dw0);
	}
	if (err)
		return err;
	nsq = aisio_nvme_feat_nsq(dw0);
	ncq = aisio_nvme_feat_ncq(dw0);
	if (nsq > ncq)
		nsq = ncq;
	if (nsq > want)
		nsq = want;
	if (c->info.nqueues && nsq < c->info.nqueues)
		return aisio_err(-EIO, "%s: controller now grants %u I/O queues, %u before reset",
				 c->f->name, nsq, c->info.nqueues);
	if (!c->info.nqueues)
		c->info.nqueues = nsq;
	return 0;
}

int drv_identify(struct aisio_nvme_ctrl *c)
{
	const struct aisio_nvme_ns_list *list = c->scratch;
	uint32_t mps_min = 12 + aisio_nvme_cap_mpsmin(c->info.cap);
	struct aisio_nvme_sqe cmd;
	uint32_t n = 0;
	int err;

	aisio_nvme_cmd_identify(&cmd, AISIO_NVME_CNS_CTRL, 0, 0);
	err = drv_admin_locked(c, &cmd, c->scratch, 4096, NULL);
	if (err)
		return err;
	memcpy(c->id, c->scratch, sizeof(*c->id));
	c->info.nn = c->id->nn;
	c->info.sgl = aisio_nvme_sgls_supported(c->id->sgls) != 0;
	if (c->id->mdts && c->id->mdts + mps_min < 32 &&
	    (1ull << (c->id->mdts + mps_min)) < AISIO_NVME_DRV_MAX_XFER)
		c->info.max_xfer = 1u << (c->id->mdts + mps_min);
	else
		c->info.max_xfer = AISIO_NVME_DRV_MAX_XFER;

	/* CNS 02h: the active namespace IDs above NSID 0, ascending. */
	aisio_nvme_cmd_identify(&cmd, AISIO_NVME_CNS_NS_ACTIVE_LIST, 0, 0);
	err = drv_admin_locked(c, &cmd, c->scratch, 4096, NULL);
	if (err)
		return err;
	while (n < 1024 && list->nsid[n])
		n++;
	c->active = calloc(n ? n : 1, sizeof(*c->active));
	if (!c->active)
		return aisio_err(-ENOMEM, "out of memory");
	memcpy(c->active, list->nsid, n * sizeof(*c->active));
	c->info.active = c->active;
	c->info.nactive = n;
	return 0;
}

/* List memory for the admin queue's PRPs, sized for the largest transfer. */
int drv_admin_lists_alloc(struct aisio_nvme_ctrl *c)
{
	uint32_t page = 1u << c->info.page_shift;
	uint32_t n = aisio_nvme_prp_list_pages(page - 4, c->info.max_xfer, c->info.page_shift);

	if (!n)
		return 0;
	c->admin_lists.va = aisio_nvme_ctrl_dma_alloc(c, (size_t)n << c->info.page_shift, page);
	if (!c->admin_lists.va)
		return aisio_err(-ENOMEM, "%s: no DMA memory for admin PRP lists", c->f->name);
	c->admin_lists.region = aisio_heap_region(c->heap, c->admin_lists.va);
	c->admin_lists.npages = n;
	return 0;
}

int drv_read_cap(struct aisio_nvme_ctrl *c)
{
	uint64_t cap = aisio_pcif_read64(c->f, AISIO_NVME_REG_CAP);
	long host_page = sysconf(_SC_PAGESIZE);
	uint32_t shift = 12, lo, hi;

	if (cap == UINT64_MAX)
		return aisio_err(-ENODEV, "%s: CAP reads all ones: no controller behind BAR0", c->f->name);
	if (!(aisio_nvme_cap_css(cap) & 1))
		return aisio_err(-ENODEV, "%s: controller does not support the NVM command set (CAP.CSS 0x%x)",
				 c->f->name, aisio_nvme_cap_css(cap));
	while (host_page > 0 && (1l << shift) < host_page)
		shift++;
	lo = 12 + aisio_nvme_cap_mpsmin(cap);
	hi = 12 + aisio_nvme_cap_mpsmax(cap);
	if (shift < lo)
		shift = lo;
	if (shift > hi)
		shift = hi;
	c->info.cap = cap;
	c->info.vs = aisio_pcif_read32(c->f, AISIO_NVME_REG_VS);
	c->info.dstrd = aisio_nvme_cap_dstrd(cap);
	c->info.page_shift = shift;
	c->info.max_qdepth = aisio_nvme_cap_mqes(cap) + 1;
	c->ready_timeout_ms = (aisio_nvme_cap_to(cap) ? aisio_nvme_cap_to(cap) : 1) * 500u;
	if (c->info.max_qdepth < 2)
		return aisio_err(-ENODEV, "%s: CAP.MQES is 0", c->f->name);
	if (c->f->bar0_len && c->f->bar0_len < aisio_nvme_db_offset(1, 1, c->info.dstrd) + 4)
		return aisio_err(-ENODEV, "%s: BAR0 of %zu bytes is too small for the doorbells",
				 c->f->name, c->f->bar0_len);
	return 0;
}

int drv_ctrl_alloc(struct aisio_pcif *f, const struct aisio_nvme_ctrl_opts *opts,
		   struct aisio_nvme_ctrl **out)
{
	struct aisio_nvme_ctrl *c;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return aisio_err(-ENOMEM, "out of memory");
	c->id = calloc(1, sizeof(*c->id));
	if (!c->id) {
		free(c);
		return aisio_err(-ENOMEM, "out of memory");
	}
	if (opts)
		c->opts = *opts;
	c->f = f;
	c->bar0 = f->bar0;
	pthread_mutex_init(&c->admin_lock, NULL);
	pthread_mutex_init(&c->dma_lock, NULL);
	c->info.timeout_ms = c->opts.timeout_ms ? c->opts.timeout_ms : DRV_TIMEOUT_MS_DEFAULT;
	c->info.max_xfer = 4096; /* until Identify says more */
	c->info.id = c->id;
	*out = c;
	return 0;
}

int aisio_nvme_ctrl_init(struct aisio_pcif *f, const struct aisio_nvme_ctrl_opts *opts,
			 struct aisio_nvme_ctrl **out)
{
	struct aisio_nvme_ctrl *c;
	size_t depth;
	int err;

	*out = NULL;
	err = drv_ctrl_alloc(f, opts, &c);
	if (err)
		return err;
	err = drv_read_cap(c);
	if (err)
		goto err_free;
	err = aisio_heap_init(&c->heap);
	if (err)
		goto err_free;

	depth = c->opts.admin_depth ? c->opts.admin_depth : DRV_ADMIN_DEPTH_DEFAULT;
	if (depth > c->info.max_qdepth)
		depth = c->info.max_qdepth;
	if (depth > 4096)
		depth = 4096;
	if (depth < 2)
		depth = 2;
	c->admin_depth = (uint32_t)depth;
	c->asq_mem = drv_dma_alloc_contig(c, depth * sizeof(struct aisio_nvme_sqe), "the admin SQ");
	c->acq_mem = drv_dma_alloc_contig(c, depth * sizeof(struct aisio_nvme_cqe), "the admin CQ");
	c->scratch = aisio_nvme_ctrl_dma_alloc(c, 4096, 4096);
	if (!c->asq_mem || !c->acq_mem || !c->scratch) {
		err = -ENOMEM;
		if (c->asq_mem && c->acq_mem)
			aisio_err(err, "%s: no DMA memory for Identify data", f->name);
		goto err_heap;
	}

	err = drv_ctrl_disable(c);
	if (err)
		goto err_heap;
	drv_admin_ring_reset(c);
	err = drv_ctrl_enable(c);
	if (err)
		goto err_heap;
	err = drv_identify(c);
	if (err)
		goto err_disable;
	err = drv_admin_lists_alloc(c);
	if (err)
		goto err_disable;
	err = negotiate_queues(c);
	if (err)
		goto err_disable;
	c->qid_used = calloc(c->info.nqueues + 1u, 1);
	if (!c->qid_used) {
		err = aisio_err(-ENOMEM, "out of memory");
		goto err_disable;
	}
	c->qid_used[0] = 1; /* the admin queue */
	*out = c;
	return 0;

err_disable:
	drv_ctrl_disable(c);
err_heap:
	aisio_heap_term(c->heap);
err_free:
	free(c->active);
	free(c->id);
	pthread_mutex_destroy(&c->admin_lock);
	pthread_mutex_destroy(&c->dma_lock);
	free(c);
	return err;
}

/*
 * Normal shutdown notification, so a controller with a volatile write cache
 * makes data durable before it is disabled. Bounded by RTD3E (or CAP.TO).
 */
static void ctrl_shutdown(struct aisio_nvme_ctrl *c)
{
	uint32_t cc = aisio_pcif_read32(c->f, AISIO_NVME_REG_CC);
	uint64_t limit_ms = c->id->rtd3e ? c->id->rtd3e / 1000 + 1 : c->ready_timeout_ms;
	uint64_t deadline;
	unsigned spins = 0;

	if (__atomic_load_n(&c->failed, __ATOMIC_RELAXED) || !aisio_nvme_cc_en(cc))
		return;
	if (limit_ms > 10000)
		limit_ms = 10000;
	deadline = aisio_drv_now_ms() + limit_ms;
	aisio_pcif_write32(c->f, AISIO_NVME_REG_CC, (cc & ~(3u << 14)) | AISIO_NVME_CC_SHN_NORMAL);
	for (;;) {
		uint32_t csts = drv_csts(c);

		if ((csts & AISIO_NVME_CSTS_SHST_MASK) == AISIO_NVME_CSTS_SHST_CMPLT ||
		    (csts & AISIO_NVME_CSTS_CFS) || csts == UINT32_MAX || aisio_drv_now_ms() > deadline)
			return;
		if (++spins > 64)
			usleep(spins < 1024 ? 10 : 1000);
	}
}

void aisio_nvme_ctrl_term(struct aisio_nvme_ctrl *c)
{
	if (!c)
		return;
	while (c->exts)
		aisio_nvme_ctrl_qpair_delete_ext(c, c->exts->qid);
	ctrl_shutdown(c);
	drv_ctrl_disable(c);
	aisio_heap_term(c->heap);
	free(c->qid_used);
	free(c->active);
	free(c->id);
	pthread_mutex_destroy(&c->admin_lock);
	pthread_mutex_destroy(&c->dma_lock);
	free(c);
}

int aisio_nvme_ctrl_reset(struct aisio_nvme_ctrl *c)
{
	int err;

	pthread_mutex_lock(&c->admin_lock);
	/* Disabling deletes every queue in the controller; nothing completes after it. */
	err = drv_ctrl_disable(c);
	for (struct aisio_nvme_qpair *qp = c->qpairs; qp; qp = qp->next)
		drv_qpair_cancel(qp, -ECANCELED);
	if (err)
		goto out;
	drv_admin_ring_reset(c);
	__atomic_store_n(&c->failed, 0, __ATOMIC_RELAXED);
	err = drv_ctrl_enable(c);
	if (err)
		goto out;
	err = negotiate_queues(c);
	if (err)
		goto out;
	err = drv_qpair_recreate_all(c);
out:
	c->generation++;
	pthread_mutex_unlock(&c->admin_lock);
	return err;
}

const struct aisio_nvme_ctrl_info *aisio_nvme_ctrl_info(const struct aisio_nvme_ctrl *c)
{
	return &c->info;
}

uint32_t aisio_nvme_ctrl_generation(const struct aisio_nvme_ctrl *c)
{
	return __atomic_load_n(&c->generation, __ATOMIC_ACQUIRE);
}

int aisio_nvme_ctrl_failed(const struct aisio_nvme_ctrl *c)
{
	return __atomic_load_n(&c->failed, __ATOMIC_RELAXED);
}

volatile uint8_t *aisio_nvme_ctrl_bar0(const struct aisio_nvme_ctrl *c)
{
	return c->bar0;
}

uint32_t aisio_nvme_ctrl_db_offset(const struct aisio_nvme_ctrl *c, uint16_t qid, int cq)
{
	return aisio_nvme_db_offset(qid, cq, c->info.dstrd);
}
