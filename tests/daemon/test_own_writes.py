"""The daemon's filter for its own local writes (``daemon/watching.MappingWatch``), driven by
the real executor against the real local backend, with a real watchdog observer and the
watch's injectable clock.

The guarantee: an event is ours only while the path is in the state we wrote. A user's
edit that lands right after our download is reported at once, while the cycle that
downloaded is still running, never held back as our own write.

The hold's deadline is tested on ``OwnWrites`` with its clock
(``tests/watch/test_own_write_expectations.py``): here no event but our own landing can
still match our write (a touch is an in-place event, a move away changes the path).

No fixed sleeps: waits poll with a deadline; "not reported" is checked with a sentinel file
written afterwards (inotify delivers events in order).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from containersync.api.client import ContainersClient
from containersync.api.pacing import Pacer
from containersync.api.wire import ContainerSpec
from containersync.daemon.watching import MappingWatch
from containersync.execute.executor import Executor, Target
from containersync.execute.outcome import Outcome
from containersync.execute.trash import Trash
from containersync.localapi.embedded import RunningServer
from containersync.model.entry import LocalFile, RemoteFile
from containersync.model.plan import Action, Download, TrashLocal
from containersync.scan.digest import sha256_file
from containersync.scan.ignore import IgnoreRules
from containersync.watch.dirty import DirtyPaths
from containersync.watch.own_writes import NEW_FOLDER
from support.executing import Collect
from support.interleave import Interleave

DEADLINE = 10.0


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _wait(cond: Callable[[], bool], what: str) -> None:
    end = time.monotonic() + DEADLINE
    while not cond():
        if time.monotonic() > end:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)


class World:
    def __init__(self, root: Path, tmp: Path, client: ContainersClient, cid: str) -> None:
        self.root, self.client, self.cid = root, client, cid
        self.clock = Clock()
        self.dirty = DirtyPaths(clock=self.clock)
        rules = IgnoreRules.load(root)
        self.watch = MappingWatch(root, lambda: rules, self.dirty, use_polling=False,
                                  polling_interval=1.0, clock=self.clock)
        self.executor = Executor(Target("m", root, cid, "/mnt/data", True), client,
                                 Trash(tmp / "trash", 1), now=lambda: datetime.now(UTC),
                                 pacer=Pacer(1, start=1), on_local_write=self.watch.on_local_write)
        self._sentinels = 0

    def run(self, *actions: Action) -> list[Outcome]:
        collect = Collect()
        self.executor.run(list(actions), step=collect)
        return collect.outcomes

    def remote(self, name: str, data: bytes) -> RemoteFile:
        src = self.root.parent / f"src-{name}"
        src.write_bytes(data)
        made = self.client.upload_file(self.cid, src, remote_path=f"/mnt/data/{name}")
        return RemoteFile(made.id, name, made.path, made.created_at, "assistant", len(data))

    def pending(self) -> list[str]:
        return self.dirty.pending()

    def settled(self) -> list[str]:
        """What is pending once every event so far has been seen (a sentinel file's)."""
        self._sentinels += 1
        name = f"zz-sentinel-{self._sentinels}"
        (self.root / name).write_text("s")
        _wait(lambda: name in self.pending(), name)
        return [p for p in self.pending() if not p.startswith("zz-sentinel")]


@pytest.fixture
def world(local_server: RunningServer, tmp_path: Path) -> Iterator[World]:
    root = tmp_path / "root"
    root.mkdir()
    with ContainersClient.connect(local_server.base_url, None, max_retries=0) as client:  # type: ignore[attr-defined]
        cid = client.create_container(ContainerSpec(name="own")).id
        w = World(root, tmp_path, client, cid)
        assert w.watch.start()
        try:
            yield w
        finally:
            w.watch.stop()


def _local(root: Path, rel: str) -> LocalFile:
    st = (root / rel).lstat()
    return LocalFile(rel, st.st_size, st.st_mtime_ns, sha256_file(root / rel))


def test_our_download_and_trash_are_not_reported(world: World) -> None:
    (world.root / "old.txt").write_text("old")
    assert world.settled() == ["old.txt"]  # the user's own create is reported
    world.dirty.flush()
    got = world.run(Download("new.txt", world.remote("new.txt", b"from the sandbox")),
                    TrashLocal("old.txt", _local(world.root, "old.txt")))
    assert sorted(o.kind for o in got) == ["downloaded", "trashed-local"]  # as they finished
    assert world.settled() == []


def test_a_user_edit_right_after_our_download_is_reported_while_the_cycle_runs(
        world: World) -> None:
    """The cycle that downloaded has not ended (nothing settles the writes); the edit is
    still reported at once: it changed what we wrote."""
    got = world.run(Download("report.csv", world.remote("report.csv", b"a,b\n1,2\n")))
    assert [o.kind for o in got] == ["downloaded"]
    with (world.root / "report.csv").open("ab") as f:
        f.write(b"3,4\n")
    _wait(lambda: "report.csv" in world.pending(), "the user's edit")


def test_a_user_file_made_where_we_trashed_one_is_reported(world: World) -> None:
    (world.root / "gone.txt").write_text("tracked")
    world.settled()
    world.dirty.flush()
    world.run(TrashLocal("gone.txt", _local(world.root, "gone.txt")))
    assert world.settled() == []
    (world.root / "gone.txt").write_text("the user's new file")
    _wait(lambda: "gone.txt" in world.pending(), "the user's new file")


def test_an_in_place_write_that_keeps_the_stat_of_our_download_is_reported(
        world: World) -> None:
    """Our writes land by rename, never by writing the file in place: an in-place write is
    the user's even when it leaves inode, size and mtime as we wrote them (a write of the
    same size within the same timestamp tick; made here by putting the mtime back)."""
    if world.watch.mode != "inotify":  # polling compares stat results: it cannot see it
        pytest.skip(f"needs inotify; the watcher is {world.watch.mode} "
                    f"({world.watch.degraded})")
    world.run(Download("tick.txt", world.remote("tick.txt", b"ours")))
    path = world.root / "tick.txt"
    st = path.stat()
    with path.open("r+b") as f:
        f.write(b"mine")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    after = path.stat()
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (
        st.st_ino, st.st_size, st.st_mtime_ns)
    _wait(lambda: "tick.txt" in world.pending(), "the same-stat in-place edit")


def test_a_download_into_a_new_folder_leaves_nothing_pending(world: World) -> None:
    """The folders the executor makes for a download are its own writes: their creation
    events cost no rescan. A file the user then makes in such a folder is still reported."""
    got = world.run(Download("made/by/us.txt", world.remote("made-by-us.txt", b"ours")))
    assert [o.kind for o in got] == ["downloaded"]
    assert world.settled() == []
    (world.root / "made" / "by" / "mine.txt").write_text("the user's")
    _wait(lambda: "made/by/mine.txt" in world.pending(), "the user's file in our folder")
    (world.root / "made" / "theirs").mkdir()
    _wait(lambda: "made/theirs" in world.pending(), "the user's folder beside ours")


def test_a_folder_the_user_moves_in_where_we_make_one_is_reported(
        world: World, tmp_path: Path) -> None:
    """A folder we are about to make is ours until its ``mkdir`` answers (``NEW_FOLDER``),
    so the event of a folder the user moves in there first is dropped; the files in the
    moved tree are still reported (watchdog reports a moved-in tree's contents as created),
    so nothing in it waits for a full rescan. ``support.interleave`` puts the move at each
    audited moment after the declaration, and the watcher sees it before the mkdir runs."""
    declare = world.executor.on_local_write
    for k in range(1, 20):
        name = f"moved{k}"
        tree = tmp_path / f"tree{k}"
        (tree / "deep").mkdir(parents=True)
        (tree / "deep" / "theirs.txt").write_text("the user's")
        interleave = Interleave()

        def move_in(name: str = name, tree: Path = tree) -> bool:
            if (world.root / name).exists():
                return False  # ours is made: too late to race it
            tree.rename(world.root / name)
            world.settled()  # the watcher has seen the move (and the sentinel after it)
            return True

        def on_local_write(rel: str, expected: object, k: int = k, name: str = name,
                           interleave: Interleave = interleave,
                           move_in: Callable[[], bool] = move_in) -> None:
            declare(rel, expected)  # type: ignore[arg-type]
            if rel == name and expected is NEW_FOLDER:
                interleave.arm(k, move_in)

        world.executor.on_local_write = on_local_write
        world.dirty.flush()
        try:
            world.run(Download(f"{name}/ours.txt", world.remote(f"{name}.txt", b"ours")))
        finally:
            interleave.disarm()
        if not interleave.fired:
            assert k > 1
            return
        assert (world.root / name / "deep" / "theirs.txt").exists()
        assert any(p == name or p.startswith(name + "/") for p in world.settled()), (
            f"the folder moved in before audited operation {k} was taken for ours")
    raise AssertionError("the move still raced after 20 operations")
