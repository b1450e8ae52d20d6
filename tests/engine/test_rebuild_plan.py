"""The pure half of the rebuild: which (object, local file) pairs are recorded as bases.

Invariants (Hypothesis): a base is recorded only where the object's content equals the
local file's; each local path and each object is used at most once; a path gets the newest
object of equal content; only uploads (``source: "user"``) become our own."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from containersync.engine.rebuild import INDEX_LOST, candidates, plan_rebuild
from containersync.model.entry import LocalFile, RemoteObject

ROOT = "/mnt/data"
NAMES = ["a.txt", "sub/a.txt", "b.txt", "sub/deep/c.bin"]
CONTENTS = [b"", b"one", b"two", b"three!"]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@st.composite
def worlds(draw: st.DrawFn) -> tuple[dict[str, LocalFile], list[RemoteObject], dict[str, str]]:
    local = {p: LocalFile(p, len(c), 1, _sha(c))
             for p in draw(st.sets(st.sampled_from(NAMES)))
             for c in [draw(st.sampled_from(CONTENTS))]}
    objects, digests = [], {}
    for i in range(draw(st.integers(0, 8))):
        rel = draw(st.sampled_from(NAMES))
        content = draw(st.sampled_from(CONTENTS))
        source = draw(st.sampled_from(["user", "assistant"]))
        server_chosen = source == "user" and draw(st.booleans())
        name = rel.rsplit("/", 1)[-1]
        path = f"{ROOT}/{i:032x}-{name}" if server_chosen else f"{ROOT}/{rel}"
        size = None if draw(st.booleans()) else len(content)
        fid = f"cfile_{i:032x}"
        objects.append(RemoteObject(fid, path, draw(st.integers(1, 4)), source, size))
        digests[fid] = _sha(content)
    return local, objects, digests


@given(worlds())
def test_only_equal_content_is_recorded_once_per_path_and_object(
        world: tuple[dict[str, LocalFile], list[RemoteObject], dict[str, str]]) -> None:
    local, objects, digests = world
    pairs = candidates(objects, local, remote_root=ROOT)
    rebuilt = plan_rebuild(INDEX_LOST, pairs, local, digests, {})
    by_id = {o.file_id: o for o in objects}
    ids = [b.remote_id for b in rebuilt.base.values()]
    assert len(ids) == len(set(ids))
    for path, b in rebuilt.base.items():
        assert b.remote_id is not None and digests[b.remote_id] == local[path].sha256
        assert b.sha256 == local[path].sha256
        obj = by_id[b.remote_id]
        newer_equal = [o for o, p in pairs if p == path and o.file_id not in ids
                       and digests[o.file_id] == local[path].sha256
                       and (o.created_at, o.file_id) > (obj.created_at, obj.file_id)]
        assert newer_equal == []
    assert set(rebuilt.own) == {b.remote_id for b in rebuilt.base.values()
                                if b.source == "user"}
    # every pair that could have matched did, unless its path or object was taken
    for obj, path in pairs:
        if digests[obj.file_id] == local[path].sha256:
            assert path in rebuilt.base or obj.file_id in ids
