/* SPDX-License-Identifier: MIT */
/*
 * aisio fil run --path gpu: files into GPU memory through the kernel's file
 * path. The whole dataset lands in one GPU buffer (each file at its dst_off).
 *
 * --xfer stage: each thread claims runs of consecutive units, preads them
 *   into a pinned staging buffer at the positions they have in GPU memory, so
 *   a run of chunks or of small files leaves in one cudaMemcpyAsync on the
 *   thread's stream; --qd buffers per thread keep reads and copies
 *   overlapped.
 * --xfer map: no CPU copy. A thread claims a run of consecutive units of up
 *   to --reg bytes (a piece), maps that range of the file (MAP_SHARED,
 *   read-only: the pages are the page cache's), registers it with the GPU
 *   once (cudaHostRegister, read-only) and queues one cudaMemcpyAsync per
 *   unit from the registered pages; the copy engine reads them where they
 *   are. Pinning is paid once per piece, not per unit, and while the copies
 *   of one piece run the thread maps and registers its next one (--qd pieces
 *   in flight a thread, every thread on its own range). A piece is
 *   unregistered and unmapped when its copies have landed. A piece whose
 *   registration is refused is read unit by unit through a staging buffer
 *   and counted as such.
 *
 * --xfer mix: both at once, --map-threads threads mapping and the others
 *   staging, claiming from the same units, for when neither alone fills the
 *   link.
 *
 * --stage-copy kernel: the staging threads of stage and mix make no CUDA
 *   call: each fills slots of mapped pinned memory (min(--qd, 4) of --stage
 *   bytes) and publishes them to a persistent kernel, one block a slot, that
 *   copies them into GPU memory and hands them back (fil_gpu_kstage.c). A
 *   registration holds a driver lock that cudaMemcpyAsync waits for, so
 *   beside a registrar such stagers keep going where copy-engine stagers
 *   stall. A unit completes when its slot is handed back.
 *
 * The timed part ends when every copy has completed; then a kernel checks
 * every byte against pattern.h on the GPU.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cuda_runtime_api.h>

#include <aisio/pattern.h>

#include "fil.h"
#include "fil_gpu.h"
#include "fil_gpu_kstage.h"

enum { SV_STAGE = 0, SV_MAP = 1, SV_FALLBACK = 2, SV_KSTAGE = 3 };

struct gslot {
	char *host;        /* pinned staging buffer */
	cudaEvent_t ev;
	int busy;
	uint64_t first_ui; /* units [first_ui, first_ui + nunits) are in this copy */
	uint64_t nunits;
	uint64_t base;     /* stage: dst offset of host[0] */
	uint64_t fill;     /* stage: bytes used */
	void *reg;         /* map: registered range to release */
	char *map;         /* map: the piece's mapping, unmapped after the copies */
	size_t map_len;
};

struct gpipe;

struct gworker {
	struct fil_run *r;
	char *dst;
	cudaStream_t st;
	struct gslot *slots;
	uint32_t nslots, next;
	int dev;
	/* the file a thread has open */
	uint32_t file;
	int fd;
	pthread_t th;
	pthread_barrier_t *go; /* every thread starts claiming at once */
	struct gpipe *pipe;    /* --pipe: the registrar's pipeline */
	struct fil_kring *kr;  /* --stage-copy kernel (a staging thread): its slots */
	struct gslot kcur;     /* the kernel slot being filled */
	uint32_t kslot;        /* its index in kr */
};

static int cuda_fail(struct fil_run *r, cudaError_t e, const char *what)
{
	return fil_fail(r, -EIO, "%s: %s (CUDA error %d)", what, cudaGetErrorString(e), (int)e);
}

static uint64_t unit_dst(const struct fil_run *r, uint64_t ui)
{
	const struct fil_unit *u = &r->set->u[ui];

	return r->set->f[u->file].dst_off + u->off;
}

static void cur_close(struct gworker *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
}

/* Open file @fi (kept open for its next units); @check: fail when it is shorter than the manifest says. */
static int cur_open(struct gworker *w, uint32_t fi, int check)
{
	struct fil_run *r = w->r;
	const struct fil_file *f = &r->set->f[fi];
	char path[PATH_MAX];
	struct stat st;

	if (w->fd >= 0 && w->file == fi)
		return 0;
	cur_close(w);
	snprintf(path, sizeof(path), "%s/%s", r->o->target, f->path);
	w->fd = open(path, O_RDONLY | O_CLOEXEC);
	w->file = fi;
	if (w->fd < 0)
		return fil_fail(r, -errno, "%s: %s", path, strerror(errno));
	if (!check)
		return 0;
	if (fstat(w->fd, &st) < 0)
		return fil_fail(r, -errno, "%s: %s", path, strerror(errno));
	if ((uint64_t)st.st_size < f->size)
		return fil_fail(r, -ENODATA, "%s: short file: %llu bytes, the manifest says %llu", path,
				(unsigned long long)st.st_size, (unsigned long long)f->size);
	return 0;
}

/* pread all of unit @ui into @buf. */
static int read_unit(struct gworker *w, uint64_t ui, char *buf, int slot_kind)
{
	struct fil_run *r = w->r;
	const struct fil_unit *u = &r->set->u[ui];
	size_t got = 0;
	int err = cur_open(w, u->file, 0);

	if (err)
		return err;
	while (got < u->len) {
		ssize_t n = pread(w->fd, buf + got, u->len - got, (off_t)(u->off + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return fil_fail(r, n < 0 ? -errno : -ENODATA,
					n < 0 ? "%s/%s: read at %llu: %s"
					      : "%s/%s: short file: ends at byte %llu%s, the manifest says more",
					r->o->target, r->set->f[u->file].path,
					(unsigned long long)(u->off + got), n < 0 ? strerror(errno) : "");
		got += (size_t)n;
	}
	fil_served_add(r, slot_kind, u->len);
	/* (a mapping keeps its own reference to the file: copies in flight are unaffected) */
	if (u->off + u->len == r->set->f[u->file].size)
		cur_close(w);
	return 0;
}

/* Wait for slot @s's copy, release what it holds, complete its units. */
static int slot_retire(struct gworker *w, struct gslot *s)
{
	cudaError_t e;

	if (!s->busy)
		return 0;
	e = cudaEventSynchronize(s->ev);
	if (e != cudaSuccess)
		return cuda_fail(w->r, e, "waiting for a copy");
	if (s->reg) {
		e = cudaHostUnregister(s->reg);
		s->reg = NULL;
		if (e != cudaSuccess) {
			/* still mapped: pages the driver may hold stay valid */
			return cuda_fail(w->r, e, "cudaHostUnregister");
		}
	}
	if (s->map) {
		munmap(s->map, s->map_len);
		s->map = NULL;
	}
	for (uint64_t i = 0; i < s->nunits; i++)
		fil_unit_done(w->r, s->first_ui + i);
	s->busy = 0;
	s->nunits = 0;
	s->fill = 0;
	return 0;
}

static struct gslot *slot_take(struct gworker *w)
{
	struct gslot *s = &w->slots[w->next];

	w->next = (w->next + 1) % w->nslots;
	if (slot_retire(w, s))
		return NULL;
	return s;
}

static int slot_launch(struct gworker *w, struct gslot *s, const void *src, uint64_t dst_off, uint64_t len)
{
	cudaError_t e = cudaMemcpyAsync(w->dst + dst_off, src, len, cudaMemcpyHostToDevice, w->st);

	if (e == cudaSuccess)
		e = cudaEventRecord(s->ev, w->st);
	if (e != cudaSuccess)
		return cuda_fail(w->r, e, "cudaMemcpyAsync to GPU memory");
	s->busy = 1;
	return 0;
}

/* Claim up to @k consecutive units; returns how many (0: none left). */
static uint64_t claim_run(struct fil_run *r, uint64_t k, uint64_t *first)
{
	uint64_t i;

	if (atomic_load_explicit(&r->err, memory_order_relaxed))
		return 0;
	i = atomic_fetch_add(&r->next_unit, k);
	if (i >= r->set->nunits)
		return 0;
	*first = i;
	return i + k <= r->set->nunits ? k : r->set->nunits - i;
}

/* The staging buffer to fill next: a copy-engine slot, or (--stage-copy kernel) one the copy kernel handed back. */
static struct gslot *stage_take(struct gworker *w)
{
	struct gslot *s = &w->kcur;

	if (!w->kr)
		return slot_take(w);
	s->host = fil_kring_take(w->kr, &w->kslot);
	s->nunits = 0;
	s->fill = 0;
	return s->host ? s : NULL;
}

/* Send a filled staging buffer on to GPU memory. */
static int stage_send(struct gworker *w, struct gslot *s)
{
	if (!w->kr)
		return slot_launch(w, s, s->host, s->base, s->fill);
	fil_kring_publish(w->kr, w->kslot, s->base, s->fill, s->first_ui, s->nunits);
	s->nunits = 0;
	return 0;
}

static void *stage_worker(void *arg)
{
	struct gworker *w = arg;
	struct fil_run *r = w->r;
	const uint64_t stage = r->o->stage;
	uint64_t per = r->set->nunits ? r->set->dst_bytes / r->set->nunits : 1, want, k, first;
	uint64_t last = UINT64_MAX;
	struct gslot *cur = NULL;

	cudaSetDevice(w->dev);
	pthread_barrier_wait(w->go);
	want = per ? stage / per : 1;
	want = want < 1 ? 1 : want > 1024 ? 1024 : want;
	while ((k = claim_run(r, want, &first))) {
		for (uint64_t ui = first; ui < first + k; ui++) {
			const struct fil_unit *u = &r->set->u[ui];
			uint64_t d = unit_dst(r, ui);

			fil_unit_start(r, ui);
			/* a copy covers consecutive units only: anything between belongs to other threads */
			if (cur && (ui != last + 1 || d + u->len - cur->base > stage)) {
				if (stage_send(w, cur))
					goto out;
				cur = NULL;
			}
			if (!cur) {
				cur = stage_take(w);
				if (!cur)
					goto out;
				cur->base = d;
				cur->first_ui = ui;
			}
			if (read_unit(w, ui, cur->host + (d - cur->base), w->kr ? SV_KSTAGE : SV_STAGE))
				goto out;
			cur->fill = d + u->len - cur->base;
			cur->nunits++;
			last = ui;
			if (w->kr)
				fil_kring_reap(w->kr); /* units complete when handed back, not when next waited for */
		}
	}
	if (cur && cur->nunits)
		stage_send(w, cur);
out:
	/* every slot handed back (its units complete) before the thread ends; kernel blocks told to end */
	if (w->kr)
		fil_kring_stop(w->kr);
	for (uint32_t i = 0; i < w->nslots; i++)
		slot_retire(w, &w->slots[i]);
	cur_close(w);
	return NULL;
}

static void note_refused(struct fil_run *r, cudaError_t e)
{
	static _Atomic int noted;
	int zero = 0;

	if (atomic_compare_exchange_strong(&noted, &zero, 1))
		snprintf(r->note, sizeof(r->note),
			 "cudaHostRegister of page-cache pages refused (%s): those units "
			 "were read through a staging buffer (gpu-stage-fallback)",
			 cudaGetErrorString(e));
}

/* Units [ui, ui + n): one file, consecutive. Map and register them as one piece, queue their copies. */
static int map_piece(struct gworker *w, uint64_t ui, uint64_t n)
{
	struct fil_run *r = w->r;
	const struct fil_unit *u0 = &r->set->u[ui], *ul = &r->set->u[ui + n - 1];
	const uint64_t off0 = u0->off & ~4095ull, end = (ul->off + ul->len + 4095) & ~4095ull;
	struct gslot *s;
	cudaError_t e;
	char *m;
	int err;

	for (uint64_t i = 0; i < n; i++)
		fil_unit_start(r, ui + i);
	err = cur_open(w, u0->file, 1);
	if (err)
		return err;
	s = slot_take(w);
	if (!s)
		return -EIO;
	s->first_ui = ui;
	s->nunits = n;
	if (end == off0) {
		s->busy = 1; /* an empty file: nothing to copy */
		cudaEventRecord(s->ev, w->st);
		return 0;
	}
	m = mmap(NULL, end - off0, PROT_READ, MAP_SHARED, w->fd, (off_t)off0);
	if (m == MAP_FAILED)
		return fil_fail(r, -errno, "%s/%s: mmap of bytes %llu to %llu: %s", r->o->target,
				r->set->f[u0->file].path, (unsigned long long)off0,
				(unsigned long long)end, strerror(errno));
	s->map = m;
	s->map_len = end - off0;
	e = cudaHostRegister(m, end - off0, cudaHostRegisterReadOnly | cudaHostRegisterPortable);
	if (e == cudaSuccess) {
		s->reg = m;
		for (uint64_t i = 0; i < n; i++) {
			const struct fil_unit *u = &r->set->u[ui + i];

			e = cudaMemcpyAsync(w->dst + unit_dst(r, ui + i), m + (u->off - off0), u->len,
					    cudaMemcpyHostToDevice, w->st);
			if (e != cudaSuccess)
				break;
			fil_served_add(r, SV_MAP, u->len);
		}
		if (e == cudaSuccess)
			e = cudaEventRecord(s->ev, w->st);
		s->busy = 1; /* copies queued before a failure are waited for before the unmap */
		if (e != cudaSuccess)
			return cuda_fail(r, e, "cudaMemcpyAsync from registered file pages");
		return 0;
	}
	cudaGetLastError();
	note_refused(r, e);
	munmap(m, end - off0);
	s->map = NULL;
	/* unit by unit through this slot's staging buffer and the next ones */
	for (uint64_t i = 0; i < n; i++) {
		if (i && !(s = slot_take(w)))
			return -EIO;
		s->first_ui = ui + i;
		s->nunits = 1;
		err = read_unit(w, ui + i, s->host, SV_FALLBACK);
		if (!err)
			err = slot_launch(w, s, s->host, unit_dst(r, ui + i), r->set->u[ui + i].len);
		if (err)
			return err;
	}
	return 0;
}

static void *map_worker(void *arg)
{
	struct gworker *w = arg;
	struct fil_run *r = w->r;
	const struct fil_unit *u = r->set->u;
	const uint64_t reg = r->o->reg;
	uint64_t per = r->set->nunits ? r->set->dst_bytes / r->set->nunits : 1, want, k, first;

	cudaSetDevice(w->dev);
	pthread_barrier_wait(w->go);
	want = per ? reg / per : 1;
	/* mixed with staging threads: a map thread takes no more than a share, or it takes all */
	if (r->o->xfer == FIL_XFER_MIX && want > r->set->nunits / (2ull * r->o->threads))
		want = r->set->nunits / (2ull * r->o->threads);
	want = want < 1 ? 1 : want > 65536 ? 65536 : want;
	while ((k = claim_run(r, want, &first))) {
		for (uint64_t ui = first, n; ui < first + k; ui += n) {
			/* a piece: consecutive units of one file within --reg bytes */
			for (n = 1; ui + n < first + k && u[ui + n].file == u[ui].file &&
				    u[ui + n].off + u[ui + n].len - u[ui].off <= reg;
			     n++)
				;
			if (map_piece(w, ui, n))
				goto out;
		}
	}
out:
	for (uint32_t i = 0; i < w->nslots; i++)
		slot_retire(w, &w->slots[i]);
	cur_close(w);
	return NULL;
}

/*
 * --pipe: one pipeline maps instead of map threads. The registrar (a worker
 * thread) claims pieces from the shared cursor, maps and registers each and
 * at once queues its copy: the units of a piece are consecutive bytes of one
 * file and of GPU memory, so the piece leaves in one cudaMemcpyAsync, on two
 * streams in turn (each unit is still counted as a read served from
 * registered pages, and completes when the piece has landed). The piece then
 * goes to the releaser thread, which waits for its copy, unregisters and
 * unmaps it and completes its units, off the registrar's path. At most --qd
 * pieces are registered at once: the registrar waits for the releaser.
 * --unreg-batch N: the releaser waits until N pieces are queued and then
 * releases them in a row (unregistration takes the driver's lock too).
 * Registration is serialised in the driver, so one registrar is as fast as
 * several; the copy engine reads piece k while piece k+1 is registered and
 * piece k-1 unregistered.
 */
struct ppiece {
	char *map;
	size_t len;
	uint64_t first_ui, n;
	cudaEvent_t ev;
};

struct gpipe {
	struct fil_run *r;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct ppiece *q; /* ring of --qd pieces */
	uint32_t cap, head, count;
	uint32_t batch; /* --unreg-batch: the releaser starts when this many pieces are queued */
	int done;
	cudaStream_t st[2];
	uint64_t issued;
	int dev;
	pthread_t rel;
};

static void *pipe_releaser(void *arg)
{
	struct gpipe *p = arg;
	struct fil_run *r = p->r;
	uint32_t todo = 0; /* pieces of the current batch left to release */

	cudaSetDevice(p->dev);
	for (;;) {
		struct ppiece *pc;
		cudaError_t e;

		pthread_mutex_lock(&p->mu);
		if (!todo) {
			while (p->count < p->batch && !p->done)
				pthread_cond_wait(&p->cv, &p->mu);
			while (!p->count && !p->done)
				pthread_cond_wait(&p->cv, &p->mu);
			todo = p->count;
		}
		if (!p->count) {
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
		todo--;
		pc = &p->q[p->head];
		pthread_mutex_unlock(&p->mu);
		e = cudaEventSynchronize(pc->ev);
		if (e != cudaSuccess)
			cuda_fail(r, e, "waiting for a copy from registered file pages");
		if (pc->map) {
			cudaError_t u = cudaHostUnregister(pc->map);

			if (u != cudaSuccess)
				cuda_fail(r, u, "cudaHostUnregister");
			/* a failed wait or unregistration keeps the mapping: pages the driver may hold stay valid */
			if (e == cudaSuccess && u == cudaSuccess)
				munmap(pc->map, pc->len);
		}
		for (uint64_t i = 0; e == cudaSuccess && i < pc->n; i++)
			fil_unit_done(r, pc->first_ui + i);
		pthread_mutex_lock(&p->mu);
		p->head = (p->head + 1) % p->cap;
		p->count--;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
	}
}

/* Units [ui, ui + n): one file, consecutive. Register them as one piece and copy it, or stage them. */
static int pipe_piece(struct gworker *w, struct gpipe *p, uint64_t ui, uint64_t n)
{
	struct fil_run *r = w->r;
	const struct fil_unit *u0 = &r->set->u[ui], *ul = &r->set->u[ui + n - 1];
	const uint64_t off0 = u0->off & ~4095ull, end = (ul->off + ul->len + 4095) & ~4095ull;
	const uint64_t bytes = ul->off + ul->len - u0->off;
	struct ppiece *pc;
	cudaStream_t st;
	cudaError_t e;
	char *m = NULL;
	int err;

	for (uint64_t i = 0; i < n; i++)
		fil_unit_start(r, ui + i);
	err = cur_open(w, u0->file, 1);
	if (err)
		return err;
	if (end > off0) {
		m = mmap(NULL, end - off0, PROT_READ, MAP_SHARED, w->fd, (off_t)off0);
		if (m == MAP_FAILED)
			return fil_fail(r, -errno, "%s/%s: mmap of bytes %llu to %llu: %s", r->o->target,
					r->set->f[u0->file].path, (unsigned long long)off0,
					(unsigned long long)end, strerror(errno));
	}
	/* a place in the ring: at most --qd pieces registered at once */
	pthread_mutex_lock(&p->mu);
	while (p->count == p->cap)
		pthread_cond_wait(&p->cv, &p->mu);
	pc = &p->q[(p->head + p->count) % p->cap];
	pthread_mutex_unlock(&p->mu);
	pc->first_ui = ui;
	pc->n = n;
	pc->map = NULL;
	pc->len = end - off0;
	st = p->st[p->issued++ & 1];
	e = cudaSuccess;
	if (m) {
		e = cudaHostRegister(m, end - off0, cudaHostRegisterReadOnly | cudaHostRegisterPortable);
		if (e != cudaSuccess) {
			cudaGetLastError();
			note_refused(r, e);
			munmap(m, end - off0);
			/* unit by unit through the registrar's staging buffers */
			for (uint64_t i = 0; i < n; i++) {
				struct gslot *s = slot_take(w);

				if (!s)
					return -EIO;
				s->first_ui = ui + i;
				s->nunits = 1;
				err = read_unit(w, ui + i, s->host, SV_FALLBACK);
				if (!err)
					err = slot_launch(w, s, s->host, unit_dst(r, ui + i), r->set->u[ui + i].len);
				if (err)
					return err;
			}
			return 0;
		}
		pc->map = m;
		e = cudaMemcpyAsync(w->dst + unit_dst(r, ui), m + (u0->off - off0), bytes,
				    cudaMemcpyHostToDevice, st);
		if (e == cudaSuccess)
			for (uint64_t i = 0; i < n; i++)
				fil_served_add(r, SV_MAP, r->set->u[ui + i].len);
	}
	/* recorded even after a failed copy: the releaser waits, unregisters and unmaps */
	if (e == cudaSuccess)
		e = cudaEventRecord(pc->ev, st);
	else
		cudaEventRecord(pc->ev, st);
	pthread_mutex_lock(&p->mu);
	p->count++;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	if (e != cudaSuccess)
		return cuda_fail(r, e, "cudaMemcpyAsync from registered file pages");
	return 0;
}

static void *pipe_registrar(void *arg)
{
	struct gworker *w = arg;
	struct fil_run *r = w->r;
	struct gpipe *p = w->pipe;
	const struct fil_unit *u = r->set->u;
	const uint64_t reg = r->o->reg;
	uint64_t per = r->set->nunits ? r->set->dst_bytes / r->set->nunits : 1, want, k, first;

	cudaSetDevice(w->dev);
	pthread_barrier_wait(w->go);
	want = per ? reg / per : 1;
	want = want < 1 ? 1 : want > 65536 ? 65536 : want;
	while ((k = claim_run(r, want, &first))) {
		for (uint64_t ui = first, n; ui < first + k; ui += n) {
			for (n = 1; ui + n < first + k && u[ui + n].file == u[ui].file &&
				    u[ui + n].off + u[ui + n].len - u[ui].off <= reg;
			     n++)
				;
			if (pipe_piece(w, p, ui, n))
				goto out;
		}
	}
out:
	for (uint32_t i = 0; i < w->nslots; i++)
		slot_retire(w, &w->slots[i]);
	cur_close(w);
	pthread_mutex_lock(&p->mu);
	p->done = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static int pipe_init(struct gpipe *p, struct fil_run *r, int dev)
{
	cudaError_t e = cudaSuccess;

	p->r = r;
	p->dev = dev;
	p->cap = r->o->qd;
	p->batch = r->o->unreg_batch ? r->o->unreg_batch : 1;
	p->q = calloc(p->cap, sizeof(*p->q));
	if (!p->q)
		return fil_fail(r, -ENOMEM, "out of memory");
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	for (int i = 0; e == cudaSuccess && i < 2; i++)
		e = cudaStreamCreateWithFlags(&p->st[i], cudaStreamNonBlocking);
	for (uint32_t i = 0; e == cudaSuccess && i < p->cap; i++)
		e = cudaEventCreateWithFlags(&p->q[i].ev, cudaEventDisableTiming | cudaEventBlockingSync);
	if (e != cudaSuccess)
		return cuda_fail(r, e, "streams and events of the map pipeline");
	return 0;
}

static void pipe_fini(struct gpipe *p)
{
	for (uint32_t i = 0; p->q && i < p->cap; i++)
		if (p->q[i].ev)
			cudaEventDestroy(p->q[i].ev);
	for (int i = 0; i < 2; i++)
		if (p->st[i])
			cudaStreamDestroy(p->st[i]);
	if (p->q) {
		pthread_mutex_destroy(&p->mu);
		pthread_cond_destroy(&p->cv);
	}
	free(p->q);
}

/* The check kernel over everything that landed; fills r->bad*. */
int fil_gpu_verify(struct fil_run *r, char *dst, cudaStream_t st)
{
	const struct fil_set *set = r->set;
	struct fil_gpu_seg *segs, *dsegs = NULL;
	struct fil_gpu_bad bad = { ~0ull, 0 }, *dbad = NULL;
	uint64_t nseg = 0, t0;
	cudaError_t e;
	int err = 0;

	for (uint32_t i = 0; i < set->n; i++)
		nseg += (set->f[i].size + FIL_GPU_SEG_MAX - 1) / FIL_GPU_SEG_MAX;
	if (!nseg)
		return 0;
	segs = malloc(nseg * sizeof(*segs));
	if (!segs)
		return fil_fail(r, -ENOMEM, "out of memory for the check");
	nseg = 0;
	for (uint32_t i = 0; i < set->n; i++)
		for (uint64_t off = 0; off < set->f[i].size; off += FIL_GPU_SEG_MAX) {
			struct fil_gpu_seg *g = &segs[nseg++];

			g->dst_off = set->f[i].dst_off + off;
			g->file_off = off;
			g->seed = set->f[i].seed;
			g->len = (uint32_t)(set->f[i].size - off < FIL_GPU_SEG_MAX ? set->f[i].size - off
										: FIL_GPU_SEG_MAX);
			g->file = i;
		}
	t0 = fil_now_ns();
	e = cudaMalloc((void **)&dsegs, nseg * sizeof(*segs));
	if (e == cudaSuccess)
		e = cudaMalloc((void **)&dbad, sizeof(bad));
	if (e == cudaSuccess)
		e = cudaMemcpy(dsegs, segs, nseg * sizeof(*segs), cudaMemcpyHostToDevice);
	if (e == cudaSuccess)
		e = cudaMemcpy(dbad, &bad, sizeof(bad), cudaMemcpyHostToDevice);
	if (e == cudaSuccess)
		e = (cudaError_t)fil_gpu_verify_launch(dst, dsegs, nseg, dbad, st);
	if (e == cudaSuccess)
		e = cudaStreamSynchronize(st);
	if (e == cudaSuccess)
		e = cudaMemcpy(&bad, dbad, sizeof(bad), cudaMemcpyDeviceToHost);
	r->verify_s = (double)(fil_now_ns() - t0) / 1e9;
	if (e != cudaSuccess) {
		err = cuda_fail(r, e, "the check kernel");
	} else if (bad.key != ~0ull) {
		const struct fil_gpu_seg *g = &segs[bad.key / FIL_GPU_SEG_MAX];
		uint64_t in = bad.key % FIL_GPU_SEG_MAX;
		uint8_t got = 0;

		cudaMemcpy(&got, dst + g->dst_off + in, 1, cudaMemcpyDeviceToHost);
		r->bad = 1;
		r->bad_file = g->file;
		r->bad_off = g->file_off + in;
		r->bad_got = got;
		r->bad_want = aisio_pattern_byte(g->seed, g->file_off + in);
		r->bad_count = bad.count;
	}
	cudaFree(dsegs);
	cudaFree(dbad);
	free(segs);
	return err;
}

/* Does thread @t stage (rather than map or register)? */
static int is_stager(const struct fil_opts *o, uint32_t t)
{
	if (o->pipe)
		return t > 0;
	if (o->xfer == FIL_XFER_MAP)
		return 0;
	return o->xfer == FIL_XFER_STAGE || t >= o->map_threads;
}

int fil_run_gpu(struct fil_run *r)
{
	const struct fil_opts *o = r->o;
	const int map = o->xfer == FIL_XFER_MAP, mix = o->xfer == FIL_XFER_MIX;
	const uint64_t slot_bytes = map ? o->chunk : o->stage; /* stage >= chunk for stage and mix */
	struct gworker *w;
	size_t free_b = 0, total_b = 0;
	char *dst = NULL;
	cudaStream_t vst = NULL;
	cudaError_t e;
	int dev = 0, err = 0, ro = 0;
	uint32_t started = 0;
	pthread_barrier_t go;
	struct gpipe pipe = { 0 };
	int rel_started = 0, stuck = 0;
	const int kern = o->stage_kernel;
	struct fil_kstage ks = { 0 };
	uint32_t nst = 0;

	r->served[SV_STAGE].name = "gpu-stage";
	r->served[SV_MAP].name = map || mix ? "gpu-map" : NULL;
	r->served[SV_FALLBACK].name = map || mix ? "gpu-stage-fallback" : NULL;
	r->served[SV_KSTAGE].name = kern ? "gpu-stage-kernel" : NULL;
	if (map || kern)
		r->served[SV_STAGE].name = NULL;
	/* threads waiting for a copy sleep rather than spin: their CPUs do the reads */
	cudaSetDeviceFlags(cudaDeviceScheduleBlockingSync);
	cudaGetLastError();
	e = cudaGetDevice(&dev);
	if (e == cudaSuccess)
		e = cudaMemGetInfo(&free_b, &total_b);
	if (e != cudaSuccess)
		return cuda_fail(r, e, "no usable GPU");
	if ((map || mix) &&
	    (cudaDeviceGetAttribute(&ro, cudaDevAttrHostRegisterReadOnlySupported, dev) != cudaSuccess || !ro))
		return fil_fail(r, -ENOTSUP, "--xfer %s needs read-only host registration, which this "
				"GPU or driver does not offer; use --xfer stage", map ? "map" : "mix");
	if (r->set->dst_bytes > free_b / 100 * 95)
		return fil_fail(r, -ENOMEM, "the dataset (%" PRIu64 " bytes) does not fit in the GPU's free "
				"memory (%zu of %zu bytes)", r->set->dst_bytes, free_b, total_b);
	w = calloc(o->threads, sizeof(*w));
	if (!w)
		return fil_fail(r, -ENOMEM, "out of memory");
	e = cudaMalloc((void **)&dst, r->set->dst_bytes ? r->set->dst_bytes : 1);
	if (e == cudaSuccess)
		e = cudaMemset(dst, 0, r->set->dst_bytes ? r->set->dst_bytes : 1);
	if (e == cudaSuccess)
		e = cudaDeviceSynchronize(); /* the memset done before copies on non-blocking streams */
	if (e == cudaSuccess)
		e = cudaStreamCreateWithFlags(&vst, cudaStreamNonBlocking);
	if (e != cudaSuccess) {
		err = cuda_fail(r, e, "GPU memory for the dataset");
		goto out;
	}
	/* everything a thread needs is made before the clock starts */
	for (uint32_t t = 0; t < o->threads; t++) {
		w[t].r = r;
		w[t].dst = dst;
		w[t].dev = dev;
		w[t].fd = -1;
		/* --stage-copy kernel: a staging thread's buffers are the copy kernel's slots */
		w[t].nslots = kern && is_stager(o, t) ? 0 : o->qd;
		nst += kern && is_stager(o, t);
		w[t].slots = calloc(o->qd, sizeof(*w[t].slots));
		if (!w[t].slots) {
			err = fil_fail(r, -ENOMEM, "out of memory");
			goto out;
		}
		e = cudaStreamCreateWithFlags(&w[t].st, cudaStreamNonBlocking);
		for (uint32_t i = 0; e == cudaSuccess && i < w[t].nslots; i++) {
			e = cudaHostAlloc((void **)&w[t].slots[i].host, slot_bytes, cudaHostAllocPortable);
			if (e == cudaSuccess)
				e = cudaEventCreateWithFlags(&w[t].slots[i].ev,
							     cudaEventDisableTiming | cudaEventBlockingSync);
		}
		if (e != cudaSuccess) {
			err = cuda_fail(r, e, "pinned staging buffers");
			goto out;
		}
	}
	if (o->pipe && (err = pipe_init(&pipe, r, dev)))
		goto out;
	if (kern) {
		uint32_t per = o->qd < FIL_KSTAGE_SLOTS_MAX ? o->qd : FIL_KSTAGE_SLOTS_MAX, k = 0;

		err = fil_kstage_init(&ks, r, nst, per, o->stage);
		for (uint32_t t = 0; !err && t < o->threads; t++)
			if (is_stager(o, t))
				w[t].kr = &ks.rings[k++];
		if (!err)
			err = fil_kstage_launch(&ks, dst);
		if (err)
			goto out;
		r->kslots = nst * per;
	}
	pthread_barrier_init(&go, NULL, o->threads);
	r->t_start_ns = fil_now_ns();
	r->cpu_start_s = fil_cpu_s();
	if (o->pipe) {
		if (pthread_create(&pipe.rel, NULL, pipe_releaser, &pipe)) {
			err = fil_fail(r, -EAGAIN, "cannot start the releaser thread of the map pipeline");
			pthread_barrier_destroy(&go);
			goto out;
		}
		rel_started = 1;
	}
	for (; started < o->threads; started++) {
		void *(*fn)(void *) = o->pipe ? (started ? stage_worker : pipe_registrar)
				      : map || (mix && started < o->map_threads) ? map_worker : stage_worker;

		w[started].go = &go;
		w[started].pipe = &pipe;
		if (pthread_create(&w[started].th, NULL, fn, &w[started])) {
			/* the threads started wait for the others: no thread can be started, so fail hard */
			fprintf(stderr, "aisio fil run: cannot start thread %u of %u\n", started + 1, o->threads);
			abort();
		}
	}
	for (uint32_t t = 0; t < started; t++)
		pthread_join(w[t].th, NULL);
	if (rel_started)
		pthread_join(pipe.rel, NULL); /* every piece unregistered and unmapped */
	pthread_barrier_destroy(&go);
	/* the staging threads told their blocks to end; the kernel must have, before anything waits for the GPU */
	if (kern && (err = fil_kstage_stop(&ks)) == -ETIMEDOUT) {
		stuck = 1;
		goto out;
	}
	e = cudaDeviceSynchronize();
	r->t_end_ns = fil_now_ns();
	r->cpu_end_s = fil_cpu_s();
	if (e != cudaSuccess)
		err = cuda_fail(r, e, "copies to GPU memory");
	if (!err)
		err = atomic_load(&r->err);
	if (!err && o->verify)
		err = fil_gpu_verify(r, dst, vst);
out:
	/* a failure after the copy kernel started: it is told to end, and waited for (bounded) */
	if (ks.launched && fil_kstage_stop(&ks) == -ETIMEDOUT)
		stuck = 1;
	if (stuck) {
		/* a kernel that may still read and write: its memory and the GPU's are left to the exit */
		return err ? err : atomic_load(&r->err);
	}
	fil_kstage_free(&ks);
	for (uint32_t t = 0; t < o->threads; t++) {
		for (uint32_t i = 0; w[t].slots && i < w[t].nslots; i++) {
			if (w[t].slots[i].host)
				cudaFreeHost(w[t].slots[i].host);
			if (w[t].slots[i].ev)
				cudaEventDestroy(w[t].slots[i].ev);
		}
		free(w[t].slots);
		if (w[t].st)
			cudaStreamDestroy(w[t].st);
	}
	free(w);
	pipe_fini(&pipe);
	if (vst)
		cudaStreamDestroy(vst);
	cudaFree(dst);
	return err ? err : atomic_load(&r->err);
}

int fil_gpu_usable(void)
{
	size_t free_b = 0, total_b = 0;
	int dev = 0;
	cudaError_t e = cudaGetDevice(&dev);

	if (e == cudaSuccess)
		e = cudaMemGetInfo(&free_b, &total_b);
	if (e == cudaSuccess)
		return 0;
	fprintf(stderr, "aisio fil run: no usable GPU: %s (CUDA error %d); this path puts the data in GPU "
		"memory\n", cudaGetErrorString(e), (int)e);
	cudaGetLastError();
	return -ENODEV;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int fil_gpu_ceiling(uint64_t bytes, int rounds, int json)
{
	void *h = NULL, *d = NULL;
	double gbs[100], sorted[100];
	cudaError_t e = cudaHostAlloc(&h, bytes, cudaHostAllocPortable);

	if (e == cudaSuccess)
		e = cudaMalloc(&d, bytes);
	if (e == cudaSuccess) {
		memset(h, 7, bytes);
		e = cudaMemcpy(d, h, bytes, cudaMemcpyHostToDevice); /* warm */
	}
	for (int i = 0; e == cudaSuccess && i < rounds; i++) {
		uint64_t t0 = fil_now_ns();

		for (int k = 0; e == cudaSuccess && k < 4; k++)
			e = cudaMemcpy(d, h, bytes, cudaMemcpyHostToDevice);
		if (e == cudaSuccess)
			e = cudaDeviceSynchronize();
		gbs[i] = 4.0 * (double)bytes / ((double)(fil_now_ns() - t0) / 1e9) / 1e9;
	}
	if (e != cudaSuccess) {
		fprintf(stderr, "aisio fil ceiling: %s (CUDA error %d)\n", cudaGetErrorString(e), (int)e);
		cudaFreeHost(h);
		cudaFree(d);
		return -EIO;
	}
	memcpy(sorted, gbs, sizeof(double) * (size_t)rounds);
	qsort(sorted, (size_t)rounds, sizeof(double), cmp_d);
	if (json) {
		printf("{\"method\":\"pinned cudaMemcpy H2D\",\"bytes\":%" PRIu64 ",\"runs\":[", bytes);
		for (int i = 0; i < rounds; i++)
			printf("%s%.3f", i ? "," : "", gbs[i]);
		printf("],\"min\":%.3f,\"median\":%.3f,\"max\":%.3f}\n", sorted[0], sorted[rounds / 2],
		       sorted[rounds - 1]);
	} else {
		printf("pinned host -> GPU cudaMemcpy, %" PRIu64 " bytes x 4 per round: min %.2f, median "
		       "%.2f, max %.2f GB/s\n", bytes, sorted[0], sorted[rounds / 2], sorted[rounds - 1]);
	}
	cudaFreeHost(h);
	cudaFree(d);
	return 0;
}
