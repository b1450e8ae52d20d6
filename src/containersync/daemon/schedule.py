"""Timers of the daemon: APScheduler 3 jobs that only *enqueue* triggers.

One ``idle-work`` tick for every mapping (``idle_work.tick_seconds``: every second, or the
shortest pull interval when that is shorter) asks the shared ``IdleWork`` budget which
pulls and periodic full cycles are due and paid for (oldest first, ``plan.idle_budget``)
and triggers those; per mapping, a ``keepalive`` job (``DaemonConfig.keepalive_interval``
of the mapping's expiry window, the first ones spread over the second half of it), paid
from the same budget by the worker. A job calls
``worker.trigger(kind)`` and returns at once; the mapping's worker does the work,
serially. Idle handling (slower pulls, no keep-alives) is the worker's decision.

Jobs use ``coalesce=True`` (missed runs collapse into one), ``max_instances=1`` and
``misfire_grace_time=None`` (a late run still happens: a laptop waking from sleep gets its
pull and keep-alive at once instead of having them dropped).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from apscheduler.schedulers.background import BackgroundScheduler

from containersync.daemon.idle_work import IdleWork, tick_seconds

if TYPE_CHECKING:  # annotations only: the daemon can run on a cached config record
    from containersync.config import DaemonConfig, MappingConfig


class Triggerable(Protocol):
    name: str

    def trigger(self, kind: str) -> None: ...

    def use_idle_work(self, idle: IdleWork) -> None: ...


def trigger_due(idle: IdleWork, workers: Mapping[str, Triggerable]) -> list[tuple[str, str]]:
    """One tick: trigger the idle work that is due and paid for."""
    started = idle.due()
    for kind, name in started:
        worker = workers.get(name)
        if worker is not None:
            worker.trigger(kind)
    return started


def intervals(daemon: DaemonConfig, mapping: MappingConfig) -> dict[str, float]:
    """Seconds between each trigger kind for ``mapping``."""
    return {
        "pull": daemon.pull_interval_seconds,
        "full": daemon.full_sync_interval_seconds,
        "keepalive": daemon.keepalive_interval(mapping.container.expires_after_minutes),
    }


def first_keepalive_after(interval: float, i: int, n: int) -> float:
    """Seconds from start-up to the first timed keep-alive of mapping ``i`` of ``n``: spread
    over the second half of the interval (each first sync's own keep-alive came at start),
    so ``n`` mappings' keep-alives do not all come in the same second every interval. Paid
    from the idle budget, 200 at once left it ~185 requests short: no mapping pulled for
    the next two minutes, every ten minutes."""
    return interval * (n + i) / (2 * n)


def start_scheduler(daemon: DaemonConfig,
                    workers: Iterable[tuple[MappingConfig, Triggerable]]) -> BackgroundScheduler:
    """A started scheduler: the shared idle-work tick and every mapping's keep-alive."""
    scheduler = BackgroundScheduler(timezone="UTC")
    idle = IdleWork.for_config(daemon)
    by_name: dict[str, Triggerable] = {}
    pairs = list(workers)
    started = datetime.now(UTC)
    for i, (mapping, worker) in enumerate(pairs):
        by_name[worker.name] = worker
        idle.add(worker.name)
        worker.use_idle_work(idle)
        every = intervals(daemon, mapping)["keepalive"]
        scheduler.add_job(
            worker.trigger, "interval", args=["keepalive"], seconds=every,
            next_run_time=started + timedelta(
                seconds=first_keepalive_after(every, i, len(pairs))),
            id=f"{mapping.name}:keepalive", name=f"keepalive {mapping.name}",
            coalesce=True, max_instances=1, misfire_grace_time=None,
        )
    scheduler.add_job(trigger_due, "interval", args=[idle, by_name],
                      seconds=tick_seconds(daemon), id="idle-work", name="idle work",
                      coalesce=True, max_instances=1, misfire_grace_time=None)
    scheduler.start()
    return scheduler


def stop_scheduler(scheduler: BackgroundScheduler) -> None:
    if scheduler.running:
        scheduler.shutdown(wait=True)
