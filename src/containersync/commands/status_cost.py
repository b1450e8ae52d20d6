"""The cost part of ``containersync status``: the mapping's memory tier (what the service
bills a container by, per 20-minute session) and how long the daemon's keep-alives kept its
container alive today (UTC), against the daily budget if one is set
(``daemon.keepalive_budget_hours_per_day``; see ``daemon.keepalive_budget``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from containersync.daemon.keepalive_budget import day_of

if TYPE_CHECKING:
    from containersync.index.store import Index

#: the API's default memory tier when the mapping's spec names none
DEFAULT_MEMORY_LIMIT = "1g"


def cost(memory_limit: str | None, budget: float | None, index: Index | None, key: str | None,
         *, now: datetime | None = None) -> dict[str, Any]:
    """The mapping's tier (``memory_limit`` as configured) and today's keep-alives against
    ``budget`` (``keepalive_budget.budget_seconds``)."""
    today = day_of(now or datetime.now(UTC))
    spent = index.keepalive_day(key, today) if index is not None and key else None
    seconds = round(spent.seconds, 1) if spent else 0.0
    return {
        "memory_limit": memory_limit or DEFAULT_MEMORY_LIMIT,
        "memory_limit_source": "config" if memory_limit else "api-default",
        "day": today,
        "keepalives_today": spent.keepalives if spent else 0,
        "kept_alive_today_s": seconds,
        "keepalive_budget_s": budget,
        "keepalive_budget_spent": budget is not None and seconds >= budget,
    }


def hours(seconds: float) -> str:
    """``1 h 05 min``, ``12 min``: a duration for people."""
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def render_cost(c: dict[str, Any]) -> str:
    tier = c["memory_limit"] + (" (the API's default)"
                                if c["memory_limit_source"] == "api-default" else "")
    text = (f"memory {tier}; kept alive {hours(c['kept_alive_today_s'])} today "
            f"by {c['keepalives_today']} keep-alive(s)")
    budget = c["keepalive_budget_s"]
    if budget is not None:
        text += f" (budget {hours(budget)}/day"
        text += ", spent: keep-alive stopped until tomorrow, UTC)" if c[
            "keepalive_budget_spent"] else ")"
    return text
