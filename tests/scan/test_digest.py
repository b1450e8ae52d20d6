"""Streaming digests: files by chunks, links refused, bytes hashed as they are written."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from containersync.scan.digest import HashingWriter, sha256_file


def test_sha256_file_streams_in_chunks(tmp_path: Path) -> None:
    data = bytes(range(256)) * 5000
    (tmp_path / "f").write_bytes(data)
    assert sha256_file(tmp_path / "f", chunk=1000) == hashlib.sha256(data).hexdigest()
    (tmp_path / "empty").write_bytes(b"")
    assert sha256_file(tmp_path / "empty") == hashlib.sha256(b"").hexdigest()


def test_sha256_file_does_not_follow_links_unless_asked(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"abc")
    (tmp_path / "ln").symlink_to("f")
    with pytest.raises(OSError):
        sha256_file(tmp_path / "ln")
    assert sha256_file(tmp_path / "ln", follow_symlinks=True) == hashlib.sha256(b"abc").hexdigest()


def test_hashing_writer_describes_what_reached_the_file() -> None:
    out = io.BytesIO()
    hw = HashingWriter(out)
    hw.write(b"hello ")
    hw.write_all([b"wor", memoryview(b"ld")])
    assert out.getvalue() == b"hello world"
    assert hw.size == 11 and hw.hexdigest() == hashlib.sha256(b"hello world").hexdigest()
