"""remote_view maps every listed object to the local path its module doc's rules 1-4 give.

The doc's rules, worked out here the slow way for each object: its id is a base's remote
id (1) or one of our uploads (2); else its sandbox path is one a base names (the base
whose path sorts first), else the sandbox path of a listed object of ours (the one with
the smallest id), else an upload path of this generation (by sandbox path), first set
wins (3); else the path below the root (4). Bases are drawn both at their own name
(``/mnt/data/<path>``, an upload that kept its name) and at server-chosen names, several
naming one sandbox path, under roots given with and without a trailing slash: rule 3 finds
a base at its own name from the sandbox path, not from a dict of every base, and must
still give what a dict of every base (first by path) gives.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from containersync.model.entry import BaseEntry, RemoteObject, RemoteView
from containersync.model.paths import remote_to_local
from containersync.plan.remote_view import remote_view

PATHS = ["a.txt", "b.txt", "c.txt", "d/e.txt"]
SANDBOX = ["/mnt/data/" + p for p in PATHS] + ["/mnt/data/9f-a.txt", "/mnt/data/9f-b.txt"]
IDS = [f"cfile_{n}" for n in range(8)]


@st.composite
def cases(draw: st.DrawFn) -> tuple[str, list[RemoteObject], dict[str, BaseEntry],
                                    dict[str, str], dict[str, str]]:
    root = draw(st.sampled_from(["/mnt/data", "/mnt/data/"]))
    base: dict[str, BaseEntry] = {}
    for path in draw(st.lists(st.sampled_from(PATHS), unique=True)):
        rid = draw(st.sampled_from([None, *IDS]))
        # at its own name (twice as likely), at a server's name, or at none
        rpath = draw(st.sampled_from(["/mnt/data/" + path, "/mnt/data/" + path,
                                      None, *SANDBOX]))
        base[path] = BaseEntry(path, 1, 1, "s", rid, rpath, 100, "user")
    ids = draw(st.lists(st.sampled_from(IDS), unique=True))
    objs = [RemoteObject(fid, draw(st.sampled_from(SANDBOX)), draw(st.integers(100, 102)),
                         draw(st.sampled_from(["user", "assistant"]))) for fid in ids]
    own = draw(st.dictionaries(st.sampled_from(IDS), st.sampled_from(PATHS), max_size=3))
    uploads = draw(st.dictionaries(st.sampled_from(SANDBOX), st.sampled_from(PATHS),
                                   max_size=3))
    return root, objs, base, own, uploads


def expected_path(o: RemoteObject, objs: list[RemoteObject], base: dict[str, BaseEntry],
                  own: dict[str, str], uploads: dict[str, str], root: str) -> str:
    by_id = {b.remote_id: b.path for b in base.values() if b.remote_id is not None}
    if o.file_id in by_id:
        return by_id[o.file_id]
    if o.file_id in own:
        return own[o.file_id]
    naming = sorted(p for p, b in base.items() if b.remote_path == o.remote_path)
    if naming:
        return naming[0]
    anchors = sorted((x.file_id, by_id.get(x.file_id) or own[x.file_id]) for x in objs
                     if x.remote_path == o.remote_path
                     and (x.file_id in by_id or x.file_id in own))
    if anchors:
        return anchors[0][1]
    if o.remote_path in uploads:
        return uploads[o.remote_path]
    return remote_to_local(o.remote_path, root)


def placed(view: RemoteView) -> dict[str, str]:
    """Where the view put each object: current, superseded, foreign or kept as a copy."""
    out = {f.file_id: f.path for f in (*view.garbage, *view.foreign)}
    out.update((f.file_id, f.path) for f in view.files.values())
    out.update((f.file_id, f.path) for rivals in view.tied.values() for f in rivals)
    return out


@settings(max_examples=400, deadline=None)
@given(cases())
def test_every_object_stands_for_the_path_rules_1_to_4_give(
        case: tuple[str, list[RemoteObject], dict[str, BaseEntry], dict[str, str],
                    dict[str, str]]) -> None:
    root, objs, base, own, uploads = case
    v = remote_view(list(objs), base, remote_root=root, own_ids=own, upload_paths=uploads)
    where = placed(v)
    assert set(where) == {o.file_id for o in objs}  # every object is somewhere, once
    for o in objs:
        assert where[o.file_id] == expected_path(o, objs, base, own, uploads, root), o
