"""The daemon's pull checks under the default config, through the scheduler's tick
(``schedule.trigger_due``) and the shared ``IdleWork`` on a virtual clock: a quiet mapping
keeps pulling at ``pull_interval_seconds`` (it used to back off to one pull a minute, so
the assistant's write after a quiet minute waited up to a minute), an active one pulls
more often, and many mappings stay within ``idle_requests_per_minute``."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from containersync.config import DaemonConfig
from containersync.daemon.idle_work import IdleWork, budget_for, tick_seconds
from containersync.daemon.schedule import trigger_due
from containersync.daemon.worker import is_idle, pull_check_due


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
         clock: Clock, *, late: Callable[[int], float] = lambda _n: 0.0,
         ) -> tuple[IdleWork, dict[str, Recorder]]:
    """Tick every ``tick_seconds`` for ``seconds``; tick ``n`` runs ``late(n)`` seconds
    after its scheduled time (as APScheduler's does: its schedule does not drift, but each
    run starts a little after its time)."""
    idle = IdleWork(budget_for(cfg), clock=clock)
    workers = {n: Recorder(n, clock=clock) for n in names}
    for n in names:
        idle.add(n)
    tick = tick_seconds(cfg)
    n = 0
    while clock.now < seconds:
        n += 1
        clock.now = n * tick + late(n)
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


def _late(n: int) -> float:
    return (n * 7919 % 41) / 1000  # 0-40 ms, varying from tick to tick


def test_the_default_budget_pays_one_active_mapping_every_active_interval() -> None:
    """Three quarters of the default budget pay one mapping's pulls at the default active
    interval (60 a minute paid 45 pulls, and stretched the 1 s pulls to 4/3 s)."""
    cfg = DaemonConfig()
    b = budget_for(cfg)
    b.add("m", 0.0)
    assert b.interval("m", 1.0) == cfg.active_pull_interval_seconds


def test_an_active_mapping_pulls_every_second_when_the_tick_runs_late() -> None:
    """Each tick runs 0-40 ms after its time, by a varying amount: the 1 s active pulls
    still come every second (they were due one interval after the granting tick, so each
    tick that ran earlier than the one before skipped a second)."""
    cfg = DaemonConfig()
    assert cfg.active_pull_interval_seconds == tick_seconds(cfg) == 1.0
    clock = Clock()
    _idle, workers = _run(cfg, ["m"], 59.0, clock, late=_late)
    pulls = workers["m"].pulls
    assert [round(b - a) for a, b in itertools.pairwise(pulls)] == [1] * (len(pulls) - 1)
    assert len(pulls) >= 57


def test_a_stretched_pull_interval_is_kept_on_average_when_the_tick_runs_late() -> None:
    """A budget of 60 a minute stretches one active mapping's 1 s pulls to 4/3 s: the tick
    nearest each due time grants it (gaps of 1 and 2 s, 4/3 s on average), where late
    ticks made every gap 2 s."""
    cfg = DaemonConfig(idle_requests_per_minute=60)
    clock = Clock()
    _idle, workers = _run(cfg, ["m"], 59.0, clock, late=_late)
    pulls = workers["m"].pulls
    assert {round(b - a) for a, b in itertools.pairwise(pulls)} <= {1, 2}
    assert len(pulls) >= 59 * 3 / 4 - 1


def test_two_hundred_mappings_pull_within_the_shared_budget() -> None:
    cfg = DaemonConfig()
    clock = Clock()
    names = [f"m{i}" for i in range(200)]
    _idle, workers = _run(cfg, names, 600.0, clock)
    pulls = sum(len(w.pulls) for w in workers.values())
    budget = cfg.idle_requests_per_minute
    assert pulls <= budget / 6 + budget * 10  # the burst plus ten minutes' worth
    assert all(w.pulls for w in workers.values())  # and each mapping had its turn


@dataclass
class Gated(Recorder):
    """A worker that runs a pull check for a trigger when ``MappingWorker._sync_step``
    would (``pull_check_due``, the function it calls; the container is running). The
    worker itself needs a session, a container and its runner threads on the real clock;
    its decision is this function, called here as it calls it."""

    def trigger(self, kind: str) -> None:
        if pull_check_due({kind}, container_gone_idle=False):
            self.pulls.append(self.clock.now)


def test_an_idle_mapping_acts_on_every_pull_the_budget_grants() -> None:
    """Idle (nothing changed for ``keepalive_idle_limit_seconds``), the budget grants a
    pull every ``idle_pull_interval_seconds`` by the tick nearest its due time, a few ms
    before it at times. The worker counted its own interval from its last pull as well,
    and refused a grant that came a little earlier than that one had: about every other
    idle pull was dropped, so the assistant's first write after a quiet spell waited up
    to two idle intervals."""
    cfg = DaemonConfig(keepalive_idle_limit_seconds=120)
    clock = Clock()
    idle = IdleWork(budget_for(cfg), clock=clock)
    worker = Gated("m", clock=clock)
    idle.add("m")
    granted: list[float] = []
    n = 0
    while clock.now < 3600:
        n += 1
        clock.now = n * tick_seconds(cfg) + _late(n)
        granted += [clock.now for kind, _ in trigger_due(idle, {"m": worker}) if kind == "pull"]
    quiet = [t for t in granted if is_idle(cfg, t)]
    assert len(quiet) >= (3600 - 120) / cfg.idle_pull_interval_seconds - 1
    checks = [t for t in worker.pulls if is_idle(cfg, t)]
    assert checks == quiet  # was 33 of 59
    # so an assistant's write waits one idle interval at most (it waited up to two)
    gaps = [b - a for a, b in itertools.pairwise(checks)]
    assert max(gaps) <= cfg.idle_pull_interval_seconds + tick_seconds(cfg)
