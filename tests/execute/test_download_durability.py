"""A download is recorded only once it is durable, and the folder fsyncs that make it so
are paid once per folder per batch of finished downloads, not once per file.

Real executor, real local backend over HTTP, real files. ``os.fsync``, the landing rename
(``execute.noreplace``) and ``os.mkdir`` are wrapped (passed through, and logged) to see
the order of what the kernel was asked: every file's rename, and every folder made for it, is followed by an fsync of
the folder holding that entry before the ``done`` that records the file.
"""

from __future__ import annotations

import os
import stat
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from containersync.api.pacing import Pacer
from containersync.execute import noreplace
from containersync.execute.executor import Finished
from containersync.model.entry import RemoteFile
from containersync.model.plan import Download
from support.executing import Collect, Sandbox, executor, put_remote

DEADLINE = 30.0


class Log:
    """What was asked of the kernel, in order: ("replace", folder inode, name),
    ("mkdir", parent inode, name), ("dirsync", inode), ("done", paths)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.events: list[tuple[Any, ...]] = []
        self._lock = threading.Lock()
        real_fsync, real_replace, real_mkdir = os.fsync, noreplace.rename_noreplace, os.mkdir

        def fsync(fd: int) -> None:
            real_fsync(fd)
            st = os.fstat(fd)
            if stat.S_ISDIR(st.st_mode):
                self.add("dirsync", st.st_ino)

        def replace(src: Any, dst: Any, *, src_dir_fd: int | None = None,
                    dst_dir_fd: int | None = None) -> None:
            real_replace(src, dst, src_dir_fd=src_dir_fd, dst_dir_fd=dst_dir_fd)
            if dst_dir_fd is not None:
                self.add("replace", os.fstat(dst_dir_fd).st_ino, dst)

        def mkdir(path: Any, mode: int = 0o777, *, dir_fd: int | None = None) -> None:
            real_mkdir(path, mode, dir_fd=dir_fd)
            if dir_fd is not None:
                self.add("mkdir", os.fstat(dir_fd).st_ino, path)

        monkeypatch.setattr(os, "fsync", fsync)
        monkeypatch.setattr(noreplace, "rename_noreplace", replace)
        monkeypatch.setattr(os, "mkdir", mkdir)

    def add(self, *event: Any) -> None:
        with self._lock:
            self.events.append(event)

    def count(self, kind: str) -> int:
        with self._lock:
            return sum(1 for e in self.events if e[0] == kind)


def _remote(box: Sandbox, tmp: Path, rel: str) -> RemoteFile:
    return put_remote(box, tmp, rel, rel.encode())


def test_downloads_are_durable_before_done_with_one_folder_sync_per_batch(
        box: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = box.root
    rels = [f"new/f{i}.txt" for i in range(12)] + ["deep/er/g.txt", "top.txt"]
    remotes = [_remote(box, tmp_path, rel) for rel in rels]
    run = executor(box, tmp_path, pacer=Pacer(8, start=8))
    log = Log(monkeypatch)
    batches: list[list[str]] = []

    def done(finished: Sequence[Finished]) -> None:
        paths = [o.action.path for o, _ in finished]
        assert all(o.ok for o, _ in finished), [o.problem for o, _ in finished]
        log.add("done", paths)
        batches.append(paths)
        if len(batches) == 1:  # let the rest finish meanwhile: the next batch holds many
            end = time.monotonic() + DEADLINE
            while log.count("replace") < len(rels) and time.monotonic() < end:
                time.sleep(0.005)

    run.run([Download(r.path, r) for r in remotes], step=Collect(done))
    monkeypatch.undo()

    inode = {rel: (root / rel).lstat().st_ino for rel in ("", "new", "deep", "deep/er")}
    folder_of = {ino: rel for rel, ino in inode.items()}
    assert sorted(p for b in batches for p in b) == sorted(rels)
    for rel in rels:
        assert (root / rel).read_bytes() == rel.encode()

    # every entry a download made (its file, each folder made for it) was synced in its
    # folder after it was made and before the done that recorded the download
    events = log.events
    done_at = {p: i for i, e in enumerate(events) if e[0] == "done" for p in e[1]}
    for rel in rels:
        folder, _, name = rel.rpartition("/")
        needs = [(folder, next(i for i, e in enumerate(events)
                               if e[:3] == ("replace", inode[folder], name)))]
        parts = folder.split("/") if folder else []
        for depth in range(len(parts)):
            parent, made = "/".join(parts[:depth]), parts[depth]
            at = [i for i, e in enumerate(events) if e[:3] == ("mkdir", inode[parent], made)]
            needs += [(parent, at[0])] if at else []
        for where, after in needs:
            assert any(e == ("dirsync", inode[where]) for e in events[after:done_at[rel]]), (
                f"{rel}: folder {where!r} not synced between its change and the record")

    # once per folder per batch, never once per file
    syncs = [folder_of[e[1]] for e in events if e[0] == "dirsync" and e[1] in folder_of]
    assert syncs.count("new") < 12 / 2
    for i, e in enumerate(events):
        if e[0] == "done":
            start = max((j for j, f in enumerate(events[:i]) if f[0] == "done"), default=-1)
            between = [folder_of.get(f[1]) for f in events[start + 1:i] if f[0] == "dirsync"]
            assert len(between) == len(set(between)), f"a folder synced twice in one batch: {between}"


def test_one_write_alone_is_durable_on_return(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a caller that syncs folders, ``write_atomically`` syncs the target's folder
    and the parent of every folder it made before it returns."""
    from containersync.execute import localfs

    root = tmp_path / "root"
    root.mkdir()
    log = Log(monkeypatch)
    localfs.write_atomically(root, "a/b/c.txt", lambda f: f.write(b"x"))
    monkeypatch.undo()
    synced = {e[1] for e in log.events if e[0] == "dirsync"}
    assert {(root / p).lstat().st_ino for p in ("", "a", "a/b")} <= synced




def test_a_download_whose_folder_cannot_be_synced_is_not_recorded(
        box: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The folder sync is what makes the rename durable: when it fails (EIO from the disk,
    injected at ``os.fsync``), the download is a problem, never a base."""
    import errno

    remotes = [_remote(box, tmp_path, rel) for rel in ("x/a.txt", "x/b.txt")]
    run = executor(box, tmp_path, pacer=Pacer(2, start=2))
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(errno.EIO, "Input/output error")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    collect = Collect()
    run.run([Download(r.path, r) for r in remotes], step=collect)
    monkeypatch.undo()
    assert sorted(o.action.path for o in collect.outcomes) == ["x/a.txt", "x/b.txt"]
    for outcome in collect.outcomes:
        assert outcome.base is None and outcome.digest is None
        assert outcome.problem is not None and outcome.problem.kind == "local-error"
        assert "not durable" in outcome.problem.message
