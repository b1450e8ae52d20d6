"""``model.entry.trusted``: which stats a base may keep (the racily clean rule)."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from containersync.model.entry import NO_MTIME, RACY_NS, BaseEntry, trusted

NS = st.integers(min_value=-1, max_value=2**62)


@given(mtime=NS, since=NS)
def test_a_stat_is_kept_only_when_taken_more_than_the_window_after_the_mtime(
        mtime: int, since: int) -> None:
    entry = BaseEntry("a.txt", 3, mtime, "ab" * 32, "cfile_1")
    got = trusted(entry, since)
    assert replace(got, mtime_ns=mtime) == entry  # only the mtime may change
    keeps = mtime < since - RACY_NS
    assert got.mtime_ns == (mtime if keeps else NO_MTIME)
    assert trusted(got, since) == got  # a base that is not trusted stays so


@given(mtime=NS, since=NS, later=st.integers(min_value=0, max_value=2**40))
def test_a_stat_trusted_now_is_trusted_by_any_later_look(mtime: int, since: int,
                                                         later: int) -> None:
    entry = BaseEntry("a.txt", 3, mtime, "")
    if trusted(entry, since).mtime_ns != NO_MTIME:
        assert trusted(entry, since + later).mtime_ns == mtime
