"""created_at has one-second resolution: an object written in the same second as our upload
(or between our plan and our upload) may be older or newer than it. An object nobody has
seen is compared, never hidden; one already decided on never wins by its timestamp."""

from __future__ import annotations

from planfix import NOW, ROOT, base, local, sha

from containersync.model.entry import Mode, RemoteObject
from containersync.model.plan import DeleteRemote, RecordBase, SaveConflictCopy, Upload
from containersync.plan.reconcile import reconcile
from containersync.plan.remote_view import remote_view

# our upload of a.txt is cfile_mmm; the assistant wrote a.txt in the same second
OURS = RemoteObject("cfile_mmm", f"{ROOT}/a.txt", 500, "user", 2)
RIVAL_LOW = RemoteObject("cfile_aaa", f"{ROOT}/a.txt", 500, "assistant", None)
RIVAL_HIGH = RemoteObject("cfile_zzz", f"{ROOT}/a.txt", 500, "assistant", None)
B = base("v1", remote_id="cfile_mmm", remote_path=f"{ROOT}/a.txt")
OWN = {"cfile_mmm": "a.txt"}


def test_an_unseen_same_second_rival_is_current_and_marked_whatever_its_id() -> None:
    for rival in (RIVAL_LOW, RIVAL_HIGH):
        v = remote_view([OURS, rival], {"a.txt": B}, remote_root=ROOT, own_ids=OWN)
        assert v.files["a.txt"].file_id == rival.file_id
        assert v.ambiguous == frozenset({"a.txt"})


def test_an_unseen_object_written_before_our_upload_is_current_and_marked() -> None:
    """Written between our plan and our upload: its timestamp is older than ours."""
    earlier = RemoteObject("cfile_aaa", f"{ROOT}/a.txt", 499, "assistant", None)
    v = remote_view([OURS, earlier], {"a.txt": B}, remote_root=ROOT, own_ids=OWN)
    assert v.files["a.txt"].file_id == "cfile_aaa" and v.ambiguous == {"a.txt"}


def test_a_rival_decided_on_before_never_wins_by_id_or_timestamp() -> None:
    """Issue 7, finding 1: after the conflict was resolved, the rival sorting higher in
    the same second (or even a later second) must not be downloaded over the user's edit."""
    later = RemoteObject("cfile_aaa", f"{ROOT}/a.txt", 501, "assistant", None)
    for rival in (RIVAL_LOW, RIVAL_HIGH, later):
        v = remote_view([OURS, rival], {"a.txt": B}, remote_root=ROOT, own_ids=OWN,
                        known={rival.file_id})
        assert v.files["a.txt"].file_id == "cfile_mmm"
        assert v.ambiguous == frozenset()
        assert [f.file_id for f in v.foreign] == [rival.file_id]


def test_a_newer_unseen_object_is_a_plain_remote_change() -> None:
    newer = RemoteObject("cfile_aaa", f"{ROOT}/a.txt", 501, "assistant", None)
    v = remote_view([OURS, newer], {"a.txt": B}, remote_root=ROOT, own_ids=OWN)
    assert v.files["a.txt"].file_id == "cfile_aaa" and not v.ambiguous


def test_a_same_second_object_after_a_download_is_not_ambiguous() -> None:
    """The base's object is one we downloaded, not uploaded: anything unseen is newer."""
    pulled = RemoteObject("cfile_mmm", f"{ROOT}/a.txt", 500, "assistant", None)
    v = remote_view([pulled, RIVAL_LOW], {"a.txt": B}, remote_root=ROOT)
    assert v.files["a.txt"].file_id == "cfile_aaa" and not v.ambiguous


def test_an_ambiguous_path_is_compared_before_anything_is_overwritten() -> None:
    v = remote_view([OURS, RIVAL_LOW], {"a.txt": B}, remote_root=ROOT, own_ids=OWN)
    unknown = reconcile({"a.txt": B}, {"a.txt": local("v1")}, v, Mode.TWO_WAY, now=NOW)
    assert [r.file_id for r in unknown.needs_digest] == ["cfile_aaa"] and not unknown.actions

    same = reconcile({"a.txt": B}, {"a.txt": local("v1")}, v, Mode.TWO_WAY, now=NOW,
                     digests={"cfile_aaa": sha("v1")})
    assert [type(a) for a in same.actions] == [RecordBase, DeleteRemote]  # ours: garbage

    differ = reconcile({"a.txt": B}, {"a.txt": local("v1")}, v, Mode.TWO_WAY, now=NOW,
                       digests={"cfile_aaa": sha("assistant's")})
    kinds = [type(a) for a in differ.actions]
    assert SaveConflictCopy in kinds and Upload in kinds  # both versions survive
