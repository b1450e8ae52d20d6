"""The one-way modes end to end.

- ``push``: local changes go up; remote changes are ignored, and our version is re-pushed
  when the remote copy of a tracked file changed or vanished; nothing is pulled.
- ``pull``: never pushes; remote changes come down; a remote deletion trashes the local
  copy when it is unchanged (a locally edited one is kept and not uploaded).
"""

from __future__ import annotations

from support.scenario import World, counts

TREE = {f"s{i}.txt": f"stable {i}" for i in range(4)} | {"a.txt": "a", "b.txt": "b",
                                                         "c.txt": "c"}


def test_push_ignores_remote_changes_and_repushes_ours(world: World) -> None:
    world.configure(mode="push")
    world.write(TREE)
    assert world.sync().counts == counts(uploaded=len(TREE))
    world.assistant_changes({"a.txt": "assistant edit", "b.txt": None, "new.txt": "n"})
    world.write({"c.txt": "local edit"})
    result = world.sync()
    assert result.code == 0, result.err
    assert result.m["downloaded"] == result.m["deleted_local"] == 0
    assert result.m["uploaded"] == 3  # a (changed remotely), b (vanished), c (edited)
    assert world.local() == {**TREE, "c.txt": "local edit"}
    remote = world.remote()
    assert {k: remote[k] for k in TREE} == {**TREE, "c.txt": "local edit"}
    assert remote.get("new.txt") == "n"  # not pulled, not deleted
    assert world.sync().counts == counts()


def test_pull_never_pushes(world: World) -> None:
    world.write(TREE)
    assert world.sync().code == 0  # seed in two-way, then switch
    world.configure(mode="pull")
    world.write({"local-only.txt": "mine", "c.txt": "local edit"})
    world.assistant_changes({"a.txt": "assistant edit", "b.txt": None, "s0.txt": None,
                             "new.txt": "n"})
    objects_before = {o["id"] for o in world.objects()}
    result = world.sync()
    assert result.code == 0, result.err
    assert result.m["uploaded"] == result.m["deleted_remote"] == 0
    assert {o["id"] for o in world.objects()} == objects_before  # no write at all
    local = world.local()
    assert local["a.txt"] == "assistant edit" and local["new.txt"] == "n"
    assert "b.txt" not in local and "s0.txt" not in local
    assert world.trash() == {"b.txt": "b", "s0.txt": "stable 0", "a.txt": "a"}
    assert local["local-only.txt"] == "mine" and local["c.txt"] == "local edit"


def test_pull_keeps_a_locally_edited_file_the_remote_deleted(world: World) -> None:
    world.write(TREE)
    assert world.sync().code == 0
    world.configure(mode="pull")
    world.write({"a.txt": "edited"})
    world.assistant_changes({"a.txt": None})
    result = world.sync()
    assert (result.code, result.counts) == (0, counts())
    assert world.local()["a.txt"] == "edited"
    assert "a.txt" not in world.remote()
