/* SPDX-License-Identifier: MIT */
/*
 * The dma-buf importer module's ioctls, in the guest with the module loaded:
 * segments of dma-heap and udmabuf buffers checked against the physical
 * pages behind them, every bad-input path, per-file ownership, and teardown
 * on close and on SIGKILL.
 *
 * Also: attaching needs CAP_SYS_RAWIO or CAP_SYS_ADMIN, handles are not
 * reused at once, and an exporter revoking a buffer (move_notify, through
 * the module's debugfs test hook) revokes the attachment: EPOLLERR, ENODEV.
 *
 * Usage: dmabuf_ioctl                  all checks
 *        dmabuf_ioctl pci BDF ok|busy  attach for a PCI function, expect success or EBUSY
 *        dmabuf_ioctl vfio BDF         the function is on vfio-pci: how far a dma-buf gets
 *        dmabuf_ioctl hold [BDF]       attach (for BDF), print "held", sleep until killed
 *        dmabuf_ioctl revoke BDF       attach for BDF, print "attached", then expect the
 *                                      attachment to be revoked within 30 s (EPOLLERR)
 *        dmabuf_ioctl churn BDF        attach/detach for BDF in a loop until it is removed
 * Exit: 0 pass, 1 fail, 77 module not loaded.
 */
#include <libgen.h>
#include <linux/vfio.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "dmabuf_util.h"

#define MAX_SEGS 1024

static int devfd = -1;

static int attach(int dev, int fd, struct aisio_dmabuf_attach *a)
{
	memset(a, 0, sizeof(*a));
	a->fd = fd;
	return dt_ioctl(dev, AISIO_DMABUF_IOC_ATTACH, a);
}

static int detach(int dev, uint32_t handle)
{
	struct aisio_dmabuf_detach d = { .handle = handle };

	return dt_ioctl(dev, AISIO_DMABUF_IOC_DETACH, &d);
}

static int get_map(int dev, uint32_t handle, struct aisio_dmabuf_seg *segs, uint32_t *nsegs)
{
	struct aisio_dmabuf_map m = { .handle = handle, .nsegs = *nsegs,
				      .segs = (uint64_t)(uintptr_t)segs };
	int err = dt_ioctl(dev, AISIO_DMABUF_IOC_GET_MAP, &m);

	*nsegs = m.nsegs;
	return err;
}

static int attach_pci(int dev, int fd, const char *bdf, struct aisio_dmabuf_attach *a)
{
	memset(a, 0, sizeof(*a));
	a->fd = fd;
	a->flags = AISIO_DMABUF_ATTACH_PCI;
	snprintf(a->pci_dev, sizeof(a->pci_dev), "%s", bdf);
	return dt_ioctl(dev, AISIO_DMABUF_IOC_ATTACH, a);
}

/* poll() events of @dev within @ms milliseconds (0 when none, -1 on error). */
static int poll_events(int dev, int ms)
{
	struct pollfd p = { .fd = dev, .events = POLLIN | POLLPRI };
	int n = poll(&p, 1, ms);

	return n < 0 ? -1 : n ? p.revents : 0;
}

/* A PCI function's DMA mask width from sysfs (dma_mask_bits), or -1. */
static int dma_mask_bits(const char *bdf)
{
	char path[128], buf[16] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/dma_mask_bits", bdf);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return buf[0] ? atoi(buf) : -1;
}

/*
 * In a child: lower the privilege as @how says (dt_drop_privilege), then
 * attach @fd (for @bdf when given) on the inherited importer file. Returns
 * the attach result (0 or -errno), or 1 when the child could not run.
 */
static int attach_as(const char *how, int fd, const char *bdf)
{
	int pfd[2], status, res = 1;
	pid_t pid;

	if (pipe(pfd))
		return 1;
	pid = fork();
	if (pid == 0) {
		struct aisio_dmabuf_attach a;
		int r = 1;

		if (!dt_drop_privilege(how)) {
			r = bdf ? attach_pci(devfd, fd, bdf, &a) : attach(devfd, fd, &a);
			if (!r)
				detach(devfd, a.handle);
		}
		if (write(pfd[1], &r, sizeof(r)) != sizeof(r))
			_exit(2);
		_exit(0);
	}
	close(pfd[1]);
	if (pid > 0 && read(pfd[0], &res, sizeof(res)) != sizeof(res))
		res = 1;
	close(pfd[0]);
	if (pid > 0)
		waitpid(pid, &status, 0);
	return res;
}

/*
 * Attach @fd and read its map. With @want (@nwant segments worked out from
 * the pages the buffer was made of) the map must equal it; without, each
 * segment must lie in system RAM.
 */
static void check_buffer(const char *what, int fd, size_t len, const struct aisio_dmabuf_seg *want,
			 int nwant)
{
	static struct aisio_dmabuf_seg segs[MAX_SEGS];
	struct aisio_dmabuf_attach a;
	uint64_t total = 0;
	uint32_t n = MAX_SEGS;
	int err, aligned = 1, in_ram = 1;

	err = attach(devfd, fd, &a);
	if (!dt_check(err == 0, "%s: attach (%s)", what, strerror(-err)))
		return;
	dt_check(a.handle != 0 && a.size == len && a.nsegs >= 1,
		 "%s: handle %u, size %llu (want %zu), %u segments", what, a.handle,
		 (unsigned long long)a.size, len, a.nsegs);
	dt_check(a.out_flags & AISIO_DMABUF_OUT_PHYS, "%s: addresses are physical (out_flags %#x)",
		 what, a.out_flags);
	err = get_map(devfd, a.handle, segs, &n);
	dt_check(err == 0 && n == a.nsegs, "%s: get map returns %u segments (%s)", what, n,
		 strerror(-err));
	for (uint32_t i = 0; i < n && i < MAX_SEGS; i++) {
		total += segs[i].len;
		aligned &= !(segs[i].addr % DT_PAGE) && !(segs[i].len % DT_PAGE);
		in_ram &= dt_in_system_ram(segs[i].addr, segs[i].len);
	}
	dt_check(total == len && aligned, "%s: segments cover %llu bytes, page aligned: %d", what,
		 (unsigned long long)total, aligned);
	if (want)
		dt_check(nwant > 0 && (uint32_t)nwant == n && !memcmp(want, segs, n * sizeof(*segs)),
			 "%s: segments equal the physical pages of the source (%d expected, first %#llx+%llu, got %#llx+%llu)",
			 what, nwant, (unsigned long long)want[0].addr, (unsigned long long)want[0].len,
			 (unsigned long long)segs[0].addr, (unsigned long long)segs[0].len);
	else
		dt_check(in_ram, "%s: every segment lies in system RAM (/proc/iomem)", what);
	dt_check(detach(devfd, a.handle) == 0, "%s: detach", what);
}

static void test_exporters(void)
{
	static struct aisio_dmabuf_seg want[MAX_SEGS];
	unsigned order[16];
	size_t heap_len = (1u << 20) + 3 * DT_PAGE;
	int fd, memfd, nwant;
	uint8_t *mva, *dva;

	fd = dt_heap_alloc(heap_len);
	if (dt_check(fd >= 0, "dma-heap: allocate %zu bytes (%s)", heap_len, strerror(fd < 0 ? -fd : 0))) {
		check_buffer("dma-heap", fd, heap_len, NULL, 0);
		close(fd);
	}

	memfd = dt_memfd(64);
	if (!dt_check(memfd >= 0, "udmabuf: sealed memfd"))
		return;
	mva = mmap(NULL, 64 * DT_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (!dt_check(mva != MAP_FAILED, "udmabuf: map the memfd"))
		goto out_memfd;
	for (size_t i = 0; i < 64 * DT_PAGE; i++)
		mva[i] = (uint8_t)(i * 7 + 3);
	fd = dt_udmabuf(memfd, 64);
	if (dt_check(fd >= 0, "udmabuf: create over 64 pages (%s)", strerror(fd < 0 ? -fd : 0))) {
		nwant = dt_phys_segs(mva, NULL, 64, want, MAX_SEGS);
		check_buffer("udmabuf", fd, 64 * DT_PAGE, want, nwant);
		dva = mmap(NULL, 64 * DT_PAGE, PROT_READ, MAP_SHARED, fd, 0);
		if (dt_check(dva != MAP_FAILED, "udmabuf: mmap the dma-buf")) {
			dt_sync(fd, 0, 0);
			dt_check(!memcmp(dva, mva, 64 * DT_PAGE), "udmabuf: dma-buf mapping equals the memfd");
			dt_sync(fd, 1, 0);
			munmap(dva, 64 * DT_PAGE);
		}
		close(fd);
	}
	/* Every fourth page, in reverse order: a buffer of many segments. */
	for (unsigned i = 0; i < 16; i++)
		order[i] = 62 - 4 * i;
	fd = dt_udmabuf_list(memfd, order, 16);
	if (dt_check(fd >= 0, "udmabuf: create from a scrambled page list")) {
		nwant = dt_phys_segs(mva, order, 16, want, MAX_SEGS);
		check_buffer("udmabuf list", fd, 16 * DT_PAGE, want, nwant);
		close(fd);
	}
	munmap(mva, 64 * DT_PAGE);
out_memfd:
	close(memfd);
}

/* An array too small, a count query, a bad pointer: bounded copies only. */
static void test_get_map_bounds(void)
{
	static struct aisio_dmabuf_seg full[MAX_SEGS], part[MAX_SEGS];
	const uint64_t canary = 0x5a5a5a5a5a5a5a5aull;
	struct aisio_dmabuf_attach a;
	unsigned order[32];
	uint32_t n, total;
	int memfd, fd, err, intact;

	memfd = dt_memfd(64);
	for (unsigned i = 0; i < 32; i++)
		order[i] = (i * 37 + 11) % 64;   /* 32 distinct pages, scrambled */
	fd = memfd >= 0 ? dt_udmabuf_list(memfd, order, 32) : -1;
	if (!dt_check(fd >= 0, "bounds: scrambled udmabuf"))
		goto out;
	err = attach(devfd, fd, &a);
	if (!dt_check(err == 0 && a.nsegs >= 2, "bounds: attach, %u segments", a.nsegs))
		goto out;
	total = a.nsegs;

	n = 0;
	err = get_map(devfd, a.handle, NULL, &n);
	dt_check(err == 0 && n == total, "bounds: count query gives %u (want %u)", n, total);

	n = MAX_SEGS;
	get_map(devfd, a.handle, full, &n);

	memset(part, 0x5a, sizeof(part));
	n = total - 1;
	err = get_map(devfd, a.handle, part, &n);
	intact = !memcmp(&part[total - 1].addr, &canary, 8) && !memcmp(&part[total - 1].len, &canary, 8);
	dt_check(err == -ENOSPC && n == total, "bounds: array of %u of %u: ENOSPC, needed count %u (%s)",
		 total - 1, total, n, strerror(-err));
	dt_check(intact && !memcmp(part, full, (total - 1) * sizeof(*part)),
		 "bounds: first %u entries written, nothing past the array", total - 1);

	memset(part, 0x5a, sizeof(part));
	n = 1;
	err = get_map(devfd, a.handle, part, &n);
	dt_check(err == -ENOSPC && n == total && !memcmp(&part[1].addr, &canary, 8),
		 "bounds: array of 1: ENOSPC, one entry written");

	memset(part, 0x5a, sizeof(part));
	n = total + 4;
	err = get_map(devfd, a.handle, part, &n);
	dt_check(err == 0 && n == total && !memcmp(&part[total].addr, &canary, 8),
		 "bounds: larger array: all %u written, no more", total);

	n = total;
	err = get_map(devfd, a.handle, (struct aisio_dmabuf_seg *)(uintptr_t)8, &n);
	dt_check(err == -EFAULT, "bounds: bad array pointer gives EFAULT (%s)", strerror(-err));
	detach(devfd, a.handle);
out:
	if (fd >= 0)
		close(fd);
	if (memfd >= 0)
		close(memfd);
}

static void test_bad_input(void)
{
	struct aisio_dmabuf_attach a, b;
	struct aisio_dmabuf_detach d;
	long base = dt_attachments();
	int fd, other, closed, err;
	uint32_t n;

	other = dt_memfd(1);
	err = attach(devfd, other, &a);
	dt_check(err == -EINVAL, "bad: memfd (not a dma-buf) gives EINVAL (%s)", strerror(-err));
	close(other);
	other = open("/dev/null", O_RDONLY | O_CLOEXEC);
	err = attach(devfd, other, &a);
	dt_check(err == -EINVAL, "bad: /dev/null gives EINVAL (%s)", strerror(-err));
	close(other);
	err = attach(devfd, devfd, &a);
	dt_check(err == -EINVAL, "bad: the importer's own fd gives EINVAL (%s)", strerror(-err));

	closed = dt_heap_alloc(DT_PAGE);
	close(closed);
	err = attach(devfd, closed, &a);
	dt_check(err == -EBADF, "bad: closed fd gives EBADF (%s)", strerror(-err));
	err = attach(devfd, -1, &a);
	dt_check(err == -EBADF, "bad: fd -1 gives EBADF (%s)", strerror(-err));
	err = attach(devfd, 1 << 20, &a);
	dt_check(err == -EBADF, "bad: fd 1<<20 gives EBADF (%s)", strerror(-err));

	fd = dt_heap_alloc(16 * DT_PAGE);
	if (!dt_check(fd >= 0, "bad: heap buffer"))
		return;
	memset(&a, 0, sizeof(a));
	a.fd = fd;
	a.flags = 0x80;
	err = dt_ioctl(devfd, AISIO_DMABUF_IOC_ATTACH, &a);
	dt_check(err == -EINVAL, "bad: unknown flag gives EINVAL (%s)", strerror(-err));
	memset(&a, 0, sizeof(a));
	a.fd = fd;
	a.rsvd = 1;
	err = dt_ioctl(devfd, AISIO_DMABUF_IOC_ATTACH, &a);
	dt_check(err == -EINVAL, "bad: nonzero reserved field gives EINVAL (%s)", strerror(-err));
	memset(&a, 0, sizeof(a));
	a.fd = fd;
	a.flags = AISIO_DMABUF_ATTACH_PCI;
	strcpy(a.pci_dev, "0000:ff:1f.7");
	err = dt_ioctl(devfd, AISIO_DMABUF_IOC_ATTACH, &a);
	dt_check(err == -ENODEV, "bad: absent PCI device gives ENODEV (%s)", strerror(-err));
	memset(&a, 0, sizeof(a));
	a.fd = fd;
	a.flags = AISIO_DMABUF_ATTACH_PCI;
	memset(a.pci_dev, 'a', sizeof(a.pci_dev));
	err = dt_ioctl(devfd, AISIO_DMABUF_IOC_ATTACH, &a);
	dt_check(err == -EINVAL, "bad: unterminated PCI name gives EINVAL (%s)", strerror(-err));
	err = dt_ioctl(devfd, AISIO_DMABUF_IOC_ATTACH, (void *)(uintptr_t)8);
	dt_check(err == -EFAULT, "bad: bad argument pointer gives EFAULT (%s)", strerror(-err));
	err = dt_ioctl(devfd, _IO(AISIO_DMABUF_IOC_MAGIC, 0x7f), NULL);
	dt_check(err == -ENOTTY, "bad: unknown ioctl gives ENOTTY (%s)", strerror(-err));
	dt_check(dt_attachments() == base, "bad: no attachment left by failed calls");

	/* Attach twice: refused, and the existing handle is reported. */
	err = attach(devfd, fd, &a);
	dt_check(err == 0, "twice: first attach (%s)", strerror(-err));
	err = attach(devfd, fd, &b);
	dt_check(err == -EEXIST && b.handle == a.handle,
		 "twice: second attach gives EEXIST with handle %u (want %u; %s)", b.handle, a.handle,
		 strerror(-err));
	dt_check(dt_attachments() == base + 1, "twice: one attachment held (%ld)", dt_attachments() - base);

	/* Detach twice, detach nothing. */
	err = detach(devfd, a.handle);
	dt_check(err == 0, "twice: first detach (%s)", strerror(-err));
	err = detach(devfd, a.handle);
	dt_check(err == -ENOENT, "twice: second detach gives ENOENT (%s)", strerror(-err));
	n = 0;
	err = get_map(devfd, a.handle, NULL, &n);
	dt_check(err == -ENOENT, "twice: map of a detached handle gives ENOENT (%s)", strerror(-err));
	err = detach(devfd, 0);
	dt_check(err == -ENOENT, "bad: detach handle 0 gives ENOENT (%s)", strerror(-err));
	d.handle = 1;
	d.rsvd = 7;
	err = dt_ioctl(devfd, AISIO_DMABUF_IOC_DETACH, &d);
	dt_check(err == -EINVAL, "bad: detach with reserved bits gives EINVAL (%s)", strerror(-err));
	dt_check(dt_attachments() == base, "twice: nothing held after detach");
	close(fd);
}

/* Handles are private to one open file; the dma-buf fd may go after attach. */
static void test_ownership(void)
{
	static struct aisio_dmabuf_seg segs[MAX_SEGS];
	struct aisio_dmabuf_attach a, b;
	long base = dt_attachments();
	int f2, fd, err;
	uint32_t n;

	f2 = open(AISIO_DMABUF_DEV_PATH, O_RDWR | O_CLOEXEC);
	fd = dt_heap_alloc(8 * DT_PAGE);
	if (!dt_check(f2 >= 0 && fd >= 0, "owner: second open and a buffer"))
		return;
	err = attach(devfd, fd, &a);
	dt_check(err == 0, "owner: attach in file 1");
	n = 0;
	err = get_map(f2, a.handle, NULL, &n);
	dt_check(err == -ENOENT, "owner: file 2 cannot read file 1's handle (%s)", strerror(-err));
	err = detach(f2, a.handle);
	dt_check(err == -ENOENT, "owner: file 2 cannot detach file 1's handle (%s)", strerror(-err));
	err = attach(f2, fd, &b);
	dt_check(err == 0, "owner: file 2 attaches the same buffer on its own (%s)", strerror(-err));
	close(fd);
	n = MAX_SEGS;
	err = get_map(devfd, a.handle, segs, &n);
	dt_check(err == 0 && n >= 1, "owner: map still readable after the dma-buf fd is closed");
	dt_check(dt_attachments() == base + 2, "owner: two attachments held");
	close(f2);
	dt_check(dt_attachments() == base + 1, "owner: closing file 2 drops only its attachment");
	dt_check(detach(devfd, a.handle) == 0 && dt_attachments() == base, "owner: file 1 detaches");

	/* Closing with several attachments releases them all. */
	f2 = open(AISIO_DMABUF_DEV_PATH, O_RDWR | O_CLOEXEC);
	for (int i = 0; i < 3; i++) {
		fd = dt_heap_alloc(4 * DT_PAGE);
		attach(f2, fd, &a);
		close(fd);
	}
	dt_check(dt_attachments() == base + 3, "close: three attachments held");
	close(f2);
	dt_check(dt_attachments() == base, "close: closing the file releases all three");
}

/* Attaching needs CAP_SYS_RAWIO or CAP_SYS_ADMIN, whoever opened the file. */
static void test_privilege(void)
{
	long base = dt_attachments();
	int fd = dt_heap_alloc(4 * DT_PAGE), err;

	if (!dt_check(fd >= 0, "priv: buffer"))
		return;
	err = attach_as("nobody", fd, NULL);
	dt_check(err == -EPERM, "priv: setuid nobody on root's open file: attach gives EPERM (%s)",
		 strerror(err < 0 ? -err : 0));
	err = attach_as("no-caps", fd, NULL);
	dt_check(err == -EPERM, "priv: uid 0 without CAP_SYS_RAWIO and CAP_SYS_ADMIN: EPERM (%s)",
		 strerror(err < 0 ? -err : 0));
	err = attach_as("rawio", fd, NULL);
	dt_check(err == 0, "priv: CAP_SYS_RAWIO alone is enough (%s)", strerror(err < 0 ? -err : 0));
	err = attach_as("admin", fd, NULL);
	dt_check(err == 0, "priv: CAP_SYS_ADMIN alone is enough (%s)", strerror(err < 0 ? -err : 0));
	dt_check(dt_attachments() == base, "priv: nothing left attached");
	close(fd);
}

/* A detached handle is not handed out again at once. */
static void test_handles(void)
{
	struct aisio_dmabuf_attach a;
	uint32_t seen[8];
	int fd = dt_heap_alloc(DT_PAGE), err = 0, fresh = 1;

	if (!dt_check(fd >= 0, "handles: buffer"))
		return;
	for (int i = 0; i < 8 && !err; i++) {
		err = attach(devfd, fd, &a);
		seen[i] = a.handle;
		for (int j = 0; j < i; j++)
			fresh &= seen[j] != seen[i];
		if (!err)
			err = detach(devfd, a.handle);
	}
	dt_check(!err && fresh, "handles: 8 attach/detach rounds give 8 different handles (%u ... %u; %s)",
		 seen[0], seen[7], strerror(-err));
	close(fd);
}

/*
 * An exporter revoking a pinned buffer (move_notify): the attachment is
 * revoked, the file reports EPOLLERR, the handle gives ENODEV until it is
 * detached, and the buffer can be attached afresh.
 */
static void test_move_notify(void)
{
	struct epoll_event ev = { .events = EPOLLIN }, got;
	struct aisio_dmabuf_attach a, b, c;
	long base = dt_attachments();
	int f2, fd, other, ep, err, ev0, ev1, n;
	uint32_t nsegs;

	f2 = open(AISIO_DMABUF_DEV_PATH, O_RDWR | O_CLOEXEC);
	fd = dt_heap_alloc(8 * DT_PAGE);
	other = dt_heap_alloc(8 * DT_PAGE);
	if (!dt_check(f2 >= 0 && fd >= 0 && other >= 0, "revoke: buffers and a second file"))
		return;
	err = attach(f2, fd, &a);
	if (!err)
		err = attach(f2, other, &b);
	if (!dt_check(!err, "revoke: two attachments on one file (%s)", strerror(-err)))
		return;
	ep = epoll_create1(EPOLL_CLOEXEC);
	epoll_ctl(ep, EPOLL_CTL_ADD, f2, &ev);
	ev0 = poll_events(f2, 0);
	dt_check(ev0 == 0, "revoke: no poll events before (%#x)", ev0);

	err = dt_exporter_revoke(fd);
	dt_check(!err, "revoke: exporter revokes the buffer (debugfs hook: %s; module loaded with debug_hooks=1?)",
		 strerror(-err));
	ev1 = poll_events(f2, 1000);
	dt_check(ev1 > 0 && (ev1 & POLLERR), "revoke: poll gives POLLERR (%#x)", ev1);
	n = epoll_wait(ep, &got, 1, 1000);
	dt_check(n == 1 && (got.events & EPOLLERR), "revoke: epoll gives EPOLLERR");
	nsegs = 0;
	err = get_map(f2, a.handle, NULL, &nsegs);
	dt_check(err == -ENODEV, "revoke: map of the revoked handle gives ENODEV (%s)", strerror(-err));
	nsegs = 0;
	err = get_map(f2, b.handle, NULL, &nsegs);
	dt_check(err == 0 && nsegs >= 1, "revoke: the other attachment of the file still works (%s)",
		 strerror(-err));
	err = attach(f2, fd, &c);
	dt_check(err == 0 && c.handle != a.handle, "revoke: the buffer attaches afresh (%s)", strerror(-err));
	dt_check(dt_attachments() == base + 3, "revoke: the revoked handle is held until detached");
	err = detach(f2, a.handle);
	dt_check(err == 0, "revoke: detaching the revoked handle (%s)", strerror(-err));
	ev1 = poll_events(f2, 0);
	dt_check(ev1 == 0, "revoke: no poll events once it is detached (%#x)", ev1);
	err = detach(f2, a.handle);
	dt_check(err == -ENOENT, "revoke: it is gone (%s)", strerror(-err));
	close(ep);
	close(f2);
	dt_check(dt_attachments() == base, "revoke: closing the file releases the rest");
	close(other);
	close(fd);
}

/*
 * Attach for @bdf, say "attached", and wait for someone to unbind, rebind
 * or remove the function: the attachment must be revoked (POLLERR, ENODEV)
 * and detach cleanly.
 */
static int run_revoke(const char *bdf)
{
	struct aisio_dmabuf_attach a;
	long base = dt_attachments();
	int fd = dt_heap_alloc(16 * DT_PAGE), err, ev, bits0 = dma_mask_bits(bdf), bits;
	uint32_t n = 0;

	err = fd < 0 ? fd : attach_pci(devfd, fd, bdf, &a);
	if (!dt_check(!err, "revoke: attach for %s (%s)", bdf, strerror(-err)))
		return 1;
	ev = poll_events(devfd, 0);
	dt_check(ev == 0, "revoke: no poll events while %s is ours (%#x)", bdf, ev);
	printf("attached\n");
	fflush(stdout);
	ev = poll_events(devfd, 30000);
	dt_check(ev > 0 && (ev & POLLERR), "revoke: poll gives POLLERR (%#x)", ev);
	err = get_map(devfd, a.handle, NULL, &n);
	dt_check(err == -ENODEV, "revoke: map of the revoked handle gives ENODEV (%s)", strerror(-err));
	dt_check(detach(devfd, a.handle) == 0 && poll_events(devfd, 0) == 0,
		 "revoke: detach, no more events");
	dt_check(dt_attachments() == base, "revoke: nothing left attached");
	bits = dma_mask_bits(bdf);
	if (bits >= 0)
		dt_check(bits == bits0, "revoke: %s is back to its %d-bit DMA mask (%d)", bdf, bits0, bits);
	else
		printf("# %s is gone\n", bdf);
	close(fd);
	return dt_failed ? 1 : 0;
}

/* Attached devices of the dma-buf with inode @ino in debugfs, or -1. */
static int bufinfo_attached(unsigned long ino)
{
	char line[512], want[32];
	int found = 0, n = -1;
	FILE *f = fopen("/sys/kernel/debug/dma_buf/bufinfo", "r");

	if (!f)
		return -1;
	snprintf(want, sizeof(want), "\t%08lu\t", ino);
	while (fgets(line, sizeof(line), f)) {
		if (!found) {
			found = strstr(line, want) != NULL;
			continue;
		}
		if (sscanf(line, "Total %d devices attached", &n) == 1)
			break;
	}
	fclose(f);
	return n;
}

/* A process killed while attached leaves nothing behind. */
static void test_killed(void)
{
	long base = dt_attachments();
	int fd, pfd[2], status, before, after;
	struct stat st;
	pid_t pid;
	char c;

	fd = dt_heap_alloc(32 * DT_PAGE);
	if (!dt_check(fd >= 0 && pipe(pfd) == 0 && fstat(fd, &st) == 0, "kill: buffer and pipe"))
		return;
	before = bufinfo_attached(st.st_ino);
	pid = fork();
	if (pid == 0) {
		struct aisio_dmabuf_attach a;
		int dev = open(AISIO_DMABUF_DEV_PATH, O_RDWR);

		c = dev >= 0 && attach(dev, fd, &a) == 0 ? 'y' : 'n';
		if (write(pfd[1], &c, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(pfd[1]);
	c = 0;
	if (read(pfd[0], &c, 1) != 1)
		c = 0;
	dt_check(c == 'y', "kill: child attached");
	dt_check(dt_attachments() == base + 1, "kill: module holds the child's attachment");
	if (before >= 0)
		dt_check(bufinfo_attached(st.st_ino) == before + 1, "kill: dma-buf lists one more attached device");
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	dt_check(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "kill: child died of SIGKILL");
	dt_check(dt_attachments() == base, "kill: attachment released on exit (%ld held)",
		 dt_attachments() - base);
	after = bufinfo_attached(st.st_ino);
	if (before >= 0)
		dt_check(after == before, "kill: dma-buf attached devices back to %d (%d)", before, after);
	else
		printf("# debugfs bufinfo not available: attached-device count not checked\n");
	close(pfd[0]);
	close(fd);
}

/*
 * Map a buffer for PCI function @bdf. In an identity domain the addresses
 * must equal the module's direct (physical) map of the same buffer; behind
 * a translating IOMMU they are IOVAs.
 */
static int run_pci(const char *bdf, const char *expect)
{
	static struct aisio_dmabuf_seg segs[MAX_SEGS], phys[MAX_SEGS];
	struct aisio_dmabuf_attach a, p;
	size_t len = 64 * DT_PAGE;
	uint32_t n = MAX_SEGS, np = MAX_SEGS;
	int fd, err;

	int bits0 = dma_mask_bits(bdf), bits;

	fd = dt_heap_alloc(len);
	if (!dt_check(fd >= 0, "pci: buffer"))
		return 1;
	err = attach_as("no-caps", fd, bdf);
	dt_check(err == -EPERM, "pci: without CAP_SYS_RAWIO/CAP_SYS_ADMIN attaching for %s gives EPERM (%s)",
		 bdf, strerror(err < 0 ? -err : 0));
	err = attach_pci(devfd, fd, bdf, &a);
	if (!strcmp(expect, "busy")) {
		dt_check(err == -EBUSY, "pci: %s (DMA owned by another driver or user space) refused with EBUSY (%s)",
			 bdf, strerror(-err));
		dt_check(dma_mask_bits(bdf) == bits0, "pci: its DMA mask is untouched (%d bits)", bits0);
		return dt_failed ? 1 : 0;
	}
	if (!dt_check(err == 0, "pci: attach for %s (%s)", bdf, strerror(-err)))
		return 1;
	bits = dma_mask_bits(bdf);
	dt_check(bits == 64, "pci: 64-bit DMA mask while attached (%d bits, %d before)", bits, bits0);
	err = get_map(devfd, a.handle, segs, &n);
	dt_check(err == 0 && n == a.nsegs, "pci: %u segments, out_flags %#x", n, a.out_flags);
	if (a.out_flags & AISIO_DMABUF_OUT_PHYS) {
		err = attach(devfd, fd, &p);
		if (!err)
			err = get_map(devfd, p.handle, phys, &np);
		dt_check(!err && np == n && !memcmp(phys, segs, n * sizeof(*segs)),
			 "pci: identity domain: same addresses as the physical map");
		detach(devfd, p.handle);
	} else {
		printf("# %s is behind a translating IOMMU: first IOVA %#llx\n", bdf,
		       (unsigned long long)segs[0].addr);
	}
	dt_check(detach(devfd, a.handle) == 0, "pci: detach");
	bits = dma_mask_bits(bdf);
	dt_check(bits == bits0, "pci: DMA mask back to %d bits after the last detach (%d)", bits0, bits);
	close(fd);
	return dt_failed ? 1 : 0;
}

/*
 * With the function on vfio-pci its DMA goes through a VFIO container, not
 * the kernel's domain, so the importer refuses it; and VFIO type 1 cannot
 * map a dma-buf's mmap either: exporters map their pages VM_PFNMAP and
 * type 1 refuses to pin PFN-mapped system RAM (EFAULT). An ordinary
 * anonymous buffer maps fine in the same container, as a control.
 */
static int run_vfio(const char *bdf)
{
	struct vfio_group_status gs = { .argsz = sizeof(gs) };
	struct vfio_iommu_type1_dma_map map = { .argsz = sizeof(map) };
	char link[256], path[300];
	size_t len = 16 * DT_PAGE;
	int container, group, fd, err;
	ssize_t n;
	void *va, *anon;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (!dt_check(n > 0, "vfio: %s has an IOMMU group", bdf))
		return 1;
	link[n] = 0;
	snprintf(path, sizeof(path), "/dev/vfio/%s", basename(link));
	container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	group = open(path, O_RDWR | O_CLOEXEC);
	if (!dt_check(container >= 0 && group >= 0, "vfio: open container and %s", path))
		return 1;
	err = dt_ioctl(group, VFIO_GROUP_GET_STATUS, &gs);
	dt_check(!err && (gs.flags & VFIO_GROUP_FLAGS_VIABLE), "vfio: group viable");
	err = dt_ioctl(group, VFIO_GROUP_SET_CONTAINER, &container);
	if (!err)
		err = ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0 ? -errno : 0;
	if (!dt_check(!err, "vfio: type 1 container set up (%s)", strerror(-err)))
		return 1;

	fd = dt_heap_alloc(len);
	va = fd < 0 ? MAP_FAILED : mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	anon = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!dt_check(va != MAP_FAILED && anon != MAP_FAILED, "vfio: dma-buf and anonymous buffers"))
		return 1;
	map.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
	map.vaddr = (uint64_t)(uintptr_t)anon;
	map.iova = 1ull << 32;
	map.size = len;
	err = dt_ioctl(container, VFIO_IOMMU_MAP_DMA, &map);
	dt_check(err == 0, "vfio: an anonymous buffer maps into the container (%s)", strerror(-err));
	map.vaddr = (uint64_t)(uintptr_t)va;
	map.iova = 2ull << 32;
	err = dt_ioctl(container, VFIO_IOMMU_MAP_DMA, &map);
	dt_check(err == -EFAULT, "vfio: the dma-buf's mmap does not (%s): type 1 cannot pin PFN-mapped pages",
		 strerror(-err));
	if (!err)
		printf("# vfio type 1 mapped a dma-buf mmap: the limitation is gone in this kernel\n");
	/* While the container holds the group, the importer must still refuse. */
	err = run_pci(bdf, "busy");
	munmap(va, len);
	munmap(anon, len);
	close(fd);
	close(group);
	close(container);
	return err;
}

/*
 * Attach, read the map and detach for @bdf in a loop until attaching says
 * the function is gone (ENODEV; someone removes it meanwhile), at most
 * 20 s. Every round either works or fails with ENODEV or EBUSY (gone or
 * being unbound) and leaves nothing attached.
 */
static int run_churn(const char *bdf)
{
	struct aisio_dmabuf_attach a;
	long base = dt_attachments();
	unsigned ok = 0, revoked = 0, bad = 0;
	int fd = dt_heap_alloc(16 * DT_PAGE), err = 0, first = 1;
	uint32_t n;

	if (!dt_check(fd >= 0, "churn: buffer"))
		return 1;
	for (int i = 0; i < 200000; i++) {
		err = attach_pci(devfd, fd, bdf, &a);
		if (first) {
			printf("attached\n");
			fflush(stdout);
			first = 0;
		}
		if (err == -ENODEV)
			break;
		if (err == -EBUSY) {
			usleep(1000);
			continue;
		}
		if (err) {
			bad++;
			continue;
		}
		n = 0;
		err = get_map(devfd, a.handle, NULL, &n);
		if (err == -ENODEV)
			revoked++;
		else if (err)
			bad++;
		else
			ok++;
		if (detach(devfd, a.handle))
			bad++;
	}
	dt_check(err == -ENODEV && !bad,
		 "churn: %u rounds mapped, %u revoked under way, %u unexpected results, ended with %s", ok,
		 revoked, bad, strerror(-err));
	dt_check(dt_attachments() == base && poll_events(devfd, 0) == 0, "churn: nothing left attached");
	close(fd);
	return dt_failed ? 1 : 0;
}

/* Attach (for PCI function @bdf when given) and wait to be killed. */
static int run_hold(const char *bdf)
{
	struct aisio_dmabuf_attach a;
	int fd = dt_heap_alloc(4 * DT_PAGE);

	memset(&a, 0, sizeof(a));
	a.fd = fd;
	if (bdf) {
		a.flags = AISIO_DMABUF_ATTACH_PCI;
		snprintf(a.pci_dev, sizeof(a.pci_dev), "%s", bdf);
	}
	if (fd < 0 || dt_ioctl(devfd, AISIO_DMABUF_IOC_ATTACH, &a) != 0) {
		printf("hold: attach failed\n");
		return 1;
	}
	printf("held\n");
	fflush(stdout);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	long abi;

	devfd = open(AISIO_DMABUF_DEV_PATH, O_RDWR | O_CLOEXEC);
	if (devfd < 0) {
		printf("# %s: %s (module not loaded)\n", AISIO_DMABUF_DEV_PATH, strerror(errno));
		return 77;
	}
	if (argc == 4 && !strcmp(argv[1], "pci"))
		return run_pci(argv[2], argv[3]);
	if (argc == 3 && !strcmp(argv[1], "vfio"))
		return run_vfio(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "revoke"))
		return run_revoke(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "churn"))
		return run_churn(argv[2]);
	if (argc >= 2 && argc <= 3 && !strcmp(argv[1], "hold"))
		return run_hold(argc == 3 ? argv[2] : NULL);

	abi = dt_sysfs_long("abi_version");
	dt_check(abi == AISIO_DMABUF_ABI_VERSION, "module ABI version %ld", abi);
	dt_check(dt_attachments() == 0, "no attachments at start");
	test_exporters();
	test_get_map_bounds();
	test_bad_input();
	test_ownership();
	test_killed();
	test_privilege();
	test_handles();
	test_move_notify();
	close(devfd);
	dt_check(dt_attachments() == 0, "no attachments at the end");
	printf("# %d failed\n", dt_failed);
	return dt_failed ? 1 : 0;
}
