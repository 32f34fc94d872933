/* SPDX-License-Identifier: MIT */
/*
 * The device model: a software NVMe controller.
 *
 * How it maps to the specification
 * --------------------------------
 * - BAR0 is a block of ordinary memory (aisio_emu_ctrl_bar0()). The host
 *   writes CC, AQA, ASQ, ACQ and the doorbells with plain stores, exactly as
 *   over PCIe; the controller thread polls CC and the doorbells. CAP, VS and
 *   CSTS are written by the controller. Doorbells start at 0x1000 with a
 *   stride of 4 << CAP.DSTRD bytes (DSTRD is 0).
 * - CC.EN 0->1 validates CC (CSS NVM, AMS round robin, MPS within
 *   CAP.MPSMIN..MPSMAX, IOSQES 6, IOCQES 4) and the admin queue registers
 *   (non-zero page-aligned ASQ/ACQ, at least two entries); a bad value sets
 *   CSTS.CFS instead of CSTS.RDY. CC.EN 1->0 is a controller reset: every
 *   queue is deleted, outstanding commands are dropped, features return to
 *   their defaults, doorbells and CSTS clear; AQA/ASQ/ACQ keep their values.
 *   CC.SHN != 0 flushes the namespaces and reports CSTS.SHST complete.
 * - No interrupts: the host polls completion queues (phase tag). A CQE is
 *   written body first and its last dword (CID, status with the phase tag)
 *   last with a release store.
 * - Admin: Identify (CNS 0, 1, 2, 3), Create/Delete I/O SQ/CQ, Get/Set
 *   Features, Get Log Page (Error, SMART), Abort (never aborts: dw0 bit 0 = 1),
 *   Asynchronous Event Request (pending until an event; reset drops it).
 *   The one event raised: an SQ tail doorbell value beyond the queue is
 *   ignored and reported as an error event (Invalid Doorbell Write Value),
 *   masked until the host reads the Error log. NVM: Read, Write, Flush,
 *   Write Zeroes, Dataset Management, Compare. Statuses follow QEMU's NVMe
 *   controller where the specification leaves room; one exception follows
 *   the specification: Delete I/O CQ of a queue that does not exist gives
 *   Invalid Queue Identifier (QEMU says Completion Queue Invalid).
 * - Data pointers: PRP (PRP1 offset, PRP2 page or list, chained lists) and
 *   SGL (data block, segment, last segment) are walked on the controller
 *   side. Every access to host memory goes through the controller's DMA
 *   interface (struct aisio_emu_dma): by default a bus address is the host
 *   pointer; a provider can translate bus ranges to local mappings (memory
 *   shared with another process) and move data with its own copy hook
 *   (a GPU host batching copy-engine transfers per doorbell). Queues, PRP
 *   lists and SGL segments must be CPU-readable through map().
 * - Namespaces: memory (anonymous mapping, pages allocated when written),
 *   a file (shared mapping of the file; data persists) or null (nothing
 *   stored, reads return whatever the buffer held). All namespaces of one
 *   controller have the same size; namespace N lives at (N - 1) * size in the
 *   backing store.
 * - One polling thread per controller by default; with threads = N, I/O
 *   queues are partitioned across N threads by completion queue
 *   ((cqid - 1) % N), thread 0 also serving the registers and admin queue.
 */
#ifndef AISIO_EMU_EMU_H
#define AISIO_EMU_EMU_H

#include <stddef.h>
#include <stdint.h>

#include <aisio/nvme_spec.h>

struct aisio_emu_ctrl;
struct aisio_pcif;

/* PCI identity the model reports in config space and Identify Controller. */
/* A made-up identity for a software model; no real part is meant. */
#define AISIO_EMU_PCI_VID 0xae10
#define AISIO_EMU_PCI_DID 0x0001
#define AISIO_EMU_PCI_CLASS 0x010802 /* mass storage, NVM, NVMe I/O controller */

enum aisio_emu_backing {
	AISIO_EMU_MEM = 0,  /* anonymous memory */
	AISIO_EMU_FILE = 1, /* a file (opts.file), persists across runs */
	AISIO_EMU_NULL = 2, /* no data stored or moved */
};

/*
 * How the controller reaches host memory. All callbacks run on controller
 * threads. ctx is passed back unchanged.
 */
struct aisio_emu_dma {
	/*
	 * A CPU pointer for bus range [bus, bus + len), or NULL when the range
	 * is not CPU-accessible. Queues, PRP lists and SGL segments must map;
	 * data that does not map needs copy().
	 */
	void *(*map)(void *ctx, uint64_t bus, size_t len);
	/*
	 * Optional. When set, every data transfer goes through it:
	 * to_bus = 1 moves @len bytes from @local to bus memory (a read
	 * command's data), 0 the other way. [bus, bus + len) is bus-contiguous
	 * but may span pages (consecutive PRP entries are joined into one
	 * call) and so reach across the edge of one of the provider's ranges. It may queue the copy; @local stays
	 * valid until flush(). Returns 0 or a negative errno (the command then
	 * fails with Data Transfer Error).
	 */
	int (*copy)(void *ctx, uint64_t bus, void *local, size_t len, int to_bus);
	/*
	 * Optional. Finish every queued copy. Called once per fetched batch
	 * (per doorbell) before the batch's completions are posted, and before
	 * the controller reads data it copied in. Returns 0 or a negative errno
	 * (every command of the batch then fails with Data Transfer Error).
	 * With opts.threads > 1 all three callbacks are called from several
	 * controller threads at once and must be thread-safe.
	 */
	int (*flush)(void *ctx);
	/*
	 * Optional, with copy and flush: start every queued copy without
	 * waiting for it. *@ticket gets a number (> 0) for done(), or 0 when
	 * nothing was queued. The controller then fetches its next batch while
	 * the copies run and posts this batch's completions once done() says
	 * they landed (pipelined copies). Where it needs the data at once
	 * (Compare, Dataset Management, Delete I/O SQ, reset) it still calls
	 * flush(), which then also waits for every started copy. Returns 0 or a
	 * negative errno (the batch then fails with Data Transfer Error).
	 */
	int (*submit)(void *ctx, uint64_t *ticket);
	/*
	 * With submit: 1 when the copies of @ticket and of every earlier ticket
	 * have landed (and data copied in has reached the controller's buffer),
	 * 0 while they run, a negative errno when those of @ticket failed.
	 * Tickets are checked in the order submit() gave them.
	 */
	int (*done)(void *ctx, uint64_t ticket);
	/*
	 * Optional. The namespace store [base, base + len), offered once it is
	 * mapped (opts.gpu_direct != 0), so that the provider may pin it and
	 * move data straight between the store and its memory instead of
	 * through a staging buffer. @flags: AISIO_EMU_STORE_* below. Returns 1
	 * when the provider may pin pages of the store from now on (the
	 * controller then zeroes deallocated blocks in place instead of
	 * punching holes or dropping pages, which would leave the pinned pages
	 * behind), 0 when it declines. store_remove() is called before the
	 * store is unmapped; when it returns nothing is pinned.
	 */
	int (*store_add)(void *ctx, void *base, size_t len, unsigned flags);
	void (*store_remove)(void *ctx, void *base);
	void *ctx;
	/*
	 * 1: the provider resolves host memory through the controller's live
	 * DMA ranges (aisio_emu_dma_ranges_map), so aisio_emu_ctrl_dma_range_add
	 * applies to this controller too (homid's model with GPU copies).
	 */
	int ranges;
};

/* store_add() flags */
#define AISIO_EMU_STORE_FILE 1u  /* a shared mapping of a file (page-cache pages) */
#define AISIO_EMU_STORE_EAGER 2u /* pin it all now rather than as it is reached */

/* A controller's configuration; aisio_emu_opts_init() sets the defaults. */
struct aisio_emu_opts {
	uint64_t ns_size;   /* bytes per namespace, a multiple of the LBA size */
	uint32_t lba_shift; /* 9 (512 B) or 12 (4096 B); default 9 */
	uint32_t nns;	    /* namespaces, 1..1024; default 1 */
	enum aisio_emu_backing backing;
	const char *file;    /* AISIO_EMU_FILE: path of the backing file */
	/*
	 * AISIO_EMU_FILE: 1 (default) creates a missing file and grows a short
	 * one to nns * ns_size; 0 opens only a file that is already that large
	 * and never creates or changes it (-ENOENT, -EINVAL otherwise).
	 */
	uint32_t file_create;
	uint32_t latency_us; /* added to every I/O command's completion; 0 = none */
	uint64_t iops;	     /* I/O commands per second per controller thread; 0 = no limit */
	uint64_t bw;	     /* bytes per second per controller thread; 0 = no limit */
	uint32_t mdts; /* Identify MDTS: 2^mdts * 4 KiB per command, 0 = no limit; default 7 */
	uint32_t mqes; /* CAP.MQES (0's based): queues hold up to mqes + 1 entries; default 1023 */
	uint32_t nqueues;		 /* I/O queue pairs the controller supports; default 64 */
	uint32_t threads;		 /* controller threads; default 1 */
	const struct aisio_emu_dma *dma; /* NULL: identity (bus address == pointer) */
	/*
	 * Offer the store to dma->store_add (GPU hosts: copies straight between
	 * the store and GPU memory): 0 no, 1 (default) pinned as it is reached,
	 * 2 pinned all at start (AISIO_EMU_STORE_EAGER).
	 */
	uint32_t gpu_direct;
};

/* Fill @o with the defaults (a 64 MiB memory namespace of 512-byte LBAs). */
void aisio_emu_opts_init(struct aisio_emu_opts *o);

/*
 * aisio_emu_ctrl_create - build a controller and start its threads. It comes
 * up disabled (CC.EN = 0, CSTS.RDY = 0), waiting for a host to enable it.
 * Returns 0, -EINVAL (bad option; message names it), -ENOENT/-EACCES/...
 * (backing file cannot be opened or sized; message names the path), -ENOMEM,
 * -EAGAIN (thread creation failed).
 */
int aisio_emu_ctrl_create(const struct aisio_emu_opts *o, struct aisio_emu_ctrl **out);

/*
 * aisio_emu_ctrl_destroy - stop the threads, write back and close a
 * file-backed store, free everything. NULL is ignored. The host must not
 * touch BAR0 afterwards.
 */
void aisio_emu_ctrl_destroy(struct aisio_emu_ctrl *c);

/* The register file (BAR0) and its length in bytes. */
volatile void *aisio_emu_ctrl_bar0(struct aisio_emu_ctrl *c, size_t *len);

/* Controller index in this process (0, 1, ...); it is also CNTLID and in the serial number. */
uint32_t aisio_emu_ctrl_index(const struct aisio_emu_ctrl *c);

/* The options the controller runs with (defaults filled in). */
const struct aisio_emu_opts *aisio_emu_ctrl_opts(const struct aisio_emu_ctrl *c);

/*
 * Install bus-to-local range translation: after this, map() resolves bus
 * addresses inside [bus, bus + len) to @local + (addr - bus) and nothing else
 * (identity stops). Up to 16 ranges; call while the controller is disabled.
 * Returns 0, -EINVAL (len 0, overlap), -ENOSPC (table full), -EBUSY (enabled),
 * -EPERM (the controller was created with its own dma ops).
 */
int aisio_emu_ctrl_dma_add_range(struct aisio_emu_ctrl *c, uint64_t bus, size_t len, void *local);

/*
 * aisio_emu_ctrl_dma_range_add - the same translation as above, but safe at
 * any time, the controller running or not (src/emu/dma_live.c). The first
 * range switches the controller from identity to range translation.
 * Returns 0, -EINVAL (len 0, wrap, overlap, no memory), -ENOSPC (128
 * ranges), -EPERM (own dma ops without .ranges).
 */
int aisio_emu_ctrl_dma_range_add(struct aisio_emu_ctrl *c, uint64_t bus, size_t len, void *local);

/*
 * aisio_emu_dma_ranges_map - a map() over the live DMA ranges of controller
 * @ctrl (a struct aisio_emu_ctrl *), for providers with .ranges = 1: the
 * local pointer of [bus, bus + len), or NULL when no range holds it all.
 */
void *aisio_emu_dma_ranges_map(void *ctrl, uint64_t bus, size_t len);

/*
 * aisio_emu_ctrl_dma_range_remove - withdraw the range that starts at @bus
 * and wait until no controller thread can still be using it: when it
 * returns, the memory may be unmapped. Commands that reach it afterwards
 * fail with Data Transfer Error. Returns 0 or -ENOENT.
 */
int aisio_emu_ctrl_dma_range_remove(struct aisio_emu_ctrl *c, uint64_t bus);

/*
 * The memfd behind BAR0 (owned by the controller; dup() it to pass it on).
 * Another process that maps it MAP_SHARED reaches the same registers.
 */
int aisio_emu_ctrl_bar0_fd(struct aisio_emu_ctrl *c);

/* Counters the model keeps (also the source of the SMART log). */
struct aisio_emu_stats {
	uint64_t admin_cmds; /* admin commands fetched */
	uint64_t io_cmds;    /* I/O commands fetched */
	uint64_t reads;	     /* Read and Compare commands completed successfully */
	uint64_t writes;     /* Write commands completed successfully */
	uint64_t bytes_read;
	uint64_t bytes_written;
	uint64_t errors;  /* commands completed with a non-zero status */
	uint64_t dropped; /* completions dropped by fault injection */
	uint64_t resets;  /* CC.EN 1->0 transitions */
};

/* Sum of the counters of all controller threads (racy snapshot, monotonic). */
void aisio_emu_ctrl_stats(struct aisio_emu_ctrl *c, struct aisio_emu_stats *st);

/* ---- Fault injection ---------------------------------------------------- */

enum aisio_emu_fault_action {
	AISIO_EMU_FAULT_STATUS = 0, /* complete with .status, command not executed */
	AISIO_EMU_FAULT_DROP = 1,   /* execute, but never post the completion */
	AISIO_EMU_FAULT_FATAL = 2,  /* set CSTS.CFS and stop processing until reset */
};

struct aisio_emu_fault {
	enum aisio_emu_fault_action action;
	int qid;	 /* submission queue; -1 = any, 0 = admin */
	int opc;	 /* opcode; -1 = any */
	uint32_t status; /* STATUS: SCT << 8 | SC (e.g. AISIO_NVME_SC_READ_ERROR) */
	int dnr;	 /* STATUS: set Do Not Retry */
	uint32_t skip;	 /* let this many matching commands pass first */
	uint32_t count;	 /* hit this many matching commands, then disarm; 0 = every one */
};

/*
 * aisio_emu_fault_add - arm a fault; safe while the controller runs. Faults
 * are checked in the order they were added; the first armed match applies.
 * Returns a fault id (>= 0), -EINVAL (bad action/qid/opc), -ENOSPC (32 armed).
 */
int aisio_emu_fault_add(struct aisio_emu_ctrl *c, const struct aisio_emu_fault *f);

/* Commands a fault has hit so far; -ENOENT for an unknown id. */
int aisio_emu_fault_hits(struct aisio_emu_ctrl *c, int id);

/* Disarm every fault. */
void aisio_emu_fault_clear(struct aisio_emu_ctrl *c);

/*
 * aisio_emu_ctrl_fatal - make the controller fail now: CSTS.CFS = 1, no more
 * commands fetched or completed until the host resets it (CC.EN 1->0).
 */
void aisio_emu_ctrl_fatal(struct aisio_emu_ctrl *c);

/* ---- URI and PCI function ----------------------------------------------- */

/*
 * aisio_emu_open_uri - create a controller from the text after "emu:":
 *   SIZE[,lbads=9|12|512|4096][,file=PATH][,null][,nns=N][,latency_us=N]
 *   [,iops=N][,bw=BYTES/s][,mdts=N][,mqes=N][,nqueues=N][,threads=N]
 *   [,gpu_direct=0|1|eager]
 * SIZE (bytes per namespace) and bw take K/M/G/T suffixes (powers of 1024).
 * Returns 0, -EINVAL (malformed size or option; the message names it),
 * or what aisio_emu_ctrl_create() returns.
 */
int aisio_emu_open_uri(const char *spec, struct aisio_emu_ctrl **ctrl);

/*
 * aisio_emu_parse_uri - only parse: fill @o (after aisio_emu_opts_init) and
 * store the file path copy in *@file_out (free() it; NULL when none).
 * Returns 0 or -EINVAL / -ENOMEM.
 */
int aisio_emu_parse_uri(const char *spec, struct aisio_emu_opts *o, char **file_out);

/*
 * aisio_emu_pcif_open - a PCI function for the controller: bar0 is the
 * register file, config space holds the IDs and class code 0x010802 and
 * BAR0's size, dma_alloc gives identity regions. The controller stays the
 * caller's (close does not destroy it). Returns 0, -ENOMEM, -EPERM (the
 * controller does not use identity DMA).
 */
int aisio_emu_pcif_open(struct aisio_emu_ctrl *c, struct aisio_pcif **out);

/*
 * aisio_emu_pcif_open_uri - aisio_emu_open_uri() then aisio_emu_pcif_open();
 * closing the function destroys the controller. A file=PATH is created or
 * grown only with AISIO_PCIF_CREATE in @flags (src/pci/pci.h). Same returns
 * as both.
 */
int aisio_emu_pcif_open_uri(const char *spec, unsigned flags, struct aisio_pcif **out);

/* The controller behind a function opened by the two calls above, else NULL. */
struct aisio_emu_ctrl *aisio_emu_pcif_ctrl(struct aisio_pcif *f);

#endif
