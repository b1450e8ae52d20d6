"""``SyncReport``: what one sync (or a ``Mirror.sync()``) did, as the Python API returns it.

A frozen, typed value built from the engine's ``CycleReport``s; nothing here does I/O.
Several cycles (``Mirror.sync()`` runs until a cycle has nothing left to do) add up.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from containersync.engine.summary import NOTICE_KINDS, CycleReport
from containersync.errors import UnknownPath
from containersync.model.manifest import instructions
from containersync.plan.preview import preview


@dataclass(frozen=True)
class SyncProblem:
    """One path that could not be synced; ``kind`` is a stable kebab-case name."""

    path: str
    kind: str
    message: str


@dataclass(frozen=True)
class SyncCounts:
    uploaded: int = 0
    downloaded: int = 0
    deleted_remote: int = 0
    deleted_local: int = 0
    conflicts: int = 0
    problems: int = 0


@dataclass(frozen=True)
class PlannedAction:
    """What a dry run would do to ``path`` (``action``: Upload, Download, DeleteRemote, ...)."""

    action: str
    path: str


@dataclass(frozen=True)
class SyncReport:
    """The result of ``containersync.sync()`` or ``Mirror.sync()``.

    ``converged``: both sides agree (no problem other than notices such as a skipped
    symlink). ``conflict_copies``: local paths of the conflict copies this sync made.
    ``planned``: for a dry run, what it would have done (empty otherwise); ``would``: its
    counts (the counters a real run would report) and ``would_bytes_up``/``_down`` the
    bytes it would move, as far as the listing says. A dry run that would change a file
    has not ``converged``.
    ``sandbox_paths``: each synced file's path in the folder -> its path in the sandbox;
    ``manifest_path``: the container manifest's sandbox path (None where the server keeps
    the folder tree); both empty for a dry run."""

    mapping: str
    container_id: str | None
    generation: int
    counts: SyncCounts
    bytes_up: int
    bytes_down: int
    conflict_copies: tuple[str, ...]
    problems: tuple[SyncProblem, ...]
    converged: bool
    dry_run: bool = False
    planned: tuple[PlannedAction, ...] = ()
    would: SyncCounts | None = None
    would_bytes_up: int = 0
    would_bytes_down: int = 0
    sandbox_paths: Mapping[str, str] = field(default_factory=dict)
    manifest_path: str | None = None
    remote_root: str = "/mnt/data"
    folder: str = ""  # the local folder's name, for ``instructions``

    def sandbox_path(self, path: str) -> str:
        """Where the file at ``path`` (relative to the folder) is in the sandbox; raises
        ``UnknownPath`` (a ``KeyError``) when this sync left no file there."""
        if path not in self.sandbox_paths:
            raise UnknownPath(path, "this sync left no synced file there")
        return self.sandbox_paths[path]

    def instructions(self, folder: str | None = None) -> str:
        """A short text for the model's instructions (see ``Mirror.instructions``)."""
        return instructions(self.sandbox_paths, remote_root=self.remote_root,
                            manifest=self.manifest_path,
                            folder=folder or self.folder or self.mapping)

    @classmethod
    def from_cycles(cls, reports: Iterable[CycleReport], *,
                    remote_root: str = "/mnt/data", folder: str = "") -> SyncReport:
        cycles = list(reports)
        if not cycles:
            raise ValueError("a SyncReport needs at least one cycle")
        last = cycles[-1]
        totals = {k: 0 for k in ("uploaded", "downloaded", "deleted_remote", "deleted_local",
                                 "conflicts")}
        for r in cycles:
            d = r.to_dict()
            for key in totals:
                totals[key] += int(d[key])
        problems = tuple(SyncProblem(p.path, p.kind, p.message) for p in last.problems)
        failed = sum(p.kind not in NOTICE_KINDS for p in problems)
        w = preview(last.plan) if last.dry_run else None
        copies = tuple(o.conflict.copy_path for r in cycles for o in r.outcomes
                       if o.conflict is not None)
        return cls(
            mapping=last.mapping, container_id=last.container_id, generation=last.generation,
            counts=SyncCounts(**totals, problems=failed),
            bytes_up=sum(r.bytes_up for r in cycles),
            bytes_down=sum(r.bytes_down for r in cycles),
            conflict_copies=copies, problems=problems,
            converged=last.converged and not last.pending,
            dry_run=last.dry_run,
            planned=tuple(PlannedAction(type(a).__name__, str(getattr(a, "path", "")))
                          for a in last.plan.actions) if last.dry_run else (),
            would=None if w is None else SyncCounts(
                uploaded=w.upload, downloaded=w.download, deleted_remote=w.delete_remote,
                deleted_local=w.delete_local, conflicts=w.conflict, problems=failed),
            would_bytes_up=w.upload_bytes if w else 0,
            would_bytes_down=w.download_bytes if w else 0,
            sandbox_paths=MappingProxyType(dict(last.sandbox_paths)),
            manifest_path=last.manifest_path, remote_root=remote_root, folder=folder,
        )
