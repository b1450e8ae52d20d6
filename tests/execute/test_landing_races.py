"""A user's file is never overwritten or trashed by a write it raced, at any moment.

The executor checks a path just before it replaces or trashes it (SYNC_SEMANTICS.md, rail
5), but a check is followed by the act a moment later: a file the user saves in between
must survive at its name (the action is skipped and the next cycle decides again), never
be written over (lost) or be taken to the trash in place of the file the plan saw.

Real executor, real local backend over HTTP, real files. ``tests.support.interleave``
puts the user's save before the k-th audited operation of the transfer thread after the
executor declared the write (the moment ``on_local_write`` hears of it), for every k until
the save comes too late to race anything.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from containersync.api.pacing import Pacer
from containersync.execute.executor import Finished
from containersync.model.entry import LocalFile, RemoteFile
from containersync.model.plan import Action, Download, TrashLocal
from containersync.watch.own_writes import ABSENT, Expected, Fingerprint
from support.executing import Collect, Sandbox, executor, put_remote, stat_local
from support.interleave import Interleave

USER = b"the user's own save, not what the plan saw"
OLD = b"old"
#: more audited operations than any landing or trash move takes
MOMENTS = 60


def _remote(box: Sandbox, tmp: Path, rel: str) -> RemoteFile:
    return put_remote(box, tmp, rel, b"the assistant's " + rel.encode())


def _old(root: Path, rel: str) -> LocalFile:
    """``rel`` holding ``OLD``, long unchanged, as the plan saw it."""
    (root / rel).write_bytes(OLD)
    os.utime(root / rel, ns=(10**18, 10**18))
    return stat_local(root, rel)


def _save(path: Path) -> Callable[[], bool]:
    """The user's save: over the file the plan saw, or a new file where none is."""
    def act() -> bool:
        try:
            if path.read_bytes() != OLD:
                return False  # ours landed (or the user's save already happened)
        except FileNotFoundError:
            pass
        path.write_bytes(USER)
        return True
    return act


def _run(box: Sandbox, tmp: Path, action: Action, declared: Callable[[Expected], bool],
         k: int) -> tuple[bool, list[Finished]]:
    """Run ``action`` with the user's save put before the k-th audited operation after
    the executor declares the write ``declared`` accepts; whether the save happened."""
    interleave = Interleave()

    def on_local_write(rel: str, expected: Expected) -> None:
        if rel == action.path and declared(expected):
            if k == 0:  # in the declaration itself, before the last look at the target
                interleave.fired = _save(box.root / rel)()
            else:
                interleave.arm(k, _save(box.root / rel))

    run = executor(box, tmp, pacer=Pacer(2, start=2), on_local_write=on_local_write)
    collect = Collect()
    try:
        run.run([action], step=collect)
    finally:
        interleave.disarm()
    return interleave.fired, collect.finished


def _moments(run: Callable[[int], tuple[bool, list[Finished]]], path: Callable[[int], Path]
             ) -> int:
    """Every moment k until the save no longer races: the user's bytes are at the name.
    Moment 0 is the declaration itself: a download that lands in a folder it already
    holds open looks at its target by ``stat`` and renames with ``renameat2``, neither of
    them an audited operation, so no later moment falls between that look and the rename."""
    for k in range(0, MOMENTS):
        fired, finished = run(k)
        if not fired:
            return k
        assert path(k).read_bytes() == USER, (
            f"the user's save before audited operation {k} was lost or trashed: "
            f"{[(o.kind, o.problem) for o, _ in finished]}")
        assert not any(o.ok for o, _ in finished), f"moment {k}: acted over the user's save"
    raise AssertionError(f"the save still raced after {MOMENTS} operations")


def test_a_file_saved_where_a_new_download_lands_is_never_overwritten(
        box: Sandbox, tmp_path: Path) -> None:
    root = box.root

    def run(k: int) -> tuple[bool, list[Finished]]:
        remote = _remote(box, tmp_path, f"new{k}.txt")
        return _run(box, tmp_path, Download(remote.path, remote, None),
                    lambda e: isinstance(e, Fingerprint), k)

    assert _moments(run, lambda k: root / f"new{k}.txt") >= 1


def test_a_file_saved_while_a_download_replaces_it_is_never_overwritten_or_trashed(
        box: Sandbox, tmp_path: Path) -> None:
    root = box.root

    def run(k: int) -> tuple[bool, list[Finished]]:
        rel = f"old{k}.txt"
        seen = _old(root, rel)
        remote = _remote(box, tmp_path, rel)
        return _run(box, tmp_path, Download(rel, remote, seen),
                    lambda e: isinstance(e, Fingerprint), k)

    assert _moments(run, lambda k: root / f"old{k}.txt") > 1


def test_a_file_saved_while_it_is_trashed_stays_at_its_name(
        box: Sandbox, tmp_path: Path) -> None:
    root = box.root

    def run(k: int) -> tuple[bool, list[Finished]]:
        rel = f"gone{k}.txt"
        seen = _old(root, rel)
        return _run(box, tmp_path, TrashLocal(rel, seen),
                    lambda e: e is ABSENT, k)

    assert _moments(run, lambda k: root / f"gone{k}.txt") > 1
