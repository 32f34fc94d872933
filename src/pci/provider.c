/* SPDX-License-Identifier: MIT */
/* Opening a PCI function by URI: the table of providers, one line each. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pci/pci.h"
#include "pci/provider.h"
#include "util/err.h"

static const struct aisio_pcif_provider *const providers[] = {
	&aisio_pcif_provider_pci,
	&aisio_pcif_provider_emu,
};

#define NPROVIDERS (sizeof(providers) / sizeof(providers[0]))

/* The provider whose scheme @uri starts with ("SCHEME:"), else NULL. */
static const struct aisio_pcif_provider *provider_of(const char *uri)
{
	for (size_t i = 0; i < NPROVIDERS; i++) {
		size_t n = strlen(providers[i]->scheme);

		if (!strncmp(uri, providers[i]->scheme, n) && uri[n] == ':')
			return providers[i];
	}
	return NULL;
}

int aisio_pcif_uri_known(const char *uri)
{
	return uri && provider_of(uri);
}

int aisio_pcif_open_uri(const char *uri, unsigned flags, struct aisio_pcif **out)
{
	const struct aisio_pcif_provider *p;
	const char *spec;
	char schemes[64] = "";

	*out = NULL;
	if (!uri)
		return aisio_err(-EINVAL, "no PCI function URI");
	p = provider_of(uri);
	if (!p) {
		for (size_t i = 0, used = 0; i < NPROVIDERS && used < sizeof(schemes); i++)
			used += (size_t)snprintf(schemes + used, sizeof(schemes) - used, "%s%s:",
						 i ? (i + 1 == NPROVIDERS ? " or " : ", ") : "",
						 providers[i]->scheme);
		return aisio_err(-EINVAL, "%s: no PCI-function provider for this URI scheme "
				 "(use %s)", uri, schemes);
	}
	spec = uri + strlen(p->scheme) + 1;
	if (!*spec)
		return aisio_err(-EINVAL, "%s: missing %s", uri, p->what);
	return p->open(uri, spec, flags, out);
}
