/* SPDX-License-Identifier: MIT */
/*
 * The register file (BAR0) lives in a memfd mapped shared, so that another
 * process given the descriptor (a client of homid) reaches the doorbells
 * and registers with plain stores, exactly as it would over PCIe.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "emu/priv.h"
#include "util/err.h"

int emu_bar_alloc(struct aisio_emu_ctrl *c)
{
	char name[32];
	void *p;
	int fd;

	snprintf(name, sizeof(name), "aisio-emu%u-bar0", c->index);
	fd = memfd_create(name, MFD_CLOEXEC);
	if (fd < 0)
		return aisio_err(-errno, "emu: memfd_create for BAR0: %s", strerror(errno));
	if (ftruncate(fd, (off_t)c->bar_len)) {
		int err = -errno;

		close(fd);
		return aisio_err(err, "emu: sizing BAR0 (%zu bytes): %s", c->bar_len, strerror(-err));
	}
	p = mmap(NULL, c->bar_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		int err = -errno;

		close(fd);
		return aisio_err(err, "emu: mapping BAR0: %s", strerror(-err));
	}
	c->bar = p;
	c->bar_fd = fd;
	return 0;
}

void emu_bar_free(struct aisio_emu_ctrl *c)
{
	if (c->bar)
		munmap(c->bar, c->bar_len);
	if (c->bar_fd >= 0)
		close(c->bar_fd);
	c->bar = NULL;
	c->bar_fd = -1;
}

int aisio_emu_ctrl_bar0_fd(struct aisio_emu_ctrl *c)
{
	return c->bar_fd;
}
