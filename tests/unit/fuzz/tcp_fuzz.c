/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target on the NVMe/TCP PDU decoder (src/tcp/pdu.c): any bytes,
 * read as a controller-to-host PDU header on a connection with or without
 * digests, before or after ICResp. The decoder must never read past what it
 * was given, and what it accepts must be self-consistent: the header,
 * padding, data and digest it announces add up to PLEN, data of C2HData
 * fits in the limit, SUCCESS comes only with LAST_PDU.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tcp/pdu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aisio_tcp_params p = { .maxh2cdata = 8192, .max_c2h = 1u << 20 };
	struct aisio_tcp_pdu o;
	uint32_t need;
	uint8_t *hdr;
	int ic;

	if (size < 1 + 8)
		return 0;
	p.hdgst = data[0] & 1;
	p.ddgst = (data[0] >> 1) & 1;
	ic = (data[0] >> 2) & 1;
	data++;
	size--;
	/* the common header alone, in an exact-size copy so ASan sees overreads */
	hdr = malloc(8);
	memcpy(hdr, data, 8);
	if (aisio_tcp_pdu_hdr_len(hdr, &p, ic, &need)) {
		free(hdr);
		return 0;
	}
	free(hdr);
	if (need < 8 || need > AISIO_NVME_TCP_MAX_HLEN + 4)
		abort();
	if (size < need)
		return 0;
	hdr = malloc(need);
	memcpy(hdr, data, need);
	if (!aisio_tcp_pdu_decode(hdr, need, &p, ic, &o)) {
		if (o.hdr_len != need)
			abort();
		if (o.type == AISIO_NVME_TCP_C2H_DATA) {
			if ((uint64_t)o.hdr_len + o.pad + o.data_len + o.ddgst_len != o.plen)
				abort();
			if (!o.data_len || o.data_len > p.max_c2h)
				abort();
			if ((o.flags & AISIO_NVME_TCP_F_DATA_SUCCESS) && !(o.flags & AISIO_NVME_TCP_F_DATA_LAST))
				abort();
		} else if (o.type == AISIO_NVME_TCP_C2H_TERM) {
			if (o.hdr_len + o.data_len != o.plen || o.plen > AISIO_NVME_TCP_TERM_MAX_PLEN)
				abort();
		} else if (o.plen != o.hdr_len || o.data_len) {
			abort();
		}
	}
	free(hdr);
	return 0;
}
