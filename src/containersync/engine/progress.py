"""Progress for long work: a live line on a terminal, plain lines otherwise.

The live line counts files as they finish and bytes as they move (``on_bytes``, called by
the transfer threads while a large file is still on its way), with the rate and the time
left. Writes to stderr only, so ``--json`` output on stdout stays clean for scripts.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

from containersync.display import printable
from containersync.execute.outcome import Outcome
from containersync.journal import INFO, for_stream
from containersync.model.kinds import OutcomeKind
from containersync.model.plan import Download, Plan, SaveConflictCopy, Upload

VERBS = {
    OutcomeKind.UPLOADED: "uploaded",
    OutcomeKind.DOWNLOADED: "downloaded",
    OutcomeKind.DELETED_REMOTE: "deleted remote",
    OutcomeKind.TRASHED_LOCAL: "moved to trash",
    OutcomeKind.CONFLICT_COPY: "conflict copy",
    OutcomeKind.RECORDED: "in sync",
    OutcomeKind.DROPPED: "forgotten",
    OutcomeKind.SKIPPED: "skipped",
}


class Progress:
    def __init__(self, mapping: str, *, stream: TextIO | None = None, quiet: bool = False,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.mapping = mapping
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self.quiet = quiet
        self.total_files = 0
        self.total_bytes = 0
        self.files = 0
        self.bytes = 0
        #: bytes sent or received so far, finished or not (a retry counts again)
        self.moved = 0
        self._clock = clock
        self._started: float | None = None
        self._last_draw = float("-inf")
        self._lock = threading.Lock()

    def on_plan(self, plan: Plan) -> None:
        self.total_files = len(plan.actions)
        self.total_bytes = sum(
            a.local.size if isinstance(a, Upload)
            else (a.remote.bytes or 0) if isinstance(a, Download | SaveConflictCopy) else 0
            for a in plan.actions
        )

    def on_bytes(self, n: int) -> None:
        """``n`` more bytes moved (any thread)."""
        with self._lock:
            if self._started is None:
                self._started = self._clock()
            self.moved += n
            self._draw(final=False)

    def on_outcome(self, outcome: Outcome) -> None:
        with self._lock:
            self.files += 1
            self.bytes += outcome.bytes_up + outcome.bytes_down
            if self.quiet:
                return
            if self.live:
                self._draw(final=self.files == self.total_files)
                return
            if outcome.problem is not None:
                return  # problems are said once, after the run, with the others (sync's summary)
            text = VERBS.get(outcome.kind, outcome.kind)
            line = printable(f"{self.mapping}: {text}: {outcome.action.path}")
            self.stream.write(for_stream(line, self.stream, INFO) + "\n")

    def _draw(self, *, final: bool) -> None:
        if self.quiet or not self.live:
            return
        now = self._clock()
        if final or now - self._last_draw >= 0.1:
            self._last_draw = now
            self.stream.write("\r\x1b[2K" + printable(self._bar()))
            self.stream.flush()

    def close(self) -> None:
        if self.live and not self.quiet and self.files:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()

    def _bar(self, width: int = 24) -> str:
        total = max(self.total_files, 1)
        filled = int(width * self.files / total)
        done = min(max(self.moved, self.bytes), self.total_bytes or max(self.moved, self.bytes))
        line = (f"{self.mapping} [{'#' * filled}{'.' * (width - filled)}] "
                f"{self.files}/{self.total_files} files "
                f"{done / 2**20:.1f}/{self.total_bytes / 2**20:.1f} MiB")
        elapsed = self._clock() - self._started if self._started is not None else 0.0
        if elapsed > 0 and self.moved:
            rate = self.moved / elapsed
            line += f" {rate / 2**20:.1f} MiB/s"
            left = max(self.total_bytes - done, 0)
            if left and self.files < self.total_files:
                line += f" ETA {_duration(left / rate)}"
        return line


def _duration(seconds: float) -> str:
    s = round(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"
