/* SPDX-License-Identifier: MIT */
/* The two real-function providers behind aisio_pcif_open(). */
#ifndef AISIO_PCI_PROVIDER_H
#define AISIO_PCI_PROVIDER_H

#include "pci/pci.h"

/* @bdf is normalised. Same returns as aisio_pcif_open(). */
int aisio_pci_uio_open(const char *bdf, struct aisio_pcif **out);
int aisio_pci_vfio_open(const char *bdf, struct aisio_pcif **out);

#endif
