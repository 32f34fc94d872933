/* SPDX-License-Identifier: MIT */
/*
 * aisio dev list: the NVMe devices this machine has (kernel nodes and PCI
 * functions of class 0x010802 with their driver).
 * aisio dev identify URI: the main Identify Controller fields, named and
 * formatted as nvme-cli's id-ctrl prints them, plus the namespace geometry,
 * and for a controller with Virtualization Management (OACS bit 7)
 * its Primary Controller Capabilities and Secondary Controller List.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <aisio/aisio.h>

#include "cmds.h"
#include "nvme/cmd.h"
#include "perf.h"

static int cmp_str(const void *a, const void *b)
{
	return strverscmp(*(char *const *)a, *(char *const *)b);
}

/* Names in @dir starting with @prefix, sorted; returns the count. */
static int list_names(const char *dir, const char *prefix, char ***out)
{
	struct dirent *de;
	char **v = NULL;
	int n = 0;
	DIR *d = opendir(dir);

	*out = NULL;
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char **nv;

		if (strncmp(de->d_name, prefix, strlen(prefix)))
			continue;
		nv = realloc(v, (size_t)(n + 1) * sizeof(*v));
		if (!nv)
			break;
		v = nv;
		v[n++] = strdup(de->d_name);
	}
	closedir(d);
	if (n)
		qsort(v, (size_t)n, sizeof(*v), cmp_str);
	*out = v;
	return n;
}

static void free_names(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int read_line(const char *path, char *buf, size_t n)
{
	FILE *f = fopen(path, "r");

	buf[0] = '\0';
	if (!f)
		return -1;
	if (!fgets(buf, (int)n, f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static const char *node_kind(const char *name)
{
	if (!strncmp(name, "ng", 2))
		return "namespace, NVMe passthrough (uring_cmd)";
	if (strchr(name + 4, 'n'))
		return strchr(name + 4, 'p') ? "partition" : "namespace, block (psync, io_uring)";
	return "controller (admin ioctl)";
}

static int dev_list(int json)
{
	char **nodes = NULL, **ng = NULL, **pci = NULL;
	int nn = list_names("/dev", "nvme", &nodes);
	int ng_n = list_names("/dev", "ng", &ng);
	int np = list_names("/sys/bus/pci/devices", "", &pci);
	int shown = 0, nfun = 0;

	if (json)
		printf("{\"nodes\": [");
	else if (nn + ng_n)
		printf("Kernel device nodes:\n");
	for (int pass = 0; pass < 2; pass++) {
		char **v = pass ? ng : nodes;
		int n = pass ? ng_n : nn;

		for (int i = 0; i < n; i++) {
			char path[300];
			struct stat st;

			if (!strcmp(v[i], "nvme-fabrics"))
				continue;
			snprintf(path, sizeof(path), "/dev/%s", v[i]);
			if (stat(path, &st) || !(S_ISBLK(st.st_mode) || S_ISCHR(st.st_mode)))
				continue;
			if (json) {
				printf("%s{\"path\": \"%s\", \"type\": \"%s\"}", shown ? ", " : "", path,
				       S_ISBLK(st.st_mode) ? "block" : "char");
			} else {
				char sz[64] = "";

				if (S_ISBLK(st.st_mode)) {
					char sp[300], line[64];

					snprintf(sp, sizeof(sp), "/sys/class/block/%s/size", v[i]);
					if (!read_line(sp, line, sizeof(line)) && line[0])
						snprintf(sz, sizeof(sz), ", %.1f GiB",
							 (double)strtoull(line, NULL, 10) * 512 / (1 << 30));
				}
				printf("  %-16s %s%s\n", path, node_kind(v[i]), sz);
			}
			shown++;
		}
	}
	if (json)
		printf("], \"pci\": [");
	for (int i = 0; i < np; i++) {
		char p[PATH_MAX], cls[32], vid[16] = "", did[16] = "", drv[PATH_MAX] = "";
		ssize_t l;

		snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/class", pci[i]);
		if (read_line(p, cls, sizeof(cls)) || strtoul(cls, NULL, 16) != 0x010802)
			continue;
		snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/vendor", pci[i]);
		read_line(p, vid, sizeof(vid));
		snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/device", pci[i]);
		read_line(p, did, sizeof(did));
		snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/driver", pci[i]);
		l = readlink(p, drv, sizeof(drv) - 1);
		drv[l > 0 ? l : 0] = '\0';
		const char *dname = l > 0 ? strrchr(drv, '/') + 1 : "";
		if (json) {
			printf("%s{\"bdf\": \"%s\", \"vendor\": \"%s\", \"device\": \"%s\", \"driver\": ",
			       nfun ? ", " : "", pci[i], vid, did);
			if (*dname)
				printf("\"%s\"}", dname);
			else
				printf("null}");
		} else {
			if (!nfun)
				printf("%sNVMe PCI functions (class 0x010802):\n", shown ? "\n" : "");
			printf("  %s  %s:%s  driver: %s%s\n", pci[i], vid + (strncmp(vid, "0x", 2) ? 0 : 2),
			       did + (strncmp(did, "0x", 2) ? 0 : 2), *dname ? dname : "none",
			       !*dname ? "" : !strcmp(dname, "nvme") ? " (kernel)"
					    : !strcmp(dname, "vfio-pci") || !strcmp(dname, "uio_pci_generic")
						    ? " (user space: pci:" : "");
			if (*dname && (!strcmp(dname, "vfio-pci") || !strcmp(dname, "uio_pci_generic")))
				printf("%s)\n", pci[i]);
		}
		nfun++;
	}
	if (json)
		printf("]}\n");
	else if (!shown && !nfun)
		printf("No NVMe devices on this machine: no /dev/nvme* or /dev/ng* nodes and no PCI "
		       "function of class 0x010802.\nThe device model needs none: try "
		       "'aisio dev identify emu:1G'.\n");
	free_names(nodes, nn);
	free_names(ng, ng_n);
	free_names(pci, np);
	return 0;
}

/* Trailing spaces trimmed copy of a fixed-width Identify string. */
static const char *idstr(char *dst, const char *src, size_t n)
{
	memcpy(dst, src, n);
	dst[n] = '\0';
	for (size_t i = n; i > 0 && (dst[i - 1] == ' ' || dst[i - 1] == '\0'); i--)
		dst[i - 1] = '\0';
	return dst;
}

static void print_ctrl(const struct aisio_nvme_id_ctrl *id, int json)
{
	char sn[21], mn[41], fr[9], nqn[257];
	uint32_t ver = aisio_le32_to_cpu(id->ver);

	idstr(sn, id->sn, 20);
	idstr(mn, id->mn, 40);
	idstr(fr, id->fr, 8);
	idstr(nqn, id->subnqn, 256);
	if (json) {
		printf("\"ctrl\": {\"vid\": %u, \"ssvid\": %u, \"sn\": ", aisio_le16_to_cpu(id->vid),
		       aisio_le16_to_cpu(id->ssvid));
		perf_json_string(stdout, sn);
		printf(", \"mn\": ");
		perf_json_string(stdout, mn);
		printf(", \"fr\": ");
		perf_json_string(stdout, fr);
		printf(", \"rab\": %u, \"ieee\": %u, \"cmic\": %u, \"mdts\": %u, \"cntlid\": %u, \"ver\": %u"
		       ", \"oacs\": %u, \"acl\": %u, \"aerl\": %u, \"frmw\": %u, \"lpa\": %u, \"elpe\": %u"
		       ", \"npss\": %u, \"sqes\": %u, \"cqes\": %u, \"maxcmd\": %u, \"nn\": %u, \"oncs\": %u"
		       ", \"vwc\": %u, \"sgls\": %u, \"subnqn\": ",
		       id->rab, id->ieee[0] | id->ieee[1] << 8 | id->ieee[2] << 16, id->cmic, id->mdts,
		       aisio_le16_to_cpu(id->cntlid), ver, aisio_le16_to_cpu(id->oacs), id->acl, id->aerl,
		       id->frmw, id->lpa, id->elpe, id->npss, id->sqes, id->cqes,
		       aisio_le16_to_cpu(id->maxcmd), aisio_le32_to_cpu(id->nn),
		       aisio_le16_to_cpu(id->oncs), id->vwc, aisio_le32_to_cpu(id->sgls));
		perf_json_string(stdout, nqn);
		printf("}");
		return;
	}
	printf("NVME Identify Controller:\n");
	printf("vid       : %#x\n", aisio_le16_to_cpu(id->vid));
	printf("ssvid     : %#x\n", aisio_le16_to_cpu(id->ssvid));
	printf("sn        : %s\n", sn);
	printf("mn        : %s\n", mn);
	printf("fr        : %s\n", fr);
	printf("rab       : %u\n", id->rab);
	printf("ieee      : %02x%02x%02x\n", id->ieee[2], id->ieee[1], id->ieee[0]);
	printf("cmic      : %#x\n", id->cmic);
	printf("mdts      : %u\n", id->mdts);
	printf("cntlid    : %#x\n", aisio_le16_to_cpu(id->cntlid));
	printf("ver       : %#x (NVMe %u.%u.%u)\n", ver, aisio_nvme_vs_mjr(ver), aisio_nvme_vs_mnr(ver),
	       aisio_nvme_vs_ter(ver));
	printf("oacs      : %#x\n", aisio_le16_to_cpu(id->oacs));
	printf("acl       : %u\n", id->acl);
	printf("aerl      : %u\n", id->aerl);
	printf("frmw      : %#x\n", id->frmw);
	printf("lpa       : %#x\n", id->lpa);
	printf("elpe      : %u\n", id->elpe);
	printf("npss      : %u\n", id->npss);
	printf("sqes      : %#x\n", id->sqes);
	printf("cqes      : %#x\n", id->cqes);
	printf("maxcmd    : %u\n", aisio_le16_to_cpu(id->maxcmd));
	printf("nn        : %u\n", aisio_le32_to_cpu(id->nn));
	printf("oncs      : %#x\n", aisio_le16_to_cpu(id->oncs));
	printf("vwc       : %#x\n", id->vwc);
	printf("sgls      : %#x\n", aisio_le32_to_cpu(id->sgls));
	printf("subnqn    : %s\n", nqn);
}

static void print_ns(const struct aisio_nvme_id_ns *ns, uint32_t nsid, int json)
{
	uint32_t cur = aisio_nvme_id_ns_flbas_index(ns);
	uint64_t nsze = aisio_le64_to_cpu(ns->nsze);
	uint32_t lbads = ns->lbaf[cur].lbads;

	if (json) {
		printf("\"ns\": {\"nsid\": %u, \"nsze\": %" PRIu64 ", \"ncap\": %" PRIu64 ", \"nuse\": %" PRIu64
		       ", \"nlbaf\": %u, \"flbas\": %u, \"lba_size\": %u, \"bytes\": %" PRIu64 ", \"lbaf\": [",
		       nsid, nsze, aisio_le64_to_cpu(ns->ncap), aisio_le64_to_cpu(ns->nuse), ns->nlbaf,
		       ns->flbas, lbads < 32 ? 1u << lbads : 0, lbads < 32 ? nsze << lbads : 0);
		for (uint32_t i = 0; i <= ns->nlbaf && i < 64; i++)
			printf("%s{\"ms\": %u, \"lbads\": %u, \"rp\": %u}", i ? ", " : "",
			       aisio_le16_to_cpu(ns->lbaf[i].ms), ns->lbaf[i].lbads, ns->lbaf[i].rp);
		printf("]}");
		return;
	}
	printf("\nNamespace %u:\n", nsid);
	printf("nsze      : %" PRIu64 " LBAs (%.2f GiB)\n", nsze,
	       lbads < 32 ? (double)(nsze << lbads) / (1 << 30) : 0.0);
	printf("ncap      : %" PRIu64 "\n", aisio_le64_to_cpu(ns->ncap));
	printf("nuse      : %" PRIu64 "\n", aisio_le64_to_cpu(ns->nuse));
	printf("nlbaf     : %u\n", ns->nlbaf);
	printf("flbas     : %#x\n", ns->flbas);
	for (uint32_t i = 0; i <= ns->nlbaf && i < 64; i++)
		printf("lbaf %2u   : ms:%-3u lbads:%-2u rp:%#x%s\n", i, aisio_le16_to_cpu(ns->lbaf[i].ms),
		       ns->lbaf[i].lbads, ns->lbaf[i].rp, i == cur ? " (in use)" : "");
}

/*
 * SR-IOV: Identify CNS 14h and 15h, read only when the controller reports
 * Virtualization Management. Returns 0 (printed, or nothing to print) or
 * the failed command's status; @json adds ", "sriov": {...}".
 */
static int print_virt(struct aisio_dev *dev, const struct aisio_nvme_id_ctrl *id, int json)
{
	struct aisio_nvme_pri_ctrl_cap *pc = NULL;
	struct aisio_nvme_sec_ctrl_list *sl = NULL;
	struct aisio_nvme_sqe cmd;
	int err = -ENOMEM;

	if (!(aisio_le16_to_cpu(id->oacs) & AISIO_NVME_OACS_VIRT_MGMT))
		return 0;
	pc = aisio_buf_alloc(dev, sizeof(*pc));
	sl = aisio_buf_alloc(dev, sizeof(*sl));
	if (!pc || !sl)
		goto out;
	aisio_nvme_cmd_identify(&cmd, AISIO_NVME_CNS_PRIMARY_CTRL_CAP, 0, aisio_le16_to_cpu(id->cntlid));
	err = aisio_dev_admin(dev, &cmd, pc, sizeof(*pc), NULL);
	if (err)
		goto out;
	aisio_nvme_cmd_identify(&cmd, AISIO_NVME_CNS_SECONDARY_CTRL_LIST, 0, 0);
	err = aisio_dev_admin(dev, &cmd, sl, sizeof(*sl), NULL);
	if (err)
		goto out;
	if (json) {
		printf(", \"sriov\": {\"cntlid\": %u, \"crt\": %u, \"vqfrt\": %u, \"vqrfa\": %u, "
		       "\"vqrfap\": %u, \"vqprt\": %u, \"vqfrsm\": %u, \"vqgran\": %u, \"vifrt\": %u, "
		       "\"virfa\": %u, \"virfap\": %u, \"viprt\": %u, \"vifrsm\": %u, \"vigran\": %u, "
		       "\"secondary\": [", aisio_le16_to_cpu(pc->cntlid), pc->crt,
		       aisio_le32_to_cpu(pc->vqfrt), aisio_le32_to_cpu(pc->vqrfa),
		       aisio_le16_to_cpu(pc->vqrfap), aisio_le16_to_cpu(pc->vqprt),
		       aisio_le16_to_cpu(pc->vqfrsm), aisio_le16_to_cpu(pc->vqgran),
		       aisio_le32_to_cpu(pc->vifrt), aisio_le32_to_cpu(pc->virfa),
		       aisio_le16_to_cpu(pc->virfap), aisio_le16_to_cpu(pc->viprt),
		       aisio_le16_to_cpu(pc->vifrsm), aisio_le16_to_cpu(pc->vigran));
		for (unsigned i = 0; i < sl->numid && i < AISIO_NVME_SEC_CTRL_LIST_MAX; i++) {
			const struct aisio_nvme_sec_ctrl_entry *e = &sl->sc[i];

			printf("%s{\"scid\": %u, \"pcid\": %u, \"online\": %s, \"vfn\": %u, \"nvq\": %u, "
			       "\"nvi\": %u}", i ? ", " : "", aisio_le16_to_cpu(e->scid),
			       aisio_le16_to_cpu(e->pcid), e->scs & AISIO_NVME_SCS_ONLINE ? "true" : "false",
			       aisio_le16_to_cpu(e->vfn), aisio_le16_to_cpu(e->nvq), aisio_le16_to_cpu(e->nvi));
		}
		printf("]}");
		goto out;
	}
	printf("\nPrimary Controller Capabilities (CNS 14h):\n");
	printf("cntlid    : %#x\n", aisio_le16_to_cpu(pc->cntlid));
	printf("crt       : %#x (%s%s)\n", pc->crt, pc->crt & AISIO_NVME_CRT_VQ ? "VQ " : "",
	       pc->crt & AISIO_NVME_CRT_VI ? "VI" : "");
	printf("vqfrt     : %u  vqrfa: %u  vqrfap: %u  vqprt: %u  vqfrsm: %u  vqgran: %u\n",
	       aisio_le32_to_cpu(pc->vqfrt), aisio_le32_to_cpu(pc->vqrfa),
	       aisio_le16_to_cpu(pc->vqrfap), aisio_le16_to_cpu(pc->vqprt),
	       aisio_le16_to_cpu(pc->vqfrsm), aisio_le16_to_cpu(pc->vqgran));
	printf("vifrt     : %u  virfa: %u  virfap: %u  viprt: %u  vifrsm: %u  vigran: %u\n",
	       aisio_le32_to_cpu(pc->vifrt), aisio_le32_to_cpu(pc->virfa),
	       aisio_le16_to_cpu(pc->virfap), aisio_le16_to_cpu(pc->viprt),
	       aisio_le16_to_cpu(pc->vifrsm), aisio_le16_to_cpu(pc->vigran));
	printf("\nSecondary Controller List (CNS 15h): %u entries\n", sl->numid);
	for (unsigned i = 0; i < sl->numid && i < AISIO_NVME_SEC_CTRL_LIST_MAX; i++) {
		const struct aisio_nvme_sec_ctrl_entry *e = &sl->sc[i];

		printf("scid %#06x: pcid %#x vfn %u %-7s nvq %u nvi %u\n", aisio_le16_to_cpu(e->scid),
		       aisio_le16_to_cpu(e->pcid), aisio_le16_to_cpu(e->vfn),
		       e->scs & AISIO_NVME_SCS_ONLINE ? "online" : "offline", aisio_le16_to_cpu(e->nvq),
		       aisio_le16_to_cpu(e->nvi));
	}
out:
	aisio_buf_free(dev, pc);
	aisio_buf_free(dev, sl);
	return err;
}

/* A Controller List as "0x0, 0x1" (JSON: "0, 1"). */
static void print_ctrl_ids(const struct aisio_nvme_ctrl_list *cl, int json)
{
	unsigned n = aisio_le16_to_cpu(cl->num);

	for (unsigned i = 0; i < n && i < AISIO_NVME_CTRL_LIST_MAX; i++)
		printf(json ? "%s%u" : "%s0x%x", i ? ", " : "", aisio_le16_to_cpu(cl->id[i]));
	if (!json && !n)
		printf("none");
}

/*
 * Which controllers exist in the subsystem (Identify CNS 13h) and, per
 * namespace, which of them it is attached to (CNS 12h, for each namespace
 * of CNS 10h, else of the active list): read when the controller reports
 * Namespace Management. A path that does not carry these commands (homid
 * passes CNS 00h to 03h only) or a controller that fails them is reported,
 * not an error. @json adds ", "attached": {...}".
 */
static void print_attach(struct aisio_dev *dev, const struct aisio_nvme_id_ctrl *id, int json)
{
	struct aisio_nvme_ctrl_list *cl = NULL;
	struct aisio_nvme_ns_list *nl = NULL;
	struct aisio_nvme_sqe cmd;
	int err;

	if (!(aisio_le16_to_cpu(id->oacs) & AISIO_NVME_OACS_NS_MGMT))
		return;
	cl = aisio_buf_alloc(dev, sizeof(*cl));
	nl = aisio_buf_alloc(dev, sizeof(*nl));
	if (!cl || !nl) {
		err = -ENOMEM;
		goto out;
	}
	aisio_nvme_cmd_identify(&cmd, AISIO_NVME_CNS_CTRL_LIST, 0, 0);
	err = aisio_dev_admin(dev, &cmd, cl, sizeof(*cl), NULL);
	if (err)
		goto out;
	if (json)
		printf(", \"attached\": {\"controllers\": [");
	else
		printf("\nControllers in the subsystem (CNS 13h): ");
	print_ctrl_ids(cl, json);
	printf(json ? "], \"namespaces\": [" : "\n");
	aisio_nvme_cmd_identify(&cmd, AISIO_NVME_CNS_NS_ALLOC_LIST, 0, 0);
	if (aisio_dev_admin(dev, &cmd, nl, sizeof(*nl), NULL)) {
		aisio_nvme_cmd_identify(&cmd, AISIO_NVME_CNS_NS_ACTIVE_LIST, 0, 0);
		err = aisio_dev_admin(dev, &cmd, nl, sizeof(*nl), NULL);
	}
	for (unsigned i = 0; !err && i < 1024 && aisio_le32_to_cpu(nl->nsid[i]); i++) {
		uint32_t nsid = aisio_le32_to_cpu(nl->nsid[i]);

		memset(cl, 0, sizeof(*cl));
		aisio_nvme_cmd_identify(&cmd, AISIO_NVME_CNS_NS_CTRL_LIST, nsid, 0);
		err = aisio_dev_admin(dev, &cmd, cl, sizeof(*cl), NULL);
		if (err)
			break;
		printf(json ? "%s{\"nsid\": %u, \"controllers\": [" :
		       "%sNamespace %u attached to controllers (CNS 12h): ", json && i ? ", " : "",
		       nsid);
		print_ctrl_ids(cl, json);
		printf(json ? "]}" : "\n");
	}
	if (json)
		printf("]}");
out:
	if (err && !json)
		printf("\nNamespace attachment (CNS 12h/13h): not available: %s\n",
		       err > 0 ? aisio_status_str(err) : *aisio_errmsg() ? aisio_errmsg() : strerror(-err));
	aisio_buf_free(dev, cl);
	aisio_buf_free(dev, nl);
}

static int dev_identify(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "be", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct aisio_open_opts oo = { 0 };
	struct aisio_nvme_id_ctrl *ctrl = NULL;
	struct aisio_nvme_id_ns *ns = NULL;
	struct aisio_dev *dev;
	const struct aisio_geo *g;
	int json = 0, c, err, ret = 1;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", lo, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
			break;
		case 'b':
			oo.be = optarg;
			break;
		case 'h':
			printf("usage: aisio dev identify [--json] [--be NAME] URI\n"
			       "Identify Controller and Namespace of the device, as nvme-cli's id-ctrl names "
			       "the fields.\n");
			return 0;
		default:
			fprintf(stderr, "aisio dev identify: unknown option '%s'\n", argv[optind - 1]);
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: aisio dev identify [--json] [--be NAME] URI\n");
		return 2;
	}
	err = aisio_dev_open(argv[optind], &oo, &dev);
	if (err) {
		fprintf(stderr, "aisio dev identify: %s\n", aisio_errmsg());
		return 1;
	}
	g = aisio_dev_geo(dev);
	ctrl = aisio_buf_alloc(dev, sizeof(*ctrl));
	ns = aisio_buf_alloc(dev, sizeof(*ns));
	if (!ctrl || !ns) {
		fprintf(stderr, "aisio dev identify: out of memory\n");
		goto out;
	}
	err = aisio_dev_identify_ctrl(dev, ctrl);
	if (err) {
		fprintf(stderr, "aisio dev identify: %s: Identify Controller failed: %s\n", argv[optind],
			*aisio_errmsg() ? aisio_errmsg() : aisio_status_str(err));
		goto out;
	}
	err = aisio_dev_identify_ns(dev, g->nsid, ns);
	if (err) {
		fprintf(stderr, "aisio dev identify: %s: Identify Namespace %u failed: %s\n",
			argv[optind], g->nsid, *aisio_errmsg() ? aisio_errmsg() : aisio_status_str(err));
		goto out;
	}
	if (json) {
		printf("{\"uri\": ");
		perf_json_string(stdout, argv[optind]);
		printf(", \"backend\": \"%s\", \"geo\": {\"nsid\": %u, \"lba_size\": %u, \"nlbas\": %" PRIu64
		       ", \"max_xfer\": %u, \"max_queues\": %u, \"max_qdepth\": %u}, ",
		       g->backend, g->nsid, g->lba_size, g->nlbas, g->max_xfer, g->max_queues,
		       g->max_qdepth);
		print_ctrl(ctrl, 1);
		printf(", ");
		print_ns(ns, g->nsid, 1);
		err = print_virt(dev, ctrl, 1);
		if (!err)
			print_attach(dev, ctrl, 1);
		printf("}\n");
	} else {
		char mx[32] = "unlimited";

		if (g->max_xfer)
			snprintf(mx, sizeof(mx), "%u B", g->max_xfer);
		printf("device    : %s (backend %s)\n", argv[optind], g->backend);
		printf("geometry  : namespace %u, %" PRIu64 " LBAs of %u B = %.2f GiB; max transfer %s"
		       "; up to %u queues of %u entries\n\n", g->nsid, g->nlbas, g->lba_size,
		       (double)g->nlbas * g->lba_size / (1 << 30), mx, g->max_queues, g->max_qdepth);
		print_ctrl(ctrl, 0);
		print_ns(ns, g->nsid, 0);
		err = print_virt(dev, ctrl, 0);
		if (!err)
			print_attach(dev, ctrl, 0);
	}
	if (err) {
		fprintf(stderr, "aisio dev identify: %s: Identify of the SR-IOV controllers "
			"(CNS 14h/15h) failed: %s\n", argv[optind],
			*aisio_errmsg() ? aisio_errmsg() : aisio_status_str(err));
		goto out;
	}
	ret = 0;
out:
	aisio_buf_free(dev, ctrl);
	aisio_buf_free(dev, ns);
	aisio_dev_close(dev);
	return ret;
}

int aisio_cmd_dev(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fprintf(argc < 2 ? stderr : stdout,
			"usage: aisio dev list [--json]          NVMe devices on this machine\n"
			"       aisio dev identify [--json] URI  Identify Controller and Namespace\n");
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "list"))
		return dev_list(argc > 2 && !strcmp(argv[2], "--json"));
	if (!strcmp(argv[1], "identify"))
		return dev_identify(argc - 1, argv + 1);
	fprintf(stderr, "aisio dev: unknown subcommand '%s' (list, identify)\n", argv[1]);
	return 2;
}
