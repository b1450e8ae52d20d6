"""What keeping a container alive costs, and the daily budget that stops it.

The service bills a container per memory tier for each 20-minute session it is alive, so
every keep-alive the daemon sends while nobody works is the user's money. Each keep-alive
is counted in the index (``keepalive_days``) with how long it kept the container alive: the
container would have expired at its previous expiry, and now expires one window after the
keep-alive, so it bought the difference (at most one window). Times are the server's
(``last_active_at``), days are UTC days of the daemon's clock.

With ``keepalive_budget_hours_per_day`` set, once a day's keep-alives have bought that
much, keep-alive stops until the next UTC day (said once a day): the container expires one
window after its last activity, and the next change (a local one, or a ``Mirror.sync()``)
starts a new generation, re-seeded from the folder, as after an idle expiry.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # status reads day_of without loading the config models
    from containersync.config import DaemonConfig


def day_of(at: datetime) -> str:
    """The UTC day (``YYYY-MM-DD``) keep-alives sent at ``at`` are counted in."""
    return at.astimezone(UTC).strftime("%Y-%m-%d")


def bought(old_expires_at: float | None, new_expires_at: float | None,
           window_s: float) -> float:
    """Seconds of life one keep-alive gave the container: from the expiry it had before
    (``None``: not known, so nothing is claimed) to the one it has now, at most one
    window."""
    if old_expires_at is None or new_expires_at is None:
        return 0.0
    return max(0.0, min(new_expires_at - old_expires_at, window_s))


def budget_seconds(daemon: DaemonConfig) -> float | None:
    """The daily keep-alive budget in seconds; ``None`` when off (the default)."""
    hours = daemon.keepalive_budget_hours_per_day
    return hours * 3600 if hours else None


class BudgetNotes:
    """Remembers the day the budget ran out, so the daemon says so once that day (a plain
    class: ``status`` imports this module, and dataclasses costs its start-up ~10 ms)."""

    def __init__(self) -> None:
        self.spent_on: str | None = None

    def first_time(self, day: str) -> bool:
        if self.spent_on == day:
            return False
        self.spent_on = day
        return True
