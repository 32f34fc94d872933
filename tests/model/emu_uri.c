/* SPDX-License-Identifier: MIT */
/*
 * Device model, URI parsing and the PCI function: every option lands in the
 * controller's options, bad sizes and options fail with a message naming
 * them, the PCI function shows the NVMe class code and the register file.
 */
#include <aisio/aisio.h>

#include "emu_t.h"
#include "pci/pcif.h"

static void bad(const char *spec, const char *needle)
{
	struct aisio_emu_ctrl *c = NULL;
	int err = aisio_emu_open_uri(spec, &c);

	if (err != -EINVAL || c) {
		fprintf(stderr, "'%s': got %d, want -EINVAL\n", spec, err);
		t_failures++;
	}
	if (!strstr(aisio_errmsg(), needle)) {
		fprintf(stderr, "'%s': message '%s' does not name '%s'\n", spec, aisio_errmsg(),
			needle);
		t_failures++;
	}
	aisio_emu_ctrl_destroy(c);
}

int main(void)
{
	struct aisio_emu_opts o;
	struct aisio_emu_ctrl *c;
	struct aisio_pcif *f;
	char *file;
	uint8_t cfg[64];

	aisio_emu_opts_init(&o);
	CHECK_EQ(aisio_emu_parse_uri("64M", &o, &file), 0);
	CHECK_EQ(o.ns_size, 64ull << 20);
	CHECK(file == NULL);
	CHECK_EQ(o.backing, AISIO_EMU_MEM);

	aisio_emu_opts_init(&o);
	CHECK_EQ(aisio_emu_parse_uri(
			 "2G,lbads=4096,nns=3,latency_us=5,iops=1000,bw=1M,mdts=3,mqes=127,"
			 "nqueues=8,threads=2,null",
			 &o, &file),
		 0);
	CHECK_EQ(o.ns_size, 2ull << 30);
	CHECK_EQ(o.lba_shift, 12);
	CHECK_EQ(o.nns, 3);
	CHECK_EQ(o.latency_us, 5);
	CHECK_EQ(o.iops, 1000);
	CHECK_EQ(o.bw, 1u << 20);
	CHECK_EQ(o.mdts, 3);
	CHECK_EQ(o.mqes, 127);
	CHECK_EQ(o.nqueues, 8);
	CHECK_EQ(o.threads, 2);
	CHECK_EQ(o.backing, AISIO_EMU_NULL);

	aisio_emu_opts_init(&o);
	CHECK_EQ(aisio_emu_parse_uri("4096,lbads=9,file=/tmp/x.img", &o, &file), 0);
	CHECK_EQ(o.ns_size, 4096);
	CHECK_EQ(o.lba_shift, 9);
	CHECK_EQ(o.backing, AISIO_EMU_FILE);
	CHECK(file && !strcmp(file, "/tmp/x.img"));
	free(file);
	aisio_emu_opts_init(&o);
	CHECK_EQ(aisio_emu_parse_uri("1k,lbads=12", &o, &file), 0);
	CHECK_EQ(o.ns_size, 1024);
	CHECK_EQ(o.gpu_direct, 1); /* the store offered to a provider that takes it */
	CHECK_EQ(aisio_emu_parse_uri("1M,gpu_direct=0", &o, &file), 0);
	CHECK_EQ(o.gpu_direct, 0);
	CHECK_EQ(aisio_emu_parse_uri("1M,gpu_direct=eager", &o, &file), 0);
	CHECK_EQ(o.gpu_direct, 2);
	CHECK_EQ(aisio_emu_parse_uri("1M,gpu_direct=1", &o, &file), 0);
	CHECK_EQ(o.gpu_direct, 1);

	bad("", "size");
	bad("0", "bad size '0'");
	bad("12X", "bad size '12X'");
	bad("M", "bad size 'M'");
	bad("99999999999999999999", "bad size");
	bad("64M,foo", "unknown option 'foo'");
	bad("64M,foo=1", "unknown option 'foo'");
	bad("64M,lbads=7", "lbads=7");
	bad("64M,nns=abc", "nns needs a number");
	bad("64M,nns=0", "nns=0");
	bad("64M,file=", "file= needs a path");
	bad("64M,null,file=/tmp/x", "exclude");
	bad("1000", "1000"); /* not a multiple of the LBA size */
	bad("1k,lbads=12", "multiple");
	bad("64M,mqes=0", "mqes=0");
	bad("64M,threads=0", "threads=0");
	bad("64M,bw=fast", "bw");
	bad("64M,gpu_direct=2", "gpu_direct=2: use 0");
	bad("64M,gpu_direct=yes", "gpu_direct=yes");
	bad("64M,gpu_direct=", "gpu_direct=");

	/* the PCI function */
	CHECK_EQ(aisio_emu_pcif_open_uri("1M,nns=2", 0, &f), 0);
	REQUIRE(f);
	CHECK(!strncmp(f->name, "emu", 3));
	CHECK_EQ(f->ops->cfg_read(f, 0, cfg, sizeof(cfg)), 0);
	CHECK_EQ(cfg[0] | cfg[1] << 8, AISIO_EMU_PCI_VID);
	CHECK_EQ(cfg[2] | cfg[3] << 8, AISIO_EMU_PCI_DID);
	CHECK_EQ(cfg[9] | cfg[10] << 8 | cfg[11] << 16, 0x010802);
	CHECK_EQ(f->ops->cfg_read(f, 4090, cfg, 16), -EINVAL);
	c = aisio_emu_pcif_ctrl(f);
	REQUIRE(c);
	CHECK_EQ(aisio_emu_ctrl_opts(c)->nns, 2);
	CHECK(f->bar0 == aisio_emu_ctrl_bar0(c, NULL));
	CHECK_EQ(aisio_nvme_cap_mqes(aisio_pcif_read64(f, AISIO_NVME_REG_CAP)), 1023);
	{
		struct aisio_mem_region *r;

		CHECK_EQ(f->ops->dma_alloc(f, 10000, &r), 0);
		REQUIRE(r);
		CHECK(r->len >= 10000);
		CHECK_EQ(aisio_mem_bus(r, r->va + 5000), (uint64_t)(uintptr_t)(r->va + 5000));
		aisio_mem_region_release(r);
	}
	aisio_pcif_close(f); /* destroys the controller it opened */

	/* a function over a caller's controller leaves it alive */
	CHECK_EQ(aisio_emu_open_uri("1M", &c), 0);
	CHECK_EQ(aisio_emu_pcif_open(c, &f), 0);
	aisio_pcif_close(f);
	CHECK_EQ(aisio_nvme_cap_mqes(*(volatile uint64_t *)aisio_emu_ctrl_bar0(c, NULL)), 1023);
	aisio_emu_ctrl_destroy(c);
	return t_result("emu_uri");
}
