"""Giving memory back once a cycle that held the whole tree is over (issue 9).

A full cycle holds the mapping's whole base, scan and view for a moment; once it returns,
nothing per file stays (``tests/engine/test_full_cycle_cost.py``), but the memory those
objects used stays with the process: SQLite keeps the pages it read in the connection's
cache, and glibc's malloc keeps freed chunks for later allocations instead of returning
them to the OS. The daemon then sits at its peak between full cycles. ``release`` drops
the runner connection's page cache and asks glibc to return its free pages
(``malloc_trim(0)``, which also releases free pages in the middle of the heap); where
there is no glibc it does nothing. Python's own small-object arenas are not touched here:
CPython returns an arena to the OS as soon as it is empty.

``map_large_blocks`` is for the peak itself: glibc serves a block of 128 KiB or more with
its own ``mmap`` and gives it back on ``free``, but it raises that threshold to the size of
each such block freed (up to 32 MiB), so once a full cycle dropped one table of the tree
(a dict or set of 100,000 paths, a few MiB) the next ones came from the heap, where a freed
one stays until ``malloc_trim`` and its neighbours keep it from being reused whole: the
daemon's VmHWM over its first cycle at 100,000 files was ~7 MiB above what the same cycle
reaches with the threshold fixed. Fixing it (``mallopt(M_MMAP_THRESHOLD, 128 KiB)``) keeps
glibc's default size and only turns off the raising.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from collections.abc import Callable
from typing import Any

from containersync.index.store import Index


def _glibc(name: str) -> Any | None:
    """glibc's function ``name``, or None where there is no glibc (musl has neither
    ``malloc_trim`` nor a working ``mallopt``; other systems no libc.so.6)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return getattr(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6"), name)
    except (OSError, AttributeError):
        return None


def _malloc_trim() -> Callable[[], int] | None:
    trim = _glibc("malloc_trim")
    if trim is None:
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return lambda: int(trim(0))


_TRIM = _malloc_trim()

#: glibc's ``mallopt`` parameter for the size from which a block gets its own mapping
_M_MMAP_THRESHOLD = -3
#: glibc's default threshold (``DEFAULT_MMAP_THRESHOLD_MIN``)
MMAP_THRESHOLD = 128 * 1024


def map_large_blocks() -> bool:
    """Fix glibc's mmap threshold at its default (see the module doc); True when glibc
    took it, False where there is no glibc."""
    mallopt = _glibc("mallopt")
    if mallopt is None:
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))


def release(index: Index) -> bool:
    """Drop ``index``'s page cache and return glibc's free memory to the OS; True when
    glibc said it returned some."""
    index.shrink_memory()
    return bool(_TRIM()) if _TRIM is not None else False
