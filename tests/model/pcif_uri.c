/* SPDX-License-Identifier: MIT */
/*
 * Opening PCI functions by URI through the providers (src/pci/provider.c),
 * and the backend table of the one API (src/io/dev.c): emu: reaches the
 * device model through the PCI layer, bad URIs fail with a message naming
 * what is wrong (before any sysfs access), the upci backend takes its own
 * options out and hands the rest on, and a backend this build left out is
 * refused with a message that says what it needs.
 */
#include <fcntl.h>
#include <unistd.h>

#include <aisio/aisio.h>

#include "drv/drv.h"
#include "emu_t.h"
#include "pci/pci.h"

static void pcif_bad(const char *uri, const char *needle)
{
	struct aisio_pcif *f = (struct aisio_pcif *)&f;
	int err = aisio_pcif_open_uri(uri, 0, &f);

	if (err != -EINVAL || f) {
		fprintf(stderr, "'%s': got %d, want -EINVAL and no function\n", uri, err);
		t_failures++;
		aisio_pcif_close(f);
	}
	if (!strstr(aisio_errmsg(), needle)) {
		fprintf(stderr, "'%s': message '%s' does not name '%s'\n", uri, aisio_errmsg(), needle);
		t_failures++;
	}
}

static void dev_bad(const char *uri, const char *be, int want, const char *needle)
{
	struct aisio_open_opts o = { .be = be };
	struct aisio_dev *dev = (struct aisio_dev *)&dev;
	int err = aisio_dev_open(uri, &o, &dev);

	if (err != want || dev) {
		fprintf(stderr, "'%s' (backend %s): got %d, want %d and no device\n", uri,
			be ? be : "default", err, want);
		t_failures++;
		aisio_dev_close(dev);
	}
	if (!strstr(aisio_errmsg(), needle)) {
		fprintf(stderr, "'%s': message '%s' does not name '%s'\n", uri, aisio_errmsg(), needle);
		t_failures++;
	}
}

/* The backend that opened @uri (forced to @be when not NULL). */
static void dev_backend(const char *uri, const char *be, const char *want)
{
	struct aisio_open_opts o = { .be = be };
	struct aisio_dev *dev = NULL;
	int err = aisio_dev_open(uri, &o, &dev);

	if (err) {
		fprintf(stderr, "'%s': %s\n", uri, aisio_errmsg());
		t_failures++;
		return;
	}
	if (strcmp(aisio_dev_geo(dev)->backend, want)) {
		fprintf(stderr, "'%s': opened by %s, want %s\n", uri, aisio_dev_geo(dev)->backend, want);
		t_failures++;
	}
	aisio_dev_close(dev);
}

static void test_providers(void)
{
	struct aisio_emu_ctrl *c;
	struct aisio_pcif *f;

	CHECK(aisio_pcif_uri_known("emu:1M"));
	CHECK(aisio_pcif_uri_known("pci:01:00.0"));
	CHECK(aisio_pcif_uri_known("emu:"));
	CHECK(!aisio_pcif_uri_known("emu"));
	CHECK(!aisio_pcif_uri_known("emux:1M"));
	CHECK(!aisio_pcif_uri_known("file:/tmp/x"));
	CHECK(!aisio_pcif_uri_known(NULL));

	/* emu: is the device model, reached through the PCI layer */
	CHECK_EQ(aisio_pcif_open_uri("emu:1M,nns=3", 0, &f), 0);
	REQUIRE(f);
	c = aisio_emu_pcif_ctrl(f);
	REQUIRE(c);
	CHECK_EQ(aisio_emu_ctrl_opts(c)->nns, 3);
	CHECK(f->bar0 == aisio_emu_ctrl_bar0(c, NULL));
	aisio_pcif_close(f);

	pcif_bad("bogus:1", "no PCI-function provider");
	pcif_bad("bogus:1", "pci: or emu:");
	pcif_bad("/dev/nvme0n1", "no PCI-function provider");
	pcif_bad("emu:", "missing the size");
	pcif_bad("emu:64M,drv=uio", "unknown option 'drv'");
	pcif_bad("emu:64M,foo", "unknown option 'foo'");
	pcif_bad("pci:", "missing the PCI address");
	pcif_bad("pci:drv=vfio", "missing the PCI address");
	pcif_bad("pci:,,", "missing the PCI address");
	pcif_bad("pci:01:00.0,drv=dpdk", "drv takes uio or vfio, not 'dpdk'");
	pcif_bad("pci:01:00.0,drv=", "drv takes uio or vfio, not ''");
	pcif_bad("pci:01:00.0,foo=1", "unknown option 'foo=1'");
	pcif_bad("pci:01:00.0,drv=uio,01:00.1", "unknown option '01:00.1'");
	pcif_bad("pci:01:00", "not a PCI address");
	pcif_bad("pci:drv=uio,zz:00.0", "'zz:00.0' is not a PCI address");
}

static void test_upci(void)
{
	struct aisio_open_opts o = { 0 };
	struct aisio_dev *dev;
	struct aisio_pcif *f;

	/* the driver's options are its own; the rest reaches the model */
	CHECK_EQ(aisio_dev_open("emu:nsid=2,1M,nns=2,timeout_ms=1234,sgl=0", &o, &dev), 0);
	REQUIRE(dev);
	CHECK(!strcmp(aisio_dev_geo(dev)->backend, "upci"));
	CHECK_EQ(aisio_dev_geo(dev)->nsid, 2);
	CHECK_EQ(aisio_nvme_ctrl_info(aisio_upci_ctrl(dev))->timeout_ms, 1234);
	f = aisio_upci_pcif(dev);
	REQUIRE(f);
	REQUIRE(aisio_emu_pcif_ctrl(f));
	CHECK_EQ(aisio_emu_ctrl_opts(aisio_emu_pcif_ctrl(f))->nns, 2);
	aisio_dev_close(dev);

	dev_bad("emu:nsid=1", NULL, -EINVAL, "missing the size");
	dev_bad("emu:1M,nsid=0", NULL, -EINVAL, "nsid must be 1 or more");
	dev_bad("emu:1M,sgl=2", NULL, -EINVAL, "sgl takes 0 or 1");
	dev_bad("emu:1M,frob=2", NULL, -EINVAL, "unknown option 'frob'");
	dev_bad("pci:nsid=1", NULL, -EINVAL, "missing the PCI address");
	dev_bad("pci:01:00.0,nsid=1,frob=2", NULL, -EINVAL, "unknown option 'frob=2'");
	dev_bad("pci:01:00.0,drv=dpdk,nsid=1", NULL, -EINVAL, "drv takes uio or vfio");
	/* forced onto a URI no provider answers */
	dev_bad("file:/tmp/x", "upci", -EINVAL, "no PCI-function provider");
	dev_bad("/dev/nvme0n1", "upci", -EINVAL, "no PCI-function provider");
}

static void test_backends(void)
{
	char path[] = "/tmp/aisio-pcif-uri-XXXXXX", uri[64];
	int fd = mkstemp(path);

	dev_bad("bogus:thing", NULL, -EINVAL,
		"unknown URI scheme in 'bogus:thing': use emu:SIZE, pci:BDF, file:PATH, "
		"/dev/nvmeXnY, /dev/ngXnY, homi:SOCKET or nvme+tcp://HOST[:PORT]/SUBNQN");
	dev_bad("emu:1M", "warp", -EINVAL, "unknown backend 'warp': use upci, psync, io_uring, uring_cmd, homi or tcp");
	dev_bad("", NULL, -EINVAL, "empty device URI");
	dev_backend("emu:1M", NULL, "upci");
	dev_backend("emu:1M", "upci", "upci");

	REQUIRE(fd >= 0);
	REQUIRE(ftruncate(fd, 1 << 20) == 0);
	close(fd);
	snprintf(uri, sizeof(uri), "file:%s", path);
	dev_backend(uri, NULL, "psync");
	dev_backend(uri, "psync", "psync");
#ifdef AISIO_HAVE_LIBURING
	dev_backend(uri, "io_uring", "io_uring");
#else
	/* left out of this build: a clear refusal, whether forced or implied */
	dev_bad(uri, "io_uring", -ENOTSUP, "backend 'io_uring' is not built into this aisio");
	dev_bad(uri, "io_uring", -ENOTSUP, "liburing");
	dev_bad(uri, "uring_cmd", -ENOTSUP, "backend 'uring_cmd' is not built into this aisio");
	dev_bad("/dev/ng0n1", NULL, -ENOTSUP, "backend 'uring_cmd' is not built into this aisio");
#endif
	unlink(path);
}

int main(void)
{
	test_providers();
	test_upci();
	test_backends();
	return t_result("pcif_uri");
}
