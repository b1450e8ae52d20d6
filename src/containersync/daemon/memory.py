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
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from collections.abc import Callable

from containersync.index.store import Index


def _malloc_trim() -> Callable[[], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim  # glibc only (musl has none)
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return lambda: int(trim(0))


_TRIM = _malloc_trim()


def release(index: Index) -> bool:
    """Drop ``index``'s page cache and return glibc's free memory to the OS; True when
    glibc said it returned some."""
    index.shrink_memory()
    return bool(_TRIM()) if _TRIM is not None else False
