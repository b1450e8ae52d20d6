"""Safety rails around the container and the roots, end to end.

- The container expires between two syncs (the backend clock moves past expiry): the next
  sync starts generation 2 in a new container, re-seeds every local file, deletes nothing
  locally. A container given by id is not recreated: exit 3.
- The assistant deletes every file (container still running): exit 3, nothing touched;
  ``--force`` proceeds (the local copies go to the trash).
- The local root disappears (renamed away) while the index tracks files: exit 3, nothing
  deleted remotely; ``--force`` proceeds (the root is created again, remote emptied).
"""

from __future__ import annotations

from support.scenario import World, counts, mtimes

TREE = {"a.txt": "a", "sub/b.txt": "b", "c.txt": "c"}
PAST_EXPIRY_S = 21 * 60


def test_expired_container_starts_a_new_generation_and_reseeds(world: World) -> None:
    world.write(TREE)
    first = world.sync()
    assert (first.m["generation"], first.m["new_generation"]) == (1, True)
    old = world.cid
    world.write({"c.txt": "edited while away", "d.txt": "new while away"})
    world.server.advance_clock(PAST_EXPIRY_S)

    result = world.sync(subprocess=True)
    assert result.code == 0, result.err
    assert (result.m["generation"], result.m["new_generation"]) == (2, True)
    assert result.m["container_id"] != old and world.cid == result.m["container_id"]
    want = {**TREE, "c.txt": "edited while away", "d.txt": "new while away"}
    assert result.counts == counts(uploaded=len(want))
    assert world.local() == world.remote() == want
    assert world.trash() == {}
    again = world.sync()
    assert (again.m["generation"], again.m["new_generation"], again.counts) == (
        2, False, counts())


def test_expired_adopted_container_halts(world: World) -> None:
    cid = world.adopt()
    world.write(TREE)
    assert world.sync().counts == counts(uploaded=3)
    world.server.advance_clock(PAST_EXPIRY_S)
    local = mtimes(world.root)
    result = world.sync()
    assert result.code == 3, result.err
    assert result.m["status"] == "halted" and cid in result.m["reason"]
    assert mtimes(world.root) == local


def test_emptied_remote_halts_then_force_proceeds(world: World) -> None:
    world.write(TREE)
    assert world.sync().code == 0
    world.assistant("rm -rf ./* /mnt/data/*")
    assert world.objects() == []
    local = mtimes(world.root)
    halted = world.sync(subprocess=True)
    assert halted.code == 3, halted.err
    assert halted.m["rail"] and halted.m["status"] == "halted"
    assert mtimes(world.root) == local and world.objects() == []
    forced = world.sync("--force")
    assert (forced.code, forced.counts) == (0, counts(deleted_local=3))
    assert world.local() == {} and world.trash() == TREE


def test_missing_local_root_halts_then_force_proceeds(world: World) -> None:
    world.write(TREE)
    assert world.sync().code == 0
    objects = world.objects()
    world.root.rename(world.base / "moved-away")
    halted = world.sync()
    assert halted.code == 3, halted.err
    assert "HALTED" in halted.err
    assert world.objects() == objects
    assert not world.root.exists()  # not re-created behind the user's back
    forced = world.sync("--force")
    assert (forced.code, forced.counts) == (0, counts(deleted_remote=3))
    assert world.root.is_dir() and world.remote() == {}
    assert (world.base / "moved-away" / "a.txt").read_text() == "a"
