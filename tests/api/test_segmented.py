"""The segmented full listing returns what one walk of the listing returns.

Against the real local backend over HTTP: a container is listed once (its positions kept
as the index keeps them), then changed (deletions, cursor objects among them, and new
objects, many in the same second), then listed in segments from those positions and
compared with a plain walk. Pages are tiny so that a few dozen objects make many pages
and segments. A second property changes the container *while* the segments run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from containersync.api import ContainersClient, ContainerSpec
from containersync.api.segmented import Stats, list_segmented, pick_cursors
from containersync.api.wire import ContainerFile
from containersync.index.positions import assign_positions
from containersync.localapi.embedded import RunningServer, start_server

PAGE = 3


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("backend"))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def api(server: RunningServer) -> Iterator[ContainersClient]:
    with ContainersClient.connect(server.base_url, None) as client:
        yield client


@pytest.fixture(scope="module")
def blob(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("blob") / "f.txt"
    path.write_bytes(b"x")
    return path


class Container:
    """One test container and the helpers to fill, change and walk it."""

    def __init__(self, api: ContainersClient, blob: Path) -> None:
        self.api, self.blob = api, blob
        self.id = api.create_container(ContainerSpec(name="segments")).id
        self.made = 0

    def add(self, count: int) -> list[str]:
        ids = []
        for _ in range(count):
            self.made += 1
            ids.append(self.api.upload_file(self.id, self.blob,
                                            remote_path=f"/mnt/data/f{self.made}.txt").id)
        return ids

    def walk(self) -> list[str]:
        return [f.id for f in self.api.list_files(self.id, order="asc", page_size=PAGE)]

    def files(self, after: str | None, newest_first: bool = False) -> Iterator[ContainerFile]:
        return self.api.list_files(self.id, order="desc" if newest_first else "asc",
                                   page_size=PAGE, after=after)


def positions_of(listing: list[str]) -> dict[str, int]:
    """Positions as the index keeps them after a full listing (in listing order)."""
    placed = assign_positions(listing, {})
    return dict(sorted(placed.items(), key=lambda kv: kv[1]))


changes = st.fixed_dictionaries({
    "initial": st.integers(0, 30),
    "deleted": st.sets(st.integers(0, 29), max_size=30),
    "added": st.integers(0, 8),
    "workers": st.integers(2, 5),
    "cold": st.booleans(),  # nothing known: both ends at once
})


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(change=changes)
def test_segmented_listing_equals_one_walk(api: ContainersClient, blob: Path,
                                           change: dict[str, object]) -> None:
    box = Container(api, blob)
    box.add(int(change["initial"]))  # type: ignore[call-overload]
    last = box.walk()
    positions = {} if change["cold"] else positions_of(last)
    cursors = set(pick_cursors(positions, workers=int(change["workers"]), min_segment=1))  # type: ignore[call-overload]
    gone = [fid for i, fid in enumerate(last) if i in change["deleted"]]  # type: ignore[operator]
    for fid in gone:
        api.delete_file(box.id, fid)
    box.add(int(change["added"]))  # type: ignore[call-overload]

    stats = Stats()
    listed = list_segmented(box.files, positions, workers=int(change["workers"]),  # type: ignore[call-overload]
                            min_segment=1, page_size=PAGE, stats=stats)

    assert [f.id for f in listed] == box.walk()
    if not cursors & set(gone):
        assert stats.absorbed == 0 and stats.resumed == 0


during = st.lists(st.tuples(st.integers(1, 60), st.sampled_from(["delete", "add"])),
                  max_size=6)


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(initial=st.integers(0, 30), events=during, workers=st.integers(2, 5),
       victims=st.randoms(use_true_random=False), cold=st.booleans())
def test_changes_while_segments_run_give_a_listing_one_walk_could_give(
        api: ContainersClient, blob: Path, initial: int, events: list[tuple[int, str]],
        workers: int, victims: object, cold: bool) -> None:
    box = Container(api, blob)
    box.add(initial)
    before = box.walk()
    positions = {} if cold else positions_of(before)
    order = {fid: i for i, fid in enumerate(before)}
    deleted: set[str] = set()
    seen = 0
    lock = threading.Lock()
    due = sorted(events)

    def act() -> None:
        nonlocal seen
        with lock:
            seen += 1
            now = [kind for at, kind in due if at == seen]
            for kind in now:
                alive = [fid for fid in before if fid not in deleted]
                if kind == "delete" and alive:
                    fid = victims.choice(alive)  # type: ignore[attr-defined]
                    deleted.add(fid)
                    api.delete_file(box.id, fid)
                elif kind == "add":
                    for fid in box.add(1):
                        order[fid] = len(order)

    def files(after: str | None, newest_first: bool = False) -> Iterator[ContainerFile]:
        for f in box.files(after, newest_first):
            yield f
            act()

    listed = [f.id for f in list_segmented(files, positions, workers=workers, min_segment=1,
                                           page_size=PAGE)]

    assert len(listed) == len(set(listed)), "no object twice"
    assert set(listed) <= set(order), "no object that never existed"
    assert set(before) - deleted <= set(listed), "every object that stayed is listed"
    assert listed == sorted(listed, key=order.__getitem__), "in the server's order"


def _deleting_at_start(box: Container, cursor: str, also: list[str],
                       seen: threading.Event) -> Callable[[str | None], Iterator[ContainerFile]]:
    """A walk that, when a segment starts after ``cursor``, first waits until the segment
    before has listed ``cursor`` and then deletes it (and ``also``): the cursor object
    goes between the two segments' requests."""

    def files(after: str | None) -> Iterator[ContainerFile]:
        if after == cursor:
            assert seen.wait(60), "the segment before never listed the cursor"
            for fid in [cursor, *also]:
                box.api.delete_file(box.id, fid)
        for f in box.files(after):
            if f.id == cursor:
                seen.set()
            yield f

    return files


@pytest.mark.parametrize("before_cursor", [0, 1, 2, 5])
def test_a_cursor_deleted_between_segments_falls_back_to_walking(
        api: ContainersClient, blob: Path, before_cursor: int) -> None:
    box = Container(api, blob)
    box.add(24)
    last = box.walk()
    positions = positions_of(last)
    cursors = pick_cursors(positions, workers=2, min_segment=1)
    cursor = cursors[1]
    at = last.index(cursor)
    also = last[at - before_cursor:at]  # the objects just before it go too
    stats = Stats()

    listed = [f.id for f in list_segmented(
        _deleting_at_start(box, cursor, also, threading.Event()), positions, workers=2,
        min_segment=1, stats=stats)]

    assert stats.resumed == 1
    now = box.walk()
    assert listed in (now, last[:at + 1] + now[at - before_cursor:]), listed


def test_a_server_that_ignores_a_gone_cursor_is_not_believed(api: ContainersClient,
                                                             blob: Path) -> None:
    """The live service's answer to ``after=<deleted id>`` is undocumented; one that lists
    from the start instead must not make the listing repeat objects."""
    box = Container(api, blob)
    box.add(24)
    last = box.walk()
    positions = positions_of(last)
    cursor = pick_cursors(positions, workers=2, min_segment=1)[1]
    listed_cursor = threading.Event()
    gone: set[str] = set()
    lock = threading.Lock()

    def forgiving(after: str | None) -> Iterator[ContainerFile]:
        if after == cursor:  # the segment starting there: delete its cursor first
            assert listed_cursor.wait(60), "the segment before never listed the cursor"
            with lock:
                if cursor not in gone:
                    api.delete_file(box.id, cursor)
                    gone.add(cursor)
        for f in box.files(None if after in gone else after):  # a gone cursor: from the start
            if f.id == cursor:
                listed_cursor.set()
            yield f

    stats = Stats()
    listed = [f.id for f in list_segmented(forgiving, positions, workers=2, min_segment=1,
                                           stats=stats)]
    assert stats.resumed == 1
    now = box.walk()
    at = last.index(cursor)
    assert listed in (now, last[:at + 1] + now[at:]), listed


def test_pages_and_requests_in_flight_stay_bounded(api: ContainersClient, blob: Path) -> None:
    box = Container(api, blob)
    box.add(60)
    positions = positions_of(box.walk())
    box.add(4)  # new objects land in the last segment
    sequential_pages = len(box.walk()) // PAGE + 1
    active = peak = 0
    lock = threading.Lock()

    def files(after: str | None) -> Iterator[ContainerFile]:
        nonlocal active, peak
        listed = box.files(after)
        while True:
            with lock:
                active += 1
                peak = max(peak, active)
            try:
                f = next(listed, None)
            finally:
                with lock:
                    active -= 1
            if f is None:
                return
            yield f

    stats = Stats()
    before = api.requests_made
    listed = list_segmented(files, positions, workers=3, min_segment=1, stats=stats)
    pages = api.requests_made - before

    assert [f.id for f in listed] == box.walk()
    assert stats.segments == 6 and stats.absorbed == 0
    assert sequential_pages <= pages <= sequential_pages + stats.segments
    assert peak <= 3


def test_a_cold_listing_reads_both_ends_at_once(api: ContainersClient, blob: Path) -> None:
    box = Container(api, blob)
    box.add(30)
    stats = Stats()
    before = api.requests_made
    listed = list_segmented(box.files, {}, workers=2, page_size=PAGE, stats=stats)
    pages = api.requests_made - before
    assert [f.id for f in listed] == box.walk()
    assert stats.segments == 2 and pages <= 30 // PAGE + 3  # the two walks overlap a page


def test_a_small_cold_listing_is_one_request(api: ContainersClient, blob: Path) -> None:
    box = Container(api, blob)
    box.add(PAGE - 1)
    before = api.requests_made
    listed = list_segmented(box.files, {}, workers=4, page_size=PAGE)
    assert api.requests_made - before == 1 and len(listed) == PAGE - 1


@pytest.mark.parametrize("segment", [0, 1, 2])
def test_a_segment_that_ends_early_does_not_cut_off_the_segments_after_it(
        api: ContainersClient, blob: Path, segment: int) -> None:
    """A server that once answers ``has_more: false`` in the middle of the listing (a
    dropped page): the segment walking there seems to reach the end, while the segments
    after it list objects beyond. Those objects are there: the listing walks on for them
    instead of ending with that segment (which made every later object look deleted)."""
    box = Container(api, blob)
    box.add(24)
    last = box.walk()
    positions = positions_of(last)
    cursors = pick_cursors(positions, workers=2, min_segment=1)
    start = [None, *cursors][segment]
    cut = threading.Lock()

    def dropping(after: str | None) -> Iterator[ContainerFile]:
        listed = box.files(after)
        if after == start and cut.acquire(blocking=False):  # once: two objects, then "the end"
            yield from list(islice(listed, 2))
            return
        yield from listed

    listed = [f.id for f in list_segmented(dropping, positions, workers=2, min_segment=1)]
    assert listed == last


def test_a_cold_listing_whose_walk_from_the_start_ends_early_keeps_the_other_walk(
        api: ContainersClient, blob: Path) -> None:
    """Nothing known: the listing reads from both ends. When the walk from the start meets
    a page that says it was the last one, the walk from the end still holds the rest."""
    box = Container(api, blob)
    box.add(24)
    last = box.walk()

    def dropping(after: str | None, newest_first: bool = False) -> Iterator[ContainerFile]:
        listed = box.files(after, newest_first)
        yield from (listed if newest_first else list(islice(listed, 2 * PAGE + 1)))

    listed = [f.id for f in list_segmented(dropping, {}, workers=2, page_size=PAGE)]
    assert listed == last
