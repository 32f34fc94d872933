/* SPDX-License-Identifier: MIT */
/*
 * aisio fil run --path gpu --stage-copy kernel: staging threads hand their
 * filled buffers to a persistent GPU kernel through slots of mapped pinned
 * memory instead of calling cudaMemcpyAsync, so no CUDA call (and no driver
 * lock a registration holds) is on their path. fil_gpu.h has the protocol.
 */
#ifndef AISIO_TOOLS_FIL_GPU_KSTAGE_H
#define AISIO_TOOLS_FIL_GPU_KSTAGE_H

#include <stdint.h>

#include <cuda_runtime_api.h>

#include "fil_gpu.h"

struct fil_run;

/* Most slots a staging thread has: min(--qd, this). */
#define FIL_KSTAGE_SLOTS_MAX 4
/* Longest wait for a slot to be handed back, or for the kernel to end once told to, in seconds. */
#define FIL_KSTAGE_WAIT_S 10

/* What slot i of a ring was last published with. */
struct fil_kpend {
	uint64_t seq;      /* last publication (0: none yet) */
	uint64_t first_ui; /* its units [first_ui, first_ui + nunits); nunits 0: none to complete */
	uint64_t nunits;
};

/* The slots of one staging thread (used by that thread only). */
struct fil_kring {
	struct fil_run *r;
	struct fil_gpu_kslot *ctl; /* its n slots, host pointers */
	char *buf;                 /* their bytes, slot_bytes each */
	uint64_t slot_bytes;
	uint32_t n, next;
	int stopped;
	struct fil_kpend p[FIL_KSTAGE_SLOTS_MAX];
	cudaStream_t st; /* the kernel's: asked after long waits whether it failed */
};

struct fil_kstage {
	struct fil_run *r;
	struct fil_gpu_kslot *ctl; /* every slot, mapped */
	char *buf;                 /* every slot's bytes, mapped */
	struct fil_kring *rings;
	uint32_t nrings, per;
	uint64_t slot_bytes;
	cudaStream_t st;
	int launched;
};

/*
 * Mapped pinned memory for @nrings staging threads of @per slots of
 * @slot_bytes each, and the kernel's stream. Refuses (-ENOSPC) when the GPU
 * cannot hold one resident block a slot. 0 or -errno (fil_fail).
 */
int fil_kstage_init(struct fil_kstage *ks, struct fil_run *r, uint32_t nrings, uint32_t per,
		    uint64_t slot_bytes);
/* Start the copy kernel into @dst (the dataset buffer). 0 or -errno (fil_fail). */
int fil_kstage_launch(struct fil_kstage *ks, char *dst);
/*
 * Slot ring.next once its block handed it back (its units completed); the
 * ring moves on. NULL (after fil_fail) when it is not handed back within
 * FIL_KSTAGE_WAIT_S, or the kernel failed.
 */
char *fil_kring_take(struct fil_kring *k, uint32_t *slot);
/* Publish @slot: @len bytes for dst + @dst_off, completing units [@first_ui, +@nunits) when handed back. */
void fil_kring_publish(struct fil_kring *k, uint32_t slot, uint64_t dst_off, uint64_t len, uint64_t first_ui,
		       uint64_t nunits);
/* Complete the units of every slot handed back since; never waits. */
void fil_kring_reap(struct fil_kring *k);
/* Wait (bounded) for every slot to be handed back, then end their blocks. 0 or -errno (fil_fail). */
int fil_kring_stop(struct fil_kring *k);
/*
 * End every block not ended yet and wait, at most FIL_KSTAGE_WAIT_S, for the
 * kernel to finish. 0; -ETIMEDOUT when it still runs (then nothing it reads
 * or writes may be freed); another -errno for a kernel that failed.
 */
int fil_kstage_stop(struct fil_kstage *ks);
/* Free what init made (after fil_kstage_stop returned anything but -ETIMEDOUT). */
void fil_kstage_free(struct fil_kstage *ks);

#endif
