"""Listing positions: ``assign_positions`` (pure) and their round trip through the index."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from containersync.index.positions import STEP, assign_positions
from containersync.index.store import Index
from containersync.model.entry import RemoteObject


def applied(listing: list[str], known: dict[str, int]) -> list[int]:
    merged = {**{f: p for f, p in known.items() if f in listing},
              **assign_positions(listing, known)}
    return [merged[f] for f in listing]


ids = st.lists(st.integers(0, 60), unique=True, max_size=40).map(lambda xs: [f"f{x}" for x in xs])


@settings(max_examples=300, deadline=None)
@given(listing=ids, known=st.dictionaries(st.integers(0, 60).map(lambda x: f"f{x}"),
                                          st.integers(-50, 200), max_size=40))
def test_positions_grow_along_any_listing(listing: list[str], known: dict[str, int]) -> None:
    placed = applied(listing, known)
    assert all(a < b for a, b in pairwise(placed))


@settings(max_examples=200, deadline=None)
@given(listing=ids, drop=st.sets(st.integers(0, 39)), new=st.integers(0, 5))
def test_deletions_and_new_objects_at_the_end_rewrite_only_the_new(
        listing: list[str], drop: set[int], new: int) -> None:
    known = {f: p for f, p in zip(listing, applied(listing, {}), strict=True)}
    later = [f for i, f in enumerate(listing) if i not in drop] + [f"n{i}" for i in range(new)]
    assert set(assign_positions(later, known)) == {f"n{i}" for i in range(new)}


def test_an_object_among_older_ones_takes_room_between_them() -> None:
    known = {"a": 0, "b": STEP, "c": 2 * STEP}
    moved = assign_positions(["a", "x", "b", "c"], known)
    assert list(moved) == ["x"] and 0 < moved["x"] < STEP


def test_no_room_renumbers() -> None:
    moved = assign_positions(["a", "x", "b"], {"a": 0, "b": 1})
    assert moved == {"x": STEP, "b": 2 * STEP}


def test_positions_round_trip_and_survive_recaching(tmp_path: Path) -> None:
    objects = [RemoteObject(f"cfile_{i}", f"/mnt/data/{i}", 1, "user", 1) for i in range(4)]
    with Index.open(tmp_path / "index.sqlite3") as idx:
        with idx.write() as tx:
            tx.ensure_mapping("m")
            tx.add_remote_objects("m", objects)
            tx.set_positions("m", assign_positions([o.file_id for o in objects], {}).items())
        with idx.write() as tx:
            tx.add_remote_objects("m", objects[:1])  # cached again: keeps its place
            tx.add_remote_objects("m", [RemoteObject("cfile_new", "/mnt/data/n", 2, "user", 1)])
            tx.append_positions("m", ["cfile_new"])
        positions = idx.listing_positions("m")
    assert list(positions) == [*(o.file_id for o in objects), "cfile_new"]
    assert positions["cfile_0"] == 0 and positions["cfile_new"] == 3 * STEP + 1
