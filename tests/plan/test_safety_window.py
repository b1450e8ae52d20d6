"""Rail 3 over a window (issue 7.6): deletions spread over many cycles count together, so
however a mass deletion is split, the rail halts exactly when one pass seeing all of it
would, having carried out at most the rail's share before."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from planfix import NOW, base, local, remote, sha, tracked
from test_safety import tree

from containersync.model.entry import BaseEntry, LocalFile, Mode, RemoteFile, RemoteView
from containersync.plan.reconcile import reconcile
from containersync.plan.safety import TOO_MANY_DELETIONS, DeletionTally, check_safety, tally


def _step(bases: dict[str, BaseEntry], locals_: dict[str, LocalFile],
          remotes: dict[str, RemoteFile], window: DeletionTally):
    view = RemoteView(files=remotes)
    plan = reconcile(bases, locals_, view, Mode.TWO_WAY, now=NOW, digests={})
    halt = check_safety(plan, bases, view, local_root_state="ok",
                        remote_listed_count=len(remotes), container_running=True,
                        force=False, windows=(window,) if not window.empty else ())
    return plan, view, halt


@settings(max_examples=200, deadline=None)
@given(n=st.integers(2, 30), data=st.data())
def test_a_split_deletion_halts_exactly_when_one_pass_would(n: int, data: st.DataObject) -> None:
    bases, locals_, remotes = tree(n)
    doomed = data.draw(st.lists(st.sampled_from(sorted(bases)), unique=True, max_size=n))
    cuts = sorted(data.draw(st.sets(st.integers(0, len(doomed)), max_size=len(doomed))))
    batches = [doomed[a:b] for a, b in zip([0, *cuts], [*cuts, len(doomed)], strict=True)]
    window = DeletionTally()
    deleted, halted = 0, False
    for batch in batches:
        for p in batch:
            del locals_[p]
        plan, view, halt = _step(bases, locals_, remotes, window)
        if halt is not None:
            assert halt.rail == TOO_MANY_DELETIONS
            halted = True
            break
        window = window + tally(plan.actions, bases, view)  # "carried out": all of it
        for p in batch:
            del bases[p], remotes[p]
        deleted += len(batch)
    k = len(doomed)
    assert halted == (k > 1 and k > n / 2)  # what one sync of the whole change decides
    assert deleted <= max(1, n / 2)


def test_a_rename_split_over_two_cycles_does_not_count() -> None:
    bases, locals_, remotes = tree(4)
    # cycle 1: f0 and f1 vanish (2 of 4: at the limit, allowed)
    del locals_["f0.txt"], locals_["f1.txt"]
    plan, view, halt = _step(bases, locals_, remotes, DeletionTally())
    assert halt is None
    window = tally(plan.actions, bases, view)
    for p in ("f0.txt", "f1.txt"):
        del bases[p], remotes[p]
    # cycle 2: they reappear under new names (a folder moved in two halves), f2 goes
    locals_["g0.txt"] = local("content-0", path="g0.txt")
    locals_["g1.txt"] = local("content-1", path="g1.txt")
    del locals_["f2.txt"]
    _, _, halt = _step(bases, locals_, remotes, window)
    assert halt is None  # 1 real deletion in the window, not 3


def test_the_reason_says_what_the_window_already_deleted() -> None:
    bases, locals_, remotes = tree(10)
    earlier = DeletionTally(remote_deleted=("x",) * 5, label="in the last minute")
    del locals_["f0.txt"], locals_["f1.txt"], locals_["f2.txt"]
    _, _, halt = _step(bases, locals_, remotes, earlier)
    assert halt is not None
    assert halt.reason == ("would delete 8 of 15 tracked remote files; 5 of them already "
                           "deleted in the last minute; run again with --force if that is "
                           "intended")


def test_files_pulled_then_deleted_by_the_assistant_are_churn_not_deletions() -> None:
    """A pull's content is known once it ran (the digest the download learned): the window
    counts it as a creation, so the assistant deleting its scratch files pairs them off,
    and 3 originals deleted of 10 stay 3 of 10, as one sync over the whole time sees it."""
    bases, locals_, remotes = tree(10)
    scratch = {f"tmp{i}.txt": remote(f"cfile_tmp{i}", path=f"tmp{i}.txt") for i in range(6)}
    view = RemoteView(files={**remotes, **scratch})
    pull = reconcile(bases, locals_, view, Mode.TWO_WAY, now=NOW, digests={})
    learned = {f"cfile_tmp{i}": sha(f"scratch {i}") for i in range(6)}
    window = tally(pull.actions, bases, view, learned)  # cycle 1 pulled 6 scratch files
    unlearned = tally(pull.actions, bases, view)  # the same, counted by the plan's digests
    assert len(window.local_created) == 6 and not unlearned.local_created
    for i in range(6):
        p = f"tmp{i}.txt"
        bases[p] = base(f"scratch {i}", path=p, remote_id=f"cfile_tmp{i}")
        locals_[p] = local(f"scratch {i}", path=p)
        remotes[p] = tracked(bases[p])
    gone = [f"tmp{i}.txt" for i in range(5)]  # cycle 2: the assistant deletes 5 of them
    plan, view, halt = _step(bases, locals_, {p: r for p, r in remotes.items()
                                              if p not in gone}, window)
    assert halt is None
    window = window + tally(plan.actions, bases, view)
    unlearned = unlearned + tally(plan.actions, bases, view)
    for p in gone:
        del bases[p], locals_[p], remotes[p]
    for p in ("tmp5.txt", "f0.txt", "f1.txt", "f2.txt"):  # cycle 3: the last one, 3 originals
        del remotes[p]
    _, _, halt = _step(bases, locals_, remotes, window)
    assert halt is None
    _, _, halt = _step(bases, locals_, remotes, unlearned)
    assert halt is not None  # 9 of 16: what counting the pulls as unknown would say
