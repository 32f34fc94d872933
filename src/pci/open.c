/* SPDX-License-Identifier: MIT */
/* Choosing how to reach a real PCI function: uio or vfio; the pci: provider. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pci/pci.h"
#include "pci/provider.h"
#include "pci/sysfs.h"
#include "util/err.h"

int aisio_pci_bdf_parse(const char *in, char out[AISIO_PCI_BDF_LEN])
{
	unsigned dom = 0, bus, dev, fn;
	int n = 0;

	if (!in)
		return aisio_err(-EINVAL, "no PCI address");
	for (const char *p = in; *p; p++)
		if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
			goto bad;
	if (sscanf(in, "%x:%x:%x.%x%n", &dom, &bus, &dev, &fn, &n) == 4 && !in[n]) {
		if (strchr(in, ':') - in > 4)
			goto bad;
	} else if (n = 0, sscanf(in, "%x:%x.%x%n", &bus, &dev, &fn, &n) == 3 && !in[n]) {
		dom = 0;
	} else {
		goto bad;
	}
	if (dom > 0xffff || bus > 0xff || dev > 0x1f || fn > 7)
		goto bad;
	snprintf(out, AISIO_PCI_BDF_LEN, "%04x:%02x:%02x.%x", dom, bus, dev, fn);
	return 0;
bad:
	return aisio_err(-EINVAL, "'%s' is not a PCI address (want DDDD:BB:DD.F or BB:DD.F)", in);
}

/* Keep a user-space binding the function already has; else prefer vfio. */
static const char *auto_binding(const char *bdf)
{
	char drv[64];

	if (!aisio_pci_sysfs_driver(bdf, drv, sizeof(drv))) {
		if (!strcmp(drv, "vfio-pci"))
			return "vfio";
		if (!strcmp(drv, "uio_pci_generic"))
			return "uio";
	}
	if (aisio_pci_sysfs_iommu_group(bdf) >= 0 && aisio_pci_sysfs_driver_loaded("vfio-pci"))
		return "vfio";
	return "uio";
}

int aisio_pcif_open(const char *bdf, const char *binding, struct aisio_pcif **out)
{
	char b[AISIO_PCI_BDF_LEN];
	int err;

	*out = NULL;
	err = aisio_pci_bdf_parse(bdf, b);
	if (err)
		return err;
	if (binding && strcmp(binding, "uio") && strcmp(binding, "vfio"))
		return aisio_err(-EINVAL, "%s: unknown binding '%s' (uio or vfio)", b, binding);
	err = aisio_pci_sysfs_exists(b);
	if (err)
		return err;
	if (!binding)
		binding = auto_binding(b);
	return !strcmp(binding, "vfio") ? aisio_pci_vfio_open(b, out) : aisio_pci_uio_open(b, out);
}

/* pci:BDF[,drv=uio|vfio]: the first token that is not an option is the address. */
static int pci_open_spec(const char *uri, const char *spec, unsigned flags, struct aisio_pcif **out)
{
	char *copy = strdup(spec), *save = NULL, *tok;
	const char *bdf = NULL, *drv = NULL;
	int err = 0;

	if (!copy)
		return aisio_err(-ENOMEM, "out of memory");
	for (tok = strtok_r(copy, ",", &save); tok && !err; tok = strtok_r(NULL, ",", &save)) {
		if (!strncmp(tok, "drv=", 4)) {
			drv = tok + 4;
			if (strcmp(drv, "uio") && strcmp(drv, "vfio"))
				err = aisio_err(-EINVAL, "%s: drv takes uio or vfio, not '%s'", uri,
						drv);
		} else if (!bdf) {
			bdf = tok;
		} else {
			err = aisio_err(-EINVAL, "%s: unknown option '%s' (pci:BDF takes "
					"drv=uio|vfio)", uri, tok);
		}
	}
	if (!err && !bdf)
		err = aisio_err(-EINVAL, "%s: missing %s", uri, aisio_pcif_provider_pci.what);
	if (!err)
		err = aisio_pcif_open(bdf, drv, out);
	free(copy);
	return err;
}

const struct aisio_pcif_provider aisio_pcif_provider_pci = {
	.scheme = "pci",
	.what = "the PCI address (pci:BDF)",
	.open = pci_open_spec,
};
