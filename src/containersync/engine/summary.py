"""What one cycle did, for people (a summary line), scripts (``--json``) and ``status``."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from containersync.execute.outcome import Outcome
from containersync.model.entry import Problem
from containersync.model.kinds import count
from containersync.model.plan import Action, Download, Plan, SaveConflictCopy, Upload
from containersync.plan.preview import action_bytes, preview
from containersync.plan.remote_problems import REMOTE_NOTICE_KINDS
from containersync.plan.safety import DeletionTally

if TYPE_CHECKING:
    from containersync.engine.container import Attached
    from containersync.engine.rebuild import Rebuilt

#: problem kinds that are notices, not failures: reported once, they do not make a run
#: "finished with problems" (a symlink is never synced; retrying will not change that)
NOTICE_KINDS = frozenset({"symlink", *REMOTE_NOTICE_KINDS})


@dataclass
class CycleReport:
    mapping: str
    dry_run: bool = False
    container_id: str | None = None
    generation: int = 0
    new_generation: bool = False
    container_status: str | None = None
    #: when the container expires if nothing touches it again (unix seconds), as of attach
    expires_at: float | None = None
    plan: Plan = field(default_factory=Plan)
    outcomes: list[Outcome] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    bytes_up: int = 0
    bytes_down: int = 0
    hashed: int = 0
    settled: int = 0
    held_back: list[str] = field(default_factory=list)
    #: what the carried-out actions deleted and created (the daemon's max-delete windows)
    deletions: DeletionTally = field(default_factory=DeletionTally)
    #: pull-protected paths the sandbox wrote (or deleted) that were not applied here
    held_back_pulls: tuple[str, ...] = ()
    requests: int = 0
    seconds: float = 0.0
    #: why the bases were rebuilt from the container this run (None: they were not)
    rebuilt: str | None = None
    rebuilt_matched: int = 0
    #: after the cycle: each synced file's sandbox path, and the container manifest's
    #: (None: none kept); not in ``to_dict`` (the index keeps the summary, not the tree)
    sandbox_paths: dict[str, str] = field(default_factory=dict)
    manifest_path: str | None = None

    def note_container(self, attached: Attached) -> None:
        c = attached.container
        self.container_id = c.id if c else None
        self.generation = attached.generation
        self.new_generation = attached.new_generation
        self.container_status = c.status if c else None
        if c is not None and c.last_active_at is not None and c.expires_after is not None:
            self.expires_at = float(c.last_active_at + c.expires_after.minutes * 60)

    def note_rebuilt(self, rebuilt: Rebuilt | None) -> None:
        if rebuilt is not None:
            self.rebuilt, self.rebuilt_matched = rebuilt.reason, rebuilt.matched

    def add(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)
        count(self.counts, outcome.kind)
        self.bytes_up += outcome.bytes_up
        self.bytes_down += outcome.bytes_down

    def finish(self, problems: list[Problem], started: float, requests: int) -> None:
        self.problems = problems
        self.requests = requests
        self.seconds = round(time.monotonic() - started, 3)

    @property
    def converged(self) -> bool:
        return all(p.kind in NOTICE_KINDS for p in self.problems)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "mapping": self.mapping,
            "dry_run": self.dry_run,
            "container_id": self.container_id,
            "container_status": self.container_status,
            "expires_at": self.expires_at,
            "generation": self.generation,
            "new_generation": self.new_generation,
            "uploaded": self.counts.get("uploaded", 0),
            "downloaded": self.counts.get("downloaded", 0),
            "deleted_remote": self.counts.get("deleted_remote", 0),
            "deleted_local": self.counts.get("deleted_local", 0),
            "conflicts": self.counts.get("conflicts", 0),
            "problems": [
                {"path": p.path, "kind": p.kind, "message": p.message} for p in self.problems
            ],
            "bytes_up": self.bytes_up,
            "bytes_down": self.bytes_down,
            "files_hashed": self.hashed,
            "held_back": self.held_back,
            "held_back_pulls": list(self.held_back_pulls),
            "requests": self.requests,
            "seconds": self.seconds,
            "rebuilt": self.rebuilt,
            "rebuilt_matched": self.rebuilt_matched,
        }
        if self.dry_run:
            out["plan"] = [describe(a) for a in self.plan.actions]
            out.update(preview(self.plan).to_dict())
        return out

    @property
    def pending(self) -> bool:
        """A dry run whose plan would change a file on either side."""
        return self.dry_run and preview(self.plan).changes

    def line(self) -> str:
        problems = f"problems {sum(p.kind not in NOTICE_KINDS for p in self.problems)}"
        if self.dry_run:
            return self._dry_line(problems)
        d = self.to_dict()
        return " · ".join([
            f"{self.mapping}: synced",
            f"↑{d['uploaded']} ↓{d['downloaded']}",
            f"deleted remote {d['deleted_remote']} local {d['deleted_local']}",
            f"conflicts {d['conflicts']}",
            problems,
            f"{size_text(self.bytes_up + self.bytes_down)}",
            f"{self.seconds:.1f}s",
        ])

    def _dry_line(self, problems: str) -> str:
        """The dry run's summary: what it would change, in the counters of a real run."""
        w = preview(self.plan)
        if not w.changes:
            return " · ".join([f"{self.mapping}: dry run: nothing to change", problems,
                               f"{self.seconds:.1f}s"])
        return " · ".join([
            f"{self.mapping}: dry run: would sync",
            f"↑{w.upload} ↓{w.download}",
            f"delete remote {w.delete_remote} local {w.delete_local}",
            f"conflicts {w.conflict}",
            problems,
            f"↑{size_text(w.upload_bytes)} ↓{size_text(w.download_bytes)}"
            + (f" (+{w.download_unsized} of unknown size)" if w.download_unsized else ""),
            f"{self.seconds:.1f}s",
        ])


@dataclass(frozen=True)
class HeldNote:
    """One "held back" message: ``text`` for people; ``kind`` (``secrets``: never sent;
    ``pulls``: what the sandbox wrote, never pulled) and ``paths`` for logs."""

    kind: str
    text: str
    paths: tuple[str, ...]


class HeldBackNotes:
    """Says which files were held back when one appears that was not said before, not on
    every cycle. ``said``: a previous summary (``CycleReport.to_dict``), already said."""

    def __init__(self, said: Mapping[str, Any] | None = None) -> None:
        said = said or {}
        self._secrets = set(said.get("held_back") or ())
        self._pulls = set(said.get("held_back_pulls") or ())

    def notes(self, report: CycleReport) -> list[HeldNote]:
        out: list[HeldNote] = []
        if set(report.held_back) - self._secrets:
            out.append(HeldNote(
                "secrets",
                f"held back {len(report.held_back)} secret file(s), never sent to a sandbox "
                f"unless re-included with !pattern in the config's exclude: "
                f"{_some(report.held_back)}", tuple(report.held_back)))
        if set(report.held_back_pulls) - self._pulls:
            out.append(HeldNote(
                "pulls",
                f"held back {len(report.held_back_pulls)} file(s) the sandbox wrote, never "
                f"pulled (they would run or steer on this machine): "
                f"{_some(report.held_back_pulls)}", tuple(report.held_back_pulls)))
        self._secrets.update(report.held_back)
        self._pulls.update(report.held_back_pulls)
        return out


def _some(paths: Sequence[str], shown: int = 5) -> str:
    return ", ".join(paths[:shown]) + (" ..." if len(paths) > shown else "")


def describe(action: Action) -> dict[str, Any]:
    """A JSON-friendly description of a planned action."""
    out: dict[str, Any] = {"action": type(action).__name__, "path": getattr(action, "path", "")}
    copy_path = getattr(action, "copy_path", None)
    if copy_path:
        out["copy_path"] = copy_path
    if isinstance(action, Upload | Download | SaveConflictCopy):
        out["bytes"] = action_bytes(action)
    return out


def size_text(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"
