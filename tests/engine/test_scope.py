"""A targeted cycle's scope (``engine.scope``) gives the same remote view as the whole
index does: every object at its paths, each mapped where the whole index maps it.

Random index states over a small universe of paths chosen to collide: server-named
uploads, an assistant rewrite at one of our sandbox paths, NFD and Kelvin-sign names that
map to NFC paths, folders in the scope, a path outside the remote root.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from containersync.engine.cycle import _targeted
from containersync.engine.remote import Listing
from containersync.engine.scope import fresh_paths, load
from containersync.index.store import Index
from containersync.model.entry import BaseEntry, RemoteObject
from containersync.model.paths import is_under
from containersync.plan.remote_view import remote_view

M = "m"
ROOT = "/mnt/data"
PULL = frozenset({"assistant"})
LOCAL = ["a.txt", "b.txt", "d/x.txt", "d/e/z.txt", "Caf\u00e9.txt", "K.txt", "d"]
REMOTE = [f"{ROOT}/{p}" for p in LOCAL] + [
    f"{ROOT}/{'0' * 32}-a.txt", f"{ROOT}/{'f' * 32}-x.txt", f"{ROOT}/Cafe\u0301.txt",
    f"{ROOT}/\u212a.txt", f"{ROOT}/d/e", "/elsewhere/q.txt"]
IDS = [f"cfile_{i}" for i in range(10)]
NEW = [f"cfile_n{i}" for i in range(3)]


def objects(ids: list[str]) -> st.SearchStrategy[list[RemoteObject]]:
    one = st.builds(lambda rp, at, src: (rp, at, src), st.sampled_from(REMOTE),
                    st.integers(1, 3), st.sampled_from(["user", "assistant"]))
    return st.lists(one, max_size=len(ids)).map(
        lambda rows: [RemoteObject(ids[i], rp, at, src, 1) for i, (rp, at, src) in enumerate(rows)])


@st.composite
def states(draw: st.DrawFn) -> dict:
    cached = draw(objects(IDS))
    fresh = draw(objects(NEW))
    paths = draw(st.lists(st.sampled_from(LOCAL[:-1]), unique=True))
    remote_ids = draw(st.permutations([*IDS, *([None] * len(paths))]))
    bases = [BaseEntry(p, 1, 1, "00" * 32, remote_ids[i],
                       draw(st.none() | st.sampled_from(REMOTE)), 1, "user")
             for i, p in enumerate(paths)]
    return {
        "cached": cached, "fresh": fresh, "bases": bases,
        "own": draw(st.dictionaries(st.sampled_from([*IDS, *NEW]), st.sampled_from(LOCAL[:-1]))),
        "uploads": draw(st.dictionaries(st.sampled_from(REMOTE), st.sampled_from(LOCAL[:-1]))),
        "known": draw(st.sets(st.sampled_from([*IDS, *NEW]))),
        "only": draw(st.lists(st.sampled_from(LOCAL), unique=True)),
    }


def written(index: Index, s: dict, *, fresh_cached: bool = True) -> None:
    with index.write() as tx:
        tx.ensure_mapping(M)
        # the scoped cycle lists the new objects into the cache before it loads its scope
        # (the pull check, before them: ``fresh_cached=False``)
        tx.add_remote_objects(M, [*s["cached"], *(s["fresh"] if fresh_cached else [])])
        tx.put_bases(M, s["bases"])
        for fid, path in s["own"].items():
            tx.add_own_upload(M, fid, path)
            tx.put_digest(M, fid, "11" * 32)
        for rp, path in s["uploads"].items():
            tx.add_upload_path(M, rp, path)
        tx.add_known(M, [(fid, "") for fid in sorted(s["known"])])


@settings(max_examples=200, deadline=None)
@given(states())
def test_scope_gives_the_view_of_the_whole_index(s: dict) -> None:
    base = {b.path: b for b in s["bases"]}
    cached = sorted(s["cached"], key=lambda o: (o.created_at, o.file_id))
    listing = Listing([*cached, *s["fresh"]], s["fresh"])
    keep = _targeted(s["only"], listing)
    whole = remote_view(listing.objects, base, remote_root=ROOT, pull_sources=PULL,
                        own_ids=s["own"], keep=keep, known=frozenset(s["known"]),
                        upload_paths=s["uploads"])
    with tempfile.TemporaryDirectory() as tmp, Index.open(Path(tmp) / "i.sqlite3") as index:
        written(index, s)
        scope = load(index.scoped, M, s["only"], s["fresh"], remote_root=ROOT,
                     pull_sources=PULL)
        found, _ = fresh_paths(index.scoped, M, s["fresh"], remote_root=ROOT,
                               pull_sources=PULL)
        counts = index.scoped.base_counts(M)
    assert counts == (len(base), sum(1 for b in base.values() if b.remote_id))
    narrowed = remote_view(scope.objects, scope.base, remote_root=ROOT, pull_sources=PULL,
                           own_ids=scope.own, keep=keep, known=scope.known,
                           upload_paths=scope.upload_paths)
    assert narrowed == whole
    covered = set(scope.paths)
    assert {p: b for p, b in scope.base.items() if is_under(p, covered)} == {
        p: b for p, b in base.items() if is_under(p, covered)}
    assert scope.listed == min(1, len(listing.objects))
    for f in whole.files.values():
        assert scope.digests.get(f.file_id) == ("11" * 32 if f.file_id in s["own"] else None)
    # the daemon's pull check: the paths the new objects map to, as with the whole index
    fresh_ids = {o.file_id for o in s["fresh"]}
    view = remote_view(listing.objects, base, remote_root=ROOT, pull_sources=PULL,
                       own_ids=s["own"], upload_paths=s["uploads"],
                       keep=lambda o, _p: o.file_id in fresh_ids)
    assert found == sorted(set(view.files) | {g.path for g in view.garbage})


@settings(max_examples=200, deadline=None)
@given(states(), st.booleans())
def test_the_pull_check_s_scope_is_its_pull_cycle_s(s: dict, pending: bool) -> None:
    """The pull check loads its scope before the new objects are cached; the pull cycle
    it starts caches them, then would load the scope of the check's paths (and of the
    dirty ones, ``pending``). Where the check's scope serves that cycle it is the one the
    cycle would load: the cycle plans with it and reads none of those rows again."""
    with tempfile.TemporaryDirectory() as tmp, Index.open(Path(tmp) / "i.sqlite3") as index:
        written(index, s, fresh_cached=False)
        paths, checked = fresh_paths(index.scoped, M, s["fresh"], remote_root=ROOT,
                                     pull_sources=PULL)
        with index.write() as tx:
            tx.add_remote_objects(M, s["fresh"])
        only = sorted({*paths, *s["only"]}) if pending else paths
        loaded = load(index.scoped, M, only, s["fresh"], remote_root=ROOT, pull_sources=PULL)
    assert (checked is None) == (not s["fresh"])
    if checked is None or not checked.serves(only, s["fresh"]):
        assert pending or not s["fresh"]  # a check's own paths are always served
        return
    assert (checked.objects, checked.base, checked.own, checked.upload_paths, checked.known,
            checked.digests, set(checked.paths), checked.listed, checked.fresh) == (
        loaded.objects, loaded.base, loaded.own, loaded.upload_paths, loaded.known,
        loaded.digests, set(loaded.paths), loaded.listed, loaded.fresh)
