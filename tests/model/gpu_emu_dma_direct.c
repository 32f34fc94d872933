/* SPDX-License-Identifier: MIT */
/*
 * The GPU DMA provider's direct copies (src/gpu/emu_dma.c) against the
 * CUDA stand-in (cuda_mock/): a device model whose namespace store is a
 * file or memory offers it to the provider, which registers it by chunks
 * and copies between it and "GPU memory" with no staging memcpy. Checked:
 * every byte read and written; which copies went direct and which through
 * staging (file stores take data from the GPU through staging); copies
 * split where they cross a chunk or the store's edge, merged within one;
 * registrations read-only for files, released when the model closes;
 * refusal (all, or only read-only) falls back to staging; gpu_direct=0 and
 * =eager; deallocation does not punch holes under pinned pages.
 */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <aisio/aisio.h>
#include <cuda_runtime_api.h> /* the stand-in's (cuda_mock/), for what it saw */

#include "emu_t.h"
#include "gpu/gpu.h"

#define NS (1u << 20)
#define CHUNK (256u << 10)

static uint8_t *gpu;	/* "GPU memory" */
static uint64_t *plist; /* PRP list (host memory) */
static struct aisio_gpu_dma *prov;
static char path[64];

static void prov_open(void)
{
	memset(&mock_st, 0, sizeof(mock_st));
	REQUIRE(!aisio_gpu_dma_create(0, &prov));
	REQUIRE(!aisio_gpu_dma_add_gpu(prov, (uintptr_t)gpu, NS));
}

static void prov_close(void)
{
	aisio_gpu_dma_destroy(prov);
	prov = NULL;
	CHECK_EQ(mock_st.reg_now, 0);
	CHECK_EQ(mock_st.errors, 0);
}

static void model_open(struct et_host *h, struct et_queue *q, const char *spec)
{
	struct aisio_emu_opts o;
	char *file = NULL;

	aisio_emu_opts_init(&o);
	REQUIRE(!aisio_emu_parse_uri(spec, &o, &file));
	o.dma = aisio_gpu_dma_ops(prov);
	et_open(h, &o);
	free(file);
	et_enable(h);
	REQUIRE(et_ioq_create(h, q, 1, 32) == 0);
}

static void model_close(struct et_host *h, struct et_queue *q)
{
	CHECK_EQ(et_ioq_delete(h, q), 0);
	et_close(h);
}

/* Read (write = 0) or Write @len bytes at byte @off of namespace 1, data in @buf (GPU or host). */
static int io(struct et_queue *q, int write, uint64_t off, size_t len, uint8_t *buf)
{
	struct aisio_nvme_sqe c;
	const size_t pages = (len + 4095) / 4096;

	if (write)
		aisio_nvme_cmd_write(&c, 1, off / 512, (uint32_t)(len / 512));
	else
		aisio_nvme_cmd_read(&c, 1, off / 512, (uint32_t)(len / 512));
	c.dptr.prp.prp1 = (uintptr_t)buf;
	if (pages <= 1)
		c.dptr.prp.prp2 = 0;
	else if (pages == 2)
		c.dptr.prp.prp2 = (uintptr_t)(buf + 4096);
	else {
		for (size_t i = 1; i < pages; i++)
			plist[i - 1] = (uintptr_t)(buf + i * 4096);
		c.dptr.prp.prp2 = (uintptr_t)plist;
	}
	return et_cmd(q, &c, NULL);
}

/* The whole namespace into GPU memory in 96 KiB commands: two of them cross a chunk edge. */
static void read_all(struct et_queue *q)
{
	memset(gpu, 0, NS);
	for (uint64_t off = 0; off < NS; off += 96u << 10) {
		size_t n = NS - off < (96u << 10) ? NS - off : (96u << 10);

		CHECK_EQ(io(q, 0, off, n, gpu + off), 0);
	}
}

static void make_file(const uint8_t *data)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	REQUIRE(fd >= 0);
	REQUIRE(pwrite(fd, data, NS, 0) == (ssize_t)NS);
	close(fd);
}

static void test_file(const uint8_t *p1, uint8_t *tmp)
{
	struct et_host h;
	struct et_queue q;
	struct aisio_gpu_dma_stats st;
	char spec[128];

	make_file(p1);
	prov_open();
	snprintf(spec, sizeof(spec), "1M,file=%s", path);
	model_open(&h, &q, spec);
	CHECK_EQ(mock_st.regs, 0); /* lazily: nothing pinned before a copy reaches it */
	read_all(&q);
	CHECK(!memcmp(gpu, p1, NS));
	CHECK_EQ(mock_st.direct_to_gpu, NS);
	CHECK_EQ(mock_st.staged_to_gpu, 0);
	CHECK_EQ(mock_st.pageable, 0);
	CHECK_EQ(mock_st.regs, NS / CHUNK);
	CHECK_EQ(mock_st.regs_ro, NS / CHUNK); /* a file mapping: read-only */
	/* 11 commands, each one merged copy, two split at a chunk edge */
	CHECK_EQ(mock_st.copies, 13);
	aisio_gpu_dma_stats(prov, &st);
	CHECK_EQ(st.direct_bytes, NS);
	CHECK_EQ(st.copies, 13); /* the model hands over a command's consecutive pages as one run */
	CHECK_EQ(st.reg_chunks, NS / CHUNK);
	CHECK_EQ(st.reg_bytes, NS);
	CHECK_EQ(st.reg_refused, 0);

	/* From GPU memory into the file: through staging (never into the read-only pages) */
	et_fill(gpu, 192u << 10, 2);
	CHECK_EQ(io(&q, 1, 128u << 10, 192u << 10, gpu), 0);
	CHECK_EQ(mock_st.staged_from_gpu, 192u << 10);
	CHECK_EQ(mock_st.direct_from_gpu, 0);
	/* the CPU path (host buffer) and the file see it once the Write completed */
	CHECK_EQ(io(&q, 0, 128u << 10, 192u << 10, tmp), 0);
	CHECK(!memcmp(tmp, gpu, 192u << 10));
	int fd = open(path, O_RDONLY);
	REQUIRE(fd >= 0);
	CHECK(pread(fd, tmp, 192u << 10, 128u << 10) == (ssize_t)(192u << 10));
	CHECK(!memcmp(tmp, gpu, 192u << 10));
	/* and a direct read of it into GPU memory elsewhere */
	CHECK_EQ(io(&q, 0, 128u << 10, 192u << 10, gpu + (512u << 10)), 0);
	CHECK(!memcmp(gpu + (512u << 10), gpu, 192u << 10));

	/* Write Zeroes with Deallocate over whole chunks: zeroed in place, no hole under pinned pages */
	struct aisio_nvme_sqe c;
	aisio_nvme_cmd_write_zeroes(&c, 1, (256u << 10) / 512, (256u << 10) / 512, 1);
	CHECK_EQ(et_cmd(&q, &c, NULL), 0);
	off_t hole = lseek(fd, 256u << 10, SEEK_HOLE);
	CHECK(hole < 0 || hole >= (off_t)(512u << 10));
	memset(gpu, 0xa5, NS);
	CHECK_EQ(io(&q, 0, 256u << 10, 256u << 10, gpu), 0);
	memset(tmp, 0, 256u << 10);
	CHECK(!memcmp(gpu, tmp, 256u << 10));
	close(fd);

	model_close(&h, &q);
	CHECK_EQ(mock_st.unregs, NS / CHUNK); /* released when the model closed */
	CHECK_EQ(mock_st.reg_now, 0);
	prov_close();
}

static void test_memory(uint8_t *tmp)
{
	struct et_host h;
	struct et_queue q;
	uint8_t *p3 = et_alloc(NS);

	prov_open();
	model_open(&h, &q, "1M");
	/* GPU memory into the store: direct (anonymous memory is registered writable) */
	et_fill(p3, NS, 3);
	memcpy(gpu, p3, NS);
	for (uint64_t off = 0; off < NS; off += 160u << 10) {
		size_t n = NS - off < (160u << 10) ? NS - off : (160u << 10);

		CHECK_EQ(io(&q, 1, off, n, gpu + off), 0);
	}
	CHECK_EQ(mock_st.direct_from_gpu, NS);
	CHECK_EQ(mock_st.staged_from_gpu, 0);
	CHECK_EQ(mock_st.regs, NS / CHUNK);
	CHECK_EQ(mock_st.regs_ro, 0);
	/* landed before the completion: the CPU path reads it back at once */
	for (uint64_t off = 0; off < NS; off += 128u << 10)
		CHECK_EQ(io(&q, 0, off, 128u << 10, tmp + off), 0);
	CHECK(!memcmp(tmp, p3, NS));
	read_all(&q);
	CHECK(!memcmp(gpu, p3, NS));
	CHECK_EQ(mock_st.direct_to_gpu, NS);
	model_close(&h, &q);
	prov_close();
	free(p3);
}

/* Registration refused: everything through staging, still every byte right. */
static void test_refused(const uint8_t *p1, int mode)
{
	struct et_host h;
	struct et_queue q;
	struct aisio_gpu_dma_stats st;
	char spec[128];

	make_file(p1);
	prov_open();
	mock_reg_refuse = mode;
	snprintf(spec, sizeof(spec), "1M,file=%s", path);
	model_open(&h, &q, spec);
	read_all(&q);
	CHECK(!memcmp(gpu, p1, NS));
	aisio_gpu_dma_stats(prov, &st);
	if (mode == 1) {
		CHECK_EQ(mock_st.staged_to_gpu, NS);
		CHECK_EQ(mock_st.direct_to_gpu, 0);
		CHECK_EQ(st.reg_refused, NS / CHUNK); /* each chunk tried once */
		CHECK_EQ(mock_st.regs, 0);
	} else {
		/* no read-only registration: a normal one, still no data from the GPU into it */
		CHECK_EQ(mock_st.direct_to_gpu, NS);
		CHECK_EQ(mock_st.regs, NS / CHUNK);
		CHECK_EQ(mock_st.regs_ro, 0);
		CHECK_EQ(st.reg_refused, 0);
		CHECK_EQ(io(&q, 1, 0, 64u << 10, gpu + (512u << 10)), 0);
		CHECK_EQ(mock_st.staged_from_gpu, 64u << 10);
		CHECK_EQ(mock_st.direct_from_gpu, 0);
	}
	model_close(&h, &q);
	mock_reg_refuse = 0;
	prov_close();
}

static void test_options(const uint8_t *p1)
{
	struct et_host h;
	struct et_queue q;
	char spec[128];

	make_file(p1);
	/* gpu_direct=0: the store is not offered */
	prov_open();
	snprintf(spec, sizeof(spec), "1M,file=%s,gpu_direct=0", path);
	model_open(&h, &q, spec);
	read_all(&q);
	CHECK(!memcmp(gpu, p1, NS));
	CHECK_EQ(mock_st.regs + mock_st.refused, 0);
	CHECK_EQ(mock_st.staged_to_gpu, NS);
	model_close(&h, &q);
	prov_close();
	/* eager: all registered when the model starts */
	prov_open();
	snprintf(spec, sizeof(spec), "1M,file=%s,gpu_direct=eager", path);
	model_open(&h, &q, spec);
	CHECK_EQ(mock_st.regs, NS / CHUNK);
	read_all(&q);
	CHECK(!memcmp(gpu, p1, NS));
	CHECK_EQ(mock_st.direct_to_gpu, NS);
	CHECK_EQ(mock_st.regs, NS / CHUNK);
	model_close(&h, &q);
	prov_close();
	/* bad values */
	struct aisio_emu_opts o;
	char *file = NULL;
	aisio_emu_opts_init(&o);
	CHECK_EQ(aisio_emu_parse_uri("1M,gpu_direct=2", &o, &file), -EINVAL);
	CHECK(strstr(aisio_errmsg(), "gpu_direct"));
	CHECK_EQ(aisio_emu_parse_uri("1M,gpu_direct=", &o, &file), -EINVAL);
	setenv("AISIO_GPU_DIRECT_CHUNK", "1000", 1);
	struct aisio_gpu_dma *d = (void *)1;
	CHECK_EQ(aisio_gpu_dma_create(0, &d), -EINVAL);
	CHECK(d == NULL);
	CHECK(strstr(aisio_errmsg(), "AISIO_GPU_DIRECT_CHUNK"));
	setenv("AISIO_GPU_DIRECT_CHUNK", "256K", 1);
}

/* The provider alone: a copy whose host side starts before a store and ends after it. */
static void test_edges(void)
{
	const size_t len = 2 * CHUNK + 8192;
	uint8_t *buf = et_alloc(len);
	uint8_t *store = buf + 4096;
	const struct aisio_emu_dma *ops;

	prov_open();
	ops = aisio_gpu_dma_ops(prov);
	CHECK_EQ(ops->store_add(ops->ctx, store, 2 * CHUNK, 0), 1);
	et_fill(buf, len, 4);
	memset(gpu, 0, NS);
	CHECK_EQ(ops->copy(ops->ctx, (uintptr_t)gpu, buf, len, 1), 0);
	CHECK_EQ(mock_st.copies, 0); /* queued, not run */
	CHECK_EQ(ops->flush(ops->ctx), 0);
	CHECK(!memcmp(gpu, buf, len));
	CHECK_EQ(mock_st.staged_to_gpu, 8192);
	CHECK_EQ(mock_st.direct_to_gpu, 2 * CHUNK);
	CHECK_EQ(mock_st.copies, 4); /* staged head, chunk 0, chunk 1, staged tail */
	/* the other way into a memory store: direct where registered, staged outside */
	et_fill(gpu, len, 5);
	CHECK_EQ(ops->copy(ops->ctx, (uintptr_t)gpu, buf, len, 0), 0);
	CHECK_EQ(ops->flush(ops->ctx), 0);
	CHECK(!memcmp(gpu, buf, len));
	CHECK_EQ(mock_st.staged_from_gpu, 8192);
	CHECK_EQ(mock_st.direct_from_gpu, 2 * CHUNK);
	/* a copy inside one chunk, past the GPU range's end: refused */
	struct aisio_gpu_dma_stats st;
	CHECK_EQ(ops->copy(ops->ctx, (uintptr_t)gpu + NS - 4096, store, 8192, 1), -EFAULT);
	aisio_gpu_dma_stats(prov, &st);
	CHECK_EQ(st.faults, 1);
	CHECK_EQ(ops->flush(ops->ctx), 0);

	/* GPU memory as two ranges side by side: a run across their edge goes as two copies */
	CHECK_EQ(aisio_gpu_dma_remove_gpu(prov, (uintptr_t)gpu), 0);
	CHECK_EQ(aisio_gpu_dma_add_gpu(prov, (uintptr_t)gpu, NS / 2), 0);
	CHECK_EQ(aisio_gpu_dma_add_gpu(prov, (uintptr_t)gpu + NS / 2, NS / 2), 0);
	memset(gpu, 0, NS);
	long c0 = mock_st.copies;
	CHECK_EQ(ops->copy(ops->ctx, (uintptr_t)gpu + NS / 2 - 8192, store, 16384, 1), 0);
	CHECK_EQ(ops->flush(ops->ctx), 0);
	CHECK(!memcmp(gpu + NS / 2 - 8192, store, 16384));
	CHECK_EQ(mock_st.copies - c0, 2);
	/* host memory right before a GPU range: the host part by the CPU, the rest by a copy */
	CHECK_EQ(aisio_gpu_dma_remove_gpu(prov, (uintptr_t)gpu), 0);
	CHECK_EQ(aisio_gpu_dma_add_gpu(prov, (uintptr_t)gpu + 65536, NS / 2 - 65536), 0);
	memset(gpu, 0, 2 * 65536);
	c0 = mock_st.copies;
	long long d0 = mock_st.direct_to_gpu;
	CHECK_EQ(ops->copy(ops->ctx, (uintptr_t)gpu + 65536 - 4096, store, 8192, 1), 0);
	CHECK(!memcmp(gpu + 65536 - 4096, store, 4096)); /* the host part: at once */
	CHECK_EQ(ops->flush(ops->ctx), 0);
	CHECK(!memcmp(gpu + 65536 - 4096, store, 8192));
	CHECK_EQ(mock_st.copies - c0, 1);
	CHECK_EQ(mock_st.direct_to_gpu - d0, 4096);
	CHECK_EQ(aisio_gpu_dma_remove_gpu(prov, (uintptr_t)gpu + 65536), 0);
	CHECK_EQ(aisio_gpu_dma_remove_gpu(prov, (uintptr_t)gpu + NS / 2), 0);
	ops->store_remove(ops->ctx, store);
	CHECK_EQ(mock_st.reg_now, 0);
	CHECK_EQ(mock_st.unregs, 2);
	prov_close();
	free(buf);
}

int main(void)
{
	uint8_t *p1, *tmp;
	int fd;

	setenv("AISIO_GPU_DIRECT_CHUNK", "256K", 1);
	snprintf(path, sizeof(path), "/tmp/aisio-dma-direct-XXXXXX");
	fd = mkstemp(path);
	REQUIRE(fd >= 0);
	close(fd);
	gpu = et_alloc(NS);
	plist = et_alloc(4096);
	tmp = et_alloc(NS);
	p1 = et_alloc(NS);
	et_fill(p1, NS, 1);
	mock_gpu_range(gpu, NS);

	test_file(p1, tmp);
	test_memory(tmp);
	test_refused(p1, 1);
	test_refused(p1, 2);
	test_options(p1);
	test_edges();

	unlink(path);
	free(gpu);
	free(plist);
	free(tmp);
	free(p1);
	return t_result("gpu_emu_dma_direct");
}
