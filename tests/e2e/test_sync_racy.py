"""Racily clean files: a write that leaves a file's size and mtime as they were.

A file's mtime only moves in ticks of the filesystem's timestamp clock (one kernel tick on
ext4, two seconds on FAT). A second write of the same size within the same tick as the
write a sync just recorded leaves size and mtime unchanged, so a scan that trusts an
unchanged stat would never read the file again: the edit would stay local forever (git
calls such index entries "racily clean"). The rule: a base whose stat was taken within
``RACY_NS`` of the file's mtime does not keep that mtime, so the next scan reads the file;
a file older than that is trusted (and not re-read).

A write inside one timestamp tick cannot be produced on purpose, so these tests make the
state it leaves: they rewrite the file in place (same inode, same size) and put its mtime
back with ``os.utime``, which is exactly what the disk holds after such a write.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from containersync.model.entry import RACY_NS
from support.scenario import World, counts


def rewrite_keeping_stat(path: Path, content: str) -> None:
    """Write ``content`` (same length) over ``path`` in place, mtime unchanged."""
    before = path.stat()
    data = content.encode()
    assert len(data) == before.st_size
    with path.open("r+b") as f:
        f.write(data)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (
        before.st_ino, before.st_size, before.st_mtime_ns)


def test_an_edit_in_the_tick_of_our_download_is_uploaded(world: World) -> None:
    world.adopt()
    world.assistant("printf v1-from-the-sandbox > a.txt")
    first = world.sync()
    assert (first.code, first.counts) == (0, counts(downloaded=1)), first.err

    rewrite_keeping_stat(world.root / "a.txt", "v2-from-the-user!!!")

    second = world.sync()
    assert (second.code, second.counts) == (0, counts(uploaded=1)), second.err
    assert world.local() == world.remote() == {"a.txt": "v2-from-the-user!!!"}


def test_an_edit_in_the_tick_of_our_upload_is_uploaded(world: World) -> None:
    world.write({"b.txt": "first"})
    first = world.sync()
    assert (first.code, first.counts) == (0, counts(uploaded=1)), first.err

    rewrite_keeping_stat(world.root / "b.txt", "again")

    second = world.sync()
    assert (second.code, second.counts) == (0, counts(uploaded=1)), second.err
    assert world.remote() == {"b.txt": "again"}


def test_a_racy_file_is_read_once_more_then_trusted(world: World) -> None:
    """The cost of the rule: a file written just before a sync is read by the next one
    (which finds it unchanged and records a stat it can trust), and by no later one."""
    world.write({"c.txt": "c", "old.txt": "o"})
    hour_ago = time.time_ns() - 3600 * 10**9
    os.utime(world.root / "old.txt", ns=(hour_ago, hour_ago))
    assert world.sync().counts == counts(uploaded=2)

    second = world.sync()
    assert (second.code, second.counts) == (0, counts())
    assert second.m["files_hashed"] == 1  # c.txt, written within the window; old.txt not

    # once the window has passed since c.txt's mtime, its stat can be trusted: the clock
    # that matters is the kernel's, so this waits for it (under RACY_NS seconds)
    written = (world.root / "c.txt").stat().st_mtime_ns
    while time.time_ns() < written + RACY_NS:
        time.sleep(0.05)
    assert world.sync().m["files_hashed"] == 1  # read once more, now recorded as trusted
    third = world.sync()
    assert (third.code, third.counts, third.m["files_hashed"]) == (0, counts(), 0)
