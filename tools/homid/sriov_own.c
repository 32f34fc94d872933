/* SPDX-License-Identifier: MIT */
/*
 * homid: the VFs of a physical function that homid owns through vfio (one
 * of its controllers). homid provisions them through its own admin queue
 * (sriov.c with the admin transport of sriov_admin.c) once the controller
 * is up, and again on SIGHUP from the configuration's sriov line (vfs=0
 * releases them); the VF pool follows. The PF keeps serving its own
 * namespaces to clients all the while: Virtualization Management and
 * Namespace Attachment are admin commands beside theirs.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "homid.h"
#include "sriov.h"
#include "util/err.h"

int homid_sriov_own_apply(struct homid *h, const char *sriov)
{
	struct homid_sriov_spec s;
	int changes = 0, busy = 0, err;

	err = homid_sriov_parse(sriov, &s);
	if (!err && !s.has_vfs)
		err = aisio_err(-EINVAL, "SR-IOV spec '%s': vfs=N is missing", sriov);
	if (err)
		return err;
	if (!h->sriov_pf || !homid_ctrl_is_pci(h->sriov_pf, s.bdf))
		return aisio_err(-EINVAL, "SR-IOV spec '%s': homid provisions the VFs of %s, the PF it "
				 "started with; another PF takes a restart", sriov,
				 h->sriov_pf ? h->sriov_pf->name : "none");
	/* the VFs change under nobody: the count, their resources or namespaces */
	err = homid_vf_any_taken(h);
	if (err)
		return err;
	for (struct homid_client *cl = h->clients; cl; cl = cl->next)
		busy |= cl->ctrl == h->sriov_pf;
	err = homid_sriov_provision(&s, h->sriov_pf, busy, &changes);
	if (!err)
		err = homid_vf_resync(h, sriov);
	if (err)
		return err;
	LOG_INFO("%s: %u VF(s) provisioned through homid's admin queue (%d change(s))", s.bdf, s.vfs,
		 changes);
	return 0;
}
