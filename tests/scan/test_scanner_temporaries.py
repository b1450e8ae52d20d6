"""The scanner lists our temporaries wherever its walk meets them, and never as files."""

from __future__ import annotations

import os
from pathlib import Path

from containersync.scan.ignore import IgnoreRules
from containersync.scan.scanner import scan


def test_a_walk_lists_temporaries_in_every_folder_but_not_links_or_folders(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "a" / "b").mkdir(parents=True)
    (root / "x.txt").write_text("x")
    for rel in (".containersync-tmp-1", "a/.containersync-tmp-2", "a/b/.containersync-tmp-3"):
        (root / rel).write_text("half")
    (root / ".containersync-tmp-dir").mkdir()  # not a file we write: left alone
    os.symlink(root / "x.txt", root / "a" / ".containersync-tmp-link")
    result = scan(root, IgnoreRules.load(root, ()), {})
    assert set(result.files) == {"x.txt"}
    assert sorted(result.temporaries) == [".containersync-tmp-1", "a/.containersync-tmp-2",
                                          "a/b/.containersync-tmp-3"]
    assert scan(root, IgnoreRules.load(root, ()), {}, only=["x.txt"]).temporaries == []
