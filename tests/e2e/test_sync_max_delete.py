"""The too-many-deletions rail: a pass that would delete more than half of one side's
tracked files halts with exit 3 and touches nothing; ``--force`` proceeds.

Both sides (the user deletes locally; the assistant deletes remotely), both path modes.
The local halt runs as a subprocess, so its exit code is the one a user's shell sees.
"""

from __future__ import annotations

import pytest

from support.scenario import World, counts, mtimes

TREE = {f"f{i}.txt": f"file {i}" for i in range(6)}
DOOMED = [f"f{i}.txt" for i in range(4)]  # 4 of 6 tracked files


@pytest.fixture
def world(world: World) -> World:
    """The shared world (both path modes), with TREE synced once."""
    w = world
    w.write(TREE)
    assert w.sync().code == 0
    return w


def test_local_mass_delete_halts_then_force_proceeds(world: World) -> None:
    world.write(dict.fromkeys(DOOMED))
    objects = world.objects()
    local_before = mtimes(world.root)

    halted = world.sync(subprocess=True)
    assert halted.code == 3, halted.err
    assert halted.json["exit_code"] == 3
    assert halted.m["status"] == "halted"
    assert halted.m["rail"] and "4" in halted.m["reason"]
    assert "HALTED" in halted.err
    assert world.objects() == objects  # remote listing untouched, same ids
    assert mtimes(world.root) == local_before

    forced = world.sync("--force")
    assert (forced.code, forced.counts) == (0, counts(deleted_remote=4))
    kept = {k: v for k, v in TREE.items() if k not in DOOMED}
    assert world.local() == world.remote() == kept
    assert world.sync().counts == counts()


def test_remote_mass_delete_halts_then_force_proceeds(world: World) -> None:
    world.assistant_changes(dict.fromkeys(DOOMED))
    objects = world.objects()
    local_before = mtimes(world.root)

    halted = world.sync()
    assert halted.code == 3, halted.err
    assert halted.m["status"] == "halted"
    assert world.objects() == objects
    assert mtimes(world.root) == local_before
    assert world.local() == TREE
    assert world.trash() == {}

    forced = world.sync("--force")
    assert (forced.code, forced.counts) == (0, counts(deleted_local=4))
    kept = {k: v for k, v in TREE.items() if k not in DOOMED}
    assert world.local() == world.remote() == kept
    assert world.trash() == {k: TREE[k] for k in DOOMED}  # nothing lost


def test_renames_do_not_count_as_deletions(world: World) -> None:
    for rel in DOOMED:
        (world.root / rel).rename(world.root / f"renamed-{rel}")
    result = world.sync()
    assert result.code == 0, result.err
    assert result.counts == counts(uploaded=4, deleted_remote=4)
    want = {(f"renamed-{k}" if k in DOOMED else k): v for k, v in TREE.items()}
    assert world.local() == world.remote() == want


def test_half_or_less_is_not_halted(world: World) -> None:
    world.write(dict.fromkeys(DOOMED[:3]))  # exactly half
    result = world.sync()
    assert (result.code, result.counts) == (0, counts(deleted_remote=3))
