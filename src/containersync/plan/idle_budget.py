"""The daemon's idle work across every mapping, under one request budget (pure).

Idle work is what the daemon does when nobody changes anything: pull checks (one request
each), the periodic full cycle (charged ``FULL_COST`` requests) and keep-alives (one
retrieve each). With many mappings, a timer per mapping multiplied these by the mapping
count (200 mappings made ~3,200 requests a minute while idle); here they share one token
bucket of ``per_minute`` requests with a burst of ``burst``.

``IdleBudget.tick(now)`` returns the work to start now, oldest due first:

- each mapping has a pull due time and a full-cycle due time; a pull that found nothing
  new doubles the mapping's pull interval (``base_s`` up to ``cap_s``), a change on either
  side (``changed``) resets it to ``base_s``;
- work is granted while a token is free, in order of due time (then name); the first item
  that cannot be paid stops the tick, so later work never overtakes earlier work;
- a granted item is due again one interval later even if its result never comes (a busy or
  failing mapping is offered its turn again, it is not dropped);
- keep-alives are never refused (``charge``): a container must not expire because pulls
  used the budget; they are paid from the same bucket, which may go below zero, so pulls
  wait until it has refilled.

Invariants (``tests/plan/test_idle_budget.py``): over any window of ``w`` seconds the
work ``tick`` grants costs at most ``burst + per_minute * w / 60`` plus what ``charge``
took in that window; every due mapping is granted within ``(mappings * FULL_COST) /
rate + one tick`` of its due time (no starvation), whatever the others do.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PULL = "pull"
FULL = "full"
#: what a full cycle of a small tree costs: a retrieve of the container and one listing page
FULL_COST = 2.0


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
    interval: float
    pull_at: float
    full_at: float


@dataclass
class IdleBudget:
    bucket: TokenBucket
    base_s: float
    cap_s: float
    full_s: float
    _mappings: dict[str, _Mapping] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0 < self.base_s <= self.cap_s or self.full_s <= 0:
            raise ValueError("need 0 < base_s <= cap_s and full_s > 0")
        if self.bucket.burst < FULL_COST:
            raise ValueError(f"need a burst of at least {FULL_COST} (a full cycle's cost)")

    def add(self, name: str, now: float) -> None:
        """A mapping joins: its first pull is one base interval away, its full cycle one
        full interval away (its own first cycle is not idle work)."""
        self._mappings[name] = _Mapping(self.base_s, now + self.base_s, now + self.full_s)

    def interval(self, name: str) -> float:
        return self._mappings[name].interval

    def tick(self, now: float) -> list[tuple[str, str]]:
        """The (kind, mapping) items to start now, paid from the bucket."""
        due = sorted((m.pull_at if kind == PULL else m.full_at, kind, name)
                     for name, m in self._mappings.items()
                     for kind in (PULL, FULL)
                     if (m.pull_at if kind == PULL else m.full_at) <= now)
        granted = []
        for _at, kind, name in due:
            if not self.bucket.take(now, FULL_COST if kind == FULL else 1.0):
                break
            m = self._mappings[name]
            if kind == PULL:
                m.pull_at = now + m.interval
            else:
                m.full_at = now + self.full_s
                m.pull_at = max(m.pull_at, now + m.interval)  # the full cycle pulled too
            granted.append((kind, name))
        return granted

    def nothing_new(self, name: str, now: float) -> None:
        """A pull check found nothing: wait twice as long (up to ``cap_s``) for the next."""
        m = self._mappings.get(name)
        if m is not None:
            m.interval = min(self.cap_s, m.interval * 2)
            m.pull_at = now + m.interval

    def changed(self, name: str, now: float) -> None:
        """Something changed on either side: pull at the base interval again."""
        m = self._mappings.get(name)
        if m is not None:
            m.interval = self.base_s
            m.pull_at = min(m.pull_at, now + self.base_s)

    def full_done(self, name: str, now: float) -> None:
        """A full cycle ran for another reason (start-up, an outage): the next periodic
        one is a full interval from now."""
        m = self._mappings.get(name)
        if m is not None:
            m.full_at = now + self.full_s

    def charge(self, now: float, cost: float = 1.0) -> None:
        self.bucket.charge(now, cost)
