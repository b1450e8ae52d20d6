"""Scanning real trees: odd names, links, unreadable entries, racing writers, rescans."""

from __future__ import annotations

import hashlib
import os
import pickle
import threading
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest

from containersync.model.entry import BaseEntry
from containersync.scan.ignore import IgnoreRules
from containersync.scan.scanner import ScanResult, scan


def put(root: Path, rel: str, data: bytes = b"x") -> Path:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    return p


def as_base(result: ScanResult) -> dict[str, BaseEntry]:
    return {k: BaseEntry(v.path, v.size, v.mtime_ns, v.sha256) for k, v in result.files.items()}


def kinds(result: ScanResult) -> dict[str, str]:
    return {p.path: p.kind for p in result.problems}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    root.mkdir()
    put(root, "plain.txt", b"plain")
    put(root, "name with spaces/file one.txt", b"spaces")
    put(root, "subdir_with_ࢺ_/filename_contains_ě_.txt", b"unicode")
    put(root, unicodedata.normalize("NFD", "café.md"), b"nfd on disk")
    put(root, "name with\nnewline.txt", b"nl")
    put(root, ".env", b"SECRET=1")
    put(root, ".ssh/id_ed25519", b"key")
    put(root, ".git/HEAD", b"ref")
    put(root, "notes.txt.swp", b"vim")
    put(root, "inside/target.txt", b"target")
    (root / "inside" / "link.txt").symlink_to("target.txt")
    (root / "escape.txt").symlink_to(tmp_path / "outside.txt")
    put(tmp_path, "outside.txt", b"outside")
    (root / "dirlink").symlink_to(root / "inside")
    os.mkfifo(root / "a.fifo")
    os.mkfifo(root / "name with spaces" / ".env.fifo")  # special and ignored: silent
    return root


def test_scan_of_a_real_tree(tree: Path) -> None:
    result = scan(tree, IgnoreRules.load(tree), {})
    assert result.root_state == "ok" and result.scope is None
    assert sorted(result.files) == [
        "café.md", "inside/target.txt", "name with spaces/file one.txt", "plain.txt",
        "subdir_with_ࢺ_/filename_contains_ě_.txt"]
    assert result.files["café.md"].sha256 == hashlib.sha256(b"nfd on disk").hexdigest()
    assert result.files["plain.txt"].size == 5
    assert kinds(result) == {
        "name with\nnewline.txt": "unsafe-name", "inside/link.txt": "symlink",
        "escape.txt": "symlink", "dirlink": "symlink"}
    assert sorted(result.held_back) == [".env", ".ssh/"]
    assert result.hashed == 5
    assert result.covers("plain.txt") and result.covers("gone.txt")
    assert not result.covers("name with\nnewline.txt") and not result.covers("dirlink/x")


def test_second_scan_hashes_nothing(tree: Path) -> None:
    rules = IgnoreRules.load(tree)
    first = scan(tree, rules, {})
    second = scan(tree, rules, as_base(first))
    assert second.hashed == 0 and second.files == first.files
    put(tree, "plain.txt", b"PLAIN")  # same size, new mtime
    os.utime(tree / "name with spaces" / "file one.txt")  # touched only
    third = scan(tree, rules, as_base(second))
    assert third.hashed == 2
    assert third.files["plain.txt"].sha256 == hashlib.sha256(b"PLAIN").hexdigest()
    assert third.files["name with spaces/file one.txt"].sha256 == \
        first.files["name with spaces/file one.txt"].sha256


def test_root_states(tmp_path: Path) -> None:
    rules = IgnoreRules.load(tmp_path)
    missing = scan(tmp_path / "nope", rules, {})
    assert missing.root_state == "missing" and not missing.covers("a")
    put(tmp_path, "file", b"")
    assert scan(tmp_path / "file", rules, {}).root_state == "not-a-directory"
    (tmp_path / "empty").mkdir()
    assert scan(tmp_path / "empty", rules, {}).root_state == "ok"


def test_names_that_collide_are_problems(tmp_path: Path) -> None:
    put(tmp_path, unicodedata.normalize("NFC", "é.txt"), b"1")
    put(tmp_path, unicodedata.normalize("NFD", "é.txt"), b"2")
    put(tmp_path, "Readme.md", b"a")
    put(tmp_path, "README.md", b"b")
    rules = IgnoreRules.load(tmp_path)
    sensitive = scan(tmp_path, rules, {}, case_insensitive=False)
    assert sorted(sensitive.files) == ["README.md", "Readme.md"]
    assert kinds(sensitive) == {"é.txt": "name-collision"}
    insensitive = scan(tmp_path, rules, {}, case_insensitive=True)
    assert insensitive.files == {}
    assert set(kinds(insensitive)) == {"é.txt", "Readme.md", "README.md"}


def test_undecodable_name_is_a_problem(tmp_path: Path) -> None:
    with open(os.path.join(os.fsencode(tmp_path), b"bad\xff.txt"), "wb") as f:
        f.write(b"x")
    result = scan(tmp_path, IgnoreRules.load(tmp_path), {})
    assert result.files == {}
    assert [(p.path, p.kind) for p in result.problems] == [("bad\\udcff.txt", "unsafe-name")]


def _scan_unprivileged(root: Path) -> ScanResult:
    """Scan as an unprivileged user: root bypasses file permissions, so a child process
    drops to uid/gid 65534 (nobody) and sends the result back through a pipe."""
    if os.geteuid() != 0:
        return scan(root, IgnoreRules.load(root), {})
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        code = 1
        try:
            os.close(read_end)
            os.setgid(65534)
            os.setuid(65534)
            with os.fdopen(write_end, "wb") as out:
                pickle.dump(scan(root, IgnoreRules.load(root), {}), out)
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as inp:
        data = inp.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    result: ScanResult = pickle.loads(data)
    return result


def test_unreadable_file_and_folder(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    root = tmp_path / "root"
    put(root, "ok.txt", b"ok")
    put(root, "locked.txt", b"no").chmod(0o000)
    put(root, "closed/inner.txt", b"no")
    (root / "closed").chmod(0o000)
    for p in (tmp_path.parent, tmp_path.parent.parent):
        p.chmod(p.stat().st_mode | 0o005)
    try:
        result = _scan_unprivileged(root)
    finally:
        (root / "closed").chmod(0o755)
    assert sorted(result.files) == ["ok.txt"]
    assert kinds(result) == {"locked.txt": "unreadable", "closed": "unreadable"}
    assert not result.covers("locked.txt") and not result.covers("closed/inner.txt")
    assert result.covers("ok.txt")
    (root / "locked.txt").chmod(0o644)


def test_unreadable_root(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    root = tmp_path / "root"
    put(root, "a.txt")
    root.chmod(0o000)
    for p in (tmp_path.parent, tmp_path.parent.parent):
        p.chmod(p.stat().st_mode | 0o005)
    try:
        assert _scan_unprivileged(root).root_state == "unreadable"
    finally:
        root.chmod(0o755)


@pytest.fixture
def appender(tmp_path: Path) -> Iterator[tuple[Path, bytes]]:
    """A real writer thread appending a known byte stream to a file until stopped."""
    stream = b"".join(hashlib.sha256(str(i).encode()).digest() for i in range(200_000))
    path = tmp_path / "root" / "growing.bin"
    path.parent.mkdir()
    path.write_bytes(stream[:1_000_000])
    stop = threading.Event()

    def run() -> None:
        pos = 1_000_000
        with open(path, "ab", buffering=0) as f:
            while not stop.is_set() and pos < len(stream):
                f.write(stream[pos:pos + 4096])
                pos += 4096

    t = threading.Thread(target=run, daemon=True)
    t.start()
    try:
        yield path, stream
    finally:
        stop.set()
        t.join(10)


def test_file_changing_while_hashed(appender: tuple[Path, bytes]) -> None:
    path, stream = appender
    root = path.parent
    rules = IgnoreRules.load(root)
    outcomes = set()
    for _ in range(20):
        result = scan(root, rules, {})
        got = result.files.get("growing.bin")
        if got is None:
            assert kinds(result) == {"growing.bin": "changing"}
            assert not result.covers("growing.bin")
            outcomes.add("changing")
        else:  # whatever was read, digest and size describe the same bytes
            assert got.sha256 == hashlib.sha256(stream[:got.size]).hexdigest()
            outcomes.add("consistent")
    assert outcomes, outcomes


def test_targeted_rescan(tree: Path) -> None:
    rules = IgnoreRules.load(tree)
    base = as_base(scan(tree, rules, {}))
    put(tree, "plain.txt", b"edited!")
    os.unlink(tree / "name with spaces" / "file one.txt")
    put(tree, "new dir/deep/fresh.txt", b"fresh")
    put(tree, "untouched-but-new.txt", b"not in scope")
    only = ["plain.txt", "name with spaces/file one.txt", "new dir", "new dir/deep",
            unicodedata.normalize("NFD", "café.md"), ".env", "inside/link.txt", "dirlink/x.txt"]
    result = scan(tree, rules, base, only=only)
    assert result.scope == (".env", "café.md", "dirlink/x.txt", "inside/link.txt",
                            "name with spaces/file one.txt", "new dir", "plain.txt")
    assert sorted(result.files) == ["café.md", "new dir/deep/fresh.txt", "plain.txt"]
    assert result.hashed == 2  # plain.txt and fresh.txt; café.md reused from base
    assert result.held_back == [".env"]
    assert kinds(result) == {"inside/link.txt": "symlink", "dirlink": "symlink"}
    assert result.covers("name with spaces/file one.txt")  # scanned: really deleted
    assert not result.covers("untouched-but-new.txt")  # outside the scope: unknown
    assert not result.covers("dirlink/x.txt")
