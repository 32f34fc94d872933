# SPDX-License-Identifier: MIT
"""Device.open_file: files of an unmounted XFS image (mkfs.xfs -p) on the
device model, read through their extents (image=True) with futures and
checked against the dataset pattern: many reads in flight at once on one
file, the GIL released while they run, GPU arrays refused with the reason
when no CUDA is usable, pwrite refused (an image has no kernel path), bad
paths and arguments raising with the library's words; with fallback=True a
file the device has no extent path for is served by the kernel (pwrite and
read back). Mounted files through homid: tests/vm/pyfile_guest.py."""
import errno
import hashlib
import os
import random
import shutil
import subprocess
import tempfile
import sys
import threading
import time
import unittest

import aisio
from helpers import need, ref_bytes

# name -> size: one byte, an odd tail, several blocks, a few MiB
FILES = {"a.bin": 1, "b.bin": 5000, "sub/c.bin": 65536 * 3 + 17, "sub/d.bin": (3 << 20) + 123,
         "sub/e.bin": (9 << 20) + 4097}


def make_image(work):
    mkfs = shutil.which("mkfs.xfs") or "/usr/sbin/mkfs.xfs"
    if not os.access(mkfs, os.X_OK):
        if os.environ.get("CI") == "true":
            raise AssertionError("mkfs.xfs (xfsprogs) is required under CI=true")
        raise unittest.SkipTest("mkfs.xfs (xfsprogs) not installed")
    src = os.path.join(work, "src")
    os.makedirs(os.path.join(src, "sub"))
    for name, size in FILES.items():
        buf = bytearray(size)
        aisio.pattern_fill(buf, "/" + name)
        with open(os.path.join(src, name), "wb") as f:
            f.write(buf)
    proto = os.path.join(work, "proto")
    lines = ["/", "0 0", "d--755 0 0"]
    for name in ("a.bin", "b.bin"):
        lines.append(f"{name} ---644 0 0 {os.path.join(src, name)}")
    lines.append("sub d--755 0 0")
    for name in ("c.bin", "d.bin", "e.bin"):
        lines.append(f"{name} ---644 0 0 {os.path.join(src, 'sub', name)}")
    lines += ["$", "$"]
    with open(proto, "w") as f:
        f.write("\n".join(lines) + "\n")
    img = os.path.join(work, "img")
    with open(img, "wb") as f:
        f.truncate(128 << 20)
    env = dict(os.environ, TEST_DIR="1", TEST_DEV="1", QA_CHECK_FS="1")
    subprocess.run([mkfs, "-q", "-f", "-p", proto, img], check=True, env=env)
    return img


IMAGE = {}


def setUpModule():
    IMAGE["work"] = tempfile.mkdtemp(prefix="aisio-devfile-")
    IMAGE["img"] = make_image(IMAGE["work"])


def tearDownModule():
    if "work" in IMAGE:
        shutil.rmtree(IMAGE["work"], ignore_errors=True)


class DeviceFileTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.img = IMAGE["img"]

    def md5(self):
        with open(self.img, "rb") as f:
            return hashlib.md5(f.read()).hexdigest()

    def test_read_every_file_through_extents(self):
        before = self.md5()
        with aisio.open(f"emu:128M,file={self.img}") as dev:
            for name, size in FILES.items():
                with dev.open_file("/" + name, image=True) as f:
                    self.assertEqual(f.size(), size)
                    buf = bytearray(size + 100)  # asks past the end: gets size
                    fu = f.pread(buf)
                    self.assertIsInstance(fu, aisio.Future)
                    self.assertEqual(fu.get(), size, name)
                    self.assertTrue(fu.done())
                    self.assertEqual(fu.served, "extent", f"{name}: {fu.reason}")
                    self.assertEqual(fu.reason, "")
                    self.assertGreater(fu.cmds, 0)
                    self.assertEqual(f.last_served, "extent", f"{name}: {f.last_reason}")
                    self.assertEqual(f.last_reason, "")
                    self.assertGreater(f.last_cmds, 0)
                    self.assertEqual(bytes(buf[:min(size, 4096)]), ref_bytes("/" + name, 0, min(size, 4096)))
                    ref = bytearray(size)
                    aisio.pattern_fill(ref, "/" + name)
                    self.assertEqual(buf[:size], ref, name)
                    # an unaligned piece in the middle
                    if size > 9000:
                        piece = bytearray(3001)
                        self.assertEqual(f.pread(piece, 3001, 4097).get(), 3001)
                        self.assertEqual(bytes(piece), bytes(ref[4097:4097 + 3001]))
                    # at the end: 0 bytes, nothing served
                    self.assertEqual(f.read(bytearray(10), file_offset=size), 0)
                    fu = f.pread(bytearray(10), file_offset=size + 5)
                    self.assertEqual(fu.get(), 0)
                    self.assertEqual(fu.served, "none")
        self.assertEqual(self.md5(), before, "reading changed the image")

    def test_bad_paths_raise(self):
        with aisio.open(f"emu:128M,file={self.img}") as dev:
            with self.assertRaises(aisio.Error) as cm:
                dev.open_file("/missing.bin", image=True)
            self.assertIn("missing.bin", str(cm.exception))
            self.assertEqual(cm.exception.errno, 2)
            with self.assertRaises(aisio.Error) as cm:
                dev.open_file("/sub", image=True)
            self.assertIn("sub", str(cm.exception))
            self.assertEqual(cm.exception.errno, 21)
            # a mounted path needs a homi: device: refused, saying so
            with self.assertRaises(aisio.Error) as cm:
                dev.open_file("/a.bin")
            self.assertIn("homi:", str(cm.exception))
            f = dev.open_file("/a.bin", image=True)
            f.close()
            with self.assertRaises(ValueError):
                f.pread(bytearray(1))
            with self.assertRaises(ValueError):
                dev.open_file("/a.bin", image=True).pread(bytearray(1), file_offset=-1)


class DeviceFileFutures(unittest.TestCase):
    """pread/pwrite futures on lanes; the device model waits `latency_us` per command."""

    @classmethod
    def setUpClass(cls):
        cls.img = IMAGE["img"]

    def verify(self, buf, name, off, n):
        bad = aisio.pattern_check(memoryview(buf)[:n], name, off)
        self.assertEqual(bad, n, f"{name}: byte {off + bad} differs from the pattern")

    def test_future_protocol(self):
        with aisio.open(f"emu:128M,file={self.img},latency_us=20000") as dev:
            with dev.open_file("/b.bin", image=True) as f:
                self.assertIsInstance(f, aisio.DeviceFile)
                self.assertEqual(f.path_kind, "extent")
                buf = bytearray(5000)
                fu = f.pread(buf)
                self.assertFalse(fu.done(), "a read of a 20 ms command finished before pread returned")
                self.assertEqual(fu.get(), 5000)
                self.assertTrue(fu.done())
                self.assertEqual((fu.served, fu.reason), ("extent", ""))
                self.assertGreater(fu.cmds, 0)
                with self.assertRaises(RuntimeError):
                    fu.get()
                self.verify(buf, "/b.bin", 0, 5000)
                # size and offset, the sync form
                piece = bytearray(100)
                self.assertEqual(f.read(piece, 40, 4000), 40)
                self.assertEqual(bytes(piece[:40]), ref_bytes("/b.bin", 4000, 40))
                self.assertEqual(bytes(piece[40:]), bytes(60))
                # an empty read is finished at once
                fu = f.pread(bytearray(0))
                self.assertTrue(fu.done())
                self.assertEqual((fu.get(), fu.served), (0, "none"))

    def test_many_in_flight_on_one_file(self):
        """64 reads of one file queued at once run on up to 8 lanes together; every byte is checked."""
        name, size = "/sub/d.bin", FILES["sub/d.bin"]
        rnd = random.Random(15)
        with aisio.open(f"emu:128M,file={self.img},latency_us=20000") as dev:
            with dev.open_file(name, image=True, queues=8) as f:
                self.assertEqual((f.queues, f.lanes, f.path, f.image), (8, 1, name, True))
                reads = []
                for _ in range(64):
                    n = rnd.choice((1, 511, 4096, 5000, 65536, 300001))
                    off = rnd.randrange(0, size - n)
                    buf = bytearray(n)
                    reads.append((off, n, buf, f.pread(buf, file_offset=off)))
                self.assertFalse(all(fu.done() for *_, fu in reads))
                for off, n, buf, fu in reads:
                    self.assertEqual(fu.get(), n)
                    self.assertEqual(fu.served, "extent", fu.reason)
                    self.verify(buf, name, off, n)
                self.assertEqual(f.lanes, 8)
                self.assertGreaterEqual(f.peak_inflight, 2, "the reads ran one after another")
                peak = f.peak_inflight
            # one lane: one read at a time (the counter can tell)
            with dev.open_file(name, image=True, queues=1) as f:
                futs = [f.pread(bytearray(4096), file_offset=4096 * i) for i in range(8)]
                self.assertEqual([fu.get() for fu in futs], [4096] * 8)
                self.assertEqual((f.lanes, f.peak_inflight), (1, 1))
        print(f"\n  64 reads, 8 lanes: up to {peak} in service at once", file=sys.stderr)

    def test_large_read_spans_tasks(self):
        """A read larger than a task (4 MiB) is split over lanes; a DMA buffer of the device is read into."""
        name, size = "/sub/e.bin", FILES["sub/e.bin"]
        with aisio.open(f"emu:128M,file={self.img}") as dev, dev.open_file(name, image=True) as f:
            buf = bytearray(size)
            fu = f.pread(buf)
            self.assertEqual(fu.get(), size)
            self.assertEqual(fu.served, "extent", fu.reason)
            self.verify(buf, name, 0, size)
            dma = dev.alloc(size + 4096)
            fu = f.pread(memoryview(dma)[4096:], file_offset=0)
            self.assertEqual(fu.get(), size)
            self.verify(memoryview(dma)[4096:], name, 0, size)
            # from threads at once: each read waits with the GIL released
            errs = []

            def reader(k):
                try:
                    b = bytearray(70000)
                    for i in range(8):
                        off = (k * 8 + i) * 70001
                        self.assertEqual(f.read(b, file_offset=off), 70000)
                        self.verify(b, name, off, 70000)
                except Exception as e:  # noqa: BLE001 - reported below
                    errs.append(e)
            ths = [threading.Thread(target=reader, args=(k,)) for k in range(4)]
            for t in ths:
                t.start()
            for t in ths:
                t.join()
            self.assertEqual(errs, [])

    def test_gil_released_while_waiting(self):
        """With a 1 s switch interval another thread runs during get() only if get() lets the GIL go:
        the other thread gives the GIL back at each step (sleep(0)), so only get() can hold it."""
        with aisio.open(f"emu:128M,file={self.img},latency_us=300000") as dev:
            with dev.open_file("/b.bin", image=True) as f:
                f.read(bytearray(10))  # the lane is running
                ticks = 0
                stop = False

                def spin():
                    nonlocal ticks
                    while not stop:
                        ticks += 1
                        time.sleep(0)
                old = sys.getswitchinterval()
                sys.setswitchinterval(1.0)
                th = threading.Thread(target=spin)
                try:
                    th.start()
                    fu = f.pread(bytearray(5000))
                    before = ticks
                    pending = not fu.done()
                    self.assertEqual(fu.get(), 5000)
                    during = ticks - before
                finally:
                    stop = True
                    th.join()
                    sys.setswitchinterval(old)
                self.assertTrue(pending, "the 300 ms read was over before get(): nothing to tell")
                self.assertGreater(during, 0, "no other thread ran while get() waited")

    def test_close_waits_for_queued_reads(self):
        with aisio.open(f"emu:128M,file={self.img},latency_us=20000") as dev:
            f = dev.open_file("/sub/c.bin", image=True, queues=2)
            bufs = [bytearray(4096) for _ in range(6)]
            futs = [f.pread(b, file_offset=4096 * i) for i, b in enumerate(bufs)]
            f.close()
            self.assertTrue(all(fu.done() for fu in futs))
            for i, (b, fu) in enumerate(zip(bufs, futs)):
                self.assertEqual(fu.get(), 4096)
                self.verify(b, "/sub/c.bin", 4096 * i, 4096)
            with self.assertRaises(ValueError):
                f.pread(bytearray(1))
            with self.assertRaises(ValueError):
                f.size()
            # dropped futures: their buffers stay alive until the reads are over
            with dev.open_file("/sub/c.bin", image=True) as f:
                for _ in range(10):
                    f.pread(bytearray(65536))
            # the device closes once its last file does
            f = dev.open_file("/a.bin", image=True)
            dev.close()
            with self.assertRaises(ValueError):
                f.pread(bytearray(1))
            f.close()

    def test_pwrite_refused_on_an_image(self):
        before = md5(self.img)
        with aisio.open(f"emu:128M,file={self.img}") as dev, dev.open_file("/b.bin", image=True) as f:
            with self.assertRaises(aisio.Error) as cm:
                f.pwrite(b"new bytes", file_offset=10)
            self.assertEqual(cm.exception.errno, errno.EOPNOTSUPP)
            self.assertIn("no kernel path", str(cm.exception))
            self.assertIn("/b.bin", str(cm.exception))
            with self.assertRaises(aisio.Error):
                f.write(bytearray(4096))
            buf = bytearray(5000)  # the file still reads, unchanged
            self.assertEqual(f.read(buf), 5000)
            self.verify(buf, "/b.bin", 0, 5000)
        self.assertEqual(md5(self.img), before)

    def test_bad_arguments(self):
        with aisio.open(f"emu:128M,file={self.img}") as dev:
            for q in (0, -1, 65):
                with self.assertRaises(ValueError):
                    dev.open_file("/a.bin", image=True, queues=q)
            with dev.open_file("/b.bin", image=True) as f:
                with self.assertRaises(TypeError):
                    f.pread(b"read-only bytes")
                with self.assertRaises(TypeError):
                    f.pread(object())
                with self.assertRaises(BufferError):
                    f.pread(memoryview(bytearray(64))[::2])  # not contiguous
                with self.assertRaises(ValueError):
                    f.pread(bytearray(4), size=5)
                with self.assertRaises(ValueError):
                    f.pread(bytearray(4), size=-1)
                with self.assertRaises(ValueError):
                    f.pread(bytearray(4), file_offset=-1)
                # far past the end: nothing read, not an error
                self.assertEqual(f.read(bytearray(4), file_offset=1 << 50), 0)
                self.assertEqual(f.read(bytearray(8)), 8)  # still usable

    def test_gpu_array(self):
        """A __cuda_array_interface__ object: read through host memory on a GPU host, a clear error without."""
        np = need("numpy")
        host = np.zeros(5000, np.uint8)

        class FakeGpu:  # host memory dressed as GPU memory: CUDA does not know the address
            __cuda_array_interface__ = {"data": (host.ctypes.data, False), "shape": (5000,), "typestr": "|u1",
                                        "version": 3}
        with aisio.open(f"emu:128M,file={self.img}") as dev, dev.open_file("/b.bin", image=True) as f:
            with self.assertRaises(aisio.Error) as cm:
                f.pread(FakeGpu())
            self.assertRegex(str(cm.exception), "CUDA|GPU")
            self.assertIn("/b.bin: pread into a GPU array", str(cm.exception))
            self.assertIn(cm.exception.errno, (errno.ENOTSUP, errno.ENODEV, errno.EIO))
            self.assertFalse(host.any(), "bytes were written to the fake GPU array")
            self.assertEqual(f.last_served, "none")  # no read was started
            torch = gpu_torch()
            if torch is None:
                self.skipTest("no CUDA GPU through torch: the GPU read runs on the GPU host")
            size = FILES["sub/e.bin"]
            with dev.open_file("/sub/e.bin", image=True) as g:
                t = torch.empty(size, dtype=torch.uint8, device="cuda")
                fu = g.pread(t)
                self.assertEqual(fu.get(), size)
                self.assertEqual(fu.served, "extent", fu.reason)
                torch.cuda.synchronize()
                self.verify(t.cpu().numpy(), "/sub/e.bin", 0, size)


class DeviceFileKernelFallback(unittest.TestCase):
    """open_file(fallback=True) where the device has no extent path: the kernel serves, and says so."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.tmp.name, "k.bin")
        self.size = (5 << 20) + 333
        buf = bytearray(self.size)
        aisio.pattern_fill(buf, "k.bin")
        with open(self.path, "wb") as f:
            f.write(buf)

    def tearDown(self):
        self.tmp.cleanup()

    def test_reads_writes_and_read_back(self):
        rnd = random.Random(7)
        with aisio.open("emu:16M") as dev:
            with self.assertRaises(aisio.Error) as cm:  # not asked for: refused, as before
                dev.open_file(self.path)
            self.assertEqual(cm.exception.errno, errno.EOPNOTSUPP)
            with dev.open_file(self.path, fallback=True, queues=4) as f:
                self.assertEqual((f.path_kind, f.size()), ("kernel", self.size))
                reads = []
                for _ in range(32):
                    n = rnd.choice((1, 4096, 70001, 1 << 20))
                    off = rnd.randrange(0, self.size - n)
                    buf = bytearray(n)
                    reads.append((off, n, buf, f.pread(buf, file_offset=off)))
                for off, n, buf, fu in reads:
                    self.assertEqual(fu.get(), n)
                    self.assertEqual(fu.served, "kernel")
                    self.assertIn("homi:", fu.reason)
                    self.assertEqual(aisio.pattern_check(buf, "k.bin", off), n)
                # pwrite, then the new bytes through this file and through aisio.File
                new = bytearray(300001)
                aisio.pattern_fill(new, "new")
                off = 4096 * 3 + 1
                fu = f.pwrite(new, file_offset=off)
                self.assertEqual((fu.get(), fu.served), (len(new), "kernel"))
                self.assertIn("file system", fu.reason)
                expect = bytearray(self.size)
                aisio.pattern_fill(expect, "k.bin")
                expect[off:off + len(new)] = new
                back = bytearray(self.size)
                self.assertEqual(f.read(back), self.size)
                self.assertEqual(back, expect)
                with aisio.File(self.path) as k:
                    back2 = bytearray(self.size)
                    self.assertEqual(k.read(back2), self.size)
                    self.assertEqual(back2, expect)
                # past the end: the file grows
                self.assertEqual(f.write(b"tail", file_offset=self.size + 10), 4)
                self.assertEqual(f.size(), self.size + 14)
                self.assertEqual(f.read(bytearray(100), file_offset=self.size + 14), 0)
            with self.assertRaises(aisio.Error) as cm:
                dev.open_file(os.path.join(self.tmp.name, "missing"), fallback=True)
            self.assertEqual(cm.exception.errno, errno.ENOENT)
            self.assertIn("the kernel cannot open it", str(cm.exception))
            # a file inside an image has no kernel path to fall back to
            with self.assertRaises(aisio.Error):
                dev.open_file("/k.bin", image=True, fallback=True)


def md5(path):
    with open(path, "rb") as f:
        return hashlib.md5(f.read()).hexdigest()


def gpu_torch():
    """torch with a usable CUDA device, or None."""
    try:
        import torch
    except ImportError:
        return None
    return torch if torch.cuda.is_available() else None


if __name__ == "__main__":
    unittest.main()
