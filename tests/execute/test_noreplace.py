"""``execute.noreplace.rename_noreplace`` on real files: a rename that never replaces, and
that refuses what ``os.rename`` refuses."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from containersync.execute.noreplace import rename_noreplace


def test_a_taken_name_fails_and_leaves_both_files(tmp_path: Path) -> None:
    (tmp_path / "new").write_text("ours")
    (tmp_path / "taken").write_text("the user's")
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with pytest.raises(FileExistsError):
            rename_noreplace("new", "taken", src_dir_fd=fd, dst_dir_fd=fd)
    finally:
        os.close(fd)
    assert (tmp_path / "new").read_text() == "ours"
    assert (tmp_path / "taken").read_text() == "the user's"


@pytest.mark.parametrize("where", ["src", "dst"])
def test_a_name_holding_a_nul_is_refused_not_cut_short(tmp_path: Path, where: str) -> None:
    # ctypes passes a bytes argument as a C string: the kernel saw the name up to its NUL,
    # so "b\0c" renamed to "b" (and "a\0x" moved "a"); os.rename refuses such a name
    (tmp_path / "a").write_text("a")
    src, dst = ("a\0x", "b") if where == "src" else ("a", "b\0c")
    with pytest.raises(ValueError, match="null"):
        rename_noreplace(tmp_path / src, tmp_path / dst)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a"]
