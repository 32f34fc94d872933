/* SPDX-License-Identifier: MIT */
/*
 * The Linux ublk_drv user ABI as the 6.12 kernel speaks it, on top of the
 * build machine's <linux/ublk_cmd.h> (which may be older): the values the
 * older header lacks are defined here from the kernel's documented ABI.
 */
#ifndef HOMID_UBLK_ABI_H
#define HOMID_UBLK_ABI_H

#include <linux/ioctl.h>
#include <linux/ublk_cmd.h>

#ifndef UBLK_F_UNPRIVILEGED_DEV
#define UBLK_F_UNPRIVILEGED_DEV (1ULL << 5)
#endif
#ifndef UBLK_F_CMD_IOCTL_ENCODE
#define UBLK_F_CMD_IOCTL_ENCODE (1ULL << 6)
#endif
#ifndef UBLK_F_USER_COPY
#define UBLK_F_USER_COPY (1ULL << 7)
#endif
#ifndef UBLK_F_ZONED
#define UBLK_F_ZONED (1ULL << 8)
#endif
/* later kernels: zero copy through registered buffers, automatic registration */
#define HOMID_UBLK_F_ZERO_COPY_REAL (1ULL << 0)
#define HOMID_UBLK_F_AUTO_BUF_REG (1ULL << 11)

#define HOMID_UBLK_CMD_GET_DEV_INFO _IOR('u', UBLK_CMD_GET_DEV_INFO, struct ublksrv_ctrl_cmd)
#define HOMID_UBLK_CMD_ADD_DEV _IOWR('u', UBLK_CMD_ADD_DEV, struct ublksrv_ctrl_cmd)
#define HOMID_UBLK_CMD_DEL_DEV _IOWR('u', UBLK_CMD_DEL_DEV, struct ublksrv_ctrl_cmd)
#define HOMID_UBLK_CMD_START_DEV _IOWR('u', UBLK_CMD_START_DEV, struct ublksrv_ctrl_cmd)
#define HOMID_UBLK_CMD_STOP_DEV _IOWR('u', UBLK_CMD_STOP_DEV, struct ublksrv_ctrl_cmd)
#define HOMID_UBLK_CMD_SET_PARAMS _IOWR('u', UBLK_CMD_SET_PARAMS, struct ublksrv_ctrl_cmd)
#define HOMID_UBLK_CMD_GET_PARAMS _IOR('u', UBLK_CMD_GET_PARAMS, struct ublksrv_ctrl_cmd)
#define HOMID_UBLK_CMD_START_USER_RECOVERY \
	_IOWR('u', UBLK_CMD_START_USER_RECOVERY, struct ublksrv_ctrl_cmd)
#define HOMID_UBLK_CMD_END_USER_RECOVERY \
	_IOWR('u', UBLK_CMD_END_USER_RECOVERY, struct ublksrv_ctrl_cmd)
#define HOMID_UBLK_CMD_GET_FEATURES _IOR('u', 0x13, struct ublksrv_ctrl_cmd)
/* 6.9 and later: delete without waiting for the last opener to go */
#define HOMID_UBLK_CMD_DEL_DEV_ASYNC _IOR('u', 0x14, struct ublksrv_ctrl_cmd)
#define HOMID_UBLK_IO_FETCH_REQ _IOWR('u', UBLK_IO_FETCH_REQ, struct ublksrv_io_cmd)
#define HOMID_UBLK_IO_COMMIT_AND_FETCH_REQ \
	_IOWR('u', UBLK_IO_COMMIT_AND_FETCH_REQ, struct ublksrv_io_cmd)

/* request operations and flags in ublksrv_io_desc.op_flags */
enum {
	HOMID_UBLK_OP_READ = 0,
	HOMID_UBLK_OP_WRITE = 1,
	HOMID_UBLK_OP_FLUSH = 2,
	HOMID_UBLK_OP_DISCARD = 3,
	HOMID_UBLK_OP_WRITE_SAME = 4,
	HOMID_UBLK_OP_WRITE_ZEROES = 5,
};
#define HOMID_UBLK_IO_F_FUA (1U << 13)
#define HOMID_UBLK_IO_F_NOUNMAP (1U << 15)

/* ublk_param_basic.attrs and ublk_params.types */
#define HOMID_UBLK_ATTR_VOLATILE_CACHE (1U << 2)
#define HOMID_UBLK_ATTR_FUA (1U << 3)
#define HOMID_UBLK_PARAM_TYPE_BASIC (1U << 0)
#define HOMID_UBLK_PARAM_TYPE_DISCARD (1U << 1)

/* ublksrv_ctrl_dev_info.state */
enum { HOMID_UBLK_S_DEV_DEAD = 0, HOMID_UBLK_S_DEV_LIVE = 1, HOMID_UBLK_S_DEV_QUIESCED = 2 };

#endif
