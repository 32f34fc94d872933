# SPDX-License-Identifier: MIT
"""Shared by the aisio Python tests: the dataset pattern written out in pure
Python from its definition (include/aisio/pattern.h), and CI rules."""
import os
import unittest

M64 = (1 << 64) - 1


def ref_seed(name: bytes) -> int:
    h = 0xCBF29CE484222325
    for c in name:
        h ^= c
        h = (h * 0x100000001B3) & M64
    return h


def ref_word(seed: int, k: int) -> int:
    z = ((seed ^ k) + 0x9E3779B97F4A7C15) & M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def ref_bytes(name: str, off: int, n: int) -> bytes:
    seed = ref_seed(name.encode())
    out = bytearray()
    for o in range(off, off + n):
        out.append((ref_word(seed, o >> 3) >> ((o & 7) * 8)) & 0xFF)
    return bytes(out)


def need(module):
    """Import a module the test needs: a skip normally, a failure under CI=true."""
    try:
        return __import__(module)
    except ImportError as e:
        if os.environ.get("CI") == "true":
            raise AssertionError(f"{module} is required under CI=true: {e}") from e
        raise unittest.SkipTest(f"{module} is not installed: {e}")
