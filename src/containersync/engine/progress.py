"""Progress for long work: a live line on a terminal, plain lines otherwise.

Writes to stderr only, so ``--json`` output on stdout stays clean for scripts.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from containersync.display import printable
from containersync.execute.outcome import Outcome
from containersync.journal import INFO, for_stream
from containersync.model.plan import Download, Plan, SaveConflictCopy, Upload

VERBS = {
    "uploaded": "uploaded",
    "downloaded": "downloaded",
    "deleted-remote": "deleted remote",
    "trashed-local": "moved to trash",
    "conflict-copy": "conflict copy",
    "recorded": "in sync",
    "dropped": "forgotten",
    "skipped": "skipped",
}


class Progress:
    def __init__(self, mapping: str, *, stream: TextIO | None = None, quiet: bool = False) -> None:
        self.mapping = mapping
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self.quiet = quiet
        self.total_files = 0
        self.total_bytes = 0
        self.files = 0
        self.bytes = 0
        self._last_draw = 0.0

    def on_plan(self, plan: Plan) -> None:
        self.total_files = len(plan.actions)
        self.total_bytes = sum(
            a.local.size if isinstance(a, Upload)
            else (a.remote.bytes or 0) if isinstance(a, Download | SaveConflictCopy) else 0
            for a in plan.actions
        )

    def on_outcome(self, outcome: Outcome) -> None:
        self.files += 1
        self.bytes += outcome.bytes_up + outcome.bytes_down
        if self.quiet:
            return
        if self.live:
            now = time.monotonic()
            if now - self._last_draw >= 0.1 or self.files == self.total_files:
                self._last_draw = now
                self.stream.write("\r\x1b[2K" + printable(self._bar()))
                self.stream.flush()
            return
        if outcome.problem is not None:
            return  # problems are said once, after the run, with the others (sync's summary)
        text = VERBS.get(outcome.kind, outcome.kind)
        line = printable(f"{self.mapping}: {text}: {outcome.action.path}")
        self.stream.write(for_stream(line, self.stream, INFO) + "\n")

    def close(self) -> None:
        if self.live and not self.quiet and self.files:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()

    def _bar(self, width: int = 24) -> str:
        total = max(self.total_files, 1)
        filled = int(width * self.files / total)
        mib = self.bytes / 2**20
        total_mib = self.total_bytes / 2**20
        return (f"{self.mapping} [{'#' * filled}{'.' * (width - filled)}] "
                f"{self.files}/{self.total_files} files {mib:.1f}/{total_mib:.1f} MiB")
