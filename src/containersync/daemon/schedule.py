"""Timers of the daemon: APScheduler 3 jobs that only *enqueue* triggers.

Per mapping: ``pull`` (every ``pull_interval_seconds``), ``full`` (every
``full_sync_interval_seconds``) and ``keepalive`` (``DaemonConfig.keepalive_interval`` of the
mapping's expiry window). A job calls ``worker.trigger(kind)`` and returns at once; the
mapping's worker thread does the work, serially. Idle handling (slower pulls, no
keep-alives) is the worker's decision, so the schedule never changes while running.

Jobs use ``coalesce=True`` (missed runs collapse into one), ``max_instances=1`` and
``misfire_grace_time=None`` (a late run still happens: a laptop waking from sleep gets its
pull and keep-alive at once instead of having them dropped).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from apscheduler.schedulers.background import BackgroundScheduler

from containersync.config import DaemonConfig, MappingConfig


class Triggerable(Protocol):
    name: str

    def trigger(self, kind: str) -> None: ...


def intervals(daemon: DaemonConfig, mapping: MappingConfig) -> dict[str, float]:
    """Seconds between each trigger kind for ``mapping``."""
    return {
        "pull": daemon.pull_interval_seconds,
        "full": daemon.full_sync_interval_seconds,
        "keepalive": daemon.keepalive_interval(mapping.container.expires_after_minutes),
    }


def start_scheduler(daemon: DaemonConfig,
                    workers: Iterable[tuple[MappingConfig, Triggerable]]) -> BackgroundScheduler:
    """A started scheduler with every mapping's jobs."""
    scheduler = BackgroundScheduler(timezone="UTC")
    for mapping, worker in workers:
        for kind, seconds in intervals(daemon, mapping).items():
            scheduler.add_job(
                worker.trigger, "interval", args=[kind], seconds=seconds,
                id=f"{mapping.name}:{kind}", name=f"{kind} {mapping.name}",
                coalesce=True, max_instances=1, misfire_grace_time=None,
            )
    scheduler.start()
    return scheduler


def stop_scheduler(scheduler: BackgroundScheduler) -> None:
    if scheduler.running:
        scheduler.shutdown(wait=True)
