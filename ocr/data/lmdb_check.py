"""Structural check of an LMDB file before it is memory-mapped for reading.

LMDB trusts its file: a damaged node (a value length, a page number, a node offset) makes it read
past the end of the mapping, and the process dies of a bus error. ``check_store`` walks the main
B-tree with ordinary file reads (never the mapping) and verifies that every node, key and value,
inline or on overflow pages, lies inside the file, so that a store that passes cannot make LMDB
read outside it. Only the tree pages are read (a few bytes per sample), not the values.
"""
from __future__ import annotations

import os
import struct
from pathlib import Path

MAGIC = 0xBEEFC0DE
HEADER = 16  # page header: pgno u64, pad u16, flags u16, lower u16, upper u16 (overflow: pages u32)
P_BRANCH, P_LEAF, P_OVERFLOW = 0x01, 0x02, 0x04
F_BIGDATA, F_SUBDATA, F_DUPDATA = 0x01, 0x02, 0x04
P_INVALID = (1 << 64) - 1


class StoreDamage(ValueError):
    """What is wrong with the file (the caller names the store)."""


def check_store(path: str | os.PathLike) -> None:
    """Raise StoreDamage when ``path/data.mdb`` could make LMDB read outside the file."""
    data = Path(path) / "data.mdb"
    size = data.stat().st_size
    fd = os.open(data, os.O_RDONLY)
    try:
        psize, root, last = _meta(fd, size)
        if (last + 1) * psize > size:
            raise StoreDamage(f"cut short ({size} bytes, its header needs {(last + 1) * psize})")
        if root != P_INVALID:
            _walk(fd, psize, root, last)
    finally:
        os.close(fd)


def _meta(fd: int, size: int) -> tuple[int, int, int]:
    """(page size, main tree root, last page) of the newer of the two meta pages."""
    first = os.pread(fd, 160, 0)
    if len(first) < 160:
        raise StoreDamage("too short to be an LMDB")
    psize = struct.unpack_from("<I", first, 40)[0]  # the free tree's pad field holds the page size
    if psize not in (512, 1024, 2048, 4096, 8192, 16384, 32768, 65536):
        raise StoreDamage(f"page size {psize} is not a power of two LMDB writes")
    metas = [first, os.pread(fd, 160, psize)]
    best = None
    for m in metas:
        if len(m) < 160 or struct.unpack_from("<I", m, 16)[0] != MAGIC:
            continue
        root, last, txnid = struct.unpack_from("<QQQ", m, 128)
        if best is None or txnid > best[2]:
            best = (root, last, txnid)
    if best is None:
        raise StoreDamage("no valid meta page")
    return psize, best[0], best[1]


def _walk(fd: int, psize: int, root: int, last: int) -> None:
    seen: set[int] = set()
    stack = [(root, 0)]
    while stack:
        pgno, depth = stack.pop()
        if not 2 <= pgno <= last:
            raise StoreDamage(f"page number {pgno} outside the file's pages 2..{last}")
        if pgno in seen or depth > 64:
            raise StoreDamage(f"page {pgno} reached twice (a loop in the tree)")
        seen.add(pgno)
        page = os.pread(fd, psize, pgno * psize)
        if len(page) < psize:
            raise StoreDamage(f"page {pgno} is cut short")
        flags, lower, upper = struct.unpack_from("<HHH", page, 10)
        if not HEADER <= lower <= upper <= psize or (lower - HEADER) % 2:
            raise StoreDamage(f"page {pgno} has a broken header")
        n = (lower - HEADER) // 2
        ptrs = struct.unpack_from(f"<{n}H", page, HEADER)
        if flags & ~0x10 == P_BRANCH:
            for ptr in ptrs:
                lo, hi, fl, ksize = _node(page, ptr, psize, pgno)
                stack.append((lo | hi << 16 | fl << 32, depth + 1))
        elif flags & ~0x10 == P_LEAF:
            for ptr in ptrs:
                _check_leaf_node(page, ptr, psize, pgno, last)
        else:
            raise StoreDamage(f"page {pgno} is not a tree page (flags {flags:#x})")


def _node(page: bytes, ptr: int, psize: int, pgno: int) -> tuple[int, int, int, int]:
    if not HEADER <= ptr <= psize - 8:
        raise StoreDamage(f"page {pgno} points to a node outside it")
    lo, hi, fl, ksize = struct.unpack_from("<HHHH", page, ptr)
    if ptr + 8 + ksize > psize:
        raise StoreDamage(f"page {pgno} has a key running past its end")
    return lo, hi, fl, ksize


def _check_leaf_node(page: bytes, ptr: int, psize: int, pgno: int, last: int) -> None:
    lo, hi, fl, ksize = _node(page, ptr, psize, pgno)
    dsize = lo | hi << 16
    start = ptr + 8 + ksize
    if fl & (F_SUBDATA | F_DUPDATA):
        raise StoreDamage(f"page {pgno} holds sub-databases or duplicates (not a store layout)")
    if fl & F_BIGDATA:
        if start + 8 > psize:
            raise StoreDamage(f"page {pgno} has an overflow reference running past its end")
        (ov,) = struct.unpack_from("<Q", page, start)
        pages = (HEADER + dsize + psize - 1) // psize
        if not 2 <= ov or ov + pages - 1 > last:
            raise StoreDamage(f"a value of {dsize} bytes on page {ov} runs past the file's last page {last}")
    elif start + dsize > psize:
        raise StoreDamage(f"page {pgno} has a value running past its end")
