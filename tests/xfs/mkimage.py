#!/usr/bin/env python3
"""Build an XFS test image and what the kernel and xfsprogs say about it.

  mkimage.py AISIO OUTDIR NAME

Makes OUTDIR/NAME.img with mkfs.xfs, loop-mounts it, populates it for the
profile NAME, and while mounted records: find's tree (NAME.find), xfs_bmap
-vp of every non-empty regular file (NAME.bmap), the FIEMAP map from
'AISIO extents -r' (NAME.fiemap) and a copy of the image with a dirty log
(NAME-dirty.img, small profile). After unmounting, xfs_db reports the
on-disk formats reached (NAME.formats) so tests can check that the image
covers what it should. Results are cached: a stamp holds the hash of this
script and mkfs version; a lock serialises parallel test runs.
Exit 77 when this machine cannot build images (not root, no loop, no XFS).
"""
import ctypes
import fcntl
import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile

FALLOC_FL_KEEP_SIZE = 1
FALLOC_FL_PUNCH_HOLE = 2
libc = ctypes.CDLL(None, use_errno=True)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]

SMALL_ENV = dict(os.environ, TEST_DIR="1", TEST_DEV="1", QA_CHECK_FS="1")

PROFILES = {
    # name: (image size, mkfs options)
    "main": ("512m", ["-b", "size=4096"]),
    "small": ("64m", []),
    # mkfs.xfs 6.1 refuses -n size=1024; the superblock is patched to 1 KiB
    # directory blocks right after mkfs (see patch_dirblklog), which the kernel accepts.
    "b1k": ("320m", ["-b", "size=1024"]),
    "d64k": ("320m", ["-n", "size=65536", "-i", "nrext64=1"]),
    "spino": ("64m", ["-i", "sparse=1", "-d", "agcount=1", "-m", "reflink=0,finobt=0,rmapbt=0"]),
}


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c ^= b
        for _ in range(8):
            c = (c >> 1) ^ (0x82F63B78 & -(c & 1))
    return c ^ 0xFFFFFFFF


def patch_dirblklog(img, dirblklog):
    """Set sb_dirblklog of a fresh file system and re-seal the superblock CRC."""
    with open(img, "r+b") as f:
        sb = bytearray(f.read(512))
        sectsize = int.from_bytes(sb[102:104], "big")
        f.seek(0)
        sb = bytearray(f.read(sectsize))
        sb[192] = dirblklog
        sb[224:228] = b"\0\0\0\0"
        sb[224:228] = crc32c(sb).to_bytes(4, "little")
        f.seek(0)
        f.write(sb)


def run(*cmd, env=None, out=None):
    return subprocess.run(cmd, check=True, env=env, stdout=out or subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)


def punch(fd, off, length):
    if libc.fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, length) != 0:
        raise OSError(ctypes.get_errno(), "punch hole")


def mkfiles(d, n, namelen, prefix="f"):
    os.makedirs(d, exist_ok=True)
    for i in range(n):
        name = f"{prefix}{i:06d}".ljust(namelen, "x")
        os.close(os.open(os.path.join(d, name), os.O_CREAT | os.O_WRONLY, 0o644))


def fragmented(path, blocks, bs, write_every=0):
    """fallocate BLOCKS, punch every other block, write some of the rest."""
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
    os.posix_fallocate(fd, 0, blocks * bs)
    for b in range(1, blocks, 2):
        punch(fd, b * bs, bs)
    if write_every:
        for b in range(0, blocks, 2 * write_every):
            os.pwrite(fd, b"D" * bs, b * bs)
    os.fsync(fd)
    os.close(fd)


def big_dir(d, n, bs, spacer_every, namelen=0):
    """N entries; a spacer file grows between directory blocks so the
    directory's blocks are not contiguous and its fork becomes a B+tree."""
    os.makedirs(d, exist_ok=True)
    sp = os.open(os.path.join(d, ".spacer"), os.O_CREAT | os.O_RDWR, 0o644)
    for i in range(n):
        name = f"entry-{i:07d}-abcdefgh".ljust(namelen, "y")
        os.close(os.open(os.path.join(d, name), os.O_CREAT | os.O_WRONLY, 0o644))
        if spacer_every and i % spacer_every == 0:
            os.posix_fallocate(sp, (i // spacer_every) * bs, bs)
    os.close(sp)


def read_geometry(img):
    """Block size, inode size and directory block size from the primary
    superblock: what the kernel will use once it mounts the image."""
    with open(img, "rb") as f:
        sb = f.read(256)
    if sb[0:4] != b"XFSB" or int.from_bytes(sb[100:102], "big") & 0xF != 5:
        raise SystemExit(f"{img}: not a version 5 XFS file system")
    bs = int.from_bytes(sb[4:8], "big")
    return {"bs": bs, "isize": int.from_bytes(sb[104:106], "big"), "dirblk": bs << sb[192]}


def dirent_size(namelen):
    """A v5 data entry: inode number, name length, name, file type, tag; 8-aligned."""
    return (8 + 1 + namelen + 1 + 2 + 7) // 8 * 8


def sf_max(geo, namelen):
    """Most entries a short-form directory can hold: the whole inode literal
    area (176-byte v5 core), 4-byte inode numbers. An attribute fork (an LSM
    label) only lowers this, so exceeding it always leaves short form."""
    return (geo["isize"] - 176 - 6) // (1 + 2 + namelen + 1 + 4)


def block_max(geo, namelen):
    """Most entries of one directory block: 64-byte v5 header, 8-byte tail,
    '.' and '..' (16 bytes each), and an 8-byte hash entry per name."""
    return (geo["dirblk"] - 64 - 8 - 2 * 16 - 2 * 8) // (dirent_size(namelen) + 8)


def leaf_max(geo, namelen):
    """Most entries of a leaf-form directory: one leaf block (64-byte header,
    4-byte tail, 2 bytes per data block, 8 per hash entry incl. '.' and '..')."""
    per_data = (geo["dirblk"] - 64) // dirent_size(namelen)
    n = block_max(geo, namelen)
    while True:
        ndata = (n + 1 + 2 + per_data - 1) // per_data
        if 64 + 4 + 2 * ndata + 8 * (n + 1 + 2) > geo["dirblk"]:
            return n
        n += 1


def dir_counts(geo, node_min):
    """Entry counts for /block, /leaf and /node, each in the middle of the
    range where the directory takes that form at this directory block size,
    so the image covers every form whatever the profile's geometry."""
    lo, hi = sf_max(geo, 10) + 1, block_max(geo, 10)
    lo2, hi2 = block_max(geo, 20) + 1, leaf_max(geo, 20)
    if lo > hi or lo2 > hi2:
        raise SystemExit(f"directory geometry {geo} leaves no room for block or leaf form")
    return (lo + hi) // 2, (lo2 + hi2) // 2, max(node_min, 2 * leaf_max(geo, 30))


def common(m, bs, geo):
    os.makedirs(f"{m}/sf")
    for i in range(3):
        open(f"{m}/sf/s{i}", "w").write("x" * (i + 1))
    nblock, nleaf, nnode = dir_counts(geo, 3000 if bs == 4096 else 1500)
    mkfiles(f"{m}/block", nblock, 10)
    mkfiles(f"{m}/leaf", nleaf, 20)
    mkfiles(f"{m}/node", nnode, 30)
    fragmented(f"{m}/frag", 2400, bs, write_every=5)
    with open(f"{m}/data", "wb") as f:
        f.write(os.urandom(1 << 20))
    os.link(f"{m}/data", f"{m}/data-link")
    with open(f"{m}/partial", "wb") as f:  # 64 KiB in the middle shared with /data
        f.write(os.urandom(256 << 10))
    run("xfs_io", "-c", f"reflink {m}/data 65536 65536 65536", f"{m}/partial")
    with open(f"{m}/sparse", "wb") as f:
        for off in (0, 1 << 20, 100 << 20):
            f.seek(off)
            f.write(b"S" * 4096)
        f.truncate(200 << 20)
    fd = os.open(f"{m}/unwritten", os.O_CREAT | os.O_RDWR, 0o644)
    os.posix_fallocate(fd, 0, 1 << 20)
    os.pwrite(fd, b"U" * 8192, 256 << 10)
    os.close(fd)
    open(f"{m}/empty", "w").close()
    os.symlink("data", f"{m}/sym-short")
    os.symlink("/" + "long-target/" * 30, f"{m}/sym-long")
    os.mknod(f"{m}/chr", 0o20644, os.makedev(1, 3))
    os.mknod(f"{m}/blk", 0o60644, os.makedev(7, 0))
    os.mkfifo(f"{m}/fifo")
    s = socket.socket(socket.AF_UNIX)
    s.bind(f"{m}/sock")
    s.close()
    p = m
    for i in range(20):
        p = f"{p}/d{i}"
    os.makedirs(p)
    open(f"{p}/deep", "w").write("deep")


def populate(name, m, geo):
    if name == "main":
        common(m, 4096, geo)
        fragmented(f"{m}/frag2", 12000, 4096, write_every=7)
        big_dir(f"{m}/big", 100000, 4096, 64)
        subprocess.run(["cp", "--reflink=always", f"{m}/data", f"{m}/reflinked"], check=True)
    elif name == "small":
        os.makedirs(f"{m}/sf")
        open(f"{m}/sf/a", "w").write("a")
        nblock, nleaf, _ = dir_counts(geo, 0)
        mkfiles(f"{m}/block", nblock, 10)
        mkfiles(f"{m}/leaf", nleaf, 20)
        fragmented(f"{m}/frag", 1200, 4096, write_every=9)
        with open(f"{m}/data", "wb") as f:
            f.write(os.urandom(256 << 10))
        os.symlink("data", f"{m}/sym")
        os.mkfifo(f"{m}/fifo")
    elif name == "b1k":
        common(m, 1024, geo)
        big_dir(f"{m}/bigish", 6000, 1024, 16)
    elif name == "d64k":
        common(m, 4096, geo)
        mkfiles(f"{m}/node64k", 12000, 24)
        big_dir(f"{m}/frag64k", 8000, 4096, 100, namelen=200)
    elif name == "spino":
        # Fragment all free space so whole inode chunks cannot be allocated:
        # new inodes then come in sparse chunks.
        run("xfs_io", "-x", "-c", "resblks 0", m)  # the reserve pool would stay contiguous
        fill = f"{m}/fill"
        fd = os.open(fill, os.O_CREAT | os.O_RDWR, 0o644)
        blocks = 0
        for step in (256, 16, 1):
            while True:
                try:
                    os.posix_fallocate(fd, blocks * 4096, step * 4096)
                except OSError:
                    break
                blocks += step
        # Free physical blocks 4..11 of every 16: 4-block aligned sparse chunks
        # fit there, whole 8-block aligned chunks do not.
        os.fsync(fd)
        bmap = subprocess.run(["xfs_bmap", fill], capture_output=True, text=True).stdout
        for a, b, p, _ in re.findall(r"\[(\d+)\.\.(\d+)\]: (\d+)\.\.(\d+)", bmap):
            lblk, pblk, n = int(a) // 8, int(p) // 8, (int(b) - int(a) + 1) // 8
            for i in range(n):
                if (pblk + i) % 16 == 4 and i + 8 <= n:
                    punch(fd, (lblk + i) * 4096, 8 * 4096)
        os.fsync(fd)
        os.close(fd)
        mkfiles(f"{m}/files", 300, 12)


def record(aisio, m, out, name):
    with open(f"{out}/{name}.find.tmp", "w") as f:
        run("find", m, "-printf", "/%P\\n", out=f)
    files = subprocess.run(["find", m, "-type", "f", "!", "-empty"], check=True,
                           capture_output=True, text=True).stdout.split("\n")
    with open(f"{out}/{name}.bmap.tmp", "w") as f:
        for p in sorted(x for x in files if x):
            f.write(f"FILE /{os.path.relpath(p, m)}\n")
            f.flush()
            run("xfs_io", "-r", "-c", "bmap -vp", p, out=f)
    with open(f"{out}/{name}.fiemap.tmp", "w") as f:
        run(aisio, "extents", "-r", m, out=f)


def dir_form(img, p, bs):
    """block, leaf or node: which blocks the directory's data fork maps."""
    r = subprocess.run(["xfs_db", "-r", "-c", f"path {p}", "-c", "bmap", img],
                       capture_output=True, text=True)
    offs = [int(x) for x in re.findall(r"data offset (\d+)", r.stdout)]
    if not offs:
        return "none"
    if any(o >= (1 << 36) // bs for o in offs):
        return "node"
    if any(o >= (1 << 35) // bs for o in offs):
        return "leaf"
    return "block"


def formats(img, paths):
    lines = []
    r = subprocess.run(["xfs_db", "-r", "-c", "sb 0", "-c", "print blocksize", img],
                       capture_output=True, text=True)
    bs = int(r.stdout.split("=")[1])
    for p in paths:
        r = subprocess.run(["xfs_db", "-r", "-c", f"path {p}", "-c", "print core.format",
                            "-c", "print u3.bmbt.level", img], capture_output=True, text=True)
        lines.append(f"{p} {' '.join(r.stdout.split())} dirform={dir_form(img, p, bs)}")
    r = subprocess.run(["xfs_db", "-r", "-c", "agi 0", "-c", "addr root", "-c", "print recs", img],
                       capture_output=True, text=True)
    sparse = sum(1 for x in re.findall(r"\[\d+,(0x[0-9a-f]+|\d+),", r.stdout) if int(x, 0))
    lines.append(f"sparse-chunks-ag0 {sparse}")
    r = subprocess.run(["xfs_db", "-r", "-c", "sb 0", "-c", "print dirblklog", img],
                       capture_output=True, text=True)
    lines.append(f"sb {r.stdout.strip()}")
    for ag in range(4):
        r = subprocess.run(["xfs_db", "-r", "-c", f"agi {ag}", "-c", "print level", img],
                           capture_output=True, text=True)
        if r.returncode == 0 and r.stdout.strip():
            lines.append(f"agi{ag} {r.stdout.strip()}")
    return "\n".join(lines) + "\n"


def main():
    aisio, out, name = sys.argv[1], sys.argv[2], sys.argv[3]
    if os.geteuid() != 0 or not shutil.which("mkfs.xfs") or not os.path.exists("/dev/loop-control"):
        print("skip: needs root, xfsprogs and loop devices")
        return 77
    if "xfs" not in open("/proc/filesystems").read():
        subprocess.run(["modprobe", "xfs"], capture_output=True)
        if "xfs" not in open("/proc/filesystems").read():
            print("skip: kernel without XFS")
            return 77
    os.makedirs(out, exist_ok=True)
    h = hashlib.sha256(open(__file__, "rb").read())
    h.update(subprocess.run(["mkfs.xfs", "-V"], capture_output=True, text=True).stdout.encode())
    stamp = h.hexdigest()
    lock = open(f"{out}/{name}.lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        if open(f"{out}/{name}.stamp").read() == stamp:
            return 0
    except FileNotFoundError:
        pass
    size, opts = PROFILES[name]
    img = f"{out}/{name}.img"
    for suffix in (".stamp", ".img", "-dirty.img"):
        if os.path.exists(f"{out}/{name}{suffix}"):
            os.unlink(f"{out}/{name}{suffix}")
    with open(img, "wb") as f:
        f.truncate(int(size[:-1]) << 20)
    run("mkfs.xfs", "-q", "-f", *opts, img, env=SMALL_ENV)
    if name == "b1k":
        patch_dirblklog(img, 0)
    # Read after the patch: entry counts follow the geometry the kernel mounts.
    geo = read_geometry(img)
    m = tempfile.mkdtemp(prefix=f"aisio-xfs-{name}-")
    run("mount", "-o", "loop", img, m)
    try:
        populate(name, m, geo)
        run("sync")
        record(os.path.abspath(aisio), m, out, name)
        if name == "small":
            run("cp", "--sparse=always", img, f"{out}/{name}-dirty.img")
    finally:
        subprocess.run(["umount", m], check=False)
        os.rmdir(m)
    for k in ("find", "bmap", "fiemap"):
        os.replace(f"{out}/{name}.{k}.tmp", f"{out}/{name}.{k}")
    with open(f"{out}/{name}.formats", "w") as f:
        f.write(formats(img, ["/sf", "/block", "/leaf", "/node", "/big", "/bigish", "/frag",
                              "/frag2", "/node64k", "/frag64k", "/files"]))
    open(f"{out}/{name}.stamp", "w").write(stamp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
