"""remote_view: which local path each listed object stands for, and which one wins."""

from __future__ import annotations

import pytest
from planfix import ROOT, base

from containersync.model.entry import RemoteFile, RemoteObject
from containersync.plan.remote_view import UNSAFE_REMOTE_PATH, remote_view


def obj(file_id: str, remote_path: str, created_at: int = 100, source: str = "assistant",
        size: int | None = None) -> RemoteObject:
    return RemoteObject(file_id=file_id, remote_path=remote_path, created_at=created_at,
                        source=source, bytes=size)


def ids(files: tuple[RemoteFile, ...]) -> list[str]:
    return [f.file_id for f in files]


def test_assistant_files_map_by_stripping_the_root() -> None:
    v = remote_view([obj("c1", f"{ROOT}/chart.png"), obj("c2", f"{ROOT}/out/data.csv")], {},
                    remote_root=ROOT)
    assert sorted(v.files) == ["chart.png", "out/data.csv"]
    assert v.files["out/data.csv"].remote_path == f"{ROOT}/out/data.csv"
    assert (v.garbage, v.foreign, v.problems) == ((), (), ())


def test_our_upload_at_a_server_chosen_path_maps_by_file_id() -> None:
    b = base(path="report.csv", remote_id="c_up", remote_path=f"{ROOT}/9f3e-report.csv")
    v = remote_view([obj("c_up", f"{ROOT}/9f3e-report.csv", source="user")],
                    {"report.csv": b}, remote_root=ROOT)
    assert list(v.files) == ["report.csv"]
    assert v.files["report.csv"].file_id == "c_up"


def test_own_ids_map_older_uploads_and_they_become_garbage() -> None:
    b = base(path="r.csv", remote_id="c_new", remote_path=f"{ROOT}/bb-r.csv")
    v = remote_view([obj("c_old", f"{ROOT}/aa-r.csv", 50, "user"),
                     obj("c_new", f"{ROOT}/bb-r.csv", 60, "user")],
                    {"r.csv": b}, remote_root=ROOT, own_ids={"c_old": "r.csv", "c_new": "r.csv"})
    assert v.files["r.csv"].file_id == "c_new"
    assert ids(v.garbage) == ["c_old"]
    assert v.garbage[0].path == "r.csv"


def test_assistant_rewrite_of_our_upload_maps_by_remote_path() -> None:
    b = base(path="r.csv", remote_id="c_ours", remote_path=f"{ROOT}/ab12-r.csv")
    v = remote_view([obj("c_ours", f"{ROOT}/ab12-r.csv", 50, "user"),
                     obj("c_ai", f"{ROOT}/ab12-r.csv", 70, "assistant")],
                    {"r.csv": b}, remote_root=ROOT)
    assert v.files["r.csv"].file_id == "c_ai"
    # Our superseded object is garbage, deleted by id even though it shares the sandbox
    # path: kept, it came back once the rewrite was deleted (issue 7, finding 3).
    assert ids(v.garbage) == ["c_ours"]
    assert v.foreign == ()


def test_rewrite_stays_mapped_after_the_base_moved_on() -> None:
    """We uploaded r.csv at ab12-r.csv, the assistant rewrote that file, then we uploaded a
    newer r.csv (cd34-r.csv), having seen the rewrite. The rewrite still stands for r.csv,
    not for 'ab12-r.csv'; our first object is garbage, the rewrite is left alone."""
    b = base(path="r.csv", remote_id="c_new", remote_path=f"{ROOT}/cd34-r.csv")
    v = remote_view([obj("c_ours", f"{ROOT}/ab12-r.csv", 50, "user"),
                     obj("c_ai", f"{ROOT}/ab12-r.csv", 70, "assistant"),
                     obj("c_new", f"{ROOT}/cd34-r.csv", 90, "user")],
                    {"r.csv": b}, remote_root=ROOT, own_ids={"c_ours": "r.csv"},
                    known={"c_ai"})
    assert list(v.files) == ["r.csv"]
    assert v.files["r.csv"].file_id == "c_new"
    assert ids(v.foreign) == ["c_ai"]
    assert ids(v.garbage) == ["c_ours"]


def test_a_rewrite_at_a_sandbox_path_of_ours_that_is_gone_keeps_its_local_name() -> None:
    """Our object at ab12-r.csv was deleted (replaced by cd34-r.csv); the assistant then
    writes ab12-r.csv again. ``upload_paths`` remembers where our uploads landed."""
    b = base(path="r.csv", remote_id="c_new", remote_path=f"{ROOT}/cd34-r.csv")
    v = remote_view([obj("c_new", f"{ROOT}/cd34-r.csv", 90, "user"),
                     obj("c_ai", f"{ROOT}/ab12-r.csv", 95, "assistant")],
                    {"r.csv": b}, remote_root=ROOT,
                    upload_paths={f"{ROOT}/ab12-r.csv": "r.csv"})
    assert list(v.files) == ["r.csv"]
    assert v.files["r.csv"].file_id == "c_ai"


@pytest.mark.parametrize(("other", "winner"), [("a.txt", "a.txt"), ("c.txt", "b.txt")])
def test_a_sandbox_path_two_bases_name_stands_for_the_first_by_path(
        other: str, winner: str) -> None:
    """b.txt's upload kept its name (``/mnt/data/b.txt``); the upload of ``other`` landed
    at that same sandbox path. An assistant rewrite there stands for the base whose path
    sorts first, whether that base's sandbox path is its own name or a server's choice
    (bases at their own name are found from the sandbox path, not from a dict of all)."""
    plain = base(path="b.txt", remote_id="c_b", remote_path=f"{ROOT}/b.txt")
    moved = base(path=other, remote_id="c_o", remote_path=f"{ROOT}/b.txt")
    v = remote_view([obj("c_ai", f"{ROOT}/b.txt", 300, "assistant")],
                    {"b.txt": plain, other: moved}, remote_root=ROOT)
    assert list(v.files) == [winner]
    assert v.files[winner].file_id == "c_ai"


def test_a_rewrite_at_our_upload_kept_at_its_own_name_maps_to_its_base() -> None:
    """The upload of notes/n.txt kept its name; the assistant rewrote that file. A base at
    its own sandbox name is found through the path, so the rewrite is that base's change
    under a remote root given with a trailing slash too."""
    b = base(path="notes/n.txt", remote_id="c_up", remote_path=f"{ROOT}/notes/n.txt")
    for root in (ROOT, ROOT + "/"):
        v = remote_view([obj("c_ai", f"{ROOT}/notes/n.txt", 300, "assistant")],
                        {"notes/n.txt": b}, remote_root=root)
        assert list(v.files) == ["notes/n.txt"]
        assert v.files["notes/n.txt"].file_id == "c_ai"


def test_newest_wins_by_created_at() -> None:
    v = remote_view([obj("c_b", f"{ROOT}/x", 10), obj("c_a", f"{ROOT}/x", 20)], {},
                    remote_root=ROOT)
    assert v.files["x"].file_id == "c_a"
    assert ids(v.foreign) == ["c_b"]  # older, not ours: left alone


def test_a_tie_on_created_at_takes_the_last_listed_never_the_larger_id() -> None:
    objs = [obj("c_1", f"{ROOT}/x", 10), obj("c_9", f"{ROOT}/x", 10), obj("c_5", f"{ROOT}/x", 10)]
    for order in (objs, objs[::-1]):
        v = remote_view(order, {}, remote_root=ROOT)
        assert v.files["x"].file_id == order[-1].file_id
        assert sorted(ids(v.tied["x"])) == sorted(o.file_id for o in order[:-1])


def test_only_unseen_objects_of_the_newest_second_tie() -> None:
    objs = [obj("c_old", f"{ROOT}/x", 9), obj("c_2", f"{ROOT}/x", 10), obj("c_1", f"{ROOT}/x", 10)]
    v = remote_view(objs, {}, remote_root=ROOT, known={"c_2"})
    assert v.files["x"].file_id == "c_1" and "x" not in v.tied


def test_user_uploads_not_ours_are_foreign_by_default() -> None:
    v = remote_view([obj("c_u", f"{ROOT}/notes.txt", source="user")], {}, remote_root=ROOT)
    assert v.files == {}
    assert ids(v.foreign) == ["c_u"]
    assert v.foreign[0].path == "notes.txt"


def test_pull_sources_can_include_user_uploads() -> None:
    v = remote_view([obj("c_u", f"{ROOT}/notes.txt", source="user")], {}, remote_root=ROOT,
                    pull_sources=frozenset({"assistant", "user"}))
    assert list(v.files) == ["notes.txt"]


def test_newer_foreign_upload_does_not_make_ours_garbage() -> None:
    """A stranger's user upload at our path is never pulled, so it cannot supersede ours:
    our object stays the file for the path and is not deleted."""
    b = base(path="r.csv", remote_id="c_ours", remote_path=f"{ROOT}/r.csv")
    v = remote_view([obj("c_ours", f"{ROOT}/r.csv", 50, "user"),
                     obj("c_them", f"{ROOT}/r.csv", 90, "user")],
                    {"r.csv": b}, remote_root=ROOT)
    assert v.files["r.csv"].file_id == "c_ours"
    assert v.garbage == ()
    assert ids(v.foreign) == ["c_them"]


def test_newer_assistant_object_makes_our_older_upload_garbage() -> None:
    b = base(path="r.csv", remote_id="c_ours", remote_path=f"{ROOT}/aa-r.csv")
    v = remote_view([obj("c_ours", f"{ROOT}/aa-r.csv", 50, "user"),
                     obj("c_ai", f"{ROOT}/r.csv", 90)], {"r.csv": b}, remote_root=ROOT)
    assert v.files["r.csv"].file_id == "c_ai"
    assert ids(v.garbage) == ["c_ours"]


def test_other_sources_are_foreign() -> None:
    v = remote_view([obj("c_x", f"{ROOT}/tool.log", source="tool")], {}, remote_root=ROOT)
    assert (v.files, ids(v.foreign)) == ({}, ["c_x"])


@pytest.mark.parametrize("hostile", [
    "/etc/passwd",
    "/mnt/database/x",
    f"{ROOT}/../etc/passwd",
    f"{ROOT}/a/../../x",
    f"{ROOT}//x",
    f"{ROOT}/",
    ROOT,
    f"{ROOT}/bad\x00name",
    f"{ROOT}/line\nbreak",
    f"{ROOT}/back\\slash",
    f"{ROOT}/" + "n" * 300,
])
def test_hostile_paths_are_problems_never_files(hostile: str) -> None:
    v = remote_view([obj("c_h", hostile), obj("c_ok", f"{ROOT}/fine.txt")], {},
                    remote_root=ROOT)
    assert list(v.files) == ["fine.txt"]
    assert len(v.problems) == 1
    assert v.problems[0].kind == UNSAFE_REMOTE_PATH
    assert v.problems[0].path == hostile
    assert "c_h" in v.problems[0].message


def test_foreign_object_outside_the_root_is_not_a_problem() -> None:
    v = remote_view([obj("c_u", "/workspace/script.py", source="user")], {}, remote_root=ROOT)
    assert v.problems == ()
    assert [(f.file_id, f.path) for f in v.foreign] == [("c_u", "/workspace/script.py")]


def test_own_id_wins_over_a_hostile_remote_path() -> None:
    """The index decides where our own upload goes, whatever path the server reports."""
    b = base(path="docs/a.md", remote_id="c_up", remote_path="/elsewhere/zz")
    v = remote_view([obj("c_up", "/elsewhere/zz", source="user"),
                     obj("c_old", "/elsewhere/yy", source="user")], {"docs/a.md": b},
                    remote_root=ROOT, own_ids={"c_old": "docs/a.md"})
    assert v.files["docs/a.md"].file_id == "c_up"
    assert [(f.file_id, f.path) for f in v.garbage] == [("c_old", "docs/a.md")]
    assert v.problems == ()


def test_remote_root_with_trailing_slash() -> None:
    v = remote_view([obj("c1", "/workspace/src/main.py")], {}, remote_root="/workspace/")
    assert list(v.files) == ["src/main.py"]


def test_empty_listing() -> None:
    v = remote_view([], {"a": base(path="a")}, remote_root=ROOT)
    assert (dict(v.files), v.garbage, v.foreign, v.problems) == ({}, (), (), ())


def test_a_narrowed_view_agrees_with_the_full_one_on_the_paths_it_keeps() -> None:
    """keep= (a targeted cycle) drops other paths, but mapping still sees every object:
    the assistant's rewrite of our server-named upload keeps its local name."""
    b = base(path="r.csv", remote_id="c_ours", remote_path=f"{ROOT}/ab12-r.csv")
    objs = [obj("c_ours", f"{ROOT}/ab12-r.csv", 50, "user"),
            obj("c_ai", f"{ROOT}/ab12-r.csv", 70, "assistant"),
            obj("c_x", f"{ROOT}/other.txt", 60), obj("c_bad", "/etc/passwd", 60)]
    full = remote_view(objs, {"r.csv": b}, remote_root=ROOT)
    narrow = remote_view(objs, {"r.csv": b}, remote_root=ROOT,
                         keep=lambda o, path: path == "r.csv")
    assert narrow.files == {"r.csv": full.files["r.csv"]}
    assert narrow.files["r.csv"].file_id == "c_ai"
    assert ids(narrow.garbage) == ["c_ours"] and narrow.problems == ()
    assert "other.txt" in full.files and full.problems


def test_a_path_kept_for_one_object_keeps_every_object_at_it() -> None:
    """A targeted cycle keeps a path for its new object: the older objects there must be in
    the view too (and in ``seen``), or they stay unseen and come back once the newer one is
    deleted (soak seed 1: an older assistant version pulled after a local delete)."""
    objs = [obj("c_old", f"{ROOT}/w.txt", 50), obj("c_new", f"{ROOT}/w.txt", 60),
            obj("c_x", f"{ROOT}/other.txt", 40)]
    full = remote_view(objs, {}, remote_root=ROOT)
    narrow = remote_view(objs, {}, remote_root=ROOT, keep=lambda o, path: o.file_id == "c_new")
    assert narrow.files == {"w.txt": full.files["w.txt"]}
    assert narrow.seen == {"w.txt": full.seen["w.txt"]} and "c_old" in narrow.seen["w.txt"]
    assert ids(narrow.foreign) == ["c_old"]
