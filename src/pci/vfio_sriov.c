/* SPDX-License-Identifier: MIT */
/*
 * SR-IOV with the physical function under vfio-pci: the module parameter
 * that lets vfio-pci enable VFs, the VF token (a UUID shared between the
 * PF's owner and whoever opens a VF: VFIO_DEVICE_FEATURE_PCI_VF_TOKEN on
 * the PF, "BDF vf_token=UUID" when opening the VF), and a function reset
 * of the PF, which makes a Primary Controller Flexible Allocation take
 * effect.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <unistd.h>

#include "pci/pci.h"
#include "util/err.h"

#define VFIO_SRIOV_PARAM "/sys/module/vfio_pci/parameters/enable_sriov"

int aisio_pci_vf_token_new(char out[AISIO_PCI_VF_TOKEN_LEN])
{
	uint8_t b[16];

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return aisio_err(-errno ? -errno : -EIO, "getrandom: %s", strerror(errno ? errno : EIO));
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4: random */
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	snprintf(out, AISIO_PCI_VF_TOKEN_LEN,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
		 b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
		 b[15]);
	return 0;
}

/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" into 16 bytes, in string order (uuid_t). */
static int uuid_parse(const char *s, uint8_t out[16])
{
	static const int dash[] = { 8, 13, 18, 23 };
	int n = 0;

	if (strlen(s) != AISIO_PCI_VF_TOKEN_LEN - 1)
		return -EINVAL;
	for (int i = 0; i < 4; i++)
		if (s[dash[i]] != '-')
			return -EINVAL;
	for (int i = 0; s[i] && n < 16; i++) {
		unsigned v;

		if (s[i] == '-')
			continue;
		if (!isxdigit((unsigned char)s[i]) || !isxdigit((unsigned char)s[i + 1]) ||
		    sscanf(s + i, "%2x", &v) != 1)
			return -EINVAL;
		out[n++] = (uint8_t)v;
		i++;
	}
	return n == 16 ? 0 : -EINVAL;
}

int aisio_pci_vfio_set_vf_token(struct aisio_pcif *f, const char *token)
{
	struct {
		struct vfio_device_feature h;
		uint8_t uuid[16];
	} feat;
	uint64_t off;
	int fd, err;

	err = aisio_pci_vfio_device(f, &fd, &off);
	if (err)
		return err;
	memset(&feat, 0, sizeof(feat));
	if (uuid_parse(token, feat.uuid))
		return aisio_err(-EINVAL, "%s: VF token '%s' is not a UUID", f->name, token);
	feat.h.argsz = sizeof(feat);
	feat.h.flags = VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_PCI_VF_TOKEN;
	if (ioctl(fd, VFIO_DEVICE_FEATURE, &feat)) {
		err = -errno;
		if (err == -ENOTTY)
			return aisio_err(-ENOTSUP, "%s: vfio-pci takes no VF token for it: not an "
					 "SR-IOV physical function", f->name);
		return aisio_err(err, "%s: setting the VF token (VFIO_DEVICE_FEATURE_PCI_VF_TOKEN): "
				 "%s", f->name, strerror(-err));
	}
	return 0;
}

int aisio_pci_vfio_sriov_enabled(void)
{
	char v[8] = "";
	ssize_t n;
	int fd = open(VFIO_SRIOV_PARAM, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	n = read(fd, v, sizeof(v) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	return v[0] == 'Y' || v[0] == 'y' || v[0] == '1';
}

int aisio_pci_vfio_reset(struct aisio_pcif *f)
{
	uint64_t off;
	int fd, err = aisio_pci_vfio_device(f, &fd, &off);

	if (err)
		return err;
	if (ioctl(fd, VFIO_DEVICE_RESET))
		return aisio_err(-errno, "%s: function reset (VFIO_DEVICE_RESET): %s", f->name,
				 strerror(errno));
	return 0;
}
