"""Safety rails 1-3: each trips on the plans reconcile really makes, and --force lifts them."""

from __future__ import annotations

import pytest
from planfix import NOW, base, local, remote, sha, tracked

from containersync.errors import Halted, InvariantViolation
from containersync.model.entry import BaseEntry, LocalFile, Mode, RemoteFile, RemoteView
from containersync.model.plan import Plan
from containersync.plan.reconcile import reconcile
from containersync.plan.safety import (
    LOCAL_ROOT_GONE,
    REMOTE_EMPTIED,
    TOO_MANY_DELETIONS,
    Halt,
    check_safety,
)


def tree(n: int) -> tuple[dict[str, BaseEntry], dict[str, LocalFile], dict[str, RemoteFile]]:
    """``n`` files in sync: base, local and remote all agree; file i holds ``content-i``."""
    bases = {f"f{i}.txt": base(f"content-{i}", path=f"f{i}.txt", remote_id=f"cfile_{i}")
             for i in range(n)}
    locals_ = {p: local(f"content-{i}", path=p) for i, p in enumerate(bases)}
    remotes = {p: tracked(b) for p, b in bases.items()}
    return bases, locals_, remotes


def check(plan: Plan, bases: dict[str, BaseEntry], locals_: dict[str, LocalFile],
          view: RemoteView, *, root: str = "ok", listed: int | None = None,
          running: bool = True, force: bool = False,
          digests: dict[str, str] | None = None) -> Halt | None:
    return check_safety(plan, bases, view, local_root_state=root,
                        remote_listed_count=len(view.files) if listed is None else listed,
                        container_running=running, force=force, digests=digests or {})


def plan_for(bases: dict[str, BaseEntry], locals_: dict[str, LocalFile],
             remotes: dict[str, RemoteFile], digests: dict[str, str] | None = None,
             ) -> tuple[Plan, RemoteView]:
    view = RemoteView(files=remotes)
    return reconcile(bases, locals_, view, Mode.TWO_WAY, now=NOW, digests=digests or {}), view


def test_in_sync_tree_passes() -> None:
    bases, locals_, remotes = tree(10)
    plan, view = plan_for(bases, locals_, remotes)
    assert plan.actions == ()
    assert check(plan, bases, locals_, view) is None


def test_deleting_most_local_files_halts_remote_deletions() -> None:
    bases, locals_, remotes = tree(10)
    for i in range(6):
        del locals_[f"f{i}.txt"]
    plan, view = plan_for(bases, locals_, remotes)
    halt = check(plan, bases, locals_, view)
    assert halt == Halt(TOO_MANY_DELETIONS, "would delete 6 of 10 tracked remote files; "
                        "run again with --force if that is intended")
    assert check(plan, bases, locals_, view, force=True) is None


def test_half_is_not_more_than_half() -> None:
    bases, locals_, remotes = tree(10)
    for i in range(5):
        del locals_[f"f{i}.txt"]
    plan, view = plan_for(bases, locals_, remotes)
    assert check(plan, bases, locals_, view) is None


@pytest.mark.parametrize(("tracked_n", "deleted", "halts"), [
    (1, 1, False),  # more than half, but not more than one file
    (2, 2, True),
    (3, 2, True),
    (4, 2, False),
])
def test_threshold(tracked_n: int, deleted: int, halts: bool) -> None:
    bases, locals_, remotes = tree(tracked_n)
    for i in range(deleted):
        del locals_[f"f{i}.txt"]
    plan, view = plan_for(bases, locals_, remotes)
    assert (check(plan, bases, locals_, view) is not None) is halts


def test_remote_deletions_trash_most_local_files() -> None:
    bases, locals_, remotes = tree(4)
    for i in range(3):
        del remotes[f"f{i}.txt"]
    plan, view = plan_for(bases, locals_, remotes)
    halt = check(plan, bases, locals_, view)
    assert halt is not None and halt.rail == TOO_MANY_DELETIONS
    assert halt.reason.startswith("would delete 3 of 4 tracked local files;")


def test_local_rename_of_a_folder_is_not_a_deletion() -> None:
    bases, locals_, remotes = tree(6)
    for i in range(6):  # f{i}.txt -> moved/f{i}.txt, same bytes
        old = locals_.pop(f"f{i}.txt")
        locals_[f"moved/f{i}.txt"] = local(f"content-{i}", path=f"moved/f{i}.txt")
        assert locals_[f"moved/f{i}.txt"].sha256 == old.sha256
    plan, view = plan_for(bases, locals_, remotes)
    assert check(plan, bases, locals_, view) is None


def test_renames_are_subtracted_but_real_deletions_still_count() -> None:
    bases, locals_, remotes = tree(6)
    for i in range(6):
        del locals_[f"f{i}.txt"]
    for i in range(2):  # two renamed, four really deleted
        locals_[f"new{i}.txt"] = local(f"content-{i}", path=f"new{i}.txt")
    plan, view = plan_for(bases, locals_, remotes)
    halt = check(plan, bases, locals_, view)
    assert halt == Halt(TOO_MANY_DELETIONS, "would delete 4 of 6 tracked remote files "
                        "(not counting 2 renamed); run again with --force if that is intended")


def test_one_creation_pairs_with_one_deletion_only() -> None:
    bases = {f"d{i}.txt": base("same", path=f"d{i}.txt", remote_id=f"c{i}") for i in range(3)}
    remotes = {p: tracked(b) for p, b in bases.items()}
    locals_ = {"copy.txt": local("same", path="copy.txt")}  # three copies of one file -> one
    plan, view = plan_for(bases, locals_, remotes)
    halt = check(plan, bases, locals_, view)
    assert halt is not None
    assert "would delete 2 of 3 tracked remote files (not counting 1 renamed)" in halt.reason


def test_remote_rename_with_known_digests_is_not_a_deletion() -> None:
    bases, locals_, remotes = tree(4)
    digests = {}
    for i in range(4):
        del remotes[f"f{i}.txt"]
        moved = remote(f"cfile_m{i}", path=f"m/f{i}.txt")
        remotes[moved.path] = moved
        digests[moved.file_id] = sha(f"content-{i}")
    plan, view = plan_for(bases, locals_, remotes, digests)
    assert check(plan, bases, locals_, view, digests=digests) is None
    # Without the digests the downloads cannot be paired: the trash counts as deletions.
    halt = check(plan, bases, locals_, view)
    assert halt is not None and "4 of 4 tracked local files" in halt.reason


def test_garbage_and_replacements_are_not_deletions() -> None:
    bases, locals_, _ = tree(3)
    garbage = tuple(tracked(b) for b in bases.values())
    newer = {p: remote(f"cfile_new{i}", path=p) for i, p in enumerate(bases)}
    view = RemoteView(files=newer, garbage=garbage)
    plan = reconcile(bases, locals_, view, Mode.TWO_WAY, now=NOW)
    assert sum(1 for a in plan.actions if type(a).__name__ == "DeleteRemote") == 3
    assert check(plan, bases, locals_, view) is None
    # Every file edited: three uploads that each replace (delete) our previous object.
    edited = {p: local(f"edited-{p}", path=p) for p in bases}
    plan = reconcile(bases, edited, RemoteView(files={p: tracked(b) for p, b in bases.items()}),
                     Mode.TWO_WAY, now=NOW)
    assert all(getattr(a, "replaces", None) is not None for a in plan.actions)
    assert check(plan, bases, edited, view) is None


@pytest.mark.parametrize(("state", "words"), [
    ("missing", "is missing"),
    ("not-a-directory", "is not a directory"),
    ("empty", "is empty"),
    ("unreadable", "cannot be read"),
])
def test_local_root_gone(state: str, words: str) -> None:
    bases, _, remotes = tree(3)
    plan, view = plan_for(bases, {}, remotes)
    halt = check(plan, bases, {}, view, root=state)
    assert halt is not None and halt.rail == LOCAL_ROOT_GONE
    assert f"the local folder {words} while the index tracks 3 files there" in halt.reason
    assert "--force" in halt.reason
    forced = check(plan, bases, {}, view, root=state, force=True)
    if state == "not-a-directory":  # nothing can sync into a file: --force cannot help
        assert forced is not None and forced.rail == LOCAL_ROOT_GONE
    else:
        assert forced is None


def test_local_root_gone_needs_two_tracked_files() -> None:
    bases, _, remotes = tree(1)
    plan, view = plan_for(bases, {}, remotes)
    assert check(plan, bases, {}, view, root="missing") is None


@pytest.mark.parametrize("tracked", [0, 1])
@pytest.mark.parametrize("force", [False, True])
def test_a_root_that_is_a_file_halts_at_any_count(tracked: int, force: bool) -> None:
    """Only a mapping that synced before reaches the rails (a never-synced root that is a
    file is a ConfigError), so a file there is not a typo and nothing can sync into it."""
    bases, _, remotes = tree(tracked)
    plan, view = plan_for(bases, {}, remotes)
    halt = check(plan, bases, {}, view, root="not-a-directory", force=force)
    assert halt is not None and halt.rail == LOCAL_ROOT_GONE
    assert "is a file now" in halt.reason and "move the file away" in halt.reason


def test_remote_emptied() -> None:
    bases, locals_, _ = tree(5)
    plan, view = plan_for(bases, locals_, {})
    halt = check(plan, bases, locals_, view, listed=0)
    assert halt == Halt(REMOTE_EMPTIED, "the running container lists no files while the index "
                        "tracks 5 remote files; if they were deleted on purpose, run again "
                        "with --force")
    assert check(plan, bases, locals_, view, listed=0, force=True) is None


def test_remote_emptied_ignores_a_stopped_container_and_foreign_listings() -> None:
    bases, locals_, _ = tree(5)
    plan, view = plan_for(bases, locals_, {})
    # Not running: expiry is a new generation, handled by the engine, not a deletion here;
    # the too-many-deletions rail still guards this plan.
    halt = check(plan, bases, locals_, view, listed=0, running=False)
    assert halt is not None and halt.rail == TOO_MANY_DELETIONS
    # Something is listed (say, a foreign upload): not "emptied", but still too many.
    halt = check(plan, bases, locals_, view, listed=1)
    assert halt is not None and halt.rail == TOO_MANY_DELETIONS


def test_new_generation_is_not_remote_emptied() -> None:
    bases = {p: base("x", path=p, remote_id=None) for p in ("a", "b", "c")}
    locals_ = {p: local("x", path=p) for p in bases}
    plan, view = plan_for(bases, locals_, {})
    assert [type(a).__name__ for a in plan.actions] == ["Upload"] * 3
    assert check(plan, bases, locals_, view, listed=0) is None


def test_unknown_root_state_is_a_bug() -> None:
    with pytest.raises(InvariantViolation):
        check(Plan(), {}, {}, RemoteView(), root="gone")


def test_halt_becomes_the_halted_error() -> None:
    err = Halt(REMOTE_EMPTIED, "why").as_error()
    assert isinstance(err, Halted)
    assert (err.rail, err.reason) == (REMOTE_EMPTIED, "why")
