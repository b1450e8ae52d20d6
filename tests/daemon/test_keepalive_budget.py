"""The keep-alive accounting's arithmetic (``daemon.keepalive_budget``): what one keep-alive
bought, and which day it counts in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from containersync.config import DaemonConfig
from containersync.daemon.keepalive_budget import BudgetNotes, bought, budget_seconds, day_of

WINDOW = 1200.0


def test_a_keepalive_buys_the_move_of_the_expiry_at_most_one_window() -> None:
    assert bought(1000.0, 1300.0, WINDOW) == 300.0
    assert bought(1000.0, 5000.0, WINDOW) == WINDOW  # never more than a session window
    assert bought(1300.0, 1000.0, WINDOW) == 0.0  # a cycle already moved it further
    assert bought(None, 1300.0, WINDOW) == 0.0  # unknown before: nothing claimed


@given(st.lists(st.floats(min_value=0, max_value=3 * WINDOW), max_size=30))
def test_keepalives_never_count_more_than_the_container_lived(gaps: list[float]) -> None:
    """A chain of keep-alives (each one ``gap`` after the last contact, before expiry)
    counts at most the time from the first expiry to the last."""
    expires, total, first = 10_000.0, 0.0, 10_000.0
    for gap in gaps:
        new = expires - WINDOW + min(gap, WINDOW) + WINDOW
        total += bought(expires, new, WINDOW)
        expires = max(expires, new)
    assert 0.0 <= total <= expires - first + 1e-6


def test_days_are_utc_days() -> None:
    late = datetime(2026, 12, 1, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert day_of(late) == "2026-12-02"
    assert day_of(datetime(2026, 12, 1, 0, 0, tzinfo=UTC)) == "2026-12-01"


def test_the_budget_is_off_by_default_and_said_once_a_day() -> None:
    assert budget_seconds(DaemonConfig()) is None
    assert budget_seconds(DaemonConfig(keepalive_budget_hours_per_day=1.5)) == 5400
    notes = BudgetNotes()
    assert notes.first_time("2026-12-01") and not notes.first_time("2026-12-01")
    assert notes.first_time("2026-12-02")
