"""A full listing that comes back short (the server left part of a page out) must not
make the engine forget what it knew. The backend's ``omit`` fault leaves the first objects
out of one list answer, ``has_more`` untouched: to the client the missing object looks
deleted for one listing, and is back at the next."""

from __future__ import annotations

from support.backend import inject_fault
from support.scenario import World, counts


def short_listing(world: World, missing: str) -> None:
    """Make the next listing leave out every object up to ``missing``'s (oldest first)."""
    listed = [o["id"] for o in world.all_objects()]
    inject_fault(world.server, method="GET", path_regex=r"/files$", when="pass",
                 omit=listed.index(missing) + 1, times=1)


def test_a_file_a_short_listing_missed_is_never_trashed(world: World) -> None:
    """A local file goes to the trash only once its remote object is known gone: asked
    by id (SYNC_SEMANTICS rail 5, "re-check before acting"), not inferred from a listing
    that can come back short. Before, the copy went to the trash and the base was
    dropped, which forgot our upload: listed again, the object was someone else's
    (source user, never pulled), so the folder and the container differed for good."""
    world.write({"x.txt": "mine"})
    assert world.sync().code == 0
    world.server.advance_clock(1)
    world.write({"a.txt": "a", "b.txt": "b", "c.txt": "c"})  # listed after x.txt
    assert world.sync().code == 0
    ours = next(o for o in world.objects() if o["path"].endswith("x.txt"))
    short_listing(world, ours["id"])
    short = world.sync()
    assert short.counts["deleted_local"] == 0
    assert short.code == 1  # a problem of that path, for the next sync to settle
    assert [p["kind"] for p in short.m["problems"]] == ["listing-missed"]
    assert world.local().get("x.txt") == "mine"
    assert world.trash() == {}
    again = world.sync()  # x.txt is listed again, unchanged
    assert again.code == 0, again.out
    assert again.counts == counts()
    assert world.local().get("x.txt") == "mine"


def test_a_file_deleted_in_the_sandbox_still_goes_to_the_trash(world: World) -> None:
    world.write({"x.txt": "mine", "y.txt": "kept"})
    assert world.sync().code == 0
    world.assistant_changes({"x.txt": None})
    gone = world.sync()
    assert gone.code == 0, gone.out
    assert gone.counts["deleted_local"] == 1
    assert world.local() == {"y.txt": "kept"}
    assert world.trash() == {"x.txt": "mine"}
