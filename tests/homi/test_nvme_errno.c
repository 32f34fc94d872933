/* SPDX-License-Identifier: MIT */
/* homid's NVMe status -> errno table for ublk exports (tools/homid/nvme_errno.c). */
#include <errno.h>
#include <stdio.h>

#include <aisio/nvme_spec.h>

int homid_nvme_errno(int status);

static int fails;

static void expect(const char *what, int status, int want)
{
	int got = homid_nvme_errno(status);

	if (got != want) {
		printf("FAIL: %s (status 0x%x): got %d, want %d\n", what, status, got, want);
		fails++;
	}
}

#define ST(sct, sc) ((int)((sct) << 8 | (sc)))

int main(void)
{
	expect("success", 0, 0);
	expect("an errno passes through", -ETIMEDOUT, -ETIMEDOUT);
	expect("invalid opcode", ST(0, AISIO_NVME_SC_INVALID_OPCODE), -EOPNOTSUPP);
	expect("invalid field", ST(0, AISIO_NVME_SC_INVALID_FIELD), -EOPNOTSUPP);
	expect("LBA out of range", ST(0, AISIO_NVME_SC_LBA_RANGE), -EREMOTEIO);
	expect("capacity exceeded", ST(0, AISIO_NVME_SC_CAP_EXCEEDED), -ENOSPC);
	expect("write protected", ST(0, AISIO_NVME_SC_NS_WRITE_PROTECTED), -EROFS);
	expect("namespace not ready", ST(0, AISIO_NVME_SC_NS_NOT_READY), -EAGAIN);
	expect("data transfer error", ST(0, AISIO_NVME_SC_DATA_XFER_ERROR), -EIO);
	expect("unrecovered read error", AISIO_NVME_SC_READ_ERROR, -ENODATA);
	expect("write fault", AISIO_NVME_SC_WRITE_FAULT, -ENODATA);
	expect("path error", ST(3, 0x00), -ENOLINK);
	expect("command specific", ST(1, 0x80), -EIO);
	expect("vendor specific", ST(7, 0x01), -EIO);
	if (fails)
		return 1;
	printf("nvme_errno: 14 statuses mapped as expected\n");
	return 0;
}
