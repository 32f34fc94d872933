/* SPDX-License-Identifier: MIT */
/* Device model internals shared by the files of src/emu/. */
#ifndef AISIO_EMU_PRIV_H
#define AISIO_EMU_PRIV_H

#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include <aisio/nvme_ring.h>
#include <aisio/nvme_spec.h>

#include "emu/emu.h"

#define EMU_BATCH 64 /* commands fetched from one SQ per pass */
#define EMU_MAX_FAULTS 32
#define EMU_MAX_RANGES 128
#define EMU_ERRLOG_ENTRIES 64
#define EMU_MAX_AER 4
#define EMU_MPS_MIN 0 /* CAP.MPSMIN: 4 KiB */
#define EMU_MPS_MAX 4 /* CAP.MPSMAX: 64 KiB */
/*
 * CAP.TO, in 500 ms units: 30 s. The model becomes ready as soon as its
 * thread sees CC.EN, but that thread shares the host's CPUs: in a sanitizer
 * build on a loaded 2-core machine, RDY once came more than 2 s after EN.
 */
#define EMU_CAP_TO 60

/* A command result that posts no CQE (pending AER, dropped completion). */
#define EMU_NO_CQE 0xffffffffu

#define EMU_LOAD(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define EMU_LOADR(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define EMU_STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define EMU_STORER(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

struct emu_cq {
	uint32_t active; /* atomic: 1 while created */
	uint32_t gen;	 /* bumped on delete */
	uint16_t qid;
	uint32_t depth;
	volatile struct aisio_nvme_cqe *ring;
	uint64_t bus;
	uint32_t tail;
	uint32_t phase;
	uint32_t host_head; /* last valid head doorbell value */
	uint32_t owed;	    /* commands fetched whose CQE is not posted yet */
	uint32_t nsq;	    /* SQs attached */
	volatile uint32_t *db;
	unsigned worker;
};

struct emu_sq {
	uint32_t active;
	uint32_t gen;
	uint16_t qid;
	uint16_t cqid;
	uint32_t depth;
	uint32_t head;
	uint32_t bad_db; /* last invalid tail doorbell value reported */
	const volatile struct aisio_nvme_sqe *ring;
	uint64_t bus;
	volatile uint32_t *db;
	struct emu_cq *cq;
};

struct emu_ns {
	uint32_t nsid;
	uint64_t nlbas;
	unsigned lba_shift;
	uint8_t *data;	    /* NULL for null namespaces */
	uint64_t store_off; /* byte offset in the backing store */
};

/* A completion waiting for its deadline (latency / rate limits). */
struct emu_pending {
	uint64_t due_ns;
	struct emu_sq *sq;
	struct emu_cq *cq;
	uint32_t gen;
	uint32_t cq_gen;
	uint64_t ticket; /* the DMA provider's copies it waits for (0: none) */
	struct aisio_nvme_cqe cqe;
};

struct emu_stats_pad {
	struct aisio_emu_stats s;
	char pad[64];
};

struct emu_worker {
	struct aisio_emu_ctrl *c;
	unsigned idx;
	pthread_t th;
	int started;
	uint64_t pass;	      /* atomic: completed polling passes */
	uint32_t qgen;	      /* c->qgen the list was built for */
	struct emu_sq **list; /* I/O SQs this thread serves */
	uint32_t nlist;
	struct aisio_emu_stats st; /* written by this thread only */
	/* latency and rate limits */
	struct emu_pending *pend;
	uint32_t pend_cap, pend_head, pend_n;
	uint64_t next_free_ns;
	/* completions of the batch being processed */
	struct aisio_nvme_cqe batch[EMU_BATCH];
	uint32_t bytes[EMU_BATCH];
	uint32_t idle;
	uint8_t *bounce; /* Compare / DSM staging, 1 MiB + */
	size_t bounce_len;
};

struct emu_fault {
	struct aisio_emu_fault f;
	uint32_t hits;
	uint32_t seen;
	int armed;
};

struct aisio_emu_ctrl {
	struct aisio_emu_opts o;
	char *file;
	uint32_t index;

	/* register file */
	uint32_t *bar; /* shared mapping of bar_fd */
	size_t bar_len;
	int bar_fd;
	uint64_t cap;
	uint32_t vs;
	uint32_t cc; /* CC as last acted on */
	uint32_t csts;
	uint32_t ready; /* atomic: queues are processed */
	uint32_t fatal; /* atomic: request to set CFS */
	unsigned page_shift;
	uint64_t mdts_bytes; /* 0 = no limit */

	/* queues: index = qid, 0 = admin */
	struct emu_sq *sqs;
	struct emu_cq *cqs;
	uint32_t nq;	/* I/O queue pairs supported */
	uint32_t qgen;	/* atomic: bumped when the I/O queue set changes */
	int qs_created; /* Set Features Number of Queues no longer allowed */

	/* namespaces */
	struct emu_ns *ns;
	uint32_t nns;
	uint8_t *store;
	size_t store_len;
	int fd;
	int store_pinned; /* the DMA provider may pin store pages (store_add said 1) */

	/* DMA */
	struct aisio_emu_dma dma;
	int dma_identity;
	int dma_own; /* ops came from the creator */
	struct {
		uint64_t bus;
		uint64_t len;
		uint8_t *local;
	} ranges[EMU_MAX_RANGES];
	uint32_t nranges;

	/* threads */
	struct emu_worker *w;
	unsigned nworkers;
	uint32_t stop;
	int rate; /* latency or rate limits configured */

	/* admin state (thread 0 only) */
	uint32_t feat[0x10];
	uint16_t aer_cid[EMU_MAX_AER];
	uint32_t naer;
	uint32_t aer_event; /* atomic: an error event waits for an AER */
	int aer_masked;	    /* an error event was reported; the Error log was not read since */

	/* error log and faults (any thread, under lock) */
	pthread_mutex_t lock;
	struct aisio_nvme_error_log errlog[EMU_ERRLOG_ENTRIES];
	uint64_t err_count;
	struct emu_fault faults[EMU_MAX_FAULTS];
	uint32_t nfaults;     /* atomic: armed faults */
	uint32_t fault_slots; /* slots used since the last clear */
	uint64_t resets;
};

/* ctrl.c */
void emu_quiesce(struct aisio_emu_ctrl *c);
uint64_t emu_now_ns(void);

/* queue.c */
int emu_sq_process(struct emu_worker *w, struct emu_sq *sq);
int emu_pending_post(struct emu_worker *w);
void emu_cq_post(struct emu_cq *cq, const struct aisio_nvme_cqe *e, uint32_t sqhd);
void emu_worker_rebuild(struct emu_worker *w);

/* admin.c */
uint32_t emu_admin_exec(struct emu_worker *w, struct emu_sq *sq, const struct aisio_nvme_sqe *cmd,
			uint32_t *dw0);
void emu_admin_reset(struct aisio_emu_ctrl *c);
int emu_aer_post(struct aisio_emu_ctrl *c);
void emu_error_record(struct aisio_emu_ctrl *c, uint16_t sqid, const struct aisio_nvme_sqe *cmd,
		      uint32_t status);

/* nvm.c */
uint32_t emu_nvm_exec(struct emu_worker *w, const struct aisio_nvme_sqe *cmd, uint32_t *bytes);

/* dptr.c: walk a command's data pointer over @len bytes */
typedef uint32_t (*emu_seg_fn)(void *arg, uint64_t bus, size_t len);
uint32_t emu_dptr_walk(struct aisio_emu_ctrl *c, const struct aisio_nvme_sqe *cmd, size_t len,
		       int allow_sgl, emu_seg_fn fn, void *arg);
/* Move @len bytes between @local and the command's data buffer (to_bus: controller writes host). */
uint32_t emu_xfer(struct aisio_emu_ctrl *c, const struct aisio_nvme_sqe *cmd, void *local,
		  size_t len, int to_bus, int allow_sgl);
/* Same, finishing queued copies before returning (data needed now). */
uint32_t emu_xfer_sync(struct aisio_emu_ctrl *c, const struct aisio_nvme_sqe *cmd, void *local,
		       size_t len, int to_bus, int allow_sgl);

/* dma.c */
static inline void *emu_map(struct aisio_emu_ctrl *c, uint64_t bus, size_t len)
{
	if (c->dma_identity)
		return bus ? (void *)(uintptr_t)bus : NULL;
	return c->dma.map(c->dma.ctx, bus, len);
}
void emu_dma_setup(struct aisio_emu_ctrl *c, const struct aisio_emu_dma *ops);
void *emu_ranges_map(void *ctx, uint64_t bus, size_t len);
int emu_dma_flush(struct aisio_emu_ctrl *c);

/* bar.c */
int emu_bar_alloc(struct aisio_emu_ctrl *c);
void emu_bar_free(struct aisio_emu_ctrl *c);

/* ns.c */
int emu_ns_open(struct aisio_emu_ctrl *c);
void emu_ns_close(struct aisio_emu_ctrl *c);
void emu_ns_flush(struct aisio_emu_ctrl *c, struct emu_ns *ns);
void emu_ns_zero(struct aisio_emu_ctrl *c, struct emu_ns *ns, uint64_t slba, uint64_t nlb,
		 int dealloc);

/* fault.c: returns 1 when a fault applies to @cmd (fills *status / *action) */
int emu_fault_match(struct aisio_emu_ctrl *c, uint16_t qid, const struct aisio_nvme_sqe *cmd,
		    uint32_t *status, enum aisio_emu_fault_action *action);

static inline uint32_t emu_status(uint32_t code, int dnr)
{
	return aisio_nvme_status_field(code, dnr);
}

#endif
