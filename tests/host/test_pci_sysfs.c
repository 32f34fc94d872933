/* SPDX-License-Identifier: MIT */
/*
 * src/pci on a fake sysfs tree ($AISIO_PCI_SYSFS): driver lookup, config
 * space, BAR mapping, bus mastering, and a bind that the "driver" never
 * completes, which must fail with -EBUSY and put everything back. Also the
 * hugepage allocator's error when no hugepages are reserved, and its
 * small-page fallback. Real functions are exercised in the vm suite.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <aisio/aisio.h>

#include "pci/hugemem.h"
#include "pci/pci.h"
#include "pci/sysfs.h"

static int failures;
static char root[64];

#define CHECK(c, ...)                                                                   \
	do {                                                                            \
		if (!(c)) {                                                             \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);            \
			fprintf(stderr, __VA_ARGS__);                                   \
			fprintf(stderr, " [%s]\n", aisio_errmsg());                      \
			failures++;                                                     \
		}                                                                       \
	} while (0)

static void put(const char *rel, const void *data, size_t len)
{
	char p[256];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len) {
		perror(p);
		exit(1);
	}
	close(fd);
}

static void get(const char *rel, char *buf, size_t len)
{
	char p[256];
	ssize_t n;
	int fd;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	fd = open(p, O_RDONLY);
	n = fd < 0 ? -1 : read(fd, buf, len - 1);
	buf[n < 0 ? 0 : n] = '\0';
	if (fd >= 0)
		close(fd);
}

static void dir(const char *rel)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	if (mkdir(p, 0755)) {
		perror(p);
		exit(1);
	}
}

static void make_tree(void)
{
	uint8_t cfg[256] = { 0x36, 0x1b, 0x10, 0x00, 0x02, 0x00 }; /* 1b36:0010, memory on */
	static uint8_t bar[16384];
	char p[256];

	cfg[0x09] = 0x02; /* prog-if: NVMe */
	cfg[0x0a] = 0x08;
	cfg[0x0b] = 0x01;
	memcpy(bar, "\x01\x02\x03\x04", 4);
	dir("devices");
	dir("devices/0000:01:00.0");
	dir("drivers");
	dir("drivers/nvme");
	dir("drivers/uio_pci_generic");
	put("drivers/nvme/bind", "", 0);
	put("drivers/nvme/unbind", "", 0);
	put("drivers/uio_pci_generic/bind", "", 0);
	put("drivers_probe", "", 0);
	put("devices/0000:01:00.0/config", cfg, sizeof(cfg));
	put("devices/0000:01:00.0/resource0", bar, sizeof(bar));
	put("devices/0000:01:00.0/driver_override", "(null)\n", 7);
	snprintf(p, sizeof(p), "%s/devices/0000:01:00.0/driver", root);
	if (symlink("../../drivers/nvme", p)) {
		perror(p);
		exit(1);
	}
}

static int fake_cfg_read(struct aisio_pcif *f, uint32_t off, void *buf, size_t len)
{
	return aisio_pci_cfg_pread(*(int *)f->priv, off, buf, len);
}

static int fake_cfg_write(struct aisio_pcif *f, uint32_t off, const void *buf, size_t len)
{
	return aisio_pci_cfg_pwrite(*(int *)f->priv, off, buf, len);
}

static void test_sysfs(void)
{
	const struct aisio_pcif_ops ops = { .cfg_read = fake_cfg_read, .cfg_write = fake_cfg_write };
	struct aisio_pci_binding b = { .bdf = "0000:01:00.0" };
	struct aisio_pcif f = { .ops = &ops };
	volatile uint8_t *va;
	char drv[64], buf[64];
	uint16_t cmd = 0;
	size_t len;
	int fd, err;

	CHECK(aisio_pci_sysfs_exists("0000:01:00.0") == 0, "device exists");
	CHECK(aisio_pci_sysfs_exists("0000:02:00.0") == -ENODEV && strstr(aisio_errmsg(), "no such PCI function"),
	      "absent device");
	CHECK(aisio_pci_sysfs_driver("0000:01:00.0", drv, sizeof(drv)) == 0 && !strcmp(drv, "nvme"), "driver '%s'",
	      drv);
	CHECK(aisio_pci_sysfs_iommu_group("0000:01:00.0") == -ENOENT, "no IOMMU group");
	CHECK(aisio_pci_sysfs_driver_loaded("uio_pci_generic") == 1, "uio driver present");
	CHECK(aisio_pci_sysfs_driver_loaded("vfio-pci") == 0, "vfio driver absent");

	err = aisio_pci_sysfs_map_bar("0000:01:00.0", 0, &va, &len);
	CHECK(err == 0 && len == 16384 && va[0] == 1 && va[3] == 4, "BAR0 mapping (err %d, len %zu)", err, len);
	CHECK(aisio_pci_sysfs_map_bar("0000:01:00.0", 2, &va, &len) == -ENOENT, "absent BAR2");

	fd = aisio_pci_sysfs_cfg_open("0000:01:00.0");
	CHECK(fd >= 0, "config open");
	f.priv = &fd;
	CHECK(aisio_pci_enable_master(&f) == 0, "enable master");
	CHECK(aisio_pci_cfg_pread(fd, AISIO_PCI_CFG_COMMAND, &cmd, 2) == 0 &&
		      cmd == (AISIO_PCI_CMD_MEMORY | AISIO_PCI_CMD_MASTER),
	      "command register 0x%x", cmd);
	CHECK(aisio_pci_cfg_pread(fd, 250, buf, 16) == -EIO, "short config read");
	close(fd);

	/* The fake driver never binds: -EBUSY, and the override is cleared again. */
	err = aisio_pci_sysfs_bind(&b, "uio_pci_generic");
	CHECK(err == -EBUSY && strstr(aisio_errmsg(), "did not take"), "bind that never completes: %d", err);
	get("drivers/nvme/unbind", buf, sizeof(buf));
	CHECK(!strcmp(buf, "0000:01:00.0"), "unbind written '%s'", buf);
	get("drivers_probe", buf, sizeof(buf));
	CHECK(!strcmp(buf, "0000:01:00.0"), "drivers_probe written '%s'", buf);
	get("devices/0000:01:00.0/driver_override", buf, sizeof(buf));
	/* A regular file keeps the old tail; sysfs would hold just the newline. */
	CHECK(buf[0] == '\n', "override cleared ('%s')", buf);
	CHECK(!b.changed, "binding marked restored");

	err = aisio_pci_sysfs_bind(&b, "vfio-pci");
	CHECK(err == -ENODEV && strstr(aisio_errmsg(), "modprobe vfio-pci"), "absent driver: %d", err);
	/* Already on the wanted driver: nothing to do, nothing to restore. */
	CHECK(aisio_pci_sysfs_bind(&b, "nvme") == 0 && !b.changed && !strcmp(b.orig, "nvme"), "same driver");

	/* Through the public entry point: auto picks uio (no IOMMU group), which fails cleanly. */
	{
		struct aisio_pcif *p = NULL;

		err = aisio_pcif_open("01:00.0", NULL, &p);
		CHECK(err == -EBUSY && !p, "open on a fake tree: %d", err);
		err = aisio_pcif_open("01:00.0", "vfio", &p);
		CHECK(err == -ENODEV && strstr(aisio_errmsg(), "IOMMU"), "vfio without IOMMU group: %d", err);
		err = aisio_pcif_open("01:00.0", "dpdk", &p);
		CHECK(err == -EINVAL && strstr(aisio_errmsg(), "dpdk"), "bad binding: %d", err);
		err = aisio_pcif_open("01:00", NULL, &p);
		CHECK(err == -EINVAL && strstr(aisio_errmsg(), "not a PCI address"), "bad address: %d", err);
	}
}

static void test_bdf(void)
{
	char b[AISIO_PCI_BDF_LEN];

	CHECK(aisio_pci_bdf_parse("0000:01:00.0", b) == 0 && !strcmp(b, "0000:01:00.0"), "full");
	CHECK(aisio_pci_bdf_parse("1:1f.7", b) == 0 && !strcmp(b, "0000:01:1f.7"), "short '%s'", b);
	CHECK(aisio_pci_bdf_parse("ABCD:FF:00.1", b) == 0 && !strcmp(b, "abcd:ff:00.1"), "upper case '%s'", b);
	CHECK(aisio_pci_bdf_parse("01:20.0", b) == -EINVAL, "device 0x20");
	CHECK(aisio_pci_bdf_parse("01:00.8", b) == -EINVAL, "function 8");
	CHECK(aisio_pci_bdf_parse("10000:01:00.0", b) == -EINVAL, "domain too wide");
	CHECK(aisio_pci_bdf_parse("01:00.0,nsid=1", b) == -EINVAL, "trailing text");
	CHECK(aisio_pci_bdf_parse("", b) == -EINVAL, "empty");
}

static int free_hugepages(void)
{
	FILE *f = fopen("/proc/meminfo", "re");
	char line[128];
	int n = -1;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "HugePages_Free: %d", &n) == 1)
			break;
	if (f)
		fclose(f);
	return n;
}

static void test_hugemem(void)
{
	struct aisio_mem_region *r = NULL;
	uint64_t pa;
	int err;

	if (free_hugepages() == 0) {
		setenv("AISIO_HUGETLBFS", root, 1); /* not hugetlbfs: the fallback fails too */
		err = aisio_pci_hugemem_alloc(4 << 20, 1, 0, "t", &r);
		CHECK(err == -ENOMEM && !r && strstr(aisio_errmsg(), "nr_hugepages"), "no hugepages: %d", err);
	}
	/* Small pages where an IOMMU translates: 2 MiB-aligned chunks of one region. */
	err = aisio_pci_hugemem_alloc(3 << 20, 0, 1, "t", &r);
	CHECK(err == 0 && r && r->len >= (3u << 20), "small-page fallback: %d", err);
	if (r) {
		CHECK(((uintptr_t)r->va & ((1u << r->chunk_shift) - 1)) == 0, "chunk-aligned va");
		r->va[r->len - 1] = 1;
		aisio_mem_region_release(r);
	}
	CHECK(aisio_pci_hugemem_alloc(0, 0, 1, "t", &r) == -EINVAL, "zero length");
	if (geteuid() == 0) {
		int x = 1;

		CHECK(aisio_pci_virt_to_phys(&x, &pa) == 0 && pa, "pagemap as root");
	}
}

int main(void)
{
	char cmd[128];

	snprintf(root, sizeof(root), "/tmp/aisio-fake-sysfs-XXXXXX");
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	setenv("AISIO_PCI_SYSFS", root, 1);
	make_tree();
	test_bdf();
	test_sysfs();
	test_hugemem();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", root);
	if (failures)
		return 1;
	printf("pci sysfs/hugemem: all checks passed\n");
	return 0;
}
