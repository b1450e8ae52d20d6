"""Local writes: atomic replace, refusal to escape the root, full disks, re-checks, trash."""

from __future__ import annotations

import errno
import hashlib
import os
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

import pytest

from containersync.errors import LocalError, TransientError, UnsafePath
from containersync.execute.localfs import matches, safe_parent, stat_local, write_atomically
from containersync.execute.trash import Trash
from containersync.scan.digest import HashingWriter, sha256_file

NOW = datetime(2026, 11, 23, 10, 15, 0, tzinfo=UTC)


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.rglob(".containersync-tmp-*")]


def writer(data: bytes):  # type: ignore[no-untyped-def]
    def fill(out: BinaryIO) -> str:
        hw = HashingWriter(out)
        hw.write_all([data[i:i + 7] for i in range(0, len(data), 7)])
        return hw.hexdigest()
    return fill


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "root"
    r.mkdir()
    return r


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A real 1 MiB filesystem (a different device from tmp_path)."""
    d = tmp_path / "small"
    d.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(d)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield d
    finally:
        subprocess.run(["umount", str(d)], check=True)


def test_write_creates_parents_and_reports_what_it_wrote(root: Path) -> None:
    data = b"hello, sandbox\n" * 100
    digest = write_atomically(root, "a b/ü/report.csv", writer(data))
    target = root / "a b" / "ü" / "report.csv"
    assert target.read_bytes() == data
    assert digest == hashlib.sha256(data).hexdigest() == sha256_file(target)
    got = stat_local(root, "a b/ü/report.csv", digest)
    assert (got.size, got.mtime_ns) == (len(data), target.stat().st_mtime_ns)
    assert stat_local(root, "a b/ü/report.csv") == got  # hashing it gives the same
    assert leftovers(root) == []


def test_overwrite_keeps_mode_and_never_writes_through_or_over_a_symlink(
        root: Path, tmp_path: Path) -> None:
    script = root / "run.sh"
    script.write_text("old")
    script.chmod(0o755)
    # the old copy leaves the name first (the executor trashes it in ``before_replace``)
    write_atomically(root, "run.sh", writer(b"new"), before_replace=script.unlink)
    assert script.read_bytes() == b"new"
    assert script.stat().st_mode & 0o777 == 0o755
    outside = tmp_path / "outside.txt"
    outside.write_text("precious")
    (root / "link.txt").symlink_to(outside)
    # a name that is not free is never written over: the link and its target stay
    with pytest.raises(LocalError):
        write_atomically(root, "link.txt", writer(b"downloaded"))
    assert outside.read_text() == "precious"
    assert (root / "link.txt").is_symlink()
    assert not [p for p in root.iterdir() if p.name.startswith(".containersync-tmp-")]


@pytest.mark.parametrize("rel", ["../escape.txt", "/etc/x", "a/../../x", "a\nb", "a\\b", ""])
def test_hostile_paths_are_refused(root: Path, rel: str) -> None:
    with pytest.raises(UnsafePath):
        write_atomically(root, rel, writer(b"x"))
    with pytest.raises(UnsafePath):
        safe_parent(root, rel)


def test_symlinked_or_file_parent_is_refused(root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (root / "sub").symlink_to(outside)
    (root / "plain").write_text("a file")
    for rel in ("sub/x.txt", "sub/deeper/x.txt", "plain/x.txt"):
        with pytest.raises(UnsafePath):
            write_atomically(root, rel, writer(b"x"))
        with pytest.raises(UnsafePath):
            matches(root, rel, None)
    assert list(outside.iterdir()) == []
    assert safe_parent(root, "new/dir/x.txt") == root / "new" / "dir"
    assert (root / "new" / "dir").is_dir()


def test_folder_in_the_way(root: Path) -> None:
    (root / "taken").mkdir()
    with pytest.raises(LocalError):
        write_atomically(root, "taken", writer(b"x"))
    assert (root / "taken").is_dir() and leftovers(root) == []


def test_failure_in_fill_leaves_old_file_and_no_temp(root: Path) -> None:
    (root / "f.txt").write_text("old")

    def enospc(out: BinaryIO) -> None:
        out.write(b"partial")
        # Injected: the real full disk is tested with a tmpfs below.
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.raises(LocalError, match="No space"):
        write_atomically(root, "f.txt", enospc)
    assert (root / "f.txt").read_text() == "old"
    assert leftovers(root) == []


def test_our_own_errors_from_fill_pass_through(root: Path) -> None:
    def network_drop(out: BinaryIO) -> None:
        out.write(b"half")
        raise TransientError("connection reset", retry_after=1.0)

    with pytest.raises(TransientError):
        write_atomically(root, "d/f.txt", network_drop)
    assert not (root / "d" / "f.txt").exists() and leftovers(root) == []


def test_before_replace_can_veto(root: Path) -> None:
    (root / "f.txt").write_text("user edit")

    def changed() -> None:
        raise LocalError("changed since planned")

    with pytest.raises(LocalError):
        write_atomically(root, "f.txt", writer(b"remote"), before_replace=changed)
    assert (root / "f.txt").read_text() == "user edit" and leftovers(root) == []


def test_full_disk_leaves_no_half_file(tmpfs: Path) -> None:
    (tmpfs / "big.bin").write_bytes(b"o" * 1000)
    with pytest.raises(LocalError):
        write_atomically(tmpfs, "big.bin", writer(b"n" * (2 * 1024 * 1024)))
    assert (tmpfs / "big.bin").read_bytes() == b"o" * 1000
    with pytest.raises(LocalError):
        write_atomically(tmpfs, "new.bin", writer(b"n" * (2 * 1024 * 1024)))
    assert sorted(p.name for p in tmpfs.iterdir()) == ["big.bin"]


def test_matches_rechecks_size_mtime_and_hash(root: Path) -> None:
    assert matches(root, "nothing.txt", None)
    assert matches(root, "no/such/dir/x.txt", None)
    write_atomically(root, "f.txt", writer(b"abc"))
    seen = stat_local(root, "f.txt")
    assert not matches(root, "f.txt", None)
    assert matches(root, "f.txt", seen, check_hash=True)
    (root / "f.txt").write_bytes(b"abcd")
    assert not matches(root, "f.txt", seen)
    (root / "f.txt").write_bytes(b"xyz")  # same size; restore the mtime: only the hash knows
    os.utime(root / "f.txt", ns=(seen.mtime_ns, seen.mtime_ns))
    assert matches(root, "f.txt", seen)
    assert not matches(root, "f.txt", seen, check_hash=True)
    os.unlink(root / "f.txt")
    assert not matches(root, "f.txt", seen)


def test_trash_keeps_relative_path_and_content(root: Path, tmp_path: Path) -> None:
    trash = Trash(tmp_path / "trash", retention_days=7)
    write_atomically(root, "d/report.csv", writer(b"v1"))
    mtime = (root / "d" / "report.csv").stat().st_mtime_ns
    first = trash.move_in(root, "d/report.csv", "work", NOW)
    assert first == tmp_path / "trash" / "work" / "20261123-101500.000000" / "d" / "report.csv"
    assert first.read_bytes() == b"v1" and first.stat().st_mtime_ns == mtime
    assert not (root / "d" / "report.csv").exists()
    write_atomically(root, "d/report.csv", writer(b"v2"))
    second = trash.move_in(root, "d/report.csv", "work", NOW)  # same instant: its own slot
    assert second != first and second.read_bytes() == b"v2" and first.read_bytes() == b"v1"


def test_trash_moves_links_without_following(root: Path, tmp_path: Path) -> None:
    target = tmp_path / "target.txt"
    target.write_text("keep me")
    (root / "ln").symlink_to(target)
    moved = Trash(tmp_path / "trash", 1).move_in(root, "ln", "m", NOW)
    assert moved.is_symlink() and target.read_text() == "keep me"


def test_trash_across_filesystems_copies_then_unlinks(tmpfs: Path, tmp_path: Path) -> None:
    (tmpfs / "sub").mkdir()
    (tmpfs / "sub" / "a.txt").write_bytes(b"cross-device")
    os.utime(tmpfs / "sub" / "a.txt", ns=(1_000_000_000, 2_000_000_000))
    moved = Trash(tmp_path / "trash", 1).move_in(tmpfs, "sub/a.txt", "m", NOW)
    assert os.stat(moved).st_dev != os.stat(tmpfs).st_dev
    assert moved.read_bytes() == b"cross-device" and moved.stat().st_mtime_ns == 2_000_000_000
    assert not (tmpfs / "sub" / "a.txt").exists()


def test_trash_refuses_unsafe_requests(root: Path, tmp_path: Path) -> None:
    (root / "f").write_text("x")
    with pytest.raises(UnsafePath):
        Trash(root / ".trash", 1).move_in(root, "f", "m", NOW)
    with pytest.raises(UnsafePath):
        Trash(tmp_path / "trash", 1).move_in(root, "f", "../m", NOW)
    with pytest.raises(LocalError):
        Trash(tmp_path / "trash", 1).move_in(root, "missing", "m", NOW)
    assert (root / "f").read_text() == "x"


def test_purge_removes_only_expired_moves(root: Path, tmp_path: Path) -> None:
    trash = Trash(tmp_path / "trash", retention_days=7)
    for name, when in (("old", NOW - timedelta(days=8)), ("new", NOW - timedelta(days=1))):
        (root / name).write_text(name)
        trash.move_in(root, name, "m", when)
    (tmp_path / "trash" / "m" / "notes-by-user").mkdir()
    assert trash.purge(NOW) == 1
    left = sorted(p.name for p in (tmp_path / "trash" / "m").rglob("*") if p.is_file())
    assert left == ["new"]
    assert (tmp_path / "trash" / "m" / "notes-by-user").is_dir()
    assert Trash(tmp_path / "none", 1).purge(NOW) == 0
