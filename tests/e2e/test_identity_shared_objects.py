"""Two folders under one mapping name share a container (issue 7.8: a new identity merges
with what the container holds). A file both hold with the same content is recorded by the
second as in sync with the first's object (the rebuild records it by content), and a file
the assistant wrote is pulled by both. Neither folder may then lose that file because the
*other* folder edited or deleted its own copy: a mapping never deletes an object another
mapping of the same index still records, since that would delete on the strength of
another folder's state (the other folder would take the deletion for the sandbox's)."""

from __future__ import annotations

import pytest
from test_sync_identity import FIRST, _second, _sync

from support.backend import clear_faults, inject_fault
from support.scenario import World, tree


def test_an_edit_in_one_folder_does_not_trash_the_file_in_the_other(world: World) -> None:
    world.write(FIRST)
    assert world.sync().code == 0
    theirs = {"x.txt": "second project x", "a.txt": FIRST["a.txt"]}
    cfg, root = _second(world, theirs)
    assert _sync(cfg).code == 0  # records a.txt against the first folder's object
    assert world.sync().code == 0
    # the second folder edits a.txt; its upload lands, any delete fails for now
    (root / "a.txt").write_text("second project a, edited")
    inject_fault(world.server, method="DELETE", path_regex=r"/files/", status=503, times=50,
                 retry_after_ms=0)
    _sync(cfg)
    # the first folder sees the new upload (someone else's); while deletes fail, only a
    # sandbox-path manifest (paths assigned by the server) may be left to update later
    first = world.sync()
    assert first.code in (0, 1), first.err
    assert {p["kind"] for p in first.m["problems"]} <= {"manifest-failed"}
    assert (first.m["deleted_remote"], first.m["deleted_local"]) == (0, 0)
    clear_faults(world.server)
    assert _sync(cfg).code == 0
    world.sync()
    assert world.local().get("a.txt") == FIRST["a.txt"], \
        "the first folder lost a.txt because the second folder edited its own copy"
    assert world.trash() == {}
    assert tree(root)["a.txt"] == "second project a, edited"


@pytest.mark.parametrize("change", ["edit", "delete"])
def test_an_assistant_file_both_folders_pulled_stays_in_the_other(
        world: World, change: str) -> None:
    world.write(FIRST)
    assert world.sync().code == 0
    cfg, root = _second(world, {"x.txt": "second project x"})
    assert _sync(cfg).code == 0
    world.assistant_changes({"out.txt": "the assistant's result"})
    assert world.sync().code == 0
    assert _sync(cfg).code == 0
    assert tree(root)["out.txt"] == world.local()["out.txt"] == "the assistant's result"

    if change == "edit":
        (root / "out.txt").write_text("the second folder's own take")
    else:
        (root / "out.txt").unlink()
    second = _sync(cfg)
    assert second.code == 0, second.err
    assert world.sync().code == 0
    assert world.local().get("out.txt") == "the assistant's result", \
        f"the first folder lost out.txt because the second folder's {change} of its copy " \
        "deleted the object both had pulled"
    assert world.trash() == {}
    assert _sync(cfg).code == 0
    assert tree(root).get("out.txt") == (
        "the second folder's own take" if change == "edit" else None)


def test_two_folders_sharing_a_container_keep_their_manifests_still(world: World) -> None:
    """Where the server chooses sandbox paths each folder keeps a manifest at the same name;
    neither takes the other's for a leftover of its own: no cycle deletes and rewrites them
    back and forth."""
    world.write(FIRST)
    cfg, _root = _second(world, {"x.txt": "second project x"})
    for _ in range(2):
        assert world.sync().code == 0
        assert _sync(cfg).code == 0
    before = {o["id"] for o in world.manifests()}
    assert world.sync().code == 0
    assert _sync(cfg).code == 0
    assert {o["id"] for o in world.manifests()} == before
