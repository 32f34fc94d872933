/* SPDX-License-Identifier: MIT */
/*
 * Restart without letting go (docs/homi.md, "Restart"). On SIGUSR2 homid
 * executes itself again (/proc/self/exe: an updated binary takes over)
 * with the same arguments and --handover FD. What survives the exec:
 *
 *   - vfio controllers, running: container, group and device descriptors,
 *     homid's DMA memory (memfds: the admin queue cannot move while the
 *     controller is enabled) and the admin queue's host-side state;
 *   - the listening socket, so no connection is refused meanwhile;
 *   - direct clients of those controllers: their sockets, registered
 *     memfds (still mapped in the IOMMU at the same IOVAs) and queue pairs
 *     (still in the controller). Their I/O never stops: homid is not on
 *     the data path, and a request sent meanwhile waits in the socket.
 *
 * What cannot survive is dropped before the exec, as if the client hung
 * up: clients of a device model (it lives inside homid), mediated clients
 * (homid's mediator is their data path) and ublk exports; those clients
 * see the connection close and get "homid went away", and can reconnect.
 *
 * The state goes in a sealed memfd: a header, the controllers, then each
 * client with its memory and queues. The descriptors keep their numbers
 * across the exec (FD_CLOEXEC cleared), and the state names them.
 *
 * The same record, with each descriptor named by its token in systemd's
 * file descriptor store instead of its number, is what fdstore.c keeps
 * current for a successor after a crash (homid_handover_encode with
 * crash set); that successor parses it, maps the tokens to the descriptors
 * it was passed (homid_handover_remap) and takes over through the same
 * code below. After a crash the record also holds mediated clients of vfio
 * controllers (their memory is still mapped and their queues still exist:
 * the successor deletes and unmaps them) and the admin queue state flagged
 * AISIO_NVME_HO_CRASH (adopt.c recovers it from the rings).
 */
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

#define HO_MAGIC 0x4f48444du /* "MDHO" */
#define HO_VERSION 1
#define HO_MAX_MEM 4096
#define HO_MAX_QUEUES 4096

struct ho_hdr {
	uint32_t magic;
	uint32_t version;
	uint32_t nctrl;
	uint32_t nclient;
	int32_t listen_fd;
	uint32_t ntoken; /* exec with a file descriptor store: struct ho_token after the clients */
};

/* A descriptor's name in systemd's store, kept across the exec (fdstore.c). */
struct ho_token {
	int32_t fd;
	uint32_t token;
	uint32_t kind;
	uint32_t rsvd;
};

struct ho_client {
	int32_t sock;
	uint32_t pid, uid, gid;
	int32_t ctrl; /* index in h->ctrls, -1: not attached */
	uint32_t nsid;
	uint32_t mode;
	uint32_t next_mem_id;
	uint32_t nmem, nqueue;
	uint64_t errors;
};

struct ho_mem {
	int32_t fd;
	uint32_t id;
	uint64_t len;
	uint64_t bus;
};

struct ho_queue {
	uint16_t qid;
	uint16_t rsvd;
	uint32_t depth;
	uint64_t sq_bus;
	uint64_t cq_bus;
};

struct homid_handover {
	uint8_t *buf;
	size_t len;
	struct ho_hdr hdr;
	struct homid_ho_ctrl *ctrls;
	int crash; /* from the crash record (fdstore.c), not a SIGUSR2 exec */
	int busy;  /* crash: the socket of the client whose request was in flight, or -1 */
};

/* ---- the old homid: save and exec ----------------------------------------------- */

struct ho_out {
	uint8_t *p;
	size_t len, cap;
	int *fds; /* descriptors to keep across the exec */
	size_t nfds, fdcap;
	int crash; /* descriptors named by their store tokens (-1: not in the store) */
};

static int out_put(struct ho_out *o, const void *v, size_t n)
{
	if (o->len + n > o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 4096;
		uint8_t *p;

		while (cap < o->len + n)
			cap *= 2;
		p = realloc(o->p, cap);
		if (!p)
			return aisio_err(-ENOMEM, "out of memory for the restart state");
		o->p = p;
		o->cap = cap;
	}
	memcpy(o->p + o->len, v, n);
	o->len += n;
	return 0;
}

static int out_fd(struct ho_out *o, int fd)
{
	if (o->nfds == o->fdcap) {
		size_t cap = o->fdcap ? o->fdcap * 2 : 64;
		int *p = realloc(o->fds, cap * sizeof(*p));

		if (!p)
			return aisio_err(-ENOMEM, "out of memory for the restart state");
		o->fds = p;
		o->fdcap = cap;
	}
	o->fds[o->nfds++] = fd;
	return 0;
}

/* A descriptor as the record names it: its number (exec) or its store token (crash). */
static int put_fd(struct ho_out *o, int fd, int32_t *field)
{
	if (o->crash) {
		uint32_t t = fd >= 0 ? homid_store_token(fd) : 0;

		*field = t ? (int32_t)t : -1;
		return 0;
	}
	*field = fd;
	return out_fd(o, fd);
}

static int ctrl_handed_over(const struct homid_ctrl *hc)
{
	return hc->kind == AISIO_HOMI_CTRL_PCI && hc->host;
}

/* Clients that cannot outlive this process go now, reclaimed as on a hang-up. */
static void drop_unkeepable(struct homid *h)
{
	struct homid_client *cl = h->clients, *next;

	for (; cl; cl = next) {
		next = cl->next;
		for (int i = 0; i < h->nvfs; i++)
			if (h->vfs[i].owner == cl) {
				homid_client_drop(h, cl, "homid restarting: VFs go back to the pool");
				break;
			}
	}
	for (cl = h->clients; cl; cl = next) {
		next = cl->next;
		if (!cl->ctrl)
			continue;
		if (cl->ctrl->kind == AISIO_HOMI_CTRL_TCP)
			homid_client_drop(h, cl, "homid restarting: the remote controller's connections "
					  "are homid's");
		else if (!ctrl_handed_over(cl->ctrl))
			homid_client_drop(h, cl, "homid restarting: the device model lives in homid");
		else if (cl->mode != AISIO_HOMI_MODE_DIRECT)
			homid_client_drop(h, cl, "homid restarting: mediated queues go through homid");
	}
}

static int save_ctrl(struct homid *h, int i, struct ho_out *o)
{
	struct homid_ctrl *hc = &h->ctrls[i];
	struct homid_ho_ctrl s;
	int n, err;

	memset(&s, 0, sizeof(s));
	s.index = (uint32_t)i;
	err = aisio_pci_vfio_handover_save(hc->pcif, &s.vfio);
	if (!err)
		err = o->crash ? aisio_nvme_ctrl_crash_state(hc->nc, &s.nvme)
			       : aisio_nvme_ctrl_handover_save(hc->nc, &s.nvme);
	if (err)
		return err;
	n = homid_pci_host_save(hc->host, s.region, HOMID_HO_REGIONS);
	if (n < 0)
		return n;
	s.nregion = (uint32_t)n;
	err = put_fd(o, s.vfio.container, &s.vfio.container) ?:
	      put_fd(o, s.vfio.group, &s.vfio.group) ?: put_fd(o, s.vfio.device, &s.vfio.device);
	for (int r = 0; !err && r < n; r++)
		err = put_fd(o, s.region[r].fd, &s.region[r].fd);
	return err ?: out_put(o, &s, sizeof(s));
}

static int save_client(struct homid *h, struct homid_client *cl, struct ho_out *o)
{
	struct ho_client c = {
		.pid = (uint32_t)cl->pid,
		.uid = cl->uid,
		.gid = cl->gid,
		.ctrl = cl->ctrl ? (int32_t)(cl->ctrl - h->ctrls) : -1,
		.nsid = cl->ns ? cl->ns->nsid : 0,
		.mode = (uint32_t)cl->mode,
		.next_mem_id = cl->next_mem_id,
		.nmem = cl->nmem,
		.nqueue = cl->nqueues,
		.errors = cl->errors,
	};
	int err = put_fd(o, cl->sock, &c.sock) ?: out_put(o, &c, sizeof(c));

	for (struct homid_mem *m = cl->mems; !err && m; m = m->next) {
		struct ho_mem hm = { .id = m->id, .len = m->len, .bus = m->bus };

		err = put_fd(o, m->fd, &hm.fd) ?: out_put(o, &hm, sizeof(hm));
	}
	for (struct homid_queue *q = cl->queues; !err && q; q = q->next) {
		struct ho_queue hq = { .qid = q->qid, .depth = q->depth, .sq_bus = q->sq_bus,
				       .cq_bus = q->cq_bus };

		err = out_put(o, &hq, sizeof(hq));
	}
	return err;
}

/* The record: what survives a SIGUSR2 exec, or (@o->crash) a crash. */
static int encode(struct homid *h, struct ho_out *o)
{
	struct ho_hdr hdr = { .magic = HO_MAGIC, .version = HO_VERSION };
	int err = out_put(o, &hdr, sizeof(hdr)) ?: put_fd(o, h->listen_fd, &hdr.listen_fd);

	for (int i = 0; !err && i < h->nctrls; i++)
		if (ctrl_handed_over(&h->ctrls[i])) {
			err = save_ctrl(h, i, o);
			hdr.nctrl++;
		}
	for (struct homid_client *cl = h->clients; !err && cl; cl = cl->next) {
		/* a crash: clients of vfio controllers (mediated ones are deleted and unmapped) */
		if (o->crash && (!cl->ctrl || !ctrl_handed_over(cl->ctrl)))
			continue;
		err = save_client(h, cl, o);
		hdr.nclient++;
	}
	/* exec under systemd: the store's names of the descriptors kept */
	if (!err && !o->crash) {
		struct homid_store_fd *t = NULL;
		int n = homid_store_list(&t);

		for (int i = 0; !err && i < n; i++) {
			struct ho_token ht = { .fd = t[i].fd, .token = t[i].token, .kind = t[i].kind };

			err = out_put(o, &ht, sizeof(ht)) ?: out_fd(o, t[i].fd);
		}
		hdr.ntoken = n > 0 ? (uint32_t)n : 0;
		free(t);
		if (n < 0)
			err = n;
	}
	if (!err)
		memcpy(o->p, &hdr, sizeof(hdr));
	return err;
}

int homid_handover_encode(struct homid *h, uint8_t **buf, size_t *len)
{
	struct ho_out o = { .crash = 1 };
	int err = encode(h, &o);

	free(o.fds);
	if (err) {
		free(o.p);
		return err;
	}
	*buf = o.p;
	*len = o.len;
	return 0;
}

static int set_cloexec(const int *fds, size_t n, int on)
{
	for (size_t i = 0; i < n; i++)
		if (fcntl(fds[i], F_SETFD, on ? FD_CLOEXEC : 0))
			return aisio_err(-errno, "descriptor %d: %s", fds[i], strerror(errno));
	return 0;
}

void homid_handover_exec(struct homid *h)
{
	struct ho_out o = { 0 };
	struct ho_hdr hdr;
	char arg[32], **argv = NULL;
	int argc = 0, fd = -1, err;

	LOG_INFO("SIGUSR2: restarting; vfio controllers and their direct clients are kept");
	drop_unkeepable(h);
	homid_ublk_stop(h);
	err = encode(h, &o);
	if (err)
		goto fail;
	memcpy(&hdr, o.p, sizeof(hdr));
	fd = memfd_create("homid-handover", MFD_ALLOW_SEALING); /* no CLOEXEC: the next homid reads it */
	if (fd < 0 || write(fd, o.p, o.len) != (ssize_t)o.len ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)) {
		err = aisio_err(-errno, "the restart state memfd: %s", strerror(errno));
		goto fail;
	}
	while (h->argv[argc])
		argc++;
	argv = calloc((size_t)argc + 2, sizeof(*argv));
	if (!argv) {
		err = aisio_err(-ENOMEM, "out of memory");
		goto fail;
	}
	/* the same arguments, less a --handover from the previous restart */
	argc = 0;
	for (char **a = h->argv; *a; a++)
		if (strncmp(*a, "--handover=", 11))
			argv[argc++] = *a;
	snprintf(arg, sizeof(arg), "--handover=%d", fd);
	argv[argc++] = arg;
	err = set_cloexec(o.fds, o.nfds, 0);
	if (err)
		goto fail;
	LOG_INFO("restart: %u controller(s), %u client(s), %zu descriptors handed over",
		 hdr.nctrl, hdr.nclient, o.nfds);
	execv("/proc/self/exe", argv);
	err = aisio_err(-errno, "execv /proc/self/exe: %s", strerror(errno));
fail:
	set_cloexec(o.fds, o.nfds, 1);
	LOG_ERR("restart failed: %s; homid goes on serving (exports and the clients dropped for "
		"the restart are gone)", aisio_errmsg());
	if (fd >= 0)
		close(fd);
	free(argv);
	free(o.fds);
	free(o.p);
}

/* ---- the new homid: load and take over ---------------------------------------------- */

int homid_handover_parse(const void *buf, size_t len, struct homid_handover **out)
{
	struct homid_handover *ho;
	int err;

	*out = NULL;
	if (len < sizeof(struct ho_hdr) || len > (64 << 20))
		return aisio_err(-EINVAL, "restart state of %zu bytes: not what homid leaves", len);
	ho = calloc(1, sizeof(*ho));
	if (!ho || !(ho->buf = malloc(len))) {
		free(ho);
		return aisio_err(-ENOMEM, "out of memory");
	}
	ho->busy = -1;
	ho->len = len;
	memcpy(ho->buf, buf, len);
	memcpy(&ho->hdr, ho->buf, sizeof(ho->hdr));
	if (ho->hdr.magic != HO_MAGIC || ho->hdr.version != HO_VERSION || ho->hdr.nctrl > 16 ||
	    sizeof(ho->hdr) + ho->hdr.nctrl * sizeof(struct homid_ho_ctrl) > ho->len) {
		err = aisio_err(-EINVAL, "restart state of another homid version or damaged "
				"(magic 0x%x, version %u)", ho->hdr.magic, ho->hdr.version);
		goto err;
	}
	ho->ctrls = calloc(ho->hdr.nctrl ? ho->hdr.nctrl : 1, sizeof(*ho->ctrls));
	if (!ho->ctrls) {
		err = aisio_err(-ENOMEM, "out of memory");
		goto err;
	}
	memcpy(ho->ctrls, ho->buf + sizeof(ho->hdr), ho->hdr.nctrl * sizeof(*ho->ctrls));
	for (uint32_t i = 0; i < ho->hdr.nctrl; i++)
		if (ho->ctrls[i].nregion > HOMID_HO_REGIONS) {
			err = aisio_err(-EINVAL, "restart state: damaged controller state");
			goto err;
		}
	*out = ho;
	return 0;

err:
	homid_handover_free(ho);
	return err;
}

int homid_handover_load(int fd, struct homid_handover **out)
{
	struct stat st;
	uint8_t *buf;
	ssize_t n;
	int err;

	*out = NULL;
	if (fstat(fd, &st) || st.st_size < (off_t)sizeof(struct ho_hdr) || st.st_size > (64 << 20))
		return aisio_err(-EINVAL, "--handover %d: not the state a restarting homid leaves", fd);
	buf = malloc((size_t)st.st_size);
	if (!buf)
		return aisio_err(-ENOMEM, "out of memory");
	n = pread(fd, buf, (size_t)st.st_size, 0);
	close(fd);
	if (n != (ssize_t)st.st_size)
		err = aisio_err(-EIO, "--handover: short read of the restart state");
	else
		err = homid_handover_parse(buf, (size_t)n, out);
	free(buf);
	if (!err)
		err = homid_handover_tokens(*out);
	if (err) {
		homid_handover_free(*out);
		*out = NULL;
	}
	return err;
}

const struct homid_ho_ctrl *homid_handover_ctrl(const struct homid_handover *ho, int index)
{
	for (uint32_t i = 0; ho && i < ho->hdr.nctrl; i++)
		if (ho->ctrls[i].index == (uint32_t)index)
			return &ho->ctrls[i];
	return NULL;
}

/*
 * Walk the clients: @fn(@arg, client, its memory) for each; stops at a damaged
 * record. *@end (optional): where the clients end.
 */
static int walk_clients_end(const struct homid_handover *ho,
			    int (*fn)(void *arg, const struct ho_client *c, const uint8_t *body),
			    void *arg, size_t *end)
{
	size_t off = sizeof(ho->hdr) + ho->hdr.nctrl * sizeof(struct homid_ho_ctrl);
	int err = 0;

	for (uint32_t i = 0; !err && i < ho->hdr.nclient; i++) {
		struct ho_client c;
		size_t body;

		if (off + sizeof(c) > ho->len)
			return aisio_err(-EINVAL, "restart state: client %u cut short", i);
		memcpy(&c, ho->buf + off, sizeof(c));
		off += sizeof(c);
		if (c.nmem > HO_MAX_MEM || c.nqueue > HO_MAX_QUEUES)
			return aisio_err(-EINVAL, "restart state: client %u damaged", i);
		body = c.nmem * sizeof(struct ho_mem) + c.nqueue * sizeof(struct ho_queue);
		if (off + body > ho->len)
			return aisio_err(-EINVAL, "restart state: client %u cut short", i);
		if (fn)
			err = fn(arg, &c, ho->buf + off);
		off += body;
	}
	if (end)
		*end = off;
	return err;
}

static int walk_clients(const struct homid_handover *ho,
			int (*fn)(void *arg, const struct ho_client *c, const uint8_t *body), void *arg)
{
	return walk_clients_end(ho, fn, arg, NULL);
}

/* The store's names of the descriptors an exec kept (fdstore.c). */
int homid_handover_tokens(const struct homid_handover *ho)
{
	size_t off;
	int err = walk_clients_end(ho, NULL, NULL, &off);

	if (err)
		return err;
	if (ho->hdr.ntoken > 65536 || off + ho->hdr.ntoken * sizeof(struct ho_token) > ho->len)
		return aisio_err(-EINVAL, "restart state: descriptor names cut short");
	for (uint32_t i = 0; i < ho->hdr.ntoken; i++) {
		struct ho_token t;

		memcpy(&t, ho->buf + off + i * sizeof(t), sizeof(t));
		homid_store_adopt(t.fd, t.token, (int)t.kind);
	}
	return 0;
}

/* Each descriptor field through @map (a store token to the descriptor passed). */
static int32_t remap_one(int32_t v, int (*map)(void *arg, uint32_t token), void *arg)
{
	return v > 0 ? (int32_t)map(arg, (uint32_t)v) : -1;
}

int homid_handover_remap(struct homid_handover *ho, int (*map)(void *arg, uint32_t token),
			 void *arg, uint32_t busy)
{
	size_t off = sizeof(ho->hdr) + ho->hdr.nctrl * sizeof(struct homid_ho_ctrl);

	ho->crash = 1;
	ho->busy = busy ? map(arg, busy) : -1;
	ho->hdr.listen_fd = remap_one(ho->hdr.listen_fd, map, arg);
	for (uint32_t i = 0; i < ho->hdr.nctrl; i++) {
		struct homid_ho_ctrl *s = &ho->ctrls[i];

		s->vfio.container = remap_one(s->vfio.container, map, arg);
		s->vfio.group = remap_one(s->vfio.group, map, arg);
		s->vfio.device = remap_one(s->vfio.device, map, arg);
		for (uint32_t r = 0; r < s->nregion; r++)
			s->region[r].fd = remap_one(s->region[r].fd, map, arg);
	}
	for (uint32_t i = 0; i < ho->hdr.nclient; i++) {
		struct ho_client c;

		if (off + sizeof(c) > ho->len)
			return aisio_err(-EINVAL, "crash record: client %u cut short", i);
		memcpy(&c, ho->buf + off, sizeof(c));
		if (c.nmem > HO_MAX_MEM || c.nqueue > HO_MAX_QUEUES ||
		    off + sizeof(c) + c.nmem * sizeof(struct ho_mem) > ho->len)
			return aisio_err(-EINVAL, "crash record: client %u damaged", i);
		c.sock = remap_one(c.sock, map, arg);
		memcpy(ho->buf + off, &c, sizeof(c));
		off += sizeof(c);
		for (uint32_t m = 0; m < c.nmem; m++, off += sizeof(struct ho_mem)) {
			struct ho_mem hm;

			memcpy(&hm, ho->buf + off, sizeof(hm));
			hm.fd = remap_one(hm.fd, map, arg);
			memcpy(ho->buf + off, &hm, sizeof(hm));
		}
		off += c.nqueue * sizeof(struct ho_queue);
	}
	return 0;
}

int homid_handover_crashed(const struct homid_handover *ho)
{
	return ho && ho->crash;
}

struct reserve_arg {
	int index;
	struct aisio_pcif *fn;
};

static int reserve_one(void *arg, const struct ho_client *c, const uint8_t *body)
{
	struct reserve_arg *ra = arg;
	int err = 0;

	if (c->ctrl != ra->index)
		return 0;
	for (uint32_t i = 0; !err && i < c->nmem; i++) {
		struct ho_mem m;

		memcpy(&m, body + i * sizeof(m), sizeof(m));
		err = aisio_pci_vfio_map_adopt(ra->fn, m.bus, m.len);
	}
	return err;
}

int homid_handover_reserve(const struct homid_handover *ho, int index, struct aisio_pcif *fn)
{
	struct reserve_arg ra = { .index = index, .fn = fn };

	return walk_clients(ho, reserve_one, &ra);
}

int homid_handover_listen_fd(const struct homid_handover *ho)
{
	int fd = ho->hdr.listen_fd;

	if (fd < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC))
		return aisio_err(-EBADF, "restart state: the listening socket (%d) is gone", fd);
	return fd;
}

static void close_client_fds(const uint8_t *p, const struct ho_client *c)
{
	const struct ho_mem *m = (const struct ho_mem *)p;

	homid_store_close(c->sock);
	for (uint32_t i = 0; i < c->nmem; i++)
		homid_store_close(m[i].fd);
}

/*
 * One client back. What cannot be kept (after a crash: a mediated client,
 * one whose connection is gone, one whose request was in flight, memory
 * that is not there) is taken over all the same and then reclaimed as on
 * a hang-up: its queues deleted before its memory is unmapped.
 */
static int restore_client(struct homid *h, const struct homid_handover *ho,
			  const struct ho_client *c, const uint8_t *p)
{
	const struct ho_mem *hm = (const struct ho_mem *)p;
	const struct ho_queue *hq = (const struct ho_queue *)(p + c->nmem * sizeof(*hm));
	struct homid_client *cl = calloc(1, sizeof(*cl));
	struct homid_ctrl *hc = NULL;
	char why[160] = "";

	if (!cl) {
		close_client_fds(p, c);
		return aisio_err(-ENOMEM, "out of memory");
	}
	cl->sock = c->sock;
	cl->pid = (pid_t)c->pid;
	cl->uid = c->uid;
	cl->gid = c->gid;
	cl->shadow_fd = -1;
	cl->next_mem_id = c->next_mem_id;
	cl->errors = c->errors;
	if (cl->sock >= 0)
		fcntl(cl->sock, F_SETFD, FD_CLOEXEC);
	homid_policy_lookup(&h->cfg, cl->uid, cl->gid, &cl->grant);
	if (c->ctrl >= 0 && (c->ctrl >= h->nctrls || !(hc = &h->ctrls[c->ctrl])->host ||
			     !(cl->ns = homid_ctrl_ns(hc, c->nsid)))) {
		LOG_WARN("client pid %d: its controller or namespace is not there after the restart; "
			 "dropping it", cl->pid);
		close_client_fds(p, c);
		free(cl);
		return -ESTALE;
	}
	if (hc) {
		cl->ctrl = hc;
		cl->mode = (int)c->mode;
	} else if (c->nmem || c->nqueue) {
		LOG_WARN("client pid %d: memory or queues without a controller in the restart state; "
			 "dropping it", cl->pid);
		close_client_fds(p, c);
		free(cl);
		return -ESTALE;
	}
	if (c->mode == AISIO_HOMI_MODE_MEDIATED)
		snprintf(why, sizeof(why), "homid crashed: mediated queues go through homid");
	else if (cl->sock < 0)
		snprintf(why, sizeof(why), "its connection closed while homid was down");
	else if (cl->sock == ho->busy)
		snprintf(why, sizeof(why), "homid crashed while it served a request of this client, "
			 "whose reply is lost");
	for (uint32_t i = 0; i < c->nmem; i++) {
		struct homid_mem *m = calloc(1, sizeof(*m));

		if (!m) {
			homid_store_close(hm[i].fd);
			snprintf(why, sizeof(why), "out of memory");
			continue; /* its IOVA was recorded (reserve) and stays mapped: logged below */
		}
		m->id = hm[i].id;
		m->fd = hm[i].fd;
		m->len = hm[i].len;
		m->bus = hm[i].bus;
		if (m->fd >= 0) {
			m->va = mmap(NULL, m->len, PROT_READ | PROT_WRITE, MAP_SHARED, m->fd, 0);
			if (m->va == MAP_FAILED) {
				snprintf(why, sizeof(why), "its memory %u cannot be mapped: %s", m->id,
					 strerror(errno));
				m->va = NULL;
			}
			fcntl(m->fd, F_SETFD, FD_CLOEXEC);
		} else if (!why[0]) {
			snprintf(why, sizeof(why), "its memory %u is not in the store", m->id);
		}
		/* its mapping was recorded with the controller (homid_handover_reserve) */
		m->next = cl->mems;
		cl->mems = m;
		cl->nmem++;
		cl->mem_bytes += m->len;
	}
	for (uint32_t q = 0; q < c->nqueue; q++) {
		struct aisio_nvme_qpair_ext e = { .depth = hq[q].depth, .sq_bus = hq[q].sq_bus,
						  .cq_bus = hq[q].cq_bus };
		struct homid_queue *nq = calloc(1, sizeof(*nq));
		int err = nq ? aisio_nvme_ctrl_qpair_adopt_ext(hc->nc, &e, hq[q].qid) : -ENOMEM;

		if (err) {
			/* after a crash, the sweep deletes a queue no one took over */
			snprintf(why, sizeof(why), "queue %u: %s", hq[q].qid,
				 nq ? aisio_errmsg() : "out of memory");
			free(nq);
			continue;
		}
		nq->qid = hq[q].qid;
		nq->depth = hq[q].depth;
		/* a mediated queue comes back bare: it is deleted at once (why) */
		nq->mode = AISIO_HOMI_MODE_DIRECT;
		nq->sq_bus = hq[q].sq_bus;
		nq->cq_bus = hq[q].cq_bus;
		nq->next = cl->queues;
		cl->queues = nq;
		cl->nqueues++;
	}
	cl->next = h->clients;
	h->clients = cl;
	h->nclients++;
	if (why[0]) {
		LOG_WARN("client pid %d: %s; dropping it", cl->pid, why);
		homid_client_drop(h, cl, "not taken over across the restart");
		return -ESTALE;
	}
	LOG_INFO("client pid %d uid %u kept across the restart: %u queue(s), %u memory region(s)",
		 cl->pid, cl->uid, cl->nqueues, cl->nmem);
	return 0;
}

struct restore_arg {
	struct homid *h;
	const struct homid_handover *ho;
	int kept;
};

static int restore_one(void *arg, const struct ho_client *c, const uint8_t *body)
{
	struct restore_arg *ra = arg;

	if (!restore_client(ra->h, ra->ho, c, body))
		ra->kept++;
	return 0;
}

int homid_handover_clients(struct homid *h, const struct homid_handover *ho)
{
	struct restore_arg ra = { .h = h, .ho = ho };

	if (walk_clients(ho, restore_one, &ra))
		LOG_ERR("restart: %s; the clients after it are not taken over", aisio_errmsg());
	return ra.kept;
}

void homid_handover_finish(struct homid *h, const struct homid_handover *ho)
{
	for (int i = 0; i < h->nctrls; i++) {
		const struct homid_ho_ctrl *s = homid_handover_ctrl(ho, i);
		struct homid_ctrl *hc = &h->ctrls[i];

		if (!s || !hc->host)
			continue;
		if (ho->crash) {
			/* queues made after the last record, mediated and homid's own: SQ, then CQ */
			int n = aisio_nvme_ctrl_sweep_qids(hc->nc);

			if (n < 0)
				LOG_ERR("controller %s: deleting the queues no one took over: %s", hc->name,
					aisio_errmsg());
			else
				LOG_INFO("controller %s: %d queue pair(s) no one took over deleted",
					 hc->name, n);
		}
		homid_pci_host_trim(hc->host, s->nvme.asq_bus, s->nvme.acq_bus);
	}
}

void homid_handover_free(struct homid_handover *ho)
{
	if (!ho)
		return;
	free(ho->ctrls);
	free(ho->buf);
	free(ho);
}
