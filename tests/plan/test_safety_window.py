"""Rail 3 over a window (issue 7.6): deletions spread over many cycles count together, so
however a mass deletion is split, the rail halts exactly when one pass seeing all of it
would, having carried out at most the rail's share before."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from planfix import NOW, local
from test_safety import tree

from containersync.model.entry import BaseEntry, LocalFile, Mode, RemoteFile, RemoteView
from containersync.plan.reconcile import reconcile
from containersync.plan.safety import TOO_MANY_DELETIONS, DeletionTally, check_safety, tally


def _step(bases: dict[str, BaseEntry], locals_: dict[str, LocalFile],
          remotes: dict[str, RemoteFile], window: DeletionTally):
    view = RemoteView(files=remotes)
    plan = reconcile(bases, locals_, view, Mode.TWO_WAY, now=NOW, digests={})
    halt = check_safety(plan, bases, locals_, view, local_root_state="ok",
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
