"""What a mapping loop knows about itself, as shown by ``containersync status``.

Written only by the mapping's worker thread; read (``to_dict``) by the service thread that
writes the state file. Each field is replaced whole (no in-place mutation of shared
containers), so a reader on another thread sees a consistent value per field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from containersync.api.wire import Container
from containersync.engine.summary import CycleReport
from containersync.model.kinds import pulled, pushed


@dataclass
class WorkerStatus:
    mapping: str
    state: str = "starting"  # starting|syncing|watching|idle|backoff|halted|waiting-for-lock|stopping|stopped|crashed
    error: str | None = None
    retry_at: float | None = None
    container_id: str | None = None
    container_status: str | None = None
    expires_at: float | None = None
    generation: int | None = None
    keepalives: int = 0
    last_keepalive: float | None = None
    keepalive_budget_spent: bool = False
    last_pull_check: float | None = None
    cycles: int = 0
    last_push: float | None = None
    last_pull: float | None = None
    last_cycle: dict[str, Any] | None = None
    replacements: int = 0
    last_replacement: dict[str, Any] | None = None

    def set_error(self, message: str, retry_at: float | None) -> None:
        self.error = message
        self.retry_at = retry_at

    def clear_error(self) -> None:
        self.error = None
        self.retry_at = None

    def note_cycle(self, kind: str, report: CycleReport, at: float) -> None:
        self.cycles += 1
        if pushed(report.counts):
            self.last_push = at
        if pulled(report.counts):
            self.last_pull = at
        self.container_id = report.container_id
        self.generation = report.generation
        if report.expires_at is not None and (self.expires_at is None
                                              or report.expires_at > self.expires_at):
            self.expires_at = report.expires_at  # the cycle touched the container too
        if self.container_status in (None, "expired"):
            self.container_status = "running"
        self.last_cycle = {"kind": kind, "at": at, "line": report.line(),
                           "seconds": report.seconds, "requests": report.requests,
                           "problems": len(report.problems)}

    def note_keepalive(self, container: Container, at: float) -> None:
        self.keepalives += 1
        self.last_keepalive = at
        self.container_id = container.id
        self.container_status = container.status
        minutes = container.expires_after.minutes if container.expires_after else None
        if container.last_active_at is not None and minutes:
            self.expires_at = float(container.last_active_at + minutes * 60)

    def note_replacement(self, old: str, new: str | None, generation: int, at: float) -> None:
        self.replacements += 1
        self.last_replacement = {"old_container": old, "container": new,
                                 "generation": generation, "at": at}
        self.expires_at = None

    def to_dict(self, **extra: Any) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items()}
        out.update(extra)
        return out
