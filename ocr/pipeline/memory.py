"""Keeping a long run's resident memory flat.

Every page allocates and frees large buffers of a different size (detector inputs and feature
maps, crops, recognition batches). glibc's malloc keeps freed memory inside its heaps for reuse,
and raises its mmap threshold to the largest block freed (up to 32 MB), so the buffers of later
pages come from those heaps too and the freed holes between live blocks are never given back:
resident memory climbs page after page although nothing is kept (``tools/bench_memory.py``).
``release_memory`` hands the free pages of every heap back to the system (``malloc_trim``) once a
chunk of pages is done; elsewhere than glibc it does nothing.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import sys

_TRIM = None  # malloc_trim, looked up once; False where there is none


def _malloc_trim():
    global _TRIM
    if _TRIM is None:
        _TRIM = False
        if sys.platform.startswith("linux"):
            try:
                libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
                _TRIM = libc.malloc_trim
                _TRIM.argtypes, _TRIM.restype = [ctypes.c_size_t], ctypes.c_int
            except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
                _TRIM = False
    return _TRIM


def release_memory() -> bool:
    """Give the free memory of malloc's heaps back to the system; True when it could be asked."""
    trim = _malloc_trim()
    if not trim:
        return False
    trim(0)
    return True
