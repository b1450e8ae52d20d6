"""Objects another mapping of the index records are never deleted by a plan
(``plan.shared``): its upload leaves them, a local deletion forgets the base, and every
other action is kept as it was."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from containersync.model.entry import BaseEntry, LocalFile, RemoteFile
from containersync.model.plan import Action, DeleteRemote, Download, DropBase, Plan, Upload
from containersync.plan.shared import deleted_ids, spare_claimed

PATHS = ["a.txt", "b/c.txt", "d.bin"]


def _remote(path: str, n: int) -> RemoteFile:
    return RemoteFile(file_id=f"cfile_{n}", path=path, remote_path=f"/mnt/data/{path}",
                      created_at=n, source="user")


def _local(path: str) -> LocalFile:
    return LocalFile(path=path, size=1, mtime_ns=1, sha256="0" * 64)


actions = st.lists(st.tuples(st.sampled_from(PATHS), st.integers(0, 5),
                             st.sampled_from(["upload", "replace", "delete", "download"])),
                   max_size=8)


def _action(path: str, n: int, kind: str) -> Action:
    if kind == "upload":
        return Upload(path, _local(path))
    if kind == "replace":
        return Upload(path, _local(path), replaces=_remote(path, n))
    if kind == "delete":
        return DeleteRemote(path, _remote(path, n))
    return Download(path, _remote(path, n))


@given(actions, st.sets(st.integers(0, 5)), st.sets(st.integers(0, 5)))
def test_a_claimed_object_is_never_deleted_and_nothing_else_changes(
        picks: list[tuple[str, int, str]], claimed_n: set[int], based_n: set[int]) -> None:
    plan = Plan(actions=tuple(_action(*p) for p in picks))
    claimed = {f"cfile_{n}" for n in claimed_n}
    # the base of each path names object n when n is in based_n (the object picked first)
    base = {path: BaseEntry(path, 1, 1, "0" * 64, f"cfile_{n}")
            for path, n, _ in reversed(picks) if n in based_n}
    spared = spare_claimed(plan, base, claimed)

    assert not deleted_ids(spared) & claimed
    assert deleted_ids(spared) == deleted_ids(plan) - claimed
    assert len(spared.actions) <= len(plan.actions)
    kept = iter(spared.actions)
    for a in plan.actions:
        if isinstance(a, DeleteRemote) and a.remote.file_id in claimed:
            b = base.get(a.path)
            if b is not None and b.remote_id == a.remote.file_id:
                assert next(kept) == DropBase(a.path)  # forgotten here, kept there
            continue  # a superseded object the other mapping records: left to it
        got = next(kept)
        if isinstance(a, Upload) and a.replaces is not None and a.replaces.file_id in claimed:
            assert got == Upload(a.path, a.local)  # still sent; the old object stays
        else:
            assert got == a


def test_nothing_claimed_is_the_same_plan() -> None:
    plan = Plan(actions=(DeleteRemote("a.txt", _remote("a.txt", 1)),))
    assert spare_claimed(plan, {}, set()) is plan
