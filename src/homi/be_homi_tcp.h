/* SPDX-License-Identifier: MIT */
/*
 * homi:...,mode=direct on a remote (NVMe/TCP) controller of homid's: each
 * queue is a Fabrics I/O queue connection homid connected and handed over
 * (TCP_QUEUE); this process drives it with the initiator's queue code
 * (be_homi_tcp.c).
 */
#ifndef AISIO_HOMI_BE_HOMI_TCP_H
#define AISIO_HOMI_BE_HOMI_TCP_H

#include <aisio/homi_proto.h>

#include "homi/client.h"
#include "io/backend.h"

struct aisio_tcp_ctrl;

/* The initiator's view of homid's controller: limits from ATTACH, no admin queue, no reconnect. */
int aisio_homi_tcp_setup(struct aisio_dev *dev, const struct aisio_homi_attach_reply *att,
			 struct aisio_tcp_ctrl **out);
void aisio_homi_tcp_teardown(struct aisio_tcp_ctrl *c);
/* A queue of @depth entries: TCP_QUEUE, then the handed-over socket adopted. */
int aisio_homi_tcp_queue_init(struct aisio_dev *dev, struct aisio_homi_conn *conn,
			      struct aisio_tcp_ctrl *c, uint32_t depth, struct aisio_queue **out);
/* Close the connection and give the queue ID back (QP_DELETE). */
void aisio_homi_tcp_queue_term(struct aisio_homi_conn *conn, struct aisio_queue *q);

#endif
