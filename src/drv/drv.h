/* SPDX-License-Identifier: MIT */
/*
 * The user-space NVMe driver. It works on any struct aisio_pcif (device
 * model, uio, vfio): bring-up per specification, a synchronous admin path,
 * I/O queue pairs whose commands are struct aisio_io slots indexed by CID,
 * per-command timeouts, and controller reset with re-creation of every
 * queue.
 *
 * Threading: one controller may be used from many threads; each I/O queue
 * pair is used by one thread at a time. Admin commands and queue creation
 * are serialised inside the driver. aisio_nvme_ctrl_reset() must not run
 * while another thread submits or reaps on the controller's queues.
 */
#ifndef AISIO_DRV_DRV_H
#define AISIO_DRV_DRV_H

#include <stddef.h>
#include <stdint.h>

#include <aisio/aisio.h>
#include <aisio/nvme_ring.h>

#include "io/backend.h"
#include "mem/region.h"
#include "pci/pcif.h"

struct aisio_nvme_ctrl;

struct aisio_nvme_ctrl_opts {
	uint32_t timeout_ms;  /* per-command timeout; 0 = 30 s */
	uint32_t nqueues;     /* I/O queue pairs to ask for; 0 = as many as the controller gives */
	uint32_t admin_depth; /* admin queue entries; 0 = 32 */
	size_t dma_chunk;     /* DMA memory asked from the function at a time; 0 = 8 MiB */
	size_t dma_first;     /* the first of them, rounded up to 64 KiB; 0 = like the others */
};

/* Driver limit when the controller reports no MDTS. */
#define AISIO_NVME_DRV_MAX_XFER (4u << 20)

/* ---- Controller ----------------------------------------------------------- */

/**
 * aisio_nvme_ctrl_init - bring up the controller behind @f: disable, admin
 * queues, enable, Identify Controller, active namespace list, and
 * negotiate the number of I/O queues. @f stays owned by the caller.
 * Returns 0, -ENODEV (no NVM command set, bad registers), -ETIMEDOUT
 * (controller did not become ready within CAP.TO), -ENOMEM, -EIO
 * (controller fatal status) or a positive NVMe status of a failed admin command.
 */
int aisio_nvme_ctrl_init(struct aisio_pcif *f, const struct aisio_nvme_ctrl_opts *opts,
			 struct aisio_nvme_ctrl **out);

/** aisio_nvme_ctrl_term - disable the controller and free it; its queues must be deleted first. */
void aisio_nvme_ctrl_term(struct aisio_nvme_ctrl *c);

/**
 * aisio_nvme_ctrl_reset - disable and re-enable the controller, then
 * re-create every I/O queue pair with its old QID, depth and memory.
 * Commands in flight complete with -ECANCELED at their queue's next reap;
 * CIDs held by timed-out commands are released. Returns 0, -ETIMEDOUT,
 * -EIO or a positive NVMe status.
 */
int aisio_nvme_ctrl_reset(struct aisio_nvme_ctrl *c);

/**
 * aisio_nvme_ctrl_admin - run one admin command and wait for it (up to the
 * command timeout). @buf must be DMA memory of this controller
 * (aisio_nvme_ctrl_dma_alloc) or NULL; the driver sets CID and PRPs.
 * Returns 0, a positive NVMe status (SCT << 8 | SC), -EINVAL, -EBUSY,
 * -ETIMEDOUT, -EIO (controller fatal status).
 */
int aisio_nvme_ctrl_admin(struct aisio_nvme_ctrl *c, struct aisio_nvme_sqe *cmd, void *buf,
			  size_t len, uint32_t *result);

/**
 * aisio_nvme_ctrl_admin_copy - aisio_nvme_ctrl_admin() for a buffer in any
 * memory: the data goes through DMA memory of the controller, in the
 * direction opcode bits 1:0 give (host to controller, controller to host).
 * Returns as aisio_nvme_ctrl_admin(), or -ENOMEM, -EINVAL (length, no buffer).
 */
int aisio_nvme_ctrl_admin_copy(struct aisio_nvme_ctrl *c, struct aisio_nvme_sqe *cmd, void *buf,
			       size_t len, uint32_t *result);

/**
 * aisio_nvme_ctrl_aer_submit - post one Asynchronous Event Request without
 * waiting; its completion is collected whenever the admin queue is polled.
 * Returns 0, -EBUSY (admin queue full), -EIO.
 */
int aisio_nvme_ctrl_aer_submit(struct aisio_nvme_ctrl *c);

/** aisio_nvme_ctrl_admin_poll - collect admin completions that arrived (AERs). */
void aisio_nvme_ctrl_admin_poll(struct aisio_nvme_ctrl *c);

/* AERs posted and not completed; @events, when non-NULL, gets the completed count
 * and @last_dw0 the last event's dword 0. */
uint32_t aisio_nvme_ctrl_aer_pending(struct aisio_nvme_ctrl *c, uint32_t *events, uint32_t *last_dw0);

/* DMA memory of the controller's function: queues, PRP lists, I/O buffers.
 * @align is a power of two (0 = 4096). Returns NULL when out of memory. */
void *aisio_nvme_ctrl_dma_alloc(struct aisio_nvme_ctrl *c, size_t len, size_t align);
void aisio_nvme_ctrl_dma_free(struct aisio_nvme_ctrl *c, void *p);
/* The region that holds @p, or NULL. */
const struct aisio_mem_region *aisio_nvme_ctrl_dma_region(struct aisio_nvme_ctrl *c, const void *p);

/* What bring-up found. */
struct aisio_nvme_ctrl_info {
	uint64_t cap;
	uint32_t vs;
	uint32_t dstrd;        /* CAP.DSTRD */
	uint32_t page_shift;   /* CC.MPS + 12 */
	uint32_t max_qdepth;   /* CAP.MQES + 1 */
	uint32_t max_xfer;     /* bytes per command (MDTS, or the driver limit) */
	uint32_t nqueues;      /* I/O queue pairs negotiated */
	uint32_t sgl;          /* controller supports SGLs for NVM commands */
	uint32_t timeout_ms;   /* per-command timeout */
	uint32_t nn;           /* Identify Controller NN */
	uint32_t nactive;      /* active namespaces in @active */
	const uint32_t *active; /* active namespace IDs, ascending */
	const struct aisio_nvme_id_ctrl *id;
};
const struct aisio_nvme_ctrl_info *aisio_nvme_ctrl_info(const struct aisio_nvme_ctrl *c);

/* Reset count: callers that drive their own rings (external queues) re-read their state when it changes. */
uint32_t aisio_nvme_ctrl_generation(const struct aisio_nvme_ctrl *c);

/* Controller fatal status seen (CSTS.CFS); cleared by a successful reset. */
int aisio_nvme_ctrl_failed(const struct aisio_nvme_ctrl *c);

volatile uint8_t *aisio_nvme_ctrl_bar0(const struct aisio_nvme_ctrl *c);

/* Byte offset in BAR0 of queue @qid's SQ tail (cq = 0) or CQ head (cq = 1) doorbell. */
uint32_t aisio_nvme_ctrl_db_offset(const struct aisio_nvme_ctrl *c, uint16_t qid, int cq);

/* ---- Queue pairs whose rings the caller supplies and drives (GPU) ------------ */

struct aisio_nvme_qpair_ext {
	uint32_t depth;  /* entries in each ring, 2..CAP.MQES + 1 */
	uint64_t sq_bus; /* bus address of depth * 64 bytes, page aligned, bus-contiguous */
	uint64_t cq_bus; /* bus address of depth * 16 bytes, page aligned, bus-contiguous, zeroed */
	void *sq_va;     /* the caller's pointers, kept for it (may be NULL) */
	void *cq_va;
};

/**
 * aisio_nvme_ctrl_qpair_create_ext - create an I/O CQ and SQ on memory the
 * caller owns; the caller fills the SQ, rings the doorbells and consumes
 * the CQ itself. On reset the pair is re-created with the same QID and
 * memory (the caller zeroes its CQ and restarts its ring state when
 * aisio_nvme_ctrl_generation() changes). Returns 0 and the QID in @qid,
 * -EINVAL (depth, alignment), -EBUSY (no QID left), -ENOMEM, or a positive
 * NVMe status.
 */
int aisio_nvme_ctrl_qpair_create_ext(struct aisio_nvme_ctrl *c, const struct aisio_nvme_qpair_ext *e,
				     uint16_t *qid);

/** aisio_nvme_ctrl_qpair_delete_ext - delete SQ and CQ @qid. Returns 0, -ENOENT, or an NVMe status. */
int aisio_nvme_ctrl_qpair_delete_ext(struct aisio_nvme_ctrl *c, uint16_t qid);

/* ---- Handing a running controller to another process ------------------------ */

/* Host-side state of the admin queue; the rest is in the registers and the memory. */
struct aisio_nvme_ctrl_handover {
	uint32_t admin_depth;
	uint16_t asq_tail, asq_head, acq_head, acq_phase;
	uint16_t admin_cid;
	uint16_t flags;    /* AISIO_NVME_HO_* */
	uint32_t nqueues;  /* I/O queues the controller granted */
	uint64_t asq_bus;  /* ASQ and ACQ as the registers hold them */
	uint64_t acq_bus;
};

/**
 * aisio_nvme_ctrl_handover_save - the admin queue's state, for a process
 * that takes the controller over with aisio_nvme_ctrl_adopt() while it
 * runs: call it with no admin command in flight and then stop using @c
 * (free it without aisio_nvme_ctrl_term(), which would disable it).
 * Returns 0, -EBUSY (driver-owned I/O queue pairs or posted AERs: they
 * cannot be handed over) or -EIO (fatal status).
 */
int aisio_nvme_ctrl_handover_save(struct aisio_nvme_ctrl *c, struct aisio_nvme_ctrl_handover *h);

/* The state came from a process that may die at any moment (flags). */
#define AISIO_NVME_HO_CRASH 1u
/**
 * aisio_nvme_ctrl_crash_state - the same state, taken while @c keeps
 * running (homid's crash record): nothing is refused, and it is flagged
 * AISIO_NVME_HO_CRASH, so that aisio_nvme_ctrl_adopt() recovers the admin
 * queue from its rings (the record may be older than they are) and the
 * taker deletes the queues it does not know (aisio_nvme_ctrl_sweep_qids).
 * Driver-owned queue pairs and AERs are not in it. Returns 0.
 */
int aisio_nvme_ctrl_crash_state(struct aisio_nvme_ctrl *c, struct aisio_nvme_ctrl_handover *h);

/**
 * aisio_nvme_ctrl_adopt - take over the running controller behind @f
 * without resetting it: the admin rings are at @asq_va / @acq_va in this
 * process (the memory the old owner used, mapped again), the state as
 * saved. Checks CC.EN, CSTS.RDY and ASQ/ACQ/AQA against @h, then runs
 * Identify through the adopted queue. External queue pairs come back with
 * aisio_nvme_ctrl_qpair_adopt_ext(). Returns 0, -EIO (not running),
 * -ESTALE (registers changed), -EINVAL, -ENOMEM or an Identify failure.
 */
int aisio_nvme_ctrl_adopt(struct aisio_pcif *f, const struct aisio_nvme_ctrl_opts *opts,
			  const struct aisio_nvme_ctrl_handover *h, void *asq_va, void *acq_va,
			  struct aisio_nvme_ctrl **out);

/*
 * After taking a controller over from a crashed owner and adopting the queue
 * pairs it recorded: Delete I/O SQ and CQ for every other queue ID (queues
 * it made after its last record, or its own), so that each is free again.
 * Returns how many existed, or -errno when the admin queue failed.
 */
int aisio_nvme_ctrl_sweep_qids(struct aisio_nvme_ctrl *c);

/* An external queue pair that exists in the controller as @qid: 0, -EINVAL, -EEXIST. */
int aisio_nvme_ctrl_qpair_adopt_ext(struct aisio_nvme_ctrl *c, const struct aisio_nvme_qpair_ext *e,
				    uint16_t qid);

/* ---- I/O queue pairs driven by this driver -------------------------------- */

enum {
	AISIO_NVME_QP_SGL = 1u << 0, /* SGLs for commands with data (controller must support them) */
};

/* Per-command state in aisio_io.be_flags. */
enum {
	AISIO_NVME_IO_FREE = 0,
	AISIO_NVME_IO_GOT = 1,      /* taken with get_io, not submitted */
	AISIO_NVME_IO_INFLIGHT = 2, /* owned by the controller */
	AISIO_NVME_IO_DONE = 3,     /* completed by the driver (error), callback at next reap */
	AISIO_NVME_IO_RESERVED = 4, /* timed out or failed: CID held until its CQE or a reset */
};

struct aisio_nvme_qpair {
	struct aisio_queue q;      /* public header: dev, depth (= CIDs) */
	/* Hot: used for every command. */
	struct aisio_nvme_sq sq;
	struct aisio_nvme_cq cq;
	struct aisio_io *ios;      /* [ncids], indexed by CID */
	uint16_t *free_cids;       /* stack of free CIDs */
	struct aisio_io **pend;    /* taken with get_io, in order, not yet submitted */
	uint32_t nfree;
	uint32_t npend;
	uint32_t outstanding;      /* submitted and not yet reaped */
	uint32_t ncids;
	uint32_t page_shift;
	uint32_t check_countdown;  /* reaps until the next clock look */
	const struct aisio_mem_region *rcache; /* region of the last data buffer */
	uint64_t check_at;         /* tick of the next timeout / fatal-status check */
	uint64_t check_every;      /* ticks between checks */
	uint64_t timeout_ticks;
	uint16_t *doneq;           /* CIDs in state DONE */
	uint32_t ndone;
	uint32_t flags;            /* AISIO_NVME_QP_* */
	/* Cold. */
	uint32_t max_xfer;
	uint32_t list_pages;       /* PRP list / SGL segment pages per CID */
	uint8_t *lists;            /* ncids * list_pages pages */
	const struct aisio_mem_region *lists_region;
	uint64_t stray;            /* CQEs whose CID was not in flight */
	void *sq_mem, *cq_mem;
	struct aisio_nvme_ctrl *ctrl;
	struct aisio_nvme_qpair *next; /* controller's list */
};

static inline struct aisio_nvme_qpair *aisio_nvme_qpair_of(struct aisio_queue *q)
{
	return (struct aisio_nvme_qpair *)q;
}

/**
 * aisio_nvme_qpair_create - create an I/O queue pair of @depth ring
 * entries (depth - 1 commands in flight); @dev is stored in the public
 * header. Returns 0, -EINVAL (depth outside 2..CAP.MQES + 1, SGL asked but
 * unsupported), -EBUSY (no queue left), -ENOMEM, -EIO, or a positive NVMe
 * status.
 */
int aisio_nvme_qpair_create(struct aisio_nvme_ctrl *c, struct aisio_dev *dev, uint32_t depth,
			    uint32_t flags, struct aisio_nvme_qpair **out);

/** aisio_nvme_qpair_delete - delete the queue pair; commands in flight are dropped. */
void aisio_nvme_qpair_delete(struct aisio_nvme_qpair *qp);

/*
 * aisio_nvme_qpair_get_io - a free command slot, or NULL when every CID is
 * taken. Inline: aisio_queue_get_io() takes it without the backend's table
 * on queues of the user-space driver (struct aisio_queue's nvme).
 */
static inline struct aisio_io *aisio_nvme_qpair_get_io(struct aisio_nvme_qpair *qp)
{
	struct aisio_io *io;
	uint16_t cid;

	if (__builtin_expect(!qp->nfree, 0))
		return NULL;
	cid = qp->free_cids[--qp->nfree];
	io = &qp->ios[cid];
	qp->pend[qp->npend++] = io;
	io->be_flags = AISIO_NVME_IO_GOT;
	return io;
}

void aisio_nvme_qpair_put_io(struct aisio_nvme_qpair *qp, struct aisio_io *io);

/**
 * aisio_nvme_qpair_submit - put every command taken since the last submit
 * on the SQ with one doorbell write. A command whose data pointer cannot be
 * built completes at the next reap with that error, and so does every
 * command of a batch given to a failed controller (-EIO). Returns the
 * number of commands taken.
 */
int aisio_nvme_qpair_submit(struct aisio_nvme_qpair *qp);

/**
 * aisio_nvme_qpair_reap - run the callbacks of up to @max (0 = all)
 * completions, writing the CQ head doorbell once per batch of up to 256
 * (before the batch's callbacks run). Expires commands past
 * their timeout (-ETIMEDOUT). Returns the number completed, or -EIO when
 * the controller reports fatal status (commands in flight complete with -EIO).
 */
int aisio_nvme_qpair_reap(struct aisio_nvme_qpair *qp, uint32_t max);

static inline uint32_t aisio_nvme_qpair_outstanding(const struct aisio_nvme_qpair *qp)
{
	return qp->outstanding;
}

static inline uint16_t aisio_nvme_qpair_qid(const struct aisio_nvme_qpair *qp)
{
	return qp->sq.qid;
}

/* ---- The upci backend (src/io/be_upci.c) ----------------------------------- */

/* The driver's controller and the PCI function behind an emu: or pci: device, else NULL. */
struct aisio_nvme_ctrl *aisio_upci_ctrl(struct aisio_dev *dev);
struct aisio_pcif *aisio_upci_pcif(struct aisio_dev *dev);
/* The driver's handle (I/O only, no admin queue) behind a homi: device, else NULL (be_homi.c). */
struct aisio_nvme_ctrl *aisio_homi_ctrl(struct aisio_dev *dev);
/* 1 when a homi: device is a whole VF from homid's pool (mode=vf: its own admin queue), else 0. */
int aisio_homi_vf(struct aisio_dev *dev);

#endif
