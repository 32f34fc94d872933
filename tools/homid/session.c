/* SPDX-License-Identifier: MIT */
/*
 * Client sessions: accept, identity (SO_PEERCRED), one request at a time,
 * and reclaim when the client goes (hang-up, SIGKILL, bad stream): its SQs
 * and CQs are deleted first, and only then is its memory withdrawn from the
 * device and unmapped, so that no DMA lands in memory given back.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "homid.h"
#include "util/err.h"

int homid_client_accept(struct homid *h)
{
	struct homid_client *cl;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	int fd;

	fd = accept4(h->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR)
			LOG_WARN("accept: %s", strerror(errno));
		return -errno;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen)) {
		LOG_WARN("SO_PEERCRED: %s; closing the connection", strerror(errno));
		close(fd);
		return -EPERM;
	}
	cl = calloc(1, sizeof(*cl));
	if (!cl) {
		LOG_ERR("out of memory for a client; closing the connection");
		close(fd);
		return -ENOMEM;
	}
	cl->sock = fd;
	cl->pid = cred.pid;
	cl->uid = cred.uid;
	cl->gid = cred.gid;
	cl->shadow_fd = -1;
	cl->next_mem_id = 1;
	homid_policy_lookup(&h->cfg, cl->uid, cl->gid, &cl->grant);
	cl->next = h->clients;
	h->clients = cl;
	h->nclients++;
	LOG_INFO("client pid %d uid %u gid %u connected (%s)", cl->pid, cl->uid, cl->gid,
		 cl->grant.allowed ? cl->grant.rule : "no grant");
	return 0;
}

static void queue_delete(struct homid *h, struct homid_client *cl, struct homid_queue *q)
{
	int err;

	if (q->mode == AISIO_HOMI_MODE_MEDIATED)
		homid_med_queue_delete(h, cl, q);
	/* Delete I/O SQ, then CQ: the controller finishes or drops what was in flight. */
	err = homid_ctrl_qpair_delete(cl->ctrl, q);
	if (err)
		LOG_WARN("client pid %d: deleting queue %u: %s (%d)", cl->pid, q->qid,
			 aisio_errmsg(), err);
	homid_med_queue_free(cl, q);
	LOG_DEBUG("client pid %d: queue %u deleted", cl->pid, q->qid);
}

void homid_mem_release(struct homid_client *cl, struct homid_mem *m)
{
	int err;

	if (m->gpu_ptr) {
		/* the model's copies into it drain, then the CUDA IPC handle closes */
		homid_ctrl_gpu_unmap(cl->ctrl, m->gpu_ptr);
		cl->mem_bytes -= m->len;
		cl->nmem--;
		free(m);
		return;
	}
	err = homid_ctrl_unmap(cl->ctrl, m->bus, m->len);

	if (err)
		LOG_WARN("client pid %d: withdrawing memory %u from the device: %s", cl->pid, m->id,
			 aisio_errmsg());
	if (m->va)
		munmap(m->va, m->len);
	homid_store_close(m->fd);
	cl->mem_bytes -= m->len;
	cl->nmem--;
	free(m);
}

void homid_client_drop(struct homid *h, struct homid_client *cl, const char *why)
{
	uint32_t nq = cl->nqueues, nm = cl->nmem;

	for (struct homid_client **pp = &h->clients; *pp; pp = &(*pp)->next) {
		if (*pp == cl) {
			*pp = cl->next;
			break;
		}
	}
	h->nclients--;
	homid_vf_release(h, cl); /* a VF it took: reset, then back in the pool */
	/* 1. queues (SQ then CQ each), 2. memory: no DMA may land in memory given back */
	while (cl->queues) {
		struct homid_queue *q = cl->queues;

		cl->queues = q->next;
		queue_delete(h, cl, q);
		free(q);
	}
	while (cl->mems) {
		struct homid_mem *m = cl->mems;

		cl->mems = m->next;
		homid_mem_release(cl, m);
	}
	if (cl->shadow)
		munmap(cl->shadow, cl->shadow_len);
	if (cl->shadow_fd >= 0)
		close(cl->shadow_fd);
	homid_store_close(cl->sock);
	LOG_INFO("client pid %d uid %u gone (%s): %u queue(s) deleted, %u memory region(s) unmapped",
		 cl->pid, cl->uid, why, nq, nm);
	free(cl);
	homid_store_sync(h);
}

/*
 * Tests only: $HOMID_TEST_CRASH_FILE names a file that holds a request
 * type; after serving that request, and before the crash record says
 * what it changed, homid removes the file and aborts (a crash at the worst
 * moment: tests/vm/homi_crash_guest.sh).
 */
static void test_crash_point(uint16_t type)
{
	static const char *path;
	static int looked;
	unsigned want;
	FILE *f;
	int n;

	if (!looked) {
		path = getenv("HOMID_TEST_CRASH_FILE");
		looked = 1;
	}
	if (!path || !(f = fopen(path, "r")))
		return;
	n = fscanf(f, "%u", &want);
	fclose(f);
	if (n != 1 || want != type)
		return;
	unlink(path);
	LOG_ERR("HOMID_TEST_CRASH_FILE: aborting after request type %u, as %s asks", want, path);
	abort();
}

/* A direct client of a vfio controller outlives a crash: its socket and memory in the store. */
static void store_client(struct homid_client *cl)
{
	if (!homid_store_active() || !cl->ctrl || !cl->ctrl->host ||
	    cl->mode != AISIO_HOMI_MODE_DIRECT)
		return;
	homid_store_add(cl->sock, HOMID_STORE_FD);
	for (struct homid_mem *m = cl->mems; m; m = m->next)
		homid_store_add(m->fd, HOMID_STORE_FD);
}

int homid_client_serve(struct homid *h, struct homid_client *cl)
{
	struct aisio_homi_msg m;
	int fds[AISIO_HOMI_MAX_FDS], nfds, trunc, n, err, nout = 0;
	int out_fd[AISIO_HOMI_MAX_FDS] = { -1, -1, -1 };
	size_t rlen = 0;

	n = aisio_homi_recv(cl->sock, h->buf, sizeof(h->buf), fds, AISIO_HOMI_MAX_FDS, &nfds,
			    &trunc);
	if (n == -EAGAIN || n == -EWOULDBLOCK)
		return 0;
	if (n <= 0) {
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		return -1;
	}
	aisio_err_clear();
	err = aisio_homi_decode(h->buf, (size_t)n, fds, nfds, trunc, &m);
	if (!err) {
		/* a crash from here to the reply loses the reply: a successor drops this client */
		homid_store_busy(cl->sock);
		err = homid_request(h, cl, &m, h->reply + 24, &rlen, out_fd);
		if (m.fd >= 0)
			close(m.fd); /* a request keeps its own duplicate when it needs one */
		test_crash_point(m.hdr.type);
		/* the crash record is current before the client hears of the change */
		store_client(cl);
		homid_store_sync(h);
	}
	if (err) {
		cl->errors++;
		LOG_DEBUG("client pid %d: request type %u: %s", cl->pid, m.hdr.type, aisio_errmsg());
		n = aisio_homi_encode_err(h->reply, m.hdr.type, m.hdr.seq, err, aisio_errmsg());
	} else {
		/* the body was built in place after the header and status */
		memmove(h->buf, h->reply + 24, rlen);
		n = aisio_homi_encode_reply(h->reply, m.hdr.type, m.hdr.seq, 0, h->buf, rlen);
	}
	while (nout < AISIO_HOMI_MAX_FDS && out_fd[nout] >= 0)
		nout++;
	if (n >= 0)
		err = aisio_homi_send(cl->sock, h->reply, (size_t)n, out_fd, nout);
	for (int i = 0; i < nout; i++)
		close(out_fd[i]);
	homid_store_busy(-1);
	if (n < 0)
		return -1;
	if (err) {
		LOG_DEBUG("client pid %d: reply not sent: %s", cl->pid, strerror(-err));
		return -1;
	}
	return 0;
}
