"""What mapping a listing and planning a tree hold beside their inputs (issue 9: the
daemon's first full cycle peaks while it plans 100,000 files).

Counted, not timed: ``tracemalloc``'s peak above what was alive before the call, per file,
for a tree where every file is in sync (the no-op full cycle: each base names its upload
at the sandbox path the server kept). What stays is the view (one ``RemoteFile`` per file
and its dict); the rest is bookkeeping, which used to be a set or dict of every path per
step.
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from planfix import NOW, ROOT

from containersync.model.entry import BaseEntry, LocalFile, Mode, RemoteObject
from containersync.plan.hash_later import hash_later
from containersync.plan.reconcile import reconcile
from containersync.plan.remote_view import remote_view

FILES = 20_000
#: above the listing and the base, per file, while the view is made and once made (the
#: view itself is ~0.1 KiB per file). 273 B measured when a dict of every base's sandbox
#: path, a set of every id of ours and a (file, ours) pair per path were made for it;
#: 161 B now
VIEW_PEAK_PER_FILE = 200
#: above the base, the scan and the view while the plan of an in-sync tree is made: 315 B
#: when the union of the three sides' paths was made as ``a | b | c`` (four sets at once)
#: and the decided paths were a set frozen into a second one; 157 B once they were not,
#: 140 B now that the set of paths grows key by key (``set.update`` of a dict sizes the
#: table as if every key were new)
RECONCILE_PEAK_PER_FILE = 170
#: what the scan's ``defer`` holds of a view: it asks the view's own maps (a set of every
#: path with an object, ~40 B per file, was held through the whole scan; ~80 B while made)
DEFER_PEAK_PER_FILE = 8


def tree(files: int) -> tuple[dict[str, BaseEntry], dict[str, LocalFile],
                              list[RemoteObject], dict[str, str]]:
    """Base, scan, listing and own uploads of ``files`` synced files, with strings of their
    own per side (as the index, the scanner and the wire decoder make them)."""
    base, local, listed, own = {}, {}, [], {}
    for i in range(files):
        path = f"d{i // 100:04d}/f{i:06d}.txt"
        fid, digest = f"cfile_{i:032x}", f"{i:064x}"
        base[path] = BaseEntry(path, 10, 10**18 + i, digest, fid, f"{ROOT}/{path}",
                               1_700_000_000 + i, "user")
        local[path] = LocalFile(f"d{i // 100:04d}/f{i:06d}.txt", 10, 10**18 + i, digest)
        listed.append(RemoteObject(f"cfile_{i:032x}", f"{ROOT}/{path}", 1_700_000_000 + i,
                                   "user", 10))
        own[fid] = path
    return base, local, listed, own


@contextmanager
def traced() -> Iterator[Callable[[], int]]:
    """Yields a function that says the traced peak above the start, in bytes per file."""
    gc.collect()
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        yield lambda: (tracemalloc.get_traced_memory()[1] - start) // FILES
    finally:
        tracemalloc.stop()


def test_mapping_a_synced_listing_holds_little_beside_the_view() -> None:
    base, _local, listed, own = tree(FILES)
    with traced() as peak:
        view = remote_view(listed, base, remote_root=ROOT, own_ids=own, consume=True)
        held = peak()
    assert len(view.files) == FILES and not (view.garbage or view.foreign or view.problems)
    assert all(view.files[p].file_id == b.remote_id for p, b in base.items())
    assert held <= VIEW_PEAK_PER_FILE, held


def test_planning_a_synced_tree_holds_no_set_of_every_path_per_step() -> None:
    base, local, listed, own = tree(FILES)
    view = remote_view(listed, base, remote_root=ROOT, own_ids=own, consume=True)
    with traced() as peak:
        plan = reconcile(base, local, view, Mode.TWO_WAY, now=NOW)
        held = peak()
    assert plan.actions == () and plan.decided == frozenset(base)
    assert held <= RECONCILE_PEAK_PER_FILE, held


def test_deciding_which_files_hash_later_copies_no_path_of_the_view() -> None:
    base, _local, listed, own = tree(FILES)
    view = remote_view(listed, base, remote_root=ROOT, own_ids=own, consume=True)
    with traced() as peak:
        defer = hash_later(view, {}, threshold=1)
        held = peak()
    assert not defer("d0000/f000000.txt", 10)  # an object maps there: hashed first
    assert defer("d0000/new.bin", 10)
    assert held <= DEFER_PEAK_PER_FILE, held
