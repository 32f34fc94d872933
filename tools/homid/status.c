/* SPDX-License-Identifier: MIT */
/* LIST and STATUS replies: controllers, namespaces and (STATUS) clients. */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "homid.h"
#include "util/err.h"

uint64_t homid_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int put(uint8_t *out, size_t cap, size_t *off, const void *p, size_t len)
{
	if (*off + len > cap)
		return aisio_err(-EMSGSIZE, "the reply does not fit in one message");
	memcpy(out + *off, p, len);
	*off += len;
	return 0;
}

int homid_status_encode(struct homid *h, const struct homid_client *self, int with_clients, void *out,
			size_t cap, size_t *len)
{
	struct aisio_homi_status_reply sr = { 0 };
	struct aisio_homi_list_reply lr = { 0 };
	size_t off = with_clients ? sizeof(sr) : sizeof(lr);
	int err;

	if (off > cap)
		return aisio_err(-EMSGSIZE, "the reply does not fit in one message");
	for (int i = 0; i < h->nctrls; i++) {
		struct aisio_homi_ctrl_desc d;

		homid_ctrl_desc(&h->ctrls[i], &d);
		err = put(out, cap, &off, &d, sizeof(d));
		if (err)
			return err;
	}
	for (int i = 0; i < h->nctrls; i++) {
		for (uint32_t k = 0; k < h->ctrls[i].nns; k++) {
			struct aisio_homi_ns_desc d = { .ctrl = (uint32_t)i,
							.nsid = h->ctrls[i].ns[k].nsid,
							.lba_shift = h->ctrls[i].ns[k].lba_shift,
							.nlbas = h->ctrls[i].ns[k].nlbas };

			err = put(out, cap, &off, &d, sizeof(d));
			if (err)
				return err;
			lr.nns++;
		}
	}
	lr.nctrl = (uint32_t)h->nctrls;
	if (!with_clients) {
		memcpy(out, &lr, sizeof(lr));
		*len = off;
		return 0;
	}
	for (struct homid_client *cl = h->clients; cl; cl = cl->next) {
		struct aisio_homi_client_desc d;
		uint32_t i = 0;

		if (cl == self) /* the asker itself is not news */
			continue;
		memset(&d, 0, sizeof(d));
		d.pid = (uint32_t)cl->pid;
		d.uid = cl->uid;
		d.gid = cl->gid;
		d.mode = (uint32_t)cl->mode;
		if (cl->ctrl)
			memcpy(d.ctrl, cl->ctrl->name, sizeof(d.ctrl));
		d.nsid = cl->ns ? cl->ns->nsid : 0;
		d.nqueues = cl->nqueues;
		d.nmem = cl->nmem;
		d.mem_bytes = cl->mem_bytes;
		d.cmds = __atomic_load_n(&cl->cmds, __ATOMIC_RELAXED);
		d.errors = cl->errors + __atomic_load_n(&cl->med_errors, __ATOMIC_RELAXED);
		for (struct homid_queue *q = cl->queues; q && i < 8; q = q->next)
			d.qids[i++] = q->qid;
		err = put(out, cap, &off, &d, sizeof(d));
		if (err)
			return err;
		sr.nclient++;
	}
	sr.nctrl = lr.nctrl;
	sr.nns = lr.nns;
	sr.homid_pid = (uint32_t)getpid();
	sr.uptime_ms = homid_now_ms() - h->start_ms;
	memcpy(out, &sr, sizeof(sr));
	*len = off;
	return 0;
}
