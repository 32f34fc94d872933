/* SPDX-License-Identifier: MIT */
/*
 * homid's configuration and policy (tools/homid/config.c, included): which
 * section wins, what a section grants by default, root without a rule, a
 * stranger, and every kind of bad line named by its number.
 */
#include "../../tools/homid/config.c"

#include <unistd.h>

#include "../unit/t.h"

static char path[64];

static int load(const char *text, struct homid_config *cfg)
{
	FILE *f = fopen(path, "w");

	REQUIRE(f);
	fputs(text, f);
	fclose(f);
	memset(cfg, 0, sizeof(*cfg));
	return homid_config_load(path, cfg);
}

static void bad(const char *text, const char *want)
{
	struct homid_config cfg;

	CHECK_EQ(load(text, &cfg), -EINVAL);
	if (!strstr(aisio_errmsg(), want)) {
		fprintf(stderr, "error '%s' lacks '%s'\n", aisio_errmsg(), want);
		t_failures++;
	}
	homid_config_free(&cfg);
}

int main(void)
{
	struct homid_config cfg;
	struct homid_grant g;

	snprintf(path, sizeof(path), "/tmp/homid-config-%d.conf", getpid());
	CHECK_EQ(load("[homid]\nsocket = /tmp/x.sock\ncontroller = emu:1G\ncontroller = emu:2G\n"
		      "log_level = debug\n"
		      "[default]\naccess = ro\nmax_queues = 1\n"
		      "[gid:100]\nnamespace = 2\naccess = rw\nmax_mem = 64M\n"
		      "[uid:1000]\nlba_first = 10\nlba_count = 20\naccess = rw\nops = read\n"
		      "direct = yes\nmax_depth = 64\n"
		      "[uid:0]\naccess = ro\n", &cfg), 0);
	CHECK(!strcmp(cfg.socket, "/tmp/x.sock"));
	CHECK_EQ(cfg.nctrls, 2);
	CHECK(cfg.nctrls == 2 && !strcmp(cfg.ctrls[1], "emu:2G"));
	CHECK_EQ(cfg.log_level, HOMID_LOG_DEBUG);
	CHECK_EQ(cfg.nrules, 4);
	/* a uid rule wins over the gid rule; ops as written ("access = rw" came first) */
	homid_policy_lookup(&cfg, 1000, 100, &g);
	CHECK(g.allowed && g.writable && g.direct);
	CHECK_EQ(g.lba_first, 10);
	CHECK_EQ(g.lba_count, 20);
	CHECK_EQ(g.ops, HOMID_OP_READ);
	CHECK_EQ(g.max_depth, 64);
	/* the gid rule, over [default] */
	homid_policy_lookup(&cfg, 1001, 100, &g);
	CHECK(g.allowed && g.writable && !g.direct);
	CHECK_EQ(g.nsid, 2);
	CHECK_EQ(g.max_mem, 64ull << 20);
	CHECK_EQ(g.ops, HOMID_OP_READ | HOMID_OP_WRITE | HOMID_OP_FLUSH);
	/* [default] for everyone else: read-only, mediated, read and flush */
	homid_policy_lookup(&cfg, 4242, 4242, &g);
	CHECK(g.allowed && !g.writable && !g.direct);
	CHECK_EQ(g.ops, HOMID_OP_READ | HOMID_OP_FLUSH);
	CHECK_EQ(g.max_queues, 1);
	/* root has a rule here: it applies to root too */
	homid_policy_lookup(&cfg, 0, 0, &g);
	CHECK(g.allowed && !g.writable);
	homid_config_free(&cfg);

	/* no rules: root gets everything, others nothing */
	CHECK_EQ(load("[homid]\ncontroller = emu:1G\n", &cfg), 0);
	homid_policy_lookup(&cfg, 0, 0, &g);
	CHECK(g.allowed && g.writable && g.direct && !g.max_queues && !g.max_mem);
	homid_policy_lookup(&cfg, 1000, 1000, &g);
	CHECK(!g.allowed);
	homid_config_free(&cfg);
	/* access = none refuses */
	CHECK_EQ(load("[uid:5]\naccess = none\n", &cfg), 0);
	homid_policy_lookup(&cfg, 5, 5, &g);
	CHECK(!g.allowed);
	homid_config_free(&cfg);

	bad("[uid:5]\naccess = rw\nmax_mem = lots\n", ":3: [uid:5] max_mem = lots: bad value");
	bad("[uid:5]\naccess = maybe\n", ":2:");
	bad("[uid:x]\naccess = rw\n", "unknown section [uid:x]");
	bad("[users]\naccess = rw\n", "unknown section [users]");
	bad("access = rw\n", "outside a section");
	bad("[uid:5]\ncolour = blue\n", "unknown key 'colour'");
	/* SR-IOV: a spec without vfs=, a bad address, an unknown key */
	bad("[homid]\nsriov = pci:01:00.0\n", ":2: sriov = 'pci:01:00.0'");
	bad("[homid]\nsriov = pci:zz,vfs=2\n", ":2:");
	bad("[homid]\nsriov = pci:01:00.0,vfs=2,colour=1\n", ":2:");
	bad("[homid]\nsriov = pci:01:00.0,vfs=99999\n", ":2:");
	CHECK_EQ(load("[homid]\nsriov = pci:01:00.0,vfs=2,vq=4\n", &cfg), 0);
	CHECK(cfg.sriov && !strcmp(cfg.sriov, "pci:01:00.0,vfs=2,vq=4"));
	homid_config_free(&cfg);
	{
		struct homid_sriov_spec sp;

		CHECK_EQ(homid_sriov_parse("pci:01:00.0,vfs=2,vq=4,vi=1,drv=uio_pci_generic", &sp), 0);
		CHECK(!strcmp(sp.bdf, "0000:01:00.0") && sp.vfs == 2 && sp.has_vfs && sp.vq == 4 &&
		      sp.vi == 1 && !strcmp(sp.drv, "uio_pci_generic"));
		CHECK_EQ(homid_sriov_parse("pci:0000:02:00.0,vfs=0", &sp), 0);
		CHECK(sp.has_vfs && !sp.vfs && !strcmp(sp.drv, "vfio-pci"));
		CHECK_EQ(homid_sriov_parse("emu:1G,vfs=2", &sp), -EINVAL);
		CHECK_EQ(homid_sriov_parse("pci:01:00.0,vfs", &sp), -EINVAL);
		CHECK_EQ(homid_sriov_parse("pci:01:00.0,vfs=-1", &sp), -EINVAL);
		CHECK_EQ(homid_sriov_parse("pci:01:00.0,drv=", &sp), -EINVAL);
		/* namespaces attached to the VFs */
		CHECK_EQ(homid_sriov_parse("pci:01:00.0,vfs=2", &sp), 0);
		CHECK(!sp.has_ns && !sp.nns);
		CHECK_EQ(homid_sriov_parse("pci:01:00.0,vfs=2,ns=1+3", &sp), 0);
		CHECK(sp.has_ns && sp.nns == 2 && sp.ns[0] == 1 && sp.ns[1] == 3);
		CHECK_EQ(homid_sriov_parse("pci:01:00.0,vfs=2,ns=none", &sp), 0);
		CHECK(sp.has_ns && !sp.nns);
		CHECK_EQ(homid_sriov_parse("pci:01:00.0,vfs=2,ns=0", &sp), -EINVAL);
		CHECK_EQ(homid_sriov_parse("pci:01:00.0,vfs=2,ns=1+1", &sp), -EINVAL);
		CHECK(strstr(aisio_errmsg(), "listed twice"));
		CHECK_EQ(homid_sriov_parse("pci:01:00.0,vfs=2,ns=1+", &sp), -EINVAL);
		CHECK_EQ(homid_sriov_parse("pci:01:00.0,vfs=2,ns=4294967295", &sp), -EINVAL);
		CHECK_EQ(homid_sriov_parse("pci:01:00.0,vfs=2,ns=", &sp), -EINVAL);
		CHECK_EQ(homid_sriov_parse("pci:01:00.0,vfs=2,ns=1+2+3+4+5+6+7+8+9+10+11+12+13+14+15+16+17", &sp), -EINVAL);
		CHECK(strstr(aisio_errmsg(), "at most 16"));
	}
	/* the VF pool */
	CHECK_EQ(load("[homid]\nvf = pci:01:00.1\nvf = pci:0000:01:00.2\n", &cfg), 0);
	CHECK(cfg.nvfs == 2 && !strcmp(cfg.vfs[0], "0000:01:00.1") &&
	      !strcmp(cfg.vfs[1], "0000:01:00.2") && !cfg.vfs_sriov);
	homid_config_free(&cfg);
	CHECK_EQ(load("[homid]\nvf = sriov\nsriov = pci:01:00.0,vfs=2,ns=1\n", &cfg), 0);
	CHECK(cfg.vfs_sriov && !cfg.nvfs);
	homid_config_free(&cfg);
	bad("[homid]\nvf = 01:00.1\n", ":2: vf = '01:00.1': give pci:BDF");
	bad("[homid]\nvf = pci:zz\n", ":2:");
	bad("[homid]\nvf = pci:01:00.1\nvf = pci:0000:01:00.1\n", ":3: vf = 'pci:0000:01:00.1': "
	    "0000:01:00.1 is in the pool already");
	bad("[homid]\nvf = sriov\n", "vf = sriov needs an sriov = line");
	bad("[homid]\nvf = sriov\nsriov = pci:01:00.0,vfs=0\n", "enables no VF");
	/* a PF that is homid's controller may go without VFs (released on SIGHUP) */
	CHECK_EQ(load("[homid]\ncontroller = pci:0000:01:00.0,drv=vfio\nvf = sriov\n"
		      "sriov = pci:01:00.0,vfs=0\n", &cfg), 0);
	CHECK(cfg.vfs_sriov && cfg.nctrls == 1);
	homid_config_free(&cfg);
	bad("[homid]\ncontroller = pci:01:00.1\nvf = sriov\nsriov = pci:01:00.0,vfs=0\n",
	    "enables no VF");
	{
		char *ctrls[] = { "emu:1G", "pci:02:00.0", "pci:0000:01:00.0,drv=vfio", "pci:zz" };

		/* the controller that is the sriov line's PF, whatever the spelling */
		CHECK_EQ(homid_sriov_pf_index("pci:01:00.0,vfs=2", ctrls, 4), 2);
		CHECK_EQ(homid_sriov_pf_index("pci:0000:02:00.0,vfs=1", ctrls, 4), 1);
		CHECK_EQ(homid_sriov_pf_index("pci:03:00.0,vfs=2", ctrls, 4), -ENOENT);
		CHECK_EQ(homid_sriov_pf_index("pci:01:00.0,vfs=2", ctrls, 2), -ENOENT);
		CHECK_EQ(homid_sriov_pf_index(NULL, ctrls, 4), -ENOENT);
		CHECK_EQ(homid_sriov_pf_index("pci:zz,vfs=2", ctrls, 4), -ENOENT);
	}
	bad("[homid]\nsriov = pci:01:00.0,vfs=2\nvf = pci:01:00.0\n", "is the physical function");
	bad("[homid]\nsriov = pci:01:00.0,vfs=2,ns=3+3\n", ":2: sriov =");
	bad("[homid]\nvf = pci:01:00.1\nvf = pci:01:00.2\nvf = pci:01:00.3\nvf = pci:01:00.4\n"
	    "vf = pci:01:00.5\nvf = pci:01:00.6\nvf = pci:01:00.7\nvf = pci:01:01.0\n"
	    "vf = pci:01:01.1\nvf = pci:01:01.2\nvf = pci:01:01.3\nvf = pci:01:01.4\n"
	    "vf = pci:01:01.5\nvf = pci:01:01.6\nvf = pci:01:01.7\nvf = pci:01:02.0\n"
	    "vf = pci:01:02.1\n", ":18: vf = 'pci:01:02.1': at most 16");
	bad("[homid]\nlog_level = loud\n", ":2:");
	bad("[uid:5]\nmax_depth = 1\n", ":2:");
	bad("[uid:5]\nops = read,erase\n", ":2:");
	bad("[uid:5]\ndirect = perhaps\n", ":2:");
	bad("[uid:5\naccess = rw\n", ":1:");
	unlink(path);
	CHECK_EQ(homid_config_load(path, &cfg), -ENOENT);
	return t_result("homi_config");
}
