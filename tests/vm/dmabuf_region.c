/* SPDX-License-Identifier: MIT */
/*
 * The dma-buf region provider (src/mem/dmabuf.c) in the guest: a dma-heap
 * buffer and a udmabuf become regions whose bus address for every page is
 * that page's physical address, whose CPU mapping shows the exporter's
 * data, and which release their attachment; bad input gives clear errors.
 * Exit: 0 pass, 1 fail, 77 module not loaded.
 */
#include <aisio/aisio.h>
#include <poll.h>
#include <sys/wait.h>

#include "dmabuf_util.h"
#include "mem/dmabuf.h"

/*
 * The region's bus address of every page (and of a byte inside it) equals
 * @want[page]; with @want NULL, the address the module's segments give.
 */
static void check_translation(const char *what, struct aisio_mem_region *r, const uint64_t *want)
{
	const struct aisio_dmabuf_seg *segs;
	size_t bad = 0, pages = 0, off = 0;
	uint32_t n = 0;

	segs = aisio_mem_dmabuf_segs(r, &n, NULL);
	for (uint32_t s = 0; segs && s < n; s++) {
		for (uint64_t o = 0; o < segs[s].len && off < r->len; o += DT_PAGE, off += DT_PAGE, pages++) {
			uint64_t pa = want ? want[pages] : segs[s].addr + o;

			if (aisio_mem_bus(r, r->va + off) != pa || aisio_mem_bus(r, r->va + off + 100) != pa + 100)
				bad++;
		}
	}
	dt_check(pages == r->len / DT_PAGE && !bad,
		 "%s: bus address of all %zu pages is right (%zu wrong, chunk 2^%u)", what, pages, bad,
		 r->chunk_shift);
}

static void test_heap(void)
{
	const struct aisio_dmabuf_seg *segs;
	struct aisio_mem_region *r;
	size_t len = 2u << 20;
	uint32_t n = 0, flags = 0;
	long base = dt_attachments();
	int fd, err;

	fd = dt_heap_alloc(len);
	if (!dt_check(fd >= 0, "heap: allocate"))
		return;
	err = aisio_mem_dmabuf_import(fd, NULL, &r);
	close(fd);   /* the region keeps its own references */
	if (!dt_check(err == 0, "heap: import (%s)", aisio_errmsg()))
		return;
	dt_check(r->len == len && r->kind == AISIO_MEM_HOST && !strcmp(r->name, "dmabuf"),
		 "heap: region of %zu bytes, host memory", r->len);
	segs = aisio_mem_dmabuf_segs(r, &n, &flags);
	dt_check(segs && n >= 1 && (flags & AISIO_DMABUF_OUT_PHYS), "heap: %u segments, physical", n);
	err = 0;
	for (uint32_t i = 0; segs && i < n; i++)
		err |= !dt_in_system_ram(segs[i].addr, segs[i].len);
	dt_check(!err, "heap: segments lie in system RAM");
	dt_check(dt_attachments() == base + 1, "heap: region holds one attachment");
	check_translation("heap", r, NULL);
	memset(r->va, 0xa5, r->len);
	dt_check(((uint8_t *)r->va)[r->len - 1] == 0xa5, "heap: region memory is writable");
	aisio_mem_region_release(r);
	dt_check(dt_attachments() == base, "heap: release detaches");
}

static void test_udmabuf(void)
{
	const unsigned npages = 48;
	struct aisio_mem_region *r;
	unsigned order[48];
	uint64_t want[48];
	int memfd, fd, err;
	uint8_t *mva;
	uint32_t n = 0;

	memfd = dt_memfd(npages);
	mva = memfd < 0 ? MAP_FAILED :
	      mmap(NULL, npages * DT_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (!dt_check(mva != MAP_FAILED, "udmabuf: memfd"))
		return;
	for (size_t i = 0; i < npages * DT_PAGE; i++)
		mva[i] = (uint8_t)(i ^ (i >> 12) ^ 0x3c);
	/* Reverse page order: the region spans many segments. */
	for (unsigned i = 0; i < npages; i++)
		order[i] = npages - 1 - i;
	fd = dt_udmabuf_list(memfd, order, npages);
	if (!dt_check(fd >= 0, "udmabuf: create (%s)", strerror(fd < 0 ? -fd : 0)))
		goto out;
	err = aisio_mem_dmabuf_import(fd, NULL, &r);
	if (dt_check(err == 0, "udmabuf: import (%s)", aisio_errmsg())) {
		aisio_mem_dmabuf_segs(r, &n, NULL);
		dt_check(r->len == npages * DT_PAGE && n >= 2, "udmabuf: %zu bytes, %u segments", r->len, n);
		for (unsigned i = 0; i < npages; i++)
			want[i] = dt_phys(mva + (size_t)order[i] * DT_PAGE);
		check_translation("udmabuf", r, want);
		dt_sync(fd, 0, 0);
		err = 0;
		for (unsigned i = 0; i < npages; i++)
			err |= memcmp(r->va + (size_t)i * DT_PAGE, mva + (size_t)order[i] * DT_PAGE, DT_PAGE);
		dt_sync(fd, 1, 0);
		dt_check(!err, "udmabuf: region memory shows the memfd pages in list order");
		aisio_mem_region_release(r);
	}
	close(fd);
out:
	munmap(mva, npages * DT_PAGE);
	close(memfd);
}

static void test_errors(void)
{
	struct aisio_mem_dmabuf_opts o = { .kind = AISIO_MEM_HOST };
	struct aisio_mem_region *r = (void *)1;
	long base = dt_attachments();
	int fd, err;

	fd = dt_memfd(1);
	err = aisio_mem_dmabuf_import(fd, NULL, &r);
	dt_check(err == -EINVAL && !r && strstr(aisio_errmsg(), "not a dma-buf"),
		 "errors: memfd gives -EINVAL: %s", aisio_errmsg());
	close(fd);
	fd = 900;       /* above anything the import opens itself */
	close(fd);
	err = aisio_mem_dmabuf_import(fd, NULL, &r);
	dt_check(err == -EBADF, "errors: closed fd gives -EBADF: %s", aisio_errmsg());

	fd = dt_heap_alloc(DT_PAGE);
	o.dev_path = "/dev/aisio-dmabuf-absent";
	err = aisio_mem_dmabuf_import(fd, &o, &r);
	dt_check(err == -ENOENT && strstr(aisio_errmsg(), "insmod"),
		 "errors: missing importer gives -ENOENT: %s", aisio_errmsg());
	o.dev_path = NULL;
	o.kind = AISIO_MEM_GPU;
	err = aisio_mem_dmabuf_import(fd, &o, &r);
	dt_check(err == -EINVAL, "errors: GPU memory without va gives -EINVAL: %s", aisio_errmsg());
	o.kind = AISIO_MEM_HOST;
	o.pci_dev = "0000:ff:1f.7";
	err = aisio_mem_dmabuf_import(fd, &o, &r);
	dt_check(err == -ENODEV, "errors: absent PCI device gives -ENODEV: %s", aisio_errmsg());
	o.pci_dev = "0000:00:00.0-name-longer-than-the-field";
	err = aisio_mem_dmabuf_import(fd, &o, &r);
	dt_check(err == -EINVAL, "errors: overlong PCI name gives -EINVAL: %s", aisio_errmsg());
	close(fd);
	dt_check(dt_attachments() == base, "errors: nothing left attached");
	aisio_mem_region_release(NULL);
}

/* A region whose buffer the exporter takes back reports it, and releases cleanly. */
static void test_revoked(void)
{
	struct aisio_mem_region *r;
	struct pollfd p = { .events = POLLIN };
	long base = dt_attachments();
	int fd, err;

	fd = dt_heap_alloc(64 * DT_PAGE);
	err = fd < 0 ? fd : aisio_mem_dmabuf_import(fd, NULL, &r);
	if (!dt_check(err == 0, "revoked: import (%s)", err ? aisio_errmsg() : "ok"))
		return;
	err = aisio_mem_dmabuf_check(r);
	dt_check(err == 0, "revoked: a fresh region checks valid (%d)", err);
	p.fd = aisio_mem_dmabuf_poll_fd(r);
	dt_check(p.fd >= 0 && poll(&p, 1, 0) == 0, "revoked: its poll fd is quiet");
	err = dt_exporter_revoke(fd);
	dt_check(err == 0, "revoked: the exporter takes the buffer back (%s)", strerror(-err));
	dt_check(poll(&p, 1, 1000) == 1 && (p.revents & POLLERR), "revoked: the poll fd gives POLLERR");
	err = aisio_mem_dmabuf_check(r);
	dt_check(err == -ENODEV && strstr(aisio_errmsg(), "revoked"),
		 "revoked: check gives -ENODEV: %s", aisio_errmsg());
	dt_check(aisio_mem_dmabuf_check(NULL) == -EINVAL, "revoked: check of no region gives -EINVAL");
	aisio_mem_region_release(r);
	close(fd);
	dt_check(dt_attachments() == base, "revoked: release detaches");
}

/* Without CAP_SYS_RAWIO and CAP_SYS_ADMIN an import fails with a message saying so. */
static void test_unprivileged(void)
{
	int fd = dt_heap_alloc(DT_PAGE), status = 0;
	pid_t pid;

	if (!dt_check(fd >= 0, "priv: buffer"))
		return;
	pid = fork();
	if (pid == 0) {
		struct aisio_mem_region *r;
		int err = dt_drop_privilege("no-caps") ? -1 : aisio_mem_dmabuf_import(fd, NULL, &r);

		printf("#   unprivileged import: %d: %s\n", err, aisio_errmsg());
		_exit(err == -EPERM && strstr(aisio_errmsg(), "CAP_SYS_RAWIO") ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	dt_check(pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
		 "priv: import without CAP_SYS_RAWIO/CAP_SYS_ADMIN gives -EPERM naming the capability");
	close(fd);
}

int main(void)
{
	if (!aisio_mem_dmabuf_available()) {
		printf("# %s missing (module not loaded)\n", AISIO_DMABUF_DEV_PATH);
		return 77;
	}
	test_heap();
	test_udmabuf();
	test_errors();
	test_revoked();
	test_unprivileged();
	printf("# %d failed\n", dt_failed);
	return dt_failed ? 1 : 0;
}
