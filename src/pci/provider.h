/* SPDX-License-Identifier: MIT */
/*
 * PCI-function providers. A provider answers one URI scheme: it turns the
 * text after "SCHEME:" into an open struct aisio_pcif. aisio_pcif_open_uri()
 * (src/pci/provider.c) picks the provider by scheme from the table there, so
 * whoever opens a function never learns which provider answered.
 *
 * A new provider is one struct aisio_pcif_provider, defined next to its
 * code, and one line in that table.
 */
#ifndef AISIO_PCI_PROVIDER_H
#define AISIO_PCI_PROVIDER_H

#include "pci/pci.h"

struct aisio_pcif_provider {
	const char *scheme; /* URI scheme without the colon: "pci", "emu" */
	const char *what;   /* what the text after the colon names, for messages */
	/*
	 * Open the function @spec (the URI after "SCHEME:", never empty) names.
	 * @uri is the whole URI, for messages; @flags as aisio_pcif_open_uri()
	 * takes them. Returns 0 and *out, or -errno with a message set
	 * (aisio_err()).
	 */
	int (*open)(const char *uri, const char *spec, unsigned flags, struct aisio_pcif **out);
};

/* pci:BDF[,drv=uio|vfio]: a real function through uio or vfio (src/pci/open.c). */
extern const struct aisio_pcif_provider aisio_pcif_provider_pci;
/* emu:SPEC: a device-model controller in this process (src/emu/pcif.c). */
extern const struct aisio_pcif_provider aisio_pcif_provider_emu;

/* The two bindings behind pci:. @bdf is normalised. Same returns as aisio_pcif_open(). */
int aisio_pci_uio_open(const char *bdf, struct aisio_pcif **out);
int aisio_pci_vfio_open(const char *bdf, struct aisio_pcif **out);

#endif
