#!/usr/bin/env python3
"""The decoder against the kernel and xfsprogs on one test image.

  xfs_compare.py AISIO IMGDIR NAME

Builds (or reuses) the image NAME with mkimage.py, then checks:
  - 'aisio xfs find IMAGE' prints exactly the paths find(1) printed while mounted;
  - for every entry, type and size equal what the kernel reported (FIEMAP walk);
  - for every regular file, the decoder's extents equal FIEMAP's and xfs_bmap -vp's
    (offset, length, physical address, unwritten, shared), adjacent pieces merged alike;
  - the image reached the on-disk formats it was built for (xfs_db);
  - metadata reads were kept in flight at queue depth > 1.
Exit 0 pass, 1 fail, 77 skip.
"""
import os
import re
import subprocess
import sys

UNWRITTEN = 0x800
SHARED = 0x2000

# What each profile must contain on disk (xfs_db): path -> (inode fork format, bmbt root
# level or None[, directory form: block, leaf or node]). mkimage.py sizes /block, /leaf
# and /node from each image's directory block size, so every profile has all three.
EXPECT = {
    "main": {"/sf": ("local", None), "/block": ("extents", None, "block"),
             "/leaf": ("extents", None, "leaf"), "/node": ("btree", 1, "node"),
             "/big": ("btree", 1, "node"), "/frag2": ("btree", 2), "agi0": 2},
    "b1k": {"sb": "dirblklog = 0", "/sf": ("local", None), "/block": ("extents", None, "block"),
            "/leaf": (None, None, "leaf"), "/node": (None, None, "node"),
            "/bigish": ("btree", 1, "node"), "/frag": ("btree", 2)},
    "d64k": {"sb": "dirblklog = 4", "/sf": ("local", None), "/block": (None, None, "block"),
             "/leaf": (None, None, "leaf"), "/node": (None, None, "node"),
             "/node64k": (None, None, "node"), "/frag64k": ("btree", 1)},
    "spino": {"sparse-chunks-ag0": 1},
}

fails = 0


def fail(msg):
    global fails
    fails += 1
    if fails <= 20:
        print("FAIL:", msg)


def merge(exts):
    """Sort and merge logically and physically contiguous extents of equal flags."""
    out = []
    for off, ln, phys, fl in sorted(exts):
        if out and out[-1][0] + out[-1][1] == off and out[-1][2] + out[-1][1] == phys \
                and out[-1][3] == fl:
            out[-1] = (out[-1][0], out[-1][1] + ln, out[-1][2], fl)
        else:
            out.append((off, ln, phys, fl))
    return out


def parse_raw(text, mask):
    m = {}
    for line in text.splitlines():
        path, t, size, ext = line.split("\t")
        exts = []
        for e in filter(None, ext.split(";")):
            off, ln, phys, fl = e.split(",")
            exts.append((int(off), int(ln), int(phys), int(fl, 16) & mask))
        m[path] = (t, int(size), merge(exts))
    return m


def parse_bmap(text):
    files, cur = {}, None
    pat = re.compile(r"^\s*\d+: \[(\d+)\.\.(\d+)\]:\s+(\d+)\.\.(\d+)\s+\d+\s+\(\d+\.\.\d+\)\s+(\d+)(?:\s+(\d+))?")
    for line in text.splitlines():
        if line.startswith("FILE "):
            cur = line[5:]
            files[cur] = []
            continue
        mt = pat.match(line)
        if mt and cur is not None:
            a, b, p, _, _, flags = mt.groups()
            fl = UNWRITTEN if flags and int(flags, 8) & 0o10000 else 0
            fl |= SHARED if flags and int(flags, 8) & 0o100000 else 0
            files[cur].append((int(a) * 512, (int(b) - int(a) + 1) * 512, int(p) * 512, fl))
    return {k: merge(v) for k, v in files.items()}


def main():
    aisio, imgdir, name = sys.argv[1:4]
    here = os.path.dirname(os.path.abspath(__file__))
    r = subprocess.run([sys.executable, f"{here}/mkimage.py", aisio, imgdir, name])
    if r.returncode == 77:
        return 77
    if r.returncode != 0:
        print("FAIL: could not build the test image")
        return 1
    img = f"{imgdir}/{name}.img"

    r = subprocess.run([aisio, "xfs", "find", img], capture_output=True, text=True)
    if r.returncode != 0:
        print("FAIL: aisio xfs find:", r.stderr.strip())
        return 1
    mine = sorted(r.stdout.splitlines())
    theirs = sorted(open(f"{imgdir}/{name}.find").read().splitlines())
    if mine != theirs:
        fail(f"tree differs from find: {len(mine)} vs {len(theirs)} paths; "
             f"only decoder: {sorted(set(mine) - set(theirs))[:5]}, "
             f"only find: {sorted(set(theirs) - set(mine))[:5]}")
    print(f"tree: {len(mine)} paths, same as find: {mine == theirs}")

    r = subprocess.run([aisio, "xfs", "bmap", "-r", "-s", img], capture_output=True, text=True)
    if r.returncode != 0:
        print("FAIL: aisio xfs bmap -r:", r.stderr.strip())
        return 1
    print(r.stderr.strip())
    mt = re.search(r"max (\d+) in flight", r.stderr)
    if not mt or int(mt.group(1)) < 2:
        fail(f"metadata reads were not kept in flight (queue depth > 1): {r.stderr.strip()}")
    dec = parse_raw(r.stdout, UNWRITTEN | SHARED)
    fie = parse_raw(open(f"{imgdir}/{name}.fiemap").read(), UNWRITTEN | SHARED)
    bmp = parse_bmap(open(f"{imgdir}/{name}.bmap").read())

    nfiles = nexts = 0
    for path, (t, size, exts) in fie.items():
        if path not in dec:
            fail(f"{path}: missing from the decoder's index")
            continue
        dt, dsize, dexts = dec[path]
        if dt != t or (t in "-l" and dsize != size):
            fail(f"{path}: decoder says type {dt} size {dsize}, kernel {t} {size}")
        if t != "-":
            continue
        nfiles += 1
        nexts += len(dexts)
        if dexts != exts:
            fail(f"{path}: extents differ from FIEMAP:\n  decoder {dexts[:4]}\n  fiemap  {exts[:4]}")
    for path, exts in bmp.items():
        if path not in dec:
            fail(f"{path}: in xfs_bmap, not in the decoder's index")
        elif dec[path][2] != exts:
            fail(f"{path}: extents differ from xfs_bmap:\n  decoder {dec[path][2][:4]}\n  xfs_bmap {exts[:4]}")
    print(f"extents: {nfiles} regular files ({nexts} merged extents) compared with FIEMAP, "
          f"{len(bmp)} with xfs_bmap")

    fmts = open(f"{imgdir}/{name}.formats").read()
    for key, want in EXPECT[name].items():
        line = next((x for x in fmts.splitlines() if x.split(" ")[0] == key), "")
        if key == "sb":
            if want not in line:
                fail(f"image: superblock should have {want}: {line}")
            continue
        if key.startswith("sparse-chunks"):
            mt = re.search(r" (\d+)$", line)
            if not mt or int(mt.group(1)) < want:
                fail(f"image: expected >= {want} sparse inode chunks: {line}")
            continue
        if key.startswith("agi"):
            mt = re.search(r"level = (\d+)", line)
            if not mt or int(mt.group(1)) < want:
                fail(f"image: inode B+tree of {key} should have >= {want} levels: {line}")
            continue
        fmt, lvl = want[:2]
        if len(want) > 2 and f"dirform={want[2]}" not in line:
            fail(f"image: directory {key} should be in {want[2]} form: {line}")
        if fmt and f"({fmt})" not in line:
            fail(f"image: {key} should be in {fmt} format: {line}")
        if lvl:
            mt = re.search(r"bmbt.level = (\d+)", line)
            if not mt or int(mt.group(1)) < lvl:
                fail(f"image: {key} block map B+tree root should be level >= {lvl}: {line}")
    if fails:
        print(f"{fails} failures")
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
