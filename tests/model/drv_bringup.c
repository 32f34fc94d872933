/* SPDX-License-Identifier: MIT */
/*
 * Driver bring-up: geometry and registers after open, URI options, and the
 * errors of controllers that never become ready or are not NVMe at all
 * (a register file in plain memory that nobody serves).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mt.h"

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- a register file nobody serves ---------------------------------------- */

static int fake_cfg(struct aisio_pcif *f, uint32_t off, void *buf, size_t len)
{
	return -ENOTSUP;
}

static int fake_cfg_w(struct aisio_pcif *f, uint32_t off, const void *buf, size_t len)
{
	return -ENOTSUP;
}

static int fake_dma(struct aisio_pcif *f, size_t len, struct aisio_mem_region **out)
{
	return aisio_mem_region_identity(len, out);
}

static void fake_close(struct aisio_pcif *f)
{
}

static const struct aisio_pcif_ops fake_ops = { fake_cfg, fake_cfg_w, fake_dma, fake_close };

static int fake_init(uint64_t cap, int fill_ones, struct aisio_nvme_ctrl **c, uint64_t *ms)
{
	static uint32_t regs[0x2000 / 4];
	struct aisio_pcif f = { .ops = &fake_ops, .bar0 = (volatile uint8_t *)regs,
				.bar0_len = sizeof(regs), .name = "fake" };
	uint64_t t0;
	int err;

	memset(regs, fill_ones ? 0xff : 0, sizeof(regs));
	if (!fill_ones) {
		regs[0] = (uint32_t)cap;
		regs[1] = (uint32_t)(cap >> 32);
	}
	t0 = now_ms();
	err = aisio_nvme_ctrl_init(&f, NULL, c);
	*ms = now_ms() - t0;
	return err;
}

static void test_fake_controllers(void)
{
	struct aisio_nvme_ctrl *c = NULL;
	uint64_t ms;
	int err;

	/* NVM command set, CAP.TO = 1 (500 ms): RDY never rises. */
	err = fake_init(AISIO_NVME_CAP_MQES(63) | AISIO_NVME_CAP_TO(1) | AISIO_NVME_CAP_CSS_NVM, 0, &c, &ms);
	CHECK_EQ(err, -ETIMEDOUT);
	CHECK(c == NULL);
	CHECK(strstr(aisio_errmsg(), "CAP.TO") != NULL);
	CHECK(ms >= 450 && ms < 5000);
	printf("never ready: %s (%llu ms)\n", aisio_errmsg(), (unsigned long long)ms);

	err = fake_init(AISIO_NVME_CAP_MQES(63) | AISIO_NVME_CAP_TO(1), 0, &c, &ms);
	CHECK_EQ(err, -ENODEV);
	CHECK(strstr(aisio_errmsg(), "NVM command set") != NULL);

	err = fake_init(0, 1, &c, &ms);
	CHECK_EQ(err, -ENODEV);
	CHECK(strstr(aisio_errmsg(), "all ones") != NULL);
	printf("all ones: %s\n", aisio_errmsg());
}

/* ---- the device model ------------------------------------------------------ */

static void test_default(void)
{
	struct aisio_dev *dev = mt_open("emu:64M", NULL);
	const struct aisio_geo *g = aisio_dev_geo(dev);
	struct aisio_pcif *f = aisio_upci_pcif(dev);
	struct aisio_nvme_ctrl *c = aisio_upci_ctrl(dev);
	const struct aisio_nvme_ctrl_info *ci;
	struct aisio_nvme_id_ctrl id;
	uint32_t cc, csts, aqa;

	REQUIRE(f && c && mt_emu(dev));
	ci = aisio_nvme_ctrl_info(c);
	CHECK_EQ(g->nsid, 1);
	CHECK_EQ(g->lba_size, 512);
	CHECK_EQ(g->nlbas, (64u << 20) / 512);
	CHECK_EQ(g->max_xfer, 128 * 4096); /* MDTS 7 */
	CHECK_EQ(g->max_queues, 64);
	CHECK_EQ(g->max_qdepth, 1024);
	CHECK_EQ(g->buf_align, 4096);
	CHECK_EQ(g->sgl, 1);
	CHECK(!strcmp(g->backend, "upci"));

	cc = aisio_pcif_read32(f, AISIO_NVME_REG_CC);
	csts = aisio_pcif_read32(f, AISIO_NVME_REG_CSTS);
	aqa = aisio_pcif_read32(f, AISIO_NVME_REG_AQA);
	CHECK_EQ(aisio_nvme_cc_en(cc), 1);
	CHECK_EQ(aisio_nvme_cc_iosqes(cc), 6);
	CHECK_EQ(aisio_nvme_cc_iocqes(cc), 4);
	CHECK_EQ(aisio_nvme_cc_mps(cc), 0);
	CHECK_EQ(aisio_nvme_cc_css(cc), 0);
	CHECK_EQ(csts & (AISIO_NVME_CSTS_RDY | AISIO_NVME_CSTS_CFS), AISIO_NVME_CSTS_RDY);
	CHECK_EQ(aisio_nvme_aqa_asqs(aqa), 32);
	CHECK_EQ(aisio_nvme_aqa_acqs(aqa), 32);
	CHECK(aisio_pcif_read64(f, AISIO_NVME_REG_ASQ) != 0);
	CHECK(aisio_pcif_read64(f, AISIO_NVME_REG_ACQ) != 0);

	CHECK_EQ(ci->page_shift, 12);
	CHECK_EQ(ci->nqueues, 64);
	CHECK_EQ(ci->max_qdepth, 1024);
	CHECK_EQ(ci->nactive, 1);
	CHECK_EQ(ci->active[0], 1);
	CHECK_EQ(aisio_nvme_ctrl_db_offset(c, 1, 1), 0x100c);
	CHECK_EQ(aisio_nvme_ctrl_failed(c), 0);

	CHECK_EQ(aisio_dev_identify_ctrl(dev, &id), 0);
	CHECK_EQ(id.vid, AISIO_EMU_PCI_VID);
	CHECK_EQ(id.mdts, 7);
	CHECK_EQ(id.sqes & 0xf, 6);
	CHECK_EQ(id.cqes & 0xf, 4);
	CHECK(id.mn[0] != ' ' && id.mn[0] != 0);
	aisio_dev_close(dev);
}

static void test_options(void)
{
	struct aisio_dev *dev;
	int err;

	dev = mt_open("emu:64M,lbads=12", NULL);
	CHECK_EQ(aisio_dev_geo(dev)->lba_size, 4096);
	CHECK_EQ(aisio_dev_geo(dev)->nlbas, (64u << 20) / 4096);
	aisio_dev_close(dev);

	dev = mt_open("emu:16M,nns=4,nsid=3", NULL);
	CHECK_EQ(aisio_dev_geo(dev)->nsid, 3);
	CHECK_EQ(aisio_nvme_ctrl_info(aisio_upci_ctrl(dev))->nactive, 4);
	aisio_dev_close(dev);

	{
		struct aisio_open_opts o = { .nsid = 2 };
		dev = mt_open("emu:16M,nns=2", &o);
		CHECK_EQ(aisio_dev_geo(dev)->nsid, 2);
		aisio_dev_close(dev);
	}

	dev = mt_open("emu:16M,mdts=0", NULL);
	CHECK_EQ(aisio_dev_geo(dev)->max_xfer, AISIO_NVME_DRV_MAX_XFER);
	aisio_dev_close(dev);

	dev = mt_open("emu:16M,mqes=63,nqueues=3", NULL);
	CHECK_EQ(aisio_dev_geo(dev)->max_qdepth, 64);
	CHECK_EQ(aisio_dev_geo(dev)->max_queues, 3);
	aisio_dev_close(dev);

	dev = mt_open("emu:16M,sgl=1,timeout_ms=1234", NULL);
	CHECK_EQ(aisio_nvme_ctrl_info(aisio_upci_ctrl(dev))->timeout_ms, 1234);
	aisio_dev_close(dev);

	err = aisio_dev_open("emu:16M,nns=2,nsid=5", NULL, &dev);
	CHECK_EQ(err, -ENODEV);
	CHECK(strstr(aisio_errmsg(), "namespace 5") != NULL);
	printf("bad nsid: %s\n", aisio_errmsg());

	err = aisio_dev_open("emu:16M,nsid=abc", NULL, &dev);
	CHECK_EQ(err, -EINVAL);
	CHECK(strstr(aisio_errmsg(), "nsid") != NULL);

	err = aisio_dev_open("emu:16M,sgl=2", NULL, &dev);
	CHECK_EQ(err, -EINVAL);

	err = aisio_dev_open("emu:", NULL, &dev);
	CHECK_EQ(err, -EINVAL);
	printf("no size: %s\n", aisio_errmsg());

	err = aisio_dev_open("emu:16M,bogus=1", NULL, &dev);
	CHECK(err < 0);
	CHECK(aisio_errmsg()[0] != 0);
	printf("bad option: %s\n", aisio_errmsg());

	err = aisio_dev_open("pci:0000:00:1f.7,colour=blue", NULL, &dev);
	CHECK_EQ(err, -EINVAL);
	CHECK(strstr(aisio_errmsg(), "colour") != NULL);

	err = aisio_dev_open("pci:0000:00:1f.7,drv=nvme", NULL, &dev);
	CHECK_EQ(err, -EINVAL);
	CHECK(strstr(aisio_errmsg(), "uio or vfio") != NULL);

	/* No such function here: an error that names the problem, whatever the build has. */
	err = aisio_dev_open("pci:0000:ff:1f.7", NULL, &dev);
	CHECK(err < 0);
	CHECK(aisio_errmsg()[0] != 0);
	printf("pci: %s\n", aisio_errmsg());
}

/* Several controllers in one process, opened and closed repeatedly. */
static void test_many(void)
{
	struct aisio_dev *d[4];

	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 4; i++)
			d[i] = mt_open("emu:8M", NULL);
		for (int i = 0; i < 4; i++)
			aisio_dev_close(d[i]);
	}
}

int main(void)
{
	test_default();
	test_options();
	test_many();
	test_fake_controllers();
	return t_result("drv_bringup");
}
