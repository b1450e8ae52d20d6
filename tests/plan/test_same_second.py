"""created_at has one-second resolution: an object written in the same second as our upload
may be older or newer. A never-seen rival is compared, not ignored (neither write is lost)."""

from __future__ import annotations

from planfix import NOW, ROOT, base, local, sha

from containersync.model.entry import Mode, RemoteObject
from containersync.model.plan import RecordBase, SaveConflictCopy, Upload
from containersync.plan.reconcile import reconcile
from containersync.plan.remote_view import remote_view

# our upload of a.txt is cfile_z...; the assistant wrote a.txt in the same second, and its
# random id sorts lower, so the plain (created_at, id) order would call ours the newest
OURS = RemoteObject("cfile_zzz", f"{ROOT}/a.txt", 500, "user", 2)
RIVAL = RemoteObject("cfile_aaa", f"{ROOT}/a.txt", 500, "assistant", None)
B = base("v1", remote_id="cfile_zzz", remote_path=f"{ROOT}/a.txt")


def test_an_unseen_same_second_rival_is_taken_as_newest_and_marked() -> None:
    v = remote_view([OURS, RIVAL], {"a.txt": B}, remote_root=ROOT, unseen={"cfile_aaa"})
    assert v.files["a.txt"].file_id == "cfile_aaa"
    assert v.ambiguous == frozenset({"a.txt"})


def test_a_rival_seen_before_is_older_than_our_later_upload() -> None:
    v = remote_view([OURS, RIVAL], {"a.txt": B}, remote_root=ROOT, unseen=set())
    assert v.files["a.txt"].file_id == "cfile_zzz"
    assert v.ambiguous == frozenset()


def test_an_earlier_second_is_never_a_rival() -> None:
    older = RemoteObject("cfile_aaa", f"{ROOT}/a.txt", 499, "assistant", None)
    v = remote_view([OURS, older], {"a.txt": B}, remote_root=ROOT, unseen={"cfile_aaa"})
    assert v.files["a.txt"].file_id == "cfile_zzz" and not v.ambiguous


def test_an_ambiguous_path_is_compared_before_anything_is_overwritten() -> None:
    v = remote_view([OURS, RIVAL], {"a.txt": B}, remote_root=ROOT, unseen={"cfile_aaa"})
    unknown = reconcile({"a.txt": B}, {"a.txt": local("v1")}, v, Mode.TWO_WAY, now=NOW)
    assert [r.file_id for r in unknown.needs_digest] == ["cfile_aaa"] and not unknown.actions

    same = reconcile({"a.txt": B}, {"a.txt": local("v1")}, v, Mode.TWO_WAY, now=NOW,
                     digests={"cfile_aaa": sha("v1")})
    assert [type(a) for a in same.actions] == [RecordBase]

    differ = reconcile({"a.txt": B}, {"a.txt": local("v1")}, v, Mode.TWO_WAY, now=NOW,
                       digests={"cfile_aaa": sha("assistant's")})
    kinds = [type(a) for a in differ.actions]
    assert SaveConflictCopy in kinds and Upload in kinds  # both versions survive
