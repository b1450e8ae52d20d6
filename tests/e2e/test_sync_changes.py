"""The two-way change matrix of SYNC_SEMANTICS, end to end through ``containersync sync``.

Each ``Row`` is one line of the matrix on its own file names: an initial tree (synced
first), changes made locally and by the assistant (``local exec``), and what both sides
must hold afterwards. All rows run together in one world per path mode (so the suite stays
fast, and rows also prove they do not disturb each other); the counts in the JSON are the
sum of the rows'. A third sync must then find nothing to do.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from containersync.index.store import Index
from support.scenario import Content, World, counts

TOUCH = "<touch: same content, new mtime>"
STAMP = re.compile(r"\.conflict-(\d{8}-\d{6})(-\d+)?")


@dataclass(frozen=True)
class Row:
    name: str
    initial: dict[str, str]
    local: dict[str, Content]
    remote: dict[str, Content]
    want_local: dict[str, str]
    want_remote: dict[str, str]
    want: dict[str, int] = field(default_factory=dict)
    trash: dict[str, str] = field(default_factory=dict)


#: a row whose assistant change supersedes our upload also counts the deletion of that
#: upload (``deleted_remote``): superseded objects of ours are garbage, never versions
ROWS = [
    Row("new local, absent remote: upload",
        {}, {"new.txt": "n"}, {},
        {"new.txt": "n"}, {"new.txt": "n"}, {"uploaded": 1}),
    Row("modified local, unchanged remote: upload, old object deleted",
        {"mod.txt": "v1"}, {"mod.txt": "v2 longer"}, {},
        {"mod.txt": "v2 longer"}, {"mod.txt": "v2 longer"}, {"uploaded": 1}),
    Row("mtime-only touch: nothing uploaded",
        {"touch.txt": "t"}, {"touch.txt": TOUCH}, {},
        {"touch.txt": "t"}, {"touch.txt": "t"}),
    Row("deleted local, unchanged remote: remote deleted",
        {"del.txt": "d"}, {"del.txt": None}, {},
        {}, {}, {"deleted_remote": 1}),
    Row("unchanged local, new remote: download",
        {}, {}, {"sub/rnew.txt": "r"},
        {"sub/rnew.txt": "r"}, {"sub/rnew.txt": "r"}, {"downloaded": 1}),
    Row("unchanged local, newer remote: download, old copy to trash",
        {"rmod.txt": "v1"}, {}, {"rmod.txt": "v2"},
        {"rmod.txt": "v2"}, {"rmod.txt": "v2"}, {"downloaded": 1, "deleted_remote": 1},
        trash={"rmod.txt": "v1"}),
    Row("unchanged local, deleted remote: local to trash",
        {"rdel.txt": "x"}, {}, {"rdel.txt": None},
        {}, {}, {"deleted_local": 1}, trash={"rdel.txt": "x"}),
    Row("modified local, deleted remote: edit wins, upload",
        {"editwins.txt": "v1"}, {"editwins.txt": "v2"}, {"editwins.txt": None},
        {"editwins.txt": "v2"}, {"editwins.txt": "v2"}, {"uploaded": 1}),
    Row("deleted local, newer remote: edit wins, download",
        {"dl.txt": "v1"}, {"dl.txt": None}, {"dl.txt": "v2"},
        {"dl.txt": "v2"}, {"dl.txt": "v2"}, {"downloaded": 1, "deleted_remote": 1}),
    Row("modified both sides, same content: no conflict",
        {"same.txt": "v1"}, {"same.txt": "v2"}, {"same.txt": "v2"},
        {"same.txt": "v2"}, {"same.txt": "v2"}, {"deleted_remote": 1}),
    Row("new both sides, same content: no conflict",
        {}, {"bothnew.txt": "s"}, {"bothnew.txt": "s"},
        {"bothnew.txt": "s"}, {"bothnew.txt": "s"}),
    Row("modified both sides, different content: conflict copy, both kept",
        {"report.csv": "base"}, {"report.csv": "mine"}, {"report.csv": "theirs"},
        {"report.csv": "mine", "report.conflict-<stamp>.csv": "theirs"},
        {"report.csv": "mine"}, {"uploaded": 1, "conflicts": 1, "deleted_remote": 1}),
    Row("new both sides, different content: conflict copy, both kept",
        {}, {"notes": "mine"}, {"notes": "theirs"},
        {"notes": "mine", "notes.conflict-<stamp>": "theirs"},
        {"notes": "mine"}, {"uploaded": 1, "conflicts": 1}),
    Row("deleted both sides: forgotten",
        {"gone.txt": "g"}, {"gone.txt": None}, {"gone.txt": None},
        {}, {}),
]
#: files nobody touches, so the deletions above stay far below the max-delete rail
STABLE = {f"keep/{i}.txt": f"keep {i}" for i in range(6)}


def _merge(*parts: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in parts:
        out.update(part)
    return out


def _stamped(files: dict[str, str]) -> dict[str, str]:
    return {STAMP.sub(".conflict-<stamp>", rel): content for rel, content in files.items()}


def _touch(root: Path, rel: str) -> None:
    st = (root / rel).stat()
    os.utime(root / rel, ns=(st.st_atime_ns + 5 * 10**9, st.st_mtime_ns + 5 * 10**9))


def test_change_matrix(world: World) -> None:
    initial = _merge(STABLE, *(r.initial for r in ROWS))
    world.write(initial)
    first = world.sync()
    assert (first.code, first.counts) == (0, counts(uploaded=len(initial))), first.err
    assert world.remote() == initial

    for row in ROWS:
        for rel, content in row.local.items():
            if content == TOUCH:
                _touch(world.root, rel)
            else:
                world.write({rel: content})
    world.assistant_changes(_merge(*({k: v for k, v in r.remote.items()} for r in ROWS)))
    before = datetime.now(UTC).replace(microsecond=0)

    second = world.sync()
    after = datetime.now(UTC)
    want_counts = counts()
    for row in ROWS:
        for key, n in row.want.items():
            want_counts[key] += n
    assert second.code == 0, second.err
    assert second.m["problems"] == []
    assert second.counts == want_counts
    local = world.local()
    assert _stamped(local) == _merge(STABLE, *(r.want_local for r in ROWS))
    assert world.remote() == _merge(STABLE, *(r.want_remote for r in ROWS))
    assert world.trash() == _merge(*(r.trash for r in ROWS))

    # conflict copies are stamped with the sync's UTC time, never uploaded
    stamps = [m.group(1) for rel in local if (m := STAMP.search(rel))]
    assert len(stamps) == 2
    for stamp in stamps:
        when = datetime.strptime(stamp, "%Y%m%d-%H%M%S").replace(tzinfo=UTC)
        assert before.timestamp() - 1 <= when.timestamp() <= after.timestamp() + 1
    # a modified file replaced its object: exactly one object left for it
    own_paths = [o["path"] for o in world.objects() if o["path"].endswith("mod.txt")
                 and "rmod" not in o["path"]]
    assert len(own_paths) == 1
    # both-deleted is forgotten by the index
    with Index.open(world.index_file) as index:
        assert "gone.txt" not in index.bases(world.key)
        assert set(index.bases(world.key)) == set(world.remote())

    third = world.sync()
    assert (third.code, third.counts) == (0, counts())
    assert _stamped(world.local()) == _stamped(local)
