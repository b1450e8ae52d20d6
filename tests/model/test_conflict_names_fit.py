"""A conflict copy's name is a name the folder can hold, for every name the folder holds:
within 255 bytes a segment and 4096 bytes the path, however long the file's extension or
deep its folder. A copy that cannot be named is a conflict that never completes: every
sync reported a failed download and uploaded the local version again."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from containersync.errors import UnsafePath
from containersync.model.paths import (
    MAX_COMPONENT_BYTES,
    MAX_PATH_BYTES,
    conflict_copies_of,
    conflict_copy_name,
    is_conflict_copy,
    normalize_relpath,
)

WHEN = datetime(2026, 11, 23, 10, 15, 0, tzinfo=UTC)
letters = st.text(alphabet="abcé€𝄞.-_ ", min_size=1, max_size=90)
undotted = st.text(alphabet="abcé€𝄞-_ ", min_size=1, max_size=250)


@st.composite
def names(draw: st.DrawFn) -> str:
    """A segment of up to 255 bytes, often with a long or many-dotted extension."""
    stem = draw(letters) * draw(st.integers(1, 8))
    ext = draw(st.one_of(st.just(""), undotted.map(lambda e: "." + e)))
    name = (stem.encode()[:max(MAX_COMPONENT_BYTES - len(ext.encode()), 1)]
            .decode("utf-8", "ignore") + ext)
    return name.encode()[:MAX_COMPONENT_BYTES].decode("utf-8", "ignore").strip(". ") or "x"


@st.composite
def paths(draw: st.DrawFn) -> str:
    """A relative path of up to 4096 bytes, some of them right at the limit."""
    name = draw(names())
    depth = draw(st.integers(0, 40))
    head = "/".join(draw(names()) for _ in range(min(depth, 3)))  # up to 765 bytes
    filler = "d" * 100
    parts = [p for p in [head, *[filler] * depth, name] if p]
    rel = "/".join(parts)
    # the folder leaves a name at least 64 bytes (less has no room for a copy: below)
    while len(rel.encode()) > MAX_PATH_BYTES or len(rel.rpartition("/")[0].encode()) > 4030:
        parts.pop(-2)
        rel = "/".join(parts)
    return rel


@settings(max_examples=400)
@given(rel=paths(), n=st.sampled_from([0, 2, 11, 999]))
def test_every_conflict_copy_name_is_a_valid_path_of_the_same_folder(rel: str, n: int) -> None:
    rel = normalize_relpath(rel)
    copy = conflict_copy_name(rel, WHEN, n)
    assert normalize_relpath(copy) == copy  # within both limits, a safe name
    assert copy.rpartition("/")[0] == rel.rpartition("/")[0]
    assert is_conflict_copy(copy) and copy != rel
    assert conflict_copies_of(rel, [copy, rel]) == [copy]


def test_a_long_extension_leaves_room_for_the_mark() -> None:
    name = "a." + "b" * 250  # 252 bytes: the mark does not fit before the extension
    copy = conflict_copy_name(name, WHEN)
    assert len(copy.encode()) <= MAX_COMPONENT_BYTES
    assert ".conflict-20261123-101500" in copy
    assert conflict_copies_of(name, [copy]) == [copy]


def test_a_path_at_the_limit_shortens_the_name_not_the_folders() -> None:
    rel = "/".join(["d" * 199] * 20) + "/report-" + "x" * 80 + ".csv"  # 4091 bytes
    copy = conflict_copy_name(normalize_relpath(rel), WHEN)
    assert len(copy.encode()) <= MAX_PATH_BYTES
    assert copy.endswith(".conflict-20261123-101500.csv")


def test_a_folder_that_leaves_no_room_for_a_copy_is_refused_clearly() -> None:
    rel = "/".join(["d" * 200] * 20) + "/" + "e" * 70 + "/r.csv"  # the folder: 4090 bytes
    with pytest.raises(UnsafePath, match="no room for a conflict copy"):
        conflict_copy_name(normalize_relpath(rel), WHEN)
