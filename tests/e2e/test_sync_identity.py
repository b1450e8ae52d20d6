"""State belongs to a mapping's identity, not its name (issue 7.8).

Two configs that share the state dir and a mapping name but map different folders are two
mappings: neither deletes the other's files, with or without ``--force``. Re-pointing
``local`` at another folder is a new mapping: it merges with what the container holds and
deletes nothing remotely.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from support.scenario import KEY_ENV, SyncResult, World, sync, tree, write, write_config

FIRST = {"a.txt": "first project a", "b.txt": "first project b"}


def _second(world: World, files: dict[str, str]) -> tuple[Path, Path]:
    """A second config: same state dir, same mapping name, another folder."""
    root = world.base / "second"
    write(root, files)
    cfg = world.base / "second.toml"
    write_config(cfg, base_url=world.server.base_url, state=world.state, local=root)
    return cfg, root


def _sync(cfg: Path, *flags: str) -> SyncResult:
    return sync(cfg, *flags, env={KEY_ENV: "sk-unused"})


def _deleted(result: SyncResult) -> tuple[int, int]:
    return result.m["deleted_remote"], result.m["deleted_local"]


@pytest.mark.parametrize("force", [False, True], ids=["plain", "force"])
@pytest.mark.parametrize("shared", [0, 1], ids=["disjoint", "one-in-common"])
def test_two_configs_sharing_a_name_never_delete_each_others_files(
        world: World, force: bool, shared: int) -> None:
    world.write(FIRST)
    assert world.sync().code == 0
    theirs = {"x.txt": "second project x"}
    if shared:
        theirs["a.txt"] = FIRST["a.txt"]
    cfg, root = _second(world, theirs)
    flags = ("--force",) if force else ()

    second = _sync(cfg, *flags)
    assert second.code == 0, second.err + second.out
    assert _deleted(second) == (0, 0)
    assert "would delete" not in second.out + second.err
    assert tree(root) == theirs
    remote = world.remote()
    assert {k: remote[k] for k in FIRST} == FIRST

    again = world.sync(*flags)
    assert again.code == 0, again.err
    assert _deleted(again) == (0, 0)
    assert world.local() == FIRST
    assert _deleted(_sync(cfg, *flags)) == (0, 0)
    assert tree(root) == theirs


def test_repointing_local_deletes_nothing_remotely(world: World) -> None:
    world.write(FIRST)
    assert world.sync().code == 0
    before = {o["id"] for o in world.objects()}
    moved = world.base / "elsewhere"
    write(moved, {"c.txt": "only here", "a.txt": FIRST["a.txt"]})
    write_config(world.config, base_url=world.server.base_url, state=world.state, local=moved)

    result = world.sync("--force")
    assert result.code == 0, result.err
    assert _deleted(result) == (0, 0)
    assert before <= {o["id"] for o in world.objects()}
    assert result.m["uploaded"] == 1, "a.txt holds the same content: recorded, not sent"
    assert tree(moved) == {"c.txt": "only here", "a.txt": FIRST["a.txt"]}
