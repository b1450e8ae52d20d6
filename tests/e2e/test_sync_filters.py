"""Ignore rules end to end: ``exclude`` patterns, ``.containersyncignore``, the secret
defaults (held back, listed in JSON ``held_back``), ``!`` re-include, and a rules change
that re-baselines without deleting what became ignored on either side.
"""

from __future__ import annotations

from support.scenario import World, counts


def test_excludes_ignore_file_and_secrets(world: World) -> None:
    world.configure(exclude=["*.log", "build/"])
    world.write({"a.txt": "a", "run.log": "log", "build/out.bin": "o", "tmp/scratch": "s",
                 ".containersyncignore": "tmp/\n", ".env": "KEY=1", "certs/server.pem": "p",
                 "notes.swp": "swap", "src/__pycache__/m.pyc": "pyc"})
    result = world.sync()
    assert result.code == 0, result.err
    assert sorted(result.m["held_back"]) == [".env", "certs/server.pem"]
    assert "held back 2 secret file(s)" in result.err
    assert world.remote() == {"a.txt": "a", ".containersyncignore": "tmp/\n"}
    # ignored paths the assistant writes are not pulled either
    world.assistant_changes({"debug.log": "remote log", "tmp/x": "remote tmp", "b.txt": "b"})
    pulled = world.sync()
    assert pulled.counts == counts(downloaded=1)
    assert not (world.root / "debug.log").exists() and (world.root / "b.txt").exists()
    # the held-back files are said once, not on every run, and again when the set changes
    assert pulled.m["held_back"] == result.m["held_back"]
    assert "held back" not in pulled.err
    world.write({".env.local": "K=2"})
    assert "held back 3 secret file(s)" in world.sync().err


def test_reinclude_with_bang(world: World) -> None:
    world.configure(exclude=["!.env.example", "*.log", "!keep.log"])
    world.write({".env.example": "KEY=", ".env": "KEY=secret", "a.log": "x", "keep.log": "k"})
    result = world.sync()
    assert result.code == 0, result.err
    assert result.m["held_back"] == [".env"]
    assert world.remote() == {".env.example": "KEY=", "keep.log": "k"}


def test_changing_the_rules_rebaselines_and_deletes_nothing(world: World) -> None:
    world.write({"a.txt": "a", "data/big.csv": "1,2", "data/small.csv": "3", "x.md": "x"})
    assert world.sync().counts == counts(uploaded=4)
    remote_before = world.remote()

    world.configure(exclude=["data/"])  # data/ becomes ignored on both sides
    first = world.sync()
    assert (first.code, first.counts) == (0, counts())
    assert world.remote() == remote_before  # nothing deleted remotely
    assert world.local() == remote_before  # nor locally
    # ignored now: changes to it go nowhere, in both directions
    world.write({"data/big.csv": "changed locally"})
    world.assistant_changes({"data/small.csv": "changed remotely"})
    quiet = world.sync()
    assert (quiet.code, quiet.counts) == (0, counts())
    assert (world.root / "data/small.csv").read_text() == "3"

    world.configure()  # rules back: both versions meet again, as a conflict, nothing lost
    again = world.sync()
    assert again.code == 0, again.err
    assert again.m["deleted_local"] == 0
    # only our own two uploads from before the rules changed, superseded now (garbage)
    assert again.m["deleted_remote"] == 2
    local = world.local()
    assert local["data/big.csv"] == "changed locally"
    assert "changed remotely" in local.values() and "3" in local.values()
