/* SPDX-License-Identifier: MIT */
/*
 * Namespace backing stores. Memory and files are both mapped, so the I/O
 * path copies between host buffers and the store without syscalls: an
 * anonymous mapping allocates pages only when written, a shared file
 * mapping keeps its data in the file across runs. Namespace N lives at
 * (N - 1) * ns_size.
 *
 * A DMA provider with store_add (a GPU host) may pin the store so that its
 * copy engines reach it directly. Pinned pages must stay the pages the
 * mapping shows: while the store is offered, deallocation zeroes in place
 * (no hole punching, no MADV_DONTNEED, either of which would put fresh
 * pages behind the mapping and leave the pinned ones stale).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emu/priv.h"
#include "util/err.h"

int emu_ns_open(struct aisio_emu_ctrl *c)
{
	const struct aisio_emu_opts *o = &c->o;
	uint64_t total = o->ns_size * o->nns;
	struct stat stb;
	int err;

	if (total / o->nns != o->ns_size || total > (uint64_t)SIZE_MAX / 2)
		return aisio_err(-EINVAL, "emu: %u namespaces of %llu bytes do not fit in memory",
				 o->nns, (unsigned long long)o->ns_size);
	c->ns = calloc(o->nns, sizeof(*c->ns));
	if (!c->ns)
		return aisio_err(-ENOMEM, "emu: out of memory for namespaces");
	c->nns = o->nns;
	c->store_len = total;
	switch (o->backing) {
	case AISIO_EMU_NULL:
		break;
	case AISIO_EMU_MEM:
		/*
		 * Up to 1 GiB is populated at once: a page fault on the first
		 * touch of each page would otherwise dominate small random I/O.
		 * Larger namespaces are reserved lazily.
		 */
		c->store = mmap(NULL, total, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
					(total <= (1ull << 30) ? MAP_POPULATE : 0),
				-1, 0);
		if (c->store == MAP_FAILED) {
			c->store = NULL;
			err = aisio_err(
				-ENOMEM,
				"emu: cannot reserve %llu bytes of memory for namespaces: %s",
				(unsigned long long)total, strerror(errno));
			goto err_free;
		}
		break;
	case AISIO_EMU_FILE:
		c->fd = open(o->file, O_RDWR | O_CLOEXEC | (o->file_create ? O_CREAT : 0), 0644);
		if (c->fd < 0 && errno == ENOENT && !o->file_create) {
			err = aisio_err(-ENOENT, "emu: no such file: '%s' (a command that writes "
					"creates it when asked, e.g. aisio perf run --create)", o->file);
			goto err_free;
		}
		if (c->fd < 0) {
			err = aisio_err(-errno, "emu: cannot open namespace file '%s': %s", o->file,
					strerror(errno));
			goto err_free;
		}
		if (fstat(c->fd, &stb)) {
			err = aisio_err(-errno, "emu: cannot stat '%s': %s", o->file,
					strerror(errno));
			goto err_close;
		}
		if (!S_ISREG(stb.st_mode)) {
			err = aisio_err(-EINVAL, "emu: namespace file '%s' is not a regular file",
					o->file);
			goto err_close;
		}
		if ((uint64_t)stb.st_size < total && !o->file_create) {
			err = aisio_err(-EINVAL, "emu: '%s' holds %llu bytes, less than the %llu the "
					"namespaces need; left as it is", o->file,
					(unsigned long long)stb.st_size, (unsigned long long)total);
			goto err_close;
		}
		if ((uint64_t)stb.st_size < total && ftruncate(c->fd, (off_t)total)) {
			err = aisio_err(-errno, "emu: cannot grow '%s' to %llu bytes: %s", o->file,
					(unsigned long long)total, strerror(errno));
			goto err_close;
		}
		c->store = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
		if (c->store == MAP_FAILED) {
			c->store = NULL;
			err = aisio_err(-errno, "emu: cannot map '%s': %s", o->file,
					strerror(errno));
			goto err_close;
		}
		break;
	default:
		err = aisio_err(-EINVAL, "emu: unknown namespace backing %d", (int)o->backing);
		goto err_free;
	}
	for (uint32_t i = 0; i < c->nns; i++) {
		struct emu_ns *ns = &c->ns[i];

		ns->nsid = i + 1;
		ns->lba_shift = o->lba_shift;
		ns->nlbas = o->ns_size >> o->lba_shift;
		ns->store_off = (uint64_t)i * o->ns_size;
		ns->data = c->store ? c->store + ns->store_off : NULL;
	}
	if (c->store && o->gpu_direct && c->dma.store_add)
		c->store_pinned = c->dma.store_add(c->dma.ctx, c->store, c->store_len,
						   (c->fd >= 0 ? AISIO_EMU_STORE_FILE : 0) |
							   (o->gpu_direct == 2 ? AISIO_EMU_STORE_EAGER : 0)) > 0;
	return 0;

err_close:
	close(c->fd);
	c->fd = -1;
err_free:
	free(c->ns);
	c->ns = NULL;
	return err;
}

void emu_ns_close(struct aisio_emu_ctrl *c)
{
	if (c->store) {
		if (c->store_pinned && c->dma.store_remove)
			c->dma.store_remove(c->dma.ctx, c->store);
		c->store_pinned = 0;
		if (c->fd >= 0)
			msync(c->store, c->store_len, MS_SYNC);
		munmap(c->store, c->store_len);
		c->store = NULL;
	}
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
	free(c->ns);
	c->ns = NULL;
}

/* Write back a file-backed namespace (Flush, FUA, shutdown). */
void emu_ns_flush(struct aisio_emu_ctrl *c, struct emu_ns *ns)
{
	if (c->fd < 0 || !ns->data)
		return;
	msync(ns->data, (size_t)(ns->nlbas << ns->lba_shift), MS_SYNC);
}

/*
 * Zero @nlb blocks from @slba. With @dealloc the whole pages inside the
 * range give their memory back (anonymous pages drop, file blocks are
 * punched); reads of them return zeroes either way.
 */
void emu_ns_zero(struct aisio_emu_ctrl *c, struct emu_ns *ns, uint64_t slba, uint64_t nlb,
		 int dealloc)
{
	uint8_t *p, *a, *b;
	size_t len;

	if (!ns->data)
		return;
	p = ns->data + (slba << ns->lba_shift);
	len = (size_t)(nlb << ns->lba_shift);
	a = (uint8_t *)(((uintptr_t)p + 4095) & ~(uintptr_t)4095);
	b = (uint8_t *)(((uintptr_t)p + len) & ~(uintptr_t)4095);
	if (!dealloc || c->store_pinned || b <= a || (size_t)(b - a) < (64u << 10)) {
		memset(p, 0, len);
		return;
	}
	if (c->fd >= 0) {
		if (fallocate(c->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			      (off_t)(a - c->store), (off_t)(b - a))) {
			memset(p, 0, len);
			return;
		}
	} else if (madvise(a, (size_t)(b - a), MADV_DONTNEED)) {
		memset(p, 0, len);
		return;
	}
	memset(p, 0, (size_t)(a - p));
	memset(b, 0, (size_t)(p + len - b));
}
