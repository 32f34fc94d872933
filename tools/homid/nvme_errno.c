/* SPDX-License-Identifier: MIT */
/*
 * The errno a block device reports for a failed NVMe command: chosen so
 * that the kernel's errno-to-block-status table gives the status the
 * kernel's own NVMe driver would (not supported, target, no space,
 * medium, transport), with EIO for the rest.
 */
#include <errno.h>

#include <aisio/nvme_spec.h>

int homid_nvme_errno(int status);

int homid_nvme_errno(int status)
{
	unsigned sct, sc;

	if (status <= 0)
		return status; /* 0, or already an errno (timeout, failed controller) */
	sct = ((unsigned)status >> 8) & 7;
	sc = (unsigned)status & 0xff;
	if (sct == AISIO_NVME_SCT_MEDIA)
		return -ENODATA; /* write fault, unrecovered read, integrity errors */
	if (sct == AISIO_NVME_SCT_PATH)
		return -ENOLINK;
	if (sct != AISIO_NVME_SCT_GENERIC)
		return -EIO;
	switch (sc) {
	case AISIO_NVME_SC_INVALID_OPCODE:
	case AISIO_NVME_SC_INVALID_FIELD:
		return -EOPNOTSUPP;
	case AISIO_NVME_SC_LBA_RANGE:
		return -EREMOTEIO;
	case AISIO_NVME_SC_CAP_EXCEEDED:
		return -ENOSPC;
	case AISIO_NVME_SC_NS_WRITE_PROTECTED:
		return -EROFS;
	case AISIO_NVME_SC_NS_NOT_READY:
		return -EAGAIN;
	default:
		return -EIO;
	}
}
