"""A download checks its target before it fetches and again before it lands.

The checks look through the folder handle the write goes through (one walk from the root
per download, not three): what a user sees must stay what the walks from the root gave.
Real executor, real local backend over HTTP, real files.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from containersync.model.plan import Download
from support.executing import Collect, Sandbox, executor, put_remote, stat_local


def _download(box: Sandbox, tmp: Path, action: Download) -> tuple[Collect, int]:
    """Run ``action``; what finished and the requests it sent."""
    before = box.client.requests_made
    collect = Collect()
    executor(box, tmp).run([action], step=collect)
    return collect, box.client.requests_made - before


def test_a_file_saved_where_a_new_download_would_land_is_kept_and_nothing_is_fetched(
        box: Sandbox, tmp_path: Path) -> None:
    remote = put_remote(box, tmp_path, "d/new.txt", b"the assistant's")
    (box.root / "d").mkdir()
    (box.root / "d" / "new.txt").write_bytes(b"saved by the user since the scan")

    collect, sent = _download(box, tmp_path, Download("d/new.txt", remote, None))

    [outcome] = collect.outcomes
    assert outcome.problem is not None and outcome.problem.kind == "changed-since-scan"
    assert (box.root / "d" / "new.txt").read_bytes() == b"saved by the user since the scan"
    assert sent == 0  # not fetched only to be thrown away
    assert sorted(os.listdir(box.root / "d")) == ["new.txt"]  # no temporary left


def test_a_replacement_whose_folder_was_deleted_does_not_bring_the_folder_back(
        box: Sandbox, tmp_path: Path) -> None:
    (box.root / "d").mkdir()
    (box.root / "d" / "f.txt").write_bytes(b"old")
    seen = stat_local(box.root, "d/f.txt")
    remote = put_remote(box, tmp_path, "d/f.txt", b"new")
    shutil.rmtree(box.root / "d")  # the user deleted the folder after the scan

    collect, sent = _download(box, tmp_path, Download("d/f.txt", remote, seen))

    [outcome] = collect.outcomes
    assert outcome.problem is not None and outcome.problem.kind == "changed-since-scan"
    assert not (box.root / "d").exists()  # the deletion stands; the next cycle decides
    assert sent == 0


def test_a_replacement_edited_since_the_scan_is_kept_and_nothing_is_fetched(
        box: Sandbox, tmp_path: Path) -> None:
    (box.root / "f.txt").write_bytes(b"old")
    os.utime(box.root / "f.txt", ns=(10**18, 10**18))
    seen = stat_local(box.root, "f.txt")
    remote = put_remote(box, tmp_path, "f.txt", b"new")
    (box.root / "f.txt").write_bytes(b"edited")

    collect, sent = _download(box, tmp_path, Download("f.txt", remote, seen))

    [outcome] = collect.outcomes
    assert outcome.problem is not None and outcome.problem.kind == "changed-since-scan"
    assert (box.root / "f.txt").read_bytes() == b"edited"
    assert sent == 0


def test_a_download_into_new_folders_and_over_an_unchanged_file_both_land(
        box: Sandbox, tmp_path: Path) -> None:
    (box.root / "f.txt").write_bytes(b"old")
    seen = stat_local(box.root, "f.txt")
    over = put_remote(box, tmp_path, "f.txt", b"new")
    deep = put_remote(box, tmp_path, "a/b/c.txt", b"deep")

    collect = Collect()
    executor(box, tmp_path).run([Download("f.txt", over, seen),
                                 Download("a/b/c.txt", deep, None)], step=collect)

    assert all(o.ok and o.problem is None for o in collect.outcomes)
    assert (box.root / "f.txt").read_bytes() == b"new"
    assert (box.root / "a" / "b" / "c.txt").read_bytes() == b"deep"
