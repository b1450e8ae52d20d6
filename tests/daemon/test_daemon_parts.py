"""The daemon's small pure parts: backoff bounds, state-file liveness, schedule intervals,
the signal inbox, and `status` for a config that never synced."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from containersync.commands.status import collect, render
from containersync.config import parse_config
from containersync.daemon.backoff import Backoff
from containersync.daemon.schedule import intervals, start_scheduler, stop_scheduler
from containersync.daemon.signals import RELOAD, STOP, SignalInbox
from containersync.daemon.state import (
    HEARTBEAT_S,
    STALE_AFTER_S,
    StateWriter,
    is_live,
    read_state,
    write_state,
)


def test_backoff_doubles_to_the_cap_and_resets() -> None:
    b = Backoff(0.5, 60, rand=lambda: 1.0)
    delays = [b.next_delay() for _ in range(12)]
    assert delays[:4] == [0.5, 1.0, 2.0, 4.0]
    assert max(delays) == 60.0 and delays[-1] == 60.0
    low = Backoff(0.5, 60, rand=lambda: 0.0)
    assert min(low.next_delay() for _ in range(12)) == 0.25  # never spins
    b.reset()
    assert b.next_delay() == 0.5


def test_state_file_is_live_only_while_its_writer_runs(tmp_path: Path) -> None:
    write_state(tmp_path, "m", {"state": "watching", "queue": 3})
    data = read_state(tmp_path, "m")
    assert data is not None and data["queue"] == 3 and data["pid"] == os.getpid()
    assert is_live(data)
    assert not is_live({**data, "updated_at": data["updated_at"] - 3600})
    assert not is_live({**data, "state": "stopped"})
    assert not is_live({**data, "pid": 2**22 + 12345})
    assert read_state(tmp_path, "other") is None


def _config(tmp_path: Path, extra: str = "") -> str:
    return (f'[state]\ndir = "{tmp_path / "state"}"\n[daemon]\n{extra}\n'
            f'[[mappings]]\nname = "docs"\nlocal = "{tmp_path / "docs"}"\n'
            "[mappings.container]\nexpires_after_minutes = 10\n")


def test_schedule_intervals_follow_the_config(tmp_path: Path) -> None:
    cfg = parse_config(_config(tmp_path), file=tmp_path / "c.toml", env=os.environ)
    assert intervals(cfg.daemon, cfg.mappings[0]) == {"pull": 5, "full": 600, "keepalive": 300}
    cfg = parse_config(_config(tmp_path, "keepalive_interval_seconds = 7"),
                       file=tmp_path / "c.toml", env=os.environ)
    assert intervals(cfg.daemon, cfg.mappings[0])["keepalive"] == 7


class _Timed:
    """A worker as the scheduler sees it (a name, a trigger): the test reads the jobs the
    scheduler made for it, never fires them."""

    def __init__(self, name: str) -> None:
        self.name = name

    def trigger(self, kind: str) -> None:
        pass

    def use_idle_work(self, idle: object) -> None:
        pass


def test_keepalive_timers_of_many_mappings_are_spread_not_all_at_once(tmp_path: Path) -> None:
    """Four mappings' first timed keep-alives, read off the started scheduler: one per
    quarter of the second half of the 300 s interval, not all in the same second (every
    keep-alive is paid from the shared idle budget; 200 at once starved the pulls)."""
    text = _config(tmp_path).split("[[mappings]]")[0] + "".join(
        f'[[mappings]]\nname = "m{i}"\nlocal = "{tmp_path / f"m{i}"}"\n'
        "[mappings.container]\nexpires_after_minutes = 10\n" for i in range(4))
    cfg = parse_config(text, file=tmp_path / "c.toml", env=os.environ)
    before = datetime.now(UTC)
    scheduler = start_scheduler(cfg.daemon, [(m, _Timed(m.name)) for m in cfg.mappings])
    try:
        firsts = [(scheduler.get_job(f"m{i}:keepalive").next_run_time - before).total_seconds()
                  for i in range(4)]
    finally:
        stop_scheduler(scheduler)
    for got, want in zip(firsts, (150, 187.5, 225, 262.5), strict=True):
        assert want <= got < want + 5


def test_signal_inbox_delivers_requests_in_order() -> None:
    inbox = SignalInbox()
    assert inbox.wait(0) == []
    inbox.post(RELOAD)
    inbox.post(STOP)
    assert inbox.wait(1) == [RELOAD, STOP]


def test_status_of_a_mapping_that_never_synced(tmp_path: Path) -> None:
    cfg = parse_config(_config(tmp_path), file=tmp_path / "c.toml", env=os.environ)
    result = collect(cfg)
    m = result["mappings"][0]
    assert m["synced"] is False and m["daemon"]["running"] is False
    text = render(result)
    assert "never synced" in text and "daemon:     not running" in text


def test_an_unchanged_state_is_written_once_per_heartbeat_and_a_change_at_once(
        tmp_path: Path) -> None:
    """The daemon offers every mapping's state each 0.5 s tick; only a change, a heartbeat
    (``updated_at`` stays live) or the final state reaches the disk."""
    now = [0.0]
    writes: list[tuple[str, dict[str, object]]] = []
    states = StateWriter(tmp_path, clock=lambda: now[0],
                         write=lambda _d, m, data: writes.append((m, data)))
    idle = {"state": "watching", "queue": 0}
    for _ in range(2 * int(HEARTBEAT_S) + 1):  # ticks of 0.5 s for HEARTBEAT_S, no change
        states.update("a", dict(idle))
        states.update("b", dict(idle))
        now[0] += 0.5
    assert [m for m, _ in writes] == ["a", "b", "a", "b"]  # first and one heartbeat each
    assert HEARTBEAT_S < STALE_AFTER_S / 2  # a reader never sees a live daemon as stale
    writes.clear()
    states.update("a", {"state": "syncing", "queue": 2})
    states.update("a", {"state": "syncing", "queue": 2})
    states.update("b", dict(idle), force=True)  # the final state at stop
    assert writes == [("a", {"state": "syncing", "queue": 2}), ("b", idle)]
