/* SPDX-License-Identifier: MIT */
/*
 * aisio fil run --path gpu --stage-copy kernel: the host side of the staging
 * slots a persistent GPU kernel copies from (fil_gpu_kstage.h; the protocol
 * is in fil_gpu.h). A staging thread takes its slots in turn: it waits until
 * the slot's block has handed it back (completing the units it held), preads
 * into it, and publishes it with a release store of the slot's sequence. It
 * makes no CUDA call on that path; only a wait longer than 100 ms asks the
 * kernel's stream whether the kernel failed. Every wait is bounded.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fil.h"
#include "fil_gpu_kstage.h"

#define NS_PER_S 1000000000ull
#define QUERY_AFTER_NS 100000000ull /* waits longer than this ask whether the kernel failed */

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

static void nap_us(long us)
{
	struct timespec ts = { 0, us * 1000 };

	nanosleep(&ts, NULL);
}

static uint64_t slot_done(const struct fil_kring *k, uint32_t i)
{
	return __atomic_load_n(&k->ctl[i].done, __ATOMIC_ACQUIRE);
}

/* Slot @i was handed back: its units have landed. */
static void slot_complete(struct fil_kring *k, uint32_t i)
{
	struct fil_kpend *p = &k->p[i];

	for (uint64_t u = 0; u < p->nunits; u++)
		fil_unit_done(k->r, p->first_ui + u);
	p->nunits = 0;
}

/* Wait until slot @i's block has handed back its last publication, at most until @deadline (ns). */
static int slot_wait(struct fil_kring *k, uint32_t i, uint64_t deadline)
{
	const uint64_t want = k->p[i].seq;
	uint64_t t0 = 0, next_query = 0;
	unsigned spins = 0;

	while (slot_done(k, i) != want) {
		uint64_t now;
		cudaError_t e;

		if (spins < 4096) { /* about the time a slot takes to copy: spin, then sleep */
			spins++;
			cpu_relax();
			continue;
		}
		now = fil_now_ns();
		if (!t0) {
			t0 = now;
			next_query = now + QUERY_AFTER_NS;
		}
		if (now > deadline)
			return fil_fail(k->r, -ETIMEDOUT, "--stage-copy kernel: the copy kernel did not hand back "
					"a staging slot (%u of a thread, publication %llu) within %d s: the GPU is "
					"stuck or too busy; --stage-copy ce copies with the copy engine instead",
					i, (unsigned long long)want, FIL_KSTAGE_WAIT_S);
		if (now >= next_query) {
			next_query = now + QUERY_AFTER_NS;
			e = cudaStreamQuery(k->st);
			if (e == cudaSuccess && slot_done(k, i) != want)
				return fil_fail(k->r, -EIO, "--stage-copy kernel: the copy kernel ended with "
						"staging slot %u not handed back", i);
			if (e != cudaSuccess && e != cudaErrorNotReady)
				return fil_fail(k->r, -EIO, "--stage-copy kernel: the copy kernel failed: %s "
						"(CUDA error %d)", cudaGetErrorString(e), (int)e);
		}
		nap_us(20);
	}
	slot_complete(k, i);
	return 0;
}

char *fil_kring_take(struct fil_kring *k, uint32_t *slot)
{
	const uint32_t i = k->next;

	k->next = (i + 1) % k->n;
	if (slot_wait(k, i, fil_now_ns() + FIL_KSTAGE_WAIT_S * NS_PER_S))
		return NULL;
	*slot = i;
	return k->buf + (uint64_t)i * k->slot_bytes;
}

void fil_kring_publish(struct fil_kring *k, uint32_t slot, uint64_t dst_off, uint64_t len, uint64_t first_ui,
		       uint64_t nunits)
{
	struct fil_gpu_kslot *c = &k->ctl[slot];
	struct fil_kpend *p = &k->p[slot];

	p->first_ui = first_ui;
	p->nunits = nunits;
	__atomic_store_n(&c->dst_off, dst_off, __ATOMIC_RELAXED);
	__atomic_store_n(&c->len, len, __ATOMIC_RELAXED);
	/* the bytes, dst_off and len before the sequence */
	__atomic_store_n(&c->seq, ++p->seq, __ATOMIC_RELEASE);
}

void fil_kring_reap(struct fil_kring *k)
{
	for (uint32_t i = 0; i < k->n; i++)
		if (k->p[i].nunits && slot_done(k, i) == k->p[i].seq)
			slot_complete(k, i);
}

int fil_kring_stop(struct fil_kring *k)
{
	const uint64_t deadline = fil_now_ns() + FIL_KSTAGE_WAIT_S * NS_PER_S;
	int err = 0;

	if (k->stopped)
		return 0;
	for (uint32_t i = 0; i < k->n; i++) {
		/* after a failed wait the kernel is not waited for again: the run has failed */
		if (!err)
			err = slot_wait(k, i, deadline);
		/* a block only sees the stop once its last publication is copied, or the run has failed */
		__atomic_store_n(&k->ctl[i].seq, FIL_GPU_KSLOT_STOP, __ATOMIC_RELEASE);
	}
	k->stopped = 1;
	return err;
}

int fil_kstage_init(struct fil_kstage *ks, struct fil_run *r, uint32_t nrings, uint32_t per,
		    uint64_t slot_bytes)
{
	const uint32_t nslots = nrings * per;
	const unsigned fl = cudaHostAllocMapped | cudaHostAllocPortable;
	int blocks = 0;
	cudaError_t e;

	memset(ks, 0, sizeof(*ks));
	ks->r = r;
	ks->nrings = nrings;
	ks->per = per;
	ks->slot_bytes = slot_bytes;
	if (!nslots)
		return 0;
	e = (cudaError_t)fil_gpu_kcopy_blocks(&blocks);
	if (e != cudaSuccess)
		return fil_fail(r, -EIO, "--stage-copy kernel: occupancy of the copy kernel: %s (CUDA error %d)",
				cudaGetErrorString(e), (int)e);
	if ((int64_t)nslots > blocks)
		return fil_fail(r, -ENOSPC, "--stage-copy kernel needs one resident block of the copy kernel a "
				"staging slot: %u staging threads x %u slots = %u, and this GPU holds %d at once; "
				"use fewer staging threads or a smaller --qd", nrings, per, nslots, blocks);
	ks->rings = calloc(nrings, sizeof(*ks->rings));
	if (!ks->rings)
		return fil_fail(r, -ENOMEM, "out of memory");
	e = cudaHostAlloc((void **)&ks->ctl, nslots * sizeof(*ks->ctl), fl);
	if (e == cudaSuccess)
		e = cudaHostAlloc((void **)&ks->buf, (size_t)nslots * slot_bytes, fl);
	if (e == cudaSuccess)
		e = cudaStreamCreateWithFlags(&ks->st, cudaStreamNonBlocking);
	if (e != cudaSuccess)
		return fil_fail(r, -ENOMEM, "--stage-copy kernel: %u staging slots of %llu bytes in mapped pinned "
				"memory: %s (CUDA error %d)", nslots, (unsigned long long)slot_bytes,
				cudaGetErrorString(e), (int)e);
	memset(ks->ctl, 0, nslots * sizeof(*ks->ctl));
	for (uint32_t t = 0; t < nrings; t++) {
		struct fil_kring *k = &ks->rings[t];

		k->r = r;
		k->ctl = ks->ctl + (size_t)t * per;
		k->buf = ks->buf + (size_t)t * per * slot_bytes;
		k->slot_bytes = slot_bytes;
		k->n = per;
		k->st = ks->st;
	}
	return 0;
}

int fil_kstage_launch(struct fil_kstage *ks, char *dst)
{
	struct fil_gpu_kslot *dctl = NULL;
	char *dbuf = NULL;
	cudaError_t e;

	if (!ks->nrings || !ks->per)
		return 0;
	e = cudaHostGetDevicePointer((void **)&dctl, ks->ctl, 0);
	if (e == cudaSuccess)
		e = cudaHostGetDevicePointer((void **)&dbuf, ks->buf, 0);
	if (e == cudaSuccess)
		e = (cudaError_t)fil_gpu_kcopy_launch(dctl, ks->nrings * ks->per, dbuf, ks->slot_bytes, dst, ks->st);
	if (e != cudaSuccess)
		return fil_fail(ks->r, -EIO, "--stage-copy kernel: starting the copy kernel: %s (CUDA error %d)",
				cudaGetErrorString(e), (int)e);
	ks->launched = 1;
	return 0;
}

int fil_kstage_stop(struct fil_kstage *ks)
{
	uint64_t deadline;
	cudaError_t e;

	for (uint32_t t = 0; t < ks->nrings; t++)
		fil_kring_stop(&ks->rings[t]);
	if (!ks->launched)
		return 0;
	deadline = fil_now_ns() + FIL_KSTAGE_WAIT_S * NS_PER_S;
	while ((e = cudaStreamQuery(ks->st)) == cudaErrorNotReady) {
		if (fil_now_ns() > deadline)
			return fil_fail(ks->r, -ETIMEDOUT, "--stage-copy kernel: the copy kernel did not end "
					"within %d s of being told to; its memory is left to the process exit",
					FIL_KSTAGE_WAIT_S);
		nap_us(200);
	}
	ks->launched = 0;
	if (e != cudaSuccess)
		return fil_fail(ks->r, -EIO, "--stage-copy kernel: the copy kernel failed: %s (CUDA error %d)",
				cudaGetErrorString(e), (int)e);
	return 0;
}

void fil_kstage_free(struct fil_kstage *ks)
{
	if (ks->launched)
		return; /* still running: nothing it uses may go */
	if (ks->ctl)
		cudaFreeHost(ks->ctl);
	if (ks->buf)
		cudaFreeHost(ks->buf);
	if (ks->st)
		cudaStreamDestroy(ks->st);
	free(ks->rings);
	memset(ks, 0, sizeof(*ks));
}
