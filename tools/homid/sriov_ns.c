/* SPDX-License-Identifier: MIT */
/*
 * homid: namespaces of the VFs' secondary controllers (Namespace Attachment,
 * admin 15h), through the PF's admin passthrough like the rest of sriov.c.
 *
 * The state is read first: the subsystem's namespaces (Identify CNS 10h,
 * else the PF's active list), whether each may be shared (NMIC, CNS 11h)
 * and which controllers each is attached to (CNS 12h). Then one command per
 * namespace attaches it to every VF secondary that lacks it, and, when the
 * spec lists the namespaces exactly, one detaches it from every VF that
 * should not have it. A run that finds everything in place sends nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "homid.h"
#include "nvme/cmd.h"
#include "sriov_int.h"
#include "util/err.h"

/* pf->alloc: allocated NSIDs (CNS 10h), else those attached to the PF (CNS 02h). */
static int ns_allocated(struct sriov_pf *pf)
{
	struct aisio_nvme_ns_list *l;
	struct aisio_nvme_sqe cmd;
	int err;

	if (pf->nalloc)
		return 0;
	l = calloc(1, sizeof(*l));
	if (!l)
		return aisio_err(-ENOMEM, "out of memory");
	aisio_nvme_cmd_identify(&cmd, AISIO_NVME_CNS_NS_ALLOC_LIST, 0, 0);
	err = sriov_admin(pf, &cmd, l, sizeof(*l), NULL);
	if (err > 0) {
		/* no namespace management: the PF's namespaces are all there is to share */
		LOG_DEBUG("%s: Identify CNS 10h failed (%s): using the active namespace list",
			  pf->bdf, aisio_nvme_status_str((uint32_t)err));
		aisio_err_clear();
		aisio_nvme_cmd_identify(&cmd, AISIO_NVME_CNS_NS_ACTIVE_LIST, 0, 0);
		err = sriov_admin(pf, &cmd, l, sizeof(*l), NULL);
	}
	for (unsigned i = 0; !err && i < 1024 && aisio_le32_to_cpu(l->nsid[i]); i++)
		pf->alloc[pf->nalloc++] = aisio_le32_to_cpu(l->nsid[i]);
	free(l);
	return err;
}

static int is_allocated(const struct sriov_pf *pf, uint32_t nsid)
{
	for (uint32_t i = 0; i < pf->nalloc; i++)
		if (pf->alloc[i] == nsid)
			return 1;
	return 0;
}

/* *@shared: NMIC bit 0 of namespace @nsid (CNS 11h, else CNS 00h). */
static int ns_shared(struct sriov_pf *pf, uint32_t nsid, int *shared)
{
	struct aisio_nvme_id_ns *id = calloc(1, sizeof(*id));
	struct aisio_nvme_sqe cmd;
	int err;

	if (!id)
		return aisio_err(-ENOMEM, "out of memory");
	aisio_nvme_cmd_identify(&cmd, AISIO_NVME_CNS_NS_ALLOC, nsid, 0);
	err = sriov_admin(pf, &cmd, id, sizeof(*id), NULL);
	if (err > 0) {
		aisio_err_clear();
		aisio_nvme_cmd_identify(&cmd, AISIO_NVME_CNS_NS, nsid, 0);
		err = sriov_admin(pf, &cmd, id, sizeof(*id), NULL);
	}
	*shared = !err && (id->nmic & AISIO_NVME_NMIC_SHARED);
	free(id);
	return err;
}

/* The controllers namespace @nsid is attached to (CNS 12h). */
static int ns_ctrls(struct sriov_pf *pf, uint32_t nsid, struct aisio_nvme_ctrl_list *cl)
{
	struct aisio_nvme_sqe cmd;
	int err;

	memset(cl, 0, sizeof(*cl));
	aisio_nvme_cmd_identify(&cmd, AISIO_NVME_CNS_NS_CTRL_LIST, nsid, 0);
	err = sriov_admin(pf, &cmd, cl, sizeof(*cl), NULL);
	if (err)
		return aisio_err(err, "%s: cannot read which controllers namespace %u is attached to "
				 "(Identify CNS 12h): %s", pf->bdf, nsid,
				 err > 0 ? aisio_nvme_status_str((uint32_t)err) : aisio_errmsg());
	return 0;
}

static int in_list(const struct aisio_nvme_ctrl_list *cl, uint16_t id)
{
	unsigned n = aisio_le16_to_cpu(cl->num);

	for (unsigned i = 0; i < n && i < AISIO_NVME_CTRL_LIST_MAX; i++)
		if (aisio_le16_to_cpu(cl->id[i]) == id)
			return 1;
	return 0;
}

static void ids_str(const struct aisio_nvme_ctrl_list *cl, char *out, size_t cap)
{
	size_t off = 0;

	out[0] = 0;
	for (unsigned i = 0; i < aisio_le16_to_cpu(cl->num) && off < cap; i++)
		off += (size_t)snprintf(out + off, cap - off, "%s%#x", i ? "," : "",
					aisio_le16_to_cpu(cl->id[i]));
}

/* The answer that says the controller is already in the state asked for. */
static int already(uint8_t sel)
{
	return sel == AISIO_NVME_NS_ATTACH_SEL_ATTACH ? AISIO_NVME_SC_NS_ALREADY_ATTACHED
						      : AISIO_NVME_SC_NS_NOT_ATTACHED;
}

static int attach_cmd(struct sriov_pf *pf, uint32_t nsid, uint8_t sel, struct aisio_nvme_ctrl_list *cl)
{
	const char *what = sel == AISIO_NVME_NS_ATTACH_SEL_ATTACH ? "attach" : "detach";
	struct aisio_nvme_sqe cmd;
	char ids[128];
	int err;

	ids_str(cl, ids, sizeof(ids));
	aisio_nvme_cmd_ns_attach(&cmd, nsid, sel);
	err = sriov_admin(pf, &cmd, cl, sizeof(*cl), NULL);
	if (err == already(sel))
		return err;
	if (err) {
		char why[256];

		snprintf(why, sizeof(why), "%s",
			 err > 0 ? aisio_nvme_status_str((uint32_t)err) : aisio_errmsg());
		return aisio_err(err, "%s: Namespace Attachment (%s) of namespace %u %s secondary "
				 "controller(s) %s failed: %s", pf->bdf, what, nsid,
				 sel == AISIO_NVME_NS_ATTACH_SEL_ATTACH ? "to" : "from", ids, why);
	}
	pf->ncmds++;
	LOG_INFO("%s: namespace %u %sed %s secondary controller(s) %s", pf->bdf, nsid, what,
		 sel == AISIO_NVME_NS_ATTACH_SEL_ATTACH ? "to" : "from", ids);
	return 0;
}

/*
 * Namespace Attachment of @nsid for the controllers in @cl. A controller
 * that answers "Namespace Already Attached" (or "Not Attached" to a detach)
 * is where it should be: no change. The controller stops at the first such
 * entry of a list, so a list that meets one is sent again one controller at
 * a time. (QEMU 10.0 answers "Already Attached" for every controller when
 * the one that takes the command, the PF, has the namespace: a VF then
 * gets a shared namespace of the PF when its controller is enabled.)
 */
static int attach(struct sriov_pf *pf, uint32_t nsid, uint8_t sel, struct aisio_nvme_ctrl_list *cl)
{
	struct aisio_nvme_ctrl_list *one;
	unsigned n = aisio_le16_to_cpu(cl->num);
	int err = attach_cmd(pf, nsid, sel, cl);

	if (err != already(sel))
		return err;
	aisio_err_clear();
	if (n == 1) {
		LOG_DEBUG("%s: namespace %u: controller %#x is %s already", pf->bdf, nsid,
			  aisio_le16_to_cpu(cl->id[0]), err == AISIO_NVME_SC_NS_ALREADY_ATTACHED ?
			  "attached" : "detached");
		return 0;
	}
	one = calloc(1, sizeof(*one));
	if (!one)
		return aisio_err(-ENOMEM, "out of memory");
	one->num = aisio_cpu_to_le16(1);
	err = 0;
	for (unsigned i = 0; !err && i < n; i++) {
		one->id[0] = cl->id[i];
		memset(&one->id[1], 0, sizeof(one->id[1]));
		err = attach(pf, nsid, sel, one);
	}
	free(one);
	return err;
}

static void list_str(const struct sriov_pf *pf, char *out, size_t cap)
{
	size_t off = 0;

	snprintf(out, cap, "none");
	for (uint32_t i = 0; i < pf->nalloc && off < cap; i++)
		off += (size_t)snprintf(out + off, cap - off, "%s%u", i ? ", " : "", pf->alloc[i]);
}

int sriov_ns_plan(struct sriov_pf *pf, const struct homid_sriov_spec *s, struct sriov_ns_plan *p)
{
	struct aisio_nvme_ns_list *act = NULL;
	struct aisio_nvme_sqe cmd;
	char have[256];
	int err, shared;

	memset(p, 0, sizeof(*p));
	if (!(pf->oacs & AISIO_NVME_OACS_NS_MGMT)) {
		/* no Namespace Attachment: the namespaces stay as the controller has them */
		if (s->has_ns)
			return aisio_err(-ENOTSUP, "%s: the controller does not support Namespace "
					 "Management (OACS bit 3 clear): it cannot attach namespaces "
					 "to VFs; leave ns= out", pf->bdf);
		LOG_INFO("%s: no Namespace Management (OACS bit 3 clear): the VFs keep the "
			 "namespaces the controller gives them", pf->bdf);
		p->skip = 1;
		return 0;
	}
	p->exact = s->has_ns;
	err = ns_allocated(pf);
	if (err)
		return err;
	if (s->has_ns) {
		list_str(pf, have, sizeof(have));
		for (uint32_t i = 0; i < s->nns; i++) {
			if (!is_allocated(pf, s->ns[i]))
				return aisio_err(-ENOENT, "%s: namespace %u does not exist in the "
						 "subsystem (its namespaces: %s): it cannot be attached "
						 "to a VF", pf->bdf, s->ns[i], have);
			err = ns_shared(pf, s->ns[i], &shared);
			if (err)
				return aisio_err(err, "%s: cannot identify namespace %u: %s", pf->bdf,
						 s->ns[i], err > 0 ? aisio_nvme_status_str((uint32_t)err)
						 : aisio_errmsg());
			if (!shared)
				return aisio_err(-EPERM, "%s: namespace %u is private (NMIC bit 0 "
						 "clear): it can be attached to one controller only, so "
						 "not to a VF; leave it out of ns=", pf->bdf, s->ns[i]);
			p->nsid[p->n++] = s->ns[i];
		}
		return 0;
	}
	/* every shared namespace attached to the PF */
	act = calloc(1, sizeof(*act));
	if (!act)
		return aisio_err(-ENOMEM, "out of memory");
	aisio_nvme_cmd_identify(&cmd, AISIO_NVME_CNS_NS_ACTIVE_LIST, 0, 0);
	err = sriov_admin(pf, &cmd, act, sizeof(*act), NULL);
	for (unsigned i = 0; !err && i < 1024 && aisio_le32_to_cpu(act->nsid[i]); i++) {
		uint32_t nsid = aisio_le32_to_cpu(act->nsid[i]);

		err = ns_shared(pf, nsid, &shared);
		if (!err && shared)
			p->nsid[p->n++] = nsid;
	}
	free(act);
	return err;
}

static int planned(const struct sriov_ns_plan *p, uint32_t nsid)
{
	for (uint32_t i = 0; i < p->n; i++)
		if (p->nsid[i] == nsid)
			return 1;
	return 0;
}

int sriov_ns_apply(struct sriov_pf *pf, const struct sriov_ns_plan *p, uint32_t nvfs)
{
	struct aisio_nvme_ctrl_list *cl;
	int err;

	if (p->skip)
		return 0;
	cl = calloc(3, sizeof(*cl));
	err = cl ? ns_allocated(pf) : aisio_err(-ENOMEM, "out of memory");

	for (uint32_t i = 0; !err && i < pf->nalloc; i++) {
		uint32_t nsid = pf->alloc[i];
		int want = planned(p, nsid);
		struct aisio_nvme_ctrl_list *att = &cl[1], *det = &cl[2];
		uint16_t na = 0, nd = 0;

		if (!want && !p->exact)
			continue;
		err = ns_ctrls(pf, nsid, &cl[0]);
		memset(att, 0, 2 * sizeof(*att));
		for (uint32_t v = 1; !err && v <= nvfs; v++) {
			const struct aisio_nvme_sec_ctrl_entry *e = sriov_sec_of_vf(pf, v);
			uint16_t scid;

			if (!e)
				return aisio_err(-ENODEV, "%s: no secondary controller for VF %u", pf->bdf, v);
			scid = aisio_le16_to_cpu(e->scid);
			if (want && !in_list(&cl[0], scid)) {
				att->id[na++] = aisio_cpu_to_le16(scid);
			} else if (!want && in_list(&cl[0], scid)) {
				/* a namespace vanishing under a VF's user: refused */
				err = sriov_vf_busy(pf, v);
				det->id[nd++] = aisio_cpu_to_le16(scid);
			}
		}
		att->num = aisio_cpu_to_le16(na);
		det->num = aisio_cpu_to_le16(nd);
		if (!err && na)
			err = attach(pf, nsid, AISIO_NVME_NS_ATTACH_SEL_ATTACH, att);
		if (!err && nd)
			err = attach(pf, nsid, AISIO_NVME_NS_ATTACH_SEL_DETACH, det);
	}
	free(cl);
	return err;
}

int sriov_ns_detach_all(struct sriov_pf *pf)
{
	struct aisio_nvme_ctrl_list *cl;
	int err;

	if (!(pf->oacs & AISIO_NVME_OACS_NS_MGMT))
		return 0;
	cl = calloc(2, sizeof(*cl));
	err = cl ? ns_allocated(pf) : aisio_err(-ENOMEM, "out of memory");

	for (uint32_t i = 0; !err && i < pf->nalloc; i++) {
		uint16_t nd = 0;

		err = ns_ctrls(pf, pf->alloc[i], &cl[0]);
		memset(&cl[1], 0, sizeof(cl[1]));
		for (unsigned j = 0; !err && j < pf->sl.numid && j < AISIO_NVME_SEC_CTRL_LIST_MAX; j++) {
			uint16_t scid = aisio_le16_to_cpu(pf->sl.sc[j].scid);

			if (in_list(&cl[0], scid))
				cl[1].id[nd++] = aisio_cpu_to_le16(scid);
		}
		cl[1].num = aisio_cpu_to_le16(nd);
		if (!err && nd)
			err = attach(pf, pf->alloc[i], AISIO_NVME_NS_ATTACH_SEL_DETACH, &cl[1]);
	}
	free(cl);
	return err;
}

int sriov_ns_of(struct sriov_pf *pf, uint16_t scid, char *out, size_t cap)
{
	struct aisio_nvme_ctrl_list *cl = calloc(1, sizeof(*cl));
	int err = cl ? ns_allocated(pf) : aisio_err(-ENOMEM, "out of memory");
	size_t off = 0;

	snprintf(out, cap, "none");
	for (uint32_t i = 0; !err && i < pf->nalloc && off < cap; i++) {
		err = ns_ctrls(pf, pf->alloc[i], cl);
		if (!err && in_list(cl, scid))
			off += (size_t)snprintf(out + off, cap - off, "%s%u", off ? "+" : "",
						pf->alloc[i]);
	}
	free(cl);
	return err;
}
