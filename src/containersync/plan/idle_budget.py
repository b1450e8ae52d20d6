"""The daemon's idle work across every mapping, under one request budget (pure).

Idle work is what the daemon does when nobody changes anything: pull checks (one request
each), the periodic full cycle (charged ``FULL_COST`` requests) and keep-alives (one
retrieve each). With many mappings, a timer per mapping multiplied these by the mapping
count (200 mappings made ~3,200 requests a minute while idle); here they share one token
bucket of ``per_minute`` requests with a burst of ``burst``.

``IdleBudget.tick(now)`` returns the work to start now, oldest due first:

- each mapping has a pull due time and a full-cycle due time. Its pull interval is the one
  it *wants* while the budget can pay every mapping's wanted pulls: ``active_s`` within
  ``active_for_s`` of a change on either side (``changed``), ``idle_s`` once nothing
  changed for ``idle_after_s`` (0: never), else ``base_s``. Pulls may use ``PULL_SHARE`` of
  the budget (the rest pays full cycles and keep-alives); when the wanted pulls of all
  mappings together cost more, every interval is stretched by the same factor, but never
  beyond ``cap_s`` (past that the bucket's queue paces them). So one mapping pulls as
  often as it wants, and 200 share the budget; a pull that finds nothing does not slow
  the next one (a quiet minute must not delay the assistant's next write by a minute);
- work is granted while a token is free, in order of due time (then name); the first item
  that cannot be paid stops the tick, so later work never overtakes earlier work;
- the scheduler's tick runs a little after its time, by a varying amount: work due within
  ``lead_s`` after ``now`` (half the tick) is granted now, by the tick nearest its due time,
  and a granted item is due again one interval after its *due time*, not after the tick
  that granted it (due times counted from the tick slipped a whole tick each time a tick
  ran earlier than the one before: 1 s pulls on a 1 s tick came every 1-2 s). Work
  granted later than that (the budget was short, the machine slept) is due again one
  interval after its grant: the cadence restarts from there and never catches up;
- a granted item is due again one interval later even if its result never comes (a busy or
  failing mapping is offered its turn again, it is not dropped);
- keep-alives are never refused (``charge``): a container must not expire because pulls
  used the budget; they are paid from the same bucket, which may go below zero, so pulls
  wait until it has refilled.

Invariants (``tests/plan/test_idle_budget.py``): over any window of ``w`` seconds the
work ``tick`` grants costs at most ``burst + per_minute * w / 60`` plus what ``charge``
took in that window; every due mapping is granted within ``(mappings * FULL_COST) /
rate + one tick`` of its due time (no starvation), whatever the others do; a pull
interval is never shorter than the mapping wants, equals it while the wanted pulls of
every mapping fit ``PULL_SHARE`` of the budget, and otherwise the intervals together fit
that share or sit at ``cap_s``; with ticks every ``2 * lead_s`` that run late by less than
``lead_s``, a pull the budget pays is granted by the tick nearest its due time, and
whenever the ticks come, the ``n`` pulls after one span at least ``n`` wanted intervals
less ``2 * lead_s`` (never ahead of the cadence by more than a tick).
"""

from __future__ import annotations

from dataclasses import dataclass, field

PULL = "pull"
FULL = "full"
#: what a full cycle of a small tree costs: a retrieve of the container and one listing page
FULL_COST = 2.0
#: the part of the budget the pull checks of every mapping may use together
PULL_SHARE = 0.75
#: a mapping is active (pulls every ``active_s``) this long after a change on either side
ACTIVE_FOR_S = 60.0


@dataclass
class TokenBucket:
    per_minute: float
    burst: float
    tokens: float = field(default=-1.0)
    at: float | None = None

    def __post_init__(self) -> None:
        if self.per_minute <= 0 or self.burst < 1:
            raise ValueError("need per_minute > 0 and burst >= 1")
        if self.tokens < 0:
            self.tokens = self.burst

    def refill(self, now: float) -> None:
        if self.at is not None and now > self.at:
            self.tokens = min(self.burst, self.tokens + (now - self.at) * self.per_minute / 60)
        if self.at is None or now > self.at:
            self.at = now

    def take(self, now: float, cost: float = 1.0) -> bool:
        self.refill(now)
        if self.tokens < cost:
            return False
        self.tokens -= cost
        return True

    def charge(self, now: float, cost: float = 1.0) -> None:
        """Pay for work that is never refused; the bucket may go below zero."""
        self.refill(now)
        self.tokens -= cost


@dataclass
class _Mapping:
    pull_at: float
    full_at: float
    changed_at: float


@dataclass
class IdleBudget:
    bucket: TokenBucket
    base_s: float
    cap_s: float
    full_s: float
    active_s: float | None = None  # None: base_s
    active_for_s: float = ACTIVE_FOR_S
    idle_s: float | None = None  # None: base_s
    idle_after_s: float = 0.0  # 0: never idle
    #: work due this soon after a tick is granted by it: half the scheduler's tick
    lead_s: float = 0.0
    _mappings: dict[str, _Mapping] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0 < self.base_s <= self.cap_s or self.full_s <= 0:
            raise ValueError("need 0 < base_s <= cap_s and full_s > 0")
        if self.bucket.burst < FULL_COST:
            raise ValueError(f"need a burst of at least {FULL_COST} (a full cycle's cost)")
        if (self.active_s is not None and self.active_s <= 0) or (
                self.idle_s is not None and self.idle_s <= 0):
            raise ValueError("need active_s > 0 and idle_s > 0")
        if self.lead_s < 0:
            raise ValueError("need lead_s >= 0")

    def add(self, name: str, now: float) -> None:
        """A mapping joins: its first pull is one interval away, its full cycle one full
        interval away (its own first cycle is not idle work, but counts as a change)."""
        self._mappings[name] = _Mapping(now, now + self.full_s, now)
        self._mappings[name].pull_at = now + self.interval(name, now)

    def wanted(self, name: str, now: float) -> float:
        """The pull interval ``name`` wants now, whatever the others want."""
        quiet = now - self._mappings[name].changed_at
        if self.idle_after_s > 0 and quiet >= self.idle_after_s:
            return self.idle_s or self.base_s
        if quiet < self.active_for_s:
            return self.active_s or self.base_s
        return self.base_s

    def stretch(self, now: float) -> float:
        """The factor (>= 1) every wanted interval grows by so that all of them together
        fit ``PULL_SHARE`` of the budget."""
        wanted = sum(1 / self.wanted(name, now) for name in self._mappings)
        supply = self.bucket.per_minute / 60 * PULL_SHARE
        return max(1.0, wanted / supply)

    def interval(self, name: str, now: float, stretch: float | None = None) -> float:
        want = self.wanted(name, now)
        grown = want * (self.stretch(now) if stretch is None else stretch)
        return min(grown, max(want, self.cap_s))

    def tick(self, now: float) -> list[tuple[str, str]]:
        """The (kind, mapping) items to start now, paid from the bucket."""
        due = sorted((m.pull_at if kind == PULL else m.full_at, kind, name)
                     for name, m in self._mappings.items()
                     for kind in (PULL, FULL)
                     if (m.pull_at if kind == PULL else m.full_at) <= now + self.lead_s)
        granted: list[tuple[str, str]] = []
        stretch = self.stretch(now) if due else 1.0
        for at, kind, name in due:
            if not self.bucket.take(now, FULL_COST if kind == FULL else 1.0):
                break
            m = self._mappings[name]
            interval = self.interval(name, now, stretch)
            if kind == PULL:
                m.pull_at = self._next_due(at, now, interval)
            else:
                m.full_at = self._next_due(at, now, self.full_s)
                m.pull_at = max(m.pull_at, now + interval)  # the full cycle pulled too
            granted.append((kind, name))
        return granted

    def _next_due(self, due: float, now: float, interval: float) -> float:
        """When work due at ``due`` and granted at ``now`` is due again: one interval after
        its due time while the grant was on time (within ``lead_s``), else one interval
        after the grant."""
        return due + interval if now - due <= self.lead_s else now + interval

    def changed(self, name: str, now: float) -> None:
        """Something changed on either side: the mapping is active, its next pull one
        (active) interval away at most."""
        m = self._mappings.get(name)
        if m is not None:
            m.changed_at = now
            m.pull_at = min(m.pull_at, now + self.interval(name, now))

    def full_done(self, name: str, now: float) -> None:
        """A full cycle ran for another reason (start-up, an outage): the next periodic
        one is a full interval from now."""
        m = self._mappings.get(name)
        if m is not None:
            m.full_at = now + self.full_s

    def charge(self, now: float, cost: float = 1.0) -> None:
        self.bucket.charge(now, cost)
