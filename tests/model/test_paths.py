"""Table tests for the safe-path rules: hostile remote paths are refused, honest names pass."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta, timezone

import pytest

from containersync.errors import UnsafePath
from containersync.model.paths import (
    conflict_copies_of,
    conflict_copy_name,
    is_conflict_copy,
    local_to_remote,
    normalize_relpath,
    remote_to_local,
)

ROOT = "/mnt/data"

GOOD = [
    ("a.txt", "a.txt"),
    ("dir/sub/file.csv", "dir/sub/file.csv"),
    ("name with spaces.txt", "name with spaces.txt"),
    (" leading and trailing ", " leading and trailing "),
    ("subdir_with_ࢺ_/filename_contains_ě_.txt", "subdir_with_ࢺ_/filename_contains_ě_.txt"),
    ("日本語/файл.txt", "日本語/файл.txt"),
    (unicodedata.normalize("NFD", "café.txt"), "café.txt"),  # NFD in, NFC out
    ("...dots", "...dots"),
    ("x" * 255, "x" * 255),
]

BAD = [
    ("", "empty"),
    ("/etc/passwd", "absolute"),
    ("../x", "'..'"),
    ("a/../../b", "'..'"),
    ("a/./b", "'.'"),
    ("a//b", "empty"),
    ("a/", "empty"),
    ("a\x00b", "control"),
    ("line\nbreak", "control"),
    ("tab\there", "control"),
    ("del\x7f", "control"),
    ("c1\x85", "control"),
    ("win\\path", "backslash"),
    ("..\\..\\x", "backslash"),
    ("x" * 256, "255 bytes"),
    ("é" * 128, "255 bytes"),  # 256 bytes UTF-8
    ("/".join(["d" * 200] * 21), "4096 bytes"),
    ("bad\udcffsurrogate", "UTF-8"),
]


@pytest.mark.parametrize(("given", "expected"), GOOD)
def test_normalize_accepts_honest_names(given: str, expected: str) -> None:
    assert normalize_relpath(given) == expected


@pytest.mark.parametrize(("given", "reason"), BAD)
def test_normalize_refuses_unsafe(given: str, reason: str) -> None:
    with pytest.raises(UnsafePath) as info:
        normalize_relpath(given)
    assert reason in info.value.reason
    assert info.value.path == given or "UTF-8" in reason


REMOTE_GOOD = [
    ("/mnt/data/a.txt", "a.txt"),
    ("/mnt/data/dir/b c.txt", "dir/b c.txt"),
    ("/mnt/data/chart.png", "chart.png"),
]

REMOTE_BAD = [
    "/mnt/data/../etc/x",
    "/mnt/data/a/../../b",
    "/mnt/dataX/y",
    "/mnt/data/",
    "/mnt/data",
    "/mnt/data//a",
    "/mnt/data/a\x00b",
    "/mnt/data/new\nline.txt",
    "/etc/passwd",
    "mnt/data/a",
    "",
    "/mnt/data/./a",
    "/mnt/data/a\\..\\..\\b",
]


@pytest.mark.parametrize(("remote", "local"), REMOTE_GOOD)
@pytest.mark.parametrize("root", [ROOT, ROOT + "/"])
def test_remote_to_local(remote: str, local: str, root: str) -> None:
    assert remote_to_local(remote, root) == local
    assert local_to_remote(local, root) == remote


@pytest.mark.parametrize("remote", REMOTE_BAD)
def test_remote_to_local_refuses_hostile(remote: str) -> None:
    with pytest.raises(UnsafePath):
        remote_to_local(remote, ROOT)


def test_local_to_remote_refuses_escape() -> None:
    with pytest.raises(UnsafePath):
        local_to_remote("../x", ROOT)


WHEN = datetime(2026, 11, 23, 10, 15, 0, tzinfo=UTC)

COPIES = [
    ("report.csv", 0, "report.conflict-20261123-101500.csv"),
    ("dir/report.csv", 0, "dir/report.conflict-20261123-101500.csv"),
    ("dir/archive.tar.gz", 0, "dir/archive.conflict-20261123-101500.tar.gz"),
    ("my.notes.v2.md", 0, "my.notes.v2.conflict-20261123-101500.md"),
    ("Makefile", 0, "Makefile.conflict-20261123-101500"),
    (".bashrc", 0, ".bashrc.conflict-20261123-101500"),
    ("trailing.", 0, "trailing..conflict-20261123-101500"),
    ("report.csv", 1, "report.conflict-20261123-101500.csv"),
    ("report.csv", 2, "report.conflict-20261123-101500-2.csv"),
    ("report.csv", 11, "report.conflict-20261123-101500-11.csv"),
]


@pytest.mark.parametrize(("rel", "n", "expected"), COPIES)
def test_conflict_copy_name(rel: str, n: int, expected: str) -> None:
    got = conflict_copy_name(rel, WHEN, n)
    assert got == expected
    assert is_conflict_copy(got)
    assert not is_conflict_copy(rel)


def test_conflict_copy_name_uses_utc() -> None:
    local_time = WHEN.astimezone(timezone(timedelta(hours=-5)))
    assert conflict_copy_name("a.csv", local_time) == "a.conflict-20261123-101500.csv"
    with pytest.raises(ValueError):
        conflict_copy_name("a.csv", WHEN.replace(tzinfo=None))


def test_conflict_copy_of_a_long_name_still_fits() -> None:
    name = "é" * 120 + ".txt"  # 244 bytes
    copy = conflict_copy_name(name, WHEN)
    assert len(copy.encode()) <= 255
    assert normalize_relpath(copy) == copy
    assert copy.endswith(".conflict-20261123-101500.txt")
    assert conflict_copies_of(name, [copy, "other.txt"]) == [copy]


def test_is_conflict_copy_only_looks_at_the_name() -> None:
    assert not is_conflict_copy("x.conflict-20261123-101500.d/file.txt")
    assert not is_conflict_copy("notes about conflict-resolution.txt")
    assert not is_conflict_copy("a.conflict-2026.csv")


def test_conflict_copies_of_sorts_oldest_first_and_filters() -> None:
    later = WHEN + timedelta(hours=1)
    names = [
        conflict_copy_name("d/report.csv", later),
        conflict_copy_name("d/report.csv", WHEN, 2),
        conflict_copy_name("d/report.csv", WHEN),
        conflict_copy_name("report.csv", WHEN),  # other folder
        conflict_copy_name("d/report_v2.csv", WHEN),  # other file
        conflict_copy_name("d/report.txt", WHEN),  # other extension
        "d/report.csv",
    ]
    assert conflict_copies_of("d/report.csv", names) == [
        "d/report.conflict-20261123-101500.csv",
        "d/report.conflict-20261123-101500-2.csv",
        "d/report.conflict-20261123-111500.csv",
    ]


def test_one_segment_cannot_hold_a_slash() -> None:
    from containersync.model.paths import check_component

    assert check_component("ok name") == "ok name"
    with pytest.raises(UnsafePath, match="slash"):
        check_component("../m")


def test_paths_module_is_pure() -> None:
    """model/paths.py decides; it must not touch the filesystem, network or clock."""
    import ast
    import inspect

    import containersync.model.paths as mod

    tree = ast.parse(inspect.getsource(mod))
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)
                for a in n.names}
    imported |= {(n.module or "").split(".")[0] for n in ast.walk(tree)
                 if isinstance(n, ast.ImportFrom)}
    assert not imported & {"os", "pathlib", "shutil", "socket", "io", "time", "subprocess"}
    calls = {n.func.id for n in ast.walk(tree)
             if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert "open" not in calls
