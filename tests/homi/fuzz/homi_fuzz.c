/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target on homid's message decoder (FILE_MAP, FILE_CHECK and GPU_MEM_REG too): any bytes, read as a
 * request (with 0..2 descriptors, the packet cut or not) and as a reply to
 * every request type. The decoder must never read out of bounds, must
 * close every descriptor of a refused message, and an accepted message must
 * be exactly what its type takes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "homi/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aisio_homi_msg m;
	uint8_t *pkt;
	int fds[2] = { -1, -1 }, nfds = 0, trunc = 0, err;

	if (size < 1)
		return 0;
	nfds = data[0] % 3;
	trunc = (data[0] >> 2) & 1;
	data++;
	size--;
	/* an exact-size copy: ASan sees any read past the packet */
	pkt = malloc(size ? size : 1);
	if (!pkt)
		return 0;
	memcpy(pkt, data, size);
	for (int i = 0; i < nfds; i++)
		fds[i] = dup(0);
	err = aisio_homi_decode(pkt, size, fds, nfds, trunc, &m);
	if (!err) {
		if (m.len != (uint32_t)aisio_homi_req_len(m.hdr.type) || m.len + 16 != size)
			abort();
		if ((m.fd >= 0) != (m.hdr.type == AISIO_HOMI_MEM_REG))
			abort();
		if (m.fd >= 0)
			close(m.fd);
	} else {
		/* a refused message's descriptors are closed by the decoder */
		for (int i = 0; i < nfds; i++)
			if (fcntl(fds[i], F_GETFD) != -1)
				abort();
	}
	for (uint16_t type = 0; type <= AISIO_HOMI_TYPE_MAX + 1; type++) {
		const uint8_t *body;
		uint32_t len;
		int32_t status;

		if (!aisio_homi_decode_reply(pkt, size, type, 7, &status, &body, &len) && !status &&
		    (body < pkt || body + len > pkt + size))
			abort();
	}
	free(pkt);
	return 0;
}
