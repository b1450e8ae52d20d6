"""The local backend's clock: real time plus an offset that tests move forward.

Invariants:
- ``now()`` is ``time.time() + offset``; the offset only ever grows (``advance`` refuses
  negative amounts), so timestamps the backend hands out never run backwards.
- With a ``state_file`` the offset lives on disk (written to a temp file, then renamed,
  under an ``flock``), and every ``now()`` re-reads it, so several processes sharing one
  data dir (the daemon's embedded backend and ``containersync local exec``) see one time.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from pathlib import Path


class Clock:
    """Wall-clock time shifted by a (possibly persisted) offset in seconds."""

    def __init__(self, state_file: Path | None = None) -> None:
        self._state_file = state_file
        self._offset = 0.0
        self._lock = threading.Lock()

    @property
    def state_file(self) -> Path | None:
        return self._state_file

    def offset(self) -> float:
        if self._state_file is None:
            return self._offset
        try:
            raw = self._state_file.read_text(encoding="utf-8")
        except FileNotFoundError:
            return 0.0
        try:
            return float(json.loads(raw)["offset"])
        except (ValueError, KeyError, TypeError):
            return 0.0  # a torn or foreign file reads as "no offset"; rename makes this rare

    def now(self) -> float:
        return time.time() + self.offset()

    def advance(self, seconds: float) -> float:
        """Move the clock forward by ``seconds`` (>= 0) and return the new ``now()``."""
        if not seconds >= 0:  # also rejects NaN
            raise ValueError(f"the clock only moves forward, got {seconds!r}")
        with self._lock:
            if self._state_file is None:
                self._offset += seconds
                return self.now()
            self._state_file.parent.mkdir(parents=True, exist_ok=True)
            lock_path = self._state_file.with_suffix(".lock")
            with open(lock_path, "a+b") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                offset = self.offset() + seconds
                tmp = self._state_file.with_name(f".{self._state_file.name}.{os.getpid()}.tmp")
                tmp.write_text(json.dumps({"offset": offset}), encoding="utf-8")
                os.replace(tmp, self._state_file)
            return time.time() + offset
