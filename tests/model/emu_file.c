/* SPDX-License-Identifier: MIT */
/*
 * Device model, file-backed namespaces: data written through one controller
 * is in the file at (nsid - 1) * size + lba * lbasize and reads back through
 * a second controller instance; a file that cannot be opened gives an error
 * that names the path; deallocation on a file reads back as zeroes.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <aisio/aisio.h>

#include "emu_t.h"

#define NSZ (2u << 20)

static void one_io(struct et_queue *q, uint8_t opc, uint32_t nsid, uint64_t slba, uint32_t nlb,
		   void *buf)
{
	struct aisio_nvme_sqe cmd;

	aisio_nvme_cmd_rw(&cmd, opc, nsid, slba, nlb, 0);
	et_prp_simple(&cmd, buf, (size_t)nlb * 4096);
	CHECK_EQ(et_cmd(q, &cmd, NULL), 0);
}

static void open_file_ctrl(struct et_host *h, struct et_queue *q, const char *path)
{
	struct aisio_emu_opts o;

	aisio_emu_opts_init(&o);
	o.ns_size = NSZ;
	o.lba_shift = 12;
	o.nns = 2;
	o.backing = AISIO_EMU_FILE;
	o.file = path;
	et_open(h, &o);
	et_enable(h);
	REQUIRE(et_ioq_create(h, q, 1, 8) == 0);
}

int main(void)
{
	char path[] = "/tmp/aisio-emu-file-XXXXXX";
	uint8_t *a = et_alloc(8192), *b = et_alloc(8192), *disk = malloc(8192),
		*zero = et_alloc(8192);
	struct aisio_emu_ctrl *c;
	struct et_host h;
	struct et_queue q;
	struct stat st;
	int fd, err;

	fd = mkstemp(path);
	REQUIRE(fd >= 0);
	close(fd);

	/* first run: write two blocks to each namespace */
	open_file_ctrl(&h, &q, path);
	et_fill(a, 8192, 1);
	et_fill(b, 8192, 2);
	one_io(&q, AISIO_NVME_NVM_WRITE, 1, 7, 2, a);
	one_io(&q, AISIO_NVME_NVM_WRITE, 2, 100, 2, b);
	{
		struct aisio_nvme_sqe cmd;

		aisio_nvme_cmd_flush(&cmd, 0xffffffff);
		CHECK_EQ(et_cmd(&q, &cmd, NULL), 0);
	}
	et_ioq_free(&q);
	et_close(&h);

	/* the file holds both namespaces back to back */
	CHECK(stat(path, &st) == 0);
	CHECK_EQ(st.st_size, 2 * NSZ);
	fd = open(path, O_RDONLY);
	REQUIRE(fd >= 0);
	CHECK_EQ(pread(fd, disk, 8192, 7 * 4096), 8192);
	CHECK(memcmp(disk, a, 8192) == 0);
	CHECK_EQ(pread(fd, disk, 8192, NSZ + 100 * 4096), 8192);
	CHECK(memcmp(disk, b, 8192) == 0);
	close(fd);

	/* second run: the data is still there */
	open_file_ctrl(&h, &q, path);
	memset(disk, 0, 8192);
	{
		uint8_t *r = et_alloc(8192);

		one_io(&q, AISIO_NVME_NVM_READ, 1, 7, 2, r);
		CHECK(memcmp(r, a, 8192) == 0);
		one_io(&q, AISIO_NVME_NVM_READ, 2, 100, 2, r);
		CHECK(memcmp(r, b, 8192) == 0);

		/* deallocate a large range (holes punched in the file) reads back zeroes */
		{
			struct aisio_nvme_sqe cmd;

			aisio_nvme_cmd_write_zeroes(&cmd, 1, 0, 64, 1);
			CHECK_EQ(et_cmd(&q, &cmd, NULL), 0);
		}
		one_io(&q, AISIO_NVME_NVM_READ, 1, 7, 2, r);
		CHECK(memcmp(r, zero, 8192) == 0);
		free(r);
	}
	et_ioq_free(&q);
	et_close(&h);

	/* files that cannot be used: errors name the path */
	err = aisio_emu_open_uri("1M,file=/nonexistent-dir/ns.img", &c);
	CHECK_EQ(err, -ENOENT);
	CHECK(strstr(aisio_errmsg(), "/nonexistent-dir/ns.img") != NULL);
	CHECK(strstr(aisio_errmsg(), "No such file") != NULL);
	err = aisio_emu_open_uri("1M,file=/tmp", &c);
	CHECK(err == -EISDIR || err == -EINVAL);
	CHECK(strstr(aisio_errmsg(), "/tmp") != NULL);

	unlink(path);
	free(a);
	free(b);
	free(disk);
	free(zero);
	return t_result("emu_file");
}
