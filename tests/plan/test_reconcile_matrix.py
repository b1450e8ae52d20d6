"""The change matrix and the modes table of SYNC_SEMANTICS.md, one row per case.

Each row names the local state since the base, the remote state since the base, and the
exact actions the plan must hold (in order). Fixtures are in ``planfix``: ``B1`` is a
tracked path (content v1, remote object ``cfile_base``), ``BN`` the same path after a new
generation (the container never had it), ``RN`` a newer assistant object at the path.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from planfix import COPY, NOW, P, base, local, remote, sha, tracked, view

from containersync.model.entry import BaseEntry, LocalFile, Mode, Problem, RemoteFile, RemoteView
from containersync.model.plan import (
    Action,
    Conflict,
    DeleteRemote,
    Download,
    DropBase,
    RecordBase,
    SaveConflictCopy,
    TrashLocal,
    Upload,
)
from containersync.plan.reconcile import reconcile

B1 = base("v1")
BN = base("v1", remote_id=None)
R1 = tracked(B1)
RN = remote("cfile_new")
RN_SIZED = remote("cfile_new", size=40)  # size known and different from every local here
RN_SIZE2 = remote("cfile_new", size=2)  # size known, equal to len("v2"): still unknown
L1 = local("v1")
L1_TOUCHED = local("v1", mtime_ns=9_999)
L2 = local("v2")
OURS = {"cfile_base": sha("v1")}  # the index knows what it uploaded


def dig(content: str) -> dict[str, str]:
    return {**OURS, "cfile_new": sha(content)}


@dataclass(frozen=True)
class Row:
    name: str
    mode: Mode
    base: BaseEntry | None
    local: LocalFile | None
    remote: RemoteFile | None
    expect: list[Action]
    digests: dict[str, str] = field(default_factory=lambda: dict(OURS))
    garbage: tuple[RemoteFile, ...] = ()
    conflict_with: RemoteFile | None = None
    needs: tuple[RemoteFile, ...] = ()
    ignored: frozenset[str] = frozenset()


TW, PUSH, PULL = Mode.TWO_WAY, Mode.PUSH, Mode.PULL


def conflict(remote_file: RemoteFile, then: Action) -> list[Action]:
    return [SaveConflictCopy(P, remote_file, COPY), then]


ROWS = [
    # --- two-way: the change matrix -------------------------------------------------
    Row("tw new/absent: upload", TW, None, L2, None, [Upload(P, L2)]),
    Row("tw absent/new: download", TW, None, None, RN, [Download(P, RN, None)]),
    Row("tw new/new same content: record", TW, None, L2, RN, [RecordBase(P, L2, RN)],
        digests=dig("v2")),
    Row("tw new/new different: conflict", TW, None, L2, RN, conflict(RN, Upload(P, L2)),
        digests=dig("v3"), conflict_with=RN),
    Row("tw new/new unknown content: wait for digest", TW, None, L2, RN, [], needs=(RN,)),
    Row("tw new/new sizes differ: conflict without digest", TW, None, L2, RN_SIZED,
        conflict(RN_SIZED, Upload(P, L2)), conflict_with=RN_SIZED),
    Row("tw new/new sizes equal: still wait", TW, None, L2, RN_SIZE2, [], needs=(RN_SIZE2,)),
    Row("tw unchanged/unchanged: nothing", TW, B1, L1, R1, []),
    Row("tw mtime-only/unchanged: nothing", TW, B1, L1_TOUCHED, R1, []),
    Row("tw mtime-only/newer: download, no upload", TW, B1, L1_TOUCHED, RN,
        [Download(P, RN, L1_TOUCHED)]),
    Row("tw modified/unchanged: upload replacing ours", TW, B1, L2, R1,
        [Upload(P, L2, replaces=R1)]),
    Row("tw deleted/unchanged: delete remote", TW, B1, None, R1, [DeleteRemote(P, R1)]),
    Row("tw unchanged/newer: download", TW, B1, L1, RN, [Download(P, RN, L1)]),
    Row("tw unchanged/newer same digest: record", TW, B1, L1, RN, [RecordBase(P, L1, RN)],
        digests=dig("v1")),
    Row("tw unchanged/deleted: trash local", TW, B1, L1, None, [TrashLocal(P, L1, gone=B1.remote_id)]),
    Row("tw modified/deleted: edit wins, upload", TW, B1, L2, None, [Upload(P, L2)]),
    Row("tw deleted/newer: edit wins, download", TW, B1, None, RN, [Download(P, RN, None)]),
    Row("tw modified/newer same content: record", TW, B1, L2, RN, [RecordBase(P, L2, RN)],
        digests=dig("v2")),
    Row("tw modified/newer different: conflict", TW, B1, L2, RN, conflict(RN, Upload(P, L2)),
        digests=dig("v3"), conflict_with=RN),
    Row("tw modified/newer unknown: wait", TW, B1, L2, RN, [], needs=(RN,)),
    Row("tw deleted/deleted: drop base", TW, B1, None, None, [DropBase(P)]),
    Row("tw new generation, unchanged: re-seed", TW, BN, L1, None, [Upload(P, L1)]),
    Row("tw new generation, modified: upload", TW, BN, L2, None, [Upload(P, L2)]),
    Row("tw new generation, deleted: drop, never delete", TW, BN, None, None, [DropBase(P)]),
    Row("tw new generation, object appeared: download", TW, BN, L1, RN, [Download(P, RN, L1)]),
    Row("tw new generation, modified vs object: conflict", TW, BN, L2, RN,
        conflict(RN, Upload(P, L2)), digests=dig("v3"), conflict_with=RN),
    Row("tw new generation, deleted vs object: download", TW, BN, None, RN,
        [Download(P, RN, None)]),
    Row("tw garbage deleted after the download", TW, B1, L1, RN,
        [Download(P, RN, L1), DeleteRemote(P, R1)], garbage=(R1,)),
    Row("tw conflict keeps the assistant object, deletes our old one", TW, B1, L2, RN,
        [*conflict(RN, Upload(P, L2)), DeleteRemote(P, R1)], digests=dig("v3"),
        garbage=(R1,), conflict_with=RN),
    Row("tw waiting for a digest holds the garbage too", TW, B1, L2, RN, [], garbage=(R1,),
        needs=(RN,)),
    Row("tw ignored path: nothing", TW, None, L2, RN, [], ignored=frozenset({P})),
    Row("tw ignored tracked path: never deleted", TW, B1, None, R1, [], ignored=frozenset({P})),
    # --- push ------------------------------------------------------------------------
    Row("push new/absent: upload", PUSH, None, L2, None, [Upload(P, L2)]),
    Row("push absent/new: ignored", PUSH, None, None, RN, []),
    Row("push new/new unknown: upload, no digest needed", PUSH, None, L2, RN, [Upload(P, L2)]),
    Row("push new/new same: record", PUSH, None, L2, RN, [RecordBase(P, L2, RN)],
        digests=dig("v2")),
    Row("push unchanged/unchanged: nothing", PUSH, B1, L1, R1, []),
    Row("push mtime-only/unchanged: nothing", PUSH, B1, L1_TOUCHED, R1, []),
    Row("push modified/unchanged: upload replacing ours", PUSH, B1, L2, R1,
        [Upload(P, L2, replaces=R1)]),
    Row("push unchanged/newer: re-push ours", PUSH, B1, L1, RN, [Upload(P, L1)]),
    Row("push unchanged/newer: re-push and delete our old object", PUSH, B1, L1, RN,
        [Upload(P, L1), DeleteRemote(P, R1)], garbage=(R1,)),
    Row("push unchanged/newer same digest: record", PUSH, B1, L1, RN, [RecordBase(P, L1, RN)],
        digests=dig("v1")),
    Row("push unchanged/deleted: re-push", PUSH, B1, L1, None, [Upload(P, L1)]),
    Row("push modified/deleted: upload", PUSH, B1, L2, None, [Upload(P, L2)]),
    Row("push modified/newer: upload, no conflict", PUSH, B1, L2, RN, [Upload(P, L2)]),
    Row("push deleted/unchanged: delete remote", PUSH, B1, None, R1, [DeleteRemote(P, R1)]),
    Row("push deleted/newer: leave theirs, drop base", PUSH, B1, None, RN, [DropBase(P)]),
    Row("push deleted/deleted: drop base", PUSH, B1, None, None, [DropBase(P)]),
    Row("push new generation: re-seed", PUSH, BN, L1, None, [Upload(P, L1)]),
    # --- pull ------------------------------------------------------------------------
    Row("pull new/absent: never pushed", PULL, None, L2, None, []),
    Row("pull absent/new: download", PULL, None, None, RN, [Download(P, RN, None)]),
    Row("pull new/new different: keep local, copy remote", PULL, None, L2, RN,
        conflict(RN, RecordBase(P, L2, RN)), digests=dig("v3"), conflict_with=RN),
    Row("pull unchanged/unchanged: nothing", PULL, B1, L1, R1, []),
    Row("pull unchanged/newer: download", PULL, B1, L1, RN, [Download(P, RN, L1)]),
    Row("pull unchanged/deleted: trash local", PULL, B1, L1, None, [TrashLocal(P, L1, gone=B1.remote_id)]),
    Row("pull modified/unchanged: kept, never pushed", PULL, B1, L2, R1, []),
    Row("pull modified/newer different: keep local, copy remote", PULL, B1, L2, RN,
        conflict(RN, RecordBase(P, L2, RN)), digests=dig("v3"), conflict_with=RN),
    Row("pull modified/newer same: record", PULL, B1, L2, RN, [RecordBase(P, L2, RN)],
        digests=dig("v2")),
    Row("pull modified/newer unknown: wait", PULL, B1, L2, RN, [], needs=(RN,)),
    Row("pull modified/deleted: keep local", PULL, B1, L2, None, []),
    Row("pull deleted/unchanged: deletion kept locally", PULL, B1, None, R1, []),
    Row("pull deleted/newer: download", PULL, B1, None, RN, [Download(P, RN, None)]),
    Row("pull deleted/deleted: drop base", PULL, B1, None, None, [DropBase(P)]),
    Row("pull new generation, unchanged: nothing", PULL, BN, L1, None, []),
    Row("pull never deletes garbage", PULL, B1, L1, RN, [Download(P, RN, L1)],
        garbage=(R1,)),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_change_matrix(row: Row) -> None:
    files = {row.remote.path: row.remote} if row.remote is not None else {}
    plan = reconcile({P: row.base} if row.base else {}, {P: row.local} if row.local else {},
                     RemoteView(files=files, garbage=row.garbage), row.mode, now=NOW,
                     digests=row.digests, ignored=row.ignored)
    assert list(plan.actions) == row.expect
    assert plan.needs_digest == row.needs
    expected_conflicts = (
        (Conflict(P, COPY, row.conflict_with.file_id),) if row.conflict_with else ())
    assert plan.conflicts == expected_conflicts


def test_conflict_copy_is_never_uploaded() -> None:
    plan = reconcile({}, {COPY: local("theirs", path=COPY)}, view(), TW, now=NOW)
    assert plan.actions == ()


def test_conflict_copy_name_avoids_existing_files() -> None:
    existing = local("old copy", path=COPY)
    plan = reconcile({}, {P: L2, COPY: existing}, view(RN), TW, now=NOW, digests=dig("v3"))
    second = "a.conflict-20261123-101500-2.txt"
    assert plan.actions == (SaveConflictCopy(P, RN, second), Upload(P, L2))
    assert plan.conflicts == (Conflict(P, second, "cfile_new"),)


def test_paths_are_planned_in_sorted_order_and_problems_pass_through() -> None:
    paths = ["z.txt", "b/c.txt", "a.txt", "b.txt"]
    locals_ = {p: local("v1", path=p) for p in paths}
    problem = Problem("/etc/passwd", "unsafe-remote-path", "outside the remote root")
    plan = reconcile({}, locals_, RemoteView(problems=(problem,)), TW, now=NOW)
    assert [a.path for a in plan.actions] == sorted(paths)
    assert plan.problems == (problem,)


def test_waiting_path_does_not_hold_back_others() -> None:
    other = local("x", path="b.txt")
    plan = reconcile({}, {P: L2, "b.txt": other}, view(RN), TW, now=NOW)
    assert plan.needs_digest == (RN,)
    assert plan.actions == (Upload("b.txt", other),)
    assert not plan.empty


def test_same_plan_for_same_input() -> None:
    args = ({P: B1}, {P: L2}, view(RN, garbage=(R1,)), TW)
    one = reconcile(*args, now=NOW, digests=dig("v3"))
    two = reconcile(*args, now=NOW, digests=dig("v3"))
    assert one == two
