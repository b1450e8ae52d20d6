"""``status`` lists the conflict copies that still exist (SYNC_SEMANTICS "Output"): a copy the
user deleted disappears from ``status`` at once, and the next run forgets its row
(issue 8.10)."""

from __future__ import annotations

import contextlib
import io
import json
from typing import Any

from containersync import cli
from containersync.index.store import Index
from support.scenario import World, mapping_key


def status(world: World) -> dict[str, Any]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["status", "--config", str(world.config), "--json"]) == 0
    mapping: dict[str, Any] = json.loads(out.getvalue())["mappings"][0]
    return mapping


def rows(world: World) -> list[str]:
    index = Index.open(world.index_file)
    try:
        return [c.copy_path for c in index.conflicts(mapping_key(world.config))]
    finally:
        index.close()


def test_a_deleted_conflict_copy_leaves_status_and_then_the_index(world: World) -> None:
    world.write({"a.txt": "v1", "b.txt": "v1"})
    assert world.sync().code == 0
    world.assistant_changes({"a.txt": "theirs a", "b.txt": "theirs b"})
    world.write({"a.txt": "mine a", "b.txt": "mine b"})
    assert world.sync().code == 0
    listed = status(world)["conflicts"]
    assert sorted(c["path"] for c in listed) == ["a.txt", "b.txt"]
    gone = next(c["copy"] for c in listed if c["path"] == "a.txt")
    kept = next(c["copy"] for c in listed if c["path"] == "b.txt")

    (world.root / gone).unlink()  # the user looked at it and threw it away
    assert [c["copy"] for c in status(world)["conflicts"]] == [kept]
    assert sorted(rows(world)) == sorted([gone, kept])  # status only reads
    assert world.sync().code == 0
    assert rows(world) == [kept]
    assert [c["copy"] for c in status(world)["conflicts"]] == [kept]
