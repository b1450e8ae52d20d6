"""The index round-trips every record the sync engine keeps, on a real SQLite file."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from containersync.errors import InvariantViolation
from containersync.index import Index, IntentKind
from containersync.index.migrate import shipped_steps
from containersync.index.store import index_path, row_of
from containersync.model.entry import BaseEntry, Problem, RemoteObject
from containersync.model.manifest import sandbox_paths

A = "analysis"


@pytest.fixture
def index(tmp_path: Path):
    with Index.open(index_path(tmp_path / "state" / "deep")) as idx:
        yield idx


def _base(path: str, remote_id: str | None = "cfile_1") -> BaseEntry:
    return BaseEntry(path=path, size=3, mtime_ns=1_700_000_000_000_000_000, sha256="ab" * 32,
                     remote_id=remote_id, remote_path=f"/mnt/data/{path}",
                     remote_created_at=1_700_000_000, source="user")


def test_open_creates_folders_and_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "index.sqlite3"
    with Index.open(path) as idx:
        assert idx.schema_version == len(shipped_steps())
        assert path.exists()
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    raw.close()


def test_unknown_mapping_reads_empty(index: Index) -> None:
    assert index.mapping("nope") is None
    assert index.bases("nope") == {}
    assert index.intents("nope") == []


def test_mapping_state_round_trip(index: Index) -> None:
    with index.write() as tx:
        tx.ensure_mapping(A)
    state = index.mapping(A)
    assert state is not None and state.generation == 0 and state.container_id is None
    with index.write() as tx:
        assert tx.attach_container(A, "cntr_1", "analysis-sandbox", adopted=False) == 1
        tx.set_halt(A, "too-many-deletions", "would delete 9 of 10 files", 100.0)
        tx.set_times(A, last_push=10.0, last_pull=11.0)
        tx.set_times(A, last_full_list=12.0)
        tx.set_summary(A, {"uploaded": 3, "problems": []})
        tx.set_rules_fingerprint(A, "fp1")
    state = index.mapping(A)
    assert state is not None
    assert (state.container_id, state.container_name, state.adopted, state.generation) == (
        "cntr_1", "analysis-sandbox", False, 1)
    assert state.halt is not None and state.halt.rail == "too-many-deletions"
    assert state.halt.since == 100.0
    assert (state.last_push, state.last_pull, state.last_full_list) == (10.0, 11.0, 12.0)
    assert state.summary == {"uploaded": 3, "problems": []}
    assert state.rules_fingerprint == "fp1"
    with index.write() as tx:
        tx.clear_halt(A)
    state = index.mapping(A)
    assert state is not None and state.halt is None and state.last_push == 10.0


def test_attach_container_starts_a_new_generation(index: Index) -> None:
    with index.write() as tx:
        tx.ensure_mapping(A)
        tx.attach_container(A, "cntr_1", "s", adopted=False)
        tx.put_base(A, _base("a.txt"))
        tx.add_own_upload(A, "cfile_1", "a.txt")
        tx.put_digest(A, "cfile_1", "ab" * 32)
        tx.add_remote_objects(A, [RemoteObject("cfile_1", "/mnt/data/a.txt", 5, "user", 3)])
        tx.set_times(A, last_pull=1.0, last_full_list=2.0, last_push=3.0)
    with index.write() as tx:
        assert tx.attach_container(A, "cntr_2", "s", adopted=True) == 2
    state = index.mapping(A)
    assert state is not None and state.generation == 2 and state.adopted
    assert state.container_id == "cntr_2"
    assert state.last_pull is None and state.last_full_list is None and state.last_push == 3.0
    base = index.bases(A)["a.txt"]
    assert (base.size, base.sha256) == (3, "ab" * 32)
    assert (base.remote_id, base.remote_path, base.remote_created_at, base.source) == (
        None, None, None, None)
    assert index.own_uploads(A) == {}
    assert index.digests(A) == {}
    assert index.remote_cache(A) == [] and index.cached_among(A, ["cfile_a"]) == set()


def test_bases_uploads_digests(index: Index) -> None:
    with index.write() as tx:
        tx.ensure_mapping(A)
        tx.put_base(A, _base("a.txt"))
        tx.put_base(A, _base("dir/b.txt", remote_id=None))
        tx.add_own_upload(A, "cfile_1", "a.txt")
        tx.add_own_upload(A, "cfile_2", "a.txt")
        tx.put_digest(A, "cfile_1", "11" * 32)
        tx.put_digest(A, "cfile_9", "99" * 32)
    assert index.bases(A) == {"a.txt": _base("a.txt"),
                              "dir/b.txt": _base("dir/b.txt", remote_id=None)}
    assert index.own_uploads(A) == {"cfile_1": "a.txt", "cfile_2": "a.txt"}
    assert index.digests(A) == {"cfile_1": "11" * 32, "cfile_9": "99" * 32}
    with index.write() as tx:
        tx.drop_base(A, "a.txt")
        tx.remove_own_upload(A, "cfile_1")
    assert set(index.bases(A)) == {"dir/b.txt"}
    assert index.own_uploads(A) == {"cfile_2": "a.txt"}


def test_remote_cache_newest_first(index: Index) -> None:
    objs = [RemoteObject("cfile_a", "/mnt/data/a", 10, "user", 1),
            RemoteObject("cfile_c", "/mnt/data/c", 20, "assistant", None),
            RemoteObject("cfile_b", "/mnt/data/b", 20, "assistant", 7)]
    with index.write() as tx:
        tx.ensure_mapping(A)
        tx.add_remote_objects(A, objs)
    assert [o.file_id for o in index.remote_cache(A)] == ["cfile_c", "cfile_b", "cfile_a"]
    assert index.remote_cache(A)[0].bytes is None
    # the rows a full listing is compared with are the cached objects' own fields
    assert index.cached_rows(A) == {o.file_id: row_of(o) for o in objs}
    with index.write() as tx:
        tx.add_remote_objects(A, [RemoteObject("cfile_d", "/mnt/data/d", 30, "user", 2)])
        tx.remove_remote_objects(A, ["cfile_a"])
    assert {o.file_id for o in index.remote_cache(A)} == {"cfile_b", "cfile_c", "cfile_d"}
    asked = ["cfile_a", "cfile_d", "cfile_x", "cfile_b"]
    assert index.cached_among(A, asked) == {"cfile_b", "cfile_d"}
    assert index.cached_among(A, [f"cfile_{i}" for i in range(1200)]) == set()  # chunked


def test_intents_conflicts_problems(index: Index) -> None:
    with index.write() as tx:
        tx.ensure_mapping(A)
        tx.attach_container(A, "cntr_1", "s", adopted=False)
        first = tx.add_intent(A, "upload", path="a.txt", sha256="ab" * 32, size=3,
                              remote_path="/mnt/data/a.txt", started_at=5.0)
        second = tx.add_intent(A, IntentKind.DELETE_REMOTE, path="b.txt",
                               file_id="cfile_9", started_at=6.0)
        tx.add_conflict(A, "r.csv", "r.conflict-20261123-101500.csv", "cfile_3", 7.0)
        tx.set_problems(A, [Problem("x", "symlink", "not followed"),
                            Problem("y", "upload-failed", "413")], at=8.0)
    intents = index.intents(A)
    assert [(i.id, i.kind, i.path, i.generation) for i in intents] == [
        (first, IntentKind.UPLOAD, "a.txt", 1), (second, IntentKind.DELETE_REMOTE, "b.txt", 1)]
    assert intents[0].size == 3 and intents[1].file_id == "cfile_9"
    assert [(c.path, c.copy_path, c.remote_id) for c in index.conflicts(A)] == [
        ("r.csv", "r.conflict-20261123-101500.csv", "cfile_3")]
    with index.write() as tx:
        tx.clear_intent(first)
        tx.set_problems(A, [Problem("x", "symlink", "still not followed")], at=9.0)
        tx.remove_conflict(A, "r.conflict-20261123-101500.csv")
    assert [i.id for i in index.intents(A)] == [second]
    [problem] = index.problems(A)
    assert (problem.path, problem.message, problem.first_seen, problem.last_seen) == (
        "x", "still not followed", 8.0, 9.0)
    assert index.conflicts(A) == []


def test_bad_intent_kind_is_refused(index: Index) -> None:
    with pytest.raises(ValueError), index.write() as tx:
        tx.ensure_mapping(A)
        tx.add_intent(A, "rename", path="a", started_at=1.0)
    assert index.mapping(A) is None  # rolled back as a whole


def test_write_rolls_back_on_error(index: Index) -> None:
    with index.write() as tx:
        tx.ensure_mapping(A)
        tx.put_base(A, _base("keep.txt"))

    class Boom(Exception):
        pass

    with pytest.raises(Boom), index.write() as tx:
        tx.drop_base(A, "keep.txt")
        tx.put_base(A, _base("new.txt"))
        raise Boom
    assert set(index.bases(A)) == {"keep.txt"}
    with index.write() as tx:  # the connection is usable again
        tx.put_base(A, _base("after.txt"))
    assert set(index.bases(A)) == {"keep.txt", "after.txt"}


def test_writes_need_the_mapping_row_and_no_nesting(index: Index) -> None:
    with pytest.raises(InvariantViolation, match="ensure_mapping"), index.write() as tx:
        tx.put_base("typo", _base("a"))
    with index.write() as tx:
        tx.ensure_mapping(A)
        with pytest.raises(InvariantViolation, match="nested"), index.write():
            pass
    with pytest.raises(InvariantViolation, match="after its transaction"):
        tx.ensure_mapping(A)


def test_data_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite3"
    with Index.open(path) as idx, idx.write() as tx:
        tx.ensure_mapping(A)
        tx.put_bases(A, [_base("a"), _base("b")])
        tx.add_intent(A, "create-container", started_at=4.0)
    with Index.open(path) as idx:  # as a restarted process would, to settle intents
        assert idx.bases(A) == {"a": _base("a"), "b": _base("b")}
        [intent] = idx.intents(A)
        assert (intent.kind, intent.path, intent.started_at) == (
            IntentKind.CREATE_CONTAINER, None, 4.0)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=8),
    st.sampled_from(["both", "no-id", "no-path"]), max_size=12))
def test_sandbox_paths_are_the_manifests_reading_of_the_bases(index: Index,
                                                               paths: dict[str, str]) -> None:
    """What the manifest step reads (two columns, in SQLite's order) is what
    ``model.manifest.sandbox_paths`` makes of the whole bases, order included (TEXT
    compares as UTF-8 bytes: code point order, as Python sorts ``str``)."""
    bases = [BaseEntry(p, 1, 2, "ab" * 32,
                       None if kind == "no-id" else f"cfile_{i}",
                       None if kind == "no-path" else f"/mnt/data/x{i}")
             for i, (p, kind) in enumerate(paths.items())]
    with index.write() as tx:
        tx.ensure_mapping(A)
        for old in index.bases(A):
            tx.drop_base(A, old)
        tx.put_bases(A, bases)
    got = index.sandbox_paths(A)
    want = sandbox_paths(index.bases(A))
    assert got == want and list(got) == list(want)


def test_claimed_elsewhere_names_what_other_mappings_record_and_nothing_of_ours(
        index: Index) -> None:
    with index.write() as tx:
        for name in (A, "other", "third"):
            tx.ensure_mapping(name)
        tx.put_bases(A, [_base("mine.txt", "cfile_mine"), _base("both.txt", "cfile_both")])
        tx.add_own_upload(A, "cfile_own_here", "x.txt")
        tx.put_bases("other", [_base("both.txt", "cfile_both")])
        tx.add_own_upload("third", "cfile_old_of_third", "y.txt")
        tx.set_manifest("third", "cfile_manifest_of_third", "/mnt/data/m.json", "cd" * 32)
        tx.set_manifest(A, "cfile_manifest_here", "/mnt/data/m.json", "cd" * 32)
    asked = {"cfile_mine", "cfile_both", "cfile_own_here", "cfile_old_of_third", "cfile_none",
             "cfile_manifest_of_third", "cfile_manifest_here"}
    assert index.scoped.claimed_elsewhere(A, asked) == {
        "cfile_both", "cfile_old_of_third", "cfile_manifest_of_third"}
    assert index.scoped.claimed_elsewhere("other", asked) == {
        "cfile_mine", "cfile_both", "cfile_own_here", "cfile_old_of_third",
        "cfile_manifest_of_third", "cfile_manifest_here"}
    assert index.scoped.claimed_elsewhere(A, set()) == set()


def _listed(b: BaseEntry, **changes: object) -> RemoteObject:
    """``b``'s object as a listing returns it: equal values in strings of its own (the wire
    decoder's), with ``changes`` applied."""
    assert b.remote_id is not None and b.remote_path is not None
    fields: dict[str, object] = {
        "file_id": "".join(b.remote_id), "remote_path": "".join(b.remote_path),
        "created_at": b.remote_created_at, "source": "".join(b.source or ""), "bytes": b.size}
    fields.update(changes)
    return RemoteObject(**fields)  # type: ignore[arg-type]


def test_bases_read_beside_a_listing_hold_its_strings_once(index: Index) -> None:
    """A full cycle reads the bases while its listing is alive; a base whose remote half
    equals its listed object takes that object's strings (the listing's objects go while
    the view is made, the base's strings stay), never a value that differs from the row."""
    same, moved, newer, other = (_base(p, f"cfile_{p[0]}") for p in
                                 ("same.txt", "moved.txt", "newer.txt", "other.txt"))
    with index.write() as tx:
        tx.ensure_mapping(A)
        tx.put_bases(A, [same, moved, newer, other])
    listing = [_listed(same), _listed(moved, remote_path="/mnt/data/elsewhere.txt"),
               _listed(newer, created_at=1_800_000_000)]
    by_id = {o.file_id: o for o in listing}
    read = index.bases(A, listed=by_id)
    assert read == index.bases(A) == {b.path: b for b in (same, moved, newer, other)}
    held = read["same.txt"]
    assert held.remote_id is listing[0].file_id and held.remote_path is listing[0].remote_path
    # a listed object that differs from the row leaves the row's own values
    assert read["moved.txt"].remote_path == "/mnt/data/moved.txt"
    assert read["newer.txt"].remote_created_at == 1_700_000_000
    assert read["moved.txt"].remote_id is not listing[1].file_id


def test_sandbox_paths_share_the_strings_of_bases_in_hand(index: Index) -> None:
    a, b = _base("a.txt", "cfile_a"), _base("b.txt", "cfile_b")
    with index.write() as tx:
        tx.ensure_mapping(A)
        tx.put_bases(A, [a, b])
    stale = {"a.txt": index.bases(A)["a.txt"],
             "b.txt": replace(b, remote_path="/mnt/data/old-b.txt")}
    paths = index.sandbox_paths(A, shared=stale)
    assert paths == index.sandbox_paths(A) == {"a.txt": "/mnt/data/a.txt",
                                               "b.txt": "/mnt/data/b.txt"}
    assert next(iter(paths)) is stale["a.txt"].path
    assert paths["a.txt"] is stale["a.txt"].remote_path
