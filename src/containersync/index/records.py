"""The rows the index hands out: frozen values, detached from the database.

Invariants: every value is a plain frozen dataclass built from one committed (or, inside a
write transaction, that transaction's own) state; mutating the index never changes a value
already returned. Times are unix seconds as the caller passed them in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from containersync.model.kinds import IntentKind


@dataclass(frozen=True, slots=True)
class HaltState:
    """Why a safety rail stopped the mapping, and since when."""

    rail: str
    reason: str
    since: float


@dataclass(frozen=True, slots=True)
class MappingState:
    """One mapping's row: its container, generation, halt, timings and last summary.

    ``generation`` is 0 until the first container is attached, then 1, 2, ...
    ``adopted`` is true when the user named the container by id (never recreate it).
    """

    name: str
    container_id: str | None = None
    container_name: str | None = None
    adopted: bool = False
    generation: int = 0
    halt: HaltState | None = None
    last_push: float | None = None
    last_pull: float | None = None
    last_full_list: float | None = None
    rules_fingerprint: str | None = None
    summary: Mapping[str, Any] | None = field(default=None, compare=False)
    #: the identity the row belongs to (``name`` is its key); None on a schema-1 row
    display_name: str | None = None
    local_root: str | None = None
    endpoint: str | None = None


@dataclass(frozen=True, slots=True)
class Intent:
    """A remote side effect that was started and whose result is not recorded yet."""

    id: int
    mapping: str
    generation: int
    kind: IntentKind
    started_at: float
    path: str | None = None
    sha256: str | None = None
    size: int | None = None
    remote_path: str | None = None
    file_id: str | None = None


@dataclass(frozen=True, slots=True)
class ConflictRow:
    """A conflict copy saved beside ``path`` (``copy_path`` is local and relative)."""

    path: str
    copy_path: str
    remote_id: str | None
    created_at: float


@dataclass(frozen=True, slots=True)
class ProblemRow:
    """A per-path problem of the last cycle; ``first_seen`` survives while it persists."""

    path: str
    kind: str
    message: str
    first_seen: float
    last_seen: float


@dataclass(frozen=True, slots=True)
class ManifestRow:
    """The manifest object kept in a mapping's container (``model.manifest``)."""

    file_id: str
    remote_path: str
    sha256: str


@dataclass(frozen=True, slots=True)
class KeepaliveDay:
    """What keep-alives cost on one UTC day: how many were sent, how long they kept the
    container alive past its last activity, and when the newest one (any day) was sent."""

    day: str
    keepalives: int
    seconds: float
    last_at: float | None
