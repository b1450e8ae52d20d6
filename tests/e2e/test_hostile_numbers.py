"""A hostile server's numbers: a ``created_at`` the index (SQLite, 64-bit integers) cannot
hold must fail the sync clearly, naming the field, not crash it with an OverflowError; a
negative one is only a time long ago."""

from __future__ import annotations

import pytest
from test_sync_knowledge import stamp

from support.backend import add_assistant_file
from support.scenario import World


@pytest.mark.parametrize("created_at", [2.0**63, 2.0**64])
def test_a_created_at_beyond_64_bits_fails_the_sync_clearly(world: World,
                                                            created_at: float) -> None:
    world.write({"keep.txt": "k"})
    assert world.sync().code == 0
    made = add_assistant_file(world.server, world.cid, "/mnt/data/x.txt", b"v1")
    stamp(world.server, made["id"], created_at)
    result = world.sync()
    assert result.code == 1, result.m
    assert "created_at" in str(result.m), result.m
    assert world.local() == {"keep.txt": "k"}


@pytest.mark.parametrize("created_at", [-1.0, -(2.0**63)])
def test_a_negative_created_at_is_pulled_as_any_other(world: World, created_at: float) -> None:
    world.write({"keep.txt": "k"})
    assert world.sync().code == 0
    made = add_assistant_file(world.server, world.cid, "/mnt/data/x.txt", b"v1")
    stamp(world.server, made["id"], created_at)
    assert world.sync().code == 0
    assert world.local() == {"keep.txt": "k", "x.txt": "v1"}
    assert world.sync().code == 0
