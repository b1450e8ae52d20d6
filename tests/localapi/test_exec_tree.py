"""The work tree of ``local exec``: newest object per path in, content changes out.

Real files in tmp dirs; ``fetch`` is a plain function writing known bytes (the transports are
covered end to end in ``test_exec_cli.py``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from containersync.errors import RemoteFileGone
from containersync.localapi.exec_limits import memory_limit_bytes
from containersync.localapi.exec_tree import diff_tree, materialise, unsafe_reason

CONTENT = {"f1": b"old a", "f2": b"new a", "f3": b"b", "f4": b"w", "f5": b"evil"}


def obj(fid: str, path: str, created_at: int) -> dict[str, object]:
    return {"id": fid, "path": path, "created_at": created_at}


def fetch(file_id: str, dest: Path) -> None:
    dest.write_bytes(CONTENT[file_id])


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return tmp_path / "work"


def test_materialise_writes_newest_object_per_path_and_lays_out_the_sandbox(tree: Path) -> None:
    objects = [obj("f2", "/mnt/data/a.txt", 20), obj("f1", "/mnt/data/a.txt", 10),
               obj("f3", "/mnt/data/sub/b.txt", 5), obj("f4", "/workspace/w.py", 5)]
    before, skipped = materialise(tree, objects, fetch)
    assert skipped == []
    assert (tree / "mnt/data/a.txt").read_bytes() == b"new a"
    assert (tree / "mnt/data/sub/b.txt").read_bytes() == b"b"
    assert (tree / "workspace/w.py").read_bytes() == b"w"
    assert before["/mnt/data/a.txt"].object_ids == ("f1", "f2")


def test_same_created_at_is_broken_by_id(tree: Path) -> None:
    before, _ = materialise(tree, [obj("f2", "/mnt/data/a", 7), obj("f1", "/mnt/data/a", 7)],
                            fetch)
    assert (tree / "mnt/data/a").read_bytes() == CONTENT["f2"]
    assert before["/mnt/data/a"].object_ids == ("f1", "f2")


@pytest.mark.parametrize("path", ["/mnt/data/../../etc/evil", "relative.txt", "/mnt//data/x",
                                  "/mnt/data/./x", "/mnt/data/a\x00b", "/mnt/data/new\nline"])
def test_hostile_paths_are_never_written(tree: Path, path: str) -> None:
    before, skipped = materialise(tree, [obj("f5", path, 1)], fetch)
    assert before == {}
    assert len(skipped) == 1 and "not materialised" in skipped[0]
    assert unsafe_reason(path) is not None
    written = [p for p in tree.rglob("*") if p.is_file()]
    assert written == []


def test_diff_reports_created_changed_and_deleted_but_not_touched_files(tree: Path) -> None:
    objects = [obj("f1", "/mnt/data/keep.txt", 1), obj("f3", "/mnt/data/change.txt", 1),
               obj("f4", "/workspace/gone.py", 1)]
    before, _ = materialise(tree, objects, fetch)
    os.utime(tree / "mnt/data/keep.txt", (1, 1))  # only the mtime moves: not a change
    (tree / "mnt/data/change.txt").write_bytes(b"different")
    (tree / "workspace/gone.py").unlink()
    (tree / "mnt/data/out").mkdir()
    (tree / "mnt/data/out/new.csv").write_bytes(b"1,2\n")
    (tree / "mnt/data/empty-dir").mkdir()

    changes = diff_tree(tree, before)

    assert changes.written == ["/mnt/data/change.txt", "/mnt/data/out/new.csv"]
    assert [(m.path, m.object_ids) for m in changes.deleted] == [("/workspace/gone.py", ("f4",))]
    assert changes.skipped == []


def test_symlinks_and_fifos_are_skipped_and_a_replaced_file_is_not_deleted(tree: Path) -> None:
    before, _ = materialise(tree, [obj("f1", "/mnt/data/a.txt", 1)], fetch)
    (tree / "mnt/data/a.txt").unlink()
    (tree / "mnt/data/a.txt").symlink_to("/etc/passwd")
    (tree / "mnt/data/link").symlink_to("a.txt")
    os.mkfifo(tree / "mnt/data/pipe")

    changes = diff_tree(tree, before)

    assert changes.written == [] and changes.deleted == []
    assert sorted(changes.skipped) == [
        "/mnt/data/a.txt ignored: a symlink (the previous file is kept remotely)",
        "/mnt/data/link ignored: a symlink",
        "/mnt/data/pipe ignored: a special file",
    ]


def test_files_outside_the_two_mounts_keep_their_absolute_sandbox_path(tree: Path) -> None:
    before, _ = materialise(tree, [], fetch)
    (tree / "tmp").mkdir()
    (tree / "tmp/x.log").write_text("x")
    assert diff_tree(tree, before).written == ["/tmp/x.log"]


@pytest.mark.parametrize(("text", "expected"), [
    ("512m", 512 << 20), ("1g", 1 << 30), ("64g", 64 << 30), (None, 1 << 30), ("3g", 3 << 30),
    ("bogus", 1 << 30)])
def test_memory_limit_spellings(text: str | None, expected: int) -> None:
    assert memory_limit_bytes(text) == expected


def test_an_object_deleted_meanwhile_skips_only_its_path(tree: Path) -> None:
    def racing_fetch(file_id: str, dest: Path) -> None:
        if file_id == "f1":
            raise RemoteFileGone("No such file", status=404)
        fetch(file_id, dest)

    before, skipped = materialise(tree, [obj("f1", "/mnt/data/a", 1), obj("f3", "/mnt/data/b", 1)],
                                  racing_fetch, tolerate=(RemoteFileGone,))
    assert sorted(before) == ["/mnt/data/b"]
    assert skipped == ["/mnt/data/a not materialised: No such file"]
    assert not (tree / "mnt/data/a").exists()
