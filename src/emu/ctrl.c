/* SPDX-License-Identifier: MIT */
/*
 * Controller life cycle: the register file, the CC state machine
 * (enable, reset, shutdown, fatal status) and the polling threads.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>

#include "emu/priv.h"
#include "util/err.h"

static uint32_t emu_next_index;

uint64_t emu_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void aisio_emu_opts_init(struct aisio_emu_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->ns_size = 64ull << 20;
	o->lba_shift = 9;
	o->nns = 1;
	o->backing = AISIO_EMU_MEM;
	o->mdts = 7;
	o->mqes = 1023;
	o->nqueues = 64;
	o->threads = 1;
	o->file_create = 1;
	o->gpu_direct = 1;
}

static inline uint32_t reg_get(struct aisio_emu_ctrl *c, uint32_t off)
{
	return __atomic_load_n(&c->bar[off / 4], __ATOMIC_ACQUIRE);
}

static inline void reg_set(struct aisio_emu_ctrl *c, uint32_t off, uint32_t v)
{
	__atomic_store_n(&c->bar[off / 4], v, __ATOMIC_RELEASE);
}

static void set_csts(struct aisio_emu_ctrl *c, uint32_t v)
{
	c->csts = v;
	reg_set(c, AISIO_NVME_REG_CSTS, v);
}

/* Read-only registers, restored on every reset. */
static void regs_init(struct aisio_emu_ctrl *c)
{
	reg_set(c, AISIO_NVME_REG_CAP, (uint32_t)c->cap);
	reg_set(c, AISIO_NVME_REG_CAP + 4, (uint32_t)(c->cap >> 32));
	reg_set(c, AISIO_NVME_REG_VS, c->vs);
}

/*
 * Wait until every other controller thread has finished the pass it was in
 * when the caller changed queue state: two completed passes prove it.
 */
void emu_quiesce(struct aisio_emu_ctrl *c)
{
	for (unsigned i = 1; i < c->nworkers; i++) {
		struct emu_worker *w = &c->w[i];
		uint64_t start = EMU_LOAD(&w->pass);

		while (EMU_LOAD(&w->pass) < start + 2 && !EMU_LOAD(&c->stop))
			sched_yield();
	}
}

/* Delete every queue and drop what is in flight (controller reset). */
static void ctrl_reset(struct aisio_emu_ctrl *c)
{
	EMU_STORE(&c->ready, 0);
	emu_quiesce(c);
	/* copies still running for dropped completions land before the queues go */
	emu_dma_flush(c);
	for (uint32_t q = 0; q <= c->nq; q++) {
		if (c->sqs[q].active)
			c->sqs[q].gen++;
		if (c->cqs[q].active)
			c->cqs[q].gen++;
		EMU_STORE(&c->sqs[q].active, 0);
		EMU_STORE(&c->cqs[q].active, 0);
	}
	for (unsigned i = 0; i < c->nworkers; i++) {
		c->w[i].pend_n = 0;
		c->w[i].pend_head = 0;
		c->w[i].nlist = 0;
	}
	__atomic_add_fetch(&c->qgen, 1, __ATOMIC_RELEASE);
	/* doorbells clear */
	for (size_t off = AISIO_NVME_REG_DBS; off < c->bar_len; off += 4)
		reg_set(c, (uint32_t)off, 0);
	emu_admin_reset(c);
	c->qs_created = 0;
	EMU_STORE(&c->fatal, 0);
	regs_init(c);
	__atomic_add_fetch(&c->resets, 1, __ATOMIC_RELAXED);
}

static int valid_cc(struct aisio_emu_ctrl *c, uint32_t cc, uint32_t aqa, uint64_t asq, uint64_t acq)
{
	uint32_t mps = aisio_nvme_cc_mps(cc);
	uint64_t pmask;

	if (aisio_nvme_cc_css(cc) != 0 || aisio_nvme_cc_ams(cc) != 0)
		return 0;
	if ((int)mps < EMU_MPS_MIN || (int)mps > EMU_MPS_MAX)
		return 0;
	if (aisio_nvme_cc_iosqes(cc) != 6 || aisio_nvme_cc_iocqes(cc) != 4)
		return 0;
	pmask = (1ull << (12 + mps)) - 1;
	if (!asq || !acq || (asq & pmask) || (acq & pmask))
		return 0;
	/* AQA sizes are 0's based; a queue needs two entries */
	if ((aqa & 0xfff) == 0 || ((aqa >> 16) & 0xfff) == 0)
		return 0;
	return 1;
}

/* CC.EN 0->1: set up the admin queue pair, then RDY (or CFS). */
static void ctrl_enable(struct aisio_emu_ctrl *c, uint32_t cc)
{
	uint32_t aqa = reg_get(c, AISIO_NVME_REG_AQA);
	uint64_t asq = reg_get(c, AISIO_NVME_REG_ASQ) | (uint64_t)reg_get(c, AISIO_NVME_REG_ASQ + 4)
								<< 32;
	uint64_t acq = reg_get(c, AISIO_NVME_REG_ACQ) | (uint64_t)reg_get(c, AISIO_NVME_REG_ACQ + 4)
								<< 32;
	struct emu_sq *sq = &c->sqs[0];
	struct emu_cq *cq = &c->cqs[0];
	uint32_t sqs, cqs;

	if (!valid_cc(c, cc, aqa, asq, acq)) {
		set_csts(c, AISIO_NVME_CSTS_CFS);
		return;
	}
	c->page_shift = 12 + aisio_nvme_cc_mps(cc);
	sqs = aisio_nvme_aqa_asqs(aqa);
	cqs = aisio_nvme_aqa_acqs(aqa);

	cq->qid = 0;
	cq->depth = cqs;
	cq->bus = acq;
	cq->ring = emu_map(c, acq, (size_t)cqs * 16);
	cq->tail = 0;
	cq->phase = 1;
	cq->host_head = 0;
	cq->owed = 0;
	cq->nsq = 1;
	cq->db = (volatile uint32_t *)((uint8_t *)c->bar + aisio_nvme_db_offset(0, 1, 0));
	cq->worker = 0;

	sq->qid = 0;
	sq->cqid = 0;
	sq->depth = sqs;
	sq->head = 0;
	sq->bad_db = ~0u;
	sq->bus = asq;
	sq->ring = emu_map(c, asq, (size_t)sqs * 64);
	sq->db = (volatile uint32_t *)((uint8_t *)c->bar + aisio_nvme_db_offset(0, 0, 0));
	sq->cq = cq;
	if (!sq->ring || !cq->ring) {
		set_csts(c, AISIO_NVME_CSTS_CFS);
		return;
	}
	EMU_STORE(&cq->active, 1);
	EMU_STORE(&sq->active, 1);
	set_csts(c, AISIO_NVME_CSTS_RDY);
	EMU_STORE(&c->ready, 1);
}

/* Thread 0: act on CC changes and on a requested fatal error. Returns 1 on a change. */
static int regs_poll(struct aisio_emu_ctrl *c)
{
	uint32_t cc = reg_get(c, AISIO_NVME_REG_CC);
	uint32_t old = c->cc;
	int changed = 0;

	if (EMU_LOADR(&c->fatal) == 1) {
		EMU_STORE(&c->ready, 0);
		EMU_STORE(&c->fatal, 2);
		set_csts(c, c->csts | AISIO_NVME_CSTS_CFS);
		changed = 1;
	}
	if (cc == old)
		return changed;
	c->cc = cc;
	if (aisio_nvme_cc_en(old) && !aisio_nvme_cc_en(cc)) {
		ctrl_reset(c);
		set_csts(c, 0);
	} else if (!aisio_nvme_cc_en(old) && aisio_nvme_cc_en(cc)) {
		if (!(c->csts & AISIO_NVME_CSTS_CFS))
			ctrl_enable(c, cc);
	}
	if (aisio_nvme_cc_shn(cc) && !aisio_nvme_cc_shn(old)) {
		set_csts(c, (c->csts & ~AISIO_NVME_CSTS_SHST_MASK) | AISIO_NVME_CSTS_SHST_OCCUR);
		for (uint32_t i = 0; i < c->nns; i++)
			emu_ns_flush(c, &c->ns[i]);
		set_csts(c, (c->csts & ~AISIO_NVME_CSTS_SHST_MASK) | AISIO_NVME_CSTS_SHST_CMPLT);
	} else if (!aisio_nvme_cc_shn(cc) && aisio_nvme_cc_shn(old)) {
		set_csts(c, c->csts & ~AISIO_NVME_CSTS_SHST_MASK);
	}
	return 1;
}

/*
 * Idle policy: spin while work is recent, then yield, then sleep briefly so
 * that many idle controllers on few cores cost little. A busy controller
 * never makes a syscall.
 */
static void worker_idle(struct emu_worker *w, int work)
{
	if (work) {
		w->idle = 0;
		return;
	}
	w->idle++;
	if (w->pend_n) {
		/* completions are due soon: sleep only while the next one is far */
		uint64_t now = emu_now_ns(), due = w->pend[w->pend_head].due_ns;

		if (due > now + 200000) {
			struct timespec ts = {
				0, (long)((due - now) / 2 > 1000000 ? 1000000 : (due - now) / 2)
			};
			nanosleep(&ts, NULL);
		} else if (w->idle >= 4096) {
			sched_yield();
		}
		return;
	}
	if (w->idle < 4096) {
		__builtin_ia32_pause();
	} else if (w->idle < 8192) {
		sched_yield();
	} else {
		struct timespec ts = { 0, 50000 };
		nanosleep(&ts, NULL);
	}
}

static void *worker_main(void *arg)
{
	struct emu_worker *w = arg;
	struct aisio_emu_ctrl *c = w->c;

	while (!EMU_LOADR(&c->stop)) {
		int work = 0;

		if (w->idx == 0)
			work |= regs_poll(c);
		if (EMU_LOAD(&c->ready)) {
			if (w->qgen != EMU_LOAD(&c->qgen))
				emu_worker_rebuild(w);
			if (w->idx == 0 && EMU_LOADR(&c->sqs[0].active)) {
				work |= emu_sq_process(w, &c->sqs[0]);
				if (EMU_LOADR(&c->aer_event))
					work |= emu_aer_post(c);
			}
			for (uint32_t i = 0; i < w->nlist && EMU_LOADR(&c->ready); i++)
				work |= emu_sq_process(w, w->list[i]);
			if (w->pend_n)
				work |= emu_pending_post(w);
		}
		EMU_STORE(&w->pass, w->pass + 1);
		worker_idle(w, work);
	}
	return NULL;
}

static int ctrl_check_opts(const struct aisio_emu_opts *o)
{
	if (o->lba_shift != 9 && o->lba_shift != 12)
		return aisio_err(
			-EINVAL,
			"emu: LBA size must be 512 or 4096 bytes (lbads=9 or 12), not 2^%u",
			o->lba_shift);
	if (!o->ns_size || o->ns_size % (1ull << o->lba_shift))
		return aisio_err(
			-EINVAL,
			"emu: namespace size %llu is not a positive multiple of the %u-byte LBA",
			(unsigned long long)o->ns_size, 1u << o->lba_shift);
	if (o->nns < 1 || o->nns > 1024)
		return aisio_err(-EINVAL, "emu: nns=%u: a controller has 1 to 1024 namespaces",
				 o->nns);
	if (o->backing == AISIO_EMU_FILE && (!o->file || !*o->file))
		return aisio_err(-EINVAL, "emu: a file-backed namespace needs file=PATH");
	if (o->mdts > 16)
		return aisio_err(-EINVAL, "emu: mdts=%u: at most 16 (2^16 * 4 KiB)", o->mdts);
	if (o->mqes < 1 || o->mqes > 0xffff)
		return aisio_err(-EINVAL, "emu: mqes=%u: CAP.MQES is 1..65535 (0's based)",
				 o->mqes);
	if (o->nqueues < 1 || o->nqueues > 4096)
		return aisio_err(-EINVAL, "emu: nqueues=%u: 1 to 4096 I/O queue pairs", o->nqueues);
	if (o->gpu_direct > 2)
		return aisio_err(-EINVAL, "emu: gpu_direct=%u: use 0 (off), 1 (pinned as reached) or 2 "
				 "(eager: pinned all at start)", o->gpu_direct);
	if (o->threads < 1 || o->threads > 64)
		return aisio_err(-EINVAL, "emu: threads=%u: 1 to 64 controller threads",
				 o->threads);
	if (o->dma && !o->dma->map)
		return aisio_err(-EINVAL, "emu: dma ops need a map callback");
	return 0;
}

int aisio_emu_ctrl_create(const struct aisio_emu_opts *o, struct aisio_emu_ctrl **out)
{
	struct aisio_emu_ctrl *c;
	int err;

	*out = NULL;
	err = ctrl_check_opts(o);
	if (err)
		return err;
	c = calloc(1, sizeof(*c));
	if (!c)
		return aisio_err(-ENOMEM, "emu: out of memory for a controller");
	c->o = *o;
	c->fd = -1;
	c->bar_fd = -1;
	pthread_mutex_init(&c->lock, NULL);
	if (o->file) {
		c->file = strdup(o->file);
		if (!c->file) {
			err = aisio_err(-ENOMEM, "emu: out of memory");
			goto err_free;
		}
		c->o.file = c->file;
	}
	c->index = __atomic_fetch_add(&emu_next_index, 1, __ATOMIC_RELAXED);
	c->nq = o->nqueues;
	c->cap = AISIO_NVME_CAP_MQES(o->mqes) | AISIO_NVME_CAP_CQR | AISIO_NVME_CAP_TO(EMU_CAP_TO) |
		 AISIO_NVME_CAP_DSTRD(0) | AISIO_NVME_CAP_CSS_NVM |
		 AISIO_NVME_CAP_MPSMIN(EMU_MPS_MIN) | AISIO_NVME_CAP_MPSMAX(EMU_MPS_MAX);
	c->vs = AISIO_NVME_VS(1, 4, 0);
	c->mdts_bytes = o->mdts ? (4096ull << o->mdts) : 0;
	c->page_shift = 12;
	c->rate = o->latency_us || o->iops || o->bw;

	/* registers up to 0x1000, then one SQ and one CQ doorbell per queue */
	c->bar_len = AISIO_NVME_REG_DBS + (size_t)(c->nq + 1) * 8;
	c->bar_len = (c->bar_len + 4095) & ~(size_t)4095;
	err = emu_bar_alloc(c);
	if (err)
		goto err_free;
	c->sqs = calloc(c->nq + 1, sizeof(*c->sqs));
	c->cqs = calloc(c->nq + 1, sizeof(*c->cqs));
	if (!c->sqs || !c->cqs) {
		err = aisio_err(-ENOMEM, "emu: out of memory for queues");
		goto err_free;
	}
	regs_init(c);
	emu_admin_reset(c);
	emu_dma_setup(c, o->dma);

	err = emu_ns_open(c);
	if (err)
		goto err_free;

	c->nworkers = o->threads;
	c->w = calloc(c->nworkers, sizeof(*c->w));
	if (!c->w) {
		err = aisio_err(-ENOMEM, "emu: out of memory");
		goto err_ns;
	}
	for (unsigned i = 0; i < c->nworkers; i++) {
		struct emu_worker *w = &c->w[i];

		w->c = c;
		w->idx = i;
		w->qgen = ~0u;
		w->list = calloc(c->nq + 1, sizeof(*w->list));
		if (!w->list) {
			err = aisio_err(-ENOMEM, "emu: out of memory");
			goto err_threads;
		}
	}
	for (unsigned i = 0; i < c->nworkers; i++) {
		struct emu_worker *w = &c->w[i];

		if (pthread_create(&w->th, NULL, worker_main, w)) {
			err = aisio_err(-EAGAIN, "emu: cannot start a controller thread");
			goto err_threads;
		}
		w->started = 1;
	}
	*out = c;
	return 0;

err_threads:
	EMU_STORE(&c->stop, 1);
	for (unsigned i = 0; i < c->nworkers; i++) {
		if (c->w[i].started)
			pthread_join(c->w[i].th, NULL);
		free(c->w[i].list);
	}
	free(c->w);
err_ns:
	emu_ns_close(c);
err_free:
	free(c->sqs);
	free(c->cqs);
	emu_bar_free(c);
	free(c->file);
	pthread_mutex_destroy(&c->lock);
	free(c);
	return err;
}

void aisio_emu_ctrl_destroy(struct aisio_emu_ctrl *c)
{
	if (!c)
		return;
	EMU_STORE(&c->stop, 1);
	for (unsigned i = 0; i < c->nworkers; i++) {
		if (c->w[i].started)
			pthread_join(c->w[i].th, NULL);
		free(c->w[i].list);
		free(c->w[i].pend);
		free(c->w[i].bounce);
	}
	free(c->w);
	emu_ns_close(c);
	free(c->sqs);
	free(c->cqs);
	emu_bar_free(c);
	free(c->file);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

volatile void *aisio_emu_ctrl_bar0(struct aisio_emu_ctrl *c, size_t *len)
{
	if (len)
		*len = c->bar_len;
	return c->bar;
}

uint32_t aisio_emu_ctrl_index(const struct aisio_emu_ctrl *c)
{
	return c->index;
}

const struct aisio_emu_opts *aisio_emu_ctrl_opts(const struct aisio_emu_ctrl *c)
{
	return &c->o;
}

void aisio_emu_ctrl_fatal(struct aisio_emu_ctrl *c)
{
	uint32_t zero = 0;

	__atomic_compare_exchange_n(&c->fatal, &zero, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
}

void aisio_emu_ctrl_stats(struct aisio_emu_ctrl *c, struct aisio_emu_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (unsigned i = 0; i < c->nworkers; i++) {
		const struct aisio_emu_stats *s = &c->w[i].st;

		st->admin_cmds += EMU_LOADR(&s->admin_cmds);
		st->io_cmds += EMU_LOADR(&s->io_cmds);
		st->reads += EMU_LOADR(&s->reads);
		st->writes += EMU_LOADR(&s->writes);
		st->bytes_read += EMU_LOADR(&s->bytes_read);
		st->bytes_written += EMU_LOADR(&s->bytes_written);
		st->errors += EMU_LOADR(&s->errors);
		st->dropped += EMU_LOADR(&s->dropped);
	}
	st->resets = EMU_LOADR(&c->resets);
}
