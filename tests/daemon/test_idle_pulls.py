"""The daemon's pull checks under the default config, through the scheduler's tick
(``schedule.trigger_due``) and the shared ``IdleWork`` on a virtual clock: a quiet mapping
keeps pulling at ``pull_interval_seconds`` (it used to back off to one pull a minute, so
the assistant's write after a quiet minute waited up to a minute), an active one pulls
more often, and many mappings stay within ``idle_requests_per_minute``."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from containersync.config import DaemonConfig
from containersync.daemon.idle_work import IdleWork, budget_for
from containersync.daemon.schedule import tick_seconds, trigger_due


@dataclass
class Clock:
    now: float = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Recorder:
    """A worker as the tick sees it: it records each trigger (a pull that finds nothing
    reports nothing back)."""
    name: str
    pulls: list[float] = field(default_factory=list)
    clock: Clock = field(default_factory=Clock)

    def trigger(self, kind: str) -> None:
        if kind == "pull":
            self.pulls.append(self.clock.now)

    def use_idle_work(self, idle: IdleWork) -> None:
        pass


def _run(cfg: DaemonConfig, names: list[str], seconds: float,
         clock: Clock) -> tuple[IdleWork, dict[str, Recorder]]:
    idle = IdleWork(budget_for(cfg), clock=clock)
    workers = {n: Recorder(n, clock=clock) for n in names}
    for n in names:
        idle.add(n)
    tick = tick_seconds(cfg)
    while clock.now < seconds:
        clock.now += tick
        trigger_due(idle, workers)
    return idle, workers


def test_a_quiet_mapping_pulls_every_base_interval_under_the_default_budget() -> None:
    cfg = DaemonConfig()
    clock = Clock()
    _idle, workers = _run(cfg, ["m"], 600.0, clock)
    pulls = workers["m"].pulls
    quiet = [t for t in pulls if t > 60 + cfg.pull_interval_seconds]
    gaps = {round(b - a, 6) for a, b in itertools.pairwise(quiet)}
    assert gaps == {cfg.pull_interval_seconds}
    assert len(quiet) >= (600 - 70) / cfg.pull_interval_seconds - 1  # was 12 in 600 s


def test_an_active_mapping_pulls_within_two_seconds() -> None:
    cfg = DaemonConfig()
    clock = Clock()
    _idle, workers = _run(cfg, ["m"], 59.0, clock)  # just added: that is a change
    pulls = workers["m"].pulls
    assert max(b - a for a, b in itertools.pairwise(pulls)) <= 2.0
    assert len(pulls) <= 59 * cfg.idle_requests_per_minute / 60


def test_two_hundred_mappings_pull_within_the_shared_budget() -> None:
    cfg = DaemonConfig()
    clock = Clock()
    names = [f"m{i}" for i in range(200)]
    _idle, workers = _run(cfg, names, 600.0, clock)
    pulls = sum(len(w.pulls) for w in workers.values())
    budget = cfg.idle_requests_per_minute
    assert pulls <= budget / 6 + budget * 10  # the burst plus ten minutes' worth
    assert all(w.pulls for w in workers.values())  # and each mapping had its turn
