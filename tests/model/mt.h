/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the driver tests against the device model: open a device,
 * reach its controller (fault injection), run one command synchronously,
 * fill and check patterns.
 */
#ifndef AISIO_TESTS_MODEL_MT_H
#define AISIO_TESTS_MODEL_MT_H

#include <stdint.h>
#include <string.h>

#include <aisio/aisio.h>

#include "../unit/t.h"
#include "drv/drv.h"
#include "emu/emu.h"

static inline struct aisio_dev *mt_open(const char *uri, const struct aisio_open_opts *o)
{
	struct aisio_dev *dev;
	int err = aisio_dev_open(uri, o, &dev);

	if (err) {
		fprintf(stderr, "open %s: %d %s\n", uri, err, aisio_errmsg());
		exit(1);
	}
	return dev;
}

static inline struct aisio_emu_ctrl *mt_emu(struct aisio_dev *dev)
{
	struct aisio_pcif *f = aisio_upci_pcif(dev);

	return f ? aisio_emu_pcif_ctrl(f) : NULL;
}

static inline struct aisio_queue *mt_queue(struct aisio_dev *dev, uint32_t depth)
{
	struct aisio_queue *q;
	int err = aisio_queue_init(dev, depth, &q);

	if (err) {
		fprintf(stderr, "queue of depth %u: %d %s\n", depth, err, aisio_errmsg());
		exit(1);
	}
	return q;
}

/* One command, prepared by the caller through @io, submitted alone. */
static inline struct aisio_io *mt_get(struct aisio_queue *q)
{
	struct aisio_io *io = aisio_queue_get_io(q);

	REQUIRE(io);
	aisio_io_set_cb(io, NULL, NULL);
	return io;
}

static inline int mt_read(struct aisio_queue *q, uint32_t nsid, uint64_t slba, uint32_t nlb, void *buf,
			  size_t len)
{
	struct aisio_io *io = mt_get(q);

	aisio_prep_read(io, nsid, slba, nlb, buf, len);
	return aisio_io_sync(io);
}

static inline int mt_write(struct aisio_queue *q, uint32_t nsid, uint64_t slba, uint32_t nlb, void *buf,
			   size_t len)
{
	struct aisio_io *io = mt_get(q);

	aisio_prep_write(io, nsid, slba, nlb, buf, len);
	return aisio_io_sync(io);
}

/* xorshift64*: reproducible patterns from a seed. */
static inline uint64_t mt_rand(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ull;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

static inline void mt_fill(void *buf, size_t len, uint64_t seed)
{
	uint8_t *p = buf;
	uint64_t s = seed | 1;

	for (size_t i = 0; i < len; i += 8) {
		uint64_t v = mt_rand(&s);
		memcpy(p + i, &v, len - i < 8 ? len - i : 8);
	}
}

/* Offset of the first byte that differs from the pattern, or -1. */
static inline long mt_check(const void *buf, size_t len, uint64_t seed)
{
	const uint8_t *p = buf;
	uint64_t s = seed | 1;

	for (size_t i = 0; i < len; i += 8) {
		uint64_t v = mt_rand(&s);
		size_t n = len - i < 8 ? len - i : 8;
		if (memcmp(p + i, &v, n)) {
			for (size_t j = 0; j < n; j++)
				if (p[i + j] != ((uint8_t *)&v)[j])
					return (long)(i + j);
		}
	}
	return -1;
}

#endif
