# SPDX-License-Identifier: MIT
"""Run by pyfile_guest.sh in the testbed guest: files on an XFS that the
kernel mounted from homid's ublk export, through the aisio Python package.

    pyfile_guest.py HOMI_URI MOUNT_DIR

- many reads of one file queued at once through its extents, on several
  lanes, every byte checked against include/aisio/pattern.h;
- pwrite through the kernel (served 'kernel'), then the new bytes read
  back through the extents (served 'extent') and through aisio.File;
- a write that extends the file, a write by another program, and a
  DeviceFile opened read-only for writing refused by the kernel.
Prints PASS/FAIL lines; exit 0 when every check passed.
"""
import os
import random
import sys

import aisio

fails = 0


def check(ok, what):
    global fails
    print(("PASS: " if ok else "FAIL: ") + what, flush=True)
    if not ok:
        fails += 1
    return ok


def pattern(name, off, n):
    b = bytearray(n)
    aisio.pattern_fill(b, name, off)
    return b


def make(path, name, size):
    with open(path, "wb") as f:
        f.write(pattern(name, 0, size))
        f.flush()
        os.fsync(f.fileno())


def main():
    uri, mnt = sys.argv[1:3]
    files = {"small.bin": 5000, "mid.bin": (2 << 20) + 77, "big.bin": (9 << 20) + 4097}
    for rel, size in files.items():
        make(os.path.join(mnt, rel), rel, size)
    rnd = random.Random(15)
    with aisio.open(uri) as dev:
        # many reads in flight on one file, through its extents
        for rel, size in files.items():
            path = os.path.join(mnt, rel)
            with dev.open_file(path, queues=8) as f:
                reads = []
                for _ in range(48):
                    n = min(size, rnd.choice((1, 4096, 5000, 131072, 1 << 20)))
                    off = rnd.randrange(0, size - n + 1)
                    buf = bytearray(n)
                    reads.append((off, n, buf, f.pread(buf, file_offset=off)))
                bad = [(off, n, fu.get(), fu.served, fu.reason) for off, n, buf, fu in reads
                       if fu.get() != n or buf != pattern(rel, off, n) or fu.served != "extent"]
                check(not bad, f"{rel}: 48 reads in flight, all bytes right, all through the extents {bad[:2]}")
                check(f.peak_inflight >= 2, f"{rel}: {f.peak_inflight} reads in service at once on {f.lanes} lanes")
                whole = bytearray(size)
                fu = f.pread(whole)
                check(fu.get() == size and whole == pattern(rel, 0, size) and fu.served == "extent",
                      f"{rel}: the whole file in one read ({fu.served}, {fu.cmds} commands)")

        # pwrite through the kernel, read back through both paths
        rel, size = "mid.bin", files["mid.bin"]
        path = os.path.join(mnt, rel)
        expect = pattern(rel, 0, size)
        with dev.open_file(path, queues=4) as f:
            first = bytearray(size)
            check(f.read(first) == size and first == expect, "mid.bin read before the write")
            new = pattern("other", 0, 300001)
            off = 10 * 4096 + 5
            fu = f.pwrite(new, file_offset=off)
            n = fu.get()
            check(n == len(new) and fu.served == "kernel" and "file system" in fu.reason,
                  f"pwrite of {len(new)} bytes: {n}, served {fu.served} ({fu.reason})")
            expect[off:off + len(new)] = new
            after = bytearray(size)
            futs = [f.pread(memoryview(after)[i:i + 65536], file_offset=i) for i in range(0, size, 65536)]
            got = sum(x.get() for x in futs)
            served = {x.served for x in futs}
            check(got == size and after == expect,
                  f"read after the write through the DeviceFile sees the new bytes ({served})")
            check(served == {"extent"}, f"and those reads went through the extents ({futs[0].reason})")
            with aisio.File(path) as k:
                viak = bytearray(size)
                fk = k.pread(viak)
                check(fk.get() == size and viak == expect and fk.served == "kernel",
                      "aisio.File (the kernel path) sees the same bytes")
            # a write that extends the file: a hole, then new bytes
            tail = pattern("tail", 0, 8192)
            end = size + 100000
            check(f.write(tail, file_offset=end) == len(tail), "pwrite past the end")
            big = bytearray(end + len(tail) + 10)
            got = f.read(big)
            want = expect + bytes(end - size) + tail
            check(got == len(want) and big[:got] == want,
                  f"the extended file reads back with its hole and tail ({f.last_served}: {f.last_reason})")
            check(f.size() == len(want), f"size() after the extension: {f.size()}")
        # another program writes: the next read sees it (homid's fanotify check)
        with dev.open_file(path) as f:
            buf = bytearray(4096)
            f.read(buf)
            with open(path, "r+b") as w:
                w.seek(100)
                w.write(b"\xAA" * 50)
            f.read(buf)
            check(bytes(buf[100:150]) == b"\xAA" * 50, f"a write by another program is seen ({f.last_served})")
        # the kernel decides who may write
        ro = os.path.join(mnt, "small.bin")
        os.chmod(ro, 0o444)
        pid = os.fork()
        if pid == 0:
            os.setuid(65534)
            try:
                with aisio.open(uri) as d2, d2.open_file(ro) as f:
                    b = bytearray(5000)
                    ok = f.read(b) == 5000 and b == pattern("small.bin", 0, 5000)
                    try:
                        f.pwrite(b"x")
                        ok = False
                        print("pwrite by nobody on a read-only file was not refused")
                    except aisio.Error as e:
                        print(f"refused: {e}")
                        ok = ok and e.errno == 13
            except Exception as e:  # noqa: BLE001 - reported by the exit status
                print(f"nobody: {e}")
                ok = False
            os._exit(0 if ok else 1)
        _, st = os.waitpid(pid, 0)
        check(os.WIFEXITED(st) and os.WEXITSTATUS(st) == 0,
              "nobody reads a read-only file through its extents; its pwrite is refused (EACCES)")
    print(f"{fails} check(s) failed" if fails else "all Python checks passed")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
