"""A full cycle over a synced tree that changed nowhere (the no-op ``sync``, the daemon's
first and periodic cycles) reads each whole index table it needs once, holds one copy of
the tree at a time, and keeps nothing per path once it returns (issue 9).

Counted, not timed: index rows handed to Python (SQLite's ``row_factory`` hook) and
``tracemalloc``'s peak and current figures, divided by the number of files.
"""

from __future__ import annotations

import gc
import threading
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from test_cycle_cost import Rows

from containersync.engine.context import MappingContext
from containersync.engine.cycle import CycleOptions, run_cycle
from containersync.localapi.embedded import RunningServer, start_server
from support.contexts import mapping_context, old_tree

FILES = 5000
#: traced bytes per file held while the plan is made (``on_plan``): the base, the view,
#: the scan and the plan's bookkeeping (1.36 KiB before issue 9's full-cycle work, 0.84
#: after: the raw listing is gone, the view and the scan share the base's strings)
HELD_PER_FILE = 950
#: traced bytes a no-op full cycle may reach at its peak, per file: the full listing's
#: stage (the listed objects, the cached ones, their positions) is the peak, about 1.2 KiB
#: now that each wire object becomes an engine value as its page arrives (1.95 KiB when
#: the whole listing was held as wire objects first). Since then the peak is the moment
#: the view is built: the raw listing, the base and our uploads all alive (1.21 KiB
#: measured); 1.12 KiB now that the uploads are read row by row into the base's strings
#: and the raw objects leave as they are mapped (``remote_view(consume=True)``); 1.06 KiB
#: now that the bases read beside the listing share its objects' strings, a listing holds
#: one string per source, and planning holds no set of every path per step (1.11-1.13
#: KiB before, measured twice)
PEAK_PER_FILE = 1090
#: the same peak when the tree is scanned while the listing is under way (``sync``'s
#: ``scan_while_listing``): the base and the scan are then held beside the listing's stage
#: (1.66 KiB measured); the daemon does not scan while listing, for this
PEAK_SCANNING_WHILE_LISTING = 1800
#: traced bytes per file still held once the cycle returned (the report and the index
#: connection's caches are all that stays)
KEPT_PER_FILE = 64


def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory,
           module_server: RunningServer) -> Iterator[MappingContext]:
    """A tree of ``FILES`` files in folders of 100 (written an hour ago: a no-op cycle reads
    none of them, ``model.entry.RACY_NS``), pushed, then listed by a second cycle
    (uploads enter the cache of the listing when a listing returns them)."""
    tmp = tmp_path_factory.mktemp("full-cycle")
    root = tmp / "work"
    old_tree(root, FILES)
    with mapping_context(tmp, module_server.base_url, root) as ctx:
        assert run_cycle(ctx, CycleOptions(), now=now).counts == {"uploaded": FILES}
        assert run_cycle(ctx, CycleOptions(), now=now).counts == {}
        yield ctx


@pytest.fixture(scope="module")
def module_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with start_server(tmp_path_factory.mktemp("backend")) as server:
        yield server


def test_a_no_op_full_cycle_reads_each_whole_table_once(synced: MappingContext) -> None:
    """The bases, the listing positions and our uploads: a row per file each. Not the
    cache of the listing when the listing's digest is the one it records, not the bases a
    second time (the manifest), not every digest (only the paths not in sync need one),
    not the upload paths the bases already name (7 rows per file before, 4 while the
    positions were read apart from the cache, 3 while they were read with it)."""
    with Rows(synced) as rows:
        report = run_cycle(synced, CycleOptions(), now=now)
    assert report.counts == {} and report.hashed == 0
    assert rows.count <= 3 * FILES + 100, rows.count / FILES


def test_a_no_op_full_cycle_scanning_while_listing_reads_no_cached_row(
        synced: MappingContext) -> None:
    """``sync``'s cycle reads the positions before its listing and, when the listing's
    digest is the one the cache records (nothing listed or written since), no row of the
    cache after it: the bases, the positions and our uploads (4 rows per file before)."""
    with Rows(synced) as rows:
        report = run_cycle(synced, CycleOptions(scan_while_listing=True), now=now)
    assert report.counts == {} and report.hashed == 0
    assert rows.count <= 3 * FILES + 100, rows.count / FILES


class RowsBesideListing(Rows):
    """Counts the rows the index hands out while the early listing's thread is alive."""

    def _factory(self, cursor: Any, row: tuple[Any, ...]) -> tuple[Any, ...]:
        if any(t.name == "listing-ahead" for t in threading.enumerate()):
            self.count += 1
        return row


def test_no_index_row_is_read_while_the_early_listing_runs(synced: MappingContext) -> None:
    """sqlite3 lets go of the GIL for every row it steps, and the listing's threads took
    it each time: the bases and the cache of the listing, read beside the listing, took as
    long as the whole listing. The index is read before the listing starts (the bases,
    the positions), and after it ended (the cache)."""
    with RowsBesideListing(synced) as rows:
        report = run_cycle(synced, CycleOptions(scan_while_listing=True), now=now)
    assert report.counts == {} and report.hashed == 0
    assert rows.count == 0


def test_a_no_op_full_cycle_holds_one_copy_of_the_tree(synced: MappingContext) -> None:
    """While it plans (the base, the view, the scan and the plan all alive) a cycle holds
    about one copy of the tree; once it returned, nothing per path."""
    planning: list[int] = []
    opts = CycleOptions(
        on_plan=lambda _plan: planning.append(tracemalloc.get_traced_memory()[0]))
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        report = run_cycle(synced, opts, now=now)
        peak = tracemalloc.get_traced_memory()[1]
        del report
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert (planning[0] - before) / FILES <= HELD_PER_FILE, (planning[0] - before) / FILES
    assert (peak - before) / FILES <= PEAK_PER_FILE, (peak - before) / FILES
    assert (kept - before) / FILES <= KEPT_PER_FILE, (kept - before) / FILES


def test_a_no_op_cycle_scanning_while_listing_holds_the_listing_base_and_scan_at_most(
        synced: MappingContext) -> None:
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        report = run_cycle(synced, CycleOptions(scan_while_listing=True), now=now)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert report.counts == {} and report.hashed == 0
    assert (peak - before) / FILES <= PEAK_SCANNING_WHILE_LISTING, (peak - before) / FILES


@contextmanager
def one_more_file(synced: MappingContext) -> Iterator[None]:
    """A file written beside the synced tree (the daemon's usual first cycle uploads one),
    taken back afterwards, and the container with it."""
    new = synced.settings.local_root / "one-more.txt"
    new.write_text("one more\n")
    try:
        yield
    finally:
        new.unlink()
        assert run_cycle(synced, CycleOptions(), now=now).counts == {"deleted_remote": 1}


def uploading_cycle(synced: MappingContext) -> tuple[int, int]:
    """Run the cycle that uploads ``one_more_file`` under tracemalloc: traced bytes before
    it and at its peak."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        report = run_cycle(synced, CycleOptions(), now=now)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert report.counts == {"uploaded": 1}
    assert report.sandbox_paths["one-more.txt"].endswith("one-more.txt")
    assert len(report.sandbox_paths) == FILES + 1
    return before, peak


def test_a_full_cycle_that_uploads_peaks_no_higher_than_a_no_op(synced: MappingContext) -> None:
    """The daemon's first cycle usually acts (a file written while it was down): its
    manifest step then reads what the index holds of the container after the commit,
    while the cycle's base, view and scan are still alive. Read whole, the bases were a
    second copy of the tree at the cycle's peak (1.6 KiB per file); the manifest needs
    two strings of the bases that hold a remote object, nothing more."""
    with one_more_file(synced):
        before, peak = uploading_cycle(synced)
        assert (peak - before) / FILES <= PEAK_PER_FILE, (peak - before) / FILES


#: traced bytes per file alive while an uploading cycle's manifest step reads the sandbox
#: paths of every base: the base and the plan, 0.70 KiB measured (0.89 KiB while the scan
#: and the view, read by nothing past the transfers and the tally, were still held)
HELD_AT_MANIFEST_PER_FILE = 780


def test_the_manifest_step_holds_neither_the_scan_nor_the_view(
        synced: MappingContext, monkeypatch: pytest.MonkeyPatch) -> None:
    """The daemon's first cycle usually uploads something, so its manifest step reads two
    strings of every base after the commit. What is alive then is counted at that read
    (the index's own method, called through: an instrument, not a stand-in)."""
    index = synced.index
    read = index.sandbox_paths
    held: list[int] = []

    def counted(*args: Any, **kwargs: Any) -> dict[str, str]:
        held.append(tracemalloc.get_traced_memory()[0])
        return read(*args, **kwargs)

    monkeypatch.setattr(index, "sandbox_paths", counted)
    with one_more_file(synced):
        try:
            before, _peak = uploading_cycle(synced)
        finally:
            monkeypatch.undo()
        assert len(held) == 1
        assert (held[0] - before) / FILES <= HELD_AT_MANIFEST_PER_FILE, (held[0] - before) / FILES
