/* SPDX-License-Identifier: MIT */
/* Inside one NVMe/TCP queue: command slots, shared by queue.c, tx.c and rx.c. */
#ifndef AISIO_TCP_QUEUE_INT_H
#define AISIO_TCP_QUEUE_INT_H

#include "tcp/tcp.h"

enum { SLOT_FREE, SLOT_TAKEN, SLOT_INFLIGHT, SLOT_DONE };
enum { DIR_NONE = 0, DIR_H2C = 1, DIR_C2H = 2 };
enum { RX_CH, RX_HDR, RX_PAD, RX_DATA, RX_DDGST, RX_TERM };

#define RX_STAGING (64 * 1024)

struct tcp_slot {
	struct aisio_io io;
	uint8_t state;
	uint8_t dir;
	uint8_t icd;           /* data went in the capsule */
	uint8_t r2t;           /* an R2T is being answered */
	uint32_t c2h_next;     /* next C2HData offset expected */
	uint32_t h2c_done;     /* data bytes sent by H2CData so far */
	uint32_t h2c_end;      /* end of the R2T being answered */
	uint16_t ttag;
	uint64_t deadline_ms;
	/* the PDU to send */
	uint32_t hdr_len;
	const uint8_t *tx_data;
	uint32_t tx_data_len;
	uint8_t ddgst[4];
	uint8_t hdr[256];
};

/* The command is done: the reserved slot waits for its caller, the others for reap. */
void aisio_tcp_complete(struct aisio_tcp_queue *tq, struct tcp_slot *s, int status, uint64_t result);

/* tx.c: queue @s's command for sending (0 or -errno: not sent); send what can be sent. */
int aisio_tcp_issue(struct aisio_tcp_queue *tq, struct tcp_slot *s, uint32_t timeout_ms);
void aisio_tcp_tx_push(struct aisio_tcp_queue *tq, uint16_t idx);
int aisio_tcp_tx_flush(struct aisio_tcp_queue *tq);
/* Queue the next H2CData chunk of the R2T @s is answering. */
void aisio_tcp_h2c_next(struct aisio_tcp_queue *tq, struct tcp_slot *s);

/* rx.c: read and handle PDUs until the socket is empty. Returns 0 or -errno (message set). */
int aisio_tcp_rx_process(struct aisio_tcp_queue *tq);

#endif
