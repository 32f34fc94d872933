/* SPDX-License-Identifier: MIT */
/* homid: the SR-IOV spec "pci:BDF,vfs=N[,vq=N][,vi=N][,drv=NAME][,ns=LIST]" (sriov.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sriov.h"
#include "util/err.h"

/* "none" or "N[+N...]": namespace IDs 1..0xfffffffe, each once. */
static int parse_ns(const char *spec, const char *v, struct homid_sriov_spec *out)
{
	const char *p = v;

	out->has_ns = 1;
	out->nns = 0;
	if (!strcmp(v, "none"))
		return 0;
	for (;;) {
		unsigned long long n;
		char *end;

		errno = 0;
		n = strtoull(p, &end, 10);
		if (!isdigit((unsigned char)*p) || errno || !n || n >= 0xffffffffull ||
		    (*end && *end != '+'))
			return aisio_err(-EINVAL, "SR-IOV spec '%s': ns=%s: give namespace IDs joined "
					 "by '+' (ns=1+2) or ns=none", spec, v);
		for (uint32_t i = 0; i < out->nns; i++)
			if (out->ns[i] == n)
				return aisio_err(-EINVAL, "SR-IOV spec '%s': namespace %llu listed twice",
						 spec, n);
		if (out->nns == HOMID_SRIOV_MAX_NS)
			return aisio_err(-EINVAL, "SR-IOV spec '%s': at most %d namespaces", spec,
					 HOMID_SRIOV_MAX_NS);
		out->ns[out->nns++] = (uint32_t)n;
		if (!*end)
			return 0;
		p = end + 1;
	}
}

int homid_sriov_parse(const char *spec, struct homid_sriov_spec *out)
{
	char *dup, *tok, *save = NULL;
	int err = 0, first = 1;

	memset(out, 0, sizeof(*out));
	snprintf(out->drv, sizeof(out->drv), "vfio-pci");
	if (strncmp(spec, "pci:", 4))
		return aisio_err(-EINVAL, "SR-IOV spec '%s': give pci:BDF,vfs=N[,vq=N][,vi=N][,drv=NAME]"
				 "[,ns=N+N|none]",
				 spec);
	dup = strdup(spec + 4);
	if (!dup)
		return aisio_err(-ENOMEM, "out of memory");
	for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save), first = 0) {
		char *eq = strchr(tok, '='), *end;
		unsigned long v;

		if (first) {
			err = aisio_pci_bdf_parse(tok, out->bdf);
			if (err) {
				err = aisio_err(-EINVAL, "SR-IOV spec '%s': '%s' is not a PCI address "
						"(DDDD:BB:DD.F or BB:DD.F)", spec, tok);
				break;
			}
			continue;
		}
		if (!eq) {
			err = aisio_err(-EINVAL, "SR-IOV spec '%s': '%s' is not KEY=VALUE", spec, tok);
			break;
		}
		*eq++ = '\0';
		if (!strcmp(tok, "ns")) {
			err = parse_ns(spec, eq, out);
			if (err)
				break;
			continue;
		}
		if (!strcmp(tok, "drv")) {
			if (!*eq || strlen(eq) >= sizeof(out->drv)) {
				err = aisio_err(-EINVAL, "SR-IOV spec '%s': bad driver name", spec);
				break;
			}
			snprintf(out->drv, sizeof(out->drv), "%s", eq);
			continue;
		}
		errno = 0;
		v = strtoul(eq, &end, 10);
		if (!isdigit((unsigned char)*eq) || *end || errno || v > 0xffff) {
			err = aisio_err(-EINVAL, "SR-IOV spec '%s': %s=%s is not a number up to 65535",
					spec, tok, eq);
			break;
		}
		if (!strcmp(tok, "vfs")) {
			out->vfs = (uint32_t)v;
			out->has_vfs = 1;
		} else if (!strcmp(tok, "vq")) {
			out->vq = (uint32_t)v;
		} else if (!strcmp(tok, "vi")) {
			out->vi = (uint32_t)v;
		} else {
			err = aisio_err(-EINVAL, "SR-IOV spec '%s': unknown key '%s' (vfs, vq, vi, drv, ns)",
					spec, tok);
			break;
		}
	}
	free(dup);
	if (!err && !out->bdf[0])
		err = aisio_err(-EINVAL, "SR-IOV spec '%s': no PCI address", spec);
	return err;
}

int homid_sriov_pf_index(const char *sriov, char *const *ctrls, int nctrls)
{
	struct homid_sriov_spec s;
	char b[AISIO_PCI_BDF_LEN], spec[64];

	if (!sriov || homid_sriov_parse(sriov, &s)) {
		aisio_err_clear();
		return -ENOENT;
	}
	for (int i = 0; i < nctrls; i++) {
		if (strncmp(ctrls[i], "pci:", 4))
			continue;
		snprintf(spec, sizeof(spec), "%s", ctrls[i] + 4);
		spec[strcspn(spec, ",")] = 0;
		if (!aisio_pci_bdf_parse(spec, b) && !strcmp(b, s.bdf))
			return i;
		aisio_err_clear();
	}
	return -ENOENT;
}
