"""A conflict on a file whose extension leaves no room for the conflict mark (a 252-byte
name, most of it after its only dot) completes: the sandbox's version is saved beside it
and the next sync has nothing to do. The copy's name was 277 bytes: every sync reported a
failed download and uploaded the local version once more."""

from __future__ import annotations

import pytest

from support.backend import add_assistant_file
from support.scenario import World

NAME = "a." + "b" * 250


def test_a_conflict_on_a_name_with_a_long_extension_keeps_both_versions(world: World) -> None:
    if world.assigns_paths:
        pytest.skip("the server's own prefix makes such a name too long to upload at all")
    world.write({NAME: "v1", "keep.txt": "k"})
    assert world.sync().code == 0
    world.write({NAME: "mine"})
    world.server.advance_clock(1)
    add_assistant_file(world.server, world.cid, world.sandbox_path(NAME), b"theirs")
    world.server.advance_clock(1)  # our upload of the local version is the newer one
    result = world.sync()
    assert result.code == 0, result.m["problems"]
    assert result.counts["conflicts"] == 1
    local = world.local()
    assert local[NAME] == "mine"
    assert sorted(v for k, v in local.items() if ".conflict-" in k) == ["theirs"]
    again = world.sync()
    assert again.code == 0 and again.counts["uploaded"] == 0, again.m
    assert world.remote()[NAME] == "mine"
