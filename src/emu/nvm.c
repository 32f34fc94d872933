/* SPDX-License-Identifier: MIT */
/* NVM command set: Read, Write, Compare, Flush, Write Zeroes, Dataset Management. */
#include <stdlib.h>
#include <sys/mman.h>

#include "emu/priv.h"

#define ST(sc) emu_status((sc), 1)

static uint8_t *bounce(struct emu_worker *w, size_t len)
{
	if (w->bounce_len < len) {
		uint8_t *b = realloc(w->bounce, len);

		if (!b)
			return NULL;
		w->bounce = b;
		w->bounce_len = len;
	}
	return w->bounce;
}

static uint32_t check_range(const struct emu_ns *ns, uint64_t slba, uint64_t nlb)
{
	if (slba + nlb < slba || slba + nlb > ns->nlbas)
		return ST(AISIO_NVME_SC_LBA_RANGE);
	return 0;
}

static uint32_t nvm_rw(struct emu_worker *w, struct emu_ns *ns, const struct aisio_nvme_sqe *cmd,
		       uint32_t *bytes)
{
	struct aisio_emu_ctrl *c = w->c;
	uint64_t slba = cmd->cdw10 | (uint64_t)cmd->cdw11 << 32;
	uint32_t nlb = (cmd->cdw12 & 0xffff) + 1;
	size_t len = (size_t)nlb << ns->lba_shift;
	uint8_t *data;
	uint32_t st;

	if (c->mdts_bytes && len > c->mdts_bytes)
		return ST(AISIO_NVME_SC_INVALID_FIELD);
	st = check_range(ns, slba, nlb);
	if (st)
		return st;
	data = ns->data ? ns->data + (slba << ns->lba_shift) : NULL;
	switch (cmd->opc) {
	case AISIO_NVME_NVM_READ:
		st = emu_xfer(c, cmd, data, len, 1, 1);
		if (!st) {
			w->st.reads++;
			w->st.bytes_read += len;
		}
		break;
	case AISIO_NVME_NVM_WRITE:
		st = emu_xfer(c, cmd, data, len, 0, 1);
		if (!st) {
			w->st.writes++;
			w->st.bytes_written += len;
			if ((cmd->cdw12 & AISIO_NVME_RW_FUA) && c->fd >= 0) {
				uintptr_t a = (uintptr_t)data & ~(uintptr_t)4095;
				msync((void *)a, (uintptr_t)data + len - a, MS_SYNC);
			}
		}
		break;
	default: { /* Compare */
		uint8_t *b = data ? bounce(w, len) : NULL;

		if (data && !b)
			return ST(AISIO_NVME_SC_INTERNAL);
		st = emu_xfer_sync(c, cmd, b, len, 0, 1);
		if (!st && data && memcmp(b, data, len))
			st = ST(AISIO_NVME_SC_COMPARE_FAILED);
		if (!st) {
			w->st.reads++;
			w->st.bytes_read += len;
		}
		break;
	}
	}
	*bytes = (uint32_t)len;
	return st;
}

static uint32_t nvm_write_zeroes(struct emu_worker *w, struct emu_ns *ns,
				 const struct aisio_nvme_sqe *cmd)
{
	uint64_t slba = cmd->cdw10 | (uint64_t)cmd->cdw11 << 32;
	uint32_t nlb = (cmd->cdw12 & 0xffff) + 1;
	uint32_t st = check_range(ns, slba, nlb);

	if (st)
		return st;
	emu_ns_zero(w->c, ns, slba, nlb, !!(cmd->cdw12 & AISIO_NVME_WZ_DEAC));
	return 0;
}

static uint32_t nvm_dsm(struct emu_worker *w, struct emu_ns *ns, const struct aisio_nvme_sqe *cmd)
{
	uint32_t nr = (cmd->cdw10 & 0xff) + 1;
	size_t len = nr * sizeof(struct aisio_nvme_dsm_range);
	struct aisio_nvme_dsm_range *r;
	uint32_t st;

	if (!(cmd->cdw11 & AISIO_NVME_DSM_AD))
		return 0; /* hints only */
	r = (struct aisio_nvme_dsm_range *)bounce(w, len);
	if (!r)
		return ST(AISIO_NVME_SC_INTERNAL);
	st = emu_xfer_sync(w->c, cmd, r, len, 0, 1);
	if (st)
		return st;
	for (uint32_t i = 0; i < nr; i++) {
		/* like QEMU: ranges outside the namespace are skipped, deallocation is advisory */
		if (!r[i].nlb || check_range(ns, r[i].slba, r[i].nlb))
			continue;
		emu_ns_zero(w->c, ns, r[i].slba, r[i].nlb, 1);
	}
	return 0;
}

uint32_t emu_nvm_exec(struct emu_worker *w, const struct aisio_nvme_sqe *cmd, uint32_t *bytes)
{
	struct aisio_emu_ctrl *c = w->c;
	uint32_t nsid = cmd->nsid;
	struct emu_ns *ns;

	if (cmd->opc == AISIO_NVME_NVM_FLUSH && nsid == 0xffffffffu) {
		for (uint32_t i = 0; i < c->nns; i++)
			emu_ns_flush(c, &c->ns[i]);
		return 0;
	}
	if (!nsid || nsid > c->nns)
		return ST(AISIO_NVME_SC_INVALID_NS);
	ns = &c->ns[nsid - 1];
	switch (cmd->opc) {
	case AISIO_NVME_NVM_READ:
	case AISIO_NVME_NVM_WRITE:
	case AISIO_NVME_NVM_COMPARE:
		return nvm_rw(w, ns, cmd, bytes);
	case AISIO_NVME_NVM_FLUSH:
		emu_ns_flush(c, ns);
		return 0;
	case AISIO_NVME_NVM_WRITE_ZEROES:
		return nvm_write_zeroes(w, ns, cmd);
	case AISIO_NVME_NVM_DSM:
		return nvm_dsm(w, ns, cmd);
	}
	return ST(AISIO_NVME_SC_INVALID_OPCODE);
}
