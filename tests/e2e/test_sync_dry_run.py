"""``sync --dry-run`` prints the plan and changes nothing anywhere.

"Nothing" is checked on every side a real run would touch: the remote listing (same object
ids), the index file (same bytes and mtime; absent stays absent, and no container is
created), the local tree (same content and mtimes, folders included) and the trash.
"""

from __future__ import annotations

import hashlib

from support.backend import add_assistant_file, raw
from support.scenario import World, mtimes


def _index_state(world: World) -> tuple[str, int] | None:
    f = world.index_file
    if not f.exists():
        return None
    return hashlib.sha256(f.read_bytes()).hexdigest(), f.stat().st_mtime_ns


def _containers(world: World) -> list[str]:
    with raw(world.server) as client:
        return [c["id"] for c in client.get("/v1/containers").json()["data"]]


def test_dry_run_changes_nothing_and_shows_the_plan(world: World) -> None:
    world.write({"keep.txt": "k", "mod.txt": "v1", "del.txt": "d", "rdel.txt": "r",
                 "rmod.txt": "v1", "x.txt": "x"})
    assert world.sync().code == 0
    world.assistant_changes({"rnew.txt": "from the assistant", "rdel.txt": None,
                             "rmod.txt": "v2"})
    world.write({"new.txt": "n", "mod.txt": "v2", "del.txt": None})
    cid = world.cid
    objects, index, local, trash = world.objects(), _index_state(world), mtimes(world.root), \
        world.trash()
    tree = world.local()

    result = world.sync("--dry-run")
    assert result.code == 0, result.err
    m = result.m
    assert m["dry_run"] is True and m["container_id"] == cid
    assert m["uploaded"] == m["downloaded"] == m["deleted_remote"] == m["deleted_local"] == 0
    plan = sorted((a["action"], a["path"]) for a in m["plan"])
    # rmod.txt: our upload superseded by the assistant's is garbage, deleted by id
    assert plan == [("DeleteRemote", "del.txt"), ("DeleteRemote", "rmod.txt"),
                    ("Download", "rmod.txt"), ("Download", "rnew.txt"),
                    ("TrashLocal", "rdel.txt"), ("Upload", "mod.txt"), ("Upload", "new.txt")]

    text = world.sync("--dry-run", json_out=False)
    assert text.code == 0
    assert "would sync" in text.out and "would Upload: new.txt" in text.out
    assert "would TrashLocal: rdel.txt" in text.out

    assert world.objects() == objects
    assert _index_state(world) == index
    assert mtimes(world.root) == local and world.local() == tree
    assert world.trash() == trash
    assert _containers(world) == [cid]

    real = world.sync()  # the plan shown is the plan carried out
    assert real.counts == {"uploaded": 2, "downloaded": 2, "deleted_remote": 2,
                           "deleted_local": 1, "conflicts": 0}


def test_dry_run_before_the_first_sync_creates_nothing(world: World) -> None:
    world.write({"a.txt": "a", "sub/b.txt": "b"})
    local = mtimes(world.root)
    result = world.sync("--dry-run")
    assert result.code == 0, result.err
    assert result.m["container_id"] is None and result.m["new_generation"] is True
    assert sorted((a["action"], a["path"]) for a in result.m["plan"]) == [
        ("Upload", "a.txt"), ("Upload", "sub/b.txt")]
    assert not world.index_file.exists()
    assert _containers(world) == []
    assert mtimes(world.root) == local


def test_dry_run_of_a_halt_still_exits_3_and_records_no_halt(world: World) -> None:
    world.write({f"f{i}": str(i) for i in range(4)})
    assert world.sync().code == 0
    world.write(dict.fromkeys(["f0", "f1", "f2"]))
    index = _index_state(world)
    result = world.sync("--dry-run")
    assert result.code == 3 and result.m["status"] == "halted"
    assert _index_state(world) == index


def test_dry_run_says_what_it_would_change_with_counts_and_bytes(world: World) -> None:
    """It used to say `"status": "converged"` with an upload pending, and no bytes."""
    world.write({"keep.txt": "k", "both.txt": "v1", "gone.txt": "g", "rgone.txt": "r"})
    assert world.sync().code == 0
    world.assistant_changes({"both.txt": "theirs!", "rgone.txt": None})  # listed bytes: null
    add_assistant_file(world.server, world.cid, "/mnt/data/out.csv", b"1,2,3\n",
                       record_bytes=True)
    world.write({"new.bin": b"\0" * 3000, "both.txt": "mine", "gone.txt": None})

    result = world.sync("--dry-run")
    assert result.code == 0, result.err  # exit code unchanged: a plan is not a problem
    m = result.m
    assert m["status"] == "pending" and result.json["dry_run"] is True
    would = {k: v for k, v in m.items() if k.startswith("would_")}
    # both.txt: the sandbox's version is saved as a conflict copy, ours uploaded over it
    assert would == {"would_upload": 2, "would_upload_bytes": 3000 + 4,
                     "would_download": 1, "would_download_bytes": 6,
                     "would_download_unsized": 1, "would_delete_remote": 2,
                     "would_delete_local": 1, "would_conflict": 1}
    sizes = {(a["action"], a["path"]): a.get("bytes") for a in m["plan"]}
    assert sizes[("Upload", "new.bin")] == 3000 and sizes[("Download", "out.csv")] == 6
    assert sizes[("SaveConflictCopy", "both.txt")] is None  # the listing did not say

    text = world.sync("--dry-run", json_out=False)
    assert text.code == 0
    summary = text.out.splitlines()[0]
    assert "would" in summary and "converged" not in text.out
    assert "↑2 ↓1" in summary and "delete remote 2 local 1" in summary
    assert "conflicts 1" in summary and "↑2.9 KiB ↓6 B (+1 of unknown size)" in summary
    assert "would Upload: new.bin (2.9 KiB)" in text.out

    # the counts of the plan are the counts of the run that carries it out
    assert world.sync().counts == {"uploaded": 2, "downloaded": 1, "deleted_remote": 2,
                                   "deleted_local": 1, "conflicts": 1}
    after = world.sync("--dry-run")
    assert after.code == 0 and after.m["status"] == "converged"
    assert after.m["would_upload"] == after.m["would_download"] == 0
    assert "nothing to change" in world.sync("--dry-run", json_out=False).out
