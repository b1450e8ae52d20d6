"""remote_problems: what cannot be pulled is taken out of ``files`` with a problem; nothing
is lost from the view, and an object the index tracks is never taken out."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from planfix import ROOT, base

from containersync.model.entry import LocalFile, RemoteObject, RemoteView
from containersync.plan.remote_problems import (
    BLOCKED_BY_SYMLINK,
    CONFLICT_COPY_NAME,
    FILE_UNDER_FILE,
    FOLDER_IN_THE_WAY,
    NAME_COLLISION,
    screen_local,
)
from containersync.plan.remote_view import remote_view

NFC, NFD = "caf\u00e9", "cafe\u0301"


def obj(file_id: str, rel: str, created_at: int = 100,
        source: str = "assistant") -> RemoteObject:
    return RemoteObject(file_id=file_id, remote_path=f"{ROOT}/{rel}", created_at=created_at,
                        source=source)


def kinds(view: RemoteView) -> list[tuple[str, str]]:
    return [(p.kind, p.path) for p in view.problems]


@pytest.mark.parametrize(("objects", "files", "problems"), [
    ([obj("a", NFC, 1), obj("b", NFD, 2)], [NFC], [(NAME_COLLISION, NFC)]),
    ([obj("a", "x.txt", 1), obj("b", "x.txt", 2)], ["x.txt"], []),  # versions, not twins
    ([obj("a", NFC, 1, "user"), obj("b", NFD, 2)], [NFC], []),  # the user one is not pulled
    ([obj("a", "r.conflict-20261123-101500.csv")], [],
     [(CONFLICT_COPY_NAME, "r.conflict-20261123-101500.csv")]),
    ([obj("a", "x.txt"), obj("b", "x.txt/child")], ["x.txt"], [(FILE_UNDER_FILE, "x.txt/child")]),
    ([obj("a", "x.txt/child"), obj("b", "x.txt", 200)], ["x.txt"],
     [(FILE_UNDER_FILE, "x.txt/child")]),
    ([obj("a", "d/x"), obj("b", "d/x/y/z")], ["d/x"], [(FILE_UNDER_FILE, "d/x/y/z")]),
    ([obj("a", "x.txt.d/child"), obj("b", "x.txt")], ["x.txt", "x.txt.d/child"], []),
], ids=["nfc-nfd", "versions", "user-twin", "conflict-name", "file-then-child",
        "child-then-file", "deep-child", "sibling-prefix"])
def test_listing(objects: list[RemoteObject], files: list[str],
                 problems: list[tuple[str, str]]) -> None:
    v = remote_view(objects, {}, remote_root=ROOT)
    assert sorted(v.files) == files and kinds(v) == problems


def test_a_tracked_child_is_never_taken_out() -> None:
    b = base(path="p/inner.txt", remote_id="ours", remote_path=f"{ROOT}/p/inner.txt")
    v = remote_view([obj("ours", "p/inner.txt", 1, "user"), obj("new", "p", 2)],
                    {"p/inner.txt": b}, remote_root=ROOT)
    assert sorted(v.files) == ["p", "p/inner.txt"] and v.problems == ()
    local = {"p/inner.txt": LocalFile("p/inner.txt", 1, 1, b.sha256)}
    screened = screen_local(v, {"p/inner.txt": b}, local, folders={"p"}, links=set())
    assert sorted(screened.files) == ["p/inner.txt"]
    assert kinds(screened) == [(FOLDER_IN_THE_WAY, "p")]


@pytest.mark.parametrize(("path", "links", "folders", "kind"), [
    ("l.txt", {"l.txt"}, set(), BLOCKED_BY_SYMLINK),
    ("ld/new.txt", {"ld"}, set(), BLOCKED_BY_SYMLINK),
    ("p", set(), {"p"}, FOLDER_IN_THE_WAY),
    ("p", set(), {"q"}, None),
])
def test_local(path: str, links: set[str], folders: set[str], kind: str | None) -> None:
    v = remote_view([obj("new", path)], {}, remote_root=ROOT)
    screened = screen_local(v, {}, {}, folders=folders, links=links)
    assert kinds(screened) == ([(kind, path)] if kind else [])
    assert (path in screened.files) is (kind is None)


def test_a_folder_the_plan_empties_is_not_in_the_way() -> None:
    """The assistant replaced folder p with a file: the local files in p are tracked and
    gone remotely, so they go to the trash and the file is pulled; no notice."""
    b = base(path="p/old.txt", remote_id="gone", remote_path=f"{ROOT}/p/old.txt")
    v = remote_view([obj("new", "p")], {"p/old.txt": b}, remote_root=ROOT)
    local = {"p/old.txt": LocalFile("p/old.txt", 1, 1, b.sha256)}
    screened = screen_local(v, {"p/old.txt": b}, local, folders={"p"}, links=set())
    assert "p" in screened.files and screened.problems == ()


def test_the_base_object_is_not_a_change() -> None:
    b = base(path="l.txt", remote_id="same", remote_path=f"{ROOT}/l.txt")
    v = remote_view([obj("same", "l.txt", 1, "user")], {"l.txt": b}, remote_root=ROOT)
    screened = screen_local(v, {"l.txt": b}, {}, folders=set(), links={"l.txt"})
    assert screened == v


NAMES = st.sampled_from(["a", "b", "a/b", "a/b/c", NFC, NFD, "x.conflict-20261123-101500",
                         "b/a"])


@given(st.lists(st.tuples(NAMES, st.integers(0, 3), st.sampled_from(["assistant", "user"])),
                max_size=8),
       st.sets(st.sampled_from(["a", "b", "a/b"])), st.sets(st.sampled_from(["a", "b"])))
def test_nothing_is_lost_and_every_removal_is_explained(
        rows: list[tuple[str, int, str]], folders: set[str], links: set[str]) -> None:
    objects = [obj(f"id{i}", name, t, src) for i, (name, t, src) in enumerate(rows)]
    v = remote_view(objects, {}, remote_root=ROOT, pull_sources=frozenset({"assistant"}))
    screened = screen_local(v, {}, {}, folders=folders, links=links)
    for view in (v, screened):
        listed = [*view.files.values(), *view.garbage, *view.foreign]
        assert sorted(f.file_id for f in listed) == sorted(o.file_id for o in objects)
    explained = {p.path for p in screened.problems}
    for path in set(v.files) - set(screened.files):
        assert path in explained
    for path in screened.files:  # what stays can be written: no file or link above it
        parts = path.split("/")
        above = ["/".join(parts[:i]) for i in range(1, len(parts))]
        assert not any(a in screened.files or a in links for a in above)


def test_a_consumed_listing_is_emptied_and_maps_as_a_copied_one() -> None:
    """``consume=True`` (a full cycle's raw listing, freed as it is mapped) gives the view
    a copied listing gives, and leaves the caller's list empty."""
    def listing() -> list[RemoteObject]:
        return [obj("a", "x.txt", 1), obj("b", "y.txt", 2), obj("c", "x.txt", 3),
                obj("d", "../escape", 4), obj("e", "u.txt", 5, "user")]

    consumed = listing()
    view = remote_view(consumed, {}, remote_root=ROOT, consume=True)
    assert consumed == []
    assert view == remote_view(listing(), {}, remote_root=ROOT)
