"""The daemon's live state on disk, for ``containersync status``: one small JSON file per
mapping in ``<state_dir>/daemon/<mapping>.json``.

The index holds what is durable (bases, intents, conflicts, problems, halts); this file holds
what only the running daemon knows: its queue, watcher mode, idle state, keep-alives, the
last error and when it retries. The daemon rewrites it within a tick (0.5 s) of a change,
and every ``HEARTBEAT_S`` while nothing changes (``StateWriter``).

Invariants: a file is replaced atomically (temp file + ``os.replace``), so a reader sees the
old or the new state, never half of one; a reader treats a file as live only while its
``pid`` exists and ``updated_at`` is recent (``is_live``), so a daemon killed with -9 shows
as "not running" instead of a frozen state. A write that fails (a full disk) is tried again
at the next offer, and told once per streak of failures, not once per offer
(``WriteTrouble``). A temp file that a writer killed before its rename left is swept when
the next writer starts (``stale_temps``): only a regular file of the temp files' name,
ours, and older than ``STALE_AFTER_S`` (younger: a mirror's write in progress).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from containersync import stale_temps

STALE_AFTER_S = 30.0
#: an unchanged state is rewritten this often, so ``updated_at`` stays well inside
#: ``STALE_AFTER_S`` (rewriting every mapping's file every tick was most of an idle
#: daemon's CPU: 200 mappings, 400 files a second)
HEARTBEAT_S = STALE_AFTER_S / 3
#: ``write_state``'s temp files are this plus ``tempfile.mkstemp``'s random characters
TEMP_PREFIX = ".state-"


def state_file(state_dir: Path, mapping: str) -> Path:
    return Path(state_dir) / "daemon" / f"{mapping}.json"


def write_state(state_dir: Path, mapping: str, data: dict[str, Any]) -> None:
    """Replace the mapping's state file with ``data`` plus ``pid`` and ``updated_at``."""
    path = state_file(state_dir, mapping)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {**data, "pid": os.getpid(), "updated_at": time.time()}
    import tempfile  # here: `status` only reads state files, and starts faster without it

    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(payload, f, sort_keys=True)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@dataclass(frozen=True)
class WriteTrouble:
    """A mapping's state file that could not be written: told when the first write of a
    streak failed (``over`` False, ``failures`` 1) and when a write worked again (``over``
    True, ``failures``: how many failed meanwhile)."""

    mapping: str
    error: str  # the first failure's
    failures: int
    over: bool


class StateWriter:
    """Writes a mapping's state file when its state changed, or once per ``HEARTBEAT_S``.

    Starting, it sweeps the temp files killed writers left (``stale_temps``)."""

    def __init__(self, state_dir: Path, *, clock: Callable[[], float] = time.monotonic,
                 write: Callable[[Path, str, dict[str, Any]], None] | None = None,
                 report: Callable[[WriteTrouble], None] = lambda _trouble: None) -> None:
        self.state_dir = state_dir
        self._clock = clock
        self._write = write or write_state
        self._report = report
        self._last: dict[str, tuple[dict[str, Any], float]] = {}
        self._failing: dict[str, WriteTrouble] = {}
        stale_temps.sweep(Path(state_dir) / "daemon", TEMP_PREFIX, older_than=STALE_AFTER_S,
                          now=time.time())

    def update(self, mapping: str, data: dict[str, Any], *, force: bool = False) -> bool:
        """Write ``data`` unless it equals what was written less than a heartbeat ago;
        whether it wrote. A write that failed (``OSError``) is tried at the next update
        again; ``report`` hears of the first failure of a streak and of its end."""
        now = self._clock()
        last = self._last.get(mapping)
        if not force and last is not None and last[0] == data and now - last[1] < HEARTBEAT_S:
            return False
        self._last.pop(mapping, None)
        failing = self._failing.get(mapping)
        try:
            self._write(self.state_dir, mapping, data)
        except OSError as exc:
            if failing is None:
                failing = WriteTrouble(mapping, str(exc), 1, over=False)
                self._report(failing)
            else:
                failing = replace(failing, failures=failing.failures + 1)
            self._failing[mapping] = failing
            return False
        self._last[mapping] = (data, now)
        if failing is not None:
            del self._failing[mapping]
            self._report(replace(failing, over=True))
        return True


def read_state(state_dir: Path, mapping: str) -> dict[str, Any] | None:
    try:
        data = json.loads(state_file(state_dir, mapping).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def is_live(data: dict[str, Any], *, now: float | None = None) -> bool:
    """True when the daemon that wrote ``data`` still runs and still writes it."""
    if data.get("state") == "stopped":
        return False
    pid = data.get("pid")
    updated = data.get("updated_at")
    if not isinstance(pid, int) or not isinstance(updated, int | float):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    return (time.time() if now is None else now) - updated < STALE_AFTER_S

