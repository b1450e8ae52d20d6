"""The cyclic garbage collector is off while a cycle plans, from the listing's end
(``engine.collector``: collections there walk every object of the tree and free nothing),
or from the cycle's start (``collect_while_listing`` off, as ``sync`` asks: the listing's
answers are freed as read), and on while it transfers (which makes cyclic garbage).
Counted with ``gc.callbacks``: how many collections ran, not how long they took."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from containersync.engine import collector
from containersync.engine.context import MappingContext
from containersync.engine.cycle import CycleOptions, run_cycle
from containersync.errors import RemoteError
from containersync.localapi.embedded import RunningServer
from support.contexts import mapping_context, old_tree

FILES = 300


#: an hour ago: the fixture's files are older than the racy window (``model.entry.RACY_NS``)


def now() -> datetime:
    return datetime.now(UTC)


class Collections:
    """Automatic collections run while the block runs."""

    def __init__(self) -> None:
        self.count = 0

    def _seen(self, phase: str, _info: dict[str, Any]) -> None:
        if phase == "start":
            self.count += 1

    def __enter__(self) -> Collections:
        gc.callbacks.append(self._seen)
        return self

    def __exit__(self, *_exc: object) -> None:
        gc.callbacks.remove(self._seen)


@pytest.fixture
def synced(tmp_path: Path, local_server: RunningServer) -> Iterator[MappingContext]:
    root = tmp_path / "work"
    old_tree(root, FILES)
    with mapping_context(tmp_path, local_server.base_url, root) as ctx:
        assert run_cycle(ctx, CycleOptions(), now=now).counts == {"uploaded": FILES}
        yield ctx


@pytest.mark.parametrize("ahead", [False, True], ids=["listing-then-scan", "scan-while-listing"])
def test_a_no_op_cycle_runs_no_collection_and_leaves_the_collector_on(
        synced: MappingContext, ahead: bool) -> None:
    gc.collect()
    at_plan: list[tuple[bool, int]] = []
    with Collections() as seen:
        report = run_cycle(synced, CycleOptions(
            scan_while_listing=ahead,
            on_plan=lambda _p: at_plan.append((gc.isenabled(), seen.count))), now=now)
        after = seen.count
    assert report.counts == {}
    # off while it planned; after the plan, at most the one collection the collector
    # makes once turned back on (of little: the cycle's values were freed as it returned)
    assert at_plan[0][0] is False and after - at_plan[0][1] <= 1, (at_plan, after)
    assert gc.isenabled()


@pytest.mark.parametrize("ahead", [False, True], ids=["listing-then-scan", "scan-while-listing"])
def test_a_cycle_that_does_not_collect_while_listing_runs_none_before_its_plan(
        synced: MappingContext, ahead: bool) -> None:
    """``sync``'s cycles: up to the plan, only the pause's own collection of the young
    generations as the cycle begins, although it reads a base, a scan and a listing of
    FILES objects each (several automatic collections' worth of new objects: 3 or 4 ran
    when the collector was on while listing)."""
    gc.collect()
    at_plan: list[tuple[bool, int]] = []
    with Collections() as seen:
        report = run_cycle(synced, CycleOptions(
            scan_while_listing=ahead, collect_while_listing=False,
            on_plan=lambda _p: at_plan.append((gc.isenabled(), seen.count))), now=now)
        after = seen.count
    assert report.counts == {}
    assert at_plan[0][0] is False and at_plan[0][1] <= 1, at_plan
    assert after - at_plan[0][1] <= 1, (at_plan, after)
    assert gc.isenabled()


def test_the_collector_is_on_while_a_cycle_transfers(synced: MappingContext) -> None:
    root = synced.settings.local_root
    for i in range(FILES):
        (root / f"d{i // 100}" / f"f{i:03d}.txt").write_text(f"edited {i}\n")
    during_plan: list[bool] = []
    opts = CycleOptions(on_plan=lambda _p: during_plan.append(gc.isenabled()))
    with Collections() as seen:
        report = run_cycle(synced, opts, now=now)
    assert report.counts == {"uploaded": FILES}
    assert during_plan == [False]
    assert seen.count > 0  # the uploads' garbage was collected as they went
    assert gc.isenabled()


def test_a_cycle_that_fails_leaves_the_collector_on(tmp_path: Path) -> None:
    root = tmp_path / "work"
    root.mkdir()
    with mapping_context(tmp_path, "http://127.0.0.1:9/v1", root) as ctx, \
            pytest.raises(RemoteError):  # nothing listens there
        run_cycle(ctx, CycleOptions(), now=now)
    assert gc.isenabled()


def test_pauses_held_by_several_cycles_end_with_the_last() -> None:
    first, second = collector.Switch(), collector.Switch()
    assert not gc.isenabled()
    first.resume()
    first.resume()  # idempotent
    assert not gc.isenabled()
    second.resume()
    assert gc.isenabled()
    second.pause()
    assert not gc.isenabled()
    second.resume()
    assert gc.isenabled()


def test_a_caller_that_turned_the_collector_off_keeps_it_off() -> None:
    gc.disable()
    try:
        with collector.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
    with pytest.raises(RuntimeError), collector.paused():
        raise RuntimeError("inside")
    assert gc.isenabled()
