"""Folders and remote deletions.

Choice (like rclone bisync's ``--remove-empty-dirs``, but narrower): a local folder that
becomes empty because *this program* moved its files to the trash (the assistant deleted
them) is removed, and so are parents emptied that way. A folder the user emptied, a folder
that was empty already, and the local root are never removed. An empty local folder is not
an error (there are no folders on the remote side; it simply has nothing to sync).
"""

from __future__ import annotations

from support.scenario import World, counts

STABLE = {f"stable/{i}.txt": str(i) for i in range(4)}
TREE = {**STABLE, "keep.txt": "k", "sub/x.txt": "x", "sub/deep/y.txt": "y",
        "mixed/z.txt": "z", "mixed/stay.txt": "s", "user-emptied/w.txt": "w"}


def _dirs(world: World) -> set[str]:
    return {p.relative_to(world.root).as_posix() for p in world.root.rglob("*") if p.is_dir()}


def test_folders_emptied_by_remote_deletions_are_removed(world: World) -> None:
    world.write(TREE)
    (world.root / "user-empty").mkdir()
    first = world.sync()
    assert (first.code, first.m["problems"]) == (0, []), first.err  # empty folder: fine

    world.write({"user-emptied/w.txt": None})
    world.assistant_changes({"sub/x.txt": None, "sub/deep/y.txt": None, "mixed/z.txt": None})
    result = world.sync()
    assert result.code == 0, result.err
    assert result.counts == counts(deleted_local=3, deleted_remote=1)
    assert _dirs(world) == {"stable", "mixed", "user-empty", "user-emptied"}
    assert world.trash() == {"sub/x.txt": "x", "sub/deep/y.txt": "y", "mixed/z.txt": "z"}
    assert world.local() == world.remote()
    assert world.sync().counts == counts()


def test_a_folder_that_fills_again_is_kept(world: World) -> None:
    world.write({**STABLE, "sub/x.txt": "x"})
    assert world.sync().code == 0
    # the assistant deletes the last file but writes a new one in the same folder
    world.assistant_changes({"sub/x.txt": None, "sub/new.txt": "n"})
    result = world.sync()
    assert result.counts == counts(deleted_local=1, downloaded=1)
    assert world.local() == {**STABLE, "sub/new.txt": "n"}


def test_the_root_is_never_removed(world: World) -> None:
    world.write({"only.txt": "o"})
    assert world.sync().code == 0
    world.assistant_changes({"only.txt": None})
    result = world.sync()
    assert (result.code, result.counts) == (0, counts(deleted_local=1))
    assert world.root.is_dir() and world.local() == {}
