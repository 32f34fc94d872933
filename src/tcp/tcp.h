/* SPDX-License-Identifier: MIT */
/*
 * The NVMe/TCP initiator: one controller association (an admin queue and
 * its I/O queues, one TCP connection each) behind the nvme+tcp:// backend.
 *
 *   pdu.c      PDU encode and strict decode (pdu.h)
 *   sock.c     TCP connect with a deadline, ICReq/ICResp
 *   queue.c    a queue: many commands in flight on a non-blocking socket
 *              driven by epoll, per-command timeouts, reconnecting
 *   tx.c, rx.c sending and receiving PDUs (queue_int.h: command slots)
 *   fabrics.c  Connect, Property Get/Set, controller enable, Keep Alive,
 *              reconnect of the association within the controller-loss timeout
 *   uri.c      nvme+tcp://HOST[:PORT]/SUBNQN[,key=value...]
 *   be_tcp.c   the backend ops
 */
#ifndef AISIO_TCP_TCP_H
#define AISIO_TCP_TCP_H

#include <pthread.h>
#include <stdint.h>

#include <aisio/aisio.h>

#include "io/backend.h"
#include "tcp/pdu.h"

/* ---- URI (uri.c) ---- */

struct aisio_tcp_uri {
	char host[256];
	char port[16];
	char subnqn[AISIO_NVMF_NQN_SIZE];
	char hostnqn[AISIO_NVMF_NQN_SIZE];
	uint32_t nsid;
	uint32_t nr_io_queues;
	uint32_t timeout_ms;      /* per command */
	uint32_t kato_ms;         /* keep alive timeout (0: off) */
	uint32_t ctrl_loss_tmo_s; /* give up reconnecting after this long */
	uint32_t reconnect_delay_ms;
	int hdgst, ddgst;
};

/*
 * aisio_tcp_uri_parse - parse @uri into @u, defaults filled in.
 * Returns 0 or -EINVAL with a message naming the bad part.
 */
int aisio_tcp_uri_parse(const char *uri, struct aisio_tcp_uri *u);

/* ---- Socket (sock.c) ---- */

/*
 * aisio_tcp_sock_connect - TCP connection to @u's target, non-blocking,
 * TCP_NODELAY, ICReq/ICResp done by @deadline_ms (monotonic); fills @p.
 * Returns the socket or -errno (-ECONNREFUSED, -ETIMEDOUT, -EHOSTUNREACH,
 * -EPROTO for a bad ICResp) with a message.
 */
int aisio_tcp_sock_connect(const struct aisio_tcp_uri *u, uint64_t deadline_ms, struct aisio_tcp_params *p);
uint64_t aisio_tcp_now_ms(void);

/* ---- Queue (queue.c) ---- */

struct aisio_tcp_ctrl;

enum tcp_qstate {
	TCP_Q_UP,    /* connected */
	TCP_Q_DOWN,  /* lost; reconnecting */
	TCP_Q_DEAD,  /* controller-loss timeout passed, or closed */
};

struct tcp_slot;

struct aisio_tcp_queue {
	struct aisio_queue q;            /* first: the API's queue header */
	struct aisio_tcp_ctrl *ctrl;
	uint16_t qid;
	uint32_t nslots;                 /* commands in flight at most */
	int fd, epfd;
	enum tcp_qstate state;
	uint64_t gen;                    /* association this connection belongs to */
	uint64_t down_since_ms;
	uint64_t next_try_ms;
	struct aisio_tcp_params p;
	uint32_t icd_max;                /* in-capsule data limit, bytes */
	struct tcp_slot *slots;
	uint16_t *free;                  /* stack of free slot indexes */
	uint32_t nfree;
	uint16_t *prep;                  /* taken since the last submit, in order */
	uint32_t nprep;
	uint16_t *done;                  /* completed, callbacks not yet run (a ring) */
	uint32_t done_head, ndone;
	uint32_t inflight;               /* sent to the target, not completed */
	/* transmit: a FIFO of slot indexes with a PDU to send */
	uint16_t *txq;
	uint32_t tx_head, tx_tail, tx_cap;
	uint32_t tx_sent;                /* bytes of the head PDU already sent */
	/* receive */
	int rx_state;
	uint8_t rx_hdr[AISIO_NVME_TCP_MAX_HLEN + 2 * AISIO_NVME_TCP_DIGEST_LEN];
	uint32_t rx_have, rx_need;
	struct aisio_tcp_pdu rx_pdu;
	uint32_t rx_crc;
	uint8_t *rx_buf;                 /* staging for small reads */
	uint32_t rx_pos, rx_len;
	uint8_t rx_skip[256];
};

/*
 * aisio_tcp_queue_create - a queue of @depth entries (at most @depth - 1 in
 * flight) for queue ID @qid, connected: socket, ICReq and Fabrics Connect.
 * Returns 0, -ENOMEM, or what connecting returns.
 */
int aisio_tcp_queue_create(struct aisio_tcp_ctrl *c, uint16_t qid, uint32_t depth,
			   struct aisio_tcp_queue **out);
void aisio_tcp_queue_destroy(struct aisio_tcp_queue *tq);
/*
 * aisio_tcp_queue_adopt - a queue of @depth entries for queue ID @qid on a
 * socket another process connected (ICReq and Connect done, @p from its
 * ICResp): homid hands a direct client its queue this way. The queue takes
 * @fd over. Returns 0 or -ENOMEM / -errno (the caller still owns @fd then).
 */
int aisio_tcp_queue_adopt(struct aisio_tcp_ctrl *c, uint16_t qid, uint32_t depth, int fd,
			  const struct aisio_tcp_params *p, struct aisio_tcp_queue **out);
/* Take the connected socket out of @tq (it stays open) and free the queue. */
int aisio_tcp_queue_release_fd(struct aisio_tcp_queue *tq);
/* (Re)connect a queue to the controller's current association: socket, ICReq, Connect. */
int aisio_tcp_queue_connect(struct aisio_tcp_queue *tq);
/* Drop the connection; commands in flight complete with @status. */
void aisio_tcp_queue_fail(struct aisio_tcp_queue *tq, int status);

struct aisio_io *aisio_tcp_queue_get_io(struct aisio_tcp_queue *tq);
void aisio_tcp_queue_put_io(struct aisio_tcp_queue *tq, struct aisio_io *io);
int aisio_tcp_queue_submit(struct aisio_tcp_queue *tq);
/* Reap; @wait_ms: how long to wait for the socket when nothing completed (0: do not). */
int aisio_tcp_queue_reap(struct aisio_tcp_queue *tq, uint32_t max, int wait_ms);
uint32_t aisio_tcp_queue_outstanding(const struct aisio_tcp_queue *tq);
/* One command, synchronously, with @timeout_ms; @result: CQE dw0 | dw1 << 32. Returns its status. */
int aisio_tcp_queue_sync(struct aisio_tcp_queue *tq, const struct aisio_nvme_sqe *cmd, void *buf,
			 size_t len, uint64_t *result, uint32_t timeout_ms);

/* ---- Controller (fabrics.c) ---- */

struct aisio_tcp_ctrl {
	struct aisio_tcp_uri u;
	const char *name;                /* the URI, for messages */
	pthread_mutex_t admin_lock;      /* the admin queue and reconnecting */
	struct aisio_tcp_queue *admin;
	uint64_t gen;                    /* association number (atomic) */
	int lost;                        /* controller-loss timeout passed (atomic) */
	uint16_t cntlid;
	uint8_t hostid[16];
	uint64_t cap;
	uint32_t vs;
	struct aisio_nvme_id_ctrl id;
	uint32_t nr_io_queues;           /* granted */
	uint32_t io_icd_max;
	uint32_t max_xfer;
	uint32_t max_qdepth;
	/* keep alive */
	pthread_t ka_thread;
	int ka_running;
	uint64_t down_since_ms;          /* association lost at (0: up) */
	int ka_stop;
	pthread_cond_t ka_cond;
	pthread_mutex_t ka_mutex;
	uint64_t ka_sent, ka_failed;
	/* queues handed over by another process (homid): a lost connection is not reconnected */
	int no_reconnect;
};

/* Connect the association, enable the controller, start Keep Alive. */
int aisio_tcp_ctrl_init(const char *name, const struct aisio_tcp_uri *u, struct aisio_tcp_ctrl **out);
/* Shut the controller down (CC.SHN), close the admin queue. I/O queues go first. */
void aisio_tcp_ctrl_term(struct aisio_tcp_ctrl *c);
/* An admin command; reconnects the association first when it is down. */
int aisio_tcp_ctrl_admin(struct aisio_tcp_ctrl *c, const struct aisio_nvme_sqe *cmd, void *buf,
			 size_t len, uint32_t *result);
/*
 * aisio_tcp_ctrl_reconnect - replace association @seen_gen with a new one
 * (nothing to do when another caller already has). Call with admin_lock
 * held. Returns 0, or -errno while the target is unreachable (-ENODEV once
 * the controller-loss timeout has passed).
 */
int aisio_tcp_ctrl_reconnect(struct aisio_tcp_ctrl *c, uint64_t seen_gen);
/* Fabrics Connect on @tq (admin: qid 0) as host @c. Returns 0, NVMe status or -errno. */
int aisio_tcp_fabrics_connect(struct aisio_tcp_ctrl *c, struct aisio_tcp_queue *tq, uint32_t depth);

static inline uint64_t aisio_tcp_ctrl_gen(const struct aisio_tcp_ctrl *c)
{
	return __atomic_load_n(&c->gen, __ATOMIC_ACQUIRE);
}

#endif
