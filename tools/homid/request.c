/* SPDX-License-Identifier: MIT */
/* One request of a client, checked against its grant and answered (docs/homi.md). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "homid.h"
#include "util/err.h"

static int need_attached(struct homid_client *cl)
{
	if (!cl->ctrl)
		return aisio_err(-ENOTCONN, "attach to a controller first (ATTACH)");
	return 0;
}

static int req_hello(struct homid_client *cl, const struct aisio_homi_hello *r, void *reply,
		     size_t *rlen)
{
	struct aisio_homi_hello_reply *hr = reply;

	if (r->version_min > AISIO_HOMI_VERSION || r->version_max < AISIO_HOMI_VERSION)
		return aisio_err(-EPROTONOSUPPORT, "client speaks protocol versions %u..%u; homid "
				 "speaks %u", r->version_min, r->version_max, AISIO_HOMI_VERSION);
	memset(hr, 0, sizeof(*hr));
	hr->version = AISIO_HOMI_VERSION;
	hr->server_pid = (uint32_t)getpid();
	hr->uid = cl->uid;
	hr->gid = cl->gid;
	*rlen = sizeof(*hr);
	return 0;
}

static void ns_desc(const struct homid_ns *ns, uint32_t ctrl, struct aisio_homi_ns_desc *d)
{
	memset(d, 0, sizeof(*d));
	d->ctrl = ctrl;
	d->nsid = ns->nsid;
	d->lba_shift = ns->lba_shift;
	d->nlbas = ns->nlbas;
}

static int req_attach(struct homid *h, struct homid_client *cl, const struct aisio_homi_attach *r,
		      void *reply, size_t *rlen, int *fd_out)
{
	struct aisio_homi_attach_reply *ar = reply;
	const struct homid_grant *g = &cl->grant;
	struct homid_ctrl *hc = NULL;
	const struct homid_ns *ns = NULL;
	uint64_t first, count;

	if (cl->ctrl)
		return aisio_err(-EALREADY, "this connection is attached to %s already; open another "
				 "connection for another controller", cl->ctrl->name);
	for (int i = 0; i < h->nvfs; i++)
		if (h->vfs[i].owner == cl)
			return aisio_err(-EALREADY, "this connection holds VF %s; attach on another "
					 "connection", h->vfs[i].bdf);
	if (memchr(r->ctrl, 0, sizeof(r->ctrl)) == NULL)
		return aisio_err(-EINVAL, "controller name is not NUL-terminated");
	if (!g->allowed)
		return aisio_err(-EACCES, "uid %u gid %u has no grant in homid's policy (default: "
				 "root only); ask the administrator to add a [uid:%u] section",
				 cl->uid, cl->gid, cl->uid);
	for (int i = 0; i < h->nctrls; i++)
		if (!r->ctrl[0] || !strcmp(r->ctrl, h->ctrls[i].name)) {
			hc = &h->ctrls[i];
			break;
		}
	if (!hc)
		return aisio_err(-ENODEV, "no controller named '%s' (see 'aisio homi status')", r->ctrl);
	if (r->mode != AISIO_HOMI_MODE_DIRECT && r->mode != AISIO_HOMI_MODE_MEDIATED)
		return aisio_err(-EINVAL, "mode %u: use 1 (direct) or 2 (mediated)", r->mode);
	if (r->mode == AISIO_HOMI_MODE_DIRECT && !g->direct)
		return aisio_err(-EPERM, "direct queues are not granted to uid %u (%s); use "
				 "mode=mediated", cl->uid, g->rule);
	if (!hc->direct_ok && hc->kind != AISIO_HOMI_CTRL_TCP) /* uio: no client memory */
		return aisio_err(-ENOTSUP, "%s: homid cannot map client memory for this controller "
				 "(uio would need the physical pages of the client's memfd) nor share "
				 "its doorbells; bind it with pci:BDF,drv=vfio", hc->name);
	if (r->nsid && g->nsid && r->nsid != g->nsid)
		return aisio_err(-EACCES, "namespace %u is not granted to uid %u (granted: %u)", r->nsid,
				 cl->uid, g->nsid);
	ns = homid_ctrl_ns(hc, r->nsid ? r->nsid : g->nsid ? g->nsid : hc->nns ? hc->ns[0].nsid : 0);
	if (!ns)
		return aisio_err(-ENODEV, "%s: namespace %u is not active", hc->name,
				 r->nsid ? r->nsid : g->nsid);
	first = g->lba_first;
	if (first >= ns->nlbas)
		return aisio_err(-EACCES, "the grant's LBA range starts at %llu, past the end of "
				 "namespace %u (%llu LBAs)", (unsigned long long)first, ns->nsid,
				 (unsigned long long)ns->nlbas);
	count = g->lba_count && g->lba_count < ns->nlbas - first ? g->lba_count : ns->nlbas - first;
	if (r->mode == AISIO_HOMI_MODE_MEDIATED) {
		int fd = memfd_create("homid-shadow-db", MFD_CLOEXEC);

		if (fd < 0)
			return aisio_err(-errno, "memfd_create: %s", strerror(errno));
		cl->shadow_len = hc->bar_len ? hc->bar_len : 0x2000 + 8 * 1024;
		cl->shadow_len = (cl->shadow_len + 4095) & ~(size_t)4095;
		if (ftruncate(fd, (off_t)cl->shadow_len) ||
		    (cl->shadow = mmap(NULL, cl->shadow_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
				       0)) == MAP_FAILED) {
			int err = -errno;

			cl->shadow = NULL;
			close(fd);
			return aisio_err(err, "shadow doorbell page: %s", strerror(-err));
		}
		/* CSTS.RDY: the client's driver reads CSTS for fatal status */
		__atomic_store_n((uint32_t *)(cl->shadow + AISIO_NVME_REG_CSTS), AISIO_NVME_CSTS_RDY,
				 __ATOMIC_RELEASE);
		cl->shadow_fd = fd;
		*fd_out = dup(fd);
	} else if (hc->kind != AISIO_HOMI_CTRL_TCP) {
		*fd_out = dup(hc->bar_fd);
	}
	/* direct on a remote controller: no doorbells; each queue comes with TCP_QUEUE */
	if (*fd_out < 0 && !(hc->kind == AISIO_HOMI_CTRL_TCP && r->mode == AISIO_HOMI_MODE_DIRECT))
		return aisio_err(-errno, "dup: %s", strerror(errno));
	memset(ar, 0, sizeof(*ar));
	homid_ctrl_desc(hc, &ar->ctrl);
	if (r->mode == AISIO_HOMI_MODE_MEDIATED) {
		/* mediated commands go through homid's checks: its MDTS limit holds */
		ar->ctrl.bar0_len = (uint32_t)cl->shadow_len;
	} else {
		ar->ctrl.db_off = hc->bar_off; /* vfio: BAR0 in the device descriptor */
	}
	if (g->max_depth && ar->ctrl.max_qdepth > g->max_depth)
		ar->ctrl.max_qdepth = g->max_depth;
	ns_desc(ns, (uint32_t)(hc - h->ctrls), &ar->ns);
	ar->db_len = r->mode == AISIO_HOMI_MODE_MEDIATED ? (uint32_t)cl->shadow_len
							 : (uint32_t)hc->bar_len; /* 0: tcp */
	ar->mode = r->mode;
	ar->lba_first = first;
	ar->lba_count = count;
	ar->writable = (uint32_t)g->writable;
	cl->ctrl = hc;
	cl->ns = ns;
	cl->mode = (int)r->mode;
	*rlen = sizeof(*ar);
	LOG_INFO("client pid %d attached to %s nsid %u, %s", cl->pid, hc->name, ns->nsid,
		 r->mode == AISIO_HOMI_MODE_DIRECT ? "direct" : "mediated");
	return 0;
}

/* A registration of @len bytes of @what: a sane length within the uid's memory grant. */
static int check_mem_len(const struct homid_client *cl, uint64_t len, const char *what)
{
	if (!len || len % 4096 || len > ((uint64_t)1 << 40))
		return aisio_err(-EINVAL, "%s length %llu: a multiple of 4096 bytes, up to 1 TiB", what,
				 (unsigned long long)len);
	if (cl->grant.max_mem && cl->mem_bytes + len > cl->grant.max_mem)
		return aisio_err(-EDQUOT, "registering %llu bytes would exceed the %llu bytes granted "
				 "to uid %u (%llu registered)", (unsigned long long)len,
				 (unsigned long long)cl->grant.max_mem, cl->uid,
				 (unsigned long long)cl->mem_bytes);
	return 0;
}

static int req_mem_reg(struct homid_client *cl, const struct aisio_homi_mem_reg *r, int fd,
		       void *reply, size_t *rlen)
{
	struct aisio_homi_mem_reg_reply *mr = reply;
	struct homid_mem *m;
	struct stat st;
	int seals, err;

	err = need_attached(cl);
	if (err)
		return err;
	err = check_mem_len(cl, r->len, "memory");
	if (err)
		return err;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || (uint64_t)st.st_size < r->len)
		return aisio_err(-EINVAL, "the descriptor is not a memfd of at least %llu bytes",
				 (unsigned long long)r->len);
	/* a memfd the client could shrink would fault homid and the device model: seal it */
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 || !(seals & F_SEAL_SHRINK))
		return aisio_err(-EINVAL, "the memfd must be sealed against shrinking "
				 "(memfd_create MFD_ALLOW_SEALING, then F_ADD_SEALS F_SEAL_SHRINK)");
	m = calloc(1, sizeof(*m));
	if (!m)
		return aisio_err(-ENOMEM, "out of memory");
	m->len = r->len;
	m->va = mmap(NULL, m->len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m->va == MAP_FAILED) {
		err = aisio_err(-errno, "mapping %zu bytes of client memory: %s", m->len, strerror(errno));
		free(m);
		return err;
	}
	m->fd = dup(fd);
	if (m->fd < 0) {
		err = aisio_err(-errno, "dup: %s", strerror(errno));
		goto err_unmap;
	}
	err = homid_ctrl_map(cl->ctrl, m->va, m->len, &m->bus);
	if (err)
		goto err_close;
	m->id = cl->next_mem_id++;
	m->next = cl->mems;
	/* the mediator walks this list without a lock: publish the node whole */
	__atomic_store_n(&cl->mems, m, __ATOMIC_RELEASE);
	cl->nmem++;
	cl->mem_bytes += m->len;
	memset(mr, 0, sizeof(*mr));
	mr->mem_id = m->id;
	mr->bus = m->bus;
	*rlen = sizeof(*mr);
	return 0;

err_close:
	close(m->fd);
err_unmap:
	munmap(m->va, m->len);
	free(m);
	return err;
}

/* GPU memory of the client's: opened here and added to the model's DMA table as GPU memory. */
static int req_gpu_mem_reg(struct homid_client *cl, const struct aisio_homi_gpu_mem_reg *r, void *reply,
			   size_t *rlen)
{
	struct aisio_homi_mem_reg_reply *mr = reply;
	struct homid_mem *m;
	int err;

	err = need_attached(cl);
	if (err)
		return err;
	if (cl->mode != AISIO_HOMI_MODE_DIRECT)
		return aisio_err(-ENOTSUP, "GPU memory needs a direct session (mode=direct): the mediator "
				 "reads client memory with the CPU");
	if (r->kind != AISIO_HOMI_GPU_CUDA_IPC)
		return aisio_err(-EINVAL, "GPU memory handle kind %u: homid takes %u (a CUDA IPC handle)",
				 r->kind, AISIO_HOMI_GPU_CUDA_IPC);
	err = check_mem_len(cl, r->len, "GPU memory");
	if (err)
		return err;
	m = calloc(1, sizeof(*m));
	if (!m)
		return aisio_err(-ENOMEM, "out of memory");
	m->fd = -1;
	m->len = r->len;
	err = homid_ctrl_gpu_map(cl->ctrl, r->handle, m->len, &m->gpu_ptr);
	if (err) {
		free(m);
		return err;
	}
	m->bus = (uint64_t)(uintptr_t)m->gpu_ptr;
	m->id = cl->next_mem_id++;
	m->next = cl->mems;
	__atomic_store_n(&cl->mems, m, __ATOMIC_RELEASE);
	cl->nmem++;
	cl->mem_bytes += m->len;
	memset(mr, 0, sizeof(*mr));
	mr->mem_id = m->id;
	mr->bus = m->bus;
	*rlen = sizeof(*mr);
	LOG_INFO("client pid %d: %llu bytes of GPU memory registered on %s (GPU %d)", cl->pid,
		 (unsigned long long)m->len, cl->ctrl->name, cl->ctrl->gpu);
	return 0;
}

/* CPU memory (rings, PRP lists) the client registered that holds [bus, bus + len). */
static struct homid_mem *mem_holding(struct homid_client *cl, uint64_t bus, uint64_t len)
{
	for (struct homid_mem *m = cl->mems; m; m = m->next)
		if (!m->gpu_ptr && bus >= m->bus && len <= m->len && bus - m->bus <= m->len - len)
			return m;
	return NULL;
}

static int req_mem_unreg(struct homid_client *cl, const struct aisio_homi_mem_unreg *r)
{
	int err = need_attached(cl);

	if (err)
		return err;
	for (struct homid_mem **pp = &cl->mems; *pp; pp = &(*pp)->next) {
		struct homid_mem *m = *pp;

		if (m->id != r->mem_id)
			continue;
		/* Queues may point anywhere in it (rings, data): only without queues. */
		if (cl->queues)
			return aisio_err(-EBUSY, "memory %u: delete the connection's queues first",
					 r->mem_id);
		*pp = m->next;
		homid_mem_release(cl, m);
		return 0;
	}
	return aisio_err(-ENOENT, "no registered memory with id %u", r->mem_id);
}

/* One more queue of @depth entries: within the uid's grant and the controller's @max_qdepth. */
static int check_queue_limits(const struct homid_client *cl, uint32_t depth, uint32_t max_qdepth)
{
	const struct homid_grant *g = &cl->grant;

	if (g->max_queues && cl->nqueues >= g->max_queues)
		return aisio_err(-EDQUOT, "uid %u may hold %u queue pair(s) (%s)", cl->uid,
				 g->max_queues, g->rule);
	if (depth < 2 || depth > max_qdepth || (g->max_depth && depth > g->max_depth))
		return aisio_err(-EINVAL, "queue depth %u: 2..%u allowed", depth,
				 g->max_depth && g->max_depth < max_qdepth ? g->max_depth : max_qdepth);
	return 0;
}

static int req_qp_create(struct homid *h, struct homid_client *cl,
			 const struct aisio_homi_qp_create *r, void *reply, size_t *rlen)
{
	struct aisio_homi_qp_create_reply *qr = reply;
	struct homid_mem *sqm, *cqm;
	struct homid_queue *q;
	uint32_t max_qdepth, max_xfer, page_shift, dstrd;
	int err;

	err = need_attached(cl);
	if (err)
		return err;
	if (cl->ctrl->kind == AISIO_HOMI_CTRL_TCP && cl->mode == AISIO_HOMI_MODE_DIRECT)
		return aisio_err(-ENOTSUP, "%s is a remote controller over NVMe/TCP: a direct queue is "
				 "a TCP connection (TCP_QUEUE), not rings", cl->ctrl->name);
	homid_ctrl_limits(cl->ctrl, &max_qdepth, &max_xfer, &page_shift, &dstrd);
	err = check_queue_limits(cl, r->depth, max_qdepth);
	if (err)
		return err;
	sqm = mem_holding(cl, r->sq_bus, (uint64_t)r->depth * 64);
	cqm = mem_holding(cl, r->cq_bus, (uint64_t)r->depth * 16);
	if (!sqm || !cqm)
		return aisio_err(-EFAULT, "the %s ring is not inside CPU memory this client registered "
				 "(MEM_REG; rings may not be in GPU memory)", !sqm ? "submission" : "completion");
	q = calloc(1, sizeof(*q));
	if (!q)
		return aisio_err(-ENOMEM, "out of memory");
	q->depth = r->depth;
	q->mode = cl->mode;
	q->sq_bus = r->sq_bus;
	q->cq_bus = r->cq_bus;
	if (cl->mode == AISIO_HOMI_MODE_DIRECT) {
		struct aisio_nvme_qpair_ext e = { .depth = r->depth, .sq_bus = r->sq_bus,
						  .cq_bus = r->cq_bus };

		err = aisio_nvme_ctrl_qpair_create_ext(cl->ctrl->nc, &e, &q->qid);
	} else {
		err = homid_med_queue_create(h, cl, r->depth, sqm->va + (r->sq_bus - sqm->bus),
					     cqm->va + (r->cq_bus - cqm->bus), q);
	}
	if (err) {
		free(q);
		if (err > 0)
			return aisio_err(-EIO, "the controller refused the queue: NVMe status 0x%x", err);
		return err;
	}
	q->next = cl->queues;
	cl->queues = q;
	cl->nqueues++;
	memset(qr, 0, sizeof(*qr));
	qr->qid = q->qid;
	qr->depth = q->depth;
	qr->sq_db = aisio_nvme_db_offset(q->qid, 0, dstrd);
	qr->cq_db = aisio_nvme_db_offset(q->qid, 1, dstrd);
	*rlen = sizeof(*qr);
	LOG_DEBUG("client pid %d: queue %u depth %u created", cl->pid, q->qid, q->depth);
	return 0;
}

/*
 * A direct client's own Fabrics I/O queue on a remote controller: homid
 * connects it (ICReq, Connect with the controller's CNTLID) and hands the
 * socket over; it keeps a duplicate to shut the connection down at reclaim.
 */
static int req_tcp_queue(struct homid_client *cl, const struct aisio_homi_tcp_queue *r,
			 void *reply, size_t *rlen, int *fd_out)
{
	uint32_t max_qdepth, max_xfer, page_shift, dstrd;
	struct homid_queue *q;
	int err, keep = -1;

	err = need_attached(cl);
	if (err)
		return err;
	if (cl->ctrl->kind != AISIO_HOMI_CTRL_TCP || cl->mode != AISIO_HOMI_MODE_DIRECT)
		return aisio_err(-ENOTSUP, "TCP_QUEUE is for direct sessions on a remote (nvme+tcp://) "
				 "controller; %s takes QP_CREATE", cl->ctrl->name);
	homid_ctrl_limits(cl->ctrl, &max_qdepth, &max_xfer, &page_shift, &dstrd);
	err = check_queue_limits(cl, r->depth, max_qdepth);
	if (err)
		return err;
	q = calloc(1, sizeof(*q));
	if (!q)
		return aisio_err(-ENOMEM, "out of memory");
	err = homid_tcp_queue_handover(cl->ctrl, r->depth, reply, fd_out, &keep);
	if (err) {
		free(q);
		return err;
	}
	q->qid = ((struct aisio_homi_tcp_queue_reply *)reply)->qid;
	q->depth = r->depth;
	q->mode = AISIO_HOMI_MODE_DIRECT;
	q->tcp_direct = 1;
	q->tcp_fd = keep;
	q->next = cl->queues;
	cl->queues = q;
	cl->nqueues++;
	*rlen = sizeof(struct aisio_homi_tcp_queue_reply);
	LOG_DEBUG("client pid %d: TCP queue %u depth %u handed over", cl->pid, q->qid, q->depth);
	return 0;
}

static int req_qp_delete(struct homid *h, struct homid_client *cl,
			 const struct aisio_homi_qp_delete *r)
{
	int err = need_attached(cl);

	if (err)
		return err;
	for (struct homid_queue **pp = &cl->queues; *pp; pp = &(*pp)->next) {
		struct homid_queue *q = *pp;

		if (q->qid != r->qid)
			continue;
		*pp = q->next;
		cl->nqueues--;
		if (q->mode == AISIO_HOMI_MODE_MEDIATED)
			homid_med_queue_delete(h, cl, q);
		err = homid_ctrl_qpair_delete(cl->ctrl, q);
		homid_med_queue_free(cl, q);
		free(q);
		if (err > 0)
			return aisio_err(-EIO, "deleting queue %u: NVMe status 0x%x", r->qid, err);
		return err;
	}
	return aisio_err(-ENOENT, "queue %u does not belong to this connection", r->qid);
}

static int req_identify(struct homid_client *cl, const struct aisio_homi_identify *r, void *reply,
			size_t *rlen)
{
	uint32_t nsid = 0;
	int err = need_attached(cl);

	if (err)
		return err;
	switch (r->cns) {
	case AISIO_NVME_CNS_CTRL:
		break;
	case AISIO_NVME_CNS_NS:
	case AISIO_NVME_CNS_NS_DESC_LIST:
		if (r->nsid != cl->ns->nsid)
			return aisio_err(-EACCES, "Identify CNS %u for namespace %u: this connection is "
					 "attached to namespace %u", r->cns, r->nsid, cl->ns->nsid);
		nsid = r->nsid;
		break;
	case AISIO_NVME_CNS_NS_ACTIVE_LIST: {
		/* a client sees the one namespace it is attached to; the others are not its business */
		struct aisio_nvme_ns_list *list = reply;

		if (r->nsid >= 0xfffffffeu)
			return aisio_err(-EINVAL, "Identify CNS 02h: NSID 0x%x has no namespace IDs after it",
					 r->nsid);
		memset(list, 0, sizeof(*list));
		if (r->nsid < cl->ns->nsid)
			list->nsid[0] = aisio_cpu_to_le32(cl->ns->nsid);
		*rlen = sizeof(*list);
		return 0;
	}
	default:
		return aisio_err(-EPERM, "Identify CNS 0x%02x is not passed through (CNS 00h, 01h, "
				 "02h and 03h are)", r->cns);
	}
	err = homid_ctrl_identify(cl->ctrl, r->cns, nsid, reply);
	if (err)
		return err;
	*rlen = 4096;
	return 0;
}

int homid_request(struct homid *h, struct homid_client *cl, const struct aisio_homi_msg *m,
		  void *reply, size_t *rlen, int *fd_out)
{
	/* The body may be unaligned in the packet: copy it into an aligned union. */
	union {
		struct aisio_homi_hello hello;
		struct aisio_homi_attach attach;
		struct aisio_homi_mem_reg mreg;
		struct aisio_homi_mem_unreg munreg;
		struct aisio_homi_qp_create qc;
		struct aisio_homi_qp_delete qd;
		struct aisio_homi_identify id;
		struct aisio_homi_export ex;
		struct aisio_homi_unexport unex;
		struct aisio_homi_file_map fmap;
		struct aisio_homi_file_check fcheck;
		struct aisio_homi_gpu_mem_reg greg;
		struct aisio_homi_vf_take vf;
		struct aisio_homi_tcp_queue tq;
	} b;

	*rlen = 0;
	for (int i = 0; i < AISIO_HOMI_MAX_FDS; i++)
		fd_out[i] = -1;
	memset(&b, 0, sizeof(b));
	memcpy(&b, m->body, m->len < sizeof(b) ? m->len : sizeof(b));
	switch (m->hdr.type) {
	case AISIO_HOMI_HELLO:
		return req_hello(cl, &b.hello, reply, rlen);
	case AISIO_HOMI_LIST:
		return homid_status_encode(h, cl, 0, reply, AISIO_HOMI_MSG_MAX - 64, rlen);
	case AISIO_HOMI_STATUS:
		return homid_status_encode(h, cl, 1, reply, AISIO_HOMI_MSG_MAX - 64, rlen);
	case AISIO_HOMI_ATTACH:
		return req_attach(h, cl, &b.attach, reply, rlen, fd_out);
	case AISIO_HOMI_MEM_REG:
		return req_mem_reg(cl, &b.mreg, m->fd, reply, rlen);
	case AISIO_HOMI_MEM_UNREG:
		return req_mem_unreg(cl, &b.munreg);
	case AISIO_HOMI_GPU_MEM_REG:
		return req_gpu_mem_reg(cl, &b.greg, reply, rlen);
	case AISIO_HOMI_QP_CREATE:
		return req_qp_create(h, cl, &b.qc, reply, rlen);
	case AISIO_HOMI_QP_DELETE:
		return req_qp_delete(h, cl, &b.qd);
	case AISIO_HOMI_TCP_QUEUE:
		return req_tcp_queue(cl, &b.tq, reply, rlen, fd_out);
	case AISIO_HOMI_IDENTIFY:
		return req_identify(cl, &b.id, reply, rlen);
	case AISIO_HOMI_EXPORT:
	case AISIO_HOMI_UNEXPORT:
	case AISIO_HOMI_EXPORTS:
		return homid_ublk_request(h, cl, m->hdr.type, &b, reply, rlen);
	case AISIO_HOMI_FILE_MAP:
	case AISIO_HOMI_FILE_CHECK:
		return homid_extent_request(h, cl, m->hdr.type, &b, reply, rlen);
	case AISIO_HOMI_VF_TAKE:
		return homid_vf_take(h, cl, &b.vf, reply, rlen, fd_out);
	case AISIO_HOMI_VF_STATUS:
		*rlen = (size_t)homid_vf_status(h, reply, AISIO_HOMI_VF_STATUS_MAX) + 1;
		return 0;
	default:
		return aisio_err(-EOPNOTSUPP, "unknown request type %u", m->hdr.type);
	}
}
