/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the dma-buf importer tests: exporters (system dma-heap,
 * udmabuf), physical addresses from /proc/self/pagemap, the module's sysfs
 * counters, and a tiny ok / not ok reporter.
 */
#ifndef AISIO_TESTS_DMABUF_UTIL_H
#define AISIO_TESTS_DMABUF_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/capability.h>

#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <linux/udmabuf.h>

#include <aisio/uapi/dmabuf_import.h>

#define DT_PAGE 4096u
#define DT_SYSFS "/sys/class/misc/" AISIO_DMABUF_DEV_NAME

static int dt_failed;

#define DT_UNUSED __attribute__((unused))

/* Report one check; returns @ok so callers can stop early. */
__attribute__((format(printf, 2, 3)))
DT_UNUSED static int dt_check(int ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s - ", ok ? "ok" : "not ok");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!ok)
		dt_failed++;
	return ok;
}

/* An ioctl's result as 0 or -errno. */
DT_UNUSED static int dt_ioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg) < 0 ? -errno : 0;
}

/* A dma-buf of @len bytes from the system dma-heap, or -errno. */
DT_UNUSED static int dt_heap_alloc(size_t len)
{
	struct dma_heap_allocation_data d = { .len = len, .fd_flags = O_RDWR | O_CLOEXEC };
	int heap = open("/dev/dma_heap/system", O_RDONLY | O_CLOEXEC);
	int err;

	if (heap < 0)
		return -errno;
	err = dt_ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &d);
	close(heap);
	return err ? err : (int)d.fd;
}

/* A sealed memfd of @npages pages, or -errno. */
DT_UNUSED static int dt_memfd(unsigned npages)
{
	int fd = memfd_create("dmabuf-test", MFD_ALLOW_SEALING | MFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)npages * DT_PAGE) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/*
 * A udmabuf over pages @order[0..n) of @memfd, one page per item, in that
 * order (a scrambled order gives a buffer of many segments), or -errno.
 */
DT_UNUSED static int dt_udmabuf_list(int memfd, const unsigned *order, unsigned n)
{
	struct udmabuf_create_list *l;
	int dev, fd;

	l = calloc(1, sizeof(*l) + n * sizeof(l->list[0]));
	if (!l)
		return -ENOMEM;
	l->flags = UDMABUF_FLAGS_CLOEXEC;
	l->count = n;
	for (unsigned i = 0; i < n; i++) {
		l->list[i].memfd = (uint32_t)memfd;
		l->list[i].offset = (uint64_t)order[i] * DT_PAGE;
		l->list[i].size = DT_PAGE;
	}
	dev = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	if (dev < 0) {
		free(l);
		return -errno;
	}
	fd = ioctl(dev, UDMABUF_CREATE_LIST, l);
	fd = fd < 0 ? -errno : fd;
	close(dev);
	free(l);
	return fd;
}

/* A udmabuf over all @npages pages of @memfd, or -errno. */
DT_UNUSED static int dt_udmabuf(int memfd, unsigned npages)
{
	struct udmabuf_create c = {
		.memfd = (uint32_t)memfd, .flags = UDMABUF_FLAGS_CLOEXEC,
		.offset = 0, .size = (uint64_t)npages * DT_PAGE,
	};
	int dev = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	int fd;

	if (dev < 0)
		return -errno;
	fd = ioctl(dev, UDMABUF_CREATE, &c);
	fd = fd < 0 ? -errno : fd;
	close(dev);
	return fd;
}

/* Physical address of the (faulted-in) page at @va, or 0 when unknown. */
DT_UNUSED static uint64_t dt_phys(const void *va)
{
	uint64_t e = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	off_t off = (off_t)((uintptr_t)va / DT_PAGE) * 8;

	if (fd < 0)
		return 0;
	if (pread(fd, &e, sizeof(e), off) != (ssize_t)sizeof(e))
		e = 0;
	close(fd);
	if (!(e & (1ull << 63)))
		return 0;
	return (e & ((1ull << 55) - 1)) * DT_PAGE;
}

/*
 * The segments expected for a buffer made of pages of the mapping at @va:
 * page @order[i] (or page i when @order is NULL) for i < @npages, merged
 * where physically contiguous. Returns the count, or -1 when a page's
 * address is unknown or more than @cap segments are needed.
 */
DT_UNUSED static int dt_phys_segs(volatile uint8_t *va, const unsigned *order, unsigned npages,
				  struct aisio_dmabuf_seg *segs, int cap)
{
	int n = 0;

	for (unsigned i = 0; i < npages; i++) {
		size_t off = (size_t)(order ? order[i] : i) * DT_PAGE;
		uint64_t pa;

		(void)va[off];          /* fault the page in */
		pa = dt_phys((const void *)(va + off));
		if (!pa)
			return -1;
		if (n && segs[n - 1].addr + segs[n - 1].len == pa) {
			segs[n - 1].len += DT_PAGE;
			continue;
		}
		if (n == cap)
			return -1;
		segs[n].addr = pa;
		segs[n].len = DT_PAGE;
		n++;
	}
	return n;
}

/*
 * 1 when [@addr, @addr + @len) lies inside one "System RAM" range of
 * /proc/iomem (root sees real addresses). Used where pagemap cannot tell:
 * exporters map their buffers VM_PFNMAP, which pagemap does not walk.
 */
DT_UNUSED static int dt_in_system_ram(uint64_t addr, uint64_t len)
{
	unsigned long long lo, hi;
	char line[256];
	int in = 0;
	FILE *f = fopen("/proc/iomem", "r");

	if (!f)
		return 0;
	while (!in && fgets(line, sizeof(line), f)) {
		if (line[0] == ' ' || !strstr(line, ": System RAM"))
			continue;
		if (sscanf(line, "%llx-%llx", &lo, &hi) == 2)
			in = addr >= lo && len && addr + len - 1 <= hi;
	}
	fclose(f);
	return in;
}

/* A number from a sysfs file of the module, or -1. */
DT_UNUSED static long dt_sysfs_long(const char *name)
{
	char path[128], buf[32] = "";
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", DT_SYSFS, name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fgets(buf, sizeof(buf), f))
		v = strtol(buf, NULL, 10);
	fclose(f);
	return v;
}

DT_UNUSED static long dt_attachments(void)
{
	return dt_sysfs_long("attachments");
}

/*
 * Lower this process's privilege, as @how says; 0 or -1.
 *   "nobody"   setuid(65534): every capability goes
 *   "no-caps"  uid 0 without CAP_SYS_RAWIO and CAP_SYS_ADMIN in the effective set
 *   "rawio"    uid 0 with CAP_SYS_RAWIO but not CAP_SYS_ADMIN
 *   "admin"    uid 0 with CAP_SYS_ADMIN but not CAP_SYS_RAWIO
 */
DT_UNUSED static int dt_drop_privilege(const char *how)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	uint32_t drop = (1u << CAP_SYS_RAWIO) | (1u << CAP_SYS_ADMIN);

	if (!strcmp(how, "nobody"))
		return setgid(65534) || setuid(65534) ? -1 : 0;
	if (!strcmp(how, "rawio"))
		drop = 1u << CAP_SYS_ADMIN;
	else if (!strcmp(how, "admin"))
		drop = 1u << CAP_SYS_RAWIO;
	if (syscall(SYS_capget, &h, d))
		return -1;
	d[0].effective &= ~drop;
	return syscall(SYS_capset, &h, d) ? -1 : 0;
}

/* Make the module's test hook revoke the dma-buf @fd as its exporter would; 0 or -errno. */
DT_UNUSED static int dt_exporter_revoke(int fd)
{
	char num[16];
	int hk = open("/sys/kernel/debug/" AISIO_DMABUF_DEV_NAME "/move_notify", O_WRONLY | O_CLOEXEC);
	int n, err = 0;

	if (hk < 0)
		return -errno;
	n = snprintf(num, sizeof(num), "%d", fd);
	if (write(hk, num, (size_t)n) != n)
		err = -errno;
	close(hk);
	return err;
}

/* Bracket CPU access to a mapped dma-buf, as its exporter expects. */
DT_UNUSED static void dt_sync(int dmabuf, int end, int write)
{
	struct dma_buf_sync s = {
		.flags = (end ? DMA_BUF_SYNC_END : DMA_BUF_SYNC_START) |
			 (write ? DMA_BUF_SYNC_RW : DMA_BUF_SYNC_READ),
	};
	ioctl(dmabuf, DMA_BUF_IOCTL_SYNC, &s);
}

#endif
