"""A lost index is rebuilt from the container, never answered with a fresh one (issue 7.5).

The index is deleted, truncated to 0 bytes, overwritten with garbage, damaged past its
header, replaced by another mapping's, or an older copy of it is restored. The next sync
finds the mapping's container again (the newest running one with the spec's name),
re-establishes the bases by content, pulls the file the assistant wrote meanwhile, uploads
nothing twice, deletes nothing, exits 0, says that it rebuilt; a second run is a no-op.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from containersync.index.store import Index
from support.scenario import KEY_ENV, World, counts, sync, write, write_config

TREE = {"a.txt": "alpha", "sub/b.txt": "beta", "empty.txt": ""}
ASSISTANT = {"out.txt": "written by the assistant, never pulled"}
LOSSES = ["deleted", "truncated", "garbage", "malformed", "other-mapping", "older-copy"]


def _copy_index(src: Path, dst: Path) -> None:
    """A consistent copy of an index file (SQLite's own backup, WAL included)."""
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)
    a.close()
    b.close()


def _remove_index(world: World) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{world.index_file}{suffix}").unlink(missing_ok=True)


def _other_mappings_index(world: World, tmp: Path) -> Path:
    """The index of a different mapping (another name, another folder, another state dir)."""
    other = tmp / "other"
    write(other / "local", {"theirs.txt": "theirs"})
    cfg = other / "config.toml"
    write_config(cfg, base_url=world.server.base_url, state=other / "state",
                 local=other / "local")
    cfg.write_text(cfg.read_text().replace('name = "m"', 'name = "other"'))
    assert sync(cfg, env={KEY_ENV: "sk-unused"}).code == 0
    return other / "state" / "index.sqlite3"


def _lose(world: World, how: str, tmp: Path, older: Path) -> None:
    if how == "deleted":
        _remove_index(world)
    elif how == "truncated":
        _remove_index(world)
        world.index_file.write_bytes(b"")
    elif how == "garbage":
        _remove_index(world)
        world.index_file.write_bytes(os.urandom(8192))
    elif how == "malformed":
        data = bytearray(world.index_file.read_bytes())
        data[100:] = b"\xa5" * (len(data) - 100)  # header intact, every page overwritten
        _remove_index(world)
        world.index_file.write_bytes(bytes(data))
    elif how == "other-mapping":
        theirs = _other_mappings_index(world, tmp)
        _remove_index(world)
        shutil.copyfile(theirs, world.index_file)
    elif how == "older-copy":
        _remove_index(world)
        shutil.copyfile(older, world.index_file)


def _user_objects_by_name(world: World) -> Counter[str]:
    """How many of our uploads stand for each file name (server-chosen paths keep the name
    after a ``<32 hex>-`` prefix)."""
    names: Counter[str] = Counter()
    for o in world.objects():
        if o["source"] == "user":
            name = o["path"].rsplit("/", 1)[-1]
            if world.assigns_paths:
                name = name.split("-", 1)[1]
            names[name] += 1
    return names


@pytest.mark.parametrize("how", LOSSES)
def test_lost_index_is_rebuilt_from_the_container(world: World, tmp_path: Path,
                                                  how: str) -> None:
    world.write(TREE)
    first = world.sync()
    assert first.code == 0, first.err
    cid = first.m["container_id"]
    older = tmp_path / "older.sqlite3"
    _copy_index(world.index_file, older)
    world.write({"later.txt": "uploaded after the copy was taken"})
    assert world.sync().counts == counts(uploaded=1)
    world.assistant_changes(ASSISTANT)
    want = {**TREE, "later.txt": "uploaded after the copy was taken", **ASSISTANT}

    _lose(world, how, tmp_path, older)
    result = world.sync()

    assert result.code == 0, result.err
    assert result.m["container_id"] == cid, "a new container was started"
    assert result.m["rebuilt"], result.m
    assert "rebuilt" in result.err.lower() or "rebuilt" in result.out.lower()
    assert (result.m["deleted_remote"], result.m["deleted_local"]) == (0, 0)
    assert result.m["uploaded"] == 0 and result.m["downloaded"] == 1
    assert world.local() == want
    assert world.remote() == want
    assert set(_user_objects_by_name(world).values()) == {1}, world.objects()
    if how in ("garbage", "malformed"):
        aside = list(world.state.glob("index.sqlite3.corrupt-*"))
        assert len(aside) == 1 and aside[0].stat().st_size > 0
    again = world.sync()
    assert again.code == 0 and again.counts == counts() and not again.m["rebuilt"]


def test_lost_index_with_edits_on_both_sides_deletes_nothing(world: World) -> None:
    """What changed while the index was gone is merged: a local edit and an assistant edit
    of different files both survive; a file deleted locally is not deleted remotely."""
    world.write(TREE)
    assert world.sync().code == 0
    world.assistant_changes({"sub/b.txt": "beta, rewritten by the assistant"})
    _remove_index(world)
    world.write({"a.txt": "alpha, edited locally", "empty.txt": None})

    result = world.sync()
    assert result.code == 0, result.err
    # nothing of the user's is deleted; the one remote deletion is our own upload of
    # sub/b.txt, superseded by the assistant's rewrite that this run pulled (garbage)
    assert (result.m["deleted_remote"], result.m["deleted_local"]) == (1, 0)
    local = world.local()
    assert local["a.txt"] == "alpha, edited locally"
    assert "beta, rewritten by the assistant" in local.values()
    assert world.remote()["a.txt"] == "alpha, edited locally"
    assert world.sync().counts == counts()


def test_index_damaged_past_what_opening_reads_is_moved_aside_and_rebuilt(world: World) -> None:
    """Damage only a read of the bases finds: the run moves the index aside and rebuilds."""
    files = {f"f{i:03}.txt": f"file {i} " * 20 for i in range(300)}
    world.write(files)
    first = world.sync()
    assert first.code == 0, first.err
    cid = first.m["container_id"]
    world.assistant_changes(ASSISTANT)
    data = bytearray(world.index_file.read_bytes())
    page = 4096
    tail = len(data) - 6 * page  # the last pages: bases and listing rows, not the schema
    data[tail:] = b"\x5a" * (len(data) - tail)
    _remove_index(world)
    world.index_file.write_bytes(bytes(data))
    probe = world.base / "probe.sqlite3"
    probe.write_bytes(bytes(data))
    with Index.open(probe, recover=False) as index:  # opening alone does not notice
        assert index.mapping_names()

    result = world.sync()
    assert result.code == 0, result.err
    assert "damaged" in result.err and "Traceback" not in result.err
    assert result.m["container_id"] == cid and result.m["rebuilt"]
    assert (result.m["uploaded"], result.m["downloaded"]) == (0, 1)
    assert world.local() == {**files, **ASSISTANT}
    assert list(world.state.glob("index.sqlite3.corrupt-*"))
    assert world.sync().counts == counts()


def test_older_copy_naming_an_expired_container_finds_its_replacement(world: World,
                                                                       tmp_path: Path) -> None:
    world.write(TREE)
    assert world.sync().code == 0
    older = tmp_path / "older.sqlite3"
    _copy_index(world.index_file, older)
    world.server.advance_clock(21 * 60)  # the first container expires
    replaced = world.sync()
    assert replaced.code == 0 and replaced.m["new_generation"]
    cid = replaced.m["container_id"]
    world.assistant_changes(ASSISTANT)

    _remove_index(world)
    shutil.copyfile(older, world.index_file)
    result = world.sync()
    assert result.code == 0, result.err
    assert result.m["container_id"] == cid and result.m["rebuilt"]
    assert (result.m["uploaded"], result.m["downloaded"]) == (0, 1)
    assert world.local() == {**TREE, **ASSISTANT}
    assert set(_user_objects_by_name(world).values()) == {1}
    assert world.sync().counts == counts()
