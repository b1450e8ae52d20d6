"""What the daemon gives back after a cycle (``daemon.memory``, issue 9).

Counted, not timed: SQLite's own count of the heap memory it holds in this process
(``sqlite3_memory_used``, read through the library ``_sqlite3`` is linked with). Nothing
else in this test touches SQLite while it counts.
"""

from __future__ import annotations

import _sqlite3
import ctypes
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from containersync.daemon import memory
from containersync.index.store import Index
from containersync.model.entry import BaseEntry

FILES = 5000
NAME = "m"


def _sqlite_memory() -> Callable[[], int]:
    try:
        used = ctypes.CDLL(_sqlite3.__file__).sqlite3_memory_used
    except (OSError, AttributeError):
        pytest.skip("SQLite's memory count is not reachable from this build")
    used.restype = ctypes.c_int64
    return lambda: int(used())


def test_release_drops_the_page_cache_a_whole_table_read_filled(tmp_path: Path) -> None:
    """A full cycle reads every base: the runner's connection then holds those pages (up
    to ``cache_size``, 2 MiB by default, on each runner's connection) until its next read;
    ``release`` gives them back."""
    sqlite_used = _sqlite_memory()
    path = tmp_path / "index.sqlite3"
    with Index.open(path) as index, index.write() as tx:
        tx.ensure_mapping(NAME)
        tx.put_bases(NAME, [BaseEntry(f"d{i // 100:03d}/f{i:05d}.txt", 1, 2, "ab" * 32,
                                      f"cfile_{i:048d}", f"/mnt/data/d/f{i:05d}.txt")
                            for i in range(FILES)])
    with Index.open(path) as index:
        opened = sqlite_used()
        assert len(index.bases(NAME)) == FILES
        filled = sqlite_used()
        memory.release(index)
        released = sqlite_used()
        assert len(index.bases(NAME)) == FILES  # the index reads on as before
    assert filled - opened > 512 * 1024, filled - opened  # the read did fill the cache
    assert released - opened < 64 * 1024, released - opened


#: what the child does after (or without) ``map_large_blocks``: free one large block, then
#: take and free a smaller one after which a small heap block is left in place (as a full
#: cycle drops one table of the tree, then makes the next ones among small objects), and
#: print how many KiB the second block left resident once freed
_CHILD = """
import sys
from containersync.daemon import memory
if sys.argv[1] == "fixed":
    assert memory.map_large_blocks()
def rss():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))
first = bytearray(16 << 20)
del first
before = rss()
table = bytearray(8 << 20)
pin = bytearray(4096)
del table
print(rss() - before)
"""


@pytest.mark.skipif(memory._TRIM is None, reason="glibc's malloc only")
def test_a_large_block_freed_after_a_larger_one_goes_back_at_once() -> None:
    """glibc raises its mmap threshold to the size of each large block freed, so later
    blocks of the tree's size come from the heap and stay resident once freed (until a
    trim, after the cycle): the first cycle's peak held them. With the threshold fixed
    each one is unmapped when freed. Counted in a child process: VmRSS after the free,
    beside VmRSS before the block was taken (8 MiB; glibc's threshold rises up to
    32 MiB)."""
    def left(mode: str) -> int:
        out = subprocess.run([sys.executable, "-c", _CHILD, mode], capture_output=True,
                             text=True, check=True)
        return int(out.stdout)

    assert left("default") > 4 * 1024  # the mechanism this fixes, as glibc has it
    assert left("fixed") < 1024
