"""created_at has one-second resolution: an object written in the same second as our upload
(or between our plan and our upload) may be older or newer than it. An object nobody has
seen is compared, never hidden; one already decided on never wins by its timestamp."""

from __future__ import annotations

from dataclasses import replace

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


def test_an_unseen_object_written_before_our_upload_is_a_copy_beside_it() -> None:
    """Stamped in an earlier second than our upload (written between our plan and our
    upload, or the assistant's side of a conflict whose copy could not be saved yet): our
    upload is the later write, so it stays current and the local file is not uploaded
    again; the other write is compared with it and kept as a conflict copy if it differs."""
    earlier = RemoteObject("cfile_aaa", f"{ROOT}/a.txt", 499, "assistant", None)
    v = remote_view([OURS, earlier], {"a.txt": B}, remote_root=ROOT, own_ids=OWN)
    assert v.files["a.txt"].file_id == "cfile_mmm" and not v.ambiguous
    assert [f.file_id for f in v.tied["a.txt"]] == ["cfile_aaa"]
    unknown = reconcile({"a.txt": B}, {"a.txt": local("v1")}, v, Mode.TWO_WAY, now=NOW,
                        digests={"cfile_mmm": sha("v1")})
    assert [f.file_id for f in unknown.needs_digest] == ["cfile_aaa"] and not unknown.actions
    differ = reconcile({"a.txt": B}, {"a.txt": local("v1")}, v, Mode.TWO_WAY, now=NOW,
                       digests={"cfile_mmm": sha("v1"), "cfile_aaa": sha("assistant's")})
    assert [type(a) for a in differ.actions] == [SaveConflictCopy]
    same = reconcile({"a.txt": B}, {"a.txt": local("v1")}, v, Mode.TWO_WAY, now=NOW,
                     digests={"cfile_mmm": sha("v1"), "cfile_aaa": sha("v1")})
    assert same.actions == ()


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


# two unseen assistant writes of one second at a new path: no clock orders them
TIE_A = RemoteObject("cfile_zzz", f"{ROOT}/n.txt", 700, "assistant", 3)
TIE_B = RemoteObject("cfile_aaa", f"{ROOT}/n.txt", 700, "assistant", 5)


def test_same_second_unseen_writes_keep_every_one_as_a_conflict_copy() -> None:
    v = remote_view([TIE_A, TIE_B], {}, remote_root=ROOT)
    plan = reconcile({}, {}, v, Mode.TWO_WAY, now=NOW)
    copied = [a.remote.file_id for a in plan.actions if isinstance(a, SaveConflictCopy)]
    assert v.files["n.txt"].file_id == "cfile_aaa" and copied == ["cfile_zzz"]
    assert [c.remote_file_id for c in plan.conflicts] == ["cfile_zzz"]


def test_same_second_writes_of_unknown_size_are_hashed_first_and_equal_ones_not_copied() -> None:
    a, b = (RemoteObject(i, f"{ROOT}/n.txt", 700, "assistant", None) for i in ("c_2", "c_1"))
    v = remote_view([a, b], {}, remote_root=ROOT)
    first = reconcile({}, {}, v, Mode.TWO_WAY, now=NOW)
    assert sorted(f.file_id for f in first.needs_digest) == ["c_1", "c_2"]
    assert first.actions == () and "n.txt" not in first.decided
    same = reconcile({}, {}, v, Mode.TWO_WAY, now=NOW, digests={"c_1": sha("x"), "c_2": sha("x")})
    assert not any(isinstance(x, SaveConflictCopy) for x in same.actions)
    differ = reconcile({}, {}, v, Mode.TWO_WAY, now=NOW,
                       digests={"c_1": sha("x"), "c_2": sha("y")})
    assert [x.remote.file_id for x in differ.actions if isinstance(x, SaveConflictCopy)] == ["c_2"]


# -- a version older than the one pulled: neither a rollback nor lost ---------------------

PULLED = RemoteObject("cfile_kkk", f"{ROOT}/a.txt", 500, "assistant", None)
PULLED_BASE = replace(base("v1", remote_id="cfile_kkk", remote_path=f"{ROOT}/a.txt"),
                      remote_created_at=500, source="assistant")
STALE = RemoteObject("cfile_aaa", f"{ROOT}/a.txt", 499, "assistant", None)


def test_an_unseen_version_older_than_the_pulled_one_is_a_copy_not_a_rollback() -> None:
    """The assistant wrote a.txt twice; we pulled the second (the base), and a listing with
    a gap never showed the first. Found later, the first is older than what the sandbox
    shows (or a server clock is off): taking it as the file would roll the file back and
    delete the newer version (the soak's seed 9); dropping it could lose a write. It is
    kept as a conflict copy beside the pulled one."""
    v = remote_view([STALE, PULLED], {"a.txt": PULLED_BASE}, remote_root=ROOT,
                    known={"cfile_kkk"})
    assert v.files["a.txt"].file_id == "cfile_kkk" and not v.ambiguous
    assert [f.file_id for f in v.tied["a.txt"]] == ["cfile_aaa"]
    unknown = reconcile({"a.txt": PULLED_BASE}, {"a.txt": local("v1")}, v, Mode.TWO_WAY,
                        now=NOW)
    assert {f.file_id for f in unknown.needs_digest} == {"cfile_aaa", "cfile_kkk"}
    assert unknown.actions == ()  # compared before anything is written
    differ = reconcile({"a.txt": PULLED_BASE}, {"a.txt": local("v1")}, v, Mode.TWO_WAY,
                       now=NOW, digests={"cfile_kkk": sha("v1"), "cfile_aaa": sha("v0")})
    assert [type(a) for a in differ.actions] == [SaveConflictCopy]
    same = reconcile({"a.txt": PULLED_BASE}, {"a.txt": local("v1")}, v, Mode.TWO_WAY,
                     now=NOW, digests={"cfile_kkk": sha("v1"), "cfile_aaa": sha("v1")})
    assert same.actions == ()


def test_an_unseen_version_after_the_pulled_one_was_deleted_is_a_change() -> None:
    """Once the pulled version is gone, an unseen one is taken as the change it may be:
    downloaded, never deleted unseen (whatever its timestamp)."""
    v = remote_view([STALE], {"a.txt": PULLED_BASE}, remote_root=ROOT, known={"cfile_kkk"})
    assert v.files["a.txt"].file_id == "cfile_aaa"


def test_an_unseen_version_in_the_same_second_as_the_pulled_one_is_still_news() -> None:
    """Same second: it may be the later write; it is taken, as before."""
    same = RemoteObject("cfile_aaa", f"{ROOT}/a.txt", 500, "assistant", None)
    v = remote_view([PULLED, same], {"a.txt": PULLED_BASE}, remote_root=ROOT,
                    known={"cfile_kkk"})
    assert v.files["a.txt"].file_id == "cfile_aaa"
