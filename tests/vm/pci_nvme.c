/* SPDX-License-Identifier: MIT */
/*
 * Drives a real NVMe function through aisio_pcif_open() with the smallest
 * possible NVMe host (one admin queue, one polled I/O queue), independent of
 * the user-space driver in src/drv/, so a failure here points at the PCI
 * provider: binding, BAR0 mapping, bus mastering, DMA translation, restore.
 * The same data pattern is written or checked through the kernel's block
 * device, which makes the user-space <-> kernel cross-check.
 *
 *   pci_nvme probe BDF uio|vfio|auto [NSID]      identify, write/read/compare, restore
 *   pci_nvme write BDF uio|vfio LBA NBLK SEED     write the pattern from user space
 *   pci_nvme read  BDF uio|vfio LBA NBLK SEED     read and check it from user space
 *   pci_nvme kwrite DEV LBA NBLK SEED             same through a kernel block device
 *   pci_nvme kread  DEV LBA NBLK SEED
 *   pci_nvme errors                               bad input gives clear errors
 * Exit: 0 pass, 1 fail, 77 not in a testbed guest.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <aisio/aisio.h>
#include <aisio/nvme_spec.h>

#include "pci/pci.h"
#include "pci/sysfs.h"

#define QD 32
#define PG 4096u

static int failures;

#define CHECK(c, ...)                                                                   \
	do {                                                                            \
		if (!(c)) {                                                             \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);            \
			fprintf(stderr, __VA_ARGS__);                                   \
			fprintf(stderr, "\n");                                          \
			failures++;                                                     \
		}                                                                       \
	} while (0)

/* A fixed pattern per (seed, byte offset on the namespace). */
static void pattern(uint8_t *buf, uint64_t off, size_t len, uint64_t seed)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t x = (off + i) * 0x9e3779b97f4a7c15ull ^ seed;

		x ^= x >> 29;
		x *= 0xbf58476d1ce4e5b9ull;
		x ^= x >> 32;
		memcpy(buf + i, &x, 8);
	}
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

struct host {
	struct aisio_pcif *f;
	struct aisio_mem_region *r;
	uint32_t dstrd;
	uint32_t to_ms;
	struct aisio_nvme_sqe *sq[2];
	struct aisio_nvme_cqe *cq[2];
	uint16_t sqt[2], cqh[2], phase[2], cid;
	uint32_t lbads, mdts_bytes;
	uint64_t nsze;
	uint8_t *buf;  /* data buffer straddling the first hugepage boundary */
	uint8_t *list; /* PRP list page */
};

static uint64_t bus(struct host *h, const void *p)
{
	return aisio_mem_bus(h->r, p);
}

static int wait_rdy(struct host *h, uint32_t want)
{
	double end = now() + h->to_ms / 1000.0;

	while ((aisio_pcif_read32(h->f, AISIO_NVME_REG_CSTS) & AISIO_NVME_CSTS_RDY) != want) {
		if (now() > end) {
			fprintf(stderr, "CSTS.RDY did not become %u (CSTS 0x%x)\n", want,
				aisio_pcif_read32(h->f, AISIO_NVME_REG_CSTS));
			return -ETIMEDOUT;
		}
		usleep(1000);
	}
	return 0;
}

/* Submit on queue @q and poll for the completion; returns the status code (0 = success). */
static int submit(struct host *h, int q, struct aisio_nvme_sqe *cmd, uint32_t *dw0)
{
	struct aisio_nvme_cqe *cqe;
	double end = now() + 10;
	uint16_t st;

	cmd->cid = ++h->cid;
	h->sq[q][h->sqt[q]] = *cmd;
	h->sqt[q] = (uint16_t)((h->sqt[q] + 1) % QD);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	aisio_pcif_write32(h->f, aisio_nvme_db_offset((uint32_t)q, 0, h->dstrd), h->sqt[q]);
	cqe = &h->cq[q][h->cqh[q]];
	while (aisio_nvme_cqe_phase(__atomic_load_n(&cqe->status, __ATOMIC_ACQUIRE)) != h->phase[q]) {
		if (now() > end) {
			fprintf(stderr, "command 0x%02x on queue %d: no completion in 10 s\n", cmd->opc, q);
			return -ETIMEDOUT;
		}
	}
	st = cqe->status;
	if (cqe->cid != cmd->cid)
		fprintf(stderr, "completion cid %u, expected %u\n", cqe->cid, cmd->cid);
	if (dw0)
		*dw0 = cqe->dw0;
	if (++h->cqh[q] == QD) {
		h->cqh[q] = 0;
		h->phase[q] ^= 1;
	}
	aisio_pcif_write32(h->f, aisio_nvme_db_offset((uint32_t)q, 1, h->dstrd), h->cqh[q]);
	return (int)aisio_nvme_cqe_code(st);
}

static int admin(struct host *h, uint8_t opc, uint32_t nsid, const void *buf, uint32_t c10, uint32_t c11,
		 uint32_t *dw0)
{
	struct aisio_nvme_sqe c = { .opc = opc, .nsid = nsid, .cdw10 = c10, .cdw11 = c11 };
	int st;

	if (buf) {
		c.dptr.prp.prp1 = bus(h, buf);
		/* A 4 KiB buffer that does not start on a page continues on the next page. */
		c.dptr.prp.prp2 = bus(h, (const uint8_t *)buf + (PG - ((uintptr_t)buf & (PG - 1))));
	}
	st = submit(h, 0, &c, dw0);
	if (st)
		fprintf(stderr, "admin opcode 0x%02x: status 0x%x\n", opc, st);
	return st;
}

static int host_init(struct host *h, const char *bdf, const char *drv)
{
	struct aisio_nvme_id_ctrl *idc;
	struct aisio_nvme_id_ns *ids;
	uint64_t cap;
	uint16_t vendor, cmd;
	uint32_t cls;
	uint8_t *va;
	int err;

	memset(h, 0, sizeof(*h));
	err = aisio_pcif_open(bdf, !strcmp(drv, "auto") ? NULL : drv, &h->f);
	if (err) {
		fprintf(stderr, "aisio_pcif_open(%s, %s): %s (%s)\n", bdf, drv, strerror(-err), aisio_errmsg());
		return err;
	}
	CHECK(!h->f->ops->cfg_read(h->f, AISIO_PCI_CFG_VENDOR, &vendor, 2), "config read");
	CHECK(!h->f->ops->cfg_read(h->f, AISIO_PCI_CFG_CLASS, &cls, 4), "config read");
	CHECK(!h->f->ops->cfg_read(h->f, AISIO_PCI_CFG_COMMAND, &cmd, 2), "config read");
	CHECK(cls >> 8 == 0x010802, "class 0x%06x is not an NVMe controller", cls >> 8);
	CHECK(cmd & AISIO_PCI_CMD_MASTER, "bus mastering not enabled (command 0x%x)", cmd);
	CHECK(h->f->bar0_len >= 0x2000, "BAR0 is only %zu bytes", h->f->bar0_len);

	cap = aisio_pcif_read64(h->f, AISIO_NVME_REG_CAP);
	h->dstrd = aisio_nvme_cap_dstrd(cap);
	h->to_ms = (aisio_nvme_cap_to(cap) + 1) * 500;
	printf("%s via %s: vendor 0x%04x, CAP 0x%016" PRIx64 ", VS 0x%08x, BAR0 %zu bytes\n", bdf, drv, vendor,
	       cap, aisio_pcif_read32(h->f, AISIO_NVME_REG_VS), h->f->bar0_len);
	CHECK(aisio_nvme_cap_mqes(cap) + 1 >= QD, "MQES %u too small", aisio_nvme_cap_mqes(cap));

	/* Two hugepages, so buffers can straddle a chunk boundary. */
	err = h->f->ops->dma_alloc(h->f, 4u << 20, &h->r);
	if (err) {
		fprintf(stderr, "dma_alloc: %s (%s)\n", strerror(-err), aisio_errmsg());
		return err;
	}
	printf("DMA region '%s': %zu bytes, chunk %u KiB, bus[0] 0x%" PRIx64 ", bus[1] 0x%" PRIx64 "\n",
	       h->r->name, h->r->len, (1u << h->r->chunk_shift) >> 10, h->r->bus[0],
	       h->r->len >> h->r->chunk_shift > 1 ? h->r->bus[1] : 0);
	CHECK(h->r->len >= (4u << 20), "region too small");
	va = h->r->va;
	h->sq[0] = (void *)va;
	h->cq[0] = (void *)(va + 1 * PG);
	h->sq[1] = (void *)(va + 2 * PG);
	h->cq[1] = (void *)(va + 3 * PG);
	h->list = va + 4 * PG;
	/* 64 KiB starting 16 KiB before the boundary between chunk 0 and chunk 1. */
	h->buf = va + ((size_t)1 << h->r->chunk_shift) - 4 * PG;
	h->phase[0] = h->phase[1] = 1;

	aisio_pcif_write32(h->f, AISIO_NVME_REG_CC, 0);
	if (wait_rdy(h, 0))
		return -ETIMEDOUT;
	aisio_pcif_write32(h->f, AISIO_NVME_REG_AQA, AISIO_NVME_AQA(QD, QD));
	aisio_pcif_write64(h->f, AISIO_NVME_REG_ASQ, bus(h, h->sq[0]));
	aisio_pcif_write64(h->f, AISIO_NVME_REG_ACQ, bus(h, h->cq[0]));
	aisio_pcif_write32(h->f, AISIO_NVME_REG_CC, AISIO_NVME_CC_EN | AISIO_NVME_CC_CSS_NVM | AISIO_NVME_CC_MPS(12) |
						  AISIO_NVME_CC_IOSQES(6) | AISIO_NVME_CC_IOCQES(4));
	if (wait_rdy(h, 1))
		return -ETIMEDOUT;

	/* Identify Controller into a buffer that crosses the chunk boundary. */
	idc = (void *)(va + ((size_t)1 << h->r->chunk_shift) - 2048);
	memset(idc, 0, sizeof(*idc));
	if (admin(h, AISIO_NVME_ADM_IDENTIFY, 0, idc, AISIO_NVME_CNS_CTRL, 0, NULL))
		return -EIO;
	printf("identify: vid 0x%04x, mn '%.40s', mdts %u\n", idc->vid, idc->mn, idc->mdts);
	CHECK(idc->vid == vendor, "Identify VID 0x%04x != config vendor 0x%04x", idc->vid, vendor);
	CHECK(!strncmp(idc->mn, "QEMU NVMe Ctrl", 14), "model '%.40s'", idc->mn);
	h->mdts_bytes = idc->mdts ? PG << idc->mdts : 1u << 20;

	ids = (void *)(va + 8 * PG);
	if (admin(h, AISIO_NVME_ADM_IDENTIFY, 1, ids, AISIO_NVME_CNS_NS, 0, NULL))
		return -EIO;
	h->lbads = ids->lbaf[aisio_nvme_id_ns_flbas_index(ids)].lbads;
	h->nsze = ids->nsze;
	printf("namespace 1: %" PRIu64 " blocks of %u bytes\n", h->nsze, 1u << h->lbads);
	CHECK(h->nsze > 0 && (h->lbads == 9 || h->lbads == 12), "odd namespace");

	if (admin(h, AISIO_NVME_ADM_SET_FEATURES, 0, NULL, AISIO_NVME_FEAT_NUM_QUEUES,
		  AISIO_NVME_FEAT_NUM_QUEUES_VAL(1, 1), NULL))
		return -EIO;
	/* Polled queues: physically contiguous, interrupts off. */
	memset(h->cq[1], 0, PG);
	if (admin(h, AISIO_NVME_ADM_CREATE_CQ, 0, h->cq[1], (QD - 1) << 16 | 1, 1, NULL) ||
	    admin(h, AISIO_NVME_ADM_CREATE_SQ, 0, h->sq[1], (QD - 1) << 16 | 1, 1u << 16 | 1, NULL))
		return -EIO;
	return 0;
}

static void host_term(struct host *h)
{
	if (h->cq[1]) {
		admin(h, AISIO_NVME_ADM_DELETE_SQ, 0, NULL, 1, 0, NULL);
		admin(h, AISIO_NVME_ADM_DELETE_CQ, 0, NULL, 1, 0, NULL);
	}
	if (h->f) {
		aisio_pcif_write32(h->f, AISIO_NVME_REG_CC, AISIO_NVME_CC_EN | AISIO_NVME_CC_SHN_NORMAL);
		for (int i = 0; i < 1000; i++) {
			if ((aisio_pcif_read32(h->f, AISIO_NVME_REG_CSTS) & AISIO_NVME_CSTS_SHST_MASK) ==
			    AISIO_NVME_CSTS_SHST_CMPLT)
				break;
			usleep(1000);
		}
	}
	aisio_mem_region_release(h->r);
	aisio_pcif_close(h->f);
}

/* One read or write of @nblk blocks at @lba from/to h->buf, PRP list as needed. */
static int rw(struct host *h, uint8_t opc, uint64_t lba, uint32_t nblk)
{
	size_t len = (size_t)nblk << h->lbads;
	struct aisio_nvme_sqe c = {
		.opc = opc,
		.nsid = 1,
		.cdw10 = (uint32_t)lba,
		.cdw11 = (uint32_t)(lba >> 32),
		.cdw12 = nblk - 1,
	};
	size_t npages = (len + PG - 1) / PG;
	uint64_t *l = (uint64_t *)h->list;
	int st;

	c.dptr.prp.prp1 = bus(h, h->buf);
	if (npages == 2) {
		c.dptr.prp.prp2 = bus(h, h->buf + PG);
	} else if (npages > 2) {
		for (size_t i = 1; i < npages; i++)
			l[i - 1] = bus(h, h->buf + i * PG);
		c.dptr.prp.prp2 = bus(h, l);
	}
	st = submit(h, 1, &c, NULL);
	if (st)
		fprintf(stderr, "%s of %u blocks at LBA %" PRIu64 ": status 0x%x\n", opc == AISIO_NVME_NVM_WRITE ? "write" : "read",
			nblk, lba, st);
	return st;
}

/* Write or check the pattern over [lba, lba+nblk) in transfers the controller accepts. */
static int user_io(struct host *h, int write, uint64_t lba, uint32_t nblk, uint64_t seed)
{
	uint32_t max = (h->mdts_bytes < 64 * 1024 ? h->mdts_bytes : 64 * 1024) >> h->lbads;
	size_t bs = (size_t)1 << h->lbads;
	static uint8_t want[64 * 1024];

	while (nblk) {
		uint32_t n = nblk < max ? nblk : max;
		size_t len = n * bs;

		pattern(want, lba * bs, len, seed);
		if (write)
			memcpy(h->buf, want, len);
		else
			memset(h->buf, 0xa5, len);
		if (rw(h, write ? AISIO_NVME_NVM_WRITE : AISIO_NVME_NVM_READ, lba, n))
			return -EIO;
		if (!write && memcmp(h->buf, want, len)) {
			fprintf(stderr, "data mismatch in %u blocks at LBA %" PRIu64 "\n", n, lba);
			return -EIO;
		}
		lba += n;
		nblk -= n;
	}
	return 0;
}

static void driver_of(const char *bdf, char *drv, size_t len)
{
	char b[AISIO_PCI_BDF_LEN];

	drv[0] = '\0';
	if (!aisio_pci_bdf_parse(bdf, b))
		aisio_pci_sysfs_driver(b, drv, len);
}

static int cmd_probe(const char *bdf, const char *drv)
{
	char before[64], after[64];
	struct host h;
	int err;

	driver_of(bdf, before, sizeof(before));
	err = host_init(&h, bdf, drv);
	if (!err) {
		/* 64 KiB (or MDTS) transfers through the straddling buffer, both ways. */
		CHECK(!user_io(&h, 1, 64, 256, 0x1234), "write");
		CHECK(!user_io(&h, 0, 64, 256, 0x1234), "read back");
		/* An LBA beyond the namespace must fail with LBA Out of Range (0x80). */
		CHECK(rw(&h, AISIO_NVME_NVM_READ, h.nsze, 1) == 0x80, "read past the end did not fail");
	}
	CHECK(!err, "bring-up failed");
	host_term(&h);
	driver_of(bdf, after, sizeof(after));
	printf("driver before '%s', after close '%s'\n", before, after);
	CHECK(!strcmp(before, after), "binding not restored: '%s' became '%s'", before, after);
	return failures ? 1 : 0;
}

static int cmd_user(const char *bdf, const char *drv, int write, uint64_t lba, uint32_t nblk, uint64_t seed)
{
	struct host h;
	int err = host_init(&h, bdf, drv);

	if (!err)
		err = user_io(&h, write, lba, nblk, seed);
	host_term(&h);
	printf("user-space %s of %u blocks at LBA %" PRIu64 " via %s: %s\n", write ? "write" : "check", nblk, lba, drv,
	       err || failures ? "FAIL" : "ok");
	return err || failures ? 1 : 0;
}

static int cmd_kernel(const char *dev, int write, uint64_t lba, uint32_t nblk, uint64_t seed)
{
	int fd = open(dev, (write ? O_WRONLY : O_RDONLY) | O_DIRECT), bs = 0;
	size_t len;
	uint8_t *want, *got;
	ssize_t n;
	int ok;

	if (fd < 0 || ioctl(fd, BLKSSZGET, &bs) || bs <= 0) {
		fprintf(stderr, "%s: %s\n", dev, strerror(errno));
		return 1;
	}
	len = (size_t)nblk * (size_t)bs;
	if (posix_memalign((void **)&want, PG, len) || posix_memalign((void **)&got, PG, len))
		return 1;
	pattern(want, lba * (uint64_t)bs, len, seed);
	if (write) {
		n = pwrite(fd, want, len, (off_t)(lba * (uint64_t)bs));
		ok = n == (ssize_t)len && !fsync(fd);
	} else {
		n = pread(fd, got, len, (off_t)(lba * (uint64_t)bs));
		ok = n == (ssize_t)len && !memcmp(want, got, len);
	}
	close(fd);
	printf("kernel %s of %u blocks at LBA %" PRIu64 " on %s: %s\n", write ? "write" : "check", nblk, lba, dev,
	       ok ? "ok" : "FAIL");
	free(want);
	free(got);
	return ok ? 0 : 1;
}

/* Bad input must fail cleanly, with a message naming the problem. */
static int cmd_errors(void)
{
	struct aisio_pcif *f = (void *)1;
	char b[AISIO_PCI_BDF_LEN];
	int err;

	CHECK(aisio_pci_bdf_parse("0000:01:00.0", b) == 0 && !strcmp(b, "0000:01:00.0"), "full BDF");
	CHECK(aisio_pci_bdf_parse("1:0.0", b) == 0 && !strcmp(b, "0000:01:00.0"), "short BDF");
	CHECK(aisio_pci_bdf_parse("01:20.0", b) == -EINVAL, "device 0x20 accepted");
	CHECK(aisio_pci_bdf_parse("01:00.8", b) == -EINVAL, "function 8 accepted");
	CHECK(aisio_pci_bdf_parse("nvme0", b) == -EINVAL, "name accepted");
	err = aisio_pcif_open("0000:01:00.0", "dpdk", &f);
	CHECK(err == -EINVAL && f == NULL && strstr(aisio_errmsg(), "dpdk"), "bad binding: %d %s", err, aisio_errmsg());
	err = aisio_pcif_open("0000:7f:1f.7", NULL, &f);
	CHECK(err == -ENODEV && strstr(aisio_errmsg(), "no such PCI function"), "absent function: %d %s", err,
	      aisio_errmsg());
	printf("error paths: %s\n", failures ? "FAIL" : "ok");
	return failures ? 1 : 0;
}

static uint64_t num(const char *s)
{
	return strtoull(s, NULL, 0);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && !strcmp(argv[1], "errors"))
		return cmd_errors();
	if (!getenv("AISIO_GUEST")) {
		fprintf(stderr, "pci_nvme: runs inside the testbed guest (testbed/run.sh)\n");
		return 77;
	}
	if (argc >= 4 && !strcmp(argv[1], "probe"))
		return cmd_probe(argv[2], argv[3]);
	if (argc == 7 && (!strcmp(argv[1], "write") || !strcmp(argv[1], "read")))
		return cmd_user(argv[2], argv[3], argv[1][0] == 'w', num(argv[4]), (uint32_t)num(argv[5]),
				num(argv[6]));
	if (argc == 6 && (!strcmp(argv[1], "kwrite") || !strcmp(argv[1], "kread")))
		return cmd_kernel(argv[2], argv[1][1] == 'w', num(argv[3]), (uint32_t)num(argv[4]), num(argv[5]));
	fprintf(stderr, "usage: see the comment at the top of %s\n", __FILE__);
	return 1;
}
