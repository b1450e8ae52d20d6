"""A local root that synced before and is now a file (SYNC_SEMANTICS rail 2): not a
configuration typo, and nothing can be synced into a file, so it is the "local root gone"
halt (exit 3) whatever the index tracks there, 0, 1 or more files, and ``--force`` cannot
clear it: the halt says to move the file away. Was: exit 1, "cannot open local root: Not a
directory", for fewer than two tracked files (issue 8 follow-up)."""

from __future__ import annotations

import pytest

from support.scenario import World

TREES = {0: {}, 1: {"a.txt": "a"}, 2: {"a.txt": "a", "sub/b.txt": "b"}}


@pytest.mark.parametrize("tracked", list(TREES))
@pytest.mark.parametrize("flags", [(), ("--force",), ("--dry-run",)],
                         ids=["sync", "force", "dry-run"])
def test_a_root_turned_into_a_file_halts(world: World, tracked: int,
                                         flags: tuple[str, ...]) -> None:
    world.root.mkdir(exist_ok=True)
    world.write(TREES[tracked])
    assert world.sync().code == 0
    objects = world.objects()
    world.root.rename(world.base / "moved-away")
    world.root.write_text("a file where the folder was")
    result = world.sync(*flags)
    assert result.code == 3, (result.out, result.err)
    assert result.m["status"] == "halted" and result.m["rail"] == "local-root-gone"
    assert "is a file now" in result.err and "Traceback" not in result.err
    assert world.objects() == objects  # nothing deleted or sent
    assert world.root.read_text() == "a file where the folder was"
    assert world.index_file.exists()
