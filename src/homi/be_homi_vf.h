/* SPDX-License-Identifier: MIT */
/* homi:...,mode=vf: a VF from homid's pool, driven whole by this process (be_homi_vf.c). */
#ifndef AISIO_HOMI_BE_HOMI_VF_H
#define AISIO_HOMI_BE_HOMI_VF_H

#include <stdint.h>

#include "drv/drv.h"
#include "homi/client.h"

/*
 * Take a VF from homid (@want_bdf or NULL for any) and bring its controller
 * up: *@fn the vfio function (from homid's descriptors), *@ctrl the driver.
 * Returns 0, homid's refusal (-EBUSY: none free or that one in use;
 * -ENODEV: no pool or not in it; -EPERM: not granted) or a bring-up error.
 */
int aisio_homi_vf_open(struct aisio_homi_conn *conn, const char *want_bdf, uint32_t timeout_ms,
		       struct aisio_pcif **fn, struct aisio_nvme_ctrl **ctrl, char *bdf_out);
/* The device's geometry from the VF's namespace @want (0: the first active one). */
int aisio_homi_vf_geo(struct aisio_dev *dev, struct aisio_nvme_ctrl *ctrl, uint32_t want);

#endif
