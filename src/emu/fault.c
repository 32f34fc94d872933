/* SPDX-License-Identifier: MIT */
/*
 * Fault injection: chosen statuses on chosen commands, dropped completions,
 * controller fatal status. The I/O path checks one counter and takes the
 * lock only while a fault is armed.
 */
#include <errno.h>

#include "emu/priv.h"
#include "util/err.h"

int aisio_emu_fault_add(struct aisio_emu_ctrl *c, const struct aisio_emu_fault *f)
{
	uint32_t id;

	if (f->action != AISIO_EMU_FAULT_STATUS && f->action != AISIO_EMU_FAULT_DROP &&
	    f->action != AISIO_EMU_FAULT_FATAL)
		return aisio_err(-EINVAL, "emu: unknown fault action %d", (int)f->action);
	if (f->qid < -1 || f->qid > (int)c->nq)
		return aisio_err(-EINVAL, "emu: fault queue %d: use -1 (any) or 0..%u", f->qid,
				 c->nq);
	if (f->opc < -1 || f->opc > 0xff)
		return aisio_err(-EINVAL, "emu: fault opcode %d: use -1 (any) or 0..255", f->opc);
	if (f->action == AISIO_EMU_FAULT_STATUS && (!f->status || f->status > 0x7ff))
		return aisio_err(-EINVAL, "emu: fault status 0x%x is not SCT << 8 | SC of an error",
				 f->status);
	pthread_mutex_lock(&c->lock);
	id = c->fault_slots;
	if (id == EMU_MAX_FAULTS) {
		pthread_mutex_unlock(&c->lock);
		return aisio_err(-ENOSPC, "emu: %d faults were added; clear them first",
				 EMU_MAX_FAULTS);
	}
	c->fault_slots++;
	c->faults[id].f = *f;
	c->faults[id].hits = 0;
	c->faults[id].seen = 0;
	c->faults[id].armed = 1;
	__atomic_add_fetch(&c->nfaults, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&c->lock);
	return (int)id;
}

int aisio_emu_fault_hits(struct aisio_emu_ctrl *c, int id)
{
	int hits;

	pthread_mutex_lock(&c->lock);
	if (id < 0 || (uint32_t)id >= c->fault_slots) {
		pthread_mutex_unlock(&c->lock);
		return aisio_err(-ENOENT, "emu: no fault %d", id);
	}
	hits = (int)c->faults[id].hits;
	pthread_mutex_unlock(&c->lock);
	return hits;
}

void aisio_emu_fault_clear(struct aisio_emu_ctrl *c)
{
	pthread_mutex_lock(&c->lock);
	memset(c->faults, 0, sizeof(c->faults));
	c->fault_slots = 0;
	__atomic_store_n(&c->nfaults, 0, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&c->lock);
}

int emu_fault_match(struct aisio_emu_ctrl *c, uint16_t qid, const struct aisio_nvme_sqe *cmd,
		    uint32_t *status, enum aisio_emu_fault_action *action)
{
	int hit = 0;

	pthread_mutex_lock(&c->lock);
	for (uint32_t i = 0; i < c->fault_slots; i++) {
		struct emu_fault *f = &c->faults[i];

		if (!f->armed || (f->f.qid >= 0 && f->f.qid != qid) ||
		    (f->f.opc >= 0 && f->f.opc != cmd->opc))
			continue;
		if (f->seen < f->f.skip) {
			f->seen++;
			continue;
		}
		f->hits++;
		*action = f->f.action;
		*status = emu_status(f->f.status, f->f.dnr);
		if (f->f.count && f->hits >= f->f.count) {
			f->armed = 0;
			__atomic_sub_fetch(&c->nfaults, 1, __ATOMIC_RELEASE);
		}
		hit = 1;
		break;
	}
	pthread_mutex_unlock(&c->lock);
	return hit;
}
