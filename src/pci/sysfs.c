/* SPDX-License-Identifier: MIT */
/*
 * sysfs side of a PCI function: which driver has it, moving it to another
 * driver and back, configuration space and BAR mappings.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pci/sysfs.h"
#include "util/err.h"

const char *aisio_pci_sysfs_root(void)
{
	const char *r = getenv("AISIO_PCI_SYSFS");

	return r && *r ? r : "/sys/bus/pci";
}

int aisio_pci_sysfs_path(char *buf, size_t len, const char *bdf, const char *leaf)
{
	int n = snprintf(buf, len, "%s/devices/%s%s%s", aisio_pci_sysfs_root(), bdf,
			 leaf && *leaf ? "/" : "", leaf ? leaf : "");

	if (n < 0 || (size_t)n >= len)
		return aisio_err(-ENAMETOOLONG, "%s: sysfs path too long", bdf);
	return 0;
}

int aisio_pci_sysfs_exists(const char *bdf)
{
	char p[PATH_MAX];
	struct stat st;
	int err = aisio_pci_sysfs_path(p, sizeof(p), bdf, NULL);

	if (err)
		return err;
	if (stat(p, &st))
		return aisio_err(-ENODEV, "%s: no such PCI function (%s: %s)", bdf, p, strerror(errno));
	return 0;
}

/* Last path component of the symlink @path into @buf; "" when it is absent. */
static int link_name(const char *path, char *buf, size_t len)
{
	char t[PATH_MAX];
	ssize_t n = readlink(path, t, sizeof(t) - 1);
	const char *base;

	if (n < 0) {
		if (errno == ENOENT) {
			buf[0] = '\0';
			return 0;
		}
		return aisio_err(-errno, "readlink %s: %s", path, strerror(errno));
	}
	t[n] = '\0';
	base = strrchr(t, '/');
	base = base ? base + 1 : t;
	if (strlen(base) >= len)
		return aisio_err(-ENAMETOOLONG, "%s: name too long", path);
	strcpy(buf, base);
	return 0;
}

int aisio_pci_sysfs_driver(const char *bdf, char *buf, size_t len)
{
	char p[PATH_MAX];
	int err = aisio_pci_sysfs_path(p, sizeof(p), bdf, "driver");

	return err ? err : link_name(p, buf, len);
}

int aisio_pci_sysfs_driver_loaded(const char *drv)
{
	char p[PATH_MAX];
	struct stat st;

	snprintf(p, sizeof(p), "%s/drivers/%s", aisio_pci_sysfs_root(), drv);
	return stat(p, &st) == 0;
}

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int e;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	e = errno;
	close(fd);
	if (n < 0)
		return -e;
	return (size_t)n == strlen(s) ? 0 : -EIO;
}

static int drv_write(const char *drv, const char *leaf, const char *bdf)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/drivers/%s/%s", aisio_pci_sysfs_root(), drv, leaf);
	return write_str(p, bdf);
}

static int set_override(const char *bdf, const char *drv)
{
	char p[PATH_MAX];
	int err = aisio_pci_sysfs_path(p, sizeof(p), bdf, "driver_override");

	if (err)
		return err;
	/* A lone newline clears the override. */
	err = write_str(p, drv && *drv ? drv : "\n");
	if (err)
		return aisio_err(err, "%s: cannot write driver_override: %s", bdf, strerror(-err));
	return 0;
}

static int probe(const char *bdf)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/drivers_probe", aisio_pci_sysfs_root());
	return write_str(p, bdf);
}

int aisio_pci_sysfs_bind(struct aisio_pci_binding *b, const char *drv)
{
	char cur[64];
	int err;

	err = aisio_pci_sysfs_exists(b->bdf);
	if (err)
		return err;
	err = aisio_pci_sysfs_driver(b->bdf, cur, sizeof(cur));
	if (err)
		return err;
	if (!strcmp(cur, drv)) {
		/* Already there: nothing to restore on close. */
		b->changed = 0;
		snprintf(b->orig, sizeof(b->orig), "%s", cur);
		return 0;
	}
	if (!aisio_pci_sysfs_driver_loaded(drv))
		return aisio_err(-ENODEV, "%s: kernel driver %s is not loaded (try: modprobe %s)", b->bdf,
				 drv, drv);
	snprintf(b->orig, sizeof(b->orig), "%s", cur);
	err = set_override(b->bdf, drv);
	if (err)
		return err;
	b->changed = 1;
	if (cur[0]) {
		err = drv_write(cur, "unbind", b->bdf);
		if (err) {
			aisio_err(err, "%s: cannot unbind from %s: %s", b->bdf, cur, strerror(-err));
			goto err_restore;
		}
	}
	err = probe(b->bdf);
	if (!err)
		err = aisio_pci_sysfs_driver(b->bdf, cur, sizeof(cur));
	if (!err && strcmp(cur, drv))
		err = -EBUSY;
	if (err) {
		aisio_err(err, "%s: %s did not take the function (bound to '%s'): %s", b->bdf, drv, cur,
			  strerror(-err));
		goto err_restore;
	}
	return 0;

err_restore:
	aisio_pci_sysfs_restore(b);
	return err;
}

int aisio_pci_sysfs_restore(struct aisio_pci_binding *b)
{
	char cur[64] = "";
	int err;

	if (!b->changed)
		return 0;
	b->changed = 0;
	err = aisio_pci_sysfs_driver(b->bdf, cur, sizeof(cur));
	if (err)
		return err;
	if (cur[0] && strcmp(cur, b->orig)) {
		err = drv_write(cur, "unbind", b->bdf);
		if (err)
			return aisio_err(err, "%s: cannot unbind from %s: %s", b->bdf, cur, strerror(-err));
	}
	err = set_override(b->bdf, NULL);
	if (err)
		return err;
	if (!b->orig[0] || !strcmp(cur, b->orig))
		return 0;
	err = drv_write(b->orig, "bind", b->bdf);
	if (err && probe(b->bdf) == 0 && aisio_pci_sysfs_driver(b->bdf, cur, sizeof(cur)) == 0 &&
	    !strcmp(cur, b->orig))
		err = 0;
	if (err)
		return aisio_err(err, "%s: cannot give the function back to %s: %s", b->bdf, b->orig,
				 strerror(-err));
	return 0;
}

int aisio_pci_sysfs_iommu_group(const char *bdf)
{
	char p[PATH_MAX], name[32], *end;
	long g;
	int err = aisio_pci_sysfs_path(p, sizeof(p), bdf, "iommu_group");

	if (err)
		return err;
	err = link_name(p, name, sizeof(name));
	if (err)
		return err;
	if (!name[0])
		return -ENOENT;
	g = strtol(name, &end, 10);
	if (*end || g < 0 || g > INT_MAX)
		return aisio_err(-EINVAL, "%s: odd iommu_group '%s'", bdf, name);
	return (int)g;
}

int aisio_pci_sysfs_iommu_type(const char *bdf, char *buf, size_t len)
{
	char p[PATH_MAX];
	ssize_t n;
	int fd, err = aisio_pci_sysfs_path(p, sizeof(p), bdf, "iommu_group/type");

	buf[0] = '\0';
	if (err)
		return err;
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -EIO;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

int aisio_pci_sysfs_cfg_open(const char *bdf)
{
	char p[PATH_MAX];
	int fd, err = aisio_pci_sysfs_path(p, sizeof(p), bdf, "config");

	if (err)
		return err;
	fd = open(p, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return aisio_err(-errno, "open %s: %s", p, strerror(errno));
	return fd;
}

int aisio_pci_cfg_pread(int fd, uint32_t off, void *buf, size_t len)
{
	ssize_t n = pread(fd, buf, len, off);

	if (n < 0)
		return aisio_err(-errno, "config read at 0x%x: %s", off, strerror(errno));
	if ((size_t)n != len)
		return aisio_err(-EIO, "config read at 0x%x: %zd of %zu bytes", off, n, len);
	return 0;
}

int aisio_pci_cfg_pwrite(int fd, uint32_t off, const void *buf, size_t len)
{
	ssize_t n = pwrite(fd, buf, len, off);

	if (n < 0)
		return aisio_err(-errno, "config write at 0x%x: %s", off, strerror(errno));
	if ((size_t)n != len)
		return aisio_err(-EIO, "config write at 0x%x: %zd of %zu bytes", off, n, len);
	return 0;
}

int aisio_pci_sysfs_map_bar(const char *bdf, int bar, volatile uint8_t **va, size_t *len)
{
	char p[PATH_MAX], leaf[16];
	struct stat st;
	void *m;
	int fd, err;

	snprintf(leaf, sizeof(leaf), "resource%d", bar);
	err = aisio_pci_sysfs_path(p, sizeof(p), bdf, leaf);
	if (err)
		return err;
	fd = open(p, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return aisio_err(-errno, "open %s: %s", p, strerror(errno));
	if (fstat(fd, &st) || st.st_size <= 0) {
		err = errno ? -errno : -ENXIO;
		close(fd);
		return aisio_err(err, "%s: BAR%d has no size", bdf, bar);
	}
	m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	err = errno;
	close(fd);
	if (m == MAP_FAILED)
		return aisio_err(-err, "mmap %s: %s", p, strerror(err));
	*va = m;
	*len = (size_t)st.st_size;
	return 0;
}

int aisio_pci_enable_master(struct aisio_pcif *f)
{
	uint16_t cmd;
	int err = f->ops->cfg_read(f, AISIO_PCI_CFG_COMMAND, &cmd, sizeof(cmd));

	if (err)
		return err;
	if ((cmd & (AISIO_PCI_CMD_MEMORY | AISIO_PCI_CMD_MASTER)) == (AISIO_PCI_CMD_MEMORY | AISIO_PCI_CMD_MASTER))
		return 0;
	cmd |= AISIO_PCI_CMD_MEMORY | AISIO_PCI_CMD_MASTER;
	return f->ops->cfg_write(f, AISIO_PCI_CFG_COMMAND, &cmd, sizeof(cmd));
}
