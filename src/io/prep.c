/* SPDX-License-Identifier: MIT */
/* Backend-independent command preparation. */
#include <aisio/aisio.h>

#include "nvme/cmd.h"

/*
 * aisio_io.len is 32 bits: a length beyond is kept at the largest value,
 * never wrapped to a smaller one, so a backend refuses the command (its
 * blocks need more than the buffer it is told of) rather than moving less.
 */
static inline void set_data(struct aisio_io *io, void *buf, size_t len)
{
	io->buf = buf;
	io->len = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
}

void aisio_prep_cmd(struct aisio_io *io, const struct aisio_nvme_sqe *cmd, void *buf, size_t len)
{
	io->cmd = *cmd;
	set_data(io, buf, len);
}

void aisio_prep_read(struct aisio_io *io, uint32_t nsid, uint64_t slba, uint32_t nlb, void *buf,
		     size_t len)
{
	aisio_nvme_cmd_read(&io->cmd, nsid, slba, nlb);
	set_data(io, buf, len);
}

void aisio_prep_write(struct aisio_io *io, uint32_t nsid, uint64_t slba, uint32_t nlb, void *buf,
		      size_t len)
{
	aisio_nvme_cmd_write(&io->cmd, nsid, slba, nlb);
	set_data(io, buf, len);
}

void aisio_prep_compare(struct aisio_io *io, uint32_t nsid, uint64_t slba, uint32_t nlb,
			void *buf, size_t len)
{
	aisio_nvme_cmd_compare(&io->cmd, nsid, slba, nlb);
	set_data(io, buf, len);
}

void aisio_prep_flush(struct aisio_io *io, uint32_t nsid)
{
	aisio_nvme_cmd_flush(&io->cmd, nsid);
	set_data(io, NULL, 0);
}

void aisio_prep_write_zeroes(struct aisio_io *io, uint32_t nsid, uint64_t slba, uint32_t nlb,
			     int deallocate)
{
	aisio_nvme_cmd_write_zeroes(&io->cmd, nsid, slba, nlb, deallocate);
	set_data(io, NULL, 0);
}

void aisio_prep_dsm(struct aisio_io *io, uint32_t nsid, struct aisio_nvme_dsm_range *ranges,
		    uint32_t nr, uint32_t attrs)
{
	aisio_nvme_cmd_dsm(&io->cmd, nsid, nr, attrs);
	set_data(io, ranges, (size_t)nr * sizeof(*ranges));
}
