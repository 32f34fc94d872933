/* SPDX-License-Identifier: MIT */
/*
 * Data pointers from the controller's side: walk PRP1/PRP2/PRP lists or an
 * SGL and hand every bus-contiguous piece to a callback. Lists and segments
 * are read through the DMA interface's map().
 */
#include "emu/priv.h"

#define ST(sc) emu_status((sc), 1)

/* SGL descriptors visited per command at most: stops segment loops. */
#define EMU_SGL_MAX_DESC 65536

static uint32_t prp_walk(struct aisio_emu_ctrl *c, const struct aisio_nvme_sqe *cmd, size_t len,
			 emu_seg_fn fn, void *arg)
{
	uint64_t psz = 1ull << c->page_shift, pmask = psz - 1;
	uint64_t prp1 = cmd->dptr.prp.prp1, prp2 = cmd->dptr.prp.prp2, list;
	size_t l1;
	uint32_t st;

	if (prp1 & 3)
		return ST(AISIO_NVME_SC_PRP_INVALID_OFFSET);
	l1 = psz - (prp1 & pmask);
	if (l1 > len)
		l1 = len;
	st = fn(arg, prp1, l1);
	if (st)
		return st;
	len -= l1;
	if (!len)
		return 0;
	if (len <= psz) {
		/* PRP2 is the second data page */
		if (prp2 & pmask)
			return ST(AISIO_NVME_SC_PRP_INVALID_OFFSET);
		return fn(arg, prp2, len);
	}
	/* PRP2 points to a list; it may start inside a page */
	list = prp2;
	if (list & 7)
		return ST(AISIO_NVME_SC_PRP_INVALID_OFFSET);
	while (len) {
		size_t nents = (size_t)((psz - (list & pmask)) >> 3);
		const uint64_t *ents = emu_map(c, list, nents * 8);
		size_t i;

		if (!ents)
			return ST(AISIO_NVME_SC_DATA_XFER_ERROR);
		for (i = 0; i < nents && len; i++) {
			uint64_t e = __atomic_load_n(&ents[i], __ATOMIC_RELAXED);
			size_t l;

			if (e & pmask)
				return ST(AISIO_NVME_SC_PRP_INVALID_OFFSET);
			if (i == nents - 1 && len > psz) {
				list = e; /* the last entry chains to the next list page */
				break;
			}
			l = len < psz ? len : psz;
			st = fn(arg, e, l);
			if (st)
				return st;
			len -= l;
		}
	}
	return 0;
}

static int sgl_is_seg(uint8_t type)
{
	uint8_t t = type >> 4;
	return t == AISIO_NVME_SGL_TYPE_SEGMENT || t == AISIO_NVME_SGL_TYPE_LAST_SEGMENT;
}

static uint32_t sgl_data(const struct aisio_nvme_sgl_desc *d, size_t *left, emu_seg_fn fn,
			 void *arg)
{
	uint32_t l = d->length;

	if ((d->type & 0xf) != AISIO_NVME_SGL_SUBTYPE_ADDRESS)
		return ST(AISIO_NVME_SC_SGL_INVALID_TYPE);
	if (l > *left)
		return ST(AISIO_NVME_SC_SGL_INVALID_DATA); /* more data than the command moves */
	if (!l)
		return 0;
	*left -= l;
	return fn(arg, d->addr, l);
}

static uint32_t sgl_walk(struct aisio_emu_ctrl *c, const struct aisio_nvme_sqe *cmd, size_t len,
			 emu_seg_fn fn, void *arg)
{
	struct aisio_nvme_sgl_desc d = cmd->dptr.sgl1;
	size_t left = len;
	uint32_t visited = 0, st;

	for (;;) {
		uint8_t t = d.type >> 4;
		const struct aisio_nvme_sgl_desc *seg;
		uint32_t n;
		int last;

		if (t == AISIO_NVME_SGL_TYPE_DATA_BLOCK) {
			st = sgl_data(&d, &left, fn, arg);
			if (st)
				return st;
			break;
		}
		if (!sgl_is_seg(d.type))
			return ST(AISIO_NVME_SC_SGL_INVALID_TYPE);
		if ((d.type & 0xf) != AISIO_NVME_SGL_SUBTYPE_ADDRESS)
			return ST(AISIO_NVME_SC_SGL_INVALID_TYPE);
		if (!d.length || d.length % sizeof(d))
			return ST(AISIO_NVME_SC_SGL_INVALID_COUNT);
		last = t == AISIO_NVME_SGL_TYPE_LAST_SEGMENT;
		n = d.length / sizeof(d);
		visited += n;
		if (visited > EMU_SGL_MAX_DESC)
			return ST(AISIO_NVME_SC_SGL_INVALID_COUNT);
		seg = emu_map(c, d.addr, d.length);
		if (!seg)
			return ST(AISIO_NVME_SC_DATA_XFER_ERROR);
		for (uint32_t i = 0; i < n; i++) {
			struct aisio_nvme_sgl_desc e;

			memcpy(&e, &seg[i], sizeof(e));
			if (sgl_is_seg(e.type)) {
				/* only the last descriptor of a (non-last) segment chains */
				if (last || i != n - 1)
					return ST(AISIO_NVME_SC_SGL_INVALID_LAST);
				d = e;
				goto next_segment;
			}
			if ((e.type >> 4) != AISIO_NVME_SGL_TYPE_DATA_BLOCK)
				return ST(AISIO_NVME_SC_SGL_INVALID_TYPE);
			st = sgl_data(&e, &left, fn, arg);
			if (st)
				return st;
		}
		if (!last)
			return ST(
				AISIO_NVME_SC_SGL_INVALID_LAST); /* a segment must end with a chain */
		break;
next_segment:;
	}
	if (left)
		return ST(
			AISIO_NVME_SC_SGL_INVALID_DATA); /* the SGL describes less data than the command moves */
	return 0;
}

uint32_t emu_dptr_walk(struct aisio_emu_ctrl *c, const struct aisio_nvme_sqe *cmd, size_t len,
		       int allow_sgl, emu_seg_fn fn, void *arg)
{
	uint32_t psdt = cmd->flags & AISIO_NVME_PSDT_MASK;

	if (!len)
		return 0;
	if (psdt == AISIO_NVME_PSDT_PRP)
		return prp_walk(c, cmd, len, fn, arg);
	if (!allow_sgl || psdt == AISIO_NVME_PSDT_MASK)
		return ST(AISIO_NVME_SC_INVALID_FIELD);
	return sgl_walk(c, cmd, len, fn, arg);
}

struct xfer_arg {
	struct aisio_emu_ctrl *c;
	uint8_t *local;
	int to_bus;
	/* a provider's copy hook: bus-contiguous pieces (PRP entries of consecutive pages) go as one */
	uint64_t run_bus;
	size_t run_len;
};

/* Hand the pending run to the provider's copy hook. */
static uint32_t run_flush(struct xfer_arg *x)
{
	struct aisio_emu_ctrl *c = x->c;
	size_t len = x->run_len;

	if (!len)
		return 0;
	x->run_len = 0;
	if (c->dma.copy(c->dma.ctx, x->run_bus, x->local, len, x->to_bus))
		return ST(AISIO_NVME_SC_DATA_XFER_ERROR);
	x->local += len;
	return 0;
}

static uint32_t seg_copy(void *arg, uint64_t bus, size_t len)
{
	struct xfer_arg *x = arg;
	struct aisio_emu_ctrl *c = x->c;

	if (c->dma.copy) {
		/*
		 * One call per bus-contiguous run rather than per page: the
		 * provider's per-call cost (a lock, a range lookup) is paid once.
		 */
		if (x->run_len && bus == x->run_bus + x->run_len) {
			x->run_len += len;
			return 0;
		}
		uint32_t st = run_flush(x);
		if (st)
			return st;
		x->run_bus = bus;
		x->run_len = len;
		return 0;
	} else {
		void *p = emu_map(c, bus, len);

		if (!p)
			return ST(AISIO_NVME_SC_DATA_XFER_ERROR);
		if (x->to_bus)
			memcpy(p, x->local, len);
		else
			memcpy(x->local, p, len);
	}
	x->local += len;
	return 0;
}

static uint32_t seg_none(void *arg, uint64_t bus, size_t len)
{
	return 0;
}

uint32_t emu_xfer(struct aisio_emu_ctrl *c, const struct aisio_nvme_sqe *cmd, void *local,
		  size_t len, int to_bus, int allow_sgl)
{
	struct xfer_arg x = { c, local, to_bus, 0, 0 };
	uint32_t st;

	if (!local)
		return emu_dptr_walk(c, cmd, len, allow_sgl, seg_none, NULL);
	/* fast path: identity DMA, data within PRP1's page */
	if (c->dma_identity && !(cmd->flags & AISIO_NVME_PSDT_MASK)) {
		uint64_t prp1 = cmd->dptr.prp.prp1;
		uint64_t room = (1ull << c->page_shift) - (prp1 & ((1ull << c->page_shift) - 1));

		if (len <= room && prp1 && !(prp1 & 3)) {
			if (to_bus)
				memcpy((void *)(uintptr_t)prp1, local, len);
			else
				memcpy(local, (const void *)(uintptr_t)prp1, len);
			return 0;
		}
	}
	st = emu_dptr_walk(c, cmd, len, allow_sgl, seg_copy, &x);
	if (!st && c->dma.copy)
		st = run_flush(&x);
	return st;
}

uint32_t emu_xfer_sync(struct aisio_emu_ctrl *c, const struct aisio_nvme_sqe *cmd, void *local,
		       size_t len, int to_bus, int allow_sgl)
{
	uint32_t st = emu_xfer(c, cmd, local, len, to_bus, allow_sgl);

	if (!st && c->dma.flush && emu_dma_flush(c))
		return ST(AISIO_NVME_SC_DATA_XFER_ERROR);
	return st;
}
