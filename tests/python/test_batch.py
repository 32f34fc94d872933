# SPDX-License-Identifier: MIT
"""aisio.Batch: prepare many, submit once, wait for N."""
import random
import threading
import time
import unittest

import aisio
from helpers import need

np = need("numpy")


class BatchIO(unittest.TestCase):
    def setUp(self):
        self.d = aisio.open("emu:64M")

    def tearDown(self):
        self.d.close()

    def test_write_many_read_many(self):
        d = self.d
        n, sz = 200, 4096
        nlb = sz // d.lba_size
        lbas = np.arange(n, dtype=np.uint64) * nlb + 1000
        src = np.empty(n * sz, np.uint8)
        for i in range(n):
            aisio.pattern_fill(src[i * sz:(i + 1) * sz], "blk", int(lbas[i]) * d.lba_size)
        with d.batch(depth=256) as b:
            self.assertGreaterEqual(b.depth, 256)
            self.assertEqual(b.write_many(lbas, src, sz), n)
            self.assertEqual(b.prepared, n)
            self.assertEqual(b.submit(), n)
            self.assertEqual(sorted(b.wait()), sorted(int(x) for x in lbas))  # default tag: the LBA
            # read them back in a shuffled order into host memory that is not DMA memory
            order = list(range(n))
            random.Random(1).shuffle(order)
            dst = np.zeros(n * sz, np.uint8)
            b.read_many([int(lbas[i]) for i in order], dst, sz, tags=order)
            b.submit()
            got = b.wait(min_nr=10)
            self.assertGreaterEqual(len(got), 10)
            got += b.wait()
            self.assertEqual(sorted(got), list(range(n)))
            for k, i in enumerate(order):
                self.assertEqual(aisio.pattern_check(dst[k * sz:(k + 1) * sz], "blk", int(lbas[i]) * d.lba_size), sz)

    def test_single_commands_and_dma_buffer(self):
        d = self.d
        buf = d.alloc(8 * 4096)
        aisio.pattern_fill(buf, "one", 0)
        with d.batch(depth=16) as b:
            for i in range(8):
                b.write(i * 8, memoryview(buf)[i * 4096:(i + 1) * 4096], tag=("w", i))
            b.submit()
            self.assertEqual(sorted(b.wait()), [("w", i) for i in range(8)])
            np.frombuffer(buf, np.uint8)[:] = 0
            b.read_many(np.arange(8, dtype=np.int64) * 8, buf, 4096)
            b.submit()
            self.assertEqual(len(b.wait()), 8)
        self.assertEqual(aisio.pattern_check(buf, "one", 0), 8 * 4096)

    def test_full_and_misuse(self):
        d = self.d
        with d.batch(depth=8) as b:
            buf = np.zeros(4096 * 9, np.uint8)
            with self.assertRaises(RuntimeError) as cm:
                b.read_many(np.zeros(b.depth + 1, np.uint64), buf, 4096)
            self.assertIn("full", str(cm.exception))
            self.assertEqual(b.prepared, 0)  # nothing half-prepared
            with self.assertRaises(ValueError):
                b.wait(min_nr=1)  # nothing submitted
            with self.assertRaises(ValueError):
                b.read(0, bytearray(100))  # not whole LBAs
            with self.assertRaises(ValueError):
                b.read(0, bytearray(d.max_xfer + d.lba_size))  # one command larger than MDTS
            with self.assertRaises(TypeError):
                b.read_many(np.zeros(2, np.float64), buf, 4096)
            with self.assertRaises(ValueError):
                b.read_many([0, 8], bytearray(4096), 4096)  # buffer too small for 2 commands
            with self.assertRaises(TypeError):
                b.read(0, bytes(4096))  # read-only buffer
        with self.assertRaises(ValueError):
            b.submit()  # closed

    def test_failed_command(self):
        d = self.d
        with d.batch(depth=8) as b:
            b.read_many([0, d.nlbas, 8], np.zeros(3 * 4096, np.uint8), 4096)
            b.submit()
            with self.assertRaises(aisio.Error) as cm:
                b.wait()
            e = cm.exception
            self.assertIn("LBA Out of Range", str(e))
            self.assertEqual(e.status, 0x080)
            self.assertEqual(sorted(e.completed), [0, 8, d.nlbas])
            self.assertEqual(e.failed, [(d.nlbas, 0x080)])
            self.assertEqual(b.submitted, 0)
            # the batch goes on working
            b.read(0, bytearray(4096))
            b.submit()
            self.assertEqual(b.wait(), [0])

    def test_wait_timeout(self):
        with aisio.open("emu:16M,latency_us=300000") as d, d.batch(depth=4) as b:
            b.read(0, bytearray(512))
            b.submit()
            t0 = time.monotonic()
            self.assertEqual(b.wait(min_nr=1, timeout=0.01), [])
            self.assertLess(time.monotonic() - t0, 0.25)
            self.assertEqual(b.wait(), [0])

    def test_gil_released_during_wait(self):
        """A thread keeps running while a long batch is waited for."""
        with aisio.open("emu:64M,iops=2000") as d, d.batch(depth=256) as b:
            buf = d.alloc(256 * 4096)
            stop = threading.Event()
            count = [0]

            def spin():
                while not stop.is_set():
                    count[0] += 1
            t = threading.Thread(target=spin)
            t.start()
            b.read_many(np.arange(256, dtype=np.uint64) * 8, buf, 4096)
            b.submit()
            before = count[0]
            t0 = time.monotonic()
            self.assertEqual(len(b.wait()), 256)  # ~0.13 s at 2000 IOPS
            dt = time.monotonic() - t0
            during = count[0] - before
            stop.set()
            t.join()
            self.assertGreater(dt, 0.05)
            self.assertGreater(during, 1000, f"the counting thread ran {during} times in {dt:.3f} s")


if __name__ == "__main__":
    unittest.main()
