/* SPDX-License-Identifier: MIT */
/*
 * The whole peer-to-peer path with QEMU's NVMe controller: a dma-heap
 * buffer and a udmabuf (pages in scrambled order, so commands cross many
 * DMA segments) are imported for the controller's PCI function, and the
 * user-space driver (pci:BDF,drv=uio) reads into them and writes from them
 * with PRPs built from the region's chunk table.
 *   1. the kernel writes known data (block device, O_DIRECT);
 *   2. the user-space driver reads it into each dma-buf; an mmap of the
 *      dma-buf (and, for udmabuf, the memfd pages) must match byte for byte;
 *   3. new data put into each dma-buf through mmap is written by the driver;
 *   4. once the function is back on the kernel driver, the kernel reads it.
 * Usage: dmabuf_nvme BDF       (function bound to nvme, namespace 1 in use)
 * Exit: 0 pass, 1 fail, 77 importer or PCI support missing.
 */
#include <aisio/aisio.h>
#include <aisio/nvme_ring.h>
#include <glob.h>
#include <limits.h>
#include <linux/fs.h>
#include <time.h>

#include "dmabuf_util.h"
#include "drv/drv.h"
#include "mem/dmabuf.h"
#include "nvme/cmd.h"
#include "nvme/dptr.h"

#define BUF_LEN (256u << 10)
#define NPAGES (BUF_LEN / DT_PAGE)
#define QDEPTH 16
#define LIST_PAGES 8

struct host {
	struct aisio_dev *dev;
	struct aisio_nvme_ctrl *c;
	const struct aisio_nvme_ctrl_info *info;
	struct aisio_nvme_sq sq;
	struct aisio_nvme_cq cq;
	struct aisio_nvme_list_mem lists;
	void *sqm, *cqm;
	uint16_t qid, cid;
	uint32_t nsid, lba_size;
};

/* One exported buffer and where its data goes on the namespace. */
struct xbuf {
	const char *name;
	int fd;                 /* dma-buf */
	int memfd;              /* udmabuf only, else -1 */
	uint8_t *mva;           /* memfd mapping */
	unsigned order[NPAGES]; /* udmabuf page i = memfd page order[i] */
	uint64_t lba_in;        /* kernel wrote here; the driver reads */
	uint64_t lba_out;       /* the driver writes here; the kernel reads */
	uint64_t seed_in, seed_out;
	struct aisio_mem_region *r;
	int imported;           /* r was imported (released before the driver closes) */
};

/* A fixed pattern per (seed, byte offset on the namespace). */
static void pattern(uint8_t *buf, uint64_t off, size_t len, uint64_t seed)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t x = (off + i) * 0x9e3779b97f4a7c15ull ^ seed;

		x ^= x >> 31;
		x *= 0xd6e8feb86659fd93ull;
		x ^= x >> 32;
		memcpy(buf + i, &x, 8);
	}
}

/* The NSID in sysfs directory @dir (".../nvme0n1/nsid"), or 0. */
static unsigned nsid_of(const char *dir)
{
	char path[PATH_MAX];
	unsigned nsid = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/nsid", dir);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%u", &nsid) != 1)
		nsid = 0;
	fclose(f);
	return nsid;
}

/*
 * The block device of namespace 1 of @bdf. Found by its NSID, not its name:
 * after a re-probe while the old namespace is still held open, the kernel
 * numbers it anew (nvme0n2). Waits up to 300 s: a loaded machine under
 * emulation can take long to probe, and a fixed short wait made this flaky.
 */
static int blkdev_of(const char *bdf, char *out, size_t outlen)
{
	char pat[128];

	snprintf(pat, sizeof(pat), "/sys/bus/pci/devices/%s/nvme/nvme*/nvme*n*", bdf);
	for (int i = 0; i < 3000; i++) {
		glob_t g;

		if (glob(pat, 0, NULL, &g) == 0) {
			for (size_t k = 0; k < g.gl_pathc; k++) {
				const char *name = strrchr(g.gl_pathv[k], '/') + 1;
				unsigned sub, ctrl, ns;

				if (nsid_of(g.gl_pathv[k]) != 1)
					continue;
				/* Multipath (nvme-subsys) hides nvmeXcYnZ behind nvmeXnZ. */
				if (sscanf(name, "nvme%uc%un%u", &sub, &ctrl, &ns) == 3)
					snprintf(out, outlen, "/dev/nvme%un%u", sub, ns);
				else
					snprintf(out, outlen, "/dev/%s", name);
				if (access(out, R_OK | W_OK) == 0) {
					globfree(&g);
					return 0;
				}
			}
			globfree(&g);
		}
		usleep(100000);
	}
	return -ENOENT;
}

/* Kernel path: write (@write) or read-and-compare the pattern at @lba. */
static int kernel_io(const char *blk, int write, uint64_t lba, uint32_t lba_size, uint64_t seed)
{
	uint64_t off = lba * lba_size;
	uint8_t *buf, *want;
	int fd, ok = 0;

	fd = open(blk, (write ? O_WRONLY : O_RDONLY) | O_DIRECT | O_CLOEXEC);
	if (fd < 0)
		return 0;
	buf = aligned_alloc(DT_PAGE, BUF_LEN);
	want = malloc(BUF_LEN);
	if (buf && want) {
		pattern(want, off, BUF_LEN, seed);
		if (write) {
			memcpy(buf, want, BUF_LEN);
			ok = pwrite(fd, buf, BUF_LEN, (off_t)off) == BUF_LEN && fsync(fd) == 0;
		} else {
			ok = pread(fd, buf, BUF_LEN, (off_t)off) == BUF_LEN && !memcmp(buf, want, BUF_LEN);
		}
	}
	free(buf);
	free(want);
	close(fd);
	return ok;
}

static int host_open(struct host *h, const char *bdf)
{
	struct aisio_nvme_qpair_ext e = { .depth = QDEPTH };
	char uri[64];
	const struct aisio_geo *geo;
	volatile uint8_t *bar0;
	int err;

	snprintf(uri, sizeof(uri), "pci:%s,drv=uio", bdf);
	err = aisio_dev_open(uri, NULL, &h->dev);
	if (!dt_check(err == 0, "driver: open %s (%s)", uri, aisio_errmsg()))
		return err;
	h->c = aisio_upci_ctrl(h->dev);
	h->info = aisio_nvme_ctrl_info(h->c);
	geo = aisio_dev_geo(h->dev);
	h->nsid = geo->nsid;
	h->lba_size = geo->lba_size;
	h->sqm = aisio_nvme_ctrl_dma_alloc(h->c, QDEPTH * 64, DT_PAGE);
	h->cqm = aisio_nvme_ctrl_dma_alloc(h->c, QDEPTH * 16, DT_PAGE);
	h->lists.va = aisio_nvme_ctrl_dma_alloc(h->c, LIST_PAGES << h->info->page_shift, DT_PAGE);
	if (!dt_check(h->sqm && h->cqm && h->lists.va, "driver: queue and PRP list memory"))
		return -ENOMEM;
	memset(h->cqm, 0, QDEPTH * 16);
	h->lists.region = aisio_nvme_ctrl_dma_region(h->c, h->lists.va);
	h->lists.npages = LIST_PAGES;
	e.sq_va = h->sqm;
	e.cq_va = h->cqm;
	e.sq_bus = aisio_mem_bus(aisio_nvme_ctrl_dma_region(h->c, h->sqm), h->sqm);
	e.cq_bus = aisio_mem_bus(aisio_nvme_ctrl_dma_region(h->c, h->cqm), h->cqm);
	err = aisio_nvme_ctrl_qpair_create_ext(h->c, &e, &h->qid);
	if (!dt_check(err == 0, "driver: I/O queue pair on %s, %u-byte LBAs, page 2^%u, MDTS %u (%s)",
		      bdf, h->lba_size, h->info->page_shift, h->info->max_xfer, aisio_errmsg()))
		return err ? err : -EIO;
	bar0 = aisio_nvme_ctrl_bar0(h->c);
	aisio_nvme_sq_init(&h->sq, h->sqm, bar0, h->qid, QDEPTH, h->info->dstrd);
	aisio_nvme_cq_init(&h->cq, h->cqm, bar0, h->qid, QDEPTH, h->info->dstrd);
	return 0;
}

static void host_close(struct host *h)
{
	if (!h->dev)
		return;
	if (h->qid)
		aisio_nvme_ctrl_qpair_delete_ext(h->c, h->qid);
	aisio_nvme_ctrl_dma_free(h->c, h->lists.va);
	aisio_nvme_ctrl_dma_free(h->c, h->cqm);
	aisio_nvme_ctrl_dma_free(h->c, h->sqm);
	aisio_dev_close(h->dev);    /* gives the function back to nvme */
	h->dev = NULL;
}

/* One read or write of @len bytes at @buf (inside @r), synchronously. Returns the status. */
static int host_rw(struct host *h, int write, const struct aisio_mem_region *r, void *buf,
		   uint64_t lba, size_t len)
{
	struct aisio_nvme_sqe *cmd = aisio_nvme_sq_slot(&h->sq);
	volatile struct aisio_nvme_cqe *e;
	uint16_t cid = ++h->cid;
	struct timespec t0, t;
	int err, status;

	if (write)
		aisio_nvme_cmd_write(cmd, h->nsid, lba, (uint32_t)(len / h->lba_size));
	else
		aisio_nvme_cmd_read(cmd, h->nsid, lba, (uint32_t)(len / h->lba_size));
	cmd->cid = cid;
	err = aisio_nvme_prp_build(cmd, r, buf, len, h->info->page_shift, h->info->max_xfer, &h->lists);
	if (err)
		return err;
	aisio_nvme_sq_advance(&h->sq);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	aisio_nvme_sq_ring_db(&h->sq);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!(e = aisio_nvme_cq_peek(&h->cq))) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > 10)
			return -ETIMEDOUT;
	}
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	status = (int)aisio_nvme_cqe_code(e->status);
	if (e->cid != cid)
		status = -EPROTO;
	h->sq.head = e->sqhd;
	aisio_nvme_cq_advance(&h->cq);
	aisio_nvme_cq_ring_db(&h->cq);
	return status;
}

/* Move the whole buffer in commands of at most MDTS; returns 0 or the first error. */
static int host_rw_all(struct host *h, int write, struct xbuf *x, uint64_t lba)
{
	size_t step = h->info->max_xfer && h->info->max_xfer < (64u << 10) ? h->info->max_xfer : (64u << 10);

	for (size_t off = 0; off < BUF_LEN; off += step) {
		int err = host_rw(h, write, x->r, x->r->va + off, lba + off / h->lba_size, step);

		if (err)
			return err;
	}
	return 0;
}

static int make_buffers(struct xbuf *x)
{
	x[0].name = "dma-heap";
	x[0].memfd = -1;
	x[0].fd = dt_heap_alloc(BUF_LEN);
	x[1].name = "udmabuf";
	x[1].memfd = dt_memfd(NPAGES);
	x[1].mva = x[1].memfd < 0 ? MAP_FAILED :
		   mmap(NULL, BUF_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, x[1].memfd, 0);
	for (unsigned i = 0; i < NPAGES; i++)   /* pairs swapped, halves reversed */
		x[1].order[i] = (i < NPAGES / 2 ? NPAGES / 2 - 1 - i : i) ^ 1;
	x[1].fd = x[1].mva == MAP_FAILED ? -1 : dt_udmabuf_list(x[1].memfd, x[1].order, NPAGES);
	for (int i = 0; i < 2; i++) {
		x[i].seed_in = 0x1000 + (uint64_t)i;
		x[i].seed_out = 0x2000 + (uint64_t)i;
	}
	return dt_check(x[0].fd >= 0 && x[1].fd >= 0, "buffers: dma-heap and udmabuf of %u KiB", BUF_LEN >> 10);
}

/* The dma-buf through a fresh mmap equals the pattern (and so do the memfd pages). */
static void verify_read(struct xbuf *x, uint32_t lba_size)
{
	uint8_t *want = malloc(BUF_LEN), *va;
	int same_memfd = 1;

	va = mmap(NULL, BUF_LEN, PROT_READ, MAP_SHARED, x->fd, 0);
	if (!want || !dt_check(va != MAP_FAILED, "%s: mmap the dma-buf", x->name))
		goto out;
	pattern(want, x->lba_in * lba_size, BUF_LEN, x->seed_in);
	dt_sync(x->fd, 0, 0);
	dt_check(!memcmp(va, want, BUF_LEN), "%s: data read by the controller equals the kernel's, byte for byte",
		 x->name);
	if (x->memfd >= 0) {
		for (unsigned i = 0; i < NPAGES; i++)
			same_memfd &= !memcmp(x->mva + (size_t)x->order[i] * DT_PAGE, want + (size_t)i * DT_PAGE,
					      DT_PAGE);
		dt_check(same_memfd, "%s: the memfd pages hold it in list order", x->name);
	}
	dt_sync(x->fd, 1, 0);
	munmap(va, BUF_LEN);
out:
	free(want);
}

static void fill_for_write(struct xbuf *x, uint32_t lba_size)
{
	uint8_t *va = mmap(NULL, BUF_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, x->fd, 0);

	if (!dt_check(va != MAP_FAILED, "%s: mmap the dma-buf for writing", x->name))
		return;
	dt_sync(x->fd, 0, 1);
	pattern(va, x->lba_out * lba_size, BUF_LEN, x->seed_out);
	dt_sync(x->fd, 1, 1);
	munmap(va, BUF_LEN);
}

/* A read landing mid-page and crossing pages (PRP1 offset, PRP2, segment boundaries). */
static void read_unaligned(struct host *h, struct xbuf *x)
{
	size_t off = 3 * DT_PAGE + 512, len = 3 * DT_PAGE;
	uint8_t *want = malloc(len);
	int err;

	memset(x->r->va, 0xee, BUF_LEN);
	err = host_rw(h, 0, x->r, x->r->va + off, x->lba_in, len);
	if (want) {
		pattern(want, x->lba_in * h->lba_size, len, x->seed_in);
		dt_check(!err && !memcmp(x->r->va + off, want, len) && x->r->va[off - 1] == 0xee &&
			 x->r->va[off + len] == 0xee,
			 "%s: %zu bytes read at buffer offset %zu, nothing around it touched (status %d)",
			 x->name, len, off, err);
	}
	free(want);
}

int main(int argc, char **argv)
{
	struct aisio_mem_dmabuf_opts o = { .kind = AISIO_MEM_HOST };
	struct xbuf x[2] = { 0 };
	struct host h = { 0 };
	char blk[64];
	uint32_t lba_size;
	int err;

	if (argc != 2) {
		fprintf(stderr, "usage: dmabuf_nvme BDF\n");
		return 1;
	}
	if (!aisio_mem_dmabuf_available()) {
		printf("# importer not loaded\n");
		return 77;
	}
	if (!make_buffers(x))
		return 1;
	o.pci_dev = argv[1];

	/* 1. Known data through the kernel. */
	if (!dt_check(blkdev_of(argv[1], blk, sizeof(blk)) == 0, "kernel: block device of %s", argv[1]))
		return 1;
	{
		int bfd = open(blk, O_RDONLY | O_CLOEXEC);

		lba_size = 0;
		if (bfd >= 0 && ioctl(bfd, BLKSSZGET, &lba_size) < 0)
			lba_size = 0;
		if (bfd >= 0)
			close(bfd);
	}
	for (int i = 0; i < 2 && lba_size; i++) {
		/* 8 MiB and 16 MiB into the namespace, 1 MiB apart: inside any testbed disk. */
		x[i].lba_in = ((8u << 20) + ((uint64_t)i << 20)) / lba_size;
		x[i].lba_out = ((16u << 20) + ((uint64_t)i << 20)) / lba_size;
	}
	for (int i = 0; i < 2; i++)
		dt_check(lba_size && kernel_io(blk, 1, x[i].lba_in, lba_size, x[i].seed_in),
			 "kernel: write %u KiB at LBA %llu of %s (%u-byte LBAs)", BUF_LEN >> 10,
			 (unsigned long long)x[i].lba_in, blk, lba_size);

	/* 2, 3. The user-space driver moves the data into and out of the dma-bufs. */
	err = host_open(&h, argv[1]);
	if (err)
		goto out;
	dt_check(h.lba_size == lba_size, "driver: LBA size %u as the kernel's", h.lba_size);
	for (int i = 0; i < 2; i++) {
		const struct aisio_dmabuf_seg *segs;
		uint32_t n = 0, flags = 0;

		err = aisio_mem_dmabuf_import(x[i].fd, &o, &x[i].r);
		if (!dt_check(err == 0, "%s: import for %s (%s)", x[i].name, argv[1], aisio_errmsg()))
			continue;
		segs = aisio_mem_dmabuf_segs(x[i].r, &n, &flags);
		printf("# %s: %u DMA segments, first %#llx, chunk 2^%u, %s\n", x[i].name, n,
		       (unsigned long long)segs[0].addr, x[i].r->chunk_shift,
		       flags & AISIO_DMABUF_OUT_PHYS ? "physical" : "IOVA");
		memset(x[i].r->va, 0xee, BUF_LEN);
		err = host_rw_all(&h, 0, &x[i], x[i].lba_in);
		if (dt_check(err == 0, "%s: driver reads %u KiB into the dma-buf (status %d)", x[i].name,
			     BUF_LEN >> 10, err))
			verify_read(&x[i], h.lba_size);
		read_unaligned(&h, &x[i]);
		fill_for_write(&x[i], h.lba_size);
		err = host_rw_all(&h, 1, &x[i], x[i].lba_out);
		dt_check(err == 0, "%s: driver writes %u KiB from the dma-buf (status %d)", x[i].name,
			 BUF_LEN >> 10, err);
	}
out:
	/*
	 * Release the regions while the function is still ours: giving it
	 * back to nvme would revoke their attachments.
	 */
	for (int i = 0; i < 2; i++) {
		x[i].imported = x[i].r != NULL;
		aisio_mem_region_release(x[i].r);
		x[i].r = NULL;
	}
	host_close(&h);

	/* 4. The kernel reads what the driver wrote. */
	if (dt_check(blkdev_of(argv[1], blk, sizeof(blk)) == 0, "kernel: %s back on nvme (%s)", argv[1], blk))
		for (int i = 0; i < 2; i++)
			if (x[i].imported)
				dt_check(kernel_io(blk, 0, x[i].lba_out, lba_size, x[i].seed_out),
					 "%s: kernel reads what the driver wrote from the dma-buf, byte for byte",
					 x[i].name);
	for (int i = 0; i < 2; i++) {
		if (x[i].fd >= 0)
			close(x[i].fd);
		if (x[i].memfd >= 0) {
			munmap(x[i].mva, BUF_LEN);
			close(x[i].memfd);
		}
	}
	printf("# %d failed\n", dt_failed);
	return dt_failed ? 1 : 0;
}
