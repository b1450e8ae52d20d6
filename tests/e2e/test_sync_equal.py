"""Identical trees on both sides: nothing is transferred, and a second run does nothing.

Two starting points, each in both path modes: a fresh container (the first sync uploads
everything once, the second does nothing), and a container the assistant already filled
with exactly the local tree (adopted by id: the first sync only records bases, no upload,
no download, no conflict).
"""

from __future__ import annotations

from support.scenario import World, counts

TREE = {"a.txt": "alpha", "sub/b.txt": "beta", "sub/deep/c.md": "# gamma\n", "empty": ""}


def test_first_sync_uploads_once_then_nothing(world: World) -> None:
    world.write(TREE)
    world.age()  # not written within a timestamp tick of the sync (tests/e2e/test_sync_racy.py)
    first = world.sync()
    assert (first.code, first.counts) == (0, counts(uploaded=len(TREE)))
    objects = world.objects()
    second = world.sync()
    assert (second.code, second.counts) == (0, counts())
    assert second.m["bytes_up"] == second.m["bytes_down"] == 0
    assert second.m["files_hashed"] == 0  # unchanged size+mtime: nothing re-read
    assert world.objects() == objects
    assert world.local() == world.remote() == TREE


def test_identical_trees_at_first_sync_transfer_nothing(world: World) -> None:
    world.adopt()
    world.write(TREE)
    world.assistant("mkdir -p sub/deep && printf alpha > a.txt && "
              "printf beta > sub/b.txt && printf '# gamma\\n' > sub/deep/c.md && : > empty")
    objects = world.objects()

    first = world.sync()
    assert first.code == 0, first.err
    assert first.counts == counts()
    assert first.m["bytes_up"] == first.m["bytes_down"] == 0
    assert world.objects() == objects  # nothing uploaded, nothing deleted
    second = world.sync()
    assert (second.code, second.counts) == (0, counts())
    assert world.objects() == objects
    assert world.local() == world.remote() == TREE
